#include "host_openssl.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/obj_mac.h>

namespace dmcard::testing::ossl {

const uint8_t* Ptr(ByteView v) {
  static const uint8_t kEmpty = 0;
  return v.empty() ? &kEmpty : v.data();
}

Bytes OsslDigest(const char* name, ByteView data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  EXPECT_NE(md, nullptr);
  const int ok = EVP_Digest(Ptr(data), data.size(), out.data(), &len, md, nullptr);
  EVP_MD_free(md);
  EXPECT_EQ(ok, 1);
  out.resize(len);
  return out;
}

// `mac` is "HMAC" (sub-algorithm: a digest) or "CMAC" (sub-algorithm: a cipher).
Bytes OsslMac(const char* mac, const char* sub, ByteView key, ByteView data) {
  Bytes out(64);
  size_t len = 0;
  const unsigned char* r = EVP_Q_mac(nullptr, mac, nullptr, sub, nullptr, Ptr(key), key.size(),
                                     Ptr(data), data.size(), out.data(), out.size(), &len);
  EXPECT_NE(r, nullptr) << mac << "/" << sub;
  out.resize(r == nullptr ? 0 : len);
  return out;
}

Bytes OsslAesCbc(bool encrypt, ByteView key, ByteView iv, ByteView in) {
  const char* name = key.size() == 16   ? "AES-128-CBC"
                     : key.size() == 24 ? "AES-192-CBC"
                                        : "AES-256-CBC";
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, name, nullptr);
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  Bytes out(in.size() + 16);
  int len1 = 0, len2 = 0;
  const bool ok =
      cipher != nullptr && ctx &&
      EVP_CipherInit_ex2(ctx.get(), cipher, key.data(), iv.data(), encrypt ? 1 : 0, nullptr) == 1 &&
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 &&
      EVP_CipherUpdate(ctx.get(), out.data(), &len1, Ptr(in), static_cast<int>(in.size())) == 1 &&
      EVP_CipherFinal_ex(ctx.get(), out.data() + len1, &len2) == 1;
  EVP_CIPHER_free(cipher);
  EXPECT_TRUE(ok);
  out.resize(ok ? static_cast<size_t>(len1 + len2) : 0);
  return out;
}

// Public key 04||X||Y for a private scalar, computed by OpenSSL.
Bytes OsslPublicFromPrivate(ByteView priv) {
  GroupPtr group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  BnPtr d(BN_bin2bn(priv.data(), static_cast<int>(priv.size()), nullptr));
  PointPtr q(EC_POINT_new(group.get()));
  Bytes out(65);
  const bool ok = group && d && q &&
                  EC_POINT_mul(group.get(), q.get(), d.get(), nullptr, nullptr, nullptr) == 1 &&
                  EC_POINT_point2oct(group.get(), q.get(), POINT_CONVERSION_UNCOMPRESSED,
                                     out.data(), out.size(), nullptr) == out.size();
  EXPECT_TRUE(ok);
  return ok ? out : Bytes{};
}

// EVP_PKEY for P-256 from a public key (and optionally its private scalar).
PkeyPtr OsslEcKey(ByteView pub, ByteView priv) {
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  BnPtr d(priv.empty() ? nullptr : BN_bin2bn(priv.data(), static_cast<int>(priv.size()), nullptr));
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.data(),
                                       pub.size()) != 1 ||
      (d && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1)) {
    ADD_FAILURE() << "OSSL_PARAM_BLD";
    return nullptr;
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) != 1) {
    ADD_FAILURE() << "EVP_PKEY_fromdata";
    return nullptr;
  }
  return PkeyPtr(pkey);
}

bool OsslVerifyDer(EVP_PKEY* key, ByteView digest, ByteView der) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  return ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
         EVP_PKEY_verify(ctx.get(), der.data(), der.size(), digest.data(), digest.size()) == 1;
}

Bytes OsslSignDer(EVP_PKEY* key, ByteView digest) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  size_t len = 0;
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
      EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()) != 1) {
    ADD_FAILURE() << "EVP_PKEY_sign setup";
    return {};
  }
  Bytes der(len);
  if (EVP_PKEY_sign(ctx.get(), der.data(), &len, digest.data(), digest.size()) != 1) {
    ADD_FAILURE() << "EVP_PKEY_sign";
    return {};
  }
  der.resize(len);
  return der;
}

// OpenSSL's DER encoding of the ECDSA-Sig-Value for raw r||s.
Bytes OsslSigToDer(ByteView raw) {
  SigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw.data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + 32, 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ADD_FAILURE() << "ECDSA_SIG_set0";
    return {};
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  Bytes out;
  if (len > 0) out.assign(der, der + len);
  OPENSSL_free(der);
  return out;
}

std::string OsslBase64(ByteView data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), Ptr(data),
                                static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

PkeyPtr OsslNewP256() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  EXPECT_TRUE(key) << "EVP_PKEY_Q_keygen";
  return key;
}

Bytes OsslEcPublicKey(EVP_PKEY* key) {
  Bytes pub(65);
  size_t len = 0;
  if (key == nullptr ||
      EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub.data(),
                                      pub.size(), &len) != 1 ||
      len != pub.size()) {
    ADD_FAILURE() << "EVP_PKEY_get_octet_string_param";
    return {};
  }
  return pub;
}

Bytes OsslDerToRaw(ByteView der) {
  const unsigned char* p = der.data();
  SigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) {
    ADD_FAILURE() << "d2i_ECDSA_SIG";
    return {};
  }
  Bytes raw(64);
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + 32, 32) != 32) {
    ADD_FAILURE() << "BN_bn2binpad";
    return {};
  }
  return raw;
}

}  // namespace dmcard::testing::ossl
