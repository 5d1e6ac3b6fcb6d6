// The card's key store: a runtime service next to PINs (runtime/pin.h). Keys are used, never
// read: every operation takes a KeyHandle and returns only what the operation computes (a MAC,
// a signature, a ciphertext, a verdict); no function returns key bytes, and the only thing
// exported is the public half of an EC key. Loading keys is a separate, narrow interface
// (KeyLoader below) for installation and issuer personalization.
//
// A key object has a type (AES-128/192/256, HMAC secret, EC P-256 private or public), one usage
// (which decides the operations it may do, table in key_store.cc), a key version number (KVN)
// and key identifier as GlobalPlatform numbers keys, an owner (the principal the key is bound
// to: kIssuerPrincipal or an OMA DM ServerID; a key set's members share it) and a usage counter
// with an optional limit. Keys of one KVN form a key set; the set has a state of its own (a
// sequence counter, failed authentications, blocked) that survives reloading the set.
//
// Records, in the card's namespace "card/..." (no applet's; declared once in kRecordNames, with
// their format versions):
//   card/key/<KVN>/<ID>        the key object (type, usage, owner, use limit, key material)
//   card/key/<KVN>/<ID>/uses   its usage counter
//   card/key/<KVN>/state       the key set's sequence counter and failed-authentication counter
// (<KVN>, <ID>: two upper-case hex digits.)
//
// Operations count their use in the command's transaction; a key with a use limit counts
// durably BEFORE the operation (PersistentStore::PutDurable), as a PIN counts its tries, so a
// power cut never yields a free use. Every operation therefore needs the command's transaction
// open (the runtime opens one around every Process()).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/crypto.h"
#include "runtime/bytes.h"
#include "runtime/persistent_store.h"
#include "runtime/record_names.h"
#include "runtime/sw.h"

namespace dmcard {

enum class KeyType : uint8_t {
  kAes128 = 1,
  kAes192 = 2,
  kAes256 = 3,
  kHmacSecret = 4,     // HMAC (SHA-1 or SHA-256) secret, 16 to 64 bytes
  kEcP256Private = 5,  // ECDSA P-256 key pair: signs; its public half may be exported
  kEcP256Public = 6,   // ECDSA P-256 public key: verifies
};

enum class KeyUsage : uint8_t {
  kScp03Enc = 1,               // GP SCP03 K-ENC (key id 01): S-ENC, pseudo-random card challenge
  kScp03Mac = 2,               // GP SCP03 K-MAC (key id 02): S-MAC and S-RMAC
  kScp03Dek = 3,               // GP SCP03 K-DEK (key id 03): decrypts keys/secrets sent to the card
  kBootstrapVerification = 4,  // verifies a DM bootstrap's MAC or signature
  kCardAuthentication = 5,     // the card proves itself: MACs, encrypts or signs a challenge
  kDmCredential = 6,           // an OMA DM credential: computes and checks digests
  kFumo = 7,                   // verifies firmware update packages (OMA FUMO)
};

// Every key-store call reports the crypto facade's one error shape, crypto::CryptoStatus
// (crypto/crypto.h), with its key-store cases (kNotFound, kUsageRefused, kBlocked, kExhausted,
// kFull, kPowerLost).
using crypto::CryptoStatus;

// The status word an APDU answers for `status` (kVerifyFailed: 6982; callers with a protocol
// of their own, e.g. SCP03's 6300, answer theirs).
Sw SwFromCrypto(CryptoStatus status);

// An opaque reference to a key object: valid as long as the key stays loaded (a reloaded key
// keeps its handle). Found with KeyStore::Find / FindByUsage.
class KeyHandle {
 public:
  friend bool operator==(const KeyHandle&, const KeyHandle&) = default;

 private:
  friend class KeyStore;
  friend class KeyLoader;
  constexpr KeyHandle(uint8_t kvn, uint8_t id) : kvn_(kvn), id_(id) {}
  uint8_t kvn_;
  uint8_t id_;
};

// What may be known about a key without its material.
struct KeyInfo {
  KeyType type;
  KeyUsage usage;
  uint8_t kvn;
  uint8_t id;
  std::string owner;  // kIssuerPrincipal or an OMA DM ServerID
  uint32_t uses;      // operations done with the key since it was loaded
  uint32_t max_uses;  // 0: no limit
};

// The state a key set (one KVN) keeps for the authentication protocols run with it.
struct KeySetState {
  uint32_t sequence_counter = 0;  // last value NextSequenceCounter handed out (24 bits)
  uint8_t failed_authentications = 0;
  uint8_t max_failed_authentications = 0;  // the set is blocked once the count reaches it
  bool blocked() const { return failed_authentications >= max_failed_authentications; }
};

enum class CipherMode : uint8_t { kEcb, kCbc };

class KeyLoader;

class KeyStore {
 public:
  static constexpr uint32_t kMaxSequenceCounter = 0xFFFFFF;  // 3 bytes (GP SCP03)
  static constexpr uint8_t kDefaultMaxFailedAuthentications = 10;
  // The key store's records, in the card's namespace (runtime/record_names.h).
  static constexpr RecordName kRecordNames[] = {
      {"card/key/*/*", 1, "a key object: type, usage, owner, use limit, key material"},
      {"card/key/*/*/uses", 1, "a key's usage counter"},
      {"card/key/*/state", 1, "a key set's sequence counter and failed authentications"},
  };

  explicit KeyStore(PersistentStore& store) : store_(store) {}

  // ---- finding keys ----
  std::optional<KeyHandle> Find(uint8_t kvn, uint8_t id) const;
  // The first key (lowest KVN, then key id) with `usage` bound to `owner`.
  std::optional<KeyHandle> FindByUsage(KeyUsage usage, std::string_view owner) const;
  // Every key, ordered by KVN then key id.
  std::vector<KeyHandle> List() const;
  std::optional<KeyInfo> Info(KeyHandle key) const;

  // ---- operations (each counts one use) ----
  // AES-CMAC (NIST SP 800-38B), full 16-byte tag; VerifyCmac takes a tag of 4 to 16 bytes (a
  // truncated one is compared with the tag's first bytes).
  CryptoStatus Cmac(KeyHandle key, ByteView message, Bytes& mac);
  CryptoStatus VerifyCmac(KeyHandle key, ByteView message, ByteView mac);
  // AES without padding: `in` whole 16-byte blocks; `iv` empty for ECB, 16 bytes for CBC.
  CryptoStatus Encrypt(KeyHandle key, CipherMode mode, ByteView iv, ByteView in, Bytes& out);
  CryptoStatus Decrypt(KeyHandle key, CipherMode mode, ByteView iv, ByteView in, Bytes& out);
  // HMAC (RFC 2104); VerifyHmac compares in constant time with a tag of 10 bytes or more.
  CryptoStatus Hmac(KeyHandle key, crypto::HashAlg alg, ByteView message, Bytes& mac);
  CryptoStatus VerifyHmac(KeyHandle key, crypto::HashAlg alg, ByteView message, ByteView mac);
  // ECDSA P-256 over a digest made with `alg` (deterministic nonce, RFC 6979); raw r || s.
  CryptoStatus SignDigest(KeyHandle key, crypto::HashAlg alg, ByteView digest, Bytes& signature);
  CryptoStatus VerifyDigest(KeyHandle key, ByteView digest, ByteView signature);
  // The public key (65 bytes, 04 || X || Y) of an EC key, private or public. Not a use.
  CryptoStatus PublicKey(KeyHandle key, Bytes& public_key) const;
  // One block of the GlobalPlatform SCP03 KDF (Amendment D §4.1.5: NIST SP 800-108 counter mode,
  // PRF = AES-CMAC) under an SCP03 static key: `input` must be a derivation block (11 x '00',
  // constant, '00', L, i, context) whose constant the key's usage allows — K-ENC: card challenge
  // (02) and S-ENC (04); K-MAC: S-MAC (06) and S-RMAC (07). gp/scp03 runs the KDF over it, so
  // the static keys stay here; what leaves is derived session material. A derivation counts one
  // use (at its first block, i = 1).
  CryptoStatus Scp03Prf(KeyHandle key, ByteView input, Bytes& block);

  // ---- key-set state ----
  // nullopt when the set has none yet (no key of it was ever loaded through KeyLoader).
  std::optional<KeySetState> SetState(uint8_t kvn) const;
  // Moves the set's sequence counter on by one and returns the new value, durable before this
  // returns (it never goes backwards, not even when the command is then refused or power is
  // cut). kExhausted at kMaxSequenceCounter; kNotFound without a set state.
  CryptoStatus NextSequenceCounter(uint8_t kvn, uint32_t& value);
  // Counts a failed authentication attempt, durably, BEFORE the caller checks the proof; the
  // caller clears it again on success (ClearFailedAuthentications, in the command's
  // transaction). kBlocked when the set is already blocked (nothing counted).
  CryptoStatus CountAuthenticationAttempt(uint8_t kvn);
  CryptoStatus ClearFailedAuthentications(uint8_t kvn);

  // ---- loading ----
  // A loader over this store for a caller acting as `principal` (the channel's): only the
  // issuer (kIssuerPrincipal, authenticated with the issuer's key set) loads keys after
  // installation; nullopt for anyone else.
  std::optional<KeyLoader> LoaderFor(std::string_view principal);

 private:
  struct Loaded;
  CryptoStatus Load(KeyHandle key, Loaded& out) const;
  CryptoStatus Use(KeyHandle key, int op, Loaded& out, bool count = true);

  PersistentStore& store_;
};

// ---- loading (installation, issuer personalization) ----

// The owners a key may be bound to: kIssuerPrincipal, or an OMA DM ServerID of 1 to 128
// printable ASCII characters without spaces that does not begin with '@' (dm/acl.h reserves
// those). Profiles check theirs with it.
bool KeyOwnerAcceptable(std::string_view owner);

struct KeySpec {
  KeyType type = KeyType::kAes128;
  KeyUsage usage = KeyUsage::kCardAuthentication;
  uint8_t kvn = 0;        // 01 to 7F
  uint8_t id = 0;         // 01 to 7F
  std::string owner;      // kIssuerPrincipal or a ServerID (not beginning with '@'), 1 to 128 bytes
  uint32_t max_uses = 0;  // 0: no limit
};

// Writes key objects in the open transaction (the command's, or the install transaction): a
// loaded set is committed with the command, so a power cut leaves the old keys or the new ones,
// never a mix. Never reads key material back.
class KeyLoader {
 public:
  // The KVNs of SCP03 key sets (issue 9: 30 to 3F).
  static constexpr uint8_t kScp03KvnFirst = 0x30;
  static constexpr uint8_t kScp03KvnLast = 0x3F;

  explicit KeyLoader(PersistentStore& store) : store_(store) {}

  // Loads (or replaces) the key `spec` names with `material`: the AES key, the HMAC secret, the
  // 32-byte EC private scalar (its public key is computed) or the 65-byte EC public key. The
  // key's usage counter starts at 0; its set's state is created if missing (sequence counter
  // kept if present). Refused (kBadKey) when the material does not fit the type, the usage
  // does not go with the type, or another key of the same KVN has another owner.
  CryptoStatus Load(const KeySpec& spec, ByteView material);
  // Loads a key pair generated on the card (EC P-256) or random secret key material.
  CryptoStatus Generate(const KeySpec& spec, crypto::Drbg& rng);
  // A GlobalPlatform SCP03 key set (Amendment D): K-ENC, K-MAC, K-DEK as key ids 01, 02, 03 of
  // `kvn` (30 to 3F), AES keys of one length, bound to `owner`; blocked after
  // `max_failed_authentications` failed authentications in a row. Replaces the set; its
  // failed-authentication count restarts, its sequence counter never does.
  CryptoStatus LoadScp03KeySet(
      uint8_t kvn, std::string_view owner, ByteView enc, ByteView mac, ByteView dek,
      uint8_t max_failed_authentications = KeyStore::kDefaultMaxFailedAuthentications);
  // Removes a key (its set's state stays, so a sequence counter never restarts).
  CryptoStatus Erase(uint8_t kvn, uint8_t id);

 private:
  CryptoStatus Write(const KeySpec& spec, ByteView secret, ByteView public_key,
                     uint8_t max_failed_authentications);
  PersistentStore& store_;
};

}  // namespace dmcard
