// CUDA schedule for the algorithm of generators/dwconv_algorithm.h.
#pragma once

#include <string>

#include "dwconv_algorithm.h"
#include "schedule_common.h"

namespace dwconv {

// Every knob of the CUDA schedule. A thread block is threads_co x threads_x x threads_y
// threads; each thread computes co_per_thread x tile_x x tile_y outputs in registers, with
// the taps unrolled for fixed-size kernels.
struct CudaParams {
  // Threads along the output channels: consecutive threads take consecutive channels, so a
  // warp's loads and stores are contiguous in NHWC (32 x 4 bytes = one 128-byte line).
  int threads_co = 32;
  int threads_x = 4;  // threads along output columns
  int threads_y = 2;  // threads along output rows
  int co_per_thread = 1;  // output channels per thread, threads_co apart (stays coalesced)
  int tile_x = 2;         // output columns per thread
  int tile_y = 2;         // output rows per thread
  // Stage the block's input tile (all taps of its outputs) in shared memory once, instead of
  // every thread reading its taps from global memory (each input read by up to KH*KW/stride^2
  // outputs). The shared tile grows with the stride and dilation, so a kernel with staging
  // serves only stride <= 2, dilation 1, kernel <= 7x7 (other problems fail with a message;
  // the runtime's table sends them to a kernel without staging).
  bool stage_input = false;
  bool unroll_taps = true;  // unroll the taps of a fixed-size kernel
};

// Heuristic defaults: for a workload (shape known), or for a general kernel (shape == nullptr).
CudaParams default_cuda_params(const WorkloadShape *shape);

// The largest kernel that a kernel staging its input serves.
inline constexpr int kCudaMaxStagedKernel = 7;

// Whether a kernel that stages its input (stage_input) serves a problem: stride <= 2,
// dilation 1, kernels up to kCudaMaxStagedKernel. T = int for a known shape, Halide::Expr for
// the kernel's own check of its runtime values.
template <class T>
auto cuda_staging_serves(const T &stride_x, const T &stride_y, const T &dilation_x, const T &dilation_y,
                         const T &kernel_w, const T &kernel_h) {
  return stride_x <= 2 && stride_y <= 2 && dilation_x == 1 && dilation_y == 1 &&
         kernel_w <= kCudaMaxStagedKernel && kernel_h <= kCudaMaxStagedKernel;
}

// Why p cannot schedule a kernel of kernel_w x kernel_h taps (0 x 0: any size, served up to
// kCudaMaxStagedKernel when staged), or "" when it can: tile sizes, threads per block, and the
// staged tile's shared memory (at most 48 KiB for the worst case it serves).
std::string cuda_params_problem(const CudaParams &p, int kernel_w, int kernel_h);

// Applies p to the algorithm for a CUDA target t, or an OpenCL one (the schedule's check on
// machines without a GPU).
void schedule_cuda(Algorithm &a, const CudaParams &p, const ScheduleContext &ctx,
                   const Halide::Target &t);

template <class F>
void visit_fields(CudaParams &p, F &&f) {
  f("threads_co", p.threads_co, {8, 16, 32, 64});
  f("threads_x", p.threads_x, {1, 2, 4, 8, 16});
  f("threads_y", p.threads_y, {1, 2, 4, 8});
  f("co_per_thread", p.co_per_thread, {1, 2, 4});
  f("tile_x", p.tile_x, {1, 2, 4});
  f("tile_y", p.tile_y, {1, 2, 4});
  f("stage_input", p.stage_input, {0, 1});
  f("unroll_taps", p.unroll_taps, {0, 1});
}
inline std::string to_string(const CudaParams &p) { return params_to_string(p); }
inline CudaParams cuda_params_from_string(const std::string &s,
                                          const CudaParams &base = CudaParams()) {
  return params_from_string<CudaParams>(s, base);
}

}  // namespace dwconv
