// CUDA schedule for the depthwise algorithm.
//
// Loop nest:
//   output: blocks (spatial tile fused with the batch -> blockIdx.x, channel tile -> blockIdx.y)
//             threads (co_t -> threadIdx.x, x_t -> threadIdx.y, y_t -> threadIdx.z)
//               co_r: the thread's channels (unrolled); for each, conv computed in registers
//                 for the thread's x_r, y_r outputs (unrolled)
//                 taps outermost (unrolled for fixed-size kernels), outputs innermost
//   replicated (the zero-padded, channel-replicated input tile of the block): with
//   stage_input, in shared memory, loaded by all threads of the block before a barrier.
// Why: depthwise conv does KH*KW FMAs per output and element loaded, so it is bandwidth-bound
// on GPUs (roughly 2*KH*KW / 8 FLOP per byte of compulsory traffic); what matters is that each
// input is fetched from DRAM once (the block tile + L2), that warps touch contiguous channels
// (coalesced), and that the taps of a thread reuse registers (tile_x x tile_y outputs per thread
// share (tile-1)*stride + K columns/rows of input).
// The same schedule compiles for OpenCL (gpu_blocks / gpu_threads / GPUShared are backend
// neutral), so that the test suite runs it on any machine's OpenCL device, a CPU one included
// (tests/gpu_schedule_test.cpp, Debian's pocl): its tiling, staging and barriers are checked
// against the naive loop without a GPU.
// Measured: nothing here (no GPU on the build machine); scripts/gpu-check measures GFLOP/s and
// GB/s on bench/shapes.csv where a GPU exists, next to PyTorch's conv2d(groups=C) if present.
#include "cuda.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace dwconv {

using namespace Halide;

namespace {

constexpr int kSharedBytes = 48 * 1024;  // static + dynamic shared memory without an opt-in
constexpr int kMaxThreads = 1024;
// A staged tile's extent in taps for a kernel dimension k (0: any size, up to the largest served).
int staged_taps(int k) { return k > 0 ? k : kCudaMaxStagedKernel; }

// Shared memory bytes of the staged input tile for a given stride/dilation/kernel (0 without
// staging).
int stage_bytes(const CudaParams &p, int stride, int dilation, int kw, int kh) {
  if (!p.stage_input) return 0;
  const int cols = (p.threads_x * p.tile_x - 1) * stride + (kw - 1) * dilation + 1;
  const int rows = (p.threads_y * p.tile_y - 1) * stride + (kh - 1) * dilation + 1;
  return 4 * p.threads_co * p.co_per_thread * cols * rows;
}

int next_pow2(int v) {
  int p = 1;
  while (p < v) p *= 2;
  return p;
}

}  // namespace

CudaParams default_cuda_params(const WorkloadShape *s) {
  CudaParams p;
  if (!s) return p;
  // Narrow tensors: fewer threads on channels, more on columns (same 256 threads per block).
  const int cm = s->c * s->m;
  const int threads = p.threads_co * p.threads_x * p.threads_y;
  p.threads_co = std::max(1, std::min(p.threads_co, next_pow2(cm)));
  p.threads_x = std::max(1, threads / (p.threads_co * p.threads_y));
  // Small images: fewer outputs per thread, so that there are blocks for every SM.
  if (s->out_w <= p.threads_x) p.tile_x = 1;
  if (s->out_h <= p.threads_y) p.tile_y = 1;
  p.stage_input = cuda_staging_serves(s->stride_w, s->stride_h, s->dilation_w, s->dilation_h, s->kw, s->kh);
  return p;
}

std::string cuda_params_problem(const CudaParams &p, int kernel_w, int kernel_h) {
  if (p.co_per_thread < 1 || p.tile_x < 1 || p.tile_y < 1 || p.threads_co < 1 || p.threads_x < 1 ||
      p.threads_y < 1)
    return "CUDA tile and block sizes must be >= 1";
  if (p.threads_co * p.threads_x * p.threads_y > kMaxThreads)
    return "CUDA block of " + std::to_string(p.threads_co) + "x" + std::to_string(p.threads_x) + "x" +
           std::to_string(p.threads_y) + " threads exceeds " + std::to_string(kMaxThreads);
  // Worst case the staged kernels serve: stride 2, dilation 1, the kernel size (or 7x7).
  const int bytes = stage_bytes(p, 2, 1, staged_taps(kernel_w), staged_taps(kernel_h));
  if (bytes > kSharedBytes)
    return "CUDA staged input tile needs " + std::to_string(bytes) + " bytes of shared memory, more than " +
           std::to_string(kSharedBytes);
  return "";
}

void schedule_cuda(Algorithm &a, const CudaParams &p, const ScheduleContext &ctx,
                   const Target &t) {
  if (!t.has_feature(Target::CUDA) && !t.has_feature(Target::OpenCL))
    throw std::invalid_argument("schedule_cuda needs a CUDA (or OpenCL) target, not " + t.to_string());
  if (std::string problem = cuda_params_problem(p, ctx.kernel_w, ctx.kernel_h); !problem.empty())
    throw std::invalid_argument(problem);
  const bool fixed_kernel = ctx.kernel_w > 0 && ctx.kernel_h > 0;
  const int kw = staged_taps(ctx.kernel_w), kh = staged_taps(ctx.kernel_h);

  Var co_b("co_b"), co_t("co_t"), co_r("co_r"), x_b("x_b"), x_t("x_t"), x_r("x_r");
  Var y_b("y_b"), y_t("y_t"), y_r("y_r"), b("b");
  const int block_co = p.threads_co * p.co_per_thread;

  Stage out = a.output;
  if (p.stage_input) {
    if (!ctx.stride_x.defined() || !ctx.dilation_x.defined())
      throw std::invalid_argument("schedule_cuda with stage_input needs the strides in the context");
    Expr served = cuda_staging_serves(ctx.stride_x, ctx.stride_y, ctx.dilation_x, ctx.dilation_y, a.kernel_w,
                                      a.kernel_h);
    out = a.output.specialize(served);
    a.output.specialize_fail(
        "this CUDA kernel stages its input in shared memory and serves only stride <= 2, "
        "dilation 1 and kernels up to 7x7");
  }
  // Channels: thread co_t takes channels co_t + k * threads_co (k < co_per_thread), so that a
  // warp's accesses stay contiguous. Tails are guarded (idle threads), never shifted: shifted
  // tiles would need the output to be at least a block in every dimension.
  out.split(a.co, co_b, co_r, block_co, TailStrategy::GuardWithIf)
      .split(co_r, co_r, co_t, p.threads_co)
      .split(a.x, x_b, x_r, p.threads_x * p.tile_x, TailStrategy::GuardWithIf)
      .split(x_r, x_t, x_r, p.tile_x)
      .split(a.y, y_b, y_r, p.threads_y * p.tile_y, TailStrategy::GuardWithIf)
      .split(y_r, y_t, y_r, p.tile_y)
      .reorder(x_r, y_r, co_r, co_t, x_t, y_t, x_b, y_b, a.n, co_b)
      .fuse(x_b, y_b, b)
      .fuse(b, a.n, b)
      .gpu_blocks(b, co_b)
      .gpu_threads(co_t, x_t, y_t)
      .unroll(co_r)
      .unroll(x_r)
      .unroll(y_r);

  // Per-thread register tile: one channel's tile_x x tile_y outputs, computed per channel of
  // the thread (channels threads_co apart share no input, and a tile spanning them would hold
  // every channel between). Its storage is bounded to a constant, else Halide would place it in
  // global memory, sized on the host. The guarded output tails make its region smaller than a
  // tile in the last threads (an extent that depends on the thread), so its loops are split by
  // the tile and the whole tile unrolled, the tail guarded.
  Var tx("tx"), ty("ty"), tx_o("tx_o"), ty_o("ty_o");
  a.conv.compute_at(a.output, co_r)
      .bound_storage(a.co, 1)
      .bound_storage(a.x, p.tile_x)
      .bound_storage(a.y, p.tile_y)
      .split(a.x, tx_o, tx, p.tile_x, TailStrategy::GuardWithIf)
      .split(a.y, ty_o, ty, p.tile_y, TailStrategy::GuardWithIf)
      .reorder(a.co, tx, ty, tx_o, ty_o)
      .unroll(tx)
      .unroll(ty);
  Stage update = a.conv.update(0);
  update.split(a.x, tx_o, tx, p.tile_x, TailStrategy::GuardWithIf)
      .split(a.y, ty_o, ty, p.tile_y, TailStrategy::GuardWithIf)
      .reorder(a.co, tx, ty, a.r.x, a.r.y, tx_o, ty_o)
      .unroll(tx)
      .unroll(ty);
  if (fixed_kernel && p.unroll_taps) update.unroll(a.r.x).unroll(a.r.y);

  if (p.stage_input) {
    // The block's input tile in shared memory, loaded cooperatively with the block's own thread
    // shape (contiguous channels across threadIdx.x).
    Var sc("sc"), sx("sx"), sy("sy");
    // Bounded to the worst case served (stride 2, dilation 1), so that the shared allocation is
    // static: a symbolic size would be computed by a host loop over every block.
    a.replicated.compute_at(a.output, b)
        .store_in(MemoryType::GPUShared)
        .bound_storage(a.co, block_co)
        .bound_storage(a.x, (p.threads_x * p.tile_x - 1) * 2 + kw)
        .bound_storage(a.y, (p.threads_y * p.tile_y - 1) * 2 + kh)
        .split(a.co, a.co, sc, p.threads_co, TailStrategy::GuardWithIf)
        .split(a.x, a.x, sx, p.threads_x, TailStrategy::GuardWithIf)
        .split(a.y, a.y, sy, p.threads_y, TailStrategy::GuardWithIf)
        .reorder(sc, sx, sy, a.co, a.x, a.y)
        .gpu_threads(sc, sx, sy);
  }
  // The channel map co / M stays inline: one integer division per staged element or tap,
  // which is cheap next to the loads on a GPU.
}

}  // namespace dwconv
