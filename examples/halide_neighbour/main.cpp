// Checks that dwconv's shared library and the program's own Halide pipeline do not disturb each
// other: the program's error handler and parallel loop see its pipeline's errors and loops and
// none of dwconv's; dwconv computes right and reports its errors through its Status.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "HalideBuffer.h"
#include "HalideRuntime.h"
#include "dwconv/dwconv.h"
#include "scale_offset.h"

namespace {

int g_errors = 0, g_loops = 0;
std::string g_last_error;

void on_error(void *, const char *msg) {
  g_errors++;
  g_last_error = msg;
}

int counting_do_par_for(void *ctx, halide_task_t f, int min, int extent, uint8_t *closure) {
  g_loops++;
  return halide_default_do_par_for(ctx, f, min, extent, closure);
}

bool run_own_pipeline() {
  Halide::Runtime::Buffer<float> in(16, 8), out(16, 8);
  in.for_each_element([&](int x, int y) { in(x, y) = float(x + 16 * y); });
  if (scale_offset(in, out) != 0) return false;
  bool ok = true;
  out.for_each_element([&](int x, int y) { ok &= out(x, y) == 2.0f * float(x + 16 * y) + 1.0f; });
  return ok;
}

bool run_dwconv() {
  dwconv::Problem p;
  p.input = {1, 20, 20, 24};
  p.filter = {3, 3, 24, 2};
  p.num_threads = 2;
  if (!dwconv::compute_output_shape(p.input, p.filter, p.params, &p.output).ok()) return false;
  std::vector<float> in(20 * 20 * 24), filter(3 * 3 * 24 * 2), out(20 * 20 * 48);
  for (size_t i = 0; i < in.size(); i++) in[i] = float(i % 17) * 0.25f - 2.0f;
  for (size_t i = 0; i < filter.size(); i++) filter[i] = float(i % 5) * 0.5f - 1.0f;
  dwconv::Plan plan;
  dwconv::Status s = dwconv::Plan::create(p, &plan);
  if (s.ok()) s = plan.run(in.data(), filter.data(), nullptr, out.data());
  if (s.ok()) s = dwconv::check_against_reference(p, in.data(), filter.data(), nullptr, out.data());
  if (!s.ok()) std::fprintf(stderr, "halide_neighbour: dwconv: %s\n", s.message().c_str());
  return s.ok();
}

int fail(const char *what) {
  std::fprintf(stderr, "halide_neighbour: %s (errors seen by the program's handler: %d, last: %s)\n", what, g_errors,
               g_last_error.c_str());
  return 1;
}

}  // namespace

int main() {
  halide_set_error_handler(on_error);
  halide_set_custom_do_par_for(counting_do_par_for);

  if (!run_own_pipeline() || g_loops == 0) return fail("the program's pipeline did not run on its own parallel loop");
  if (!run_dwconv()) return fail("dwconv beside the program's pipeline");
  const int loops = g_loops;
  // dwconv's errors stay in its Status; its parallel loops run on its own pool.
  dwconv::Problem bad;
  bad.input = {1, 8, 8, 3};
  bad.filter = {3, 3, 4, 1};
  dwconv::Plan plan;
  if (dwconv::Plan::create(bad, &plan).ok()) return fail("dwconv accepted a filter/input channel mismatch");
  if (!run_dwconv()) return fail("dwconv after its own error");
  if (g_errors != 0) return fail("dwconv's work reached the program's error handler");
  if (g_loops != loops) return fail("dwconv's parallel loops ran on the program's do_par_for");
  // The program's own errors still reach its handler, after dwconv has run.
  Halide::Runtime::Buffer<float> small(4, 4), big(8, 8);
  if (scale_offset(small, big) == 0 || g_errors != 1) return fail("the pipeline's bounds error did not reach its handler");
  if (!run_own_pipeline() || g_loops <= loops) return fail("the program's pipeline after dwconv");
  std::printf("halide_neighbour: the program's pipeline (%d parallel loops on its do_par_for, 1 error to its handler) "
              "and dwconv's shared library ran side by side undisturbed\n", g_loops);
  return 0;
}
