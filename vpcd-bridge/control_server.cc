// dmcard-vicc's control socket (control_server.h): creating it, serving one line per client,
// and the `remove|insert|reset|status [SLOT]` protocol's answers.
#include "control_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "host/vicc_control.h"
#include "runtime/bytes.h"
#include "vpcd_link.h"

namespace dmcard::vicc {

ControlServer::~ControlServer() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
}

bool ControlServer::Open(const std::string& path) {
  if (path.empty()) return true;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    std::fprintf(stderr, "dmcard-vicc: control socket path too long: %s\n", path.c_str());
    return false;
  }
  std::strcpy(addr.sun_path, path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  // A socket file left by a killed instance is replaced; a live instance still answers on it.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    // Another control path alone would start a second card on ports vpcd already gives to the
    // running one: a card no reader shows. So the advice is another --port.
    std::fprintf(stderr,
                 "dmcard-vicc: another dmcard-vicc is already running here (its control socket "
                 "%s answers). Stop it first (Ctrl-C in its terminal, or kill it), or run this "
                 "one on another --port that a vpcd reader listens on (its control socket "
                 "follows the port)\n",
                 path.c_str());
    ::close(fd);
    return false;
  }
  ::close(fd);
  ::unlink(path.c_str());
  fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 4) != 0) {
    std::fprintf(stderr, "dmcard-vicc: cannot create control socket %s: %s\n", path.c_str(),
                 std::strerror(errno));
    if (fd >= 0) ::close(fd);
    return false;
  }
  ::chmod(path.c_str(), 0600);
  path_ = path;
  fd_ = fd;
  return true;
}

// One client at a time, inside the event loop: a client that sends no line within a second,
// or does not read a long answer (status of 1000 cards, ~45 kB), holds the cards up no longer
// than that.
void ControlServer::OnClient(ControlTarget& target) {
  int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string line;
  char c;
  while (line.size() < 256 && ::recv(fd, &c, 1, 0) == 1 && c != '\n') line.push_back(c);
  const std::string answer = Answer(target, line);
  WriteAll(fd, ByteView(reinterpret_cast<const uint8_t*>(answer.data()), answer.size()));
  ::close(fd);
}

std::string ControlServer::Answer(ControlTarget& target, const std::string& line) {
  // One line: VERB, or VERB SLOT with one space and SLOT in decimal digits (a trailing \r, as a
  // terminal's client sends, is dropped). Anything looser is refused rather than guessed at.
  std::string text = line;
  if (!text.empty() && text.back() == '\r') text.pop_back();
  const auto sp = text.find(' ');
  const std::string verb = text.substr(0, sp);
  const std::string arg = sp == std::string::npos ? std::string() : text.substr(sp + 1);
  if (verb != "remove" && verb != "insert" && verb != "reset" && verb != "status") {
    return "error: unknown command '" + verb + "' (use remove, insert, reset or status)\n";
  }
  const int slots = target.slot_count();
  int slot = 0;
  if (sp != std::string::npos) {
    const bool digits =
        !arg.empty() && arg.size() <= 6 &&
        std::all_of(arg.begin(), arg.end(), [](char d) { return d >= '0' && d <= '9'; });
    const long v = digits ? std::stol(arg) : -1;
    if (v < 0 || v >= static_cast<long>(slots)) {
      return "error: no slot '" + arg + "' (slots 0.." + std::to_string(slots - 1) + ")\n";
    }
    slot = static_cast<int>(v);
  }
  if (verb == "status") {  // every slot, or the one named
    std::string out;
    for (int i = 0; i < slots; ++i) {
      if (!arg.empty() && i != slot) continue;
      const SlotStatus s = target.Status(i);
      out += "slot " + std::to_string(i) + " " + s.kind + " port " + std::to_string(s.port) + " " +
             s.state + " apdus " + std::to_string(s.apdus) + "\n";
    }
    return out + "ok\n";
  }
  if (verb == "remove") {
    switch (target.Remove(slot)) {
      case ControlTarget::Outcome::kAlready:
        return "ok (already removed)\n";
      case ControlTarget::Outcome::kNotWhenReverse:
        return "error: remove is not available with --reverse (Debian's vpcd 0.8 crashes pcscd "
               "when a reverse-mode card goes away); run without --reverse to test removal\n";
      case ControlTarget::Outcome::kDone:
        return "ok\n";
    }
  }
  if (verb == "insert") {
    return target.Insert(slot) == ControlTarget::Outcome::kAlready ? "ok (already inserted)\n"
                                                                   : "ok\n";
  }
  target.Reset(slot);  // "reset"
  return "ok\n";
}

std::string PrepareControlDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return "cannot create the control socket directory " + dir + ": " + std::strerror(errno);
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return "the control socket directory " + dir + " is not a directory";
  }
  if (st.st_uid != ::geteuid() || (st.st_mode & 0077) != 0) {
    return "the control socket directory " + dir +
           " is not private (it must belong to you and have mode 0700, so that nobody else can "
           "take the socket's name); fix its owner or mode, or pass --control PATH";
  }
  return {};
}

int RunControlClient(const std::string& path, const std::string& line) {
  std::string answer;
  std::string error;
  const bool ok = SendViccControl(path, line, answer, error);
  std::fputs(answer.c_str(), stdout);
  if (!ok && answer.empty()) {
    std::fprintf(stderr,
                 "dmcard-vicc ctl: %s\nIf it was started with --control PATH or another --port, "
                 "pass the same here.\n",
                 error.c_str());
  }
  return ok ? 0 : 1;
}

}  // namespace dmcard::vicc
