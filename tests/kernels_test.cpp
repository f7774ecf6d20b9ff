// Every generated kernel against the reference: named edge cases x kernel variant, and seeded
// random configurations. ctest runs this binary once per x86 ISA level (DWCONV_MAX_ISA).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <utility>

#include "shapes.h"
#include "test_util.h"

namespace {

using dwconv::Activation;
using dwconv::Padding;
using dwconv_test::Spec;

struct Named {
  std::string name;
  Spec spec;
};

std::vector<Named> named_cases() {
  std::vector<Named> v;
  auto add = [&](std::string name, Spec s) { v.push_back({std::move(name), s}); };
  // Every general kernel size: 3x3, 5x5, 7x7, 9x9 (named k3, k5, k7, k9), 1x7, 7x1.
  for (auto [kh, kw] : {std::pair{3, 3}, {5, 5}, {7, 7}, {9, 9}, {1, 7}, {7, 1}}) {
    const std::string K = kh == kw ? "k" + std::to_string(kh) : "k" + std::to_string(kh) + "x" + std::to_string(kw);
    Spec s;
    s.kh = kh, s.kw = kw;
    s.h = 13, s.w = 11, s.c = 40;
    add(K + "_basic", s);
    Spec c1 = s; c1.c = 1; add(K + "_c1", c1);
    Spec c17 = s; c17.c = 17; add(K + "_c17_not_multiple_of_16", c17);
    Spec c33 = s; c33.c = 33; c33.w = 20; add(K + "_c33", c33);
    for (int m = 2; m <= 5; m++) { Spec sm = s; sm.c = 7 + m; sm.m = m; add(K + "_m" + std::to_string(m), sm); }
    for (int st = 2; st <= 3; st++) {
      Spec a = s; a.sh = a.sw = st; add(K + "_stride" + std::to_string(st), a);
      Spec b = s; b.sh = st; add(K + "_stride_h" + std::to_string(st), b);
      Spec d = s; d.sw = st; add(K + "_stride_w" + std::to_string(st), d);
      Spec e = s; e.dh = e.dw = st; add(K + "_dilation" + std::to_string(st), e);
      Spec f = s; f.dw = st; add(K + "_dilation_w" + std::to_string(st), f);
    }
    Spec odd = s; odd.h = 14; odd.w = 16; odd.sh = odd.sw = 2; add(K + "_same_odd_padding_s2", odd);
    Spec valid = s; valid.padding = Padding::kValid; add(K + "_valid", valid);
    Spec vs2 = s; vs2.padding = Padding::kValid; vs2.sh = vs2.sw = 2; vs2.h = vs2.w = 15; add(K + "_valid_s2_odd", vs2);
    Spec ex = s; ex.padding = Padding::kExplicit; ex.pt = 0; ex.pb = 3; ex.pl = 2; ex.pr = 1; add(K + "_explicit", ex);
    Spec one = s; one.padding = Padding::kValid; one.h = kh; one.w = kw; add(K + "_1x1_output", one);
    Spec tiny = s; tiny.h = 2; tiny.w = 1; add(K + "_image_smaller_than_kernel", tiny);
    Spec batch = s; batch.n = 3; add(K + "_batch3", batch);
    Spec bias = s; bias.bias = true; add(K + "_bias", bias);
    Spec relu = s; relu.bias = true; relu.act = Activation::kRelu; add(K + "_bias_relu", relu);
    Spec relu6 = s; relu6.act = Activation::kRelu6; add(K + "_relu6", relu6);
    Spec clamp = s; clamp.act = Activation::kClamp; clamp.lo = -0.3f; clamp.hi = 0.4f; add(K + "_clamp", clamp);
    Spec strided = s; strided.in_pad_w = 3; strided.in_pad_h = 5; strided.in_pad_n = 2;
    strided.out_pad_w = 1; strided.out_pad_h = 4; strided.n = 2; add(K + "_non_contiguous", strided);
    Spec m2s = s; m2s.m = 2; m2s.c = 24; m2s.sh = m2s.sw = 2; m2s.bias = true; add(K + "_m2_stride2_bias", m2s);
    Spec thr = s; thr.threads = 1; thr.h = 30; add(K + "_one_thread", thr);
    Spec wide = s; wide.c = 64; wide.h = 20; wide.w = 37; add(K + "_fast_path_wide", wide);
  }
  // The M == 2 kernels get the same edge cases.
  const size_t base_count = v.size();
  for (size_t i = 0; i < base_count; i++) {
    const std::string &n = v[i].name;
    for (const char *tag : {"_c1", "_c17", "_stride2", "_stride_w3", "_dilation2", "_valid", "_explicit",
                            "_image_smaller", "_batch3", "_bias_relu", "_non_contiguous", "_fast_path_wide"}) {
      if (n.find(tag) != std::string::npos) {
        Spec m2 = v[i].spec;
        m2.m = 2;
        add(n + "_m2", m2);
        break;
      }
    }
  }
  Spec k1; k1.kh = k1.kw = 1; add("k1x1", k1);
  Spec k7; k7.kh = k7.kw = 7; k7.h = 12; k7.w = 10; add("k7x7", k7);
  Spec k31; k31.kh = 3; k31.kw = 1; add("k3x1_asymmetric", k31);
  Spec k15; k15.kh = 1; k15.kw = 5; k15.m = 3; k15.c = 5; add("k1x5_m3", k15);
  Spec k24; k24.kh = 2; k24.kw = 4; k24.padding = Padding::kSame; add("k2x4_same_even", k24);
  return v;
}

std::vector<std::string> kernel_names() {
  std::vector<std::string> v;
  for (const auto &k : dwconv::available_kernels())
    if (k.workload.empty()) v.push_back(k.name);  // tuned kernels: TunedKernels below
  return v;
}

// Whether kernel k can serve spec s (kernel size, multiplier).
bool serves(const std::string &k, const Spec &s) {
  dwconv::Problem p;
  dwconv::Plan plan;
  return dwconv_test::make_problem(s, &p) && dwconv::Plan::create_with_kernel(p, k, &plan).ok();
}

// (kernel variant x named case), for every pair where the kernel serves the case.
std::vector<std::tuple<std::string, Named>> kernel_cases() {
  std::vector<std::tuple<std::string, Named>> v;
  for (const auto &k : kernel_names())
    for (const auto &c : named_cases())
      if (serves(k, c.spec)) v.emplace_back(k, c);
  return v;
}

class KernelCase : public ::testing::TestWithParam<std::tuple<std::string, Named>> {};

TEST_P(KernelCase, MatchesReference) {
  const auto &[kernel, c] = GetParam();
  dwconv::Problem p;
  std::string why;
  ASSERT_TRUE(dwconv_test::make_problem(c.spec, &p, &why)) << why;
  for (uint64_t seed : {1, 2}) {
    std::string err = dwconv_test::check_against_reference(p, kernel, seed);
    ASSERT_EQ(err, "") << c.spec.describe();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Named, KernelCase, ::testing::ValuesIn(kernel_cases()),
    [](const auto &info) { return std::get<0>(info.param) + "__" + std::get<1>(info.param).name; });

// Each kernel serves some named case: none of them goes untested.
TEST(KernelCoverage, EveryKernelServesANamedCase) {
  for (const auto &k : kernel_names()) {
    int served = 0;
    for (const auto &c : named_cases()) served += serves(k, c.spec);
    EXPECT_GE(served, 5) << k;
  }
}

// Every per-workload kernel of the build (tuned or fixed-shape) on its own workload (and with
// bias + activation), against the naive loop; the general kernels must also serve that workload.
TEST(TunedKernels, EachMatchesReferenceOnItsWorkload) {
  int tuned = 0;
  for (const auto &k : dwconv::available_kernels()) {
    if (k.workload.empty()) continue;
    tuned++;
    dwconv::Problem p;
    ASSERT_TRUE(dwconv::problem_from_workload_key(k.workload, &p)) << k.workload;
    ASSERT_EQ(dwconv_test::check_against_reference(p, k.name, 5), "") << k.workload;
    dwconv::Plan plan;
    ASSERT_TRUE(dwconv::Plan::create(p, &plan).ok());
    EXPECT_STREQ(plan.kernel_name(), k.name.c_str()) << "the per-workload kernel must win for its workload";
    EXPECT_EQ(plan.kernel_kind(), k.kind) << k.workload;
    EXPECT_NE(k.kind, dwconv::KernelKind::kGeneral) << k.name;
    // A slice of larger tensors goes to a general kernel: a tuned kernel assumes dense tensors.
    dwconv::Problem sliced = p;
    sliced.input_strides.w = p.input.c + 3;
    sliced.output_strides.w = p.output.c + 5;
    dwconv::Plan general;
    EXPECT_FALSE(dwconv::Plan::create_with_kernel(sliced, k.name, &general).ok()) << k.workload;
    ASSERT_TRUE(dwconv::Plan::create(sliced, &general).ok()) << k.workload;
    EXPECT_STRNE(general.kernel_name(), k.name.c_str()) << k.workload;
    if (p.output.n * p.output.h * p.output.w * p.output.c <= (1 << 20))
      EXPECT_EQ(dwconv_test::check_against_reference(sliced, general.kernel_name(), 7), "") << k.workload;
    if (p.output.n * p.output.h * p.output.w * p.output.c > (1 << 22)) continue;  // big: once is enough
    // NaN and Inf as the naive loop has them (a kernel's fast-math code must not lose them).
    EXPECT_EQ(dwconv_test::check_special_values(p, k.name), "") << k.workload;
    p.bias_length = p.output.c;
    p.params.activation = dwconv::Activation::kRelu6;
    EXPECT_EQ(dwconv_test::check_against_reference(p, k.name, 6), "") << k.workload;
    EXPECT_EQ(dwconv_test::check_special_values(p, k.name), "") << k.workload << " with ReLU6";
  }
  std::printf("[tuned] %d per-workload kernels checked\n", tuned);
}

// Each row of the build's DWCONV_SHAPES files selects the fixed-shape (or tuned) kernel the
// build generated for it: the key the build computed from the row is the one the runtime
// computes from the same shape (TunedKernels above checks each kernel's results).
TEST(FixedShapeKernels, EveryRowOfTheBuildsShapesSelectsItsKernel) {
  const std::string files = DWCONV_TEST_SHAPES;
  if (files.empty()) GTEST_SKIP() << "this build has no DWCONV_SHAPES";
  size_t begin = 0;
  int rows = 0;
  while (begin <= files.size()) {
    const size_t end = std::min(files.find('|', begin), files.size());
    for (const auto &shape : dwconv_bench::load_shapes(files.substr(begin, end - begin))) {
      rows++;
      dwconv::Plan plan;
      ASSERT_TRUE(dwconv::Plan::create(shape.problem, &plan).ok()) << shape.name;
      EXPECT_NE(plan.kernel_kind(), dwconv::KernelKind::kGeneral) << shape.name << ": " << plan.selection_reason();
      dwconv::Plan general;
      ASSERT_TRUE(dwconv::Plan::create_general(shape.problem, &general).ok()) << shape.name;
      EXPECT_EQ(general.kernel_kind(), dwconv::KernelKind::kGeneral) << shape.name;
    }
    begin = end + 1;
  }
  std::printf("[shapes] %d rows of %s each select their fixed-shape kernel\n", rows, files.c_str());
}

// 800 seeded random configurations, each on every kernel that serves it.
TEST(RandomConfigs, EveryServingKernelMatchesReference) {
  uint64_t base = 20261128;
  if (const char *env = std::getenv("DWCONV_TEST_SEED")) base = std::strtoull(env, nullptr, 10);
  const int count = 1200;
  std::map<std::string, int> runs;
  for (int i = 0; i < count; i++) {
    const uint64_t seed = base + i;
    std::mt19937_64 rng(seed);
    Spec s = dwconv_test::random_spec(rng);
    dwconv::Problem p;
    ASSERT_TRUE(dwconv_test::make_problem(s, &p));
    for (const auto &k : kernel_names()) {
      dwconv::Plan plan;
      if (!dwconv::Plan::create_with_kernel(p, k, &plan).ok()) continue;
      std::string err = dwconv_test::check_against_reference(p, k, seed);
      ASSERT_EQ(err, "") << "config seed " << seed << " (DWCONV_TEST_SEED=" << base << ", i=" << i
                         << "): " << s.describe();
      runs[k]++;
    }
  }
  for (const auto &k : kernel_names()) EXPECT_GT(runs[k], 20) << k << " ran on too few random configs";
}

}  // namespace

// ctest runs this suite once per x86 ISA level (DWCONV_MAX_ISA); a level above this CPU's would
// only run a lower level's kernels again, so it is skipped, visibly (exit 77: ctest's skip).
int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  dwconv::Isa isa;
  const char *env = std::getenv("DWCONV_MAX_ISA");
  if (env && dwconv::isa_from_name(env, &isa).ok() && static_cast<int>(isa) > static_cast<int>(dwconv::cpu_isa())) {
    std::printf("[SKIP] this CPU lacks %s (it runs %s): the %s kernels cannot run here\n", env,
                dwconv::isa_name(dwconv::cpu_isa()), env);
    return 77;
  }
  return RUN_ALL_TESTS();
}
