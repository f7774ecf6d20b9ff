// dwconv._dwconv: the library's Plan behind depthwise_conv2d() of the Python package
// (python/dwconv/__init__.py normalizes TensorFlow's argument conventions and calls conv()).
// Tensors arrive through DLPack or the buffer protocol (NumPy arrays, PyTorch CPU tensors)
// without a copy; plans are cached per problem so that a repeated call costs one lookup.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dwconv/dwconv.h"
#include "dwconv/dwconv_c.h"

namespace nb = nanobind;

namespace {

using AnyArray = nb::ndarray<nb::ro>;

// A status as the Python exception a caller expects: bad arguments are ValueError (the
// library's message), a failing kernel is RuntimeError.
void raise_if_error(const dwconv::Status &s) {
  if (s.ok()) return;
  if (s.code() == dwconv::StatusCode::kInternal) throw std::runtime_error(s.message());
  throw nb::value_error(s.message().c_str());
}

// A float32 CPU tensor of `rank` dimensions seen as the library sees it: data, shape and element
// strides. A layout the library cannot address (channels not adjacent, negative strides) is
// copied densely into `dense`.
struct TensorView {
  const float *external = nullptr;  // the caller's memory, unless `dense` holds a copy
  std::vector<float> dense;
  int64_t shape[4] = {1, 1, 1, 1};
  int64_t strides[4] = {0, 0, 0, 0};
  const float *data() const { return dense.empty() ? external : dense.data(); }
};

void check_float32_cpu(const AnyArray &a, const char *what, size_t rank) {
  if (a.device_type() != nb::device::cpu::value)
    throw nb::value_error((std::string(what) + " is not in CPU memory (dwconv computes on the CPU; move it with .cpu())").c_str());
  if (a.dtype() != nb::dtype<float>())
    throw nb::type_error((std::string(what) + " must be float32, got a tensor of " + std::to_string(a.dtype().bits) +
                          "-bit elements of type code " + std::to_string(a.dtype().code) +
                          " (convert it, e.g. x.astype(numpy.float32))")
                             .c_str());
  if (a.ndim() != rank)
    throw nb::value_error((std::string(what) + " must have " + std::to_string(rank) + " dimensions, got " +
                           std::to_string(a.ndim()))
                              .c_str());
}

// `dense_only`: the library takes this tensor only dense (the filter, the bias).
TensorView view_of(const AnyArray &a, const char *what, size_t rank, bool dense_only) {
  check_float32_cpu(a, what, rank);
  TensorView v;
  size_t count = 1;
  for (size_t i = 0; i < rank; i++) v.shape[i] = static_cast<int64_t>(a.shape(i)), count *= a.shape(i);
  int64_t dense_stride[4];
  for (int64_t i = static_cast<int64_t>(rank) - 1, s = 1; i >= 0; s *= v.shape[i], i--) dense_stride[i] = s;
  bool addressable = true;
  for (size_t i = 0; i < rank; i++) {
    v.strides[i] = a.stride_ptr() ? a.stride(i) : dense_stride[i];
    if (v.shape[i] == 1) v.strides[i] = dense_stride[i];  // any stride addresses one element
    const bool innermost = i + 1 == rank;
    if (v.strides[i] < 0 || (innermost && v.strides[i] != 1) || (dense_only && v.strides[i] != dense_stride[i]))
      addressable = false;
  }
  v.external = static_cast<const float *>(a.data());
  if (addressable || count == 0) return v;
  v.dense.resize(count);
  int64_t index[4] = {0, 0, 0, 0};
  for (size_t k = 0; k < count; k++) {
    int64_t offset = 0;
    for (size_t i = 0; i < rank; i++) offset += index[i] * v.strides[i];
    v.dense[k] = v.external[offset];
    for (size_t i = rank; i-- > 0;) {
      if (++index[i] < v.shape[i]) break;
      index[i] = 0;
    }
  }
  std::memcpy(v.strides, dense_stride, sizeof(int64_t) * rank);
  return v;
}

// The elements [first, last] a view spans in memory.
std::pair<const float *, const float *> span_of(const float *data, const int64_t *shape, const int64_t *strides) {
  int64_t last = 0;
  for (int i = 0; i < 4; i++) last += (shape[i] - 1) * strides[i];
  return {data, data + last};
}

// The NHWC element strides of a 4-D view, 0 where dense (the library's convention).
dwconv::TensorStrides nhwc_strides(const TensorView &v) {
  return {v.strides[0], v.strides[1], v.strides[2]};
}

// Everything but the data of a call, as the Python layer passes it: a tuple (stride_h, stride_w,
// dilation_h, dilation_w, padding, pad_top, pad_bottom, pad_left, pad_right, activation,
// clamp_min, clamp_max, num_threads) with padding 0 SAME, 1 VALID, 2 explicit and activation
// 0 none, 1 relu, 2 relu6, 3 clamp (the library's enum orders).
struct CallArgs {
  int stride_h, stride_w, dilation_h, dilation_w;
  int padding;
  int pad_top, pad_bottom, pad_left, pad_right;
  int activation;
  float clamp_min, clamp_max;
  int num_threads;
};

CallArgs call_args(const nb::tuple &t) {
  if (nb::len(t) != 13) throw nb::value_error("internal: the parameter tuple has 13 fields");
  auto i = [&](size_t k) { return nb::cast<int>(t[k]); };
  auto f = [&](size_t k) { return nb::cast<float>(t[k]); };
  return {i(0), i(1), i(2), i(3), i(4), i(5), i(6), i(7), i(8), i(9), f(10), f(11), i(12)};
}

dwconv::ConvParams params_of(const CallArgs &a) {
  dwconv::ConvParams p;
  p.stride_h = a.stride_h, p.stride_w = a.stride_w;
  p.dilation_h = a.dilation_h, p.dilation_w = a.dilation_w;
  p.padding = static_cast<dwconv::Padding>(a.padding);
  p.pad_top = a.pad_top, p.pad_bottom = a.pad_bottom, p.pad_left = a.pad_left, p.pad_right = a.pad_right;
  p.activation = static_cast<dwconv::Activation>(a.activation);
  if (a.activation == 3) p.clamp_min = a.clamp_min, p.clamp_max = a.clamp_max;
  return p;
}

// Plans of recent problems, most recent first. Two problems are the same plan when every field
// is equal; comparing the raw fields keeps a hit at a few dozen integer comparisons.
bool same_problem(const dwconv::Problem &a, const dwconv::Problem &b) {
  const auto &pa = a.params, &pb = b.params;
  return a.input == b.input && a.output == b.output && a.filter.kh == b.filter.kh && a.filter.kw == b.filter.kw &&
         a.filter.c == b.filter.c && a.filter.m == b.filter.m && a.bias_length == b.bias_length &&
         a.num_threads == b.num_threads && a.input_strides.n == b.input_strides.n &&
         a.input_strides.h == b.input_strides.h && a.input_strides.w == b.input_strides.w &&
         a.output_strides.n == b.output_strides.n && a.output_strides.h == b.output_strides.h &&
         a.output_strides.w == b.output_strides.w && pa.stride_h == pb.stride_h && pa.stride_w == pb.stride_w &&
         pa.dilation_h == pb.dilation_h && pa.dilation_w == pb.dilation_w && pa.padding == pb.padding &&
         pa.pad_top == pb.pad_top && pa.pad_bottom == pb.pad_bottom && pa.pad_left == pb.pad_left &&
         pa.pad_right == pb.pad_right && pa.activation == pb.activation &&
         std::memcmp(&pa.clamp_min, &pb.clamp_min, sizeof(float)) == 0 &&
         std::memcmp(&pa.clamp_max, &pb.clamp_max, sizeof(float)) == 0;
}

class PlanCache {
 public:
  static constexpr size_t kCapacity = 32;

  std::shared_ptr<const dwconv::Plan> get(const dwconv::Problem &problem) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (size_t i = 0; i < entries_.size(); i++) {
        if (!same_problem(entries_[i]->problem(), problem)) continue;
        std::shared_ptr<const dwconv::Plan> hit = entries_[i];
        if (i > 0) entries_.erase(entries_.begin() + i), entries_.insert(entries_.begin(), hit);
        return hit;
      }
    }
    auto plan = std::make_shared<dwconv::Plan>();
    raise_if_error(dwconv::Plan::create(problem, plan.get()));
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.insert(entries_.begin(), plan);
    if (entries_.size() > kCapacity) entries_.pop_back();
    return plan;
  }

 private:
  std::mutex mutex_;
  std::vector<std::shared_ptr<const dwconv::Plan>> entries_;
};

PlanCache &plan_cache() {
  static PlanCache cache;
  return cache;
}

// A new C-contiguous float32 NumPy array of `shape`, 64-byte aligned (the kernels' stores are
// full vectors; an unaligned output costs up to 2x on AVX-512).
nb::ndarray<nb::numpy, float> new_output(const dwconv::TensorShape &shape, float **data) {
  const size_t count = static_cast<size_t>(shape.n * shape.h * shape.w * shape.c);
  const size_t bytes = ((count * sizeof(float) + 63) / 64) * 64;
  void *memory = std::aligned_alloc(64, bytes == 0 ? 64 : bytes);
  if (!memory) throw std::bad_alloc();
  nb::capsule owner(memory, [](void *p) noexcept { std::free(p); });
  *data = static_cast<float *>(memory);
  const size_t dims[4] = {static_cast<size_t>(shape.n), static_cast<size_t>(shape.h), static_cast<size_t>(shape.w),
                          static_cast<size_t>(shape.c)};
  return nb::ndarray<nb::numpy, float>(memory, 4, dims, owner);
}

// The problem of a call, output shape from TensorFlow's rules.
dwconv::Problem problem_of(const TensorView &x, const TensorView &w, bool has_bias, const CallArgs &args) {
  dwconv::Problem p;
  p.input = {x.shape[0], x.shape[1], x.shape[2], x.shape[3]};
  p.input_strides = nhwc_strides(x);
  p.filter = {w.shape[0], w.shape[1], w.shape[2], w.shape[3]};
  p.params = params_of(args);
  p.bias_length = has_bias ? p.filter.c * p.filter.m : 0;
  p.num_threads = args.num_threads;
  raise_if_error(dwconv::compute_output_shape(p.input, p.filter, p.params, &p.output));
  return p;
}

nb::object conv(const AnyArray &x_array, const AnyArray &w_array, nb::object bias_object, nb::object out_object,
                const nb::tuple &params) {
  const CallArgs args = call_args(params);
  const TensorView x = view_of(x_array, "input", 4, /*dense_only=*/false);
  const TensorView w = view_of(w_array, "filter", 4, /*dense_only=*/true);
  TensorView bias;
  if (!bias_object.is_none()) {
    bias = view_of(nb::cast<AnyArray>(bias_object), "bias", 1, /*dense_only=*/true);
    if (bias.shape[0] != w.shape[2] * w.shape[3])
      throw nb::value_error(("bias has " + std::to_string(bias.shape[0]) + " elements, but the output has C*M = " +
                             std::to_string(w.shape[2] * w.shape[3]) + " channels")
                                .c_str());
  }
  dwconv::Problem p = problem_of(x, w, !bias_object.is_none(), args);

  float *out = nullptr;
  nb::object result;
  if (out_object.is_none()) {
    result = nb::cast(new_output(p.output, &out));
  } else {
    nb::ndarray<float, nb::device::cpu> o;
    if (!nb::try_cast(out_object, o, /*convert=*/false)) {
      const AnyArray any = nb::cast<AnyArray>(out_object);
      check_float32_cpu(any, "out", 4);
      throw nb::value_error("out is read-only");
    }
    if (o.ndim() != 4) throw nb::value_error(("out must have 4 dimensions, got " + std::to_string(o.ndim())).c_str());
    const dwconv::TensorShape shape{static_cast<int64_t>(o.shape(0)), static_cast<int64_t>(o.shape(1)),
                                    static_cast<int64_t>(o.shape(2)), static_cast<int64_t>(o.shape(3))};
    if (shape != p.output)
      throw nb::value_error(("out has shape (" + std::to_string(shape.n) + ", " + std::to_string(shape.h) + ", " +
                             std::to_string(shape.w) + ", " + std::to_string(shape.c) + "), the output is (" +
                             std::to_string(p.output.n) + ", " + std::to_string(p.output.h) + ", " +
                             std::to_string(p.output.w) + ", " + std::to_string(p.output.c) + ")")
                                .c_str());
    if (o.stride(3) != 1 && shape.c > 1)
      throw nb::value_error("out must have adjacent channels (stride 1 in its last dimension)");
    for (int i = 0; i < 3; i++)
      if (o.stride(i) < 0) throw nb::value_error("out must not have negative strides");
    p.output_strides = {o.stride(0), o.stride(1), o.stride(2)};
    out = o.data();
    const int64_t out_shape[4] = {shape.n, shape.h, shape.w, shape.c};
    const int64_t out_strides[4] = {o.stride(0), o.stride(1), o.stride(2), 1};
    const auto o_span = span_of(out, out_shape, out_strides);
    for (const TensorView *t : {&x, &w, static_cast<const TensorView *>(&bias)}) {
      if (!t->data()) continue;
      const auto t_span = span_of(t->data(), t->shape, t->strides);
      if (o_span.first <= t_span.second && t_span.first <= o_span.second)
        throw nb::value_error("out shares memory with an input (dwconv does not compute in place)");
    }
    result = out_object;
  }
  const std::shared_ptr<const dwconv::Plan> plan = plan_cache().get(p);
  dwconv::Status s;
  {
    nb::gil_scoped_release released;
    s = plan->run(x.data(), w.data(), bias.data(), out);
  }
  raise_if_error(s);
  return result;
}

// What dwconv runs for a problem: the kernel, its kind, why, the workload key and the output shape.
nb::dict info(const nb::tuple &input_shape, const nb::tuple &filter_shape, const nb::tuple &params) {
  const CallArgs args = call_args(params);
  if (nb::len(input_shape) != 4 || nb::len(filter_shape) != 4)
    throw nb::value_error("info: input_shape is (N, H, W, C) and filter_shape is (KH, KW, C, M)");
  dwconv::Problem p;
  p.input = {nb::cast<int64_t>(input_shape[0]), nb::cast<int64_t>(input_shape[1]), nb::cast<int64_t>(input_shape[2]),
             nb::cast<int64_t>(input_shape[3])};
  p.filter = {nb::cast<int64_t>(filter_shape[0]), nb::cast<int64_t>(filter_shape[1]),
              nb::cast<int64_t>(filter_shape[2]), nb::cast<int64_t>(filter_shape[3])};
  p.params = params_of(args);
  p.num_threads = args.num_threads;
  raise_if_error(dwconv::compute_output_shape(p.input, p.filter, p.params, &p.output));
  dwconv::Plan plan;
  raise_if_error(dwconv::Plan::create(p, &plan));
  nb::dict d;
  d["kernel"] = plan.kernel_name();
  d["kind"] = dwconv::kernel_kind_name(plan.kernel_kind());
  d["reason"] = plan.selection_reason();
  d["workload"] = dwconv::workload_key(p);
  d["isa"] = dwconv::isa_name(dwconv::active_isa());
  d["output_shape"] = nb::make_tuple(p.output.n, p.output.h, p.output.w, p.output.c);
  return d;
}

}  // namespace

NB_MODULE(_dwconv, m) {
  m.def("conv", &conv, nb::arg("x"), nb::arg("filter"), nb::arg("bias").none(), nb::arg("out").none(),
        nb::arg("params"));
  m.def("info", &info, nb::arg("input_shape"), nb::arg("filter_shape"), nb::arg("params"));
  m.def("version", [] { return std::string(dwconv_version()); });
  m.def("cpu_isa", [] { return std::string(dwconv::isa_name(dwconv::cpu_isa())); });
  m.def("active_isa", [] { return std::string(dwconv::isa_name(dwconv::active_isa())); });
}
