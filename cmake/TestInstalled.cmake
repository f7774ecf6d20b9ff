# Shared by the ctest scripts that build a project of their own against an install of this build
# (TestConsumer.cmake, TestFuzz.cmake): run a step, and install BUILD_DIR into a prefix.

# Runs a command; on failure prints its output and stops with "<what> failed".
function(dwconv_test_run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if (rc)
    message("${out}")
    message(FATAL_ERROR "${what} failed")
  endif ()
  set(DWCONV_TEST_OUTPUT "${out}" PARENT_SCOPE)
endfunction()

# `cmake --install BUILD_DIR --prefix <prefix>`, into an emptied SCRATCH.
function(dwconv_test_install prefix)
  file(REMOVE_RECURSE "${SCRATCH}")
  dwconv_test_run("install" "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}")
endfunction()
