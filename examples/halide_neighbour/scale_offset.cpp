// The program's own pipeline: out(x, y) = 2 * in(x, y) + 1, rows in parallel.
#include "Halide.h"

namespace {

class ScaleOffset : public Halide::Generator<ScaleOffset> {
 public:
  Input<Buffer<float, 2>> input{"input"};
  Output<Buffer<float, 2>> output{"output"};

  void generate() {
    output(x, y) = 2.0f * input(x, y) + 1.0f;
    output.parallel(y);
  }

 private:
  Halide::Var x{"x"}, y{"y"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(ScaleOffset, scale_offset)
