// Configure-time helper of cmake/DwconvTuning.cmake: the fields of each workload a build
// generates a per-workload kernel for, from the runtime's own shape arithmetic, so that CMake
// neither re-derives the workload key nor TensorFlow's padding.
//
//   dwconv_workload_fields [--shapes CSV]... [--key KEY]... [--cpu]
//
// prints, in the order of the arguments, one line per shapes-CSV row (in file order) and per key:
//   KEY|KW|KH|M|SH|SW|DH|DW|N|H|W|C|OH|OW
// and for --cpu this machine's CPU as the tuning database records it (tuner/cpu_model.h).
// A bad row or key prints the reason to stderr (naming the file and line, or the key) and exits 1.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "cpu_model.h"
#include "dwconv/dwconv.h"
#include "shapes.h"

namespace {

void print_fields(const dwconv::Problem &p) {
  std::printf("%s|%lld|%lld|%lld|%d|%d|%d|%d|%lld|%lld|%lld|%lld|%lld|%lld\n", dwconv::workload_key(p).c_str(),
              (long long)p.filter.kw, (long long)p.filter.kh, (long long)p.filter.m, p.params.stride_h,
              p.params.stride_w, p.params.dilation_h, p.params.dilation_w, (long long)p.input.n,
              (long long)p.input.h, (long long)p.input.w, (long long)p.input.c, (long long)p.output.h,
              (long long)p.output.w);
}

// A key names a kernel only if it is one workload_key() spells and the kernels accept.
bool print_key(const std::string &key) {
  dwconv::Problem p;
  if (!dwconv::problem_from_workload_key(key, &p)) {
    std::fprintf(stderr, "'%s' is not a workload key (n<N>_h<H>_w<W>_c<C>_m<M>_k<KH>x<KW>_s<SH>x<SW>_d<DH>x<DW>"
                 "_p<top>.<bottom>.<left>.<right>, as dwconv info prints it)\n", key.c_str());
    return false;
  }
  const dwconv::Status s = dwconv::validate(p);
  if (!s.ok()) {
    std::fprintf(stderr, "workload %s: %s\n", key.c_str(), s.message().c_str());
    return false;
  }
  print_fields(p);
  return true;
}

}  // namespace

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--cpu") == 0) {
      std::printf("%s\n", dwconv_tuner::cpu_model().c_str());
      continue;
    }
    const bool shapes = std::strcmp(argv[i], "--shapes") == 0, key = std::strcmp(argv[i], "--key") == 0;
    if ((!shapes && !key) || i + 1 == argc) {
      std::fprintf(stderr, "usage: %s [--shapes CSV]... [--key KEY]... [--cpu]\n", argv[0]);
      return 2;
    }
    const std::string value = argv[++i];
    if (key) {
      if (!print_key(value)) return 1;
      continue;
    }
    try {
      for (const auto &s : dwconv_bench::load_shapes(value)) print_fields(s.problem);
    } catch (const std::exception &e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 1;
    }
  }
  return 0;
}
