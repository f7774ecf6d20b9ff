// The reference: the definition of tf.nn.depthwise_conv2d as plain loops. Padding pixels are
// real zeros that get multiplied (as in TensorFlow), so 0 * Inf = NaN the same way.
#include "dwconv/dwconv.h"
#include "problem_check.h"

#include <cmath>
#include <sstream>
#include <vector>

namespace dwconv {

Status reference_depthwise_conv2d(const Problem &p, const float *input, const float *filter,
                                  const float *bias, float *output) {
  Status s = validate(p);
  if (!s.ok()) return s;
  s = detail::check_pointers(p, input, filter, bias, output);
  if (!s.ok()) return s;
  ResolvedPadding pad;
  resolve_padding(p.input, p.filter, p.params, &pad);
  const detail::DenseStrides is = detail::input_strides(p), os = detail::output_strides(p);
  const ConvParams &cp = p.params;
  const int64_t C = p.input.c, M = p.filter.m, KH = p.filter.kh, KW = p.filter.kw;
  float lo, hi;
  activation_bounds(cp, &lo, &hi);
  for (int64_t n = 0; n < p.output.n; n++) {
    for (int64_t oy = 0; oy < p.output.h; oy++) {
      for (int64_t ox = 0; ox < p.output.w; ox++) {
        for (int64_t c = 0; c < C; c++) {
          for (int64_t m = 0; m < M; m++) {
            double acc = 0.0;
            for (int64_t ky = 0; ky < KH; ky++) {
              for (int64_t kx = 0; kx < KW; kx++) {
                const int64_t iy = oy * cp.stride_h + ky * cp.dilation_h - pad.top;
                const int64_t ix = ox * cp.stride_w + kx * cp.dilation_w - pad.left;
                const bool inside = iy >= 0 && iy < p.input.h && ix >= 0 && ix < p.input.w;
                const float x = inside ? input[n * is.n + iy * is.h + ix * is.w + c] : 0.0f;
                const float w = filter[((ky * KW + kx) * C + c) * M + m];
                acc += double(x) * double(w);
              }
            }
            float v = static_cast<float>(acc) + (bias ? bias[c * M + m] : 0.0f);
            output[n * os.n + oy * os.h + ox * os.w + c * M + m] = apply_activation(v, lo, hi);
          }
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace dwconv

namespace dwconv {

Status ReferenceCheck::create(const Problem &p, const float *input, const float *filter, const float *bias,
                              ReferenceCheck *out) {
  Status s = validate(p);
  if (!s.ok()) return s;
  if (out == nullptr) return Status(StatusCode::kInvalidArgument, "ReferenceCheck pointer is null");
  s = detail::check_operands(p, input, filter, bias);
  if (!s.ok()) return s;
  // Reference and the reduction's scale sum |x*w|, both dense.
  Problem dense = p;
  dense.input_strides = {};
  dense.output_strides = {};
  const detail::DenseStrides is = detail::input_strides(p);
  const int64_t in_count = p.input.n * p.input.h * p.input.w * p.input.c;
  const int64_t out_count = p.output.n * p.output.h * p.output.w * p.output.c;
  const int64_t fil_count = p.filter.kh * p.filter.kw * p.filter.c * p.filter.m;
  std::vector<float> in(in_count), in_abs(in_count), fil_abs(fil_count), ref(out_count), scale(out_count);
  for (int64_t n = 0, i = 0; n < p.input.n; n++)
    for (int64_t y = 0; y < p.input.h; y++)
      for (int64_t x = 0; x < p.input.w; x++)
        for (int64_t c = 0; c < p.input.c; c++, i++) {
          in[i] = input[n * is.n + y * is.h + x * is.w + c];
          in_abs[i] = std::fabs(in[i]);
        }
  for (int64_t i = 0; i < fil_count; i++) fil_abs[i] = std::fabs(filter[i]);
  s = reference_depthwise_conv2d(dense, in.data(), filter, bias, ref.data());
  if (!s.ok()) return s;
  Problem plain = dense;
  plain.bias_length = 0;
  plain.params.activation = Activation::kNone;
  reference_depthwise_conv2d(plain, in_abs.data(), fil_abs.data(), nullptr, scale.data());
  const int64_t cm = p.output.c;
  for (int64_t i = 0; i < out_count; i++) {
    scale[i] = float(1e-5 * (double(scale[i]) + (bias ? std::fabs(bias[i % cm]) : 0.0)) + 1e-6);
  }
  out->problem_ = p;
  out->ref_ = std::move(ref);
  out->tolerance_ = std::move(scale);
  out->created_ = true;
  return Status::Ok();
}

Status ReferenceCheck::check(const float *output) const {
  if (!created_) return Status(StatusCode::kInvalidArgument, "reference check is empty (ReferenceCheck::create failed or was not called)");
  if (output == nullptr) return Status(StatusCode::kInvalidArgument, "output pointer is null");
  const Problem &p = problem_;
  const detail::DenseStrides os = detail::output_strides(p);
  const int64_t cm = p.output.c;
  for (int64_t n = 0, i = 0; n < p.output.n; n++)
    for (int64_t y = 0; y < p.output.h; y++)
      for (int64_t x = 0; x < p.output.w; x++)
        for (int64_t c = 0; c < cm; c++, i++) {
          const float got = output[n * os.n + y * os.h + x * os.w + c], want = ref_[i];
          const double tol = tolerance_[i];
          bool ok;
          if (std::isnan(want) || std::isnan(got)) ok = std::isnan(want) && std::isnan(got);
          else if (std::isinf(want) || std::isinf(got)) ok = want == got;
          else ok = std::fabs(double(got) - double(want)) <= tol;
          if (!ok) {
            std::ostringstream msg;
            msg << "mismatch at (n=" << n << ", y=" << y << ", x=" << x << ", co=" << c << "): got " << got
                << ", want " << want << " (tolerance " << tol << ")";
            return Status(StatusCode::kInternal, msg.str());
          }
        }
  return Status::Ok();
}

Status check_against_reference(const Problem &p, const float *input, const float *filter,
                               const float *bias, const float *output) {
  ReferenceCheck check;
  Status s = ReferenceCheck::create(p, input, filter, bias, &check);
  if (!s.ok()) return s;
  return check.check(output);
}

}  // namespace dwconv
