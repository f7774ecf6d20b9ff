// Fuzzes the tuning database's loader (what dwconv tune --resume, db check, db merge and db
// distill read): any bytes either load, with every record passing validate_record() and
// distill() and prune() taking the records, or are refused with a message that names the file;
// never a crash, a hang or an uncaught exception.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "db.h"

namespace {

std::string scratch_file() {
  char path[] = "/tmp/dwconv_fuzz_db_XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) std::abort();
  ::close(fd);
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace dwconv_tuner;
  static const std::string path = scratch_file();
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0) std::abort();
  Db db;
  std::string error;
  if (!Db::load(path, &db, &error, /*allow_missing=*/false)) {
    if (error.rfind(path, 0) != 0) {
      std::fprintf(stderr, "fuzz_db: an error that does not name the file: %s\n", error.c_str());
      std::abort();
    }
    return 0;
  }
  for (const json &r : db.records()) {
    const std::string why = validate_record(r);
    if (!why.empty()) {
      std::fprintf(stderr, "fuzz_db: a loaded record fails validate_record: %s\n", why.c_str());
      std::abort();
    }
  }
  distill(db.records());
  prune(db.records());
  return 0;
}
