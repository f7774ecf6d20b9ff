// Builder + runner for the host: each batch of candidates is compiled (Halide JIT, through the
// same generator and schedule code as the AOT build) and measured in a child process, so that
// a crashing candidate is recorded as such and a hanging one is killed by a timeout.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dwconv/dwconv.h"

namespace dwconv_tuner {

struct Candidate {
  std::string scheduler = "dwconv";  // or "Adams2019", "Mullapudi2016", "Li2018"
  // Schedule parameters (scheduler "dwconv"), or the autoscheduler's own ("beam_size=1").
  std::string params;
  bool is_default = false;
  // Host JIT runs: compiled once, in this process, and reused by every later batch of the same
  // workload (the search's anchor, timed in each batch). Elsewhere compiled like any other.
  bool reuse_build = false;
};

struct Measurement {
  std::string status;  // ok, wrong, crash, timeout, compile_error
  double median_us = 0, min_us = 0, max_us = 0;
  std::string error;
  // Run under an emulator (qemu): the output was checked, but the times say nothing about the
  // hardware; recorded as such and never distilled into a tuned kernel.
  bool emulated = false;
  std::string cpu;  // the CPU that ran it (the runner's, cpu_model.h); "" = not run
};

struct MeasureOptions {
  int threads = 1;
  int repeats = 7;             // timed samples per candidate (median taken)
  double min_sample_ms = 3;    // each sample runs enough iterations to last this long
  double timeout_s = 120;      // whole batch, compile included
  std::string target = "host";
  // Fix stride, dilation and extents at compile time, as the build does for a tuned kernel (when
  // both directions agree), so that what is measured is what the build generates.
  bool fix_workload = true;
  // Timed runs rotate over copies of input and output totalling about this many MiB (at most 8
  // copies); 0 (the default, as the benchmark) times one buffer, warm in the cache level its
  // working set fits in.
  double rotate_mib = 0;
  // Bytes past a 4 KiB boundary at which the output starts relative to the input (see
  // dwconv_bench::InOutBlock): 0, as separate large allocations get.
  size_t output_offset = 0;
  // Where candidates run: "" = a child process here (JIT, host targets). The others AOT-compile
  // each candidate here into a shared library that dwconv_runner loads and runs:
  //   "ssh://[user@]host[:port]"  there (the runner and libraries copied along; an ARM board, a
  //                               GPU machine);
  //   "local"                     here (e.g. CUDA candidates on this machine's GPU);
  //   "qemu"                      here under qemu-aarch64 (aarch64 candidates): checked against
  //                               the naive loop, but the timings are not meaningful.
  std::string runner;
  std::string qemu_sysroot = "/usr/aarch64-linux-gnu";  // qemu-aarch64 -L (the cross toolchain's)
  std::vector<std::string> ssh_options;  // extra ssh options, e.g. "-i", "key"
  // dwconv_runner for the machine that runs the candidates; "" = this build's or install's
  // (tool_paths()), which resolve_runner (main.cpp) fills in.
  std::string runner_binary;
  std::string linker = "c++";            // links candidate objects into shared libraries
  std::string asm_prefix;     // when set, candidate i's assembly goes to <asm_prefix><i>.s
  // Candidates of a batch compiled at once, each on its own thread (0: one per CPU this process
  // may run on). Compiling takes most of a candidate's time (1-5 s against ~0.1 s of timing);
  // the batch is timed only after all of it is built, so the compiles never overlap a timing.
  int build_jobs = 0;
};

// build_jobs resolved: the CPUs this process may run on when 0.
int build_jobs(const MeasureOptions &o);

// Where a batch of candidates is built and timed (MeasureOptions::runner): a JIT child here
// (""), or AOT-compiled libraries that dwconv_runner times here ("local"), under qemu-aarch64
// ("qemu") or on another machine ("ssh://..."). A new place to run candidates (an emulator, a
// device farm) is one more subclass in measure.cpp and one more name in make_runner.
class Runner {
 public:
  virtual ~Runner() = default;
  // Makes what the runner needs of a workload before its first batch (the JIT child's data).
  virtual void prepare(const dwconv::Problem &) const {}
  // Compiles every candidate, checks each against the naive loop, then times the right ones in
  // interleaved rounds; one result per candidate, in order.
  virtual std::vector<Measurement> measure(const dwconv::Problem &problem, const std::vector<Candidate> &candidates,
                                           const MeasureOptions &options) const = 0;
};
// The runner a MeasureOptions::runner names; throws std::invalid_argument for any other name.
std::unique_ptr<Runner> make_runner(const std::string &spec);

// Makes the workload's data and its naive-loop reference output (seconds on the big shapes),
// which the first measure() of a workload makes otherwise, inside that batch's time. A search
// calls it first, so that its cost per candidate is what candidates cost.
void prepare(const dwconv::Problem &problem, const MeasureOptions &options);

// Compiles every candidate, checks each against the naive loop, then times the ones that are
// right in interleaved rounds (candidate 1, 2, ..., 1, 2, ...) so that drift hits all alike.
std::vector<Measurement> measure(const dwconv::Problem &problem, const std::vector<Candidate> &candidates,
                                 const MeasureOptions &options);

}  // namespace dwconv_tuner
