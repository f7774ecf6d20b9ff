// dwconv on NVIDIA GPUs: the same depthwise convolution (dwconv.h: Problem, layouts, Status) with
// Halide-generated CUDA kernels (library dwconv::dwconv_cuda, built with DWCONV_ENABLE_CUDA).
//
// The kernels carry PTX for compute capability 7.0 and 8.0; the driver compiles it for the GPU
// (any capability >= 7.0, e.g. Hopper). Nothing links against CUDA: the driver (libcuda.so.1)
// is loaded when first needed, and its absence is an error Status, not a crash.
//
// Two ways to run:
//  - run(): host pointers. The tensors are copied to the GPU and the output back (Halide keeps
//    the device allocations for reuse between calls).
//  - run_device(): CUdeviceptr values you own, in the layout the Problem describes. They must
//    belong to the CUDA context current on the calling thread or, when none is current, to the
//    device's primary context (what the CUDA runtime API uses: cudaMalloc). No copies; the call
//    returns when the output is written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dwconv/dwconv.h"

struct halide_buffer_t;  // HalideRuntime.h

namespace dwconv {
namespace cuda {

// Ok when a CUDA driver and a device of compute capability >= 7.0 are there; otherwise
// kUnsupported with the reason: "no CUDA driver (...)", "no CUDA device (...)", or the device's
// too old capability. Probed once per process.
Status available();

struct DeviceInfo {
  int ordinal = -1;
  std::string name;
  int major = 0, minor = 0;  // compute capability
  int driver_version = 0;    // e.g. 12040 for CUDA 12.4
};
// The device the kernels run on (the current context's device, else DWCONV_CUDA_DEVICE or 0).
Status device_info(DeviceInfo *info);

// The CUDA kernels of this build.
struct KernelDesc {
  std::string name;  // e.g. "dwconv_f32_k3x3_m1__cuda_sm80"
  int capability = 0;  // compute capability of its PTX, e.g. 80
  int kernel_w = 0, kernel_h = 0;  // 0: any size
  int multiplier = 0;              // 0: any M
  bool staged = false;  // input tile in shared memory: serves stride <= 2, dilation 1 only
};
std::vector<KernelDesc> available_kernels();

// A validated problem bound to a CUDA kernel (chosen for the shape and, once a device is known,
// its compute capability). Creating one needs no GPU; running does.
class Plan {
 public:
  Plan() = default;
  static Status create(const Problem &problem, Plan *plan);
  // Same, with a named kernel (see available_kernels()); fails if it cannot serve the problem.
  static Status create_with_kernel(const Problem &problem, const std::string &kernel_name, Plan *plan);

  // Host pointers (as dwconv::Plan::run). Thread-safe for concurrent runs of one plan.
  Status run(const float *input, const float *filter, const float *bias, float *output) const;
  // Device pointers (CUdeviceptr); bias may be 0 only when the problem has no bias.
  Status run_device(uint64_t input, uint64_t filter, uint64_t bias, uint64_t output) const;

  bool valid() const { return kernel_ >= 0; }
  const Problem &problem() const { return problem_; }
  const char *kernel_name() const;
  const std::string &selection_reason() const { return reason_; }

 private:
  Status run_buffers(::halide_buffer_t *in, ::halide_buffer_t *filter, ::halide_buffer_t *bias,
                     ::halide_buffer_t *out) const;
  Problem problem_;
  ResolvedPadding padding_;
  int kernel_ = -1;
  std::string reason_;
};

// One call with host pointers: create a plan and run it.
Status depthwise_conv2d(const Problem &problem, const float *input, const float *filter,
                        const float *bias, float *output);

}  // namespace cuda
}  // namespace dwconv
