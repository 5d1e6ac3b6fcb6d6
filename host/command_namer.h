// Names C-APDUs the way the command reference does (apdu-specs/*.json, host/apdu_spec.h), for
// host tools and traces: "SELECT (DM applet): FCI", "GET (tree): value of a leaf", "VERIFY
// BOOTSTRAP: verify". The same INS means different commands in different applets (A4, 20, 50,
// 82 ...), so the namer follows, per logical channel, which applet is selected: it watches the
// exchanges (SELECT by DF name, MANAGE CHANNEL) the way the card's runtime acts on them
// (applet/runtime/card.cc), and a reset.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "host/apdu_spec.h"
#include "runtime/bytes.h"

namespace dmcard {

// An applet the card holds, in the card's registry order (SELECT by a right-truncated AID picks
// the first that matches).
struct KnownApplet {
  Bytes aid;
  std::string spec_file;  // the apdu-specs group naming its commands ("dm"), or "" for none
  std::string label;      // for people: "DM applet"
  // The entry of `spec_file` naming its selection by AID ("SELECT (DM applet)"), or "" for the
  // runtime's "SELECT (by DF name)".
  std::string select_command;
};

// The applets of the cards dmcard makes (cards/make_card.h): the DM applet (dm.json), the
// file-system applet (iso-fs.json; the default applet after a reset) and the GlobalPlatform ISD
// (no spec file of its own: named from runtime.json alone).
std::vector<KnownApplet> DmcardApplets();
// The index in DmcardApplets() of the applet selected after a reset (the file system).
inline constexpr int kDmcardDefaultApplet = 1;

// What a command is.
struct CommandName {
  // "GET (tree): value of a leaf": the spec entry's name, and when its P1 (else P2) tells
  // variants apart, the chosen variant's meaning, shortened. Unknown: "INS 9A (proprietary
  // class)"; fewer than 4 bytes: "malformed APDU (3 bytes)".
  std::string name;
  std::string spec_file;     // the group that named it ("runtime", "dm"); empty when unknown
  std::string spec_command;  // the entry's name ("GET (tree)"); empty when unknown
  uint8_t channel = 0;
  bool secure_messaging = false;  // CLA SM bits set (e.g. 84): the same command, wrapped
  bool chained = false;           // CLA b5: not the last command of a chain

  bool known() const { return !spec_command.empty(); }
  // `name` with what the CLA adds: "GET (tree): value of a leaf [channel 2, secure messaging]".
  std::string Describe() const;
};

class CommandNamer {
 public:
  // `specs` must outlive the namer. `default_applet` indexes `applets` (-1: none).
  explicit CommandNamer(const ApduSpecSet& specs = BuiltInApduSpecs(),
                        std::vector<KnownApplet> applets = DmcardApplets(),
                        int default_applet = kDmcardDefaultApplet);

  // Names a command before (or after) it is sent; changes nothing.
  CommandName Name(ByteView command) const;
  // Follows the card after an exchange: a SELECT by DF name answered 9000/61xx selects the
  // applet it names on its channel (a name that matches no applet is a file selection inside the
  // selected applet: no change); MANAGE CHANNEL opens a channel with the default applet (from
  // the basic channel) or the applet of the channel it was sent on, or closes one.
  void Observe(ByteView command, ByteView response);
  // Power-up or reset: only the basic channel is open, with the default applet.
  void Reset();

  // The index in the applet list selected on `channel`, or -1 (none, or the channel is closed).
  int SelectedApplet(uint8_t channel) const;
  const std::vector<KnownApplet>& applets() const { return applets_; }

 private:
  static constexpr size_t kChannels = 20;  // ISO 7816-4: basic channel and 19 further ones

  // The applet a SELECT by DF name of `aid` finds, per the occurrence in P2 b2-b1; -1 if none.
  int FindApplet(ByteView aid, uint8_t p2, int current) const;

  const ApduSpecSet& specs_;
  std::vector<KnownApplet> applets_;
  int default_applet_;
  std::array<bool, kChannels> open_{};
  std::array<int, kChannels> selected_{};
};

}  // namespace dmcard
