#include "db.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "Halide.h"
#include "dwconv/dwconv.h"
#include "record_fields.h"

namespace dwconv_tuner {

std::string halide_version() {
  return std::to_string(HALIDE_VERSION_MAJOR) + "." + std::to_string(HALIDE_VERSION_MINOR) + "." +
         std::to_string(HALIDE_VERSION_PATCH);
}

std::string now_iso8601() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string validate_record(const json &r) {
  if (!r.is_object()) return "not a JSON object";
  static const char *strings[] = {"workload", "target", "scheduler", "params", "status", "halide", "cpu", "commit", "timestamp"};
  for (const char *k : strings)
    if (!r.contains(k) || !r[k].is_string()) return std::string("field '") + k + "' missing or not a string";
  for (const char *k : {"median_us", "min_us", "max_us", "gflops"})
    if (!r.contains(k) || !r[k].is_number()) return std::string("field '") + k + "' missing or not a number";
  if (!r.contains("threads") || !r["threads"].is_number_integer()) return "field 'threads' missing or not an integer";
  if (!r.contains("final") || !r["final"].is_boolean()) return "field 'final' missing or not a boolean";
  static const char *statuses[] = {"ok", "wrong", "crash", "timeout", "compile_error"};
  bool known = false;
  for (const char *s : statuses) known |= r["status"] == s;
  if (!known) return "unknown status '" + r["status"].get<std::string>() + "'";
  if (r.contains("timing") && r["timing"] != "measured" && r["timing"] != "emulated")
    return "field 'timing' must be \"measured\" or \"emulated\"";
  if (r["halide"] != halide_version())
    return "record from Halide " + r["halide"].get<std::string>() + ", this tuner uses Halide " + halide_version();
  if (r["threads"].get<int64_t>() < 1 || r["threads"].get<int64_t>() > dwconv::kMaxThreads)
    return "field 'threads' is " + r["threads"].dump() + ", not in [1, " + std::to_string(dwconv::kMaxThreads) + "]";
  return validate_record_meaning(r);
}

std::string validate_record_meaning(const json &r) {
  const std::string key = r["workload"].get<std::string>();
  dwconv::Problem p;
  if (!dwconv::problem_from_workload_key(key, &p)) return "workload key '" + key + "' does not parse";
  const dwconv::Status s = dwconv::validate(p);
  if (!s.ok()) return "workload key '" + key + "' is not a valid problem: " + s.message();
  const std::string target = r["target"].get<std::string>();
  if (!is_recorded_target(target)) return "target '" + target + "' is neither x86-64-<ISA level> nor a Halide target";
  if (r["scheduler"] != "dwconv") return "";  // an autoscheduler's own parameters
  // name=integer items (the knobs themselves are the schedule's of the record's commit: a run
  // uses only points with its own schedule's knobs).
  try {
    parse_params(r["params"].get<std::string>());
  } catch (const std::invalid_argument &e) {
    return e.what();
  }
  return "";
}

bool Db::load(const std::string &path, Db *db, std::string *error, bool allow_missing) {
  db->path_ = path;
  db->records_.clear();
  // Only a regular file: a device or a pipe (/dev/zero) could be read without end.
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    *error = path + ": not a regular file";
    return false;
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    if (allow_missing && errno == ENOENT) return true;
    *error = path + ": cannot open (" + std::strerror(errno) + ")";
    return false;
  }
  std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (!content.empty() && content.back() != '\n') {
    size_t lines = 1;
    for (char c : content) lines += c == '\n';
    *error = path + ":" + std::to_string(lines) + ": truncated record (no newline at the end of the file); "
             "the database was not modified";
    return false;
  }
  std::istringstream in(content);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    lineno++;
    if (line.empty()) continue;
    json r = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (r.is_discarded()) {
      *error = path + ":" + std::to_string(lineno) + ": not valid JSON; the database was not modified";
      return false;
    }
    std::string why = validate_record(r);
    if (!why.empty()) {
      *error = path + ":" + std::to_string(lineno) + ": " + why + "; the database was not modified";
      return false;
    }
    db->records_.push_back(std::move(r));
  }
  return true;
}

bool Db::append(const json &record, std::string *error) {
  std::string why = validate_record(record);
  if (!why.empty()) {
    *error = "refusing to append an invalid record: " + why;
    return false;
  }
  const std::string line = record.dump() + "\n";
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = path_ + ": cannot open for appending (" + std::strerror(errno) + ")";
    return false;
  }
  ssize_t n = ::write(fd, line.data(), line.size());
  bool ok = n == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    *error = path_ + ": write failed (" + std::strerror(errno) + ")";
    return false;
  }
  records_.push_back(record);
  return true;
}

bool write_atomic(const std::string &path, const std::string &text, std::string *error) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = tmp + ": cannot create (" + std::strerror(errno) + ")";
    return false;
  }
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = path + ": write failed (" + std::strerror(errno) + ")";
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

namespace {

// A record's distill key: each (workload, target, threads, CPU) keeps its own entry.
std::string distill_key(const json &r) {
  return r["workload"].get<std::string>() + "|" + r["target"].get<std::string>() + "|" +
         std::to_string(r["threads"].get<int>()) + "|" + r["cpu"].get<std::string>();
}

// Per distill key, the dwconv commit of its newest record.
std::map<std::string, std::string> latest_commits(const std::vector<json> &records) {
  std::map<std::string, std::pair<std::string, std::string>> latest;  // key -> (timestamp, commit)
  for (const json &r : records) {
    auto &l = latest[distill_key(r)];
    const std::string ts = r.value("timestamp", "");
    if (l.first.empty() || ts > l.first) l = {ts, r.value("commit", "")};
  }
  std::map<std::string, std::string> commits;
  for (const auto &[key, l] : latest) commits[key] = l.second;
  return commits;
}

}  // namespace

std::vector<json> prune(const std::vector<json> &records) {
  const auto latest = latest_commits(records);
  std::vector<json> kept;
  for (const json &r : records)
    if (r.value("commit", "") == latest.at(distill_key(r))) kept.push_back(r);
  return kept;
}

std::map<std::string, FinalStanding> final_standings(const std::vector<const json *> &finals) {
  std::map<std::string, std::vector<std::pair<double, const json *>>> rounds;  // params -> (ratio, record)
  std::set<std::string> failed;
  for (const json *r : finals) {
    if (r->value("scheduler", "") != "dwconv" || !r->value("final", false)) continue;
    const std::string params = r->value("params", "");
    if (r->value("status", "") != "ok") {
      failed.insert(params);
      continue;
    }
    const double d = r->value("default_us", 0.0);
    if (d > 0) rounds[params].emplace_back(r->at("median_us").get<double>() / d, r);
  }
  std::map<std::string, FinalStanding> standings;
  for (auto &[params, v] : rounds) {
    if (failed.count(params)) continue;
    std::sort(v.begin(), v.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
    standings[params] = {v[v.size() / 2].first, v[v.size() / 2].second};
  }
  return standings;
}

const FinalStanding *final_winner(const std::map<std::string, FinalStanding> &standings) {
  const FinalStanding *best = nullptr, *dflt = nullptr;
  for (const auto &[params, s] : standings) {
    if (!best || s.ratio < best->ratio) best = &s;
    if (s.record->value("is_default", false)) dflt = &s;
  }
  if (best && dflt && best->ratio * kMinGainOverDefault > dflt->ratio) return dflt;
  return best;
}

json distill(const std::vector<json> &records) {
  // Per (workload, target, threads, CPU): the best "dwconv" record, preferring final
  // re-measurements, among the records of the dwconv commit that measured it last: figures of
  // older code (other schedules, another data layout) do not compete with this code's, and a user
  // who tunes again after an upgrade gets the new run's choice although the database keeps the
  // old records. Each CPU keeps its own entry: what wins on one microarchitecture can lose on
  // another of the same ISA level (seed_big, Xeon's choice on a Zen 4: 36 vs 44 GFLOP/s), and
  // the build picks the entries of the CPU it is for (cmake/DwconvTuning.cmake).
  // Final rounds that name their default (default_us) decide by final_standings: the median over
  // the rounds (of one run, repeated in several processes, and of runs merged) of each point's
  // time relative to its round's default. Older records without it: the best final figure.
  // The default's figure comes from the same kind of measurement as the winner's: the winner's
  // figure times its standing (the default of the round that gave it), else the default's last
  // final re-measurement, else its best first one.
  const auto latest = latest_commits(records);
  struct Best {
    const json *tuned = nullptr;
    double default_first = 0, default_final = 0;
    const json *default_final_record = nullptr;  // the default's last final re-measurement
    // Each autoscheduler's best, and its figure from the final round (measured beside the winner).
    std::map<std::string, double> autoschedulers, autoschedulers_final;
    std::vector<const json *> finals;  // final "dwconv" records, any status
  };
  std::map<std::string, Best> best;
  // Records of one kind compare by median, or by their time relative to the default timed in
  // the same batch when both have it (the search's anchor: each batch runs in its own process,
  // where the same code's speed differs by 5-25% on a shared machine).
  auto relative = [](const json &r) {
    const double d = r.value("default_us", 0.0);
    return d > 0 ? r["median_us"].get<double>() / d : 0.0;
  };
  auto better = [&](const json &a, const json *b) {
    if (!b) return true;
    if (a["final"] != (*b)["final"]) return a["final"].get<bool>();
    if (relative(a) > 0 && relative(*b) > 0) return relative(a) < relative(*b);
    return a["median_us"].get<double>() < (*b)["median_us"].get<double>();
  };
  for (const json &r : records) {
    const std::string key = distill_key(r);
    // Times taken under an emulator (qemu) rank nothing: such a run only checked correctness.
    if (r.value("commit", "") != latest.at(key) || r.value("timing", "measured") == "emulated") continue;
    Best &b = best[key];
    if (r["scheduler"] == "dwconv" && r["final"].get<bool>()) b.finals.push_back(&r);
    if (r["status"] != "ok") continue;
    if (r["scheduler"] == "dwconv") {
      if (better(r, b.tuned)) b.tuned = &r;
      if (r.value("is_default", false)) {
        if (r["final"].get<bool>()) {
          b.default_final = r["gflops"].get<double>();
          b.default_final_record = &r;
        } else {
          b.default_first = std::max(b.default_first, r["gflops"].get<double>());
        }
      }
    } else {
      const std::string as = r["scheduler"];
      double &g = r["final"].get<bool>() ? b.autoschedulers_final[as] : b.autoschedulers[as];
      g = std::max(g, r["gflops"].get<double>());
    }
  }
  json entries = json::array();
  for (auto &[key, b] : best) {
    for (const auto &[as, g] : b.autoschedulers_final) b.autoschedulers[as] = g;
    const json *t = b.tuned;
    double default_gflops = b.default_final > 0 ? b.default_final : b.default_first;
    if (const FinalStanding *w = final_winner(final_standings(b.finals))) {
      t = w->record;
      default_gflops = t->at("gflops").get<double>() * w->ratio;
    } else if (t && b.default_final_record && t->value("final", false) &&
               t->at("median_us").get<double>() * kMinGainOverDefault > b.default_final_record->at("median_us").get<double>()) {
      // Older records: the winner of the final round keeps its place only with a clear lead over
      // the default measured beside it (kMinGainOverDefault).
      t = b.default_final_record;
    }
    if (!t) continue;
    entries.push_back({{"workload", (*t)["workload"]}, {"target", (*t)["target"]}, {"threads", (*t)["threads"]},
                       {"params", (*t)["params"]}, {"gflops", (*t)["gflops"]}, {"median_us", (*t)["median_us"]},
                       {"default_gflops", default_gflops}, {"autoschedulers", b.autoschedulers},
                       {"cpu", (*t)["cpu"]}, {"commit", (*t)["commit"]}});
  }
  return {{"format", "dwconv-tuned-v1"}, {"halide", halide_version()}, {"entries", entries}};
}

}  // namespace dwconv_tuner
