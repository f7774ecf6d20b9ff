// The C API (dwconv_c.h) over the C++ one: the same validation and messages, as codes and a
// per-thread message string.
#include "dwconv/dwconv_c.h"

#include <exception>
#include <memory>
#include <string>

#include "dwconv/dwconv.h"

#ifndef DWCONV_VERSION
#error "DWCONV_VERSION must be defined by the build"
#endif

struct dwconv_plan {
  dwconv::Plan plan;
};

namespace {

thread_local std::string t_last_error;

dwconv_status to_c(const dwconv::Status &s) {
  t_last_error = s.ok() ? "" : s.message();
  switch (s.code()) {
    case dwconv::StatusCode::kOk: return DWCONV_OK;
    case dwconv::StatusCode::kInvalidArgument: return DWCONV_INVALID_ARGUMENT;
    case dwconv::StatusCode::kUnsupported: return DWCONV_UNSUPPORTED;
    case dwconv::StatusCode::kInternal: return DWCONV_INTERNAL;
  }
  return DWCONV_INTERNAL;
}

// Runs f, turning an exception (out of memory) into DWCONV_INTERNAL: none may cross the C ABI.
template <class F>
dwconv_status guarded(F &&f) {
  try {
    return f();
  } catch (const std::exception &e) {
    return to_c(dwconv::Status(dwconv::StatusCode::kInternal, e.what()));
  } catch (...) {
    return to_c(dwconv::Status(dwconv::StatusCode::kInternal, "unknown exception"));
  }
}

dwconv_status invalid(const char *message) {
  return to_c(dwconv::Status(dwconv::StatusCode::kInvalidArgument, message));
}

// The C++ problem of a C one, its output shape computed; an error if the shape has none.
dwconv::Status to_cpp(const dwconv_problem &c, dwconv::Problem *p) {
  p->input = {c.n, c.h, c.w, c.c};
  p->input_strides = {c.input_stride_n, c.input_stride_h, c.input_stride_w};
  p->filter = {c.kh, c.kw, c.c, c.m};
  p->bias_length = c.bias_length;
  dwconv::ConvParams &q = p->params;
  q.stride_h = c.stride_h, q.stride_w = c.stride_w;
  q.dilation_h = c.dilation_h, q.dilation_w = c.dilation_w;
  q.padding = static_cast<dwconv::Padding>(c.padding);  // validate() refuses values outside the enum
  q.pad_top = c.pad_top, q.pad_bottom = c.pad_bottom, q.pad_left = c.pad_left, q.pad_right = c.pad_right;
  q.activation = static_cast<dwconv::Activation>(c.activation);
  q.clamp_min = c.clamp_min, q.clamp_max = c.clamp_max;
  p->output_strides = {c.output_stride_n, c.output_stride_h, c.output_stride_w};
  p->num_threads = c.num_threads;
  return dwconv::compute_output_shape(p->input, p->filter, q, &p->output);
}

}  // namespace

extern "C" {

void dwconv_problem_init(dwconv_problem *problem) {
  if (problem == nullptr) return;
  *problem = dwconv_problem{};
  const dwconv::ConvParams defaults;
  problem->stride_h = defaults.stride_h, problem->stride_w = defaults.stride_w;
  problem->dilation_h = defaults.dilation_h, problem->dilation_w = defaults.dilation_w;
  problem->padding = DWCONV_PADDING_SAME;
  problem->activation = DWCONV_ACTIVATION_NONE;
  problem->clamp_min = defaults.clamp_min, problem->clamp_max = defaults.clamp_max;
}

dwconv_status dwconv_output_shape(const dwconv_problem *problem, int64_t shape[4]) {
  if (problem == nullptr || shape == nullptr) return invalid("dwconv_output_shape: null pointer");
  return guarded([&] {
    dwconv::Problem p;
    dwconv::Status s = to_cpp(*problem, &p);
    if (s.ok()) shape[0] = p.output.n, shape[1] = p.output.h, shape[2] = p.output.w, shape[3] = p.output.c;
    return to_c(s);
  });
}

dwconv_status dwconv_plan_create(const dwconv_problem *problem, dwconv_plan **plan) {
  if (plan == nullptr) return invalid("dwconv_plan_create: plan is null");
  *plan = nullptr;
  if (problem == nullptr) return invalid("dwconv_plan_create: problem is null");
  return guarded([&] {
    dwconv::Problem p;
    dwconv::Status s = to_cpp(*problem, &p);
    if (!s.ok()) return to_c(s);
    std::unique_ptr<dwconv_plan> made(new dwconv_plan);
    s = dwconv::Plan::create(p, &made->plan);
    if (s.ok()) *plan = made.release();
    return to_c(s);
  });
}

dwconv_status dwconv_plan_run(const dwconv_plan *plan, const float *input, const float *filter, const float *bias,
                              float *output) {
  if (plan == nullptr) return invalid("dwconv_plan_run: plan is null");
  return guarded([&] { return to_c(plan->plan.run(input, filter, bias, output)); });
}

dwconv_status dwconv_plan_run_parallel(const dwconv_plan *plan, const float *input, const float *filter,
                                       const float *bias, float *output, dwconv_parallel_for_fn parallel_for,
                                       void *pool) {
  if (plan == nullptr) return invalid("dwconv_plan_run_parallel: plan is null");
  return guarded([&] { return to_c(plan->plan.run(input, filter, bias, output, dwconv::ParallelFor{parallel_for, pool})); });
}

void dwconv_plan_destroy(dwconv_plan *plan) { delete plan; }

const char *dwconv_plan_kernel_name(const dwconv_plan *plan) { return plan ? plan->plan.kernel_name() : ""; }

dwconv_kernel_kind dwconv_plan_kernel_kind(const dwconv_plan *plan) {
  if (plan == nullptr) return DWCONV_KERNEL_GENERAL;
  switch (plan->plan.kernel_kind()) {
    case dwconv::KernelKind::kGeneral: return DWCONV_KERNEL_GENERAL;
    case dwconv::KernelKind::kFixedShape: return DWCONV_KERNEL_FIXED_SHAPE;
    case dwconv::KernelKind::kTuned: return DWCONV_KERNEL_TUNED;
  }
  return DWCONV_KERNEL_GENERAL;
}

const char *dwconv_plan_selection_reason(const dwconv_plan *plan) {
  return plan ? plan->plan.selection_reason().c_str() : "";
}

dwconv_status dwconv_depthwise_conv2d(const dwconv_problem *problem, const float *input, const float *filter,
                                      const float *bias, float *output) {
  dwconv_plan *plan = nullptr;
  dwconv_status s = dwconv_plan_create(problem, &plan);
  if (s == DWCONV_OK) s = dwconv_plan_run(plan, input, filter, bias, output);
  dwconv_plan_destroy(plan);
  return s;
}

const char *dwconv_last_error(void) { return t_last_error.c_str(); }

const char *dwconv_version(void) { return DWCONV_VERSION; }

}  // extern "C"
