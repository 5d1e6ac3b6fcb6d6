// Crypto facade of the card side. Every primitive comes from mbed TLS; nothing here links OpenSSL.
// No exceptions: each call reports a CryptoStatus.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace dmcard::crypto {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

enum class CryptoStatus {
  kOk,
  kBadKey,        // key of the wrong length or not a valid key for the algorithm
  kBadInput,      // input length not acceptable (e.g. not a multiple of the block size)
  kVerifyFailed,  // a signature or MAC did not verify
  kInternal,      // mbed TLS reported an unexpected error
};

enum class HashAlg { kSha1, kSha256 };

// Message digests (FIPS 180-4).
Bytes Sha1(ByteView data);
Bytes Sha256(ByteView data);
Bytes Hash(HashAlg alg, ByteView data);

// HMAC (RFC 2104) with SHA-1 or SHA-256.
Bytes Hmac(HashAlg alg, ByteView key, ByteView message);

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
