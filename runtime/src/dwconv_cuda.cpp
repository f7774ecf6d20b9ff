// dwconv_cuda: the CUDA kernels' table, the driver probe and the two entry points (host and
// device pointers). The kernels share libdwconv's Halide runtime (with its CUDA module), so both
// libraries link into one program.
#include "dwconv/dwconv_cuda.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "HalideRuntime.h"
#include "HalideRuntimeCuda.h"
#include "dwconv_cuda_kernel_table.inc"
#include "problem_check.h"

namespace dwconv {
namespace cuda {

namespace {

using KernelFn = int (*)(halide_buffer_t *input, halide_buffer_t *filter, halide_buffer_t *bias,
                         int32_t multiplier, int32_t stride_x, int32_t stride_y,
                         int32_t dilation_x, int32_t dilation_y, int32_t pad_left,
                         int32_t pad_top, float out_min, float out_max, halide_buffer_t *output);

struct Kernel {
  const char *name;
  int capability;
  int kernel_w, kernel_h, multiplier;
  bool staged;
  KernelFn fn;
};

#define DWCONV_CUDA_KERNEL(name, cap, kw, kh, m, staged) {#name, cap, kw, kh, m, staged != 0, name},
const Kernel kKernels[] = {DWCONV_CUDA_KERNEL_LIST};
#undef DWCONV_CUDA_KERNEL
constexpr int kKernelCount = sizeof(kKernels) / sizeof(kKernels[0]);

// ----- the CUDA driver, loaded by hand ----------------------------------------------------------
// Halide's CUDA runtime would dlopen "libcuda.so", which machines with only the driver (no
// toolkit) may lack; loading libcuda.so.1 globally first makes its symbols visible to it too.

using CUresult = int;
using CUdevice = int;
using CUcontext = void *;
constexpr int kAttrMajor = 75, kAttrMinor = 76;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_*
constexpr CUresult kErrorNoDevice = 100, kErrorStubLibrary = 34;

struct Driver {
  void *lib = nullptr;
  CUresult (*cuInit)(unsigned) = nullptr;
  CUresult (*cuDriverGetVersion)(int *) = nullptr;
  CUresult (*cuDeviceGetCount)(int *) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice *, int) = nullptr;
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice) = nullptr;
  CUresult (*cuDeviceGetName)(char *, int, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice) = nullptr;
  CUresult (*cuCtxGetCurrent)(CUcontext *) = nullptr;
  CUresult (*cuCtxGetDevice)(CUdevice *) = nullptr;
  CUresult (*cuGetErrorString)(CUresult, const char **) = nullptr;
  Status status;
  DeviceInfo info;
  CUcontext primary = nullptr;
  int capability = 0;  // major * 10 + minor
};

std::string error_string(const Driver &d, CUresult r) {
  const char *s = nullptr;
  if (d.cuGetErrorString && d.cuGetErrorString(r, &s) == 0 && s) return std::string(s) + " (" + std::to_string(r) + ")";
  return "CUDA error " + std::to_string(r);
}

Status unsupported(const std::string &msg) { return Status(StatusCode::kUnsupported, msg); }

template <class F>
bool load(void *lib, const char *name, F *f) {
  *f = reinterpret_cast<F>(dlsym(lib, name));
  return *f != nullptr;
}

// DWCONV_CUDA_DRIVER overrides the library (tests point it at the toolkit's stub libcuda.so).
Driver probe() {
  Driver d;
  std::vector<std::string> names = {"libcuda.so.1", "libcuda.so"};
  if (const char *path = std::getenv("DWCONV_CUDA_DRIVER")) names = {path};
  std::string tried;
  for (const std::string &name : names) {
    d.lib = dlopen(name.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (d.lib) break;
    const char *e = dlerror();
    tried += (tried.empty() ? "" : "; ") + (e ? std::string(e) : name);
  }
  if (!d.lib) {
    d.status = unsupported("no CUDA driver (" + tried + ")");
    return d;
  }
  bool ok = load(d.lib, "cuInit", &d.cuInit) && load(d.lib, "cuDriverGetVersion", &d.cuDriverGetVersion) &&
            load(d.lib, "cuDeviceGetCount", &d.cuDeviceGetCount) && load(d.lib, "cuDeviceGet", &d.cuDeviceGet) &&
            load(d.lib, "cuDeviceGetAttribute", &d.cuDeviceGetAttribute) &&
            load(d.lib, "cuDeviceGetName", &d.cuDeviceGetName) &&
            load(d.lib, "cuDevicePrimaryCtxRetain", &d.cuDevicePrimaryCtxRetain) &&
            load(d.lib, "cuCtxGetCurrent", &d.cuCtxGetCurrent) && load(d.lib, "cuCtxGetDevice", &d.cuCtxGetDevice);
  load(d.lib, "cuGetErrorString", &d.cuGetErrorString);
  if (!ok) {
    d.status = unsupported("no CUDA driver (the loaded libcuda lacks the driver API: " + std::string(dlerror() ? dlerror() : "?") + ")");
    return d;
  }
  CUresult r = d.cuInit(0);
  if (r == kErrorStubLibrary) {
    d.status = unsupported("no CUDA driver (the loaded libcuda is the toolkit's stub: " + error_string(d, r) + ")");
    return d;
  }
  if (r == kErrorNoDevice) {
    d.status = unsupported("no CUDA device (cuInit: " + error_string(d, r) + ")");
    return d;
  }
  if (r != 0) {
    d.status = unsupported("no CUDA device (cuInit failed: " + error_string(d, r) + ")");
    return d;
  }
  d.cuDriverGetVersion(&d.info.driver_version);
  int count = 0;
  r = d.cuDeviceGetCount(&count);
  if (r != 0 || count <= 0) {
    d.status = unsupported("no CUDA device (" + (r ? error_string(d, r) : std::string("0 devices")) + ")");
    return d;
  }
  // The calling thread's context decides, else DWCONV_CUDA_DEVICE, else device 0.
  CUcontext current = nullptr;
  CUdevice dev = 0;
  if (d.cuCtxGetCurrent(&current) == 0 && current && d.cuCtxGetDevice(&dev) == 0) {
    d.info.ordinal = dev;
  } else {
    const char *env = std::getenv("DWCONV_CUDA_DEVICE");
    int ordinal = env ? std::atoi(env) : 0;
    if (ordinal < 0 || ordinal >= count) {
      d.status = unsupported("no CUDA device " + std::to_string(ordinal) + " (DWCONV_CUDA_DEVICE; " +
                             std::to_string(count) + " devices)");
      return d;
    }
    if ((r = d.cuDeviceGet(&dev, ordinal)) != 0) {
      d.status = unsupported("no CUDA device (cuDeviceGet: " + error_string(d, r) + ")");
      return d;
    }
    d.info.ordinal = ordinal;
  }
  char name[256] = {};
  d.cuDeviceGetName(name, sizeof(name) - 1, dev);
  d.info.name = name;
  d.cuDeviceGetAttribute(&d.info.major, kAttrMajor, dev);
  d.cuDeviceGetAttribute(&d.info.minor, kAttrMinor, dev);
  d.capability = d.info.major * 10 + d.info.minor;
  int oldest = 1000;
  for (const Kernel &k : kKernels) oldest = std::min(oldest, k.capability);
  if (d.capability < oldest) {
    d.status = unsupported("CUDA device " + d.info.name + " has compute capability " + std::to_string(d.info.major) +
                           "." + std::to_string(d.info.minor) + "; the kernels need >= " +
                           std::to_string(oldest / 10) + "." + std::to_string(oldest % 10));
    return d;
  }
  if ((r = d.cuDevicePrimaryCtxRetain(&d.primary, dev)) != 0) {
    d.status = unsupported("CUDA device " + d.info.name + ": no context (" + error_string(d, r) + ")");
    return d;
  }
  return d;
}

Driver &driver() {
  static Driver d = probe();
  return d;
}

// Halide's CUDA runtime runs in the context this returns: the caller's current one (so that its
// device pointers are valid), else the device's primary context (the CUDA runtime API's).
int acquire_context(void *, void **ctx, bool create) {
  Driver &d = driver();
  CUcontext current = nullptr;
  if (d.cuCtxGetCurrent && d.cuCtxGetCurrent(&current) == 0 && current) {
    *ctx = current;
    return 0;
  }
  *ctx = create ? d.primary : nullptr;
  return (create && d.primary == nullptr) ? -1 : 0;
}
int release_context(void *) { return 0; }

// ----- Halide runtime hooks -----------------------------------------------------------------------

thread_local std::string t_error;
halide_error_handler_t g_previous_handler = nullptr;

// Chained: libdwconv's own handler (installed first, see init()) still sees every message.
void capture_error(void *user_context, const char *msg) {
  t_error += msg;
  if (g_previous_handler) g_previous_handler(user_context, msg);
}

Status init() {
  static Status status = [] {
    (void)active_isa();  // libdwconv's runtime hooks first, so that ours chain to them
    g_previous_handler = halide_set_error_handler(capture_error);
    Driver &d = driver();
    if (d.status.ok()) {
      halide_set_cuda_acquire_context(acquire_context);
      halide_set_cuda_release_context(release_context);
      halide_reuse_device_allocations(nullptr, true);
    }
    return d.status;
  }();
  return status;
}

// ----- selection ------------------------------------------------------------------------------------

bool serves(const Kernel &k, const Problem &p) {
  if (k.kernel_w != 0 && (k.kernel_w != p.filter.kw || k.kernel_h != p.filter.kh)) return false;
  if (k.multiplier != 0 && k.multiplier != p.filter.m) return false;
  if (k.staged) {
    const ConvParams &c = p.params;
    if (c.stride_h > 2 || c.stride_w > 2 || c.dilation_h != 1 || c.dilation_w != 1 || p.filter.kw > 7 ||
        p.filter.kh > 7)
      return false;
  }
  return true;
}

// The capability the kernels are chosen for: the device's when there is one, else the newest.
int target_capability() {
  const Driver &d = driver();
  if (d.status.ok()) return d.capability;
  int newest = 0;
  for (const Kernel &k : kKernels) newest = std::max(newest, k.capability);
  return newest;
}

int select(const Problem &p, std::string *reason) {
  const int cap = target_capability();
  int best = -1, best_fit = -1;
  for (int i = 0; i < kKernelCount; i++) {
    const Kernel &k = kKernels[i];
    if (!serves(k, p) || k.capability > cap) continue;
    const int fit = ((k.kernel_w != 0 ? 2 : 0) + (k.multiplier != 0 ? 1 : 0) + (k.staged ? 4 : 0)) * 1000 + k.capability;
    if (fit > best_fit) best = i, best_fit = fit;
  }
  if (best >= 0 && reason) {
    const Kernel &k = kKernels[best];
    *reason = std::string(k.kernel_w ? "fixed " + std::to_string(k.kernel_h) + "x" + std::to_string(k.kernel_w) + " kernel"
                                     : "any kernel size") +
              (k.multiplier ? ", M == " + std::to_string(k.multiplier) : std::string(", any M")) +
              (k.staged ? ", input tile in shared memory" : ", input from global memory") +
              ", PTX for compute capability " + std::to_string(k.capability / 10) + "." +
              std::to_string(k.capability % 10);
  }
  return best;
}

// ----- buffers ----------------------------------------------------------------------------------------

struct Buffers {
  halide_buffer_t in{}, filter{}, bias{}, out{};
  halide_dimension_t din[4]{}, dfilter[3]{}, dbias[1]{}, dout[4]{};
  std::vector<float> zeros;  // the bias of a problem without one
};

void describe(const Problem &p, Buffers *b) {
  const detail::DenseStrides in = detail::input_strides(p), out = detail::output_strides(p);
  const int32_t cm = int32_t(p.filter.c * p.filter.m);
  auto init = [](halide_buffer_t *buf, halide_dimension_t *dims, int rank) {
    buf->type = halide_type_t(halide_type_float, 32, 1);
    buf->dimensions = rank;
    buf->dim = dims;
  };
  init(&b->in, b->din, 4);
  b->din[0] = {0, int32_t(p.input.c), 1, 0};
  b->din[1] = {0, int32_t(p.input.w), int32_t(in.w), 0};
  b->din[2] = {0, int32_t(p.input.h), int32_t(in.h), 0};
  b->din[3] = {0, int32_t(p.input.n), int32_t(in.n), 0};
  init(&b->out, b->dout, 4);
  b->dout[0] = {0, cm, 1, 0};
  b->dout[1] = {0, int32_t(p.output.w), int32_t(out.w), 0};
  b->dout[2] = {0, int32_t(p.output.h), int32_t(out.h), 0};
  b->dout[3] = {0, int32_t(p.output.n), int32_t(out.n), 0};
  init(&b->filter, b->dfilter, 3);
  b->dfilter[0] = {0, cm, 1, 0};
  b->dfilter[1] = {0, int32_t(p.filter.kw), cm, 0};
  b->dfilter[2] = {0, int32_t(p.filter.kh), int32_t(cm * p.filter.kw), 0};
  init(&b->bias, b->dbias, 1);
  b->dbias[0] = {0, cm, 1, 0};
}

void set_host(halide_buffer_t *b, const float *data, bool dirty) {
  b->host = reinterpret_cast<uint8_t *>(const_cast<float *>(data));
  if (dirty) b->flags |= halide_buffer_flag_host_dirty;
}

}  // namespace

// ----- public API -----------------------------------------------------------------------------------

Status available() { return init(); }

Status device_info(DeviceInfo *info) {
  if (info == nullptr) return Status(StatusCode::kInvalidArgument, "info is null");
  Status s = init();
  if (s.ok()) *info = driver().info;
  return s;
}

std::vector<KernelDesc> available_kernels() {
  std::vector<KernelDesc> v;
  for (const Kernel &k : kKernels) v.push_back({k.name, k.capability, k.kernel_w, k.kernel_h, k.multiplier, k.staged});
  return v;
}

Status Plan::create(const Problem &problem, Plan *plan) { return create_with_kernel(problem, "", plan); }

Status Plan::create_with_kernel(const Problem &problem, const std::string &kernel_name, Plan *plan) {
  if (plan == nullptr) return Status(StatusCode::kInvalidArgument, "plan is null");
  init();  // a missing driver is reported by run(): plans can be made and inspected anywhere
  Status s = validate(problem);
  if (!s.ok()) return s;
  Plan p;
  p.problem_ = problem;
  resolve_padding(problem.input, problem.filter, problem.params, &p.padding_);
  if (kernel_name.empty()) {
    p.kernel_ = select(problem, &p.reason_);
    if (p.kernel_ < 0) return Status(StatusCode::kUnsupported, "no CUDA kernel serves this problem");
  } else {
    for (int i = 0; i < kKernelCount; i++)
      if (kernel_name == kKernels[i].name) p.kernel_ = i;
    if (p.kernel_ < 0)
      return Status(StatusCode::kInvalidArgument, "no CUDA kernel named '" + kernel_name + "' in this build");
    if (!serves(kKernels[p.kernel_], problem))
      return Status(StatusCode::kUnsupported, "CUDA kernel '" + kernel_name + "' cannot serve this problem");
    p.reason_ = "requested by name";
  }
  *plan = std::move(p);
  return Status::Ok();
}

const char *Plan::kernel_name() const { return kernel_ >= 0 ? kKernels[kernel_].name : ""; }

Status Plan::run_buffers(halide_buffer_t *in, halide_buffer_t *filter, halide_buffer_t *bias,
                         halide_buffer_t *out) const {
  const Kernel &k = kKernels[kernel_];
  const Driver &d = driver();
  if (k.capability > d.capability)
    return Status(StatusCode::kUnsupported, std::string("CUDA kernel ") + k.name + " needs compute capability " +
                                                std::to_string(k.capability / 10) + "." + std::to_string(k.capability % 10) +
                                                ", the device (" + d.info.name + ") has " + std::to_string(d.info.major) +
                                                "." + std::to_string(d.info.minor));
  const Problem &p = problem_;
  float lo, hi;
  activation_bounds(p.params, &lo, &hi);
  t_error.clear();
  int rc = k.fn(in, filter, bias, int32_t(p.filter.m), p.params.stride_w, p.params.stride_h, p.params.dilation_w,
                p.params.dilation_h, int32_t(padding_.left), int32_t(padding_.top), lo, hi, out);
  if (rc == 0) rc = halide_device_sync(nullptr, out);
  if (rc != 0)
    return Status(StatusCode::kInternal, std::string("CUDA kernel ") + k.name + " failed (Halide error " +
                                             std::to_string(rc) + "): " + t_error);
  return Status::Ok();
}

Status Plan::run(const float *input, const float *filter, const float *bias, float *output) const {
  if (!valid()) return Status(StatusCode::kInvalidArgument, "plan is not initialized (Plan::create failed or was not called)");
  Status s = detail::check_pointers(problem_, input, filter, bias, output);
  if (!s.ok()) return s;
  s = init();
  if (!s.ok()) return s;
  Buffers b;
  describe(problem_, &b);
  if (bias == nullptr) {
    b.zeros.assign(problem_.filter.c * problem_.filter.m, 0.0f);
    bias = b.zeros.data();
  }
  set_host(&b.in, input, true);
  set_host(&b.filter, filter, true);
  set_host(&b.bias, bias, true);
  set_host(&b.out, output, false);
  s = run_buffers(&b.in, &b.filter, &b.bias, &b.out);
  int rc = 0;
  if (s.ok() && (rc = halide_copy_to_host(nullptr, &b.out)) != 0)
    s = Status(StatusCode::kInternal, "copying the output from the GPU failed (Halide error " + std::to_string(rc) + "): " + t_error);
  for (halide_buffer_t *buf : {&b.in, &b.filter, &b.bias, &b.out}) halide_device_free(nullptr, buf);
  return s;
}

Status Plan::run_device(uint64_t input, uint64_t filter, uint64_t bias, uint64_t output) const {
  if (!valid()) return Status(StatusCode::kInvalidArgument, "plan is not initialized (Plan::create failed or was not called)");
  // Same checks as for host pointers (null, bias presence, overlap): they only compare addresses.
  auto ptr = [](uint64_t v) { return reinterpret_cast<const float *>(static_cast<uintptr_t>(v)); };
  Status s = detail::check_pointers(problem_, ptr(input), ptr(filter), ptr(bias),
                                    reinterpret_cast<float *>(static_cast<uintptr_t>(output)));
  if (!s.ok()) return s;
  s = init();
  if (!s.ok()) return s;
  Buffers b;
  describe(problem_, &b);
  std::vector<halide_buffer_t *> wrapped;
  auto wrap = [&](halide_buffer_t *buf, uint64_t p) {
    int rc = halide_cuda_wrap_device_ptr(nullptr, buf, p);
    if (rc == 0) wrapped.push_back(buf);
    return rc;
  };
  int rc = wrap(&b.in, input);
  if (rc == 0) rc = wrap(&b.filter, filter);
  if (rc == 0) rc = wrap(&b.out, output);
  if (rc == 0 && bias != 0) rc = wrap(&b.bias, bias);
  if (rc == 0 && bias == 0) {
    b.zeros.assign(problem_.filter.c * problem_.filter.m, 0.0f);
    set_host(&b.bias, b.zeros.data(), true);
  }
  if (rc != 0) {
    s = Status(StatusCode::kInvalidArgument, "wrapping the device pointers failed (Halide error " + std::to_string(rc) + "): " + t_error);
  } else {
    s = run_buffers(&b.in, &b.filter, &b.bias, &b.out);
  }
  for (halide_buffer_t *buf : wrapped) halide_cuda_detach_device_ptr(nullptr, buf);
  if (bias == 0) halide_device_free(nullptr, &b.bias);
  return s;
}

Status depthwise_conv2d(const Problem &problem, const float *input, const float *filter, const float *bias,
                        float *output) {
  Plan plan;
  Status s = Plan::create(problem, &plan);
  if (!s.ok()) return s;
  return plan.run(input, filter, bias, output);
}

}  // namespace cuda
}  // namespace dwconv
