// The (stride, dilation) pairs, the same in both directions, that a family's general kernels
// compile a branch for (stride and dilation constant there: the interior of the image loses its
// padding tests). Other pairs run the kernel's runtime-stride branch. The schedules build their
// branches from this list and the runtime reads it to decide where to cut a dilated problem
// into phases (runtime/src/kernel_calls.h). No Halide here.
#pragma once

#include <cstring>

namespace dwconv {

struct StrideDilation {
  int stride, dilation;
};

inline constexpr StrideDilation kX86GeneralBranches[] = {{1, 1}, {2, 1}, {1, 2}};
inline constexpr StrideDilation kArmNeonGeneralBranches[] = {{1, 1}, {2, 1}};

// Whether the general kernels of `family` ("x86", "arm_neon", as the kernel table names them)
// have a branch for stride `stride` and dilation `dilation` in both directions.
inline bool general_branch_for(const char *family, int stride, int dilation) {
  auto in = [&](const auto &list) {
    for (const StrideDilation &b : list)
      if (b.stride == stride && b.dilation == dilation) return true;
    return false;
  };
  if (std::strcmp(family, "x86") == 0) return in(kX86GeneralBranches);
  if (std::strcmp(family, "arm_neon") == 0) return in(kArmNeonGeneralBranches);
  return false;
}

}  // namespace dwconv
