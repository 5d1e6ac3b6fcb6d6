#include "host/vicc_control.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace dmcard::vicc {

// The control socket lives in a directory only its user can write: $XDG_RUNTIME_DIR (private by
// the XDG Base Directory spec), else /run/dmcard for root, else /tmp/dmcard-<uid>. In a shared
// directory such as /tmp anybody could take the name first and keep the bridge from starting.
std::string DefaultControlDir() {
  const char* dir = std::getenv("XDG_RUNTIME_DIR");
  if (dir != nullptr && *dir != '\0') return dir;
  if (::geteuid() == 0) return "/run/dmcard";
  return "/tmp/dmcard-" + std::to_string(::geteuid());
}

std::string DefaultControlPath(uint16_t port) {
  return DefaultControlDir() + "/dmcard-vicc-" + std::to_string(port) + ".sock";
}

bool SendViccControl(const std::string& socket, const std::string& line, std::string& answer,
                     std::string& error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket.size() >= sizeof addr.sun_path) {
    error = "control socket path too long: " + socket;
    return false;
  }
  std::memcpy(addr.sun_path, socket.c_str(), socket.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = "cannot reach dmcard-vicc at " + socket + " (" + std::strerror(errno) +
            "): is dmcard-vicc running for this reader?";
    if (fd >= 0) ::close(fd);
    return false;
  }
  const std::string msg = line + "\n";
  size_t sent = 0;
  while (sent < msg.size()) {
    const ssize_t n = ::send(fd, msg.data() + sent, msg.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  answer.clear();
  char buf[512];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) answer.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (answer.rfind("ok", 0) == 0 || answer.find("\nok") != std::string::npos) return true;
  error = "dmcard-vicc refused '" + line + "': " + (answer.empty() ? "no answer" : answer);
  while (!error.empty() && error.back() == '\n') error.pop_back();
  return false;
}

}  // namespace dmcard::vicc
