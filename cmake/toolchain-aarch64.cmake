# Cross build for 64-bit ARM Linux with Debian's GNU toolchain (g++-aarch64-linux-gnu); tests
# run under qemu-user. Halide generators run on the build machine: the cross build imports the
# generator of a host build (see CMakePresets.json, preset "aarch64").
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_AR aarch64-linux-gnu-ar CACHE FILEPATH "")
set(CMAKE_RANLIB aarch64-linux-gnu-ranlib CACHE FILEPATH "")

set(DWCONV_AARCH64_SYSROOT /usr/aarch64-linux-gnu CACHE PATH "Target libraries for qemu-aarch64 -L")
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L ${DWCONV_AARCH64_SYSROOT})

# Target libraries and headers from the cross sysroot; programs (and the host packages the
# build imports: Halide's tools, the host generator) from the build machine.
set(CMAKE_FIND_ROOT_PATH ${DWCONV_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
