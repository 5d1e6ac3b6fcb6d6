// dmcard-vicc's control socket, end to end (vpcd-bridge/control_server.h): a real Unix socket
// made once per process, one client per input sending the input's bytes, the server's OnClient
// reading one line and answering it against a fake set of card slots. Oracles: every answer is
// "error: ..." (one line) or ends in the line "ok..."; the cards are touched only by a known
// verb naming a slot that exists, and only as the answer says.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "fuzz_input.h"
#include "vpcd-bridge/control_server.h"

namespace {

using dmcard::vicc::ControlTarget;
using dmcard::vicc::SlotStatus;

// Three slots; records what was done to them.
class FakeSlots final : public ControlTarget {
 public:
  int slot_count() const override { return 3; }
  SlotStatus Status(int slot) const override {
    Check(slot);
    return {"demo", static_cast<uint16_t>(35963 + slot), inserted_[slot] ? "inserted" : "removed",
            0};
  }
  Outcome Remove(int slot) override {
    Check(slot);
    if (slot == 2) return Outcome::kNotWhenReverse;  // a reverse-mode slot: refused, unchanged
    ++actions;
    const bool was = inserted_[slot];
    inserted_[slot] = false;
    return was ? Outcome::kDone : Outcome::kAlready;
  }
  Outcome Insert(int slot) override {
    Check(slot);
    ++actions;
    const bool was = inserted_[slot];
    inserted_[slot] = true;
    return was ? Outcome::kAlready : Outcome::kDone;
  }
  void Reset(int slot) override {
    Check(slot);
    ++actions;
  }
  int actions = 0;

 private:
  void Check(int slot) const {
    if (slot < 0 || slot >= slot_count()) {
      dmcard::fuzz::OracleViolation("control", "slot " + std::to_string(slot) + " used");
    }
  }
  bool inserted_[3] = {true, true, true};
};

dmcard::vicc::ControlServer* server = nullptr;
std::string socket_path;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tmp = std::getenv("TMPDIR");
  const std::filesystem::path dir = std::filesystem::path(tmp != nullptr ? tmp : "/tmp") /
                                    ("dmcard-fuzz-control-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  socket_path = (dir / "ctl").string();
  server = new dmcard::vicc::ControlServer();
  if (!server->Open(socket_path)) {
    std::fprintf(stderr, "control fuzzer: cannot open %s\n", socket_path.c_str());
    std::abort();
  }
  std::atexit([] {
    delete server;  // unlinks the socket
    std::filesystem::remove_all(std::filesystem::path(socket_path).parent_path());
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using dmcard::fuzz::OracleViolation;
  if (size > 4096) return 0;  // within the socket buffer: the client writes before the server reads
  const int client = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path.c_str());
  if (client < 0 || ::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    OracleViolation("control", "cannot connect to the control socket");
  }
  size_t sent = 0;
  while (sent < size) {
    const ssize_t n = ::send(client, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  ::shutdown(client, SHUT_WR);
  FakeSlots slots;
  server->OnClient(slots);
  std::string answer;
  char buf[512];
  for (ssize_t n; (n = ::recv(client, buf, sizeof buf, 0)) > 0;) answer.append(buf, size_t(n));
  ::close(client);

  if (dmcard::fuzz::Broken("control-answer")) answer = "maybe\n";
  if (answer.empty() || answer.back() != '\n') OracleViolation("control", "no answer line");
  const bool error = answer.starts_with("error: ");
  const size_t last = answer.rfind('\n', answer.size() - 2);
  const std::string last_line = answer.substr(last == std::string::npos ? 0 : last + 1);
  if (error && answer.find('\n') != answer.size() - 1) {
    OracleViolation("control", "an error answer of more than one line: " + answer);
  }
  if (!error && !last_line.starts_with("ok")) {
    OracleViolation("control", "an answer neither 'error:' nor ending in ok: " + answer);
  }
  if (error && slots.actions != 0) {
    OracleViolation("control", "a refused line changed a card: " + answer);
  }
  return 0;
}
