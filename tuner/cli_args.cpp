#include "cli_args.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <functional>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "Halide.h"
#include "dwconv/dwconv.h"

namespace dwconv_tuner {

namespace {

// The value of a numeric flag: the whole text a number within [lo, hi] (NaN is not), else an
// error naming the flag, its text and the range.
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

// A command's options, each declared once: the parser (CLI11) and the --help text both come
// from the declarations.
struct CommandText {
  const char *usage, *intro;
  bool shape_operand = false;  // takes SHAPE: the help says how it is spelled
};

constexpr const char *kShapeOperand =
    "SHAPE is a shape name from --shapes FILE (default bench/shapes.csv) or "
    "N,H,W,C,M,KH,KW,stride,dilation,padding.\n";

class Command {
 public:
  explicit Command(const CommandText &text)
      : usage_(text.usage), intro_(std::string(text.shape_operand ? kShapeOperand : "") + text.intro) {
    app_.set_help_flag();  // --help is answered before parsing (main.cpp)
    app_.allow_extras(false);
  }

  // An option with a number of type T in [lo, hi], stored in `out`.
  template <class T, class Out>
  void number(const std::string &flag, const std::string &type, Out &out, T lo, T hi, const std::string &desc) {
    custom(flag, type, [&out, flag, lo, hi](const std::string &v) { out = static_cast<Out>(number_flag<T>(flag, v, lo, hi)); },
           desc);
  }
  // An option with a text value.
  void text(const std::string &flag, const std::string &type, std::string &out, const std::string &desc) {
    app_.add_option(flag, out, desc)->type_name(type);
  }
  // An option whose value `take` parses and stores (throwing std::invalid_argument to refuse it).
  void custom(const std::string &flag, const std::string &type, std::function<void(const std::string &)> take,
              const std::string &desc) {
    app_.add_option_function<std::string>(flag, std::move(take), desc)->type_name(type);
  }
  // --target: "host" or a Halide target string, into `out`.
  void target(std::string &out, const std::string &desc) {
    custom("--target", "T", [&out](const std::string &v) { out = target_flag(v); }, desc);
  }
  // A repeatable option: `take` is called with each value, in the order given.
  void each(const std::string &flag, const std::string &type, std::function<void(const std::string &)> take,
            const std::string &desc) {
    app_.add_option_function<std::string>(flag, std::move(take), desc)
        ->type_name(type)
        ->trigger_on_parse()
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
  void flag(const std::string &flag, std::function<void()> set, const std::string &desc) {
    app_.add_flag_callback(flag, std::move(set), desc);
  }
  CLI::App &app() { return app_; }

  void parse(int argc, char **argv) {
    std::vector<std::string> args(argv, argv + argc);
    std::reverse(args.begin(), args.end());  // CLI11 takes them last first
    try {
      app_.parse(args);
    } catch (const CLI::ParseError &e) {
      throw std::invalid_argument(e.what());
    }
  }

  std::string help() const {
    std::ostringstream out;
    out << "usage: " << usage_ << "\n\n" << intro_ << "\n";
    bool first = true;
    for (const CLI::Option *o : app_.get_options()) {
      if (!o->nonpositional()) continue;
      if (first) out << "\noptions:\n", first = false;
      std::string name = o->get_name(false, true);
      if (!o->get_type_name().empty()) name += " " + o->get_type_name();
      out << wrapped(name, o->get_description());
    }
    return out.str();
  }

 private:
  // "  NAME  description" with the description wrapped at 100 columns under column 25.
  static std::string wrapped(const std::string &name, const std::string &desc) {
    constexpr size_t kIndent = 25, kWidth = 100;
    std::string out = "  " + name, line;
    if (out.size() + 2 > kIndent) out += "\n" + std::string(kIndent, ' ');
    else out += std::string(kIndent - out.size(), ' ');
    size_t column = kIndent;
    std::istringstream words(desc);
    std::string word;
    bool line_start = true;
    while (words >> word) {
      if (!line_start && column + 1 + word.size() > kWidth) {
        out += "\n" + std::string(kIndent, ' ');
        column = kIndent;
        line_start = true;
      }
      if (!line_start) out += ' ', column++;
      out += word;
      column += word.size();
      line_start = false;
    }
    return out + "\n";
  }

  CLI::App app_;
  std::string usage_, intro_;
};

// The runner and timing options that tune and measure share.
void add_measure_options(Command &c, MeasureOptions &m) {
  c.number<double>("--rotate-mib", "X", m.rotate_mib, 0, 65536,
                   "time over copies of input/output of about X MiB (default 0: one warm buffer, as the benchmark; "
                   "16: data from DRAM)");
  c.custom("--output-offset", "B",
           [&m](const std::string &v) {
             m.output_offset = number_flag<size_t>("--output-offset", v, 0, 4092);
             if (m.output_offset % sizeof(float) != 0)
               throw std::invalid_argument("--output-offset must be a multiple of 4 bytes, got " + v);
           },
           "the output starts B bytes past a 4 KiB boundary after the input (a multiple of 4; default 0, as "
           "separate large allocations get; see bench_data.h)");
  c.number<int>("--build-jobs", "N", m.build_jobs, 1, 1024,
                "candidates compiled at once, one per thread (default: one per CPU); a batch is timed after all of "
                "it is built, never during a compile. The search measures this many candidates a round, so the "
                "same seed proposes the same candidates only with the same N");
  c.text("--runner", "R", m.runner,
         "where candidates run. ssh://[user@]host[:port]: AOT-compiled here (for --target), linked into shared "
         "libraries and run there by dwconv_runner (copied along; no Halide needed there). qemu: aarch64 "
         "candidates under qemu-aarch64 here, by the aarch64 build's dwconv_runner, checked against the naive "
         "loop but recorded as \"timing\": \"emulated\" and never distilled. local: AOT candidates run here by "
         "dwconv_runner (GPU targets, CUDA or OpenCL: this machine's device). Default: a JIT child process here");
  c.each("--ssh-option", "OPT", [&m](const std::string &v) { m.ssh_options.push_back(v); },
         "extra ssh option (repeatable), e.g. --ssh-option -i --ssh-option KEY");
  c.text("--runner-binary", "PATH", m.runner_binary,
         "dwconv_runner built for the remote machine (default: this build's)");
  c.text("--linker", "CXX", m.linker,
         "links candidate objects for the remote machine (default c++; aarch64-linux-gnu-g++ for --target "
         "arm-64-linux)");
}

// tune's options, bound to t.
const CommandText kTune{"dwconv tune --shapes FILE --db PATH [options]",
            "Measures, for each workload (shape) of FILE, the heuristic default schedule, Halide's\n"
            "autoschedulers (once per database), then a coordinate descent and a seeded evolutionary search\n"
            "ranked by a cost model; every candidate is checked against the naive loop before it is timed;\n"
            "the best few are re-measured interleaved with the default at the end, in --final-rounds\n"
            "processes, and ranked by their median time relative to it."};

void declare_tune(Command &c, TuneArgs &t) {
  TuneOptions &o = t.options;
  c.text("--shapes", "FILE", t.shapes_path, "CSV: name,N,H,W,C,M,KH,KW,stride,dilation,padding[,origin] (required)");
  c.text("--db", "PATH", t.db_path,
         "tuning database (JSON lines; created if missing; appended to); Halide's compiler warnings go to "
         "PATH.halide.log, not the terminal (required)");
  c.target(t.target,
           "Halide target the candidates are built for (default host: this machine). Its schedule family (x86, "
           "arm_neon, cuda) sets the search space, the cost model's prior and the autoscheduler baselines (CPU: "
           "Mullapudi2016, Adams2019, Li2018; CUDA: Anderson2021, Li2018). arm-64-linux needs --runner; a CUDA "
           "target runs on this machine's GPU unless --runner ssh://... names a GPU machine");
  c.number<double>("--budget-seconds", "S", t.budget_s, 1, 1e7,
                   "total search time over all workloads of this shard (default 600); the autoscheduler baselines "
                   "(once per database) come on top");
  c.number<long long>("--seed", "N", o.seed, 0, std::numeric_limits<long long>::max(),
                      "seed of the search (default 1): same seed, same proposals");
  c.number<int>("--threads", "N", o.measure.threads, 1, dwconv::kMaxThreads,
                "thread count the candidates are measured with (default 1)");
  c.flag("--resume", [&o] { o.resume = true; }, "continue from the candidates already in --db");
  c.custom("--shard", "i/n",
           [&t](const std::string &s) {
             const size_t slash = s.find('/');
             if (slash == std::string::npos) throw std::invalid_argument("--shard must be i/n with 0 <= i < n, got '" + s + "'");
             t.shard_n = number_flag<int>("--shard's n", s.substr(slash + 1), 1, 1 << 20);
             t.shard_i = number_flag<int>("--shard's i", s.substr(0, slash), 0, t.shard_n - 1);
           },
           "tune only workloads with index % n == i (0 <= i < n)");
  c.text("--distill", "OUT", t.distill_out, "also write the best-per-workload file to OUT (atomically)");
  c.each("--warm-start", "PATH", [&t](const std::string &v) { t.warm_paths.push_back(v); },
         "start from an earlier tuning (a database or a distilled file; repeatable): its best points for the "
         "same workload, target and thread count (at most 3) are measured again beside the default and the "
         "search starts from the fastest; records of other dwconv commits in --db seed it the same way");
  c.flag("--no-autoschedulers", [&o] { o.autoschedulers = false; }, "skip the autoscheduler baselines");
  c.each("--autoscheduler-param", "NAME.key=value",
         [&o](const std::string &v) {
           const size_t dot = v.find('.');
           if (dot == std::string::npos || v.find('=') == std::string::npos)
             throw std::invalid_argument("--autoscheduler-param must be NAME.key=value, e.g. Adams2019.beam_size=1, not " + v);
           std::string &ps = o.autoscheduler_params[v.substr(0, dot)];
           ps += (ps.empty() ? "" : ",") + v.substr(dot + 1);
         },
         "a parameter of one autoscheduler baseline (repeatable), recorded in its params; e.g. "
         "Adams2019.beam_size=1 (greedy: its default beam search of 32 can take minutes a shape, docs/tuning.md)");
  c.number<double>("--baseline-timeout", "S", o.baseline_timeout_s, 1, 1e6,
                   "seconds one autoscheduler baseline may take, scheduling included (default 180; a baseline past "
                   "it is recorded as a timeout)");
  c.number<int>("--final-rounds", "K", o.final_rounds, 1, 100,
                "the final round (the best few, the default, the best of the first 60 s) is repeated in K "
                "processes, compiled again in each (default 3): each point ranks by the median over the rounds of "
                "its time relative to the round's default; the baselines run in the first round only");
  c.flag("--json", [&t] { t.json_out = true; }, "one JSON object per measurement on stdout");
  add_measure_options(c, o.measure);
}

// measure's options (after SHAPE), bound to m.
const CommandText kMeasure{"dwconv measure SHAPE [options]",
            "Builds each candidate with the JIT (as dwconv tune does), checks it against the naive loop and\n"
            "times all of them interleaved; prints GFLOP/s (median, min-max). With no --params: the default.",
            true};

void declare_measure(Command &c, MeasureArgs &m) {
  MeasureOptions &o = m.options;
  c.each("--params", "P", [&m](const std::string &v) { m.candidates.push_back(Candidate{"dwconv", v, false}); },
         "schedule parameters \"key=value,...\" over this shape's heuristic default (repeatable; \"\" = the "
         "default itself)");
  c.each("--scheduler", "NAME", [&m](const std::string &v) { m.candidates.push_back(Candidate{v, "", false}); },
         "an autoscheduler baseline (Mullapudi2016, Adams2019, Li2018; repeatable)");
  c.number<int>("--threads", "N", o.threads, 1, dwconv::kMaxThreads, "thread count (default 1)");
  c.target(m.target, "Halide target to compile for (default: this host's)");
  c.flag("--runtime-stride", [&o] { o.fix_workload = false; },
         "stride, dilation and extents as runtime values (as in the general kernels); by default they are fixed "
         "at compile time, as in the tuned kernels");
  c.number<int>("--repeats", "N", o.repeats, 1, 100000, "timed samples per candidate (default 15)");
  c.text("--asm", "PREFIX", o.asm_prefix, "write candidate i's assembly and lowered statement to PREFIX<i>.s, .stmt");
  c.text("--shapes", "FILE", m.shapes_path, "where SHAPE names come from");
  add_measure_options(c, o);
}

const CommandText kInfo{"dwconv info SHAPE [--shapes FILE]",
            "Prints the workload key, the kernel this build picks on this CPU, and why.", true};

void declare_info(Command &c, InfoArgs &a) {
  c.text("--shapes", "FILE", a.shapes_path, "where SHAPE names come from");
}

const CommandText kDb{"dwconv db check PATH | db merge A B [...] -o C | db distill DB -o OUT | db prune DB [...] -o OUT",
            "check: validate every record (exit 1 and name file:line if not).\n"
            "merge: union of databases (all validated first), written atomically.\n"
            "distill: best schedule per workload, the file the build reads.\n"
            "prune: keep only the records distill reads: per workload, target, thread count and CPU those of\n"
            "the dwconv commit that measured it last (older commits' records go); written atomically."};

void declare_db(Command &c, DbArgs &d) {
  c.app().add_option("INPUT", d.inputs, "databases")->required();
  c.text("-o", "OUT", d.output, "the file merge, distill and prune write (atomically)");
}

// A command's --help: its options declared on a scratch set of arguments.
template <class Args>
std::string help_of(const CommandText &text, void (*declare)(Command &, Args &)) {
  Args args;
  Command c(text);
  declare(c, args);
  return c.help();
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
  Command c(kTune);
  declare_tune(c, t);
  c.parse(argc, argv);
  if (t.shapes_path.empty() || t.db_path.empty()) throw std::invalid_argument("--shapes and --db are required");
  return t;
}

std::string tune_help() { return help_of<TuneArgs>(kTune, declare_tune); }

// A command whose first argument is a shape (a name in the shapes file, or its fields), its
// options after it, over the defaults in `a`.
template <class Args>
Args parse_shape_command(const CommandText &text, void (*declare)(Command &, Args &), Args a, int argc, char **argv,
                         const std::string &default_shapes) {
  a.spec = argv[0];
  a.shapes_path = default_shapes;
  Command c(text);
  declare(c, a);
  c.parse(argc - 1, argv + 1);
  return a;
}

MeasureArgs parse_measure_args(int argc, char **argv, const std::string &default_shapes) {
  MeasureArgs m;
  m.options.repeats = 15;
  return parse_shape_command(kMeasure, declare_measure, m, argc, argv, default_shapes);
}

std::string measure_help() { return help_of<MeasureArgs>(kMeasure, declare_measure); }

InfoArgs parse_info_args(int argc, char **argv, const std::string &default_shapes) {
  return parse_shape_command(kInfo, declare_info, InfoArgs(), argc, argv, default_shapes);
}

std::string info_help() { return help_of<InfoArgs>(kInfo, declare_info); }

DbArgs parse_db_args(int argc, char **argv) {
  DbArgs d;
  d.command = argv[0];
  if (d.command != "check" && d.command != "merge" && d.command != "distill" && d.command != "prune")
    throw std::invalid_argument("unknown db command '" + d.command + "' (check, merge, distill, prune)");
  Command c(kDb);
  declare_db(c, d);
  c.parse(argc - 1, argv + 1);
  if (d.command == "check" && (d.inputs.size() != 1 || !d.output.empty()))
    throw std::invalid_argument("check takes one database and no -o");
  if (d.command != "check" && d.output.empty())
    throw std::invalid_argument(d.command + " needs -o OUT");
  return d;
}

std::string db_help() { return help_of<DbArgs>(kDb, declare_db); }

}  // namespace dwconv_tuner
