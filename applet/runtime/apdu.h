// ISO/IEC 7816-4 §5.1 command APDUs: parsing into a validated view, and CLA decoding (§5.4.1).
#pragma once

#include <cstdint>
#include <optional>

#include "runtime/bytes.h"
#include "runtime/sw.h"

namespace dmcard {

// ISO 7816-3 §12.1.3 APDU cases (S = short, E = extended length fields).
enum class ApduCase : uint8_t { k1, k2S, k3S, k4S, k2E, k3E, k4E };

// What the class byte says (ISO 7816-4 §5.4.1, tables 2 and 3). Proprietary classes (b8 = 1)
// carry the channel, chaining and secure-messaging bits in the same places as the interindustry
// class they mirror, as Java Card does.
struct ClassByte {
  uint8_t channel = 0;            // logical channel 0..19
  bool chaining = false;          // b5: not the last command of a chain
  bool secure_messaging = false;  // SM indication bits non-zero
  bool interindustry = true;      // b8 = 0
  // The CLA with channel and chaining bits cleared; equal for all commands of one chain.
  uint8_t base = 0;
};

// Decodes CLA; nullopt for 'FF' and the RFU range 001x xxxx (answered 6E00).
std::optional<ClassByte> DecodeClass(uint8_t cla);
// Builds the CLA for `channel` (0..19) from an interindustry or proprietary base.
uint8_t EncodeClass(uint8_t base, uint8_t channel, bool chaining = false);

// Instructions the runtime itself serves (ISO 7816-4 §11.2.2, §11.1.2, §11.6.1).
inline constexpr uint8_t kInsSelect = 0xA4;
inline constexpr uint8_t kInsManageChannel = 0x70;
inline constexpr uint8_t kInsGetResponse = 0xC0;

// A parsed command. `data` points into the buffer that was parsed: keep that buffer alive.
struct CommandApdu {
  uint8_t cla = 0;
  uint8_t ins = 0;
  uint8_t p1 = 0;
  uint8_t p2 = 0;
  ByteView data;    // Nc bytes of command data (may be empty)
  uint32_t ne = 0;  // Ne: maximum response length expected; 0 when Le is absent
  ApduCase apdu_case = ApduCase::k1;
  ClassByte cls;

  bool has_le() const { return ne != 0; }
  bool extended() const { return apdu_case >= ApduCase::k2E; }
  uint16_t p1p2() const { return static_cast<uint16_t>((p1 << 8) | p2); }
};

// Parse result: either a command or the status word that rejects it.
struct ParsedApdu {
  CommandApdu command;
  Sw error = Sw::kOk;  // kOk when `command` is valid
};

// Parses a C-APDU per ISO 7816-4 §5.1 / ISO 7816-3 §12.1.3:
//  - fewer than 4 bytes, an Lc inconsistent with the body, a 6-byte APDU, or Lc = 0000 in
//    extended form → 6700;
//  - extended length fields when `allow_extended` is false → 6700;
//  - CLA 'FF' or RFU → 6E00.
ParsedApdu ParseCommand(ByteView raw, bool allow_extended);

}  // namespace dmcard
