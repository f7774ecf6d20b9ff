// The CPU a measurement ran on, as the tuning database records it and the build matches it
// (cmake/DwconvTuning.cmake: DWCONV_TUNING_CPU, through cmake/workload_fields.cpp). Header-only:
// dwconv_runner, which measures on a remote machine, reports its own.
#pragma once

#include <fstream>
#include <string>

namespace dwconv_tuner {

// x86: "<model name> (family F, model M)": inside a VM the model name alone does not tell CPUs
// apart ("AMD EPYC" for Zen 3 and Zen 4). ARM (no model name): "ARM (implementer I, part P)".
// Read from the first processor of /proc/cpuinfo; "unknown" without one.
inline std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line, name, family, model, implementer, part;
  while (std::getline(f, line) && line.find_first_not_of(" \t") != std::string::npos) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const size_t start = line.find_first_not_of(" \t", colon + 1);
    const std::string value = start == std::string::npos ? "" : line.substr(start);
    if (key == "model name") name = value;
    else if (key == "cpu family") family = value;
    else if (key == "model") model = value;
    else if (key == "CPU implementer") implementer = value;
    else if (key == "CPU part") part = value;
  }
  if (!name.empty()) return family.empty() ? name : name + " (family " + family + ", model " + model + ")";
  if (!implementer.empty()) return "ARM (implementer " + implementer + ", part " + part + ")";
  return "unknown";
}

}  // namespace dwconv_tuner
