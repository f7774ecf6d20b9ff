// x86 schedule for the depthwise algorithm.
//
// Structure (both branches share loop names so that producers can be placed the same way):
//   output: [task = (channel block, row strip, batch)] parallel
//             y_i (rows of the strip, tile_h at a time)
//               x_o / co_o (column tiles and channel tiles, order set by channel_tiles_outer)
//                 conv computed here: a vectors x tile_w x tile_h register tile,
//                 taps (r.x, r.y) outermost, unrolled for fixed-size kernels
//                 y_t, x_i, co_i: write the tile out (co_i vectorized)
//   replicated (the zero-padded input strip, replicated over M) staged per task.
//
// Measured (Cascade Lake, AVX-512, 1 thread, Halide 21): see bench/ and the closing notes of
// issue 2 for the table; the register budget is 32 zmm: 2 vectors x 4 columns = 8 accumulators,
// plus 2 filter vectors per tap and one input vector per column leaves room for 3x3 and 5x5.
#include "x86.h"

#include <algorithm>

namespace dwconv {

using namespace Halide;

X86Params default_x86_params(const WorkloadShape *s, int lanes) {
  X86Params p;
  if (!s) return p;
  const int cm = s->c * s->m;
  const int vecs_needed = (cm + lanes - 1) / lanes;
  p.vectors = std::max(1, std::min(p.vectors, vecs_needed));
  const int co_tile = p.vectors * lanes;
  const int channel_tiles = (cm + co_tile - 1) / co_tile;
  // Aim for >= 16 tasks (2 threads, with slack for imbalance); rows first, then channels.
  p.rows_per_task = std::max(1, std::min(8, s->out_h * s->n / 16));
  const int row_tasks = s->n * ((s->out_h + p.rows_per_task - 1) / p.rows_per_task);
  if (row_tasks < 16 && channel_tiles > 1) {
    const int blocks = std::min(channel_tiles, (16 + row_tasks - 1) / row_tasks);
    p.channel_tiles_per_task = (channel_tiles + blocks - 1) / blocks;
  }
  // Visiting every channel tile per column tile is best while the input columns of one tile
  // (all channels, all kernel rows) stay in L1 (32 KiB); beyond that, sweep rows per tile.
  const long tile_cols = (long)(p.tile_w - 1) * s->stride_w + (long)(s->kw - 1) * s->dilation_w + 1;
  const long bytes = 4L * cm * s->kh * tile_cols;
  p.channel_tiles_outer = bytes > 24 * 1024;
  if (p.tile_w > s->out_w) p.tile_w = std::max(1, s->out_w);
  return p;
}

namespace {

// Tiles one branch of the output and returns nothing; the branch's loop names are fixed.
struct Loops {
  Var co_o{"co_o"}, co_i{"co_i"}, x_o{"x_o"}, x_i{"x_i"};
  Var y_o{"y_o"}, y_i{"y_i"}, y_t{"y_t"}, co_b{"co_b"}, co_b_y{"co_b_y"}, task{"task"};
};

void tile_output(Stage s, const Algorithm &a, const Loops &l, const X86Params &p, int lanes,
                 int co_tile, int tile_w, TailStrategy co_tail, TailStrategy x_tail) {
  s.split(a.co, l.co_o, l.co_i, co_tile, co_tail)
      .split(a.x, l.x_o, l.x_i, tile_w, x_tail)
      .split(a.y, l.y_o, l.y_i, p.rows_per_task, TailStrategy::GuardWithIf)
      .split(l.y_i, l.y_i, l.y_t, p.tile_h, TailStrategy::GuardWithIf);
  if (p.channel_tiles_per_task > 0) {
    s.split(l.co_o, l.co_b, l.co_o, p.channel_tiles_per_task, TailStrategy::GuardWithIf);
  }
  // Loop order, innermost first; the channel blocks (if any) join the row strips and batch
  // in the parallel task loop.
  std::vector<VarOrRVar> order = {l.co_i, l.x_i, l.y_t};
  if (p.channel_tiles_outer) order.insert(order.end(), {l.x_o, l.y_i, l.co_o});
  else order.insert(order.end(), {l.co_o, l.x_o, l.y_i});
  if (p.channel_tiles_per_task > 0) order.push_back(l.co_b);
  order.insert(order.end(), {l.y_o, a.n});
  s.reorder(order);
  if (p.channel_tiles_per_task > 0) {
    s.fuse(l.co_b, l.y_o, l.co_b_y).fuse(l.co_b_y, a.n, l.task);
  } else {
    s.fuse(l.y_o, a.n, l.task);
  }
  s.parallel(l.task);
  s.vectorize(l.co_i, lanes, co_tail).unroll(l.co_i).unroll(l.x_i).unroll(l.y_t);
}

// The register tile: `vectors` vectors x tile_w columns x tile_h rows, all unrolled. Unrolling
// by a constant factor (guarded) keeps it legal where Halide cannot prove the tile's extent
// constant (channel blocks, row tails); where it can, the guards fold away.
void tile_conv(Stage init, Stage update, const Algorithm &a, const X86Params &p, int lanes, int vectors,
               int tile_w, bool fixed_kernel, TailStrategy tail) {
  const TailStrategy guard = TailStrategy::GuardWithIf;
  init.vectorize(a.co, lanes, tail)
      .unroll(a.co, vectors, guard)
      .unroll(a.x, tile_w, guard)
      .unroll(a.y, p.tile_h, guard);
  update.reorder(a.co, a.x, a.y, a.r.x, a.r.y)
      .vectorize(a.co, lanes, tail)
      .unroll(a.co, vectors, guard)
      .unroll(a.x, tile_w, guard)
      .unroll(a.y, p.tile_h, guard);
  if (fixed_kernel && p.unroll_taps) update.unroll(a.r.x).unroll(a.r.y);
}

}  // namespace

void schedule_x86(Algorithm &a, const X86Params &p, const ScheduleContext &ctx, const Target &t) {
  const int lanes = t.natural_vector_size<float>();
  const int co_tile = p.vectors * lanes;
  const bool fixed_kernel = ctx.kernel_w > 0 && ctx.kernel_h > 0;
  Loops l;

  // Fast branch: at least one full register tile in channels and columns, so the tails can
  // shift inwards (recompute a few outputs) instead of being guarded.
  Expr full = ctx.out_channels >= co_tile && ctx.out_width >= p.tile_w;
  tile_output(a.output.specialize(full), a, l, p, lanes, co_tile, p.tile_w,
              TailStrategy::ShiftInwards, TailStrategy::ShiftInwards);
  // Fallback: one vector of channels, one column; predicated so that nothing outside the
  // tensors is read or written (few channels, e.g. C*M = 12, stays vectorized).
  tile_output(a.output, a, l, p, lanes, lanes, 1, TailStrategy::Predicate,
              TailStrategy::GuardWithIf);

  const Var &tile_loop = p.channel_tiles_outer ? l.x_o : l.co_o;
  // A constant-size stack tile: with the taps unrolled LLVM keeps it all in registers.
  a.conv.compute_at(a.output, tile_loop)
      .bound_storage(a.co, co_tile)
      .bound_storage(a.x, p.tile_w)
      .bound_storage(a.y, p.tile_h);
  tile_conv(a.conv.specialize(full), a.conv.update(0).specialize(full), a, p, lanes, p.vectors, p.tile_w,
            fixed_kernel, TailStrategy::RoundUp);
  tile_conv(a.conv, a.conv.update(0), a, p, lanes, 1, 1, fixed_kernel, TailStrategy::Predicate);

  if (ctx.multiplier == 0) {
    // Runtime M: the channel map as a table, once per call (no vector division per element).
    a.channel_of.compute_root().vectorize(a.co, lanes, TailStrategy::GuardWithIf);
  }
  if (p.stage_input) {
    // Zero-padded strip (all channels of the task's channel block) computed once per task.
    // Rounding channels up is safe: padded is zero beyond the last channel.
    a.replicated.compute_at(a.output, l.task).vectorize(a.co, lanes, TailStrategy::RoundUp);
  }
}

}  // namespace dwconv
