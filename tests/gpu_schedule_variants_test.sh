#!/usr/bin/env bash
# The GPU schedule's knobs beyond the defaults that the kernel set is built with, on the
# machine's OpenCL device (Debian's pocl runs it on the CPU): each value of each knob of
# schedules/cuda.h at least once, through `dwconv measure --target host-opencl` (the candidate
# AOT-compiled as dwconv tune builds it, run by dwconv_runner, checked against the naive loop;
# non-zero when one fails to compile, crashes or is wrong). Above all several channels per thread
# and channel blocks wider than the tensor (the guarded channel tail), with odd sizes, M > 1,
# strides 2-3, dilation and asymmetric SAME padding. Exits 77 (ctest: skipped) where no OpenCL
# device is found.
#   gpu_schedule_variants_test.sh DWCONV_BINARY
set -euo pipefail
bin="$1"
target=host-opencl
if ! out=$("$bin" measure 1,2,2,1,1,1,1,1,1,SAME --target "$target" --repeats 1 2>&1); then
  if grep -q "OpenCL error" <<< "$out"; then
    echo "[SKIP] no OpenCL device (scripts/setup installs pocl-opencl-icd): $out"
    exit 77
  fi
  echo "$out"
  exit 1
fi

failures=0
total=0
run() {  # run SHAPE PARAMS... (one measure call, every PARAMS a candidate over the shape's default)
  local shape="$1" args=()
  shift
  for p in "$@"; do args+=(--params "$p"); done
  total=$((total + $#))
  if ! out=$("$bin" measure "$shape" --target "$target" --repeats 1 "${args[@]}" 2>&1); then
    echo "FAIL: $shape"
    echo "$out"
    failures=$((failures + 1))
  fi
}

# Any stride and dilation (no staging): channels per thread, block shapes, per-thread tiles.
unstaged=(
  "stage_input=0"
  "stage_input=0,co_per_thread=2"
  "stage_input=0,co_per_thread=4,threads_co=16,threads_x=2,threads_y=2"
  "stage_input=0,threads_co=64,threads_x=2,threads_y=1,tile_x=4,tile_y=1"
  "stage_input=0,threads_co=8,threads_x=16,threads_y=4,tile_x=1,tile_y=2"
  "stage_input=0,threads_co=16,threads_x=1,threads_y=8,tile_x=2,tile_y=4,co_per_thread=2"
  "stage_input=0,unroll_taps=0,co_per_thread=2,tile_x=4"
)
# Stride <= 2, dilation 1 (the staged input tile in shared memory and its barrier).
staged=(
  "stage_input=1"
  "stage_input=1,co_per_thread=2,tile_y=1"
  "stage_input=1,co_per_thread=4,threads_co=8,threads_x=8,threads_y=1,tile_x=1,tile_y=4"
  "stage_input=1,threads_co=64,threads_x=1,threads_y=2,tile_x=4,tile_y=1,unroll_taps=0"
  "stage_input=1,threads_co=16,threads_x=8,threads_y=4,tile_x=1,tile_y=1"
)
# A block of 64 channels over 32 (the guarded tail covers whole threads).
run 1,16,16,32,1,3,3,1,1,SAME "${unstaged[@]}" "${staged[@]}"
# Odd sizes, batch 2, stride 2 with asymmetric SAME padding, C = 37.
run 2,15,14,37,1,3,3,2,1,SAME "${unstaged[@]}" "${staged[@]}"
# M = 3 (C*M = 30), 5x5.
run 1,11,9,10,3,5,5,1,1,SAME "${unstaged[@]}" "${staged[@]}"
# Dilation 2, VALID; stride 3 with M = 2 and 7x7 (neither served by staging).
run 1,12,13,24,1,3,3,1,2,VALID "${unstaged[@]}"
run 1,9,9,17,2,7,7,3,1,SAME "${unstaged[@]}"
# A tiny image with few channels: most threads of every block idle.
run 1,2,3,5,1,3,3,1,1,SAME "${unstaged[@]}" "${staged[@]}"
echo "$total candidates on $target over 6 shapes; shapes with a failing candidate: $failures"
[ "$failures" -eq 0 ]
