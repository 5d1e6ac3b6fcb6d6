// Message digests (FIPS 180-4) through mbed TLS's generic message-digest layer.
#include <mbedtls/md.h>

#include "crypto/crypto.h"
#include "crypto/mbedtls_util.h"

namespace dmcard::crypto {
namespace {

// mbed TLS rejects some NULL pointers even for zero lengths; an empty span may carry one.
using internal::DataOrEmpty;

Bytes Digest(mbedtls_md_type_t type, ByteView data) {
  const mbedtls_md_info_t* info = mbedtls_md_info_from_type(type);
  if (info == nullptr) return {};
  Bytes out(mbedtls_md_get_size(info));
  if (mbedtls_md(info, DataOrEmpty(data), data.size(), out.data()) != 0) return {};
  return out;
}

}  // namespace

Bytes Sha1(ByteView data) { return Digest(MBEDTLS_MD_SHA1, data); }

Bytes Sha256(ByteView data) { return Digest(MBEDTLS_MD_SHA256, data); }

Bytes Hash(HashAlg alg, ByteView data) {
  switch (alg) {
    case HashAlg::kSha1:
      return Sha1(data);
    case HashAlg::kSha256:
      return Sha256(data);
  }
  return {};
}

}  // namespace dmcard::crypto
