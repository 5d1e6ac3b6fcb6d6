// One card slot's TCP connection to vsmartcard's vpcd: getting it (connect with backoff, or in
// reverse mode listen and accept), keeping it to trusted peers only (host/peer.h), and its
// framing (2-byte big-endian length + payload, both ways; vpcd.c sendToVICC/recvFromVICC). What
// the frames mean is the bridge's business (bridge.h); this knows bytes and sockets only.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/bytes.h"

namespace dmcard::vicc {

// What goes into a frame for `payload`: itself, or 6F00 when it is longer than a vpcd frame
// carries. The last line of defence (the card caps its answers for vpcd): a longer payload would
// be read with a wrapped length, and its remainder taken as the answers to later commands —
// another client's.
ByteView Framable(ByteView payload);

// Writes all of `bytes` to the socket `fd` (no SIGPIPE); false when the connection failed.
bool WriteAll(int fd, ByteView bytes);

// Milliseconds on the monotonic clock: the time base of backoffs and follow-up deadlines.
uint64_t NowMs();

// vpcd's framing, receiving side: bytes as they arrive (in any pieces) in, whole frames out. A
// class of its own so that the framing is tested and fuzzed without a socket
// (fuzz/vpcd_fuzzer.cc).
class VpcdFrameReader {
 public:
  VpcdFrameReader() { in_.reserve(4096); }
  void Feed(ByteView bytes) { in_.insert(in_.end(), bytes.begin(), bytes.end()); }
  // The next whole frame fed, and whether more bytes follow it; false when there is none.
  // `payload` stays valid until the next call.
  bool Next(ByteView& payload, bool& more_received);
  void Clear() {
    in_.clear();
    read_ = 0;
  }

 private:
  Bytes in_;         // bytes received; in_[0, read_) are frames already handed out
  size_t read_ = 0;  // see in_
};

enum class LinkState {
  kWaiting,    // no vpcd connection yet: connecting (normal mode) or listening (reverse)
  kConnected,  // vpcd has the card
  kRemoved,    // `ctl remove`: no connection, none attempted or accepted until inserted
};

// Where and how a link reaches vpcd (the bridge's options, BridgeOptions in bridge.h).
struct LinkOptions {
  std::string host;             // vpcd's host (normal mode) or the address to listen on
  uint16_t port = 0;            // this slot's vpcd port
  bool reverse = false;         // listen and let vpcd connect
  bool trust_any_peer = false;  // skip the peer check (host/peer.h)
  // Say once that vpcd is unreachable; false when the bridge says it for many slots at once.
  bool say_waiting = true;
};

class VpcdLink {
 public:
  // `name` is how stderr lines about this slot begin: "slot 0 (demo card, port 35963)".
  VpcdLink(LinkOptions options, std::string name);
  VpcdLink(VpcdLink&& other) noexcept;
  VpcdLink& operator=(VpcdLink&&) = delete;
  ~VpcdLink();

  // One line on stderr about this slot.
  void Say(const std::string& text) const;

  LinkState state() const { return state_; }
  int fd() const { return fd_; }                // the vpcd connection, -1 when none
  int listen_fd() const { return listen_fd_; }  // reverse mode: where vpcd connects, or -1
  uint64_t next_attempt_ms() const { return next_attempt_ms_; }
  // host:port, as the messages name vpcd in normal mode.
  std::string address() const;

  // Normal mode, while waiting and once the backoff has passed: one connection attempt. True
  // when vpcd is connected now; else says once that vpcd is unreachable and backs off.
  bool TryConnect(uint64_t now_ms);
  // Reverse mode: starts listening (false, said why, when it cannot).
  bool Listen();
  // Reverse mode, the listener readable: true when a vpcd connection was taken. One vpcd per
  // card and none while removed: others are closed at once.
  bool Accept();

  enum class Received { kData, kNothing, kClosed };
  // Reads what vpcd sent into the frame buffer; kClosed when the connection is gone (the
  // caller closes the link).
  Received Receive();
  // The next whole frame received, and whether more bytes follow it; false when there is none
  // (or the link closed meanwhile). `payload` stays valid until the next call.
  bool NextFrame(ByteView& payload, bool& more_received);
  // Sends `payload` as one frame, capped by Framable (said when it is); false when the
  // connection failed.
  bool SendFrame(ByteView payload);

  // Closes the connection (a listener stays open) and enters `next`: kWaiting retries at once.
  void Close(LinkState next);
  // kRemoved -> kWaiting: attempts resume, and an unreachable vpcd is said again.
  void Reinsert();

 private:
  bool Trusted(int fd, const std::string& where);
  void Connected(int fd);

  LinkOptions options_;
  std::string name_;
  LinkState state_ = LinkState::kWaiting;
  int fd_ = -1;
  int listen_fd_ = -1;
  VpcdFrameReader frames_;  // what vpcd sent, in frames
  Bytes frame_;             // outgoing frame buffer, reused
  uint64_t next_attempt_ms_ = 0;
  uint32_t backoff_ms_ = 0;
  bool said_waiting_ = false;
  std::string said_refused_;  // the refused peer last named (PeerVerdict::key)
  bool said_remote_ = false;  // said that a remote vpcd cannot be checked
};

}  // namespace dmcard::vicc
