// The thread pool the kernels' parallel loops run on (installed as Halide's do_par_for).
//
// Why not Halide's own pool: its idle workers sleep on a condition variable at once, so every
// call pays a futex wake-up and a reschedule before the second thread starts, ~5-10 us on this
// project's 2-vCPU VM: as much as a 7x7x960 layer takes at 2 threads. Here idle workers spin
// (with pause) for a while after each loop, as OpenMP runtimes do by default (oneDNN's), so
// back-to-back layers start at once; then they sleep. DWCONV_SPIN_US sets the spin (default
// 200 us; 0 sleeps at once).
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
// the first nonzero result of a task (0 if none).
int pool_do_par_for(void *user_context, halide_task_t f, int min, int size, uint8_t *closure);

}  // namespace dwconv::detail
