#include "runtime/apdu.h"

namespace dmcard {

std::optional<ClassByte> DecodeClass(uint8_t cla) {
  if (cla == 0xFF) return std::nullopt;
  ClassByte c;
  c.interindustry = (cla & 0x80) == 0;
  const uint8_t low = cla & 0x7F;
  if ((low & 0x60) == 0x00) {
    // First interindustry values: 000x xxxx. b5 chaining, b4-b3 SM, b2-b1 channel 0..3.
    c.chaining = (low & 0x10) != 0;
    c.secure_messaging = (low & 0x0C) != 0;
    c.channel = low & 0x03;
    c.base = static_cast<uint8_t>(cla & ~0x13);
    return c;
  }
  if ((low & 0x40) == 0x40) {
    // Further interindustry values: 01xx xxxx. b6 SM, b5 chaining, b4-b1 channel 4..19.
    c.chaining = (low & 0x10) != 0;
    c.secure_messaging = (low & 0x20) != 0;
    c.channel = static_cast<uint8_t>(4 + (low & 0x0F));
    c.base = static_cast<uint8_t>(cla & ~0x1F);
    return c;
  }
  return std::nullopt;  // 001x xxxx is reserved for future use
}

uint8_t EncodeClass(uint8_t base, uint8_t channel, bool chaining) {
  const uint8_t proprietary = base & 0x80;
  const uint8_t chain_bit = chaining ? 0x10 : 0x00;
  if (channel < 4) {
    const uint8_t sm = base & 0x0C;
    return static_cast<uint8_t>(proprietary | sm | chain_bit | channel);
  }
  const uint8_t sm = (base & 0x0C) != 0 || (base & 0x20) != 0 ? 0x20 : 0x00;
  return static_cast<uint8_t>(proprietary | 0x40 | sm | chain_bit | ((channel - 4) & 0x0F));
}

ParsedApdu ParseCommand(ByteView raw, bool allow_extended) {
  ParsedApdu out;
  CommandApdu& c = out.command;
  const size_t n = raw.size();
  if (n < 4) {
    out.error = Sw::kWrongLength;
    return out;
  }
  c.cla = raw[0];
  c.ins = raw[1];
  c.p1 = raw[2];
  c.p2 = raw[3];
  auto cls = DecodeClass(c.cla);
  if (!cls) {
    out.error = Sw::kClaNotSupported;
    return out;
  }
  c.cls = *cls;
  auto reject_length = [&out] {
    out.error = Sw::kWrongLength;
    return out;
  };

  if (n == 4) {
    c.apdu_case = ApduCase::k1;
    return out;
  }
  const uint8_t b5 = raw[4];
  if (n == 5) {
    c.apdu_case = ApduCase::k2S;
    c.ne = b5 == 0 ? 256 : b5;
    return out;
  }
  if (b5 != 0) {
    const size_t lc = b5;
    if (n == 5 + lc) {
      c.apdu_case = ApduCase::k3S;
    } else if (n == 6 + lc) {
      c.apdu_case = ApduCase::k4S;
      c.ne = raw[n - 1] == 0 ? 256 : raw[n - 1];
    } else {
      return reject_length();
    }
    c.data = raw.subspan(5, lc);
    return out;
  }
  // b5 == 00 and more than 5 bytes: extended length fields.
  if (n < 7 || !allow_extended) return reject_length();
  const size_t l = ReadU16(&raw[5]);
  if (n == 7) {
    c.apdu_case = ApduCase::k2E;
    c.ne = l == 0 ? 65536 : l;
    return out;
  }
  if (l == 0) return reject_length();
  if (n == 7 + l) {
    c.apdu_case = ApduCase::k3E;
  } else if (n == 9 + l) {
    c.apdu_case = ApduCase::k4E;
    const size_t le = ReadU16(&raw[n - 2]);
    c.ne = le == 0 ? 65536 : static_cast<uint32_t>(le);
  } else {
    return reject_length();
  }
  c.data = raw.subspan(7, l);
  return out;
}

}  // namespace dmcard
