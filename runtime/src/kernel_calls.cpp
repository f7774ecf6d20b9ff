#include "kernel_calls.h"

#include <algorithm>
#include <numeric>

#include "general_branches.h"
#include "problem_check.h"

namespace dwconv {
namespace detail {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// floor(a / b) for b > 0 and any a.
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// The views of one call: channel block b, row phase ry, column phase px, filter window w.
KernelCall make_call(const Problem &p, const Reach &w, ChannelBlock b, const Phase &ry, const Phase &px) {
  const DenseStrides in = input_strides(p), out = output_strides(p);
  const int64_t m = p.filter.m;
  KernelCall k;
  k.channel_first = b.first;
  k.channel_count = b.count;
  k.filter_offset = (w.rows.first * p.filter.kw + w.cols.first) * p.filter.c * m;
  k.kernel_w = w.cols.count, k.kernel_h = w.rows.count;
  k.input.offset = b.first + ry.in_first * in.h + px.in_first * in.w;
  k.input.extent[0] = b.count, k.input.stride[0] = 1;
  k.input.extent[1] = px.in_extent, k.input.stride[1] = in.w * px.in_step;
  k.input.extent[2] = ry.in_extent, k.input.stride[2] = in.h * ry.in_step;
  k.input.extent[3] = p.input.n, k.input.stride[3] = in.n;
  k.output.offset = b.first * m + ry.out_first * out.h + px.out_first * out.w;
  k.output.extent[0] = b.count * m, k.output.stride[0] = 1;
  k.output.extent[1] = px.out_extent, k.output.stride[1] = out.w * px.out_step;
  k.output.extent[2] = ry.out_extent, k.output.stride[2] = out.h * ry.out_step;
  k.output.extent[3] = p.output.n, k.output.stride[3] = out.n;
  k.stride_x = px.stride, k.stride_y = ry.stride;
  k.dilation_x = px.dilation, k.dilation_y = ry.dilation;
  k.pad_left = px.pad, k.pad_top = ry.pad;
  return k;
}

Phase whole_dimension(int64_t in, int64_t out, int64_t stride, int64_t dilation, int64_t pad) {
  Phase w;
  w.in_extent = in, w.out_extent = out;
  w.pad = pad, w.stride = stride, w.dilation = dilation;
  return w;
}

// One dimension restricted to a tap window and an output box starting at output `first_out`:
// its input from `skip` on, where the window's first tap reads for the box's first output when
// that lies inside the input, and the padding before it.
struct WindowedDimension {
  int64_t skip, in, pad;
};
WindowedDimension windowed(int64_t in, int64_t stride, int64_t dilation, int64_t pad, Span taps, int64_t first_out) {
  const int64_t lead = taps.first * dilation - pad + first_out * stride;  // where that tap reads
  const int64_t skip = std::max<int64_t>(0, lead);
  return {skip, in - skip, skip - lead};
}

}  // namespace

Span reaching_taps(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad) {
  auto reaches = [&](int64_t k) {
    const int64_t at = k * dilation - pad;  // where tap k reads for output 0
    const int64_t first_out = at >= 0 ? 0 : ceil_div(-at, stride);  // first output it reads x >= 0 for
    return first_out < out && first_out * stride + at < in;
  };
  int64_t first = 0, last = kernel - 1;
  while (first < kernel && !reaches(first)) first++;
  if (first == kernel) return {0, 0};
  while (!reaches(last)) last--;
  return {first, last - first + 1};
}

Span reaching_outputs(int64_t in, int64_t out, int64_t stride, int64_t dilation, int64_t pad, Span taps) {
  int64_t first = out, last = -1;
  for (int64_t k = taps.first; k < taps.end(); k++) {
    const int64_t at = k * dilation - pad;  // where tap k reads for output 0
    // Outputs o with 0 <= o * stride + at < in.
    const int64_t lo = std::max<int64_t>(0, at >= 0 ? 0 : ceil_div(-at, stride));
    const int64_t hi = std::min(out - 1, floor_div(in - 1 - at, stride));
    if (lo > hi) continue;
    first = std::min(first, lo), last = std::max(last, hi);
  }
  return last < 0 ? Span{0, 0} : Span{first, last - first + 1};
}

Reach whole_reach(const Problem &p) {
  return {{0, p.filter.kh}, {0, p.filter.kw}, {0, p.output.h}, {0, p.output.w}};
}

Reach reach_of(const Problem &p, const ResolvedPadding &pad) {
  const ConvParams &q = p.params;
  Reach r;
  r.rows = reaching_taps(p.input.h, p.output.h, p.filter.kh, q.stride_h, q.dilation_h, pad.top);
  r.cols = reaching_taps(p.input.w, p.output.w, p.filter.kw, q.stride_w, q.dilation_w, pad.left);
  r.out_rows = reaching_outputs(p.input.h, p.output.h, q.stride_h, q.dilation_h, pad.top, r.rows);
  r.out_cols = reaching_outputs(p.input.w, p.output.w, q.stride_w, q.dilation_w, pad.left, r.cols);
  return r;
}

bool is_whole(const Reach &r, const Problem &p) {
  return r.rows.count == p.filter.kh && r.cols.count == p.filter.kw && r.out_rows.count == p.output.h &&
         r.out_cols.count == p.output.w;
}

KernelCall whole_problem_call(const Problem &p, const ResolvedPadding &pad) {
  return make_call(p, whole_reach(p), {0, p.filter.c},
                   whole_dimension(p.input.h, p.output.h, p.params.stride_h, p.params.dilation_h, pad.top),
                   whole_dimension(p.input.w, p.output.w, p.params.stride_w, p.params.dilation_w, pad.left));
}

int general_kernel_blocks(int64_t c, int64_t m, int lanes, ChannelBlock blocks[2]) {
  // Input channels per whole number of vectors of output channels.
  const int64_t step = lanes / std::gcd(m, int64_t(lanes));
  if ((c * m) % lanes == 0 || c < step) {
    blocks[0] = {0, c};
    return 1;
  }
  blocks[0] = {0, c / step * step};
  blocks[1] = {c - step, step};
  return 2;
}

std::vector<Phase> dimension_phases(int64_t in, int64_t out, int64_t stride, int64_t dilation, int64_t pad) {
  if (dilation == 1 || dilation % stride != 0 || dilation > kMaxDilationPhases || in < dilation)
    return {whole_dimension(in, out, stride, dilation, pad)};
  // Output position a + P j (P = d / s phases) reads input (a + P j) s - pad + k d
  // = (a s - pad) + (j + k) d: the positions r + d i with r = (a s - pad) mod d, at
  // i = e + j + k where a s - pad = r + d e; so padding -e (>= 0, as a s < d) at stride 1.
  const int64_t phases = dilation / stride;
  std::vector<Phase> v;
  for (int64_t a = 0; a < phases && a < out; a++) {
    const int64_t base = a * stride - pad;
    const int64_t e = floor_div(base, dilation), r = base - e * dilation;
    Phase ph;
    ph.in_first = r, ph.in_extent = ceil_div(in - r, dilation), ph.in_step = dilation;
    ph.out_first = a, ph.out_extent = ceil_div(out - a, phases), ph.out_step = phases;
    ph.pad = -e;
    v.push_back(ph);
  }
  return v;
}

std::vector<KernelCall> general_kernel_calls(const Problem &p, const ResolvedPadding &pad, const Reach &w,
                                             const char *family, int lanes) {
  ChannelBlock blocks[2];
  const int block_count = general_kernel_blocks(p.filter.c, p.filter.m, lanes, blocks);
  const ConvParams &q = p.params;
  // A dimension with one output never steps by its stride, and one with one tap never by its
  // dilation: 1 there lets the call take the unit branches, and keeps the staged strip of an
  // any-M kernel from spanning a stride far beyond the image (rows_per_task strides).
  const int64_t stride_h = w.out_rows.count == 1 ? 1 : q.stride_h, stride_w = w.out_cols.count == 1 ? 1 : q.stride_w;
  const int64_t dilation_h = w.rows.count == 1 ? 1 : q.dilation_h, dilation_w = w.cols.count == 1 ? 1 : q.dilation_w;
  const bool own_branch = stride_h == stride_w && dilation_h == dilation_w &&
                          general_branch_for(family, int(stride_h), int(dilation_h));
  auto phases = [&](int64_t in, int64_t stride, int64_t dilation, int64_t before, Span taps, Span outs,
                    int64_t call_stride, int64_t call_dilation) {
    const WindowedDimension d = windowed(in, stride, dilation, before, taps, outs.first);
    std::vector<Phase> v =
        own_branch ? std::vector<Phase>{whole_dimension(d.in, outs.count, call_stride, call_dilation, d.pad)}
                   : dimension_phases(d.in, outs.count, call_stride, call_dilation, d.pad);
    for (Phase &ph : v) ph.in_first += d.skip, ph.out_first += outs.first;
    return v;
  };
  const std::vector<Phase> rows =
      phases(p.input.h, q.stride_h, q.dilation_h, pad.top, w.rows, w.out_rows, stride_h, dilation_h);
  const std::vector<Phase> cols =
      phases(p.input.w, q.stride_w, q.dilation_w, pad.left, w.cols, w.out_cols, stride_w, dilation_w);
  std::vector<KernelCall> calls;
  calls.reserve(block_count * rows.size() * cols.size());
  for (int b = 0; b < block_count; b++)
    for (const Phase &ry : rows)
      for (const Phase &px : cols) calls.push_back(make_call(p, w, blocks[b], ry, px));
  return calls;
}

}  // namespace detail
}  // namespace dwconv
