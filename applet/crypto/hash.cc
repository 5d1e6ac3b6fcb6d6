// Message digests (FIPS 180-4; MD5, RFC 1321, for OMA DM credentials only) through mbed TLS's
// generic message-digest layer.
#include <mbedtls/md.h>

#include "crypto/crypto.h"
#include "crypto/mbedtls_util.h"

namespace dmcard::crypto {

// mbed TLS rejects some NULL pointers even for zero lengths; an empty span may carry one.
using internal::DataOrEmpty;

CryptoStatus Hash(HashAlg alg, ByteView data, Bytes& digest) {
  const mbedtls_md_info_t* info =
      mbedtls_md_info_from_type(internal::MdType(alg, /*allow_md5=*/true));
  if (info == nullptr) return CryptoStatus::kInternal;
  Bytes out(mbedtls_md_get_size(info));
  if (mbedtls_md(info, DataOrEmpty(data), data.size(), out.data()) != 0) {
    return CryptoStatus::kInternal;
  }
  digest = std::move(out);
  return CryptoStatus::kOk;
}

std::string_view ToString(CryptoStatus status) {
  switch (status) {
    case CryptoStatus::kOk:
      return "ok";
    case CryptoStatus::kBadKey:
      return "key not acceptable";
    case CryptoStatus::kBadInput:
      return "bad input";
    case CryptoStatus::kVerifyFailed:
      return "verification failed";
    case CryptoStatus::kNotFound:
      return "no such key";
    case CryptoStatus::kUsageRefused:
      return "not allowed by the key's usage";
    case CryptoStatus::kBlocked:
      return "key set blocked";
    case CryptoStatus::kExhausted:
      return "use limit or sequence counter exhausted";
    case CryptoStatus::kFull:
      return "persistent memory full";
    case CryptoStatus::kPowerLost:
      return "power lost";
    case CryptoStatus::kInternal:
      return "internal error";
  }
  return "?";
}

}  // namespace dmcard::crypto
