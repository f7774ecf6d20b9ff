// dwconv_runner: the remote half of the tuner's builder/runner split. The tuner AOT-compiles
// candidates into shared libraries here, copies them and this program to the machine that is to
// run them (over ssh), and reads back one JSON line. No Halide installation is needed there: each
// library carries its own Halide runtime, and this program links only dwconv's reference.
//
//   dwconv_runner WORKLOAD_KEY THREADS REPEATS MIN_SAMPLE_MS ROTATE_MIB LIB...
//
// Each LIB exports dwconv_candidate_argv (Halide's argv entry point) with the generator's
// arguments: input, filter, bias, multiplier, stride_x, stride_y, dilation_x, dilation_y,
// pad_left, pad_top, out_min, out_max, output. Prints the check_and_time() result for them.
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "HalideRuntime.h"
#include "bench_data.h"
#include "check_and_time.h"
#include "dwconv/dwconv.h"

namespace {

using ArgvFn = int (*)(void **);

struct Tensor {
  dwconv_bench::AlignedFloats data;  // own storage, unless made over external memory
  float *host = nullptr;
  size_t count = 1;
  std::vector<halide_dimension_t> dims;
  halide_buffer_t buf{};
  // Dense, innermost first (Halide's order): extents e[0] x e[1] x ...; over `external` when
  // given (of at least that many floats), else its own zeroed storage.
  explicit Tensor(std::vector<int> e, float *external = nullptr) {
    int stride = 1;
    for (int x : e) {
      dims.push_back(halide_dimension_t{0, x, stride, 0});
      stride *= x;
      count *= size_t(x);
    }
    if (!external) data.assign(count, 0.0f);
    host = external ? external : data.data();
    buf.host = reinterpret_cast<uint8_t *>(host);
    buf.type = halide_type_t(halide_type_float, 32, 1);
    buf.dimensions = int(dims.size());
    buf.dim = dims.data();
  }
  Tensor(const Tensor &) = delete;
};

int usage() {
  std::cerr << "usage: dwconv_runner WORKLOAD_KEY THREADS REPEATS MIN_SAMPLE_MS ROTATE_MIB OUTPUT_OFFSET LIB...\n";
  return 2;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 8) return usage();
  dwconv::Problem p;
  if (!dwconv::problem_from_workload_key(argv[1], &p)) {
    std::cerr << "dwconv_runner: bad workload key " << argv[1] << "\n";
    return 2;
  }
  // Read by each library's Halide runtime when its thread pool starts.
  setenv("HL_NUM_THREADS", argv[2], 1);
  dwconv_tuner::TimingOptions to;
  to.repeats = std::atoi(argv[3]);
  to.min_sample_ms = std::atof(argv[4]);
  const double rotate_mib = std::atof(argv[5]);
  const size_t output_offset = size_t(std::atol(argv[6]));

  dwconv::ResolvedPadding pad;
  dwconv::resolve_padding(p.input, p.filter, p.params, &pad);
  const int C = int(p.input.c), M = int(p.filter.m), CM = C * M;
  const std::vector<int> in_extents = {C, int(p.input.w), int(p.input.h), int(p.input.n)};
  const std::vector<int> out_extents = {CM, int(p.output.w), int(p.output.h), int(p.output.n)};
  const size_t out_count = size_t(CM) * p.output.w * p.output.h * p.output.n;
  Tensor in(in_extents), fil({CM, int(p.filter.kw), int(p.filter.kh)}), bias({CM});  // timed outputs: in blocks
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float &v : in.data) v = u(rng);
  for (float &v : fil.data) v = u(rng);
  dwconv::ReferenceCheck reference;
  dwconv::Status s = dwconv::ReferenceCheck::create(p, in.data.data(), fil.data.data(), nullptr, &reference);
  if (!s.ok()) {
    std::cerr << "dwconv_runner: " << s.message() << "\n";
    return 2;
  }
  to.copies = dwconv_bench::rotation_copies(rotate_mib, 4.0 * double(in.count + out_count));
  std::vector<dwconv_bench::InOutBlock> blocks;
  std::vector<std::unique_ptr<Tensor>> ins, outs;
  for (size_t k = 0; k < to.copies; k++) {
    blocks.emplace_back(in.count, out_count, output_offset);
    ins.push_back(std::make_unique<Tensor>(in_extents, blocks.back().input()));
    std::copy(in.data.begin(), in.data.end(), ins.back()->host);
    outs.push_back(std::make_unique<Tensor>(out_extents, blocks.back().output()));
  }

  std::vector<ArgvFn> fns;
  std::vector<std::string> built;
  for (int i = 7; i < argc; i++) {
    void *lib = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);
    void *sym = lib ? dlsym(lib, "dwconv_candidate_argv") : nullptr;
    fns.push_back(reinterpret_cast<ArgvFn>(sym));
    built.push_back(sym ? "" : std::string("cannot load ") + argv[i] + ": " + dlerror());
  }
  int32_t mult = M, sx = p.params.stride_w, sy = p.params.stride_h, dx = p.params.dilation_w,
          dy = p.params.dilation_h, pl = int32_t(pad.left), pt = int32_t(pad.top);
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  auto run = [&](size_t i, size_t copy, bool checking) -> std::string {
    if (checking) std::fill(outs[0]->host, outs[0]->host + outs[0]->count, std::numeric_limits<float>::quiet_NaN());
    void *args[] = {&ins[copy]->buf, &fil.buf, &bias.buf, &mult, &sx, &sy, &dx, &dy, &pl, &pt, &lo, &hi, &outs[copy]->buf};
    int rc = fns[i](args);
    return rc == 0 ? "" : "pipeline returned error " + std::to_string(rc);
  };
  auto check = [&](size_t) -> std::string {
    dwconv::Status st = reference.check(outs[0]->host);
    return st.ok() ? "" : st.message();
  };
  std::cout << dwconv_tuner::check_and_time(built, to, run, check).dump() << std::endl;
  return 0;
}
