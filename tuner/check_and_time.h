// The measurement protocol of the tuner, shared by its two runners (the JIT child of measure.cpp
// and dwconv_runner, which runs AOT-compiled candidates on a remote machine): check every
// candidate once against the reference, then time the right ones in interleaved rounds over
// rotated data copies (candidate 1, 2, ..., n, then 2, ..., n, 1, ...) so that drift hits all alike.
#pragma once

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cpu_model.h"

namespace dwconv_tuner {

struct TimingOptions {
  int repeats = 7;           // timed samples per candidate (median taken)
  double min_sample_ms = 3;  // each sample runs enough iterations to last this long
  size_t copies = 1;         // data copies the timed runs rotate over
};

// built[i]: "" when candidate i was built, else its compile error.
// run(i, copy, checking): runs candidate i on data copy `copy` (checking: the untimed run whose
// output check() reads next, on copy 0); returns "" or why it failed (a crash).
// check(i): compares the output of the last run on copy 0 with the reference: "" or the mismatch.
// Returns one {status, median_us, min_us, max_us, error, cpu} per candidate; status is ok, wrong,
// crash or compile_error; cpu is the machine that ran them (cpu_model.h).
template <class Run, class Check>
nlohmann::json check_and_time(const std::vector<std::string> &built, const TimingOptions &o, Run &&run,
                              Check &&check) {
  using Clock = std::chrono::steady_clock;
  const size_t n = built.size();
  std::vector<std::string> status(n, "ok"), error(n);
  for (size_t i = 0; i < n; i++) {
    if (!built[i].empty()) {
      status[i] = "compile_error", error[i] = built[i];
      continue;
    }
    std::string e = run(i, size_t(0), true);
    if (!e.empty()) {
      status[i] = "crash", error[i] = e;
      continue;
    }
    e = check(i);
    if (!e.empty()) status[i] = "wrong", error[i] = e;
  }
  const size_t copies = std::max<size_t>(1, o.copies);
  size_t turn = 0;
  auto timed = [&](size_t i) {
    turn = (turn + 1) % copies;
    return run(i, turn, false);
  };
  // Calibrate iterations per sample, then interleave.
  std::vector<int> iters(n, 1);
  std::vector<std::vector<double>> samples(n);
  for (size_t i = 0; i < n; i++) {
    if (status[i] != "ok") continue;
    auto t0 = Clock::now();
    timed(i);
    double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    iters[i] = std::max(1, int(o.min_sample_ms * 1000 / std::max(us, 1.0)));
  }
  // Each round starts one candidate later than the last (a candidate is not always the one that
  // follows the slowest), and each sample begins with an untimed run: what the previous candidate
  // left in the caches is not charged to the next. With the autoscheduler baselines in the final
  // round (Li2018: 8 ms a run), the point timed right after them (mbv1_dw2, 3x4 tile) ran 8% and
  // 17% slower than the 3x2 tile timed next (two processes; without the baselines the 3x4 and a
  // 3x3 tile had timed alike); with this order and warm-up, 4-8% slower in three processes (the
  // gap shrank; how much of the rest is the position and how much the tile was not separated).
  for (int r = 0; r < o.repeats; r++) {
    for (size_t j = 0; j < n; j++) {
      const size_t i = (j + size_t(r)) % n;
      if (status[i] != "ok") continue;
      timed(i);
      auto t0 = Clock::now();
      for (int k = 0; k < iters[i]; k++) timed(i);
      samples[i].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / iters[i]);
    }
  }
  nlohmann::json out = nlohmann::json::array();
  const std::string cpu = cpu_model();
  for (size_t i = 0; i < n; i++) {
    double med = 0, lo = 0, hi = 0;
    if (status[i] == "ok" && !samples[i].empty()) {
      auto &s = samples[i];
      std::sort(s.begin(), s.end());
      med = s[s.size() / 2], lo = s.front(), hi = s.back();
    }
    out.push_back({{"status", status[i]}, {"median_us", med}, {"min_us", lo}, {"max_us", hi}, {"error", error[i]},
                   {"cpu", cpu}});
  }
  return out;
}

}  // namespace dwconv_tuner
