#include "thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace dwconv::detail {

namespace {

using Clock = std::chrono::steady_clock;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Participants whose tasks are assigned statically (the caller is 0, worker k is k); more
// threads than this only steal.
constexpr int kMaxParts = 64;

// One parallel loop; lives on the caller's stack while the loop runs. The tasks are split into
// `parts` contiguous chunks, one per participant, as OpenMP's static schedule does: a layer
// called again gives each thread the same tasks, hence the same channels and rows, which are
// still in that core's L2 from the last call. Claimed from one shared counter instead, a task
// could run on the other core each call (likely moving a layer that fits in L2 between the
// cores' caches): 14x14x512 at 2 threads ran no faster than at 1 (22 vs 21 us), oneDNN took 13
// (2-core Intel Xeon, AVX-512). A thread done with its chunk then takes the rest of the others' (a
// descheduled vCPU does not hold the loop up).
struct Loop {
  halide_task_t f;
  void *user_context;
  uint8_t *closure;
  int min, size, parts;
  std::atomic<int> next[kMaxParts];  // next task of chunk p (past its end: none left)
  std::atomic<int> done{0}, status{0};
  int chunk_begin(int p) const { return int(int64_t(size) * p / parts); }
};

// Runs the tasks of participant `self`'s chunk, then whatever is left of the others'. After a
// failure the remaining tasks are skipped (still counted done): the first nonzero result is the
// loop's.
void work_on(Loop &l, int self) {
  for (int k = 0; k < l.parts; k++) {
    const int p = (self + k) % l.parts;
    const int end = l.chunk_begin(p + 1);
    for (;;) {
      const int i = l.next[p].fetch_add(1, std::memory_order_relaxed);
      if (i >= end) break;
      if (l.status.load(std::memory_order_relaxed) == 0) {
        const int rc = l.f(l.user_context, l.min + i, l.closure);
        int none = 0;
        if (rc != 0) l.status.compare_exchange_strong(none, rc);
      }
      l.done.fetch_add(1, std::memory_order_release);
    }
  }
}

int resolve_threads(int n) {
  if (n > 0) return n;
  if (const char *env = std::getenv("HL_NUM_THREADS")) {
    const int e = std::atoi(env);
    if (e > 0) return e;
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

std::chrono::microseconds spin_from_env() {
  const char *env = std::getenv("DWCONV_SPIN_US");
  return std::chrono::microseconds(env ? std::max(0, std::atoi(env)) : 200);
}

class Pool {
 public:
  ~Pool() { stop(); }

  void set_threads(int n) {
    n = resolve_threads(n);
    if (n == threads_) return;
    stop();
    threads_ = n;
    for (int i = 1; i < n; i++) workers_.emplace_back([this, i] { worker(i); });
  }

  int run(void *uc, halide_task_t f, int min, int size, uint8_t *closure) {
    if (size <= 0) return 0;
    if (threads_ <= 1 || size == 1) {
      for (int i = 0; i < size; i++)
        if (const int rc = f(uc, min + i, closure)) return rc;
      return 0;
    }
    // Busy (another caller's loop, or a loop nested in one of our tasks): Halide's pool.
    if (busy_.exchange(true, std::memory_order_acquire)) return halide_default_do_par_for(uc, f, min, size, closure);
    Loop l;
    l.f = f, l.user_context = uc, l.closure = closure, l.min = min, l.size = size;
    l.parts = std::min({threads_, size, kMaxParts});
    for (int p = 0; p < l.parts; p++) l.next[p].store(l.chunk_begin(p), std::memory_order_relaxed);
    loop_.store(&l);
    generation_.fetch_add(1);
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
    work_on(l, 0);
    // Wait for the tasks other threads claimed; then for every worker to let go of `l`
    // (the seq_cst store/load pairs with the workers' refs_ increment and loop_ load).
    for (int k = 0; l.done.load(std::memory_order_acquire) < size; k++) pause(k);
    loop_.store(nullptr);
    for (int k = 0; refs_.load() != 0; k++) pause(k);
    busy_.store(false, std::memory_order_release);
    return l.status.load();
  }

 private:
  // Spins, yielding now and then (a VM may have descheduled the thread being waited for).
  static void pause(int k) {
    if ((k & 1023) == 1023) std::this_thread::yield();
    else cpu_relax();
  }

  void worker(int self) {
    uint64_t seen = generation_.load();
    for (;;) {
      const auto deadline = Clock::now() + spin_;
      for (int k = 0; generation_.load(std::memory_order_acquire) == seen; k++) {
        if (stopping_.load(std::memory_order_relaxed)) return;
        cpu_relax();
        if ((k & 63) == 63 && Clock::now() >= deadline) {
          std::unique_lock<std::mutex> lock(mutex_);
          sleepers_.fetch_add(1);
          wake_.wait(lock, [&] { return generation_.load() != seen || stopping_.load(); });
          sleepers_.fetch_sub(1);
        }
      }
      if (stopping_.load()) return;
      seen = generation_.load(std::memory_order_acquire);
      refs_.fetch_add(1);
      if (Loop *l = loop_.load()) work_on(*l, self);
      refs_.fetch_sub(1, std::memory_order_release);
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_.store(true);
      wake_.notify_all();
    }
    for (std::thread &t : workers_) t.join();
    workers_.clear();
    stopping_.store(false);
    threads_ = 1;
  }

  const std::chrono::microseconds spin_ = spin_from_env();
  int threads_ = 1;
  std::vector<std::thread> workers_;
  std::atomic<bool> busy_{false}, stopping_{false};
  std::atomic<Loop *> loop_{nullptr};
  std::atomic<int> refs_{0}, sleepers_{0};
  std::atomic<uint64_t> generation_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
};

Pool &pool() {
  static Pool p;
  return p;
}

// The host's pool of this thread's open HostPoolScope (null: none).
thread_local HostPoolScope::Run t_host_run = nullptr;
thread_local void *t_host_pool = nullptr;

// One parallel loop on the host's pool: each task runs f(user_context, min + i, closure); the
// first nonzero result is kept.
struct HostLoop {
  halide_task_t f;
  void *user_context;
  int min;
  uint8_t *closure;
  std::atomic<int> result{0};
};

void host_task(void *context, int64_t i) {
  HostLoop &l = *static_cast<HostLoop *>(context);
  const int r = l.f(l.user_context, l.min + static_cast<int>(i), l.closure);
  int none = 0;
  if (r != 0) l.result.compare_exchange_strong(none, r);
}

}  // namespace

void pool_set_threads(int n) { pool().set_threads(n); }

HostPoolScope::HostPoolScope(Run run, void *pool) : saved_run_(t_host_run), saved_pool_(t_host_pool) {
  t_host_run = run;
  t_host_pool = pool;
}

HostPoolScope::~HostPoolScope() {
  t_host_run = saved_run_;
  t_host_pool = saved_pool_;
}

int pool_do_par_for(void *user_context, halide_task_t f, int min, int size, uint8_t *closure) {
  if (t_host_run == nullptr) return pool().run(user_context, f, min, size, closure);
  HostLoop loop{f, user_context, min, closure};
  const HostPoolScope::Run run = t_host_run;
  void *const host = t_host_pool;
  // A loop nested in a task that the host runs on this thread goes to dwconv's pool, as on the
  // host's other threads: host pools (pthreadpool) do not take nested calls.
  HostPoolScope none(nullptr, nullptr);
  run(host, host_task, &loop, size);
  return loop.result.load();
}

}  // namespace dwconv::detail
