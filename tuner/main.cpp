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

// Where candidates for `target` run when the command line does not say, and with what they are
// linked and run: x86 targets in a JIT child here (one this CPU lacks features for fails to
// compile, recorded as such); GPU targets (CUDA, OpenCL) on this machine's
// device ("local"); aarch64 needs an ARM machine (ssh) or qemu, with the cross linker and the aarch64
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
    std::cout << tune_help();
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
    std::cout << db_help();
    return argc < 1 ? 1 : 0;
  }
  const DbArgs args = parse_db_args(argc, argv);
  const std::string &sub = args.command;
  const std::vector<std::string> &inputs = args.inputs;
  const std::string &out = args.output;
  std::string err;
  if (sub == "check") {
    Db db;
    if (!Db::load(inputs[0], &db, &err, /*allow_missing=*/false)) {
      std::cerr << "dwconv db check: " << err << "\n";
      return 1;
    }
    std::printf("%s: %zu valid records\n", inputs[0].c_str(), db.records().size());
    return 0;
  }
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
  } else {  // prune (parse_db_args knows no other)
    all = prune(all);
    for (const json &r : all) text += r.dump() + "\n";
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
    std::cout << info_help();
    return argc < 1 ? 1 : 0;
  }
  const InfoArgs args = parse_info_args(argc, argv, tool_paths().shapes_csv);
  dwconv::Problem p = parse_shape(args.spec, args.shapes_path);
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
    std::cout << measure_help();
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
