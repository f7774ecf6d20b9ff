// The AOT generator: the algorithm of dwconv_algorithm.h with the schedule of the target
// family it is compiled for (schedules/). One generator serves every kernel of the table;
// GeneratorParams fix the kernel size and M where a kernel specializes on them and carry the
// schedule parameters (from the heuristic defaults or the tuning database).
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "Halide.h"
#include "arm_neon.h"
#include "cuda.h"
#include "dwconv/dwconv.h"
#include "dwconv_algorithm.h"
#include "x86.h"

namespace dwconv {
namespace {

class DwconvGenerator : public Halide::Generator<DwconvGenerator> {
 public:
  // 0 = taken from the filter at run time; otherwise the filter must have this size.
  GeneratorParam<int> kernel_w{"kernel_w", 0};
  GeneratorParam<int> kernel_h{"kernel_h", 0};
  // Channel multiplier M fixed at compile time (the channel map co / M becomes a shuffle);
  // 0 = taken from the `multiplier` input at run time.
  GeneratorParam<int> multiplier_fixed{"fixed_multiplier", 0};
  // Stride and dilation fixed at compile time (both directions; the inputs must then match,
  // which the generated code checks); 0 = taken from the inputs at run time. The general
  // kernels of the table leave them at 0; per-workload kernels and scripts/arm-mca use them.
  GeneratorParam<int> stride_fixed{"fixed_stride", 0};
  GeneratorParam<int> dilation_fixed{"fixed_dilation", 0};
  // Extents fixed at compile time, "N,H,W,C,OH,OW" (per-workload kernels, which also fix kernel
  // size, M, stride and dilation); empty: taken from the buffers at run time.
  GeneratorParam<std::string> fixed_shape{"fixed_shape", ""};
  // Schedule parameters as "key=value,...", for the target family's parameter struct; for x86
  // optionally per ISA level, "avx512_zen4@key=value,.../avx2@..." (schedules/isa_params.h).
  GeneratorParam<std::string> schedule_params{"schedule", ""};
  // Shape estimates for Halide's autoschedulers, "N,H,W,C,M,KH,KW,OH,OW" (tuner baselines);
  // empty: MobileNet's 56x56x128 3x3 layer.
  GeneratorParam<std::string> estimates{"estimates", ""};

  // NHWC input [N, H, W, C], seen innermost first as (c, x, y, n); channels dense.
  Input<Buffer<float, 4>> input{"input"};
  // TF filter [KH, KW, C, M] seen as (co, kx, ky) with co = c*M + m dense.
  Input<Buffer<float, 3>> filter{"filter"};
  Input<Buffer<float, 1>> bias{"bias"};  // [C*M]; zeros when the caller has no bias
  // At most kMaxStrideDilationMultiplier, the limit validate() checks before any call.
  static constexpr int kMax = static_cast<int>(kMaxStrideDilationMultiplier);
  Input<int> multiplier{"multiplier", 1, 1, kMax};
  Input<int> stride_x{"stride_x", 1, 1, kMax};
  Input<int> stride_y{"stride_y", 1, 1, kMax};
  Input<int> dilation_x{"dilation_x", 1, 1, kMax};
  Input<int> dilation_y{"dilation_y", 1, 1, kMax};
  Input<int> pad_left{"pad_left", 0};
  Input<int> pad_top{"pad_top", 0};
  Input<float> out_min{"out_min", -std::numeric_limits<float>::infinity()};
  Input<float> out_max{"out_max", std::numeric_limits<float>::infinity()};
  // NHWC output [N, OH, OW, C*M] as (co, x, y, n); channels dense.
  Output<Buffer<float, 4>> output{"output"};

  void generate() {
    AlgorithmInputs in;
    in.input = input;
    in.filter = filter;
    in.bias = bias;
    in.in_channels = input.dim(0).extent();
    in.in_width = input.dim(1).extent();
    in.in_height = input.dim(2).extent();
    in.multiplier = multiplier_fixed > 0 ? Expr((int)multiplier_fixed) : Expr(multiplier);
    in.kernel_w = kernel_w > 0 ? Expr((int)kernel_w) : filter.dim(1).extent();
    in.kernel_h = kernel_h > 0 ? Expr((int)kernel_h) : filter.dim(2).extent();
    in.stride_x = stride_fixed > 0 ? Expr((int)stride_fixed) : Expr(stride_x);
    in.stride_y = stride_fixed > 0 ? Expr((int)stride_fixed) : Expr(stride_y);
    in.dilation_x = dilation_fixed > 0 ? Expr((int)dilation_fixed) : Expr(dilation_x);
    in.dilation_y = dilation_fixed > 0 ? Expr((int)dilation_fixed) : Expr(dilation_y);
    if (stride_fixed > 0) {
      add_requirement(stride_x == (int)stride_fixed && stride_y == (int)stride_fixed,
                      "this kernel was generated for stride", (int)stride_fixed);
    }
    if (dilation_fixed > 0) {
      add_requirement(dilation_x == (int)dilation_fixed && dilation_y == (int)dilation_fixed,
                      "this kernel was generated for dilation", (int)dilation_fixed);
    }
    strides_ = {in.stride_x, in.stride_y, in.dilation_x, in.dilation_y};
    in.pad_left = pad_left;
    in.pad_top = pad_top;
    in.out_min = out_min;
    in.out_max = out_max;
    in.inline_channel_map = using_autoscheduler();
    algo_ = define_algorithm(in);
    output = algo_.output;

    // Layout contract with the runtime: channel dimensions dense, all mins 0.
    for (int d = 0; d < 4; d++) {
      input.dim(d).set_min(0);
      output.dim(d).set_min(0);
    }
    for (int d = 0; d < 3; d++) filter.dim(d).set_min(0);
    bias.dim(0).set_min(0);
    input.dim(0).set_stride(1);
    output.dim(0).set_stride(1);
    filter.dim(0).set_stride(1);
    bias.dim(0).set_stride(1);
    if (kernel_w > 0) filter.dim(1).set_extent(kernel_w);
    if (kernel_h > 0) filter.dim(2).set_extent(kernel_h);
    if (!std::string(fixed_shape).empty()) fix_shape();


    // Estimates for Halide's autoschedulers.
    std::vector<int> e = {1, 56, 56, 128, 1, 3, 3, 56, 56};
    if (!std::string(estimates).empty()) e = parse_sizes(estimates, 9, "estimates", "N,H,W,C,M,KH,KW,OH,OW");
    input.set_estimates({{0, e[3]}, {0, e[2]}, {0, e[1]}, {0, e[0]}});
    filter.set_estimates({{0, e[3] * e[4]}, {0, e[6]}, {0, e[5]}});
    bias.set_estimates({{0, e[3] * e[4]}});
    output.set_estimates({{0, e[3] * e[4]}, {0, e[8]}, {0, e[7]}, {0, e[0]}});
    multiplier.set_estimate(e[4]);
    stride_x.set_estimate(1);
    stride_y.set_estimate(1);
    dilation_x.set_estimate(1);
    dilation_y.set_estimate(1);
    pad_left.set_estimate(1);
    pad_top.set_estimate(1);
    out_min.set_estimate(0.0f);
    out_max.set_estimate(6.0f);
  }

  void schedule() {
    if (using_autoscheduler()) return;
    ScheduleContext ctx;
    ctx.out_channels = output.dim(0).extent();
    ctx.out_width = output.dim(1).extent();
    ctx.out_height = output.dim(2).extent();
    ctx.kernel_w = kernel_w;
    ctx.kernel_h = kernel_h;
    ctx.multiplier = multiplier_fixed;
    ctx.stride_x = strides_[0];
    ctx.stride_y = strides_[1];
    ctx.dilation_x = strides_[2];
    ctx.dilation_y = strides_[3];
    if (shape_fixed_) ctx.shape = &shape_;
    const Halide::Target t = get_target();
    if (t.has_gpu_feature()) {
      if (!t.has_feature(Halide::Target::CUDA) && !t.has_feature(Halide::Target::OpenCL))
        throw std::invalid_argument("dwconv: the GPU schedule is for CUDA (and OpenCL, which checks it "
                                    "without a GPU), not " + t.to_string());
      schedule_cuda(algo_, cuda_params_from_string(schedule_params, default_cuda_params(nullptr)),
                    ctx, t);
    } else if (t.arch == Halide::Target::ARM) {
      schedule_arm_neon(algo_,
                        arm_neon_params_from_string(
                            schedule_params, default_arm_neon_params(nullptr, kernel_w, kernel_h)),
                        ctx, t);
    } else if (t.arch == Halide::Target::X86) {
      // A tuned kernel carries parameters per ISA level (isa_params.h); a level without its own
      // (or a same-width level's) gets the heuristic default for its vector width, for the
      // workload when the shape is fixed (as the tuner measures the default).
      const std::string why = check_level_text(schedule_params);
      if (!why.empty()) throw std::invalid_argument("dwconv: " + why);
      const int lanes = t.natural_vector_size<float>();
      const X86Params defaults = shape_fixed_ ? default_x86_params(&shape_, lanes)
                                              : default_x86_params(nullptr, lanes, multiplier_fixed, kernel_w);
      schedule_x86(algo_, x86_params_from_string(params_for_level(schedule_params, x86_isa_level(t)), defaults), ctx, t);
    } else {
      throw std::invalid_argument("dwconv: no schedule for target " + t.to_string());
    }
  }

 private:
  // "a,b,c,...": exactly `count` sizes >= 1, else an error naming the parameter and its form.
  static std::vector<int> parse_sizes(const std::string &text, int count, const char *name, const char *form) {
    std::stringstream ss{text};
    std::string item;
    std::vector<int> v;
    while (std::getline(ss, item, ',')) {
      char *end = nullptr;
      const long x = std::strtol(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || x < 1 || x > (1 << 30))
        throw std::invalid_argument(std::string(name) + ": '" + item + "' is not a size >= 1");
      v.push_back(int(x));
    }
    if (int(v.size()) != count)
      throw std::invalid_argument(std::string(name) + " needs " + std::to_string(count) + " numbers " + form);
    return v;
  }

  // Parses fixed_shape and constrains the buffers to it; the per-workload kernel then has
  // constant extents (the runtime calls it only for its workload).
  void fix_shape() {
    const std::vector<int> v = parse_sizes(fixed_shape, 6, "fixed_shape", "N,H,W,C,OH,OW");
    if (kernel_w < 1 || kernel_h < 1 || multiplier_fixed < 1 || stride_fixed < 1 || dilation_fixed < 1)
      throw std::invalid_argument("fixed_shape needs kernel_w, kernel_h, fixed_multiplier, fixed_stride and fixed_dilation");
    shape_.n = v[0], shape_.h = v[1], shape_.w = v[2], shape_.c = v[3], shape_.out_h = v[4], shape_.out_w = v[5];
    shape_.m = multiplier_fixed, shape_.kh = kernel_h, shape_.kw = kernel_w;
    shape_.stride_h = shape_.stride_w = stride_fixed;
    shape_.dilation_h = shape_.dilation_w = dilation_fixed;
    const int in_extent[4] = {shape_.c, shape_.w, shape_.h, shape_.n};
    const int out_extent[4] = {shape_.c * shape_.m, shape_.out_w, shape_.out_h, shape_.n};
    for (int d = 0; d < 4; d++) {
      input.dim(d).set_extent(in_extent[d]);
      output.dim(d).set_extent(out_extent[d]);
    }
    filter.dim(0).set_extent(shape_.c * shape_.m);
    bias.dim(0).set_extent(shape_.c * shape_.m);
    // Dense tensors (the runtime sends strided ones to the general kernels): each tap's address
    // is then a constant offset from the tile's, not a multiple of a stride held in a register.
    int in_stride = 1, out_stride = 1;
    for (int d = 1; d < 4; d++) {
      in_stride *= in_extent[d - 1];
      out_stride *= out_extent[d - 1];
      input.dim(d).set_stride(in_stride);
      output.dim(d).set_stride(out_stride);
    }
    filter.dim(1).set_stride(shape_.c * shape_.m);
    filter.dim(2).set_stride(shape_.c * shape_.m * shape_.kw);
    shape_fixed_ = true;
  }

  Algorithm algo_;
  WorkloadShape shape_;
  bool shape_fixed_ = false;
  std::vector<Halide::Expr> strides_;  // stride_x, stride_y, dilation_x, dilation_y
};

}  // namespace
}  // namespace dwconv

HALIDE_REGISTER_GENERATOR(dwconv::DwconvGenerator, dwconv)
