// The key store (runtime/key_store.h): keys loaded through KeyLoader and used by handle, each
// operation checked against published vectors (tests/data/crypto/*.data: NIST SP 800-38A, RFC
// 4493, RFC 4231, RFC 6979) or against OpenSSL (host/scp03_host); every usage allows its operations
// and no other; no result of any call carries key material; counters, limits and key-set state
// persist as documented; a power cut at every write of a key-set load leaves the old set or
// the new one.
//
// Requirements: SC2 / SEC1 (keys on the card are usable but never readable), SC8 (key sets bound
// to principals for authentication).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "crypto_results.h"
#include "host/scp03_host.h"
#include "runtime/applet.h"
#include "runtime/key_store.h"
#include "runtime/persistent_store.h"
#include "runtime/storage_medium.h"
#include "vector_file.h"

namespace dmcard {
namespace {

using crypto::HashAlg;
using testing::LoadVectorFile;

Bytes H(std::string_view hex) {
  auto b = FromHex(hex);
  EXPECT_TRUE(b.has_value()) << hex;
  return b.value_or(Bytes{});
}

KeyType AesType(size_t length) {
  return length == 16 ? KeyType::kAes128 : length == 24 ? KeyType::kAes192 : KeyType::kAes256;
}

// An SCP03 KDF block (Amendment D §4.1.5) for `constant` with i = 1 and `context`.
Bytes KdfBlock(uint8_t constant, uint16_t bits, ByteView context, uint8_t i = 1) {
  Bytes b(11, 0x00);
  b.push_back(constant);
  b.push_back(0x00);
  AppendU16(b, bits);
  b.push_back(i);
  Append(b, context);
  return b;
}

class Runtime_KeyStore : public ::testing::Test {
 protected:
  Runtime_KeyStore() : medium_(std::make_shared<RamMedium>()) { Open(); }
  // (Re)opens the store on the same medium, as a card rebuilt after power-up, and begins the
  // transaction every key-store call runs in.
  void Open() {
    keys_.reset();
    loader_.reset();
    if (store_ && store_->in_transaction()) store_->Abort();
    store_ = std::make_unique<PersistentStore>(medium_, PersistentStore::Options{});
    ASSERT_TRUE(store_->open_error().empty()) << store_->open_error();
    keys_ = std::make_unique<KeyStore>(*store_);
    loader_ = std::make_unique<KeyLoader>(*store_);
    store_->Begin();
  }
  void Commit() {
    ASSERT_EQ(store_->Commit(), StoreStatus::kOk);
    store_->Begin();
  }
  KeyHandle Load(KeyType type, KeyUsage usage, uint8_t kvn, uint8_t id, const Bytes& material,
                 std::string owner = kIssuerPrincipal, uint32_t max_uses = 0) {
    EXPECT_EQ(loader_->Load(KeySpec{type, usage, kvn, id, std::move(owner), max_uses}, material),
              CryptoStatus::kOk);
    auto h = keys_->Find(kvn, id);
    EXPECT_TRUE(h.has_value());
    return h.value();  // throws (a test failure) when the load failed
  }

  std::shared_ptr<RamMedium> medium_;
  std::unique_ptr<PersistentStore> store_;
  std::unique_ptr<KeyStore> keys_;
  std::unique_ptr<KeyLoader> loader_;
};

// ---- operations by handle, against published vectors -----------------------------------------

TEST_F(Runtime_KeyStore, CmacByHandleMatchesRfc4493AndSp80038b) {
  uint8_t id = 1;
  for (const auto& c : LoadVectorFile("crypto/aes_cmac.data")) {
    SCOPED_TRACE(c.Where());
    const Bytes& key = c.Get("key");
    const KeyHandle card_auth =
        Load(AesType(key.size()), KeyUsage::kCardAuthentication, 0x01, id++, key);
    Bytes mac;
    ASSERT_EQ(keys_->Cmac(card_auth, c.Get("msg"), mac), CryptoStatus::kOk);
    EXPECT_EQ(ToHex(mac), ToHex(c.Get("mac")));
    const KeyHandle verifier =
        Load(AesType(key.size()), KeyUsage::kBootstrapVerification, 0x02, id++, key);
    EXPECT_EQ(keys_->VerifyCmac(verifier, c.Get("msg"), c.Get("mac")), CryptoStatus::kOk);
    EXPECT_EQ(keys_->VerifyCmac(verifier, c.Get("msg"), ByteView(c.Get("mac")).first(8)),
              CryptoStatus::kOk);  // a truncated tag
    Bytes wrong = c.Get("mac");
    wrong[0] ^= 0x01;
    EXPECT_EQ(keys_->VerifyCmac(verifier, c.Get("msg"), wrong), CryptoStatus::kVerifyFailed);
  }
}

TEST_F(Runtime_KeyStore, AesByHandleMatchesSp80038a) {
  for (const char* file : {"crypto/aes_ecb.data", "crypto/aes_cbc.data"}) {
    const bool cbc = std::string(file).find("cbc") != std::string::npos;
    const CipherMode mode = cbc ? CipherMode::kCbc : CipherMode::kEcb;
    uint8_t kvn = 0x30;
    for (const auto& c : LoadVectorFile(file)) {
      SCOPED_TRACE(c.Where());
      const Bytes& key = c.Get("key");
      const Bytes iv = cbc ? c.Get("iv") : Bytes{};
      // Encryption is the card-authentication key's; decryption the K-DEK's.
      const KeyHandle enc = Load(AesType(key.size()), KeyUsage::kCardAuthentication, 0x01, 1, key);
      Bytes out;
      ASSERT_EQ(keys_->Encrypt(enc, mode, iv, c.Get("pt"), out), CryptoStatus::kOk);
      EXPECT_EQ(ToHex(out), ToHex(c.Get("ct")));
      const Bytes other(key.size(), 0x5A);
      ASSERT_EQ(loader_->LoadScp03KeySet(kvn, kIssuerPrincipal, other, other, key),
                CryptoStatus::kOk);
      const KeyHandle dek = *keys_->Find(kvn++, 0x03);
      ASSERT_EQ(keys_->Decrypt(dek, mode, iv, c.Get("ct"), out), CryptoStatus::kOk);
      EXPECT_EQ(ToHex(out), ToHex(c.Get("pt")));
      // No padding here: partial blocks and wrong IVs are refused.
      EXPECT_EQ(keys_->Decrypt(dek, mode, iv, ByteView(c.Get("ct")).first(15), out),
                CryptoStatus::kBadInput);
      EXPECT_EQ(keys_->Decrypt(dek, mode, Bytes(cbc ? 8 : 16, 0), c.Get("ct"), out),
                CryptoStatus::kBadInput);
    }
  }
}

TEST_F(Runtime_KeyStore, HmacByHandleMatchesRfc4231AndRfc2202) {
  for (const char* file : {"crypto/hmac_sha256.data", "crypto/hmac_sha1.data"}) {
    const HashAlg alg =
        std::string(file).find("256") != std::string::npos ? HashAlg::kSha256 : HashAlg::kSha1;
    for (const auto& c : LoadVectorFile(file)) {
      SCOPED_TRACE(c.Where());
      const Bytes& key = c.Get("key");
      const Bytes& expected = c.Get("mac");
      const KeySpec credential{
          KeyType::kHmacSecret, KeyUsage::kDmCredential, 0x01, 0x01, "dms.example.test", 0};
      if (key.size() < 16 || key.size() > 64) {  // the store takes 16- to 64-byte secrets
        EXPECT_EQ(loader_->Load(credential, key), CryptoStatus::kBadKey);
        continue;
      }
      ASSERT_EQ(loader_->Load(credential, key), CryptoStatus::kOk);
      const KeyHandle h = *keys_->Find(0x01, 0x01);
      Bytes mac;
      ASSERT_EQ(keys_->Hmac(h, alg, c.Get("data"), mac), CryptoStatus::kOk);
      EXPECT_EQ(ToHex(ByteView(mac).first(expected.size())), ToHex(expected));
      EXPECT_EQ(keys_->VerifyHmac(h, alg, c.Get("data"), expected), CryptoStatus::kOk);
      Bytes wrong = expected;
      wrong.back() ^= 0x80;
      EXPECT_EQ(keys_->VerifyHmac(h, alg, c.Get("data"), wrong), CryptoStatus::kVerifyFailed);
    }
  }
}

TEST_F(Runtime_KeyStore, EcdsaByHandleMatchesRfc6979) {
  for (const auto& c : LoadVectorFile("crypto/ecdsa_p256_rfc6979.data")) {
    SCOPED_TRACE(c.Where());
    const KeyHandle signer =
        Load(KeyType::kEcP256Private, KeyUsage::kCardAuthentication, 0x01, 0x01, c.Get("d"));
    Bytes public_key;
    ASSERT_EQ(keys_->PublicKey(signer, public_key), CryptoStatus::kOk);
    EXPECT_EQ(ToHex(public_key), ToHex(c.Get("q")));  // computed on the card from d
    Bytes sig;
    ASSERT_EQ(keys_->SignDigest(signer, HashAlg::kSha256, testing::Sha256Of(c.Get("msg")), sig),
              CryptoStatus::kOk);
    EXPECT_EQ(ToHex(sig), ToHex(c.Get("sig_sha256")));
    ASSERT_EQ(keys_->SignDigest(signer, HashAlg::kSha1, testing::Sha1Of(c.Get("msg")), sig),
              CryptoStatus::kOk);
    EXPECT_EQ(ToHex(sig), ToHex(c.Get("sig_sha1")));

    const KeyHandle fumo = Load(KeyType::kEcP256Public, KeyUsage::kFumo, 0x02, 0x01, c.Get("q"));
    EXPECT_EQ(keys_->VerifyDigest(fumo, testing::Sha256Of(c.Get("msg")), c.Get("sig_sha256")),
              CryptoStatus::kOk);
    Bytes bad = c.Get("sig_sha256");
    bad[40] ^= 0x01;
    EXPECT_EQ(keys_->VerifyDigest(fumo, testing::Sha256Of(c.Get("msg")), bad),
              CryptoStatus::kVerifyFailed);
    ASSERT_EQ(keys_->PublicKey(fumo, public_key), CryptoStatus::kOk);
    EXPECT_EQ(ToHex(public_key), ToHex(c.Get("q")));
  }
}

// The SCP03 PRF is AES-CMAC under the static key (checked with OpenSSL), for the derivation
// constants of the key's role only.
TEST_F(Runtime_KeyStore, Scp03PrfIsCmacUnderTheStaticKeyForItsOwnConstants) {
  const Bytes enc = H("404142434445464748494a4b4c4d4e4f");
  const Bytes mac = H("505152535455565758595a5b5c5d5e5f");
  const Bytes dek = H("606162636465666768696a6b6c6d6e6f");
  ASSERT_EQ(loader_->LoadScp03KeySet(0x30, kIssuerPrincipal, enc, mac, dek), CryptoStatus::kOk);
  const KeyHandle k_enc = *keys_->Find(0x30, 0x01);
  const KeyHandle k_mac = *keys_->Find(0x30, 0x02);
  const KeyHandle k_dek = *keys_->Find(0x30, 0x03);
  const Bytes context = H("0001020304050607 08090A0B0C0D0E0F");
  Bytes block;
  for (uint8_t constant : {0x02, 0x04}) {
    const Bytes input = KdfBlock(constant, 128, context);
    ASSERT_EQ(keys_->Scp03Prf(k_enc, input, block), CryptoStatus::kOk);
    EXPECT_EQ(ToHex(block), ToHex(HostScp03::AesCmac(enc, input)));
    EXPECT_EQ(keys_->Scp03Prf(k_mac, input, block), CryptoStatus::kUsageRefused);
  }
  for (uint8_t constant : {0x06, 0x07}) {
    const Bytes input = KdfBlock(constant, 128, context);
    ASSERT_EQ(keys_->Scp03Prf(k_mac, input, block), CryptoStatus::kOk);
    EXPECT_EQ(ToHex(block), ToHex(HostScp03::AesCmac(mac, input)));
    EXPECT_EQ(keys_->Scp03Prf(k_enc, input, block), CryptoStatus::kUsageRefused);
  }
  // Cryptograms (00, 01) are made under session keys, never under a static key; the DEK
  // derives nothing; a block that is not a KDF block is refused.
  for (uint8_t constant : {0x00, 0x01, 0x05}) {
    EXPECT_EQ(keys_->Scp03Prf(k_enc, KdfBlock(constant, 64, context), block),
              CryptoStatus::kUsageRefused);
    EXPECT_EQ(keys_->Scp03Prf(k_mac, KdfBlock(constant, 64, context), block),
              CryptoStatus::kUsageRefused);
  }
  EXPECT_EQ(keys_->Scp03Prf(k_dek, KdfBlock(0x04, 128, context), block),
            CryptoStatus::kUsageRefused);
  Bytes not_a_block = KdfBlock(0x04, 128, context);
  not_a_block[3] = 0x01;
  EXPECT_EQ(keys_->Scp03Prf(k_enc, not_a_block, block), CryptoStatus::kBadInput);
  EXPECT_EQ(keys_->Scp03Prf(k_enc, KdfBlock(0x04, 128, context, 0), block),
            CryptoStatus::kBadInput);
  EXPECT_EQ(keys_->Scp03Prf(k_enc, H("0000"), block), CryptoStatus::kBadInput);
  // Only the first block of a derivation counts as a use.
  const uint32_t uses = keys_->Info(k_enc)->uses;
  ASSERT_EQ(keys_->Scp03Prf(k_enc, KdfBlock(0x04, 256, context, 1), block), CryptoStatus::kOk);
  ASSERT_EQ(keys_->Scp03Prf(k_enc, KdfBlock(0x04, 256, context, 2), block), CryptoStatus::kOk);
  EXPECT_EQ(keys_->Info(k_enc)->uses, uses + 1);
}

// ---- usage is enforced --------------------------------------------------------------------------

TEST_F(Runtime_KeyStore, EachUsageAllowsItsOperationsOnly) {
  const Bytes aes = H("000102030405060708090a0b0c0d0e0f");
  ASSERT_EQ(loader_->LoadScp03KeySet(0x31, kIssuerPrincipal, aes, aes, aes), CryptoStatus::kOk);
  const KeyHandle scp_enc = *keys_->Find(0x31, 1);
  const KeyHandle scp_mac = *keys_->Find(0x31, 2);
  const KeyHandle scp_dek = *keys_->Find(0x31, 3);
  const Bytes d = H("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
  const KeyHandle card_ec = Load(KeyType::kEcP256Private, KeyUsage::kCardAuthentication, 1, 1, d);
  Bytes q;
  ASSERT_EQ(keys_->PublicKey(card_ec, q), CryptoStatus::kOk);
  const KeyHandle fumo = Load(KeyType::kEcP256Public, KeyUsage::kFumo, 2, 1, q);
  const KeyHandle boot =
      Load(KeyType::kHmacSecret, KeyUsage::kBootstrapVerification, 3, 1, Bytes(32, 0x11));
  const KeyHandle cred = Load(KeyType::kHmacSecret, KeyUsage::kDmCredential, 4, 1, Bytes(32, 0x22),
                              "dms.example.test");
  const KeyHandle card_aes = Load(KeyType::kAes128, KeyUsage::kCardAuthentication, 5, 1, aes);

  const Bytes block(16, 0x33), iv(16, 0x00), digest(32, 0x44), sig(64, 0x01);
  Bytes out;
  struct Row {
    const char* name;
    KeyHandle key;
    bool cmac, verify_cmac, encrypt, decrypt, hmac, verify_hmac, sign, verify;
  };
  const Row rows[] = {
      //                         cmac   vcmac  enc    dec    hmac   vhmac  sign   verify
      {"SCP03 K-ENC", scp_enc, false, false, false, false, false, false, false, false},
      {"SCP03 K-MAC", scp_mac, false, false, false, false, false, false, false, false},
      {"SCP03 K-DEK", scp_dek, false, false, false, true, false, false, false, false},
      {"card auth EC", card_ec, false, false, false, false, false, false, true, false},
      {"FUMO EC public", fumo, false, false, false, false, false, false, false, true},
      {"bootstrap HMAC", boot, false, false, false, false, false, true, false, false},
      {"DM credential HMAC", cred, false, false, false, false, true, true, false, false},
      {"card auth AES", card_aes, true, false, true, false, false, false, false, false},
  };
  auto allowed = [](CryptoStatus s) {
    return s != CryptoStatus::kUsageRefused;  // a wrong tag or signature is still an allowed call
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.name);
    EXPECT_EQ(allowed(keys_->Cmac(r.key, block, out)), r.cmac);
    EXPECT_EQ(allowed(keys_->VerifyCmac(r.key, block, Bytes(16, 0))), r.verify_cmac);
    EXPECT_EQ(allowed(keys_->Encrypt(r.key, CipherMode::kCbc, iv, block, out)), r.encrypt);
    EXPECT_EQ(allowed(keys_->Decrypt(r.key, CipherMode::kEcb, {}, block, out)), r.decrypt);
    EXPECT_EQ(allowed(keys_->Hmac(r.key, HashAlg::kSha256, block, out)), r.hmac);
    EXPECT_EQ(allowed(keys_->VerifyHmac(r.key, HashAlg::kSha256, block, Bytes(32, 0))),
              r.verify_hmac);
    EXPECT_EQ(allowed(keys_->SignDigest(r.key, HashAlg::kSha256, digest, out)), r.sign);
    EXPECT_EQ(allowed(keys_->VerifyDigest(r.key, digest, sig)), r.verify);
  }
  // Only EC keys have a public key to export.
  EXPECT_EQ(keys_->PublicKey(scp_mac, out), CryptoStatus::kUsageRefused);
  EXPECT_EQ(keys_->PublicKey(cred, out), CryptoStatus::kUsageRefused);
  EXPECT_EQ(keys_->PublicKey(fumo, out), CryptoStatus::kOk);
  // A refused call counts no use.
  EXPECT_EQ(keys_->Info(scp_mac)->uses, 0u);
}

TEST_F(Runtime_KeyStore, LoaderRefusesWhatTheStoreCannotHoldSafely) {
  const Bytes k16(16, 0x01);
  auto load = [&](KeyType t, KeyUsage u, uint8_t kvn, uint8_t id, const Bytes& m,
                  std::string owner = kIssuerPrincipal) {
    return loader_->Load(KeySpec{t, u, kvn, id, std::move(owner), 0}, m);
  };
  EXPECT_EQ(load(KeyType::kAes128, KeyUsage::kCardAuthentication, 1, 1, Bytes(15, 1)),
            CryptoStatus::kBadKey);
  EXPECT_EQ(load(KeyType::kAes256, KeyUsage::kCardAuthentication, 1, 1, k16),
            CryptoStatus::kBadKey);
  EXPECT_EQ(load(KeyType::kAes128, KeyUsage::kCardAuthentication, 0x00, 1, k16),
            CryptoStatus::kBadKey);
  EXPECT_EQ(load(KeyType::kAes128, KeyUsage::kCardAuthentication, 0x80, 1, k16),
            CryptoStatus::kBadKey);
  EXPECT_EQ(load(KeyType::kAes128, KeyUsage::kCardAuthentication, 1, 0x00, k16),
            CryptoStatus::kBadKey);
  // Usage and type must go together: an SCP03 member is AES, a signing key EC private.
  EXPECT_EQ(load(KeyType::kHmacSecret, KeyUsage::kScp03Mac, 1, 1, Bytes(32, 1)),
            CryptoStatus::kBadKey);
  EXPECT_EQ(load(KeyType::kEcP256Public, KeyUsage::kCardAuthentication, 1, 1, Bytes(65, 4)),
            CryptoStatus::kBadKey);
  // Not a point on P-256; a private scalar of 0.
  Bytes not_a_point(65, 0x01);
  not_a_point[0] = 0x04;
  EXPECT_EQ(load(KeyType::kEcP256Public, KeyUsage::kFumo, 1, 1, not_a_point),
            CryptoStatus::kBadKey);
  EXPECT_EQ(load(KeyType::kEcP256Private, KeyUsage::kCardAuthentication, 1, 1, Bytes(32, 0)),
            CryptoStatus::kBadKey);
  // Owners: '@' names are reserved, only the issuer's may own keys.
  EXPECT_EQ(load(KeyType::kAes128, KeyUsage::kDmCredential, 1, 1, k16, "@user"),
            CryptoStatus::kBadKey);
  EXPECT_EQ(load(KeyType::kAes128, KeyUsage::kDmCredential, 1, 1, k16, "@device"),
            CryptoStatus::kBadKey);
  EXPECT_EQ(load(KeyType::kAes128, KeyUsage::kDmCredential, 1, 1, k16, ""), CryptoStatus::kBadKey);
  EXPECT_EQ(load(KeyType::kAes128, KeyUsage::kDmCredential, 1, 1, k16, "a b"),
            CryptoStatus::kBadKey);
  EXPECT_EQ(load(KeyType::kAes128, KeyUsage::kDmCredential, 1, 1, k16, std::string(129, 'a')),
            CryptoStatus::kBadKey);
  // SCP03 key sets: KVN 30-3F, three keys of one AES length, a failure limit.
  EXPECT_EQ(loader_->LoadScp03KeySet(0x2F, kIssuerPrincipal, k16, k16, k16), CryptoStatus::kBadKey);
  EXPECT_EQ(loader_->LoadScp03KeySet(0x40, kIssuerPrincipal, k16, k16, k16), CryptoStatus::kBadKey);
  EXPECT_EQ(loader_->LoadScp03KeySet(0x30, kIssuerPrincipal, k16, Bytes(24, 1), k16),
            CryptoStatus::kBadKey);
  EXPECT_EQ(loader_->LoadScp03KeySet(0x30, kIssuerPrincipal, Bytes(8, 1), Bytes(8, 1), Bytes(8, 1)),
            CryptoStatus::kBadKey);
  EXPECT_EQ(loader_->LoadScp03KeySet(0x30, "@user", k16, k16, k16), CryptoStatus::kBadKey);
  EXPECT_EQ(loader_->LoadScp03KeySet(0x30, kIssuerPrincipal, k16, k16, k16, 0),
            CryptoStatus::kBadKey);
  EXPECT_TRUE(keys_->List().empty());  // nothing of the refused loads stayed

  // One owner per key set.
  ASSERT_EQ(load(KeyType::kAes128, KeyUsage::kDmCredential, 0x30, 0x04, k16, "dms.example.test"),
            CryptoStatus::kOk);
  EXPECT_EQ(loader_->LoadScp03KeySet(0x30, kIssuerPrincipal, k16, k16, k16), CryptoStatus::kBadKey);
  EXPECT_EQ(keys_->List().size(), 1u);  // all three or none
  EXPECT_EQ(loader_->LoadScp03KeySet(0x30, "dms.example.test", k16, k16, k16), CryptoStatus::kOk);
  EXPECT_EQ(keys_->List().size(), 4u);
}

// ---- finding keys, counters, key-set state -------------------------------------------------

TEST_F(Runtime_KeyStore, KeysAreFoundByReferenceOrByUsageAndOwnerAcrossPowerUp) {
  const Bytes k(16, 0x07);
  ASSERT_EQ(loader_->LoadScp03KeySet(0x32, "dms.example.test", k, k, k), CryptoStatus::kOk);
  ASSERT_EQ(loader_->LoadScp03KeySet(0x30, kIssuerPrincipal, k, k, k), CryptoStatus::kOk);
  Load(KeyType::kHmacSecret, KeyUsage::kDmCredential, 0x05, 0x02, Bytes(20, 3), "dms.example.test");
  Commit();
  Open();  // a card rebuilt on the same memory

  const std::vector<KeyHandle> all = keys_->List();
  ASSERT_EQ(all.size(), 7u);
  std::vector<std::pair<int, int>> refs;
  for (KeyHandle h : all) refs.emplace_back(keys_->Info(h)->kvn, keys_->Info(h)->id);
  EXPECT_EQ(refs,
            (std::vector<std::pair<int, int>>{
                {0x05, 2}, {0x30, 1}, {0x30, 2}, {0x30, 3}, {0x32, 1}, {0x32, 2}, {0x32, 3}}));

  EXPECT_EQ(keys_->FindByUsage(KeyUsage::kScp03Mac, kIssuerPrincipal), keys_->Find(0x30, 2));
  EXPECT_EQ(keys_->FindByUsage(KeyUsage::kScp03Mac, "dms.example.test"), keys_->Find(0x32, 2));
  EXPECT_EQ(keys_->FindByUsage(KeyUsage::kDmCredential, "dms.example.test"), keys_->Find(5, 2));
  EXPECT_FALSE(keys_->FindByUsage(KeyUsage::kDmCredential, kIssuerPrincipal).has_value());
  EXPECT_FALSE(keys_->FindByUsage(KeyUsage::kScp03Enc, "other.example.test").has_value());
  EXPECT_FALSE(keys_->Find(0x31, 1).has_value());

  const KeyInfo info = *keys_->Info(*keys_->Find(0x32, 3));
  EXPECT_EQ(info.type, KeyType::kAes128);
  EXPECT_EQ(info.usage, KeyUsage::kScp03Dek);
  EXPECT_EQ(info.owner, "dms.example.test");
  EXPECT_EQ(info.uses, 0u);
  EXPECT_EQ(info.max_uses, 0u);

  // Erased: the handle finds nothing any more.
  const KeyHandle gone = *keys_->Find(5, 2);
  ASSERT_EQ(loader_->Erase(5, 2), CryptoStatus::kOk);
  Bytes mac;
  EXPECT_EQ(keys_->Hmac(gone, HashAlg::kSha256, mac, mac), CryptoStatus::kNotFound);
  EXPECT_FALSE(keys_->Info(gone).has_value());
  EXPECT_EQ(loader_->Erase(5, 2), CryptoStatus::kNotFound);
}

TEST_F(Runtime_KeyStore, UsesAreCountedAndALimitIsDurable) {
  const Bytes k(16, 0x09);
  const KeyHandle free_key = Load(KeyType::kAes128, KeyUsage::kCardAuthentication, 1, 1, k);
  const KeyHandle limited =
      Load(KeyType::kAes128, KeyUsage::kCardAuthentication, 1, 2, k, kIssuerPrincipal, 2);
  Commit();
  Bytes mac;
  ASSERT_EQ(keys_->Cmac(free_key, k, mac), CryptoStatus::kOk);
  ASSERT_EQ(keys_->Cmac(limited, k, mac), CryptoStatus::kOk);
  EXPECT_EQ(keys_->Info(free_key)->uses, 1u);
  EXPECT_EQ(keys_->Info(limited)->uses, 1u);
  // The command is refused: the free key's use goes with it, the limited key's stays.
  store_->Abort();
  store_->Begin();
  EXPECT_EQ(keys_->Info(free_key)->uses, 0u);
  EXPECT_EQ(keys_->Info(limited)->uses, 1u);
  Open();
  EXPECT_EQ(keys_->Info(limited)->uses, 1u);
  ASSERT_EQ(keys_->Cmac(limited, k, mac), CryptoStatus::kOk);
  EXPECT_EQ(keys_->Cmac(limited, k, mac), CryptoStatus::kExhausted);
  EXPECT_EQ(keys_->Info(limited)->uses, 2u);
  // Reloading the key starts it afresh.
  Load(KeyType::kAes128, KeyUsage::kCardAuthentication, 1, 2, k, kIssuerPrincipal, 2);
  EXPECT_EQ(keys_->Info(limited)->uses, 0u);
  EXPECT_EQ(keys_->Cmac(limited, k, mac), CryptoStatus::kOk);
}

TEST_F(Runtime_KeyStore, FailedAuthenticationsBlockTheSetDurably) {
  const Bytes k(16, 0x0A);
  ASSERT_EQ(loader_->LoadScp03KeySet(0x30, kIssuerPrincipal, k, k, k, 3), CryptoStatus::kOk);
  Commit();
  const KeyHandle dek = *keys_->Find(0x30, 3);
  ASSERT_EQ(keys_->CountAuthenticationAttempt(0x30), CryptoStatus::kOk);
  ASSERT_EQ(keys_->ClearFailedAuthentications(0x30), CryptoStatus::kOk);  // a success
  Commit();
  EXPECT_EQ(keys_->SetState(0x30)->failed_authentications, 0);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(keys_->CountAuthenticationAttempt(0x30), CryptoStatus::kOk);
    store_->Abort();  // each failure is answered with an error: the count stays
    store_->Begin();
  }
  Open();
  EXPECT_TRUE(keys_->SetState(0x30)->blocked());
  EXPECT_EQ(keys_->CountAuthenticationAttempt(0x30), CryptoStatus::kBlocked);
  Bytes out;
  EXPECT_EQ(keys_->Decrypt(dek, CipherMode::kEcb, {}, Bytes(16, 0), out), CryptoStatus::kBlocked);
  EXPECT_EQ(keys_->Scp03Prf(*keys_->Find(0x30, 1), KdfBlock(4, 128, Bytes(16, 0)), out),
            CryptoStatus::kBlocked);
  // Loading the set anew (issuer personalization) unblocks it.
  ASSERT_EQ(loader_->LoadScp03KeySet(0x30, kIssuerPrincipal, k, k, k, 3), CryptoStatus::kOk);
  EXPECT_FALSE(keys_->SetState(0x30)->blocked());
  EXPECT_EQ(keys_->Decrypt(dek, CipherMode::kEcb, {}, Bytes(16, 0), out), CryptoStatus::kOk);
}

TEST_F(Runtime_KeyStore, SequenceCounterIsDurableAndNeverRestarts) {
  const Bytes k(16, 0x0B);
  EXPECT_FALSE(keys_->SetState(0x30).has_value());
  uint32_t v = 0;
  EXPECT_EQ(keys_->NextSequenceCounter(0x30, v), CryptoStatus::kNotFound);
  ASSERT_EQ(loader_->LoadScp03KeySet(0x30, kIssuerPrincipal, k, k, k), CryptoStatus::kOk);
  Commit();
  ASSERT_EQ(keys_->NextSequenceCounter(0x30, v), CryptoStatus::kOk);
  EXPECT_EQ(v, 1u);
  store_->Abort();  // refused command: the counter stays moved
  store_->Begin();
  ASSERT_EQ(keys_->NextSequenceCounter(0x30, v), CryptoStatus::kOk);
  EXPECT_EQ(v, 2u);
  Open();
  EXPECT_EQ(keys_->SetState(0x30)->sequence_counter, 2u);
  // Neither reloading nor erasing the set restarts it.
  ASSERT_EQ(loader_->LoadScp03KeySet(0x30, kIssuerPrincipal, k, k, k), CryptoStatus::kOk);
  for (uint8_t id : {1, 2, 3}) ASSERT_EQ(loader_->Erase(0x30, id), CryptoStatus::kOk);
  ASSERT_EQ(loader_->LoadScp03KeySet(0x30, kIssuerPrincipal, k, k, k), CryptoStatus::kOk);
  ASSERT_EQ(keys_->NextSequenceCounter(0x30, v), CryptoStatus::kOk);
  EXPECT_EQ(v, 3u);
  // At its end (24 bits) it stops instead of wrapping: the record as key_store.h describes it.
  ASSERT_EQ(store_->Put("card/key/30/state", H("01 FFFFFE 00 0A")), StoreStatus::kOk);
  ASSERT_EQ(keys_->NextSequenceCounter(0x30, v), CryptoStatus::kOk);
  EXPECT_EQ(v, 0xFFFFFFu);
  EXPECT_EQ(keys_->NextSequenceCounter(0x30, v), CryptoStatus::kExhausted);
  EXPECT_EQ(keys_->SetState(0x30)->sequence_counter, 0xFFFFFFu);
}

// ---- no API path returns secret bytes -------------------------------------------------------

// True when `haystack` holds any 6-byte run of `secret`.
bool Leaks(ByteView haystack, ByteView secret) {
  constexpr size_t kWindow = 6;
  for (size_t i = 0; i + kWindow <= secret.size(); ++i) {
    const ByteView w = secret.subspan(i, kWindow);
    if (std::search(haystack.begin(), haystack.end(), w.begin(), w.end()) != haystack.end()) {
      return true;
    }
  }
  return false;
}

TEST_F(Runtime_KeyStore, NoResultOfAnyCallHoldsKeyMaterial) {
  // Distinct, recognisable secrets of every type.
  std::vector<Bytes> secrets;
  auto secret = [&](size_t n, uint8_t seed) {
    Bytes s(n);
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<uint8_t>(seed + 37 * i + (i >> 3));
    secrets.push_back(s);
    return s;
  };
  for (uint8_t kvn = 0x30; kvn <= 0x32; ++kvn) {
    const size_t n = 16 + 8 * (kvn - 0x30);
    ASSERT_EQ(
        loader_->LoadScp03KeySet(kvn, kvn == 0x30 ? kIssuerPrincipal : "dms.example.test",
                                 secret(n, kvn), secret(n, kvn + 0x40), secret(n, kvn + 0x80)),
        CryptoStatus::kOk);
  }
  const Bytes d = H("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
  secrets.push_back(d);
  Load(KeyType::kEcP256Private, KeyUsage::kCardAuthentication, 1, 1, d);
  Load(KeyType::kHmacSecret, KeyUsage::kDmCredential, 2, 1, secret(48, 0x11), "dms.example.test");
  Load(KeyType::kHmacSecret, KeyUsage::kBootstrapVerification, 3, 1, secret(32, 0x22));
  Load(KeyType::kAes256, KeyUsage::kCardAuthentication, 4, 1, secret(32, 0x33));
  Load(KeyType::kAes192, KeyUsage::kDmCredential, 5, 1, secret(24, 0x44), "dms.example.test");
  auto pair_key =
      KeySpec{KeyType::kEcP256Private, KeyUsage::kCardAuthentication, 6, 1, kIssuerPrincipal, 0};
  auto rng = crypto::Drbg::FromSeed(Bytes(32, 0x5C));
  ASSERT_EQ(loader_->Generate(pair_key, *rng), CryptoStatus::kOk);
  Commit();

  // Every result of every call, with every key and with inputs that are the secrets themselves
  // (a MAC or ciphertext of a key is no key; an echo of one would be).
  std::vector<Bytes> results;
  auto keep = [&](const Bytes& b) { results.push_back(b); };
  auto text = [&](std::string_view s) { keep(Bytes(s.begin(), s.end())); };
  std::vector<Bytes> inputs = {Bytes(16, 0), Bytes(32, 0x01), Bytes(64, 0x02)};
  for (const Bytes& s : secrets) inputs.push_back(s);
  for (KeyHandle h : keys_->List()) {
    const KeyInfo info = *keys_->Info(h);
    text(info.owner);
    keep({static_cast<uint8_t>(info.type), static_cast<uint8_t>(info.usage), info.kvn, info.id});
    for (const Bytes& in : inputs) {
      Bytes out;
      for (CipherMode mode : {CipherMode::kEcb, CipherMode::kCbc}) {
        const Bytes iv = mode == CipherMode::kCbc ? Bytes(16, 0) : Bytes{};
        text(ToString(keys_->Encrypt(h, mode, iv, in, out)));
        keep(out);
        text(ToString(keys_->Decrypt(h, mode, iv, in, out)));
        keep(out);
      }
      text(ToString(keys_->Cmac(h, in, out)));
      keep(out);
      text(ToString(keys_->VerifyCmac(h, in, ByteView(in).first(std::min<size_t>(16, in.size())))));
      for (HashAlg alg : {HashAlg::kSha1, HashAlg::kSha256}) {
        text(ToString(keys_->Hmac(h, alg, in, out)));
        keep(out);
        text(ToString(keys_->VerifyHmac(h, alg, in, ByteView(in).first(16))));
        const Bytes digest = testing::HashOf(alg, in);
        text(ToString(keys_->SignDigest(h, alg, digest, out)));
        keep(out);
        text(ToString(keys_->VerifyDigest(h, digest, Bytes(64, 0x03))));
      }
      for (uint8_t constant : {0x00, 0x01, 0x02, 0x04, 0x06, 0x07}) {
        text(ToString(keys_->Scp03Prf(h, KdfBlock(constant, 128, in), out)));
        keep(out);
      }
    }
    Bytes public_key;
    text(ToString(keys_->PublicKey(h, public_key)));
    keep(public_key);
  }
  for (uint8_t kvn = 0x30; kvn <= 0x32; ++kvn) {
    const KeySetState s = *keys_->SetState(kvn);
    keep({static_cast<uint8_t>(s.sequence_counter), s.failed_authentications,
          s.max_failed_authentications});
  }
  ASSERT_GT(results.size(), 1000u);
  for (size_t r = 0; r < results.size(); ++r) {
    for (size_t s = 0; s < secrets.size(); ++s) {
      ASSERT_FALSE(Leaks(results[r], secrets[s])) << "result " << r << " holds secret " << s;
    }
  }
}

// ---- power cut at every write of a key-set load ---------------------------------------------

TEST(Runtime_KeyStoreTear, PowerCutAtEveryWriteOfASetLoadLeavesTheOldSetOrTheNew) {
  const Bytes old_enc = H("2b7e151628aed2a6abf7158809cf4f3c");
  const Bytes old_mac = H("000102030405060708090a0b0c0d0e0f");
  const Bytes old_dek = H("2b7e151628aed2a6abf7158809cf4f3c");  // SP 800-38A F.1.1 key
  const Bytes new_enc = H("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
  const Bytes new_mac = H("101112131415161718191a1b1c1d1e1f101112131415161718191a1b1c1d1e1f");
  const Bytes new_dek = new_enc;  // SP 800-38A F.1.5 key
  const Bytes pt = H("6bc1bee22e409f96e93d7e117393172a");
  const Bytes ct_old = H("3ad77bb40d7a3660a89ecaf32466ef97");  // F.1.1 first block
  const Bytes ct_new = H("f3eed1bdb5d2a03c064b5a7e3db181f8");  // F.1.5 first block
  const Bytes context(16, 0x77);

  bool finished = false;
  int cuts_leaving_old = 0;
  for (uint64_t cut = 0; !finished && cut < 64; ++cut) {
    for (bool torn : {false, true}) {
      SCOPED_TRACE("cut after " + std::to_string(cut) + (torn ? " writes, torn" : " writes"));
      auto ram = std::make_shared<RamMedium>();
      auto faulty = std::make_shared<FaultInjectingMedium>(ram);
      {
        PersistentStore store(faulty, {});
        KeyLoader loader(store);
        store.Begin();
        ASSERT_EQ(loader.LoadScp03KeySet(0x30, "dms.example.test", old_enc, old_mac, old_dek),
                  CryptoStatus::kOk);
        ASSERT_EQ(store.Commit(), StoreStatus::kOk);
        faulty->CutPowerAfter(cut, torn);
        store.Begin();
        ASSERT_EQ(loader.LoadScp03KeySet(0x30, kIssuerPrincipal, new_enc, new_mac, new_dek),
                  CryptoStatus::kOk);
        const StoreStatus s = store.Commit();
        if (!faulty->power_cut()) {
          ASSERT_EQ(s, StoreStatus::kOk);
          finished = true;
        }
      }
      PersistentStore reopened(ram, {});
      ASSERT_TRUE(reopened.open_error().empty()) << reopened.open_error();
      KeyStore keys(reopened);
      reopened.Begin();
      const std::vector<KeyHandle> all = keys.List();
      ASSERT_EQ(all.size(), 3u);
      Bytes enc_block, mac_block, plain;
      ASSERT_EQ(keys.Scp03Prf(*keys.Find(0x30, 1), KdfBlock(0x04, 128, context), enc_block),
                CryptoStatus::kOk);
      ASSERT_EQ(keys.Scp03Prf(*keys.Find(0x30, 2), KdfBlock(0x06, 128, context), mac_block),
                CryptoStatus::kOk);
      ASSERT_EQ(keys.Decrypt(*keys.Find(0x30, 3), CipherMode::kEcb, {}, ct_old, plain),
                CryptoStatus::kOk);
      const bool is_old = enc_block == HostScp03::AesCmac(old_enc, KdfBlock(0x04, 128, context)) &&
                          mac_block == HostScp03::AesCmac(old_mac, KdfBlock(0x06, 128, context)) &&
                          plain == pt && keys.Info(all[0])->owner == "dms.example.test";
      ASSERT_EQ(keys.Decrypt(*keys.Find(0x30, 3), CipherMode::kEcb, {}, ct_new, plain),
                CryptoStatus::kOk);
      const bool is_new = enc_block == HostScp03::AesCmac(new_enc, KdfBlock(0x04, 128, context)) &&
                          mac_block == HostScp03::AesCmac(new_mac, KdfBlock(0x06, 128, context)) &&
                          plain == pt && keys.Info(all[0])->owner == kIssuerPrincipal;
      EXPECT_TRUE(is_old || is_new);
      if (is_old) ++cuts_leaving_old;
      if (finished) {
        EXPECT_TRUE(is_new);
      }
      for (KeyHandle h : all) {
        EXPECT_EQ(keys.Info(h)->owner, keys.Info(all[0])->owner);
        EXPECT_EQ(keys.Info(h)->type, is_new ? KeyType::kAes256 : KeyType::kAes128);
      }
    }
  }
  EXPECT_TRUE(finished);
  EXPECT_GT(cuts_leaving_old, 0);  // the cuts did land inside the load
}

}  // namespace
}  // namespace dmcard
