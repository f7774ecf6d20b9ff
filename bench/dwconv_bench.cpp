// Google Benchmark over bench/shapes.csv: every implementation of this build (dwconv, peers,
// the naive loop) at 1 and 2 threads. Each implementation's output is checked against the
// reference once per shape and thread count before it is timed; a failing or unsupported case is
// reported as an error ("mismatch: ..." / "unsupported: ...") and not timed.
//
//   dwconv_bench [--shapes=bench/shapes.csv] [--rotate_mib=0] [google benchmark flags]
// Run with --benchmark_repetitions=N --benchmark_enable_random_interleaving=true for medians
// of interleaved runs.
#include <benchmark/benchmark.h>

#include <cstring>
#include <iostream>
#include <map>
#include <random>

#include "bench_data.h"
#include "impl.h"
#include "shapes.h"

namespace dwconv_bench {
namespace {

std::string g_shapes = DWCONV_DEFAULT_SHAPES;
// 0: one input/output pair, warm in the cache level its working set fits in (the regime the
// roofline assumes); 16 or more streams every call from DRAM (docs/benchmarks.md).
double g_rotate_mib = 0;

// Input and output, and with --rotate_mib > 0 copies of them to rotate over (colder data).
// Each copy is one InOutBlock: the output at kOutputOffset from the input modulo 4 KiB, as
// separate large allocations are (bench_data.h).
struct Data {
  std::vector<InOutBlock> blocks;
  AlignedFloats filter;
  Data(const dwconv::Problem &p) {
    const size_t in = p.input.n * p.input.h * p.input.w * p.input.c;
    const size_t out = p.output.n * p.output.h * p.output.w * p.output.c;
    const size_t copies = rotation_copies(g_rotate_mib, 4.0 * double(in + out));
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> u(-1, 1);
    for (size_t i = 0; i < copies; i++) {
      blocks.emplace_back(in, out, kOutputOffset);
      std::generate(blocks.back().input(), blocks.back().input() + in, [&] { return u(rng); });
    }
    filter.resize(p.filter.kh * p.filter.kw * p.filter.c * p.filter.m);
    for (float &v : filter) v = u(rng);
  }
};

void run_case(benchmark::State &state, const NamedShape &shape, Impl *impl, int threads) {
  const dwconv::Problem &p = shape.problem;
  Data d(p);
  std::string why = impl->prepare(p, threads, d.filter.data());
  if (!why.empty()) {
    state.SkipWithError(("unsupported: " + why).c_str());
    return;
  }
  impl->run(d.blocks[0].input(), d.blocks[0].output());
  // The reference costs seconds on the big shapes, and every implementation, thread count and
  // repetition of a shape sees the same (seeded) data: the naive loop runs once per shape, each
  // implementation is checked the first time and its verdict kept for the later repetitions.
  static std::map<std::string, dwconv::ReferenceCheck> references;
  static std::map<std::pair<const Impl *, std::string>, std::string> verdicts;
  auto key = std::make_pair(static_cast<const Impl *>(impl), shape.name);
  auto it = verdicts.find(key);
  if (it == verdicts.end()) {
    auto ref = references.find(shape.name);
    dwconv::Status st;
    if (ref == references.end()) {
      dwconv::ReferenceCheck check;
      st = dwconv::ReferenceCheck::create(p, d.blocks[0].input(), d.filter.data(), nullptr, &check);
      if (st.ok()) ref = references.emplace(shape.name, std::move(check)).first;
    }
    if (st.ok()) st = ref->second.check(d.blocks[0].output());
    it = verdicts.emplace(key, st.ok() ? "" : st.message()).first;
  }
  if (!it->second.empty()) {
    state.SkipWithError(("mismatch: " + it->second).c_str());
    return;
  }
  size_t k = 0;
  for (auto _ : state) {
    impl->run(d.blocks[k].input(), d.blocks[k].output());
    benchmark::ClobberMemory();
    k = (k + 1) % d.blocks.size();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(flops(p) * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["GB/s"] = benchmark::Counter(bytes(p) * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
  state.SetLabel(impl->detail());
}

}  // namespace
}  // namespace dwconv_bench

int main(int argc, char **argv) {
  using namespace dwconv_bench;
  std::vector<char *> rest;
  for (int i = 0; i < argc; i++) {
    if (std::strncmp(argv[i], "--shapes=", 9) == 0) g_shapes = argv[i] + 9;
    else if (std::strncmp(argv[i], "--rotate_mib=", 13) == 0) g_rotate_mib = std::atof(argv[i] + 13);
    else rest.push_back(argv[i]);
  }
  int rc = static_cast<int>(rest.size());
  benchmark::Initialize(&rc, rest.data());
  static std::vector<NamedShape> shapes;
  static std::vector<std::unique_ptr<Impl>> impls;
  try {
    shapes = load_shapes(g_shapes);
  } catch (const std::exception &e) {
    std::cerr << "dwconv_bench: " << e.what() << "\n";
    return 1;
  }
  // Threads 1 and 2 each get their own instance so that plans keep their thread count.
  for (int threads : {1, 2}) {
    for (auto &impl : all_impls()) {
      Impl *raw = impl.get();
      impls.push_back(std::move(impl));
      if (raw->name() == "naive" && threads != 1) continue;
      for (const NamedShape &s : shapes) {
        auto *b = benchmark::RegisterBenchmark((raw->name() + "/" + s.name + "/threads:" + std::to_string(threads)).c_str(),
                                               [&s, raw, threads](benchmark::State &st) { run_case(st, s, raw, threads); });
        b->UseRealTime()->Unit(benchmark::kMicrosecond);
        if (raw->name() == "naive") b->Iterations(1);
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
