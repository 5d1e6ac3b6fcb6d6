// File control information returned by SELECT (ISO 7816-4 §7.4.3).
//
// FCP template '62' (table 12), objects in this order:
//   80  EFs only: number of data bytes (2 bytes, more if needed): the transparent size, or
//       records × record size
//   82  file descriptor: DF '38'; transparent EF '01'; linear-fixed EF
//       '02' || data coding byte '21' || record size (2 bytes) || number of records (1 byte,
//       2 bytes above 255) — the 5-/6-byte forms of table 12
//   83  file identifier (2 bytes)
//   84  DF name, when the DF has one
//   88  EFs only: short EF identifier (b8-b4, b3-b1 = 000), or empty when the EF has none
//   8A  life cycle status '05' (operational state, activated)
// FCI template '6F' carries the same objects. FMD template '64' is answered empty ('64 00').
#pragma once

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

// Appends a BER-TLV with a one-byte tag and a definite length (short or 81/82/83 form).

// The control parameter objects of `info`, without a template.
Bytes FcpObjects(const FileInfo& info);
// The answer to SELECT for `answer`; empty for kNone.
Bytes EncodeSelectAnswer(const FileInfo& info, SelectAnswer answer);

}  // namespace dmcard::fs
