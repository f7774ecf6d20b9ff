// XNNPACK as a peer: xnn_create_convolution2d_nhwc_f32 with groups = C, one input and M output
// channels per group, which XNNPACK serves with its depthwise microkernels when M = 1 (and with
// its grouped IGEMM otherwise). Written against the 2022 operator API of Debian's libxnnpack.
//
// Threads: a pthreadpool of that many threads; 1 thread passes no pool, so XNNPACK runs on the
// calling thread as TFLite does without a delegate pool.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <cstdio>
#include <limits>

#include "impl.h"

namespace dwconv_bench {

namespace {

class XnnpackImpl : public Impl {
 public:
  ~XnnpackImpl() override { release(); }

  std::string name() const override { return "xnnpack"; }

  std::string prepare(const dwconv::Problem &p, int threads, const float *filter) override {
    release();
    static const xnn_status init = xnn_initialize(nullptr);
    if (init != xnn_status_success) return "xnn_initialize failed (status " + std::to_string(init) + ")";
    dwconv::ResolvedPadding pad;
    dwconv::Status st = dwconv::resolve_padding(p.input, p.filter, p.params, &pad);
    if (!st.ok()) return st.message();
    const size_t c = p.filter.c, m = p.filter.m, kh = p.filter.kh, kw = p.filter.kw;
    // TF's [KH, KW, C, M] to the grouped layout [groups * group_output_channels][KH][KW][group_input_channels]
    // = [C*M][KH][KW][1]; output channel c*M + m is group c's m-th, as in TF.
    std::vector<float> kernel(c * m * kh * kw);
    for (size_t y = 0; y < kh; y++)
      for (size_t x = 0; x < kw; x++)
        for (size_t ci = 0; ci < c; ci++)
          for (size_t mi = 0; mi < m; mi++)
            kernel[((ci * m + mi) * kh + y) * kw + x] = filter[((y * kw + x) * c + ci) * m + mi];
    const float inf = std::numeric_limits<float>::infinity();
    xnn_status s = xnn_create_convolution2d_nhwc_f32(
        pad.top, pad.right, pad.bottom, pad.left, kh, kw, p.params.stride_h, p.params.stride_w, p.params.dilation_h,
        p.params.dilation_w, /*groups=*/c, /*group_input_channels=*/1, /*group_output_channels=*/m,
        /*input_channel_stride=*/c, /*output_channel_stride=*/c * m, kernel.data(), /*bias=*/nullptr, -inf, inf,
        /*flags=*/0, &op_);
    if (s != xnn_status_success) {
      op_ = nullptr;
      return "xnn_create_convolution2d_nhwc_f32 failed (status " + std::to_string(s) + ")";
    }
    if (threads > 1) pool_ = pthreadpool_create(threads);
    n_ = p.input.n;
    h_ = p.input.h;
    w_ = p.input.w;
    out_elems_ = p.output.n * p.output.h * p.output.w * p.output.c;
    return "";
  }

  // Setup binds the buffers. The first one (in the benchmark's untimed check run) builds the
  // indirection buffer; later ones happen only when the benchmark rotates buffers, and XNNPACK
  // takes those as an offset from the first input without rebuilding anything.
  void run(const float *input, float *output) override {
    if (input != input_ || output != output_) {
      input_ = input;
      output_ = output;
      if (xnn_setup_convolution2d_nhwc_f32(op_, n_, h_, w_, input, output, pool_) != xnn_status_success) {
        // Let the reference check report it rather than time nothing.
        std::fprintf(stderr, "xnnpack: xnn_setup_convolution2d_nhwc_f32 failed\n");
        std::fill(output, output + out_elems_, std::numeric_limits<float>::quiet_NaN());
        input_ = nullptr;
        return;
      }
    }
    xnn_run_operator(op_, pool_);
  }

 private:
  void release() {
    if (op_) xnn_delete_operator(op_);
    if (pool_) pthreadpool_destroy(pool_);
    op_ = nullptr;
    pool_ = nullptr;
    input_ = nullptr;
    output_ = nullptr;
  }

  xnn_operator_t op_ = nullptr;
  pthreadpool_t pool_ = nullptr;
  size_t n_ = 0, h_ = 0, w_ = 0;
  size_t out_elems_ = 0;
  const float *input_ = nullptr;
  float *output_ = nullptr;
};

}  // namespace

std::unique_ptr<Impl> make_xnnpack() { return std::make_unique<XnnpackImpl>(); }

}  // namespace dwconv_bench
