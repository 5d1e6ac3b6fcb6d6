// Names of commands for logs and decoders (ISO/IEC 7816-4 §11, GlobalPlatform for E2/E4/E6).
#pragma once

#include <cstdint>
#include <string>

#include "runtime/apdu.h"

namespace dmcard {

// "SELECT", "READ BINARY", ... or "INS xx" when unknown.
std::string InsName(uint8_t ins);
// One line: "SELECT 04 00 Lc=9 Le=256" (channel shown when not 0).
std::string DescribeCommand(const CommandApdu& cmd);
// The same for raw bytes: "malformed APDU" when they do not parse.
std::string DescribeCommand(ByteView raw, bool allow_extended);
// True for the PIN commands by INS (VERIFY 20/21, CHANGE REFERENCE DATA 24, RESET RETRY COUNTER
// 2C), whatever the class and even malformed: their data is a PIN, never shown in a trace.
bool CarriesPin(ByteView raw);

}  // namespace dmcard
