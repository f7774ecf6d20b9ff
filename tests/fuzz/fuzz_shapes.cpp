// Fuzzes the shapes-CSV parser: any text is either shapes that validate() accepts or an
// exception naming the source; never a crash or a problem the kernels cannot take.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>

#include "shapes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::istringstream text(std::string(reinterpret_cast<const char *>(data), size));
  try {
    for (const auto &s : dwconv_bench::parse_shapes(text, "fuzz.csv")) {
      if (!dwconv::validate(s.problem).ok()) {
        std::fprintf(stderr, "fuzz_shapes: shape '%s' parsed but does not validate\n", s.name.c_str());
        std::abort();
      }
    }
  } catch (const std::runtime_error &e) {
    if (std::string(e.what()).rfind("fuzz.csv", 0) != 0) {
      std::fprintf(stderr, "fuzz_shapes: an error that does not name the file: %s\n", e.what());
      std::abort();
    }
  }
  return 0;
}
