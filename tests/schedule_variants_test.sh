#!/usr/bin/env bash
# Schedule branches that no kernel of the default build may take, checked against the naive
# loop through `dwconv measure` (it builds each candidate with the JIT, as the tuner does, and
# exits non-zero when one is wrong, crashes or fails to compile). Above all the staging of a
# constant M > 1 in chunks of lcm(M, lanes) channels (schedules/x86.cpp: staged_chunk):
# per task (all channels, channel blocks of whole chunks), per channel tile (tiles of whole
# chunks, the shifted last tile), strided and dilated, odd sizes, runtime strides.
#   schedule_variants_test.sh DWCONV_BINARY
set -euo pipefail
bin="$1"
failures=0
total=0
run() {  # run SHAPE PARAMS [extra options]
  local shape="$1" params="$2"
  total=$((total + 1))
  shift 2
  if ! out=$("$bin" measure "$shape" --params "$params" --repeats 1 "$@" 2>&1); then
    echo "FAIL: $shape [$params] $*"
    echo "$out" | tail -3
    failures=$((failures + 1))
  fi
}
s1="stage_input=1,channel_tiles_outer=0"
s2="stage_input=2,channel_tiles_outer=1"
# M = 3 (chunk 48): all channels per task; blocks of 3 one-vector tiles; 2x2x2 and 1x4x2 tiles.
run 1,13,17,20,3,3,3,1,1,SAME "$s1,vectors=1,tile_w=4,tile_h=2,rows_per_task=2,channel_tiles_per_task=0"
run 1,13,17,20,3,3,3,1,1,SAME "$s1,vectors=1,tile_w=3,rows_per_task=4,channel_tiles_per_task=3"
run 2,9,11,37,3,3,3,1,1,SAME "$s1,vectors=3,tile_w=2,tile_h=2,rows_per_task=2,channel_tiles_per_task=1"
# M = 10 (chunk 80), 5x5, C*M = 170 (not a multiple of the chunk: the last block is partial).
run 1,12,14,17,10,5,5,1,1,SAME "$s1,vectors=1,tile_w=4,tile_h=2,rows_per_task=2,channel_tiles_per_task=0"
run 1,12,14,17,10,5,5,1,1,SAME "$s1,vectors=1,tile_w=6,rows_per_task=2,channel_tiles_per_task=5"
run 1,12,14,17,10,5,5,1,1,SAME "$s2,vectors=5,tile_w=2,rows_per_task=4"
# M = 5, stride 2 and 3, VALID and asymmetric SAME (even input); dilation 2.
run 1,16,15,9,5,3,3,2,1,SAME "$s1,vectors=1,tile_w=4,rows_per_task=2"
run 1,14,14,9,5,3,3,3,1,VALID "$s1,vectors=1,tile_w=2,rows_per_task=1"
run 1,15,16,9,5,3,3,1,2,SAME "$s2,vectors=5,tile_w=1,rows_per_task=2"
# M = 4 (chunk 16: every tile is whole chunks), C*M = 12 < one vector; M = 7 (chunk 112).
run 2,13,13,3,4,5,5,1,1,SAME "$s1,vectors=1,tile_w=4,rows_per_task=2"
run 1,10,10,33,4,3,3,1,1,SAME "$s2,vectors=2,tile_w=3,rows_per_task=2"
run 1,9,9,20,7,3,3,1,1,SAME "$s2,vectors=7,tile_w=1,rows_per_task=3"
# M = 1 staged per task (on the stack when small: storage bounded by the task's channels):
# C*M = 40 with 2-vector tiles (the last one shifted inwards), per channel tile and all channels.
run 1,9,11,40,1,3,3,1,1,SAME "$s1,vectors=2,tile_w=3,rows_per_task=4,channel_tiles_per_task=1"
run 1,9,11,40,1,3,3,2,1,SAME "$s1,vectors=2,tile_w=2,rows_per_task=2,channel_tiles_per_task=0"
run 1,9,11,40,1,3,3,1,1,SAME "$s1,vectors=1,tile_w=2,tile_h=2,rows_per_task=4,channel_tiles_per_task=2"
# M = 2 in place (the default for M = 2), 2-row tiles.
run 1,17,19,40,2,3,3,1,1,SAME "stage_input=0,channel_tiles_outer=0,vectors=2,tile_w=2,tile_h=2,rows_per_task=2"
# Runtime stride, dilation and extents (as the general kernels) with the chunked staging.
run 1,13,17,20,3,3,3,2,1,SAME "$s1,vectors=1,tile_w=4,rows_per_task=2" --runtime-stride
run 1,12,14,17,10,5,5,1,1,SAME "$s2,vectors=5,tile_w=2,rows_per_task=2" --runtime-stride
# The heuristic defaults of such shapes.
for shape in 1,13,17,20,3,3,3,1,1,SAME 1,12,14,17,10,5,5,1,1,SAME 1,16,15,9,5,3,3,2,1,SAME 2,13,13,3,4,5,5,1,1,SAME; do
  run "$shape" ""
done
echo "$((total - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
