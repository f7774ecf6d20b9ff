// Runs the shapes this project generated kernels for (shapes.csv, tuned.json) and one it did
// not, checks which kind of kernel each selects and compares every result with the naive loop.
#include <cstdio>
#include <cstring>
#include <vector>

#include "dwconv/dwconv.h"

namespace {

struct Layer {
  int n, h, w, c, m, kh, kw, stride, dilation;
  dwconv::Padding padding;
  dwconv::KernelKind expected;
};

const Layer kLayers[] = {
    {1, 13, 11, 40, 1, 3, 3, 2, 1, dwconv::Padding::kSame, dwconv::KernelKind::kFixedShape},   // shapes.csv
    {2, 9, 9, 5, 3, 1, 5, 1, 1, dwconv::Padding::kValid, dwconv::KernelKind::kFixedShape},     // shapes.csv
    {1, 14, 14, 48, 1, 5, 5, 1, 1, dwconv::Padding::kSame, dwconv::KernelKind::kTuned},        // tuned.json
    {1, 12, 12, 24, 1, 3, 3, 1, 1, dwconv::Padding::kSame, dwconv::KernelKind::kGeneral},      // neither
};

bool run(const Layer &l) {
  dwconv::Problem p;
  p.input = {l.n, l.h, l.w, l.c};
  p.filter = {l.kh, l.kw, l.c, l.m};
  p.params.stride_h = p.params.stride_w = l.stride;
  p.params.dilation_h = p.params.dilation_w = l.dilation;
  p.params.padding = l.padding;
  dwconv::Status s = dwconv::compute_output_shape(p.input, p.filter, p.params, &p.output);
  std::vector<float> in(l.n * l.h * l.w * l.c), filter(l.kh * l.kw * l.c * l.m),
      out(p.output.n * p.output.h * p.output.w * p.output.c);
  for (size_t i = 0; i < in.size(); i++) in[i] = float(i * 7 % 23) * 0.125f - 1.0f;
  for (size_t i = 0; i < filter.size(); i++) filter[i] = float(i * 5 % 11) * 0.25f - 1.0f;
  dwconv::Plan plan;
  if (s.ok()) s = dwconv::Plan::create(p, &plan);
  if (s.ok()) s = plan.run(in.data(), filter.data(), nullptr, out.data());
  if (s.ok()) s = dwconv::check_against_reference(p, in.data(), filter.data(), nullptr, out.data());
  const std::string key = dwconv::workload_key(p);
  if (!s.ok()) {
    std::fprintf(stderr, "custom_kernels: %s: %s\n", key.c_str(), s.message().c_str());
    return false;
  }
  const bool generated_here = std::strstr(plan.selection_reason().c_str(), "this program's build") != nullptr;
  const bool want_here = l.expected != dwconv::KernelKind::kGeneral;
  std::printf("custom_kernels: %s: %s kernel %s matches the reference\n", key.c_str(),
              dwconv::kernel_kind_name(plan.kernel_kind()), plan.kernel_name());
  if (plan.kernel_kind() != l.expected || generated_here != want_here) {
    std::fprintf(stderr, "custom_kernels: %s: expected a %s kernel%s; selected because: %s\n", key.c_str(),
                 dwconv::kernel_kind_name(l.expected), want_here ? " generated in this build" : "",
                 plan.selection_reason().c_str());
    return false;
  }
  return true;
}

}  // namespace

int main() {
  bool ok = true;
  for (const Layer &l : kLayers) ok = run(l) && ok;
  return ok ? 0 : 1;
}
