// dwconv: the command-line tool of the tuner. See `dwconv --help`.
#include <unistd.h>

#include <cerrno>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <type_traits>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "Halide.h"  // HALIDE_VERSION_*
#include "db.h"
#include "cli_args.h"
#include "halide_log.h"
#include "tool_paths.h"
#include "dwconv/dwconv_c.h"  // dwconv_version()
#include "search.h"
#include "shapes.h"

namespace dwconv_tuner {
namespace {

const char *kUsage = R"(dwconv: autotuning for dwconv's depthwise convolution kernels

usage: dwconv <command> [options]

commands:
  tune      measured search over the schedule parameters for every shape of a shapes file,
            appending every measurement to a tuning database
  db check  validate a tuning database (exit 0 when valid, else a message and exit 1)
  db merge  combine databases (from several machines or shards) into one
  db distill  write the best-per-workload file the build reads (-DDWCONV_TUNING_DB=...)
  db prune  drop the records of superseded dwconv commits (what distill no longer reads)
  info      which kernel of this build serves a shape on this machine, and why
  measure   time given schedules (and autoschedulers) on one shape, checked against the naive loop
  bench     run the benchmark binary (dwconv vs peers vs naive loop)
  shapes    write the depthwise layers of an ONNX or TFLite model as a shapes CSV

`dwconv <command> --help` describes each command; `dwconv --version` prints the versions of
dwconv and Halide and the source commit.
)";

const char *kTuneUsage = R"(usage: dwconv tune --shapes FILE --db PATH [options]

Measures, for each workload (shape) of FILE, the heuristic default schedule, Halide's
autoschedulers (once per database), then a coordinate descent and a seeded evolutionary search
ranked by a cost model; every candidate is checked against the naive loop before it is timed;
the best few are re-measured interleaved with the default at the end, in --final-rounds
processes, and ranked by their median time relative to it.

options:
  --shapes FILE          CSV: name,N,H,W,C,M,KH,KW,stride,dilation,padding[,origin]
  --db PATH              tuning database (JSON lines; created if missing; appended to); Halide's
                         compiler warnings go to PATH.halide.log, not the terminal
  --target T             Halide target the candidates are built for (default host: this
                         machine). Its schedule family (x86, arm_neon, cuda) sets the search
                         space, the cost model's prior and the autoscheduler baselines
                         (CPU: Mullapudi2016, Adams2019, Li2018; CUDA: Anderson2021, Li2018).
                         arm-64-linux needs --runner; a CUDA target runs on this machine's GPU
                         unless --runner ssh://... names a GPU machine
  --budget-seconds S     total search time over all workloads of this shard (default 600);
                         the autoscheduler baselines (once per database) come on top
  --seed N               seed of the search (default 1): same seed, same proposals
  --threads N            thread count the candidates are measured with (default 1)
  --resume               continue from the candidates already in --db
  --shard i/n            tune only workloads with index % n == i (0 <= i < n)
  --distill OUT          also write the best-per-workload file to OUT (atomically)
  --warm-start PATH      start from an earlier tuning (a database or a distilled file; repeatable):
                         its best points for the same workload, target and thread count (at most
                         3) are measured again beside the default and the search starts from the
                         fastest; records of other dwconv commits in --db seed it the same way
  --no-autoschedulers    skip the autoscheduler baselines
  --autoscheduler-param NAME.key=value
                         a parameter of one autoscheduler baseline (repeatable), recorded in its
                         params; e.g. Adams2019.beam_size=1 (greedy: its default beam search of
                         32 can take minutes a shape, docs/tuning.md)
  --baseline-timeout S   seconds one autoscheduler baseline may take, scheduling included
                         (default 180; a baseline past it is recorded as a timeout)
  --final-rounds K       the final round (the best few, the default, the best of the first
                         60 s) is repeated in K processes, compiled again in each (default 3):
                         each point ranks by the median over the rounds of its time relative to
                         the round's default; the baselines run in the first round only
  --build-jobs N         candidates compiled at once, one per thread (default: one per CPU);
                         a batch is timed after all of it is built, never during a compile.
                         The search measures this many candidates a round, so the same seed
                         proposes the same candidates only with the same N
  --json                 one JSON object per measurement on stdout
  --rotate-mib X         time over copies of input/output of about X MiB (default 0: one warm
                         buffer, as the benchmark; 16: data from DRAM)
  --output-offset B      the output starts B bytes past a 4 KiB boundary after the input
                         (default 0, as separate large allocations get; see bench_data.h)
  --runner ssh://[user@]host[:port]
                         run candidates on that machine: they are AOT-compiled here (for
                         --target), linked into shared libraries and run there by dwconv_runner
                         (copied along; no Halide needed there). Default: a child process here.
  --runner qemu          aarch64 candidates under qemu-aarch64 here, by the aarch64 build's
                         dwconv_runner: each is checked against the naive loop, but its times
                         are recorded as "timing": "emulated" and never distilled
  --runner local         AOT candidates run here by dwconv_runner (CUDA: this machine's GPU)
  --ssh-option OPT       extra ssh option (repeatable), e.g. --ssh-option -i --ssh-option KEY
  --runner-binary PATH   dwconv_runner built for the remote machine (default: this build's)
  --linker CXX           links candidate objects for the remote machine (default c++;
                         aarch64-linux-gnu-g++ for --target arm-64-linux)
)";

const char *kDbUsage = R"(usage:
  dwconv db check PATH            validate every record (exit 1 and name file:line if not)
  dwconv db merge A B [...] -o C  union of databases (all validated first), written atomically
  dwconv db distill DB -o OUT     best schedule per workload, the file the build reads
  dwconv db prune DB [...] -o OUT keep only the records distill reads: per workload, target,
                                  thread count and CPU those of the dwconv commit that measured
                                  it last (older commits' records go); written atomically
)";

const char *kInfoUsage = R"(usage: dwconv info SHAPE [--shapes FILE]
SHAPE is a shape name from FILE (default bench/shapes.csv) or N,H,W,C,M,KH,KW,stride,dilation,padding.
Prints the workload key, the kernel this build picks on this CPU, and why.
)";

const char *kMeasureUsage = R"(usage: dwconv measure SHAPE [options]
SHAPE is a shape name from --shapes (default bench/shapes.csv) or N,H,W,C,M,KH,KW,stride,dilation,padding.
Builds each candidate with the JIT (as dwconv tune does), checks it against the naive loop and
times all of them interleaved; prints GFLOP/s (median, min-max). With no --params: the default.

options:
  --params P        schedule parameters "key=value,..." over this shape's heuristic default
                    (repeatable; "" = the default itself)
  --scheduler NAME  an autoscheduler baseline (Mullapudi2016, Adams2019, Li2018; repeatable)
  --threads N       thread count (default 1)
  --target T        Halide target to compile for (default: this host's)
  --runtime-stride  stride, dilation and extents as runtime values (as in the general kernels); by
                    default they are fixed at compile time, as in the tuned kernels
  --repeats N       timed samples per candidate (default 15)
  --rotate-mib X    rotate over copies of input/output of about X MiB (default 0: one buffer,
                    warm, as the benchmark does; 16 = data from DRAM)
  --output-offset B the output starts B bytes past a 4 KiB boundary after the input (default 0)
  --asm PREFIX      write candidate i's assembly and lowered statement to PREFIX<i>.s, .stmt
  --runner, --ssh-option, --runner-binary, --linker, --build-jobs   as for dwconv tune
  --shapes FILE     where SHAPE names come from
)";

// Where candidates for `target` run when the command line does not say, and with what they are
// linked and run: x86 targets in a JIT child here (one this CPU lacks features for fails to
// compile, recorded as such); CUDA targets on this machine's GPU
// ("local"); aarch64 needs an ARM machine (ssh) or qemu, with the cross linker and the aarch64
// dwconv_runner of the aarch64 build. Throws when the combination cannot work.
void resolve_runner(const std::string &target, MeasureOptions &m) {
  m.target = target;
  const bool default_runner_binary = m.runner_binary.empty();
  if (default_runner_binary) m.runner_binary = tool_paths().runner;
  const std::string family = family_of_target(target);
  if (m.runner == "qemu" && family != "arm_neon")
    throw std::invalid_argument("--runner qemu runs aarch64 candidates (--target arm-64-linux), not " + target);
  if (target == "host") return;
  if (family == "cuda" && m.runner.empty()) m.runner = "local";
  if (family == "arm_neon") {
    if (m.runner.empty())
      throw std::invalid_argument("--target " + target + " needs --runner ssh://... (an ARM machine) or --runner qemu "
                                  "(qemu-aarch64 here: correctness only, timings not meaningful)");
    if (m.linker == "c++") m.linker = "aarch64-linux-gnu-g++";
    if (default_runner_binary) m.runner_binary = DWCONV_AARCH64_RUNNER_BINARY;
    if (::access(m.runner_binary.c_str(), X_OK) != 0)
      throw std::invalid_argument("no aarch64 dwconv_runner at " + m.runner_binary +
                                  " (build it with the aarch64 preset: cmake --preset aarch64 && cmake --build "
                                  "--preset aarch64 --target dwconv_runner, or pass --runner-binary)");
  }
}

bool has_help(int argc, char **argv) {
  for (int i = 0; i < argc; i++)
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) return true;
  return false;
}

// The points of an earlier tuning, for --warm-start: a distilled file ({"entries": [...]}, as
// db distill writes it) or a database (validated as --db is). Appends records or entries with
// workload, target, threads, params (and gflops) to *out; false and why, naming the file.
bool load_warm_start(const std::string &path, std::vector<json> *out, std::string *error) {
  std::ifstream in(path);
  if (!in) {
    *error = path + ": cannot open";
    return false;
  }
  const json doc = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object() && doc.contains("entries")) {
    if (!doc["entries"].is_array()) {
      *error = path + ": \"entries\" is not an array";
      return false;
    }
    for (size_t i = 0; i < doc["entries"].size(); i++) {
      const json &e = doc["entries"][i];
      if (!e.is_object() || !e.contains("workload") || !e["workload"].is_string() || !e.contains("target") ||
          !e["target"].is_string() || !e.contains("threads") || !e["threads"].is_number_integer() ||
          !e.contains("params") || !e["params"].is_string()) {
        *error = path + ": entry " + std::to_string(i + 1) + " lacks workload, target, threads or params";
        return false;
      }
      out->push_back(e);
    }
    return true;
  }
  Db db;
  if (!Db::load(path, &db, error, /*allow_missing=*/false)) return false;
  out->insert(out->end(), db.records().begin(), db.records().end());
  return true;
}

int cmd_tune(int argc, char **argv) {
  if (has_help(argc, argv)) {
    std::cout << kTuneUsage;
    return 0;
  }
  TuneArgs args = parse_tune_args(argc, argv);
  const std::string &shapes_path = args.shapes_path, &db_path = args.db_path, &target = args.target,
                    &distill_out = args.distill_out;
  const double budget = args.budget_s;
  const int shard_i = args.shard_i, shard_n = args.shard_n;
  const bool json_out = args.json_out;
  TuneOptions &o = args.options;
  resolve_runner(target, o.measure);
  Db db;
  std::string err;
  if (!Db::load(db_path, &db, &err)) {
    std::cerr << "dwconv tune: refusing the database: " << err << "\n";
    return 1;
  }
  HalideWarningLog halide_log(db_path + ".halide.log");
  if (!halide_log.install(&err)) {
    std::cerr << "dwconv tune: " << err << "\n";
    return 1;
  }
  for (const std::string &path : args.warm_paths) {
    if (!load_warm_start(path, &o.warm_start, &err)) {
      std::cerr << "dwconv tune: refusing --warm-start " << err << "\n";
      return 1;
    }
  }
  auto shapes = dwconv_bench::load_shapes(shapes_path);
  std::vector<dwconv_bench::NamedShape> mine;
  for (size_t i = 0; i < shapes.size(); i++)
    if (int(i % shard_n) == shard_i) mine.push_back(shapes[i]);
  // The recorded target: the x86 ISA level compiled for (the build generates that multi-target
  // variant from it), or the Halide target a remote runner ran.
  o.target = recorded_target(target);
  o.commit = tool_paths().commit;
  const bool tty = isatty(STDOUT_FILENO) && !json_out;
  Progress progress;
  progress.on_trial = [&](const std::string &name, const json &r, int trial, double best, double dflt, double t) {
    if (json_out) {
      json j = r;
      j["shape"] = name;
      std::cout << j.dump() << std::endl;
      return;
    }
    char line[256];
    std::snprintf(line, sizeof line, "[tune] %-12s trial %3d  %6.1f s  best %6.1f GFLOP/s  %5.2fx over default  (%s %s)",
                  name.c_str(), trial, t, best, dflt > 0 ? best / dflt : 0.0, r["scheduler"].get<std::string>().c_str(),
                  r["status"].get<std::string>().c_str());
    if (tty) std::cout << "\r" << line << "\033[K" << std::flush;
    else std::cout << line << std::endl;
  };
  std::vector<TuneResult> results;
  const auto start = std::chrono::steady_clock::now();
  double baselines_s = 0;  // the autoscheduler baselines come on top of the budget
  for (size_t i = 0; i < mine.size(); i++) {
    // What is left, shared by the workloads still to tune: one that overran costs the others.
    const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() - baselines_s;
    o.budget_s = std::max(0.0, budget - spent) / double(mine.size() - i);
    results.push_back(tune_workload(mine[i], db, o, progress));
    baselines_s += results.back().baseline_s;
    if (tty) std::cout << "\n";
  }
  if (!json_out) {
    const std::vector<std::string> &baselines = param_space(family_of_target(target)).autoschedulers;
    std::printf("\n%-12s %10s %10s %8s %10s", "shape", "default", "tuned", "speedup", "at 60 s");
    for (const std::string &b : baselines) std::printf(" %13s", b.c_str());
    std::printf("\n");
    bool emulated = false;
    for (size_t i = 0; i < results.size(); i++) {
      auto &r = results[i];
      emulated |= r.emulated;
      std::printf("%-12s %10.2f %10.2f %7.2fx %10.2f", mine[i].name.c_str(), r.default_gflops, r.best_gflops,
                  r.default_gflops > 0 ? r.best_gflops / r.default_gflops : 0.0, r.best_at_60s_gflops);
      for (const std::string &b : baselines) {
        auto it = r.autoscheduler_gflops.find(b);
        std::printf(" %13.2f", it == r.autoscheduler_gflops.end() ? 0.0 : it->second);
      }
      std::printf("\n");
    }
    std::printf("(GFLOP/s at %d thread(s) from the final interleaved rounds: each point's median time relative to\n"
                " the default over the rounds, on the scale of the default's figure; 'at 60 s': the best of each\n"
                " workload's first 60 s re-measured there; 0: failed or not run; database %s)\n",
                o.measure.threads, db_path.c_str());
    if (const long warnings = halide_log.lines_since_install(); warnings > 0)
      std::printf("Halide's compiler warned %ld time(s) (autoscheduler baselines, mostly): %s\n", warnings,
                  halide_log.path().c_str());
    if (emulated)
      std::printf("[emulated] candidates ran under qemu: every one was checked against the naive loop, but these\n"
                  "times are not meaningful and db distill leaves the records out (tune on ARM hardware: --runner ssh://)\n");
  }
  if (!distill_out.empty()) {
    if (!write_atomic(distill_out, distill(db.records()).dump(1) + "\n", &err)) {
      std::cerr << "dwconv tune: " << err << "\n";
      return 1;
    }
    if (!json_out) std::printf("distilled: %s\n", distill_out.c_str());
  }
  return 0;
}

int cmd_db(int argc, char **argv) {
  if (argc < 1 || has_help(argc, argv)) {
    std::cout << kDbUsage;
    return argc < 1 ? 1 : 0;
  }
  std::string sub = argv[0];
  std::string err;
  if (sub == "check") {
    if (argc != 2) throw std::invalid_argument("usage: dwconv db check PATH");
    Db db;
    if (!Db::load(argv[1], &db, &err, /*allow_missing=*/false)) {
      std::cerr << "dwconv db check: " << err << "\n";
      return 1;
    }
    std::printf("%s: %zu valid records\n", argv[1], db.records().size());
    return 0;
  }
  std::vector<std::string> inputs;
  std::string out;
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
    else inputs.push_back(argv[i]);
  }
  if (out.empty() || inputs.empty()) throw std::invalid_argument("usage: dwconv db " + sub + " INPUT... -o OUT");
  std::vector<json> all;
  std::set<std::string> keys;
  for (const auto &in : inputs) {
    Db db;
    if (!Db::load(in, &db, &err, /*allow_missing=*/false)) {
      std::cerr << "dwconv db " << sub << ": " << err << "\n";
      return 1;
    }
    for (const json &r : db.records())
      if (keys.insert(r.dump()).second) all.push_back(r);  // the same record from two shards once
  }
  std::string text;
  if (sub == "merge") {
    for (const json &r : all) text += r.dump() + "\n";
  } else if (sub == "distill") {
    text = distill(all).dump(1) + "\n";
  } else if (sub == "prune") {
    all = prune(all);
    for (const json &r : all) text += r.dump() + "\n";
  } else {
    throw std::invalid_argument("unknown db command '" + sub + "' (check, merge, distill, prune)");
  }
  if (!write_atomic(out, text, &err)) {
    std::cerr << "dwconv db " << sub << ": " << err << "\n";
    return 1;
  }
  std::printf("%s: %zu records from %zu file(s)\n", out.c_str(), all.size(), inputs.size());
  return 0;
}

// A shape name from shapes_path, or "N,H,W,C,M,KH,KW,stride,dilation,padding".
dwconv::Problem parse_shape(const std::string &spec, const std::string &shapes_path) {
  dwconv::Problem p;
  bool found = false;
  if (spec.find(',') == std::string::npos) {
    for (auto &s : dwconv_bench::load_shapes(shapes_path))
      if (s.name == spec) p = s.problem, found = true;
    if (!found) throw std::invalid_argument("no shape named '" + spec + "' in " + shapes_path);
  } else {
    // The CSV parser on a one-row text; its errors name the argument, not a line number.
    std::istringstream text("name,N,H,W,C,M,KH,KW,stride,dilation,padding\nshape," + spec + "\n");
    const std::string source = "shape '" + spec + "'";
    try {
      p = dwconv_bench::parse_shapes(text, source)[0].problem;
    } catch (const std::runtime_error &e) {
      std::string why = e.what();
      for (const std::string &prefix : {source + ":2: shape: ", source + ":2: "}) {
        if (why.rfind(prefix, 0) == 0) {
          why = source + ": " + why.substr(prefix.size());
          break;
        }
      }
      throw std::invalid_argument(why);
    }
  }
  return p;
}

int cmd_info(int argc, char **argv) {
  if (argc < 1 || has_help(argc, argv)) {
    std::cout << kInfoUsage;
    return argc < 1 ? 1 : 0;
  }
  std::string shapes_path = tool_paths().shapes_csv, spec = argv[0];
  for (int i = 1; i + 1 < argc; i++)
    if (!std::strcmp(argv[i], "--shapes")) shapes_path = argv[++i];
  dwconv::Problem p = parse_shape(spec, shapes_path);
  dwconv::Plan plan;
  dwconv::Status s = dwconv::Plan::create(p, &plan);
  if (!s.ok()) {
    std::cerr << "dwconv info: " << s.message() << "\n";
    return 1;
  }
  std::printf("workload:  %s\noutput:    [%lld, %lld, %lld, %lld]\nkernel:    %s\nisa:       %s (cpu: %s)\nwhy:       %s\n",
              dwconv::workload_key(p).c_str(), (long long)p.output.n, (long long)p.output.h, (long long)p.output.w,
              (long long)p.output.c, plan.kernel_name(), dwconv::isa_name(dwconv::active_isa()),
              dwconv::isa_name(dwconv::cpu_isa()), plan.selection_reason().c_str());
  return 0;
}

int cmd_measure(int argc, char **argv) {
  if (argc < 1 || has_help(argc, argv)) {
    std::cout << kMeasureUsage;
    return argc < 1 ? 1 : 0;
  }
  MeasureArgs args = parse_measure_args(argc, argv, tool_paths().shapes_csv);
  MeasureOptions &o = args.options;
  std::vector<Candidate> &cands = args.candidates;
  resolve_runner(args.target, o);
  if (cands.empty()) cands.push_back(Candidate{});
  const dwconv::Problem p = parse_shape(args.spec, args.shapes_path);
  // Given parameters overlay this shape's heuristic default (as dwconv tune starts from), so
  // "" is the default and "tile_w=6" changes one knob of it.
  const std::string family = family_of_target(o.target);
  std::vector<std::string> labels;
  for (Candidate &c : cands) {
    labels.push_back(c.scheduler != "dwconv" ? c.scheduler : c.params.empty() ? "default" : c.params);
    if (c.scheduler != "dwconv") continue;
    std::map<std::string, int> merged = parse_params(param_space(family).default_params(p, space_target(o.target)));
    for (const auto &kv : parse_params(c.params)) merged[kv.first] = kv.second;
    c.params = params_string(merged);
  }
  const double flops = dwconv_bench::flops(p);
  std::vector<Measurement> ms = measure(p, cands, o);
  int failures = 0;
  for (size_t i = 0; i < cands.size(); i++) {
    const std::string &what = labels[i];
    const Measurement &m = ms[i];
    if (m.status == "ok") {
      std::printf("%2zu  %7.1f GFLOP/s (%.1f-%.1f)  %9.1f us  %s\n", i, flops / m.median_us / 1e3,
                  flops / m.max_us / 1e3, flops / m.min_us / 1e3, m.median_us, what.c_str());
    } else {
      failures++;
      std::printf("%2zu  %s: %s  %s\n", i, m.status.c_str(), m.error.c_str(), what.c_str());
    }
  }
  return failures ? 1 : 0;
}

int cmd_bench(int argc, char **argv) {
  if (has_help(argc, argv)) {
    std::cout << "usage: dwconv bench [dwconv_bench options]\nRuns " << tool_paths().bench
              << " (dwconv, its general kernels, peers and the naive loop over " << tool_paths().shapes_csv
              << " or --shapes=FILE; Google Benchmark flags apply).\n"
                 "scripts/bench runs the whole comparison with the roofline report.\n";
    return 0;
  }
  const std::string bench = tool_paths().bench, shapes = "--shapes=" + tool_paths().shapes_csv;
  std::vector<char *> args = {const_cast<char *>(bench.c_str())};
  bool has_shapes = false;
  for (int i = 0; i < argc; i++) {
    args.push_back(argv[i]);
    has_shapes |= std::strncmp(argv[i], "--shapes=", 9) == 0;
  }
  if (!has_shapes) args.push_back(const_cast<char *>(shapes.c_str()));
  args.push_back(nullptr);
  execv(bench.c_str(), args.data());
  std::perror(("dwconv bench: cannot run " + bench).c_str());
  return 1;
}

// dwconv shapes MODEL -o FILE [--batch N]: model_shapes.py on the project's Python (its .venv
// holds the onnx and tflite readers, scripts/setup; installed: python3, which needs them too),
// which prints its own usage and errors.
int cmd_shapes(int argc, char **argv) {
  const std::string python = tool_paths().python, script = tool_paths().model_shapes_py;
  std::vector<char *> args = {const_cast<char *>(python.c_str()), const_cast<char *>(script.c_str())};
  for (int i = 0; i < argc; i++) args.push_back(argv[i]);
  args.push_back(nullptr);
  execvp(python.c_str(), args.data());
  std::perror(("dwconv shapes: cannot run " + python).c_str());
  return 1;
}

}  // namespace
}  // namespace dwconv_tuner

int main(int argc, char **argv) {
  using namespace dwconv_tuner;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::cout << kUsage;
    return argc < 2 ? 1 : 0;
  }
  const std::string cmd = argv[1];
  if (cmd == "--version") {
    std::cout << "dwconv " << dwconv_version() << " (commit " << tool_paths().commit << "), Halide "
              << HALIDE_VERSION_MAJOR << "." << HALIDE_VERSION_MINOR << "." << HALIDE_VERSION_PATCH << "\n"
              << (tool_paths().installed ? "installed, data in " : "build tree, data in ") << tool_paths().data_dir << "\n";
    return 0;
  }
  try {
    if (cmd == "tune") return cmd_tune(argc - 2, argv + 2);
    if (cmd == "db") return cmd_db(argc - 2, argv + 2);
    if (cmd == "info") return cmd_info(argc - 2, argv + 2);
    if (cmd == "bench") return cmd_bench(argc - 2, argv + 2);
    if (cmd == "measure") return cmd_measure(argc - 2, argv + 2);
    if (cmd == "shapes") return cmd_shapes(argc - 2, argv + 2);
    std::cerr << "dwconv: unknown command '" << cmd << "'\n" << kUsage;
    return 1;
  } catch (const std::exception &e) {
    std::cerr << "dwconv " << cmd << ": " << e.what() << "\n";
    return 1;
  } catch (const Halide::Error &e) {  // not a std::exception
    std::cerr << "dwconv " << cmd << ": " << e.what() << "\n";
    return 1;
  }
}
