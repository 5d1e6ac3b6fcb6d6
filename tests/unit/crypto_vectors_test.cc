// Known-answer tests of the card's crypto facade (mbed TLS) against published vectors kept in
// tests/data/crypto/*.data; each file's header names its source.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "crypto_results.h"
#include "runtime/bytes.h"
#include "vector_file.h"

namespace dmcard {
namespace {

using crypto::CryptoStatus;
using crypto::HashAlg;
using testing::LoadVectorFile;
using testing::VectorCase;

std::string Hex(ByteView b) { return ToHex(b); }

Bytes Concat(ByteView a, ByteView b) {
  Bytes out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

// Message of a digest case: msg, repeated `repeat` times (big-endian count) when present.
Bytes Message(const VectorCase& c) {
  const Bytes& msg = c.Get("msg");
  if (!c.Has("repeat")) return msg;
  size_t count = 0;
  for (uint8_t b : c.Get("repeat")) count = (count << 8) | b;
  Bytes out;
  out.reserve(msg.size() * count);
  for (size_t i = 0; i < count; ++i) out.insert(out.end(), msg.begin(), msg.end());
  return out;
}

// ---- the reader itself ------------------------------------------------------------------------

TEST(CryptoVectorFile, ParsesCasesAndSkipsComments) {
  std::vector<VectorCase> cases;
  std::string error;
  const char* text =
      "# header\n"
      "\n"
      "first case | a=00ff | empty= | B_2 = AbCd \r\n"
      "   # indented comment\n"
      "second | x=01\n";
  ASSERT_TRUE(testing::ParseVectorText(text, "mem.data", cases, error)) << error;
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].description, "first case");
  EXPECT_EQ(cases[0].line, 3);
  EXPECT_EQ(cases[0].fields.at("a"), (Bytes{0x00, 0xFF}));
  EXPECT_TRUE(cases[0].fields.at("empty").empty());
  EXPECT_EQ(cases[0].fields.at("B_2"), (Bytes{0xAB, 0xCD}));
  EXPECT_EQ(cases[1].line, 5);
  EXPECT_EQ(cases[1].Where(), "mem.data:5: second");
}

TEST(CryptoVectorFile, RejectsMalformedLines) {
  const char* bad[] = {
      "no fields at all", " | a=00",     "desc | a=0",    "desc | a=0g",    "desc | a=00 | a=01",
      "desc | =00",       "desc | a 00", "desc | a-b=00", "desc | a=00 | ", "desc | a=00 11",
  };
  for (const char* line : bad) {
    SCOPED_TRACE(line);
    std::vector<VectorCase> cases;
    std::string error;
    EXPECT_FALSE(testing::ParseVectorText(std::string("ok | a=00\n") + line + "\n", "mem.data",
                                          cases, error));
    EXPECT_NE(error.find("mem.data:2:"), std::string::npos) << error;
  }
}

TEST(CryptoVectorFile, MissingFileIsAFailureNotASkip) {
  EXPECT_NONFATAL_FAILURE(LoadVectorFile("crypto/no_such_file.data"), "cannot open");
}

TEST(CryptoVectorFile, MissingFieldIsAFailure) {
  EXPECT_NONFATAL_FAILURE(
      {
        std::vector<VectorCase> cases;
        std::string error;
        testing::ParseVectorText("case | a=00\n", "mem.data", cases, error);
        cases.at(0).Get("b");
      },
      "mem.data:1: case: missing field 'b'");
}

// ---- digests ----------------------------------------------------------------------------------

void CheckDigests(const std::string& file, HashAlg alg, size_t expected_cases) {
  const auto cases = LoadVectorFile(file);
  EXPECT_EQ(cases.size(), expected_cases);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.Where());
    const Bytes msg = Message(c);
    if (alg != HashAlg::kMd5) {
      const Bytes direct = alg == HashAlg::kSha1 ? testing::Sha1Of(msg) : testing::Sha256Of(msg);
      EXPECT_EQ(Hex(direct), Hex(c.Get("md")));
    }
    EXPECT_EQ(Hex(testing::HashOf(alg, msg)), Hex(c.Get("md")));
  }
}

TEST(CryptoVectors, Sha1) { CheckDigests("crypto/sha1.data", HashAlg::kSha1, 4); }

TEST(CryptoVectors, Sha256) { CheckDigests("crypto/sha256.data", HashAlg::kSha256, 4); }

TEST(CryptoVectors, Md5) { CheckDigests("crypto/md5.data", HashAlg::kMd5, 7); }

// MD5 is the OMA DM credentials' digest and nothing else's: no HMAC-MD5, no signature over it.
TEST(CryptoBadInput, Md5OnlyForDigests) {
  Bytes out;
  EXPECT_EQ(crypto::Hmac(HashAlg::kMd5, Bytes(16, 1), Bytes{1, 2, 3}, out),
            CryptoStatus::kBadInput);
  EXPECT_EQ(
      crypto::EcdsaP256SignDigestDeterministic(Bytes(32, 1), Bytes(16, 2), HashAlg::kMd5, out),
      CryptoStatus::kBadInput);
  EXPECT_TRUE(out.empty());
}

// ---- base64 -----------------------------------------------------------------------------------

std::string Text(ByteView b) { return std::string(b.begin(), b.end()); }

TEST(CryptoVectors, Base64) {
  const auto cases = LoadVectorFile("crypto/base64.data");
  EXPECT_EQ(cases.size(), 7u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.Where());
    std::string text = "old";
    ASSERT_EQ(crypto::Base64Encode(c.Get("data"), text), CryptoStatus::kOk);
    EXPECT_EQ(text, Text(c.Get("text")));
    Bytes data = {0xEE};
    ASSERT_EQ(crypto::Base64Decode(Text(c.Get("text")), data), CryptoStatus::kOk);
    EXPECT_EQ(Hex(data), Hex(c.Get("data")));
  }
}

// RFC 4648 §3.3 and §3.5: only the canonical encoding is taken; nothing is written on a refusal.
TEST(CryptoBadInput, Base64DecodeIsStrict) {
  const char* bad[] = {
      "Zg",      // no padding
      "Zg=",     // short padding
      "Zg===",   // too much padding
      "Z===",    // a lone character
      "Zh==",    // unused bits not zero (non-canonical "f")
      "Zm9=",    // unused bits not zero (non-canonical "fo")
      "Zm 9v",   // a space
      "Zm9v\n",  // a line break
      "Zm9v\r\nZm9v",
      "Zm=v",      // padding inside
      "=Zm9",      // padding first
      "Zm9v====",  // a block of padding
      "Zm9-",      // base64url alphabet
      "Zm9_",
  };
  for (const char* text : bad) {
    SCOPED_TRACE(text);
    Bytes out = {0xAA};
    EXPECT_EQ(crypto::Base64Decode(text, out), CryptoStatus::kBadInput);
    EXPECT_EQ(out, Bytes{0xAA});
  }
  Bytes out = {0xAA};
  EXPECT_EQ(crypto::Base64Decode(std::string_view("Zm9v\0", 5), out), CryptoStatus::kBadInput);
  EXPECT_EQ(crypto::Base64Decode(std::string_view("Zm9vYg=\0", 8), out), CryptoStatus::kBadInput);
  EXPECT_EQ(out, Bytes{0xAA});
}

// ---- HMAC -------------------------------------------------------------------------------------

void CheckHmac(const std::string& file, HashAlg alg, size_t expected_cases) {
  const auto cases = LoadVectorFile(file);
  EXPECT_EQ(cases.size(), expected_cases);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.Where());
    const Bytes& want = c.Get("mac");
    const Bytes got = testing::HmacOf(alg, c.Get("key"), c.Get("data"));
    ASSERT_EQ(got.size(), alg == HashAlg::kSha1 ? 20u : 32u);
    ASSERT_LE(want.size(), got.size());
    ASSERT_GE(want.size(), 16u);  // truncated tags (RFC 4231 case 5) keep at least 128 bits
    EXPECT_EQ(Hex(ByteView(got).first(want.size())), Hex(want));
  }
}

TEST(CryptoVectors, HmacSha1) { CheckHmac("crypto/hmac_sha1.data", HashAlg::kSha1, 7); }

TEST(CryptoVectors, HmacSha256) { CheckHmac("crypto/hmac_sha256.data", HashAlg::kSha256, 7); }

// ---- AES --------------------------------------------------------------------------------------

TEST(CryptoVectors, AesEcb) {
  const auto cases = LoadVectorFile("crypto/aes_ecb.data");
  EXPECT_EQ(cases.size(), 3u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.Where());
    Bytes out;
    ASSERT_EQ(crypto::AesEcbEncrypt(c.Get("key"), c.Get("pt"), out), CryptoStatus::kOk);
    EXPECT_EQ(Hex(out), Hex(c.Get("ct")));
    ASSERT_EQ(crypto::AesEcbDecrypt(c.Get("key"), c.Get("ct"), out), CryptoStatus::kOk);
    EXPECT_EQ(Hex(out), Hex(c.Get("pt")));
  }
}

TEST(CryptoVectors, AesCbc) {
  const auto cases = LoadVectorFile("crypto/aes_cbc.data");
  EXPECT_EQ(cases.size(), 3u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.Where());
    Bytes out;
    ASSERT_EQ(crypto::AesCbcEncrypt(c.Get("key"), c.Get("iv"), c.Get("pt"), out),
              CryptoStatus::kOk);
    EXPECT_EQ(Hex(out), Hex(c.Get("ct")));
    ASSERT_EQ(crypto::AesCbcDecrypt(c.Get("key"), c.Get("iv"), c.Get("ct"), out),
              CryptoStatus::kOk);
    EXPECT_EQ(Hex(out), Hex(c.Get("pt")));
    // CBC chains: encrypting the last block alone, with the previous ciphertext block as IV,
    // gives the last ciphertext block.
    const ByteView ct = c.Get("ct");
    const ByteView pt = c.Get("pt");
    ASSERT_EQ(crypto::AesCbcEncrypt(c.Get("key"), ct.subspan(ct.size() - 32, 16),
                                    pt.subspan(pt.size() - 16), out),
              CryptoStatus::kOk);
    EXPECT_EQ(Hex(out), Hex(ct.subspan(ct.size() - 16)));
  }
}

TEST(CryptoVectors, AesCmac) {
  const auto cases = LoadVectorFile("crypto/aes_cmac.data");
  EXPECT_EQ(cases.size(), 12u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.Where());
    Bytes mac;
    ASSERT_EQ(crypto::AesCmac(c.Get("key"), c.Get("msg"), mac), CryptoStatus::kOk);
    EXPECT_EQ(Hex(mac), Hex(c.Get("mac")));
  }
}

// ---- CTR_DRBG ---------------------------------------------------------------------------------

TEST(CryptoVectors, CtrDrbgAes256NoPredictionResistance) {
  const auto cases = LoadVectorFile("crypto/ctr_drbg.data");
  EXPECT_EQ(cases.size(), 2u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.Where());
    auto drbg = crypto::Drbg::FromSeed(c.Get("entropy"), c.Get("nonce"), c.Get("pers"));
    ASSERT_NE(drbg, nullptr);
    Bytes out(c.Get("returned").size());
    ASSERT_EQ(drbg->Generate(out, c.Get("add1")), CryptoStatus::kOk);
    ASSERT_EQ(drbg->Generate(out, c.Get("add2")), CryptoStatus::kOk);
    EXPECT_EQ(Hex(out), Hex(c.Get("returned")));
  }
}

// ---- ECDSA P-256 ------------------------------------------------------------------------------

TEST(CryptoVectors, EcdsaP256Rfc6979) {
  const auto cases = LoadVectorFile("crypto/ecdsa_p256_rfc6979.data");
  EXPECT_EQ(cases.size(), 2u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.Where());
    const Bytes& d = c.Get("d");
    const Bytes& q = c.Get("q");
    Bytes pub;
    ASSERT_EQ(crypto::EcP256PublicFromPrivate(d, pub), CryptoStatus::kOk);
    EXPECT_EQ(Hex(pub), Hex(q));
    int checked = 0;
    for (const auto& [field, alg] :
         {std::pair{"sig_sha1", HashAlg::kSha1}, std::pair{"sig_sha256", HashAlg::kSha256}}) {
      if (!c.Has(field)) continue;
      SCOPED_TRACE(field);
      ++checked;
      const Bytes digest = testing::HashOf(alg, c.Get("msg"));
      const Bytes& want = c.Get(field);
      Bytes sig;
      ASSERT_EQ(crypto::EcdsaP256SignDigestDeterministic(d, digest, alg, sig), CryptoStatus::kOk);
      EXPECT_EQ(Hex(sig), Hex(want));
      EXPECT_EQ(crypto::EcdsaP256VerifyDigest(q, digest, want), CryptoStatus::kOk);
      // The conversions round-trip on the published signature.
      Bytes der, raw;
      ASSERT_EQ(crypto::EcdsaRawToDer(want, der), CryptoStatus::kOk);
      ASSERT_EQ(crypto::EcdsaDerToRaw(der, raw), CryptoStatus::kOk);
      EXPECT_EQ(Hex(raw), Hex(want));
    }
    EXPECT_EQ(checked, 2);
  }
}

TEST(CryptoVectors, EcdsaP256Sha256Verify) {
  const auto cases = LoadVectorFile("crypto/ecdsa_p256_verify.data");
  EXPECT_EQ(cases.size(), 7u);
  int valid = 0, invalid = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.Where());
    const Bytes q = Concat(Bytes{0x04}, Concat(c.Get("qx"), c.Get("qy")));
    const Bytes sig = Concat(c.Get("r"), c.Get("s"));
    const Bytes digest = testing::Sha256Of(c.Get("msg"));
    const Bytes& v = c.Get("valid");
    ASSERT_EQ(v.size(), 1u);
    ASSERT_TRUE(v[0] == 0 || v[0] == 1);
    const bool expect_valid = v[0] == 1;
    (expect_valid ? valid : invalid)++;
    EXPECT_EQ(crypto::EcdsaP256VerifyDigest(q, digest, sig),
              expect_valid ? CryptoStatus::kOk : CryptoStatus::kVerifyFailed);
  }
  EXPECT_GE(valid, 1);
  EXPECT_GE(invalid, 1);
}

}  // namespace
}  // namespace dmcard
