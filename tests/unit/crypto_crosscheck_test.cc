// Cross-checks of the card's crypto (mbed TLS) against the host's OpenSSL 3 on pseudo-random
// inputs from a fixed-seed generator, plus the facade's error handling and the DRBG's
// determinism.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "crypto_results.h"
#include "host/openssl_util.h"
#include "runtime/bytes.h"

namespace dmcard {
namespace {

using crypto::CryptoStatus;
using crypto::Drbg;
using crypto::HashAlg;
using namespace ossl;  // NOLINT: the OpenSSL side of every cross-check

std::string Hex(ByteView b) { return ToHex(b); }

Bytes HexBytes(std::string_view hex) {
  auto b = FromHex(hex);
  EXPECT_TRUE(b.has_value()) << hex;
  return b.value_or(Bytes{});
}

// Deterministic pseudo-random bytes (std::mt19937's output sequence is fixed by the standard).
class Prng {
 public:
  explicit Prng(uint32_t seed) : gen_(seed) {}
  Bytes Take(size_t n) {
    Bytes out(n);
    for (auto& b : out) b = static_cast<uint8_t>(gen_() >> 24);
    return out;
  }

 private:
  std::mt19937 gen_;
};

// The P-256 group order n.
const Bytes kOrderN = HexBytes("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");

// A valid private scalar drawn from the PRNG (values >= n are redrawn; practically never).
Bytes TakePrivateKey(Prng& prng) {
  while (true) {
    Bytes d = prng.Take(32);
    Bytes pub;
    if (crypto::EcP256PublicFromPrivate(d, pub) == CryptoStatus::kOk) return d;
  }
}

const size_t kLengths[] = {0,  1,  3,  15, 16, 17,  31,  32,  33,
                           55, 56, 63, 64, 65, 127, 128, 129, 1000};

// ---- cross-checks -----------------------------------------------------------------------------

TEST(CryptoCrosscheck, DigestsMatchOpenssl) {
  Prng prng(0xD16E57);
  for (size_t len : kLengths) {
    SCOPED_TRACE("length " + std::to_string(len));
    const Bytes data = prng.Take(len);
    EXPECT_EQ(Hex(testing::Sha256Of(data)), Hex(OsslDigest("SHA256", data)));
    EXPECT_EQ(Hex(testing::Sha1Of(data)), Hex(OsslDigest("SHA1", data)));
  }
}

TEST(CryptoCrosscheck, Md5MatchesOpenssl) {
  Prng prng(0x3D5);
  for (size_t len : kLengths) {
    SCOPED_TRACE("length " + std::to_string(len));
    const Bytes data = prng.Take(len);
    EXPECT_EQ(Hex(testing::HashOf(HashAlg::kMd5, data)), Hex(OsslDigest("MD5", data)));
  }
}

// RFC 4648 base64 against OpenSSL's EVP_EncodeBlock (OsslBase64) and EVP_DecodeBlock.
TEST(CryptoCrosscheck, Base64MatchesOpenssl) {
  Prng prng(0xB64);
  for (size_t len : kLengths) {
    SCOPED_TRACE("length " + std::to_string(len));
    const Bytes data = prng.Take(len);
    std::string text;
    ASSERT_EQ(crypto::Base64Encode(data, text), CryptoStatus::kOk);
    EXPECT_EQ(text, OsslBase64(data));
    Bytes back;
    ASSERT_EQ(crypto::Base64Decode(OsslBase64(data), back), CryptoStatus::kOk);
    EXPECT_EQ(Hex(back), Hex(data));
  }
}

TEST(CryptoCrosscheck, HmacMatchesOpenssl) {
  Prng prng(0x4D4AC);
  for (size_t key_len : {1u, 16u, 20u, 32u, 64u, 65u, 131u}) {
    for (size_t len : kLengths) {
      SCOPED_TRACE("key " + std::to_string(key_len) + ", data " + std::to_string(len));
      const Bytes key = prng.Take(key_len);
      const Bytes data = prng.Take(len);
      EXPECT_EQ(Hex(testing::HmacOf(HashAlg::kSha256, key, data)),
                Hex(OsslMac("HMAC", "SHA256", key, data)));
      EXPECT_EQ(Hex(testing::HmacOf(HashAlg::kSha1, key, data)),
                Hex(OsslMac("HMAC", "SHA1", key, data)));
    }
  }
}

TEST(CryptoCrosscheck, AesCbcMatchesOpenssl) {
  Prng prng(0xAE5CBC);
  for (size_t key_len : {16u, 24u, 32u}) {
    for (size_t blocks : {0u, 1u, 2u, 5u, 64u}) {
      SCOPED_TRACE("key " + std::to_string(key_len) + ", blocks " + std::to_string(blocks));
      const Bytes key = prng.Take(key_len);
      const Bytes iv = prng.Take(16);
      const Bytes pt = prng.Take(16 * blocks);
      Bytes ct, back;
      ASSERT_EQ(crypto::AesCbcEncrypt(key, iv, pt, ct), CryptoStatus::kOk);
      EXPECT_EQ(Hex(ct), Hex(OsslAesCbc(true, key, iv, pt)));
      ASSERT_EQ(crypto::AesCbcDecrypt(key, iv, ct, back), CryptoStatus::kOk);
      EXPECT_EQ(Hex(back), Hex(pt));
      EXPECT_EQ(Hex(OsslAesCbc(false, key, iv, ct)), Hex(pt));
      // ECB equals CBC with a zero IV on a single block.
      if (blocks == 1) {
        Bytes ecb;
        ASSERT_EQ(crypto::AesEcbEncrypt(key, pt, ecb), CryptoStatus::kOk);
        EXPECT_EQ(Hex(ecb), Hex(OsslAesCbc(true, key, Bytes(16, 0), pt)));
      }
    }
  }
}

TEST(CryptoCrosscheck, AesCmacMatchesOpenssl) {
  Prng prng(0xC3AC);
  for (size_t key_len : {16u, 24u, 32u}) {
    const char* cipher = key_len == 16   ? "AES-128-CBC"
                         : key_len == 24 ? "AES-192-CBC"
                                         : "AES-256-CBC";
    for (size_t len : kLengths) {
      SCOPED_TRACE("key " + std::to_string(key_len) + ", data " + std::to_string(len));
      const Bytes key = prng.Take(key_len);
      const Bytes data = prng.Take(len);
      Bytes mac;
      ASSERT_EQ(crypto::AesCmac(key, data, mac), CryptoStatus::kOk);
      EXPECT_EQ(Hex(mac), Hex(OsslMac("CMAC", cipher, key, data)));
    }
  }
}

TEST(CryptoCrosscheck, EcPublicKeyMatchesOpenssl) {
  Prng prng(0xEC0001);
  for (int i = 0; i < 8; ++i) {
    const Bytes d = TakePrivateKey(prng);
    SCOPED_TRACE("d = " + Hex(d));
    Bytes pub;
    ASSERT_EQ(crypto::EcP256PublicFromPrivate(d, pub), CryptoStatus::kOk);
    EXPECT_EQ(Hex(pub), Hex(OsslPublicFromPrivate(d)));
  }
  // Small and large edge scalars: 1, 2, n-1.
  Bytes n_minus_1 = kOrderN;
  n_minus_1.back() = static_cast<uint8_t>(n_minus_1.back() - 1);
  Bytes one(32, 0), two(32, 0);
  one.back() = 1;
  two.back() = 2;
  for (const Bytes& d : {one, two, n_minus_1}) {
    SCOPED_TRACE("d = " + Hex(d));
    Bytes pub;
    ASSERT_EQ(crypto::EcP256PublicFromPrivate(d, pub), CryptoStatus::kOk);
    EXPECT_EQ(Hex(pub), Hex(OsslPublicFromPrivate(d)));
  }
}

TEST(CryptoCrosscheck, CardSignsOpensslVerifies) {
  Prng prng(0xEC0002);
  auto rng = Drbg::FromSeed(prng.Take(32), prng.Take(16));
  ASSERT_NE(rng, nullptr);
  crypto::EcP256KeyPair pair;
  ASSERT_EQ(crypto::EcP256Generate(*rng, pair), CryptoStatus::kOk);
  ASSERT_EQ(pair.private_key.size(), 32u);
  ASSERT_EQ(pair.public_key.size(), 65u);
  EXPECT_EQ(Hex(pair.public_key), Hex(OsslPublicFromPrivate(pair.private_key)));
  PkeyPtr key = OsslEcKey(pair.public_key);
  ASSERT_TRUE(key);
  for (int i = 0; i < 16; ++i) {
    SCOPED_TRACE("message " + std::to_string(i));
    const Bytes msg = prng.Take(static_cast<size_t>(i * 7));
    const Bytes digest = testing::Sha256Of(msg);
    Bytes sig, der;
    ASSERT_EQ(crypto::EcdsaP256SignDigest(pair.private_key, digest, *rng, sig), CryptoStatus::kOk);
    ASSERT_EQ(sig.size(), 64u);
    ASSERT_EQ(crypto::EcdsaRawToDer(sig, der), CryptoStatus::kOk);
    EXPECT_TRUE(OsslVerifyDer(key.get(), digest, der));
    EXPECT_EQ(crypto::EcdsaP256VerifyDigest(pair.public_key, digest, sig), CryptoStatus::kOk);

    // Deterministic signatures too, with both hashes.
    for (HashAlg alg : {HashAlg::kSha256, HashAlg::kSha1}) {
      const Bytes h = testing::HashOf(alg, msg);
      Bytes det, det2;
      ASSERT_EQ(crypto::EcdsaP256SignDigestDeterministic(pair.private_key, h, alg, det),
                CryptoStatus::kOk);
      ASSERT_EQ(crypto::EcdsaP256SignDigestDeterministic(pair.private_key, h, alg, det2),
                CryptoStatus::kOk);
      EXPECT_EQ(Hex(det), Hex(det2));
      ASSERT_EQ(crypto::EcdsaRawToDer(det, der), CryptoStatus::kOk);
      EXPECT_TRUE(OsslVerifyDer(key.get(), h, der));
    }
  }
}

TEST(CryptoCrosscheck, OpensslSignsCardVerifies) {
  Prng prng(0xEC0003);
  for (int k = 0; k < 4; ++k) {
    const Bytes d = TakePrivateKey(prng);
    const Bytes pub = OsslPublicFromPrivate(d);
    PkeyPtr key = OsslEcKey(pub, d);
    ASSERT_TRUE(key);
    for (int i = 0; i < 8; ++i) {
      SCOPED_TRACE("key " + std::to_string(k) + ", message " + std::to_string(i));
      const Bytes digest = testing::Sha256Of(prng.Take(static_cast<size_t>(1 + i * 13)));
      const Bytes der = OsslSignDer(key.get(), digest);
      Bytes raw, der_again;
      ASSERT_EQ(crypto::EcdsaDerToRaw(der, raw), CryptoStatus::kOk) << Hex(der);
      EXPECT_EQ(crypto::EcdsaP256VerifyDigest(pub, digest, raw), CryptoStatus::kOk);
      // OpenSSL writes canonical DER, so the card's encoder reproduces it byte for byte.
      ASSERT_EQ(crypto::EcdsaRawToDer(raw, der_again), CryptoStatus::kOk);
      EXPECT_EQ(Hex(der_again), Hex(der));
      Bytes other = digest;
      other[5] ^= 0x20;
      EXPECT_EQ(crypto::EcdsaP256VerifyDigest(pub, other, raw), CryptoStatus::kVerifyFailed);
    }
  }
}

TEST(CryptoCrosscheck, SignatureDerMatchesOpensslOnEdgeValues) {
  Prng prng(0xDE5);
  std::vector<Bytes> raws;
  for (int i = 0; i < 16; ++i) raws.push_back(prng.Take(64));
  // High bit set (needs a 00 pad), leading zero bytes (shorter INTEGER), tiny values.
  Bytes a(64, 0xFF), b(64, 0x00), c(64, 0x00), e = prng.Take(64);
  b[31] = 1;
  b[63] = 0x80;
  c[5] = 0x7F;
  c[40] = 0x01;
  e[0] = 0x00;
  e[1] = 0x00;
  e[2] = 0x80;
  e[32] = 0x00;
  e[33] = 0x7F;
  raws.insert(raws.end(), {a, b, c, e, kOrderN});
  raws.back().insert(raws.back().end(), kOrderN.begin(), kOrderN.end());
  for (const Bytes& raw : raws) {
    SCOPED_TRACE(Hex(raw));
    Bytes der, back;
    ASSERT_EQ(crypto::EcdsaRawToDer(raw, der), CryptoStatus::kOk);
    EXPECT_EQ(Hex(der), Hex(OsslSigToDer(raw)));
    ASSERT_EQ(crypto::EcdsaDerToRaw(der, back), CryptoStatus::kOk);
    EXPECT_EQ(Hex(back), Hex(raw));
  }
}

// ---- DRBG -------------------------------------------------------------------------------------

Bytes Stream(Drbg& drbg, size_t n, ByteView additional = {}) {
  Bytes out(n);
  EXPECT_EQ(drbg.Generate(out, additional), CryptoStatus::kOk);
  return out;
}

TEST(CryptoDrbg, SameSeedGivesSameStream) {
  const Bytes entropy =
      HexBytes("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
  const Bytes nonce = HexBytes("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF");
  auto a = Drbg::FromSeed(entropy, nonce, Bytes{'p'});
  auto b = Drbg::FromSeed(entropy, nonce, Bytes{'p'});
  ASSERT_TRUE(a && b);
  for (size_t n : {1u, 16u, 33u, 64u}) EXPECT_EQ(Hex(Stream(*a, n)), Hex(Stream(*b, n)));
  EXPECT_EQ(Hex(Stream(*a, 32, Bytes{1, 2, 3})), Hex(Stream(*b, 32, Bytes{1, 2, 3})));
  ASSERT_EQ(a->Reseed(Bytes{9}), CryptoStatus::kOk);
  ASSERT_EQ(b->Reseed(Bytes{9}), CryptoStatus::kOk);
  EXPECT_EQ(Hex(Stream(*a, 48)), Hex(Stream(*b, 48)));
  // Requests longer than mbed TLS's per-call limit (1024 bytes) are served in pieces.
  const Bytes long_a = Stream(*a, 3000);
  EXPECT_EQ(Hex(long_a), Hex(Stream(*b, 3000)));
  EXPECT_NE(Hex(ByteView(long_a).first(1024)), Hex(ByteView(long_a).subspan(1024, 1024)));
  // Same seed, same key pair.
  auto c = Drbg::FromSeed(entropy, nonce);
  auto d = Drbg::FromSeed(entropy, nonce);
  crypto::EcP256KeyPair kc, kd;
  ASSERT_EQ(crypto::EcP256Generate(*c, kc), CryptoStatus::kOk);
  ASSERT_EQ(crypto::EcP256Generate(*d, kd), CryptoStatus::kOk);
  EXPECT_EQ(Hex(kc.private_key), Hex(kd.private_key));
  EXPECT_EQ(Hex(kc.public_key), Hex(kd.public_key));
}

TEST(CryptoDrbg, DifferentSeedGivesDifferentStream) {
  const Bytes entropy(32, 0x11);
  const Bytes nonce(16, 0x22);
  auto base = Drbg::FromSeed(entropy, nonce);
  ASSERT_TRUE(base);
  const Bytes ref = Stream(*base, 32);

  Bytes entropy2 = entropy;
  entropy2[31] ^= 1;
  Bytes nonce2 = nonce;
  nonce2[0] ^= 1;
  auto e2 = Drbg::FromSeed(entropy2, nonce);
  auto n2 = Drbg::FromSeed(entropy, nonce2);
  auto p2 = Drbg::FromSeed(entropy, nonce, Bytes{'x'});
  auto add = Drbg::FromSeed(entropy, nonce);
  ASSERT_TRUE(e2 && n2 && p2 && add);
  EXPECT_NE(Hex(Stream(*e2, 32)), Hex(ref));
  EXPECT_NE(Hex(Stream(*n2, 32)), Hex(ref));
  EXPECT_NE(Hex(Stream(*p2, 32)), Hex(ref));
  EXPECT_NE(Hex(Stream(*add, 32, Bytes{0})), Hex(ref));
  // A reseed changes the continuation.
  auto r1 = Drbg::FromSeed(entropy, nonce);
  auto r2 = Drbg::FromSeed(entropy, nonce);
  ASSERT_TRUE(r1 && r2);
  ASSERT_EQ(r1->Reseed(), CryptoStatus::kOk);
  EXPECT_NE(Hex(Stream(*r1, 32)), Hex(Stream(*r2, 32)));
}

TEST(CryptoDrbg, SeedMaterialIsEntropyNonceThenPersonalization) {
  // SP 800-90A 10.2.1.3.2: seed_material = entropy_input || nonce || personalization_string, so
  // moving bytes from the personalization string to the end of the nonce changes nothing.
  const Bytes entropy(32, 0x5A);
  auto split = Drbg::FromSeed(entropy, Bytes{1, 2, 3, 4}, Bytes{5, 6, 7, 8});
  auto joined = Drbg::FromSeed(entropy, Bytes{1, 2, 3, 4, 5, 6, 7, 8});
  ASSERT_TRUE(split && joined);
  EXPECT_EQ(Hex(Stream(*split, 64)), Hex(Stream(*joined, 64)));
}

TEST(CryptoDrbg, SystemInstancesDiffer) {
  auto a = Drbg::FromSystem();
  auto b = Drbg::FromSystem();
  ASSERT_TRUE(a && b);
  const Bytes x = Stream(*a, 32);
  EXPECT_NE(Hex(x), Hex(Stream(*b, 32)));
  EXPECT_NE(Hex(x), Hex(Stream(*a, 32)));
  EXPECT_EQ(a->Reseed(Bytes{1, 2}), CryptoStatus::kOk);
  EXPECT_NE(Hex(Stream(*a, 32)), Hex(Bytes(32, 0)));
}

TEST(CryptoDrbg, RejectsBadSeedsAndInputs) {
  EXPECT_EQ(Drbg::FromSeed(Bytes{}), nullptr);        // no entropy
  EXPECT_EQ(Drbg::FromSeed(Bytes(385, 1)), nullptr);  // more than the seed limit
  EXPECT_EQ(Drbg::FromSeed(Bytes(32, 1), Bytes(353, 2)), nullptr);
  auto drbg = Drbg::FromSeed(Bytes(32, 1));
  ASSERT_TRUE(drbg);
  Bytes out(16);
  EXPECT_EQ(drbg->Generate(out, Bytes(257, 0)), CryptoStatus::kBadInput);
  EXPECT_EQ(drbg->Generate(out, Bytes(256, 0)), CryptoStatus::kOk);
  EXPECT_EQ(drbg->Reseed(Bytes(384, 0)), CryptoStatus::kBadInput);
  EXPECT_EQ(drbg->Generate(std::span<uint8_t>()), CryptoStatus::kOk);
}

// ---- error handling ---------------------------------------------------------------------------

TEST(CryptoBadInput, AesRejectsPartialBlocks) {
  const Bytes key(16, 0x01), iv(16, 0x02);
  for (size_t len : {1u, 15u, 17u, 31u}) {
    SCOPED_TRACE(len);
    const Bytes in(len, 0xAA);
    Bytes out{0x77};
    EXPECT_EQ(crypto::AesEcbEncrypt(key, in, out), CryptoStatus::kBadInput);
    EXPECT_EQ(crypto::AesEcbDecrypt(key, in, out), CryptoStatus::kBadInput);
    EXPECT_EQ(crypto::AesCbcEncrypt(key, iv, in, out), CryptoStatus::kBadInput);
    EXPECT_EQ(crypto::AesCbcDecrypt(key, iv, in, out), CryptoStatus::kBadInput);
    EXPECT_EQ(crypto::AesCmac(key, in, out), CryptoStatus::kOk);  // CMAC takes any length
  }
  Bytes out;
  EXPECT_EQ(crypto::AesEcbEncrypt(key, Bytes{}, out), CryptoStatus::kOk);
  EXPECT_TRUE(out.empty());
  // The IV must be one block.
  EXPECT_EQ(crypto::AesCbcEncrypt(key, Bytes(15, 0), Bytes(16, 0), out), CryptoStatus::kBadInput);
  EXPECT_EQ(crypto::AesCbcDecrypt(key, Bytes(17, 0), Bytes(16, 0), out), CryptoStatus::kBadInput);
}

TEST(CryptoBadInput, AesRejectsBadKeyLengths) {
  const Bytes in(16, 0xAA), iv(16, 0);
  for (size_t key_len : {0u, 8u, 15u, 17u, 23u, 31u, 33u, 64u}) {
    SCOPED_TRACE(key_len);
    const Bytes key(key_len, 0x01);
    Bytes out;
    EXPECT_EQ(crypto::AesEcbEncrypt(key, in, out), CryptoStatus::kBadKey);
    EXPECT_EQ(crypto::AesEcbDecrypt(key, in, out), CryptoStatus::kBadKey);
    EXPECT_EQ(crypto::AesCbcEncrypt(key, iv, in, out), CryptoStatus::kBadKey);
    EXPECT_EQ(crypto::AesCbcDecrypt(key, iv, in, out), CryptoStatus::kBadKey);
    EXPECT_EQ(crypto::AesCmac(key, in, out), CryptoStatus::kBadKey);
  }
}

// RFC 6979 A.2.5 key pair (see tests/data/crypto/ecdsa_p256_rfc6979.data).
const Bytes kRfcPrivate =
    HexBytes("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721");
const Bytes kRfcPublic = HexBytes(
    "0460FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
    "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299");

TEST(CryptoBadInput, PublicKeyMustBeOnTheCurve) {
  const Bytes digest = testing::Sha256Of(Bytes{'x'});
  Bytes sig;
  ASSERT_EQ(crypto::EcdsaP256SignDigestDeterministic(kRfcPrivate, digest, HashAlg::kSha256, sig),
            CryptoStatus::kOk);
  ASSERT_EQ(crypto::EcdsaP256VerifyDigest(kRfcPublic, digest, sig), CryptoStatus::kOk);

  Bytes off_curve = kRfcPublic;
  off_curve.back() ^= 0x01;  // y changed: not on the curve
  Bytes x_too_big = kRfcPublic;
  std::fill(x_too_big.begin() + 1, x_too_big.begin() + 33, uint8_t{0xFF});  // x >= p
  Bytes compressed = kRfcPublic;
  compressed[0] = 0x02;
  Bytes zero(65, 0x00);
  zero[0] = 0x04;
  const std::vector<Bytes> bad = {off_curve,
                                  x_too_big,
                                  compressed,
                                  zero,
                                  Bytes{0x00},  // the point at infinity
                                  Bytes(kRfcPublic.begin(), kRfcPublic.end() - 1),
                                  Bytes(kRfcPublic.begin() + 1, kRfcPublic.end()),
                                  {}};
  for (const Bytes& q : bad) {
    SCOPED_TRACE(Hex(q));
    EXPECT_EQ(crypto::EcdsaP256VerifyDigest(q, digest, sig), CryptoStatus::kBadKey);
  }
}

TEST(CryptoBadInput, PrivateKeyMustBeInRange) {
  Bytes n_plus_1 = kOrderN;
  n_plus_1.back() = static_cast<uint8_t>(n_plus_1.back() + 1);
  const std::vector<Bytes> bad = {Bytes(32, 0x00), kOrderN,         n_plus_1, Bytes(32, 0xFF),
                                  Bytes(31, 0x01), Bytes(33, 0x01), Bytes{}};
  const Bytes digest(32, 0x42);
  auto rng = Drbg::FromSeed(Bytes(32, 3));
  ASSERT_TRUE(rng);
  for (const Bytes& d : bad) {
    SCOPED_TRACE(Hex(d));
    Bytes out;
    EXPECT_EQ(crypto::EcP256PublicFromPrivate(d, out), CryptoStatus::kBadKey);
    EXPECT_EQ(crypto::EcdsaP256SignDigest(d, digest, *rng, out), CryptoStatus::kBadKey);
    EXPECT_EQ(crypto::EcdsaP256SignDigestDeterministic(d, digest, HashAlg::kSha256, out),
              CryptoStatus::kBadKey);
  }
}

TEST(CryptoBadInput, TamperedSignatureFailsToVerify) {
  const Bytes digest = testing::Sha256Of(Bytes{'s', 'a', 'm', 'p', 'l', 'e'});
  Bytes sig;
  ASSERT_EQ(crypto::EcdsaP256SignDigestDeterministic(kRfcPrivate, digest, HashAlg::kSha256, sig),
            CryptoStatus::kOk);
  ASSERT_EQ(crypto::EcdsaP256VerifyDigest(kRfcPublic, digest, sig), CryptoStatus::kOk);
  for (size_t bit : {0u, 7u, 200u, 255u, 256u, 300u, 511u}) {
    SCOPED_TRACE("bit " + std::to_string(bit));
    Bytes bad = sig;
    bad[bit / 8] ^= static_cast<uint8_t>(0x80 >> (bit % 8));
    EXPECT_EQ(crypto::EcdsaP256VerifyDigest(kRfcPublic, digest, bad), CryptoStatus::kVerifyFailed);
  }
  Bytes other_digest = digest;
  other_digest[0] ^= 1;
  EXPECT_EQ(crypto::EcdsaP256VerifyDigest(kRfcPublic, other_digest, sig),
            CryptoStatus::kVerifyFailed);
  // r or s of zero, or not below n.
  Bytes r_zero = sig, s_zero = sig, s_n = sig;
  std::fill(r_zero.begin(), r_zero.begin() + 32, uint8_t{0});
  std::fill(s_zero.begin() + 32, s_zero.end(), uint8_t{0});
  std::copy(kOrderN.begin(), kOrderN.end(), s_n.begin() + 32);
  for (const Bytes& bad : {r_zero, s_zero, s_n}) {
    EXPECT_EQ(crypto::EcdsaP256VerifyDigest(kRfcPublic, digest, bad), CryptoStatus::kVerifyFailed);
  }
  // Wrong lengths are malformed input.
  EXPECT_EQ(crypto::EcdsaP256VerifyDigest(kRfcPublic, digest, ByteView(sig).first(63)),
            CryptoStatus::kBadInput);
  EXPECT_EQ(crypto::EcdsaP256VerifyDigest(kRfcPublic, Bytes{}, sig), CryptoStatus::kBadInput);
  // Deterministic signing needs a digest of the named hash's length.
  Bytes out;
  EXPECT_EQ(crypto::EcdsaP256SignDigestDeterministic(kRfcPrivate, digest, HashAlg::kSha1, out),
            CryptoStatus::kBadInput);
}

TEST(CryptoBadInput, MalformedDerIsRejected) {
  const Bytes sig = HexBytes(
      "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
      "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8");
  Bytes der;
  ASSERT_EQ(crypto::EcdsaRawToDer(sig, der), CryptoStatus::kOk);
  const std::string good = Hex(der);
  ASSERT_EQ(good.substr(0, 12), "3046022100EF");

  const std::vector<std::string> bad = {
      "",
      "30",
      "3000",                                          // empty SEQUENCE
      "300702010102010100",                            // extra byte inside the SEQUENCE
      "300602010102010100",                            // extra byte after the SEQUENCE
      "3106020101020101",                              // not a SEQUENCE
      "3006020101030101",                              // s is not an INTEGER
      "30050201010201",                                // s truncated
      "3007020101020101",                              // SEQUENCE length too long
      "300702020001020101",                            // r not minimal (00 01)
      "30060201FF020101",                              // r negative
      "308106020101020101",                            // long-form SEQUENCE length
      "300702810101020101",                            // long-form INTEGER length
      "30050200020101",                                // zero-length INTEGER
      "3026022101" + std::string(64, 'F') + "020101",  // r longer than 32 bytes
      good.substr(0, good.size() - 2),                 // truncated
      good + "00",                                     // trailing byte
  };
  for (const std::string& hex : bad) {
    SCOPED_TRACE(hex);
    const auto input = FromHex(hex);
    ASSERT_TRUE(input.has_value());
    Bytes raw;
    EXPECT_EQ(crypto::EcdsaDerToRaw(*input, raw), CryptoStatus::kBadInput);
  }
  // Short but well-formed values are accepted and right-aligned.
  Bytes raw;
  ASSERT_EQ(crypto::EcdsaDerToRaw(HexBytes("3007020200FF020101"), raw), CryptoStatus::kOk);
  EXPECT_EQ(Hex(raw), std::string(62, '0') + "FF" + std::string(62, '0') + "01");
  EXPECT_EQ(crypto::EcdsaRawToDer(ByteView(sig).first(63), der), CryptoStatus::kBadInput);
  EXPECT_EQ(crypto::EcdsaRawToDer(Bytes(65, 1), der), CryptoStatus::kBadInput);
}

TEST(CryptoConstantTime, EqualitySemantics) {
  const Bytes a = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_TRUE(crypto::ConstantTimeEqual(a, a));
  EXPECT_TRUE(crypto::ConstantTimeEqual(a, Bytes(a)));
  EXPECT_TRUE(crypto::ConstantTimeEqual(Bytes{}, Bytes{}));
  for (size_t i = 0; i < a.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80, 0xFF}) {
      Bytes b = a;
      b[i] ^= flip;
      EXPECT_FALSE(crypto::ConstantTimeEqual(a, b)) << i << " " << int{flip};
    }
  }
  // Different lengths are unequal, even when one is a prefix of the other.
  EXPECT_FALSE(crypto::ConstantTimeEqual(a, ByteView(a).first(7)));
  EXPECT_FALSE(crypto::ConstantTimeEqual(ByteView(a).first(7), a));
  EXPECT_FALSE(crypto::ConstantTimeEqual(Bytes{}, Bytes{0}));
  EXPECT_FALSE(crypto::ConstantTimeEqual(Bytes{0}, Bytes{}));
}

}  // namespace
}  // namespace dmcard
