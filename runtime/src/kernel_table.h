// The table of generated kernels (built from the build's kernel list) and the selection rule.
// Nothing outside this table names a kernel or an ISA.
#pragma once

#include <string>

#include "dwconv/dwconv.h"
#include "dwconv/kernel_registry.h"

namespace dwconv {
namespace detail {

// An entry of the table: libdwconv's own kernels, then those a program's build registered
// (dwconv/kernel_registry.h).
using KernelInfo = GeneratedKernel;

// General (workload ""), fixed-shape (a workload, heuristic schedule "") or tuned.
KernelKind kernel_kind(const KernelInfo &k);
// The number of entries. The first call freezes the table: register_kernels refuses from then on.
int kernel_count();
// The entry at `index` (< kernel_count()); its reference stays valid.
const KernelInfo &kernel(int index);
// libdwconv's own entries, read without freezing the table (registration code picks from them).
int builtin_kernel_count();
const KernelInfo &builtin_kernel(int index);
// Index of the kernel that serves `problem` best, with the reason; -1 if none can.
// A tuned kernel for exactly this workload wins unless general_only.
int select_kernel(const Problem &problem, std::string *reason, bool general_only = false);
// Whether kernel k can compute `problem` (kernel size and multiplier).
bool kernel_serves(const KernelInfo &k, const Problem &problem);
// Index of the kernel with this name, or -1.
int find_kernel(const std::string &name);

}  // namespace detail
}  // namespace dwconv
