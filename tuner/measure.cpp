#include "measure.h"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "Halide.h"
#include "bench_data.h"
#include "check_and_time.h"
#include "db.h"
#include "thread_pool.h"  // runtime/src: the pool the AOT kernels run on

namespace dwconv_tuner {

namespace {

using Clock = std::chrono::steady_clock;

// Runs fn(i) for every i < n on up to `jobs` threads, each taking the next index; fn must not
// throw. Halide's compiler is meant to be safe for independent pipelines on separate threads
// (halide/Halide#5101); tuner_cli compiles hand schedules and an autoscheduler side by side and
// checks each result against the naive loop.
void for_each_parallel(size_t n, int jobs, const std::function<void(size_t)> &fn) {
  const size_t workers = std::min(n, size_t(std::max(jobs, 1)));
  if (workers <= 1) {
    for (size_t i = 0; i < n; i++) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (size_t w = 0; w < workers; w++)
    pool.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) fn(i);
    });
  for (auto &t : pool) t.join();
}

void load_autoscheduler(const std::string &name) {
  static const std::map<std::string, std::string> libs = {{"Adams2019", "adams2019"},
                                                          {"Mullapudi2016", "mullapudi2016"},
                                                          {"Li2018", "li2018"},
                                                          {"Anderson2021", "anderson2021"}};
  auto it = libs.find(name);
  if (it == libs.end()) throw std::invalid_argument("unknown autoscheduler " + name);
  static std::mutex loading;
  std::lock_guard<std::mutex> lock(loading);
  Halide::load_plugin(std::string(DWCONV_HALIDE_LIBDIR) + "/libautoschedule_" + it->second + ".so");
}

// "a=1,b=2" -> {a: 1, b: 2}, values kept as text (autoscheduler parameters).
std::map<std::string, std::string> parse_key_values(const std::string &s) {
  std::map<std::string, std::string> kv;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    const std::string item = s.substr(start, end - start);
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) throw std::invalid_argument("autoscheduler parameter '" + item + "' is not key=value");
    kv[item.substr(0, eq)] = item.substr(eq + 1);
    start = end + 1;
  }
  return kv;
}

struct Built {
  Halide::Pipeline pipeline;
  std::vector<Halide::Argument> args;
  Halide::Target target;
};

Built build_pipeline(const dwconv::Problem &p, const Candidate &c, const MeasureOptions &o, size_t index) {
  const Halide::Target t = o.target == "host" ? Halide::get_host_target() : Halide::Target(o.target);
  Halide::GeneratorContext ctx(t);
  if (c.scheduler != "dwconv") {
    load_autoscheduler(c.scheduler);
    std::map<std::string, std::string> extra;
    // CPU autoschedulers: the thread count; Anderson2021 (GPU) keeps its own (SMs).
    if (c.scheduler == "Mullapudi2016" || c.scheduler == "Adams2019")
      extra["parallelism"] = std::to_string(std::max(o.threads, 1));
    // An autoscheduler candidate's params are that autoscheduler's own ("beam_size=1").
    for (const auto &[k, v] : parse_key_values(c.params)) extra[k] = v;
    ctx = Halide::GeneratorContext(t, Halide::AutoschedulerParams(c.scheduler, extra));
  }
  auto gen = Halide::Internal::GeneratorRegistry::create("dwconv", ctx);
  gen->set_generatorparam_value("kernel_w", std::to_string(p.filter.kw));
  gen->set_generatorparam_value("kernel_h", std::to_string(p.filter.kh));
  gen->set_generatorparam_value("fixed_multiplier", std::to_string(p.filter.m));
  if (o.fix_workload && p.params.stride_h == p.params.stride_w && p.params.dilation_h == p.params.dilation_w) {
    gen->set_generatorparam_value("fixed_stride", std::to_string(p.params.stride_w));
    gen->set_generatorparam_value("fixed_dilation", std::to_string(p.params.dilation_w));
    // As the build generates a tuned kernel: extents fixed too (cmake/DwconvTuning.cmake).
    gen->set_generatorparam_value("fixed_shape", std::to_string(p.input.n) + "," + std::to_string(p.input.h) + "," +
                                                     std::to_string(p.input.w) + "," + std::to_string(p.input.c) + "," +
                                                     std::to_string(p.output.h) + "," + std::to_string(p.output.w));
  }
  if (c.scheduler == "dwconv") {
    if (!c.params.empty()) gen->set_generatorparam_value("schedule", c.params);
  } else {
    const auto &s = p;
    gen->set_generatorparam_value(
        "estimates", std::to_string(s.input.n) + "," + std::to_string(s.input.h) + "," + std::to_string(s.input.w) + "," +
                         std::to_string(s.input.c) + "," + std::to_string(s.filter.m) + "," + std::to_string(s.filter.kh) +
                         "," + std::to_string(s.filter.kw) + "," + std::to_string(s.output.h) + "," +
                         std::to_string(s.output.w));
  }
  Halide::Pipeline pipeline = gen->build_pipeline();
  if (c.scheduler != "dwconv") {
    // One at a time: the autoscheduler plugins are not known to be safe to run concurrently
    // (the compile that follows is).
    static std::mutex autoscheduling;
    std::lock_guard<std::mutex> lock(autoscheduling);
    pipeline.apply_autoscheduler(t, ctx.autoscheduler_params());
  }
  // The generator's inputs, in declaration order (the outputs follow them in the call).
  std::vector<Halide::Argument> args;
  for (const auto &info : gen->arginfos()) {
    if (info.dir != Halide::Internal::ArgInfoDirection::Input) continue;
    for (const auto &prm : gen->input_parameter(info.name)) {
      args.emplace_back(prm.name(), prm.is_buffer() ? Halide::Argument::InputBuffer : Halide::Argument::InputScalar,
                        prm.type(), prm.dimensions(), prm.get_argument_estimates());
    }
  }
  if (!o.asm_prefix.empty()) {
    pipeline.compile_to_assembly(o.asm_prefix + std::to_string(index) + ".s", args, "dwconv_candidate", t);
    pipeline.compile_to_lowered_stmt(o.asm_prefix + std::to_string(index) + ".stmt", args, Halide::Text, t);
  }
  return {pipeline, args, t};
}

Halide::Callable build(const dwconv::Problem &p, const Candidate &c, const MeasureOptions &o, size_t index) {
  Built b = build_pipeline(p, c, o, index);
  return b.pipeline.compile_to_callable(b.args, b.target);
}

// The data of a workload and its reference output, made once in the parent (the naive loop
// takes seconds on the big shapes) and inherited by every child through fork().
struct WorkloadData {
  std::string key;
  Halide::Buffer<float> in, fil, bias;  // the timed outputs live in InOutBlocks
  dwconv::ReferenceCheck reference;
};

const WorkloadData &workload_data(const dwconv::Problem &p) {
  static WorkloadData d;
  const std::string key = dwconv::workload_key(p);
  if (d.key == key) return d;
  const int C = p.input.c, M = p.filter.m, CM = C * M;
  d.in = Halide::Buffer<float>(C, p.input.w, p.input.h, p.input.n);
  d.fil = Halide::Buffer<float>(CM, p.filter.kw, p.filter.kh);
  d.bias = Halide::Buffer<float>(CM);
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> u(-1, 1);
  d.in.for_each_value([&](float &v) { v = u(rng); });
  d.fil.for_each_value([&](float &v) { v = u(rng); });
  d.bias.fill(0.0f);
  dwconv::Status s = dwconv::ReferenceCheck::create(p, d.in.data(), d.fil.data(), nullptr, &d.reference);
  if (!s.ok()) throw std::runtime_error("reference for " + key + ": " + s.message());
  d.key = key;
  return d;
}

// Candidates compiled in this (parent) process for reuse (Candidate::reuse_build), of one
// workload at a time; a forked child inherits the compiled code.
struct BuildCache {
  std::string workload;
  std::map<std::string, Halide::Callable> built;  // by scheduler|params|target
};

BuildCache &build_cache() {
  static BuildCache cache;
  return cache;
}

std::string build_cache_key(const Candidate &c, const MeasureOptions &o) {
  return c.scheduler + "|" + c.params + "|" + o.target + "|" + (o.fix_workload ? "fixed" : "runtime");
}

// Runs in the child: everything, result as JSON on fd.
std::string child_main(const dwconv::Problem &p, const std::vector<Candidate> &cands, const MeasureOptions &o) {
  dwconv::ResolvedPadding pad;
  dwconv::resolve_padding(p.input, p.filter, p.params, &pad);
  const WorkloadData &data = workload_data(p);  // made by the parent: no naive loop here
  const int C = p.input.c, M = p.filter.m, CM = C * M;
  const float inf = std::numeric_limits<float>::infinity();
  const size_t out_count = size_t(p.output.n) * p.output.h * p.output.w * CM;
  TimingOptions to{o.repeats, o.min_sample_ms,
                   dwconv_bench::rotation_copies(o.rotate_mib, 4.0 * double(data.in.number_of_elements() + out_count))};
  std::vector<dwconv_bench::InOutBlock> blocks;
  std::vector<Halide::Buffer<float>> ins, outs;
  for (size_t k = 0; k < to.copies; k++) {
    blocks.emplace_back(data.in.number_of_elements(), out_count, o.output_offset);
    ins.emplace_back(blocks.back().input(), C, int(p.input.w), int(p.input.h), int(p.input.n));
    ins.back().copy_from(data.in);
    outs.emplace_back(blocks.back().output(), CM, int(p.output.w), int(p.output.h), int(p.output.n));
  }
  std::vector<Halide::Callable> fns(cands.size());
  std::vector<std::string> built(cands.size());
  for_each_parallel(cands.size(), build_jobs(o), [&](size_t i) {
    try {
      const auto cached = build_cache().built.find(build_cache_key(cands[i], o));
      fns[i] = cands[i].reuse_build && cached != build_cache().built.end() ? cached->second : build(p, cands[i], o, i);
    } catch (const Halide::Error &e) {
      built[i] = e.what();
    } catch (const std::exception &e) {
      built[i] = e.what();
    } catch (...) {
      built[i] = "unknown exception while compiling";
    }
  });
  // The parallel loops run on the runtime's pool, as the AOT kernels do (dwconv.cpp installs
  // it as their do_par_for), not on the JIT's default one: at 2 threads a candidate is then timed
  // with the task assignment and worker wake-up it will get (thread_pool.h: static chunks,
  // spinning workers). DWCONV_HALIDE_POOL=1 keeps Halide's JIT pool, to compare the two (7x7x1024
  // at 2 threads, two processes each, us: ours 15.8 / 14.7, Halide's 24.7 / 14.8).
  dwconv::detail::pool_set_threads(std::max(o.threads, 1));
  Halide::JITUserContext jit_context;
  if (!std::getenv("DWCONV_HALIDE_POOL")) {
    jit_context.handlers.custom_do_par_for = [](Halide::JITUserContext *uc, int (*f)(Halide::JITUserContext *, int, uint8_t *),
                                                int min, int size, uint8_t *closure) {
      return dwconv::detail::pool_do_par_for(uc, reinterpret_cast<halide_task_t>(f), min, size, closure);
    };
  }
  auto run = [&](size_t i, size_t copy, bool checking) -> std::string {
    if (checking) outs[0].fill(std::numeric_limits<float>::quiet_NaN());
    try {
      int rc = fns[i](&jit_context, ins[copy], data.fil, data.bias, M, p.params.stride_w, p.params.stride_h, p.params.dilation_w,
                      p.params.dilation_h, (int)pad.left, (int)pad.top, -inf, inf, outs[copy]);
      return rc == 0 ? "" : "pipeline returned error " + std::to_string(rc);
    } catch (const std::exception &e) {  // Halide's JIT reports pipeline errors as exceptions
      return e.what();
    }
  };
  auto check = [&](size_t) -> std::string {
    dwconv::Status s = data.reference.check(outs[0].data());
    return s.ok() ? "" : s.message();
  };
  return check_and_time(built, to, run, check).dump();
}

// Runs body() in a forked child and returns what it returned (through a pipe), or why not:
// the child is killed after timeout_s; a crash (signal, exception) is reported as such.
struct ChildResult {
  bool ok = false;
  std::string text;  // body's result when ok, else why it failed ("timeout: ..." or "crash: ...")
};

ChildResult in_child(const std::function<std::string()> &body, double timeout_s) {
  int fds[2];
  if (::pipe(fds) != 0) return {false, "crash: pipe() failed"};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string text;
    int code = 0;
    try {
      text = body();
    } catch (const Halide::Error &e) {  // not a std::exception
      text = e.what(), code = 3;
    } catch (const std::exception &e) {
      text = e.what(), code = 3;
    } catch (...) {
      text = "unknown exception", code = 3;
    }
    size_t off = 0;
    while (off < text.size()) {
      ssize_t n = ::write(fds[1], text.data() + off, text.size() - off);
      if (n <= 0) break;
      off += n;
    }
    ::_exit(code);
  }
  ::close(fds[1]);
  std::string text;
  auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  bool timed_out = false, exited = false;
  int wstatus = 0;
  // Until end of file or the child's exit: a child forked meanwhile by another thread (parallel
  // builds) holds a copy of this pipe's write end, so end of file can come later than the exit.
  for (;;) {
    double left_ms = std::chrono::duration<double, std::milli>(deadline - Clock::now()).count();
    if (left_ms <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    int r = ::poll(&pfd, 1, static_cast<int>(std::min(left_ms, 100.0)));
    if (r > 0) {
      char buf[4096];
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, n);
    } else if (::waitpid(pid, &wstatus, WNOHANG) == pid) {
      exited = true;
      // What it wrote before exiting is in the pipe: read it without blocking.
      for (;;) {
        pollfd rest{fds[0], POLLIN, 0};
        char buf[4096];
        ssize_t n = ::poll(&rest, 1, 0) > 0 ? ::read(fds[0], buf, sizeof buf) : 0;
        if (n <= 0) break;
        text.append(buf, n);
      }
      break;
    }
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  if (!exited) ::waitpid(pid, &wstatus, 0);
  if (timed_out) return {false, "timeout: killed after " + std::to_string(int(timeout_s)) + " s"};
  if (WIFSIGNALED(wstatus)) return {false, "crash: killed by signal " + std::to_string(WTERMSIG(wstatus))};
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 3) return {false, "crash: " + text};
  return {true, text};
}

}  // namespace

namespace {

std::string shell_quote(const std::string &s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs a shell command, returns its exit status and (optionally) its standard output.
int shell(const std::string &cmd, std::string *out = nullptr) {
  FILE *f = popen((cmd + (out ? "" : " >/dev/null")).c_str(), "r");
  if (!f) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    if (out) out->append(buf, n);
  int st = pclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

std::vector<Measurement> parse_results(const std::string &text, size_t n, bool *ok) {
  std::vector<Measurement> result(n);
  json parsed = json::parse(text, nullptr, false);
  *ok = parsed.is_array() && parsed.size() == n;
  if (*ok) {
    for (size_t i = 0; i < n; i++) {
      const json &m = parsed[i];
      result[i] = {m["status"], m["median_us"], m["min_us"], m["max_us"], m["error"], false, m.value("cpu", "")};
    }
  }
  return result;
}

// Candidates AOT-compiled here, one shared library each, in dir (cand<i>.so), each in its own
// child (several at once): a candidate that makes the compiler hang is killed like any other.
// Those that failed get their result; the others' indices go to *built.
void build_libraries(const dwconv::Problem &p, const std::vector<Candidate> &cands, const MeasureOptions &o,
                     const std::string &dir, std::vector<Measurement> *result, std::vector<size_t> *built) {
  std::vector<ChildResult> compiled(cands.size());
  for_each_parallel(cands.size(), build_jobs(o), [&](size_t i) {
    const std::string base = dir + "/cand" + std::to_string(i);
    compiled[i] = in_child(
        [&]() -> std::string {
          Built b = build_pipeline(p, cands[i], o, i);
          b.pipeline.compile_to_object(base + ".o", b.args, "dwconv_candidate", b.target);
          std::string log;
          if (shell(o.linker + " -shared -Wl,-Bsymbolic -o " + shell_quote(base + ".so") + " " +
                        shell_quote(base + ".o") + " -lpthread -ldl 2>&1",
                    &log) != 0)
            return "linking the candidate failed: " + log;
          return "";
        },
        o.timeout_s);
  });
  for (size_t i = 0; i < cands.size(); i++) {
    const ChildResult &r = compiled[i];
    if (!r.ok || !r.text.empty()) {
      const bool timeout = !r.ok && r.text.rfind("timeout", 0) == 0;
      (*result)[i] = {timeout ? "timeout" : "compile_error", 0, 0, 0, r.ok ? r.text : r.text.substr(r.text.find(':') + 2)};
      continue;
    }
    built->push_back(i);
  }
}

// The host runner: candidates JIT-compiled and timed in a child process here.
class JitChildRunner : public Runner {
 public:
  void prepare(const dwconv::Problem &p) const override { workload_data(p); }
  std::vector<Measurement> measure(const dwconv::Problem &p, const std::vector<Candidate> &cands,
                                   const MeasureOptions &o) const override {
    std::vector<Measurement> result(cands.size());
    workload_data(p);  // before fork(), so that every child of this workload shares it
    // Reused candidates compiled here, before fork(), once per workload. One that fails to build
    // is left to the child, which records why.
    BuildCache &cache = build_cache();
    if (cache.workload != dwconv::workload_key(p)) cache = {dwconv::workload_key(p), {}};
    for (size_t i = 0; i < cands.size(); i++) {
      if (!cands[i].reuse_build || cache.built.count(build_cache_key(cands[i], o))) continue;
      try {
        cache.built[build_cache_key(cands[i], o)] = build(p, cands[i], o, i);
      } catch (...) {
      }
    }
    ChildResult r = in_child(
        [&] {
          ::setenv("HL_NUM_THREADS", std::to_string(std::max(o.threads, 1)).c_str(), 1);
          return child_main(p, cands, o);
        },
        o.timeout_s);
    bool parsed_ok = false;
    std::vector<Measurement> parsed = parse_results(r.text, cands.size(), &parsed_ok);
    if (r.ok && parsed_ok) return parsed;
    const std::string why = r.ok ? "crash: child exited without a result" : r.text;
    const size_t colon = why.find(':');
    for (auto &m : result) m = {why.substr(0, colon), 0, 0, 0, why.substr(colon + 2)};
    return result;
  }
};

// Runners of AOT-compiled candidates: each batch built here into shared libraries that
// dwconv_runner loads and times (tuner/runner.cpp) where the subclass runs it, its JSON read back.
class AotRunner : public Runner {
 public:
  std::vector<Measurement> measure(const dwconv::Problem &p, const std::vector<Candidate> &cands,
                                   const MeasureOptions &o) const override {
    std::vector<Measurement> result(cands.size());
    char tmpl[] = "/tmp/dwconv-build-XXXXXX";
    if (!mkdtemp(tmpl)) {
      for (auto &m : result) m = {"crash", 0, 0, 0, "mkdtemp failed"};
      return result;
    }
    const std::string dir = tmpl;
    std::vector<size_t> built;
    build_libraries(p, cands, o, dir, &result, &built);
    if (!built.empty()) {
      std::vector<std::string> libs;
      for (size_t i : built) libs.push_back(dir + "/cand" + std::to_string(i) + ".so");
      const std::string args = dwconv::workload_key(p) + " " + std::to_string(o.threads) + " " +
                               std::to_string(o.repeats) + " " + std::to_string(o.min_sample_ms) + " " +
                               std::to_string(o.rotate_mib) + " " + std::to_string(o.output_offset);
      const int timeout = std::max(10, int(o.timeout_s));
      std::string out;
      std::string why = run_libraries(o, dir, libs, args, timeout, &out);
      if (why.empty()) {
        bool ok = false;
        std::vector<Measurement> got = parse_results(out, libs.size(), &ok);
        for (size_t k = 0; ok && k < libs.size(); k++) {
          result[built[k]] = got[k];
          result[built[k]].emulated = emulated();
        }
        if (!ok) why = name() + " gave no result";
      }
      if (!why.empty()) {
        const std::string status = why.rfind("timeout", 0) == 0 ? "timeout" : "crash";
        for (size_t k : built) result[k] = {status, 0, 0, 0, why};
      }
    }
    shell("rm -rf " + shell_quote(dir));
    return result;
  }

 protected:
  // Runs dwconv_runner (o.runner_binary) with `args` and the libraries `libs` (in dir) within
  // `timeout` seconds, its standard output into *out; "" or why it gave no output ("timeout: ..."
  // when it ran out of time).
  virtual std::string run_libraries(const MeasureOptions &o, const std::string &dir,
                                    const std::vector<std::string> &libs, const std::string &args, int timeout,
                                    std::string *out) const = 0;
  // Whether the times say nothing about the hardware (an emulator).
  virtual bool emulated() const { return false; }
  virtual std::string name() const = 0;

  // Runs `command` within `timeout` seconds; "" or why it gave no result.
  std::string run_command(const std::string &command, int timeout, std::string *out) const {
    const int rc = shell("timeout " + std::to_string(timeout) + " " + command, out);
    if (rc == 0) return "";
    return rc == 124 ? "timeout: killed after " + std::to_string(timeout) + " s"
                     : name() + " exited with " + std::to_string(rc) + " without a result";
  }
};

// dwconv_runner here (e.g. CUDA candidates on this machine's GPU).
class LocalRunner : public AotRunner {
 protected:
  std::string run_libraries(const MeasureOptions &o, const std::string &, const std::vector<std::string> &libs,
                            const std::string &args, int timeout, std::string *out) const override {
    return run_command(command(o) + " " + args + quoted(libs) + " 2>/dev/null", timeout, out);
  }
  std::string name() const override { return "dwconv_runner (local)"; }
  virtual std::string command(const MeasureOptions &o) const { return shell_quote(o.runner_binary); }
  static std::string quoted(const std::vector<std::string> &libs) {
    std::string s;
    for (const auto &l : libs) s += " " + shell_quote(l);
    return s;
  }
};

// The aarch64 dwconv_runner under qemu-aarch64 with the cross toolchain's sysroot: checked
// against the naive loop, but the times are not the hardware's.
class QemuRunner : public LocalRunner {
 protected:
  std::string name() const override { return "dwconv_runner (qemu)"; }
  bool emulated() const override { return true; }
  std::string command(const MeasureOptions &o) const override {
    return "qemu-aarch64 -L " + shell_quote(o.qemu_sysroot) + " " + shell_quote(o.runner_binary);
  }
};

// dwconv_runner on another machine over ssh ("ssh://[user@]host[:port]"): the runner and the
// libraries go over the ssh connection itself (tar), so the remote needs nothing but sshd.
class SshRunner : public AotRunner {
 public:
  explicit SshRunner(const std::string &spec) {
    dest_ = spec.substr(6);  // after "ssh://"
    if (size_t colon = dest_.rfind(':'); colon != std::string::npos) {
      port_ = dest_.substr(colon + 1);
      dest_ = dest_.substr(0, colon);
    }
  }

 protected:
  std::string name() const override { return "the runner on " + dest_; }
  std::string run_libraries(const MeasureOptions &o, const std::string &dir, const std::vector<std::string> &libs,
                            const std::string &args, int timeout, std::string *out) const override {
    std::string opts = "-o BatchMode=yes -o LogLevel=ERROR";
    for (const auto &x : o.ssh_options) opts += " " + shell_quote(x);
    const std::string ssh = "ssh " + opts + (port_.empty() ? "" : " -p " + port_) + " " + shell_quote(dest_);
    // One remote directory per batch; removed by the same command that runs it.
    const std::string rdir = "/tmp/dwconv-run-" + std::to_string(getpid()) + "-" + dir.substr(dir.rfind('-') + 1);
    const std::string binary = o.runner_binary.substr(o.runner_binary.rfind('/') + 1);
    const std::string runner_dir = o.runner_binary.substr(0, o.runner_binary.rfind('/'));
    std::string files = "-C " + shell_quote(runner_dir) + " " + shell_quote(binary) + " -C " + shell_quote(dir);
    std::string remote_libs;
    for (const auto &l : libs) {
      files += " " + shell_quote(l.substr(l.rfind('/') + 1));
      remote_libs += " " + rdir + "/" + l.substr(l.rfind('/') + 1);
    }
    std::string log;
    if (shell("tar -cf - " + files + " | timeout " + std::to_string(timeout) + " " + ssh + " " +
                  shell_quote("mkdir -p " + rdir + " && tar -C " + rdir + " -xf -") + " 2>&1",
              &log) != 0)
      return "copying the candidates to " + dest_ + " over ssh failed: " + log;
    return run_command(ssh + " " + shell_quote(rdir + "/" + binary + " " + args + remote_libs + "; rc=$?; rm -rf " +
                                               rdir + "; exit $rc"),
                       timeout, out);
  }

 private:
  std::string dest_, port_;
};

}  // namespace

std::unique_ptr<Runner> make_runner(const std::string &spec) {
  if (spec.empty()) return std::make_unique<JitChildRunner>();
  if (spec == "local") return std::make_unique<LocalRunner>();
  if (spec == "qemu") return std::make_unique<QemuRunner>();
  if (spec.rfind("ssh://", 0) == 0 && spec.size() > 6) return std::make_unique<SshRunner>(spec);
  throw std::invalid_argument("runner must be ssh://[user@]host[:port], qemu or local, not " + spec);
}

int build_jobs(const MeasureOptions &o) {
  if (o.build_jobs > 0) return o.build_jobs;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

void prepare(const dwconv::Problem &p, const MeasureOptions &o) { make_runner(o.runner)->prepare(p); }

std::vector<Measurement> measure(const dwconv::Problem &p, const std::vector<Candidate> &cands,
                                 const MeasureOptions &o) {
  return make_runner(o.runner)->measure(p, cands, o);
}

}  // namespace dwconv_tuner
