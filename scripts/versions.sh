# Pinned versions of everything dwconv installs; sourced by scripts/setup and the build scripts.
DWCONV_HALIDE_VERSION=21.0.0
DWCONV_CMAKE_VERSION=3.31.6
DWCONV_NINJA_VERSION=1.13.0
DWCONV_MATPLOTLIB_VERSION=3.10.3
# Model readers of `dwconv shapes` (ONNX, TFLite).
DWCONV_ONNX_VERSION=1.17.0
DWCONV_TFLITE_VERSION=2.18.0
DWCONV_FLATBUFFERS_VERSION=25.12.19
DWCONV_APT_PACKAGES=(
  g++ make pkg-config clang
  libgtest-dev libgmock-dev libbenchmark-dev
  libdnnl-dev libxnnpack-dev libpthreadpool-dev
  g++-aarch64-linux-gnu qemu-user llvm-14
  openssh-server openssh-client nlohmann-json3-dev libcli11-dev
  # the Slurm test of sharded tuning starts its own daemons with these (tests/slurm_test.sh)
  slurm-wlm munge
  # an OpenCL device on the CPU, which runs the GPU schedule in the tests (gpu_schedule_test.cpp)
  pocl-opencl-icd
)
