// Secure sessions: the seam in the transmit path where a secure channel (GlobalPlatform SCP03 is
// the first kind) unwraps every C-APDU of its logical channel and wraps every answer. Each
// channel holds at most one session; applets open one through AppletContext::StartSession (the
// security domain after INITIALIZE UPDATE) and never look at the secure-messaging bits of CLA:
// the runtime refuses them (6882) on a channel without a session.
//
// Where the session sits in Card::Transmit (runtime/card.cc):
//   parse → channel gate → session unwrap → chain assembly → GET RESPONSE or dispatch
//         → session wrap → response shaping (61xx / Le)
//
// MACs and command chaining. Every C-APDU is unwrapped on its own, before the chain assembler
// sees it: each command of a chain carries its own C-MAC over its own header and data, and the
// MAC chaining value runs from one C-APDU to the next (GP Card Specification 2.3 Amendment D
// §6.2.4: the C-MAC is computed per command as transmitted). The assembled command the applet
// gets is plain. Each C-APDU has its own R-APDU, so the 9000 that acknowledges a chain part is
// wrapped too.
//
// MACs and 61xx. The session wraps the complete response once (R-MAC over all of the response
// data and the status word, Amendment D §6.2.5); the response buffer then hands the wrapped bytes
// out in pieces with 61xx. GET RESPONSE is a transport command: it is neither unwrapped nor
// wrapped, and it does not move the session's counters. Plain MANAGE CHANNEL and SELECT by DF
// name are the runtime's too (GlobalPlatform: the OPEN, not the security domain, serves them).
//
// A session that refuses a command (bad MAC, wrong padding, a plain command where its level
// needs a MAC) is ended by the runtime: the command is answered with the session's status word,
// nothing of it runs, and the channel continues without a session.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/apdu.h"
#include "runtime/bytes.h"
#include "runtime/key_store.h"
#include "runtime/sw.h"

namespace dmcard {

class SecureSession {
 public:
  virtual ~SecureSession() = default;

  // A C-APDU with the secure-messaging indication (`raw` as received, `cmd` parsed from it).
  // On success returns kOk and sets `plain`: the command as the applet sees it (SM bits of the
  // CLA cleared, MAC removed, data decrypted into `storage` if needed). Any other status word
  // refuses the command and ends the session.
  virtual Sw Unwrap(ByteView raw, const CommandApdu& cmd, CommandApdu& plain, Bytes& storage) = 0;
  // A C-APDU without the indication (the runtime's own commands excepted, ServedByTheRuntime):
  // kOk lets it through as it is; any other status word refuses it and ends the session.
  virtual Sw AcceptPlain(const CommandApdu& cmd) = 0;
  // The complete answer to a command that came through Unwrap: `data` as the applet answered
  // (empty on an error), `sw` its status word. May append a MAC or encrypt `data` in place.
  virtual void Wrap(Bytes& data, Sw sw) = 0;

  // The security level in GlobalPlatform's coding (01 C-MAC, 02 C-DECRYPTION, 10 R-MAC,
  // 20 R-ENCRYPTION); 00 while the session is being opened.
  virtual uint8_t security_level() const = 0;
  // The principal the session authenticated (an OMA DM ServerID, kIssuerPrincipal); empty while
  // it is being opened. It becomes the channel's principal.
  virtual const std::string& principal() const = 0;
  // Decrypts sensitive data that the session's authority encrypted for the card (keys, PINs in
  // issuer personalization) with the session's data-encryption key, by handle in `keys`: `in`
  // whole 16-byte blocks. kUsageRefused for a session without such a key (the default).
  virtual CryptoStatus DecryptSensitiveData(KeyStore& /*keys*/, ByteView /*in*/, Bytes& /*out*/) {
    return CryptoStatus::kUsageRefused;
  }
};

// Plain commands the runtime serves itself, which no session judges: GET RESPONSE (transport),
// MANAGE CHANNEL, and SELECT by DF name (which ends the session when it selects anew).
bool ServedByTheRuntime(const CommandApdu& cmd);

// The runtime's session step for one C-APDU on a channel (a pure function of its inputs, so it
// is tested on its own): decides whether `cmd` reaches chain assembly and in which form.
struct SessionStep {
  enum class Outcome : uint8_t {
    kPass,        // `cmd` (possibly replaced by its unwrapped form) goes on
    kRefuse,      // answer `sw`; no session was involved (SM without a session)
    kEndSession,  // answer `sw` and end the channel's session
  };
  Outcome outcome = Outcome::kPass;
  Sw sw = Sw::kOk;
  bool unwrapped = false;  // the answer must go through the session's Wrap
};
SessionStep RunSessionStep(SecureSession* session, ByteView raw, CommandApdu& cmd, Bytes& storage);

}  // namespace dmcard
