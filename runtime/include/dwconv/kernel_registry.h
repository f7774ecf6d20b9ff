// Kernels generated in a program's own build join libdwconv's kernel table through this header.
// dwconv_add_kernels() of the CMake package (cmake/DwconvUserKernels.cmake) generates the
// kernels and a source that registers them during static initialization; programs do not call
// it by hand. The table's entries of libdwconv itself have the same form.
#pragma once

#include <cstdint>

#include "dwconv/dwconv.h"

struct halide_buffer_t;

namespace dwconv {

// The entry point of a generated kernel (generators/dwconv_generator.cpp's signature).
using KernelFn = int (*)(halide_buffer_t *input, halide_buffer_t *filter, halide_buffer_t *bias,
                         int32_t multiplier, int32_t stride_x, int32_t stride_y, int32_t dilation_x,
                         int32_t dilation_y, int32_t pad_left, int32_t pad_top, float out_min, float out_max,
                         halide_buffer_t *output);

struct GeneratedKernel {
  const char *name;
  const char *family;      // schedule family: "x86", "arm_neon"
  int kernel_w, kernel_h;  // 0: any size
  int multiplier;          // serves only this M; 0: any M
  const char *schedule;    // schedule parameters it was generated with ("" = heuristic defaults)
  const char *workload;    // workload_key() it was generated for; "" = general kernel
  KernelFn fn;
};

// Adds per-workload kernels to the table Plan::create selects from. The table keeps the
// pointers: `kernels` and its strings must outlive every plan (static storage). For a workload
// that libdwconv has a kernel for too, the registered one wins (the program's build asked for it
// last). Call before the first plan is created (or the kernels listed), as the generated source
// does during static initialization: from then on the table is fixed, so that Plan::run reads it
// without a lock, and a call is refused. Refuses the whole list, naming the entry, if one is not a
// per-workload kernel of this library's family whose size and M match its workload key.
Status register_kernels(const GeneratedKernel *kernels, int count);

}  // namespace dwconv
