// The card's digests and HMAC as values, for tests: each checks that the facade reported kOk (a
// failure is a test failure and an empty result).
#pragma once

#include <gtest/gtest.h>

#include "crypto/crypto.h"

namespace dmcard::testing {

inline crypto::Bytes HashOf(crypto::HashAlg alg, crypto::ByteView data) {
  crypto::Bytes digest;
  EXPECT_EQ(crypto::Hash(alg, data, digest), crypto::CryptoStatus::kOk);
  return digest;
}
inline crypto::Bytes Sha1Of(crypto::ByteView data) { return HashOf(crypto::HashAlg::kSha1, data); }
inline crypto::Bytes Sha256Of(crypto::ByteView data) {
  return HashOf(crypto::HashAlg::kSha256, data);
}
inline crypto::Bytes HmacOf(crypto::HashAlg alg, crypto::ByteView key, crypto::ByteView message) {
  crypto::Bytes mac;
  EXPECT_EQ(crypto::Hmac(alg, key, message, mac), crypto::CryptoStatus::kOk);
  return mac;
}

}  // namespace dmcard::testing
