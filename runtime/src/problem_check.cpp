#include "problem_check.h"

#include <cmath>
#include <cstdio>
#include <cstdint>
#include <sstream>

namespace dwconv {
namespace detail {
namespace {

// Halide indexes buffers with 32-bit integers and allocates at most 2^31 - 1 bytes.
constexpr int64_t kMaxIndex = INT32_MAX;

Status invalid(const std::string &msg) { return Status(StatusCode::kInvalidArgument, msg); }

std::string shape_str(const TensorShape &s) {
  std::ostringstream os;
  os << "[" << s.n << ", " << s.h << ", " << s.w << ", " << s.c << "]";
  return os.str();
}

// Last element offset + 1 of an NHWC tensor with the given strides, or -1 on overflow.
int64_t span(const TensorShape &s, const DenseStrides &st) {
  long double last = (long double)(s.n - 1) * st.n + (long double)(s.h - 1) * st.h +
                     (long double)(s.w - 1) * st.w + (long double)(s.c - 1);
  if (last + 1 > (long double)INT64_MAX / 8) return -1;
  return static_cast<int64_t>(last) + 1;
}

DenseStrides dense_or(const TensorShape &s, const TensorStrides &st) {
  DenseStrides d;
  d.w = st.w ? st.w : s.c;
  d.h = st.h ? st.h : d.w * s.w;
  d.n = st.n ? st.n : d.h * s.h;
  return d;
}

Status check_strides(const char *what, const TensorShape &s, const TensorStrides &st) {
  if (st.w < 0 || st.h < 0 || st.n < 0)
    return invalid(std::string(what) + " strides must be positive (or 0 for dense)");
  DenseStrides d = dense_or(s, st);
  // Each dimension must step over the whole extent of the inner ones: no two elements alias.
  if (d.w < s.c)
    return invalid(std::string(what) + " stride_w (" + std::to_string(d.w) +
                   ") is smaller than its channel count (" + std::to_string(s.c) + ")");
  // A dimension that is stepped (extent > 1) must step past the whole block of the inner ones,
  // whose last element is at (extent - 1) * stride + (C - 1) of each inner dimension; the
  // stride of a dimension of extent 1 is never used. Products in long double: no overflow.
  const long double row = (long double)(s.w - 1) * d.w + s.c;
  const long double image = (long double)(s.h - 1) * d.h + row;
  if (s.h > 1 && d.h < row)
    return invalid(std::string(what) + " stride_h (" + std::to_string(d.h) + ") is smaller than one row's span ((W-1)*stride_w + C = " +
                   std::to_string((long long)row) + "): rows would overlap");
  if (s.n > 1 && d.n < image)
    return invalid(std::string(what) + " stride_n (" + std::to_string(d.n) +
                   ") is smaller than one image's span ((H-1)*stride_h + (W-1)*stride_w + C = " +
                   std::to_string((long long)image) + "): images would overlap");
  int64_t sp = span(s, d);
  if (sp < 0 || sp * 4 > kMaxIndex)
    return invalid(std::string(what) + " " + shape_str(s) +
                   " spans more than 2^31 - 1 bytes, beyond 32-bit Halide indexing");
  if (d.w > kMaxIndex || d.h > kMaxIndex || d.n > kMaxIndex)
    return invalid(std::string(what) + " strides exceed 32-bit indexing (2^31 - 1 elements)");
  return Status::Ok();
}

bool overlaps(const void *a, int64_t a_bytes, const void *b, int64_t b_bytes) {
  auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
  return pa < pb + uintptr_t(b_bytes) && pb < pa + uintptr_t(a_bytes);
}

}  // namespace

DenseStrides input_strides(const Problem &p) { return dense_or(p.input, p.input_strides); }
DenseStrides output_strides(const Problem &p) { return dense_or(p.output, p.output_strides); }

bool is_dense(const Problem &p) {
  auto same = [](const DenseStrides &a, const DenseStrides &b) { return a.n == b.n && a.h == b.h && a.w == b.w; };
  return same(input_strides(p), dense_or(p.input, {})) && same(output_strides(p), dense_or(p.output, {}));
}

Status check_operands(const Problem &p, const float *input, const float *filter, const float *bias) {
  if (input == nullptr) return invalid("input pointer is null");
  if (filter == nullptr) return invalid("filter pointer is null");
  if (p.bias_length > 0 && bias == nullptr)
    return invalid("bias pointer is null but bias_length is " + std::to_string(p.bias_length));
  if (p.bias_length == 0 && bias != nullptr)
    return invalid("bias pointer given but bias_length is 0 (set it to C*M)");
  return Status::Ok();
}

Status check_pointers(const Problem &p, const float *input, const float *filter, const float *bias,
                      const float *output) {
  Status s = check_operands(p, input, filter, bias);
  if (!s.ok()) return s;
  if (output == nullptr) return invalid("output pointer is null");
  const int64_t out_bytes = span(p.output, output_strides(p)) * 4;
  if (overlaps(output, out_bytes, input, span(p.input, input_strides(p)) * 4))
    return invalid("output memory overlaps the input (in-place depthwise convolution is not supported)");
  if (overlaps(output, out_bytes, filter, p.filter.kh * p.filter.kw * p.filter.c * p.filter.m * 4))
    return invalid("output memory overlaps the filter");
  if (bias && overlaps(output, out_bytes, bias, p.bias_length * 4))
    return invalid("output memory overlaps the bias");
  return Status::Ok();
}

}  // namespace detail

Status resolve_padding(const TensorShape &input, const FilterShape &filter, const ConvParams &params,
                       ResolvedPadding *pad) {
  if (pad == nullptr) return detail::invalid("padding pointer is null");
  TensorShape out;
  Status s = compute_output_shape(input, filter, params, &out);
  if (!s.ok()) return s;
  const int64_t ekh = (filter.kh - 1) * params.dilation_h + 1;
  const int64_t ekw = (filter.kw - 1) * params.dilation_w + 1;
  switch (params.padding) {
    case Padding::kValid: *pad = {}; break;
    case Padding::kExplicit:
      *pad = {params.pad_top, params.pad_left, params.pad_bottom, params.pad_right};
      break;
    case Padding::kSame: {
      const int64_t th = std::max<int64_t>((out.h - 1) * params.stride_h + ekh - input.h, 0);
      const int64_t tw = std::max<int64_t>((out.w - 1) * params.stride_w + ekw - input.w, 0);
      *pad = {th / 2, tw / 2, th - th / 2, tw - tw / 2};
      break;
    }
  }
  return Status::Ok();
}

Status compute_output_shape(const TensorShape &in, const FilterShape &f, const ConvParams &p,
                            TensorShape *out) {
  using detail::invalid;
  using detail::kMaxIndex;
  if (out == nullptr) return invalid("output shape pointer is null");
  auto positive = [](const char *what, int64_t v) -> Status {
    if (v < 1) return invalid(std::string(what) + " must be >= 1, got " + std::to_string(v));
    if (v > kMaxIndex) return invalid(std::string(what) + " = " + std::to_string(v) + " exceeds 2^31 - 1");
    return Status::Ok();
  };
  for (auto [what, v] : {std::pair<const char *, int64_t>{"input batch N", in.n}, {"input height H", in.h},
                         {"input width W", in.w}, {"input channels C", in.c}, {"filter height KH", f.kh},
                         {"filter width KW", f.kw}, {"filter channels", f.c},
                         {"channel multiplier M", f.m}, {"stride_h", p.stride_h}, {"stride_w", p.stride_w},
                         {"dilation_h", p.dilation_h}, {"dilation_w", p.dilation_w}}) {
    Status s = positive(what, v);
    if (!s.ok()) return s;
  }
  for (auto [what, v] : {std::pair<const char *, int64_t>{"channel multiplier M", f.m}, {"stride_h", p.stride_h},
                         {"stride_w", p.stride_w}, {"dilation_h", p.dilation_h}, {"dilation_w", p.dilation_w}}) {
    if (v > kMaxStrideDilationMultiplier)
      return invalid(std::string(what) + " = " + std::to_string(v) + " exceeds the kernels' limit 2^20");
  }
  if (p.padding != Padding::kSame && p.padding != Padding::kValid && p.padding != Padding::kExplicit)
    return invalid("padding " + std::to_string(static_cast<int>(p.padding)) +
                   " is not a Padding (kSame, kValid or kExplicit)");
  if (p.activation != Activation::kNone && p.activation != Activation::kRelu &&
      p.activation != Activation::kRelu6 && p.activation != Activation::kClamp)
    return invalid("activation " + std::to_string(static_cast<int>(p.activation)) +
                   " is not an Activation (kNone, kRelu, kRelu6 or kClamp)");
  if (f.c != in.c)
    return invalid("filter channels (" + std::to_string(f.c) + ") != input channels C (" +
                   std::to_string(in.c) + "): the filter is [KH, KW, C, M]");
  if (in.c * f.m > kMaxIndex) return invalid("output channels C*M exceed 2^31 - 1");
  if (p.padding == Padding::kExplicit) {
    if (p.pad_top < 0 || p.pad_bottom < 0 || p.pad_left < 0 || p.pad_right < 0)
      return invalid("explicit padding must be >= 0, got top=" + std::to_string(p.pad_top) +
                     " bottom=" + std::to_string(p.pad_bottom) + " left=" + std::to_string(p.pad_left) +
                     " right=" + std::to_string(p.pad_right));
  }
  if (p.activation == Activation::kClamp &&
      (std::isnan(p.clamp_min) || std::isnan(p.clamp_max) || p.clamp_min > p.clamp_max))
    return invalid("clamp activation needs clamp_min <= clamp_max (and neither NaN)");
  const int64_t ekh = (f.kh - 1) * int64_t(p.dilation_h) + 1;
  const int64_t ekw = (f.kw - 1) * int64_t(p.dilation_w) + 1;
  TensorShape o;
  o.n = in.n;
  o.c = in.c * f.m;
  switch (p.padding) {
    case Padding::kSame:
      o.h = (in.h + p.stride_h - 1) / p.stride_h;
      o.w = (in.w + p.stride_w - 1) / p.stride_w;
      break;
    case Padding::kValid:
    case Padding::kExplicit: {
      const int64_t ph = p.padding == Padding::kExplicit ? int64_t(p.pad_top) + p.pad_bottom : 0;
      const int64_t pw = p.padding == Padding::kExplicit ? int64_t(p.pad_left) + p.pad_right : 0;
      if (in.h + ph < ekh || in.w + pw < ekw)
        return invalid("empty output: the dilated kernel (" + std::to_string(ekh) + "x" +
                       std::to_string(ekw) + ") is larger than the padded input (" +
                       std::to_string(in.h + ph) + "x" + std::to_string(in.w + pw) + ")");
      o.h = (in.h + ph - ekh) / p.stride_h + 1;
      o.w = (in.w + pw - ekw) / p.stride_w + 1;
      break;
    }
  }
  *out = o;
  return Status::Ok();
}

std::string workload_key(const Problem &p) {
  ResolvedPadding pad;
  resolve_padding(p.input, p.filter, p.params, &pad);
  std::ostringstream os;
  os << "n" << p.input.n << "_h" << p.input.h << "_w" << p.input.w << "_c" << p.input.c << "_m" << p.filter.m
     << "_k" << p.filter.kh << "x" << p.filter.kw << "_s" << p.params.stride_h << "x" << p.params.stride_w
     << "_d" << p.params.dilation_h << "x" << p.params.dilation_w << "_p" << pad.top << "." << pad.bottom << "."
     << pad.left << "." << pad.right;
  return os.str();
}

bool problem_from_workload_key(const std::string &key, Problem *out) {
  long long v[15];
  char tail;
  if (std::sscanf(key.c_str(), "n%lld_h%lld_w%lld_c%lld_m%lld_k%lldx%lld_s%lldx%lld_d%lldx%lld_p%lld.%lld.%lld.%lld%c",
                  &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12],
                  &v[13], &v[14], &tail) != 15)
    return false;
  Problem p;
  p.input = {v[0], v[1], v[2], v[3]};
  p.filter = {v[5], v[6], v[3], v[4]};
  p.params.stride_h = int(v[7]), p.params.stride_w = int(v[8]);
  p.params.dilation_h = int(v[9]), p.params.dilation_w = int(v[10]);
  p.params.padding = Padding::kExplicit;
  p.params.pad_top = int(v[11]), p.params.pad_bottom = int(v[12]);
  p.params.pad_left = int(v[13]), p.params.pad_right = int(v[14]);
  if (!compute_output_shape(p.input, p.filter, p.params, &p.output).ok()) return false;
  *out = p;
  return workload_key(p) == key;
}

Status validate(const Problem &p) {
  using detail::invalid;
  TensorShape expect;
  Status s = compute_output_shape(p.input, p.filter, p.params, &expect);
  if (!s.ok()) return s;
  if (p.output != expect)
    return invalid("output shape " + detail::shape_str(p.output) + " != expected " +
                   detail::shape_str(expect) + " for this input, filter and padding");
  if (p.bias_length != 0 && p.bias_length != expect.c)
    return invalid("bias length (" + std::to_string(p.bias_length) + ") != C*M (" +
                   std::to_string(expect.c) + ")");
  if (p.num_threads < 0) return invalid("num_threads must be >= 0 (0 = all cores)");
  if (p.num_threads > kMaxThreads)
    return invalid("num_threads (" + std::to_string(p.num_threads) + ") exceeds " + std::to_string(kMaxThreads) +
                   ", the most Halide's thread pool runs");
  s = detail::check_strides("input", p.input, p.input_strides);
  if (!s.ok()) return s;
  s = detail::check_strides("output", p.output, p.output_strides);
  if (!s.ok()) return s;
  const long double filter_bytes = 4.0L * p.filter.kh * p.filter.kw * p.filter.c * p.filter.m;
  if (filter_bytes > detail::kMaxIndex)
    return invalid("filter spans more than 2^31 - 1 bytes, beyond 32-bit Halide indexing");
  // The kernels stage the zero-padded input replicated over M: bound that by the whole padded
  // image times M (a conservative bound on any per-task strip).
  ResolvedPadding pad;
  resolve_padding(p.input, p.filter, p.params, &pad);
  const long double staged = 4.0L * (p.input.h + pad.top + pad.bottom) *
                             (p.input.w + pad.left + pad.right) * expect.c;
  if (staged > detail::kMaxIndex)
    return invalid("padded input x M spans more than 2^31 - 1 bytes, beyond 32-bit Halide indexing");
  if (pad.top > detail::kMaxIndex || pad.left > detail::kMaxIndex)
    return invalid("padding exceeds 2^31 - 1");
  return Status::Ok();
}

}  // namespace dwconv
