#include "runtime/tlv.h"

namespace dmcard {

void AppendTlv(Bytes& out, uint16_t tag, ByteView value) {
  if (tag > 0xFF) out.push_back(static_cast<uint8_t>(tag >> 8));
  out.push_back(static_cast<uint8_t>(tag));
  const size_t n = value.size();
  if (n < 0x80) {
    out.push_back(static_cast<uint8_t>(n));
  } else if (n <= 0xFF) {
    out.insert(out.end(), {0x81, static_cast<uint8_t>(n)});
  } else if (n <= 0xFFFF) {
    out.insert(out.end(), {0x82, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)});
  } else {
    out.insert(out.end(), {0x83, static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 8),
                           static_cast<uint8_t>(n)});
  }
  Append(out, value);
}

std::optional<std::vector<Tlv>> ParseTlvs(ByteView data) {
  std::vector<Tlv> out;
  size_t pos = 0;
  while (pos < data.size()) {
    Tlv t;
    t.tag = data[pos++];
    if ((t.tag & 0x1F) == 0x1F) {
      if (pos >= data.size() || (data[pos] & 0x80) != 0) return std::nullopt;
      t.tag = static_cast<uint16_t>((t.tag << 8) | data[pos++]);
    }
    if (pos >= data.size()) return std::nullopt;
    size_t len = data[pos++];
    if (len & 0x80) {
      const size_t k = len & 0x7F;
      if (k == 0 || k > 3 || data.size() - pos < k) return std::nullopt;
      len = 0;
      for (size_t i = 0; i < k; ++i) len = (len << 8) | data[pos++];
    }
    if (data.size() - pos < len) return std::nullopt;
    t.value = data.subspan(pos, len);
    pos += len;
    out.push_back(t);
  }
  return out;
}

const Tlv* FindTlv(const std::vector<Tlv>& tlvs, uint16_t tag) {
  for (const Tlv& t : tlvs) {
    if (t.tag == tag) return &t;
  }
  return nullptr;
}

}  // namespace dmcard
