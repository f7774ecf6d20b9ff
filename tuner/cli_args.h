// The dwconv command's argument parsing for tune, measure, info and db, apart from what the
// commands do. Each command's options are declared once (cli_args.cpp, with CLI11): their
// type, range and description, from which both the parser and the command's --help come. Each
// parse_* returns the options or throws std::invalid_argument naming the flag, its value and
// what it must be. Nothing here touches the file system or the machine (main.cpp's
// resolve_runner checks the runner). tests/fuzz/fuzz_cli.cpp fuzzes tune and measure.
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
std::string tune_help();

struct MeasureArgs {
  std::string spec;  // SHAPE: a name from shapes_path or N,H,W,C,M,KH,KW,stride,dilation,padding
  std::string shapes_path;
  std::string target = "host";
  std::vector<Candidate> candidates;  // in the order given; none given: the default alone
  MeasureOptions options;
};
// argv: the arguments after "measure", SHAPE first (argc >= 1).
MeasureArgs parse_measure_args(int argc, char **argv, const std::string &default_shapes);
std::string measure_help();

struct InfoArgs {
  std::string spec, shapes_path;
};
// argv: the arguments after "info", SHAPE first (argc >= 1).
InfoArgs parse_info_args(int argc, char **argv, const std::string &default_shapes);
std::string info_help();

struct DbArgs {
  std::string command;              // check, merge, distill, prune
  std::vector<std::string> inputs;  // check: exactly one
  std::string output;               // -o (not for check)
};
// argv: the arguments after "db", the subcommand first (argc >= 1).
DbArgs parse_db_args(int argc, char **argv);
std::string db_help();

// --target's value: "host" or a Halide target string.
std::string target_flag(const std::string &value);

}  // namespace dwconv_tuner
