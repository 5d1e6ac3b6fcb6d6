// The DM applet's persistent records, each declared once, here, with its format and version
// (docs/card-image-format.md lists every owner's). Names are absolute; the applet's namespace
// (Applet::store_namespace) is kNamespace. The tree's records are written by MoTree under the
// prefix the applet gives it (kNamespace): node records "n/<URI>" and the generation "gen", in
// the node codec of dm/mo_tree.cc.
#pragma once

#include <cstdint>
#include <string_view>

namespace dmcard::dm::records {

struct Declaration {
  std::string_view name;  // the record's name, or, for a family, the prefix of its names
  bool family;            // every name beginning with `name`
  uint8_t version;        // format version in the record's first byte; 0: none (a fixed layout)
  std::string_view format;
  bool legacy;  // written by earlier versions only: migrated and erased at start-up
};

inline constexpr std::string_view kNamespace = "dm/";

inline constexpr Declaration kNode{"dm/n/", true, 1, "one tree node (dm/mo_tree.cc)", false};
inline constexpr Declaration kGeneration{"dm/gen", false, 0, "tree generation, u32 big-endian",
                                         false};
inline constexpr Declaration kFlags{
    "dm/flags", false, 0, "bootstrap flags, 1 byte (02 user confirmation, 04 autoconnect)", false};
inline constexpr Declaration kImsi{"dm/imsi", false, 0, "IMSI, EF_IMSI form, 9 bytes (dm/imsi.h)",
                                   false};
// Before the user PIN became the card's global PIN 01 (card/pin/01, card/puk/01).
inline constexpr Declaration kOldUserPin{"dm/pin/user", false, 1, "PIN record (runtime/pin.cc)",
                                         true};
inline constexpr Declaration kOldUserPuk{"dm/pin/puk", false, 1, "PIN record (runtime/pin.cc)",
                                         true};
// The development issuer PIN (reference 8F) of cards made before issuer personalization over
// SCP03.
inline constexpr Declaration kOldDevIssuerPin{"dm/pin/dev-issuer", false, 1,
                                              "PIN record (runtime/pin.cc)", true};

inline constexpr Declaration kAll[] = {kNode,       kGeneration, kFlags,          kImsi,
                                       kOldUserPin, kOldUserPuk, kOldDevIssuerPin};

// The declaration that covers record `name`; null when none does.
inline const Declaration* Find(std::string_view name) {
  for (const Declaration& d : kAll) {
    if (d.family ? name.substr(0, d.name.size()) == d.name && name.size() > d.name.size()
                 : name == d.name) {
      return &d;
    }
  }
  return nullptr;
}

}  // namespace dmcard::dm::records
