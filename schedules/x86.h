// x86 schedule (SSE4.1 / AVX2+FMA / AVX-512) for the algorithm of generators/dwconv_algorithm.h.
#pragma once

#include <string>

#include "dwconv_algorithm.h"
#include "isa_params.h"
#include "schedule_common.h"

namespace dwconv {

// Every knob of the x86 schedule. The defaults are the heuristic fallback used for any shape
// without a tuned entry; the tuner searches over these fields (see x86_param_space()).
struct X86Params {
  // Output channels per register tile, in vectors of the target's natural width
  // (16 floats on AVX-512, 8 on AVX2, 4 on SSE). Accumulators = vectors * tile_w * tile_h,
  // which must leave room for the filter and input vectors in the register file.
  int vectors = 2;
  int tile_w = 4;         // output columns per register tile (unrolled)
  int tile_h = 1;         // output rows per register tile (unrolled)
  int rows_per_task = 4;  // output rows per parallel task; the input strip is staged per task
  // Channel tiles per parallel task; 0 puts all channels in one task. Small images with many
  // channels (7x7x1024) need channel parallelism since they have too few rows.
  int channel_tiles_per_task = 0;
  // Loop order inside a task: true sweeps the task's rows once per channel tile (a staged
  // block is per channel tile), false visits all channel tiles at each column tile (whole
  // contiguous input and output rows: what the prefetcher streams best when reading in place).
  bool channel_tiles_outer = true;
  // Where the zero-padded (and, for M > 1, channel-replicated) input is staged, so that the
  // taps read it without bounds checks or channel gathers:
  //   0  not staged: the taps read the input through the padding selects, which loop
  //      partitioning removes from the interior when stride and dilation are constants (the
  //      fastest for M = 1: no copy);
  //   1  once per task, all channels of the task's rows;
  //   2  once per channel tile (a small block with a constant column stride: no cache-set
  //      conflicts when the tensor's row pitch is a power of two, e.g. 1024 channels).
  int stage_input = 0;
  // General kernels (runtime stride): also generate branches for stride 1 and stride 2 with
  // unit dilation, where the constants let loop partitioning drop the padding selects.
  bool specialize_strides = true;
  bool unroll_taps = true;  // unroll the taps of a fixed-size kernel
  // With unroll_taps: unroll one filter row's taps and loop over the rows (x86.cpp, tap_unroll).
  bool loop_tap_rows = false;
};

// The heuristic default for a workload (shape known) or for a general kernel (shape == nullptr,
// `multiplier` its compile-time M, 0 when M is a runtime value).
// `kernel_w` is the compile-time kernel width of a general kernel (0 = runtime).
X86Params default_x86_params(const WorkloadShape *shape, int natural_lanes, int multiplier = 1,
                             int kernel_w = 3);

// The ISA level of an x86 target, as the runtime names it (dwconv::isa_name: avx512_zen4,
// avx512, avx2, sse41, baseline): the multi-target variant that target is, and the key of its
// tuned parameters (isa_params.h).
std::string x86_isa_level(const Halide::Target &t);
// Accumulators a register tile may hold on target t: 24 of AVX-512's 32 vector registers, 12 of
// the 16 of AVX2 and SSE, leaving room for the input and (some) filter vectors.
int x86_max_accumulators(const Halide::Target &t);

// Channels per aligned staging chunk, lcm(M, lanes), when p stages a constant M > 1 in whole
// chunks (each staged vector a dense load and a permute instead of a gather); 0 otherwise.
int staged_chunk(const X86Params &p, int multiplier, int lanes);

// Applies p to the algorithm for target t. ctx carries the output extents, which the schedule
// uses to pick its fast branch (enough channels and columns for a full register tile).
void schedule_x86(Algorithm &a, const X86Params &p, const ScheduleContext &ctx,
                  const Halide::Target &t);

}  // namespace dwconv

// Parameter (de)serialization, as used by GeneratorParams and the tuning database:
// "vectors=2,tile_w=4,..." Unknown keys or bad values throw std::invalid_argument. Each field
// with the values the tuner searches: the register tile within the accumulator budget and
// the task counts of enough_tasks (tuner/search.cpp) decide which combinations are tried;
// specialize_strides is a tune option.
namespace dwconv {
template <class F>
void visit_fields(X86Params &p, F &&f) {
  f("vectors", p.vectors, {1, 2, 3, 4});
  f("tile_w", p.tile_w, {1, 2, 3, 4, 5, 6, 7, 8});
  f("tile_h", p.tile_h, {1, 2, 3});
  f("rows_per_task", p.rows_per_task, {1, 2, 4, 8, 16});
  f("channel_tiles_per_task", p.channel_tiles_per_task, {0, 1, 2, 4, 8});
  f("channel_tiles_outer", p.channel_tiles_outer, {0, 1});
  f("stage_input", p.stage_input, {0, 1, 2});
  f("specialize_strides", p.specialize_strides, {});
  f("unroll_taps", p.unroll_taps, {0, 1});
  f("loop_tap_rows", p.loop_tap_rows, {0, 1});
}
inline std::string to_string(const X86Params &p) { return params_to_string(p); }
inline X86Params x86_params_from_string(const std::string &s, X86Params defaults = X86Params()) {
  return params_from_string<X86Params>(s, defaults);
}
}  // namespace dwconv
