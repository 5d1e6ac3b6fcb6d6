#include "gp/scp03_session.h"

#include <utility>

namespace dmcard::gp {

namespace {

constexpr uint8_t kInsInitializeUpdate = 0x50;
constexpr uint8_t kInsExternalAuthenticate = 0x82;

bool IsInitializeUpdate(const CommandApdu& cmd) {
  return !cmd.cls.interindustry && cmd.ins == kInsInitializeUpdate;
}

// The C-APDU `bytes` (in `storage`) as the applet sees it. The bytes came from the runtime's
// parser or from the channel in the same length form, so they parse.
Sw ParsePlain(Bytes& storage, CommandApdu& plain) {
  ParsedApdu parsed = ParseCommand(storage, /*allow_extended=*/true);
  if (parsed.error != Sw::kOk) return parsed.error;
  plain = parsed.command;
  return Sw::kOk;
}

}  // namespace

Scp03Session::Scp03Session(Scp03Channel channel, uint8_t kvn, std::string owner)
    : channel_(std::move(channel)), kvn_(kvn), owner_(std::move(owner)) {}

Sw Scp03Session::Unwrap(ByteView raw, const CommandApdu& cmd, CommandApdu& plain, Bytes& storage) {
  answer_unwrapped_ = false;
  if (awaiting_authentication()) {
    // Amendment D §7.2: only EXTERNAL AUTHENTICATE may follow INITIALIZE UPDATE secured; it is
    // checked by the handshake (in the applet, inside the command's transaction, where the
    // attempt counter is kept), so it goes through as sent, SM indication cleared.
    if (cmd.cls.interindustry || cmd.ins != kInsExternalAuthenticate || cmd.cls.chaining) {
      channel_.Close();
      return Sw::kConditionsNotSatisfied;
    }
    authentication_.assign(raw.begin(), raw.end());
    storage.assign(raw.begin(), raw.end());
    storage[0] = static_cast<uint8_t>(cmd.cls.channel >= 4 ? raw[0] & ~0x20 : raw[0] & ~0x0C);
    answer_unwrapped_ = true;
    return ParsePlain(storage, plain);
  }
  if (channel_.state() != Scp03Channel::State::kOpen) return Sw::kConditionsNotSatisfied;
  const Scp03Status st = channel_.UnwrapCommand(raw, storage);
  if (st != Scp03Status::kOk) return static_cast<Sw>(StatusWordFor(st));
  return ParsePlain(storage, plain);
}

Sw Scp03Session::AcceptPlain(const CommandApdu& cmd) {
  if (IsInitializeUpdate(cmd)) return Sw::kOk;  // the handshake starts over
  if (awaiting_authentication()) {
    channel_.Close();  // the opening is aborted; the command runs as without a session
    return Sw::kOk;
  }
  if (channel_.state() != Scp03Channel::State::kOpen) return Sw::kOk;
  // Every level the card runs has C-MAC: a command without it is refused (Amendment D §6.2.4).
  return Sw::kSecurityStatusNotSatisfied;
}

void Scp03Session::Wrap(Bytes& data, Sw sw) {
  if (answer_unwrapped_) {  // the EXTERNAL AUTHENTICATE's answer precedes the session
    answer_unwrapped_ = false;
    return;
  }
  if (channel_.state() != Scp03Channel::State::kOpen) return;  // nothing was unwrapped
  Bytes out;
  if (channel_.WrapResponse(data, ToU16(sw), out) != Scp03Status::kOk) {
    data.clear();  // never an answer in the clear where the level wants it protected
    return;
  }
  data = std::move(out);
}

Scp03Status Scp03Session::Authenticate() {
  if (authentication_.empty()) {
    channel_.Close();
    return Scp03Status::kWrongState;
  }
  const Scp03Status st = channel_.ExternalAuthenticate(authentication_);
  authentication_.clear();
  if (st == Scp03Status::kOk) principal_ = owner_;
  return st;
}

CryptoStatus Scp03Session::DecryptSensitiveData(KeyStore& keys, ByteView in, Bytes& out) {
  if (principal_.empty()) return CryptoStatus::kUsageRefused;
  const std::optional<KeyHandle> dek = keys.Find(kvn_, kKeyIdDek);
  if (!dek) return CryptoStatus::kNotFound;
  static constexpr uint8_t kZeroIcv[16] = {};
  return keys.Decrypt(*dek, CipherMode::kCbc, kZeroIcv, in, out);
}

}  // namespace dmcard::gp
