#include "kernel_table.h"

#include <atomic>
#include <cstring>
#include <mutex>
#include <vector>

#include "dwconv_kernel_table.inc"
#include "isa_params.h"
#include "problem_check.h"

namespace dwconv {
namespace detail {
namespace {

#define DWCONV_KERNEL(name, family, kw, kh, m, schedule, workload) \
  {#name, family, kw, kh, m, schedule, workload, name},
const KernelInfo kKernels[] = {DWCONV_KERNEL_LIST};
#undef DWCONV_KERNEL
constexpr int kBuiltinCount = static_cast<int>(sizeof(kKernels) / sizeof(kKernels[0]));

// Kernels registered by the program's build, after libdwconv's own (indices from kBuiltinCount
// on). The first lookup freezes the list: from then on it never changes, so lookups (one per
// Plan::run) read it without a lock, and indices and references that plans hold stay valid.
std::mutex registry_mutex;
std::atomic<bool> registry_frozen{false};
std::vector<KernelInfo> &registered() {
  static std::vector<KernelInfo> kernels;
  return kernels;
}

void freeze_registry() {
  if (registry_frozen.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(registry_mutex);
  registry_frozen.store(true, std::memory_order_release);
}

bool is_registered(int index) { return index >= kBuiltinCount; }

// Why entry k cannot join the table, or "" if it can.
std::string registration_problem(const KernelInfo &k) {
  if (!k.name || !k.family || !k.schedule || !k.workload || !k.fn) return "a null name, string or entry point";
  if (std::strcmp(k.family, kKernels[0].family) != 0)
    return std::string("family '") + k.family + "', but this libdwconv runs '" + kKernels[0].family + "' kernels";
  Problem p;
  if (!problem_from_workload_key(k.workload, &p))
    return std::string("workload '") + k.workload + "' is not a workload key (a general kernel cannot be registered)";
  if (k.kernel_w != p.filter.kw || k.kernel_h != p.filter.kh || k.multiplier != p.filter.m)
    return "kernel size " + std::to_string(k.kernel_h) + "x" + std::to_string(k.kernel_w) + " and M " +
           std::to_string(k.multiplier) + " do not match its workload " + k.workload;
  return "";
}

// How well a kernel fits, higher is better; -1 when it cannot serve the problem.
// Specialized kernels (fixed size: taps unrolled; M == 1: no channel gather) win.
int fit(const KernelInfo &k, const Problem &p) {
  if (!kernel_serves(k, p)) return -1;
  return (k.kernel_w != 0 ? 2 : 0) + (k.multiplier != 0 ? 1 : 0);
}

// What the variant of a tuned kernel that this CPU runs was generated with (isa_params.h).
std::string tuned_variant(const KernelInfo &k) {
  if (std::strcmp(k.family, "x86") != 0) return std::string("(") + k.schedule + ")";
  const std::string level = isa_name(active_isa());
  std::string from;
  const std::string params = params_for_level(k.schedule, level, &from);
  if (params.empty())
    return "this CPU runs its " + level + " variant, which has no tuning entry: heuristic schedule for " + level +
           " at the workload's shape (tuned for " + levels_in(k.schedule) + "; tune on this machine: scripts/run)";
  if (from != level)
    return "this CPU runs its " + level + " variant, with the parameters tuned on " + from +
           " (same vector width) (" + params + ")";
  return level + " variant (" + params + ")";
}

// What a fixed-shape kernel runs: the heuristic default of this CPU's variant at its shape.
std::string fixed_shape_variant(const KernelInfo &k) {
  const std::string variant =
      std::strcmp(k.family, "x86") == 0 ? "this CPU runs its " + std::string(isa_name(active_isa())) + " variant, " : "";
  return variant + "heuristic schedule at the workload's shape (tuning it may gain more: scripts/run)";
}

}  // namespace

KernelKind kernel_kind(const KernelInfo &k) {
  if (k.workload[0] == '\0') return KernelKind::kGeneral;
  return k.schedule[0] == '\0' ? KernelKind::kFixedShape : KernelKind::kTuned;
}

bool kernel_serves(const KernelInfo &k, const Problem &p) {
  // A tuned kernel is generated for dense tensors (constant strides); slices of larger tensors
  // go to the general kernels.
  if (k.workload[0] != '\0' && (workload_key(p) != k.workload || !is_dense(p))) return false;
  if (k.kernel_w != 0 && (k.kernel_w != p.filter.kw || k.kernel_h != p.filter.kh)) return false;
  return k.multiplier == 0 || k.multiplier == p.filter.m;
}

int kernel_count() {
  freeze_registry();
  return kBuiltinCount + static_cast<int>(registered().size());
}

// Indices come from kernel_count()'s range, so the list is frozen here.
const KernelInfo &kernel(int index) {
  return is_registered(index) ? registered()[index - kBuiltinCount] : kKernels[index];
}

int builtin_kernel_count() { return kBuiltinCount; }

const KernelInfo &builtin_kernel(int index) { return kKernels[index]; }

int find_kernel(const std::string &name) {
  for (int i = 0; i < kernel_count(); i++)
    if (name == kernel(i).name) return i;
  return -1;
}

int select_kernel(const Problem &p, std::string *reason, bool general_only) {
  const std::string key = workload_key(p);
  bool tuned_but_strided = false;
  // Registered kernels come last and win: the program's build asked for them.
  for (int i = kernel_count() - 1; i >= 0 && !general_only; i--) {
    const KernelInfo &k = kernel(i);
    if (key != k.workload) continue;  // general kernels have workload ""
    if (kernel_serves(k, p)) {
      const std::string from = is_registered(i) ? " (generated in this program's build)" : " (DWCONV_SHAPES)";
      if (reason && kernel_kind(k) == KernelKind::kFixedShape)
        *reason = "fixed-shape kernel for workload " + key + from + ": " + fixed_shape_variant(k);
      else if (reason)
        *reason = "tuned for workload " + key + (is_registered(i) ? from : "") + ": " + tuned_variant(k);
      return i;
    }
    tuned_but_strided = true;  // the key matches, so only the layout can refuse it
  }
  int best = -1, best_fit = -1;
  for (int i = 0; i < kBuiltinCount; i++) {  // registered kernels are per-workload
    if (kKernels[i].workload[0] != '\0') continue;
    int f = fit(kKernels[i], p);
    if (f > best_fit) best = i, best_fit = f;
  }
  if (reason && best >= 0) {
    const KernelInfo &k = kKernels[best];
    *reason = std::string(k.kernel_w ? "fixed " + std::to_string(k.kernel_h) + "x" +
                                           std::to_string(k.kernel_w) + " kernel (taps unrolled)"
                                     : "any kernel size") +
              (k.multiplier ? ", M == " + std::to_string(k.multiplier) + " (channel map known at compile time)"
                            : std::string(", any M (channel map from a table)")) +
              ", heuristic schedule" + (k.schedule[0] ? std::string(" ") + k.schedule : "") +
              (general_only         ? ""
               : tuned_but_strided ? "; the kernel generated for " + key + " needs dense tensors, these are strided"
                                   : "; no kernel for workload " + key +
                                         ": list its shape in DWCONV_SHAPES for a fixed-shape kernel, faster on most "
                                         "shapes (README: make your shapes fast)");
  }
  return best;
}

}  // namespace detail

Status register_kernels(const GeneratedKernel *kernels, int count) {
  if (count < 0 || (count > 0 && !kernels))
    return Status(StatusCode::kInvalidArgument, "register_kernels: null list or negative count");
  for (int i = 0; i < count; i++) {
    const std::string problem = detail::registration_problem(kernels[i]);
    if (!problem.empty())
      return Status(StatusCode::kInvalidArgument,
                           "register_kernels: entry " + std::to_string(i) +
                               (kernels[i].name ? std::string(" (") + kernels[i].name + ")" : std::string()) + ": " +
                               problem + "; no kernel of the list registered");
  }
  std::lock_guard<std::mutex> lock(detail::registry_mutex);
  if (detail::registry_frozen.load(std::memory_order_relaxed))
    return Status(StatusCode::kInvalidArgument,
                  "register_kernels: the kernel table is in use (a plan was created or the kernels listed): "
                  "register before the first plan, as dwconv_add_kernels' generated source does during static "
                  "initialization; no kernel of the list registered");
  detail::registered().insert(detail::registered().end(), kernels, kernels + count);
  return Status::Ok();
}

}  // namespace dwconv
