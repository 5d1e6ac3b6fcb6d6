// Verification of a network-sent DM bootstrap on the card (the change request UC-CR; DEV3, SC8,
// USA1, USA3): the device passes the bootstrap message exactly as received, the security method
// and the MAC or signature; the card says whether the message is authentic and what the device
// must do with it (ask the user first, connect on its own). See apdu-specs/dm.json, "VERIFY
// BOOTSTRAP", and docs/bootstrap.md.
//
// Methods (the first four with the WSP SEC codes of OMA Provisioning Bootstrap, which handsets
// use for DM bootstrap too; reference-facts.md §2):
//   00 NETWPIN      HMAC-SHA1(key = the card's IMSI in EF_IMSI semi-octets without the length
//                   byte, body), sent as 40 hex characters (compared case-insensitively)
//   01 USERPIN      key = the PIN the user typed (ASCII)
//   02 USERNETWPIN  key = the NETWPIN key followed by the typed PIN
//   03 USERPINMAC   the user types 2n digits (n >= 5): the first n are the key; valid when digit
//                   n+i equals HMAC[i] mod 10 for every i < n (no MAC is sent)
//   10 HMAC-SHA256  with an operator key of the key store (usage bootstrap verification, an HMAC
//                   secret), 32 bytes, over [sequence number (4)] || body
//   11 ECDSA P-256  with the operator's public key of the key store (usage bootstrap
//                   verification), SHA-256, raw r || s (64 bytes), over [sequence number] || body
// Every comparison is constant-time. A sequence number (operator methods only) must be higher
// than the last one the card accepted; an accepted verification uses it up, so a message with a
// sequence number verifies once.
//
// Failures are counted durably before the proof is checked (as a PIN's tries): at the limit the
// card refuses every verification (locked out) until the issuer resets it (personalization DGI
// 0104). Each refusal is kept in the event log although the command is refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "runtime/bytes.h"

namespace dmcard::dm {

enum class BootstrapMethod : uint8_t {
  kNetwPin = 0x00,
  kUserPin = 0x01,
  kUserNetwPin = 0x02,
  kUserPinMac = 0x03,
  kHmacSha256 = 0x10,
  kEcdsaP256 = 0x11,
};
bool KnownBootstrapMethod(uint8_t m);
bool OperatorMethod(BootstrapMethod m);

// Why a verification was refused: the reason byte of its event-log entry.
enum class BootstrapRefusal : uint8_t {
  kWrongMac = 0x01,   // the MAC, the signature or the typed digits do not verify
  kReplayed = 0x02,   // the sequence number is not higher than the last accepted
  kLockedOut = 0x03,  // the failure limit is reached
  kNoKey = 0x04,      // no IMSI, no operator key of that KVN and type
};

// The verification state the card keeps (record dm/bootstrap, dm/records.h): failures in a row,
// their limit, and the highest sequence number accepted.
struct BootstrapState {
  static constexpr uint8_t kDefaultFailureLimit = 10;
  uint8_t failures = 0;
  uint8_t limit = kDefaultFailureLimit;
  std::optional<uint32_t> last_sequence;

  bool locked_out() const { return failures >= limit; }
  Bytes Encode() const;
  static std::optional<BootstrapState> Decode(ByteView record);
};

// The MAC a USERPINMAC check derives its digits from, and the NETWPIN key of an EF_IMSI
// (dm/imsi.h): the used semi-octet bytes without the length byte.
std::optional<Bytes> NetwPinKey(ByteView ef_imsi);

}  // namespace dmcard::dm
