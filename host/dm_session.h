// A host's session with the DM applet of a card, through any Reader: as the device (plain
// commands, the device's rights) or as a management authority — a DM server or the issuer —
// over a GlobalPlatform SCP03 secure channel opened with its key set (host/scp03_host.h). Every
// command goes through Transmit, which wraps and unwraps under the channel and follows 61xx.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "host/personalization.h"
#include "host/reader.h"
#include "host/scp03_host.h"

namespace dmcard {

// Where a management authority's key set comes from: a profile file's "key_sets" entry whose
// owner is `owner` ("@issuer" or a DM server's ServerID; empty: the profile's only key set not
// owned by the issuer).
struct KeySetChoice {
  std::string profile;  // profile JSON; empty = the built-in demo profile
  std::string owner;
};

// The key set `choice` names; nullopt with `error` saying which sets the profile has.
std::optional<HostProfile::KeySet> FindKeySet(const KeySetChoice& choice, std::string& error);

class DmSession {
 public:
  // The device's session on whatever the reader's basic channel has selected (the caller has
  // selected the DM applet, e.g. in `dmcard shell`): no SELECT, no secure channel.
  static std::unique_ptr<DmSession> Attach(Reader& reader) {
    return std::unique_ptr<DmSession>(new DmSession(reader));
  }
  // SELECTs the DM applet as the device (no secure channel).
  static std::unique_ptr<DmSession> OpenPlain(Reader& reader, std::string& error);
  // SELECTs the DM applet and opens SCP03 with `keys` at `level` (01, 03, 13 or 33). Null with
  // `error` saying what the card answered (a wrong key set: 6982 or 6300 from EXTERNAL
  // AUTHENTICATE; blocked: 6983).
  static std::unique_ptr<DmSession> OpenSecure(Reader& reader, const HostProfile::KeySet& keys,
                                               uint8_t level, std::string& error);

  // Sends a plain C-APDU (wrapped when the session is secure) and returns the plain R-APDU
  // (data + SW). False with `error` when the reader fails or the card's answer does not check.
  bool Transmit(ByteView command, Bytes& response, std::string& error);

  bool secure() const { return scp_ != nullptr; }
  // The SELECT's answer: FCI with the descriptor (apdu-specs/dm.json "SELECT (DM applet)").
  const Bytes& select_response() const { return select_response_; }

 private:
  explicit DmSession(Reader& reader) : reader_(reader) {}
  bool Select(std::string& error);

  Reader& reader_;
  std::unique_ptr<HostScp03> scp_;
  Bytes select_response_;
};

// The DM applet's descriptor (apdu-specs/dm.json "SELECT (DM applet)"): what one SELECT tells a
// device or a DM server about the card's DM content (SC7).
struct DmDescriptor {
  static constexpr uint8_t kProvisioningData = 0x01;  // ./DMAcc has an account (DEV1)
  static constexpr uint8_t kUserConfirmation = 0x02;  // ask the user first (USA1)
  static constexpr uint8_t kAutoconnect = 0x04;       // connect to the DMS on its own (USA3)

  uint16_t applet_version = 0;  // 80
  uint8_t tree_format = 0;      // 81
  uint32_t generation = 0;      // 82: changes with every tree change
  Bytes digest;                 // 83: SHA-256 of the tree, secret values excluded
  uint8_t flags = 0;            // 84
  uint16_t capabilities = 0;    // 85: two bytes, the defined bits in the first
  bool provisioned() const { return (flags & kProvisioningData) != 0; }
  bool user_confirmation() const { return (flags & kUserConfirmation) != 0; }
  bool autoconnect() const { return (flags & kAutoconnect) != 0; }
  // "provisioning data, user confirmation, autoconnect" / "extended length, chaining, ...".
  std::string FlagsText() const;
  std::string CapabilitiesText() const;
};
// Reads the FCI of the DM applet's SELECT (6F { 84 AID, A5 { ... } }) or the A5 template alone
// (GET DATA A5); nullopt with `error` when it does not decode or lacks the flags (84, one
// byte). Objects of another size than the reference's are ignored.
std::optional<DmDescriptor> DecodeDmDescriptor(ByteView fci, std::string& error);

// The status word of an R-APDU (0 when it has none).
uint16_t StatusWordOf(ByteView response);
// Its data, without the status word.
Bytes DataOf(ByteView response);

}  // namespace dmcard
