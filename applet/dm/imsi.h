// The IMSI the card holds (set at personalization), in the form of the SIM's EF_IMSI (3GPP TS
// 31.102 §4.2.2, TS 51.011 §10.3.2), 9 bytes: a length byte (the bytes of the 8 that the IMSI
// uses), then the digits as semi-octets, low nibble first: a parity nibble (9: odd number of
// digits, 1: even) before the first digit, an F filler after the last when needed, FF in the
// bytes it does not use. 123456789012345 → 08 19 32 54 76 98 10 32 54. This is the card's one copy:
// the NETWPIN bootstrap key is this form without its length byte (OMA Provisioning Bootstrap;
// reference-facts.md §2), and a UICC view's EF_IMSI serves it as it is.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runtime/bytes.h"

namespace dmcard::dm {

inline constexpr size_t kImsiMinDigits = 6;  // MCC + MNC
inline constexpr size_t kImsiMaxDigits = 15;
inline constexpr size_t kEfImsiSize = 9;

// EF_IMSI (9 bytes) of `digits` (6 to 15 decimal digits); nullopt for anything else.
std::optional<Bytes> EfImsiFromDigits(std::string_view digits);
// The quirk "imsi_even_length_left_padded" (profiles/README.md): EF_IMSI of an IMSI with an even
// number of digits as osmocom pySim's enc_imsi wrote it onto cards until its commit 0ec1475
// ("utils: fix encoding/decoding of IMSI value", 2018, SYS#3552): the parity nibble and the
// digits right-aligned in 16 nibbles with F fillers in front of them (none after the last
// digit), and a length byte of digits / 2, one short of the bytes used. 14 digits d1..d14 →
// 07 1F d2d1 d4d3 ... d14d13 (the fix's own words: "an IMSI of length 14 is 8 bytes long, not
// 7"). An odd number of digits is encoded as by EfImsiFromDigits(). Always 9 bytes.
std::optional<Bytes> EfImsiFromDigitsLeftPadded(std::string_view digits);
// The digits of a well-formed EF_IMSI (9 bytes, length byte 4 to 8, parity nibble 1 or 9, decimal
// digits, an F filler exactly where the parity needs one, FF after the used bytes); nullopt for
// anything else.
std::optional<std::string> DigitsOfEfImsi(ByteView ef);

}  // namespace dmcard::dm
