// What every fuzz target shares: reading the fuzzer's bytes as a stream of choices and pieces
// (FuzzInput), and the one way a target reports an oracle violation (OracleViolation: a message
// on stderr, then abort(), which libFuzzer and the replay driver both report as a crash).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/bytes.h"

namespace dmcard::fuzz {

// The fuzzer's input, consumed from the front. Reading past the end gives zeros and empty
// pieces, so every input decodes to something.
class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t remaining() const { return size_ - pos_; }
  bool empty() const { return pos_ >= size_; }

  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t U16() {
    const uint16_t hi = Byte();
    return static_cast<uint16_t>(hi << 8 | Byte());
  }
  // Up to `n` bytes (fewer at the end).
  ByteView Take(size_t n) {
    const size_t k = n < remaining() ? n : remaining();
    const ByteView piece(data_ + pos_, k);
    pos_ += k;
    return piece;
  }
  // A piece whose length comes first: one byte, or with `wide` two (big-endian).
  ByteView Piece(bool wide = false) { return Take(wide ? U16() : Byte()); }
  ByteView Rest() { return Take(remaining()); }
  // Everything up to the next `separator` byte (not included, skipped), or the rest.
  ByteView Until(uint8_t separator) {
    size_t end = pos_;
    while (end < size_ && data_[end] != separator) ++end;
    const ByteView piece(data_ + pos_, end - pos_);
    pos_ = end < size_ ? end + 1 : end;
    return piece;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

inline std::string_view Text(ByteView b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

// Whether the oracle mutation `name` is switched on (DMCARD_FUZZ_BREAK=name): each oracle has
// one, which makes the harness itself wrong in the way the oracle must catch, so that a test
// (fuzz/CMakeLists.txt, fuzz_oracle.*) shows every oracle can fire.
inline bool Broken(std::string_view name) {
  static const char* const env = std::getenv("DMCARD_FUZZ_BREAK");
  return env != nullptr && name == env;
}

// An oracle found the code under test wrong: says which and what, then aborts.
[[noreturn]] inline void OracleViolation(const char* target, const std::string& what) {
  std::fprintf(stderr, "\n==== ORACLE VIOLATION (%s): %s\n", target, what.c_str());
  std::fflush(stderr);
  // A run with an oracle mutation on (the fuzz_oracle.* tests) expects this: it exits, so that
  // ctest reads its output rather than reporting a crash.
  if (std::getenv("DMCARD_FUZZ_BREAK") != nullptr) std::_Exit(3);
  std::abort();
}

}  // namespace dmcard::fuzz
