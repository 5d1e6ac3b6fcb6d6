#include "runtime/atr.h"

namespace dmcard {

Bytes DefaultAtr(const CardConfig& config) {
  // Historical bytes, category indicator 80: compact-TLV objects follow.
  Bytes hist = {0x80};
  // Tag 7, length 3: card capabilities (ISO 7816-4 §8.1.1.2.7).
  //  byte 1 (selection methods): full DF name, partial DF name, path, FID, record number.
  //  byte 2 (data coding): data unit of one byte.
  //  byte 3: b8 command chaining, b7 extended Lc/Le, b5-b4 channel assignment by card and by
  //          interface device, b3-b1 = 111: eight or more logical channels.
  uint8_t caps3 = 0x80 | 0x18 | 0x07;
  if (config.extended_length) caps3 |= 0x40;
  hist.insert(hist.end(), {0x73, 0xF2, 0x01, caps3});
  // Tag 5, length 6: card issuer's data.
  hist.insert(hist.end(), {0x56, 'd', 'm', 'c', 'a', 'r', 'd'});

  Bytes atr = {0x3B};  // TS: direct convention
  const uint8_t k = static_cast<uint8_t>(hist.size());
  if (config.protocol == Protocol::kT1) {
    atr.push_back(0x80 | k);  // T0: TD1 present
    atr.push_back(0x81);      // TD1: TD2 present, T=1
    atr.push_back(0x31);      // TD2: TA3, TB3 present, T=1
    atr.push_back(0xFE);      // TA3: IFSC 254
    atr.push_back(0x45);      // TB3: BWI 4, CWI 5
  } else {
    atr.push_back(k);  // T0: no interface bytes, T=0 implied
  }
  Append(atr, hist);
  if (config.protocol == Protocol::kT1) {
    uint8_t tck = 0;
    for (size_t i = 1; i < atr.size(); ++i) tck ^= atr[i];
    atr.push_back(tck);
  }
  return atr;
}

std::optional<AtrInfo> ParseAtr(ByteView atr) {
  if (atr.size() < 2 || (atr[0] != 0x3B && atr[0] != 0x3F)) return std::nullopt;
  AtrInfo info;
  size_t pos = 1;
  uint8_t y = atr[pos] >> 4;
  const size_t k = atr[pos] & 0x0F;
  ++pos;
  bool saw_td = false;
  bool other_than_t0 = false;  // a TD indicating T=1, T=15 (global bytes), ...
  while (true) {
    for (int bit = 0; bit < 3; ++bit) {
      if (y & (1 << bit)) ++pos;  // TA, TB, TC
    }
    if (!(y & 0x08)) break;
    if (pos >= atr.size()) return std::nullopt;
    const uint8_t td = atr[pos++];
    const uint8_t t = td & 0x0F;
    if (t == 0) info.t0 = true;
    if (t == 1) info.t1 = true;
    if (t != 0) other_than_t0 = true;
    saw_td = true;
    y = td >> 4;
  }
  if (!saw_td) info.t0 = true;
  if (pos + k > atr.size()) return std::nullopt;
  info.historical.assign(atr.begin() + static_cast<ptrdiff_t>(pos),
                         atr.begin() + static_cast<ptrdiff_t>(pos + k));
  pos += k;
  // ISO/IEC 7816-3 §8.2.5: TCK is absent only when T=0 alone is indicated; "if T=0 and T=15 are
  // present and in all the other cases, TCK shall be present" (a UICC's T=0 ATR has one).
  const bool tck_expected = other_than_t0 || !info.t0;
  if (tck_expected) {
    if (pos >= atr.size()) {
      info.tck_ok = false;
    } else {
      uint8_t x = 0;
      for (size_t i = 1; i <= pos; ++i) x ^= atr[i];
      info.tck_ok = x == 0;
      ++pos;
    }
  }
  if (pos != atr.size()) return std::nullopt;
  // Compact-TLV card capabilities (tag 7) in category-80 historical bytes.
  if (!info.historical.empty() && info.historical[0] == 0x80) {
    size_t i = 1;
    while (i < info.historical.size()) {
      const uint8_t tag = info.historical[i] >> 4;
      const size_t len = info.historical[i] & 0x0F;
      if (i + 1 + len > info.historical.size()) break;
      if (tag == 7 && len == 3) info.card_capabilities_3 = info.historical[i + 3];
      i += 1 + len;
    }
  }
  return info;
}

}  // namespace dmcard
