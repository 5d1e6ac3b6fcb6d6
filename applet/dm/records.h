// The DM applet's persistent records (runtime/record_names.h), each declared once, here. The
// applet's namespace (Applet::store_namespace) is kNamespace. The tree's records are written by
// MoTree under the prefix the applet gives it (kNamespace): node records "n/<URI>" and the
// generation "gen", in the node codec of dm/mo_tree.cc (its kRecordVersion).
#pragma once

#include <string_view>

#include "runtime/record_names.h"

namespace dmcard::dm::records {

inline constexpr std::string_view kNamespace = "dm/";

inline constexpr RecordName kNode{"dm/n/**", 1, "one tree node (dm/mo_tree.cc)"};
inline constexpr RecordName kGeneration{"dm/gen", 0, "tree generation, u32 big-endian"};
inline constexpr RecordName kFlags{
    "dm/flags", 0, "bootstrap flags, 1 byte (02 user confirmation, 04 autoconnect)"};
inline constexpr RecordName kImsi{"dm/imsi", 0, "IMSI, EF_IMSI form, 9 bytes (dm/imsi.h)"};
inline constexpr RecordName kBootstrap{
    "dm/bootstrap", 1,
    "bootstrap verification: failures, their limit, last sequence (dm/bootstrap.h)"};
// Before the user PIN became the card's global PIN 01 (moved to card/pin/01, card/puk/01).
inline constexpr RecordName kOldUserPin{"dm/pin/user", 1, "PIN record (runtime/pin.h)", true};
inline constexpr RecordName kOldUserPuk{"dm/pin/puk", 1, "PIN record (runtime/pin.h)", true};
// The development issuer PIN (reference 8F) of cards made before issuer personalization over
// SCP03 (erased).
inline constexpr RecordName kOldDevIssuerPin{"dm/pin/dev-issuer", 1, "PIN record (runtime/pin.h)",
                                             true};

inline constexpr RecordName kAll[] = {kNode,      kGeneration, kFlags,      kImsi,
                                      kBootstrap, kOldUserPin, kOldUserPuk, kOldDevIssuerPin};

}  // namespace dmcard::dm::records
