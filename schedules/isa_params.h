// Schedule parameters per x86 ISA level, in the text form a tuned kernel is generated with and
// the kernel table records. No Halide here: the runtime reads it too (dwconv info's reason).
//
// A multi-target kernel is one library with a variant per ISA level (AVX-512 for Zen 4 and
// Sapphire Rapids, AVX-512 Skylake, AVX2, SSE4.1, baseline), and each variant has its own
// register file: 32 x 16 floats on AVX-512, 16 x 8 on AVX2. Parameters tuned on one level do not
// fit another, so the tuning database keeps them per level (target "x86-64-<level>") and a tuned
// kernel carries them all:
//   "avx512_zen4@vectors=2,tile_w=4,.../avx2@vectors=1,tile_w=5,..."
// ('=' or ':' between key and value; the build passes ':', as Halide's generator command line
// splits its parameters at '='). A text without '@' serves every level.
#pragma once

#include <string>
#include <vector>

namespace dwconv {

// Vector width in floats of an ISA level as dwconv::isa_name() spells it (16 avx512*, 8 avx2,
// 4 otherwise).
inline int x86_level_lanes(const std::string &level) {
  if (level.rfind("avx512", 0) == 0) return 16;
  return level == "avx2" ? 8 : 4;
}

// The parameters for `level` out of a per-level text: its own section; else the section of a
// level with the same vector width and register file (avx512 <-> avx512_zen4), whose level is
// then written to *from; else "" (no entry: the heuristic default for that level). A text
// without sections is returned whole, for every level.
inline std::string params_for_level(const std::string &text, const std::string &level, std::string *from = nullptr) {
  if (text.find('@') == std::string::npos) {
    if (from) *from = level;
    return text;
  }
  std::string same_width, same_width_level;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('/', start);
    if (end == std::string::npos) end = text.size();
    const std::string section = text.substr(start, end - start);
    const size_t at = section.find('@');
    if (at != std::string::npos) {
      const std::string name = section.substr(0, at), params = section.substr(at + 1);
      if (name == level) {
        if (from) *from = level;
        return params;
      }
      if (same_width_level.empty() && x86_level_lanes(name) == x86_level_lanes(level)) {
        same_width = params;
        same_width_level = name;
      }
    }
    start = end + 1;
  }
  if (from) *from = same_width_level;
  return same_width;
}

// The levels a per-level text has sections for, "avx512_zen4, avx2" ("" without sections).
inline std::string levels_in(const std::string &text) {
  std::string levels;
  for (size_t start = 0, at; (at = text.find('@', start)) != std::string::npos;) {
    levels += (levels.empty() ? "" : ", ") + text.substr(start, at - start);
    start = text.find('/', at);
    if (start == std::string::npos) break;
    start++;
  }
  return levels;
}

// "" when every section of a per-level text names a level ("avx512_zen4", "avx512", "avx2",
// "sse41", "baseline"), else what is wrong.
inline std::string check_level_text(const std::string &text) {
  if (text.find('@') == std::string::npos) return "";
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('/', start);
    if (end == std::string::npos) end = text.size();
    const std::string section = text.substr(start, end - start);
    const std::string name = section.substr(0, section.find('@'));
    if (section.find('@') == std::string::npos)
      return "schedule section '" + section + "' names no ISA level (LEVEL@key=value,...)";
    if (name != "avx512_zen4" && name != "avx512" && name != "avx2" && name != "sse41" && name != "baseline")
      return "schedule section for '" + name + "': not an x86 ISA level (avx512_zen4, avx512, avx2, sse41, baseline)";
    start = end + 1;
  }
  return "";
}

}  // namespace dwconv
