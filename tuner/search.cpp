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

ParamSpace make_x86_space() {
  ParamSpace s;
  s.family = "x86";
  // In the order the coordinate descent visits them: fewest values first, so that a short
  // budget (batch8: ~30 candidates in 34 s) still tries every dimension once; the loop order
  // alone moved 8x56x56x128 from 32 to 42 GFLOP/s, and was the 6th of 8 dimensions visited.
  s.dims = {{"channel_tiles_outer", {0, 1}},
            {"unroll_taps", {0, 1}},
            {"stage_input", {0, 1, 2}},
            {"tile_h", {1, 2, 3}},
            {"vectors", {1, 2, 3, 4}},
            {"rows_per_task", {1, 2, 4, 8, 16}},
            {"channel_tiles_per_task", {0, 1, 2, 4, 8}},
            {"tile_w", {1, 2, 3, 4, 5, 6, 7, 8}}};
  // 32 vector registers on AVX-512, 16 on AVX2 and SSE (each ISA level is tuned on its own):
  // keep the accumulators of a register tile within 3/4 of them so that input vectors and some
  // filter vectors still fit.
  s.valid = [](const dwconv::Problem &p, const SpaceTarget &t, const std::map<std::string, int> &v) {
    const int acc = v.at("vectors") * v.at("tile_w") * v.at("tile_h");
    return acc >= 1 && acc <= t.max_accumulators &&
           enough_tasks(p, t.lanes * v.at("vectors"), v.at("rows_per_task"), v.at("channel_tiles_per_task"));
  };
  s.default_params = [](const dwconv::Problem &p, const SpaceTarget &t) {
    dwconv::WorkloadShape w = shape_of(p);
    return dwconv::to_string(dwconv::default_x86_params(&w, t.lanes));
  };
  s.efficiency = [](const dwconv::Problem &p, const SpaceTarget &t, const std::map<std::string, int> &v) {
    const double acc = v.at("vectors") * v.at("tile_w") * v.at("tile_h");
    double eff = std::min(acc, 8.0) / 8.0;  // 8 independent FMA chains cover latency x ports
    if (acc > t.max_accumulators) eff *= 0.3;
    // M <= 2 is fastest reading the input in place (the padding selects partitioned away), all
    // channel tiles at each column tile (contiguous rows); M > 2 needs the replicated input
    // staged, in whole chunks of lcm(M, 16) channels (x86.cpp: staged_chunk).
    const int m = p.filter.m, stage = v.at("stage_input");
    const bool outer = v.at("channel_tiles_outer");
    if (m > 2 && stage == 0) eff *= 0.4;
    if (m > 2 && stage != 0) {
      dwconv::X86Params x;
      x.stage_input = stage, x.vectors = v.at("vectors"), x.channel_tiles_per_task = v.at("channel_tiles_per_task");
      if (dwconv::staged_chunk(x, m, t.lanes) == 0) eff *= 0.4;  // a gather per staged vector
    }
    if (m <= 2 && stage != 0) eff *= 0.7;
    if (stage == 0 && outer) eff *= 0.9;
    if (stage == 2 && !outer) eff *= 0.7;
    if (!v.at("unroll_taps")) eff *= 0.8;
    return eff;
  };
  s.autoschedulers = {"Mullapudi2016", "Adams2019", "Li2018"};
  return s;
}

// ARM NEON: 32 x 128-bit registers; the stride-1 register tile and the general one each keep
// their accumulators within 24.
ParamSpace make_arm_neon_space() {
  ParamSpace s;
  s.family = "arm_neon";
  s.dims = {{"s1_vectors", {1, 2, 3, 4}}, {"s1_tile_w", {1, 2, 3, 4, 6}}, {"s1_tile_h", {1, 2, 3}},
            {"vectors", {1, 2, 3, 4}},    {"tile_w", {1, 2, 3, 4, 6}},    {"tile_h", {1, 2}},
            {"rows_per_task", {1, 2, 4, 8, 16}}, {"channel_tiles_per_task", {0, 1, 2, 4, 8}},
            {"specialize_strides", {0, 1}}, {"stage_input", {0, 1}}, {"unroll_taps", {0, 1}}};
  s.valid = [](const dwconv::Problem &p, const SpaceTarget &t, const std::map<std::string, int> &v) {
    return v.at("s1_vectors") * v.at("s1_tile_w") * v.at("s1_tile_h") <= t.max_accumulators &&
           v.at("vectors") * v.at("tile_w") * v.at("tile_h") <= t.max_accumulators &&
           enough_tasks(p, t.lanes * v.at("vectors"), v.at("rows_per_task"), v.at("channel_tiles_per_task"));
  };
  s.default_params = [](const dwconv::Problem &p, const SpaceTarget &) {
    dwconv::WorkloadShape w = shape_of(p);
    return dwconv::params_to_string(dwconv::default_arm_neon_params(&w, w.kw, w.kh));
  };
  // NEON: 2 FMA pipes of 4-cycle latency (Neoverse N1, Cortex-A76) want >= 8 independent
  // accumulators; no gathers, so M > 1 needs the staged input; loads are the limit, which a
  // taller tile (shared input rows) relieves.
  s.efficiency = [](const dwconv::Problem &p, const SpaceTarget &t, const std::map<std::string, int> &v) {
    const bool unit = p.params.stride_w == 1 && p.params.stride_h == 1 && p.params.dilation_w == 1 &&
                      p.params.dilation_h == 1 && v.at("specialize_strides");
    const std::string pre = unit ? "s1_" : "";
    const double acc = v.at(pre + "vectors") * v.at(pre + "tile_w") * v.at(pre + "tile_h");
    double eff = std::min(acc, 8.0) / 8.0;
    if (acc > t.max_accumulators) eff *= 0.3;
    if (v.at(pre + "tile_h") > 1 && unit) eff *= 1.1;
    if (p.filter.m > 1 && !v.at("stage_input")) eff *= 0.4;
    if (!v.at("specialize_strides")) eff *= 0.5;
    if (!v.at("unroll_taps")) eff *= 0.8;
    return std::min(eff, 1.0);
  };
  s.autoschedulers = {"Mullapudi2016", "Adams2019", "Li2018"};
  return s;
}

// CUDA: at most 1024 threads per block, whole warps.
ParamSpace make_cuda_space() {
  ParamSpace s;
  s.family = "cuda";
  s.dims = {{"threads_co", {8, 16, 32, 64}}, {"threads_x", {1, 2, 4, 8, 16}}, {"threads_y", {1, 2, 4, 8}},
            {"co_per_thread", {1, 2, 4}},    {"tile_x", {1, 2, 4}},            {"tile_y", {1, 2, 4}},
            {"stage_input", {0, 1}},         {"unroll_taps", {0, 1}}};
  s.valid = [](const dwconv::Problem &, const SpaceTarget &, const std::map<std::string, int> &v) {
    const int threads = v.at("threads_co") * v.at("threads_x") * v.at("threads_y");
    return threads % 32 == 0 && threads <= 1024;
  };
  s.default_params = [](const dwconv::Problem &p, const SpaceTarget &) {
    dwconv::WorkloadShape w = shape_of(p);
    return dwconv::params_to_string(dwconv::default_cuda_params(&w));
  };
  // CUDA: memory-bound on most depthwise shapes; enough warps in flight per SM (blocks of
  // 128-512 threads), a warp's channels contiguous (coalesced), several outputs per thread for
  // register reuse of the taps, shared-memory staging for stride 1-2.
  s.efficiency = [](const dwconv::Problem &p, const SpaceTarget &, const std::map<std::string, int> &v) {
    const int threads = v.at("threads_co") * v.at("threads_x") * v.at("threads_y");
    double eff = threads >= 128 && threads <= 512 ? 1.0 : 0.7;
    if (v.at("threads_co") < 32) eff *= 0.6;  // a warp spans several pixels: split lines
    const int outputs = v.at("co_per_thread") * v.at("tile_x") * v.at("tile_y");
    eff *= outputs < 2 ? 0.7 : outputs > 16 ? 0.5 : 1.0;
    const long long cm = p.input.c * p.filter.m;
    if (v.at("threads_co") * v.at("co_per_thread") > 2 * cm) eff *= 0.5;  // idle channel lanes
    if (v.at("stage_input") && (p.params.stride_w > 2 || p.params.dilation_w > 1)) eff *= 0.3;
    if (!v.at("unroll_taps")) eff *= 0.8;
    return eff;
  };
  s.autoschedulers = {"Anderson2021", "Li2018"};
  return s;
}

}  // namespace

namespace {
Halide::Target halide_target(const std::string &target) {
  return target == "host" ? Halide::get_host_target() : Halide::Target(target);
}
}  // namespace

std::string family_of_target(const std::string &target) {
  const Halide::Target t = halide_target(target);
  if (t.has_feature(Halide::Target::CUDA)) return "cuda";
  return t.arch == Halide::Target::ARM ? "arm_neon" : "x86";
}

std::string recorded_target(const std::string &target) {
  return family_of_target(target) == "x86" ? kX86RecordedPrefix + dwconv::x86_isa_level(halide_target(target)) : target;
}

SpaceTarget space_target(const std::string &target) {
  const Halide::Target t = halide_target(target);
  const std::string family = family_of_target(target);
  if (family == "x86") return {t.natural_vector_size<float>(), dwconv::x86_max_accumulators(t)};
  if (family == "arm_neon") return {4, 24};  // 32 x 128-bit registers
  return {};  // CUDA: no register tile of vectors
}

const ParamSpace &param_space(const std::string &family) {
  static const ParamSpace x86 = make_x86_space(), arm = make_arm_neon_space(), cuda = make_cuda_space();
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

}  // namespace

TuneResult tune_workload(const dwconv_bench::NamedShape &shape, Db &db, const TuneOptions &o, const Progress &progress) {
  const dwconv::Problem &p = shape.problem;
  const ParamSpace &space = param_space(family_of_target(o.measure.target));
  const SpaceTarget st = space_target(o.measure.target);
  const std::string key = dwconv::workload_key(p);
  const double flops = dwconv_bench::flops(p);
  // The naive-loop reference first: seed_big's (4 GFLOP) took 10 s, which priced its first
  // candidate at 25 s and left no budget for a search.
  prepare(p, o.measure);
  auto start = Clock::now();  // of the search: moved past the autoscheduler baselines below
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  const MeasureOptions &mo = o.measure;
  TuneResult res;
  res.workload = key;
  CostModel model(p, space, st);
  std::set<std::string> seen;
  std::vector<std::pair<double, std::string>> measured;  // (median_us, params) of ok candidates
  int trial = 0;
  // The best found within the first 60 s of this workload (convergence: re-measured with the
  // finalists, so that it compares with the winner in one interleaved run).
  std::string at60_params;
  double at60_us = 0;
  // The anchor: the default, timed in every search batch (compiled once, Candidate::reuse_build)
  // so that candidates of different batches are ranked by their time relative to it, scaled to
  // anchor_us (the default's first figure). A batch runs in a new child process minutes after
  // the last, and on this shared 2-core VM the same code's speed moves between them: mbv1_dw1's
  // best candidate of a 250 s search ran 68 us in its batch and 81 us twenty seconds later in
  // the final round, where the default ran 85 (1.04x, not the 1.17x ranked). Within one
  // process, three copies of a candidate time within 1-2% of each other. Host JIT runs only:
  // a remote runner would build the anchor again for every batch (0 = no anchor).
  double anchor_us = 0;

  auto best_gflops = [&] { return measured.empty() ? 0.0 : flops / (measured.front().first * 1e3); };
  // default_us: the default's median in the same batch (the anchor; 0 when not timed beside it).
  auto record = [&](const Candidate &c, const Measurement &m, bool final, double default_us = 0) {
    json r = make_record(key, o, c, m, flops, final);
    if (default_us > 0) r["default_us"] = default_us;
    std::string err;
    if (!db.append(r, &err)) throw std::runtime_error(err);
    trial++;
    if (progress.on_trial) progress.on_trial(shape.name, r, trial, best_gflops(), res.default_gflops, elapsed());
  };
  auto note_ok = [&](const Candidate &c, const Measurement &m) {
    if (c.scheduler != "dwconv" || m.status != "ok") return;
    measured.emplace_back(m.median_us, c.params);
    std::sort(measured.begin(), measured.end());
    model.add(parse_params(c.params), m.median_us);
    if (elapsed() <= 60 && (at60_params.empty() || m.median_us < at60_us)) {
      at60_params = c.params;
      at60_us = m.median_us;
    }
  };

  // A measurement's times times f (a batch's figures on the anchor's scale).
  auto scaled = [](Measurement m, double f) {
    m.median_us *= f, m.min_us *= f, m.max_us *= f;
    return m;
  };
  std::vector<std::tuple<Candidate, Measurement, double>> resumed;  // (candidate, figures, default_us)
  std::vector<json> resumed_finals;  // final-round records of this workload already in the database
  const int final_rounds = std::max(1, o.final_rounds);
  // What this database already knows about the workload (resume, or baselines of earlier runs).
  // One spelling per point (keys in order), so that the default found again by the search is
  // recognized as seen.
  const std::string dflt = params_string(parse_params(space.default_params(p, st)));
  std::set<std::string> have_baseline;
  int other_code = 0;
  const std::map<std::string, int> dflt_values = parse_params(dflt);
  // Whether a point names exactly this schedule's knobs (the default's).
  auto same_knobs = [&](const std::map<std::string, int> &v) {
    return v.size() == dflt_values.size() &&
           std::equal(v.begin(), v.end(), dflt_values.begin(), [](const auto &a, const auto &b) { return a.first == b.first; });
  };
  int other_knobs = 0;
  // Points of earlier tunings (other commits here, --warm-start files): (their GFLOP/s, params).
  std::vector<std::pair<double, std::string>> warm;
  auto add_warm = [&](const json &r) {
    if (r.value("workload", "") != key || r.value("target", "") != o.target ||
        r.value("threads", 0) != o.measure.threads || r.value("scheduler", "dwconv") != "dwconv" ||
        r.value("status", "ok") != "ok" || r.value("timing", "measured") == "emulated")
      return;
    const std::map<std::string, int> v = parse_params(r.value("params", ""));
    // Only points with this schedule's knobs (an older schedule's may differ) that are valid here.
    if (!same_knobs(v) || !space.valid(p, st, v)) return;
    warm.emplace_back(r.value("gflops", 0.0), params_string(v));
  };
  for (const json &r : o.warm_start) add_warm(r);
  // The CPU the candidates run on: this one, unless a runner over ssh measures them elsewhere
  // (that one is known only from its results; its records are then not told apart by CPU).
  const std::string run_cpu = o.measure.runner.rfind("ssh://", 0) == 0 ? "" : cpu_model();
  for (const json &r : db.records()) {
    if (r["workload"] != key || r["target"] != o.target || r["threads"] != o.measure.threads) continue;
    // Figures measured with other code (another dwconv commit: algorithm, schedules) or on
    // another CPU (a merged database) are not this run's: measure again rather than rank them
    // beside this machine's numbers (their points seed the search).
    if (r["commit"] != o.commit || (!run_cpu.empty() && r.value("cpu", "") != run_cpu)) {
      other_code++;
      add_warm(r);
      continue;
    }
    if (r["scheduler"] != "dwconv") {
      have_baseline.insert(r["scheduler"]);
      if (r["status"] == "ok") res.autoscheduler_gflops[r["scheduler"]] = std::max(res.autoscheduler_gflops[r["scheduler"]], r["gflops"].get<double>());
      else res.autoscheduler_gflops.emplace(r["scheduler"], 0.0);
      continue;
    }
    if (!o.resume) continue;
    const std::string ps = r["params"];
    if (!same_knobs(parse_params(ps))) {
      other_knobs++;
      continue;
    }
    seen.insert(ps);
    Candidate c{"dwconv", ps, r.value("is_default", false)};
    Measurement m{r["status"], r["median_us"], r["min_us"], r["max_us"], "", r.value("timing", "") == "emulated"};
    if (c.is_default && m.status == "ok") {
      res.default_gflops = std::max(res.default_gflops, r["gflops"].get<double>());
      // The anchor's scale: the default's first figure (the first batch of the earlier run).
      if (anchor_us == 0 && o.measure.runner.empty() && !r["final"].get<bool>()) anchor_us = m.median_us;
    }
    resumed.emplace_back(c, m, r.value("default_us", 0.0));
    if (r["final"].get<bool>()) resumed_finals.push_back(r);
  }
  // Anchored records ranked as the run that measured them did (relative to the default).
  for (const auto &[c, m, default_us] : resumed) note_ok(c, default_us > 0 && anchor_us > 0 ? scaled(m, anchor_us / default_us) : m);
  if (other_code > 0) {
    std::cerr << "[tuning] " << shape.name << ": " << other_code << " record(s) of other dwconv commits or CPUs ignored (measured with other code or elsewhere)\n";
  }
  if (other_knobs > 0) {
    std::cerr << "[tuning] " << shape.name << ": " << other_knobs << " record(s) of this commit whose params do not name this schedule's knobs ignored\n";
  }
  // The result from final-round records (final_standings, as db distill ranks them), every figure
  // on the scale of the default in the winner's standing round; baseline_us: the autoschedulers'
  // times beside round0_default_us (the first round's default), put on that scale too. Without a
  // standing (the default failed in every round): the fastest right one, unscaled.
  auto conclude = [&](const std::vector<json> &final_records, double round0_default_us,
                      const std::map<std::string, double> &baseline_us) {
    std::vector<const json *> ptrs;
    for (const json &r : final_records) ptrs.push_back(&r);
    const auto standings = final_standings(ptrs);
    if (const FinalStanding *w = final_winner(standings)) {
      res.best_params = w->record->at("params");
      res.best_gflops = w->record->at("gflops").get<double>();
      res.default_gflops = res.best_gflops * w->ratio;
      auto at60 = standings.find(at60_params);
      if (at60 != standings.end()) res.best_at_60s_gflops = res.default_gflops / at60->second.ratio;
      for (const auto &[as, us] : baseline_us)
        res.autoscheduler_gflops[as] = round0_default_us > 0 ? res.default_gflops * round0_default_us / us : 0.0;
      return;
    }
    for (const json &r : final_records)
      if (r["status"] == "ok" && (res.best_gflops == 0 || r["gflops"].get<double>() > res.best_gflops)) {
        res.best_params = r["params"];
        res.best_gflops = r["gflops"];
      }
  };
  // Resumed after this workload's final rounds had all run: its result stands (a run killed in
  // the middle of its fifth workload does not search the first four again).
  const long resumed_rounds = std::count_if(resumed_finals.begin(), resumed_finals.end(), [](const json &r) {
    return r.value("is_default", false) && r.value("status", "") == "ok" && r.value("default_us", 0.0) > 0;
  });
  if (resumed_rounds >= final_rounds) {
    conclude(resumed_finals, 0, {});
    std::cerr << "[tuning] " << shape.name << ": finished before (" << resumed_rounds << " final rounds in the database)\n";
    return res;
  }

  // Baselines: the heuristic default, then Halide's autoschedulers (each once per database).
  // Seconds a wave of candidates costs (build_jobs compiled at once, then timed), to stop the
  // search in time for the final re-measurement instead of overshooting the budget.
  const long jobs = build_jobs(mo);
  double cost_s = 0;
  int cost_n = 0;
  auto timed_measure = [&](const std::vector<Candidate> &batch, const MeasureOptions &opts) {
    const double t0 = elapsed();
    std::vector<Measurement> ms = measure(p, batch, opts);
    cost_s += elapsed() - t0;
    const long compiled = std::count_if(batch.begin(), batch.end(), [](const Candidate &c) { return !c.reuse_build; });
    cost_n += int((compiled + jobs - 1) / jobs);
    return ms;
  };
  // A search batch timed beside the anchor: each result on the anchor's scale (as measured when
  // there is no anchor), and the anchor's own median in the batch (0 if none).
  struct Anchored {
    std::vector<Measurement> raw, ranked;
    double default_us = 0;
  };
  auto anchored_measure = [&](std::vector<Candidate> batch) {
    Anchored a;
    if (anchor_us > 0) batch.insert(batch.begin(), Candidate{"dwconv", dflt, true, true});
    a.raw = timed_measure(batch, mo);
    double f = 1;
    if (anchor_us > 0) {
      if (a.raw[0].status == "ok") {
        a.default_us = a.raw[0].median_us;
        f = anchor_us / a.default_us;
      }
      a.raw.erase(a.raw.begin());
    }
    for (const Measurement &m : a.raw) a.ranked.push_back(scaled(m, f));
    return a;
  };
  auto wave_cost = [&] { return cost_n ? cost_s / cost_n : 2.0; };
  // The default, and the best points of earlier tunings (fastest first, as they measured
  // there), timed interleaved in one batch.
  std::vector<Candidate> first;
  if (!seen.count(dflt)) first.push_back({"dwconv", dflt, true});
  std::stable_sort(warm.begin(), warm.end(), [](const auto &a, const auto &b) { return a.first > b.first; });
  int warm_points = 0;
  for (const auto &[g, ps] : warm) {
    if (warm_points >= o.warm_start_points) break;
    if (ps == dflt || seen.count(ps) ||
        std::any_of(first.begin(), first.end(), [&](const Candidate &c) { return c.params == ps; }))
      continue;
    first.push_back({"dwconv", ps, false});
    warm_points++;
  }
  if (!first.empty()) {
    std::vector<Measurement> ms = timed_measure(first, mo);
    for (size_t i = 0; i < first.size(); i++) {
      seen.insert(first[i].params);
      if (first[i].is_default && ms[i].status == "ok") {
        res.default_gflops = flops / (ms[i].median_us * 1e3);
        if (o.measure.runner.empty()) anchor_us = ms[i].median_us;
      }
      note_ok(first[i], ms[i]);
      record(first[i], ms[i], false);
    }
  }
  // The autoscheduler baselines come on top of the budget (Adams2019 alone takes ~35 s to
  // schedule 112x112x32 here): the search gets its whole share.
  // A baseline: the autoscheduler with its own parameters from the command line.
  auto baseline = [&](const std::string &as) {
    auto ap = o.autoscheduler_params.find(as);
    return Candidate{as, ap == o.autoscheduler_params.end() ? "" : ap->second, false};
  };
  const auto baselines_start = Clock::now();
  for (const std::string &as : o.autoschedulers ? space.autoschedulers : std::vector<std::string>{}) {
    if (have_baseline.count(as)) continue;
    const Candidate c = baseline(as);
    MeasureOptions amo = mo;
    amo.timeout_s = o.baseline_timeout_s;
    Measurement m = measure(p, {c}, amo)[0];
    res.autoscheduler_gflops[as] = m.status == "ok" ? flops / (m.median_us * 1e3) : 0.0;
    record(c, m, false);
  }
  const auto baselines_took = Clock::now() - baselines_start;
  start += baselines_took;
  res.baseline_s = std::chrono::duration<double>(baselines_took).count();

  // Stop while the final rounds (finalists + default, compiled and timed again) still fit; their
  // candidates compile `jobs` at a time (effb0_5x5, 6.3 s a candidate, had reserved 4 x 6.3 s
  // of its ~30 s share and measured nothing but the default).
  const int final_waves = final_rounds * ((o.finalists + 1 + jobs - 1) / jobs);
  auto time_left = [&] { return o.budget_s - elapsed() - final_waves * wave_cost(); };
  // Coordinate descent from the fastest point so far (the default, or an earlier tuning's): one
  // parameter at a time (space.dims order), its other values nearest first, timed interleaved
  // in one batch with the current point as the reference; the fastest becomes the current
  // point. Cheap local wins come first (the evolutionary search below then explores from the
  // best points found).
  {
    std::string point_s = measured.empty() ? dflt : measured.front().second;
    std::map<std::string, int> point = parse_params(point_s);
    for (const auto &[name, values] : space.dims) {
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
        if (space.valid(shape.problem, st, v) && !seen.count(ps)) batch.push_back({"dwconv", ps, false});
      }
      // What the budget still allows (without an anchor, the current point is timed beside the
      // batch as its reference and costs one more).
      const bool reference = anchor_us == 0;
      const long fits = long(time_left() / wave_cost()) * jobs - (reference ? 1 : 0);
      if (fits < 1) break;
      if (long(batch.size()) > fits) batch.resize(size_t(fits));
      if (batch.empty()) continue;
      if (reference) batch.push_back({"dwconv", point_s, false});
      const Anchored ms = anchored_measure(batch);
      double best_us = 1e300;
      if (reference && ms.raw.back().status == "ok") best_us = ms.raw.back().median_us;
      for (const auto &[us, ps] : measured)
        if (!reference && ps == point_s) best_us = us;
      for (size_t i = 0; i < batch.size() - (reference ? 1 : 0); i++) {
        seen.insert(batch[i].params);
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

  // Evolutionary search ranked by the cost model.
  std::mt19937_64 rng(o.seed ^ std::hash<std::string>()(key));
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  auto mutate = [&](std::map<std::string, int> v) {
    const int changes = 1 + (pick(3) == 0);
    for (int k = 0; k < changes; k++) {
      const auto &[name, values] = space.dims[pick(space.dims.size())];
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
    for (size_t i = 0; i < std::min<size_t>(4, measured.size()); i++) parents.push_back(parse_params(measured[i].second));
    if (parents.empty()) parents.push_back(parse_params(dflt));
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
      if (!space.valid(shape.problem, st, v)) continue;
      std::string s = params_string(v);
      if (seen.count(s) || proposed.count(s)) continue;
      proposed.insert(s);
      proposals.emplace_back(model.predict(v), s);
    }
    if (proposals.empty()) break;
    std::sort(proposals.begin(), proposals.end());
    // The model's favourites, one per build job (compiled at once), and every third round one
    // random proposal to keep exploring (in place of the last favourite when there are several).
    const bool explore = trial % 3 == 2 && proposals.size() > 1;
    const size_t favourites = std::min(proposals.size() - (explore ? 1 : 0),
                                       explore ? std::max<size_t>(1, size_t(jobs) - 1) : size_t(jobs));
    std::vector<Candidate> batch;
    for (size_t i = 0; i < favourites; i++) batch.push_back({"dwconv", proposals[i].second, false});
    if (explore) batch.push_back({"dwconv", proposals[favourites + pick(proposals.size() - favourites)].second, false});
    const Anchored ms = anchored_measure(batch);
    for (size_t i = 0; i < batch.size(); i++) {
      seen.insert(batch[i].params);
      note_ok(batch[i], ms.ranked[i]);
      record(batch[i], ms.raw[i], false, ms.default_us);
    }
  }

  // Finalists + default re-measured interleaved, in several processes: noise does not pick the winner.
  std::vector<Candidate> finals;
  auto in_finals = [&](const std::string &params) {
    return std::any_of(finals.begin(), finals.end(), [&](const Candidate &c) { return c.params == params; });
  };
  // (A point can be in `measured` more than once: resumed final records beside its first figure.)
  for (size_t i = 0; i < measured.size() && (int)finals.size() < o.finalists; i++)
    if (!in_finals(measured[i].second))
      finals.push_back({"dwconv", measured[i].second, measured[i].second == dflt, measured[i].second == dflt && anchor_us > 0});
  if (!in_finals(dflt)) finals.push_back({"dwconv", dflt, true, anchor_us > 0});
  if (!at60_params.empty() && !in_finals(at60_params)) finals.push_back({"dwconv", at60_params, false});
  // The autoscheduler baselines that ran, too: tuned vs autoscheduler then is a ratio measured
  // in one interleaved run, like tuned vs default. Measured alone, in its own process minutes
  // apart, a baseline's figure says little: batch8's Mullapudi2016 ran 14.3 GFLOP/s alone and
  // 6.8 beside the default's 6.9; on a 12x12x24 shape it ran 6.3-6.7 in some processes and
  // 12.8-13.6 in others (cause not found). Their share of the round comes on top of the budget.
  MeasureOptions fmo = mo;
  fmo.repeats = 11;
  // The round is repeated in o.final_rounds processes (the finalists compiled again in each) and
  // each point ranked by the median over the rounds of its time relative to the round's default
  // (final_standings, as db distill ranks them): within one process the same code's speed
  // relative to the default is steady, between processes it moves by several percent (mbv1_dw13's
  // winner: 1.12, 1.20, 1.11, 1.08 in four). The baselines run in the first round only; the whole
  // first round is one batch under one timeout: each baseline may take as long to schedule as it
  // was allowed alone (Adams2019's default beam search took minutes on some shapes), so that a
  // slow one cannot time the finalists out with it.
  std::vector<json> final_records;
  double round0_default_us = 0;
  std::map<std::string, double> baseline_us;
  bool emulated = false;
  for (int round = 0; round < final_rounds; round++) {
    std::vector<Candidate> batch = finals;
    if (round == 0) {
      for (const auto &[as, g] : res.autoscheduler_gflops)
        if (g > 0) batch.push_back(baseline(as));
    }
    const size_t baselines = batch.size() - finals.size();
    fmo.timeout_s = mo.timeout_s + double(baselines) * o.baseline_timeout_s;
    const auto round_start = Clock::now();
    std::vector<Measurement> fm = measure(p, batch, fmo);
    res.baseline_s += std::chrono::duration<double>(Clock::now() - round_start).count() * double(baselines) /
                      double(batch.size());
    emulated = emulated || (!fm.empty() && fm[0].emulated);
    double default_us = 0;
    for (size_t i = 0; i < batch.size(); i++)
      if (batch[i].is_default && fm[i].status == "ok") default_us = fm[i].median_us;
    if (round == 0) round0_default_us = default_us;
    for (size_t i = 0; i < batch.size(); i++) {
      record(batch[i], fm[i], true, default_us);
      if (batch[i].scheduler == "dwconv") final_records.push_back(db.records().back());
      else if (fm[i].status == "ok") baseline_us[batch[i].scheduler] = fm[i].median_us;
      else res.autoscheduler_gflops[batch[i].scheduler] = 0;
    }
  }
  conclude(final_records, round0_default_us, baseline_us);
  res.emulated = emulated;
  res.trials = trial;
  return res;
}

}  // namespace dwconv_tuner
