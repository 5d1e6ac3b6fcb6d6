// Node formats and value rules; see node_value.h.
#include "dm/node_value.h"

#include <array>
#include <string_view>

namespace dmcard::dm {

namespace {

constexpr std::array<const char*, 11> kFormatNames = {"node", "chr",  "int",  "bool",  "bin", "b64",
                                                      "xml",  "date", "time", "float", "null"};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// RFC 4648 §4 alphabet, padded to a multiple of 4.
bool ValidB64(std::string_view s) {
  if (s.size() % 4 != 0) return false;
  size_t pad = 0;
  for (char c : s) {
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return false;  // data after padding
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || IsDigit(c) || c == '+' || c == '/';
    if (!ok) return false;
  }
  return pad <= 2;
}

bool OnlyChars(std::string_view s, std::string_view extra) {
  if (s.empty()) return false;
  bool digit = false;
  for (char c : s) {
    if (IsDigit(c)) {
      digit = true;
    } else if (extra.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return digit;
}

bool ValidFloat(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp = 0;
    while (i < s.size() && IsDigit(s[i])) ++i, ++exp;
    if (exp == 0) return false;
  }
  return i == s.size();
}

// XML 1.0 §2.2 Char.
bool IsXmlChar(uint32_t c) {
  return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
         (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

}  // namespace

const char* FormatName(NodeFormat f) {
  const auto i = static_cast<size_t>(f);
  return i < kFormatNames.size() ? kFormatNames[i] : "?";
}

std::optional<NodeFormat> ParseFormat(std::string_view name) {
  for (size_t i = 0; i < kFormatNames.size(); ++i) {
    if (name == kFormatNames[i]) return static_cast<NodeFormat>(i);
  }
  return std::nullopt;
}

bool ValidInt(std::string_view s) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
    if (v > 0xFFFFFFFFu) return false;  // 2**32 - 1; stops before v can overflow
  }
  return true;
}

bool IsTndsText(std::string_view s) {
  // RFC 3629 §4 UTF8-octets, decoded; each scalar value must be an XML Char.
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    uint32_t c = 0;
    size_t n = 0;
    if (b0 < 0x80) {
      c = b0;
      n = 1;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      c = b0 & 0x1F;
      n = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      c = b0 & 0x0F;
      n = 3;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      c = b0 & 0x07;
      n = 4;
    } else {
      return false;  // continuation byte first, C0/C1 (overlong 2-byte), F5..FF
    }
    if (s.size() - i < n) return false;
    for (size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      c = (c << 6) | (b & 0x3F);
    }
    // Overlong 3- and 4-byte forms, surrogates (U+D800-U+DFFF), beyond U+10FFFF.
    if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10FFFF))) return false;
    if (c >= 0xD800 && c <= 0xDFFF) return false;
    if (!IsXmlChar(c)) return false;
    i += n;
  }
  return true;
}

bool ValidLeafValue(NodeFormat f, ByteView value) {
  const std::string_view s(reinterpret_cast<const char*>(value.data()), value.size());
  switch (f) {
    case NodeFormat::kNode:
      return false;  // interior nodes only
    case NodeFormat::kBin:
      return true;
    case NodeFormat::kChr:
    case NodeFormat::kXml:
      return IsTndsText(s);
    case NodeFormat::kInt:
      return ValidInt(s);
    case NodeFormat::kBool:
      return s == "true" || s == "false";
    case NodeFormat::kB64:
      return ValidB64(s);
    case NodeFormat::kNull:
      return s.empty();
    case NodeFormat::kDate:  // ISO 8601 date, loosely: 20240131, 2024-01-31
      return OnlyChars(s, "-");
    case NodeFormat::kTime:  // ISO 8601 time, loosely: 12:30:00, 123000Z, 12:30:00.5+01:00
      return OnlyChars(s, ":.+-Z");
    case NodeFormat::kFloat:
      return ValidFloat(s);
  }
  return false;
}

}  // namespace dmcard::dm
