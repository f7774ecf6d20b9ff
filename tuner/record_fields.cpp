#include "record_fields.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "Halide.h"
#include "isa_params.h"  // kX86Levels

namespace dwconv_tuner {

bool is_recorded_target(const std::string &target) {
  if (target.rfind(kX86RecordedPrefix, 0) == 0) {
    const std::string level = target.substr(kX86RecordedPrefix.size());
    for (const char *l : dwconv::kX86Levels)
      if (level == l) return true;
  }
  return target == "host" || Halide::Target::validate_target_string(target);
}

std::string params_string(const std::map<std::string, int> &v) {
  std::string s;
  for (auto &[k, x] : v) s += (s.empty() ? "" : ",") + k + "=" + std::to_string(x);
  return s;
}

std::map<std::string, int> parse_params(const std::string &s) {
  std::map<std::string, int> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t eq = item.find('=');
    const std::string name = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
    char *end = nullptr;
    errno = 0;
    const long x = std::strtol(value.c_str(), &end, 10);
    const bool name_ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
    });
    if (!name_ok || value.empty() || *end != '\0' || errno == ERANGE || x < INT32_MIN || x > INT32_MAX || v.count(name))
      throw std::invalid_argument("params '" + s + "': '" + item + "' is not a new name=integer");
    v[name] = int(x);
  }
  return v;
}


}  // namespace dwconv_tuner
