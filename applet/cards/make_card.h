// Cards built from a profile: what `dmcard`, `dmcard-vicc` and the tests start (the host reads
// the profile and provides the platform: host/demo_card.h, host/platform.h).
//
// A card carries two applets:
//  - the ISO 7816-4 file-system applet (default applet, AID F0444D434152444653): the MF with the
//    demo files, EF.DIR listing the PKCS#15 application, the demo DF and the DM applet, and the
//    PKCS#15 application
//    (DF 5015, DF name A000000063504B43532D3135) whose EF(DM_Bootstrap) is generated from the
//    DM tree at every read (docs/pkcs15-view.md);
//  - the OMA DM applet (AID F0444D434152442D444D, "F0 DMCARD-DM"): the management tree, its
//    descriptor, ACLs and PINs (apdu-specs/dm.json).
#pragma once

#include <memory>
#include <string>

#include "cards/card_profile.h"
#include "runtime/card.h"

namespace dmcard {

// Sets the fields of `config` the profile specifies (capacity, protocol, ATR); others stay.
void ApplyProfile(const Profile& profile, CardConfig& config);

// The configuration of a card made from `profile`: default ATR (T=1, extended length) unless
// the profile says otherwise, the file-system applet selected after reset.
CardConfig CardConfigFor(const Profile& profile);

// Installs the applets of `profile` on a card over `platform`. On failure returns null and
// says why in `error`.
std::unique_ptr<Card> MakeCard(const Profile& profile, const CardConfig& config, Platform platform,
                               std::string& error);

}  // namespace dmcard
