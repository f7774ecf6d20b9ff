// How one convolution maps onto kernel calls: the tensors' views (offsets, extents, strides)
// and the scalar arguments of each call. A fixed-shape or tuned kernel takes the whole problem
// in one call; a general kernel's problem is cut where that lets every call run the kernel's
// fastest branch (general_kernel_calls). Integers only: the Halide buffers are made from a call
// by the runtime (dwconv.cpp), and the tests check the geometry against the naive loop.
#pragma once

#include <cstdint>
#include <vector>

#include "dwconv/dwconv.h"

namespace dwconv {
namespace detail {

// A strided view of an NHWC tensor in the kernels' dimension order (c, x, y, n), in elements.
struct TensorView {
  int64_t offset = 0;
  int64_t extent[4] = {};
  int64_t stride[4] = {};
};

// One kernel call: input channels [channel_first, channel_first + channel_count) (the filter
// and bias slices are channels [channel_first * M, (channel_first + channel_count) * M)).
// The filter slice is taps [kernel_h x kernel_w] from element filter_offset, with the strides of
// the whole filter.
struct KernelCall {
  TensorView input, output;
  int64_t channel_first = 0, channel_count = 0;
  int64_t filter_offset = 0, kernel_w = 0, kernel_h = 0;
  int64_t stride_x = 1, stride_y = 1, dilation_x = 1, dilation_y = 1;
  int64_t pad_left = 0, pad_top = 0;
};

// The whole problem as one call.
KernelCall whole_problem_call(const Problem &p, const ResolvedPadding &pad);

// The part of a problem that reads data. In one dimension, the filter taps that read the input
// for some output (the taps before and after them read only padding for every output: 0 * w),
// and the outputs that read the input through some tap of that window (the others read only
// padding: the activation of the bias). A problem runs on that window of its filter and that
// box of its output, with a smaller padding and input; with a dilation or stride far beyond the
// input the rest can be most of the problem. Taps or outputs between two that read the input
// stay in the window or box. count 0: nothing reads the input.
struct Span {
  int64_t first = 0, count = 0;
  int64_t end() const { return first + count; }
  bool contains(int64_t i) const { return i >= first && i < end(); }
};
Span reaching_taps(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad);
Span reaching_outputs(int64_t in, int64_t out, int64_t stride, int64_t dilation, int64_t pad, Span taps);

struct Reach {
  Span rows, cols;          // filter taps
  Span out_rows, out_cols;  // outputs
  bool empty() const { return rows.count == 0 || cols.count == 0; }
  bool in_window(int64_t ky, int64_t kx) const { return rows.contains(ky) && cols.contains(kx); }
  bool in_box(int64_t y, int64_t x) const { return !empty() && out_rows.contains(y) && out_cols.contains(x); }
};
Reach whole_reach(const Problem &p);
Reach reach_of(const Problem &p, const ResolvedPadding &pad);
bool is_whole(const Reach &r, const Problem &p);

// A block of input channels [first, first + count).
struct ChannelBlock {
  int64_t first, count;
};
// A general kernel runs whole register tiles only where its output channels C*M are a multiple
// of the vector width `lanes`; otherwise its last channel tile shifts inwards and keeps a
// channel test and a clamped index in every tap of every tile (docs/design.md, "Cutting a
// general kernel's problem"). Output channels depend only on their own input channel, so such
// a problem runs as two blocks of whole vectors: the channels up to the last whole vector, and
// one vector's worth ending at the last channel (recomputing a few channels of the first block,
// to the same values). Fewer channels than one vector stay one block. Fills `blocks`, returns
// their number.
int general_kernel_blocks(int64_t c, int64_t m, int lanes, ChannelBlock blocks[2]);

// One phase of a dilated dimension: output positions out_first + out_step * j read only the
// input positions in_first + in_step * i, as a convolution with stride 1, dilation 1 and
// padding `pad` of that subsampled input.
struct Phase {
  int64_t in_first = 0, in_extent = 0, in_step = 1;
  int64_t out_first = 0, out_extent = 0, out_step = 1;
  int64_t pad = 0, stride = 1, dilation = 1;
};
// A general kernel keeps the padding tests in every tap for a (stride, dilation) it has no
// branch for (general_branches.h). A dimension whose dilation d is a multiple of its stride s
// splits into d / s phases that each read every d-th input position with stride 1 and
// dilation 1 (TensorFlow's space-to-batch for atrous convolution, done with strided views
// instead of copies). A dimension stays whole (one phase of the problem's own stride, dilation
// and padding) where d = 1, s does not divide d, d > kMaxDilationPhases, or the input is
// shorter than d (a phase would read no input).
inline constexpr int64_t kMaxDilationPhases = 8;
std::vector<Phase> dimension_phases(int64_t in, int64_t out, int64_t stride, int64_t dilation, int64_t pad);

// The calls of a general kernel of `family` on the vector width `lanes` over the (non-empty)
// reach `w`: channel blocks x row phases x column phases, each call on whole vectors, and at
// stride and dilation 1 where the kernel has no branch for the problem's own.
std::vector<KernelCall> general_kernel_calls(const Problem &p, const ResolvedPadding &pad, const Reach &w,
                                             const char *family, int lanes);

}  // namespace detail
}  // namespace dwconv
