// The reference: the definition of tf.nn.depthwise_conv2d as plain loops. Padding pixels are
// real zeros that get multiplied (as in TensorFlow), so 0 * Inf = NaN the same way.
#include "dwconv/dwconv.h"
#include "problem_check.h"

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
