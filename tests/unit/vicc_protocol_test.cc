// dmcard-vicc against a fake vpcd played by the test (no pcscd, no root): the vsmartcard
// framing (2-byte length + payload, length and payload in separate segments as Debian's vpcd
// sends them), the control messages and 1-byte C-APDUs, the largest frame, a new connection as
// a powered card, reconnection when vpcd goes away, and the control socket.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "demo_card_apdus.h"
#include "dm/dm_applet.h"
#include "host/personalization.h"
#include "host/scp03_host.h"
#include "host/vicc_control.h"
#include "test_applets.h"

namespace dmcard {
namespace {

namespace fs = std::filesystem;
using testing::H;

// A listening socket on 127.0.0.1 with a kernel-chosen port (or `port`): the fake vpcd.
class FakeVpcd {
 public:
  explicit FakeVpcd(uint16_t port = 0) {
    listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listen_, 4), 0);
    socklen_t len = sizeof a;
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~FakeVpcd() {
    if (conn_ >= 0) ::close(conn_);
    ::close(listen_);
  }
  uint16_t port() const { return port_; }

  // Waits (bounded) for the card to connect.
  bool Accept(int timeout_ms = 10000) {
    pollfd p{listen_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return false;
    conn_ = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
    return conn_ >= 0;
  }
  // Uses an outgoing connection made by the test (reverse mode) as the vpcd link.
  void Adopt(int fd) {
    ASSERT_GE(fd, 0) << "nothing listened on the card's port";
    conn_ = fd;
  }
  void Hangup() {
    ::close(conn_);
    conn_ = -1;
  }
  // Sends a frame as vpcd 0.8 does: the length and the payload in two writes.
  void Send(const Bytes& payload) {
    const uint8_t len[2] = {static_cast<uint8_t>(payload.size() >> 8),
                            static_cast<uint8_t>(payload.size())};
    ASSERT_EQ(::send(conn_, len, 2, MSG_NOSIGNAL), 2);
    ASSERT_EQ(::send(conn_, payload.data(), payload.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(payload.size()));
  }
  // Reads one frame (bounded wait); nullopt on EOF or timeout.
  std::optional<Bytes> Receive(int timeout_ms = 10000) {
    uint8_t len[2];
    if (!ReadExactly(len, 2, timeout_ms)) return std::nullopt;
    Bytes out(static_cast<size_t>((len[0] << 8) | len[1]));
    if (!ReadExactly(out.data(), out.size(), timeout_ms)) return std::nullopt;
    return out;
  }
  Bytes Exchange(const Bytes& apdu) {
    Send(apdu);
    return Receive().value_or(Bytes{});
  }
  // True when the card closed the connection (EOF) within the timeout.
  bool ClosedByCard(int timeout_ms = 10000) {
    uint8_t b;
    pollfd p{conn_, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1 && ::recv(conn_, &b, 1, 0) == 0;
  }

 private:
  bool ReadExactly(uint8_t* p, size_t n, int timeout_ms) {
    while (n > 0) {
      pollfd pfd{conn_, POLLIN, 0};
      if (::poll(&pfd, 1, timeout_ms) != 1) return false;
      ssize_t r = ::recv(conn_, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  int listen_ = -1;
  int conn_ = -1;
  uint16_t port_ = 0;
};

// dmcard-vicc as a child process, with `env` added to its environment; stderr to a file the
// test can read.
class Vicc {
 public:
  explicit Vicc(std::vector<std::string> args,
                const std::vector<std::pair<std::string, std::string>>& env = {})
      : dir_(fs::temp_directory_path() / ("dmcard-vicc-test-" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
    control_ = (dir_ / "ctl.sock").string();
    args.insert(args.begin(), DMCARD_VICC_PATH);
    args.push_back("--control");
    args.push_back(control_);
    pid_ = ::fork();
    if (pid_ == 0) {
      std::FILE* err = std::freopen((dir_ / "stderr").c_str(), "w", stderr);
      (void)err;
      for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~Vicc() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }
  // SIGTERM; returns the exit status (bounded wait).
  int Terminate() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 500; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      ::usleep(10000);
    }
    return -1;
  }
  // `dmcard-vicc ctl ...`: output and exit code.
  std::pair<std::string, int> Ctl(const std::string& words) {
    const std::string cmd =
        std::string(DMCARD_VICC_PATH) + " ctl --control " + control_ + " " + words + " 2>&1";
    std::FILE* p = ::popen(cmd.c_str(), "r");
    std::string out;
    char buf[256];
    while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
    const int rc = ::pclose(p);
    return {out, WIFEXITED(rc) ? WEXITSTATUS(rc) : -1};
  }
  const std::string& control() const { return control_; }
  std::string Stderr() const {
    std::FILE* f = std::fopen((dir_ / "stderr").c_str(), "r");
    std::string s;
    if (f == nullptr) return s;
    char buf[512];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    std::fclose(f);
    return s;
  }

 private:
  fs::path dir_;
  std::string control_;
  pid_t pid_ = -1;
};

const char* kDemoAtr = "3B8C8131FE458073F201DF56646D6361726413";

TEST(Vicc_Protocol, FramesControlMessagesAndApdus) {
  FakeVpcd vpcd;
  Vicc vicc({"--port", std::to_string(vpcd.port())});
  ASSERT_TRUE(vpcd.Accept());
  vpcd.Send(Bytes{0x04});  // GET ATR
  EXPECT_EQ(ToHex(vpcd.Receive().value_or(Bytes{})), kDemoAtr);
  vpcd.Send(Bytes{0x01});  // power on: no answer
  EXPECT_EQ(ToHex(vpcd.Exchange(H("00A4040C09F0444D434152444653"))), "9000");
  EXPECT_EQ(ToHex(vpcd.Exchange(H("00A4080C0450005001"))), "9000");
  EXPECT_EQ(ToHex(vpcd.Exchange(H("00B0000004"))), "000102039000");
  // vpcd never sends 07 as a control message: a 1-byte C-APDU, answered at once.
  EXPECT_EQ(ToHex(vpcd.Exchange(Bytes{0x07})), "6700");
  vpcd.Send(Bytes{0x02});  // reset: the card forgets its current file
  EXPECT_EQ(ToHex(vpcd.Exchange(H("00B0000004"))), "6986");
  EXPECT_EQ(ToHex(vpcd.Exchange(H("00A4"))), "6700") << "malformed APDUs get a status word";
  const auto [status, rc] = vicc.Ctl("status");
  EXPECT_EQ(rc, 0);
  EXPECT_NE(status.find("slot 0 demo port " + std::to_string(vpcd.port()) + " inserted apdus 6"),
            std::string::npos)
      << status;
  EXPECT_EQ(vicc.Terminate(), 0);
}

// A 1-byte 00/01/02 is a control message when vpcd goes on without waiting (as it does: GET ATR
// right after POWER ON and RESET, the next presence poll after POWER OFF), and a 1-byte C-APDU
// when nothing follows because vpcd waits for its answer: answered, and every later frame
// still answers its own command.
TEST(Vicc_Protocol, OneByteFrameIsAnApduWhenVpcdWaitsForTheAnswer) {
  FakeVpcd vpcd;
  Vicc vicc({"--port", std::to_string(vpcd.port())});
  ASSERT_TRUE(vpcd.Accept());
  const Bytes select_ef = H("00A4080C0450005001");
  for (uint8_t b : {0x00, 0x01, 0x02}) {
    SCOPED_TRACE(static_cast<int>(b));
    vpcd.Send(Bytes{0x01});
    vpcd.Send(Bytes{0x04});
    ASSERT_EQ(ToHex(vpcd.Receive().value_or(Bytes{})), kDemoAtr);
    ASSERT_EQ(ToHex(vpcd.Exchange(select_ef)), "9000");
    // Nothing follows: answered as a C-APDU (within the bounded wait, not never).
    vpcd.Send(Bytes{b});
    EXPECT_EQ(ToHex(vpcd.Receive(10000).value_or(Bytes{})), "6700");
    // It changed nothing: the current EF is still selected, and the frames are in step.
    EXPECT_EQ(ToHex(vpcd.Exchange(H("00B0000004"))), "000102039000");
  }
  EXPECT_NE(vicc.Stderr().find("it is a C-APDU from a client"), std::string::npos) << vicc.Stderr();
  // Followed by vpcd's next message, 00 is a power off: no answer, and the card is unpowered.
  vpcd.Send(Bytes{0x00});
  vpcd.Send(Bytes{0x04});
  EXPECT_EQ(ToHex(vpcd.Receive().value_or(Bytes{})), kDemoAtr);
  EXPECT_EQ(ToHex(vpcd.Exchange(select_ef)), "6985");
  // 01 then GET ATR: powered again; 02 then GET ATR: reset (no current EF).
  vpcd.Send(Bytes{0x01});
  vpcd.Send(Bytes{0x04});
  EXPECT_EQ(ToHex(vpcd.Receive().value_or(Bytes{})), kDemoAtr);
  EXPECT_EQ(ToHex(vpcd.Exchange(select_ef)), "9000");
  vpcd.Send(Bytes{0x02});
  vpcd.Send(Bytes{0x04});
  EXPECT_EQ(ToHex(vpcd.Receive().value_or(Bytes{})), kDemoAtr);
  EXPECT_EQ(ToHex(vpcd.Exchange(H("00B0000004"))), "6986");
  // A byte vpcd never sends as control (03, 05..FF) is answered at once, by the card.
  for (uint8_t b : {0x03, 0x05, 0x80, 0xFF}) {
    EXPECT_EQ(ToHex(vpcd.Exchange(Bytes{b})), "6700") << static_cast<int>(b);
  }
  EXPECT_EQ(vicc.Terminate(), 0);
}

// dmcard-vicc killed and started again: its new connection is a powered card even if vpcd
// (pcscd) never sends POWER ON, as when the old connection died under a transmit.
TEST(Vicc_Protocol, NewConnectionIsAPoweredCard) {
  FakeVpcd vpcd;
  {
    Vicc first({"--port", std::to_string(vpcd.port())});
    ASSERT_TRUE(vpcd.Accept());
    vpcd.Send(Bytes{0x01});
    vpcd.Send(Bytes{0x04});
    ASSERT_EQ(ToHex(vpcd.Receive().value_or(Bytes{})), kDemoAtr);
    ASSERT_EQ(ToHex(vpcd.Exchange(H("00A4080C0450005001"))), "9000");
  }  // SIGKILL
  vpcd.Hangup();
  Vicc second({"--port", std::to_string(vpcd.port())});
  ASSERT_TRUE(vpcd.Accept());
  EXPECT_EQ(ToHex(vpcd.Exchange(H("00A4080C0450005001"))), "9000");
  EXPECT_EQ(ToHex(vpcd.Exchange(H("00B0000004"))), "000102039000");
  // Same after vpcd itself went away (pcscd restarted): the card lost power with the link, and
  // comes back powered.
  vpcd.Hangup();
  ASSERT_TRUE(vpcd.Accept());
  EXPECT_EQ(ToHex(vpcd.Exchange(H("00B0000004"))), "6986") << "a fresh card has no current EF";
  EXPECT_EQ(ToHex(vpcd.Exchange(H("00A4080C0450005001"))), "9000");
  EXPECT_EQ(second.Terminate(), 0);
}

// A profile with room for a tree larger than one vpcd frame: six 12000-byte leaves at the root.
fs::path WriteBigProfile(const fs::path& dir) {
  fs::create_directories(dir);
  std::ofstream(dir / "profile.json")
      << R"({"profile": "big", "capacity": 1048576, "tree": "tree.xml"})";
  std::ofstream(dir / "tree.xml") << R"(<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD>
<Node><NodeName>Small</NodeName><RTProperties><Format><chr/></Format></RTProperties>
<Value>x</Value></Node></MgmtTree>)";
  return dir / "profile.json";
}

Bytes Extended(const Bytes& header, const Bytes& data, std::optional<uint16_t> le) {
  Bytes apdu = header;
  apdu.push_back(0x00);
  apdu.push_back(static_cast<uint8_t>(data.size() >> 8));
  apdu.push_back(static_cast<uint8_t>(data.size()));
  apdu.insert(apdu.end(), data.begin(), data.end());
  if (le) {
    apdu.push_back(static_cast<uint8_t>(*le >> 8));
    apdu.push_back(static_cast<uint8_t>(*le));
  }
  return apdu;
}

// The vpcd length field is 2 bytes: the largest answer (65535 bytes) goes whole, and no frame
// ever claims less than it carries — an answer that does not fit would otherwise be read as
// the answers to later commands (another client's). Whatever keeps it in bounds (the card's cap
// on its answers for vpcd, or the bridge's 6F00), the next command gets its own answer.
TEST(Vicc_Protocol, NoAnswerOverflowsTheFrameLength) {
  const fs::path dir =
      fs::temp_directory_path() / ("dmcard-vicc-big-" + std::to_string(::getpid()));
  const fs::path profile = WriteBigProfile(dir);
  FakeVpcd vpcd;
  Vicc vicc({"--port", std::to_string(vpcd.port()), "--profile", profile.string()});
  ASSERT_TRUE(vpcd.Accept());
  vpcd.Send(Bytes{0x01});
  vpcd.Send(Bytes{0x04});
  ASSERT_EQ(vpcd.Receive().value_or(Bytes{}).size(), 19u) << "the ATR";
  ASSERT_EQ(ToHex(vpcd.Exchange(H("00A404000AF0444D434152442D444D00"))).substr(0, 4), "6F44");
  for (int i = 0; i < 6; ++i) {
    Bytes data = {0x80, 0x04,       '.',         '/', 'B', static_cast<uint8_t>('0' + i),
                  0x82, 0x03,       'c',         'h', 'r', 0x81,
                  0x82, 12000 >> 8, 12000 & 0xFF};
    data.insert(data.end(), 12000, static_cast<uint8_t>('a' + i));
    ASSERT_EQ(ToHex(vpcd.Exchange(Extended(H("80320000"), data, std::nullopt))), "9000") << i;
  }
  // EXPORT "." with Le 65535: more than 65535 bytes to say.
  const Bytes response = vpcd.Exchange(Extended(H("803A0000"), Bytes{'.'}, 0xFFFF));
  ASSERT_GE(response.size(), 2u);
  const std::string sw = ToHex(Bytes(response.end() - 2, response.end()));
  if (sw == "6F00") {
    EXPECT_EQ(response.size(), 2u);
    EXPECT_NE(vicc.Stderr().find("does not fit a vpcd frame"), std::string::npos) << vicc.Stderr();
  } else {
    EXPECT_EQ(sw.substr(0, 2), "61") << "answered " << response.size() << " bytes, SW " << sw;
    EXPECT_EQ(ToHex(Bytes(response.begin(), response.begin() + 5)), "3C3F786D6C")  // "<?xml"
        << "the export's first bytes";
  }
  // The frames are still in step: the next commands get their own answers.
  EXPECT_EQ(ToHex(vpcd.Exchange(H("00A4040C09F0444D434152444653"))), "9000");
  EXPECT_EQ(ToHex(vpcd.Exchange(H("00A4080C0450005001"))), "9000");
  EXPECT_EQ(ToHex(vpcd.Exchange(H("00B0000004"))), "000102039000");
  // The largest frame: EXPORT with Le 65533 answers 65533 bytes + 61xx, sent whole.
  ASSERT_EQ(ToHex(vpcd.Exchange(H("00A404000AF0444D434152442D444D00"))).substr(0, 4), "6F44");
  const Bytes largest = vpcd.Exchange(Extended(H("803A0000"), Bytes{'.'}, 65533));
  ASSERT_EQ(largest.size(), 65535u);
  EXPECT_EQ(largest[65533], 0x61);
  EXPECT_EQ(ToHex(Bytes(largest.begin(), largest.begin() + 5)), "3C3F786D6C");
  EXPECT_EQ(ToHex(vpcd.Exchange(H("00A4040C09F0444D434152444653"))), "9000");
  EXPECT_EQ(vicc.Terminate(), 0);
  fs::remove_all(dir);
}

TEST(Vicc_Protocol, RemoveInsertAndReconnectAfterVpcdGoesAway) {
  FakeVpcd vpcd;
  Vicc vicc({"--port", std::to_string(vpcd.port())});
  ASSERT_TRUE(vpcd.Accept());
  // Removal closes the connection; insertion connects again.
  EXPECT_EQ(vicc.Ctl("remove 0").second, 0);
  EXPECT_TRUE(vpcd.ClosedByCard());
  vpcd.Hangup();
  EXPECT_NE(vicc.Ctl("status").first.find("removed"), std::string::npos);
  EXPECT_EQ(vicc.Ctl("insert 0").second, 0);
  ASSERT_TRUE(vpcd.Accept());
  vpcd.Send(Bytes{0x01});
  EXPECT_EQ(ToHex(vpcd.Exchange(H("00A4040C09F0444D434152444653"))), "9000");
  // vpcd going away (pcscd stopped): the card reconnects by itself.
  vpcd.Hangup();
  ASSERT_TRUE(vpcd.Accept());
  vpcd.Send(Bytes{0x04});
  EXPECT_EQ(ToHex(vpcd.Receive().value_or(Bytes{})), kDemoAtr);
  // Wrong slot and unknown verbs are refused with a reason.
  const auto [bad_slot, rc1] = vicc.Ctl("remove 3");
  EXPECT_NE(rc1, 0);
  EXPECT_NE(bad_slot.find("no slot"), std::string::npos) << bad_slot;
  const auto [bad_verb, rc2] = vicc.Ctl("explode");
  EXPECT_NE(rc2, 0);
  EXPECT_NE(bad_verb.find("unknown"), std::string::npos) << bad_verb;
  EXPECT_EQ(vicc.Terminate(), 0);
  // It said once that it connected, and once per loss that it reconnects.
  const std::string err = vicc.Stderr();
  EXPECT_NE(err.find("connected to vpcd"), std::string::npos) << err;
  EXPECT_NE(err.find("reconnecting"), std::string::npos) << err;
}

TEST(Vicc_Protocol, WaitsForVpcdAndSaysSoOnce) {
  // Reserve a port, then free it: nothing listens there at first.
  uint16_t port;
  { port = FakeVpcd().port(); }
  Vicc vicc({"--port", std::to_string(port)});
  // Let it fail a few times (backoff), then appear. The wait is bounded by polling for the
  // message rather than by a fixed sleep.
  std::string err;
  for (int i = 0; i < 500 && err.find("not reachable") == std::string::npos; ++i) {
    ::usleep(10000);
    err = vicc.Stderr();
  }
  EXPECT_NE(err.find("vpcd is not reachable at localhost:" + std::to_string(port)),
            std::string::npos)
      << err;
  EXPECT_EQ(vicc.Terminate(), 0);
  err = vicc.Stderr();
  size_t count = 0;
  for (size_t at = err.find("not reachable"); at != std::string::npos;
       at = err.find("not reachable", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 1u) << "said once, not at every retry:\n" << err;
}

// A client socket to 127.0.0.1:port, retried (bounded) until something listens there.
int ConnectWhenListening(uint16_t port) {
  for (int i = 0; i < 1000; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
    ::close(fd);
    ::usleep(10000);
  }
  return -1;
}

// --reverse: the card listens and vpcd (here: the test) connects, as with a vpcd entry
// "DEVICENAME localhost:PORT".
TEST(Vicc_Protocol, ReverseModeListensForVpcd) {
  uint16_t port;
  { port = FakeVpcd().port(); }  // a free port
  Vicc vicc({"--reverse", "--port", std::to_string(port)});
  FakeVpcd vpcd;  // used only for its frame helpers on an outgoing connection
  vpcd.Adopt(ConnectWhenListening(port));
  vpcd.Send(Bytes{0x04});
  EXPECT_EQ(ToHex(vpcd.Receive().value_or(Bytes{})), kDemoAtr);
  vpcd.Send(Bytes{0x01});
  EXPECT_EQ(ToHex(vpcd.Exchange(H("00A4040C09F0444D434152444653"))), "9000");
  // Removal is refused in reverse mode (Debian's vpcd 0.8 aborts pcscd when a reverse-mode card
  // goes away), with the reason.
  const auto [out, rc] = vicc.Ctl("remove 0");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("not available with --reverse"), std::string::npos) << out;
  // vpcd going away and coming back: the card still listens.
  vpcd.Hangup();
  vpcd.Adopt(ConnectWhenListening(port));
  vpcd.Send(Bytes{0x04});
  EXPECT_EQ(ToHex(vpcd.Receive().value_or(Bytes{})), kDemoAtr);
  EXPECT_EQ(vicc.Terminate(), 0);
}

// Issue 13 item 5: 1,000 cards in one process.

// The first of `count` consecutive loopback ports that are free now (each bound, as dmcard-vicc
// binds them, and released), trying a few bases; 0 when none is. All below the kernel's
// ephemeral range (32768-60999 by default), where the other tests' kernel-chosen ports and every
// outgoing connection's own port come from.
uint16_t FreePortRange(int count) {
  for (const int base : {26000, 23000, 29000, 20000}) {
    bool free = true;
    for (int i = 0; i < count && free; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(base + i));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(fd);
    }
    if (free) return static_cast<uint16_t>(base);
  }
  return 0;
}

// While it lives, the soft limit of open files is `soft` (the hard limit stays): a child started
// meanwhile inherits it.
class LowSoftFileLimit {
 public:
  explicit LowSoftFileLimit(rlim_t soft) {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit low = saved_;
    low.rlim_cur = std::min(soft, saved_.rlim_cur);
    ::setrlimit(RLIMIT_NOFILE, &low);
  }
  ~LowSoftFileLimit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }

 private:
  rlimit saved_{};
};

// dmcard-vicc --slots 1000 --reverse, its vpcd played by the test (no pcscd): a sample of the
// cards (the first, the last, both sides of the 16 one pcscd shows, a seeded random draw) each
// connected, powered, selected and written at the same time, each answering with its own data;
// `ctl status` lists all 1000. Started with a soft limit of 256 open files, which 1000
// listening cards exceed: dmcard-vicc raises it itself.
TEST(Vicc_Many, ThousandCardsInOneProcessEachServeOnItsPort) {
  constexpr int kCards = 1000;
  rlimit files{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &files), 0);
  if (files.rlim_max != RLIM_INFINITY && files.rlim_max < 2 * kCards + 64) {
    GTEST_SKIP() << "the hard RLIMIT_NOFILE (" << files.rlim_max << ") is below the "
                 << 2 * kCards + 64 << " open files 1000 listening cards need";
  }
  const uint16_t base = FreePortRange(kCards);
  ASSERT_NE(base, 0) << "no 1000 free consecutive loopback ports at 20000, 23000, 26000, 29000";
  std::unique_ptr<Vicc> vicc;
  {
    LowSoftFileLimit low(256);
    vicc = std::make_unique<Vicc>(std::vector<std::string>{
        "--reverse", "--slots", std::to_string(kCards), "--port", std::to_string(base)});
  }
  // Every listener is open once the cards past the first 16 are said, in one line (bounded
  // wait: making 1000 cards takes about a second, longer in a sanitizer build).
  const std::string others = "slots 16..999 (ports " + std::to_string(base + 16) + ".." +
                             std::to_string(base + 999) + "): listening for vpcd likewise";
  std::string err;
  for (int i = 0; i < 2400 && err.find(others) == std::string::npos; ++i) {
    if (err.find("cannot ") != std::string::npos) break;  // a listener failed: it stopped
    ::usleep(50000);
    err = vicc->Stderr();
  }
  ASSERT_NE(err.find(others), std::string::npos) << err;
  // The first 16 cards are said one by one, the others not.
  EXPECT_NE(err.find("port " + std::to_string(base + 15) + " (reverse mode)"), std::string::npos)
      << err;
  EXPECT_EQ(err.find("port " + std::to_string(base + 16) + " (reverse mode)"), std::string::npos)
      << err;

  std::set<int> sample = {0, 1, 15, 16, 17, 500, 998, 999};
  std::mt19937 draw(13);
  while (sample.size() < 16) sample.insert(static_cast<int>(draw() % kCards));
  std::vector<std::pair<int, std::unique_ptr<FakeVpcd>>> links;
  for (const int slot : sample) {
    auto vpcd = std::make_unique<FakeVpcd>();  // its frame helpers on an outgoing connection
    vpcd->Adopt(ConnectWhenListening(static_cast<uint16_t>(base + slot)));
    links.emplace_back(slot, std::move(vpcd));
  }
  // All connected at once; each card powered, its DM applet selected, the user's PIN verified
  // and a value of its own written (UserPrefs: Replace=@user in the demo profile).
  for (auto& [slot, vpcd] : links) {
    SCOPED_TRACE("slot " + std::to_string(slot));
    vpcd->Send(Bytes{0x04});
    EXPECT_EQ(ToHex(vpcd->Receive().value_or(Bytes{})), kDemoAtr);
    vpcd->Send(Bytes{0x01});
    EXPECT_EQ(ToHex(vpcd->Exchange(H("00A4040C0AF0444D434152442D444D"))), "9000");
    EXPECT_EQ(ToHex(vpcd->Exchange(H("002000010431323334"))), "9000");
    EXPECT_EQ(ToHex(vpcd->Exchange(testing::DmReplace("./Vendor/dmcard/UserPrefs/Lang",
                                                      "card-" + std::to_string(slot)))),
              "9000");
  }
  // Read back in the other order: each card holds its own value, and the demo tree.
  for (auto it = links.rbegin(); it != links.rend(); ++it) {
    const auto& [slot, vpcd] = *it;
    SCOPED_TRACE("slot " + std::to_string(slot));
    EXPECT_EQ(ToHex(vpcd->Exchange(testing::DmGet("./Vendor/dmcard/UserPrefs/Lang"))),
              ToHex(testing::Ascii("card-" + std::to_string(slot))) + "9000");
    EXPECT_EQ(ToHex(vpcd->Exchange(testing::DmGet("./DevInfo/Man"))),
              ToHex(testing::Ascii("dmcard")) + "9000");
  }

  // `ctl status`: a line per card, the sample's with their 5 APDUs.
  std::string expected;
  for (int i = 0; i < kCards; ++i) {
    const bool used = sample.count(i) != 0;
    expected += "slot " + std::to_string(i) + " demo port " + std::to_string(base + i) +
                (used ? " inserted apdus 5\n" : " waiting apdus 0\n");
  }
  expected += "ok\n";
  const auto [status, rc] = vicc->Ctl("status");
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(status, expected);
  EXPECT_EQ(vicc->Terminate(), 0);
}

// A hard limit of open files too low for the cards stops dmcard-vicc at start, before any card
// (or state directory) is made, naming the limit and what the cards need.
TEST(Vicc_Many, TooFewOpenFilesIsSaidBeforeAnyCardIsMade) {
  const fs::path state =
      fs::temp_directory_path() / ("dmcard-many-state-" + std::to_string(::getpid()));
  fs::remove_all(state);
  const std::string cmd = "ulimit -n 200 && exec " + std::string(DMCARD_VICC_PATH) +
                          " --slots 1000 --reverse --state " + state.string() +
                          " --port 26000 --control " + (state.string() + ".sock") + " 2>&1";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int rc = ::pclose(p);
  EXPECT_EQ(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, 1) << out;
  // 1000 x (connection, listener, state directory, lock, journal), and the process's own.
  EXPECT_NE(out.find("1000 cards need about 50"), std::string::npos) << out;
  EXPECT_NE(out.find("RLIMIT_NOFILE allows this process 200"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(state)) << "no card is made";
  fs::remove_all(state);
}

TEST(Vicc_Cli, BadArgumentsSayWhatIsWrong) {
  auto run = [](const std::string& args) {
    const std::string cmd = std::string(DMCARD_VICC_PATH) + " " + args + " 2>&1";
    std::FILE* p = ::popen(cmd.c_str(), "r");
    std::string out;
    char buf[256];
    while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
    const int rc = ::pclose(p);
    return std::make_pair(out, WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
  };
  auto [help, rc0] = run("--help");
  EXPECT_EQ(rc0, 0);
  EXPECT_NE(help.find("--state DIR"), std::string::npos);
  EXPECT_NE(help.find("--profile FILE"), std::string::npos);
  auto [bad, rc1] = run("--slots 1001");
  EXPECT_EQ(rc1, 2);
  EXPECT_NE(bad.find("--slots: Value 1001 not in range 1 to 1000"), std::string::npos) << bad;
  EXPECT_NE(bad.find("dmcard-vicc --help"), std::string::npos) << bad;
  auto [card, rc2] = run("--card demo,turbo");
  EXPECT_EQ(rc2, 2);
  EXPECT_NE(card.find("unknown card option 'turbo'"), std::string::npos) << card;
  auto [profile, rc3] = run("--profile /nonexistent/profile.json");
  EXPECT_EQ(rc3, 1);
  EXPECT_NE(profile.find("/nonexistent/profile.json"), std::string::npos) << profile;
  auto [ctl, rc4] = run("ctl --control /nonexistent.sock status");
  EXPECT_EQ(rc4, 1);
  EXPECT_NE(ctl.find("cannot reach dmcard-vicc"), std::string::npos) << ctl;
}

// Runs `ENV dmcard-vicc ARGS` to its end (bounded by the arguments: each case here exits at
// once); output and exit code.
std::pair<std::string, int> RunVicc(const std::string& env, const std::string& args) {
  const std::string cmd =
      env + " timeout 20 " + std::string(DMCARD_VICC_PATH) + " " + args + " 2>&1 </dev/null";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int rc = ::pclose(p);
  return {out, WIFEXITED(rc) ? WEXITSTATUS(rc) : -1};
}

// Issue 8 item 4: a trace is its owner's alone (0600, also over an existing world-readable
// file) and holds no PIN unless --record-secrets asks for it.
TEST(Vicc_Record, TraceIsPrivateAndMasksPinData) {
  for (const bool secrets : {false, true}) {
    const fs::path trace = fs::temp_directory_path() /
                           ("dmcard-trace-" + std::to_string(::getpid()) + (secrets ? "-s" : ""));
    { std::ofstream(trace) << "old\n"; }
    fs::permissions(trace, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                               fs::perms::others_read);
    FakeVpcd vpcd;
    std::vector<std::string> args = {"--port", std::to_string(vpcd.port()), "--record",
                                     trace.string()};
    if (secrets) args.push_back("--record-secrets");
    Vicc vicc(args);
    ASSERT_TRUE(vpcd.Accept());
    // VERIFY PIN 01 with a wrong value "9999" in short and in extended length, a CHANGE
    // REFERENCE DATA, and a malformed VERIFY (Lc 6, 3 bytes of data: 6700) whose bytes are
    // still PIN digits.
    EXPECT_EQ(ToHex(vpcd.Exchange(H("002000010439393939"))), "63C2");
    EXPECT_EQ(ToHex(vpcd.Exchange(H("0020000100000439393939"))).substr(0, 2), "63");
    vpcd.Exchange(H("00240001083939393938383838"));
    EXPECT_EQ(ToHex(vpcd.Exchange(H("0020000106383838"))), "6700");
    EXPECT_EQ(ToHex(vpcd.Exchange(H("00A4040C09F0444D434152444653"))), "9000");
    EXPECT_EQ(vicc.Terminate(), 0);

    const auto mode = fs::status(trace).permissions();
    EXPECT_EQ(mode & (fs::perms::group_all | fs::perms::others_all), fs::perms::none);
    std::ifstream in(trace);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (secrets) {
      EXPECT_NE(text.find("> 00 20 00 01 04 39 39 39 39\n"), std::string::npos) << text;
    } else {
      EXPECT_NE(text.find("> 00 20 00 01 04 ** ** ** **\n"), std::string::npos) << text;
      EXPECT_NE(text.find("> 00 20 00 01 00 00 04 ** ** ** **\n"), std::string::npos) << text;
      EXPECT_NE(text.find("> 00 24 00 01 08 ** ** ** ** ** ** ** **\n"), std::string::npos) << text;
      EXPECT_NE(text.find("> 00 20 00 01 ** ** ** **\n< 67 00\n"), std::string::npos) << text;
      EXPECT_EQ(text.find("39 39"), std::string::npos) << "a PIN digit in the trace: " << text;
      EXPECT_EQ(text.find("38 38"), std::string::npos) << "a PIN digit in the trace: " << text;
    }
    EXPECT_NE(text.find("> 00 A4 04 0C 09 F0 44 4D 43 41 52 44 46 53\n< 90 00\n"),
              std::string::npos)
        << "other commands in clear: " << text;
    fs::remove(trace);
  }
}

// Secrets beyond PINs (non-negotiable 5): the data of a DM STORE DATA (a tree with credentials)
// and of an ADD of a secret leaf stays out of the trace — even when the card refuses the ADD —
// while -v names every DM command with its URI and never a value.
TEST(Vicc_Record, TraceWithholdsSecretLeavesAndVerboseNamesDmCommands) {
  const fs::path trace =
      fs::temp_directory_path() / ("dmcard-trace-leaf-" + std::to_string(::getpid()));
  FakeVpcd vpcd;
  Vicc vicc({"--port", std::to_string(vpcd.port()), "--record", trace.string(), "-v"});
  ASSERT_TRUE(vpcd.Accept());
  const std::string secret = "s3cr3t-in-trace";
  auto hex = [](std::string_view t) { return ToHex(Bytes(t.begin(), t.end())); };
  auto lc = [](size_t n) { return ToHex(Bytes{static_cast<uint8_t>(n)}); };
  ASSERT_EQ(ToHex(vpcd.Exchange(H("00A404000AF0444D434152442D444D00"))).substr(0, 2), "6F");
  // The device adds an AAuthSecret (refused by the demo ACL: 6982): still withheld.
  const std::string uri = "./DMAcc/DMCardTest/AppAuth/SrvCred/AAuthSecret";
  const std::string add = "80" + lc(uri.size()) + hex(uri) + "8203" + hex("chr") + "81" +
                          lc(secret.size()) + hex(secret);
  EXPECT_EQ(ToHex(vpcd.Exchange(H("80320000" + lc(add.size() / 2) + add))), "6982");
  // The issuer's STORE DATA with a secret in the document (DGI 0202, a tree merged), over an
  // SCP03 session at C-MAC only: the document crosses in clear and the trace must withhold it.
  HostScp03 issuer(testing::DemoIssuerKeys());
  const Bytes init = vpcd.Exchange(issuer.InitializeUpdate(0x30, H("0102030405060708")));
  ASSERT_EQ(testing::SwOf(init), 0x9000) << ToHex(init);
  issuer.ReadInitializeUpdateResponse(testing::DataOf(init), dm::DmApplet::DefaultAid());
  ASSERT_EQ(ToHex(vpcd.Exchange(issuer.ExternalAuthenticate(0x01))), "9000");
  const std::string tnds =
      "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>Vendor</NodeName><Node><NodeName>K"
      "</NodeName><Node><NodeName>AAuthSecret</NodeName><RTProperties><Format><chr/></Format>"
      "</RTProperties><Value>" +
      secret + "</Value></Node></Node></Node></MgmtTree>";
  std::string error;
  const std::vector<Bytes> store =
      StoreDataCommands({{0x0202, Bytes(tnds.begin(), tnds.end())}}, error, /*max_data=*/255)
          .value_or(std::vector<Bytes>{});
  ASSERT_EQ(error, "");
  ASSERT_EQ(store.size(), 1u);
  EXPECT_EQ(ToHex(vpcd.Exchange(issuer.Wrap(store[0]))), "9000");
  // A new SELECT ends the session; a plain GET stays in clear.
  ASSERT_EQ(ToHex(vpcd.Exchange(H("00A404000AF0444D434152442D444D00"))).substr(0, 2), "6F");
  const std::string man = "./DevInfo/Man";
  EXPECT_EQ(ToHex(vpcd.Exchange(H("80300000" + lc(man.size()) + hex(man) + "00"))),
            hex("dmcard") + "9000");
  EXPECT_EQ(vicc.Terminate(), 0);

  std::ifstream in(trace);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string spaced = ToHex(Bytes(secret.begin(), secret.end()), ' ');
  EXPECT_EQ(text.find(spaced.substr(0, 17)), std::string::npos) << "a secret in the trace:\n"
                                                                << text;
  EXPECT_NE(text.find("> 80 32 00 00 "), std::string::npos) << text;
  EXPECT_NE(text.find("> 84 E2 88 00 "), std::string::npos) << text;
  EXPECT_NE(text.find(ToHex(Bytes(man.begin(), man.end()), ' ')), std::string::npos) << text;
  const std::string err = vicc.Stderr();
  EXPECT_NE(err.find("DM ADD " + uri), std::string::npos) << err;
  EXPECT_NE(err.find("DM GET value ./DevInfo/Man"), std::string::npos) << err;
  // The command reference's names (apdu-specs/dm.json), following the DM applet's selection.
  EXPECT_NE(err.find("GET (tree): value of a leaf — DM GET value ./DevInfo/Man"), std::string::npos)
      << err;
  EXPECT_NE(err.find("ADD (tree) — DM ADD " + uri), std::string::npos) << err;
  EXPECT_EQ(err.find(secret), std::string::npos) << err;
  fs::remove(trace);
}

// Issue 8 item 6: `ctl status SLOT` reports that slot only; a slot that does not exist is an
// error naming the slots there are.
TEST(Vicc_Ctl, StatusHonoursTheSlot) {
  FakeVpcd vpcd;
  Vicc vicc({"--port", std::to_string(vpcd.port()), "--slots", "2"});
  ASSERT_TRUE(vpcd.Accept());
  const auto [all, rc_all] = vicc.Ctl("status");
  EXPECT_EQ(rc_all, 0);
  EXPECT_NE(all.find("slot 0 "), std::string::npos) << all;
  EXPECT_NE(all.find("slot 1 "), std::string::npos) << all;
  const auto [one, rc_one] = vicc.Ctl("status 1");
  EXPECT_EQ(rc_one, 0);
  EXPECT_EQ(one.find("slot 0 "), std::string::npos) << one;
  EXPECT_NE(one.find("slot 1 demo port " + std::to_string(vpcd.port() + 1)), std::string::npos)
      << one;
  const auto [bad, rc_bad] = vicc.Ctl("status 7");
  EXPECT_NE(rc_bad, 0);
  EXPECT_NE(bad.find("no slot '7' (slots 0..1)"), std::string::npos) << bad;
  EXPECT_EQ(vicc.Terminate(), 0);
}

// The control protocol takes exactly `VERB` or `VERB SLOT` (SLOT in decimal digits): looser
// lines that strtol would have read ("+1", " 1", "1x", "status ") are refused, and a slot is
// never guessed (found by the control fuzz target).
TEST(Vicc_Ctl, LooseLinesAreRefused) {
  FakeVpcd vpcd;
  Vicc vicc({"--port", std::to_string(vpcd.port()), "--slots", "2"});
  ASSERT_TRUE(vpcd.Accept());
  auto ask = [&vicc](const std::string& line) {
    std::string answer, error;
    vicc::SendViccControl(vicc.control(), line, answer, error);  // false on an error answer
    return answer;
  };
  for (const char* line :
       {"remove +1", "remove  1", "remove 1x", "remove -0", "status ", "reset 0x1", "insert 1 1"}) {
    const std::string answer = ask(line);
    EXPECT_EQ(answer.rfind("error: no slot '", 0), 0u) << line << " -> " << answer;
  }
  const std::string one = ask("status 0\r");
  EXPECT_EQ(one.rfind("slot 0 demo port " + std::to_string(vpcd.port()) + " inserted", 0), 0u)
      << one;
  EXPECT_TRUE(one.ends_with("\nok\n")) << one;
  EXPECT_EQ(one.find("slot 1"), std::string::npos) << one;
  EXPECT_EQ(vicc.Terminate(), 0);
}

// Issue 8 item 6: a second dmcard-vicc on the same port and control socket is refused, and the
// advice is another --port (another control socket alone would start a card no reader shows).
TEST(Vicc_Cli, SecondInstanceIsToldToUseAnotherPort) {
  FakeVpcd vpcd;
  Vicc first({"--port", std::to_string(vpcd.port())});
  ASSERT_TRUE(vpcd.Accept());
  const auto [err, rc] =
      RunVicc("", "--port " + std::to_string(vpcd.port()) + " --control " + first.control());
  EXPECT_EQ(rc, 1) << err;
  EXPECT_NE(err.find("already running"), std::string::npos) << err;
  EXPECT_NE(err.find("another --port"), std::string::npos) << err;
  EXPECT_EQ(err.find("pass --control"), std::string::npos) << err;
  EXPECT_EQ(first.Terminate(), 0);
}

// Issue 8 item 5: the default control socket lives in a private directory (made 0700 when
// missing); a directory others can write is refused rather than used.
TEST(Vicc_Cli, DefaultControlSocketIsInAPrivateDirectory) {
  const fs::path base = fs::temp_directory_path() / ("dmcard-rt-" + std::to_string(::getpid()));
  fs::remove_all(base);
  fs::create_directories(base);
  const fs::path runtime = base / "rt";
  FakeVpcd vpcd;
  const std::string port = std::to_string(vpcd.port());
  const std::string env = "XDG_RUNTIME_DIR=" + runtime.string();
  const pid_t card = ::fork();
  if (card == 0) {
    ::setenv("XDG_RUNTIME_DIR", runtime.c_str(), 1);
    std::FILE* err = std::freopen("/dev/null", "w", stderr);
    (void)err;
    ::execl(DMCARD_VICC_PATH, DMCARD_VICC_PATH, "--port", port.c_str(), nullptr);
    ::_exit(127);
  }
  EXPECT_TRUE(vpcd.Accept());  // (not ASSERT: the card process is stopped below either way)
  EXPECT_EQ(fs::status(runtime).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_TRUE(fs::is_socket(runtime / ("dmcard-vicc-" + port + ".sock")));
  const auto [status, rc] = RunVicc(env, "ctl --port " + port + " status");
  EXPECT_EQ(rc, 0) << status;
  EXPECT_NE(status.find("slot 0 demo port " + port), std::string::npos) << status;
  ::kill(card, SIGKILL);
  ::waitpid(card, nullptr, 0);

  const fs::path shared = base / "shared";
  fs::create_directories(shared);
  fs::permissions(shared, fs::perms::all);
  const auto [refused, rc2] = RunVicc("XDG_RUNTIME_DIR=" + shared.string(), "--port " + port);
  EXPECT_EQ(rc2, 1);
  EXPECT_NE(refused.find("is not private"), std::string::npos) << refused;
  fs::remove_all(base);
}

// Issue 8 item 5: reverse mode listens where --host says; a name that does not resolve is an
// error, never every interface.
TEST(Vicc_Cli, ReverseModeNeverWidensAnUnknownHostToEveryInterface) {
  const fs::path dir = fs::temp_directory_path() / ("dmcard-rev-" + std::to_string(::getpid()));
  const auto [out, rc] =
      RunVicc("", "--reverse --host no-such-host.invalid --port 39123 --control " +
                      (dir.string() + ".sock"));
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("cannot listen on no-such-host.invalid"), std::string::npos) << out;
}

// Issue 8 item 6: the reader name printed is the one pcscd gives, read from the vpcd entries
// (DMCARD_READER_CONF_DIR stands in for /etc/reader.conf.d); with no entry for the port, the
// card says that pcscd will not see it and which entry to add.
TEST(Vicc_Cli, ReaderNameComesFromTheVpcdEntryForThePort) {
  const fs::path conf =
      fs::temp_directory_path() / ("dmcard-reader-conf-" + std::to_string(::getpid()));
  fs::remove_all(conf);
  fs::create_directories(conf);
  FakeVpcd vpcd;
  const uint16_t port = vpcd.port();
  auto hex = [](unsigned v) {
    char text[8];
    std::snprintf(text, sizeof text, "%04X", v);
    return std::string(text);
  };
  // The entry's base port is one below the card's: the card is in the entry's second slot.
  std::ofstream(conf / "vpcd") << "FRIENDLYNAME \"dmcard Test Reader\"\nDEVICENAME /dev/null:0x"
                               << hex(port - 1u)
                               << "\nLIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\n";
  {
    Vicc vicc({"--port", std::to_string(port)}, {{"DMCARD_READER_CONF_DIR", conf.string()}});
    ASSERT_TRUE(vpcd.Accept());
    vpcd.Send(Bytes{0x04});
    EXPECT_EQ(ToHex(vpcd.Receive().value_or(Bytes{})), kDemoAtr);
    const std::string err = vicc.Stderr();  // said on connecting, before the ATR was read
    EXPECT_NE(err.find("connected to vpcd at localhost:" + std::to_string(port) +
                       " — reader \"dmcard Test Reader 00 01\""),
              std::string::npos)
        << err;
    EXPECT_EQ(err.find("no vpcd reader"), std::string::npos) << err;
    EXPECT_EQ(vicc.Terminate(), 0);
  }
  vpcd.Hangup();
  fs::remove(conf / "vpcd");
  {
    Vicc vicc({"--port", std::to_string(port)}, {{"DMCARD_READER_CONF_DIR", conf.string()}});
    ASSERT_TRUE(vpcd.Accept());
    vpcd.Send(Bytes{0x04});
    EXPECT_EQ(ToHex(vpcd.Receive().value_or(Bytes{})), kDemoAtr);
    const std::string err = vicc.Stderr();
    EXPECT_NE(err.find("no vpcd reader in " + conf.string() + " serves port " +
                       std::to_string(port) + ", so pcscd will not see this card until one does"),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("DEVICENAME /dev/null:0x" + hex(port)), std::string::npos) << err;
    EXPECT_NE(err.find("reader name unknown"), std::string::npos) << err;
    EXPECT_EQ(vicc.Terminate(), 0);
  }
  fs::remove_all(conf);
}

// Issue 8 item 5: peer verification, end to end with a second, unprivileged user playing an
// impostor vpcd. Needs root (to become that user); the user is made with useradd when missing,
// else `nobody` stands in.
struct TestUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
};

std::optional<TestUser> UnprivilegedUser() {
  auto lookup = [](const char* name) -> std::optional<TestUser> {
    const passwd* pw = ::getpwnam(name);
    if (pw == nullptr || pw->pw_uid == 0) return std::nullopt;
    return TestUser{pw->pw_uid, pw->pw_gid, pw->pw_name};
  };
  if (auto user = lookup("dmcard-test")) return user;
  const int rc = std::system(
      "useradd --system --no-create-home --shell /usr/sbin/nologin dmcard-test >/dev/null 2>&1");
  (void)rc;
  if (auto user = lookup("dmcard-test")) return user;
  return lookup("nobody");
}

#define DMCARD_REQUIRE_SECOND_USER(user)                                                     \
  if (::geteuid() != 0) {                                                                    \
    GTEST_SKIP() << "needs root: the test becomes a second, unprivileged user to play an "   \
                    "impostor vpcd (CI runs the unit tests as root)";                        \
  }                                                                                          \
  const std::optional<TestUser> user = UnprivilegedUser();                                   \
  ASSERT_TRUE(user) << "no unprivileged user: 'useradd dmcard-test' failed and there is no " \
                       "'nobody'"

// A process that becomes `user` for good (groups, gid, uid) and plays vpcd: listening on a free
// loopback port (normal mode) or connecting to `port` (reverse mode). On each of `connections`
// connections it sends what vpcd sends a new card (power on, get ATR) and a SELECT, then reads
// until the card closes the connection, `enough` bytes came, or 10 s pass. Its report, through
// a pipe: "uid=U connections=N closed=C got=HEX" (closed: how many the card closed, EOF or reset).
class Impostor {
 public:
  Impostor(const TestUser& user, uint16_t connect_port, int connections, size_t enough = 1) {
    // Power on, get ATR, SELECT the file system applet by AID; each frame length-prefixed.
    const Bytes frames = H("000101000104000E00A4040C09F0444D434152444653");
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(fds[0]);
      Run(fds[1], user, connect_port, connections, enough, frames);
      ::_exit(0);
    }
    ::close(fds[1]);
    pipe_ = fds[0];
    if (connect_port == 0) {
      const std::string line = ReadLine(10000);
      if (line.rfind("port ", 0) == 0) port_ = static_cast<uint16_t>(std::stoi(line.substr(5)));
    }
  }
  ~Impostor() {
    Wait();
    if (pipe_ >= 0) ::close(pipe_);
  }
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  // The report (bounded wait); empty when none came.
  std::string Report() { return ReadLine(60000); }
  void Wait() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  static void Say(int out, const std::string& text) {
    const std::string line = text + "\n";
    const ssize_t n = ::write(out, line.data(), line.size());
    (void)n;
  }
  static void Run(int out, const TestUser& user, uint16_t connect_port, int connections,
                  size_t enough, const Bytes& frames) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(user.gid) != 0 || ::setuid(user.uid) != 0 ||
        ::geteuid() == 0) {
      Say(out, std::string("error: cannot become the user: ") + std::strerror(errno));
      return;
    }
    int listener = -1;
    if (connect_port == 0) {
      listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof a;
      if (::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
          ::listen(listener, 4) != 0 ||
          ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        Say(out, "error: cannot listen");
        return;
      }
      Say(out, "port " + std::to_string(ntohs(a.sin_port)));
    }
    int closed = 0;
    Bytes got;
    for (int i = 0; i < connections && got.size() < enough; ++i) {
      int c = -1;
      if (listener >= 0) {
        pollfd p{listener, POLLIN, 0};
        if (::poll(&p, 1, 20000) == 1) c = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      } else {
        for (int attempt = 0; attempt < 1000 && c < 0; ++attempt) {
          c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
          sockaddr_in a{};
          a.sin_family = AF_INET;
          a.sin_port = htons(connect_port);
          a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
          if (::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(c);
            c = -1;
            ::usleep(10000);
          }
        }
      }
      if (c < 0) {
        Say(out, "error: no connection " + std::to_string(i));
        return;
      }
      const ssize_t sent = ::send(c, frames.data(), frames.size(), MSG_NOSIGNAL);
      (void)sent;  // a card that closed at once makes this fail: what counts is what comes back
      for (;;) {
        pollfd p{c, POLLIN, 0};
        if (::poll(&p, 1, 10000) != 1) break;  // still open, silent
        uint8_t buf[256];
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) {  // EOF, or a reset (the card closed with our frames unread)
          ++closed;
          break;
        }
        got.insert(got.end(), buf, buf + n);
        if (got.size() >= enough) break;
      }
      ::close(c);
    }
    Say(out, "uid=" + std::to_string(::getuid()) + " connections=" + std::to_string(connections) +
                 " closed=" + std::to_string(closed) + " got=" + ToHex(got));
  }
  std::string ReadLine(int timeout_ms) {
    std::string line;
    char c;
    while (pipe_ >= 0) {
      pollfd p{pipe_, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) != 1 || ::read(pipe_, &c, 1) != 1 || c == '\n') break;
      line.push_back(c);
    }
    return line;
  }
  pid_t pid_ = -1;
  int pipe_ = -1;
  uint16_t port_ = 0;
};

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Another user listening on vpcd's port (before pcscd, or while it restarts) gets nothing: the
// connection closes before any answer, stderr names the holder, and the card keeps retrying, so
// it reaches the real vpcd (here: a listener of this user, root) once that one holds the port.
TEST(Vicc_Peer, CardIsNotHandedToAnotherUsersListener) {
  DMCARD_REQUIRE_SECOND_USER(user);
  Impostor impostor(*user, 0, 2);
  const uint16_t port = impostor.port();
  ASSERT_NE(port, 0) << "the impostor did not listen";
  Vicc vicc({"--port", std::to_string(port)});
  EXPECT_EQ(impostor.Report(), "uid=" + std::to_string(user->uid) + " connections=2 closed=2 got=")
      << vicc.Stderr();
  const pid_t impostor_pid = impostor.pid();
  impostor.Wait();  // its port is free again
  std::string err = vicc.Stderr();
  const std::string held = "vpcd's port localhost:" + std::to_string(port) + " is held by uid " +
                           std::to_string(user->uid) + " (" + user->name + "), process ";
  EXPECT_NE(err.find(held), std::string::npos) << err;
  EXPECT_NE(err.find("(pid " + std::to_string(impostor_pid) + ")"), std::string::npos) << err;
  EXPECT_NE(err.find("the card is not handed to it"), std::string::npos) << err;
  EXPECT_EQ(Count(err, "is held by"), 1u) << "said once for the same holder:\n" << err;

  // Positive control: a vpcd of this test's own user (root, as pcscd) on the same port gets the
  // card, without restarting dmcard-vicc.
  FakeVpcd vpcd(port);
  ASSERT_TRUE(vpcd.Accept(20000)) << vicc.Stderr();
  vpcd.Send(Bytes{0x01});
  vpcd.Send(Bytes{0x04});
  EXPECT_EQ(ToHex(vpcd.Receive().value_or(Bytes{})), kDemoAtr);
  EXPECT_EQ(ToHex(vpcd.Exchange(H("00A4040C09F0444D434152444653"))), "9000");
  EXPECT_EQ(vicc.Terminate(), 0);
}

// --reverse: vpcd is whoever connects; a connection of another local user is closed unanswered,
// one of this user (root, as pcscd) gets the card.
TEST(Vicc_Peer, ReverseModeTurnsAwayAnotherUsersConnection) {
  DMCARD_REQUIRE_SECOND_USER(user);
  uint16_t port;
  { port = FakeVpcd().port(); }  // a free port
  Vicc vicc({"--reverse", "--port", std::to_string(port)});
  Impostor impostor(*user, port, 2);
  EXPECT_EQ(impostor.Report(), "uid=" + std::to_string(user->uid) + " connections=2 closed=2 got=")
      << vicc.Stderr();
  const pid_t impostor_pid = impostor.pid();
  impostor.Wait();
  const std::string err = vicc.Stderr();
  EXPECT_NE(err.find("a vpcd connection from uid " + std::to_string(user->uid) + " (" + user->name +
                     "), process "),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("(pid " + std::to_string(impostor_pid) + ")"), std::string::npos) << err;
  EXPECT_NE(err.find("was closed unanswered, without the card"), std::string::npos) << err;
  EXPECT_EQ(Count(err, "a vpcd connection from"), 1u) << "said once for the same user:\n" << err;

  FakeVpcd vpcd;
  vpcd.Adopt(ConnectWhenListening(port));
  vpcd.Send(Bytes{0x04});
  EXPECT_EQ(ToHex(vpcd.Receive().value_or(Bytes{})), kDemoAtr);
  vpcd.Send(Bytes{0x01});
  EXPECT_EQ(ToHex(vpcd.Exchange(H("00A4040C09F0444D434152444653"))), "9000");
  EXPECT_EQ(vicc.Terminate(), 0);
}

// --trust-any-peer turns the check off: the other user's listener gets the card.
TEST(Vicc_Peer, TrustAnyPeerHandsTheCardToAnyListener) {
  DMCARD_REQUIRE_SECOND_USER(user);
  // The ATR frame (2 + 19 bytes) and the SELECT's 9000 frame (2 + 2).
  Impostor impostor(*user, 0, 1, 25);
  ASSERT_NE(impostor.port(), 0) << "the impostor did not listen";
  Vicc vicc({"--port", std::to_string(impostor.port()), "--trust-any-peer"});
  EXPECT_EQ(impostor.Report(), "uid=" + std::to_string(user->uid) +
                                   " connections=1 closed=0 got=0013" + kDemoAtr + "00029000")
      << vicc.Stderr();
  EXPECT_EQ(vicc.Stderr().find("is held by"), std::string::npos) << vicc.Stderr();
  EXPECT_EQ(vicc.Terminate(), 0);
}

}  // namespace
}  // namespace dmcard
