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
#include <utility>
#include <vector>

namespace dwconv {

// Vector width in floats of an ISA level as dwconv::isa_name() spells it (16 avx512*, 8 avx2,
// 4 otherwise).
inline int x86_level_lanes(const std::string &level) {
  if (level.rfind("avx512", 0) == 0) return 16;
  return level == "avx2" ? 8 : 4;
}

// The ISA levels, as dwconv::isa_name() spells them.
inline constexpr const char *kX86Levels[] = {"avx512_zen4", "avx512", "avx2", "sse41", "baseline"};

// The sections of a per-level text, in order, as (level, parameters); a section without '@' has
// an empty level (check_level_text() refuses it). A text without '@' has no sections.
inline std::vector<std::pair<std::string, std::string>> level_sections(const std::string &text) {
  std::vector<std::pair<std::string, std::string>> sections;
  if (text.find('@') == std::string::npos) return sections;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find('/', start);
    if (end == std::string::npos) end = text.size();
    const std::string section = text.substr(start, end - start);
    const size_t at = section.find('@');
    if (at == std::string::npos) sections.emplace_back("", section);
    else sections.emplace_back(section.substr(0, at), section.substr(at + 1));
    start = end + 1;
  }
  return sections;
}

// The parameters for `level` out of a per-level text: its own section; else the section of a
// level with the same vector width and register file (avx512 <-> avx512_zen4), whose level is
// then written to *from; else "" (no entry: the heuristic default for that level). A text
// without sections is returned whole, for every level.
inline std::string params_for_level(const std::string &text, const std::string &level, std::string *from = nullptr) {
  const auto sections = level_sections(text);
  if (sections.empty()) {
    if (from) *from = level;
    return text;
  }
  const std::pair<std::string, std::string> *same_width = nullptr;
  for (const auto &section : sections) {
    if (section.first == level) {
      if (from) *from = level;
      return section.second;
    }
    if (!same_width && !section.first.empty() && x86_level_lanes(section.first) == x86_level_lanes(level))
      same_width = &section;
  }
  if (from) *from = same_width ? same_width->first : "";
  return same_width ? same_width->second : "";
}

// The levels a per-level text has sections for, "avx512_zen4, avx2" ("" without sections).
inline std::string levels_in(const std::string &text) {
  std::string levels;
  for (const auto &section : level_sections(text)) levels += (levels.empty() ? "" : ", ") + section.first;
  return levels;
}

// "" when every section of a per-level text names a level of kX86Levels, else what is wrong.
inline std::string check_level_text(const std::string &text) {
  for (const auto &[name, params] : level_sections(text)) {
    if (name.empty()) return "schedule section '" + params + "' names no ISA level (LEVEL@key=value,...)";
    bool known = false;
    std::string levels;
    for (const char *l : kX86Levels) {
      known |= name == l;
      levels += std::string(levels.empty() ? "" : ", ") + l;
    }
    if (!known) return "schedule section for '" + name + "': not an x86 ISA level (" + levels + ")";
  }
  return "";
}

}  // namespace dwconv
