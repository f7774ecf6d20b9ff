// Validation, planning and dispatch of dwconv's public API.
#include "dwconv/dwconv.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <atomic>
#include <iterator>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "HalideRuntime.h"
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include "isa_params.h"
#include "kernel_calls.h"
#include "kernel_table.h"
#include "problem_check.h"
#include "thread_pool.h"

namespace dwconv {

namespace {

// ----- Halide runtime hooks: errors into Status, ISA limit, thread count ---------------------

thread_local std::string t_halide_error;

void capture_halide_error(void *, const char *msg) { t_halide_error += msg; }

const halide_target_feature_t kAvx512Zen4Features[] = {
    halide_target_feature_avx512_sapphirerapids, halide_target_feature_avx512_zen4,
    halide_target_feature_avx512_zen5, halide_target_feature_avx10_1, halide_target_feature_x86_apx};
const halide_target_feature_t kAvx512Features[] = {
    halide_target_feature_avx512, halide_target_feature_avx512_knl,
    halide_target_feature_avx512_skylake, halide_target_feature_avx512_cannonlake,
    halide_target_feature_avxvnni};
const halide_target_feature_t kAvx2Features[] = {halide_target_feature_avx, halide_target_feature_avx2,
                                                 halide_target_feature_fma, halide_target_feature_fma4,
                                                 halide_target_feature_f16c};

constexpr int kFeatureWords = (halide_target_feature_end + 63) / 64;

std::atomic<int> g_max_isa{static_cast<int>(Isa::kAvx512Zen4)};
std::atomic<bool> g_dispatched{false};

bool has_feature(int count, const uint64_t *features, halide_target_feature_t f) {
  return f / 64 < count && (features[f / 64] >> (f % 64)) & 1;
}

// Isa level that a target feature set needs.
Isa isa_needed(int count, const uint64_t *features) {
  for (auto f : kAvx512Zen4Features)
    if (has_feature(count, features, f)) return Isa::kAvx512Zen4;
  for (auto f : kAvx512Features)
    if (has_feature(count, features, f)) return Isa::kAvx512;
  for (auto f : kAvx2Features)
    if (has_feature(count, features, f)) return Isa::kAvx2;
  if (has_feature(count, features, halide_target_feature_sse41)) return Isa::kSse41;
  return Isa::kBaseline;
}

std::atomic<int> g_dispatched_isa{-1};

// Whether the CPU has what the Zen 4 / Sapphire Rapids level adds to AVX-512 Skylake: Halide's
// runtime does not know the avx512_zen4 feature (it counts an unknown feature as available:
// alone, it is "available" on any CPU, an AVX2-only Zen 3 included), so dwconv asks cpuid for
// the AVX512-VNNI and AVX512-BF16 that both those CPUs have and Skylake / Ice Lake lack, on top
// of the AVX-512 Skylake set that Halide checks.
bool cpu_has_zen4_level() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool has = [] {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, nullptr) < 7) return false;
    __cpuid_count(7, 0, a, b, c, d);
    const bool vnni = (c >> 11) & 1;
    __cpuid_count(7, 1, a, b, c, d);
    const bool bf16 = (a >> 5) & 1;
    return vnni && bf16;
  }();
  return has;
#else
  return false;
#endif
}

// The generated dispatchers ask this, most capable target first, once per kernel per process.
int can_use_target_features(int count, const uint64_t *features) {
  const int needed = static_cast<int>(isa_needed(count, features));
  if (needed > g_max_isa.load()) return 0;
  if (!halide_default_can_use_target_features(count, features)) return 0;
  if (needed == static_cast<int>(Isa::kAvx512Zen4) && !cpu_has_zen4_level()) return 0;
  int prev = g_dispatched_isa.load();
  while (needed > prev && !g_dispatched_isa.compare_exchange_weak(prev, needed)) {
  }
  return 1;
}

Status init_runtime() {
  static Status status = [] {
    halide_set_error_handler(capture_halide_error);
    halide_set_custom_can_use_target_features(can_use_target_features);
    halide_set_custom_do_par_for(detail::pool_do_par_for);
    if (const char *env = std::getenv("DWCONV_MAX_ISA")) {
      Isa isa = Isa::kAvx512Zen4;
      Status s = isa_from_name(env, &isa);
      if (!s.ok()) return Status(s.code(), "DWCONV_MAX_ISA: " + s.message());
      g_max_isa = static_cast<int>(isa);
    }
    return Status::Ok();
  }();
  return status;
}

// The thread pools are process-wide (ours, thread_pool.h, and Halide's, which serves loops
// issued while ours is busy; lowering its thread count does not stop workers it already
// started): a change of thread count restarts them, which must not happen while any kernel
// runs. Runs hold the lock shared; a change takes it exclusively.
std::shared_mutex g_pool_mutex;
int g_threads = -1;

template <class F>
int run_with_threads(int n, F &&f) {
  for (;;) {
    {
      std::shared_lock<std::shared_mutex> running(g_pool_mutex);
      if (g_threads == n) return f();
    }
    std::unique_lock<std::shared_mutex> changing(g_pool_mutex);
    if (g_threads != n) {
      halide_shutdown_thread_pool();
      halide_set_num_threads(n);
      detail::pool_set_threads(n);
      g_threads = n;
    }
  }
}

// ----- Halide buffers --------------------------------------------------------------------------

struct Buf4 {
  halide_buffer_t buf{};
  halide_dimension_t dim[4]{};
};

void make_buffer(halide_buffer_t *b, halide_dimension_t *dims, int rank, const float *data) {
  *b = halide_buffer_t{};
  b->host = reinterpret_cast<uint8_t *>(const_cast<float *>(data));
  b->type = halide_type_t(halide_type_float, 32, 1);
  b->dimensions = rank;
  b->dim = dims;
}

}  // namespace

// ----- public API ------------------------------------------------------------------------------

// The level names are kX86Levels' (most capable first, as the tuning database and the build
// name them); Isa numbers the same levels from the baseline up.
constexpr int kIsaLevels = static_cast<int>(std::size(kX86Levels));
static_assert(kIsaLevels == static_cast<int>(Isa::kAvx512Zen4) + 1, "Isa and kX86Levels name the same levels");

const char *isa_name(Isa isa) {
  const int i = static_cast<int>(isa);
  return i >= 0 && i < kIsaLevels ? kX86Levels[kIsaLevels - 1 - i] : "?";
}

Status isa_from_name(const char *name, Isa *isa) {
  if (name == nullptr || isa == nullptr) return Status(StatusCode::kInvalidArgument, "isa_from_name: null pointer");
  std::string names;
  for (int i = 0; i < kIsaLevels; i++) {
    const Isa level = static_cast<Isa>(i);
    if (std::strcmp(name, isa_name(level)) == 0) {
      *isa = level;
      return Status::Ok();
    }
    names += std::string(names.empty() ? "" : ", ") + isa_name(level);
  }
  return Status(StatusCode::kInvalidArgument, std::string("'") + name + "' is not an ISA level (" + names + ")");
}

Isa cpu_isa() {
#if !defined(__x86_64__) && !defined(__i386__)
  // Elsewhere (aarch64) the runtime does not know the x86 features and would call them usable.
  return Isa::kBaseline;
#endif
  auto supports = [](std::initializer_list<halide_target_feature_t> fs) {
    uint64_t words[kFeatureWords] = {};
    for (auto f : fs) words[f / 64] |= uint64_t(1) << (f % 64);
    return halide_default_can_use_target_features(kFeatureWords, words) != 0;
  };
  if (supports({halide_target_feature_avx512_skylake}) && cpu_has_zen4_level()) return Isa::kAvx512Zen4;
  if (supports({halide_target_feature_avx512_skylake})) return Isa::kAvx512;
  if (supports({halide_target_feature_avx, halide_target_feature_avx2, halide_target_feature_fma,
                halide_target_feature_f16c}))
    return Isa::kAvx2;
  if (supports({halide_target_feature_sse41})) return Isa::kSse41;
  return Isa::kBaseline;
}

Status set_max_isa(Isa isa) {
  Status s = init_runtime();
  if (!s.ok()) return s;
  if (g_dispatched.load() && static_cast<int>(isa) != g_max_isa.load())
    return Status(StatusCode::kUnsupported,
                  "set_max_isa must be called before the first convolution of the process");
  g_max_isa = static_cast<int>(isa);
  return Status::Ok();
}

Isa active_isa() {
  init_runtime();
  return static_cast<Isa>(std::min(static_cast<int>(cpu_isa()), g_max_isa.load()));
}

int dispatched_isa() {
  // The last target of each dispatcher (baseline x86-64) is taken without asking the hook.
  return g_dispatched.load() ? std::max(g_dispatched_isa.load(), 0) : -1;
}

void activation_bounds(const ConvParams &p, float *lo, float *hi) {
  const float inf = std::numeric_limits<float>::infinity();
  *lo = -inf, *hi = inf;  // kNone, and a value outside the enum (which validate() refuses)
  switch (p.activation) {
    case Activation::kNone: break;
    case Activation::kRelu: *lo = 0.0f, *hi = inf; break;
    case Activation::kRelu6: *lo = 0.0f, *hi = 6.0f; break;
    case Activation::kClamp: *lo = p.clamp_min, *hi = p.clamp_max; break;
  }
}

Plan::Plan(Plan &&other) noexcept { *this = std::move(other); }

Plan &Plan::operator=(Plan &&other) noexcept {
  if (this != &other) {
    problem_ = other.problem_;
    padding_ = other.padding_;
    kernel_ = other.kernel_;
    windowed_ = other.windowed_;
    std::copy(other.reach_, other.reach_ + 8, reach_);
    window_kernel_ = other.window_kernel_;
    reason_ = std::move(other.reason_);
    zero_bias_ = std::move(other.zero_bias_);
    other.kernel_ = -1;  // its zero bias is gone with the move: it must not run
  }
  return *this;
}

Status Plan::create(const Problem &problem, Plan *plan) {
  return create_with_kernel(problem, "", plan);
}

Status Plan::create_general(const Problem &problem, Plan *plan) {
  Status s = create_with_kernel(problem, "", plan);
  if (s.ok()) {
    plan->kernel_ = detail::select_kernel(problem, &plan->reason_, /*general_only=*/true);
    plan->fit_window();
  }
  return s;
}

namespace {

detail::Reach reach_from(const int64_t r[8]) {
  return {{r[0], r[1]}, {r[2], r[3]}, {r[4], r[5]}, {r[6], r[7]}};
}

void store_reach(const detail::Reach &w, int64_t r[8]) {
  const detail::Span spans[4] = {w.rows, w.cols, w.out_rows, w.out_cols};
  for (int i = 0; i < 4; i++) r[2 * i] = spans[i].first, r[2 * i + 1] = spans[i].count;
}

std::string describe_reach(const detail::Reach &w, const Problem &p) {
  auto range = [](detail::Span t) { return std::to_string(t.first) + ".." + std::to_string(t.end() - 1); };
  std::string s;
  if (w.rows.count < p.filter.kh || w.cols.count < p.filter.kw)
    s = "only filter rows " + range(w.rows) + " and columns " + range(w.cols) + " of the " +
        std::to_string(p.filter.kh) + "x" + std::to_string(p.filter.kw) +
        " filter ever read the input (the others read padding for every output)";
  if (w.out_rows.count < p.output.h || w.out_cols.count < p.output.w)
    s += std::string(s.empty() ? "only " : "; only ") + "output rows " + range(w.out_rows) + " and columns " +
         range(w.out_cols) + " read the input (the others read padding through every tap: the activation of "
         "the bias)";
  return s;
}

}  // namespace

// A general kernel's problem runs on the part of it that reads data: its cost then follows the
// taps and outputs that read the input, where the whole filter's dilated extent or the padding
// can dwarf the input (a 3x3 filter at dilation 24 on a 16x16 image is a 1x1 convolution).
// Per-workload kernels keep the whole problem: the build generated them for it.
void Plan::fit_window() {
  windowed_ = false, window_kernel_ = -1;
  if (detail::kernel_kind(detail::kernel(kernel_)) != KernelKind::kGeneral) return;
  const detail::Reach w = detail::reach_of(problem_, padding_);
  if (detail::is_whole(w, problem_)) return;
  store_reach(w, reach_);
  windowed_ = true;
  if (w.empty()) {
    reason_ = "no filter tap ever reads the input (every output reads only padding): the output is the "
              "activation of the bias, no kernel runs";
    return;
  }
  Problem q = problem_;
  q.filter.kh = w.rows.count, q.filter.kw = w.cols.count;
  std::string why;
  window_kernel_ = detail::select_kernel(q, &why, /*general_only=*/true);
  if (window_kernel_ < 0) {  // no general kernel for the window's size: the whole problem runs
    windowed_ = false;
    return;
  }
  reason_ = describe_reach(w, problem_) + ": runs the " + std::to_string(q.filter.kh) + "x" +
            std::to_string(q.filter.kw) + " window on " + std::to_string(w.out_rows.count) + "x" +
            std::to_string(w.out_cols.count) + " outputs; " + why;
}

Status Plan::create_with_kernel(const Problem &problem, const std::string &kernel_name, Plan *plan) {
  if (plan == nullptr) return Status(StatusCode::kInvalidArgument, "plan is null");
  Status s = init_runtime();
  if (!s.ok()) return s;
  s = validate(problem);
  if (!s.ok()) return s;
  Plan p;
  p.problem_ = problem;
  if (problem.bias_length == 0) p.zero_bias_.assign(problem.filter.c * problem.filter.m, 0.0f);
  resolve_padding(problem.input, problem.filter, problem.params, &p.padding_);
  if (kernel_name.empty()) {
    p.kernel_ = detail::select_kernel(problem, &p.reason_);
    if (p.kernel_ < 0)
      return Status(StatusCode::kUnsupported, "no generated kernel serves this problem");
    p.fit_window();
  } else {
    p.kernel_ = detail::find_kernel(kernel_name);
    if (p.kernel_ < 0)
      return Status(StatusCode::kInvalidArgument, "no kernel named '" + kernel_name + "' in this build");
    if (!detail::kernel_serves(detail::kernel(p.kernel_), problem))
      return Status(StatusCode::kUnsupported, "kernel '" + kernel_name + "' cannot serve this problem");
    p.reason_ = "requested by name";
  }
  *plan = std::move(p);
  return Status::Ok();
}

std::vector<KernelDesc> available_kernels() {
  std::vector<KernelDesc> v;
  for (int i = 0; i < detail::kernel_count(); i++) {
    const detail::KernelInfo &k = detail::kernel(i);
    v.push_back({k.name, k.family, k.kernel_w, k.kernel_h, k.multiplier, k.schedule, k.workload,
                 detail::kernel_kind(k)});
  }
  return v;
}

const char *Plan::kernel_name() const {
  if (kernel_ < 0) return "";
  if (windowed_) return window_kernel_ >= 0 ? detail::kernel(window_kernel_).name : "none";
  return detail::kernel(kernel_).name;
}

KernelKind Plan::kernel_kind() const {
  return kernel_ >= 0 ? detail::kernel_kind(detail::kernel(kernel_)) : KernelKind::kGeneral;
}

const char *kernel_kind_name(KernelKind kind) {
  switch (kind) {
    case KernelKind::kGeneral: return "general";
    case KernelKind::kFixedShape: return "fixed-shape";
    case KernelKind::kTuned: return "tuned";
  }
  return "?";
}

namespace {

// One call of kernel k on the views of `call` (kernel_calls.h); Halide's error code.
int run_call(const detail::KernelInfo &k, const Problem &p, const detail::KernelCall &call, float lo, float hi,
             const float *input, const float *filter, const float *bias, float *output) {
  auto view = [](Buf4 *b, const detail::TensorView &v, const float *data) {
    make_buffer(&b->buf, b->dim, 4, data + v.offset);
    for (int d = 0; d < 4; d++) b->dim[d] = {0, int32_t(v.extent[d]), int32_t(v.stride[d]), 0};
  };
  Buf4 bin, bout;
  view(&bin, call.input, input);
  view(&bout, call.output, output);
  // The filter [KH, KW, C, M] is (co, kx, ky) with co = c*M + m dense; a slice of its channels
  // or taps keeps the strides of the whole filter.
  const int64_t m = p.filter.m, cm = p.filter.c * m, first = call.channel_first * m;
  const int32_t count = int32_t(call.channel_count * m);
  halide_buffer_t bfil, bbias;
  halide_dimension_t dfil[3] = {{0, count, 1, 0},
                                {0, int32_t(call.kernel_w), int32_t(cm), 0},
                                {0, int32_t(call.kernel_h), int32_t(cm * p.filter.kw), 0}};
  make_buffer(&bfil, dfil, 3, filter + call.filter_offset + first);
  halide_dimension_t dbias[1] = {{0, count, 1, 0}};
  make_buffer(&bbias, dbias, 1, bias + first);
  return k.fn(&bin.buf, &bfil, &bbias, int32_t(m), int32_t(call.stride_x), int32_t(call.stride_y),
              int32_t(call.dilation_x), int32_t(call.dilation_y), int32_t(call.pad_left), int32_t(call.pad_top), lo,
              hi, &bout.buf);
}

// The calls [calls, calls + count) of kernel k, each on the problem's thread count.
Status run_calls(const detail::KernelInfo &k, const Problem &p, const detail::KernelCall *calls, size_t count,
                 const float *input, const float *filter, const float *bias, float *output,
                 const ParallelFor *parallel_for) {
  float lo, hi;
  activation_bounds(p.params, &lo, &hi);
  const int threads = p.num_threads > 0 ? p.num_threads : 0;
  g_dispatched = true;
  t_halide_error.clear();
  detail::HostPoolScope host(parallel_for ? parallel_for->run : nullptr, parallel_for ? parallel_for->pool : nullptr);
  for (size_t i = 0; i < count; i++) {
    const detail::KernelCall &call = calls[i];
    const int rc = run_with_threads(threads, [&] { return run_call(k, p, call, lo, hi, input, filter, bias, output); });
    if (rc != 0)
      return Status(StatusCode::kInternal, std::string("kernel ") + k.name + " failed (Halide error " +
                                               std::to_string(rc) + "): " + t_halide_error);
  }
  return Status::Ok();
}

// Every output outside the box of `w` (all of them where nothing reads the input): the
// activation of the bias.
void write_bias_outside(const Problem &p, const detail::Reach &w, const float *bias, float *output) {
  float lo, hi;
  activation_bounds(p.params, &lo, &hi);
  const detail::DenseStrides os = detail::output_strides(p);
  const int64_t cm = p.filter.c * p.filter.m;
  for (int64_t n = 0; n < p.output.n; n++)
    for (int64_t y = 0; y < p.output.h; y++)
      for (int64_t x = 0; x < p.output.w; x++) {
        if (w.in_box(y, x)) continue;
        float *o = output + n * os.n + y * os.h + x * os.w;
        for (int64_t co = 0; co < cm; co++) o[co] = apply_activation(bias[co], lo, hi);
      }
}

// The products with padding that the part of `w` leaves out: 0 * w, nothing unless w is an
// infinity or NaN, which makes the output NaN as in the naive loop and TensorFlow (an
// activation keeps NaN). A tap outside the window reads padding for every output; every tap
// does for an output outside the box.
void add_padding_products(const Problem &p, const detail::Reach &w, const float *filter, float *output) {
  const int64_t cm = p.filter.c * p.filter.m;
  std::vector<int64_t> outside_window, any_tap;  // channels with a non-finite tap
  for (int64_t co = 0; co < cm; co++) {
    bool outside = false, any = false;
    for (int64_t ky = 0; ky < p.filter.kh; ky++)
      for (int64_t kx = 0; kx < p.filter.kw; kx++) {
        if (std::isfinite(filter[(ky * p.filter.kw + kx) * cm + co])) continue;
        any = true;
        outside |= !w.in_window(ky, kx);
      }
    if (outside) outside_window.push_back(co);
    if (any) any_tap.push_back(co);
  }
  if (any_tap.empty()) return;
  const detail::DenseStrides os = detail::output_strides(p);
  for (int64_t n = 0; n < p.output.n; n++)
    for (int64_t y = 0; y < p.output.h; y++)
      for (int64_t x = 0; x < p.output.w; x++)
        for (int64_t co : w.in_box(y, x) ? outside_window : any_tap)
          output[n * os.n + y * os.h + x * os.w + co] = std::nanf("");
}

// The vector width of the general kernels' calls: that of the level the dispatchers pick (x86;
// NEON's 4 on aarch64, where active_isa() is the baseline).
int general_kernel_lanes() { return x86_level_lanes(isa_name(active_isa())); }

}  // namespace

Status Plan::run(const float *input, const float *filter, const float *bias, float *output) const {
  return run_on(input, filter, bias, output, nullptr);
}

Status Plan::run(const float *input, const float *filter, const float *bias, float *output,
                 const ParallelFor &parallel_for) const {
  if (parallel_for.run == nullptr) return Status(StatusCode::kInvalidArgument, "parallel_for.run is null");
  return run_on(input, filter, bias, output, &parallel_for);
}

Status Plan::run_window(const float *input, const float *filter, const float *bias, float *output,
                        const ParallelFor *parallel_for) const {
  const detail::Reach w = reach_from(reach_);
  if (window_kernel_ >= 0) {
    const detail::KernelInfo &k = detail::kernel(window_kernel_);
    const std::vector<detail::KernelCall> calls =
        detail::general_kernel_calls(problem_, padding_, w, k.family, general_kernel_lanes());
    Status s = run_calls(k, problem_, calls.data(), calls.size(), input, filter, bias, output, parallel_for);
    if (!s.ok()) return s;
  }
  write_bias_outside(problem_, w, bias, output);
  add_padding_products(problem_, w, filter, output);
  return Status::Ok();
}

Status Plan::run_on(const float *input, const float *filter, const float *bias, float *output,
                    const ParallelFor *parallel_for) const {
  if (!valid()) return Status(StatusCode::kInvalidArgument, "plan is not initialized (Plan::create failed or was not called)");
  const Problem &p = problem_;
  Status s = detail::check_pointers(p, input, filter, bias, output);
  if (!s.ok()) return s;
  if (bias == nullptr) bias = zero_bias_.data();  // made once by create(), not per run
  if (windowed_) return run_window(input, filter, bias, output, parallel_for);

  // A per-workload kernel takes the whole problem in one call; a general kernel's problem is cut
  // into calls that run its fastest branches.
  const detail::KernelInfo &k = detail::kernel(kernel_);
  if (detail::kernel_kind(k) != KernelKind::kGeneral) {
    const detail::KernelCall call = detail::whole_problem_call(p, padding_);
    return run_calls(k, p, &call, 1, input, filter, bias, output, parallel_for);
  }
  const std::vector<detail::KernelCall> calls =
      detail::general_kernel_calls(p, padding_, detail::whole_reach(p), k.family, general_kernel_lanes());
  return run_calls(k, p, calls.data(), calls.size(), input, filter, bias, output, parallel_for);
}

Status depthwise_conv2d(const Problem &problem, const float *input, const float *filter,
                        const float *bias, float *output) {
  Plan plan;
  Status s = Plan::create(problem, &plan);
  if (!s.ok()) return s;
  return plan.run(input, filter, bias, output);
}

}  // namespace dwconv
