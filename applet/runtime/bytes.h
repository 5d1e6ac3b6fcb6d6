// Byte buffers and hex helpers shared by the card side and the host tools.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dmcard {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

// Parses hex, ignoring spaces, tabs and colons. nullopt on an odd digit count or a non-hex char.
std::optional<Bytes> FromHex(std::string_view text);
// Upper-case hex; `sep` (if not '\0') goes between bytes.
std::string ToHex(ByteView data, char sep = '\0');

inline uint16_t ReadU16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t ReadU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline void AppendU16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
inline void AppendU32(Bytes& out, uint32_t v) {
  AppendU16(out, static_cast<uint16_t>(v >> 16));
  AppendU16(out, static_cast<uint16_t>(v));
}
inline void Append(Bytes& out, ByteView data) { out.insert(out.end(), data.begin(), data.end()); }

}  // namespace dmcard
