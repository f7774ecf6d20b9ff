// dwconv: depthwise 2-D convolution with a channel multiplier, with TensorFlow's semantics
// (tf.nn.depthwise_conv2d), computed by Halide-generated kernels chosen for the shape and CPU.
//
// Layouts (TensorFlow's):
//   input  NHWC [N, H, W, C]
//   filter      [KH, KW, C, M]   (M = channel multiplier), dense
//   bias        [C*M] (optional)
//   output NHWC [N, OH, OW, C*M], output channel c*M + m = input channel c with filter[:, :, c, m]
// Input and output may be slices of larger tensors: their N, H and W strides are given in
// elements (0 = dense); the channel stride is always 1.
//
// Every entry point validates its arguments before touching memory and reports a problem as a
// Status naming it; nothing is written on error.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace dwconv {

enum class Padding {
  kSame,      // TensorFlow SAME: OH = ceil(H / stride); the odd padding pixel goes bottom/right
  kValid,     // no padding: OH = ceil((H - (KH-1)*dilation) / stride)
  kExplicit,  // ConvParams::pad_top/bottom/left/right
};

enum class Activation {
  kNone,
  kRelu,   // max(x, 0)
  kRelu6,  // min(max(x, 0), 6), TFLite's fused RELU6
  kClamp,  // min(max(x, clamp_min), clamp_max)
};

// Limits of every entry point, checked by validate(): the generated kernels take stride,
// dilation and M as 32-bit scalars of at most 2^20, and Halide's thread pool holds at most 256
// threads.
inline constexpr int64_t kMaxStrideDilationMultiplier = int64_t(1) << 20;
inline constexpr int kMaxThreads = 256;

struct ConvParams {
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  Padding padding = Padding::kSame;
  int pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;  // kExplicit only
  Activation activation = Activation::kNone;
  float clamp_min = -std::numeric_limits<float>::infinity();  // kClamp only
  float clamp_max = std::numeric_limits<float>::infinity();   // kClamp only
};

struct TensorShape {
  int64_t n = 0, h = 0, w = 0, c = 0;
  bool operator==(const TensorShape &o) const { return n == o.n && h == o.h && w == o.w && c == o.c; }
  bool operator!=(const TensorShape &o) const { return !(*this == o); }
};

struct FilterShape {
  int64_t kh = 0, kw = 0, c = 0, m = 0;
};

// Element strides of an NHWC tensor; 0 means dense (w = C, h = W*C, n = H*W*C).
struct TensorStrides {
  int64_t n = 0, h = 0, w = 0;
};

// One convolution problem, without its data.
struct Problem {
  TensorShape input;
  TensorStrides input_strides;
  FilterShape filter;
  int64_t bias_length = 0;  // 0: no bias; otherwise must be C*M
  ConvParams params;
  TensorShape output;  // must equal output_shape(); see compute_output_shape()
  TensorStrides output_strides;
  int num_threads = 0;  // 0: all cores; at most kMaxThreads
};

enum class StatusCode { kOk = 0, kInvalidArgument, kUnsupported, kInternal };

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string &message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Output shape for an input/filter/params triple (TensorFlow's rules), or an error naming the
// problem (non-positive sizes, stride/dilation < 1, negative padding, empty output, ...).
Status compute_output_shape(const TensorShape &input, const FilterShape &filter,
                            const ConvParams &params, TensorShape *output);

// The padding actually applied before the first row/column, after SAME/VALID resolution.
struct ResolvedPadding {
  int64_t top = 0, left = 0, bottom = 0, right = 0;
};
Status resolve_padding(const TensorShape &input, const FilterShape &filter, const ConvParams &params,
                       ResolvedPadding *padding);

// The workload key of a problem: every shape parameter that a tuned kernel is specific to,
// e.g. "n1_h56_w56_c128_m1_k3x3_s1x1_d1x1_p1.1.1.1". Tuning databases and the kernel table use it.
std::string workload_key(const Problem &problem);
// The problem a workload key describes (dense, explicit padding, no bias); false if malformed.
bool problem_from_workload_key(const std::string &key, Problem *problem);

// Checks a problem completely (shapes, strides, 32-bit indexing limits) without data.
Status validate(const Problem &problem);

// What a kernel is specialized for, fastest last.
enum class KernelKind {
  kGeneral,     // any shape of its kernel size and M class: sizes, stride and dilation at run time
  kFixedShape,  // generated for one workload (DWCONV_SHAPES), heuristic schedule at that shape
  kTuned,       // generated for one workload with parameters from the tuning database
};
const char *kernel_kind_name(KernelKind kind);  // "general", "fixed-shape", "tuned"

// A host program's own thread pool, for Plan::run to run the kernels' parallel loops on instead
// of dwconv's (as XNNPACK takes a pthreadpool). `run` must call task(task_context, i) exactly
// once for every i in [0, count), on any threads (the calling thread included) and in any
// order, and return when all calls have returned; `pool` is passed to it unchanged.
struct ParallelFor {
  void (*run)(void *pool, void (*task)(void *task_context, int64_t i), void *task_context, int64_t count) = nullptr;
  void *pool = nullptr;
};

// A prepared convolution: validated and bound to a kernel once, run many times.
class Plan {
 public:
  Plan() = default;
  Plan(const Plan &) = default;
  Plan &operator=(const Plan &) = default;
  // A moved-from plan is not valid(): its run() returns an error.
  Plan(Plan &&other) noexcept;
  Plan &operator=(Plan &&other) noexcept;
  // Validates `problem` and picks the kernel for it on this CPU.
  static Status create(const Problem &problem, Plan *plan);
  // Same, but never picks a tuned kernel: the heuristic default general kernel.
  static Status create_general(const Problem &problem, Plan *plan);
  // Same, with a named kernel (see available_kernels()); fails if that kernel cannot serve it.
  static Status create_with_kernel(const Problem &problem, const std::string &kernel_name, Plan *plan);

  // Runs on the given data (shapes and strides as in the problem). bias may be null only when
  // the problem has no bias. Thread-safe for concurrent runs of one plan.
  Status run(const float *input, const float *filter, const float *bias, float *output) const;
  // Same, with the parallel loops on the host's thread pool (num_threads then does not apply;
  // a loop nested inside one of its tasks runs on dwconv's pool).
  Status run(const float *input, const float *filter, const float *bias, float *output,
             const ParallelFor &parallel_for) const;

  bool valid() const { return kernel_ >= 0; }
  const Problem &problem() const { return problem_; }
  // The chosen kernel's name (e.g. "dwconv_f32_k3x3_m1__x86") and why it was chosen; "none"
  // where no filter tap ever reads the input (the output is the activation of the bias).
  const char *kernel_name() const;
  // What the chosen kernel is specialized for: a general kernel runs shapes known only at run
  // time, several times slower than a fixed-shape one on many shapes (selection_reason() says
  // how to get one).
  KernelKind kernel_kind() const;
  const std::string &selection_reason() const { return reason_; }

 private:
  Status run_on(const float *input, const float *filter, const float *bias, float *output,
                const ParallelFor *parallel_for) const;

  Status run_window(const float *input, const float *filter, const float *bias, float *output,
                    const ParallelFor *parallel_for) const;
  void fit_window();

  Problem problem_;
  ResolvedPadding padding_;
  int kernel_ = -1;
  // Where a general kernel serves the problem and the part of it that reads data is smaller
  // than the problem (a window of the filter, a box of the output: kernel_calls.h, Reach): that
  // part as (first, count) of filter rows, filter columns, output rows, output columns, and the
  // kernel that runs it (-1 where nothing reads the input).
  bool windowed_ = false;
  int64_t reach_[8] = {};
  int window_kernel_ = -1;
  std::string reason_;
  std::vector<float> zero_bias_;  // the kernels' bias input when the problem has none
};

// The generated kernels this library holds.
struct KernelDesc {
  std::string name;    // e.g. "dwconv_f32_k3x3_m1__x86"
  std::string family;  // schedule family, e.g. "x86"
  int kernel_w = 0, kernel_h = 0;  // 0: any size
  int multiplier = 0;              // serves only this M; 0: any M
  std::string schedule;            // schedule parameters it was generated with (x86 tuned
                                   // kernels: per ISA level, "avx2@k=v,.../avx512_zen4@...")
  std::string workload;            // generated for this workload_key() only; "" = general
  KernelKind kind = KernelKind::kGeneral;
};
std::vector<KernelDesc> available_kernels();

// One call: create a plan and run it.
Status depthwise_conv2d(const Problem &problem, const float *input, const float *filter,
                        const float *bias, float *output);

// The reference: the plain nested loops of the definition, accumulating in double.
// Same validation and layout as depthwise_conv2d. Used by the tests, the benchmarks and the
// tuner to check every kernel.
Status reference_depthwise_conv2d(const Problem &problem, const float *input, const float *filter,
                                  const float *bias, float *output);

// Checks `output` against the reference for the same data, element by element, with the
// tolerance |out - ref| <= 1e-5 * (sum |x*w| + |bias|) + 1e-6 (NaN and +-Inf must match exactly).
// Returns Ok, or an error naming the first mismatching coordinate (n, y, x, co).
Status check_against_reference(const Problem &problem, const float *input, const float *filter,
                               const float *bias, const float *output);

// The same check in two steps: the reference output and each element's tolerance computed once
// (the naive loop can take seconds), then any number of outputs compared with it. The tuner
// checks every candidate of a workload against one of these.
class ReferenceCheck {
 public:
  static Status create(const Problem &problem, const float *input, const float *filter,
                       const float *bias, ReferenceCheck *out);
  // `output` laid out as the problem says (its output strides). An error on a check that
  // create() did not fill.
  Status check(const float *output) const;

 private:
  Problem problem_;
  std::vector<float> ref_, tolerance_;  // dense
  bool created_ = false;
};

// The activation exactly as the kernels apply it: comparisons that let NaN through.
inline float apply_activation(float v, float lo, float hi) {
  v = v < lo ? lo : v;
  return hi < v ? hi : v;
}
// The [lo, hi] clamp an activation stands for.
void activation_bounds(const ConvParams &params, float *lo, float *hi);

// x86 instruction-set levels that the kernels are compiled for. kAvx512Zen4: AVX-512 with the
// extensions of AMD Zen 4 / Intel Sapphire Rapids (VNNI, BF16, ...), code tuned for Zen 4.
enum class Isa { kBaseline = 0, kSse41, kAvx2, kAvx512, kAvx512Zen4 };
const char *isa_name(Isa isa);
// The level isa_name() spells `name`; an error naming the levels if none does.
Status isa_from_name(const char *name, Isa *isa);
// Highest level this CPU supports.
Isa cpu_isa();
// Limit the kernels to `isa` (for testing and for reproducing results across machines). Must be
// called before the first convolution of the process: the generated dispatchers decide once.
// The environment variable DWCONV_MAX_ISA (baseline, sse41, avx2, avx512, avx512_zen4) does the same.
Status set_max_isa(Isa isa);
// The level the kernels run at: min(cpu_isa(), the limit).
Isa active_isa();
// The highest level a kernel dispatcher of this process has actually chosen, as an int
// (static_cast<Isa>), or -1 before the first convolution. Lets tests prove the forcing works.
int dispatched_isa();

}  // namespace dwconv
