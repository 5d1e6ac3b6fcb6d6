// The DM applet's PIN policies; see pin_policy.h.
#include "dm/pin_policy.h"

namespace dmcard::dm {

std::string CheckPinValue(const DmPinPolicy& policy, std::string_view value) {
  bool ok = value.size() >= policy.limits.min_length && value.size() <= policy.limits.max_length;
  for (char c : value) {
    // Digits for keypad PINs; otherwise printable ASCII, so that no byte is taken for the FF
    // padding of ISO 7816-4 PIN blocks and length in bytes is length in characters.
    ok = ok && (policy.digits_only ? c >= '0' && c <= '9' : c >= 0x20 && c <= 0x7E);
  }
  if (ok) return {};
  const std::string min = std::to_string(policy.limits.min_length);
  const std::string max = std::to_string(policy.limits.max_length);
  const std::string length = min == max ? min : min + " to " + max;
  return "must be " + length + (policy.digits_only ? " digits" : " characters (printable ASCII)");
}

}  // namespace dmcard::dm
