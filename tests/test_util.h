// Helpers shared by the test suites: problem construction, random data, and comparison with
// the reference under a tolerance scaled by the reduction: |out - ref| <= 1e-5 * sum|x*w| + 1e-6.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "dwconv/dwconv.h"

namespace dwconv_test {

struct Spec {
  int n = 1, h = 8, w = 8, c = 16, m = 1, kh = 3, kw = 3;
  int sh = 1, sw = 1, dh = 1, dw = 1;
  dwconv::Padding padding = dwconv::Padding::kSame;
  int pt = 0, pb = 0, pl = 0, pr = 0;  // explicit padding
  bool bias = false;
  dwconv::Activation act = dwconv::Activation::kNone;
  float lo = -1.0f, hi = 1.0f;  // kClamp bounds
  int in_pad_w = 0, in_pad_h = 0, in_pad_n = 0;     // extra elements per stride (slices)
  int out_pad_w = 0, out_pad_h = 0, out_pad_n = 0;
  int threads = 0;
  std::string describe() const;
};

// Builds the Problem of a spec (output shape computed); returns false if the spec is invalid.
bool make_problem(const Spec &s, dwconv::Problem *p, std::string *why = nullptr);

// Owns the tensors of a problem, filled with seeded random values. Strided tensors get their
// gaps filled with a sentinel so that a write outside the output is detected.
struct Tensors {
  std::vector<float> input, filter, bias, output;
  static constexpr float kSentinel = -12345.0f;
  Tensors(const dwconv::Problem &p, uint64_t seed);
  const float *bias_ptr() const { return bias.empty() ? nullptr : bias.data(); }
};

int64_t span_elems(const dwconv::TensorShape &s, const dwconv::TensorStrides &st);

// Runs kernel_name ("" = automatic choice) and the reference and compares. Returns "" on
// success, else a message with the seed and the first mismatching coordinate.
std::string check_against_reference(const dwconv::Problem &p, const std::string &kernel_name,
                                    uint64_t seed);

// NaN and Inf on `kernel_name` (dense problem p): NaN in three input pixels, +Inf and -Inf in
// others, +Inf in the filter's centre tap of one channel (0 * Inf at the border). Every output
// the naive loop makes NaN or infinite must come out the same, and no other may. Returns "" or
// the first difference (or that no output was special); *specials counts them.
std::string check_special_values(const dwconv::Problem &p, const std::string &kernel_name, int *specials = nullptr);

// A random valid spec (odd sizes, all paddings, strides 1-3, dilations 1-3, M 1-5, ...).
Spec random_spec(std::mt19937_64 &rng);

}  // namespace dwconv_test
