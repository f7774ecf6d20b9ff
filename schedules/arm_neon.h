// ARM NEON (AArch64, 128-bit) schedule for the algorithm of generators/dwconv_algorithm.h.
#pragma once

#include <string>

#include "dwconv_algorithm.h"
#include "schedule_common.h"

namespace dwconv {

// Every knob of the NEON schedule. AArch64 has 32 vector registers of 4 floats; a register tile
// of `vectors * tile_w * tile_h` accumulators must leave room for the live filter and input
// vectors of one tap. The defaults are the heuristic fallback (see default_arm_neon_params()).
struct ArmNeonParams {
  // Register tile of the unit-stride branch (stride 1, dilation 1): neighbouring outputs share
  // kw - 1 input columns and kh - 1 input rows, which LLVM loads once when the taps are
  // unrolled and the stride is a constant.
  int s1_vectors = 2;  // 4-float vectors of output channels
  int s1_tile_w = 3;   // output columns
  int s1_tile_h = 2;   // output rows
  // Register tile of the other branches (stride 2 and runtime stride/dilation).
  int vectors = 2;
  int tile_w = 4;
  int tile_h = 1;
  int rows_per_task = 8;  // output rows per parallel task
  // Channel tiles per parallel task; 0 puts all channels in one task. Small images with many
  // channels (7x7x1024) need channel parallelism since they have too few rows.
  int channel_tiles_per_task = 0;
  // Specialize the loop nest on stride 1 and stride 2 (dilation 1) so that input addresses
  // are constant offsets and shared loads are found (NEON has no gathers; loads are the limit).
  bool specialize_strides = true;
  // Stage the zero-padded (and, for M > 1, channel-replicated) input of one channel tile of the
  // task's rows, once per channel tile: the staged block is co_tile channels wide, a constant,
  // so every tap of a tile is an immediate offset from one base register per input row.
  bool stage_input = true;
  bool unroll_taps = true;  // unroll the taps of a fixed-size kernel
};

// The heuristic default for a workload (shape known) or for a general kernel (shape == nullptr,
// kernel size kw x kh, 0 when it is a runtime value).
ArmNeonParams default_arm_neon_params(const WorkloadShape *shape, int kw = 0, int kh = 0);

// Why p's register tiles do not fit AArch64's 32 vector registers, or "" when they do: what
// schedule_arm_neon accepts, and the tuner's validity rule.
std::string arm_neon_params_problem(const ArmNeonParams &p);

// Floats per vector register, and the accumulators a well-performing tile stays within (3/4
// of the registers, the rest holding a tap's input and filter vectors): the tuner's prior.
int arm_neon_lanes();
int arm_neon_max_accumulators();

// Applies p to the algorithm for an ARM target t (64-bit, NEON).
void schedule_arm_neon(Algorithm &a, const ArmNeonParams &p, const ScheduleContext &ctx,
                       const Halide::Target &t);

template <class F>
void visit_fields(ArmNeonParams &p, F &&f) {
  f("s1_vectors", p.s1_vectors, {1, 2, 3, 4});
  f("s1_tile_w", p.s1_tile_w, {1, 2, 3, 4, 6});
  f("s1_tile_h", p.s1_tile_h, {1, 2, 3});
  f("vectors", p.vectors, {1, 2, 3, 4});
  f("tile_w", p.tile_w, {1, 2, 3, 4, 6});
  f("tile_h", p.tile_h, {1, 2});
  f("rows_per_task", p.rows_per_task, {1, 2, 4, 8, 16});
  f("channel_tiles_per_task", p.channel_tiles_per_task, {0, 1, 2, 4, 8});
  f("specialize_strides", p.specialize_strides, {0, 1});
  f("stage_input", p.stage_input, {0, 1});
  f("unroll_taps", p.unroll_taps, {0, 1});
}
inline std::string to_string(const ArmNeonParams &p) { return params_to_string(p); }
// Parses "key=value,..." over the defaults `base`; unknown keys or bad values throw.
inline ArmNeonParams arm_neon_params_from_string(const std::string &s,
                                                 const ArmNeonParams &base = ArmNeonParams()) {
  return params_from_string<ArmNeonParams>(s, base);
}

}  // namespace dwconv
