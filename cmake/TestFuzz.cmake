# ctest script (label fuzz): install the build at BUILD_DIR into SCRATCH/prefix, build the
# libFuzzer targets of tests/fuzz with clang++ against it, and run each for SECONDS (environment
# DWCONV_FUZZ_SECONDS overrides: a longer run is `DWCONV_FUZZ_SECONDS=3600 ctest --preset host -L
# fuzz`) from the committed seed corpus. A crash fails the test and leaves its input in
# SCRATCH/artifacts/ (replay: SCRATCH/build/fuzz_api FILE); it becomes a regression seed in
# tests/fuzz/corpus/.
include(${CMAKE_CURRENT_LIST_DIR}/TestInstalled.cmake)
if (DEFINED ENV{DWCONV_FUZZ_SECONDS})
  set(SECONDS $ENV{DWCONV_FUZZ_SECONDS})
endif ()

dwconv_test_install("${SCRATCH}/prefix")
dwconv_test_run("configuring tests/fuzz" "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/fuzz" -B "${SCRATCH}/build" -G "${GENERATOR}"
    -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM} -DCMAKE_CXX_COMPILER=${CLANGXX} "-DCMAKE_PREFIX_PATH=${SCRATCH}/prefix"
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DHalide_DIR=${HALIDE_DIR}")
dwconv_test_run("building the fuzzers" "${CMAKE_COMMAND}" --build "${SCRATCH}/build")
file(MAKE_DIRECTORY "${SCRATCH}/artifacts")
foreach (target IN ITEMS api shapes db cli)
  file(MAKE_DIRECTORY "${SCRATCH}/corpus/${target}")
  execute_process(COMMAND "${SCRATCH}/build/fuzz_${target}" -max_total_time=${SECONDS} -timeout=30
                          -rss_limit_mb=4096 -artifact_prefix=${SCRATCH}/artifacts/${target}-
                          "${SCRATCH}/corpus/${target}" "${SOURCE_DIR}/tests/fuzz/corpus/${target}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(REGEX MATCH "#[0-9]+[^\n]*DONE[^\n]*" done "${out}")
  if (rc)
    message("${out}")
    message(FATAL_ERROR "fuzz_${target} found a failing input: ${SCRATCH}/artifacts/")
  endif ()
  message("fuzz_${target}: ${SECONDS} s, no failure (${done})")
endforeach ()
