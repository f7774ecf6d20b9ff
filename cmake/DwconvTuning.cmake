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
# dwconv_add_workload_kernel(key FAMILY fam TARGETS t... [SCHEDULE s])
#   the per-workload kernel of one workload key (workload_key() in runtime/src/problem_check.cpp),
#   with its kernel size, M, stride, dilation and extents fixed at compile time; one per key in a
#   project (a second call for the same key adds nothing).
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

# The CPU whose tuning the build prefers, named as the tuner records it (tuner/cpu_model.h,
# "<model name> (family F, model M)"): by default the CPU of the machine that configures, read
# from /proc/cpuinfo. A database merged from several machines holds one entry per workload, ISA
# level and CPU; each takes this CPU's entry, else one of the same model name, else another's.
set(dwconv_host_cpu "")
if (EXISTS /proc/cpuinfo)
  file(STRINGS /proc/cpuinfo cpuinfo REGEX "^(model name|cpu family|model)[ \t]*:")
  foreach (line IN LISTS cpuinfo)
    string(REGEX MATCH "^([a-z ]+[a-z])[ \t]*: ?(.*)$" _ "${line}")
    string(REPLACE " " "_" field "${CMAKE_MATCH_1}")
    if (NOT DEFINED cpu_${field})
      set(cpu_${field} "${CMAKE_MATCH_2}")
    endif ()
  endforeach ()
  if (DEFINED cpu_model_name AND DEFINED cpu_cpu_family)
    set(dwconv_host_cpu "${cpu_model_name} (family ${cpu_cpu_family}, model ${cpu_model})")
  elseif (DEFINED cpu_model_name)
    set(dwconv_host_cpu "${cpu_model_name}")
  endif ()
endif ()
set(DWCONV_TUNING_CPU "${dwconv_host_cpu}"
    CACHE STRING "CPU whose tuned parameters the build prefers (default: this machine's)")

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
  set(added "")
  set(preferred 0)
  set(family_re " \\(family [0-9]+, model [0-9]+\\)$")
  string(REGEX REPLACE "${family_re}" "" this_name "${DWCONV_TUNING_CPU}")
  math(EXPR last "${count} - 1")
  foreach (pass IN ITEMS this_cpu same_name any_cpu)
    foreach (i RANGE 0 ${last})
      if (count EQUAL 0)
        break()
      endif ()
      string(JSON cpu ERROR_VARIABLE err GET "${text}" entries ${i} cpu)
      string(REGEX REPLACE "${family_re}" "" name "${cpu}")
      if ((pass STREQUAL "this_cpu" AND (err OR NOT cpu STREQUAL "${DWCONV_TUNING_CPU}")) OR
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
      if (NOT workload MATCHES "^n([0-9]+)_h([0-9]+)_w([0-9]+)_c([0-9]+)_m([0-9]+)_k([0-9]+)x([0-9]+)_s([0-9]+)x([0-9]+)_d([0-9]+)x([0-9]+)_p([0-9]+)\\.([0-9]+)\\.([0-9]+)\\.([0-9]+)$")
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
  foreach (workload IN LISTS added)
    dwconv_add_workload_kernel(${workload} FAMILY ${T_FAMILY} TARGETS ${T_TARGETS} SCHEDULE "${schedule_${workload}}")
  endforeach ()
  list(LENGTH added n)
  message(STATUS "[tuning] ${n} tuned ${T_FAMILY} kernels from ${db} (${preferred} "
                 "variants tuned on this CPU, '${DWCONV_TUNING_CPU}')")
endfunction()

function(dwconv_workload_kernel_name OUT workload family)
  string(REPLACE "." "_" symbol "${workload}")
  set(${OUT} dwconv_f32_${symbol}__${family} PARENT_SCOPE)
endfunction()

function(dwconv_add_workload_kernel workload)
  cmake_parse_arguments(PARSE_ARGV 1 W "" "FAMILY;SCHEDULE" "TARGETS")
  set_property(GLOBAL APPEND PROPERTY DWCONV_WORKLOADS ${workload})
  dwconv_workload_kernel_name(name ${workload} ${W_FAMILY})
  if (TARGET ${name})
    return()
  endif ()
  # Callers validated the key; CMake keeps only 9 match groups, so the 15 numbers are taken in
  # order.
  string(REGEX MATCHALL "[0-9]+" numbers "${workload}")
  set(fields n h w c m kh kw sh sw dh dw pt pb pl pr)
  foreach (field number IN ZIP_LISTS fields numbers)
    set(${field} ${number})
  endforeach ()
  # Stride, dilation and extents fixed at compile time (as the tuner measures them) when both
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

# The workload key of one shapes-CSV row, as workload_key() spells it: TensorFlow's SAME puts
# the odd padding pixel bottom/right (ConvParams::padding in runtime/include/dwconv/dwconv.h).
# Sets OUT, or stops the configure with a message naming the file, line and field.
function(dwconv_shape_row_key OUT file lineno row)
  string(REPLACE "," ";" cols "${row}")
  list(LENGTH cols ncols)
  if (ncols LESS 11)
    message(FATAL_ERROR "[shapes] ${file}:${lineno}: expected name,N,H,W,C,M,KH,KW,stride,dilation,padding")
  endif ()
  set(fields name n h w c m kh kw s d padding)
  foreach (field IN LISTS fields)
    list(POP_FRONT cols ${field})
    string(STRIP "${${field}}" ${field})
  endforeach ()
  foreach (field IN ITEMS n h w c m kh kw s d)
    if (NOT "${${field}}" MATCHES "^[1-9][0-9]?[0-9]?[0-9]?[0-9]?[0-9]?$")
      message(FATAL_ERROR "[shapes] ${file}:${lineno} (${name}): ${field} = '${${field}}' is not a size from 1 to 999999")
    endif ()
  endforeach ()
  math(EXPR ekh "(${kh} - 1) * ${d} + 1")
  math(EXPR ekw "(${kw} - 1) * ${d} + 1")
  if (padding STREQUAL "SAME")
    set(pads "")
    foreach (axis IN ITEMS h w)
      math(EXPR out "(${${axis}} + ${s} - 1) / ${s}")
      math(EXPR total "(${out} - 1) * ${s} + ${ek${axis}} - ${${axis}}")
      if (total LESS 0)
        set(total 0)
      endif ()
      math(EXPR before "${total} / 2")
      math(EXPR after "${total} - ${before}")
      list(APPEND pads ${before} ${after})
    endforeach ()
    list(JOIN pads "." p)
  elseif (padding STREQUAL "VALID")
    if (h LESS ekh OR w LESS ekw)
      message(FATAL_ERROR "[shapes] ${file}:${lineno} (${name}): VALID output is empty (the dilated kernel is larger than the input)")
    endif ()
    set(p "0.0.0.0")
  else ()
    message(FATAL_ERROR "[shapes] ${file}:${lineno} (${name}): padding '${padding}' is not SAME or VALID")
  endif ()
  set(${OUT} "n${n}_h${h}_w${w}_c${c}_m${m}_k${kh}x${kw}_s${s}x${s}_d${d}x${d}_p${p}" PARENT_SCOPE)
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
    file(STRINGS "${file}" lines)
    set(lineno 0)
    set(header FALSE)
    foreach (line IN LISTS lines)
      math(EXPR lineno "${lineno} + 1")
      string(STRIP "${line}" line)
      if (line STREQUAL "" OR line MATCHES "^#")
        continue()
      endif ()
      if (NOT header)
        if (NOT line MATCHES "^name,N,H,W,C,M,KH,KW,stride,dilation,padding")
          message(FATAL_ERROR "[shapes] ${file}:${lineno}: expected the header name,N,H,W,C,M,KH,KW,stride,dilation,padding")
        endif ()
        set(header TRUE)
        continue()
      endif ()
      dwconv_shape_row_key(key "${file}" ${lineno} "${line}")
      if (key IN_LIST have)
        continue()
      endif ()
      list(APPEND have ${key})
      dwconv_add_workload_kernel(${key} FAMILY ${S_FAMILY} TARGETS ${S_TARGETS})
      math(EXPR added "${added} + 1")
    endforeach ()
  endforeach ()
  message(STATUS "[shapes] ${added} fixed-shape ${S_FAMILY} kernels (heuristic schedule) from ${S_SHAPES}")
endfunction()
