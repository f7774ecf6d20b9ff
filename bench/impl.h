// Implementations compared by the benchmarks: dwconv, the naive reference, and peers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dwconv/dwconv.h"

namespace dwconv_bench {

class Impl {
 public:
  virtual ~Impl() = default;
  virtual std::string name() const = 0;
  // Prepares for `p` at `threads` threads with this filter (outside the timed region).
  // Returns "" when ready, else why this implementation cannot do the problem.
  virtual std::string prepare(const dwconv::Problem &p, int threads, const float *filter) = 0;
  // One convolution; `input` and `output` are dense NHWC.
  virtual void run(const float *input, float *output) = 0;
  // Which code path the implementation took (e.g. oneDNN's implementation name).
  virtual std::string detail() const { return ""; }
};

// dwconv with the kernel Plan::create picks, or (general) the general kernel that serves the shape.
std::unique_ptr<Impl> make_dwconv(bool general);
std::unique_ptr<Impl> make_naive();
// Peers; null when the build has no such library.
std::unique_ptr<Impl> make_onednn();
std::unique_ptr<Impl> make_xnnpack();

// Every implementation of this build, dwconv and its general kernels first.
std::vector<std::unique_ptr<Impl>> all_impls();

}  // namespace dwconv_bench
