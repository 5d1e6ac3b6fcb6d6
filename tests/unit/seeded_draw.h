// Random test values from a seed (secrets planted in a card to prove no response carries them):
// the secret scan tests and the fuzz harness draw them the same way.
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

}  // namespace dmcard::testing
