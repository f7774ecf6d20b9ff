// The dwconv command's argument parsing for tune and measure, apart from what the commands do:
// each parse_* returns the options or throws std::invalid_argument naming the flag, its value
// and what it must be. Nothing here touches the file system or the machine (main.cpp's
// resolve_runner checks the runner). tests/fuzz/fuzz_cli.cpp fuzzes both.
#pragma once

#include <string>
#include <vector>

#include "measure.h"
#include "search.h"

namespace dwconv_tuner {

struct TuneArgs {
  std::string shapes_path, db_path, target = "host", distill_out;
  std::vector<std::string> warm_paths;
  double budget_s = 600;  // over all shapes; each workload gets its share (TuneOptions::budget_s)
  int shard_i = 0, shard_n = 1;
  bool json_out = false;
  TuneOptions options;
};
// argv: the arguments after "tune" (no --help among them).
TuneArgs parse_tune_args(int argc, char **argv);

struct MeasureArgs {
  std::string spec;  // SHAPE: a name from shapes_path or N,H,W,C,M,KH,KW,stride,dilation,padding
  std::string shapes_path;
  std::string target = "host";
  std::vector<Candidate> candidates;  // none given: the default alone
  MeasureOptions options;
};
// argv: the arguments after "measure", SHAPE first (argc >= 1).
MeasureArgs parse_measure_args(int argc, char **argv, const std::string &default_shapes);

// --target's value: "host" or a Halide target string.
std::string target_flag(const std::string &value);

}  // namespace dwconv_tuner
