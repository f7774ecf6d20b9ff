// The CUDA kernels (dwconv_cuda.h) against the naive loop: named edge cases x kernel, through
// host pointers and through device pointers, and seeded random configurations. Without a CUDA
// device every GPU test is skipped, visibly ([SKIP] + GTEST_SKIP); the API's error paths (no
// driver, bad arguments, kernels that cannot serve a problem) are checked everywhere.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>

#include "HalideRuntime.h"
#include "HalideRuntimeCuda.h"
#include "dwconv/dwconv_cuda.h"
#include "test_util.h"

namespace {

using dwconv::Activation;
using dwconv::Padding;
using dwconv::Problem;
using dwconv::Status;
using dwconv::StatusCode;
using dwconv_test::Spec;

const Status &gpu() {
  static Status s = [] {
    Status st = dwconv::cuda::available();
    if (!st.ok()) {
      std::printf("[SKIP] no CUDA device: %s\n", st.message().c_str());
    } else {
      dwconv::cuda::DeviceInfo d;
      dwconv::cuda::device_info(&d);
      std::printf("[cuda] device %d: %s, compute capability %d.%d, driver %d\n", d.ordinal, d.name.c_str(), d.major,
                  d.minor, d.driver_version);
    }
    std::fflush(stdout);
    return st;
  }();
  return s;
}

#define REQUIRE_GPU()                                                   \
  do {                                                                  \
    if (!gpu().ok()) GTEST_SKIP() << "no CUDA device"; /* reason printed once */ \
  } while (0)

Problem problem_of(const Spec &s) {
  Problem p;
  std::string why;
  EXPECT_TRUE(dwconv_test::make_problem(s, &p, &why)) << why;
  return p;
}

// The sentinel of a strided output must survive outside the output's elements.
std::string check_gaps(const Problem &p, const std::vector<float> &out) {
  const int64_t sw = p.output_strides.w ? p.output_strides.w : p.output.c;
  const int64_t sh = p.output_strides.h ? p.output_strides.h : sw * p.output.w;
  const int64_t sn = p.output_strides.n ? p.output_strides.n : sh * p.output.h;
  std::vector<char> inside(out.size(), 0);
  for (int64_t n = 0; n < p.output.n; n++)
    for (int64_t y = 0; y < p.output.h; y++)
      for (int64_t x = 0; x < p.output.w; x++)
        for (int64_t c = 0; c < p.output.c; c++) inside[n * sn + y * sh + x * sw + c] = 1;
  for (size_t i = 0; i < out.size(); i++)
    if (!inside[i] && out[i] != dwconv_test::Tensors::kSentinel) return "wrote outside the output at " + std::to_string(i);
  return "";
}

// Host pointers: run kernel (or the automatic choice) and compare with the reference.
std::string check_host(const Problem &p, const std::string &kernel, uint64_t seed) {
  dwconv_test::Tensors t(p, seed);
  dwconv::cuda::Plan plan;
  Status s = dwconv::cuda::Plan::create_with_kernel(p, kernel, &plan);
  if (!s.ok()) return "plan: " + s.message();
  s = plan.run(t.input.data(), t.filter.data(), t.bias_ptr(), t.output.data());
  if (!s.ok()) return "run: " + s.message();
  s = dwconv::check_against_reference(p, t.input.data(), t.filter.data(), t.bias_ptr(), t.output.data());
  const std::string where = std::string(plan.kernel_name()) + " seed " + std::to_string(seed) + ": ";
  if (!s.ok()) return where + s.message();
  std::string gaps = check_gaps(p, t.output);
  return gaps.empty() ? "" : where + gaps;
}

// A device allocation made through Halide's CUDA runtime (the context dwconv_cuda uses).
struct DeviceArray {
  halide_buffer_t buf{};
  halide_dimension_t dim{};
  explicit DeviceArray(std::vector<float> &host) {
    dim = {0, int32_t(host.size()), 1, 0};
    buf.host = reinterpret_cast<uint8_t *>(host.data());
    buf.type = halide_type_t(halide_type_float, 32, 1);
    buf.dimensions = 1;
    buf.dim = &dim;
    buf.flags = halide_buffer_flag_host_dirty;
  }
  int upload() { return halide_copy_to_device(nullptr, &buf, halide_cuda_device_interface()); }
  uint64_t ptr() { return halide_cuda_get_device_ptr(nullptr, &buf); }
  int download() {
    buf.flags = halide_buffer_flag_device_dirty;
    return halide_copy_to_host(nullptr, &buf);
  }
  ~DeviceArray() { halide_device_free(nullptr, &buf); }
};

// Device pointers: the same check through run_device().
std::string check_device(const Problem &p, const std::string &kernel, uint64_t seed) {
  dwconv_test::Tensors t(p, seed);
  dwconv::cuda::Plan plan;
  Status s = dwconv::cuda::Plan::create_with_kernel(p, kernel, &plan);
  if (!s.ok()) return "plan: " + s.message();
  DeviceArray in(t.input), fil(t.filter), out(t.output);
  std::vector<float> bias_host = t.bias;
  if (bias_host.empty()) bias_host.push_back(0.0f);  // a valid allocation; passed as 0 below
  DeviceArray bias(bias_host);
  for (DeviceArray *a : {&in, &fil, &out, &bias})
    if (a->upload() != 0) return "device allocation failed";
  s = plan.run_device(in.ptr(), fil.ptr(), t.bias.empty() ? 0 : bias.ptr(), out.ptr());
  if (!s.ok()) return "run_device: " + s.message();
  if (out.download() != 0) return "copying the output back failed";
  s = dwconv::check_against_reference(p, t.input.data(), t.filter.data(), t.bias_ptr(), t.output.data());
  const std::string where = std::string(plan.kernel_name()) + " (device pointers) seed " + std::to_string(seed) + ": ";
  if (!s.ok()) return where + s.message();
  std::string gaps = check_gaps(p, t.output);
  return gaps.empty() ? "" : where + gaps;
}

struct Named {
  std::string name;
  Spec spec;
};

std::vector<Named> named_cases() {
  std::vector<Named> v;
  auto add = [&](std::string name, Spec s) { v.push_back({std::move(name), s}); };
  for (int k : {3, 5}) {
    const std::string K = "k" + std::to_string(k);
    Spec s;
    s.kh = s.kw = k;
    s.h = 13, s.w = 11, s.c = 40;
    add(K + "_basic", s);
    Spec c1 = s; c1.c = 1; add(K + "_c1", c1);
    Spec c17 = s; c17.c = 17; add(K + "_c17", c17);
    Spec c33 = s; c33.c = 33; c33.w = 20; add(K + "_c33_wider_than_a_block", c33);
    for (int m = 2; m <= 5; m++) { Spec sm = s; sm.c = 7 + m; sm.m = m; add(K + "_m" + std::to_string(m), sm); }
    for (int st = 2; st <= 3; st++) {
      Spec a = s; a.sh = a.sw = st; add(K + "_stride" + std::to_string(st), a);
      Spec b = s; b.sh = st; add(K + "_stride_h" + std::to_string(st), b);
      Spec e = s; e.dh = e.dw = st; add(K + "_dilation" + std::to_string(st), e);
    }
    Spec odd = s; odd.h = 14; odd.w = 16; odd.sh = odd.sw = 2; add(K + "_same_odd_padding_s2", odd);
    Spec valid = s; valid.padding = Padding::kValid; add(K + "_valid", valid);
    Spec ex = s; ex.padding = Padding::kExplicit; ex.pt = 0; ex.pb = 3; ex.pl = 2; ex.pr = 1; add(K + "_explicit", ex);
    Spec one = s; one.padding = Padding::kValid; one.h = one.w = k; add(K + "_1x1_output", one);
    Spec tiny = s; tiny.h = 2; tiny.w = 1; add(K + "_image_smaller_than_kernel", tiny);
    Spec batch = s; batch.n = 3; add(K + "_batch3", batch);
    Spec relu = s; relu.bias = true; relu.act = Activation::kRelu; add(K + "_bias_relu", relu);
    Spec relu6 = s; relu6.act = Activation::kRelu6; add(K + "_relu6", relu6);
    Spec clamp = s; clamp.act = Activation::kClamp; clamp.lo = -0.3f; clamp.hi = 0.4f; add(K + "_clamp", clamp);
    Spec strided = s; strided.in_pad_w = 3; strided.in_pad_h = 5; strided.in_pad_n = 2;
    strided.out_pad_w = 1; strided.out_pad_h = 4; strided.n = 2; add(K + "_non_contiguous", strided);
    Spec m2s = s; m2s.m = 2; m2s.c = 24; m2s.sh = m2s.sw = 2; m2s.bias = true; add(K + "_m2_stride2_bias", m2s);
    Spec m1 = s; m1.m = 1; m1.c = 64; m1.h = 37; m1.w = 29; add(K + "_several_blocks", m1);
  }
  Spec k1; k1.kh = k1.kw = 1; add("k1x1", k1);
  Spec k7; k7.kh = k7.kw = 7; k7.h = 12; k7.w = 10; add("k7x7", k7);
  Spec k31; k31.kh = 3; k31.kw = 1; add("k3x1_asymmetric", k31);
  Spec k15; k15.kh = 1; k15.kw = 5; k15.m = 3; k15.c = 5; add("k1x5_m3", k15);
  Spec k24; k24.kh = 2; k24.kw = 4; add("k2x4_same_even", k24);
  Spec big; big.h = big.w = 56; big.c = 128; add("k3_mobilenet_56x56x128", big);
  return v;
}

bool serves(const std::string &k, const Spec &s) {
  Problem p;
  dwconv::cuda::Plan plan;
  return dwconv_test::make_problem(s, &p) && dwconv::cuda::Plan::create_with_kernel(p, k, &plan).ok();
}

std::vector<std::tuple<std::string, Named>> kernel_cases() {
  std::vector<std::tuple<std::string, Named>> v;
  for (const auto &k : dwconv::cuda::available_kernels())
    for (const auto &c : named_cases())
      if (serves(k.name, c.spec)) v.emplace_back(k.name, c);
  return v;
}

class CudaKernelCase : public ::testing::TestWithParam<std::tuple<std::string, Named>> {};

TEST_P(CudaKernelCase, MatchesReference) {
  REQUIRE_GPU();
  const auto &[kernel, c] = GetParam();
  for (const auto &k : dwconv::cuda::available_kernels()) {
    dwconv::cuda::DeviceInfo d;
    dwconv::cuda::device_info(&d);
    if (k.name == kernel && k.capability > d.major * 10 + d.minor) GTEST_SKIP() << "the device is older than " << kernel;
  }
  const Problem p = problem_of(c.spec);
  ASSERT_EQ(check_host(p, kernel, 1), "") << c.spec.describe();
  ASSERT_EQ(check_device(p, kernel, 2), "") << c.spec.describe();
}

INSTANTIATE_TEST_SUITE_P(
    Named, CudaKernelCase, ::testing::ValuesIn(kernel_cases()),
    [](const auto &info) { return std::get<0>(info.param) + "__" + std::get<1>(info.param).name; });

TEST(CudaCoverage, EveryKernelServesNamedCases) {
  for (const auto &k : dwconv::cuda::available_kernels()) {
    int served = 0;
    for (const auto &c : named_cases()) served += serves(k.name, c.spec);
    EXPECT_GE(served, 5) << k.name;
  }
}

// >= 500 seeded random configurations on the automatically chosen kernel.
TEST(CudaRandomConfigs, MatchReference) {
  REQUIRE_GPU();
  uint64_t base = 20261128;
  if (const char *env = std::getenv("DWCONV_TEST_SEED")) base = std::strtoull(env, nullptr, 10);
  std::map<std::string, int> runs;
  for (int i = 0; i < 600; i++) {
    const uint64_t seed = base + i;
    std::mt19937_64 rng(seed);
    Spec s = dwconv_test::random_spec(rng);
    const Problem p = problem_of(s);
    std::string err = (i % 4 == 3) ? check_device(p, "", seed) : check_host(p, "", seed);
    ASSERT_EQ(err, "") << "config seed " << seed << " (DWCONV_TEST_SEED=" << base << ", i=" << i << "): " << s.describe();
    dwconv::cuda::Plan plan;
    ASSERT_TRUE(dwconv::cuda::Plan::create(p, &plan).ok());
    runs[plan.kernel_name()]++;
  }
  for (const auto &[k, n] : runs) std::printf("[cuda] %s: %d random configs\n", k.c_str(), n);
}

// ----- the API without a GPU ----------------------------------------------------------------------

// Without a driver or device: a clear kUnsupported Status from available() and from run(), never a
// crash. DWCONV_TEST_EXPECT_CUDA=driver|device states what this environment lacks (ctest runs the
// binary once more with DWCONV_CUDA_DRIVER pointing at the toolkit's stub libcuda).
TEST(CudaApi, MissingDriverOrDeviceIsAClearError) {
  const char *expect = std::getenv("DWCONV_TEST_EXPECT_CUDA");
  const Status &st = gpu();
  if (expect == nullptr && st.ok()) GTEST_SKIP() << "a CUDA device is present";
  ASSERT_FALSE(st.ok()) << "expected no CUDA " << (expect ? expect : "device");
  EXPECT_EQ(st.code(), StatusCode::kUnsupported);
  const std::string msg = st.message();
  EXPECT_TRUE(msg.rfind("no CUDA driver", 0) == 0 || msg.rfind("no CUDA device", 0) == 0 ||
              msg.find("compute capability") != std::string::npos)
      << msg;
  if (expect) EXPECT_EQ(msg.rfind(std::string("no CUDA ") + expect, 0), 0u) << msg;
  // Plans still work (selection needs no GPU); running reports the same reason.
  Spec s;
  const Problem p = problem_of(s);
  dwconv::cuda::Plan plan;
  ASSERT_TRUE(dwconv::cuda::Plan::create(p, &plan).ok());
  dwconv_test::Tensors t(p, 1);
  Status r = plan.run(t.input.data(), t.filter.data(), nullptr, t.output.data());
  EXPECT_EQ(r.code(), StatusCode::kUnsupported);
  EXPECT_EQ(r.message(), msg);
  r = plan.run_device(0x1000, 0x200000, 0, 0x400000);
  EXPECT_EQ(r.message(), msg);
  dwconv::cuda::DeviceInfo d;
  EXPECT_EQ(dwconv::cuda::device_info(&d).message(), msg);
  for (float v : t.output) ASSERT_EQ(v, dwconv_test::Tensors::kSentinel) << "nothing may be written on error";
}

TEST(CudaApi, SelectionFollowsTheShape) {
  auto chosen = [](Spec s) {
    dwconv::cuda::Plan plan;
    Status st = dwconv::cuda::Plan::create(problem_of(s), &plan);
    EXPECT_TRUE(st.ok()) << st.message();
    return std::string(plan.kernel_name());
  };
  auto starts = [](const std::string &name, const std::string &prefix) { return name.rfind(prefix, 0) == 0; };
  Spec s;  // 3x3, M = 1, stride 1
  EXPECT_TRUE(starts(chosen(s), "dwconv_f32_k3x3_m1__cuda_sm")) << chosen(s);
  Spec m2 = s; m2.m = 2;
  EXPECT_TRUE(starts(chosen(m2), "dwconv_f32_k3x3__cuda_sm")) << chosen(m2);
  Spec s3 = s; s3.sh = s3.sw = 3;  // beyond the staged kernels
  EXPECT_TRUE(starts(chosen(s3), "dwconv_f32_kany__cuda_sm")) << chosen(s3);
  Spec d2 = s; d2.dh = 2;
  EXPECT_TRUE(starts(chosen(d2), "dwconv_f32_kany__cuda_sm")) << chosen(d2);
  Spec k5 = s; k5.kh = k5.kw = 5;
  EXPECT_TRUE(starts(chosen(k5), "dwconv_f32_k5x5_m1__cuda_sm")) << chosen(k5);
  Spec k7 = s; k7.kh = k7.kw = 7;
  EXPECT_TRUE(starts(chosen(k7), "dwconv_f32_kany__cuda_sm")) << chosen(k7);
}

TEST(CudaApi, ArgumentErrors) {
  Spec s;
  const Problem p = problem_of(s);
  dwconv::cuda::Plan plan;
  EXPECT_EQ(dwconv::cuda::Plan::create(p, nullptr).message(), "plan is null");
  Status st = dwconv::cuda::Plan::create_with_kernel(p, "dwconv_f32_k9x9__cuda_sm80", &plan);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("no CUDA kernel named"), std::string::npos) << st.message();
  Spec s3 = s; s3.sh = s3.sw = 3;
  for (const auto &k : dwconv::cuda::available_kernels()) {
    if (!k.staged) continue;
    st = dwconv::cuda::Plan::create_with_kernel(problem_of(s3), k.name, &plan);
    EXPECT_EQ(st.code(), StatusCode::kUnsupported) << k.name;
    EXPECT_NE(st.message().find("cannot serve"), std::string::npos) << st.message();
  }
  Problem bad = p;
  bad.output.h += 1;  // not the output shape of the problem
  EXPECT_FALSE(dwconv::cuda::Plan::create(bad, &plan).ok());
  dwconv::cuda::Plan empty;
  EXPECT_NE(empty.run(nullptr, nullptr, nullptr, nullptr).message().find("not initialized"), std::string::npos);
  ASSERT_TRUE(dwconv::cuda::Plan::create(p, &plan).ok());
  dwconv_test::Tensors t(p, 1);
  EXPECT_EQ(plan.run(nullptr, t.filter.data(), nullptr, t.output.data()).message(), "input pointer is null");
  EXPECT_EQ(plan.run_device(0x1000, 0x200000, 0, 0).message(), "output pointer is null");
  EXPECT_NE(plan.run_device(0x1000, 0x200000, 0x300000, 0x400000).message().find("bias pointer given"),
            std::string::npos);
}

}  // namespace
