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
#include <memory>
#include <new>
#include <stdexcept>
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

// Input and output of the timed runs in one block: the input at a 4 KiB boundary, the output
// at the next 4 KiB boundary after it plus `output_offset` bytes. Where the output starts
// relative to the input, modulo 4 KiB, moves a kernel's speed by up to a third (likely cause:
// its stores then share L1 sets, and 4K-aliasing checks, with the loads of the input rows
// around them; this VM has no performance counters to confirm it). Separate
// large allocations (malloc -> mmap, posix_memalign) start at the same page offset, so offset
// 0, the layout the benchmark and the tuner time (kOutputOffset), is what users commonly get,
// and the worst of the offsets measured here (14x14x512, an earlier tuned kernel of dwconv,
// 1 thread, GFLOP/s at offset 0 / 256 / 1024 B: 48 / 74 / 74; oneDNN 68 / 65 / 70).
class InOutBlock {
 public:
  InOutBlock(std::size_t in_floats, std::size_t out_floats, std::size_t output_offset) {
    if (output_offset % sizeof(float) != 0) throw std::invalid_argument("output offset must be a multiple of 4 bytes");
    constexpr std::size_t page = 4096;
    const std::size_t out_byte = (in_floats * sizeof(float) + page - 1) / page * page + output_offset;
    const std::size_t bytes = (out_byte + out_floats * sizeof(float) + page - 1) / page * page;
    block_.reset(static_cast<float *>(std::aligned_alloc(page, bytes == 0 ? page : bytes)));
    if (!block_) throw std::bad_alloc();
    std::fill(block_.get(), block_.get() + bytes / sizeof(float), 0.0f);
    out_ = block_.get() + out_byte / sizeof(float);
  }
  float *input() const { return block_.get(); }
  float *output() const { return out_; }

 private:
  struct Free {
    void operator()(float *p) const { std::free(p); }
  };
  std::unique_ptr<float[], Free> block_;
  float *out_ = nullptr;
};
constexpr std::size_t kOutputOffset = 0;

// How many copies of input and output the timed runs rotate over: about rotate_mib MiB in all
// (at most 8, at least 1; rotate_mib <= 0: one warm copy).
inline size_t rotation_copies(double rotate_mib, double bytes_per_copy) {
  if (rotate_mib <= 0) return 1;
  const double mib = bytes_per_copy / (1 << 20);
  return size_t(std::max(1, std::min(8, int(rotate_mib / std::max(mib, 1e-9)))));
}

}  // namespace dwconv_bench
