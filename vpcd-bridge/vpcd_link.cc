// One slot's vpcd connection (vpcd_link.h): connect with backoff, the reverse-mode listener,
// the peer check, socket tuning and the 2-byte-length framing.
#include "vpcd_link.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "host/peer.h"

namespace dmcard::vicc {

namespace {

constexpr uint32_t kFirstBackoffMs = 100;
constexpr uint32_t kMaxBackoffMs = 2000;

// vpcd's length field is 2 bytes (vpcd.c recvFromVICC).
constexpr size_t kMaxFramePayload = 0xFFFF;
// ISO 7816-4 "no precise diagnosis": the answer sent instead of an R-APDU that does not fit.
constexpr uint8_t kNoPreciseDiagnosis[] = {0x6F, 0x00};

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

}  // namespace

ByteView Framable(ByteView payload) {
  return payload.size() <= kMaxFramePayload ? payload : ByteView(kNoPreciseDiagnosis);
}

bool WriteAll(int fd, ByteView bytes) {
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
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

uint64_t NowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

VpcdLink::VpcdLink(LinkOptions options, std::string name)
    : options_(std::move(options)), name_(std::move(name)) {
  frame_.reserve(4096);
}

// Moved only while the bridge builds its slots, before any socket is open; the fds go along so
// that only one of the two closes them.
VpcdLink::VpcdLink(VpcdLink&& other) noexcept
    : options_(std::move(other.options_)),
      name_(std::move(other.name_)),
      state_(other.state_),
      fd_(std::exchange(other.fd_, -1)),
      listen_fd_(std::exchange(other.listen_fd_, -1)),
      frames_(std::move(other.frames_)),
      frame_(std::move(other.frame_)),
      next_attempt_ms_(other.next_attempt_ms_),
      backoff_ms_(other.backoff_ms_),
      said_waiting_(other.said_waiting_),
      said_refused_(std::move(other.said_refused_)),
      said_remote_(other.said_remote_) {}

VpcdLink::~VpcdLink() {
  if (fd_ >= 0) ::close(fd_);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void VpcdLink::Say(const std::string& text) const {
  std::fprintf(stderr, "dmcard-vicc: %s: %s\n", name_.c_str(), text.c_str());
}

std::string VpcdLink::address() const {
  return options_.host + ":" + std::to_string(options_.port);
}

// Whether the new vpcd connection `fd` may have the card: a local peer must be root (pcscd) or
// this user (peer.h). Whoever took vpcd's port first (before pcscd started, or while it
// restarts) would otherwise get the card and every APDU the clients send, PINs included. Who
// was turned away is said once per holder, and the caller keeps waiting for pcscd.
bool VpcdLink::Trusted(int fd, const std::string& where) {
  if (options_.trust_any_peer) return true;
  const PeerVerdict verdict = CheckPeer(fd);
  if (verdict.accept) {
    said_refused_.clear();
    if (!verdict.local && !said_remote_) {
      Say("vpcd at " + verdict.who +
          " is on another machine: dmcard-vicc cannot check who holds the other end");
      said_remote_ = true;
    }
    return true;
  }
  if (verdict.key == said_refused_) return false;
  said_refused_ = verdict.key;
  std::string who = verdict.who;
  if (!who.empty()) {  // scanning every process for the holder is for this message only
    const std::string process = ProcessHoldingSocket(verdict.inode);
    who += process.empty() ? ", process unknown (only root sees other users' processes)"
                           : ", process " + process;
  }
  const std::string off = "; --trust-any-peer turns this check off";
  if (options_.reverse) {
    Say("a vpcd connection" + (who.empty() ? "" : " from " + who) +
        " was closed unanswered, without the card: " + verdict.why +
        ". Still listening for pcscd's vpcd" + off);
  } else if (!who.empty()) {
    Say("vpcd's port " + where + " is held by " + who + ": " + verdict.why +
        ", so the card is not handed to it (connection closed unanswered). Retrying until "
        "pcscd holds the port" +
        off);
  } else {
    Say("the connection to " + where + " was closed unanswered: " + verdict.why +
        ". Retrying until pcscd holds the port" + off);
  }
  return false;
}

void VpcdLink::Connected(int fd) {
  TuneSocket(fd);
  fd_ = fd;
  state_ = LinkState::kConnected;
  frames_.Clear();
}

bool VpcdLink::TryConnect(uint64_t now_ms) {
  if (state_ != LinkState::kWaiting || now_ms < next_attempt_ms_) return false;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(options_.port);
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
      // Likely when vpcd's ports are in the ephemeral range (32768-60999) and many slots retry
      // them; checked before the peer check, which --trust-any-peer skips: the card would
      // otherwise read its own answers as commands.
      if (ConnectedToItself(fd)) {
        failure = "nothing listens: the connection reached itself";
        ::close(fd);
        continue;
      }
      if (!Trusted(fd, address())) {  // closed before a byte is read
        refused = true;
        ::close(fd);
        continue;
      }
      Connected(fd);
      break;
    }
    freeaddrinfo(res);
  }
  if (fd_ >= 0) {
    backoff_ms_ = 0;
    said_waiting_ = false;
    return true;
  }
  if (!said_waiting_ && !refused && options_.say_waiting) {
    Say("vpcd is not reachable at " + address() + " (" + failure +
        "); retrying until it is. Is pcscd running with vsmartcard-vpcd on this port?");
    said_waiting_ = true;
  }
  backoff_ms_ = backoff_ms_ == 0 ? kFirstBackoffMs : std::min(backoff_ms_ * 2, kMaxBackoffMs);
  next_attempt_ms_ = now_ms + backoff_ms_;
  return false;
}

// Reverse mode listens where --host says, loopback by default; a host name is resolved, never
// widened to every interface. Whoever can connect speaks vpcd to the card (docs/vpcd-bridge.md).
bool VpcdLink::Listen() {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(options_.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (options_.host != "localhost" &&
      inet_pton(AF_INET, options_.host.c_str(), &addr.sin_addr) != 1) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(options_.host.c_str(), nullptr, &hints, &found);
    if (rc != 0 || found == nullptr) {
      Say("cannot listen on " + options_.host + ": " + ::gai_strerror(rc) +
          " (give an IPv4 address or a name that resolves to one; default: loopback)");
      return false;
    }
    addr.sin_addr = reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr;
    ::freeaddrinfo(found);
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    Say(std::string("cannot listen on port ") + std::to_string(options_.port) +
        ": no socket: " + std::strerror(errno));
    return false;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1) != 0) {
    Say(std::string("cannot listen on port ") + std::to_string(options_.port) + ": " +
        std::strerror(errno));
    ::close(fd);
    return false;
  }
  listen_fd_ = fd;
  return true;
}

bool VpcdLink::Accept() {
  int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return false;
  if (fd_ >= 0 || state_ == LinkState::kRemoved) {
    ::close(fd);
    return false;
  }
  if (!Trusted(fd, "")) {  // closed before a byte is read
    ::close(fd);
    return false;
  }
  Connected(fd);
  return true;
}

VpcdLink::Received VpcdLink::Receive() {
  uint8_t buf[4096];
  ArmQuickAck(fd_);
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return Received::kClosed;
  if (n < 0) return Received::kNothing;
  frames_.Feed(ByteView(buf, static_cast<size_t>(n)));
  return Received::kData;
}

bool VpcdLink::NextFrame(ByteView& payload, bool& more_received) {
  if (fd_ < 0) return false;
  return frames_.Next(payload, more_received);
}

bool VpcdFrameReader::Next(ByteView& payload, bool& more_received) {
  if (in_.size() - read_ >= 2) {
    const size_t len = ReadU16(&in_[read_]);
    if (in_.size() - read_ - 2 >= len) {
      payload = ByteView(&in_[read_ + 2], len);
      read_ += 2 + len;
      more_received = in_.size() > read_;
      return true;
    }
  }
  // The frames handed out are done with: only a partial frame stays.
  in_.erase(in_.begin(), in_.begin() + static_cast<ptrdiff_t>(read_));
  read_ = 0;
  return false;
}

bool VpcdLink::SendFrame(ByteView answer) {
  const ByteView payload = Framable(answer);
  if (payload.size() != answer.size()) {
    Say("an answer of " + std::to_string(answer.size()) +
        " bytes does not fit a vpcd frame (at most 65535): sent 6F00 instead");
  }
  frame_.resize(2 + payload.size());
  frame_[0] = static_cast<uint8_t>(payload.size() >> 8);
  frame_[1] = static_cast<uint8_t>(payload.size());
  std::memcpy(frame_.data() + 2, payload.data(), payload.size());
  return WriteAll(fd_, frame_);  // one system call per frame
}

// Reverse mode keeps listening while removed: Debian's vpcd 0.8 aborts pcscd when its
// connection attempt finds no listener. Accept turns vpcd away instead.
void VpcdLink::Close(LinkState next) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  frames_.Clear();
  state_ = next;
  backoff_ms_ = 0;
  next_attempt_ms_ = 0;
}

void VpcdLink::Reinsert() {
  state_ = LinkState::kWaiting;
  said_waiting_ = false;
}

}  // namespace dmcard::vicc
