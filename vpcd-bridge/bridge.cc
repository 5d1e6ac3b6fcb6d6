#include "bridge.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "host/peer.h"
#include "host/vicc_control.h"
#include "runtime/apdu_text.h"

namespace dmcard::vicc {

namespace {

constexpr uint32_t kFirstBackoffMs = 100;
constexpr uint32_t kMaxBackoffMs = 2000;

// vsmartcard vpcd control messages (vpcd.c: vicc_poweroff, vicc_poweron, vicc_reset,
// vicc_getatr). vpcd reads an answer to GET ATR only; ON and RESET are always followed at once
// by a GET ATR (IFDHPowerICC), OFF by pcscd's next presence poll, a GET ATR (every 0.4 s).
constexpr uint8_t kCtrlPowerOff = 0x00;
constexpr uint8_t kCtrlPowerOn = 0x01;
constexpr uint8_t kCtrlReset = 0x02;
constexpr uint8_t kCtrlGetAtr = 0x04;

// How long a 1-byte 00/01/02 frame waits for vpcd's next message before it is taken as a
// 1-byte C-APDU whose answer vpcd is waiting for: five of pcscd's presence polls.
constexpr uint64_t kControlFollowUpMs = 2000;

// vpcd's length field is 2 bytes (vpcd.c recvFromVICC).
constexpr size_t kMaxFramePayload = 0xFFFF;
// ISO 7816-4 "no precise diagnosis": the answer sent instead of an R-APDU that does not fit.
constexpr uint8_t kNoPreciseDiagnosis[] = {0x6F, 0x00};

// What goes into a frame for `payload`: itself, or 6F00 when it is longer than a vpcd frame
// carries. The last line of defence (the card caps its answers for vpcd): a longer payload would
// be read with a wrapped length, and its remainder taken as the answers to later commands —
// another client's.
ByteView Framable(ByteView payload) {
  return payload.size() <= kMaxFramePayload ? payload : ByteView(kNoPreciseDiagnosis);
}

uint64_t NowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

void TuneSocket(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// vpcd writes the length and the payload in two segments: without a quick ACK for the first,
// the second waits for the delayed-ACK timer (~40 ms per APDU). Quick-ACK mode is cleared by
// the kernel after use, so it is re-armed before every read.
void ArmQuickAck(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

bool WriteAll(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

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

Bridge::Bridge(BridgeOptions options, std::vector<SlotSpec> slots) : options_(std::move(options)) {
  for (size_t i = 0; i < slots.size(); ++i) {
    Slot s;
    s.index = static_cast<int>(i);
    s.port = slots[i].port;
    s.card = std::move(slots[i].card);
    s.in.reserve(4096);
    s.response.reserve(4096);
    s.frame.reserve(4096);
    slots_.push_back(std::move(s));
  }
}

Bridge::~Bridge() {
  for (Slot& s : slots_) {
    if (s.fd >= 0) ::close(s.fd);
    if (s.listen_fd >= 0) ::close(s.listen_fd);
    s.record.Close();
  }
  if (control_fd_ >= 0) {
    ::close(control_fd_);
    ::unlink(options_.control_path.c_str());
  }
  if (signal_fd_ >= 0) ::close(signal_fd_);
}

void Bridge::Say(const Slot& s, const std::string& text) const {
  std::fprintf(stderr, "dmcard-vicc: slot %d (%s card, port %u): %s\n", s.index, s.card->kind(),
               s.port, text.c_str());
}

// The reader PC/SC shows for the slot's port, from pcscd's reader entries (reader_conf.h).
std::string Bridge::ReaderName(const Slot& s) const {
  const ReaderLookup reader = LookUpReader(reader_conf_, s.port, options_.reverse);
  if (reader.name) return "reader \"" + *reader.name + "\"";
  return "reader name unknown: no vpcd reader in " + reader_conf_.dir + " serves this port";
}

// Whether the new vpcd connection `fd` may have the card: a local peer must be root (pcscd) or
// this user (peer.h). Whoever took vpcd's port first (before pcscd started, or while it
// restarts) would otherwise get the card and every APDU the clients send, PINs included. Who
// was turned away is said once per holder, and the caller keeps waiting for pcscd.
bool Bridge::Trusted(Slot& s, int fd, const std::string& where) {
  if (options_.trust_any_peer) return true;
  const PeerVerdict verdict = CheckPeer(fd);
  if (verdict.accept) {
    s.said_refused.clear();
    if (!verdict.local && !s.said_remote) {
      Say(s, "vpcd at " + verdict.who +
                 " is on another machine: dmcard-vicc cannot check who holds the other end");
      s.said_remote = true;
    }
    return true;
  }
  if (verdict.key == s.said_refused) return false;
  s.said_refused = verdict.key;
  std::string who = verdict.who;
  if (!who.empty()) {  // scanning every process for the holder is for this message only
    const std::string process = ProcessHoldingSocket(verdict.inode);
    who += process.empty() ? ", process unknown (only root sees other users' processes)"
                           : ", process " + process;
  }
  const std::string off = "; --trust-any-peer turns this check off";
  if (options_.reverse) {
    Say(s, "a vpcd connection" + (who.empty() ? "" : " from " + who) +
               " was closed unanswered, without the card: " + verdict.why +
               ". Still listening for pcscd's vpcd" + off);
  } else if (!who.empty()) {
    Say(s, "vpcd's port " + where + " is held by " + who + ": " + verdict.why +
               ", so the card is not handed to it (connection closed unanswered). Retrying until "
               "pcscd holds the port" +
               off);
  } else {
    Say(s, "the connection to " + where + " was closed unanswered: " + verdict.why +
               ". Retrying until pcscd holds the port" + off);
  }
  return false;
}

void Bridge::TryConnect(Slot& s, uint64_t now_ms) {
  if (s.state != LinkState::kWaiting || now_ms < s.next_attempt_ms) return;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(s.port);
  int rc = getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &res);
  std::string failure;
  bool refused = false;  // something answered, but not a peer the card may go to
  if (rc != 0) {
    failure = std::string("cannot resolve '") + options_.host + "': " + gai_strerror(rc);
  } else {
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
      int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
        failure = std::strerror(errno);
        ::close(fd);
        continue;
      }
      if (!Trusted(s, fd, options_.host + ":" + port)) {  // closed before a byte is read
        refused = true;
        ::close(fd);
        continue;
      }
      TuneSocket(fd);
      s.fd = fd;
      break;
    }
    freeaddrinfo(res);
  }
  if (s.fd >= 0) {
    s.backoff_ms = 0;
    s.said_waiting = false;
    OnConnected(s);
    Say(s, "connected to vpcd at " + options_.host + ":" + port + " — " + ReaderName(s));
    return;
  }
  if (!s.said_waiting && !refused) {
    Say(s, "vpcd is not reachable at " + options_.host + ":" + port + " (" + failure +
               "); retrying until it is. Is pcscd running with vsmartcard-vpcd on this port?");
    s.said_waiting = true;
  }
  s.backoff_ms = s.backoff_ms == 0 ? kFirstBackoffMs : std::min(s.backoff_ms * 2, kMaxBackoffMs);
  s.next_attempt_ms = now_ms + s.backoff_ms;
}

// Reverse mode listens where --host says, loopback by default; a host name is resolved, never
// widened to every interface. Whoever can connect speaks vpcd to the card (docs/vpcd-bridge.md).
bool Bridge::OpenListener(Slot& s) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(s.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (options_.host != "localhost" &&
      inet_pton(AF_INET, options_.host.c_str(), &addr.sin_addr) != 1) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(options_.host.c_str(), nullptr, &hints, &found);
    if (rc != 0 || found == nullptr) {
      Say(s, "cannot listen on " + options_.host + ": " + ::gai_strerror(rc) +
                 " (give an IPv4 address or a name that resolves to one; default: loopback)");
      return false;
    }
    addr.sin_addr = reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr;
    ::freeaddrinfo(found);
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1) != 0) {
    Say(s, std::string("cannot listen on port ") + std::to_string(s.port) + ": " +
               std::strerror(errno));
    ::close(fd);
    return false;
  }
  s.listen_fd = fd;
  Say(s, "listening for vpcd on port " + std::to_string(s.port) + " (reverse mode) — " +
             ReaderName(s));
  return true;
}

void Bridge::AcceptVpcd(Slot& s) {
  int fd = ::accept4(s.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  if (s.fd >= 0 || s.state == LinkState::kRemoved) {  // one vpcd per card; none while removed
    ::close(fd);
    return;
  }
  if (!Trusted(s, fd, "")) {  // closed before a byte is read
    ::close(fd);
    return;
  }
  TuneSocket(fd);
  s.fd = fd;
  OnConnected(s);
  Say(s, "vpcd connected");
}

void Bridge::OnConnected(Slot& s) {
  s.state = LinkState::kConnected;
  s.in.clear();
  s.undecided = -1;
  // A new vpcd connection is a fresh insertion, and the card comes up powered (cold reset).
  // pcscd may not know the card went away: when the previous connection died under a transmit
  // (dmcard-vicc killed and restarted), vpcd drops it inside that transmit and accepts the new
  // one at its next presence poll, which then finds a card — no removal is ever reported, so
  // pcscd never sends POWER ON and an unpowered card would answer 6985 until a client resets.
  // When pcscd does see an insertion, its POWER ON is one more cold reset, which is harmless.
  s.card->PowerOn();
  s.record.PowerOn();
}

void Bridge::Drop(Slot& s, const std::string& why, LinkState next) {
  if (s.fd >= 0) ::close(s.fd);
  s.fd = -1;
  s.in.clear();
  s.undecided = -1;
  // Losing the reader is losing power: transient state and selections are gone.
  s.card->PowerOff();
  s.namer.Reset();
  s.record.PowerOff();
  // Reverse mode keeps listening while removed: Debian's vpcd 0.8 aborts pcscd when its
  // connection attempt finds no listener. AcceptVpcd turns vpcd away instead.
  s.state = next;
  s.backoff_ms = 0;
  s.next_attempt_ms = 0;
  if (!why.empty()) Say(s, why);
}

bool Bridge::SendFrame(Slot& s, ByteView answer) {
  const ByteView payload = Framable(answer);
  if (payload.size() != answer.size()) {
    Say(s, "an answer of " + std::to_string(answer.size()) +
               " bytes does not fit a vpcd frame (at most 65535): sent 6F00 instead");
  }
  s.frame.resize(2 + payload.size());
  s.frame[0] = static_cast<uint8_t>(payload.size() >> 8);
  s.frame[1] = static_cast<uint8_t>(payload.size());
  std::memcpy(s.frame.data() + 2, payload.data(), payload.size());
  return WriteAll(s.fd, s.frame.data(), s.frame.size());  // one system call per frame
}

// vpcd frames carry no type: a 1-byte payload is a control message or a 1-byte C-APDU that a
// PC/SC client sent and vpcd forwarded unchanged, waiting for its answer. An answer vpcd does
// not read would be read later as the answer to something else, and a missing one hangs vpcd
// and every client of the reader. So:
// - 04: GET ATR, answered with the ATR (a 1-byte C-APDU 04 gets the ATR too: indistinguishable);
// - 00, 01, 02: vpcd sends its next message at once after a control message (GET ATR), but
//   nothing while it waits for an answer. Undecided until then: anything more from vpcd makes
//   it a control message; nothing within kControlFollowUpMs makes it a C-APDU, answered;
// - any other byte is never a control message: a C-APDU, answered at once (the card says 6700).
void Bridge::HandleFrame(Slot& s, ByteView payload, bool more_received) {
  if (payload.size() == 1) {
    const uint8_t b = payload[0];
    if (b == kCtrlGetAtr) {
      if (!SendFrame(s, s.card->atr()))
        Drop(s, "vpcd connection failed; reconnecting", LinkState::kWaiting);
      return;
    }
    if (b == kCtrlPowerOff || b == kCtrlPowerOn || b == kCtrlReset) {
      if (more_received) {
        ApplyControl(s, b);
      } else {
        s.undecided = b;
        s.undecided_until_ms = NowMs() + kControlFollowUpMs;
      }
      return;
    }
  }
  Answer(s, payload);
}

void Bridge::ApplyControl(Slot& s, uint8_t control) {
  switch (control) {
    case kCtrlPowerOff:
      s.card->PowerOff();
      s.namer.Reset();
      s.record.PowerOff();
      if (options_.verbose) Say(s, "power off");
      return;
    case kCtrlPowerOn:
      s.card->PowerOn();
      s.namer.Reset();
      s.record.PowerOn();
      if (options_.verbose) Say(s, "power on");
      return;
    default:
      s.card->Reset();
      s.namer.Reset();
      s.record.Reset();
      if (options_.verbose) Say(s, "reset");
      return;
  }
}

void Bridge::DecideUndecided(Slot& s, uint64_t now_ms) {
  if (s.undecided < 0 || now_ms < s.undecided_until_ms) return;
  const uint8_t command[1] = {static_cast<uint8_t>(s.undecided)};
  s.undecided = -1;
  Say(s, "1-byte frame " + ToHex(ByteView(command)) + " not followed by anything within " +
             std::to_string(kControlFollowUpMs) +
             " ms: vpcd is waiting for an answer, so it is a C-APDU from a client (answered)");
  Answer(s, ByteView(command));
}

void Bridge::Answer(Slot& s, ByteView command) {
  // Named and judged before the card runs it (a SELECT changes who would name the next one).
  // The reference's name (apdu-specs, following selections per channel), then the card's own
  // account of it, which adds the URI of a tree command (never a value or a PIN).
  const std::string what =
      options_.verbose ? s.namer.Name(command).Describe() + " — " + s.card->Describe(command)
                       : std::string();
  const bool withhold =
      s.record.is_open() && !options_.record_secrets && s.card->CarriesSecrets(command);
  const auto start = std::chrono::steady_clock::now();
  s.card->Transmit(command, s.response);
  s.namer.Observe(command, s.response);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  ++s.apdus;
  if (!SendFrame(s, s.response)) {
    Drop(s, "vpcd connection failed while answering; reconnecting", LinkState::kWaiting);
    return;
  }
  const ByteView sent = Framable(s.response);  // what SendFrame wrote
  s.record.Exchange(command, sent, withhold);
  if (options_.verbose) {
    const size_t n = sent.size();
    const std::string sw = n >= 2 ? ToHex(sent.last(2)) : "----";
    std::fprintf(stderr, "[slot %d] %s -> %s%s (%lld us)\n", s.index, what.c_str(), sw.c_str(),
                 n > 2 ? (" +" + std::to_string(n - 2) + " bytes").c_str() : "",
                 static_cast<long long>(us));
  }
}

void Bridge::OnReadable(Slot& s) {
  uint8_t buf[4096];
  ArmQuickAck(s.fd);
  ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
  if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
    Drop(s,
         options_.reverse ? "vpcd disconnected; waiting for it to connect again"
                          : "vpcd closed the connection (pcscd stopped?); card powered off, "
                            "reconnecting",
         LinkState::kWaiting);
    return;
  }
  if (n < 0) return;
  s.in.insert(s.in.end(), buf, buf + n);
  // vpcd sent more without waiting for an answer: the undecided frame was a control message.
  if (s.undecided >= 0) {
    ApplyControl(s, static_cast<uint8_t>(s.undecided));
    s.undecided = -1;
  }
  size_t pos = 0;
  while (s.fd >= 0 && s.in.size() - pos >= 2) {
    const size_t len = ReadU16(&s.in[pos]);
    if (s.in.size() - pos - 2 < len) break;
    const size_t next = pos + 2 + len;
    HandleFrame(s, ByteView(&s.in[pos + 2], len), s.in.size() > next);
    pos = next;
  }
  if (s.fd >= 0) s.in.erase(s.in.begin(), s.in.begin() + static_cast<ptrdiff_t>(pos));
}

bool Bridge::OpenControl() {
  if (options_.control_path.empty()) return true;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (options_.control_path.size() >= sizeof addr.sun_path) {
    std::fprintf(stderr, "dmcard-vicc: control socket path too long: %s\n",
                 options_.control_path.c_str());
    return false;
  }
  std::strcpy(addr.sun_path, options_.control_path.c_str());
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
                 options_.control_path.c_str());
    ::close(fd);
    return false;
  }
  ::close(fd);
  ::unlink(options_.control_path.c_str());
  fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 4) != 0) {
    std::fprintf(stderr, "dmcard-vicc: cannot create control socket %s: %s\n",
                 options_.control_path.c_str(), std::strerror(errno));
    if (fd >= 0) ::close(fd);
    return false;
  }
  ::chmod(options_.control_path.c_str(), 0600);
  control_fd_ = fd;
  return true;
}

void Bridge::OnControlClient(int fd) {
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string line;
  char c;
  while (line.size() < 256 && ::recv(fd, &c, 1, 0) == 1 && c != '\n') line.push_back(c);
  const std::string answer = Control(line);
  WriteAll(fd, reinterpret_cast<const uint8_t*>(answer.data()), answer.size());
  ::close(fd);
}

std::string Bridge::Control(const std::string& line) {
  std::string verb;
  std::string arg;
  const auto sp = line.find(' ');
  verb = line.substr(0, sp);
  if (sp != std::string::npos) arg = line.substr(sp + 1);
  auto state_name = [](LinkState st) {
    return st == LinkState::kConnected ? "inserted"
           : st == LinkState::kWaiting ? "waiting"
                                       : "removed";
  };
  if (verb != "remove" && verb != "insert" && verb != "reset" && verb != "status") {
    return "error: unknown command '" + verb + "' (use remove, insert, reset or status)\n";
  }
  int slot = 0;
  if (!arg.empty()) {
    char* end = nullptr;
    long v = std::strtol(arg.c_str(), &end, 10);
    if (*end != '\0' || v < 0 || v >= static_cast<long>(slots_.size())) {
      return "error: no slot '" + arg + "' (slots 0.." + std::to_string(slots_.size() - 1) + ")\n";
    }
    slot = static_cast<int>(v);
  }
  if (verb == "status") {  // every slot, or the one named
    std::string out;
    for (const Slot& s : slots_) {
      if (!arg.empty() && s.index != slot) continue;
      out += "slot " + std::to_string(s.index) + " " + s.card->kind() + " port " +
             std::to_string(s.port) + " " + state_name(s.state) + " apdus " +
             std::to_string(s.apdus) + "\n";
    }
    return out + "ok\n";
  }
  Slot& s = slots_[static_cast<size_t>(slot)];
  if (verb == "remove") {
    if (s.state == LinkState::kRemoved) return "ok (already removed)\n";
    if (options_.reverse) {
      // Debian's vpcd 0.8 aborts pcscd ("bit out of range 0 - FD_SETSIZE") whenever a reverse
      // connection fails or the card answers GET ATR with nothing, so there is no safe way to
      // appear removed in reverse mode.
      return "error: remove is not available with --reverse (Debian's vpcd 0.8 crashes pcscd "
             "when a reverse-mode card goes away); run without --reverse to test removal\n";
    }
    Drop(s, "card removed (ctl)", LinkState::kRemoved);
    return "ok\n";
  }
  if (verb == "insert") {
    if (s.state != LinkState::kRemoved) return "ok (already inserted)\n";
    s.state = LinkState::kWaiting;
    s.said_waiting = false;
    Say(s, "card inserted (ctl)");
    TryConnect(s, NowMs());
    return "ok\n";
  }
  s.card->Reset();  // "reset"
  s.record.Reset();
  return "ok\n";
}

int Bridge::Run() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal_fd_ = signalfd(-1, &mask, SFD_CLOEXEC);
  if (signal_fd_ < 0) {
    std::perror("dmcard-vicc: signalfd");
    return 1;
  }
  if (!OpenControl()) return 1;
  reader_conf_ = LoadReaderConf(options_.reader_conf_dir);
  for (Slot& s : slots_) {
    // No reader for the port, or readers of the same name: said before anything else.
    const ReaderLookup reader = LookUpReader(reader_conf_, s.port, options_.reverse);
    if (!reader.note.empty()) Say(s, reader.note);
    if (!options_.record_path.empty()) {
      std::string path = options_.record_path;
      if (s.index > 0) path += "." + std::to_string(s.index);
      // The trace is the user's alone (0600, also when the file already existed): it holds
      // everything the clients sent (host/trace.h TraceWriter; docs/trace-format.md).
      std::string error;
      const std::string header = "dmcard trace v1: slot " + std::to_string(s.index) + ", " +
                                 s.card->kind() + " card, port " + std::to_string(s.port);
      if (!s.record.Open(path, header, s.card->atr(), error)) {
        std::fprintf(stderr, "dmcard-vicc: cannot write trace: %s\n", error.c_str());
        return 1;
      }
    }
    if (options_.reverse && !OpenListener(s)) return 1;
  }

  std::vector<pollfd> fds;
  std::vector<int> owner;  // slot index, -1 signal, -2 control, -(3+i) listener of slot i
  for (;;) {
    const uint64_t now = NowMs();
    uint64_t wake = UINT64_MAX;
    fds.clear();
    owner.clear();
    fds.push_back({signal_fd_, POLLIN, 0});
    owner.push_back(-1);
    if (control_fd_ >= 0) {
      fds.push_back({control_fd_, POLLIN, 0});
      owner.push_back(-2);
    }
    for (Slot& s : slots_) {
      if (!options_.reverse && s.state == LinkState::kWaiting) {
        TryConnect(s, now);
        if (s.state == LinkState::kWaiting) wake = std::min(wake, s.next_attempt_ms);
      }
      if (s.undecided >= 0) wake = std::min(wake, s.undecided_until_ms);
      if (s.fd >= 0) {
        fds.push_back({s.fd, POLLIN, 0});
        owner.push_back(s.index);
      } else if (options_.reverse && s.listen_fd >= 0) {
        fds.push_back({s.listen_fd, POLLIN, 0});
        owner.push_back(-3 - s.index);
      }
    }
    const int timeout = wake == UINT64_MAX ? -1 : static_cast<int>(wake > now ? wake - now : 0);
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) {
      std::perror("dmcard-vicc: poll");
      return 1;
    }
    for (size_t i = 0; n > 0 && i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      const int who = owner[i];
      if (who == -1) {
        signalfd_siginfo info{};
        if (::read(signal_fd_, &info, sizeof info) > 0) {
          std::fprintf(stderr, "dmcard-vicc: %s received; cards removed, state saved, bye\n",
                       strsignal(static_cast<int>(info.ssi_signo)));
          for (Slot& s : slots_) {
            if (s.fd >= 0) Drop(s, "", LinkState::kRemoved);
          }
          return 0;
        }
      } else if (who == -2) {
        int c = ::accept4(control_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) OnControlClient(c);
      } else if (who <= -3) {
        AcceptVpcd(slots_[static_cast<size_t>(-3 - who)]);
      } else {
        Slot& s = slots_[static_cast<size_t>(who)];
        if (s.fd == fds[i].fd) OnReadable(s);
      }
    }
    const uint64_t after = NowMs();
    for (Slot& s : slots_) DecideUndecided(s, after);
  }
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
