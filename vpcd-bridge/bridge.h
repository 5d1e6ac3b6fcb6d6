// dmcard-vicc's engine: one thread, one poll() loop, any number of cards, each on its own vpcd
// port (vsmartcard protocol: 2-byte big-endian length + payload; 1-byte control messages
// 00 power off, 01 power on, 02 reset, 04 get ATR; anything else is a C-APDU). The framing has
// no type field, so a 1-byte C-APDU looks like a control message: how the bridge tells them
// apart, and what it cannot, is docs/vpcd-bridge.md "vpcd framing limits".
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "host/command_namer.h"
#include "host/reader_conf.h"
#include "host/trace.h"
#include "host/vicc_control.h"
#include "virtual_card.h"

namespace dmcard::vicc {

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

class Bridge {
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
  enum class LinkState { kWaiting, kConnected, kRemoved };
  struct Slot {
    int index = 0;
    uint16_t port = 0;
    std::unique_ptr<VirtualCard> card;
    LinkState state = LinkState::kWaiting;
    int fd = -1;         // the vpcd connection
    int listen_fd = -1;  // reverse mode: where vpcd connects
    Bytes in;            // bytes received, not yet a whole frame
    Bytes response;      // R-APDU buffer, reused
    Bytes frame;         // outgoing frame buffer, reused
    uint64_t next_attempt_ms = 0;
    uint32_t backoff_ms = 0;
    bool said_waiting = false;
    std::string said_refused;  // the refused peer last named (PeerVerdict::key)
    bool said_remote = false;  // said that a remote vpcd cannot be checked
    uint64_t apdus = 0;
    TraceWriter record;  // --record: this card's trace
    // A 1-byte 00/01/02 frame not yet known to be a control message (vpcd sends something
    // else without waiting) or a 1-byte C-APDU (vpcd waits for its answer); -1 = none.
    int undecided = -1;
    uint64_t undecided_until_ms = 0;  // then it is answered as a C-APDU
    // -v: names each command from the command reference (apdu-specs), following selections.
    CommandNamer namer;
  };

  void Say(const Slot& s, const std::string& text) const;
  std::string ReaderName(const Slot& s) const;
  bool Trusted(Slot& s, int fd, const std::string& where);
  void TryConnect(Slot& s, uint64_t now_ms);
  bool OpenListener(Slot& s);
  void AcceptVpcd(Slot& s);
  void Drop(Slot& s, const std::string& why, LinkState next);
  void OnReadable(Slot& s);
  void OnConnected(Slot& s);
  void HandleFrame(Slot& s, ByteView payload, bool more_received);
  void ApplyControl(Slot& s, uint8_t control);
  void DecideUndecided(Slot& s, uint64_t now_ms);
  void Answer(Slot& s, ByteView command);
  bool SendFrame(Slot& s, ByteView payload);
  bool OpenControl();
  void OnControlClient(int fd);
  std::string Control(const std::string& line);

  BridgeOptions options_;
  ReaderConf reader_conf_;
  std::vector<Slot> slots_;
  int control_fd_ = -1;
  int signal_fd_ = -1;
};

// Client side of the control socket: sends `line`, prints the answer, returns the exit code.
int RunControlClient(const std::string& path, const std::string& line);

// Creates `dir` 0700 when missing and checks that it is a directory of this user that nobody
// else can write; empty when it is, else what is wrong and what to do.
std::string PrepareControlDir(const std::string& dir);

}  // namespace dmcard::vicc
