// This machine's limits for the roofline: sustained bandwidth (a triad, a[i] = b[i] + s*c[i], on
// array sets sized for L2, L3 and DRAM) and peak fp32 FMA throughput (AVX-512 and AVX2), each at
// 1 and 2 threads, median of several runs. Prints JSON on stdout.
//
//   limits [--runs=7] [--l2_kib=768] [--l3_mib=12] [--dram_mib=1024] [--working_sets=B1,B2,...]
//
// --working_sets: also the triad over array sets of exactly these sizes (bytes): the shapes'
// working sets (scripts/bench passes them), so that each shape's roofline takes the bandwidth
// measured at its own size. The L3 figure alone overstates a set near the L3's capacity (on a
// 32 MiB Zen 4 L3, 1 thread: 55 GB/s at 12 MiB, 37 at 16 MiB, 28 at 24 MiB, as at 48 MiB).
//
// Bandwidth counts what the triad must move, 12 bytes per element (read b and c, write a), as
// STREAM does; the write-allocate read of `a` that DRAM also pays is not counted. With T threads
// each takes 1/T of the array set, as a convolution splits its work.
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return (v[n / 2] + v[(n - 1) / 2]) / 2;
}

// Runs body(t) on `threads` threads released together; returns the wall time of the slowest.
double timed_parallel(int threads, const std::function<void(int)> &body) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; t++) {
    pool.emplace_back([&, t] {
      ready++;
      while (!go.load(std::memory_order_acquire)) {
      }
      body(t);
    });
  }
  while (ready.load() != threads) {
  }
  const auto t0 = Clock::now();
  go.store(true, std::memory_order_release);
  for (auto &th : pool) th.join();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ----- triad ------------------------------------------------------------------------------------

__attribute__((target("avx512f"))) void triad_avx512(float *a, const float *b, const float *c, float s, size_t n) {
  const __m512 vs = _mm512_set1_ps(s);
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(a + i, _mm512_fmadd_ps(vs, _mm512_loadu_ps(c + i), _mm512_loadu_ps(b + i)));
  for (; i < n; i++) a[i] = b[i] + s * c[i];
}

__attribute__((target("avx2,fma"))) void triad_avx2(float *a, const float *b, const float *c, float s, size_t n) {
  const __m256 vs = _mm256_set1_ps(s);
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(a + i, _mm256_fmadd_ps(vs, _mm256_loadu_ps(c + i), _mm256_loadu_ps(b + i)));
  for (; i < n; i++) a[i] = b[i] + s * c[i];
}

void triad_plain(float *a, const float *b, const float *c, float s, size_t n) {
  for (size_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
}

using TriadFn = void (*)(float *, const float *, const float *, float, size_t);

TriadFn best_triad(const char **name) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return *name = "avx512", triad_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return *name = "avx2", triad_avx2;
  return *name = "plain", triad_plain;
}

struct Stat {
  double median, min, max;
};

Stat stat_of(const std::vector<double> &v) {
  return {median(v), *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end())};
}

// GB/s of the triad over an array set of `total_bytes` (a, b and c together) at `threads`.
Stat triad_bandwidth(TriadFn triad, size_t total_bytes, int threads, int runs) {
  const size_t n = total_bytes / 3 / sizeof(float);
  // Each thread allocates and first touches its own slice (so DRAM pages are local to it).
  std::vector<std::vector<float>> a(threads), b(threads), c(threads);
  const size_t per = n / threads;
  timed_parallel(threads, [&](int t) {
    a[t].assign(per, 0.0f);
    b[t].assign(per, 1.0f);
    c[t].assign(per, 2.0f);
  });
  // Enough passes for ~50 ms per run at ~50 GB/s, at least 2; one untimed pass warms the caches.
  const double bytes_per_pass = 12.0 * per * threads;
  const int passes = std::max(2, int(2.5e9 / bytes_per_pass));
  std::vector<double> gbs;
  for (int r = 0; r < runs; r++) {
    timed_parallel(threads, [&](int t) { triad(a[t].data(), b[t].data(), c[t].data(), 0.5f, per); });
    const double s = timed_parallel(threads, [&](int t) {
      for (int p = 0; p < passes; p++) triad(a[t].data(), b[t].data(), c[t].data(), 0.5f + p * 1e-7f, per);
    });
    gbs.push_back(bytes_per_pass * passes / s * 1e-9);
  }
  volatile float sink = a[0][per / 2];
  (void)sink;
  return stat_of(gbs);
}

// ----- peak FMA ---------------------------------------------------------------------------------

// 12 independent FMA chains: more than latency (4) x FMA ports (2) on current x86 cores, so the
// ports, not the dependency chains, set the rate.
constexpr int kChains = 12;

__attribute__((target("avx512f"))) float fma_avx512(long iters) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; i++) acc[i] = _mm512_set1_ps(float(i));
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (long k = 0; k < iters; k++) {
    for (int i = 0; i < kChains; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  }
  __m512 s = acc[0];
  for (int i = 1; i < kChains; i++) s = _mm512_add_ps(s, acc[i]);
  float out[16];
  _mm512_storeu_ps(out, s);
  float sum = 0;
  for (float v : out) sum += v;
  return sum;
}

__attribute__((target("avx2,fma"))) float fma_avx2(long iters) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; i++) acc[i] = _mm256_set1_ps(float(i));
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (long k = 0; k < iters; k++) {
    for (int i = 0; i < kChains; i++) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  }
  __m256 s = acc[0];
  for (int i = 1; i < kChains; i++) s = _mm256_add_ps(s, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  float sum = 0;
  for (float v : out) sum += v;
  return sum;
}

// GFLOP/s (2 per FMA lane) of `fn` with `lanes` fp32 lanes at `threads`.
Stat fma_peak(float (*fn)(long), int lanes, int threads, int runs) {
  const long iters = 20'000'000;  // ~0.1 s per run at a few GHz
  std::vector<float> sinks(threads);
  std::vector<double> gflops;
  fn(iters / 10);  // wake the core up to its working frequency
  for (int r = 0; r < runs; r++) {
    const double s = timed_parallel(threads, [&](int t) { sinks[t] = fn(iters); });
    gflops.push_back(2.0 * lanes * kChains * double(iters) * threads / s * 1e-9);
  }
  volatile float sink = sinks[0];
  (void)sink;
  return stat_of(gflops);
}

void print_stat(const Stat &s) {
  std::printf("{\"median\": %.2f, \"min\": %.2f, \"max\": %.2f}", s.median, s.min, s.max);
}

}  // namespace

int main(int argc, char **argv) {
  int runs = 7;
  double l2_kib = 768, l3_mib = 12, dram_mib = 1024;
  std::vector<size_t> working_sets;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!std::strncmp(a, "--runs=", 7))
      runs = std::max(1, std::atoi(a + 7));
    else if (!std::strncmp(a, "--l2_kib=", 9))
      l2_kib = std::atof(a + 9);
    else if (!std::strncmp(a, "--l3_mib=", 9))
      l3_mib = std::atof(a + 9);
    else if (!std::strncmp(a, "--dram_mib=", 11))
      dram_mib = std::atof(a + 11);
    else if (!std::strncmp(a, "--working_sets=", 15)) {
      for (const char *p = a + 15; *p;) {
        char *end = nullptr;
        const unsigned long long b = std::strtoull(p, &end, 10);
        if (end == p || b < 3 * 16 * sizeof(float) || (*end && *end != ',')) {
          std::fprintf(stderr, "limits: --working_sets takes sizes in bytes (at least 192), comma-separated: '%s'\n", a + 15);
          return 2;
        }
        working_sets.push_back(size_t(b));
        p = *end ? end + 1 : end;
      }
    } else {
      std::fprintf(stderr,
                   "usage: limits [--runs=7] [--l2_kib=768] [--l3_mib=12] [--dram_mib=1024] [--working_sets=B1,B2,...]\n");
      return 2;
    }
  }
  const int thread_counts[] = {1, 2};
  const char *triad_isa = "";
  const TriadFn triad = best_triad(&triad_isa);
  const struct {
    const char *level;
    size_t bytes;
  } sets[] = {
      {"L2", size_t(l2_kib * 1024)}, {"L3", size_t(l3_mib * (1 << 20))}, {"DRAM", size_t(dram_mib * (1 << 20))}};

  std::printf("{\n  \"hardware_threads\": %u,\n  \"runs\": %d,\n", std::thread::hardware_concurrency(), runs);
  std::printf("  \"triad_isa\": \"%s\",\n  \"bandwidth_bytes\": {", triad_isa);
  for (size_t i = 0; i < 3; i++) std::printf("%s\"%s\": %zu", i ? ", " : "", sets[i].level, sets[i].bytes);
  std::printf("},\n  \"bandwidth_gbs\": {\n");
  for (size_t i = 0; i < 3; i++) {
    std::printf("    \"%s\": {", sets[i].level);
    for (int t : thread_counts) {
      std::printf("%s\"%d\": ", t == 1 ? "" : ", ", t);
      print_stat(triad_bandwidth(triad, sets[i].bytes, t, runs));
      std::fflush(stdout);
    }
    std::printf("}%s\n", i < 2 ? "," : "");
  }
  std::printf("  },\n");
  if (!working_sets.empty()) {
    std::sort(working_sets.begin(), working_sets.end());
    working_sets.erase(std::unique(working_sets.begin(), working_sets.end()), working_sets.end());
    std::printf("  \"working_set_gbs\": {\n");
    for (size_t i = 0; i < working_sets.size(); i++) {
      std::printf("    \"%zu\": {", working_sets[i]);
      for (int t : thread_counts) {
        std::printf("%s\"%d\": ", t == 1 ? "" : ", ", t);
        print_stat(triad_bandwidth(triad, working_sets[i], t, runs));
        std::fflush(stdout);
      }
      std::printf("}%s\n", i + 1 < working_sets.size() ? "," : "");
    }
    std::printf("  },\n");
  }
  std::printf("  \"peak_gflops\": {\n");
  const bool has512 = __builtin_cpu_supports("avx512f");
  const bool has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  bool first = true;
  if (has512) {
    std::printf("    \"avx512\": {");
    for (int t : thread_counts) {
      std::printf("%s\"%d\": ", t == 1 ? "" : ", ", t);
      print_stat(fma_peak(fma_avx512, 16, t, runs));
    }
    std::printf("}");
    first = false;
  }
  if (has2) {
    std::printf("%s    \"avx2\": {", first ? "" : ",\n");
    for (int t : thread_counts) {
      std::printf("%s\"%d\": ", t == 1 ? "" : ", ", t);
      print_stat(fma_peak(fma_avx2, 8, t, runs));
    }
    std::printf("}");
  }
  std::printf("\n  }\n}\n");
  return 0;
}
