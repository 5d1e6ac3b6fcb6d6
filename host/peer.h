// Who holds the other end of a TCP connection to or from dmcard-vicc, found as `ss -p` does:
// the kernel's socket tables (/proc/net/tcp, /proc/net/tcp6) name the owner (uid, inode) of
// every socket of this network namespace, and /proc/<pid>/fd names the process holding an inode.
// The bridge hands the card only to a local peer owned by root (pcscd) or by its own user, so that
// whoever takes vpcd's port before pcscd does gets nothing (docs/vpcd-bridge.md "Who can reach
// the card").
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dmcard::vicc {

// A TCP address as /proc/net/tcp6 writes it: 16 bytes in network order, IPv4 as IPv4-mapped
// (::ffff:a.b.c.d), so that an IPv4 connection matches a dual-stack socket's entry.
struct TcpEndpoint {
  std::array<uint8_t, 16> addr{};
  uint16_t port = 0;
  bool operator==(const TcpEndpoint&) const = default;
};

std::optional<TcpEndpoint> EndpointOf(const sockaddr* address, socklen_t length);
// 127.0.0.1 and ::1 style text (IPv4-mapped shown as IPv4), without the port.
std::string AddressText(const TcpEndpoint& endpoint);
bool IsLoopback(const TcpEndpoint& endpoint);

// One line of /proc/net/tcp or /proc/net/tcp6.
struct TcpSocketEntry {
  TcpEndpoint local;
  TcpEndpoint remote;
  int state = 0;  // 01 established, 03 SYN received, 0A listening, ...
  uint32_t uid = 0;
  uint64_t inode = 0;  // 0 while no process holds it (a connection not yet accepted)
};
constexpr int kTcpListen = 0x0A;

// The entries of a /proc/net/tcp or /proc/net/tcp6 text; the header and malformed lines are
// skipped. Addresses there are 32-bit words printed in this machine's byte order.
std::vector<TcpSocketEntry> ParseProcNetTcp(std::string_view text);

// The socket whose local address is `local` and remote address `remote`: for our connection
// from A to B, the other end is FindTcpSocket(entries, B, A).
std::optional<TcpSocketEntry> FindTcpSocket(const std::vector<TcpSocketEntry>& entries,
                                            const TcpEndpoint& local, const TcpEndpoint& remote);
// The listening socket that took connections to `local` (its address or a wildcard on its port).
std::optional<TcpSocketEntry> FindTcpListener(const std::vector<TcpSocketEntry>& entries,
                                              const TcpEndpoint& local);

// "comm (pid N)" of a process holding socket `inode`, from <proc>/<pid>/fd; empty when none is
// visible (other users' processes are visible to root only).
std::string ProcessHoldingSocket(uint64_t inode, const std::string& proc = "/proc");

// The bridge's decision on a new vpcd connection `fd`.
struct PeerVerdict {
  bool accept = false;
  bool local = false;  // the other end is a socket of this machine (its owner was checked)
  std::string who;     // "uid 1001 (dmcard-test)", or a remote peer's address
  std::string why;     // when refused: what is wrong
  std::string key;     // the holder (uid, listening socket), to say things once per holder
  uint64_t inode = 0;  // the peer's socket (or its listener's) for ProcessHoldingSocket; 0 = none
};
// Accepts a local peer owned by root (pcscd runs as root) or by our effective uid, and a peer on
// another machine (nothing to check there); refuses any other local owner, a local peer whose
// socket cannot be found, and a connection to ourselves (TCP self-connect on a free port).
PeerVerdict CheckPeer(int fd, const std::string& proc = "/proc");

// Connected TCP socket `fd` reached itself: nothing listened on the port and the kernel picked
// that very port as the connection's own (TCP simultaneous open). "Nothing listens", not a peer.
bool ConnectedToItself(int fd);

}  // namespace dmcard::vicc
