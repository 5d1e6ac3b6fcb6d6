// Answer-to-reset construction and parsing (ISO/IEC 7816-3 §8, historical bytes ISO 7816-4 §8).
#pragma once

#include <optional>

#include "runtime/bytes.h"
#include "runtime/card_config.h"

namespace dmcard {

// The default ATR for a configuration: direct convention; T=1 (IFSC 254) or T=0 as configured;
// historical bytes in compact-TLV: card capabilities (tag 7) declaring selection methods,
// command chaining, extended Lc/Le (when enabled) and logical channels; issuer data "dmcard".
Bytes DefaultAtr(const CardConfig& config);

// A few facts read back from an ATR, enough for tests and diagnostics.
struct AtrInfo {
  bool t0 = false;
  bool t1 = false;
  Bytes historical;
  bool tck_ok = true;  // TCK present and correct, or absent when only T=0 is offered
  std::optional<uint8_t> card_capabilities_3;  // third software-function byte, if present
};
std::optional<AtrInfo> ParseAtr(ByteView atr);

}  // namespace dmcard
