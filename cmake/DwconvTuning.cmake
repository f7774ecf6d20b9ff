# Per-workload kernels from a distilled tuning database (dwconv tune --distill / dwconv db distill).
#
# dwconv_add_tuned_kernels(FAMILY fam TARGET_PREFIX prefix TARGETS t...)
#   reads DWCONV_TUNING_DB at configure time and adds one kernel per workload with entries whose
#   target starts with prefix (e.g. x86-64-), each of its ISA variants generated with the
#   parameters tuned for that ISA level (x86-64-<level>), and fixed to its kernel size and M.
#   The runtime picks it when a call's workload_key() matches.
#   A missing file means general kernels only; a malformed one stops the configure with a
#   message naming the file and the entry.

set(DWCONV_TUNING_DB "${PROJECT_SOURCE_DIR}/schedules/tuned/x86-64.json"
    CACHE FILEPATH "Distilled tuning database the build generates per-workload kernels from")

function(dwconv_add_tuned_kernels)
  cmake_parse_arguments(PARSE_ARGV 0 T "" "FAMILY;TARGET_PREFIX" "TARGETS")
  if (NOT EXISTS "${DWCONV_TUNING_DB}")
    message(STATUS "[tuning] no database at ${DWCONV_TUNING_DB}: general ${T_FAMILY} kernels only")
    return()
  endif ()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${DWCONV_TUNING_DB}")
  file(READ "${DWCONV_TUNING_DB}" text)
  string(JSON format ERROR_VARIABLE err GET "${text}" format)
  if (err OR NOT format STREQUAL "dwconv-tuned-v1")
    message(FATAL_ERROR "[tuning] ${DWCONV_TUNING_DB} is not a distilled dwconv tuning database "
                        "(format dwconv-tuned-v1): ${err}")
  endif ()
  string(JSON halide ERROR_VARIABLE err GET "${text}" halide)
  if (NOT halide STREQUAL "${Halide_VERSION}")
    message(FATAL_ERROR "[tuning] ${DWCONV_TUNING_DB} was tuned with Halide ${halide}, this build uses "
                        "Halide ${Halide_VERSION}: re-tune (scripts/run) or pass -DDWCONV_TUNING_DB=")
  endif ()
  string(JSON count ERROR_VARIABLE err LENGTH "${text}" entries)
  if (err)
    message(FATAL_ERROR "[tuning] ${DWCONV_TUNING_DB}: no 'entries' array: ${err}")
  endif ()
  # Per workload, the parameters of each ISA level it was tuned on (target prefix + level, e.g.
  # x86-64-avx2), joined as "level@params/level@params" (schedules/isa_params.h): one
  # multi-target kernel per workload whose every variant runs its own level's parameters (or,
  # for a level without an entry, those of a level with the same vector width, else the
  # heuristic default for that width).
  set(added "")
  math(EXPR last "${count} - 1")
  foreach (i RANGE 0 ${last})
    if (count EQUAL 0)
      break()
    endif ()
    foreach (field IN ITEMS workload target params)
      string(JSON ${field} ERROR_VARIABLE err GET "${text}" entries ${i} ${field})
      if (err)
        message(FATAL_ERROR "[tuning] ${DWCONV_TUNING_DB}: entry ${i} has no '${field}': ${err}")
      endif ()
    endforeach ()
    if (NOT target MATCHES "^${T_TARGET_PREFIX}")
      continue()
    endif ()
    string(REGEX REPLACE "^${T_TARGET_PREFIX}" "" level "${target}")
    if (NOT level MATCHES "^(avx512_zen4|avx512|avx2|sse41|baseline)$")
      message(FATAL_ERROR "[tuning] ${DWCONV_TUNING_DB}: entry ${i} has target '${target}', not "
                          "${T_TARGET_PREFIX}<level> (avx512_zen4, avx512, avx2, sse41, baseline)")
    endif ()
    if (NOT workload MATCHES "^n([0-9]+)_h([0-9]+)_w([0-9]+)_c([0-9]+)_m([0-9]+)_k([0-9]+)x([0-9]+)_s([0-9]+)x([0-9]+)_d([0-9]+)x([0-9]+)_p([0-9]+)\\.([0-9]+)\\.([0-9]+)\\.([0-9]+)$")
      message(FATAL_ERROR "[tuning] ${DWCONV_TUNING_DB}: entry ${i} has a malformed workload '${workload}'")
    endif ()
    if (NOT workload IN_LIST added)
      list(APPEND added ${workload})
      set(levels_${workload} "")
      set(schedule_${workload} "")
    endif ()
    if (level IN_LIST levels_${workload})
      continue()  # tuned at another thread count too: the first entry serves
    endif ()
    list(APPEND levels_${workload} ${level})
    if (schedule_${workload})
      string(APPEND schedule_${workload} "/")
    endif ()
    string(APPEND schedule_${workload} "${level}@${params}")
  endforeach ()
  foreach (workload IN LISTS added)
    # The regex above validated the key; CMake keeps only 9 match groups, so the 15 numbers are
    # taken in order.
    string(REGEX MATCHALL "[0-9]+" numbers "${workload}")
    set(fields n h w c m kh kw sh sw dh dw pt pb pl pr)
    foreach (field number IN ZIP_LISTS fields numbers)
      set(${field} ${number})
    endforeach ()
    # Stride, dilation and extents fixed at compile time (as the tuner measured them) when both
    # directions agree; the generator then has constants to partition the padding with and to
    # size its buffers by.
    set(stride 0)
    set(dilation 0)
    set(fixed_shape "")
    if (sh EQUAL sw AND dh EQUAL dw)
      set(stride ${sh})
      set(dilation ${dh})
      math(EXPR oh "(${h} + ${pt} + ${pb} - (${kh} - 1) * ${dilation} - 1) / ${stride} + 1")
      math(EXPR ow "(${w} + ${pl} + ${pr} - (${kw} - 1) * ${dilation} - 1) / ${stride} + 1")
      set(fixed_shape "${n},${h},${w},${c},${oh},${ow}")
    endif ()
    string(REPLACE "." "_" symbol "${workload}")
    dwconv_add_kernel(dwconv_f32_${symbol}__${T_FAMILY} FAMILY ${T_FAMILY} TARGETS ${T_TARGETS}
                      KERNEL_W ${kw} KERNEL_H ${kh} MULTIPLIER ${m} STRIDE ${stride} DILATION ${dilation}
                      FIXED_SHAPE "${fixed_shape}" SCHEDULE "${schedule_${workload}}" WORKLOAD ${workload})
  endforeach ()
  list(LENGTH added n)
  message(STATUS "[tuning] ${n} tuned ${T_FAMILY} kernels from ${DWCONV_TUNING_DB}")
endfunction()
