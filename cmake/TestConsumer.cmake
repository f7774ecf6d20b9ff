# ctest script: install the build at BUILD_DIR into SCRATCH/prefix, run the installed dwconv
# command (also from a moved copy of the prefix), then, as users' projects would: build and run
# examples/consumer (C++, CMake, static library), examples/custom_kernels (kernels generated for
# the project's own shapes by dwconv_add_kernels, with HALIDE_DIR's Halide),
# examples/halide_neighbour (a Halide pipeline of the program's own beside libdwconv.so) and
# examples/c_consumer (C99, CMake and the shared library; then a plain Makefile through
# pkg-config), and check that the shared library exports exactly the C API of dwconv_c.h
# besides namespace dwconv.
include(${CMAKE_CURRENT_LIST_DIR}/TestInstalled.cmake)
set(prefix "${SCRATCH}/prefix")

# A step whose output is shown (the consumers print what they computed).
function(run what)
  dwconv_test_run("${what}" ${ARGN})
  message("${DWCONV_TEST_OUTPUT}")
endfunction()

# A CMake project of examples/ configured against the install (extra arguments: cache entries),
# built and run.
function(cmake_consumer name binary)
  run("configuring ${name}" "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/examples/${name}" -B "${SCRATCH}/${name}"
      -G "${GENERATOR}" -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM} "-DCMAKE_PREFIX_PATH=${prefix}" ${ARGN})
  run("building ${name}" "${CMAKE_COMMAND}" --build "${SCRATCH}/${name}")
  run("running ${name}" "${SCRATCH}/${name}/${binary}")
endfunction()

dwconv_test_install("${prefix}")

# The installed dwconv command finds its data and companions in its own prefix, also after the
# prefix moves: --version names where, info takes a shape name from the installed shapes, and
# measure builds and times a candidate with Halide's JIT (the installed RPATH).
function(check_installed_cli dir)
  dwconv_test_run("dwconv --version (${dir})" "${dir}/bin/dwconv" --version)
  string(FIND "${DWCONV_TEST_OUTPUT}" "installed, data in ${dir}/share/dwconv" at)
  if (at LESS 0)
    message(FATAL_ERROR "${dir}/bin/dwconv --version does not name its own prefix:\n${DWCONV_TEST_OUTPUT}")
  endif ()
  message("${DWCONV_TEST_OUTPUT}")
  dwconv_test_run("dwconv info (${dir})" "${dir}/bin/dwconv" info mbv1_dw1)
  dwconv_test_run("dwconv measure (${dir})" "${dir}/bin/dwconv" measure 1,8,8,16,1,3,3,1,1,SAME --repeats 2)
  message("${DWCONV_TEST_OUTPUT}")
endfunction()
check_installed_cli("${prefix}")
file(COPY "${prefix}/" DESTINATION "${SCRATCH}/moved")
check_installed_cli("${SCRATCH}/moved")
cmake_consumer(consumer consumer)
cmake_consumer(custom_kernels custom_kernels "-DHalide_DIR=${HALIDE_DIR}")
cmake_consumer(halide_neighbour halide_neighbour "-DHalide_DIR=${HALIDE_DIR}")
cmake_consumer(c_consumer c_consumer)

# A project whose shapes CSV has a bad row: the configure stops with the file, line and reason
# (the runtime's own shape checks, through the configure-time helper).
function(expect_refused_shapes row expect)
  set(dir "${SCRATCH}/refused_shapes")
  file(WRITE "${dir}/CMakeLists.txt" "cmake_minimum_required(VERSION 3.28)\nproject(refused LANGUAGES CXX)\n"
       "find_package(dwconv REQUIRED)\nadd_executable(app main.cpp)\ndwconv_add_kernels(app SHAPES shapes.csv)\n")
  file(WRITE "${dir}/main.cpp" "int main() { return 0; }\n")
  file(WRITE "${dir}/shapes.csv" "name,N,H,W,C,M,KH,KW,stride,dilation,padding\ngood,1,8,8,16,1,3,3,1,1,SAME\n${row}\n")
  execute_process(COMMAND "${CMAKE_COMMAND}" -S "${dir}" -B "${dir}/build" -G "${GENERATOR}"
                          -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM} "-DCMAKE_PREFIX_PATH=${prefix}" "-DHalide_DIR=${HALIDE_DIR}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(REGEX REPLACE "[ \t\r\n]+" " " flat "${out}")  # CMake wraps an error's lines
  string(FIND "${flat}" "${expect}" at)
  if (rc EQUAL 0 OR at LESS 0)
    message(FATAL_ERROR "shapes row '${row}': expected the configure to stop with '${expect}', got (exit ${rc}):\n${out}")
  endif ()
  message("shapes row '${row}' refused: ${expect}")
endfunction()
expect_refused_shapes("full,1,8,8,16,1,3,3,1,1,FULL" "shapes.csv:3: padding must be SAME or VALID, got 'FULL'")
expect_refused_shapes("tiny,1,2,2,8,1,3,3,1,1,VALID" "shapes.csv:3: tiny: empty output")

# The Makefile project through pkg-config.
file(GLOB pc_file "${prefix}/lib*/pkgconfig/dwconv.pc" "${prefix}/lib/*/pkgconfig/dwconv.pc")
if (NOT pc_file)
  message(FATAL_ERROR "no dwconv.pc installed under ${prefix}")
endif ()
get_filename_component(pc_dir "${pc_file}" DIRECTORY)
file(MAKE_DIRECTORY "${SCRATCH}/c_consumer_make")
run("make" "${CMAKE_COMMAND}" -E env "PKG_CONFIG_PATH=${pc_dir}" make -C "${SCRATCH}/c_consumer_make"
    -f "${SOURCE_DIR}/examples/c_consumer/Makefile" "SRC=${SOURCE_DIR}/examples/c_consumer")
run("running the Makefile build" "${SCRATCH}/c_consumer_make/c_consumer")

# Exports: the C symbols of libdwconv.so are exactly dwconv_c.h's functions.
file(GLOB so_file "${prefix}/lib*/libdwconv.so" "${prefix}/lib/*/libdwconv.so")
execute_process(COMMAND nm -D --defined-only "${so_file}" OUTPUT_VARIABLE nm_out RESULT_VARIABLE rc)
if (rc)
  message(FATAL_ERROR "nm -D ${so_file} failed")
endif ()
string(REGEX MATCHALL "[0-9a-f]+ [TtWwDdBbRrVv] [^\n]+" lines "${nm_out}")
set(exported "")
foreach (line IN LISTS lines)
  string(REGEX REPLACE "^[0-9a-f]+ . " "" sym "${line}")
  if (NOT sym MATCHES "^_ZN?K?6dwconv" AND NOT sym MATCHES "^_ZT[ISV]N6dwconv")
    list(APPEND exported "${sym}")
  endif ()
endforeach ()
file(STRINGS "${SOURCE_DIR}/runtime/include/dwconv/dwconv_c.h" decls REGEX "^[a-z][a-z_ ]* \\**dwconv_[a-z0-9_]+\\(")
set(declared "")
foreach (d IN LISTS decls)
  string(REGEX MATCH "dwconv_[a-z0-9_]+\\(" name "${d}")
  string(REPLACE "(" "" name "${name}")
  list(APPEND declared "${name}")
endforeach ()
list(SORT exported)
list(SORT declared)
if (NOT exported STREQUAL declared)
  message(FATAL_ERROR "libdwconv.so exports C symbols\n  ${exported}\nbut dwconv_c.h declares\n  ${declared}")
endif ()
list(LENGTH declared n)
message("libdwconv.so exports the ${n} functions of dwconv_c.h and namespace dwconv, nothing else")
