// The public API: TensorFlow's own examples, output shapes, one test per validation error,
// NaN/Inf propagation, and the ISA forcing that the kernel suite relies on.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>
#include <vector>

#include "isa_params.h"
#include "general_branches.h"
#include "kernel_calls.h"
#include "kernel_table.h"
#include "problem_check.h"
#include "test_util.h"

namespace {

using namespace dwconv;
using dwconv_test::Spec;

Problem problem_of(const Spec &s) {
  Problem p;
  std::string why;
  EXPECT_TRUE(dwconv_test::make_problem(s, &p, &why)) << why;
  return p;
}

// tf.nn.depthwise_conv2d example: ones(2,13,13,3), 5x5x3x4 filter zero but the centre tap.
TEST(TensorFlowExamples, SmallSeedExampleExactly) {
  Spec s;
  s.n = 2, s.h = 13, s.w = 13, s.c = 3, s.m = 4, s.kh = 5, s.kw = 5;
  Problem p = problem_of(s);
  ASSERT_EQ(p.output, (TensorShape{2, 13, 13, 12}));
  std::vector<float> in(2 * 13 * 13 * 3, 1.0f), filter(5 * 5 * 3 * 4, 0.0f), out(2 * 13 * 13 * 12, -1.0f);
  const float centre[3][4] = {{2, 2.1f, 2.2f, 2.3f}, {3, 3.1f, 3.2f, 3.3f}, {4, 4.1f, 4.2f, 4.3f}};
  for (int c = 0; c < 3; c++)
    for (int m = 0; m < 4; m++) filter[((2 * 5 + 2) * 3 + c) * 4 + m] = centre[c][m];
  ASSERT_TRUE(depthwise_conv2d(p, in.data(), filter.data(), nullptr, out.data()).ok());
  const float want[12] = {2, 2.1f, 2.2f, 2.3f, 3, 3.1f, 3.2f, 3.3f, 4, 4.1f, 4.2f, 4.3f};
  for (int n = 0; n < 2; n++)
    for (int co = 0; co < 12; co++) EXPECT_EQ(out[((n * 13 + 6) * 13 + 6) * 12 + co], want[co]) << n << " " << co;
  // Both batch entries identical, and with only the centre tap every pixel equals it.
  for (size_t i = 0; i < out.size() / 2; i++) ASSERT_EQ(out[i], out[i + out.size() / 2]);
  for (size_t i = 0; i < out.size(); i++) ASSERT_EQ(out[i], want[i % 12]);
}

TEST(TensorFlowExamples, BigSeedShape) {
  Spec s;
  s.n = 20, s.h = 64, s.w = 64, s.c = 100, s.m = 10, s.kh = 5, s.kw = 5;
  Problem p = problem_of(s);
  EXPECT_EQ(p.output, (TensorShape{20, 64, 64, 1000}));
  // Check values on a batch of 1 (20x the same work adds nothing to the check).
  Spec one = s;
  one.n = 2;
  EXPECT_EQ(dwconv_test::check_against_reference(problem_of(one), "", 7), "");
}

TEST(OutputShape, TensorFlowRules) {
  TensorShape out;
  ConvParams cp;
  cp.stride_h = cp.stride_w = 2;
  ASSERT_TRUE(compute_output_shape({1, 111, 111, 48}, {3, 3, 48, 1}, cp, &out).ok());
  EXPECT_EQ(out, (TensorShape{1, 56, 56, 48}));
  cp.padding = Padding::kValid;
  ASSERT_TRUE(compute_output_shape({1, 111, 111, 48}, {3, 3, 48, 1}, cp, &out).ok());
  EXPECT_EQ(out, (TensorShape{1, 55, 55, 48}));
  ResolvedPadding pad;
  cp = ConvParams();
  cp.stride_h = cp.stride_w = 2;
  ASSERT_TRUE(resolve_padding({1, 112, 112, 64}, {3, 3, 64, 1}, cp, &pad).ok());
  EXPECT_EQ(pad.top, 0);  // SAME: pad_total 1, the odd pixel at the bottom/right
  EXPECT_EQ(pad.bottom, 1);
  cp.dilation_h = cp.dilation_w = 2;
  cp.stride_h = cp.stride_w = 1;
  ASSERT_TRUE(resolve_padding({1, 64, 64, 8}, {3, 3, 8, 1}, cp, &pad).ok());
  EXPECT_EQ(pad.top, 2);
  EXPECT_EQ(pad.right, 2);
}

// ----- one test per validation error -----------------------------------------------------------

struct Fixture : ::testing::Test {
  Spec s;
  Problem p;
  std::vector<float> in, filter, bias, out;
  void SetUp() override {
    s.h = 9, s.w = 9, s.c = 8, s.m = 2;
    p = problem_of(s);
    in.assign(9 * 9 * 8, 1.0f);
    filter.assign(3 * 3 * 8 * 2, 1.0f);
    bias.assign(16, 0.5f);
    out.assign(9 * 9 * 16, 42.0f);
  }
  void expect_error(const Problem &q, const std::string &needle, const float *bias_ptr = nullptr) {
    Status st = depthwise_conv2d(q, in.data(), filter.data(), bias_ptr, out.data());
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find(needle), std::string::npos) << "message: " << st.message();
    for (float v : out) ASSERT_EQ(v, 42.0f) << "output written on error";
  }
};

TEST_F(Fixture, NullInput) {
  Status st = depthwise_conv2d(p, nullptr, filter.data(), nullptr, out.data());
  EXPECT_EQ(st.message(), "input pointer is null");
}
TEST_F(Fixture, NullFilter) {
  EXPECT_EQ(depthwise_conv2d(p, in.data(), nullptr, nullptr, out.data()).message(), "filter pointer is null");
}
TEST_F(Fixture, NullOutput) {
  EXPECT_EQ(depthwise_conv2d(p, in.data(), filter.data(), nullptr, nullptr).message(), "output pointer is null");
}
TEST_F(Fixture, NullBiasWithBiasLength) {
  Problem q = p;
  q.bias_length = 16;
  expect_error(q, "bias pointer is null");
}
TEST_F(Fixture, BiasWithoutLength) { expect_error(p, "bias_length is 0", bias.data()); }
TEST_F(Fixture, BiasLengthMismatch) {
  Problem q = p;
  q.bias_length = 8;
  expect_error(q, "bias length (8) != C*M (16)", bias.data());
}
TEST_F(Fixture, NonPositiveSizes) {
  Problem q = p;
  q.input.h = 0;
  expect_error(q, "input height H must be >= 1, got 0");
  q = p;
  q.input.c = -3;
  expect_error(q, "input channels C must be >= 1, got -3");
  q = p;
  q.filter.m = 0;
  expect_error(q, "channel multiplier M must be >= 1");
  q = p;
  q.filter.kw = 0;
  expect_error(q, "filter width KW must be >= 1");
}
TEST_F(Fixture, FilterChannelsMismatch) {
  Problem q = p;
  q.filter.c = 7;
  expect_error(q, "filter channels (7) != input channels C (8)");
}
TEST_F(Fixture, OutputShapeMismatch) {
  Problem q = p;
  q.output.w = 8;
  expect_error(q, "output shape [1, 9, 8, 16] != expected [1, 9, 9, 16]");
}
TEST_F(Fixture, StrideBelowOne) {
  Problem q = p;
  q.params.stride_w = 0;
  expect_error(q, "stride_w must be >= 1, got 0");
}
TEST_F(Fixture, DilationBelowOne) {
  Problem q = p;
  q.params.dilation_h = -1;
  expect_error(q, "dilation_h must be >= 1, got -1");
}
TEST_F(Fixture, NegativeExplicitPadding) {
  Problem q = p;
  q.params.padding = Padding::kExplicit;
  q.params.pad_left = -1;
  expect_error(q, "explicit padding must be >= 0");
}
TEST_F(Fixture, EmptyValidOutput) {
  Problem q = p;
  q.params.padding = Padding::kValid;
  q.filter.kh = 11;
  expect_error(q, "empty output: the dilated kernel (11x3) is larger than the padded input (9x9)");
}
TEST_F(Fixture, ThirtyTwoBitOverflow) {
  Problem q;
  q.input = {1, 70000, 70000, 1};
  q.filter = {1, 1, 1, 1};
  q.output = q.input;
  Status st = validate(q);
  EXPECT_NE(st.message().find("32-bit"), std::string::npos) << st.message();
  q.input = {1, 4, 4, int64_t(1) << 32};
  st = validate(q);
  EXPECT_NE(st.message().find("exceeds 2^31 - 1"), std::string::npos) << st.message();
}
TEST_F(Fixture, OverlappingStrides) {
  Problem q = p;
  q.input_strides.w = 4;  // < C = 8
  expect_error(q, "input stride_w (4) is smaller than its channel count (8)");
}
TEST_F(Fixture, NegativeThreads) {
  Problem q = p;
  q.num_threads = -2;
  expect_error(q, "num_threads must be >= 0");
}
TEST_F(Fixture, BadClamp) {
  Problem q = p;
  q.params.activation = Activation::kClamp;
  q.params.clamp_min = 2, q.params.clamp_max = 1;
  expect_error(q, "clamp_min <= clamp_max");
}
TEST_F(Fixture, InPlaceRefused) {
  Status st = depthwise_conv2d(p, out.data(), filter.data(), nullptr, out.data());
  EXPECT_NE(st.message().find("overlaps the input"), std::string::npos) << st.message();
}
TEST_F(Fixture, UnknownKernelName) {
  Plan plan;
  Status st = Plan::create_with_kernel(p, "no_such_kernel", &plan);
  EXPECT_EQ(st.message(), "no kernel named 'no_such_kernel' in this build");
}
TEST_F(Fixture, UninitializedPlan) {
  Plan plan;
  EXPECT_NE(plan.run(in.data(), filter.data(), nullptr, out.data()).message().find("not initialized"),
            std::string::npos);
}
TEST_F(Fixture, MovedFromPlanRefusesToRun) {
  Plan plan;
  ASSERT_TRUE(Plan::create(p, &plan).ok());
  Plan taken = std::move(plan);
  EXPECT_FALSE(plan.valid());
  EXPECT_NE(plan.run(in.data(), filter.data(), nullptr, out.data()).message().find("not initialized"),
            std::string::npos);
  for (float v : out) ASSERT_EQ(v, 42.0f) << "output written by a moved-from plan";
  Plan assigned;
  assigned = std::move(taken);
  EXPECT_FALSE(taken.valid());
  ASSERT_TRUE(assigned.run(in.data(), filter.data(), nullptr, out.data()).ok());
  EXPECT_TRUE(check_against_reference(p, in.data(), filter.data(), nullptr, out.data()).ok());
}
// A dimension of extent 1 never steps, but the next one out must still step past its block:
// W = 1 with output rows closer than C*M, H = 1 with images closer than one image's span.
TEST_F(Fixture, RowsOrImagesOverlapWhereAnInnerExtentIsOne) {
  struct Case {
    TensorShape input;
    int kh, kw;
    int64_t TensorStrides::*stride;
    int64_t overlapping, enough;
    const char *message;
  };
  const Case cases[] = {
      {{1, 9, 1, 8}, 3, 1, &TensorStrides::h, 8, 16,
       "output stride_h (8) is smaller than one row's span ((W-1)*stride_w + C = 16)"},
      {{3, 1, 9, 8}, 1, 3, &TensorStrides::n, 100, 144, "output stride_n (100) is smaller than one image's span"},
  };
  for (const Case &c : cases) {
    Problem q = p;
    q.input = c.input;
    q.params.padding = Padding::kValid;
    q.filter.kh = c.kh, q.filter.kw = c.kw;
    ASSERT_TRUE(compute_output_shape(q.input, q.filter, q.params, &q.output).ok());
    q.output_strides.*c.stride = c.overlapping;
    expect_error(q, c.message);
    q.output_strides.*c.stride = c.enough;
    EXPECT_TRUE(validate(q).ok()) << c.message;
  }
}
TEST_F(Fixture, TooManyThreads) {
  Problem q = p;
  q.num_threads = std::numeric_limits<int>::max();
  expect_error(q, "num_threads (2147483647) exceeds 256");
}
TEST_F(Fixture, StrideDilationMultiplierBeyondTheKernelsLimitFailInCreate) {
  for (int which = 0; which < 3; which++) {
    Problem q = p;
    const char *needle = "";
    if (which == 0) q.params.stride_h = (1 << 20) + 1, needle = "stride_h = 1048577 exceeds the kernels' limit 2^20";
    if (which == 1) q.params.dilation_w = (1 << 20) + 1, needle = "dilation_w = 1048577 exceeds the kernels' limit 2^20";
    if (which == 2) q.filter.m = (1 << 20) + 1, needle = "channel multiplier M = 1048577 exceeds the kernels' limit 2^20";
    Plan plan;
    Status st = Plan::create(q, &plan);
    EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
  }
}
TEST_F(Fixture, OutOfRangeEnums) {
  Problem q = p;
  q.params.padding = static_cast<Padding>(7);
  expect_error(q, "padding 7 is not a Padding");
  q = p;
  q.params.activation = static_cast<Activation>(-1);
  expect_error(q, "activation -1 is not an Activation");
  float lo = 1, hi = -1;
  activation_bounds(q.params, &lo, &hi);
  EXPECT_EQ(lo, -std::numeric_limits<float>::infinity());
  EXPECT_EQ(hi, std::numeric_limits<float>::infinity());
}
TEST_F(Fixture, NullPointersOfTheHelpers) {
  EXPECT_EQ(check_against_reference(p, nullptr, filter.data(), nullptr, out.data()).message(), "input pointer is null");
  EXPECT_EQ(check_against_reference(p, in.data(), nullptr, nullptr, out.data()).message(), "filter pointer is null");
  EXPECT_EQ(check_against_reference(p, in.data(), filter.data(), nullptr, nullptr).message(), "output pointer is null");
  EXPECT_EQ(resolve_padding(p.input, p.filter, p.params, nullptr).message(), "padding pointer is null");
  Isa isa;
  EXPECT_FALSE(isa_from_name(nullptr, &isa).ok());
  EXPECT_FALSE(isa_from_name("avx2", nullptr).ok());
}
TEST_F(Fixture, EmptyReferenceCheck) {
  ReferenceCheck check;
  EXPECT_NE(check.check(out.data()).message().find("reference check is empty"), std::string::npos);
}

// ----- NaN / Inf ------------------------------------------------------------------------------

TEST(SpecialValues, NanAndInfPropagateLikeTheReference) {
  for (Activation act : {Activation::kNone, Activation::kRelu, Activation::kRelu6}) {
    for (int c : {5, 40}) {
      Spec s;
      s.h = 10, s.w = 12, s.c = c, s.act = act;
      Problem p = problem_of(s);
      for (const auto &k : available_kernels()) {
        Plan plan;
        if (!Plan::create_with_kernel(p, k.name, &plan).ok()) continue;
        int specials = 0;
        EXPECT_EQ(dwconv_test::check_special_values(p, k.name, &specials), "") << "c = " << c;
        EXPECT_GT(specials, 3) << k.name;
      }
    }
  }
}

// ----- plans, threads, ISA ---------------------------------------------------------------------

TEST(Plan, ReusedAcrossRunsAndThreadCounts) {
  Spec s;
  s.h = 33, s.w = 29, s.c = 48;
  for (int threads : {1, 2, 0}) {
    s.threads = threads;
    EXPECT_EQ(dwconv_test::check_against_reference(problem_of(s), "", 11 + threads), "");
  }
  Plan plan;
  ASSERT_TRUE(Plan::create(problem_of(s), &plan).ok());
  EXPECT_EQ(std::string(plan.kernel_name()).rfind("dwconv_f32_k3x3_m1__", 0), 0u) << plan.kernel_name();
  EXPECT_NE(plan.selection_reason().find("fixed 3x3"), std::string::npos);
}

// Halide's pool is process-wide and a change of thread count restarts it (runtime/src/dwconv.cpp):
// four user threads with different thread counts, many back-to-back calls each (small shapes:
// many tasks, short jobs, restarts between them), every result against the naive loop.
TEST(Plan, ConcurrentCallsWithDifferentThreadCounts) {
  std::vector<std::thread> users;
  std::vector<std::string> errors(4);
  for (int u = 0; u < 4; u++) {
    users.emplace_back([u, &errors] {
      Spec s;
      s.h = 9 + u, s.w = 7 + 2 * u, s.c = 40 + 8 * u, s.threads = u;  // 0 = all cores
      Problem p = problem_of(s);
      dwconv_test::Tensors t(p, 100 + u);
      ReferenceCheck reference;
      Plan plan;
      Status st = ReferenceCheck::create(p, t.input.data(), t.filter.data(), nullptr, &reference);
      if (st.ok()) st = Plan::create(p, &plan);
      for (int rep = 0; rep < 300 && st.ok(); rep++) {
        std::vector<float> got(t.output.size(), -7.0f);
        st = plan.run(t.input.data(), t.filter.data(), nullptr, got.data());
        if (st.ok()) st = reference.check(got.data());
        if (!st.ok()) errors[u] = "run " + std::to_string(rep) + ": " + st.message();
      }
      if (!st.ok() && errors[u].empty()) errors[u] = st.message();
    });
  }
  for (auto &t : users) t.join();
  for (int u = 0; u < 4; u++) EXPECT_EQ(errors[u], "") << "user thread " << u;
}

// A host's thread pool in the style of pthreadpool: three worker threads of its own and the
// caller, each running every fourth index. It counts the loops and tasks it ran and the threads
// that ran them.
struct HostPool {
  std::atomic<int64_t> loops{0}, tasks{0};
  std::mutex mutex;
  std::set<std::thread::id> threads;

  static void run(void *self, void (*task)(void *, int64_t), void *context, int64_t count) {
    HostPool &h = *static_cast<HostPool *>(self);
    h.loops++;
    auto work = [&](int64_t first) {
      for (int64_t i = first; i < count; i += 4) {
        task(context, i);
        h.tasks++;
        std::lock_guard<std::mutex> lock(h.mutex);
        h.threads.insert(std::this_thread::get_id());
      }
    };
    std::vector<std::thread> workers;
    for (int w = 1; w < 4; w++) workers.emplace_back(work, w);
    work(0);
    for (auto &w : workers) w.join();
  }
};

// Plan::run on the host's pool: the same results as the naive loop for general (cut into
// several calls) and per-workload kernels, every parallel loop through the pool, and a plan
// run concurrently on it from two threads.
TEST(HostThreadPool, RunsEveryLoopOnTheHostsPool) {
  Spec general;
  general.h = 23, general.w = 19, general.c = 40, general.dh = general.dw = 3;  // channel blocks x phases
  Spec fixed;  // fs_same_s2 of tests/fixed_shapes.csv: a fixed-shape kernel in the presets' builds
  fixed.h = 10, fixed.w = 12, fixed.c = 40, fixed.sh = fixed.sw = 2;
  for (const Spec *spec : {&general, &fixed}) {
    const Spec &s = *spec;
    const Problem p = problem_of(s);
    dwconv_test::Tensors t(p, 5);
    ReferenceCheck reference;
    ASSERT_TRUE(ReferenceCheck::create(p, t.input.data(), t.filter.data(), nullptr, &reference).ok());
    Plan plan;
    ASSERT_TRUE(Plan::create(p, &plan).ok());
    // The kind this build must pick: a fixed-shape (or tuned) kernel where it has the workload's.
    bool has_workload_kernel = false;
    for (const auto &k : dwconv::available_kernels()) has_workload_kernel |= k.workload == dwconv::workload_key(p);
    EXPECT_EQ(plan.kernel_kind() != dwconv::KernelKind::kGeneral, has_workload_kernel) << plan.kernel_name();
    if (spec == &general) EXPECT_EQ(plan.kernel_kind(), dwconv::KernelKind::kGeneral) << plan.kernel_name();
    HostPool host;
    const dwconv::ParallelFor pool{HostPool::run, &host};
    std::vector<std::string> errors(2);
    std::vector<std::thread> callers;
    for (int c = 0; c < 2; c++) {
      callers.emplace_back([&, c] {
        for (int rep = 0; rep < 20; rep++) {
          std::vector<float> got(t.output.size(), -7.0f);
          Status st = plan.run(t.input.data(), t.filter.data(), nullptr, got.data(), pool);
          if (st.ok()) st = reference.check(got.data());
          if (!st.ok()) errors[c] = st.message();
        }
      });
    }
    for (auto &c : callers) c.join();
    for (const auto &e : errors) EXPECT_EQ(e, "") << s.describe() << " on " << plan.kernel_name();
    EXPECT_GE(host.loops.load(), 40) << "every run's loops go to the host's pool: " << plan.kernel_name();
    EXPECT_GE(host.tasks.load(), host.loops.load());
    EXPECT_GT(host.threads.size(), 1u) << "the host's workers ran tasks";
  }
}

TEST(HostThreadPool, NullRunIsAnError) {
  Spec s;
  Problem p = problem_of(s);
  dwconv_test::Tensors t(p, 1);
  Plan plan;
  ASSERT_TRUE(Plan::create(p, &plan).ok());
  std::vector<float> got(t.output.size(), -7.0f);
  const Status st = plan.run(t.input.data(), t.filter.data(), nullptr, got.data(), dwconv::ParallelFor{});
  EXPECT_EQ(st.code(), dwconv::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("parallel_for.run is null"), std::string::npos) << st.message();
  EXPECT_EQ(got[0], -7.0f);
}

TEST(Isa, ForcedLevelIsTheActiveOne) {
  const char *env = std::getenv("DWCONV_MAX_ISA");
  const Isa cpu = cpu_isa();
  if (env == nullptr) {
    EXPECT_EQ(active_isa(), cpu);
    return;
  }
  Isa want = Isa::kAvx512Zen4;
  ASSERT_TRUE(isa_from_name(env, &want).ok()) << env;
  if (static_cast<int>(want) > static_cast<int>(cpu)) GTEST_SKIP() << "this CPU lacks " << env;
  EXPECT_EQ(active_isa(), want);
  // The kernels' own dispatchers picked exactly this level.
  Spec s;
  EXPECT_EQ(dwconv_test::check_against_reference(problem_of(s), "", 1), "");
  EXPECT_EQ(dispatched_isa(), static_cast<int>(want));
}

// A tuned kernel's parameters per ISA level (schedules/isa_params.h): what the generator
// compiles each variant with and what the selection reason reports.
TEST(IsaParams, EachLevelGetsItsOwnSectionElseSameWidthElseNone) {
  const std::string text = "avx512_zen4@vectors=2,tile_w=4/avx2@vectors=1,tile_w=5";
  std::string from;
  EXPECT_EQ(params_for_level(text, "avx2", &from), "vectors=1,tile_w=5");
  EXPECT_EQ(from, "avx2");
  EXPECT_EQ(params_for_level(text, "avx512_zen4", &from), "vectors=2,tile_w=4");
  EXPECT_EQ(from, "avx512_zen4");
  // Skylake-class AVX-512 has the same registers as the Zen 4 level: its parameters serve.
  EXPECT_EQ(params_for_level(text, "avx512", &from), "vectors=2,tile_w=4");
  EXPECT_EQ(from, "avx512_zen4");
  // SSE4.1: no level of 4 lanes was tuned, so the heuristic default.
  EXPECT_EQ(params_for_level(text, "sse41", &from), "");
  EXPECT_EQ(from, "");
  // A text without levels (a JIT candidate, an older database) serves every level.
  EXPECT_EQ(params_for_level("vectors=3", "sse41", &from), "vectors=3");
  EXPECT_EQ(params_for_level("", "avx2", &from), "");
  // A section without a level (refused by check_level_text) serves no level, not even by width.
  EXPECT_EQ(params_for_level("avx2@vectors=1/tile_w=4", "sse41", &from), "");
  EXPECT_EQ(levels_in(text), "avx512_zen4, avx2");
  EXPECT_EQ(levels_in("vectors=3"), "");
  EXPECT_EQ(check_level_text(text), "");
  EXPECT_EQ(check_level_text("vectors=3"), "");
  EXPECT_NE(check_level_text("avx2@vectors=1/tile_w=4").find("names no ISA level"), std::string::npos);
  EXPECT_NE(check_level_text("neon@vectors=1").find("'neon': not an x86 ISA level"), std::string::npos);
}

// The reason of a tuned kernel names the ISA level whose parameters this CPU's variant runs.
TEST(IsaParams, TunedKernelReasonNamesTheLevel) {
  int tuned = 0;
  for (const auto &k : available_kernels()) {
    if (k.kind != KernelKind::kTuned || k.family != "x86") continue;
    tuned++;
    Problem p;
    ASSERT_TRUE(problem_from_workload_key(k.workload, &p)) << k.workload;
    Plan plan;
    ASSERT_TRUE(Plan::create(p, &plan).ok());
    const std::string why = plan.selection_reason(), level = isa_name(active_isa());
    EXPECT_EQ(why.find("tuned for workload " + k.workload), 0u) << why;
    std::string from;
    const std::string params = params_for_level(k.schedule, level, &from);
    if (params.empty()) EXPECT_NE(why.find("no tuning entry: heuristic schedule for " + level), std::string::npos) << why;
    else EXPECT_NE(why.find(params), std::string::npos) << why;
    EXPECT_NE(why.find(level), std::string::npos) << why;
  }
  if (tuned == 0) GTEST_SKIP() << "no tuned x86 kernels in this build";
}

// A fixed-shape kernel says so, and a general kernel's reason says how to get one.
// A general kernel's call splits into blocks of whole vectors that cover every channel.
TEST(GeneralKernelBlocks, WholeVectorsCoverEveryChannelOnce) {
  for (int lanes : {4, 8, 16}) {
    for (int64_t m = 1; m <= 6; m++) {
      for (int64_t c = 1; c <= 70; c++) {
        SCOPED_TRACE("lanes " + std::to_string(lanes) + " C " + std::to_string(c) + " M " + std::to_string(m));
        dwconv::detail::ChannelBlock b[2];
        const int count = dwconv::detail::general_kernel_blocks(c, m, lanes, b);
        ASSERT_TRUE(count == 1 || count == 2);
        EXPECT_EQ(b[0].first, 0);
        if (count == 1) {
          EXPECT_EQ(b[0].count, c);
          // One call only where it is whole vectors already or less than one vector of channels.
          EXPECT_TRUE((c * m) % lanes == 0 || c * m < std::lcm(m, int64_t(lanes)));
          continue;
        }
        EXPECT_EQ(b[1].first + b[1].count, c);   // the second block ends at the last channel
        EXPECT_LE(b[1].first, b[0].count);       // and starts within or right after the first
        EXPECT_GT(b[0].count, 0);
        for (int i = 0; i < 2; i++) EXPECT_EQ((b[i].count * m) % lanes, 0) << "block " << i;
        EXPECT_LT(b[0].count - b[1].first, b[1].count);  // recomputes less than the second block
      }
    }
  }
}

// What a kernel computes for one call: the naive loop on the call's views.
void naive_call(const dwconv::Problem &p, const dwconv::detail::KernelCall &c, const std::vector<float> &in,
                const std::vector<float> &filter, std::vector<float> *out) {
  const dwconv::detail::TensorView &iv = c.input, &ov = c.output;
  const int64_t m = p.filter.m, cm = p.filter.c * m;
  for (int64_t n = 0; n < ov.extent[3]; n++)
    for (int64_t y = 0; y < ov.extent[2]; y++)
      for (int64_t x = 0; x < ov.extent[1]; x++)
        for (int64_t co = 0; co < ov.extent[0]; co++) {
          double acc = 0;
          for (int64_t ky = 0; ky < c.kernel_h; ky++)
            for (int64_t kx = 0; kx < c.kernel_w; kx++) {
              const int64_t iy = y * c.stride_y - c.pad_top + ky * c.dilation_y;
              const int64_t ix = x * c.stride_x - c.pad_left + kx * c.dilation_x;
              if (iy < 0 || iy >= iv.extent[2] || ix < 0 || ix >= iv.extent[1]) continue;
              acc += double(in[iv.offset + co / m + ix * iv.stride[1] + iy * iv.stride[2] + n * iv.stride[3]]) *
                     filter[c.filter_offset + (ky * p.filter.kw + kx) * cm + c.channel_first * m + co];
            }
          (*out)[ov.offset + co + x * ov.stride[1] + y * ov.stride[2] + n * ov.stride[3]] = float(acc);
        }
}

// A general kernel's calls (channel blocks x dilation phases, on the filter window that reaches
// the input) compute exactly the problem: the naive loop run call by call on their views
// matches it on the whole tensors, every output element written; and a dilation that is a
// multiple of the stride (up to the phase limit, on an input of at least d) runs at dilation 1
// unless the kernel family has a branch for it.
TEST(GeneralKernelCalls, CallsOnViewsComputeTheWholeProblem) {
  std::mt19937_64 rng(7);
  int cut = 0, windowed = 0, empty = 0, boxed = 0;
  for (int i = 0; i < 800; i++) {
    dwconv_test::Spec s = dwconv_test::random_spec(rng);
    s.dh = 1 + int(rng() % 8), s.dw = 1 + int(rng() % 8);
    if (i % 4 == 0) s.dh *= 1 + int(rng() % 6), s.dw *= 1 + int(rng() % 6);  // windows smaller than the filter
    s.bias = false, s.act = dwconv::Activation::kNone;
    dwconv::Problem p;
    if (!dwconv_test::make_problem(s, &p)) continue;
    const int lanes = 4 << (rng() % 3);
    SCOPED_TRACE(s.describe() + " lanes " + std::to_string(lanes));
    dwconv::ResolvedPadding pad;
    ASSERT_TRUE(dwconv::resolve_padding(p.input, p.filter, p.params, &pad).ok());
    const char *family = rng() % 2 ? "x86" : "arm_neon";
    SCOPED_TRACE(family);
    const dwconv::detail::Reach w = dwconv::detail::reach_of(p, pad);
    windowed += !dwconv::detail::is_whole(w, p);
    empty += w.empty();
    dwconv_test::Tensors t(p, i);
    std::vector<float> ref = t.output, got = t.output;
    ASSERT_TRUE(dwconv::reference_depthwise_conv2d(p, t.input.data(), t.filter.data(), nullptr, ref.data()).ok());
    if (w.empty()) {  // every output reads only padding
      for (float v : ref) ASSERT_TRUE(v == 0.0f || v == dwconv_test::Tensors::kSentinel);
      continue;
    }
    const std::vector<dwconv::detail::KernelCall> calls = dwconv::detail::general_kernel_calls(p, pad, w, family, lanes);
    std::fill(got.begin(), got.end(), std::numeric_limits<float>::quiet_NaN());
    for (const auto &c : calls) naive_call(p, c, t.input, t.filter, &got);
    // Outside the box every output reads only padding: 0 without bias and activation.
    const dwconv::detail::DenseStrides os = dwconv::detail::output_strides(p);
    for (int64_t n = 0; n < p.output.n; n++)
      for (int64_t y = 0; y < p.output.h; y++)
        for (int64_t x = 0; x < p.output.w; x++) {
          if (y >= w.out_rows.first && y < w.out_rows.end() && x >= w.out_cols.first && x < w.out_cols.end()) continue;
          boxed++;
          for (int64_t co = 0; co < p.output.c; co++) got[n * os.n + y * os.h + x * os.w + co] = 0.0f;
        }
    // Outside the output's elements (strided gaps) only the reference's sentinel is compared.
    for (size_t j = 0; j < ref.size(); j++) {
      if (ref[j] == dwconv_test::Tensors::kSentinel) continue;
      ASSERT_NEAR(got[j], ref[j], 1e-4f * (1 + std::fabs(ref[j]))) << "element " << j;
    }
    const dwconv::ConvParams &q = p.params;
    // One output: no stride; one tap: no dilation.
    const int sh = w.out_rows.count == 1 ? 1 : q.stride_h, sw = w.out_cols.count == 1 ? 1 : q.stride_w;
    const int dh = w.rows.count == 1 ? 1 : q.dilation_h, dw = w.cols.count == 1 ? 1 : q.dilation_w;
    const bool own_branch = sh == sw && dh == dw && dwconv::general_branch_for(family, sh, dh);
    // The rows the window reads: from its first tap's position for the box's first output on.
    const int64_t rows_read =
        p.input.h - std::max<int64_t>(0, w.rows.first * q.dilation_h - pad.top + w.out_rows.first * q.stride_h);
    const bool rows_cut = !own_branch && dh > 1 && dh % sh == 0 && dh <= dwconv::detail::kMaxDilationPhases &&
                          rows_read >= dh;
    for (const auto &c : calls) {
      EXPECT_EQ(c.dilation_y, rows_cut ? 1 : dh);
      EXPECT_EQ(c.stride_y, rows_cut ? 1 : sh);
    }
    cut += rows_cut;
  }
  EXPECT_GT(cut, 50);  // the random problems exercise the phases and the windows
  EXPECT_GT(windowed, 50);
  EXPECT_GT(empty, 5);
  EXPECT_GT(boxed, 50);  // outputs outside a box
}

// The window is exactly the taps from the first to the last one that reads the input for some
// output, and the box the outputs from the first to the last one that reads it through a tap of
// the window (brute force).
TEST(Reach, FromTheFirstToTheLastTapAndOutputThatReadTheInput) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 20000; i++) {
    const int64_t in = 1 + rng() % 12, k = 1 + rng() % 7, s = 1 + rng() % 40, d = 1 + rng() % 20;
    const int64_t out = 1 + rng() % 12, pad = int64_t(rng() % 60);
    int64_t first = -1, last = -1, first_out = out, last_out = -1;
    for (int64_t t = 0; t < k; t++)
      for (int64_t o = 0; o < out; o++) {
        const int64_t x = o * s + t * d - pad;
        if (x < 0 || x >= in) continue;
        if (first < 0) first = t;
        last = t;
        first_out = std::min(first_out, o), last_out = std::max(last_out, o);
      }
    const dwconv::detail::Span w = dwconv::detail::reaching_taps(in, out, k, s, d, pad);
    const dwconv::detail::Span box = dwconv::detail::reaching_outputs(in, out, s, d, pad, w);
    SCOPED_TRACE("in " + std::to_string(in) + " out " + std::to_string(out) + " k " + std::to_string(k) + " s " +
                 std::to_string(s) + " d " + std::to_string(d) + " pad " + std::to_string(pad));
    if (first < 0) {
      ASSERT_EQ(w.count, 0);
      ASSERT_EQ(box.count, 0);
    } else {
      ASSERT_EQ(w.first, first);
      ASSERT_EQ(w.count, last - first + 1);
      ASSERT_EQ(box.first, first_out);
      ASSERT_EQ(box.count, last_out - first_out + 1);
    }
  }
}

// Problems whose filter reaches the input only through a smaller window run that window on
// the general kernels, through Plan (every kernel variant the window selects), and match the
// naive loop; per-workload kernels and kernels chosen by name keep the whole filter.
TEST(Reach, PlansRunTheWindowAndMatchTheNaiveLoop) {
  std::mt19937_64 rng(5);
  int windowed = 0, empty = 0, boxed = 0;
  std::set<std::string> kernels;
  for (int i = 0; i < 400; i++) {
    Spec s = dwconv_test::random_spec(rng);
    s.h = 1 + int(rng() % 9), s.w = 1 + int(rng() % 9);
    s.dh = 2 + int(rng() % 30), s.dw = 2 + int(rng() % 30);
    if (i % 3 == 0) {  // padding and strides far beyond the image: outputs that read only padding
      s.padding = Padding::kExplicit;
      s.pt = int(rng() % 40), s.pb = int(rng() % 40), s.pl = int(rng() % 40), s.pr = int(rng() % 40);
      s.sh = 1 + int(rng() % 20), s.sw = 1 + int(rng() % 20);
      s.dh = 1 + int(rng() % 4), s.dw = 1 + int(rng() % 4);
    }
    Problem p;
    if (!dwconv_test::make_problem(s, &p)) continue;
    SCOPED_TRACE(s.describe());
    Plan plan;
    ASSERT_TRUE(Plan::create(p, &plan).ok());
    const std::string &why = plan.selection_reason();
    const bool is_windowed = why.find("only filter rows") == 0;
    const bool is_empty = why.find("no filter tap") == 0;
    windowed += is_windowed, empty += is_empty;
    boxed += why.find("output rows") != std::string::npos;
    if (is_windowed) kernels.insert(plan.kernel_name());
    if (is_empty) EXPECT_STREQ(plan.kernel_name(), "none");
    ASSERT_EQ(dwconv_test::check_against_reference(p, "", 100 + i), "");
  }
  EXPECT_GT(windowed, 60);
  EXPECT_GT(empty, 5);
  EXPECT_GT(boxed, 40);
  EXPECT_GE(kernels.size(), 3u);  // M = 1 / 2 / any
}

// fuzz_api's second finding: a stride of 732673 with 2^24 rows of bottom padding. Only output
// row 0 reads the input; the other 22 are the bias, and no staged input spans the stride.
TEST(Reach, AStrideFarBeyondTheImageRunsOnlyTheOutputsThatReadIt) {
  Spec s;
  s.h = 6, s.w = 7, s.c = 2, s.m = 2, s.kh = 3, s.kw = 6, s.sh = 732673, s.sw = 1;
  s.padding = Padding::kExplicit, s.pt = 1, s.pb = 1 << 24;
  s.bias = true;
  const Problem p = problem_of(s);
  ASSERT_EQ(p.output.h, 23);
  Plan plan;
  ASSERT_TRUE(Plan::create(p, &plan).ok());
  EXPECT_NE(plan.selection_reason().find("only filter rows 1..2 and columns 0..5 of the 3x6 filter ever read the "
                                         "input (the others read padding for every output); only output rows 0..0 "
                                         "and columns 0..1 read the input"),
            std::string::npos)
      << plan.selection_reason();
  EXPECT_EQ(dwconv_test::check_against_reference(p, "", 12), "");
}

// A 3x3 filter at dilation 24 on a 16x16 image is a 1x1 convolution (its centre tap).
TEST(Reach, LargeDilationOnASmallImageRunsItsCentreTap) {
  Spec s;
  s.h = 16, s.w = 16, s.c = 32, s.dh = 24, s.dw = 24;
  const Problem p = problem_of(s);
  Plan plan;
  ASSERT_TRUE(Plan::create(p, &plan).ok());
  EXPECT_EQ(plan.selection_reason().find("only filter rows 1..1 and columns 1..1 of the 3x3 filter ever read "
                                         "the input (the others read padding for every output): runs the 1x1 window on 16x16 outputs; "),
            0u)
      << plan.selection_reason();
  EXPECT_EQ(dwconv_test::check_against_reference(p, "", 9), "");
}

// fuzz_api's finding: no tap of a dilation-460032 dimension reads the 3-pixel input. The output
// is the activation of the bias, computed without staging the dilated filter's extent.
TEST(Reach, NoTapReachesTheInputLeavesTheActivatedBias) {
  Spec s;
  s.n = 10, s.h = 6, s.w = 3, s.c = 7, s.m = 5, s.kh = 3, s.kw = 2, s.sh = 1, s.sw = 5, s.dh = 9, s.dw = 460032;
  s.bias = true, s.act = Activation::kRelu6;
  const Problem p = problem_of(s);
  Plan plan;
  ASSERT_TRUE(Plan::create(p, &plan).ok());
  EXPECT_STREQ(plan.kernel_name(), "none");
  dwconv_test::Tensors t(p, 4);
  ASSERT_TRUE(plan.run(t.input.data(), t.filter.data(), t.bias_ptr(), t.output.data()).ok());
  for (int64_t i = 0; i < int64_t(t.output.size()); i++)
    ASSERT_EQ(t.output[i], std::min(std::max(t.bias[i % (7 * 5)], 0.0f), 6.0f)) << i;
  EXPECT_EQ(dwconv_test::check_against_reference(p, "", 4), "");
}

// A tap outside the window adds 0 * w, which is NaN for an infinite or NaN w, as in the naive
// loop and TensorFlow, whatever the activation.
TEST(Reach, NonFiniteTapOutsideTheWindowMakesNaNAsTheNaiveLoopDoes) {
  for (float special : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    for (int dw : {24, 40000}) {
      Spec s;
      s.h = 5, s.w = 5, s.c = 19, s.m = 3, s.dh = 24, s.dw = dw;
      s.act = dw == 24 ? Activation::kRelu6 : Activation::kNone;  // 40000: no column tap reaches
      const Problem p = problem_of(s);
      SCOPED_TRACE(s.describe());
      Plan plan;
      ASSERT_TRUE(Plan::create(p, &plan).ok());
      dwconv_test::Tensors t(p, 6);
      t.filter[4 * 19 * 3 + 2] = 1.0f;                // the centre tap: finite, inside
      t.filter[0 * 19 * 3 + 2 * 3 + 1] = special;     // tap (0, 0), channel 2, m 1: outside
      ASSERT_TRUE(plan.run(t.input.data(), t.filter.data(), nullptr, t.output.data()).ok());
      int nans = 0;
      for (int64_t i = 0; i < int64_t(t.output.size()); i++) nans += std::isnan(t.output[i]);
      EXPECT_EQ(nans, 25);  // output channel 2 * 3 + 1 of every pixel
      EXPECT_TRUE(check_against_reference(p, t.input.data(), t.filter.data(), nullptr, t.output.data()).ok());
    }
  }
}

// fuzz_api's third finding: one output row at stride 732673 on the any-M kernel staged a strip
// of two rows a stride apart (1.7 GB allocated; 25 s under ASan). One output has no stride.
TEST(Reach, OneOutputRunsAtStrideOne) {
  Spec s;
  s.n = 9, s.h = 6, s.w = 7, s.c = 9, s.m = 9, s.kh = 1, s.kw = 6, s.sh = 732673, s.sw = 1;
  s.padding = Padding::kExplicit, s.pb = 1;
  const Problem p = problem_of(s);
  ASSERT_EQ(p.output.h, 1);
  dwconv::ResolvedPadding pad;
  ASSERT_TRUE(dwconv::resolve_padding(p.input, p.filter, p.params, &pad).ok());
  for (const auto &c : dwconv::detail::general_kernel_calls(p, pad, dwconv::detail::reach_of(p, pad), "x86", 16))
    EXPECT_EQ(c.stride_y, 1);
  EXPECT_EQ(dwconv_test::check_against_reference(p, "", 13), "");
}

// Outside the box every tap reads padding: a non-finite tap anywhere in the filter makes those
// outputs NaN; inside, only one outside the window does (or one the kernel multiplies by padding).
TEST(Reach, NonFiniteTapMakesTheOutputsOutsideTheBoxNaN) {
  Spec s;
  s.h = 4, s.w = 4, s.c = 5, s.m = 1, s.sh = 9, s.sw = 1;
  s.padding = Padding::kExplicit, s.pt = 1, s.pb = 30, s.pl = 1, s.pr = 1;
  const Problem p = problem_of(s);
  ASSERT_EQ(p.output.h, 4);  // rows 0 (reads input rows 0-1) and 1-3 (padding only)
  Plan plan;
  ASSERT_TRUE(Plan::create(p, &plan).ok());
  ASSERT_NE(plan.selection_reason().find("only output rows 0..0"), std::string::npos) << plan.selection_reason();
  dwconv_test::Tensors t(p, 8);
  t.filter[(1 * 3 + 1) * 5 + 3] = std::numeric_limits<float>::infinity();  // centre tap, channel 3
  ASSERT_TRUE(plan.run(t.input.data(), t.filter.data(), nullptr, t.output.data()).ok());
  int nans = 0;
  for (float v : t.output) nans += std::isnan(v);
  EXPECT_EQ(nans, 3 * 4);  // channel 3 of the 12 padding-only pixels (row 0's are infinite or finite)
  EXPECT_TRUE(check_against_reference(p, t.input.data(), t.filter.data(), nullptr, t.output.data()).ok());
}

TEST(KernelKinds, ReasonsSayWhatTheKernelIsAndHowToGetAFasterOne) {
  int fixed = 0;
  for (const auto &k : available_kernels()) {
    if (k.kind != KernelKind::kFixedShape) continue;
    fixed++;
    Problem p;
    ASSERT_TRUE(problem_from_workload_key(k.workload, &p)) << k.workload;
    Plan plan;
    ASSERT_TRUE(Plan::create(p, &plan).ok());
    EXPECT_EQ(plan.kernel_kind(), KernelKind::kFixedShape);
    EXPECT_STREQ(kernel_kind_name(plan.kernel_kind()), "fixed-shape");
    EXPECT_EQ(plan.selection_reason().find("fixed-shape kernel for workload " + k.workload), 0u) << plan.selection_reason();
  }
  Problem q;
  q.input = {1, 5, 7, 3};
  q.filter = {3, 3, 3, 1};
  ASSERT_TRUE(compute_output_shape(q.input, q.filter, q.params, &q.output).ok());
  Plan plan;
  ASSERT_TRUE(Plan::create(q, &plan).ok());
  EXPECT_EQ(plan.kernel_kind(), KernelKind::kGeneral);
  EXPECT_NE(plan.selection_reason().find("list its shape in DWCONV_SHAPES"), std::string::npos) << plan.selection_reason();
  if (fixed == 0) GTEST_SKIP() << "no fixed-shape kernels in this build (DWCONV_SHAPES)";
}

// Kernels a program's build registers (dwconv_add_kernels): a list with a bad entry is refused
// whole, naming the entry; a registered kernel wins over libdwconv's for its workload, says so
// in the reason, and computes the problem. The entry point borrowed here is a general kernel's,
// which serves any shape of its size.
// Registration happens before the first plan (the table is fixed from then on), during static
// initialization as in a program whose build generated kernels (dwconv_add_kernels); the tests
// below check what it did. Entry points come from libdwconv's own general kernels.
struct Registration {
  // A 3x3 stride-2 workload that libdwconv has no kernel of its own for.
  Problem problem = [] {
    Problem p;
    p.input = {1, 11, 9, 21};
    p.filter = {3, 3, 21, 1};
    p.params.stride_h = 2;
    compute_output_shape(p.input, p.filter, p.params, &p.output);
    return p;
  }();
  const std::string key = workload_key(problem);
  // The same with C = 22: its list is refused (a bad entry beside a good one).
  Problem refused_problem = [this] {
    Problem p = problem;
    p.input.c = p.filter.c = 22;
    compute_output_shape(p.input, p.filter, p.params, &p.output);
    return p;
  }();
  const std::string refused_key = workload_key(refused_problem);
  const detail::KernelInfo *general_3x3 = builtin([](const detail::KernelInfo &k) {
    return k.workload[0] == '\0' && k.kernel_w == 3 && k.kernel_h == 3 && k.multiplier == 1;
  });
  const detail::KernelInfo *any_size = builtin([](const detail::KernelInfo &k) {
    return k.workload[0] == '\0' && k.kernel_w == 0 && k.multiplier == 0;
  });
  // A workload libdwconv has a fixed-shape kernel for (DWCONV_SHAPES), or null.
  const detail::KernelInfo *builtin_fixed = builtin([](const detail::KernelInfo &k) {
    return k.workload[0] != '\0' && k.schedule[0] == '\0';
  });
  Problem override_problem;
  GeneratedKernel good[1] = {{"registered_3x3", general_3x3->family, 3, 3, 1, "", key.c_str(), general_3x3->fn}};
  GeneratedKernel refused[2] = {{"refused_3x3", general_3x3->family, 3, 3, 1, "", refused_key.c_str(), general_3x3->fn},
                                {"refused_no_fn", general_3x3->family, 3, 3, 1, "", refused_key.c_str(), nullptr}};
  GeneratedKernel override_entry[1] = {};
  Status good_status, refused_status, override_status;

  template <typename Pred>
  static const detail::KernelInfo *builtin(Pred pred) {
    for (int i = 0; i < detail::builtin_kernel_count(); i++)
      if (pred(detail::builtin_kernel(i))) return &detail::builtin_kernel(i);
    return nullptr;
  }

  Registration() {
    refused_status = register_kernels(refused, 2);
    good_status = register_kernels(good, 1);
    if (builtin_fixed && problem_from_workload_key(builtin_fixed->workload, &override_problem)) {
      const auto &f = override_problem.filter;
      override_entry[0] = {"registered_override", general_3x3->family, static_cast<int>(f.kw), static_cast<int>(f.kh),
                           static_cast<int>(f.m),  "", builtin_fixed->workload, any_size->fn};
      override_status = register_kernels(override_entry, 1);
    }
  }
};
const Registration g_registration;

TEST(RegisteredKernels, ARegisteredKernelIsSelectedAndComputesRight) {
  const Registration &r = g_registration;
  ASSERT_TRUE(r.good_status.ok()) << r.good_status.message();
  Plan plan;
  ASSERT_TRUE(Plan::create(r.problem, &plan).ok());
  EXPECT_STREQ(plan.kernel_name(), "registered_3x3");
  EXPECT_EQ(plan.kernel_kind(), KernelKind::kFixedShape);
  EXPECT_NE(plan.selection_reason().find("generated in this program's build"), std::string::npos)
      << plan.selection_reason();
  EXPECT_EQ(dwconv_test::check_against_reference(r.problem, "", 7), "");
  Plan general_plan;
  ASSERT_TRUE(Plan::create_general(r.problem, &general_plan).ok());
  EXPECT_EQ(general_plan.kernel_kind(), KernelKind::kGeneral);
}

TEST(RegisteredKernels, ARefusedListRegistersNothing) {
  const Registration &r = g_registration;
  EXPECT_FALSE(r.refused_status.ok());
  EXPECT_NE(r.refused_status.message().find("entry 1 (refused_no_fn)"), std::string::npos) << r.refused_status.message();
  Plan plan;
  ASSERT_TRUE(Plan::create(r.refused_problem, &plan).ok());
  EXPECT_EQ(plan.kernel_kind(), KernelKind::kGeneral) << "a refused list must register nothing";
}

// Over a workload libdwconv has its own kernel for (DWCONV_SHAPES), the registered one wins. The
// any-size, any-M general kernel's entry point serves it.
TEST(RegisteredKernels, ARegisteredKernelOverridesLibdwconvsOwn) {
  const Registration &r = g_registration;
  if (!r.builtin_fixed) GTEST_SKIP() << "no fixed-shape kernels in this build (DWCONV_SHAPES)";
  ASSERT_TRUE(r.override_status.ok()) << r.override_status.message();
  Plan plan;
  ASSERT_TRUE(Plan::create(r.override_problem, &plan).ok());
  EXPECT_STREQ(plan.kernel_name(), "registered_override") << plan.selection_reason();
  EXPECT_EQ(dwconv_test::check_against_reference(r.override_problem, "", 8), "");
}

TEST(RegisteredKernels, BadEntriesAreRefusedNamingTheEntry) {
  const detail::KernelInfo &general = *g_registration.general_3x3;
  const char *key = g_registration.key.c_str();
  const GeneratedKernel good{"good_3x3", general.family, 3, 3, 1, "", key, general.fn};
  struct Bad {
    GeneratedKernel entry;
    const char *why;
  };
  const Bad bad[] = {
      {{"no_fn", general.family, 3, 3, 1, "", key, nullptr}, "null"},
      {{"other_family", "riscv_v", 3, 3, 1, "", key, general.fn}, "family 'riscv_v'"},
      {{"general", general.family, 3, 3, 1, "", "", general.fn}, "general kernel cannot be registered"},
      {{"wrong_size", general.family, 5, 5, 1, "", key, general.fn}, "do not match its workload"},
      {{"wrong_m", general.family, 3, 3, 2, "", key, general.fn}, "do not match its workload"},
  };
  for (const Bad &b : bad) {
    const GeneratedKernel list[] = {good, b.entry};
    const Status s = register_kernels(list, 2);
    EXPECT_FALSE(s.ok()) << b.entry.name;
    EXPECT_NE(s.message().find(std::string("entry 1 (") + b.entry.name + ")"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(b.why), std::string::npos) << s.message();
  }
  EXPECT_FALSE(register_kernels(nullptr, 1).ok());
}

// After the first plan the table is fixed: a good list is refused with the reason, and plans keep
// their kernels.
TEST(RegisteredKernels, RegisteringAfterTheFirstPlanIsRefused) {
  const Registration &r = g_registration;
  Plan plan;
  ASSERT_TRUE(Plan::create(r.problem, &plan).ok());
  static const GeneratedKernel kLate[] = {{"late_3x3", r.general_3x3->family, 3, 3, 1, "", r.key.c_str(), r.general_3x3->fn}};
  const Status s = register_kernels(kLate, 1);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("register before the first plan"), std::string::npos) << s.message();
  Plan again;
  ASSERT_TRUE(Plan::create(r.problem, &again).ok());
  EXPECT_STREQ(again.kernel_name(), "registered_3x3");
}

TEST(Isa, NamesRoundTripAndAnUnknownOneIsRefused) {
  for (Isa i : {Isa::kBaseline, Isa::kSse41, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Zen4}) {
    Isa back = Isa::kBaseline;
    ASSERT_TRUE(isa_from_name(isa_name(i), &back).ok()) << isa_name(i);
    EXPECT_EQ(back, i);
  }
  Isa isa = Isa::kSse41;
  Status s = isa_from_name("avx10", &isa);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'avx10' is not an ISA level (baseline, sse41, avx2, avx512, avx512_zen4)"), std::string::npos)
      << s.message();
  EXPECT_EQ(isa, Isa::kSse41);  // untouched
  EXPECT_STREQ(isa_name(Isa::kAvx2), "avx2");
  EXPECT_STREQ(isa_name(static_cast<Isa>(5)), "?");
}

TEST(Isa, CannotChangeAfterFirstConvolution) {
  Spec s;
  EXPECT_EQ(dwconv_test::check_against_reference(problem_of(s), "", 1), "");
  const Isa other = active_isa() == Isa::kBaseline ? Isa::kSse41 : Isa::kBaseline;
  Status st = set_max_isa(other);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("before the first convolution"), std::string::npos);
}

}  // namespace
