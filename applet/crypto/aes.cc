// AES-ECB and AES-CBC without padding (FIPS 197, SP 800-38A) on mbed TLS.
#include <mbedtls/aes.h>

#include <algorithm>
#include <array>

#include "crypto/crypto.h"

namespace dmcard::crypto {
namespace {

constexpr size_t kBlock = 16;

class AesContext {
 public:
  AesContext() { mbedtls_aes_init(&ctx_); }
  ~AesContext() { mbedtls_aes_free(&ctx_); }
  AesContext(const AesContext&) = delete;
  AesContext& operator=(const AesContext&) = delete;
  mbedtls_aes_context* get() { return &ctx_; }

 private:
  mbedtls_aes_context ctx_;
};

bool ValidKeySize(size_t n) { return n == 16 || n == 24 || n == 32; }

// Common checks and key schedule. `mode` is MBEDTLS_AES_ENCRYPT or MBEDTLS_AES_DECRYPT.
CryptoStatus Setup(AesContext& aes, ByteView key, ByteView in, int mode) {
  if (!ValidKeySize(key.size())) return CryptoStatus::kBadKey;
  if (in.size() % kBlock != 0) return CryptoStatus::kBadInput;
  const auto bits = static_cast<unsigned int>(key.size() * 8);
  const int rc = mode == MBEDTLS_AES_ENCRYPT ? mbedtls_aes_setkey_enc(aes.get(), key.data(), bits)
                                             : mbedtls_aes_setkey_dec(aes.get(), key.data(), bits);
  if (rc == MBEDTLS_ERR_AES_INVALID_KEY_LENGTH) return CryptoStatus::kBadKey;
  return rc == 0 ? CryptoStatus::kOk : CryptoStatus::kInternal;
}

// `out` may alias `in`; it is written only once the whole result is ready.
CryptoStatus Ecb(ByteView key, ByteView in, Bytes& out, int mode) {
  AesContext aes;
  CryptoStatus st = Setup(aes, key, in, mode);
  if (st != CryptoStatus::kOk) return st;
  Bytes result(in.size());
  for (size_t off = 0; off < in.size(); off += kBlock) {
    if (mbedtls_aes_crypt_ecb(aes.get(), mode, in.data() + off, result.data() + off) != 0) {
      return CryptoStatus::kInternal;
    }
  }
  out = std::move(result);
  return CryptoStatus::kOk;
}

CryptoStatus Cbc(ByteView key, ByteView iv, ByteView in, Bytes& out, int mode) {
  AesContext aes;
  CryptoStatus st = Setup(aes, key, in, mode);
  if (st != CryptoStatus::kOk) return st;
  if (iv.size() != kBlock) return CryptoStatus::kBadInput;
  std::array<unsigned char, kBlock> chain;  // mbed TLS updates the IV in place.
  std::copy(iv.begin(), iv.end(), chain.begin());
  Bytes result(in.size());
  if (!in.empty() && mbedtls_aes_crypt_cbc(aes.get(), mode, in.size(), chain.data(), in.data(),
                                           result.data()) != 0) {
    return CryptoStatus::kInternal;
  }
  out = std::move(result);
  return CryptoStatus::kOk;
}

}  // namespace

CryptoStatus AesEcbEncrypt(ByteView key, ByteView in, Bytes& out) {
  return Ecb(key, in, out, MBEDTLS_AES_ENCRYPT);
}

CryptoStatus AesEcbDecrypt(ByteView key, ByteView in, Bytes& out) {
  return Ecb(key, in, out, MBEDTLS_AES_DECRYPT);
}

CryptoStatus AesCbcEncrypt(ByteView key, ByteView iv, ByteView in, Bytes& out) {
  return Cbc(key, iv, in, out, MBEDTLS_AES_ENCRYPT);
}

CryptoStatus AesCbcDecrypt(ByteView key, ByteView iv, ByteView in, Bytes& out) {
  return Cbc(key, iv, in, out, MBEDTLS_AES_DECRYPT);
}

}  // namespace dmcard::crypto
