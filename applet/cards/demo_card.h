// The built-in demo card: what `dmcard demo`, `dmcard shell` and (later) `dmcard-vicc` start
// when no profile is given. Obviously-test values only.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "runtime/card.h"

namespace dmcard {

// The demo card's configuration: default ATR (T=1, extended length), 64 KiB, the demo file
// system applet selected after reset.
CardConfig DemoCardConfig();

// Builds and powers nothing: installs the demo applets on a card over `platform`. On failure
// returns null and says why in `error`.
std::unique_ptr<Card> MakeDemoCard(const CardConfig& config, Platform platform, std::string& error);

// Platform over a state directory (created if missing; FileMedium with fsync) or, when `dir`
// is empty, over RAM. Null with `error` set when the directory cannot be used.
std::optional<Platform> MakePlatform(const std::filesystem::path& dir, std::string& error);

}  // namespace dmcard
