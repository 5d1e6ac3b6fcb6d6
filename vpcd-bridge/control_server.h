// The server side of dmcard-vicc's control socket (`dmcard-vicc ctl`; the client is
// host/vicc_control.h): a Unix socket, by default in a private directory, one line per connection,
// `remove|insert|reset|status [SLOT]`, one answer ending in "ok" or starting with "error:".
// What the verbs do to the cards is the bridge's, behind ControlTarget.
#pragma once

#include <cstdint>
#include <string>

namespace dmcard::vicc {

// One slot as `status` shows it.
struct SlotStatus {
  std::string kind;        // the card's kind: demo, null
  uint16_t port = 0;       // its vpcd port
  const char* state = "";  // inserted, waiting or removed
  uint64_t apdus = 0;
};

// What the control socket can do to the cards; the bridge implements it.
class ControlTarget {
 public:
  // What became of a remove or insert.
  enum class Outcome {
    kDone,
    kAlready,         // the card was already out, or in
    kNotWhenReverse,  // remove refused: reverse mode cannot show a card going away
  };
  virtual ~ControlTarget() = default;
  virtual int slot_count() const = 0;
  virtual SlotStatus Status(int slot) const = 0;
  virtual Outcome Remove(int slot) = 0;
  virtual Outcome Insert(int slot) = 0;
  virtual void Reset(int slot) = 0;  // warm reset
};

class ControlServer {
 public:
  ControlServer() = default;
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;
  // Closes the socket and removes its name.
  ~ControlServer();

  // Creates the socket at `path` (an empty path: no control socket, true). False, said on
  // stderr, when it cannot or another dmcard-vicc answers there.
  bool Open(const std::string& path);
  int fd() const { return fd_; }  // -1 when there is none

  // The socket is readable: serves one client, its line answered by `target`.
  void OnClient(ControlTarget& target);

  // The answer to one control line.
  static std::string Answer(ControlTarget& target, const std::string& line);

 private:
  std::string path_;
  int fd_ = -1;
};

// Creates `dir` 0700 when missing and checks that it is a directory of this user that nobody
// else can write; empty when it is, else what is wrong and what to do.
std::string PrepareControlDir(const std::string& dir);

// Client side of the control socket: sends `line`, prints the answer, returns the exit code.
int RunControlClient(const std::string& path, const std::string& line);

}  // namespace dmcard::vicc
