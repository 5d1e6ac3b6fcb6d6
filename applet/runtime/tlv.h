// BER-TLV (ISO/IEC 7816-4 §5.2 / ISO 8825-1) for command data and response templates: tags of
// one or two bytes, definite lengths of up to three bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "runtime/bytes.h"

namespace dmcard {

struct Tlv {
  uint16_t tag = 0;  // one byte, or two when the first has its low five bits set ('1F')
  ByteView value;    // points into the parsed buffer
};

// Appends tag, minimal definite length and value.
void AppendTlv(Bytes& out, uint16_t tag, ByteView value);
// Wraps `content` in a constructed template `tag`.
inline Bytes Template(uint16_t tag, ByteView content) {
  Bytes out;
  AppendTlv(out, tag, content);
  return out;
}

// Parses a concatenation of TLVs (top level only). nullopt if malformed: truncated tag or length,
// indefinite or over-long length, value past the end.
std::optional<std::vector<Tlv>> ParseTlvs(ByteView data);
// The first TLV with `tag`, if any.
const Tlv* FindTlv(const std::vector<Tlv>& tlvs, uint16_t tag);

}  // namespace dmcard
