// Where Halide's compile-time warnings go during a tuning run: a log file, not the terminal.
// The autoscheduler baselines and some candidates make Halide warn ("Not folding Func ...")
// dozens of times a run; the terminal keeps the progress and the table, and says where the
// warnings are.
#pragma once

#include <string>

#include "Halide.h"

namespace dwconv_tuner {

class HalideWarningLog final : public Halide::CompileTimeErrorReporter {
 public:
  // Opens `path` for appending; the log is process-wide once install()ed.
  explicit HalideWarningLog(std::string path);
  ~HalideWarningLog() override;
  // Makes this the reporter of every later Halide compilation (children after fork() included).
  bool install(std::string *error);
  // One line per warning, written whole (O_APPEND), from any thread or forked child.
  void warning(const char *msg) override;
  // Errors keep Halide's behaviour: a Halide::CompileError with the message.
  [[noreturn]] void error(const char *msg) override;
  // Lines the log gained since install().
  long lines_since_install() const;
  const std::string &path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  long lines_at_install_ = 0;
};

}  // namespace dwconv_tuner
