// OpenSSL 3 wrappers (host/openssl_util.h): EVP for digests, MACs, ciphers and keys. Every
// failure gives an empty result; nothing here throws or prints.
#include "host/openssl_util.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/obj_mac.h>

namespace dmcard::ossl {

namespace {

using MdPtr = std::unique_ptr<EVP_MD, Deleter<EVP_MD, EVP_MD_free>>;
using CipherPtr = std::unique_ptr<EVP_CIPHER, Deleter<EVP_CIPHER, EVP_CIPHER_free>>;

constexpr int kP256Scalar = 32;  // bytes of a P-256 scalar, r or s
constexpr size_t kScalarBytes = kP256Scalar;

}  // namespace

const uint8_t* Ptr(ByteView v) {
  static const uint8_t kEmpty = 0;
  return v.empty() ? &kEmpty : v.data();
}

Bytes OsslDigest(const char* name, ByteView data) {
  MdPtr md(EVP_MD_fetch(nullptr, name, nullptr));
  if (!md) return {};
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (EVP_Digest(Ptr(data), data.size(), out.data(), &len, md.get(), nullptr) != 1) return {};
  out.resize(len);
  return out;
}

// `mac` is "HMAC" (sub-algorithm: a digest) or "CMAC" (sub-algorithm: a cipher).
Bytes OsslMac(const char* mac, const char* sub, ByteView key, ByteView data) {
  Bytes out(EVP_MAX_MD_SIZE);
  size_t len = 0;
  const unsigned char* r = EVP_Q_mac(nullptr, mac, nullptr, sub, nullptr, Ptr(key), key.size(),
                                     Ptr(data), data.size(), out.data(), out.size(), &len);
  out.resize(r == nullptr ? 0 : len);
  return out;
}

Bytes OsslAesCbc(bool encrypt, ByteView key, ByteView iv, ByteView in) {
  const char* name = key.size() == 16   ? "AES-128-CBC"
                     : key.size() == 24 ? "AES-192-CBC"
                     : key.size() == 32 ? "AES-256-CBC"
                                        : nullptr;
  if (name == nullptr || iv.size() != 16 || in.size() % 16 != 0) return {};
  CipherPtr cipher(EVP_CIPHER_fetch(nullptr, name, nullptr));
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  Bytes out(in.size() + 16);
  int len1 = 0, len2 = 0;
  const bool ok =
      cipher && ctx &&
      EVP_CipherInit_ex2(ctx.get(), cipher.get(), key.data(), iv.data(), encrypt ? 1 : 0,
                         nullptr) == 1 &&
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 &&
      EVP_CipherUpdate(ctx.get(), out.data(), &len1, Ptr(in), static_cast<int>(in.size())) == 1 &&
      EVP_CipherFinal_ex(ctx.get(), out.data() + len1, &len2) == 1;
  out.resize(ok ? static_cast<size_t>(len1 + len2) : 0);
  return out;
}

// Public key 04||X||Y for a private scalar, computed by OpenSSL.
Bytes OsslPublicFromPrivate(ByteView priv) {
  if (priv.empty() || priv.size() > kScalarBytes) return {};
  GroupPtr group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  BnPtr d(BN_bin2bn(priv.data(), static_cast<int>(priv.size()), nullptr));
  if (!group || !d) return {};
  PointPtr q(EC_POINT_new(group.get()));
  Bytes out(65);
  const bool ok = q &&
                  EC_POINT_mul(group.get(), q.get(), d.get(), nullptr, nullptr, nullptr) == 1 &&
                  EC_POINT_point2oct(group.get(), q.get(), POINT_CONVERSION_UNCOMPRESSED,
                                     out.data(), out.size(), nullptr) == out.size();
  return ok ? out : Bytes{};
}

// EVP_PKEY for P-256 from a public key (and optionally its private scalar).
PkeyPtr OsslEcKey(ByteView pub, ByteView priv) {
  if (pub.empty() || priv.size() > kScalarBytes) return nullptr;
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  BnPtr d(priv.empty() ? nullptr : BN_bin2bn(priv.data(), static_cast<int>(priv.size()), nullptr));
  if (!bld || (!priv.empty() && !d) ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.data(),
                                       pub.size()) != 1 ||
      (d && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1)) {
    return nullptr;
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) != 1) {
    return nullptr;
  }
  return PkeyPtr(pkey);
}

bool OsslVerifyDer(EVP_PKEY* key, ByteView digest, ByteView der) {
  if (key == nullptr) return false;
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  return ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
         EVP_PKEY_verify(ctx.get(), Ptr(der), der.size(), Ptr(digest), digest.size()) == 1;
}

Bytes OsslSignDer(EVP_PKEY* key, ByteView digest) {
  if (key == nullptr) return {};
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  size_t len = 0;
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
      EVP_PKEY_sign(ctx.get(), nullptr, &len, Ptr(digest), digest.size()) != 1) {
    return {};
  }
  Bytes der(len);
  if (EVP_PKEY_sign(ctx.get(), der.data(), &len, Ptr(digest), digest.size()) != 1) return {};
  der.resize(len);
  return der;
}

// OpenSSL's DER encoding of the ECDSA-Sig-Value for raw r||s.
Bytes OsslSigToDer(ByteView raw) {
  if (raw.size() != 2 * kScalarBytes) return {};
  SigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw.data(), kP256Scalar, nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + kScalarBytes, kP256Scalar, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
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
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

PkeyPtr OsslNewP256() { return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

Bytes OsslEcPublicKey(EVP_PKEY* key) {
  Bytes pub(65);
  size_t len = 0;
  if (key == nullptr ||
      EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub.data(),
                                      pub.size(), &len) != 1 ||
      len != pub.size()) {
    return {};
  }
  return pub;
}

Bytes OsslDerToRaw(ByteView der) {
  const unsigned char* p = der.data();
  SigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return {};
  Bytes raw(2 * kScalarBytes);
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), kP256Scalar) != kP256Scalar ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + kScalarBytes, kP256Scalar) !=
          kP256Scalar) {
    return {};
  }
  return raw;
}

}  // namespace dmcard::ossl
