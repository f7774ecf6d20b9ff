// Fuzzes the dwconv command's argument parsing (tuner/cli_args.h) for tune and measure: the
// input is the argument list, one argument per line (or per NUL, which a C string cannot hold),
// the first byte choosing the command. Any
// list either parses into options within their documented ranges or is refused with a
// std::invalid_argument that says why; never a crash or another exception.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli_args.h"

namespace {

void check(bool ok, const char *what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_cli: parsed options break '%s'\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace dwconv_tuner;
  if (size == 0) return 0;
  const bool tune = data[0] & 1;
  std::vector<std::string> args(1);
  for (size_t i = 1; i < size; i++) {
    if (data[i] == '\n' || data[i] == '\0') args.emplace_back();
    else args.back() += char(data[i]);
  }
  std::vector<char *> argv;
  for (std::string &a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int argc = int(args.size());
  try {
    if (tune) {
      const TuneArgs t = parse_tune_args(argc, argv.data());
      check(!t.shapes_path.empty() && !t.db_path.empty(), "--shapes and --db given");
      check(t.budget_s >= 1 && t.budget_s <= 1e7, "--budget-seconds in [1, 1e7]");
      check(t.shard_n >= 1 && t.shard_i >= 0 && t.shard_i < t.shard_n, "--shard i/n with 0 <= i < n");
      check(t.options.final_rounds >= 1 && t.options.final_rounds <= 100, "--final-rounds in [1, 100]");
      check(t.options.measure.threads >= 1 && t.options.measure.threads <= 256, "--threads in [1, 256]");
      check(t.options.baseline_timeout_s >= 1, "--baseline-timeout >= 1");
    } else {
      const MeasureArgs m = parse_measure_args(argc, argv.data(), "shapes.csv");
      check(m.spec == args[0], "SHAPE is the first argument");
      check(m.options.repeats >= 1 && m.options.repeats <= 100000, "--repeats in [1, 100000]");
      check(m.options.threads >= 1 && m.options.threads <= 256, "--threads in [1, 256]");
      check(m.options.output_offset <= 4092 && m.options.output_offset % 4 == 0, "--output-offset");
      check(m.options.rotate_mib >= 0 && m.options.rotate_mib <= 65536, "--rotate-mib in [0, 65536]");
      check(m.options.build_jobs >= 0 && m.options.build_jobs <= 1024, "--build-jobs in [1, 1024]");
    }
  } catch (const std::invalid_argument &e) {
    check(e.what()[0] != '\0', "a refusal says why");
  }
  return 0;
}
