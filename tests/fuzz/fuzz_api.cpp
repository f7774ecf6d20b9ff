// Fuzzes the public API: a problem decoded from the input (every field, including values far
// outside the valid ranges) goes through validate(), compute_output_shape() and Plan::create();
// where it is valid and small it runs on random data. Any Ok run must match the naive loop and
// write nothing outside the output's elements; any error must leave the output untouched.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dwconv/dwconv.h"

namespace {

// Reads little-endian integers from the fuzzer's bytes (zeros past the end).
struct Bytes {
  const uint8_t *data;
  size_t size, pos = 0;
  uint8_t u8() { return pos < size ? data[pos++] : 0; }
  // Mostly small values (the valid range), sometimes any 64-bit value.
  int64_t size_like() {
    const uint8_t tag = u8();
    if (tag < 200) return tag % 12;  // 0 .. 11
    if (tag < 250) return int64_t(tag) - 240;  // -40 .. 9
    int64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | u8();
    return v;
  }
};

constexpr float kSentinel = -12345.0f;

// a + b as a caller's int64 arithmetic would give it, wrapping (not undefined) for wild sizes.
int64_t add(int64_t a, int64_t b) { return int64_t(uint64_t(a) + uint64_t(b)); }

void fail(const char *what) {
  std::fprintf(stderr, "fuzz_api: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Bytes b{data, size};
  dwconv::Problem p;
  p.input = {b.size_like(), b.size_like(), b.size_like(), b.size_like()};
  p.filter = {b.size_like(), b.size_like(), p.input.c, b.size_like()};
  if (b.u8() & 1) p.filter.c = b.size_like();
  dwconv::ConvParams &q = p.params;
  q.stride_h = int(b.size_like()), q.stride_w = int(b.size_like());
  q.dilation_h = int(b.size_like()), q.dilation_w = int(b.size_like());
  q.padding = static_cast<dwconv::Padding>(b.u8() % 4);  // 3: outside the enum
  q.pad_top = int(b.size_like()), q.pad_bottom = int(b.size_like());
  q.pad_left = int(b.size_like()), q.pad_right = int(b.size_like());
  q.activation = static_cast<dwconv::Activation>(b.u8() % 5);
  q.clamp_min = float(b.size_like()) - 3.0f, q.clamp_max = float(b.size_like());
  // C*M as the caller would compute it (wrapping, not undefined, for wild sizes).
  p.bias_length = b.u8() & 1 ? int64_t(uint64_t(p.input.c) * uint64_t(p.filter.m)) : 0;
  if (b.u8() == 255) p.bias_length = b.size_like();
  p.num_threads = 1;
  const uint8_t layout = b.u8();
  dwconv::Status s = dwconv::compute_output_shape(p.input, p.filter, q, &p.output);
  if (!s.ok()) p.output = {b.size_like(), b.size_like(), b.size_like(), b.size_like()};
  // Strided slices: extra elements per row / image, sometimes overlapping strides.
  if (layout & 1) p.input_strides = {0, 0, add(p.input.c, layout >> 4)};
  if (layout & 2) p.output_strides = {0, 0, add(p.output.c, ((layout >> 2) & 3) - 1)};
  s = dwconv::validate(p);
  dwconv::Plan plan;
  const dwconv::Status created = dwconv::Plan::create(p, &plan);
  if (created.ok() != s.ok()) fail("Plan::create and validate disagree");
  if (!s.ok()) {
    if (s.message().empty()) fail("an error without a message");
    return 0;
  }
  // Run only small problems: the naive loop is the check.
  auto span = [](const dwconv::TensorShape &t, const dwconv::TensorStrides &st) {
    const int64_t w = st.w ? st.w : t.c, h = st.h ? st.h : w * t.w, n = st.n ? st.n : h * t.h;
    return (t.n - 1) * n + (t.h - 1) * h + (t.w - 1) * w + t.c;
  };
  const int64_t in_span = span(p.input, p.input_strides), out_span = span(p.output, p.output_strides);
  const int64_t filter_size = p.filter.kh * p.filter.kw * p.filter.c * p.filter.m;
  if (in_span > 20000 || out_span > 20000 || filter_size > 4000 ||
      out_span * p.filter.kh * p.filter.kw > 200000)
    return 0;
  std::vector<float> in(in_span), filter(filter_size), bias(p.bias_length), out(out_span + 64, kSentinel);
  uint32_t seed = 12345;
  auto next = [&] { return float((seed = seed * 1664525u + 1013904223u) >> 8) / float(1 << 24) - 0.5f; };
  for (float &v : in) v = next();
  for (float &v : filter) v = next();
  for (float &v : bias) v = next();
  const float *bias_ptr = p.bias_length ? bias.data() : nullptr;
  s = plan.run(in.data(), filter.data(), bias_ptr, out.data());
  if (!s.ok()) {
    for (float v : out)
      if (v != kSentinel) fail("an error after writing the output");
    return 0;
  }
  s = dwconv::check_against_reference(p, in.data(), filter.data(), bias_ptr, out.data());
  if (!s.ok()) {
    std::fprintf(stderr, "fuzz_api: %s (kernel %s)\n", s.message().c_str(), plan.kernel_name());
    fail("a result that differs from the naive loop");
  }
  for (int64_t i = out_span; i < out_span + 64; i++)
    if (out[i] != kSentinel) fail("a write past the output");
  return 0;
}
