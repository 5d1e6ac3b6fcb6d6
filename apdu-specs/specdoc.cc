// dmcard-specdoc: writes the human reference (apdu-specs/reference/*.md) from the
// machine-readable one (apdu-specs/*.json), host/apdu_reference.h. Run by `ninja
// apdu-reference`.
// Usage: dmcard-specdoc SPEC_DIR OUT_DIR      (writes the pages that differ)
//        dmcard-specdoc --check SPEC_DIR OUT_DIR  (exit 1 when a page is missing or differs)
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "host/apdu_reference.h"
#include "host/apdu_spec.h"

namespace {

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  const bool check = argc == 4 && std::strcmp(argv[1], "--check") == 0;
  if (argc != 3 && !check) {
    std::fprintf(stderr, "usage: dmcard-specdoc [--check] SPEC_DIR OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path spec_dir = argv[check ? 2 : 1], out_dir = argv[check ? 3 : 2];
  dmcard::ApduSpecSet specs;
  std::string error;
  if (!dmcard::LoadApduSpecs(spec_dir, specs, error)) {
    std::fprintf(stderr, "dmcard-specdoc: %s\n", error.c_str());
    return 1;
  }
  std::error_code ec;
  if (!check) std::filesystem::create_directories(out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "dmcard-specdoc: cannot create %s: %s\n", out_dir.c_str(),
                 ec.message().c_str());
    return 1;
  }
  int stale = 0;
  for (const dmcard::ReferencePage& page : dmcard::ApduReferencePages(specs)) {
    const std::filesystem::path path = out_dir / page.file;
    if (std::filesystem::exists(path) && ReadAll(path) == page.text) continue;
    if (check) {
      std::fprintf(stderr, "dmcard-specdoc: %s is out of date\n", path.c_str());
      ++stale;
      continue;
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << page.text;
    out.close();
    if (!out) {
      std::fprintf(stderr, "dmcard-specdoc: cannot write %s\n", path.c_str());
      return 1;
    }
    std::printf("wrote %s\n", path.c_str());
  }
  return stale == 0 ? 0 : 1;
}
