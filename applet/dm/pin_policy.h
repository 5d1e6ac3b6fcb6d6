// The DM applet's PIN policies, in one place: the applet creates its PINs with them and profile
// validation (cards/profile.cc) checks a profile's PIN values against them, so a profile the
// validator accepts always installs (issue 7 item 10b: the PUK length had two homes).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "runtime/pin.h"

namespace dmcard::dm {

// A named PIN policy: the runtime's length and retry limits, plus what the characters may be.
struct DmPinPolicy {
  const char* name;  // for messages: "user PIN"
  PinPolicy limits;  // retry counter, min/max length (ISO 7816-4 §11.5.6–§11.5.10 blocks)
  bool digits_only;  // ASCII '0'..'9' only (entered on a handset keypad)
};

// User PIN (reference 01): 4 to 8 digits, 3 tries (the usual handset PIN).
inline constexpr DmPinPolicy kUserPinPolicy{"user PIN", PinPolicy{3, 4, 8}, true};
// Its PUK (reference 81): exactly 8 digits, 10 tries, as the UNBLOCK PIN of a UICC (ETSI TS
// 102 221). RESET RETRY COUNTER carries it as an 8-byte block before the new PIN.
inline constexpr DmPinPolicy kUserPukPolicy{"user PUK", PinPolicy{10, 8, 8}, true};

// "" when `value` satisfies `policy`, else what it must be, e.g. "must be 4 to 8 digits",
// "must be 8 digits", "must be 4 to 16 characters".
std::string CheckPinValue(const DmPinPolicy& policy, std::string_view value);

}  // namespace dmcard::dm
