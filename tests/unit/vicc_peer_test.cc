// Issue 8 item 5: how dmcard-vicc finds who holds the other end of a vpcd connection
// (vpcd-bridge/peer.h). The /proc/net/tcp and tcp6 lines are written by hand from the kernel's
// format (net/ipv4/tcp_ipv4.c, net/ipv6/tcp_ipv6.c: each 32-bit word of the address printed with
// %08X as this machine holds it, the port with %04X, then state, queues, timers, uid, timeout,
// inode); expected values are worked out from that format, for a little-endian machine.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <string>

#include "host/peer.h"

namespace dmcard::vicc {
namespace {

// 127.0.0.1 is 7F 00 00 01 in memory: 0x0100007F read little-endian. Port 35963 = 0x8C7B,
// 54321 = 0xD431, 22 = 0x0016, 50000 = 0xC350. 192.168.1.2 = C0 A8 01 02 -> 0x0201A8C0,
// 192.168.1.10 -> 0x0A01A8C0.
constexpr const char* kTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode\n"
    "   0: 0100007F:8C7B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
    "31337 1 0000000000000000 100 0 0 10 0\n"
    "   1: 0100007F:8C7B 0100007F:D431 01 00000000:00000000 00:00000000 00000000   999        0 "
    "0 1 0000000000000000 20 4 30 10 -1\n"
    "   2: 0100007F:D431 0100007F:8C7B 01 00000000:00000000 00:00000000 00000000     0        0 "
    "40001 1 0000000000000000 20 4 30 10 -1\n"
    "   3: 0201A8C0:0016 0A01A8C0:C350 01 00000000:00000000 02:000AFC80 00000000  1000        0 "
    "50000 2 0000000000000000 20 4 31 10 20\n"
    "   4: 0100007F:ZZZZ 0100007F:D431 01 00000000:00000000 00:00000000 00000000     7        0 "
    "1 1\n"
    "   5: 0100007F:8C7B\n";

// ::ffff:127.0.0.1 is 00*10 FF FF 7F 00 00 01: words 00000000 00000000 FFFF0000 0100007F.
// ::1 is 00*15 01: its last word 00 00 00 01 reads 0x01000000. 40000 = 0x9C40, 40960 = 0xA000,
// 35964 = 0x8C7C.
constexpr const char* kTcp6 =
    "  sl  local_address                         remote_address                        st "
    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000000000000:8C7B 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000   107        0 777 1 0000000000000000 100 0 0 10 0\n"
    "   1: 0000000000000000FFFF00000100007F:8C7B 0000000000000000FFFF00000100007F:9C40 01 "
    "00000000:00000000 00:00000000 00000000   107        0 0 1 0000000000000000 20 4 30 10 -1\n"
    "   2: 00000000000000000000000001000000:8C7C 00000000000000000000000001000000:A000 01 "
    "00000000:00000000 00:00000000 00000000  1001        0 888 1 0000000000000000 20 4 30 10 -1\n";

TcpEndpoint V4(const char* address, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  EXPECT_EQ(::inet_pton(AF_INET, address, &a.sin_addr), 1) << address;
  return EndpointOf(reinterpret_cast<sockaddr*>(&a), sizeof a).value_or(TcpEndpoint{});
}

TcpEndpoint V6(const char* address, uint16_t port) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  EXPECT_EQ(::inet_pton(AF_INET6, address, &a.sin6_addr), 1) << address;
  return EndpointOf(reinterpret_cast<sockaddr*>(&a), sizeof a).value_or(TcpEndpoint{});
}

#define DMCARD_REQUIRE_LITTLE_ENDIAN()                                                           \
  if (std::endian::native != std::endian::little) {                                              \
    GTEST_SKIP() << "the hand-written /proc/net/tcp lines are those of a little-endian machine"; \
  }

TEST(Vicc_PeerTable, ParsesProcNetTcpLines) {
  DMCARD_REQUIRE_LITTLE_ENDIAN();
  const std::vector<TcpSocketEntry> entries = ParseProcNetTcp(kTcp);
  ASSERT_EQ(entries.size(), 4u) << "header, bad port and short line skipped";
  EXPECT_EQ(entries[0].local, V4("127.0.0.1", 35963));
  EXPECT_EQ(entries[0].remote, V4("0.0.0.0", 0));
  EXPECT_EQ(entries[0].state, 0x0A);
  EXPECT_EQ(entries[0].uid, 0u);
  EXPECT_EQ(entries[0].inode, 31337u);
  EXPECT_EQ(entries[1].remote, V4("127.0.0.1", 54321));
  EXPECT_EQ(entries[1].state, 1);
  EXPECT_EQ(entries[1].uid, 999u);
  EXPECT_EQ(entries[1].inode, 0u);
  EXPECT_EQ(entries[3].local, V4("192.168.1.2", 22));
  EXPECT_EQ(entries[3].remote, V4("192.168.1.10", 50000));
  EXPECT_EQ(entries[3].uid, 1000u);
  EXPECT_EQ(entries[3].inode, 50000u);
  EXPECT_EQ(AddressText(entries[3].remote), "192.168.1.10");
}

// Our connection 127.0.0.1:54321 -> 127.0.0.1:35963: the other end is the socket whose local
// address is 127.0.0.1:35963 and remote 127.0.0.1:54321 (line 1: uid 999, not accepted yet, so
// no inode), and its listener (line 0) holds inode 31337. Line 2 is our own socket.
TEST(Vicc_PeerTable, FindsTheOtherEndOfAnIpv4Connection) {
  DMCARD_REQUIRE_LITTLE_ENDIAN();
  const std::vector<TcpSocketEntry> entries = ParseProcNetTcp(kTcp);
  const TcpEndpoint ours = V4("127.0.0.1", 54321);
  const TcpEndpoint theirs = V4("127.0.0.1", 35963);
  const auto other_end = FindTcpSocket(entries, theirs, ours);
  ASSERT_TRUE(other_end);
  EXPECT_EQ(other_end->uid, 999u);
  EXPECT_EQ(other_end->inode, 0u);
  const auto listener = FindTcpListener(entries, theirs);
  ASSERT_TRUE(listener);
  EXPECT_EQ(listener->inode, 31337u);
  const auto own = FindTcpSocket(entries, ours, theirs);
  ASSERT_TRUE(own);
  EXPECT_EQ(own->inode, 40001u);
  EXPECT_FALSE(FindTcpSocket(entries, theirs, V4("127.0.0.1", 1)));
  EXPECT_FALSE(FindTcpSocket(entries, V4("127.0.0.2", 35963), ours));
}

// An IPv4 connection to a dual-stack listener: the other end is in tcp6 with IPv4-mapped
// addresses (line 1: uid 107), its listener is the wildcard :: on the port (inode 777).
TEST(Vicc_PeerTable, MatchesIpv4MappedAndIpv6Entries) {
  DMCARD_REQUIRE_LITTLE_ENDIAN();
  const std::vector<TcpSocketEntry> entries = ParseProcNetTcp(kTcp6);
  ASSERT_EQ(entries.size(), 3u);
  const auto mapped = FindTcpSocket(entries, V4("127.0.0.1", 35963), V4("127.0.0.1", 40000));
  ASSERT_TRUE(mapped);
  EXPECT_EQ(mapped->uid, 107u);
  EXPECT_EQ(mapped->inode, 0u);
  const auto listener = FindTcpListener(entries, V4("127.0.0.1", 35963));
  ASSERT_TRUE(listener);
  EXPECT_EQ(listener->inode, 777u);
  const auto v6 = FindTcpSocket(entries, V6("::1", 35964), V6("::1", 40960));
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->uid, 1001u);
  EXPECT_EQ(v6->inode, 888u);
  EXPECT_EQ(AddressText(v6->local), "::1");
  EXPECT_FALSE(FindTcpListener(entries, V6("::1", 35964))) << "nothing listens on 35964";
}

TEST(Vicc_PeerTable, LoopbackAddresses) {
  EXPECT_TRUE(IsLoopback(V4("127.0.0.1", 1)));
  EXPECT_TRUE(IsLoopback(V4("127.8.9.10", 1)));
  EXPECT_TRUE(IsLoopback(V6("::1", 1)));
  EXPECT_TRUE(IsLoopback(V6("::ffff:127.0.0.1", 1)));
  EXPECT_FALSE(IsLoopback(V4("192.168.1.2", 1)));
  EXPECT_FALSE(IsLoopback(V6("::2", 1)));
  EXPECT_FALSE(IsLoopback(V6("::ffff:10.0.0.1", 1)));
  EXPECT_EQ(V4("10.1.2.3", 7), V6("::ffff:10.1.2.3", 7)) << "IPv4 is kept IPv4-mapped";
}

// The live tables: a connection inside this process is accepted (same user), the process
// holding a socket is found by the inode fstat reports, and a socket connected to itself (TCP
// simultaneous open on a port nothing listens on) is refused.
TEST(Vicc_PeerTable, LiveConnectionsOfThisProcess) {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const PeerVerdict verdict = CheckPeer(client);
  EXPECT_FALSE(ConnectedToItself(client)) << "a connection to a listener is not a self-connect";
  EXPECT_TRUE(verdict.accept) << verdict.why;
  EXPECT_TRUE(verdict.local);
  EXPECT_EQ(verdict.who.rfind("uid " + std::to_string(::geteuid()), 0), 0u) << verdict.who;
  struct stat st {};
  ASSERT_EQ(::fstat(listener, &st), 0);
  EXPECT_EQ(verdict.inode, static_cast<uint64_t>(st.st_ino))
      << "not accepted yet: the listener's inode stands for the holder";
  const std::string process = ProcessHoldingSocket(st.st_ino);
  EXPECT_NE(process.find("(pid " + std::to_string(::getpid()) + ")"), std::string::npos) << process;
  ::close(client);
  ::close(listener);

  // Bind a socket to the (now free) port and connect it to that same address.
  const int self = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(self, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ASSERT_EQ(::bind(self, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::connect(self, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const PeerVerdict loop = CheckPeer(self);
  EXPECT_FALSE(loop.accept);
  EXPECT_EQ(loop.key, "self");
  EXPECT_TRUE(ConnectedToItself(self));
  ::close(self);
}

}  // namespace
}  // namespace dmcard::vicc
