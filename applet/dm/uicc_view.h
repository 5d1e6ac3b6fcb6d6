// A UICC view of the card (ETSI TS 102 221, 3GPP TS 31.102): what a handset reads from a UICC
// before anything else — EF_ICCID in the MF, and the USIM application with EF_IMSI — added to
// the file-system applet of a card whose profile asks for it ("uicc", profiles/README.md). The
// applet then answers TS 102 221 FCPs (fs/fcp.h, FcpStyle::kUicc). docs/uicc-view.md.
//
//   3F00 MF
//   ├── 2F00 EF.DIR     record 4: UsimDirRecord() (the card builder merges it)
//   ├── 2FE2 EF_ICCID   transparent, 10 bytes, SFI 02 (TS 102 221 §13.2); read: always,
//   │                   update: never; stored, written when the card is made
//   └── 7FF0 ADF.USIM   DF name UsimAid() (TS 31.102 §4, TS 101 220 annex E)
//       └── 6F07 EF_IMSI  transparent, 9 bytes, SFI 07 (TS 31.102 §4.2.2); generated: the DM
//                         applet's record dm/imsi, the card's one copy of the IMSI (dm/imsi.h),
//                         all FF while the card has none; read: as given (PIN 01 on a card with
//                         a user PIN), update: the issuer (through personalization: the EF is a
//                         view, UPDATE BINARY answers 6981 as for every generated EF)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fs/file_system.h"
#include "runtime/bytes.h"

namespace dmcard::dm {

inline constexpr uint16_t kEfIccid = 0x2FE2;
inline constexpr uint8_t kEfIccidSfi = 0x02;
inline constexpr uint16_t kEfIccidSize = 10;
inline constexpr uint16_t kAdfUsim = 0x7FF0;
inline constexpr uint16_t kEfImsi = 0x6F07;
inline constexpr uint8_t kEfImsiSfi = 0x07;
// ITU-T E.118: an ICCID is 19 or 20 digits ending in a Luhn check digit, beginning with 89
// (major industry identifier: telecommunications).
inline constexpr size_t kIccidMinDigits = 19;
inline constexpr size_t kIccidMaxDigits = 20;

// The USIM's AID: RID A000000087 (3GPP), application code 1002 (USIM), country FF49, provider
// FF05, then 89 — the 12-byte AID of the SIMalliance/GSMA interoperable profiles' EF.DIR.
Bytes UsimAid();
// The USIM's EF.DIR record: 61 14 4F 0C <UsimAid()> 50 04 "USIM" (unpadded).
Bytes UsimDirRecord();

// ISO/IEC 7812-1 annex B (Luhn) check digit of `digits` (decimal digits only).
char LuhnCheckDigit(std::string_view digits);
// Empty when `iccid` is an ICCID as above; else what is wrong with it.
std::string CheckIccid(std::string_view iccid);
// The ICCID of a profile that names none: 89, country code 999 (reserved in ITU-T E.164: never
// a real issuer), the last 14 digits of `imsi` (zeros in front when it is shorter, all zeros
// when empty), and the check digit: 20 digits.
std::string DefaultIccid(std::string_view imsi);
// EF_ICCID (TS 102 221 §13.2): the digits as BCD, low nibble first, F after the last; 10 bytes.
// nullopt when CheckIccid() refuses `iccid`.
std::optional<Bytes> EfIccidFromDigits(std::string_view iccid);

// EF_ICCID holding `content` (10 bytes).
fs::FileSpec EfIccid(Bytes content);
// ADF.USIM with EF_IMSI reading the record `imsi_key` ("dm/imsi") through the file-system
// applet's store view (its read grant on the DM applet's records); `imsi_read` is who may read.
fs::FileSpec UsimAdf(std::string imsi_key, fs::AccessCondition imsi_read);

}  // namespace dmcard::dm
