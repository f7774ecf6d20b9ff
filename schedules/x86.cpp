// x86 schedule for the depthwise algorithm.
//
// Structure (every branch shares loop names so that producers can be placed the same way):
//   output: [task = (channel block, row strip, batch)] parallel
//             co_o (channel tiles; inside the column tiles when channel_tiles_outer is false)
//               y_i (rows of the strip, tile_h at a time)
//                 x_o (column tiles)
//                   conv computed here: a vectors x tile_w x tile_h register tile,
//                   taps (r.x, r.y) outermost, unrolled for fixed-size kernels (a general
//                   kernel loops over the filter rows: tap_unroll)
//                   y_t, x_i, co_i: write the tile out (co_i vectorized)
// Branches (specialize): full register tiles for stride 1 and stride 2 (unit dilation) when the
// kernel's stride is a runtime value, full tiles for any stride, and a one-vector fallback for
// fewer channels or columns than a tile.
//
// Boundary handling decides the speed. With constant stride and dilation, loop partitioning
// splits the column-tile loop into border tiles (padding selects) and interior tiles (plain
// loads), and the row loop of each task likewise (the task loop itself is not partitioned:
// that would run whole border strips with selects). This needs the algorithm's zero padding
// as one select per dimension (dwconv_algorithm.h); with one select testing rows and columns
// together no interior survived (mbv1_dw3, JIT, 1 thread: 73 -> 90 GFLOP/s). So M = 1 reads
// the input in place. Staging (stage_input) copies the zero-padded input, replicated over M,
// per task or per channel tile: M > 1 then gathers each channel once per staged pixel, not
// per tap, and M = 1 stride-1 shapes lose a power-of-two row pitch (default_x86_params).
// Register budget (AVX-512, 32 zmm): 2 vectors x 4 columns = 8 accumulators + 18 filter vectors
// of a 3x3 kernel + input vectors; 5x5 uses 1 x 6 (25 filter vectors).
// Figures in this file are GFLOP/s at 1 thread from `dwconv measure SHAPE --params ...` (JIT,
// stride fixed at compile time) on the project's 2-core AVX-512 machines (docs/design.md names
// them): mbv1_dw3 63 with the input staged per channel tile vs 90 in place; mbv1_dw1 64 vs 93;
// effb0_5x5 (1x6 tile) 76 vs 80.
#include "x86.h"

#include "general_branches.h"

#include <algorithm>
#include <numeric>
#include <vector>

namespace dwconv {

using namespace Halide;
using Halide::Internal::is_const_one;
using Halide::Internal::is_const_zero;
using Halide::Internal::simplify;

namespace {

// The defaults every kernel starts from, a general kernel's whole schedule.
X86Params general_defaults(int m, int kw) {
  X86Params p;
  // M = 1 reads the input in place; M > 1 (or a runtime M) stages it replicated per channel tile.
  p.stage_input = m == 1 ? 0 : 2;
  // A general kernel (runtime strides) sweeps the columns innermost, one channel tile at a
  // time: its tap addresses then advance by one stride per column tile; visiting all channel
  // tiles at each column tile keeps a pointer per tap live across them (16 for a 2x2x2 tile,
  // spilled): 56x56x128, 2x4x1 tiles, 80 vs 34 GFLOP/s (dwconv measure --runtime-stride).
  p.channel_tiles_outer = true;
  // 5x5 and wider: 25+ filter vectors per channel vector leave room for one vector x 7 columns.
  // Seven divides the widths of image networks' later stages (7, 14, 28, 56, 112), where a
  // general kernel, not knowing the width, would otherwise compute columns twice (below).
  if (kw >= 5) {
    p.vectors = 1;
    p.tile_w = 7;
  }
  // A general kernel's unrolled taps keep their padding tests, so unrolling the filter's rows
  // adds code, not reuse (unrolled columns share input vectors between neighbouring output
  // columns either way): one row's taps unrolled, a loop over the rows, from 5x5 on. 3x3 keeps
  // every tap unrolled. Measured in docs/design.md ("Unrolled taps").
  p.loop_tap_rows = kw >= 5;
  return p;
}

// The register tile of a workload: vectors of channels x columns.
void choose_register_tile(X86Params &p, const WorkloadShape &s, int lanes, int m, int kw) {
  const int cm = s.c * s.m;
  const int vecs_needed = (cm + lanes - 1) / lanes;
  p.vectors = std::max(1, std::min(p.vectors, vecs_needed));
  // Narrow images: one or two tiles cover a row, so that few tiles touch the border.
  if (s.out_w <= 16 && kw < 5) {
    const int tiles = (s.out_w + 7) / 8;
    p.tile_w = (s.out_w + tiles - 1) / tiles;
  }
  // M > 2 stages whole chunks of lcm(M, lanes) channels (staged_chunk()). Where the chunk is
  // several vectors and C*M is not a multiple of it, one-vector tiles of 5x5 and wider run at
  // a third to a half of two-vector ones (AVX-512, GFLOP/s, default 1x7 vs 2x4: 56x56x24x3 5x5
  // stride 2 12 vs 31, 20x20x30x3 5x5 25 vs 68, 28x28x40x3 7x7 37 vs 59, 2x24x24x25x5 7x7
  // stride 2 16 vs 32; where C*M is a multiple, one vector stays ahead: 28x28x32x3 5x5 102 vs
  // 89; and for M = 4, whose chunk is one vector: 14x14x35x4 5x5 53 vs 46).
  const int chunk = std::lcm(m, lanes);
  if (m > 2 && kw >= 5 && lanes >= 16 && chunk > lanes && cm % chunk != 0 && vecs_needed >= 2) {
    p.vectors = 2;
    p.tile_w = 4;
  }
  // One vector of 5x5 or wider: 5 to 7 columns, whichever covers the row with the fewest
  // columns computed twice (the last tile shifts inwards over its neighbour). A 7-wide image
  // in tiles of 6 computes 12 columns for 7: 7x7x1152 5x5 60 -> 100 GFLOP/s with tile_w = 7,
  // 7x7x768 7x7 58 -> 102 (docs/design.md, "Register tiles").
  if (kw >= 5 && p.vectors == 1) {
    int best = p.tile_w, covered = 1 << 30;
    for (int t = 7; t >= 5; t--) {
      const int c = (s.out_w + t - 1) / t * t;
      if (c < covered) best = t, covered = c;
    }
    p.tile_w = best;
  }
}

// Whether and how the input is staged, and the channel tiles' place in the loop nest.
void choose_staging(X86Params &p, const WorkloadShape &s, int lanes, int m, int kw) {
  const int cm = s.c * s.m;
  const int co_tile = p.vectors * lanes;
  // M = 1 reads in place: loop partitioning leaves the interior tiles without padding tests.
  // Staging a strip of rows per channel tile (a copy of ~1 + 2/16 input reads per output) pays
  // only where a power-of-two row pitch of 2 KiB or more makes the tile's columns share L1
  // sets. Measured here (JIT, warm, 1 thread, GFLOP/s, in place vs staged): 14x14x512 48 vs
  // 67, 7x7x1024 43 vs 56; but 56x56x128 89 vs 63, 56x56x144 76 vs 55, 7x7x960 80 vs 47,
  // effb0_5x5 80 vs 76, and every stride-2 or dilated shape loses (the copy outweighs 2.25
  // taps per input pixel; valid_s2 53 vs 20).
  // It also needs the staged strip (16 rows, or the image) to stay in L1: a larger one loses to
  // reading in place (Xeon, AVX-512, 48 KiB L1, staged vs in place, strip KiB: 14x14x512 89 vs
  // 71 (32), 16x16x1024 62 vs 53 (41), 12x12x1024 5x5 132 vs 73 (32); 20x20x512 63 vs 72 (51),
  // 24x24x512 51 vs 60 (60), 28x28x512 40 vs 49 (69)).
  const int pitch = cm * 4;
  const bool pow2_pitch = pitch >= 2048 && (pitch & (pitch - 1)) == 0;
  const bool unit = s.stride_h == 1 && s.stride_w == 1 && s.dilation_h == 1 && s.dilation_w == 1;
  const long strip_bytes = long(std::min(16, s.out_h) + s.kh - 1) * (s.out_w + kw - 1) * co_tile * 4;
  if (m == 1 && unit && pow2_pitch && strip_bytes <= 42 * 1024) p.stage_input = 2;
  // M = 2 reads in place too: co / 2 over a vector is one interleave of a dense load
  // (32x32x256x2, 2x2x2 tiles, in place 82 GFLOP/s vs 57 staged per 32-channel tile; Intel
  // 2-core Intel Xeon AVX-512, JIT, 1 thread). Other constant M stage once per task, all the
  // task's channels, so the staged vectors are whole chunks of lcm(M, lanes) channels: one
  // dense load and a permute each instead of a gather (staged_chunk()). Same machine, 2-row
  // strips, channel tiles inside the column tiles (whole contiguous rows), GFLOP/s vs the
  // per-channel-tile staging before: 28x28x64x3 3x3 61 vs 7.8 (a gather per staged vector,
  // and one strip row staged per output row), seed_big (20x64x64x100x10, 5x5) 54 vs 24.
  if (m == 2) p.stage_input = 0;
  if (m > 2) p.stage_input = 1;
  // With constant strides (a per-workload kernel) and reading in place, all channel tiles at
  // each column tile instead: a strip's rows are read as whole contiguous rows, which the
  // hardware prefetcher streams (JIT, warm, 1 thread, GFLOP/s, channel tiles outside vs inside
  // the column tiles: 8x56x56x128 (25.7 MB) 32 vs 42, 56x56x128 98 vs 104, 28x28x256 91 vs
  // 101, effb0_5x5 95 vs 106, stride 2 54 vs 60; 112x112x32 and 7x7x960 equal). A staged block
  // is per channel tile, so the tiles stay outside (7x7x1024: 56 vs 40, and M > 1: 65 vs 43 on
  // 32x32x256x2).
  p.channel_tiles_outer = p.stage_input == 2;
}

// The parallel tasks: row strips, then channel blocks.
void choose_tasks(X86Params &p, const WorkloadShape &s, int lanes, int m) {
  const int cm = s.c * s.m;
  const int co_tile = p.vectors * lanes;
  // Parallel tasks: rows first, then channel blocks (below). Staged: >= 16 tasks, and for
  // M = 1 tall strips (a staged strip is copied once per channel tile: they amortize its 2 halo
  // rows). In place: strips of 8, 4 or 2 rows that divide the image (a guarded last strip keeps
  // its row loop from being partitioned), >= 8 strips. 56x56x128 at 1 / 2 / 3 / 4 / 8 rows: 89 / 90
  // / 79 / 89 / 90 GFLOP/s; 112x112x64 stride 2 at 4 / 7 / 8 rows: 48 / 37 / 49.
  if (p.stage_input == 2 && m == 1) {
    p.rows_per_task = std::min(16, s.out_h);
  } else if (p.stage_input == 2) {
    p.rows_per_task = std::max(1, std::min(16, s.out_h * s.n / 16));
  } else if (p.stage_input == 1) {
    // Two rows: a strip of 2 + kh - 1 staged rows (seed_big at 1 / 2 / 4 rows: 43 / 49 / 45
    // GFLOP/s with 1x6x1 tiles).
    p.rows_per_task = s.out_h >= 2 && s.out_h / 2 * s.n >= 8 ? 2 : 1;
  } else {
    p.rows_per_task = 1;
    for (int d : {8, 4, 2}) {
      if (s.out_h % d == 0 && s.out_h / d * s.n >= 8) {
        p.rows_per_task = d;
        break;
      }
    }
  }
  // Channel blocks only where the strips give fewer than 8 tasks in place (they cost at 1
  // thread: 56x56x128, 7-row strips, 2 channel tiles per task: 87 vs 90) or 16 staged.
  p.channel_tiles_per_task = channel_tiles_for_tasks(s, co_tile, p.rows_per_task, p.stage_input == 0 ? 8 : 16);
  if (p.stage_input == 1 && p.channel_tiles_per_task > 0) {
    // Staged per task: channel blocks of whole chunks (staged_chunk()). All channels in one
    // block was no slower even past L2: seed_big's 1.7 MB block (2 MiB L2) vs blocks of 640
    // channels, two runs: 57.8 vs 45.6 and 42.9 vs 41.5 GFLOP/s.
    X86Params all = p;
    all.channel_tiles_per_task = 0;
    if (staged_chunk(all, m, lanes) > 0) {  // chunks at all (not M > 16 with few factors of 2)
      const int tiles = (cm + co_tile - 1) / co_tile;
      while (p.channel_tiles_per_task < tiles && staged_chunk(p, m, lanes) == 0) p.channel_tiles_per_task++;
      if (p.channel_tiles_per_task >= tiles) p.channel_tiles_per_task = 0;
    }
  }
}

// Register tiles two rows tall where rows share their input, and no wider than the image.
void pair_rows(X86Params &p, const WorkloadShape &s, int m, int kw) {
  const bool unit = s.stride_h == 1 && s.stride_w == 1 && s.dilation_h == 1 && s.dilation_w == 1;
  // M = 1, stride 1, unit dilation, in place: two output rows per register tile share all but
  // one of their input rows, so every input vector loaded feeds both. Measured here (JIT, warm,
  // 1 thread, GFLOP/s, 2x4x1 or 1x6x1 vs 2x2x2 or 1x4x2): 56x56x128 92 vs 98, 28x28x256 81 vs
  // 91, 56x56x144 95 vs 99, effb0_5x5 80 vs 96; not dilated ones (atrous_d2 88 vs 83), nor
  // M > 1 (staged), nor narrow images (one 7-column tile per row).
  // The same for M = 2 in place and for M > 2 staged per task (28x28x64x3 3x3: 2x2x2 61 vs
  // 1x6x1 55 GFLOP/s; seed_big: 1x4x2 54 vs 1x6x1 49).
  if (unit && s.out_w > 16 && p.rows_per_task % 2 == 0 &&
      ((m <= 2 && p.stage_input == 0) || p.stage_input == 1)) {
    p.tile_h = 2;
    p.tile_w = kw >= 5 ? 4 : 2;
  }
  if (p.tile_w > s.out_w) p.tile_w = std::max(1, s.out_w);
}

}  // namespace

X86Params default_x86_params(const WorkloadShape *s, int lanes, int multiplier, int kernel_w) {
  const int m = s ? s->m : multiplier;
  const int kw = s ? s->kw : kernel_w;
  X86Params p = general_defaults(m, kw);
  if (!s) return p;
  choose_register_tile(p, *s, lanes, m, kw);
  choose_staging(p, *s, lanes, m, kw);
  choose_tasks(p, *s, lanes, m);
  pair_rows(p, *s, m, kw);
  // Constant extents fold most of the padding tests of every unrolled tap: all taps unrolled
  // up to 7x7, the rows looped beyond (docs/design.md, "Unrolled taps").
  p.loop_tap_rows = s->kh * s->kw > 49;
  return p;
}

std::string x86_isa_level(const Target &t) {
  // The same grouping as the runtime's dispatch hook (runtime/src/dwconv.cpp: isa_needed).
  for (Target::Feature f : {Target::AVX512_SapphireRapids, Target::AVX512_Zen4, Target::AVX512_Zen5, Target::AVX10_1,
                            Target::X86APX})
    if (t.has_feature(f)) return "avx512_zen4";
  for (Target::Feature f : {Target::AVX512, Target::AVX512_KNL, Target::AVX512_Skylake, Target::AVX512_Cannonlake,
                            Target::AVXVNNI})
    if (t.has_feature(f)) return "avx512";
  for (Target::Feature f : {Target::AVX, Target::AVX2, Target::FMA, Target::FMA4, Target::F16C})
    if (t.has_feature(f)) return "avx2";
  return t.has_feature(Target::SSE41) ? "sse41" : "baseline";
}

int x86_max_accumulators(const Target &t) { return x86_level_lanes(x86_isa_level(t)) == 16 ? 24 : 12; }

int staged_chunk(const X86Params &p, int multiplier, int lanes) {
  if (multiplier <= 1 || p.stage_input == 0) return 0;
  const int chunk = std::lcm(multiplier, lanes);
  // Chunks of more than 16 vectors (M > 16 with few factors of 2): a vector spans at most two
  // channels then, and the unrolled chunk would be long.
  if (chunk / lanes > 16) return 0;
  const int co_tile = p.vectors * lanes;
  if (p.stage_input == 2) return co_tile % chunk == 0 ? chunk : 0;
  // Staged per task: the task's channel block, or all channels (from 0).
  return p.channel_tiles_per_task == 0 || (p.channel_tiles_per_task * co_tile) % chunk == 0 ? chunk : 0;
}

namespace {

// Largest staged input block put on the stack (the calling thread's and Halide's workers').
constexpr long kMaxStackStage = 128 * 1024;

struct Loops {
  Var co_o{"co_o"}, co_i{"co_i"}, x_o{"x_o"}, x_i{"x_i"};
  Var y_o{"y_o"}, y_i{"y_i"}, y_t{"y_t"}, co_b{"co_b"}, co_b_y{"co_b_y"}, task{"task"};
};

// One specialization of the output: its condition (undefined for the last, unconditional one),
// its register tile, and whether its tiles are full (tails shift inwards) or predicated.
struct Branch {
  Expr condition;
  int vectors, tile_w;
  bool full;
};

void tile_output(Stage s, const Algorithm &a, const Loops &l, const X86Params &p, int lanes,
                 const Branch &b) {
  const TailStrategy co_tail = b.full ? TailStrategy::ShiftInwards : TailStrategy::Predicate;
  const TailStrategy x_tail = b.full ? TailStrategy::ShiftInwards : TailStrategy::GuardWithIf;
  s.split(a.co, l.co_o, l.co_i, b.vectors * lanes, co_tail)
      .split(a.x, l.x_o, l.x_i, b.tile_w, x_tail)
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
  // Border rows: partition the row loop inside each task, not the task loop (which would run
  // whole border strips with the row tests in every tap). A one-row-tile task has no row loop
  // to partition; the task loop is then the row loop.
  if (p.rows_per_task > p.tile_h) s.never_partition({l.task});
  s.vectorize(l.co_i, lanes, co_tail).unroll(l.co_i).unroll(l.x_i).unroll(l.y_t);
}

// Which filter taps the register tile unrolls.
enum class TapUnroll { kNone, kColumns, kAll };

TapUnroll tap_unroll(const X86Params &p, const ScheduleContext &ctx) {
  if (!p.unroll_taps || ctx.kernel_w <= 0 || ctx.kernel_h <= 0) return TapUnroll::kNone;
  return p.loop_tap_rows ? TapUnroll::kColumns : TapUnroll::kAll;
}

// The register tile: `vectors` vectors x tile_w columns x tile_h rows, all unrolled. Unrolling
// by a constant factor (guarded) keeps it legal where Halide cannot prove the tile's extent
// constant (channel blocks, row tails); where it can, the guards fold away.
void tile_conv(Stage init, Stage update, const Algorithm &a, const X86Params &p, int lanes,
               const Branch &b, TapUnroll taps) {
  const TailStrategy tail = b.full ? TailStrategy::RoundUp : TailStrategy::Predicate;
  const TailStrategy guard = TailStrategy::GuardWithIf;
  init.vectorize(a.co, lanes, tail)
      .unroll(a.co, b.vectors, guard)
      .unroll(a.x, b.tile_w, guard)
      .unroll(a.y, p.tile_h, guard);
  update.reorder(a.co, a.x, a.y, a.r.x, a.r.y)
      .vectorize(a.co, lanes, tail)
      .unroll(a.co, b.vectors, guard)
      .unroll(a.x, b.tile_w, guard)
      .unroll(a.y, p.tile_h, guard);
  if (taps != TapUnroll::kNone) update.unroll(a.r.x);
  if (taps == TapUnroll::kAll) update.unroll(a.r.y);
}

}  // namespace

namespace {

// The output's specializations, first match wins: full register tiles at the general branches'
// constant (stride, dilation) pairs, full tiles at any stride, the same without an activation
// in front, and the predicated one-vector fallback last. *whole_vectors is where the output's
// tiles are whole vectors: a full tile, or one-vector tiles of a C*M that is a multiple of the
// vector width but below a full tile (16 channels of a 2-vector schedule).
std::vector<Branch> output_branches(const Algorithm &a, const X86Params &p, const ScheduleContext &ctx, int lanes,
                                    Expr *whole_vectors) {
  // Full-tile branches need at least one register tile of channels and columns.
  const int co_tile = p.vectors * lanes;
  const Expr &cm = ctx.out_channels;
  const Expr full = cm >= co_tile && ctx.out_width >= p.tile_w;
  // Reading in place, a channel tile shifted inwards (C*M not a multiple of the tile) keeps the
  // channel test in its taps and loses the partitioned interior: tiles that divide C*M first.
  const bool split_tail = p.stage_input == 0 && p.vectors > 1;
  const Expr primary = split_tail ? full && cm % co_tile == 0 : full;
  const Expr lane_multiple = cm % lanes == 0 && cm >= lanes && ctx.out_width >= p.tile_w;
  std::vector<Branch> full_tiles = {{primary, p.vectors, p.tile_w, true}};
  if (split_tail) {
    // One-vector tiles where C*M is a multiple of the vector width (e.g. 48 channels), then
    // shifted tiles for any C*M.
    full_tiles.push_back({lane_multiple, 1, p.tile_w, true});
    full_tiles.push_back({full, p.vectors, p.tile_w, true});
  }
  std::vector<Branch> branches;
  const bool strides_known = ctx.stride_x.defined() && ctx.stride_y.defined() &&
                             ctx.dilation_x.defined() && ctx.dilation_y.defined();
  if (p.specialize_strides && strides_known) {
    // Each full tile also with constant (stride, dilation) 1x1, 2x1 and 1x2 (atrous), so that a
    // general kernel's interior is partitioned whatever C*M (56x56x144, one-vector tiles, at
    // runtime stride: 25 -> 66 GFLOP/s; 64x64x128 dilation 2: 33 -> 61 GFLOP/s, DWCONV_BENCH_GENERAL=1).
    for (const auto &[stride, dilation] : kX86GeneralBranches) {
      Expr same = simplify(ctx.stride_x == stride && ctx.stride_y == stride && ctx.dilation_x == dilation &&
                           ctx.dilation_y == dilation);
      // Constant strides (a per-workload kernel) need no branch; the matching one is the
      // unconditional full branch below.
      if (is_const_zero(same) || is_const_one(same)) continue;
      for (const Branch &b : full_tiles) branches.push_back({same && b.condition, b.vectors, b.tile_w, true});
    }
  }
  branches.insert(branches.end(), full_tiles.begin(), full_tiles.end());
  // The full tiles of the first stride (stride 1 in a general kernel, the kernel's own in a
  // per-workload one) once more without an activation, where the clamp and its NaN pass fold
  // away (dwconv_algorithm.h). Every full tile: 56x56x144 runs the one-vector tiles of a 2x2x2
  // default (78 GFLOP/s with the clamp, 93 without).
  std::vector<Branch> identity;
  for (size_t i = 0; i < full_tiles.size(); i++)
    identity.push_back({a.clamp_is_identity && branches[i].condition, branches[i].vectors, branches[i].tile_w, true});
  branches.insert(branches.begin(), identity.begin(), identity.end());
  // Fallback: one vector of channels, one column; predicated so that nothing outside the
  // tensors is read or written (few channels, e.g. C*M = 12, stays vectorized).
  branches.push_back({Expr(), 1, 1, false});

  *whole_vectors = split_tail ? full || lane_multiple : full;
  return branches;
}

// Where the zero-padded, replicated input is staged (stage_input 1: per task; 2: per channel
// tile) and in what vectors.
void schedule_staging(Algorithm &a, const X86Params &p, const ScheduleContext &ctx, const Loops &l, int lanes) {
  const int co_tile = p.vectors * lanes;
  // Rounding staged channels up is safe: padded is zero beyond the last channel.
  // A constant M > 1 makes each staged vector replicated(co .. co + lanes - 1) = padded(co / M ..),
  // a gather (16 scalar loads + 15 inserts on AVX-512) unless the position of co in the
  // channel map is a compile-time constant: in chunks of L = lcm(M, lanes) channels that start
  // at a multiple of L, vector j of a chunk reads the constant pattern (16 j + i) / M from
  // channel L / M * chunk, one dense load and one permute. That needs the staged block to
  // start at a multiple of L (align_bounds) and to be whole chunks: a channel tile (stage 2)
  // or task's channel block (stage 1) of a multiple of L channels (staged_chunk()).
  const int chunk = staged_chunk(p, ctx.multiplier, lanes);
  auto stage_vectors = [&](Func f) {
    if (chunk > 0) {
      const Var c_l{"co_chunk"}, c_v{"co_vec"};
      f.align_bounds(a.co, chunk)
          .split(a.co, c_l, a.co, chunk, TailStrategy::RoundUp)
          .split(a.co, c_v, a.co, lanes)
          .vectorize(a.co)
          .unroll(c_v);
    } else {
      f.vectorize(a.co, lanes, TailStrategy::RoundUp);
    }
  };
  // A per-workload kernel knows the staged block's size and puts a small one on the stack: one
  // heap allocation per block costs ~60 ns (7x7x1024, per channel tile: 4 of 21 us).
  auto stack_if_small = [&](long channels) {
    if (!ctx.shape) return false;
    const WorkloadShape &w = *ctx.shape;
    const long rows = long(std::min(p.rows_per_task, w.out_h) - 1) * w.stride_h + long(w.kh - 1) * w.dilation_h + 1;
    const long cols = long(w.out_w - 1) * w.stride_w + long(w.kw - 1) * w.dilation_w + 1;
    if (rows * cols * channels * long(sizeof(float)) > kMaxStackStage) return false;
    a.replicated.store_in(MemoryType::Stack);
    return true;
  };
  if (p.stage_input == 1) {
    // Zero-padded strip (all channels of the task's channel block) computed once per task.
    a.replicated.compute_at(a.output, l.task);
    stage_vectors(a.replicated);
    // At most the task's channel tiles, or all channels rounded up to vectors; aligned to
    // chunks, one chunk more.
    if (ctx.shape) {
      const long cm_up = (long(ctx.shape->c) * ctx.shape->m + lanes - 1) / lanes * lanes;
      const long block = p.channel_tiles_per_task > 0 ? std::min<long>(long(p.channel_tiles_per_task) * co_tile, cm_up) : cm_up;
      const long channels = block + (chunk > 0 ? chunk : 0);
      if (stack_if_small(channels)) a.replicated.bound_storage(a.co, int(channels));
    }
  } else if (p.stage_input == 2) {
    // One channel tile of the task's rows: a constant column stride, a block that stays in L2.
    // Aligned to whole chunks, the shifted last tile spans one chunk more.
    a.replicated.compute_at(a.output, l.co_o).bound_storage(a.co, co_tile + (chunk > 0 ? chunk : 0));
    stage_vectors(a.replicated);
    stack_if_small(co_tile + (chunk > 0 ? chunk : 0));
  }
}

}  // namespace

void schedule_x86(Algorithm &a, const X86Params &p, const ScheduleContext &ctx, const Target &t) {
  if (p.stage_input < 0 || p.stage_input > 2)
    throw std::invalid_argument("x86 schedule: stage_input must be 0, 1 or 2");
  const int lanes = t.natural_vector_size<float>();
  const TapUnroll taps = tap_unroll(p, ctx);
  const int co_tile = p.vectors * lanes;
  Loops l;
  Expr whole_vectors;
  const std::vector<Branch> branches = output_branches(a, p, ctx, lanes, &whole_vectors);
  for (const Branch &b : branches) {
    Stage s = b.condition.defined() ? a.output.specialize(b.condition) : Stage(a.output);
    tile_output(s, a, l, p, lanes, b);
  }
  const Var &tile_loop = p.channel_tiles_outer ? l.x_o : l.co_o;
  // A constant-size stack tile: with the taps unrolled LLVM keeps it all in registers.
  a.conv.compute_at(a.output, tile_loop)
      .bound_storage(a.co, co_tile)
      .bound_storage(a.x, p.tile_w)
      .bound_storage(a.y, p.tile_h);
  // conv is computed inside each output branch; its own branches follow the tile size (a
  // one-vector tile runs the first vector of the unrolled pair; the guard folds away): whole
  // vectors where the output's tiles are whole, which the predicated fallback's conv would run
  // one column at a time.
  tile_conv(a.conv.specialize(whole_vectors), a.conv.update(0).specialize(whole_vectors), a, p, lanes,
            branches.front(), taps);
  tile_conv(a.conv, a.conv.update(0), a, p, lanes, branches.back(), taps);

  if (ctx.multiplier == 0) {
    // Runtime M: the channel map as a table, once per call (no vector division per element).
    a.channel_of.compute_root().vectorize(a.co, lanes, TailStrategy::GuardWithIf);
  }
  schedule_staging(a, p, ctx, l, lanes);
}

}  // namespace dwconv
