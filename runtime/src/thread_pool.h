// The thread pool the kernels' parallel loops run on (installed as Halide's do_par_for).
//
// Why not Halide's own pool: its idle workers go to sleep on a condition variable, so a call
// may first have to wake one. Here idle workers spin (with pause) for a while after each loop,
// as OpenMP runtimes do by default (oneDNN's), so back-to-back layers start at once; then they
// sleep. DWCONV_SPIN_US sets the spin (default 200 us; 0 sleeps at once). Measured on this
// project's 2-vCPU VM, both pools alternating in one process (21 rounds x 100 calls, 2
// threads, Halide / this): 7x7x960 (9 us a call) 1.02-1.09x, larger layers within +-4%.
//
// Tasks are assigned statically first (contiguous chunks, one per thread, as OpenMP's static
// schedule), so a layer called again finds its data in the same core's L2; a thread done with
// its chunk takes what is left of the others'. 2-core Intel Xeon (AVX-512), 2 threads, dwconv_bench:
// 14x14x512 22.4 -> 17.4 us, 7x7x1024 17.6 -> 10.0, 56x56x128 43.7 -> 36.5 (each half of the
// 3.2 MB layer stays in one core's 2 MiB L2; 1 thread: 105 us).
//
// One loop at a time: a loop issued while the pool is busy (another thread's call, or a nested
// loop inside a task) goes to Halide's default pool instead, so concurrent callers stay correct.
#pragma once

#include <cstdint>

#include "HalideRuntime.h"

namespace dwconv::detail {

// Sets the total thread count (caller included) of the next loops; 0 = HL_NUM_THREADS if set,
// else the CPUs this process may run on. Must not be called while a loop runs (the caller
// serializes it with the runs, see run_with_threads in dwconv.cpp).
void pool_set_threads(int n);

// halide_do_par_for_t: runs f(user_context, i, closure) for i in [min, min + size) and returns
// the first nonzero result of a task (0 if none). On the host's pool while a HostPoolScope of
// this thread is open, else on dwconv's.
int pool_do_par_for(void *user_context, halide_task_t f, int min, int size, uint8_t *closure);

// While alive, the calling thread's parallel loops run on `host` (the public ParallelFor's
// fields); loops nested inside its tasks run on dwconv's pool.
class HostPoolScope {
 public:
  using Task = void (*)(void *task_context, int64_t i);
  using Run = void (*)(void *pool, Task task, void *task_context, int64_t count);
  HostPoolScope(Run run, void *pool);
  ~HostPoolScope();
  HostPoolScope(const HostPoolScope &) = delete;
  HostPoolScope &operator=(const HostPoolScope &) = delete;

 private:
  Run saved_run_;
  void *saved_pool_;
};

}  // namespace dwconv::detail
