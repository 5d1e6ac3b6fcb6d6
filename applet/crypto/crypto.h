// Crypto facade of the card side. Every primitive comes from mbed TLS; nothing here links OpenSSL.
// No exceptions: each call reports a CryptoStatus, the one error shape of the card's crypto.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dmcard::crypto {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

// One error shape for all of the card's crypto: the primitives below and the key store's
// operations by key handle (runtime/key_store.h) report a CryptoStatus. No call throws, and none
// reports a failure any other way (no empty results standing for errors).
enum class CryptoStatus : uint8_t {
  kOk,
  kBadKey,        // a key of the wrong length or not valid for the algorithm; loading into the
                  // key store: key material, KVN, key id, owner or usage not acceptable
  kBadInput,      // input the operation does not take (a length, partial blocks, a bad block)
  kVerifyFailed,  // a signature or MAC did not verify
  kNotFound,      // key store: no key under that handle (or KVN / key id)
  kUsageRefused,  // key store: the key's type and usage do not allow this operation
  kBlocked,       // key store: the key's set is blocked (too many failed authentications)
  kExhausted,     // key store: a use limit reached, or a sequence counter at its end
  kFull,          // key store: persistent memory full
  kPowerLost,     // key store: the persistent medium failed
  kInternal,      // mbed TLS reported an unexpected error; key store: no transaction open, or a
                  // damaged record
};

std::string_view ToString(CryptoStatus status);

// kMd5 exists only for the OMA DM 1.2 credentials syncml:auth-md5 and syncml:auth-MAC (DM
// Security §5.1), which are defined with it: Hash takes it, every other call refuses it
// (kBadInput).
enum class HashAlg { kSha1, kSha256, kMd5 };

// Message digests: SHA-1 or SHA-256 (FIPS 180-4), MD5 (RFC 1321) of `data` into `digest`.
CryptoStatus Hash(HashAlg alg, ByteView data, Bytes& digest);

// HMAC (RFC 2104) with SHA-1 or SHA-256; `mac` receives the full tag. kMd5: kBadInput.
CryptoStatus Hmac(HashAlg alg, ByteView key, ByteView message, Bytes& mac);

// Base64 (RFC 4648 §4, the standard alphabet with '=' padding), as OMA DM carries nonces and
// digests. Base64Encode never fails for data that fits in memory. Base64Decode is strict: the
// text must be the canonical encoding of some bytes — a multiple of 4 characters of the
// alphabet, padding only at the end, unused bits zero, no line breaks or spaces (RFC 4648
// §3.3, §3.5: characters outside the alphabet are rejected); else kBadInput and `out` untouched.
CryptoStatus Base64Encode(ByteView data, std::string& text);
CryptoStatus Base64Decode(std::string_view text, Bytes& out);

// AES (FIPS 197) with 128/192/256-bit keys, no padding: input must be a multiple of 16 bytes.
CryptoStatus AesEcbEncrypt(ByteView key, ByteView in, Bytes& out);
CryptoStatus AesEcbDecrypt(ByteView key, ByteView in, Bytes& out);
CryptoStatus AesCbcEncrypt(ByteView key, ByteView iv, ByteView in, Bytes& out);
CryptoStatus AesCbcDecrypt(ByteView key, ByteView iv, ByteView in, Bytes& out);

// AES-CMAC (NIST SP 800-38B, RFC 4493); `mac` receives the full 16-byte tag.
CryptoStatus AesCmac(ByteView key, ByteView message, Bytes& mac);

// Constant-time comparison; false when the lengths differ (the length is not secret).
bool ConstantTimeEqual(ByteView a, ByteView b);

// Deterministic random bit generator: CTR_DRBG (NIST SP 800-90A) with AES-256 and a derivation
// function. Seeded either from the operating system or, for tests, from fixed bytes.
class Drbg {
 public:
  // Seeded from getrandom(); the card's production randomness.
  static std::unique_ptr<Drbg> FromSystem();
  // Seeded with exactly `entropy` (+ nonce, personalization); two such DRBGs give the same stream.
  static std::unique_ptr<Drbg> FromSeed(ByteView entropy, ByteView nonce = {},
                                        ByteView personalization = {});
  ~Drbg();
  Drbg(const Drbg&) = delete;
  Drbg& operator=(const Drbg&) = delete;

  CryptoStatus Generate(std::span<uint8_t> out, ByteView additional = {});
  CryptoStatus Reseed(ByteView additional = {});

  struct Impl;

 private:
  explicit Drbg(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ECDSA over NIST P-256 (FIPS 186-4). Private keys are 32 bytes big-endian; public keys are
// 65 bytes uncompressed (04 || X || Y); signatures are raw r || s (64 bytes).
struct EcP256KeyPair {
  Bytes private_key;
  Bytes public_key;
};
CryptoStatus EcP256Generate(Drbg& rng, EcP256KeyPair& out);
CryptoStatus EcP256PublicFromPrivate(ByteView private_key, Bytes& public_key);
// Randomized signature of a digest, nonce drawn from `rng`.
CryptoStatus EcdsaP256SignDigest(ByteView private_key, ByteView digest, Drbg& rng, Bytes& sig);
// Deterministic signature (RFC 6979) of a digest made with `alg`.
CryptoStatus EcdsaP256SignDigestDeterministic(ByteView private_key, ByteView digest, HashAlg alg,
                                              Bytes& sig);
// kOk when valid, kVerifyFailed when not, kBadKey/kBadInput for malformed inputs.
CryptoStatus EcdsaP256VerifyDigest(ByteView public_key, ByteView digest, ByteView sig);
// Conversions between raw r||s and the DER ECDSA-Sig-Value (SEC 1) used by OpenSSL and X.509.
CryptoStatus EcdsaRawToDer(ByteView raw, Bytes& der);
CryptoStatus EcdsaDerToRaw(ByteView der, Bytes& raw);

}  // namespace dmcard::crypto
