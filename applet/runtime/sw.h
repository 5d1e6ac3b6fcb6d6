// ISO/IEC 7816-4 §5.6 status words used by the runtime and its applets.
#pragma once

#include <cstdint>

namespace dmcard {

enum class Sw : uint16_t {
  kOk = 0x9000,
  // 61xx / 6Cxx carry a length in SW2 and are built with MoreData()/WrongLe().
  kMoreDataBase = 0x6100,
  kWrongLeBase = 0x6C00,
  kWarningNoInfo = 0x6200,
  kAuthenticationFailed = 0x6300,  // a proof that did not verify (GP SCP03, OMA DM credentials)
  kEndOfFileReached = 0x6282,      // fewer bytes than Ne available before the end of the file
  kSelectedFileDeactivated = 0x6283,
  kVerifyFailedBase = 0x63C0,  // 63Cx: x further tries allowed
  kMemoryFailure = 0x6581,
  kWrongLength = 0x6700,
  kLogicalChannelNotSupported = 0x6881,
  kSecureMessagingNotSupported = 0x6882,
  kLastCommandOfChainExpected = 0x6883,
  kChainingNotSupported = 0x6884,
  kCommandNotAllowed = 0x6900,
  kIncompatibleFileStructure = 0x6981,
  kSecurityStatusNotSatisfied = 0x6982,
  kAuthMethodBlocked = 0x6983,
  kReferenceDataNotUsable = 0x6984,
  kConditionsNotSatisfied = 0x6985,
  kCommandNotAllowedNoEf = 0x6986,
  kSmDataObjectsMissing = 0x6987,    // expected secure-messaging data objects missing
  kIncorrectSmDataObjects = 0x6988,  // incorrect secure-messaging data objects (e.g. a bad MAC)
  kWrongData = 0x6A80,
  kFunctionNotSupported = 0x6A81,
  kFileNotFound = 0x6A82,
  kRecordNotFound = 0x6A83,
  kNotEnoughMemory = 0x6A84,
  kIncorrectP1P2 = 0x6A86,
  kLcInconsistentWithP1P2 = 0x6A87,
  kReferenceDataNotFound = 0x6A88,
  kFileAlreadyExists = 0x6A89,
  kDfNameAlreadyExists = 0x6A8A,
  kWrongP1P2 = 0x6B00,
  kInsNotSupported = 0x6D00,
  kClaNotSupported = 0x6E00,
  kNoPreciseDiagnosis = 0x6F00,
  kAppletSelectFailed = 0x6999,  // Java Card: the applet refused selection
};

constexpr uint16_t ToU16(Sw sw) { return static_cast<uint16_t>(sw); }
constexpr Sw MoreData(uint32_t remaining) {
  return static_cast<Sw>(0x6100 | (remaining > 0xFF ? 0 : remaining));
}
constexpr Sw WrongLe(uint32_t available) {
  return static_cast<Sw>(0x6C00 | (available > 0xFF ? 0 : available));
}
constexpr Sw VerifyFailed(unsigned tries_left) {
  return static_cast<Sw>(0x63C0 | (tries_left > 0x0F ? 0x0F : tries_left));
}
// Normal processing (9000) or a warning (62xx/63xx): response data, if any, is returned.
constexpr bool IsSuccessOrWarning(Sw sw) {
  uint16_t v = ToU16(sw);
  return v == 0x9000 || (v >> 8) == 0x62 || (v >> 8) == 0x63;
}

}  // namespace dmcard
