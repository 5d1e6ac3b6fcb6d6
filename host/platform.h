// The platform a host gives a card: its persistent memory in a state directory (or RAM) and a
// random generator seeded from the operating system.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "runtime/card.h"

namespace dmcard {

// Platform over a state directory (created if missing; FileMedium with fsync, holding the
// directory's lock for the platform's life) or, when `dir` is empty, over RAM. Null with `error`
// set when the directory cannot be used: not writable, in use by another process, or a folder
// of slot folders rather than one card's directory.
std::optional<Platform> MakePlatform(const std::filesystem::path& dir, std::string& error);

}  // namespace dmcard
