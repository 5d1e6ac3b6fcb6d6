#include "runtime/bytes.h"

namespace dmcard {

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<Bytes> FromHex(std::string_view text) {
  Bytes out;
  out.reserve(text.size() / 2);
  int high = -1;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == ':' || c == '\n' || c == '\r') continue;
    int v = HexValue(c);
    if (v < 0) return std::nullopt;
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<uint8_t>((high << 4) | v));
      high = -1;
    }
  }
  if (high >= 0) return std::nullopt;
  return out;
}

std::string ToHex(ByteView data, char sep) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string s;
  s.reserve(data.size() * 3);
  for (size_t i = 0; i < data.size(); ++i) {
    if (i != 0 && sep != '\0') s.push_back(sep);
    s.push_back(kDigits[data[i] >> 4]);
    s.push_back(kDigits[data[i] & 0x0F]);
  }
  return s;
}

}  // namespace dmcard
