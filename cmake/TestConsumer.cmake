# ctest script: install the build at BUILD_DIR into SCRATCH/prefix, then build and run
# examples/consumer against it as a user's project would.
file(REMOVE_RECURSE "${SCRATCH}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${SCRATCH}/prefix"
                RESULT_VARIABLE rc)
if (rc)
  message(FATAL_ERROR "install failed")
endif ()
execute_process(COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/examples/consumer" -B "${SCRATCH}/build"
                        -G "${GENERATOR}" -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}
                        "-DCMAKE_PREFIX_PATH=${SCRATCH}/prefix" RESULT_VARIABLE rc)
if (rc)
  message(FATAL_ERROR "configuring the consumer failed")
endif ()
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${SCRATCH}/build" RESULT_VARIABLE rc)
if (rc)
  message(FATAL_ERROR "building the consumer failed")
endif ()
execute_process(COMMAND "${SCRATCH}/build/consumer" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if (rc)
  message(FATAL_ERROR "the consumer failed")
endif ()
