// Base64 (RFC 4648 §4) through mbed TLS, strict on decoding: only the canonical encoding of some
// bytes is taken.
#include <mbedtls/base64.h>

#include "crypto/crypto.h"
#include "crypto/mbedtls_util.h"

namespace dmcard::crypto {
using internal::DataOrEmpty;

CryptoStatus Base64Encode(ByteView data, std::string& text) {
  size_t length = 0;
  // A first call with no room asks for the size (the terminating NUL included).
  mbedtls_base64_encode(nullptr, 0, &length, DataOrEmpty(data), data.size());
  std::string out(length, '\0');
  if (mbedtls_base64_encode(reinterpret_cast<unsigned char*>(out.data()), out.size(), &length,
                            DataOrEmpty(data), data.size()) != 0) {
    return CryptoStatus::kInternal;
  }
  out.resize(length);
  text = std::move(out);
  return CryptoStatus::kOk;
}

CryptoStatus Base64Decode(std::string_view text, Bytes& out) {
  // RFC 4648 §3.3: characters outside the alphabet (line breaks and spaces too, which mbed TLS
  // would skip) are not taken; padding '=' only as the last one or two characters.
  if (text.size() % 4 != 0) return CryptoStatus::kBadInput;
  size_t padding = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (c == '=') {
      ++padding;
    } else if (!alphabet || padding != 0) {
      return CryptoStatus::kBadInput;
    }
  }
  if (padding > 2) return CryptoStatus::kBadInput;
  const auto* src = reinterpret_cast<const unsigned char*>(text.data());
  size_t length = 0;
  mbedtls_base64_decode(nullptr, 0, &length, src, text.size());
  Bytes decoded(length);
  if (mbedtls_base64_decode(decoded.data(), decoded.size(), &length, src, text.size()) != 0) {
    return CryptoStatus::kBadInput;
  }
  decoded.resize(length);
  // RFC 4648 §3.5: the bits padding leaves unused must be zero; only the canonical encoding
  // (the one that encodes back to the same text) is taken.
  std::string canonical;
  if (Base64Encode(decoded, canonical) != CryptoStatus::kOk) return CryptoStatus::kInternal;
  if (canonical != text) return CryptoStatus::kBadInput;
  out = std::move(decoded);
  return CryptoStatus::kOk;
}

}  // namespace dmcard::crypto
