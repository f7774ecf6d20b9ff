// The data the benchmark and the tuner's runners time on, one rule for both.
//
// Float storage aligned to a cache line, as inference runtimes allocate their tensors (TFLite's
// arena and oneDNN's memory use 64 bytes). std::vector's default allocator gives 16 bytes for
// large arrays, which makes every 64-byte vector access of every implementation straddle two
// cache lines: the benchmark and the tuner's runner time what users run, not that.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

namespace dwconv_bench {

template <class T, std::size_t Align = 64>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U, Align> &) {}
  template <class U>
  struct rebind {
    using other = AlignedAllocator<U, Align>;
  };
  T *allocate(std::size_t n) {
    const std::size_t bytes = (n * sizeof(T) + Align - 1) / Align * Align;
    void *p = std::aligned_alloc(Align, bytes == 0 ? Align : bytes);
    if (!p) throw std::bad_alloc();
    return static_cast<T *>(p);
  }
  void deallocate(T *p, std::size_t) { std::free(p); }
  bool operator==(const AlignedAllocator &) const { return true; }
  bool operator!=(const AlignedAllocator &) const { return false; }
};

using AlignedFloats = std::vector<float, AlignedAllocator<float>>;

// How many copies of input and output the timed runs rotate over: about rotate_mib MiB in all
// (at most 8, at least 1; rotate_mib <= 0: one warm copy).
inline size_t rotation_copies(double rotate_mib, double bytes_per_copy) {
  if (rotate_mib <= 0) return 1;
  const double mib = bytes_per_copy / (1 << 20);
  return size_t(std::max(1, std::min(8, int(rotate_mib / std::max(mib, 1e-9)))));
}

}  // namespace dwconv_bench
