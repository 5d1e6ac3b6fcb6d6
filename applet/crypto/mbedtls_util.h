// Small helpers shared by the mbed TLS wrappers (internal to applet/crypto/).
#pragma once

#include <mbedtls/md.h>

#include "crypto/crypto.h"

namespace dmcard::crypto::internal {

// mbed TLS wants a valid pointer even for zero-length input.
inline const unsigned char* DataOrEmpty(ByteView v) {
  static const unsigned char kEmpty = 0;
  return v.empty() ? &kEmpty : v.data();
}

// The mbed TLS digest of `alg`. `allow_md5`: MD5 is taken only where the caller says so (Hash);
// elsewhere kMd5 gives MBEDTLS_MD_NONE, which callers refuse.
inline mbedtls_md_type_t MdType(HashAlg alg, bool allow_md5 = false) {
  switch (alg) {
    case HashAlg::kSha1:
      return MBEDTLS_MD_SHA1;
    case HashAlg::kSha256:
      return MBEDTLS_MD_SHA256;
    case HashAlg::kMd5:
      return allow_md5 ? MBEDTLS_MD_MD5 : MBEDTLS_MD_NONE;
  }
  return MBEDTLS_MD_NONE;
}

}  // namespace dmcard::crypto::internal
