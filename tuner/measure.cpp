#include "measure.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>

#include "Halide.h"
#include "db.h"

namespace dwconv_tuner {

namespace {

using Clock = std::chrono::steady_clock;

void load_autoscheduler(const std::string &name) {
  static const std::map<std::string, std::string> libs = {{"Adams2019", "adams2019"},
                                                          {"Mullapudi2016", "mullapudi2016"},
                                                          {"Li2018", "li2018"},
                                                          {"Anderson2021", "anderson2021"}};
  auto it = libs.find(name);
  if (it == libs.end()) throw std::invalid_argument("unknown autoscheduler " + name);
  Halide::load_plugin(std::string(DWCONV_HALIDE_LIBDIR) + "/libautoschedule_" + it->second + ".so");
}

Halide::Callable build(const dwconv::Problem &p, const Candidate &c, const MeasureOptions &o, size_t index) {
  Halide::Target t = Halide::get_target_from_environment();
  if (o.target != "host") t = Halide::Target(o.target);
  else t = Halide::get_host_target();
  Halide::GeneratorContext ctx(t);
  if (c.scheduler != "dwconv") {
    load_autoscheduler(c.scheduler);
    std::map<std::string, std::string> extra;
    if (c.scheduler != "Li2018") extra["parallelism"] = std::to_string(std::max(o.threads, 1));
    ctx = Halide::GeneratorContext(t, Halide::AutoschedulerParams(c.scheduler, extra));
  }
  auto gen = Halide::Internal::GeneratorRegistry::create("dwconv", ctx);
  gen->set_generatorparam_value("kernel_w", std::to_string(p.filter.kw));
  gen->set_generatorparam_value("kernel_h", std::to_string(p.filter.kh));
  gen->set_generatorparam_value("fixed_multiplier", std::to_string(p.filter.m));
  if (o.fix_stride && p.params.stride_h == p.params.stride_w && p.params.dilation_h == p.params.dilation_w) {
    gen->set_generatorparam_value("fixed_stride", std::to_string(p.params.stride_w));
    gen->set_generatorparam_value("fixed_dilation", std::to_string(p.params.dilation_w));
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
  if (c.scheduler != "dwconv") pipeline.apply_autoscheduler(t, ctx.autoscheduler_params());
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
  return pipeline.compile_to_callable(args, t);
}

struct Bound {
  Halide::Callable fn;
  bool ok = false;
  Measurement m;
};

// The data of a workload and its reference output, made once in the parent (the naive loop
// takes seconds on the big shapes) and inherited by every child through fork().
struct WorkloadData {
  std::string key;
  Halide::Buffer<float> in, fil, bias, out;
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
  d.out = Halide::Buffer<float>(CM, p.output.w, p.output.h, p.output.n);
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

// Runs in the child: everything, result as JSON on fd.
void child_main(const dwconv::Problem &p, const std::vector<Candidate> &cands, const MeasureOptions &o, int fd) {
  json out = json::array();
  std::vector<Bound> bound(cands.size());
  dwconv::ResolvedPadding pad;
  dwconv::resolve_padding(p.input, p.filter, p.params, &pad);
  const WorkloadData &data = workload_data(p);  // made by the parent: no naive loop here
  Halide::Buffer<float> in = data.in, fil = data.fil, bias = data.bias, outb = data.out;
  const int M = p.filter.m;
  const float inf = std::numeric_limits<float>::infinity();
  auto call_on = [&](Halide::Callable &f, Halide::Buffer<float> &input, Halide::Buffer<float> &output) {
    return f(input, fil, bias, M, p.params.stride_w, p.params.stride_h, p.params.dilation_w, p.params.dilation_h,
             (int)pad.left, (int)pad.top, -inf, inf, output);
  };
  auto call = [&](Halide::Callable &f) { return call_on(f, in, outb); };
  // Timed runs rotate over copies of input and output (as bench/dwconv_bench does), so that a
  // schedule is judged on data that is not all hot in L1/L2.
  std::vector<Halide::Buffer<float>> ins, outs;
  const double mib = 4.0 * double(in.number_of_elements() + outb.number_of_elements()) / (1 << 20);
  const int copies = o.rotate_mib > 0 ? std::max(1, std::min(8, int(o.rotate_mib / std::max(mib, 1e-9)))) : 1;
  for (int k = 0; k < copies; k++) {
    ins.push_back(in.copy());
    outs.push_back(outb.copy());
  }
  size_t turn = 0;
  auto timed_call = [&](Halide::Callable &f) {
    turn = (turn + 1) % ins.size();
    return call_on(f, ins[turn], outs[turn]);
  };
  for (size_t i = 0; i < cands.size(); i++) {
    try {
      bound[i].fn = build(p, cands[i], o, i);
    } catch (const Halide::Error &e) {
      bound[i].m = {"compile_error", 0, 0, 0, e.what()};
      continue;
    } catch (const std::exception &e) {
      bound[i].m = {"compile_error", 0, 0, 0, e.what()};
      continue;
    }
    outb.fill(std::numeric_limits<float>::quiet_NaN());
    try {
      int rc = call(bound[i].fn);
      if (rc != 0) {
        bound[i].m = {"crash", 0, 0, 0, "pipeline returned error " + std::to_string(rc)};
        continue;
      }
    } catch (const Halide::Error &e) {  // Halide's JIT reports pipeline errors as exceptions
      bound[i].m = {"crash", 0, 0, 0, e.what()};
      continue;
    } catch (const std::exception &e) {
      bound[i].m = {"crash", 0, 0, 0, e.what()};
      continue;
    }
    dwconv::Status s = data.reference.check(outb.data());
    if (!s.ok()) {
      bound[i].m = {"wrong", 0, 0, 0, s.message()};
      continue;
    }
    bound[i].ok = true;
  }
  // Calibrate iterations per sample on the first right candidate, then interleave.
  std::vector<int> iters(cands.size(), 1);
  std::vector<std::vector<double>> samples(cands.size());
  for (size_t i = 0; i < cands.size(); i++) {
    if (!bound[i].ok) continue;
    auto t0 = Clock::now();
    timed_call(bound[i].fn);
    double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    iters[i] = std::max(1, int(o.min_sample_ms * 1000 / std::max(us, 1.0)));
  }
  for (int r = 0; r < o.repeats; r++) {
    for (size_t i = 0; i < cands.size(); i++) {
      if (!bound[i].ok) continue;
      auto t0 = Clock::now();
      for (int k = 0; k < iters[i]; k++) timed_call(bound[i].fn);
      samples[i].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / iters[i]);
    }
  }
  for (size_t i = 0; i < cands.size(); i++) {
    Measurement m = bound[i].m;
    if (bound[i].ok) {
      auto &s = samples[i];
      std::sort(s.begin(), s.end());
      m = {"ok", s[s.size() / 2], s.front(), s.back(), ""};
    }
    out.push_back({{"status", m.status}, {"median_us", m.median_us}, {"min_us", m.min_us}, {"max_us", m.max_us},
                   {"error", m.error}});
  }
  std::string text = out.dump();
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n <= 0) break;
    off += n;
  }
}

}  // namespace

std::vector<Measurement> measure(const dwconv::Problem &p, const std::vector<Candidate> &cands,
                                 const MeasureOptions &o) {
  std::vector<Measurement> result(cands.size());
  workload_data(p);  // before fork(), so that every child of this workload shares it
  int fds[2];
  if (::pipe(fds) != 0) {
    for (auto &m : result) m = {"crash", 0, 0, 0, "pipe() failed"};
    return result;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    ::setenv("HL_NUM_THREADS", std::to_string(std::max(o.threads, 1)).c_str(), 1);
    std::string failure;
    try {
      child_main(p, cands, o, fds[1]);
    } catch (const Halide::Error &e) {
      failure = e.what();
    } catch (const std::exception &e) {
      failure = e.what();
    } catch (...) {
      failure = "unknown exception";
    }
    if (!failure.empty()) {
      json out = json::array();
      for (size_t i = 0; i < cands.size(); i++)
        out.push_back({{"status", "crash"}, {"median_us", 0}, {"min_us", 0}, {"max_us", 0}, {"error", failure}});
      std::string text = out.dump();
      if (::write(fds[1], text.data(), text.size()) < 0) ::_exit(1);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string text;
  auto deadline = Clock::now() + std::chrono::duration<double>(o.timeout_s);
  bool timed_out = false;
  for (;;) {
    double left_ms = std::chrono::duration<double, std::milli>(deadline - Clock::now()).count();
    if (left_ms <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    int r = ::poll(&pfd, 1, static_cast<int>(std::min(left_ms, 1e9)));
    if (r <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, n);
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  json parsed = json::parse(text, nullptr, false);
  if (!timed_out && parsed.is_array() && parsed.size() == cands.size()) {
    for (size_t i = 0; i < cands.size(); i++) {
      const json &m = parsed[i];
      result[i] = {m["status"], m["median_us"], m["min_us"], m["max_us"], m["error"]};
    }
    return result;
  }
  const std::string why = timed_out ? "timeout" : "crash";
  const std::string detail = timed_out ? "killed after " + std::to_string(int(o.timeout_s)) + " s"
                             : WIFSIGNALED(wstatus) ? "killed by signal " + std::to_string(WTERMSIG(wstatus))
                                                    : "child exited without a result";
  for (auto &m : result) m = {why, 0, 0, 0, detail};
  return result;
}

}  // namespace dwconv_tuner
