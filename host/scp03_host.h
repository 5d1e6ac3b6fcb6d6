// The host's side of GlobalPlatform SCP03 (Card Specification v2.3 Amendment D): an off-card
// entity (issuer, DM server, `dmcard personalize`) that opens a secure channel, wraps C-APDUs
// and unwraps R-APDUs. Built on OpenSSL 3 and written apart from the card's applet/gp/scp03.*,
// so that each checks the other; both are checked against published vectors (tests/data/gp/).
// Usable in-process against gp::Scp03Channel or a whole card, and through PC/SC.
//
// The one throwing class of the host library: a channel that fails (a wrong card cryptogram or
// R-MAC, OpenSSL failing, an APDU this class cannot wrap) is over, so every failure throws
// HostScp03Error (the host side's fatal error, STYLE.md) and the caller ends the session where
// it catches it. Nothing else is thrown.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "runtime/bytes.h"

namespace dmcard {

// Why the secure channel failed; the session cannot continue.
class HostScp03Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The static keys of one SCP03 key set (AES-128, -192 or -256).
struct HostScp03Keys {
  Bytes enc;  // K-ENC
  Bytes mac;  // K-MAC
  Bytes dek;  // K-DEK
};

// One secure channel session from the host's side.
class HostScp03 {
 public:
  // `s` is 8 (S8 mode) or 16 (S16 mode): challenge, cryptogram and MAC length.
  explicit HostScp03(HostScp03Keys keys, size_t s = 8);

  // ---- primitives, for known-answer tests ----
  // SCP03 KDF (Amendment D §4.1.5) with OpenSSL's AES-CMAC.
  static Bytes Kdf(ByteView key, uint8_t constant, size_t bits, ByteView context);
  static Bytes AesCmac(ByteView key, ByteView data);
  // Sensitive data for the card (keys, PINs: GP Card Specification 2.3 §11.11 STORE DATA, as
  // Amendment D encrypts PUT KEY data): ISO/IEC 9797-1 method 2 padding to whole blocks, then
  // AES-CBC with a zero ICV under the static K-DEK.
  static Bytes EncryptSensitiveData(ByteView dek, ByteView plain);

  // ---- opening the channel ----
  // INITIALIZE UPDATE (CLA '80' on `channel` 0-19, P1 = `kvn`, data = host challenge, Le '00').
  Bytes InitializeUpdate(uint8_t kvn, ByteView host_challenge, uint8_t channel = 0);
  // Reads the INITIALIZE UPDATE response data: derives the session keys and checks the card
  // cryptogram; with a pseudo-random card challenge ("i" b5) and a non-empty `sd_aid` also
  // checks the card challenge against the sequence counter. Throws on any mismatch.
  void ReadInitializeUpdateResponse(ByteView response, ByteView sd_aid = {});
  // EXTERNAL AUTHENTICATE asking for `level` (host cryptogram and C-MAC, never encrypted).
  Bytes ExternalAuthenticate(uint8_t level);

  // ---- the open channel ----
  // Wraps a plain C-APDU of any case (ISO/IEC 7816-3 §12.1.3), short or extended: sets the SM
  // indication in CLA (channel and chaining bits as given), encrypts the data under C-DECRYPTION,
  // appends the C-MAC. A short command whose wrapped data exceeds 255 bytes goes extended.
  Bytes Wrap(ByteView plain);
  // Unwraps the complete response data to the last wrapped command with its final status word:
  // checks and strips the R-MAC, decrypts under R-ENCRYPTION. Throws on a wrong R-MAC.
  Bytes Unwrap(ByteView response, uint16_t sw);

  // ---- for negative tests: a command whose data field the caller made ----
  // AES-CBC under S-ENC with the ICV of the next command's counter, no padding added.
  Bytes EncryptForNextCommand(ByteView blocks) const;
  // Wraps `header` (plain CLA INS P1 P2) with `wire_data` as the data field as it is (not
  // encrypted here): a short case 3 command with a valid C-MAC. Moves the counter like Wrap.
  Bytes WrapWithWireData(ByteView header, ByteView wire_data);

  uint8_t security_level() const { return level_; }
  uint8_t i() const { return i_; }
  uint32_t sequence_counter() const { return sequence_counter_; }
  uint64_t counter() const { return counter_; }
  const Bytes& card_challenge() const { return card_challenge_; }
  const Bytes& host_cryptogram() const { return host_cryptogram_; }
  const Bytes& s_enc() const { return s_enc_; }
  const Bytes& s_mac() const { return s_mac_; }
  const Bytes& s_rmac() const { return s_rmac_; }
  const Bytes& chaining_value() const { return chaining_; }

 private:
  // The C-MAC over `part` from the current chaining value; updates the chaining value.
  Bytes NextCMac(ByteView part);

  HostScp03Keys keys_;
  size_t s_;
  uint8_t channel_ = 0;
  Bytes host_challenge_;
  Bytes card_challenge_;
  Bytes host_cryptogram_;
  Bytes s_enc_, s_mac_, s_rmac_;
  Bytes chaining_;
  uint8_t i_ = 0;
  uint32_t sequence_counter_ = 0;
  uint8_t level_ = 0;
  uint64_t counter_ = 0;
};

}  // namespace dmcard
