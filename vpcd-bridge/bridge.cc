// dmcard-vicc's engine (bridge.h): what vpcd's frames mean, the card's answers, and the poll()
// loop over the signals, the control socket and every slot's vpcd link.
#include "bridge.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "runtime/apdu_text.h"

namespace dmcard::vicc {

namespace {

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

std::string SlotName(int index, const VirtualCard& card, uint16_t port) {
  return "slot " + std::to_string(index) + " (" + card.kind() + " card, port " +
         std::to_string(port) + ")";
}

}  // namespace

Bridge::Bridge(BridgeOptions options, std::vector<SlotSpec> slots) : options_(std::move(options)) {
  slots_.reserve(slots.size());
  for (size_t i = 0; i < slots.size(); ++i) {
    const int index = static_cast<int>(i);
    const LinkOptions link{options_.host, slots[i].port, options_.reverse, options_.trust_any_peer,
                           index < kReadersOnePcscdShows};
    std::string name = SlotName(index, *slots[i].card, slots[i].port);
    slots_.emplace_back(index, slots[i].port, std::move(slots[i].card),
                        VpcdLink(link, std::move(name)));
    slots_.back().response.reserve(4096);
  }
}

Bridge::~Bridge() {
  if (signal_fd_ >= 0) ::close(signal_fd_);
}

// The reader PC/SC shows for the slot's port, from pcscd's reader entries (reader_conf.h).
std::string Bridge::ReaderName(const Slot& s) const {
  const ReaderLookup reader = LookUpReader(reader_conf_, s.port, options_.reverse);
  if (reader.name) return "reader \"" + *reader.name + "\"";
  return "reader name unknown: no vpcd reader in " + reader_conf_.dir + " serves this port";
}

// Before the loop: what is wrong with the slot's reader entry, its trace, and in reverse mode
// its listener. False when the bridge cannot run.
bool Bridge::Start(Slot& s) {
  // Only the first cards can be one pcscd's readers: they are said one by one, the others in
  // one line (SayTheOthers).
  const bool said = s.index < kReadersOnePcscdShows;
  // No reader for the port, or readers of the same name: said before anything else.
  const ReaderLookup reader = LookUpReader(reader_conf_, s.port, options_.reverse);
  if (said && !reader.note.empty()) Say(s, reader.note);
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
      return false;
    }
  }
  if (!options_.reverse) return true;
  if (!s.link.Listen()) return false;
  if (said) {
    Say(s, "listening for vpcd on port " + std::to_string(s.port) + " (reverse mode) — " +
               ReaderName(s));
  }
  return true;
}

// After Start: the cards past the first kReadersOnePcscdShows, in one line.
void Bridge::SayTheOthers() const {
  if (slots_.size() <= static_cast<size_t>(kReadersOnePcscdShows)) return;
  const Slot& first = slots_[kReadersOnePcscdShows];
  const Slot& last = slots_.back();
  std::fprintf(
      stderr,
      "dmcard-vicc: slots %d..%d (ports %u..%u): %s, not said card by card. One pcscd "
      "shows at most %d readers: these cards are for more vpcd instances (another "
      "pcscd, another host)%s. Each says when vpcd connects or goes; 'dmcard-vicc ctl "
      "status' lists every card\n",
      first.index, last.index, static_cast<unsigned>(first.port), static_cast<unsigned>(last.port),
      options_.reverse
          ? "listening for vpcd likewise (reverse mode)"
          : ("connecting to vpcd at " + options_.host + " likewise, retrying until it listens")
                .c_str(),
      kReadersOnePcscdShows, options_.reverse ? " or other clients" : " or --reverse");
}

void Bridge::Connect(Slot& s, uint64_t now_ms) {
  if (!s.link.TryConnect(now_ms)) return;
  OnConnected(s);
  Say(s, "connected to vpcd at " + s.link.address() + " — " + ReaderName(s));
}

void Bridge::Accept(Slot& s) {
  if (!s.link.Accept()) return;
  OnConnected(s);
  Say(s, "vpcd connected");
}

void Bridge::OnConnected(Slot& s) {
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
  s.link.Close(next);
  s.undecided = -1;
  // Losing the reader is losing power: transient state and selections are gone.
  s.card->PowerOff();
  s.namer.Reset();
  s.record.PowerOff();
  if (!why.empty()) Say(s, why);
}

void Bridge::OnReadable(Slot& s) {
  const VpcdLink::Received received = s.link.Receive();
  if (received == VpcdLink::Received::kClosed) {
    Drop(s,
         options_.reverse ? "vpcd disconnected; waiting for it to connect again"
                          : "vpcd closed the connection (pcscd stopped?); card powered off, "
                            "reconnecting",
         LinkState::kWaiting);
    return;
  }
  if (received == VpcdLink::Received::kNothing) return;
  // vpcd sent more without waiting for an answer: the undecided frame was a control message.
  if (s.undecided >= 0) {
    ApplyControl(s, static_cast<uint8_t>(s.undecided));
    s.undecided = -1;
  }
  ByteView payload;
  bool more_received = false;
  while (s.link.NextFrame(payload, more_received)) HandleFrame(s, payload, more_received);
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
      if (!s.link.SendFrame(s.card->atr()))
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
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  if (options_.verbose) s.namer.Observe(command, s.response);  // -v only: off the APDU path
  ++s.apdus;
  if (!s.link.SendFrame(s.response)) {
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

SlotStatus Bridge::Status(int slot) const {
  const Slot& s = slots_[static_cast<size_t>(slot)];
  const LinkState st = s.link.state();
  return {.kind = s.card->kind(),
          .port = s.port,
          .state = st == LinkState::kConnected ? "inserted"
                   : st == LinkState::kWaiting ? "waiting"
                                               : "removed",
          .apdus = s.apdus};
}

ControlTarget::Outcome Bridge::Remove(int slot) {
  Slot& s = slots_[static_cast<size_t>(slot)];
  if (s.link.state() == LinkState::kRemoved) return Outcome::kAlready;
  // Debian's vpcd 0.8 aborts pcscd ("bit out of range 0 - FD_SETSIZE") whenever a reverse
  // connection fails or the card answers GET ATR with nothing, so there is no safe way to
  // appear removed in reverse mode.
  if (options_.reverse) return Outcome::kNotWhenReverse;
  Drop(s, "card removed (ctl)", LinkState::kRemoved);
  return Outcome::kDone;
}

ControlTarget::Outcome Bridge::Insert(int slot) {
  Slot& s = slots_[static_cast<size_t>(slot)];
  if (s.link.state() != LinkState::kRemoved) return Outcome::kAlready;
  s.link.Reinsert();
  Say(s, "card inserted (ctl)");
  Connect(s, NowMs());
  return Outcome::kDone;
}

void Bridge::Reset(int slot) {
  Slot& s = slots_[static_cast<size_t>(slot)];
  s.card->Reset();
  s.record.Reset();
}

// SIGINT and SIGTERM arrive as reads on signal_fd_, in the loop, so that the cards are
// powered off and their state saved before the process ends.
bool Bridge::OpenSignals() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal_fd_ = signalfd(-1, &mask, SFD_CLOEXEC);
  if (signal_fd_ < 0) {
    std::perror("dmcard-vicc: signalfd");
    return false;
  }
  return true;
}

// A signal was readable: -1 when there was none after all, else the exit code (0).
int Bridge::Stop() {
  signalfd_siginfo info{};
  if (::read(signal_fd_, &info, sizeof info) <= 0) return -1;
  std::fprintf(stderr, "dmcard-vicc: %s received; cards removed, state saved, bye\n",
               strsignal(static_cast<int>(info.ssi_signo)));
  for (Slot& s : slots_) {
    if (s.link.fd() >= 0) Drop(s, "", LinkState::kRemoved);
  }
  return 0;
}

int Bridge::Run() {
  if (!OpenSignals()) return 1;
  if (!control_.Open(options_.control_path)) return 1;
  reader_conf_ = LoadReaderConf(options_.reader_conf_dir);
  for (Slot& s : slots_) {
    if (!Start(s)) return 1;
  }
  SayTheOthers();

  // What each polled descriptor is.
  enum class Source { kSignal, kControl, kListener, kLink };
  struct Watched {
    Source source;
    Slot* slot;
  };
  std::vector<pollfd> fds;
  std::vector<Watched> watched;  // watched[i] is fds[i]'s
  for (;;) {
    const uint64_t now = NowMs();
    uint64_t wake = UINT64_MAX;
    fds.clear();
    watched.clear();
    fds.push_back({signal_fd_, POLLIN, 0});
    watched.push_back({Source::kSignal, nullptr});
    if (control_.fd() >= 0) {
      fds.push_back({control_.fd(), POLLIN, 0});
      watched.push_back({Source::kControl, nullptr});
    }
    for (Slot& s : slots_) {
      if (!options_.reverse && s.link.state() == LinkState::kWaiting) {
        Connect(s, now);
        if (s.link.state() == LinkState::kWaiting) wake = std::min(wake, s.link.next_attempt_ms());
      }
      if (s.undecided >= 0) wake = std::min(wake, s.undecided_until_ms);
      if (s.link.fd() >= 0) {
        fds.push_back({s.link.fd(), POLLIN, 0});
        watched.push_back({Source::kLink, &s});
      } else if (options_.reverse && s.link.listen_fd() >= 0) {
        fds.push_back({s.link.listen_fd(), POLLIN, 0});
        watched.push_back({Source::kListener, &s});
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
      Slot* s = watched[i].slot;
      switch (watched[i].source) {
        case Source::kSignal:
          if (const int code = Stop(); code >= 0) return code;
          break;
        case Source::kControl:
          control_.OnClient(*this);
          break;
        case Source::kListener:
          Accept(*s);
          break;
        case Source::kLink:
          // An earlier descriptor's work may have closed or replaced this connection (ctl).
          if (s->link.fd() == fds[i].fd) OnReadable(*s);
          break;
      }
    }
    const uint64_t after = NowMs();
    for (Slot& s : slots_) DecideUndecided(s, after);
  }
}

}  // namespace dmcard::vicc
