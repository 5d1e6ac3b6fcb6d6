#include "dm/imsi.h"

#include <algorithm>

namespace dmcard::dm {

namespace {
constexpr uint8_t kParityOdd = 0x9;   // identity type IMSI (001) with the odd bit (1000)
constexpr uint8_t kParityEven = 0x1;  // identity type IMSI, even
constexpr uint8_t kFiller = 0xF;
}  // namespace

std::optional<Bytes> EfImsiFromDigits(std::string_view digits) {
  if (digits.size() < kImsiMinDigits || digits.size() > kImsiMaxDigits) return std::nullopt;
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  // Nibbles in order: parity, the digits, a filler to make them whole bytes.
  std::vector<uint8_t> nibbles;
  nibbles.push_back(digits.size() % 2 == 1 ? kParityOdd : kParityEven);
  for (char c : digits) nibbles.push_back(static_cast<uint8_t>(c - '0'));
  if (nibbles.size() % 2 == 1) nibbles.push_back(kFiller);
  Bytes ef = {static_cast<uint8_t>(nibbles.size() / 2)};
  for (size_t i = 0; i < nibbles.size(); i += 2) {
    ef.push_back(static_cast<uint8_t>(nibbles[i] | (nibbles[i + 1] << 4)));
  }
  ef.resize(kEfImsiSize, 0xFF);
  return ef;
}

std::optional<Bytes> EfImsiFromDigitsLeftPadded(std::string_view digits) {
  if (digits.size() % 2 == 1) return EfImsiFromDigits(digits);
  if (!EfImsiFromDigits(digits)) return std::nullopt;  // not 6 to 15 decimal digits
  // 16 nibbles: fillers, the parity nibble, the digits.
  std::vector<uint8_t> nibbles(kImsiMaxDigits - digits.size(), kFiller);
  nibbles.push_back(kParityEven);
  for (char c : digits) nibbles.push_back(static_cast<uint8_t>(c - '0'));
  Bytes ef = {static_cast<uint8_t>(digits.size() / 2)};
  for (size_t i = 0; i < nibbles.size(); i += 2) {
    ef.push_back(static_cast<uint8_t>(nibbles[i] | (nibbles[i + 1] << 4)));
  }
  return ef;
}

std::optional<std::string> DigitsOfEfImsi(ByteView ef) {
  if (ef.size() != kEfImsiSize || ef[0] < 4 || ef[0] > kEfImsiSize - 1) return std::nullopt;
  const size_t used = size_t{1} + ef[0];
  if (!std::all_of(ef.begin() + static_cast<long>(used), ef.end(),
                   [](uint8_t b) { return b == 0xFF; })) {
    return std::nullopt;
  }
  std::vector<uint8_t> nibbles;
  for (size_t i = 1; i < used; ++i) {
    nibbles.push_back(ef[i] & 0x0F);
    nibbles.push_back(static_cast<uint8_t>(ef[i] >> 4));
  }
  const uint8_t parity = nibbles.front();
  if (parity != kParityOdd && parity != kParityEven) return std::nullopt;
  // Odd: the digits fill every nibble after the parity; even: the last nibble is the filler.
  const size_t digit_count = nibbles.size() - 1 - (parity == kParityEven ? 1 : 0);
  if (parity == kParityEven && nibbles.back() != kFiller) return std::nullopt;
  std::string digits;
  for (size_t i = 1; i <= digit_count; ++i) {
    if (nibbles[i] > 9) return std::nullopt;
    digits.push_back(static_cast<char>('0' + nibbles[i]));
  }
  if (digits.size() < kImsiMinDigits) return std::nullopt;
  return digits;
}

}  // namespace dmcard::dm
