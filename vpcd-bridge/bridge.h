// dmcard-vicc's engine: one thread, one poll() loop, any number of cards, each on its own vpcd
// port (vsmartcard protocol: 2-byte big-endian length + payload; 1-byte control messages
// 00 power off, 01 power on, 02 reset, 04 get ATR; anything else is a C-APDU). The framing has
// no type field, so a 1-byte C-APDU looks like a control message: how the bridge tells them
// apart, and what it cannot, is docs/vpcd-bridge.md "vpcd framing limits".
//
// The connection and its framing are VpcdLink's (vpcd_link.h), the control socket is
// ControlServer's (control_server.h), traces are TraceWriter's (host/trace.h); the bridge says
// what each frame means, has the card answer it, and runs the loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "control_server.h"
#include "host/command_namer.h"
#include "host/reader_conf.h"
#include "host/trace.h"
#include "virtual_card.h"
#include "vpcd_link.h"

namespace dmcard::vicc {

// pcsc-lite shows at most PCSCLITE_MAX_READERS_CONTEXTS (16) readers, and each vpcd port is
// one reader: the cards of this process one pcscd can show. What is said about each card at
// start (its reader, that it listens, that vpcd is not there yet) is said one by one for these;
// for the cards after them, in one line.
constexpr int kReadersOnePcscdShows = 16;

struct BridgeOptions {
  std::string host = "localhost";  // where vpcd listens (normal mode)
  bool reverse = false;            // listen and let vpcd connect
  std::string control_path;        // Unix socket for `dmcard-vicc ctl`; empty = none
  bool verbose = false;            // one decoded line per APDU on stderr
  std::string record_path;         // trace file; with several cards, PATH.<slot> for slot > 0
  bool record_secrets = false;     // trace PIN data in clear (default: masked as **)
  // Hand the card to any peer. Default: a local peer must be root (pcscd) or this user
  // (peer.h); a connection held by anybody else is closed unanswered.
  bool trust_any_peer = false;
  std::string reader_conf_dir = "/etc/reader.conf.d";  // pcscd's reader entries, for names
};

class Bridge final : private ControlTarget {
 public:
  struct SlotSpec {
    std::unique_ptr<VirtualCard> card;
    uint16_t port = 0;
  };
  Bridge(BridgeOptions options, std::vector<SlotSpec> slots);
  ~Bridge();

  // Runs until SIGINT/SIGTERM. Returns the process exit code.
  int Run();

 private:
  struct Slot {
    Slot(int i, uint16_t p, std::unique_ptr<VirtualCard> c, VpcdLink l)
        : index(i), port(p), card(std::move(c)), link(std::move(l)) {}
    int index = 0;
    uint16_t port = 0;
    std::unique_ptr<VirtualCard> card;
    VpcdLink link;
    Bytes response;  // R-APDU buffer, reused
    uint64_t apdus = 0;
    TraceWriter record;  // --record: this card's trace
    // A 1-byte 00/01/02 frame not yet known to be a control message (vpcd sends something
    // else without waiting) or a 1-byte C-APDU (vpcd waits for its answer); -1 = none.
    int undecided = -1;
    uint64_t undecided_until_ms = 0;  // then it is answered as a C-APDU
    // -v: names each command from the command reference (apdu-specs), following selections.
    CommandNamer namer;
  };

  void Say(const Slot& s, const std::string& text) const { s.link.Say(text); }
  std::string ReaderName(const Slot& s) const;
  bool Start(Slot& s);
  void SayTheOthers() const;
  void Connect(Slot& s, uint64_t now_ms);
  void Accept(Slot& s);
  void OnConnected(Slot& s);
  void Drop(Slot& s, const std::string& why, LinkState next);
  void OnReadable(Slot& s);
  void HandleFrame(Slot& s, ByteView payload, bool more_received);
  void ApplyControl(Slot& s, uint8_t control);
  void DecideUndecided(Slot& s, uint64_t now_ms);
  void Answer(Slot& s, ByteView command);
  bool OpenSignals();
  int Stop();

  // ControlTarget: what `dmcard-vicc ctl` does to a slot.
  int slot_count() const override { return static_cast<int>(slots_.size()); }
  SlotStatus Status(int slot) const override;
  Outcome Remove(int slot) override;
  Outcome Insert(int slot) override;
  void Reset(int slot) override;

  BridgeOptions options_;
  ReaderConf reader_conf_;
  std::vector<Slot> slots_;
  ControlServer control_;
  int signal_fd_ = -1;  // SIGINT and SIGTERM, read in the loop
};

}  // namespace dmcard::vicc
