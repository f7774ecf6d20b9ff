// Minimal user of the installed package: MobileNet-like layer with bias and ReLU6, checked
// against the reference that ships in the library.
#include <cstdio>
#include <vector>

#include "dwconv/dwconv.h"

int main() {
  dwconv::Problem p;
  p.input = {1, 28, 28, 32};
  p.filter = {3, 3, 32, 2};
  p.bias_length = 64;
  p.params.activation = dwconv::Activation::kRelu6;
  if (!dwconv::compute_output_shape(p.input, p.filter, p.params, &p.output).ok()) return 1;
  std::vector<float> in(28 * 28 * 32), filter(3 * 3 * 32 * 2), bias(64), out(28 * 28 * 64);
  for (size_t i = 0; i < in.size(); i++) in[i] = float(i % 13) * 0.25f - 1.0f;
  for (size_t i = 0; i < filter.size(); i++) filter[i] = float(i % 7) * 0.5f - 1.5f;
  for (size_t i = 0; i < bias.size(); i++) bias[i] = float(i % 5) * 0.1f;
  dwconv::Plan plan;
  dwconv::Status s = dwconv::Plan::create(p, &plan);
  if (s.ok()) s = plan.run(in.data(), filter.data(), bias.data(), out.data());
  if (s.ok()) s = dwconv::check_against_reference(p, in.data(), filter.data(), bias.data(), out.data());
  if (!s.ok()) {
    std::fprintf(stderr, "consumer: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("consumer: %s on %s matches the reference (out[0] = %g)\n", plan.kernel_name(),
              dwconv::isa_name(dwconv::active_isa()), out[0]);
  return 0;
}
