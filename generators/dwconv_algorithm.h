// The depthwise convolution algorithm, written once. The AOT generator (dwconv_generator.cpp),
// the JIT tuner and the tests all build their pipelines through define_algorithm(), and then
// schedule it with one of the target schedules in schedules/.
//
// Layout convention (TensorFlow's tf.nn.depthwise_conv2d), in Halide's innermost-first order:
//   input  (c, x, y, n)      = NHWC [N, H, W, C]
//   filter (co, kx, ky)      = [KH, KW, C, M] seen as [KH, KW, C*M]; co = c*M + m is innermost
//   bias   (co)              = [C*M]
//   output (co, x, y, n)     = NHWC [N, OH, OW, C*M]
// output(co, x, y, n) = act(bias(co) + sum_{ky,kx} filter(co, kx, ky) *
//                          input(co / M, x*sx + kx*dx - pad_left, y*sy + ky*dy - pad_top, n))
// with zeros outside the input. act clamps to [out_min, out_max] and propagates NaN.
#pragma once

#include "Halide.h"

#include <limits>

namespace dwconv {

struct AlgorithmInputs {
  Halide::Func input;   // (c, x, y, n)
  Halide::Func filter;  // (co, kx, ky)
  Halide::Func bias;    // (co)
  // Extents of the input, for the zero padding.
  Halide::Expr in_channels, in_width, in_height;
  Halide::Expr multiplier;  // M; a constant 1 in the M == 1 kernels
  Halide::Expr kernel_w, kernel_h;  // constants in the fixed-size kernels
  Halide::Expr stride_x, stride_y, dilation_x, dilation_y;
  Halide::Expr pad_left, pad_top;
  Halide::Expr out_min, out_max;
  // Write the channel map co / M into the taps instead of calling the channel_of Func: Halide's
  // autoschedulers (Adams2019, Anderson2021) need every producer's region bounded, and a Func's
  // values are unbounded to them ("Unbounded producer->consumer relationship: padded ->
  // replicated"). The hand schedules keep the Func (a table when M is a runtime value).
  bool inline_channel_map = false;
};

// The Funcs of the algorithm, for a schedule to act on.
struct Algorithm {
  Halide::Var co{"co"}, x{"x"}, y{"y"}, n{"n"};
  Halide::RDom r;
  // input with a zero halo (and zeros beyond the last channel, so that a
  // schedule may round channel tiles up without reading past the input).
  Halide::Func padded;
  // padded seen per output channel: replicated(co, ...) = padded(co / M, ...).
  // A schedule stages it per task, which turns the channel gather of M > 1
  // into one pass per staged pixel instead of one per tap.
  Halide::Func replicated;
  Halide::Func channel_of;  // co -> c = co / M
  Halide::Func conv;    // bias + sum of taps
  Halide::Func output;  // activation applied
  Halide::Expr multiplier, kernel_w, kernel_h;
  // True when the activation clamps to [-inf, inf] (none): output = conv. A schedule
  // specializes its hot branch on it, where the clamp and its NaN pass then fold away.
  Halide::Expr clamp_is_identity;
};

inline Algorithm define_algorithm(const AlgorithmInputs &in) {
  using namespace Halide;
  Algorithm a;
  a.multiplier = in.multiplier;
  a.kernel_w = in.kernel_w;
  a.kernel_h = in.kernel_h;
  const Var &co = a.co, &x = a.x, &y = a.y, &n = a.n;

  // Zero outside the input, one dimension at a time (rows outermost): each test is then its own
  // select, which loop partitioning removes along the loop it depends on (columns in the column
  // tile loop, rows in the row loop). One select testing all three at once keeps every test in
  // every tap: the column loop's interior cannot drop a condition on the row.
  const Range all;
  Func bounded = in.input;
  bounded = BoundaryConditions::constant_exterior(bounded, 0.0f, {{0, in.in_channels}, all, all, all});
  bounded = BoundaryConditions::constant_exterior(bounded, 0.0f, {all, {0, in.in_width}, all, all});
  bounded = BoundaryConditions::constant_exterior(bounded, 0.0f, {all, all, {0, in.in_height}, all});
  a.padded = Func("padded");  // named, so that it reads well in STMT output and profiles
  a.padded(co, x, y, n) = bounded(co, x, y, n);
  // The input channel of output channel co. A schedule computes it as a table when M is a
  // runtime value (so no vector division remains), or inlines it when M is a constant.
  a.channel_of = Func("channel_of");
  a.channel_of(co) = co / in.multiplier;
  a.replicated = Func("replicated");
  a.replicated(co, x, y, n) = a.padded(in.inline_channel_map ? co / in.multiplier : a.channel_of(co), x, y, n);

  a.r = RDom(0, in.kernel_w, 0, in.kernel_h, "r");
  const RVar &kx = a.r.x, &ky = a.r.y;
  a.conv = Func("conv");
  a.conv(co, x, y, n) = in.bias(co);
  a.conv(co, x, y, n) += in.filter(co, kx, ky) *
                         a.replicated(co, x * in.stride_x + kx * in.dilation_x - in.pad_left,
                                      y * in.stride_y + ky * in.dilation_y - in.pad_top, n);

  // Halide's float min/max make no promise about NaN (on x86 they return the second operand),
  // so NaN is passed through explicitly, exactly like the reference. Halide compiles float
  // arithmetic with LLVM's fast-math flags, which let LLVM assume that the accumulation makes
  // no NaN and fold that test away (it did: five tuned kernels checked returned the clamp bound
  // for a NaN sum, and 56x56x128's had no vcmpunordps left).
  // So the value first goes through an integer xor with a mask LLVM cannot know: zero for every
  // valid call (out_min <= out_max, checked by the runtime), so no bit changes, but whether the
  // result is NaN is no longer known at compile time. That costs xor, compare and blend per
  // output vector besides min and max (56x56x128, 2x2x2 tiles: 104 -> 85 GFLOP/s), so without
  // an activation (clamp_is_identity, a branch of the schedule) the output is the sum itself.
  // (As inequalities: written as equalities with the infinities, the branch never ran here;
  // Halide's simplifier, which treats floats as reals, seems to fold them. Only the infinities
  // lie beyond the largest finite float.)
  const float big = std::numeric_limits<float>::max();
  a.clamp_is_identity = in.out_min < -big && in.out_max > big;
  const Expr raw = a.conv(co, x, y, n);
  const Expr opaque_zero = select(in.out_min > in.out_max, cast<uint32_t>(1), cast<uint32_t>(0));
  Expr v = reinterpret<float>(reinterpret<uint32_t>(raw) ^ opaque_zero);
  v = select(is_nan(v), v, min(max(v, in.out_min), in.out_max));
  v = select(a.clamp_is_identity, raw, v);
  a.output = Func("dwconv");
  a.output(co, x, y, n) = v;
  return a;
}

}  // namespace dwconv
