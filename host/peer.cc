#include "host/peer.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace dmcard::vicc {

namespace {

std::optional<uint64_t> ParseHex(std::string_view text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

std::optional<uint64_t> ParseDecimal(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// "0100007F:8C7B" (IPv4) or 32 hex digits + ":" + port (IPv6). The kernel prints each 32-bit word
// of the address, as held in memory (network order), as a number in this machine's byte order:
// reading the number back and storing it natively gives the network-order bytes again.
std::optional<TcpEndpoint> ParseProcAddress(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view hex = text.substr(0, colon);
  const auto port = ParseHex(text.substr(colon + 1));
  if (!port || *port > 0xFFFF || (hex.size() != 8 && hex.size() != 32)) return std::nullopt;
  uint8_t bytes[16];
  for (size_t word = 0; word < hex.size() / 8; ++word) {
    const auto v = ParseHex(hex.substr(word * 8, 8));
    if (!v) return std::nullopt;
    const uint32_t native = static_cast<uint32_t>(*v);
    std::memcpy(bytes + word * 4, &native, 4);
  }
  TcpEndpoint e;
  if (hex.size() == 8) {
    e.addr[10] = 0xFF;
    e.addr[11] = 0xFF;
    std::memcpy(e.addr.data() + 12, bytes, 4);
  } else {
    std::memcpy(e.addr.data(), bytes, 16);
  }
  e.port = static_cast<uint16_t>(*port);
  return e;
}

bool IsV4Mapped(const TcpEndpoint& e) {
  for (int i = 0; i < 10; ++i) {
    if (e.addr[static_cast<size_t>(i)] != 0) return false;
  }
  return e.addr[10] == 0xFF && e.addr[11] == 0xFF;
}

bool IsWildcard(const TcpEndpoint& e) {
  for (size_t i = 0; i < 16; ++i) {
    if (i == 10 || i == 11) continue;
    if (e.addr[i] != 0) return false;
  }
  return (e.addr[10] == 0 && e.addr[11] == 0) || IsV4Mapped(e);  // :: or 0.0.0.0
}

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string UserName(uint32_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  char buf[1024];
  if (::getpwuid_r(static_cast<uid_t>(uid), &pw, buf, sizeof buf, &found) == 0 &&
      found != nullptr) {
    return found->pw_name;
  }
  return {};
}

// The two addresses of connected socket `fd`. False (errno set) when either cannot be read.
struct SocketEnds {
  sockaddr_storage ours{};
  sockaddr_storage theirs{};
  socklen_t ours_len = sizeof ours;
  socklen_t theirs_len = sizeof theirs;
};
bool ReadSocketEnds(int fd, SocketEnds& ends) {
  return ::getsockname(fd, reinterpret_cast<sockaddr*>(&ends.ours), &ends.ours_len) == 0 &&
         ::getpeername(fd, reinterpret_cast<sockaddr*>(&ends.theirs), &ends.theirs_len) == 0;
}

}  // namespace

std::optional<TcpEndpoint> EndpointOf(const sockaddr* address, socklen_t length) {
  TcpEndpoint e;
  if (address->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    e.addr[10] = 0xFF;
    e.addr[11] = 0xFF;
    std::memcpy(e.addr.data() + 12, &in->sin_addr, 4);
    e.port = ntohs(in->sin_port);
    return e;
  }
  if (address->sa_family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    std::memcpy(e.addr.data(), &in6->sin6_addr, 16);
    e.port = ntohs(in6->sin6_port);
    return e;
  }
  return std::nullopt;
}

std::string AddressText(const TcpEndpoint& e) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (IsV4Mapped(e)) {
    ::inet_ntop(AF_INET, e.addr.data() + 12, text, sizeof text);
  } else {
    ::inet_ntop(AF_INET6, e.addr.data(), text, sizeof text);
  }
  return text;
}

bool IsLoopback(const TcpEndpoint& e) {
  if (IsV4Mapped(e)) return e.addr[12] == 127;
  for (size_t i = 0; i < 15; ++i) {
    if (e.addr[i] != 0) return false;
  }
  return e.addr[15] == 1;
}

std::vector<TcpSocketEntry> ParseProcNetTcp(std::string_view text) {
  std::vector<TcpSocketEntry> entries;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
    std::vector<std::string_view> fields;
    size_t i = 0;
    while (i < line.size() && fields.size() < 10) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
      if (j > i) fields.push_back(line.substr(i, j - i));
      i = j;
    }
    if (fields.size() < 10 || fields[0].empty() || fields[0].back() != ':') continue;  // header
    const auto local = ParseProcAddress(fields[1]);
    const auto remote = ParseProcAddress(fields[2]);
    const auto state = ParseHex(fields[3]);
    const auto uid = ParseDecimal(fields[7]);
    const auto inode = ParseDecimal(fields[9]);
    if (!local || !remote || !state || !uid || !inode || *uid > 0xFFFFFFFFu) continue;
    entries.push_back(
        {*local, *remote, static_cast<int>(*state), static_cast<uint32_t>(*uid), *inode});
  }
  return entries;
}

std::optional<TcpSocketEntry> FindTcpSocket(const std::vector<TcpSocketEntry>& entries,
                                            const TcpEndpoint& local, const TcpEndpoint& remote) {
  for (const TcpSocketEntry& e : entries) {
    if (e.state != kTcpListen && e.local == local && e.remote == remote) return e;
  }
  return std::nullopt;
}

std::optional<TcpSocketEntry> FindTcpListener(const std::vector<TcpSocketEntry>& entries,
                                              const TcpEndpoint& local) {
  std::optional<TcpSocketEntry> wildcard;
  for (const TcpSocketEntry& e : entries) {
    if (e.state != kTcpListen || e.local.port != local.port) continue;
    if (e.local == local) return e;
    if (!wildcard && IsWildcard(e.local)) wildcard = e;
  }
  return wildcard;
}

std::string ProcessHoldingSocket(uint64_t inode, const std::string& proc) {
  if (inode == 0) return {};
  const std::string target = "socket:[" + std::to_string(inode) + "]";
  DIR* processes = ::opendir(proc.c_str());
  if (processes == nullptr) return {};
  std::string found;
  while (found.empty()) {
    const dirent* p = ::readdir(processes);
    if (p == nullptr) break;
    if (p->d_name[0] < '1' || p->d_name[0] > '9') continue;  // not a pid
    const std::string dir = proc + "/" + p->d_name;
    DIR* fds = ::opendir((dir + "/fd").c_str());
    if (fds == nullptr) continue;  // another user's process, or gone
    char link[64];
    while (const dirent* f = ::readdir(fds)) {
      const ssize_t n = ::readlinkat(::dirfd(fds), f->d_name, link, sizeof link);
      if (n == static_cast<ssize_t>(target.size()) &&
          target.compare(0, target.size(), link, n) == 0) {
        std::string comm = ReadWhole(dir + "/comm");
        while (!comm.empty() && (comm.back() == '\n' || comm.back() == ' ')) comm.pop_back();
        found = (comm.empty() ? "?" : comm) + " (pid " + p->d_name + ")";
        break;
      }
    }
    ::closedir(fds);
  }
  ::closedir(processes);
  return found;
}

bool ConnectedToItself(int fd) {
  SocketEnds ends;
  if (!ReadSocketEnds(fd, ends)) return false;
  const auto local = EndpointOf(reinterpret_cast<sockaddr*>(&ends.ours), ends.ours_len);
  const auto peer = EndpointOf(reinterpret_cast<sockaddr*>(&ends.theirs), ends.theirs_len);
  return local && peer && *local == *peer;
}

PeerVerdict CheckPeer(int fd, const std::string& proc) {
  PeerVerdict v;
  SocketEnds ends;
  if (!ReadSocketEnds(fd, ends)) {
    v.why = std::string("cannot read the connection's addresses: ") + std::strerror(errno);
    v.key = "no-address";
    return v;
  }
  const auto local = EndpointOf(reinterpret_cast<sockaddr*>(&ends.ours), ends.ours_len);
  const auto peer = EndpointOf(reinterpret_cast<sockaddr*>(&ends.theirs), ends.theirs_len);
  if (!local || !peer) {
    v.why = "the connection is not TCP over IPv4 or IPv6";
    v.key = "not-tcp";
    return v;
  }
  if (*local == *peer) {
    // Nothing listened, and the kernel picked the destination port as our own port: TCP
    // simultaneous open connected the socket to itself.
    v.local = true;
    v.why = "the connection reached dmcard-vicc itself (nothing listens on the port)";
    v.key = "self";
    return v;
  }
  std::vector<TcpSocketEntry> entries = ParseProcNetTcp(ReadWhole(proc + "/net/tcp"));
  const std::vector<TcpSocketEntry> v6 = ParseProcNetTcp(ReadWhole(proc + "/net/tcp6"));
  entries.insert(entries.end(), v6.begin(), v6.end());
  const auto other_end = FindTcpSocket(entries, *peer, *local);
  if (!other_end) {
    if (!IsLoopback(*peer)) {  // another machine: nothing here says who it is
      v.accept = true;
      v.who = AddressText(*peer);
      v.key = "remote";
      return v;
    }
    v.local = true;
    v.why = "its socket is not in " + proc + "/net/tcp or tcp6, so its owner is unknown";
    v.key = "unknown";
    return v;
  }
  v.local = true;
  const uint32_t uid = other_end->uid;
  // A connection not yet accepted has no inode; its listener has, and names the same process.
  // The listener also stands for the holder across connections (a connecting peer has none).
  const auto listener = FindTcpListener(entries, *peer);
  const uint64_t listener_inode = listener ? listener->inode : 0;
  const uint64_t inode = other_end->inode != 0 ? other_end->inode : listener_inode;
  v.key = std::to_string(uid) + "/" + std::to_string(listener_inode);
  v.accept = uid == 0 || uid == static_cast<uint32_t>(::geteuid());
  v.who = "uid " + std::to_string(uid);
  if (const std::string name = UserName(uid); !name.empty()) v.who += " (" + name + ")";
  v.inode = inode;
  if (!v.accept) {
    v.why = "it is neither root (pcscd runs as root) nor this user (uid " +
            std::to_string(::geteuid()) + ")";
  }
  return v;
}

}  // namespace dmcard::vicc
