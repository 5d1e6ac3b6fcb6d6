#include "runtime/sw_text.h"

namespace dmcard {

std::string DescribeSw(uint16_t sw) {
  const uint8_t sw1 = static_cast<uint8_t>(sw >> 8);
  const unsigned sw2 = sw & 0xFF;
  switch (sw1) {
    case 0x61:
      return sw2 == 0 ? "256 or more bytes available (GET RESPONSE)"
                      : std::to_string(sw2) + " more bytes available (GET RESPONSE)";
    case 0x6C:
      return "wrong Le: " + std::to_string(sw2 == 0 ? 256 : sw2) + " bytes available";
    case 0x63:
      if ((sw2 & 0xF0) == 0xC0) {
        return "verification failed, " + std::to_string(sw2 & 0x0F) + " tries left";
      }
      break;
    default:
      break;
  }
  switch (static_cast<Sw>(sw)) {
    case Sw::kOk:
      return "success";
    case Sw::kWarningNoInfo:
      return "warning, state unchanged";
    case Sw::kEndOfFileReached:
      return "end of file reached before Le bytes";
    case Sw::kSelectedFileDeactivated:
      return "selected file deactivated";
    case Sw::kMemoryFailure:
      return "memory failure";
    case Sw::kWrongLength:
      return "wrong length";
    case Sw::kLogicalChannelNotSupported:
      return "logical channel not supported or not open";
    case Sw::kSecureMessagingNotSupported:
      return "secure messaging not supported";
    case Sw::kLastCommandOfChainExpected:
      return "last command of the chain expected";
    case Sw::kChainingNotSupported:
      return "command chaining not supported";
    case Sw::kCommandNotAllowed:
      return "command not allowed";
    case Sw::kIncompatibleFileStructure:
      return "command incompatible with file structure";
    case Sw::kSecurityStatusNotSatisfied:
      return "security status not satisfied";
    case Sw::kAuthMethodBlocked:
      return "authentication method blocked";
    case Sw::kReferenceDataNotUsable:
      return "reference data not usable";
    case Sw::kConditionsNotSatisfied:
      return "conditions of use not satisfied";
    case Sw::kCommandNotAllowedNoEf:
      return "command not allowed (no current EF)";
    case Sw::kSmDataObjectsMissing:
      return "expected secure messaging data objects missing";
    case Sw::kIncorrectSmDataObjects:
      return "incorrect secure messaging data objects (e.g. a wrong MAC)";
    case Sw::kWrongData:
      return "incorrect parameters in the data field";
    case Sw::kFunctionNotSupported:
      return "function not supported";
    case Sw::kFileNotFound:
      return "file or application not found";
    case Sw::kRecordNotFound:
      return "record not found";
    case Sw::kNotEnoughMemory:
      return "not enough memory space";
    case Sw::kIncorrectP1P2:
      return "incorrect parameters P1-P2";
    case Sw::kLcInconsistentWithP1P2:
      return "Lc inconsistent with P1-P2";
    case Sw::kReferenceDataNotFound:
      return "referenced data not found";
    case Sw::kFileAlreadyExists:
      return "file already exists";
    case Sw::kDfNameAlreadyExists:
      return "DF name already exists";
    case Sw::kWrongP1P2:
      return "wrong parameters P1-P2 (offset outside the EF)";
    case Sw::kInsNotSupported:
      return "instruction not supported";
    case Sw::kClaNotSupported:
      return "class not supported";
    case Sw::kNoPreciseDiagnosis:
      return "no precise diagnosis";
    case Sw::kAppletSelectFailed:
      return "applet selection failed";
    default:
      return "unknown status";
  }
}

}  // namespace dmcard
