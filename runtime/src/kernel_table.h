// The table of generated kernels (built from the build's kernel list) and the selection rule.
// Nothing outside this table names a kernel or an ISA.
#pragma once

#include <string>

#include "HalideRuntime.h"
#include "dwconv/dwconv.h"

namespace dwconv {
namespace detail {

using KernelFn = int (*)(halide_buffer_t *input, halide_buffer_t *filter, halide_buffer_t *bias,
                         int32_t multiplier, int32_t stride_x, int32_t stride_y,
                         int32_t dilation_x, int32_t dilation_y, int32_t pad_left,
                         int32_t pad_top, float out_min, float out_max, halide_buffer_t *output);

struct KernelInfo {
  const char *name;
  const char *family;  // schedule family: "x86", ...
  int kernel_w, kernel_h;  // 0: any size
  int multiplier;          // serves only this M; 0: any M
  const char *schedule;    // schedule parameters it was generated with ("" = defaults)
  const char *workload;    // workload_key() it was tuned for; "" = general kernel
  KernelFn fn;
};

// General (workload ""), fixed-shape (a workload, heuristic schedule "") or tuned.
KernelKind kernel_kind(const KernelInfo &k);
int kernel_count();
const KernelInfo &kernel(int index);
// Index of the kernel that serves `problem` best, with the reason; -1 if none can.
// A tuned kernel for exactly this workload wins unless general_only.
int select_kernel(const Problem &problem, std::string *reason, bool general_only = false);
// Whether kernel k can compute `problem` (kernel size and multiplier).
bool kernel_serves(const KernelInfo &k, const Problem &problem);
// Index of the kernel with this name, or -1.
int find_kernel(const std::string &name);

}  // namespace detail
}  // namespace dwconv
