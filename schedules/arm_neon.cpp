// ARM NEON (AArch64) schedule for the depthwise algorithm.
//
// Register budget: 32 x 128-bit registers = 32 vectors of 4 floats. One tap of a register tile
// needs its `vectors` filter vectors and at least `vectors` input vectors besides the
// accumulators, so a tile of v x w x h accumulators needs v*w*h + 2v registers; with the taps
// unrolled LLVM also keeps the input columns shared by neighbouring outputs live, so tiles of
// 8-12 accumulators are the sweet spot (16 spill: the loop then stores more than it outputs).
//   unit stride: 2 vectors x 3 columns x 2 rows = 12 accumulators; a 3x3 tile loads
//     4 rows x 5 columns x 2 vectors = 40 input + 18 filter vectors for 108 fmla.
//   stride 2 / runtime stride: 2 vectors x 4 columns x 1 row = 8 accumulators.
// Tails: NEON has no masked loads (a predicated vector becomes scalar code), so full tiles shift
// inwards and the fallback branch guards its channel tail with a scalar loop instead.
// Addressing: the input is staged per channel tile, so its column stride is a constant and
// every tap is an immediate offset (ldp q, [xN, #imm]) from one base register per input row.
// Measured: no AArch64 hardware here. llvm-mca-14 (scripts/arm-mca; its N1/A76 entries use the
// Cortex-A57 model, one Q-form FMLA per cycle), cycles per output vector of 4 floats vs that
// model's FMA-only bound: 3x3 s1 11.4 (9.0), 3x3 s2 12.1 (9.0), 5x5 s1 27.5 (25.0),
// 3x3 s1 M=2 11.4 (9.0); the rest is the bias copy and the clamp/NaN select per output.
// Alternatives measured the same way: 16-accumulator tiles (2x4x2, 4x4x1) 11.6-13.6 with spills.
// Correctness runs under qemu-aarch64 (ctest -L aarch64).
#include "arm_neon.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace dwconv {

using namespace Halide;
using Halide::Internal::is_const_one;
using Halide::Internal::is_const_zero;
using Halide::Internal::simplify;

namespace {

constexpr int kLanes = 4;       // floats per 128-bit NEON register
constexpr int kRegisters = 32;  // v0-v31

// Accumulators + the vectors one tap needs at least; the register-budget check of a tile.
int registers_needed(int vectors, int tile_w, int tile_h) { return vectors * tile_w * tile_h + 2 * vectors; }

}  // namespace

std::string arm_neon_params_problem(const ArmNeonParams &p) {
  for (int regs : {registers_needed(p.s1_vectors, p.s1_tile_w, p.s1_tile_h),
                   registers_needed(p.vectors, p.tile_w, p.tile_h)}) {
    if (regs > kRegisters)
      return "ARM NEON register tile needs " + std::to_string(regs) + " vector registers, more than the " +
             std::to_string(kRegisters) + " of AArch64";
  }
  return "";
}

int arm_neon_lanes() { return kLanes; }
int arm_neon_max_accumulators() { return kRegisters * 3 / 4; }

ArmNeonParams default_arm_neon_params(const WorkloadShape *s, int kw, int kh) {
  ArmNeonParams p;
  // Runtime kernel size: the taps are a loop, so one tap's loads are all a tile iteration
  // does; the 2-row tile shares nothing then and the wide tile loads filters once per 4 columns.
  if (kw == 0 || kh == 0) {
    p.s1_vectors = p.vectors;
    p.s1_tile_w = p.tile_w;
    p.s1_tile_h = p.tile_h;
  }
  if (!s) return p;
  const int cm = s->c * s->m;
  const int vecs_needed = (cm + kLanes - 1) / kLanes;
  p.vectors = std::max(1, std::min(p.vectors, vecs_needed));
  p.s1_vectors = std::max(1, std::min(p.s1_vectors, vecs_needed));
  // Fewer channels than a tile: spend the freed accumulators on columns (8-12 per tile).
  while (p.vectors * p.tile_w * 2 * p.tile_h <= 8 && p.tile_w * 2 <= s->out_w) p.tile_w *= 2;
  while (p.s1_vectors * p.s1_tile_w * 2 * p.s1_tile_h <= 12 && p.s1_tile_w * 2 <= s->out_w)
    p.s1_tile_w *= 2;
  p.tile_w = std::max(1, std::min(p.tile_w, s->out_w));
  p.s1_tile_w = std::max(1, std::min(p.s1_tile_w, s->out_w));
  p.s1_tile_h = std::max(1, std::min(p.s1_tile_h, s->out_h));
  // >= 16 tasks where there are rows for them, else split the channels too.
  p.rows_per_task = std::max(1, std::min(8, s->out_h * s->n / 16));
  p.channel_tiles_per_task = channel_tiles_for_tasks(*s, p.vectors * kLanes, p.rows_per_task, 16);
  return p;
}

namespace {

struct Loops {
  Var co_o{"co_o"}, co_i{"co_i"}, x_o{"x_o"}, x_i{"x_i"};
  Var y_o{"y_o"}, y_i{"y_i"}, y_t{"y_t"}, co_b{"co_b"}, co_b_y{"co_b_y"}, task{"task"};
};

// One register-tile shape of the loop nest and the condition under which it runs.
struct Branch {
  Expr condition;  // undefined: the last (unconditional) branch
  int vectors, tile_w, tile_h;
  bool full;  // true: whole tiles (the tails shift inwards); false: guarded one-vector fallback
};

void tile_output(Stage s, const Algorithm &a, const Loops &l, const ArmNeonParams &p,
                 const Branch &b) {
  const int co_tile = b.vectors * kLanes;
  const TailStrategy tail = b.full ? TailStrategy::ShiftInwards : TailStrategy::GuardWithIf;
  // Output rows: tiles of tile_h, tile_h-row tiles grouped into tasks of ~rows_per_task rows.
  const int tiles_per_task = std::max(1, p.rows_per_task / b.tile_h);
  s.split(a.co, l.co_o, l.co_i, co_tile, tail)
      .split(a.x, l.x_o, l.x_i, b.tile_w, tail)
      .split(a.y, l.y_i, l.y_t, b.tile_h, tail)
      .split(l.y_i, l.y_o, l.y_i, tiles_per_task, TailStrategy::GuardWithIf);
  // Channel blocks only in the full branches: in the guarded fallback the tile's channel extent
  // would depend on the fused task index in a way that defeats the unroller's constant bound.
  const bool blocks = p.channel_tiles_per_task > 0 && b.full;
  if (blocks) {
    s.split(l.co_o, l.co_b, l.co_o, p.channel_tiles_per_task, TailStrategy::GuardWithIf);
  }
  // Channel tiles outermost in a task: the task's rows are swept once per channel tile, on the
  // input staged for that tile. Channel blocks (if any) join the row strips and the batch in the
  // parallel task loop (fused through a separate name: reusing `task` confuses bounds inference).
  std::vector<VarOrRVar> order = {l.co_i, l.x_i, l.y_t, l.x_o, l.y_i, l.co_o};
  if (blocks) order.push_back(l.co_b);
  order.insert(order.end(), {l.y_o, a.n});
  s.reorder(order);
  if (blocks) {
    s.fuse(l.co_b, l.y_o, l.co_b_y).fuse(l.co_b_y, a.n, l.task);
  } else {
    s.fuse(l.y_o, a.n, l.task);
  }
  s.parallel(l.task);
  if (b.full) {
    s.vectorize(l.co_i, kLanes).unroll(l.co_i).unroll(l.x_i).unroll(l.y_t);
  } else {
    // One vector of channels with a scalar tail (no masked stores on NEON).
    s.vectorize(l.co_i, kLanes, TailStrategy::GuardWithIf);
  }
}

// The register tile, scheduled once for every branch: its extents are the enclosing output
// tile's (constants in the full branches, so the guards below fold away there; one guarded
// vector in the fallback). Specializing it per branch instead would leave every branch's tile
// code behind the others' conditions, which the simplifier cannot decide (4x the code).
void tile_conv(Algorithm &a, const ArmNeonParams &p, bool fixed_kernel) {
  a.conv.vectorize(a.co, kLanes, TailStrategy::GuardWithIf).unroll(a.co).unroll(a.x).unroll(a.y);
  Stage update = a.conv.update(0);
  update.reorder(a.co, a.x, a.y, a.r.x, a.r.y)
      .vectorize(a.co, kLanes, TailStrategy::GuardWithIf)
      .unroll(a.co)
      .unroll(a.x)
      .unroll(a.y);
  if (fixed_kernel && p.unroll_taps) update.unroll(a.r.x).unroll(a.r.y);
}

}  // namespace

void schedule_arm_neon(Algorithm &a, const ArmNeonParams &p, const ScheduleContext &ctx,
                       const Target &t) {
  if (t.arch != Target::ARM || t.bits != 64)
    throw std::invalid_argument("schedule_arm_neon needs a 64-bit ARM target, not " + t.to_string());
  const bool fixed_kernel = ctx.kernel_w > 0 && ctx.kernel_h > 0;
  if (std::string problem = arm_neon_params_problem(p); !problem.empty()) throw std::invalid_argument(problem);
  Loops l;

  auto fits = [&](int vectors, int tile_w, int tile_h) {
    return ctx.out_channels >= vectors * kLanes && ctx.out_width >= tile_w &&
           ctx.out_height >= tile_h;
  };
  std::vector<Branch> branches;
  const bool strides_known = ctx.stride_x.defined() && ctx.stride_y.defined() &&
                             ctx.dilation_x.defined() && ctx.dilation_y.defined();
  // The branches of kArmNeonGeneralBranches (general_branches.h): stride 1 and 2, unit dilation.
  Expr unit_stride, stride2;
  if (strides_known) {
    Expr unit_dilation = ctx.dilation_x == 1 && ctx.dilation_y == 1;
    unit_stride = simplify(ctx.stride_x == 1 && ctx.stride_y == 1 && unit_dilation);
    stride2 = simplify(ctx.stride_x == 2 && ctx.stride_y == 2 && unit_dilation);
  }
  if (strides_known && is_const_one(unit_stride)) {
    // Strides fixed at compile time (a per-workload kernel): only the matching tile.
    branches.push_back({fits(p.s1_vectors, p.s1_tile_w, p.s1_tile_h), p.s1_vectors, p.s1_tile_w,
                        p.s1_tile_h, true});
  } else {
    if (p.specialize_strides && strides_known && !is_const_zero(unit_stride)) {
      branches.push_back({unit_stride && fits(p.s1_vectors, p.s1_tile_w, p.s1_tile_h),
                          p.s1_vectors, p.s1_tile_w, p.s1_tile_h, true});
    }
    if (p.specialize_strides && strides_known && !is_const_zero(stride2) &&
        !is_const_one(stride2)) {
      branches.push_back(
          {stride2 && fits(p.vectors, p.tile_w, p.tile_h), p.vectors, p.tile_w, p.tile_h, true});
    }
    branches.push_back({fits(p.vectors, p.tile_w, p.tile_h), p.vectors, p.tile_w, p.tile_h, true});
  }
  // The hot branch once more without an activation, where the clamp and its NaN pass fold
  // away (dwconv_algorithm.h).
  const Branch hot = branches.front();
  branches.insert(branches.begin(), {a.clamp_is_identity && hot.condition, hot.vectors, hot.tile_w, hot.tile_h, true});
  branches.push_back({Expr(), 1, 1, 1, false});

  int max_co = 0, max_w = 0, max_h = 0;
  for (const Branch &b : branches) {
    max_co = std::max(max_co, b.vectors * kLanes);
    max_w = std::max(max_w, b.tile_w);
    max_h = std::max(max_h, b.tile_h);
  }
  for (const Branch &b : branches) {
    tile_output(b.condition.defined() ? a.output.specialize(b.condition) : Stage(a.output), a, l, p,
                b);
  }
  tile_conv(a, p, fixed_kernel);

  // A constant-size stack tile: with the taps unrolled LLVM keeps it in registers.
  a.conv.compute_at(a.output, l.x_o)
      .bound_storage(a.co, max_co)
      .bound_storage(a.x, max_w)
      .bound_storage(a.y, max_h);

  if (ctx.multiplier == 0) {
    // Runtime M: the channel map as a table, once per call (no vector division per element).
    a.channel_of.compute_root().vectorize(a.co, kLanes, TailStrategy::GuardWithIf);
  }
  if (p.stage_input) {
    // Zero-padded input of one channel tile for the task's rows; rounding channels up is safe
    // since padded is zero beyond the last channel. Its channel extent is the tile's (constant
    // in the full branches), so its column stride is a constant too.
    a.replicated.compute_at(a.output, l.co_o)
        .bound_storage(a.co, max_co)
        .vectorize(a.co, kLanes, TailStrategy::RoundUp);
  }
}

}  // namespace dwconv
