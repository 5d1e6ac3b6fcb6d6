// Cards built from a profile: what `dmcard`, `dmcard-vicc` and the tests start. The built-in
// demo profile (profiles/demo/) holds obviously-test values only.
//
// A card carries two applets:
//  - the ISO 7816-4 file-system applet (default applet, AID F0444D434152444653): the MF with the
//    demo files, EF.DIR listing the PKCS#15 application first, and the PKCS#15 application
//    (DF 5015, DF name A000000063504B43532D3135) whose EF(DM_Bootstrap) is generated from the
//    DM tree at every read (docs/pkcs15-view.md);
//  - the OMA DM applet (AID F0444D434152442D444D, "F0 DMCARD-DM"): the management tree, its
//    descriptor, ACLs and PINs (apdu-specs/dm.json).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cards/profile.h"
#include "runtime/card.h"

namespace dmcard {

// The configuration of a card made from `profile`: default ATR (T=1, extended length) unless
// the profile says otherwise, the file-system applet selected after reset.
CardConfig CardConfigFor(const Profile& profile);
CardConfig DemoCardConfig();

// Installs the applets of `profile` on a card over `platform`. On failure returns null and
// says why in `error`.
std::unique_ptr<Card> MakeCard(const Profile& profile, const CardConfig& config, Platform platform,
                               std::string& error);
// The same with the built-in demo profile.
std::unique_ptr<Card> MakeDemoCard(const CardConfig& config, Platform platform, std::string& error);

// Platform over a state directory (created if missing; FileMedium with fsync, holding the
// directory's lock for the platform's life) or, when `dir` is empty, over RAM. Null with `error`
// set when the directory cannot be used: not writable, in use by another process, or a folder
// of slot folders rather than one card's directory.
std::optional<Platform> MakePlatform(const std::filesystem::path& dir, std::string& error);

}  // namespace dmcard
