// Shape arithmetic and argument checks shared by the kernels' entry point and the reference.
#pragma once

#include "dwconv/dwconv.h"

namespace dwconv {
namespace detail {

// Strides with the zeros (= dense) replaced by the dense values.
struct DenseStrides {
  int64_t n, h, w;
};
DenseStrides input_strides(const Problem &p);
DenseStrides output_strides(const Problem &p);
// Whether input and output are dense NHWC (their strides 0 or equal to the dense ones).
bool is_dense(const Problem &p);

// Null input or filter pointer, bias pointer against bias_length.
Status check_operands(const Problem &p, const float *input, const float *filter, const float *bias);
// check_operands, a null output pointer, and output overlapping any operand.
Status check_pointers(const Problem &p, const float *input, const float *filter, const float *bias,
                      const float *output);

}  // namespace detail
}  // namespace dwconv
