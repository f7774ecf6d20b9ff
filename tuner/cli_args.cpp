#include "cli_args.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "Halide.h"
#include "dwconv/dwconv.h"

namespace dwconv_tuner {

namespace {

// The value of a numeric flag: the whole text a number within [lo, hi], else an error naming
// the flag, its text and the range.
template <class T>
T number_flag(const std::string &flag, const std::string &text, T lo, T hi) {
  const char *begin = text.c_str();
  char *end = nullptr;
  errno = 0;
  long double v = std::is_floating_point_v<T> ? std::strtold(begin, &end) : (long double)std::strtoll(begin, &end, 10);
  const bool parsed = !text.empty() && end && *end == '\0' && errno == 0 && !std::isspace((unsigned char)text[0]);
  if (!parsed || !(v >= (long double)lo && v <= (long double)hi)) {
    std::ostringstream range;
    range << "[" << lo << ", " << hi << "]";
    throw std::invalid_argument(flag + " must be a " + (std::is_floating_point_v<T> ? "number" : "whole number") +
                                " in " + range.str() + ", got '" + text + "'");
  }
  return static_cast<T>(v);
}

// The runner options shared by tune and measure; true when argv[i] was one (i advanced).
bool parse_runner_option(int argc, char **argv, int &i, MeasureOptions &m) {
  std::string a = argv[i];
  if (a != "--runner" && a != "--ssh-option" && a != "--runner-binary" && a != "--linker" && a != "--rotate-mib" &&
      a != "--output-offset" && a != "--build-jobs")
    return false;
  if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
  std::string v = argv[++i];
  if (a == "--runner") m.runner = v;
  else if (a == "--ssh-option") m.ssh_options.push_back(v);
  else if (a == "--runner-binary") m.runner_binary = v;
  else if (a == "--rotate-mib") m.rotate_mib = number_flag<double>(a, v, 0, 65536);
  else if (a == "--output-offset") {
    m.output_offset = number_flag<size_t>(a, v, 0, 4092);
    if (m.output_offset % sizeof(float) != 0) throw std::invalid_argument(a + " must be a multiple of 4 bytes, got " + v);
  }
  else if (a == "--build-jobs") m.build_jobs = number_flag<int>(a, v, 1, 1024);
  else m.linker = v;
  return true;
}

}  // namespace

// The value of --target: "host" or a Halide target string, else an error saying so.
std::string target_flag(const std::string &value) {
  if (value != "host" && !Halide::Target::validate_target_string(value))
    throw std::invalid_argument("--target '" + value + "' is not a Halide target (e.g. host, x86-64-linux-avx2, arm-64-linux)");
  return value;
}

TuneArgs parse_tune_args(int argc, char **argv) {
  TuneArgs t;
  TuneOptions &o = t.options;
  for (int i = 0; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (parse_runner_option(argc, argv, i, o.measure)) continue;
    if (a == "--shapes") t.shapes_path = next();
    else if (a == "--db") t.db_path = next();
    else if (a == "--target") t.target = target_flag(next());
    else if (a == "--budget-seconds") t.budget_s = number_flag<double>(a, next(), 1, 1e7);
    else if (a == "--seed") o.seed = number_flag<long long>(a, next(), 0, std::numeric_limits<long long>::max());
    else if (a == "--threads") o.measure.threads = number_flag<int>(a, next(), 1, dwconv::kMaxThreads);
    else if (a == "--resume") o.resume = true;
    else if (a == "--json") t.json_out = true;
    else if (a == "--distill") t.distill_out = next();
    else if (a == "--warm-start") t.warm_paths.push_back(next());
    else if (a == "--no-autoschedulers") o.autoschedulers = false;
    else if (a == "--autoscheduler-param") {
      const std::string v = next();
      const size_t dot = v.find('.');
      if (dot == std::string::npos || v.find('=') == std::string::npos)
        throw std::invalid_argument("--autoscheduler-param must be NAME.key=value, e.g. Adams2019.beam_size=1, not " + v);
      std::string &ps = o.autoscheduler_params[v.substr(0, dot)];
      ps += (ps.empty() ? "" : ",") + v.substr(dot + 1);
    } else if (a == "--baseline-timeout") o.baseline_timeout_s = number_flag<double>(a, next(), 1, 1e6);
    else if (a == "--final-rounds") o.final_rounds = number_flag<int>(a, next(), 1, 100);
    else if (a == "--shard") {
      const std::string s = next();
      const size_t slash = s.find('/');
      if (slash == std::string::npos) throw std::invalid_argument("--shard must be i/n with 0 <= i < n, got '" + s + "'");
      t.shard_n = number_flag<int>("--shard's n", s.substr(slash + 1), 1, 1 << 20);
      t.shard_i = number_flag<int>("--shard's i", s.substr(0, slash), 0, t.shard_n - 1);
    } else throw std::invalid_argument("unknown option " + a + " (see dwconv tune --help)");
  }
  if (t.shapes_path.empty() || t.db_path.empty()) throw std::invalid_argument("--shapes and --db are required");
  return t;
}

MeasureArgs parse_measure_args(int argc, char **argv, const std::string &default_shapes) {
  MeasureArgs m;
  m.spec = argv[0];
  m.shapes_path = default_shapes;
  std::vector<Candidate> &cands = m.candidates;
  MeasureOptions &o = m.options;
  o.repeats = 15;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (parse_runner_option(argc, argv, i, o)) continue;
    if (a == "--params") {
      Candidate c;
      c.params = next();
      cands.push_back(c);
    } else if (a == "--scheduler") {
      Candidate c;
      c.scheduler = next();
      cands.push_back(c);
    } else if (a == "--threads") o.threads = number_flag<int>(a, next(), 1, dwconv::kMaxThreads);
    else if (a == "--target") m.target = target_flag(next());
    else if (a == "--runtime-stride") o.fix_workload = false;
    else if (a == "--repeats") o.repeats = number_flag<int>(a, next(), 1, 100000);
    else if (a == "--asm") o.asm_prefix = next();
    else if (a == "--shapes") m.shapes_path = next();
    else throw std::invalid_argument("unknown option " + a + " (see dwconv measure --help)");
  }
  return m;
}

}  // namespace dwconv_tuner
