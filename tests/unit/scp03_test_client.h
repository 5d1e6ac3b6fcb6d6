// Acting as a principal in a test the way a host does: the card gets an SCP03 key set bound to
// the principal (through KeyLoader, the product's loading interface) and the test opens a
// GlobalPlatform SCP03 session with it, on one logical channel of an in-process Card, to the
// applet selected there (an applet that serves gp::Scp03Handshake: the DM applet, the file
// system). The session's key-set owner is then the channel's principal: an OMA DM ServerID, or
// kIssuerPrincipal. The runtime has no hook that sets a principal; this is the way.
//
// The session ends as the card says (applet/gp/scp03_session.h): at deselect, reset, channel
// close, any refused secured command, and any plain command other than INITIALIZE UPDATE and the
// runtime's own (GET RESPONSE, MANAGE CHANNEL, SELECT by DF name). Open it after the SELECT.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "host/scp03_host.h"
#include "runtime/bytes.h"
#include "runtime/card.h"

namespace dmcard::testing {

// A key set as the host holds it: its KVN on the card and its static keys.
struct TestKeySet {
  uint8_t kvn = 0;
  HostScp03Keys keys;
};

// Obviously-test AES-128 keys for KVN `kvn`: the ASCII of "K30-NOT-REAL-ENC", "...-MAC", "...-DEK".
HostScp03Keys TestKeys(uint8_t kvn);

// Loads `set` into the card's key store, owned by `owner`, in one store transaction
// (KeyLoader::LoadScp03KeySet). "" on success, else what failed.
std::string LoadKeySet(Card& card, const TestKeySet& set, std::string_view owner);

// Gives `card` a key set owned by `owner` at the lowest KVN (30 to 3F) it does not use yet, with
// TestKeys(kvn). Records a test failure and returns KVN 00 when it cannot.
TestKeySet AddKeySetFor(Card& card, std::string_view owner);

// INITIALIZE UPDATE (host challenge 01..08) and EXTERNAL AUTHENTICATE at `level` through `host`
// on `channel`, to the applet with AID `aid` selected there (the pseudo-random card challenge is
// derived with it and checked). "" on success, else the step that failed and its answer.
std::string OpenScp03(Card& card, HostScp03& host, uint8_t kvn, ByteView aid, uint8_t level,
                      uint8_t channel = 0);

// A host holding one key set, talking to the card on one logical channel.
class Scp03TestClient {
 public:
  // Every level the card supports has C-MAC; this one also encrypts and MACs the answers.
  static constexpr uint8_t kFullSecurity = 0x33;

  Scp03TestClient(Card& card, TestKeySet set, uint8_t channel = 0);

  // Opens a new session to the applet `aid` selected on the channel (any session before ends).
  // "" on success, else what failed.
  std::string Open(ByteView aid, uint8_t level = kFullSecurity);

  // Sends the plain C-APDU `plain` (its CLA names the channel) wrapped under the session, fetches
  // the rest with GET RESPONSE while the card answers 61xx, and returns the plain response data
  // followed by the status word. A status word the session answered itself (6982: refused,
  // 6882: no session) comes back as it is. Throws HostScp03Error on a wrong R-MAC.
  Bytes Transmit(ByteView plain);
  Bytes Transmit(std::string_view hex);

  HostScp03& host() { return host_; }
  uint8_t channel() const { return channel_; }

 private:
  Card& card_;
  TestKeySet set_;
  uint8_t channel_;
  HostScp03 host_;
};

}  // namespace dmcard::testing
