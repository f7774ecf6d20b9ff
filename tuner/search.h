// The search over one target family's schedule parameters for one workload.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "db.h"
#include "measure.h"
#include "record_fields.h"
#include "shapes.h"

namespace dwconv_tuner {

// What a parameter space depends on beyond the family: the vector width in floats and the
// register tile's accumulator budget of the target the candidates are built for (x86: 16 lanes
// and 24 accumulators on AVX-512, 8 and 12 on AVX2).
struct SpaceTarget {
  int lanes = 16;
  int max_accumulators = 24;
};
SpaceTarget space_target(const std::string &target);

// A family's parameter space: the fields of its params struct (visit_fields) with the values
// the search may give them, and the family's constraints.
struct ParamSpace {
  std::string family;
  std::vector<std::pair<std::string, std::vector<int>>> dims;
  // Whether a point is a candidate for this workload (register budget, enough parallel tasks).
  std::function<bool(const dwconv::Problem &, const SpaceTarget &, const std::map<std::string, int> &)> valid;
  std::function<std::string(const dwconv::Problem &, const SpaceTarget &)> default_params;
  // The cost model's analytic prior: the fraction of the family's attainable speed a point
  // should reach (register tile, latency hiding, staging), in (0, 1]. The search learns the
  // rest from this run's measurements.
  std::function<double(const dwconv::Problem &, const SpaceTarget &, const std::map<std::string, int> &)> efficiency;
  // Halide's autoschedulers that schedule this family's targets: the baselines of a tune run.
  std::vector<std::string> autoschedulers;
};
// Spaces for every schedule family: "x86", "arm_neon", "cuda". This build's runner measures
// host (x86) candidates; the others are searched the same way once a runner reaches them.
const ParamSpace &param_space(const std::string &family);
// The schedule family a Halide target string ("host" = this machine) is scheduled with, as the
// generator decides it: "cuda" (CUDA or OpenCL), "arm_neon" or "x86".
std::string family_of_target(const std::string &target);
// The target name a database record carries: for x86, "x86-64-<ISA level>" (avx512_zen4,
// avx512, avx2, sse41, baseline: the multi-target variant of the build it tunes, and the key the
// build generates that variant's parameters from); other targets as given.
std::string recorded_target(const std::string &target);

struct TuneOptions {
  double budget_s = 30;  // this workload's share of the run
  uint64_t seed = 1;
  bool resume = false;
  bool autoschedulers = true;  // measure the family's autoscheduler baselines (ParamSpace)
  // Parameters of an autoscheduler baseline, by name ("Adams2019" -> "beam_size=1").
  std::map<std::string, std::string> autoscheduler_params;
  double baseline_timeout_s = 180;  // one autoscheduler baseline, scheduling and timing
  std::string target;  // recorded target name, e.g. x86-64-avx512, arm-64-linux
  std::string commit;
  int finalists = 3;   // re-measured interleaved (with the default) at the end
  int final_rounds = 3;  // in this many processes: each point ranked by its median (final_standings)
  // Earlier tunings to start from (--warm-start: database records or distilled entries): the
  // best points of the same workload, target and thread count are measured again with this
  // code beside the default, and the search starts from the fastest. Records of other dwconv
  // commits in the database itself seed it the same way (their figures are not reused).
  std::vector<json> warm_start;
  int warm_start_points = 3;  // at most this many distinct points per workload
  MeasureOptions measure;  // where and how candidates are built and run (threads included)
};

struct Progress {
  std::function<void(const std::string &workload, const json &record, int trial, double best_gflops,
                     double default_gflops, double elapsed_s)>
      on_trial;
};

struct TuneResult {
  std::string workload, best_params;
  // Figures of the final rounds, on the scale of the default in the winner's standing round
  // (final_standings: each point's median over the rounds relative to the default).
  // best_at_60s_gflops: the best candidate of the workload's first 60 s, re-measured in the final
  // interleaved rounds with the winner (convergence).
  double best_gflops = 0, default_gflops = 0, best_at_60s_gflops = 0;
  std::map<std::string, double> autoscheduler_gflops;  // 0 when it failed
  int trials = 0;
  bool emulated = false;  // measured under qemu: right or wrong, but the times mean nothing
  double baseline_s = 0;  // seconds the autoscheduler baselines took (not part of the budget)
};

// Measures the baselines (default, autoschedulers) unless the database already has them,
// then searches: a seeded evolutionary loop whose proposals a cost model (analytic prior +
// ridge regression on this run's measurements) ranks before the best are measured. Every
// measurement is appended to db. The finalists are re-measured interleaved at the end.
TuneResult tune_workload(const dwconv_bench::NamedShape &shape, Db &db, const TuneOptions &o, const Progress &progress);

}  // namespace dwconv_tuner
