#include "tool_paths.h"

#include <unistd.h>

#include <climits>
#include <cstdio>
#include <fstream>

namespace dwconv_tuner {

namespace {

std::string parent(const std::string &path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

bool is_file(const std::string &path) { return ::access(path.c_str(), R_OK) == 0; }

std::string executable_path() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, size_t(n)) : "";
}

std::string first_line(const std::string &path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

// The source checkout's commit, asked of git each run (a build tree follows the checkout).
std::string source_commit(const std::string &source_dir) {
  const std::string cmd = "git -C '" + source_dir + "' rev-parse --short HEAD 2>/dev/null";
  FILE *f = ::popen(cmd.c_str(), "r");
  if (!f) return "unknown";
  char buf[64] = {0};
  std::string s = std::fgets(buf, sizeof buf, f) ? buf : "";
  ::pclose(f);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s.empty() ? "unknown" : s;
}

ToolPaths find_paths() {
  ToolPaths t;
  const std::string bin = parent(executable_path());
  const std::string prefix = parent(bin);
  const std::string data = prefix + "/share/dwconv";
  if (bin.size() >= 4 && bin.compare(bin.size() - 4, 4, "/bin") == 0 && is_file(data + "/shapes.csv")) {
    t.installed = true;
    t.data_dir = data;
    t.shapes_csv = data + "/shapes.csv";
    t.model_shapes_py = data + "/model_shapes.py";
    t.python = "python3";
    t.runner = prefix + "/libexec/dwconv/dwconv_runner";
    t.bench = prefix + "/libexec/dwconv/dwconv_bench";
    const std::string commit = first_line(data + "/commit");
    t.commit = commit.empty() ? "unknown" : commit;
    return t;
  }
  const std::string source = DWCONV_SOURCE_DIR;
  t.data_dir = source;
  t.shapes_csv = source + "/bench/shapes.csv";
  t.model_shapes_py = source + "/tuner/model_shapes.py";
  const std::string venv_python = source + "/.venv/bin/python";
  t.python = ::access(venv_python.c_str(), X_OK) == 0 ? venv_python : "python3";
  t.runner = DWCONV_RUNNER_BINARY;
  t.bench = DWCONV_BENCH_BINARY;
  t.commit = source_commit(source);
  return t;
}

}  // namespace

const ToolPaths &tool_paths() {
  static const ToolPaths paths = find_paths();
  return paths;
}

}  // namespace dwconv_tuner
