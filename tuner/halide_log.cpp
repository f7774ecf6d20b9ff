#include "halide_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace dwconv_tuner {

namespace {

long count_lines(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  long n = 0;
  for (char c; in.get(c);) n += c == '\n';
  return n;
}

}  // namespace

HalideWarningLog::HalideWarningLog(std::string path) : path_(std::move(path)) {}

HalideWarningLog::~HalideWarningLog() {
  if (fd_ < 0) return;
  Halide::set_custom_compile_time_error_reporter(nullptr);
  ::close(fd_);
}

bool HalideWarningLog::install(std::string *error) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    *error = "cannot open the Halide warning log " + path_ + ": " + std::strerror(errno);
    return false;
  }
  lines_at_install_ = count_lines(path_);
  Halide::set_custom_compile_time_error_reporter(this);
  return true;
}

void HalideWarningLog::warning(const char *msg) {
  std::string line = msg;
  while (!line.empty() && line.back() == '\n') line.pop_back();
  for (char &c : line) c = c == '\n' ? ' ' : c;
  line += '\n';
  // One write() per line: O_APPEND keeps lines of concurrent writers whole.
  if (::write(fd_, line.data(), line.size()) < 0) return;  // a lost warning is not worth a failed run
}

void HalideWarningLog::error(const char *msg) { throw Halide::CompileError(msg); }

long HalideWarningLog::lines_since_install() const { return count_lines(path_) - lines_at_install_; }

}  // namespace dwconv_tuner
