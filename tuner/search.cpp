#include "search.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <iostream>
#include <set>
#include <sstream>
#include <tuple>

#include "arm_neon.h"
#include "cpu_model.h"
#include "cuda.h"
#include "isa_params.h"  // kX86Levels
#include "x86.h"

namespace dwconv_tuner {

namespace {

using Clock = std::chrono::steady_clock;

dwconv::WorkloadShape shape_of(const dwconv::Problem &p) {
  dwconv::WorkloadShape w;
  w.n = p.input.n, w.h = p.input.h, w.w = p.input.w, w.c = p.input.c, w.m = p.filter.m;
  w.kh = p.filter.kh, w.kw = p.filter.kw, w.stride_h = p.params.stride_h, w.stride_w = p.params.stride_w;
  w.dilation_h = p.params.dilation_h, w.dilation_w = p.params.dilation_w;
  w.out_h = p.output.h, w.out_w = p.output.w;
  return w;
}

// The tuner times one thread, but the kernel it picks serves every thread count: a CPU point
// needs at least 8 parallel tasks (or as many as the shape allows), so that 2 threads get
// balanced work, and no more than tasks of >= 50 kFLOP allow (beyond 8): smaller tasks cost
// nothing at one thread but a task claim each at two (7x7x960 in 28 tasks of 30 kFLOP: 82
// GFLOP/s at 1 thread, 75 at 2; in 14: 79 and 99).
bool enough_tasks(const dwconv::Problem &p, int co_tile, int rows_per_task, int channel_tiles_per_task) {
  const dwconv::WorkloadShape w = shape_of(p);
  const long long tasks = dwconv::cpu_tasks(w, co_tile, rows_per_task, channel_tiles_per_task);
  const long long most = std::max<long long>(8, static_cast<long long>(dwconv_bench::flops(p) / 50e3));
  return tasks >= std::min<long long>(8, dwconv::cpu_tasks(w, co_tile, 1, 1)) && tasks <= most;
}

// A family's search dimensions: the fields of its params struct that have a search range
// (visit_fields), fewest values first, the order the coordinate descent visits them, so that a
// short budget (batch8: ~30 candidates in 34 s) still tries every dimension once.
template <class P>
std::vector<std::pair<std::string, std::vector<int>>> search_dims() {
  P p;
  std::vector<std::pair<std::string, std::vector<int>>> dims;
  dwconv::visit_fields(p, [&](const char *name, auto &, dwconv::SearchRange range) {
    if (range.size() > 0) dims.emplace_back(name, std::vector<int>(range));
  });
  std::stable_sort(dims.begin(), dims.end(), [](const auto &a, const auto &b) { return a.second.size() < b.second.size(); });
  return dims;
}

// A point of the search as its params struct (fields it does not name keep their defaults).
template <class P>
P params_of(const std::map<std::string, int> &v) {
  P p;
  dwconv::visit_fields(p, [&](const char *name, auto &field, dwconv::SearchRange) {
    const auto it = v.find(name);
    if (it != v.end()) field = static_cast<std::remove_reference_t<decltype(field)>>(it->second);
  });
  return p;
}

// A family's space from its params struct P and its rules on a typed point.
template <class P>
struct FamilyRules {
  const char *family;
  bool (*valid)(const dwconv::Problem &, const SpaceTarget &, const P &);
  P (*defaults)(const dwconv::WorkloadShape &, const SpaceTarget &);
  double (*efficiency)(const dwconv::Problem &, const SpaceTarget &, const P &);
  std::vector<std::string> autoschedulers;
};

template <class P>
ParamSpace make_space(const FamilyRules<P> &r) {
  ParamSpace s;
  s.family = r.family;
  s.dims = search_dims<P>();
  s.valid = [valid = r.valid](const dwconv::Problem &p, const SpaceTarget &t, const std::map<std::string, int> &v) {
    return valid(p, t, params_of<P>(v));
  };
  s.default_params = [defaults = r.defaults](const dwconv::Problem &p, const SpaceTarget &t) {
    return dwconv::params_to_string(defaults(shape_of(p), t));
  };
  s.efficiency = [efficiency = r.efficiency](const dwconv::Problem &p, const SpaceTarget &t,
                                             const std::map<std::string, int> &v) {
    return efficiency(p, t, params_of<P>(v));
  };
  s.autoschedulers = r.autoschedulers;
  return s;
}

// x86: 32 vector registers on AVX-512, 16 on AVX2 and SSE (each ISA level is tuned on its own):
// the accumulators of a register tile stay within 3/4 of them so that input vectors and some
// filter vectors still fit.
bool x86_valid(const dwconv::Problem &p, const SpaceTarget &t, const dwconv::X86Params &x) {
  const int acc = x.vectors * x.tile_w * x.tile_h;
  // Looping over the filter rows changes nothing without unrolled taps or with one row: only
  // one of such a pair of identical kernels is measured.
  const bool distinct = !x.loop_tap_rows || (x.unroll_taps && p.filter.kh > 1);
  return acc >= 1 && acc <= t.max_accumulators && distinct &&
         enough_tasks(p, t.lanes * x.vectors, x.rows_per_task, x.channel_tiles_per_task);
}

dwconv::X86Params x86_defaults(const dwconv::WorkloadShape &w, const SpaceTarget &t) {
  return dwconv::default_x86_params(&w, t.lanes);
}

double x86_efficiency(const dwconv::Problem &p, const SpaceTarget &t, const dwconv::X86Params &x) {
  const double acc = x.vectors * x.tile_w * x.tile_h;
  double eff = std::min(acc, 8.0) / 8.0;  // 8 independent FMA chains cover latency x ports
  if (acc > t.max_accumulators) eff *= 0.3;
  // M <= 2 is fastest reading the input in place (the padding selects partitioned away), all
  // channel tiles at each column tile (contiguous rows); M > 2 needs the replicated input
  // staged, in whole chunks of lcm(M, 16) channels (x86.cpp: staged_chunk).
  const int m = p.filter.m, stage = x.stage_input;
  const bool outer = x.channel_tiles_outer;
  if (m > 2 && stage == 0) eff *= 0.4;
  if (m > 2 && stage != 0 && dwconv::staged_chunk(x, m, t.lanes) == 0) eff *= 0.4;  // a gather per staged vector
  if (m <= 2 && stage != 0) eff *= 0.7;
  if (stage == 0 && outer) eff *= 0.9;
  if (stage == 2 && !outer) eff *= 0.7;
  if (!x.unroll_taps) eff *= 0.8;
  return eff;
}

// ARM NEON: the stride-1 register tile and the general one each within AArch64's 32 vector
// registers, as the schedule accepts them (larger tiles than the prior's budget are slow, not
// invalid).
bool arm_neon_valid(const dwconv::Problem &p, const SpaceTarget &t, const dwconv::ArmNeonParams &x) {
  return dwconv::arm_neon_params_problem(x).empty() &&
         enough_tasks(p, t.lanes * x.vectors, x.rows_per_task, x.channel_tiles_per_task);
}

dwconv::ArmNeonParams arm_neon_defaults(const dwconv::WorkloadShape &w, const SpaceTarget &) {
  return dwconv::default_arm_neon_params(&w, w.kw, w.kh);
}

// NEON: 2 FMA pipes of 4-cycle latency (Neoverse N1, Cortex-A76) want >= 8 independent
// accumulators; no gathers, so M > 1 needs the staged input; loads are the limit, which a
// taller tile (shared input rows) relieves.
double arm_neon_efficiency(const dwconv::Problem &p, const SpaceTarget &t, const dwconv::ArmNeonParams &x) {
  const bool unit = p.params.stride_w == 1 && p.params.stride_h == 1 && p.params.dilation_w == 1 &&
                    p.params.dilation_h == 1 && x.specialize_strides;
  const int tile_h = unit ? x.s1_tile_h : x.tile_h;
  const double acc = unit ? x.s1_vectors * x.s1_tile_w * x.s1_tile_h : x.vectors * x.tile_w * x.tile_h;
  double eff = std::min(acc, 8.0) / 8.0;
  if (acc > t.max_accumulators) eff *= 0.3;
  if (tile_h > 1 && unit) eff *= 1.1;
  if (p.filter.m > 1 && !x.stage_input) eff *= 0.4;
  if (!x.specialize_strides) eff *= 0.5;
  if (!x.unroll_taps) eff *= 0.8;
  return std::min(eff, 1.0);
}

// CUDA: what the schedule accepts for this kernel size (threads per block, shared memory),
// staging only where a staged kernel serves the shape (elsewhere it fails at run time), in
// whole warps.
bool cuda_valid(const dwconv::Problem &p, const SpaceTarget &, const dwconv::CudaParams &x) {
  const int threads = x.threads_co * x.threads_x * x.threads_y;
  const dwconv::WorkloadShape w = shape_of(p);
  return threads % 32 == 0 && dwconv::cuda_params_problem(x, w.kw, w.kh).empty() &&
         (!x.stage_input ||
          dwconv::cuda_staging_serves(w.stride_w, w.stride_h, w.dilation_w, w.dilation_h, w.kw, w.kh));
}

dwconv::CudaParams cuda_defaults(const dwconv::WorkloadShape &w, const SpaceTarget &) {
  return dwconv::default_cuda_params(&w);
}

// CUDA: memory-bound on most depthwise shapes; enough warps in flight per SM (blocks of
// 128-512 threads), a warp's channels contiguous (coalesced), several outputs per thread for
// register reuse of the taps.
double cuda_efficiency(const dwconv::Problem &p, const SpaceTarget &, const dwconv::CudaParams &x) {
  const int threads = x.threads_co * x.threads_x * x.threads_y;
  double eff = threads >= 128 && threads <= 512 ? 1.0 : 0.7;
  if (x.threads_co < 32) eff *= 0.6;  // a warp spans several pixels: split lines
  const int outputs = x.co_per_thread * x.tile_x * x.tile_y;
  eff *= outputs < 2 ? 0.7 : outputs > 16 ? 0.5 : 1.0;
  const long long cm = p.input.c * p.filter.m;
  if (x.threads_co * x.co_per_thread > 2 * cm) eff *= 0.5;  // idle channel lanes
  if (!x.unroll_taps) eff *= 0.8;
  return eff;
}

}  // namespace

namespace {
Halide::Target halide_target(const std::string &target) {
  return target == "host" ? Halide::get_host_target() : Halide::Target(target);
}
}  // namespace

std::string family_of_target(const std::string &target) {
  const Halide::Target t = halide_target(target);
  // The GPU schedule is backend neutral: an OpenCL target (pocl on a CPU included) runs it too.
  if (t.has_feature(Halide::Target::CUDA) || t.has_feature(Halide::Target::OpenCL)) return "cuda";
  return t.arch == Halide::Target::ARM ? "arm_neon" : "x86";
}

std::string recorded_target(const std::string &target) {
  return family_of_target(target) == "x86" ? kX86RecordedPrefix + dwconv::x86_isa_level(halide_target(target)) : target;
}

SpaceTarget space_target(const std::string &target) {
  const Halide::Target t = halide_target(target);
  const std::string family = family_of_target(target);
  if (family == "x86") return {t.natural_vector_size<float>(), dwconv::x86_max_accumulators(t)};
  if (family == "arm_neon") return {dwconv::arm_neon_lanes(), dwconv::arm_neon_max_accumulators()};
  return {};  // CUDA: no register tile of vectors
}

const ParamSpace &param_space(const std::string &family) {
  static const ParamSpace x86 = make_space<dwconv::X86Params>(
                              {"x86", x86_valid, x86_defaults, x86_efficiency, {"Mullapudi2016", "Adams2019", "Li2018"}}),
                          arm = make_space<dwconv::ArmNeonParams>({"arm_neon", arm_neon_valid, arm_neon_defaults,
                                                                   arm_neon_efficiency,
                                                                   {"Mullapudi2016", "Adams2019", "Li2018"}}),
                          cuda = make_space<dwconv::CudaParams>(
                              {"cuda", cuda_valid, cuda_defaults, cuda_efficiency, {"Anderson2021", "Li2018"}});
  if (family == "x86") return x86;
  if (family == "arm_neon") return arm;
  if (family == "cuda") return cuda;
  throw std::invalid_argument("no parameter space for schedule family '" + family + "' in this tuner");
}

namespace {

// Cost model: the family's analytic prior (ParamSpace::efficiency) plus a ridge regression of
// the prior's error on features of the parameters (each dimension's value, log2 of it when the
// values are powers or counts, an indicator per value of a dimension with few values), refit
// after every measurement of this workload. Predicts log microseconds.
class CostModel {
 public:
  CostModel(const dwconv::Problem &p, const ParamSpace &space, const SpaceTarget &target)
      : problem_(p), space_(space), target_(target), flops_(dwconv_bench::flops(p)) {}

  std::vector<double> features(const std::map<std::string, int> &v) const {
    std::vector<double> f = {1.0};
    for (const auto &[name, values] : space_.dims) {
      const int x = v.at(name);
      if (values.size() <= 3) {
        for (size_t k = 1; k < values.size(); k++) f.push_back(x == values[k] ? 1.0 : 0.0);
      } else {
        f.push_back(std::log2(1.0 + x));
      }
    }
    return f;
  }

  double prior(const std::map<std::string, int> &v) const {
    const double eff = std::max(1e-3, space_.efficiency(problem_, target_, v));
    return std::log(flops_ / (50e3 * eff));  // log microseconds at ~50 GFLOP/s for eff = 1
  }

  double predict(const std::map<std::string, int> &v) const {
    double y = prior(v);
    if (!w_.empty()) {
      auto f = features(v);
      for (size_t i = 0; i < f.size(); i++) y += w_[i] * f[i];
    }
    return y;
  }

  void add(const std::map<std::string, int> &v, double us) {
    xs_.push_back(features(v));
    ys_.push_back(std::log(us) - prior(v));
    if (xs_.size() >= 4) fit();
  }

 private:
  void fit() {
    const size_t d = xs_[0].size();
    std::vector<std::vector<double>> a(d, std::vector<double>(d + 1, 0.0));
    for (size_t k = 0; k < xs_.size(); k++)
      for (size_t i = 0; i < d; i++) {
        for (size_t j = 0; j < d; j++) a[i][j] += xs_[k][i] * xs_[k][j];
        a[i][d] += xs_[k][i] * ys_[k];
      }
    for (size_t i = 0; i < d; i++) a[i][i] += 1.0;  // ridge
    for (size_t i = 0; i < d; i++) {                 // Gauss-Jordan, SPD so no pivoting needed
      for (size_t r = 0; r < d; r++) {
        if (r == i) continue;
        const double f = a[r][i] / a[i][i];
        for (size_t c = i; c <= d; c++) a[r][c] -= f * a[i][c];
      }
    }
    w_.assign(d, 0.0);
    for (size_t i = 0; i < d; i++) w_[i] = a[i][d] / a[i][i];
  }

  const dwconv::Problem &problem_;
  const ParamSpace &space_;
  const SpaceTarget target_;
  double flops_;
  std::vector<std::vector<double>> xs_;
  std::vector<double> ys_;
  std::vector<double> w_;
};

json make_record(const std::string &workload, const TuneOptions &o, const Candidate &c, const Measurement &m,
                 double flops, bool final) {
  return {{"workload", workload},
          {"target", o.target},
          {"scheduler", c.scheduler},
          {"params", c.params},
          {"is_default", c.is_default},
          {"status", m.status},
          {"error", m.error},
          {"median_us", m.median_us},
          {"min_us", m.min_us},
          {"max_us", m.max_us},
          {"gflops", m.status == "ok" && m.median_us > 0 ? flops / (m.median_us * 1e3) : 0.0},
          {"threads", o.measure.threads},
          {"final", final},
          // Emulated (qemu): checked against the naive loop, times not meaningful; db distill
          // leaves such records out.
          {"timing", m.emulated ? "emulated" : "measured"},
          {"halide", halide_version()},
          // The runner's CPU (a remote one over ssh); this machine's for a candidate never run.
          {"cpu", m.cpu.empty() ? cpu_model() : m.cpu},
          {"commit", o.commit},
          {"timestamp", now_iso8601()}};
}

// One workload's tuning: its state in one place and one method per phase, in the order run()
// calls them. Every measurement is appended to the database as it arrives.
class TuningRun {
 public:
  TuningRun(const dwconv_bench::NamedShape &shape, Db &db, const TuneOptions &o, const Progress &progress)
      : shape_(shape), p_(shape.problem), db_(db), o_(o), mo_(o.measure), progress_(progress),
        space_(param_space(family_of_target(o.measure.target))), st_(space_target(o.measure.target)),
        key_(dwconv::workload_key(p_)), flops_(dwconv_bench::flops(p_)),
        dflt_(params_string(parse_params(space_.default_params(p_, st_)))), dflt_values_(parse_params(dflt_)),
        final_rounds_(std::max(1, o.final_rounds)), jobs_(build_jobs(o.measure)),
        // The CPU the candidates run on: this one, unless a runner over ssh measures them
        // elsewhere (known only from its results; its records are then not told apart by CPU).
        run_cpu_(o.measure.runner.rfind("ssh://", 0) == 0 ? "" : cpu_model()), model_(p_, space_, st_) {
    res_.workload = key_;
  }

  TuneResult run() {
    // The naive-loop reference first: a large workload's takes seconds, which would otherwise
    // be charged to its first candidate.
    prepare(p_, mo_);
    start_ = Clock::now();
    read_history();
    if (finished_before()) return res_;
    measure_starting_points();
    measure_autoscheduler_baselines();
    descend();
    evolve();
    run_final_rounds();
    res_.trials = trial_;
    return res_;
  }

 private:
  // A search batch's results: each on the anchor's scale (as measured when there is no
  // anchor), and the anchor's own median in the batch (0 if none).
  struct Anchored {
    std::vector<Measurement> raw, ranked;
    double default_us = 0;
  };

  // Seconds since the search started (the autoscheduler baselines are not charged to it).
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  double best_gflops() const { return measured_.empty() ? 0.0 : flops_ / (measured_.front().first * 1e3); }
  // Seconds a wave of candidates costs (jobs_ compiled at once, then timed).
  double wave_cost() const { return cost_n_ ? cost_s_ / cost_n_ : 2.0; }
  // Search seconds left once the final rounds (finalists + default, compiled and timed again,
  // jobs_ at a time) are paid for.
  double time_left() const {
    const int final_waves = final_rounds_ * int((o_.finalists + 1 + jobs_ - 1) / jobs_);
    return o_.budget_s - elapsed() - final_waves * wave_cost();
  }

  // Whether a point names exactly this schedule's knobs (the default's).
  bool same_knobs(const std::map<std::string, int> &v) const {
    return v.size() == dflt_values_.size() && std::equal(v.begin(), v.end(), dflt_values_.begin(),
                                                         [](const auto &a, const auto &b) { return a.first == b.first; });
  }

  static Measurement scaled(Measurement m, double f) {
    m.median_us *= f, m.min_us *= f, m.max_us *= f;
    return m;
  }

  // An autoscheduler baseline with its own parameters from the command line.
  Candidate baseline(const std::string &as) const {
    auto ap = o_.autoscheduler_params.find(as);
    return Candidate{as, ap == o_.autoscheduler_params.end() ? "" : ap->second, false};
  }

  // Appends a measurement to the database. default_us: the default's median in the same batch
  // (the anchor; 0 when not timed beside it).
  void record(const Candidate &c, const Measurement &m, bool final, double default_us = 0) {
    json r = make_record(key_, o_, c, m, flops_, final);
    if (default_us > 0) r["default_us"] = default_us;
    std::string err;
    if (!db_.append(r, &err)) throw std::runtime_error(err);
    trial_++;
    if (progress_.on_trial) progress_.on_trial(shape_.name, r, trial_, best_gflops(), res_.default_gflops, elapsed());
  }

  // A right candidate of dwconv's schedule joins the ranking and the cost model.
  void note_ok(const Candidate &c, const Measurement &m) {
    if (c.scheduler != "dwconv" || m.status != "ok") return;
    measured_.emplace_back(m.median_us, c.params);
    std::sort(measured_.begin(), measured_.end());
    model_.add(parse_params(c.params), m.median_us);
    if (elapsed() <= 60 && (at60_params_.empty() || m.median_us < at60_us_)) {
      at60_params_ = c.params;
      at60_us_ = m.median_us;
    }
  }

  // A point of an earlier tuning (another commit here, a --warm-start file) that can seed this one.
  void add_warm(const json &r) {
    if (r.value("workload", "") != key_ || r.value("target", "") != o_.target ||
        r.value("threads", 0) != mo_.threads || r.value("scheduler", "dwconv") != "dwconv" ||
        r.value("status", "ok") != "ok" || r.value("timing", "measured") == "emulated")
      return;
    const std::map<std::string, int> v = parse_params(r.value("params", ""));
    // Only points with this schedule's knobs (an older schedule's may differ) that are valid here.
    if (!same_knobs(v) || !space_.valid(p_, st_, v)) return;
    warm_.emplace_back(r.value("gflops", 0.0), params_string(v));
  }

  std::vector<Measurement> timed_measure(const std::vector<Candidate> &batch, const MeasureOptions &opts) {
    const double t0 = elapsed();
    std::vector<Measurement> ms = measure(p_, batch, opts);
    cost_s_ += elapsed() - t0;
    const long compiled = std::count_if(batch.begin(), batch.end(), [](const Candidate &c) { return !c.reuse_build; });
    cost_n_ += int((compiled + jobs_ - 1) / jobs_);
    return ms;
  }

  // A search batch timed beside the anchor: the default, compiled once (Candidate::reuse_build)
  // and timed in every batch, so that candidates of different batches rank by their time
  // relative to it, on the scale of anchor_us_ (its first figure). Batches run in new processes
  // minutes apart, and the same code's speed moves between processes by more than the gains
  // the search ranks (docs/tuning.md, "the anchor"). Host JIT runs only: a remote runner would
  // build the anchor again for every batch (anchor_us_ 0 = no anchor).
  Anchored anchored_measure(std::vector<Candidate> batch) {
    Anchored a;
    if (anchor_us_ > 0) batch.insert(batch.begin(), Candidate{"dwconv", dflt_, true, true});
    a.raw = timed_measure(batch, mo_);
    double f = 1;
    if (anchor_us_ > 0) {
      if (a.raw[0].status == "ok") {
        a.default_us = a.raw[0].median_us;
        f = anchor_us_ / a.default_us;
      }
      a.raw.erase(a.raw.begin());
    }
    for (const Measurement &m : a.raw) a.ranked.push_back(scaled(m, f));
    return a;
  }

  // Phase 1: what the database and --warm-start files know about this workload. Records of
  // this commit on this CPU are resumed (with --resume) or count as baselines already run;
  // records measured with other code (another commit) or elsewhere (another CPU of a merged
  // database) are not ranked beside this machine's figures but seed the search.
  void read_history() {
    for (const json &r : o_.warm_start) add_warm(r);
    int other_code = 0, other_knobs = 0;
    std::vector<std::tuple<Candidate, Measurement, double>> resumed;  // (candidate, figures, default_us)
    for (const json &r : db_.records()) {
      if (r["workload"] != key_ || r["target"] != o_.target || r["threads"] != mo_.threads) continue;
      if (r["commit"] != o_.commit || (!run_cpu_.empty() && r.value("cpu", "") != run_cpu_)) {
        other_code++;
        add_warm(r);
        continue;
      }
      if (r["scheduler"] != "dwconv") {
        have_baseline_.insert(r["scheduler"]);
        double &g = res_.autoscheduler_gflops[r["scheduler"]];
        if (r["status"] == "ok") g = std::max(g, r["gflops"].get<double>());
        continue;
      }
      if (!o_.resume) continue;
      const std::string ps = r["params"];
      if (!same_knobs(parse_params(ps))) {
        other_knobs++;
        continue;
      }
      seen_.insert(ps);
      Candidate c{"dwconv", ps, r.value("is_default", false)};
      Measurement m{r["status"], r["median_us"], r["min_us"], r["max_us"], "", r.value("timing", "") == "emulated"};
      if (c.is_default && m.status == "ok") {
        res_.default_gflops = std::max(res_.default_gflops, r["gflops"].get<double>());
        // The anchor's scale: the default's first figure (the first batch of the earlier run).
        if (anchor_us_ == 0 && mo_.runner.empty() && !r["final"].get<bool>()) anchor_us_ = m.median_us;
      }
      resumed.emplace_back(c, m, r.value("default_us", 0.0));
      if (r["final"].get<bool>()) resumed_finals_.push_back(r);
    }
    // Anchored records ranked as the run that measured them did (relative to the default).
    for (const auto &[c, m, default_us] : resumed)
      note_ok(c, default_us > 0 && anchor_us_ > 0 ? scaled(m, anchor_us_ / default_us) : m);
    if (other_code > 0)
      std::cerr << "[tuning] " << shape_.name << ": " << other_code
                << " record(s) of other dwconv commits or CPUs ignored (measured with other code or elsewhere)\n";
    if (other_knobs > 0)
      std::cerr << "[tuning] " << shape_.name << ": " << other_knobs
                << " record(s) of this commit whose params do not name this schedule's knobs ignored\n";
  }

  // Resumed after this workload's final rounds had all run: its result stands (a run killed in
  // the middle of its fifth workload does not search the first four again).
  bool finished_before() {
    const long rounds = std::count_if(resumed_finals_.begin(), resumed_finals_.end(), [](const json &r) {
      return r.value("is_default", false) && r.value("status", "") == "ok" && r.value("default_us", 0.0) > 0;
    });
    if (rounds < final_rounds_) return false;
    conclude(resumed_finals_, 0, {});
    std::cerr << "[tuning] " << shape_.name << ": finished before (" << rounds << " final rounds in the database)\n";
    return true;
  }

  // Phase 2: the heuristic default and the best points of earlier tunings (fastest first, as
  // they measured there), timed interleaved in one batch. The default's figure sets the anchor.
  void measure_starting_points() {
    std::vector<Candidate> first;
    if (!seen_.count(dflt_)) first.push_back({"dwconv", dflt_, true});
    std::stable_sort(warm_.begin(), warm_.end(), [](const auto &a, const auto &b) { return a.first > b.first; });
    int warm_points = 0;
    for (const auto &[g, ps] : warm_) {
      if (warm_points >= o_.warm_start_points) break;
      if (ps == dflt_ || seen_.count(ps) ||
          std::any_of(first.begin(), first.end(), [&](const Candidate &c) { return c.params == ps; }))
        continue;
      first.push_back({"dwconv", ps, false});
      warm_points++;
    }
    if (first.empty()) return;
    std::vector<Measurement> ms = timed_measure(first, mo_);
    for (size_t i = 0; i < first.size(); i++) {
      seen_.insert(first[i].params);
      if (first[i].is_default && ms[i].status == "ok") {
        res_.default_gflops = flops_ / (ms[i].median_us * 1e3);
        if (mo_.runner.empty()) anchor_us_ = ms[i].median_us;
      }
      note_ok(first[i], ms[i]);
      record(first[i], ms[i], false);
    }
  }

  // Phase 3: Halide's autoschedulers, once per database, each under --baseline-timeout. Their
  // time comes on top of the budget (one can take tens of seconds to schedule a shape): the
  // search clock restarts after them.
  void measure_autoscheduler_baselines() {
    const auto baselines_start = Clock::now();
    for (const std::string &as : o_.autoschedulers ? space_.autoschedulers : std::vector<std::string>{}) {
      if (have_baseline_.count(as)) continue;
      const Candidate c = baseline(as);
      MeasureOptions amo = mo_;
      amo.timeout_s = o_.baseline_timeout_s;
      Measurement m = measure(p_, {c}, amo)[0];
      res_.autoscheduler_gflops[as] = m.status == "ok" ? flops_ / (m.median_us * 1e3) : 0.0;
      record(c, m, false);
    }
    const auto took = Clock::now() - baselines_start;
    start_ += took;
    res_.baseline_s = std::chrono::duration<double>(took).count();
  }

  // Phase 4: coordinate descent from the fastest point so far (the default, or an earlier
  // tuning's): one parameter at a time (space_.dims order), its other values nearest first,
  // timed in one batch with the current point as the reference; the fastest becomes the current
  // point. Cheap local wins come first; the evolutionary search explores from the best points.
  void descend() {
    std::string point_s = measured_.empty() ? dflt_ : measured_.front().second;
    std::map<std::string, int> point = parse_params(point_s);
    for (const auto &[name, values] : space_.dims) {
      const auto at = std::find(values.begin(), values.end(), point[name]);
      const long here = at == values.end() ? 0 : long(at - values.begin());
      std::vector<int> others;
      for (int x : values)
        if (x != point[name]) others.push_back(x);
      std::stable_sort(others.begin(), others.end(), [&](int a, int b) {
        auto dist = [&](int x) { return std::labs(long(std::find(values.begin(), values.end(), x) - values.begin()) - here); };
        return dist(a) < dist(b);
      });
      std::vector<Candidate> batch;
      for (int x : others) {
        std::map<std::string, int> v = point;
        v[name] = x;
        const std::string ps = params_string(v);
        if (space_.valid(p_, st_, v) && !seen_.count(ps)) batch.push_back({"dwconv", ps, false});
      }
      // What the budget still allows (without an anchor, the current point is timed beside the
      // batch as its reference and costs one more).
      const bool reference = anchor_us_ == 0;
      const long fits = long(time_left() / wave_cost()) * jobs_ - (reference ? 1 : 0);
      if (fits < 1) break;
      if (long(batch.size()) > fits) batch.resize(size_t(fits));
      if (batch.empty()) continue;
      if (reference) batch.push_back({"dwconv", point_s, false});
      const Anchored ms = anchored_measure(batch);
      double best_us = 1e300;
      if (reference && ms.raw.back().status == "ok") best_us = ms.raw.back().median_us;
      for (const auto &[us, ps] : measured_)
        if (!reference && ps == point_s) best_us = us;
      for (size_t i = 0; i < batch.size() - (reference ? 1 : 0); i++) {
        seen_.insert(batch[i].params);
        note_ok(batch[i], ms.ranked[i]);
        record(batch[i], ms.raw[i], false, ms.default_us);
        if (ms.raw[i].status == "ok" && ms.ranked[i].median_us < best_us) {
          best_us = ms.ranked[i].median_us;
          point_s = batch[i].params;
          point = parse_params(point_s);
        }
      }
    }
  }

  // Phase 5: evolutionary search from the best points, proposals ranked by the cost model, one
  // per build job a round, every third round one random proposal to keep exploring.
  void evolve() {
    std::mt19937_64 rng(o_.seed ^ std::hash<std::string>()(key_));
    auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
    auto mutate = [&](std::map<std::string, int> v) {
      const int changes = 1 + (pick(3) == 0);
      for (int k = 0; k < changes; k++) {
        const auto &[name, values] = space_.dims[pick(space_.dims.size())];
        auto it = std::find(values.begin(), values.end(), v[name]);
        size_t idx = it == values.end() ? 0 : size_t(it - values.begin());
        if (pick(5) == 0) idx = pick(values.size());
        else idx = (pick(2) == 0 && idx > 0) ? idx - 1 : std::min(values.size() - 1, idx + 1);
        v[name] = values[idx];
      }
      return v;
    };
    while (time_left() > 1.5 * wave_cost()) {
      std::vector<std::map<std::string, int>> parents;
      for (size_t i = 0; i < std::min<size_t>(4, measured_.size()); i++) parents.push_back(parse_params(measured_[i].second));
      if (parents.empty()) parents.push_back(parse_params(dflt_));
      std::vector<std::pair<double, std::string>> proposals;
      std::set<std::string> proposed;
      for (int tries = 0; tries < 400 && proposals.size() < 48; tries++) {
        std::map<std::string, int> v = parents[pick(parents.size())];
        if (parents.size() > 1 && pick(3) == 0) {  // crossover
          const auto &other = parents[pick(parents.size())];
          for (auto &[k, x] : v)
            if (pick(2)) x = other.at(k);
        }
        v = mutate(v);
        if (!space_.valid(p_, st_, v)) continue;
        std::string s = params_string(v);
        if (seen_.count(s) || proposed.count(s)) continue;
        proposed.insert(s);
        proposals.emplace_back(model_.predict(v), s);
      }
      if (proposals.empty()) break;
      std::sort(proposals.begin(), proposals.end());
      // The random proposal takes the last favourite's place when there are several.
      const bool explore = trial_ % 3 == 2 && proposals.size() > 1;
      const size_t favourites = std::min(proposals.size() - (explore ? 1 : 0),
                                         explore ? std::max<size_t>(1, size_t(jobs_) - 1) : size_t(jobs_));
      std::vector<Candidate> batch;
      for (size_t i = 0; i < favourites; i++) batch.push_back({"dwconv", proposals[i].second, false});
      if (explore) batch.push_back({"dwconv", proposals[favourites + pick(proposals.size() - favourites)].second, false});
      const Anchored ms = anchored_measure(batch);
      for (size_t i = 0; i < batch.size(); i++) {
        seen_.insert(batch[i].params);
        note_ok(batch[i], ms.ranked[i]);
        record(batch[i], ms.raw[i], false, ms.default_us);
      }
    }
  }

  // The finalists: the best few, the default, and the best of the first 60 s (convergence).
  std::vector<Candidate> finalists() const {
    std::vector<Candidate> finals;
    auto in_finals = [&](const std::string &params) {
      return std::any_of(finals.begin(), finals.end(), [&](const Candidate &c) { return c.params == params; });
    };
    // (A point can be in measured_ more than once: resumed final records beside its first figure.)
    for (size_t i = 0; i < measured_.size() && (int)finals.size() < o_.finalists; i++)
      if (!in_finals(measured_[i].second))
        finals.push_back({"dwconv", measured_[i].second, measured_[i].second == dflt_,
                          measured_[i].second == dflt_ && anchor_us_ > 0});
    if (!in_finals(dflt_)) finals.push_back({"dwconv", dflt_, true, anchor_us_ > 0});
    if (!at60_params_.empty() && !in_finals(at60_params_)) finals.push_back({"dwconv", at60_params_, false});
    return finals;
  }

  // Phase 6: the finalists and the default re-measured interleaved, in final_rounds_ processes
  // (compiled again in each); each point ranks by the median over the rounds of its time
  // relative to the round's default (final_standings, as db distill ranks them), because within
  // one process that ratio is steady and between processes it moves by several percent
  // (docs/tuning.md, "that final round"). The autoscheduler baselines that ran join the first round,
  // so that tuned vs autoscheduler is also a ratio of one interleaved run; that round is one
  // batch under one timeout, each baseline allowed as long as it was alone.
  void run_final_rounds() {
    const std::vector<Candidate> finals = finalists();
    MeasureOptions fmo = mo_;
    fmo.repeats = 11;
    std::vector<json> final_records;
    double round0_default_us = 0;
    std::map<std::string, double> baseline_us;
    for (int round = 0; round < final_rounds_; round++) {
      std::vector<Candidate> batch = finals;
      if (round == 0)
        for (const auto &[as, g] : res_.autoscheduler_gflops)
          if (g > 0) batch.push_back(baseline(as));
      const size_t baselines = batch.size() - finals.size();
      fmo.timeout_s = mo_.timeout_s + double(baselines) * o_.baseline_timeout_s;
      const auto round_start = Clock::now();
      std::vector<Measurement> fm = measure(p_, batch, fmo);
      res_.baseline_s += std::chrono::duration<double>(Clock::now() - round_start).count() * double(baselines) /
                         double(batch.size());
      res_.emulated = res_.emulated || (!fm.empty() && fm[0].emulated);
      double default_us = 0;
      for (size_t i = 0; i < batch.size(); i++)
        if (batch[i].is_default && fm[i].status == "ok") default_us = fm[i].median_us;
      if (round == 0) round0_default_us = default_us;
      for (size_t i = 0; i < batch.size(); i++) {
        record(batch[i], fm[i], true, default_us);
        if (batch[i].scheduler == "dwconv") final_records.push_back(db_.records().back());
        else if (fm[i].status == "ok") baseline_us[batch[i].scheduler] = fm[i].median_us;
        else res_.autoscheduler_gflops[batch[i].scheduler] = 0;
      }
    }
    conclude(final_records, round0_default_us, baseline_us);
  }

  // The result from final-round records (final_standings, as db distill ranks them), every
  // figure on the scale of the default in the winner's standing round; baseline_us: the
  // autoschedulers' times beside round0_default_us (the first round's default), put on that
  // scale too. Without a standing (the default failed in every round): the fastest right one,
  // unscaled.
  void conclude(const std::vector<json> &final_records, double round0_default_us,
                const std::map<std::string, double> &baseline_us) {
    std::vector<const json *> ptrs;
    for (const json &r : final_records) ptrs.push_back(&r);
    const auto standings = final_standings(ptrs);
    if (const FinalStanding *w = final_winner(standings)) {
      res_.best_params = w->record->at("params");
      res_.best_gflops = w->record->at("gflops").get<double>();
      res_.default_gflops = res_.best_gflops * w->ratio;
      auto at60 = standings.find(at60_params_);
      if (at60 != standings.end()) res_.best_at_60s_gflops = res_.default_gflops / at60->second.ratio;
      for (const auto &[as, us] : baseline_us)
        res_.autoscheduler_gflops[as] = round0_default_us > 0 ? res_.default_gflops * round0_default_us / us : 0.0;
      return;
    }
    for (const json &r : final_records)
      if (r["status"] == "ok" && (res_.best_gflops == 0 || r["gflops"].get<double>() > res_.best_gflops)) {
        res_.best_params = r["params"];
        res_.best_gflops = r["gflops"];
      }
  }

  // The workload and how it is tuned.
  const dwconv_bench::NamedShape &shape_;
  const dwconv::Problem &p_;
  Db &db_;
  const TuneOptions &o_;
  const MeasureOptions &mo_;
  const Progress &progress_;
  const ParamSpace &space_;
  const SpaceTarget st_;
  const std::string key_;
  const double flops_;
  const std::string dflt_;  // the default's params, one spelling (keys in order)
  const std::map<std::string, int> dflt_values_;
  const int final_rounds_;
  const long jobs_;
  const std::string run_cpu_;

  // What the run has learned.
  Clock::time_point start_;  // of the search, moved past the autoscheduler baselines
  TuneResult res_;
  CostModel model_;
  std::set<std::string> seen_;                             // params measured (or resumed)
  std::vector<std::pair<double, std::string>> measured_;   // (median_us, params) of right ones, fastest first
  std::vector<std::pair<double, std::string>> warm_;       // (GFLOP/s there, params) of earlier tunings
  std::vector<json> resumed_finals_;                       // final-round records already in the database
  std::set<std::string> have_baseline_;                    // autoschedulers this database has run
  int trial_ = 0;
  std::string at60_params_;  // the best of the first 60 s, re-measured with the finalists
  double at60_us_ = 0;
  double anchor_us_ = 0;     // the anchor's scale (the default's first figure); 0: no anchor
  double cost_s_ = 0;        // seconds and waves the search's measurements took
  int cost_n_ = 0;
};

}  // namespace

TuneResult tune_workload(const dwconv_bench::NamedShape &shape, Db &db, const TuneOptions &o, const Progress &progress) {
  return TuningRun(shape, db, o, progress).run();
}

}  // namespace dwconv_tuner
