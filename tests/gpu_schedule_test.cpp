// The GPU schedule (schedules/cuda.cpp) executed without a GPU: the CUDA kernel set generated for
// OpenCL (cmake/DwconvCuda.cmake, dwconv_add_gpu_schedule_test) and run on the machine's OpenCL
// device (Debian's pocl runs it on the CPU), each kernel against the naive loop on named cases
// and seeded random configurations of the problems it serves: its block and thread tiling, the
// guarded tails, the shared-memory staging and its barriers. Exits 77 (ctest: skipped) where no
// OpenCL device is found.
#include <gtest/gtest.h>

#include <HalideBuffer.h>
#include <HalideRuntime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "dwconv/dwconv.h"
#include "dwconv/kernel_registry.h"
#include "dwconv_gpu_kernel_table.inc"

namespace {

using dwconv::Problem;

struct GpuKernel {
  const char *name;
  dwconv::KernelFn fn;
  int kernel_w, kernel_h;  // 0: any size
  int multiplier;          // 0: any M
  bool staged;             // input staged in shared memory: stride <= 2, dilation 1, up to 7x7
};

#define DWCONV_GPU_KERNEL(name, kw, kh, m, staged) {#name, name, kw, kh, m, (staged) != 0},
const GpuKernel kKernels[] = {DWCONV_GPU_KERNEL_LIST};
#undef DWCONV_GPU_KERNEL

// The last message of Halide's runtime (a failing kernel returns only a code).
std::string g_halide_error;
extern "C" void record_halide_error(void *, const char *msg) { g_halide_error = msg; }

bool serves(const GpuKernel &k, const Problem &p) {
  const auto &f = p.filter;
  const auto &c = p.params;
  if (k.kernel_w && (f.kw != k.kernel_w || f.kh != k.kernel_h)) return false;
  if (k.multiplier && f.m != k.multiplier) return false;
  if (k.staged && (c.stride_h > 2 || c.stride_w > 2 || c.dilation_h != 1 || c.dilation_w != 1 || f.kw > 7 || f.kh > 7))
    return false;
  return true;
}

struct Data {
  std::vector<float> input, filter, bias;
};

Data random_data(const Problem &p, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Data d;
  d.input.resize(p.input.n * p.input.h * p.input.w * p.input.c);
  d.filter.resize(p.filter.kh * p.filter.kw * p.filter.c * p.filter.m);
  d.bias.resize(p.bias_length);
  for (auto *v : {&d.input, &d.filter, &d.bias})
    for (float &x : *v) x = u(rng);
  return d;
}

// Runs kernel k on the problem (dense tensors) and checks the output against the naive loop:
// "" or what went wrong. The output starts as NaN, so an element never written fails.
std::string run_and_check(const GpuKernel &k, const Problem &p, const Data &d) {
  dwconv::ResolvedPadding pad;
  dwconv::Status s = dwconv::resolve_padding(p.input, p.filter, p.params, &pad);
  if (!s.ok()) return s.message();
  const int cm = static_cast<int>(p.filter.c * p.filter.m);
  std::vector<float> zeros(cm, 0.0f);
  std::vector<float> out(p.output.n * p.output.h * p.output.w * p.output.c, std::numeric_limits<float>::quiet_NaN());
  using Buffer = Halide::Runtime::Buffer<float>;
  Buffer in(const_cast<float *>(d.input.data()),
            {int(p.input.c), int(p.input.w), int(p.input.h), int(p.input.n)});
  Buffer filter(const_cast<float *>(d.filter.data()), {cm, int(p.filter.kw), int(p.filter.kh)});
  Buffer bias(p.bias_length ? const_cast<float *>(d.bias.data()) : zeros.data(), {cm});
  Buffer output(out.data(), {int(p.output.c), int(p.output.w), int(p.output.h), int(p.output.n)});
  // Host memory that the device copies lack: the kernels copy dirty host data to the device.
  for (Buffer *b : {&in, &filter, &bias}) b->set_host_dirty();
  float lo, hi;
  dwconv::activation_bounds(p.params, &lo, &hi);
  g_halide_error.clear();
  int rc = k.fn(in, filter, bias, int(p.filter.m), p.params.stride_w, p.params.stride_h, p.params.dilation_w,
                p.params.dilation_h, int(pad.left), int(pad.top), lo, hi, output);
  if (rc == 0) rc = output.copy_to_host();
  for (Buffer *b : {&in, &filter, &bias, &output}) b->device_free();
  if (rc != 0) return std::string(k.name) + " failed (Halide error " + std::to_string(rc) + "): " + g_halide_error;
  s = dwconv::check_against_reference(p, d.input.data(), d.filter.data(), p.bias_length ? d.bias.data() : nullptr,
                                      out.data());
  return s.ok() ? "" : s.message();
}

struct Config {
  int n, h, w, c, m, kh, kw, stride_h, stride_w, dilation_h, dilation_w;
  dwconv::Padding padding;
  int pad[4];  // top, bottom, left, right (explicit padding)
  bool bias;
  dwconv::Activation activation;
};

// The problem of a configuration, or false where it has no output (VALID too small).
bool make_problem(const Config &c, Problem *p) {
  p->input = {c.n, c.h, c.w, c.c};
  p->filter = {c.kh, c.kw, c.c, c.m};
  p->params.stride_h = c.stride_h, p->params.stride_w = c.stride_w;
  p->params.dilation_h = c.dilation_h, p->params.dilation_w = c.dilation_w;
  p->params.padding = c.padding;
  p->params.pad_top = c.pad[0], p->params.pad_bottom = c.pad[1], p->params.pad_left = c.pad[2],
  p->params.pad_right = c.pad[3];
  p->params.activation = c.activation;
  p->bias_length = c.bias ? int64_t(c.c) * c.m : 0;
  return dwconv::compute_output_shape(p->input, p->filter, p->params, &p->output).ok();
}

std::string describe(const Config &c) {
  char s[200];
  std::snprintf(s, sizeof s, "%dx%dx%dx%d M=%d %dx%d stride %dx%d dilation %dx%d padding %d (%d,%d,%d,%d)%s act %d",
                c.n, c.h, c.w, c.c, c.m, c.kh, c.kw, c.stride_h, c.stride_w, c.dilation_h, c.dilation_w,
                int(c.padding), c.pad[0], c.pad[1], c.pad[2], c.pad[3], c.bias ? " bias" : "", int(c.activation));
  return s;
}

// Named cases: TensorFlow's seed example, channel counts off the 32-thread block, tails in every
// dimension, one-pixel images, several batches, strides and dilations at the staged kernels'
// limits, asymmetric SAME padding.
std::vector<Config> named_cases() {
  using dwconv::Activation;
  using dwconv::Padding;
  std::vector<Config> v;
  for (int kernel : {1, 3, 5, 7}) {
    for (int m : {1, 2, 3, 4}) {
      v.push_back({2, 13, 13, 3, m, kernel, kernel, 1, 1, 1, 1, Padding::kSame, {}, false, Activation::kNone});
      v.push_back({1, 30, 29, 70, m, kernel, kernel, 2, 2, 1, 1, Padding::kSame, {}, true, Activation::kRelu6});
      v.push_back({3, 1, 1, 33, m, kernel, kernel, 1, 1, 1, 1, Padding::kSame, {}, false, Activation::kNone});
      v.push_back({1, 16, 9, 32, m, kernel, kernel, 1, 2, 1, 1, Padding::kValid, {}, true, Activation::kRelu});
      v.push_back({1, 12, 14, 5, m, kernel, kernel, 2, 1, 2, 3, Padding::kSame, {}, false, Activation::kNone});
      v.push_back({2, 11, 10, 17, m, kernel, kernel, 3, 3, 1, 1, Padding::kExplicit, {2, 0, 1, 3}, true,
                   Activation::kNone});
    }
  }
  return v;
}

// Random configurations that kernel k serves: its kernel size and M where it fixes them, the
// staged kernels' stride and dilation limits.
std::vector<Config> random_cases(const GpuKernel &k, int count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const int max_stride = k.staged ? 2 : 3, max_dilation = k.staged ? 1 : 3;
  std::vector<Config> v;
  while (int(v.size()) < count) {
    Config c{};
    c.kh = k.kernel_h ? k.kernel_h : pick(1, 7);
    c.kw = k.kernel_w ? k.kernel_w : (pick(0, 1) ? c.kh : pick(1, 7));
    c.m = k.multiplier ? k.multiplier : (pick(0, 2) ? 1 : pick(2, 4));
    c.n = pick(1, 2), c.h = pick(1, 24), c.w = pick(1, 24), c.c = pick(1, 40);
    c.stride_h = pick(1, max_stride), c.stride_w = pick(1, max_stride);
    c.dilation_h = pick(0, 2) ? 1 : pick(1, max_dilation), c.dilation_w = pick(0, 2) ? 1 : pick(1, max_dilation);
    c.padding = static_cast<dwconv::Padding>(pick(0, 2));
    for (int &p : c.pad) p = pick(0, 3);
    c.bias = pick(0, 1);
    c.activation = static_cast<dwconv::Activation>(pick(0, 2));
    Problem p;
    if (make_problem(c, &p) && serves(k, p)) v.push_back(c);
  }
  return v;
}

// Kernel k on every case it serves, up to its first failure; the number it served.
int check_kernel(const GpuKernel &k, const std::vector<Config> &cases, const char *what) {
  int served = 0;
  for (size_t i = 0; i < cases.size(); i++) {
    Problem p;
    if (!make_problem(cases[i], &p) || !serves(k, p)) continue;
    served++;
    const std::string why = run_and_check(k, p, random_data(p, 1000 + i));
    if (why.empty()) continue;
    ADD_FAILURE() << k.name << " on " << what << " case " << i << ": " << describe(cases[i]) << ": " << why;
    break;  // its first failure; the other kernels go on
  }
  std::printf("%s: %d %s cases\n", k.name, served, what);
  return served;
}

TEST(GpuSchedule, NamedCasesMatchTheNaiveLoop) {
  const std::vector<Config> cases = named_cases();
  for (const GpuKernel &k : kKernels) EXPECT_GT(check_kernel(k, cases, "named"), 0) << k.name << " serves none";
}

// 100 configurations per kernel, drawn within what it serves.
TEST(GpuSchedule, RandomConfigurationsMatchTheNaiveLoop) {
  const char *env = std::getenv("DWCONV_TEST_SEED");
  const uint64_t seed = env ? std::strtoull(env, nullptr, 10) : 7;
  std::printf("random configurations: seed %llu (DWCONV_TEST_SEED)\n", static_cast<unsigned long long>(seed));
  for (size_t i = 0; i < std::size(kKernels); i++)
    check_kernel(kKernels[i], random_cases(kKernels[i], 100, seed + i), "random");
}

// Whether the machine has an OpenCL device: one tiny run of the any-size kernel.
bool opencl_device_found(std::string *why) {
  Config c{1, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, dwconv::Padding::kSame, {}, false, dwconv::Activation::kNone};
  Problem p;
  make_problem(c, &p);
  const GpuKernel *any = nullptr;
  for (const GpuKernel &k : kKernels)
    if (!k.staged && k.kernel_w == 0 && k.multiplier == 0) any = &k;
  if (!any) {
    *why = "no any-size kernel in the table";
    return false;
  }
  *why = run_and_check(*any, p, random_data(p, 1));
  return why->empty() || why->find("OpenCL") == std::string::npos;
}

}  // namespace

int main(int argc, char **argv) {
  halide_set_error_handler(record_halide_error);
  ::testing::InitGoogleTest(&argc, argv);
  std::string why;
  if (!opencl_device_found(&why)) {
    std::printf("[SKIP] no OpenCL device (scripts/setup installs pocl-opencl-icd): %s\n", why.c_str());
    return 77;
  }
  return RUN_ALL_TESTS();
}
