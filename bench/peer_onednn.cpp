// oneDNN as a peer: a grouped convolution_forward with groups = C (C*M output channels, M per
// group), which oneDNN dispatches to its depthwise kernels when M = 1.
//
// Debian's libdnnl 2.6 is built with the OpenMP runtime (DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP),
// so the thread count is the calling thread's OpenMP setting: set before the primitive is
// created (some kernels size their work split then) and again before every execute, since other
// implementations in the same process may run in between.
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "impl.h"

static_assert(DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP, "peer_onednn.cpp sets threads through OpenMP");

namespace dwconv_bench {

namespace {

using dnnl::memory;
using tag = memory::format_tag;

class OnednnImpl : public Impl {
 public:
  std::string name() const override { return "onednn"; }

  std::string prepare(const dwconv::Problem &p, int threads, const float *filter) override {
    threads_ = threads;
    omp_set_num_threads(threads_);
    dwconv::ResolvedPadding pad;
    dwconv::Status st = dwconv::resolve_padding(p.input, p.filter, p.params, &pad);
    if (!st.ok()) return st.message();
    const int64_t c = p.filter.c, m = p.filter.m, kh = p.filter.kh, kw = p.filter.kw;
    // Logical dims are always N,C,H,W (and G,O,I,H,W); the tag says how they lie in memory.
    const memory::dims src_dims = {p.input.n, c, p.input.h, p.input.w};
    const memory::dims dst_dims = {p.output.n, c * m, p.output.h, p.output.w};
    const memory::dims wei_dims = {c, m, 1, kh, kw};
    // oneDNN counts dilation from 0 (0 = dense), TensorFlow from 1.
    const memory::dims dilation = {p.params.dilation_h - 1, p.params.dilation_w - 1};
    try {
      const memory::desc src_md(src_dims, memory::data_type::f32, tag::nhwc);
      const memory::desc dst_md(dst_dims, memory::data_type::f32, tag::nhwc);
      const memory::desc wei_any(wei_dims, memory::data_type::f32, tag::any);
      dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                           src_md, wei_any, dst_md, {p.params.stride_h, p.params.stride_w}, dilation,
                                           {pad.top, pad.left}, {pad.bottom, pad.right});
      pd_ = dnnl::convolution_forward::primitive_desc(desc, engine_);
      prim_ = dnnl::convolution_forward(pd_);

      // TF's [KH, KW, C, M] to oneDNN's goihw = [C][M][1][KH][KW], then to the layout the
      // primitive wants, both here and not in the timed run.
      std::vector<float> goihw(c * m * kh * kw);
      for (int64_t y = 0; y < kh; y++)
        for (int64_t x = 0; x < kw; x++)
          for (int64_t ci = 0; ci < c; ci++)
            for (int64_t mi = 0; mi < m; mi++)
              goihw[((ci * m + mi) * kh + y) * kw + x] = filter[((y * kw + x) * c + ci) * m + mi];
      memory user_wei({wei_dims, memory::data_type::f32, tag::goihw}, engine_, goihw.data());
      weights_ = memory(pd_.weights_desc(), engine_);
      dnnl::reorder(user_wei, weights_).execute(stream_, user_wei, weights_);
      stream_.wait();

      src_ = memory(pd_.src_desc(), engine_, DNNL_MEMORY_NONE);
      dst_ = memory(pd_.dst_desc(), engine_, DNNL_MEMORY_NONE);
    } catch (const dnnl::error &e) {
      // oneDNN says "could not create a primitive descriptor" when no implementation fits.
      return std::string("oneDNN: ") + e.what();
    }
    return "";
  }

  void run(const float *input, float *output) override {
    omp_set_num_threads(threads_);
    src_.set_data_handle(const_cast<float *>(input));
    dst_.set_data_handle(output);
    prim_.execute(stream_, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, dst_}});
    stream_.wait();
  }

  std::string detail() const override { return pd_ ? pd_.impl_info_str() : ""; }

 private:
  dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream_{engine_};
  int threads_ = 1;
  dnnl::convolution_forward::primitive_desc pd_;
  dnnl::convolution_forward prim_;
  memory weights_, src_, dst_;
};

}  // namespace

std::unique_ptr<Impl> make_onednn() { return std::make_unique<OnednnImpl>(); }

}  // namespace dwconv_bench
