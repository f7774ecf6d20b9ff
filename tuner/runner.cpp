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
//
// GPU candidates (a CUDA target) run on host buffers: each library's Halide runtime copies the
// inputs to the device on the first call (they are marked host-dirty) and keeps them there; the
// output stays on the device, so a timed call ends with halide_device_sync and the checked one
// with halide_copy_to_host (both from that library's runtime). Every candidate has buffer
// descriptors of its own over the shared host data: a device allocation belongs to one runtime.
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

// What the Halide runtime of the candidate that ran last reported (its error handler is set to
// this one), so that a failing run says why ("no CUDA device", a failed requirement, ...).
std::string g_last_error;
extern "C" void record_halide_error(void *, const char *msg) { g_last_error = msg; }
using SetErrorHandlerFn = void *(*)(void (*)(void *, const char *));

struct Tensor {
  dwconv_bench::AlignedFloats data;  // own storage, unless made over external memory
  float *host = nullptr;
  size_t count = 1;
  std::vector<halide_dimension_t> dims;
  halide_buffer_t buf{};
  // Dense, innermost first (Halide's order): extents e[0] x e[1] x ...; over `external` when
  // given (of at least that many floats), else its own zeroed storage. An input is marked
  // host-dirty, so that a GPU pipeline copies it to its device.
  explicit Tensor(std::vector<int> e, float *external = nullptr, bool input = false) {
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
    if (input) buf.flags = halide_buffer_flag_host_dirty;
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
  for (size_t k = 0; k < to.copies; k++) {
    blocks.emplace_back(in.count, out_count, output_offset);
    std::copy(in.data.begin(), in.data.end(), blocks.back().input());
  }

  using DeviceFn = int (*)(void *, halide_buffer_t *);
  struct Lib {
    ArgvFn run = nullptr;
    DeviceFn copy_to_host = nullptr, device_sync = nullptr;
    // This candidate's descriptors: filter, bias, and input/output per data copy.
    std::unique_ptr<Tensor> filter, bias;
    std::vector<std::unique_ptr<Tensor>> ins, outs;
  };
  std::vector<Lib> libs;
  std::vector<std::string> built;
  for (int i = 7; i < argc; i++) {
    Lib l;
    void *lib = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);
    l.run = reinterpret_cast<ArgvFn>(lib ? dlsym(lib, "dwconv_candidate_argv") : nullptr);
    built.push_back(l.run ? "" : std::string("cannot load ") + argv[i] + ": " + dlerror());
    if (lib) {
      if (auto set = reinterpret_cast<SetErrorHandlerFn>(dlsym(lib, "halide_set_error_handler"))) set(record_halide_error);
      l.copy_to_host = reinterpret_cast<DeviceFn>(dlsym(lib, "halide_copy_to_host"));
      l.device_sync = reinterpret_cast<DeviceFn>(dlsym(lib, "halide_device_sync"));
    }
    l.filter = std::make_unique<Tensor>(std::vector<int>{CM, int(p.filter.kw), int(p.filter.kh)}, fil.host, true);
    l.bias = std::make_unique<Tensor>(std::vector<int>{CM}, bias.host, true);
    for (auto &b : blocks) {
      l.ins.push_back(std::make_unique<Tensor>(in_extents, b.input(), true));
      l.outs.push_back(std::make_unique<Tensor>(out_extents, b.output()));
    }
    libs.push_back(std::move(l));
  }
  int32_t mult = M, sx = p.params.stride_w, sy = p.params.stride_h, dx = p.params.dilation_w,
          dy = p.params.dilation_h, pl = int32_t(pad.left), pt = int32_t(pad.top);
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  auto run = [&](size_t i, size_t copy, bool checking) -> std::string {
    Lib &l = libs[i];
    Tensor &out = *l.outs[copy];
    if (checking) std::fill(out.host, out.host + out.count, std::numeric_limits<float>::quiet_NaN());
    void *args[] = {&l.ins[copy]->buf, &l.filter->buf, &l.bias->buf, &mult, &sx, &sy, &dx, &dy, &pl, &pt, &lo, &hi, &out.buf};
    g_last_error.clear();
    int rc = l.run(args);
    if (rc == 0 && out.buf.device != 0) {  // a GPU candidate: its output is on the device
      DeviceFn finish = checking ? l.copy_to_host : l.device_sync;
      rc = finish ? finish(nullptr, &out.buf) : -1;
      if (rc != 0)
        return std::string(checking ? "halide_copy_to_host" : "halide_device_sync") + " failed (" + std::to_string(rc) +
               "): " + g_last_error;
    }
    while (!g_last_error.empty() && g_last_error.back() == '\n') g_last_error.pop_back();
    return rc == 0 ? "" : "pipeline returned error " + std::to_string(rc) + ": " + g_last_error;
  };
  auto check = [&](size_t i) -> std::string {
    dwconv::Status st = reference.check(libs[i].outs[0]->host);
    return st.ok() ? "" : st.message();
  };
  std::cout << dwconv_tuner::check_and_time(built, to, run, check).dump() << std::endl;
  return 0;
}
