// Issuer personalization of the DM applet: STORE DATA (GlobalPlatform Card Specification 2.3
// §11.11) under a secure session whose principal is the issuer (an SCP03 session opened with the
// issuer's key set, gp/scp03_session.h). A sequence of blocks, P2 = 00, 01, ... on one logical
// channel, carries Data Grouping Identifiers (DGI: 2-byte tag, length in 1 byte or FF + 2 bytes,
// value). Nothing is written before the last block (P1 b8); the whole sequence is then applied
// in the command's transaction, so a card that loses power keeps everything it had before or
// has everything the sequence loads, never a part of it.
//
// The DGIs (the full reference with status words: apdu-specs/dm.json, "STORE DATA"):
//   0101  bootstrap flags: 1 byte, bits 02 user confirmation, 04 connect autonomously
//   0102  IMSI: EF_IMSI form, 2 to 9 bytes (dm/imsi.h)
//   0103  ACL of the tree's root (OMA DM ACL text)
//   0104  VERIFY BOOTSTRAP failure limit, 1 byte (1-255): sets it and clears the failures
//   0201  TNDS document (XML starting with '<', else WBXML) replacing the whole tree
//   0202  TNDS document merged into the tree
//   8201  as 0201, DEK-encrypted          8202  as 0202, DEK-encrypted
//   8301  user PIN (01), DEK-encrypted: 4 to 8 ASCII digits; its try counter restarts full
//   8302  user PUK (81), DEK-encrypted: 8 ASCII digits (needs a user PIN)
//   8401  SCP03 key set, DEK-encrypted: KVN (30-3F) | failed authentications before blocking
//         (1-255) | key length (16, 24, 32) | K-ENC | K-MAC | K-DEK | owner (the rest, 1 to 128
//         bytes: "@issuer" or a DM ServerID)
//   8402  one key, DEK-encrypted: KVN | key id | type | usage (runtime/key_store.h numbers) |
//         use limit (4 bytes, 0 none) | owner length | owner | key material (the rest)
// DGIs are applied in the order sent. A DGI whose tag has b16 set (8xxx) is encrypted with the
// session's data-encryption key (SecureSession::DecryptSensitiveData: for SCP03 AES-CBC, zero
// ICV, under the key set's static K-DEK), padded ISO/IEC 9797-1 method 2 (80 00..) to whole
// blocks, and every block carrying a part of it says so in P1 (b7-b6 = 11).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "dm/requests.h"
#include "runtime/bytes.h"
#include "runtime/sw.h"

namespace dmcard::dm {

inline constexpr uint16_t kDgiFlags = 0x0101;
inline constexpr uint16_t kDgiImsi = 0x0102;
inline constexpr uint16_t kDgiRootAcl = 0x0103;
inline constexpr uint16_t kDgiBootstrapPolicy = 0x0104;
inline constexpr uint16_t kDgiTreeReplace = 0x0201;
inline constexpr uint16_t kDgiTreeMerge = 0x0202;
inline constexpr uint16_t kDgiUserPin = 0x8301;
inline constexpr uint16_t kDgiUserPuk = 0x8302;
inline constexpr uint16_t kDgiScp03KeySet = 0x8401;
inline constexpr uint16_t kDgiKey = 0x8402;
inline constexpr uint16_t kDgiEncrypted = 0x8000;  // b16 of the tag

// One DGI of a complete sequence; `value` points into the sequence.
struct Dgi {
  uint16_t tag = 0;
  ByteView value;
};

// The blocks of one STORE DATA sequence on one logical channel, kept in RAM until the last one.
class StoreDataSequence {
 public:
  // Takes one block. kOk: taken (`complete()` once it was the last). Otherwise the sequence is
  // dropped and the block refused: 6985 a block out of order (not 00, and not the one after the
  // previous), 6A84 the sequence would exceed `limit` bytes or 256 blocks.
  Sw Take(const StoreDataRequest& req, size_t limit);
  bool complete() const { return complete_; }
  // The DGIs of a complete sequence. 6A80 when the bytes are not a series of whole DGIs, or an
  // encrypted DGI lies (partly) in a block not marked encrypted.
  Sw Split(std::vector<Dgi>& out) const;
  void Clear() { *this = StoreDataSequence(); }

 private:
  Bytes data_;
  std::vector<std::pair<size_t, bool>> blocks_;  // each block's start in data_ and its P1 mark
  bool complete_ = false;
};

// Removes ISO/IEC 9797-1 padding method 2 (80 then 00s, at least one byte); false when absent.
bool StripMethod2Padding(Bytes& data);

}  // namespace dmcard::dm
