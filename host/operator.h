// The operator's side of the network-signed DM bootstrap (`dmcard operator keygen|bootstrap`):
// the operator's bootstrap keys, the OMA DM bootstrap message a network sends (SyncML DM 1.2 in
// WBXML with the TNDS embedded as WBXML, OMA-TS-DM_Bootstrap), its proof for each method the
// card verifies (docs/bootstrap.md) and the VERIFY BOOTSTRAP command data a device passes to the
// card (apdu-specs/dm.json). OpenSSL and libwbxml2 only: written apart from the card's
// applet/dm/bootstrap.*, so that each checks the other.
//
// Where the card gets the operator keys: profiles do not hold them (only SCP03 key sets), so the
// issuer loads them with personalization DGI 8402 ("any key", encrypted under its K-DEK;
// docs/personalization.md) — OperatorKeyDgis makes those DGIs for StoreDataCommands
// (host/personalization.h). The NETWPIN key comes from the card's IMSI (profile "imsi" or DGI
// 0102).
//
// Never throws: failures are nullopt or false with `error` set.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dm/bootstrap.h"
#include "host/openssl_util.h"
#include "host/personalization.h"
#include "runtime/bytes.h"

namespace dmcard {

// The operator's bootstrap keys: an HMAC-SHA256 secret (method 10) and an ECDSA P-256 key pair
// (method 11; the card holds only the public half).
struct OperatorKeys {
  static constexpr size_t kHmacSecretSize = 32;
  Bytes hmac_secret;  // 32 random bytes
  ossl::PkeyPtr ec;   // the P-256 key pair (or, read from a public key file, the public key)
  Bytes ec_public() const { return ossl::OsslEcPublicKey(ec.get()); }  // 04 || X || Y
};

// Fresh keys from OpenSSL's random generator.
std::optional<OperatorKeys> MakeOperatorKeys(std::string& error);

// The key files in `dir`: the HMAC secret as hex text and the EC private key as PKCS#8 PEM, both
// mode 0600; the EC public key as SubjectPublicKeyInfo PEM. An existing file is never
// overwritten (an operator key is not replaced by accident).
struct OperatorKeyFiles {
  std::filesystem::path hmac_secret;     // operator-hmac.key
  std::filesystem::path ec_private_pem;  // operator-ec.pem
  std::filesystem::path ec_public_pem;   // operator-ec.pub.pem
  static OperatorKeyFiles In(const std::filesystem::path& dir);
};
bool WriteOperatorKeys(const OperatorKeys& keys, const OperatorKeyFiles& files, std::string& error);
// Reads the HMAC secret and the EC private key back.
std::optional<OperatorKeys> ReadOperatorKeys(const OperatorKeyFiles& files, std::string& error);
// The EC public key of a SubjectPublicKeyInfo PEM file (what the card is given).
ossl::PkeyPtr ReadEcPublicKeyPem(const std::filesystem::path& file, std::string& error);

// Where the card keeps the operator keys (key store, usage bootstrap verification).
struct OperatorKeySlots {
  uint8_t hmac_kvn = 0x40;        // the HMAC-SHA256 secret (type HMAC secret)
  uint8_t ec_kvn = 0x41;          // the EC P-256 public key
  uint8_t key_id = 0x01;          // the id of each under its KVN
  std::string owner = "@issuer";  // kIssuerPrincipal, or an OMA DM ServerID
};

// Personalization DGIs 8402 (KVN | key id | type | usage 04 | use limit 0 (none) | owner length
// | owner | material) loading the HMAC secret and the EC public key, encrypted under the
// issuer's `dek`. nullopt with `error` for a key missing, an owner of 0 or more than 255 bytes,
// or a DEK that is not an AES key.
std::optional<std::vector<HostDgi>> OperatorKeyDgis(const OperatorKeys& keys,
                                                    const OperatorKeySlots& slots, ByteView dek,
                                                    std::string& error);

// ---- the bootstrap message ----

// The SyncML header of a bootstrap message (OMA-TS-DM_Bootstrap §5.2: a DM 1.2 package 0).
struct BootstrapHeader {
  std::string session_id = "1";
  std::string target = "IMEI:000000000000000";         // the device
  std::string source = "https://dms.example.test/dm";  // the DM server (any URI)
};

// The OMA DM bootstrap message: one Add whose Item is `tnds`, a TNDS document (a <MgmtTree>)
// either as XML text or already as WBXML (then decoded and re-encoded by libwbxml2), embedded as
// WBXML TNDS in a SyncML DM 1.2 WBXML message. nullopt with `error` when libwbxml2 cannot read
// the document.
std::optional<Bytes> BuildBootstrapMessage(ByteView tnds, const BootstrapHeader& header,
                                           std::string& error);

// ---- proofs (docs/bootstrap.md, "Methods") ----

// What a method's proof is made from.
struct BootstrapSecrets {
  std::string imsi;  // NETWPIN, USERNETWPIN: the card's IMSI digits (6 to 15)
  // USERPIN, USERNETWPIN: the PIN the user will type (1 to 16 ASCII digits or characters);
  // USERPINMAC: the n-digit key (n >= 5, at most 20), the first half of what the user types.
  std::string user_pin;
  const OperatorKeys* keys = nullptr;  // HMAC-SHA256, ECDSA P-256
  std::optional<uint32_t> sequence;    // operator methods: signed before the message (tag 84)
  std::optional<uint8_t> kvn;          // operator methods: which card key (tag 85)
};

struct BootstrapProof {
  dm::BootstrapMethod method = dm::BootstrapMethod::kNetwPin;
  // Tag 82: the OMA methods' HMAC-SHA1 as 40 upper-case hex characters, the 32-byte
  // HMAC-SHA256, or the raw r || s ECDSA signature (64 bytes); empty for USERPINMAC.
  Bytes mac;
  // What the user types and the device sends as tag 83: the PIN (USERPIN, USERNETWPIN) or the 2n
  // digits (USERPINMAC: the key, then digit HMAC-SHA1[i] mod 10 for each). Empty otherwise.
  std::string user_digits;
  // VERIFY BOOTSTRAP data without tag 83: 80 method | 81 message | 82 MAC | [84 seq] | [85 KVN].
  Bytes command_data;
};

// The NETWPIN key: EF_IMSI of `imsi` (3GPP TS 31.102 §4.2.2) without its length byte and its FF
// padding. Empty when `imsi` is not 6 to 15 digits.
Bytes NetwPinKey(const std::string& imsi);

// The proof of `message` for `method` and its VERIFY BOOTSTRAP data. nullopt with `error` when a
// secret the method needs is missing or malformed.
std::optional<BootstrapProof> ProveBootstrap(ByteView message, dm::BootstrapMethod method,
                                             const BootstrapSecrets& secrets, std::string& error);

// `command_data` with the user's digits appended as tag 83 (what the device adds before it sends
// the command); unchanged when `digits` is empty.
Bytes WithTypedDigits(ByteView command_data, const std::string& digits);

// The VERIFY BOOTSTRAP C-APDU for `command_data`: 80 42 P1 00, extended length (Lc 00 xx xx,
// Le 00 00); P1 01 verifies and installs. Empty when the data exceeds 65535 bytes.
Bytes VerifyBootstrapApdu(ByteView command_data, bool install);

// A method's name as docs/bootstrap.md writes it ("NETWPIN", ..., "HMAC-SHA256", "ECDSA-P256"),
// and back (case-insensitive).
std::string BootstrapMethodName(dm::BootstrapMethod method);
std::optional<dm::BootstrapMethod> BootstrapMethodByName(const std::string& name);

}  // namespace dmcard
