// Where the dwconv command finds what it runs besides itself. Installed (`cmake --install`:
// <prefix>/bin/dwconv beside <prefix>/share/dwconv/ and <prefix>/libexec/dwconv/), everything is
// found relative to the executable, so a moved prefix works and no path to the source checkout
// is used; run from a build tree, the build's own binaries and the source tree's files.
#pragma once

#include <string>

namespace dwconv_tuner {

struct ToolPaths {
  bool installed = false;
  std::string data_dir;         // share/dwconv, or the source tree
  std::string shapes_csv;       // the default --shapes (bench/shapes.csv)
  std::string model_shapes_py;  // tuner/model_shapes.py (dwconv shapes)
  std::string python;           // runs it: the project's .venv in a build tree, else python3
  std::string runner;           // dwconv_runner (--runner local/ssh)
  std::string bench;            // dwconv_bench (dwconv bench)
  std::string commit;           // the git commit the binary was built from, or "unknown"
};

const ToolPaths &tool_paths();

}  // namespace dwconv_tuner
