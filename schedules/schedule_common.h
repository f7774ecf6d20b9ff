// Pieces shared by the per-target schedules: the workload description, the schedule context,
// and the key=value form of parameter structs used by GeneratorParams and the tuning database.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>

#include "Halide.h"

namespace dwconv {

// A concrete workload: everything about the convolution except the data.
struct WorkloadShape {
  int n = 1, h = 1, w = 1, c = 1, m = 1, kh = 1, kw = 1;
  int stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0;  // resolved padding (SAME/VALID already applied)
  int out_h = 1, out_w = 1;
};

// The parallel tasks of the CPU schedules (x86, NEON): batch x row strips of rows_per_task rows
// x channel blocks of channel_tiles_per_task tiles of co_tile channels (0: one block).
inline long long cpu_tasks(const WorkloadShape &s, int co_tile, int rows_per_task, int channel_tiles_per_task) {
  const long long tiles = (static_cast<long long>(s.c) * s.m + co_tile - 1) / co_tile;
  const long long blocks = channel_tiles_per_task > 0 ? (tiles + channel_tiles_per_task - 1) / channel_tiles_per_task : 1;
  return static_cast<long long>(s.n) * ((s.out_h + rows_per_task - 1) / rows_per_task) * blocks;
}

// channel_tiles_per_task for at least `want` tasks (rows first, then channels): 0 when the row
// strips alone give that many, or when there is one channel tile.
inline int channel_tiles_for_tasks(const WorkloadShape &s, int co_tile, int rows_per_task, int want) {
  const long long row_tasks = cpu_tasks(s, co_tile, rows_per_task, 0);
  const long long tiles = (static_cast<long long>(s.c) * s.m + co_tile - 1) / co_tile;
  if (row_tasks >= want || tiles <= 1) return 0;
  const long long blocks = std::min<long long>(tiles, (want + row_tasks - 1) / row_tasks);
  return static_cast<int>((tiles + blocks - 1) / blocks);
}

// What a schedule needs to know about the pipeline it schedules.
struct ScheduleContext {
  Halide::Expr out_channels, out_width, out_height;  // extents of the output
  int kernel_w = 0, kernel_h = 0;  // compile-time kernel size, 0 when it is a runtime value
  int multiplier = 0;  // compile-time M, 0 when it is a runtime value
  // The stride and dilation inputs (or constants), for schedules that specialize on them.
  Halide::Expr stride_x, stride_y, dilation_x, dilation_y;
  // The workload, when the kernel is generated for exactly one (extents, kernel, M, stride and
  // dilation all fixed); null for a general kernel. Lets a schedule size buffers exactly.
  const WorkloadShape *shape = nullptr;
};

// The values the tuner searches for a schedule parameter, given where the parameter is declared
// (visit_fields); empty: the tuner does not search it (a tune option sets it).
using SearchRange = std::initializer_list<int>;

// Parameter structs expose their fields through visit_fields(P&, F), defined next to each
// struct, which calls f(name, field, search range) for each; these turn them into "a=1,b=2"
// and back, rejecting unknown keys and bad numbers.
template <class P>
std::string params_to_string(P p) {
  std::ostringstream os;
  bool first = true;
  visit_fields(p, [&](const char *name, auto &v, SearchRange) {
    os << (first ? "" : ",") << name << "=" << static_cast<int>(v);
    first = false;
  });
  return os.str();
}

template <class P>
P params_from_string(const std::string &s, P p = P()) {
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    // '=' or ':' (Halide's generator command line splits GeneratorParams at '=', so the build
    // passes "key:value,...").
    size_t eq = item.find_first_of("=:");
    if (eq == std::string::npos) throw std::invalid_argument("schedule parameter '" + item + "' is not key=value");
    std::string key = item.substr(0, eq), val = item.substr(eq + 1);
    char *end = nullptr;
    long v = std::strtol(val.c_str(), &end, 10);
    if (val.empty() || *end != '\0' || v < 0 || v > 1 << 20)
      throw std::invalid_argument("schedule parameter '" + key + "' has a bad value '" + val + "'");
    bool found = false;
    visit_fields(p, [&](const char *name, auto &field, SearchRange) {
      if (key == name) {
        field = static_cast<std::remove_reference_t<decltype(field)>>(v);
        found = true;
      }
    });
    if (!found) throw std::invalid_argument("unknown schedule parameter '" + key + "'");
  }
  return p;
}

}  // namespace dwconv
