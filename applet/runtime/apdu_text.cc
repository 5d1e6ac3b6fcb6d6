#include "runtime/apdu_text.h"

#include <cstdio>

namespace dmcard {

std::string InsName(uint8_t ins) {
  switch (ins) {
    case 0x0E:
      return "ERASE BINARY";
    case 0x20:
      return "VERIFY";
    case 0x24:
      return "CHANGE REFERENCE DATA";
    case 0x2C:
      return "RESET RETRY COUNTER";
    case 0x70:
      return "MANAGE CHANNEL";
    case 0x82:
      return "EXTERNAL AUTHENTICATE";
    case 0x84:
      return "GET CHALLENGE";
    case 0x88:
      return "INTERNAL AUTHENTICATE";
    case 0xA4:
      return "SELECT";
    case 0xB0:
      return "READ BINARY";
    case 0xB2:
      return "READ RECORD";
    case 0xC0:
      return "GET RESPONSE";
    case 0xC2:
      return "ENVELOPE";
    case 0xCA:
      return "GET DATA";
    case 0xD6:
      return "UPDATE BINARY";
    case 0xDA:
      return "PUT DATA";
    case 0xDC:
      return "UPDATE RECORD";
    case 0xE2:
      return "STORE DATA";
    default: {
      char buf[8];
      std::snprintf(buf, sizeof buf, "INS %02X", ins);
      return buf;
    }
  }
}

std::string DescribeCommand(const CommandApdu& cmd) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%02X %02X", cmd.p1, cmd.p2);
  std::string s = InsName(cmd.ins) + " " + buf;
  if (!cmd.data.empty()) s += " Lc=" + std::to_string(cmd.data.size());
  if (cmd.has_le()) s += " Le=" + std::to_string(cmd.ne);
  if (cmd.cls.channel != 0) s += " ch=" + std::to_string(cmd.cls.channel);
  if (cmd.cls.chaining) s += " chained";
  return s;
}

std::string DescribeCommand(ByteView raw, bool allow_extended) {
  const ParsedApdu parsed = ParseCommand(raw, allow_extended);
  return parsed.error == Sw::kOk ? DescribeCommand(parsed.command) : "malformed APDU";
}

bool CarriesPin(ByteView raw) {
  const uint8_t ins = raw.size() >= 2 ? raw[1] : 0;
  return ins == 0x20 || ins == 0x21 || ins == 0x24 || ins == 0x2C;
}

}  // namespace dmcard
