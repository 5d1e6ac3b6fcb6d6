// The SCP03 handshake — INITIALIZE UPDATE and EXTERNAL AUTHENTICATE (GP Card Specification v2.3
// Amendment D, its two commands) — as a component any applet serves, with the key sets of the
// card's key store (runtime/key_store.h). The Issuer Security Domain (gp/security_domain.h) serves
// it, and so can an application that must be reached under a secure channel of its own.
//
// Why applets serve it themselves. A session belongs to the logical channel and ends when the
// applet selected there is deselected (GP Card Specification v2.3 §10.2, secure channel
// termination: a session ends when the application it was opened with is deselected). A
// management authority that opened a session on the ISD would lose it at SELECT of the DM
// applet. GlobalPlatform's answer for applications is the Secure Channel interface of the
// Security Domain the application is associated with (Java Card: GPSystem.getSecureChannel(),
// whose processSecurity() handles INITIALIZE UPDATE and EXTERNAL AUTHENTICATE sent to the
// application). This component is that interface: the DM applet passes each command to
// Scp03Handshake::Process first, and a session opened there lives as long as the DM applet stays
// selected on the channel. The card challenge is derived with the AID of the applet serving the
// handshake (Amendment D §6.2.2.1 names "the AID of the Security Domain"; for an application
// using its Security Domain's channel hosts that compute the challenge with the AID they
// selected).
//
// Key sets are bound to principals: a set's keys all have one owner (kIssuerPrincipal or an OMA
// DM ServerID), and a session opened with the set authenticates that owner, which becomes the
// channel's principal. An owner beginning with '@' other than kIssuerPrincipal is never made a
// principal (dm/acl.h reserves those names).
//
// INITIALIZE UPDATE  80 50 KVN 00 08 <host challenge> [00], any logical channel (CLA 80-83,
//   C0-CF). KVN 00: the lowest SCP03 key set. Ends the channel's session, moves the key set's
//   sequence counter on (durable BEFORE the answer: never twice the same card challenge),
//   derives the pseudo-random card challenge from it and answers KDD (10 x 00) || KVN || 03 ||
//   i (70: pseudo-random challenge, R-MAC and R-ENCRYPTION supported) || card challenge || card
//   cryptogram || sequence counter, and opens a session awaiting EXTERNAL AUTHENTICATE.
//   6A86 P2 not 00; 6700 host challenge not 8 bytes (S8 only); 6A88 no such key set; 6983 the
//   set is blocked; 6984 its sequence counter is exhausted; 6985 its owner cannot be a principal.
// EXTERNAL AUTHENTICATE  84 82 level 00 10 <host cryptogram> <C-MAC>, levels 01, 03, 11, 13,
//   33. Counts an attempt on the key set (durable) before checking; on success the count is
//   cleared and the set's owner is the channel's principal. 6300 wrong host cryptogram, 6982 bad
//   C-MAC, 6A86 level not supported (not counted), 6983 the set is blocked, 6985 no INITIALIZE
//   UPDATE before; every error ends the session.
#pragma once

#include <optional>

#include "gp/scp03.h"
#include "runtime/applet.h"

namespace dmcard::gp {

class Scp03Handshake {
 public:
  static constexpr uint8_t kInsInitializeUpdate = 0x50;
  static constexpr uint8_t kInsExternalAuthenticate = 0x82;
  // The "i" parameter announced (Amendment D §5.1): pseudo-random card challenge, R-MAC and
  // R-ENCRYPTION supported, S8 mode.
  static constexpr uint8_t kI = kIPseudoRandomChallenge | kIRMacSupported | kIREncryptionSupported;

  // `aid`: the AID of the applet serving the handshake (5 to 16 bytes).
  explicit Scp03Handshake(Bytes aid) : aid_(std::move(aid)) {}

  // Handles INITIALIZE UPDATE and EXTERNAL AUTHENTICATE (proprietary class); nullopt for every
  // other command, which the applet then processes as its own.
  std::optional<Sw> Process(AppletContext& ctx, const CommandApdu& cmd, Bytes& out) const;

  // The name of a handshake command for logs ("GP INITIALIZE UPDATE KVN 30"), else empty.
  static std::string Describe(const CommandApdu& cmd);

 private:
  Sw InitializeUpdate(AppletContext& ctx, const CommandApdu& cmd, Bytes& out) const;
  Sw ExternalAuthenticate(AppletContext& ctx, const CommandApdu& cmd) const;

  Bytes aid_;
};

}  // namespace dmcard::gp
