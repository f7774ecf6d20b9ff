# The CPU kernels of this build again, for another Halide target of the same family (e.g.
# arm-64-android from an aarch64 build), as one static library: kernels + their own Halide
# runtime. Build only: Halide emits the object code, so no NDK is needed; an Android app links
# lib<NAME>.a and calls the kernels through the generated headers (<kernel>.android.h).
#
# dwconv_add_android_library(NAME TARGETS t...)
#   after all dwconv_add_kernel() calls; adds target NAME (part of ALL) producing
#   ${CMAKE_CURRENT_BINARY_DIR}/lib${NAME}.a.

function(dwconv_add_android_library NAME)
  cmake_parse_arguments(PARSE_ARGV 1 A "" "" "TARGETS")
  get_property(kernels GLOBAL PROPERTY DWCONV_KERNELS)
  get_property(gen_depends GLOBAL PROPERTY DWCONV_GENERATOR_DEPENDS)
  set(rt ${NAME}_halide_runtime)
  add_halide_runtime(${rt} TARGETS ${A_TARGETS})
  set(archives "")
  set(deps ${rt})
  foreach (k IN LISTS kernels)
    get_property(params GLOBAL PROPERTY DWCONV_KERNEL_PARAMS_${k})
    add_halide_library(
      ${k}.android
      FROM dwconv.generator
      GENERATOR dwconv
      FUNCTION_NAME ${k}
      TARGETS ${A_TARGETS}
      USE_RUNTIME ${rt}
      PARAMS ${params}
      DEPENDS ${gen_depends})
    list(APPEND archives "${CMAKE_CURRENT_BINARY_DIR}/${k}.android.a")
    list(APPEND deps ${k}.android.update)
  endforeach ()
  list(APPEND archives "${CMAKE_CURRENT_BINARY_DIR}/${rt}.a")

  # One archive from all of them (GNU ar's MRI script: addlib copies every member).
  set(out "${CMAKE_CURRENT_BINARY_DIR}/lib${NAME}.a")
  set(mri "create ${out}\n")
  foreach (a IN LISTS archives)
    string(APPEND mri "addlib ${a}\n")
  endforeach ()
  string(APPEND mri "save\nend\n")
  file(CONFIGURE OUTPUT "${CMAKE_CURRENT_BINARY_DIR}/${NAME}.mri" CONTENT "${mri}")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -E rm -f "${out}"
    COMMAND ${CMAKE_AR} -M < "${CMAKE_CURRENT_BINARY_DIR}/${NAME}.mri"
    DEPENDS ${archives} "${CMAKE_CURRENT_BINARY_DIR}/${NAME}.mri"
    COMMENT "Archiving the ${A_TARGETS} kernels into lib${NAME}.a")
  add_custom_target(${NAME} ALL DEPENDS "${out}")
  add_dependencies(${NAME} ${deps})
endfunction()
