#include "cards/demo_card.h"

#include <system_error>

#include "fs/demo_fs.h"

namespace dmcard {

CardConfig DemoCardConfig() {
  CardConfig config;
  config.default_applet = fs::demo::Aid();
  return config;
}

std::unique_ptr<Card> MakeDemoCard(const CardConfig& config, Platform platform,
                                   std::string& error) {
  auto card = std::make_unique<Card>(config, std::move(platform));
  if (!card->open_error().empty()) {
    error = "cannot open the card's persistent memory: " + card->open_error();
    return nullptr;
  }
  const Sw sw = card->Install(fs::MakeDemoFileSystemApplet());
  if (sw != Sw::kOk) {
    error = "installing the file system applet failed with status " +
            ToHex(Bytes{static_cast<uint8_t>(ToU16(sw) >> 8), static_cast<uint8_t>(ToU16(sw))});
    return nullptr;
  }
  return card;
}

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
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) {
    error = "cannot use state directory '" + dir.string() +
            "': " + (ec ? ec.message() : "not a directory");
    return std::nullopt;
  }
  p.medium = std::make_shared<FileMedium>(dir, /*sync=*/true);
  return p;
}

}  // namespace dmcard
