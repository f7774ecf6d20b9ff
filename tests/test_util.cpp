#include "test_util.h"

#include <cmath>
#include <limits>
#include <sstream>
#include <utility>

namespace dwconv_test {

using namespace dwconv;

std::string Spec::describe() const {
  std::ostringstream os;
  const char *pads[] = {"SAME", "VALID", "EXPLICIT"};
  const char *acts[] = {"none", "relu", "relu6", "clamp"};
  os << "N" << n << " H" << h << " W" << w << " C" << c << " M" << m << " K" << kh << "x" << kw
     << " s" << sh << "," << sw << " d" << dh << "," << dw << " " << pads[int(padding)];
  if (padding == Padding::kExplicit) os << "(" << pt << "," << pb << "," << pl << "," << pr << ")";
  os << (bias ? " bias" : "") << " act=" << acts[int(act)];
  if (in_pad_w || in_pad_h || in_pad_n || out_pad_w || out_pad_h || out_pad_n) os << " strided";
  if (threads) os << " threads=" << threads;
  return os.str();
}

bool make_problem(const Spec &s, Problem *p, std::string *why) {
  Problem q;
  q.input = {s.n, s.h, s.w, s.c};
  q.filter = {s.kh, s.kw, s.c, s.m};
  q.params.stride_h = s.sh;
  q.params.stride_w = s.sw;
  q.params.dilation_h = s.dh;
  q.params.dilation_w = s.dw;
  q.params.padding = s.padding;
  q.params.pad_top = s.pt;
  q.params.pad_bottom = s.pb;
  q.params.pad_left = s.pl;
  q.params.pad_right = s.pr;
  q.params.activation = s.act;
  q.params.clamp_min = s.lo;
  q.params.clamp_max = s.hi;
  q.bias_length = s.bias ? int64_t(s.c) * s.m : 0;
  q.num_threads = s.threads;
  Status st = compute_output_shape(q.input, q.filter, q.params, &q.output);
  if (!st.ok()) {
    if (why) *why = st.message();
    return false;
  }
  auto strides = [](const TensorShape &t, int pw, int ph, int pn) {
    TensorStrides r;
    if (pw || ph || pn) {
      r.w = t.c + pw;
      r.h = r.w * t.w + ph;
      r.n = r.h * t.h + pn;
    }
    return r;
  };
  q.input_strides = strides(q.input, s.in_pad_w, s.in_pad_h, s.in_pad_n);
  q.output_strides = strides(q.output, s.out_pad_w, s.out_pad_h, s.out_pad_n);
  *p = q;
  return true;
}

int64_t span_elems(const TensorShape &s, const TensorStrides &st) {
  const int64_t w = st.w ? st.w : s.c, h = st.h ? st.h : w * s.w, n = st.n ? st.n : h * s.h;
  return (s.n - 1) * n + (s.h - 1) * h + (s.w - 1) * w + s.c;
}

Tensors::Tensors(const Problem &p, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  input.resize(span_elems(p.input, p.input_strides));
  for (float &v : input) v = u(rng);
  filter.resize(p.filter.kh * p.filter.kw * p.filter.c * p.filter.m);
  for (float &v : filter) v = u(rng);
  bias.resize(p.bias_length);
  for (float &v : bias) v = u(rng);
  output.assign(span_elems(p.output, p.output_strides), kSentinel);
}

std::string check_against_reference(const Problem &p, const std::string &kernel_name, uint64_t seed) {
  Tensors t(p, seed);
  Plan plan;
  Status s = Plan::create_with_kernel(p, kernel_name, &plan);
  if (!s.ok()) return "plan: " + s.message();
  s = plan.run(t.input.data(), t.filter.data(), t.bias_ptr(), t.output.data());
  if (!s.ok()) return "run: " + s.message();
  s = dwconv::check_against_reference(p, t.input.data(), t.filter.data(), t.bias_ptr(), t.output.data());
  const std::string where = "kernel " + std::string(plan.kernel_name()) + " seed " + std::to_string(seed);
  if (!s.ok()) return where + ": " + s.message();
  // In the gaps of a strided output the sentinel must survive.
  std::vector<char> inside(t.output.size(), 0);
  const int64_t sw = p.output_strides.w ? p.output_strides.w : p.output.c;
  const int64_t sh = p.output_strides.h ? p.output_strides.h : sw * p.output.w;
  const int64_t sn = p.output_strides.n ? p.output_strides.n : sh * p.output.h;
  for (int64_t n = 0; n < p.output.n; n++)
    for (int64_t y = 0; y < p.output.h; y++)
      for (int64_t x = 0; x < p.output.w; x++)
        for (int64_t c = 0; c < p.output.c; c++) inside[n * sn + y * sh + x * sw + c] = 1;
  for (size_t i = 0; i < t.output.size(); i++)
    if (!inside[i] && t.output[i] != Tensors::kSentinel)
      return where + ": wrote outside the output at element " + std::to_string(i);
  return "";
}

std::string check_special_values(const Problem &p, const std::string &kernel_name, int *specials) {
  Tensors t(p, 3);
  const int64_t c = p.input.c, pixels = p.input.n * p.input.h * p.input.w;
  auto pixel = [&](int64_t i) { return (i % pixels) * c; };
  t.input[pixel(7) + (1 % c)] = std::numeric_limits<float>::quiet_NaN();
  t.input[pixel(pixels / 2) + (2 % c)] = std::numeric_limits<float>::quiet_NaN();
  t.input[pixel(pixels - 3) + (c - 1)] = std::numeric_limits<float>::quiet_NaN();
  t.input[pixel(40) + (2 % c)] = std::numeric_limits<float>::infinity();
  t.input[pixel(90) + (3 % c)] = -std::numeric_limits<float>::infinity();
  const int64_t cm = p.filter.c * p.filter.m;
  t.filter[((p.filter.kh / 2) * p.filter.kw + p.filter.kw / 2) * cm + (2 % cm)] = std::numeric_limits<float>::infinity();
  Plan plan;
  Status s = Plan::create_with_kernel(p, kernel_name, &plan);
  if (!s.ok()) return "plan: " + s.message();
  std::vector<float> got = t.output, ref = t.output;
  s = plan.run(t.input.data(), t.filter.data(), t.bias_ptr(), got.data());
  if (!s.ok()) return "run: " + s.message();
  s = reference_depthwise_conv2d(p, t.input.data(), t.filter.data(), t.bias_ptr(), ref.data());
  if (!s.ok()) return "reference: " + s.message();
  int n = 0;
  for (size_t i = 0; i < ref.size(); i++) {
    const bool special = std::isnan(ref[i]) || std::isinf(ref[i]);
    n += special;
    const bool same = std::isnan(ref[i]) ? std::isnan(got[i]) : std::isinf(ref[i]) ? got[i] == ref[i]
                                                                                     : std::isfinite(got[i]);
    if (!same) {
      std::ostringstream os;
      os << kernel_name << " output element " << i << ": " << got[i] << ", the naive loop " << ref[i];
      return os.str();
    }
  }
  if (n == 0) return kernel_name + ": the naive loop made no NaN or Inf output: nothing compared";
  if (specials) *specials = n;
  return "";
}

Spec random_spec(std::mt19937_64 &rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (;;) {
    Spec s;
    s.n = pick(1, 3);
    s.h = pick(1, 24);
    s.w = pick(1, 24);
    s.c = pick(0, 3) == 0 ? pick(1, 4) : pick(1, 70);
    const int mk = pick(0, 3);
    s.m = mk == 1 ? 2 : mk == 2 ? pick(3, 5) : 1;
    const int ks[] = {1, 3, 3, 3, 5, 5, 7, 2, 9};
    s.kh = ks[pick(0, 8)];
    s.kw = pick(0, 3) == 0 ? ks[pick(0, 8)] : s.kh;
    if (pick(0, 4) == 0) {  // factorized 7x7 layers: the general 1x7 and 7x1 kernels
      s.kh = 1, s.kw = 7;
      if (pick(0, 1)) std::swap(s.kh, s.kw);
    }
    s.sh = pick(1, 3);
    s.sw = pick(0, 1) ? s.sh : pick(1, 3);
    s.dh = pick(0, 2) == 0 ? pick(2, 3) : 1;
    s.dw = pick(0, 1) ? s.dh : pick(1, 3);
    s.padding = static_cast<Padding>(pick(0, 2));
    if (s.padding == Padding::kExplicit) {
      s.pt = pick(0, 3), s.pb = pick(0, 3), s.pl = pick(0, 3), s.pr = pick(0, 3);
    }
    s.bias = pick(0, 1);
    s.act = static_cast<Activation>(pick(0, 3));
    s.lo = -0.5f, s.hi = 0.7f;
    if (pick(0, 4) == 0) s.in_pad_w = pick(1, 5), s.in_pad_h = pick(0, 7), s.in_pad_n = pick(0, 3);
    if (pick(0, 4) == 0) s.out_pad_w = pick(1, 5), s.out_pad_h = pick(0, 7), s.out_pad_n = pick(0, 3);
    s.threads = pick(0, 2);
    Problem p;
    if (make_problem(s, &p)) return s;
  }
}

}  // namespace dwconv_test
