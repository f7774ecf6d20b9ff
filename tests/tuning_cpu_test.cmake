# cmake -P: which entries of a distilled database a build takes (cmake/DwconvTuning.cmake).
# A database merged from two machines holds an entry per CPU for the same workload and ISA
# level; the build must take the entries of DWCONV_TUNING_CPU, else fall back to another CPU's,
# and never mix two CPUs' parameters within one level.
cmake_minimum_required(VERSION 3.28)
if (NOT SOURCE_DIR OR NOT SCRATCH OR NOT DWCONV_WORKLOAD_FIELDS_EXE)
  message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=... -DSCRATCH=... -DDWCONV_WORKLOAD_FIELDS_EXE=<the build's "
                      "dwconv_workload_fields> -P tuning_cpu_test.cmake")
endif ()
set(PROJECT_SOURCE_DIR "${SOURCE_DIR}")
set(Halide_VERSION 21.0.0)
# Records what the function under test would generate instead of generating it.
function(dwconv_add_kernel name)
  cmake_parse_arguments(PARSE_ARGV 1 K "" "SCHEDULE;WORKLOAD" "")
  set_property(GLOBAL APPEND PROPERTY generated "${K_WORKLOAD}=${K_SCHEDULE}")
endfunction()
include("${SOURCE_DIR}/cmake/DwconvTuning.cmake")

# The child run of the malformed-key check below: the configure must stop.
if (BAD_DB)
  dwconv_add_tuned_kernels(FAMILY x86 TARGET_PREFIX x86-64- TARGETS none DB "${BAD_DB}")
  return()
endif ()

# The ISA levels come from schedules/isa_params.h, where the generator and the tuner read them.
if (NOT DWCONV_X86_LEVELS STREQUAL "avx512_zen4;avx512;avx2;sse41;baseline")
  message(FATAL_ERROR "ISA levels read as '${DWCONV_X86_LEVELS}'")
endif ()

file(MAKE_DIRECTORY "${SCRATCH}")
set(DWCONV_TUNING_DB "${SCRATCH}/two_cpus.json")
set(a "n1_h8_w8_c16_m1_k3x3_s1x1_d1x1_p1.1.1.1")
set(b "n1_h9_w9_c16_m2_k3x3_s2x2_d1x1_p0.1.0.1")
file(WRITE "${DWCONV_TUNING_DB}" [=[
{"format": "dwconv-tuned-v1", "halide": "21.0.0", "entries": [
 {"workload": "n1_h8_w8_c16_m1_k3x3_s1x1_d1x1_p1.1.1.1", "target": "x86-64-avx512_zen4", "threads": 1,
  "params": "vectors=1", "cpu": "CPU A (family 1, model 1)"},
 {"workload": "n1_h8_w8_c16_m1_k3x3_s1x1_d1x1_p1.1.1.1", "target": "x86-64-avx512_zen4", "threads": 1,
  "params": "vectors=2", "cpu": "CPU B (family 2, model 2)"},
 {"workload": "n1_h8_w8_c16_m1_k3x3_s1x1_d1x1_p1.1.1.1", "target": "x86-64-avx2", "threads": 1,
  "params": "tile_w=3", "cpu": "CPU A (family 1, model 1)"},
 {"workload": "n1_h9_w9_c16_m2_k3x3_s2x2_d1x1_p0.1.0.1", "target": "x86-64-avx2", "threads": 1,
  "params": "tile_w=5", "cpu": "CPU A (family 1, model 1)"},
 {"workload": "n1_h9_w9_c16_m2_k3x3_s2x2_d1x1_p0.1.0.1", "target": "x86-64-avx2", "threads": 1,
  "params": "tile_w=6", "cpu": "CPU B"},
 {"workload": "n1_h9_w9_c16_m2_k3x3_s2x2_d1x1_p0.1.0.1", "target": "arm-64-neon", "threads": 1,
  "params": "tile_w=7", "cpu": "CPU B (family 2, model 2)"}]}
]=])

function(expect cpu want_a want_b)
  set_property(GLOBAL PROPERTY generated "")
  set(DWCONV_TUNING_CPU "${cpu}")
  dwconv_add_tuned_kernels(FAMILY x86 TARGET_PREFIX x86-64- TARGETS none DB "${DWCONV_TUNING_DB}")
  get_property(got GLOBAL PROPERTY generated)
  set(want "${a}=${want_a};${b}=${want_b}")
  if (NOT got STREQUAL want)
    message(FATAL_ERROR "DWCONV_TUNING_CPU '${cpu}':\n  generated ${got}\n  expected  ${want}")
  endif ()
endfunction()

# This CPU's entry wins per level; then one of a CPU of the same model name recorded without
# family and model (older tuners); a level this CPU was not tuned for takes another CPU's.
expect("CPU B (family 2, model 2)" "avx512_zen4@vectors=2/avx2@tile_w=3" "avx2@tile_w=6")
expect("CPU A (family 1, model 1)" "avx512_zen4@vectors=1/avx2@tile_w=3" "avx2@tile_w=5")
# A CPU with no entries: the first entry of each level, as before per-CPU entries.
expect("CPU C (family 3, model 3)" "avx512_zen4@vectors=1/avx2@tile_w=3" "avx2@tile_w=5")
# The default names this machine the way the tuner records it (tuner/cpu_model.h), and takes
# its entries: with none here, the first of each level.
expect("" "avx512_zen4@vectors=1/avx2@tile_w=3" "avx2@tile_w=5")
dwconv_workload_fields(host_cpu "" --cpu)
if (EXISTS /proc/cpuinfo AND NOT host_cpu MATCHES "^.+ \\(family [0-9]+, model [0-9]+\\)$")
  message(FATAL_ERROR "this machine's CPU read as '${host_cpu}', not 'NAME (family F, model M)'")
endif ()

# A malformed key in a database (three paddings) stops with the database and the reason.
set(bad_key "n1_h8_w8_c16_m1_k3x3_s1x1_d1x1_p1.1.1")
file(WRITE "${SCRATCH}/bad_key.json" "{\"format\": \"dwconv-tuned-v1\", \"halide\": \"21.0.0\", \"entries\": [
 {\"workload\": \"${bad_key}\", \"target\": \"x86-64-avx2\", \"threads\": 1, \"params\": \"\", \"cpu\": \"A\"}]}")
execute_process(COMMAND "${CMAKE_COMMAND}" -DSOURCE_DIR=${SOURCE_DIR} -DSCRATCH=${SCRATCH}
                        -DDWCONV_WORKLOAD_FIELDS_EXE=${DWCONV_WORKLOAD_FIELDS_EXE} -DBAD_DB=${SCRATCH}/bad_key.json
                        -P "${CMAKE_CURRENT_LIST_FILE}"
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
string(REGEX REPLACE "[ \t\r\n]+" " " flat "${err}")  # CMake wraps an error's lines
string(FIND "${flat}" "[tuning] ${SCRATCH}/bad_key.json: '${bad_key}' is not a workload key" at)
if (rc EQUAL 0 OR at LESS 0)
  message(FATAL_ERROR "a database with the key '${bad_key}' was not refused by name (exit ${rc}):\n${err}")
endif ()
message(STATUS "tuning_cpu: ok (this machine: ${host_cpu})")
