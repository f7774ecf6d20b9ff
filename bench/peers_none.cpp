// Stand-ins for peers that this build does not have (CMake printed [SKIP] for them).
#include "impl.h"

namespace dwconv_bench {
#ifndef DWCONV_HAVE_ONEDNN
std::unique_ptr<Impl> make_onednn() { return nullptr; }
#endif
#ifndef DWCONV_HAVE_XNNPACK
std::unique_ptr<Impl> make_xnnpack() { return nullptr; }
#endif
}  // namespace dwconv_bench
