// AES-CMAC (SP 800-38B, RFC 4493) on mbed TLS's CMAC module.
#include <mbedtls/cipher.h>
#include <mbedtls/cmac.h>

#include "crypto/crypto.h"
#include "crypto/mbedtls_util.h"

namespace dmcard::crypto {
using internal::DataOrEmpty;

CryptoStatus AesCmac(ByteView key, ByteView message, Bytes& mac) {
  mbedtls_cipher_type_t type;
  switch (key.size()) {
    case 16:
      type = MBEDTLS_CIPHER_AES_128_ECB;
      break;
    case 24:
      type = MBEDTLS_CIPHER_AES_192_ECB;
      break;
    case 32:
      type = MBEDTLS_CIPHER_AES_256_ECB;
      break;
    default:
      return CryptoStatus::kBadKey;
  }
  const mbedtls_cipher_info_t* info = mbedtls_cipher_info_from_type(type);
  if (info == nullptr) return CryptoStatus::kInternal;
  Bytes tag(16);
  // mbedtls_cipher_cmac() sets up, uses and frees its own cipher context.
  if (mbedtls_cipher_cmac(info, key.data(), key.size() * 8, DataOrEmpty(message), message.size(),
                          tag.data()) != 0) {
    return CryptoStatus::kInternal;
  }
  mac = std::move(tag);
  return CryptoStatus::kOk;
}

}  // namespace dmcard::crypto
