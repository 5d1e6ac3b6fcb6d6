// HMAC (RFC 2104) through mbed TLS's generic message-digest layer.
#include <mbedtls/md.h>

#include "crypto/crypto.h"
#include "crypto/mbedtls_util.h"

namespace dmcard::crypto {
using internal::DataOrEmpty;

CryptoStatus Hmac(HashAlg alg, ByteView key, ByteView message, Bytes& mac) {
  const mbedtls_md_type_t type = internal::MdType(alg);
  if (type == MBEDTLS_MD_NONE) return CryptoStatus::kBadInput;  // no HMAC-MD5 on this card
  const mbedtls_md_info_t* info = mbedtls_md_info_from_type(type);
  if (info == nullptr) return CryptoStatus::kInternal;
  Bytes out(mbedtls_md_get_size(info));
  if (mbedtls_md_hmac(info, DataOrEmpty(key), key.size(), DataOrEmpty(message), message.size(),
                      out.data()) != 0) {
    return CryptoStatus::kInternal;
  }
  mac = std::move(out);
  return CryptoStatus::kOk;
}

}  // namespace dmcard::crypto
