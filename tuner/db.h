// The tuning database: append-only JSON lines, one record per measured candidate, plus the
// distilled best-per-workload file that the build reads (schedules/tuned/<target>.json).
#pragma once

#include <nlohmann/json.hpp>
#include <map>
#include <string>
#include <vector>

namespace dwconv_tuner {

using json = nlohmann::json;

// Record fields (all required): workload (dwconv::workload_key), target, scheduler ("dwconv"
// or an autoscheduler's name), params, status ("ok", "wrong", "crash", "timeout",
// "compile_error"), median_us, min_us, max_us, gflops, threads, final (re-measured interleaved
// at the end of a run), halide, cpu, commit, timestamp.
class Db {
 public:
  // Loads and validates every line. A missing file is an empty database when allow_missing.
  // Errors name the file and line; the file is never modified by a failed load.
  static bool load(const std::string &path, Db *db, std::string *error, bool allow_missing = true);
  // Appends one record as a single write() of a whole line, then fsync: a process killed at
  // any moment leaves either the whole record or none of it.
  bool append(const json &record, std::string *error);
  const std::vector<json> &records() const { return records_; }
  const std::string &path() const { return path_; }

 private:
  std::string path_;
  std::vector<json> records_;
};

// Checks one record completely; "" if valid, else what is wrong: its fields and types, then
// validate_record_meaning. db check, --resume and every load agree through it.
std::string validate_record(const json &r);
// What the fields say (a record with the right fields and types): the workload key parses to a
// valid problem, the target is x86-64-<ISA level> or a Halide target, and a "dwconv" record's
// params are name=integer items (parse_params).
std::string validate_record_meaning(const json &r);

// A tuned point replaces the heuristic default only when it is at least this much faster in the
// final interleaved round (both measured there): a smaller lead is within what a candidate's
// relative speed swings between processes on a shared machine (atrous_d2 on the 2-core Zen 4:
// a 2% winner in the tuner's final round ran at 0.81x the default in a later process), and the
// default is the point whose speed the heuristic's measurements back.
constexpr double kMinGainOverDefault = 1.03;

// A point's standing over the final rounds of one workload: the median, over the rounds it ran
// in, of its time relative to the default timed in the same round (below 1: faster than the
// default), and the record of the round that gave it. A run's final round is repeated in
// several processes, and runs are merged: one process's figure says little on a shared machine,
// where the same code's speed relative to the default moves by several percent between
// processes (docs/tuning.md, "that final round").
struct FinalStanding {
  double ratio = 0;              // the upper median of median_us / default_us over its rounds
  const json *record = nullptr;  // the final record whose ratio that is
};
// Standings of the points (params) of final "dwconv" records of one workload that name their
// round's default (default_us); other records are ignored. A point with a final record that is
// not ok (wrong, crash, timeout) has no standing: it never wins.
std::map<std::string, FinalStanding> final_standings(const std::vector<const json *> &finals);
// The winner of the standings: the lowest ratio, unless it leads the default by less than
// kMinGainOverDefault, then the default's (nullptr when there are none).
const FinalStanding *final_winner(const std::map<std::string, FinalStanding> &standings);
// Best ok record per (workload, target, threads, CPU) among scheduler "dwconv" records (final
// re-measurements preferred; the default's unless beaten by kMinGainOverDefault in the final
// round), with the default's and the autoschedulers' figures beside it.
json distill(const std::vector<json> &records);

// The records distill reads: per (workload, target, threads, CPU), those of the dwconv commit
// that measured it last (all their statuses, so that --resume and --warm-start see them too).
// distill(prune(r)) == distill(r); a database of many runs shrinks to the latest run's records.
std::vector<json> prune(const std::vector<json> &records);

// Writes text to path atomically (temporary file in the same folder, fsync, rename).
bool write_atomic(const std::string &path, const std::string &text, std::string *error);

std::string halide_version();
std::string now_iso8601();

}  // namespace dwconv_tuner
