// GPU benchmark of the CUDA kernels over bench/shapes.csv: device pointers (no copies in the
// timing), median of repetitions, GFLOP/s and GB/s of compulsory traffic; each shape verified
// against the naive loop first (the small ones: the reference is single-threaded). An optional
// peer CSV (name,gflops, e.g. from torch_dwconv.py) adds a ratio column.
//   dwconv_cuda_bench [--shapes=FILE] [--reps=N] [--peer=FILE] [--out=FILE.csv]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "HalideRuntime.h"
#include "HalideRuntimeCuda.h"
#include "dwconv/dwconv_cuda.h"
#include "shapes.h"

namespace {

struct DeviceArray {
  halide_buffer_t buf{};
  halide_dimension_t dim{};
  std::vector<float> host;
  explicit DeviceArray(size_t n, uint64_t seed) : host(n) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (float &v : host) v = u(rng);
    dim = {0, int32_t(n), 1, 0};
    buf.host = reinterpret_cast<uint8_t *>(host.data());
    buf.type = halide_type_t(halide_type_float, 32, 1);
    buf.dimensions = 1;
    buf.dim = &dim;
    buf.flags = halide_buffer_flag_host_dirty;
  }
  bool upload() { return halide_copy_to_device(nullptr, &buf, halide_cuda_device_interface()) == 0; }
  uint64_t ptr() { return halide_cuda_get_device_ptr(nullptr, &buf); }
  bool download() {
    buf.flags = halide_buffer_flag_device_dirty;
    return halide_copy_to_host(nullptr, &buf) == 0;
  }
  ~DeviceArray() { halide_device_free(nullptr, &buf); }
};

std::string arg(int argc, char **argv, const std::string &key, const std::string &def) {
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a.rfind("--" + key + "=", 0) == 0) return a.substr(key.size() + 3);
  }
  return def;
}

}  // namespace

int main(int argc, char **argv) {
  const std::string shapes_path = arg(argc, argv, "shapes", DWCONV_DEFAULT_SHAPES);
  const int reps = std::max(1, std::atoi(arg(argc, argv, "reps", "20").c_str()));
  const std::string peer_path = arg(argc, argv, "peer", "");
  const std::string out_path = arg(argc, argv, "out", "");
  dwconv::Status st = dwconv::cuda::available();
  if (!st.ok()) {
    std::printf("[SKIP] no CUDA device: %s\n", st.message().c_str());
    return 0;
  }
  dwconv::cuda::DeviceInfo dev;
  dwconv::cuda::device_info(&dev);
  std::printf("device %d: %s (compute capability %d.%d), driver %d\n", dev.ordinal, dev.name.c_str(), dev.major,
              dev.minor, dev.driver_version);
  std::map<std::string, double> peer;
  if (!peer_path.empty()) {
    std::ifstream f(peer_path);
    std::string line;
    while (std::getline(f, line)) {
      size_t c = line.find(',');
      if (c != std::string::npos && line.rfind("name,", 0) != 0) peer[line.substr(0, c)] = std::atof(line.c_str() + c + 1);
    }
  }
  std::vector<dwconv_bench::NamedShape> shapes;
  try {
    shapes = dwconv_bench::load_shapes(shapes_path);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  std::ofstream csv;
  if (!out_path.empty()) {
    csv.open(out_path);
    csv << "name,kernel,ms,gflops,gbps,verified\n";
  }
  std::printf("%-12s %-32s %9s %9s %8s %-9s%s\n", "shape", "kernel", "ms", "GFLOP/s", "GB/s", "verified",
              peer.empty() ? "" : " peer GFLOP/s  ratio");
  int failures = 0;
  for (const auto &s : shapes) {
    const dwconv::Problem &p = s.problem;
    dwconv::cuda::Plan plan;
    st = dwconv::cuda::Plan::create(p, &plan);
    if (!st.ok()) {
      std::printf("%-12s [FAIL] %s\n", s.name.c_str(), st.message().c_str());
      failures++;
      continue;
    }
    const size_t in_n = p.input.n * p.input.h * p.input.w * p.input.c;
    const size_t fil_n = p.filter.kh * p.filter.kw * p.filter.c * p.filter.m;
    const size_t out_n = p.output.n * p.output.h * p.output.w * p.output.c;
    DeviceArray in(in_n, 1), fil(fil_n, 2), out(out_n, 3);
    if (!in.upload() || !fil.upload() || !out.upload()) {
      std::printf("%-12s [FAIL] device allocation\n", s.name.c_str());
      failures++;
      continue;
    }
    // Verify first (also the warm-up: module load and JIT of the PTX happen here).
    st = plan.run_device(in.ptr(), fil.ptr(), 0, out.ptr());
    std::string verified = "skipped";
    if (st.ok() && dwconv_bench::flops(p) <= 4e8) {
      out.download();
      dwconv::Status v = dwconv::check_against_reference(p, in.host.data(), fil.host.data(), nullptr, out.host.data());
      verified = v.ok() ? "ok" : "MISMATCH";
      if (!v.ok()) {
        std::printf("%-12s [FAIL] %s\n", s.name.c_str(), v.message().c_str());
        failures++;
      }
    }
    if (!st.ok()) {
      std::printf("%-12s [FAIL] %s\n", s.name.c_str(), st.message().c_str());
      failures++;
      continue;
    }
    for (int i = 0; i < 2; i++) plan.run_device(in.ptr(), fil.ptr(), 0, out.ptr());
    std::vector<double> ms;
    for (int r = 0; r < reps; r++) {
      auto t0 = std::chrono::steady_clock::now();
      plan.run_device(in.ptr(), fil.ptr(), 0, out.ptr());  // returns after the device synchronized
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double t = ms[ms.size() / 2];
    const double gflops = dwconv_bench::flops(p) / (t * 1e6), gbps = dwconv_bench::bytes(p) / (t * 1e6);
    std::printf("%-12s %-32s %9.4f %9.1f %8.1f %-9s", s.name.c_str(), plan.kernel_name(), t, gflops, gbps,
                verified.c_str());
    auto it = peer.find(s.name);
    if (it != peer.end() && it->second > 0) std::printf(" %12.1f %6.2fx", it->second, gflops / it->second);
    std::printf("\n");
    if (csv) csv << s.name << "," << plan.kernel_name() << "," << t << "," << gflops << "," << gbps << "," << verified << "\n";
  }
  std::printf("(median of %d runs per shape, device pointers, each run synchronized; GB/s of compulsory "
              "traffic: input + filter + output)\n", reps);
  return failures ? 1 : 0;
}
