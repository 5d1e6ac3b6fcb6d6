// Profile files: a card profile (cards/card_profile.h) as a JSON file (format in
// profiles/README.md) naming the card, its optional transport settings, the DM bootstrap flags,
// the user PIN/PUK, the IMSI, the SCP03 key sets and the initial management tree as a TNDS XML
// file next to it. The demo profile (profiles/demo/) is built into the binary.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "cards/card_profile.h"

namespace dmcard {

// Reads a profile file; the tree file is read relative to the profile's directory. On failure
// returns nullopt and `error` names the file and the field at fault. Never throws.
std::optional<Profile> LoadProfile(const std::filesystem::path& file, std::string& error);

// The same from memory (the fuzz target fuzz/profile_json_fuzzer.cc): `json` is the profile's
// text, `label` names it in errors, `read_file` gives the content of a file the profile names
// ("tree"), or nullopt with its error. Never throws.
using ProfileFileReader =
    std::function<std::optional<std::string>(const std::string& name, std::string& error)>;
std::optional<Profile> ParseProfile(std::string_view json, const std::string& label,
                                    const ProfileFileReader& read_file, std::string& error);

// The built-in demo profile (profiles/demo/profile.json and tree.xml, embedded at build time;
// no file is read at run time).
Profile DemoProfile();

}  // namespace dmcard
