// The fields of a tuning-database record that have a syntax of their own: the recorded target
// and the schedule parameters. Kept apart from the search so that the database code (db.cpp)
// and its fuzz target need only these and Halide's target parser.
#pragma once

#include <map>
#include <string>

namespace dwconv_tuner {

// An x86 record's target: this prefix + the ISA level (avx512_zen4, avx512, avx2, sse41, baseline).
inline const std::string kX86RecordedPrefix = "x86-64-";

// Whether a database record's target is one recorded_target() (search.h) writes:
// x86-64-<ISA level>, or a Halide target string.
bool is_recorded_target(const std::string &target);

// Schedule parameters as "name=integer,..." (names of lower-case letters, digits and '_', each
// once, values in 32 bits); parse_params throws std::invalid_argument naming the bad item.
std::string params_string(const std::map<std::string, int> &values);
std::map<std::string, int> parse_params(const std::string &s);

}  // namespace dwconv_tuner
