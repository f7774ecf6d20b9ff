# Per-workload kernels from a distilled tuning database (dwconv tune --distill / dwconv db distill).
#
# dwconv_add_tuned_kernels(FAMILY fam TARGET_PREFIX prefix TARGETS t... DB file)
#   reads the database file at configure time and adds one kernel per workload with entries whose
#   target starts with prefix (e.g. x86-64-), each of its ISA variants generated with the
#   parameters tuned for that ISA level (x86-64-<level>), and fixed to its kernel size and M.
#   The runtime picks it when a call's workload_key() matches.
#   A missing file means general kernels only; a malformed one stops the configure with a
#   message naming the file and the entry.
#
# dwconv_add_shape_kernels(FAMILY fam TARGETS t... SHAPES csv...)
#   adds one fixed-shape kernel per row of each shapes CSV (name,N,H,W,C,M,KH,KW,stride,
#   dilation,padding[,origin], as dwconv tune and the benchmarks read) whose workload has no
#   kernel yet (a tuned one from the database comes first): the heuristic default schedule at
#   exactly that shape, no tuning run needed.
#
# dwconv_workload_fields(OUT context [--shapes csv]... [--key key]... [--cpu])
#   the fields of each shapes-CSV row and workload key, "key|KW|KH|M|SH|SW|DH|DW|N|H|W|C|OH|OW"
#   (cmake/workload_fields.cpp: the runtime's workload_key(), padding and validation, so CMake
#   derives none of them), and for --cpu this machine's CPU as the tuner names it; a bad row or
#   key stops the configure with context and the reason. dwconv_workload_fields_tool(OUT) gives
#   the helper's path (built if missing or stale).
#
# dwconv_workload_kernels_unsupported(OUT_WHY cpu_family)
#   "" where per-workload kernels are generated for a build whose CPU kernels are of cpu_family,
#   else why not (their schedules are tuned and specialized per x86 ISA level only).
#
# The global property DWCONV_WORKLOADS lists the workload keys that have a per-workload kernel
# (tuned or fixed-shape); dwconv_workload_kernel_name(OUT key family) names a key's kernel.

# The x86 ISA levels, most capable first, as the generator and the tuner name them: kX86Levels
# of schedules/isa_params.h, read from that header (beside this file in the source tree; with
# the generator's sources in an installed package).
set(_dwconv_isa_header "${CMAKE_CURRENT_LIST_DIR}/../schedules/isa_params.h")
if (NOT EXISTS "${_dwconv_isa_header}")
  set(_dwconv_isa_header "${dwconv_GENERATOR_SOURCE_DIR}/isa_params.h")
endif ()
file(STRINGS "${_dwconv_isa_header}" _dwconv_isa_line REGEX "kX86Levels\\[\\] = ")
string(REGEX MATCHALL "\"[a-z0-9_]+\"" DWCONV_X86_LEVELS "${_dwconv_isa_line}")
string(REPLACE "\"" "" DWCONV_X86_LEVELS "${DWCONV_X86_LEVELS}")
if (NOT DWCONV_X86_LEVELS)
  message(FATAL_ERROR "no kX86Levels list in ${_dwconv_isa_header}")
endif ()

# The helper behind dwconv_workload_fields, compiled at configure time from the runtime's shape
# arithmetic and the shapes-CSV reader: from the source tree, or in a user's project from the
# package's flat copy of the same files (dwconv_WORKLOAD_FIELDS_SOURCE_DIR).
set(_dwconv_root "${CMAKE_CURRENT_LIST_DIR}/..")
if (EXISTS "${_dwconv_root}/runtime/src/problem_check.cpp")
  set(DWCONV_WORKLOAD_FIELDS_SOURCES "${_dwconv_root}/cmake/workload_fields.cpp" "${_dwconv_root}/bench/shapes.cpp"
                                     "${_dwconv_root}/runtime/src/problem_check.cpp")
  set(DWCONV_WORKLOAD_FIELDS_HEADERS "${_dwconv_root}/bench/shapes.h" "${_dwconv_root}/runtime/src/problem_check.h"
                                     "${_dwconv_root}/tuner/cpu_model.h")
  set(_dwconv_workload_fields_includes "${_dwconv_root}/runtime/include" "${_dwconv_root}/runtime/src"
                                       "${_dwconv_root}/bench" "${_dwconv_root}/tuner")
else ()
  file(GLOB DWCONV_WORKLOAD_FIELDS_SOURCES "${dwconv_WORKLOAD_FIELDS_SOURCE_DIR}/*.cpp")
  set(_dwconv_workload_fields_includes "${dwconv_INCLUDE_DIR}" "${dwconv_WORKLOAD_FIELDS_SOURCE_DIR}")
endif ()

# The CPU whose tuning the build prefers, named as the tuner records it (tuner/cpu_model.h,
# "<model name> (family F, model M)"); empty: the CPU of the machine that configures. A database
# merged from several machines holds one entry per workload, ISA level and CPU; each takes this
# CPU's entry, else one of the same model name, else another's.
set(DWCONV_TUNING_CPU "" CACHE STRING "CPU whose tuned parameters the build prefers (empty: this machine's)")

function(dwconv_workload_kernels_unsupported OUT_WHY cpu_family)
  if (cpu_family STREQUAL "x86")
    set(${OUT_WHY} "" PARENT_SCOPE)
  else ()
    set(${OUT_WHY} "per-workload kernels are generated for x86 only (this build runs ${cpu_family} kernels)"
        PARENT_SCOPE)
  endif ()
endfunction()

function(dwconv_add_tuned_kernels)
  cmake_parse_arguments(PARSE_ARGV 0 T "" "FAMILY;TARGET_PREFIX;DB" "TARGETS")
  set(db "${T_DB}")
  if (NOT EXISTS "${db}")
    message(STATUS "[tuning] no database at ${db}: no tuned ${T_FAMILY} kernels")
    return()
  endif ()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${db}")
  file(READ "${db}" text)
  string(JSON format ERROR_VARIABLE err GET "${text}" format)
  if (err OR NOT format STREQUAL "dwconv-tuned-v1")
    message(FATAL_ERROR "[tuning] ${db} is not a distilled dwconv tuning database "
                        "(format dwconv-tuned-v1): ${err}")
  endif ()
  string(JSON halide ERROR_VARIABLE err GET "${text}" halide)
  if (NOT halide STREQUAL "${Halide_VERSION}")
    message(FATAL_ERROR "[tuning] ${db} was tuned with Halide ${halide}, this build uses "
                        "Halide ${Halide_VERSION}: re-tune (scripts/run) or use another database")
  endif ()
  string(JSON count ERROR_VARIABLE err LENGTH "${text}" entries)
  if (err)
    message(FATAL_ERROR "[tuning] ${db}: no 'entries' array: ${err}")
  endif ()
  # Per workload, the parameters of each ISA level it was tuned on (target prefix + level, e.g.
  # x86-64-avx2), joined as "level@params/level@params" (schedules/isa_params.h): one
  # multi-target kernel per workload whose every variant runs its own level's parameters (or,
  # for a level without an entry, those of a level with the same vector width, else the
  # heuristic default for that width).
  # Three passes: first the entries tuned on DWCONV_TUNING_CPU, then those of a CPU of the same
  # model name (family and model unknown: records of tuners before they were recorded), then any
  # other CPU's, each for the workloads and levels still without one.
  set(cpu "${DWCONV_TUNING_CPU}")
  if (NOT cpu)
    dwconv_workload_fields(cpu "[tuning]" --cpu)
  endif ()
  set(added "")
  set(preferred 0)
  set(family_re " \\(family [0-9]+, model [0-9]+\\)$")
  string(REGEX REPLACE "${family_re}" "" this_name "${cpu}")
  math(EXPR last "${count} - 1")
  foreach (pass IN ITEMS this_cpu same_name any_cpu)
    foreach (i RANGE 0 ${last})
      if (count EQUAL 0)
        break()
      endif ()
      string(JSON entry_cpu ERROR_VARIABLE err GET "${text}" entries ${i} cpu)
      string(REGEX REPLACE "${family_re}" "" name "${entry_cpu}")
      if ((pass STREQUAL "this_cpu" AND (err OR NOT entry_cpu STREQUAL "${cpu}")) OR
          (pass STREQUAL "same_name" AND (err OR NOT name STREQUAL "${this_name}")))
        continue()
      endif ()
      foreach (field IN ITEMS workload target params)
        string(JSON ${field} ERROR_VARIABLE err GET "${text}" entries ${i} ${field})
        if (err)
          message(FATAL_ERROR "[tuning] ${db}: entry ${i} has no '${field}': ${err}")
        endif ()
      endforeach ()
      if (NOT target MATCHES "^${T_TARGET_PREFIX}")
        continue()
      endif ()
      string(REGEX REPLACE "^${T_TARGET_PREFIX}" "" level "${target}")
      if (NOT level IN_LIST DWCONV_X86_LEVELS)
        list(JOIN DWCONV_X86_LEVELS ", " levels)
        message(FATAL_ERROR "[tuning] ${db}: entry ${i} has target '${target}', not "
                            "${T_TARGET_PREFIX}<level> (${levels})")
      endif ()
      if (NOT workload MATCHES "^[a-z0-9_.]+$")  # a list element and a target name; the helper checks the rest
        message(FATAL_ERROR "[tuning] ${db}: entry ${i} has a malformed workload '${workload}'")
      endif ()
      if (NOT workload IN_LIST added)
        list(APPEND added ${workload})
        set(levels_${workload} "")
        set(schedule_${workload} "")
      endif ()
      if (level IN_LIST levels_${workload})
        continue()  # tuned at another thread count or on another CPU too: the first entry serves
      endif ()
      if (pass STREQUAL "this_cpu")
        math(EXPR preferred "${preferred} + 1")
      endif ()
      list(APPEND levels_${workload} ${level})
      if (schedule_${workload})
        string(APPEND schedule_${workload} "/")
      endif ()
      string(APPEND schedule_${workload} "${level}@${params}")
    endforeach ()
  endforeach ()
  set(keys "")
  foreach (workload IN LISTS added)
    list(APPEND keys --key ${workload})
  endforeach ()
  set(workloads "")
  if (keys)
    dwconv_workload_fields(workloads "[tuning] ${db}:" ${keys})
  endif ()
  foreach (fields IN LISTS workloads)
    string(REGEX MATCH "^[^|]+" workload "${fields}")
    _dwconv_add_workload_kernel("${fields}" FAMILY ${T_FAMILY} TARGETS ${T_TARGETS} SCHEDULE "${schedule_${workload}}")
  endforeach ()
  list(LENGTH added n)
  message(STATUS "[tuning] ${n} tuned ${T_FAMILY} kernels from ${db} (${preferred} "
                 "variants tuned on this CPU, '${cpu}')")
endfunction()

function(dwconv_workload_kernel_name OUT workload family)
  string(REPLACE "." "_" symbol "${workload}")
  set(${OUT} dwconv_f32_${symbol}__${family} PARENT_SCOPE)
endfunction()

# The per-workload kernel of one workload's fields (a line of dwconv_workload_fields), with its
# kernel size, M, stride, dilation and extents fixed at compile time; one per workload in a
# project (a second call for the same workload adds nothing).
function(_dwconv_add_workload_kernel fields)
  cmake_parse_arguments(PARSE_ARGV 1 W "" "FAMILY;SCHEDULE" "TARGETS")
  string(REPLACE "|" ";" values "${fields}")
  set(fields workload kw kh m sh sw dh dw n h w c oh ow)
  foreach (field value IN ZIP_LISTS fields values)
    set(${field} ${value})
  endforeach ()
  set_property(GLOBAL APPEND PROPERTY DWCONV_WORKLOADS ${workload})
  dwconv_workload_kernel_name(name ${workload} ${W_FAMILY})
  if (TARGET ${name})
    return()
  endif ()
  # Stride, dilation and extents fixed at compile time (as the tuner measures them) when both
  # directions agree; the generator then has constants to partition the padding with and to
  # size its buffers by.
  set(stride 0)
  set(dilation 0)
  set(fixed_shape "")
  if (sh EQUAL sw AND dh EQUAL dw)
    set(stride ${sh})
    set(dilation ${dh})
    set(fixed_shape "${n},${h},${w},${c},${oh},${ow}")
  endif ()
  # Only the options that have a value (an empty one is the default, and CMake warns of it).
  set(optional "")
  if (fixed_shape)
    list(APPEND optional FIXED_SHAPE "${fixed_shape}")
  endif ()
  if (W_SCHEDULE)
    list(APPEND optional SCHEDULE "${W_SCHEDULE}")
  endif ()
  dwconv_add_kernel(${name} FAMILY ${W_FAMILY} TARGETS ${W_TARGETS}
                    KERNEL_W ${kw} KERNEL_H ${kh} MULTIPLIER ${m} STRIDE ${stride} DILATION ${dilation}
                    ${optional} WORKLOAD ${workload})
endfunction()

# The helper's path, built here once and again whenever a source changes; a script (cmake -P,
# no try_compile) names a built one in DWCONV_WORKLOAD_FIELDS_EXE.
function(dwconv_workload_fields_tool OUT)
  if (DWCONV_WORKLOAD_FIELDS_EXE)
    set(${OUT} "${DWCONV_WORKLOAD_FIELDS_EXE}" PARENT_SCOPE)
    return()
  endif ()
  set(exe "${CMAKE_BINARY_DIR}/dwconv_workload_fields${CMAKE_EXECUTABLE_SUFFIX}")
  set(stale FALSE)
  foreach (source IN LISTS DWCONV_WORKLOAD_FIELDS_SOURCES DWCONV_WORKLOAD_FIELDS_HEADERS)
    if (NOT EXISTS "${exe}" OR "${source}" IS_NEWER_THAN "${exe}")
      set(stale TRUE)
    endif ()
  endforeach ()
  if (stale)
    try_compile(built SOURCES ${DWCONV_WORKLOAD_FIELDS_SOURCES}
                CMAKE_FLAGS "-DINCLUDE_DIRECTORIES=${_dwconv_workload_fields_includes}"
                CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON NO_CACHE
                OUTPUT_VARIABLE log COPY_FILE "${exe}" COPY_FILE_ERROR copy_error)
    if (NOT built OR copy_error)
      message(FATAL_ERROR "dwconv: could not build the configure-time helper ${exe} ${copy_error}:\n${log}")
    endif ()
  endif ()
  set(${OUT} "${exe}" PARENT_SCOPE)
endfunction()

function(dwconv_workload_fields OUT context)
  dwconv_workload_fields_tool(exe)
  # A cross build runs it through the emulator its toolchain names (empty for a native build).
  if (CMAKE_CROSSCOMPILING AND NOT CMAKE_CROSSCOMPILING_EMULATOR)
    message(FATAL_ERROR "${context} per-workload kernels run ${exe} at configure time: a cross build "
                        "needs CMAKE_CROSSCOMPILING_EMULATOR to run it")
  endif ()
  execute_process(COMMAND ${CMAKE_CROSSCOMPILING_EMULATOR} "${exe}" ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if (NOT rc EQUAL 0)
    string(STRIP "${err}" err)
    message(FATAL_ERROR "${context} ${err}")
  endif ()
  string(STRIP "${out}" out)
  string(REPLACE "\n" ";" out "${out}")
  set(${OUT} ${out} PARENT_SCOPE)
endfunction()

function(dwconv_add_shape_kernels)
  cmake_parse_arguments(PARSE_ARGV 0 S "" "FAMILY" "TARGETS;SHAPES")
  get_property(have GLOBAL PROPERTY DWCONV_WORKLOADS)
  set(added 0)
  foreach (file IN LISTS S_SHAPES)
    if (NOT EXISTS "${file}")
      message(FATAL_ERROR "[shapes] ${file}: no such file (a shapes CSV to generate fixed-shape kernels for)")
    endif ()
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${file}")
    dwconv_workload_fields(rows "[shapes]" --shapes "${file}")
    foreach (fields IN LISTS rows)
      string(REGEX MATCH "^[^|]+" key "${fields}")
      if (key IN_LIST have)
        continue()
      endif ()
      list(APPEND have ${key})
      _dwconv_add_workload_kernel("${fields}" FAMILY ${S_FAMILY} TARGETS ${S_TARGETS})
      math(EXPR added "${added} + 1")
    endforeach ()
  endforeach ()
  message(STATUS "[shapes] ${added} fixed-shape ${S_FAMILY} kernels (heuristic schedule) from ${S_SHAPES}")
endfunction()
