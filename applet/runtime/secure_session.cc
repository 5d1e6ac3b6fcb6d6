#include "runtime/secure_session.h"

namespace dmcard {

bool ServedByTheRuntime(const CommandApdu& cmd) {
  if (!cmd.cls.interindustry) return false;
  return cmd.ins == kInsGetResponse || cmd.ins == kInsManageChannel ||
         (cmd.ins == kInsSelect && cmd.p1 == 0x04);
}

SessionStep RunSessionStep(SecureSession* session, ByteView raw, CommandApdu& cmd, Bytes& storage) {
  SessionStep step;
  if (cmd.cls.secure_messaging) {
    if (session == nullptr) {
      step.outcome = SessionStep::Outcome::kRefuse;
      step.sw = Sw::kSecureMessagingNotSupported;
      return step;
    }
    CommandApdu plain;
    step.sw = session->Unwrap(raw, cmd, plain, storage);
    if (step.sw != Sw::kOk) {
      step.outcome = SessionStep::Outcome::kEndSession;
      return step;
    }
    cmd = plain;
    step.unwrapped = true;
    return step;
  }
  if (session == nullptr || ServedByTheRuntime(cmd)) return step;
  step.sw = session->AcceptPlain(cmd);
  if (step.sw != Sw::kOk) step.outcome = SessionStep::Outcome::kEndSession;
  return step;
}

}  // namespace dmcard
