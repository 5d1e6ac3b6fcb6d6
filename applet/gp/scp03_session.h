// GlobalPlatform SCP03 as a runtime secure session (runtime/secure_session.h): an Scp03Channel
// opened by INITIALIZE UPDATE (gp/scp03_handshake.h) on one logical channel, bound to the key
// set that opened it and to that set's owner, who becomes the channel's principal once EXTERNAL
// AUTHENTICATE succeeds.
//
// What the runtime sees, by the channel's state (Amendment D §6.2 and its commands):
//  - awaiting EXTERNAL AUTHENTICATE: the EXTERNAL AUTHENTICATE C-APDU (SM class, INS 82) is let
//    through to the applet with its data as sent, its bytes kept for Authenticate(); its answer
//    is not wrapped (it precedes the session). Any other secured command is refused (6985) and
//    ends the session. A plain command ends the opening (GP: a command other than EXTERNAL
//    AUTHENTICATE after INITIALIZE UPDATE aborts it) and runs as without a session; a plain
//    INITIALIZE UPDATE reaches the handshake, which opens a new session.
//  - open: every secured C-APDU is unwrapped by the channel (C-MAC, C-DECRYPTION); a refused one
//    (tampered, replayed, reordered: 6982; malformed: 6700) ends the session. Every answer is
//    wrapped (R-MAC, R-ENCRYPTION) as the level asks. A plain command is refused (6982) and
//    ends the session — every supported level has C-MAC — except INITIALIZE UPDATE, which
//    starts a new session.
// The runtime ends the session on reset, channel close and deselect.
#pragma once

#include <string>

#include "gp/scp03.h"
#include "runtime/secure_session.h"

namespace dmcard::gp {

class Scp03Session final : public SecureSession {
 public:
  // `channel` has been initialized with the static keys of set `kvn`, owned by `owner`.
  Scp03Session(Scp03Channel channel, uint8_t kvn, std::string owner);

  Sw Unwrap(ByteView raw, const CommandApdu& cmd, CommandApdu& plain, Bytes& storage) override;
  Sw AcceptPlain(const CommandApdu& cmd) override;
  void Wrap(Bytes& data, Sw sw) override;
  uint8_t security_level() const override { return channel_.security_level(); }
  const std::string& principal() const override { return principal_; }
  // Amendment D §7.2 (as for PUT KEY): AES-CBC with a zero ICV under the static K-DEK (key id 03)
  // of the session's key set. Only once the session is authenticated.
  CryptoStatus DecryptSensitiveData(KeyStore& keys, ByteView in, Bytes& out) override;

  // For the handshake that opened it.
  uint8_t kvn() const { return kvn_; }
  const std::string& owner() const { return owner_; }
  // INITIALIZE UPDATE answered, the EXTERNAL AUTHENTICATE not yet checked.
  bool awaiting_authentication() const {
    return channel_.state() == Scp03Channel::State::kAwaitingAuthentication;
  }
  // Checks the EXTERNAL AUTHENTICATE that Unwrap let through (C-MAC, host cryptogram, level).
  // kOk opens the session: the key set's owner becomes its principal. Anything else closes it;
  // kWrongState when no EXTERNAL AUTHENTICATE came through Unwrap.
  Scp03Status Authenticate();

 private:
  Scp03Channel channel_;
  uint8_t kvn_;
  std::string owner_;
  std::string principal_;          // empty until authenticated
  Bytes authentication_;           // the EXTERNAL AUTHENTICATE as received, until Authenticate()
  bool answer_unwrapped_ = false;  // the command being answered is the EXTERNAL AUTHENTICATE
};

}  // namespace dmcard::gp
