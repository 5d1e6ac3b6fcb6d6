// Random test values from a seed (secrets planted in a card to prove no response carries them),
// and the base64 form a scan looks for: the secret scan tests and the fuzz harness share them.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "runtime/bytes.h"

namespace dmcard::testing {

class SeededDraw {
 public:
  explicit SeededDraw(uint64_t seed) : rng_(seed) {}
  Bytes Random(size_t n) {
    Bytes b(n);
    for (uint8_t& x : b) x = static_cast<uint8_t>(rng_() >> 24);
    return b;
  }
  std::string Digits(size_t n) {
    std::string s;
    while (s.size() < n) s.push_back(static_cast<char>('0' + rng_() % 10));
    return s;
  }
  std::string Alnum(size_t n) {
    static const char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string s;
    while (s.size() < n) s.push_back(kChars[rng_() % 62]);
    return s;
  }

 private:
  std::mt19937_64 rng_;
};

// RFC 4648 §4 (or §5 with `url`) base64 of whole 3-byte groups only (a trailing partial group is
// left out, so the text stands inside any longer encoding of the same bytes).
inline std::string Base64Groups(ByteView b, bool url) {
  const char* alphabet = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                             : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s;
  for (size_t i = 0; i + 3 <= b.size(); i += 3) {
    const uint32_t v = uint32_t{b[i]} << 16 | uint32_t{b[i + 1]} << 8 | b[i + 2];
    for (int k = 3; k >= 0; --k) s.push_back(alphabet[(v >> (6 * k)) & 0x3F]);
  }
  return s;
}

}  // namespace dmcard::testing
