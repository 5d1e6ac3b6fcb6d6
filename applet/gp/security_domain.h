// The GlobalPlatform Issuer Security Domain (GP Card Specification v2.3), AID A000000151000000:
// the card issuer's on-card representative. Today it opens SCP03 secure channel sessions
// (gp/scp03_handshake.h) with any key set of the card's key store — the issuer's and each
// management authority's — and tells which key sets it holds. Loading keys and personalization
// data under the issuer's session (STORE DATA, issue 9 item 5) come next.
//
// Commands (proprietary class, any logical channel; GET DATA also interindustry):
//   SELECT by AID                 FCI 6F { 84 AID, A5 { 73 security domain management data,
//                                 9F65 maximum command data length } }
//   80 50 KVN 00 08 challenge 00  INITIALIZE UPDATE  (gp/scp03_handshake.h)
//   84 82 level 00 10 ...         EXTERNAL AUTHENTICATE
//   80 CA 00 E0 00                GET DATA: Key Information Template (GP CS §11.3.3.1): E0 { C0 04
//                                 key id, KVN, key type 88 (AES), key length } for every member
//                                 of every SCP03 key set; no key material, no owner
// Other instructions: 6D00.
#pragma once

#include <string>

#include "gp/scp03_handshake.h"
#include "runtime/applet.h"

namespace dmcard::gp {

class SecurityDomain final : public Applet {
 public:
  // The ISD's AID (GP Card Specification: the GlobalPlatform RID A000000151 and PIX 0000).
  static Bytes IsdAid();

  explicit SecurityDomain(Bytes aid = IsdAid());

  const char* name() const override { return "gp-isd"; }
  // Selectable on every logical channel at once: each channel may hold its own session.
  bool multiselectable() const override { return true; }

  Sw Process(AppletContext& ctx, const CommandApdu& cmd, Bytes& response) override;
  std::string DescribeCommand(const CommandApdu& cmd) const override;

 private:
  Bytes Fci() const;
  Sw GetData(AppletContext& ctx, const CommandApdu& cmd, Bytes& out) const;

  Scp03Handshake handshake_;
};

}  // namespace dmcard::gp
