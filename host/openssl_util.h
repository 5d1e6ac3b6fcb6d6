// The host's crypto: OpenSSL 3 wrappers for what host tools compute and for checking the card's
// results (mbed TLS) against a second implementation — digests, HMAC/CMAC, AES-CBC, P-256 keys
// and ECDSA. Nothing throws: a failure (OpenSSL refusing, a malformed input) gives an empty
// result (empty bytes, a null key, false).
#pragma once

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>
#include <string>

#include "runtime/bytes.h"

namespace dmcard::ossl {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, Deleter<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using GroupPtr = std::unique_ptr<EC_GROUP, Deleter<EC_GROUP, EC_GROUP_free>>;
using PointPtr = std::unique_ptr<EC_POINT, Deleter<EC_POINT, EC_POINT_free>>;
using SigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;

// A pointer OpenSSL accepts for `v`, also when it is empty.
const uint8_t* Ptr(ByteView v);

// Message digest by OpenSSL name ("SHA256", "SHA1", "MD5").
Bytes OsslDigest(const char* name, ByteView data);
// RFC 4648 base64 (EVP_EncodeBlock: no line breaks).
std::string OsslBase64(ByteView data);
// `mac` is "HMAC" (sub-algorithm: a digest) or "CMAC" (sub-algorithm: a cipher).
Bytes OsslMac(const char* mac, const char* sub, ByteView key, ByteView data);
Bytes OsslAesCbc(bool encrypt, ByteView key, ByteView iv, ByteView in);
// Public key 04||X||Y for a private scalar, computed by OpenSSL.
Bytes OsslPublicFromPrivate(ByteView priv);
// EVP_PKEY for P-256 from a public key (and optionally its private scalar).
PkeyPtr OsslEcKey(ByteView pub, ByteView priv = {});
bool OsslVerifyDer(EVP_PKEY* key, ByteView digest, ByteView der);
Bytes OsslSignDer(EVP_PKEY* key, ByteView digest);
// A fresh P-256 key pair, and the uncompressed public key (04 || X || Y) of a key.
PkeyPtr OsslNewP256();
Bytes OsslEcPublicKey(EVP_PKEY* key);
// OpenSSL's DER encoding of the ECDSA-Sig-Value for raw r||s, and back (32-byte r and s).
Bytes OsslSigToDer(ByteView raw);
Bytes OsslDerToRaw(ByteView der);

}  // namespace dmcard::ossl
