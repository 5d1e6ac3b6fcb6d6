// File control information returned by SELECT, in one of two forms (FcpStyle).
//
// ISO 7816-4 (§7.4.3, table 12), FCP template '62' with these objects, in this order:
//   80  EFs only: number of data bytes (2 bytes, more if needed): the transparent size, or
//       records × record size
//   82  file descriptor: DF '38'; transparent EF '01'; linear-fixed EF
//       '02' || data coding byte '21' || record size (2 bytes) || number of records (1 byte,
//       2 bytes above 255) — the 5-/6-byte forms of table 12
//   83  file identifier (2 bytes)
//   84  DF name, when the DF has one
//   88  EFs only: short EF identifier (b8-b4, b3-b1 = 000), or empty when the EF has none
//   8A  life cycle status '05' (operational state, activated)
//   AB  security attributes, expanded format (below)
//
// ETSI TS 102 221 (§11.1.1.3; the UICC view, docs/uicc-view.md), objects in the order of its
// tables 11.3 (MF, DF, ADF) and 11.4 (EF):
//   MF/DF/ADF: 82 '78 21' (DF, shareable; data coding byte '21'), 83 FID, 84 DF name (an ADF's
//              AID) when it has one, A5 { 80 UICC characteristics '71' } for the MF only
//              (§11.1.1.4.6.1: clock stop allowed, supply voltage classes A, B and C), 8A '05',
//              AB, C6 PIN status template (§9.5.2: 90 PS_DO, a bit per key reference, b8 of
//              the first byte for the first, 1 = enabled; then 83 01 <key reference> for each)
//   EF:        82 '41 21' (transparent, shareable) or '42 21' || record size (2) || number of
//              records (1) (linear fixed, shareable), 83 FID, 8A '05', AB, 80 size (2 bytes),
//              88 SFI (empty: none; §11.1.1.4.8, an absent 88 would mean "the FID's low 5 bits")
//
// Security attributes, both forms: the expanded format (ISO 7816-4 §5.4.3.3; TS 102 221
// §11.1.1.4.7.2, same coding): pairs of an access mode DO '80 01 <AM byte>' and a security
// condition DO. AM byte bits (ISO 7816-4 tables 17, 18): EFs b1 READ BINARY/RECORD, b2 UPDATE
// BINARY/RECORD, b3 WRITE, b4 DEACTIVATE, b5 ACTIVATE, b6 TERMINATE EF, b7 DELETE FILE; DFs b1
// DELETE FILE (child), b2 CREATE FILE EF, b3 CREATE FILE DF, b4 DEACTIVATE, b5 ACTIVATE, b6
// TERMINATE DF, b7 DELETE FILE (self). Conditions from the file's AccessRules:
//   kAlways     90 00                      (always)
//   kNever      97 00                      (never)
//   kPin(r)     A4 06 83 01 r 95 01 08     (authentication template: key reference r, usage
//                                           qualifier 08 = user authentication, the PIN)
//   kPrincipal  A4 03 95 01 80             (authentication template, usage qualifier 80 =
//                                           external authentication: the SCP03 session whose key
//                                           set belongs to the principal, e.g. the issuer)
// EFs: b1 from `read`, b2 from `update`, b3-b7 never (this card has none of those commands);
// DFs: b1-b7 never (no file management commands). Bits with the same condition share one
// pair; pairs in the order of their lowest bit.
// FCI template '6F' carries the same objects. FMD template '64' is answered empty ('64 00').
#pragma once

#include <vector>

#include "fs/file_system.h"
#include "runtime/bytes.h"
#include "runtime/tlv.h"

namespace dmcard::fs {

// SELECT P2 b4-b3: what the card answers.
enum class SelectAnswer : uint8_t {
  kFci = 0x00,
  kFcp = 0x04,
  kFmd = 0x08,
  kNone = 0x0C,
};

// Data coding byte of record EFs (ISO 7816-4 table 87): write behaviour proprietary (this card
// has no WRITE commands; UPDATE replaces), no BER-TLV EFs, data unit 1 byte.
inline constexpr uint8_t kDataCodingByte = 0x21;
inline constexpr uint8_t kLcsOperationalActivated = 0x05;
// TS 102 221 §11.1.1.4.6.1 UICC characteristics of the MF: clock stop allowed (b1), supply
// voltage classes A, B, C (b5-b7).
inline constexpr uint8_t kUiccCharacteristics = 0x71;

enum class FcpStyle : uint8_t {
  kIso7816,  // ISO 7816-4 table 12
  kUicc,     // ETSI TS 102 221 §11.1.1.3
};

// A key reference listed in a UICC FCP's PIN status template (TS 102 221 §9.5.2).
struct PinStatus {
  uint8_t reference = 0x01;
  bool enabled = true;  // false: the PIN is disabled (its access conditions count as met)
};

// What shapes an applet's FCPs beyond the file itself.
struct FcpOptions {
  FcpStyle style = FcpStyle::kIso7816;
  std::vector<PinStatus> pins;  // kUicc: the PIN status template DO (C6) of every DF
};

// The value of the expanded security attributes DO (AB) of `info` (see above).
Bytes ExpandedSecurityAttributes(const FileInfo& info);
// The control parameter objects of `info`, without a template.
Bytes FcpObjects(const FileInfo& info, const FcpOptions& options = {});
// The answer to SELECT for `answer`; empty for kNone.
Bytes EncodeSelectAnswer(const FileInfo& info, SelectAnswer answer, const FcpOptions& options = {});

}  // namespace dmcard::fs
