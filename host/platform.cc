#include "host/platform.h"

#include <memory>
#include <system_error>

#include "crypto/crypto.h"
#include "host/state_dir.h"
#include "runtime/storage_medium.h"

namespace dmcard {

std::optional<Platform> MakePlatform(const std::filesystem::path& dir, std::string& error) {
  Platform p;
  p.rng = crypto::Drbg::FromSystem();
  if (!p.rng) {
    error = "cannot seed the random generator from the operating system";
    return std::nullopt;
  }
  if (dir.empty()) {
    p.medium = std::make_shared<RamMedium>();
    return p;
  }
  std::error_code ec;
  CreatePrivateDirectories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) {
    error = "cannot use state directory '" + dir.string() +
            "': " + (ec ? ec.message() : "not a directory");
    return std::nullopt;
  }
  if (std::string why = CheckCardStateDir(dir); !why.empty()) {
    error = why;
    return std::nullopt;
  }
  auto medium = std::make_shared<FileMedium>(dir, /*sync=*/true);  // locks the directory
  if (!medium->open_error().empty()) {
    error = medium->open_error();
    return std::nullopt;
  }
  p.medium = std::move(medium);
  return p;
}

}  // namespace dmcard
