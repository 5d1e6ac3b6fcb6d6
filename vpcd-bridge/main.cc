// dmcard-vicc: the virtual card behind vsmartcard's vpcd driver, so that pcscd shows it as a
// reader and unmodified PC/SC software talks to it.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bridge.h"
#include "host/demo_card.h"
#include "host/state_dir.h"
#include "runtime/atr.h"

namespace {

constexpr uint16_t kDefaultPort = 35963;  // 0x8C7B, vpcd's default
constexpr int kMaxSlots = 10;             // cards per process

constexpr const char* kUsage =
    R"(dmcard-vicc - the dmcard virtual card behind vsmartcard's vpcd (pcscd)

Usage:
  dmcard-vicc [options]                 run cards until SIGINT/SIGTERM
  dmcard-vicc ctl [--control PATH | --port P] COMMAND [SLOT]
                                        control a running dmcard-vicc

Options:
  --host HOST      where vpcd listens (default localhost)
  --port P         vpcd port of the first card (default 35963); card i uses P+i. Debian's
                   vpcd serves two ports per reader.conf entry: cards 0 and 1 show up as readers
                   "Virtual PCD 00 00" and "Virtual PCD 00 01". dmcard-vicc names each card's
                   reader from the vpcd entries in /etc/reader.conf.d, and says what entry to
                   add when none serves its port
  --reverse        listen on the port(s) and let vpcd connect (vpcd DEVICENAME host:port); on
                   --host's address, loopback by default. A connection from this machine must
                   belong to root (pcscd) or you (see --trust-any-peer); one from another machine
                   cannot be checked
  --trust-any-peer give the card to whatever holds the other end of the vpcd connection. By
                   default, when it is on this machine, it must belong to root (pcscd) or to you:
                   if another user holds vpcd's port (taken before pcscd started, or while it
                   restarts), the connection is closed unanswered, stderr names the holder, and
                   dmcard-vicc retries until pcscd has the port. A vpcd on another machine
                   (--host) cannot be checked
  --slots N        run N demo cards (default 1, at most 10)
  --card SPEC      add a card (repeatable; replaces --slots). SPEC is
                   KIND[,t0][,state=DIR][,profile=FILE] with KIND demo (a DM card made from the
                   built-in demo profile, or from FILE) or null (answers 9000 to everything:
                   a transport latency baseline)
  --profile FILE   make the DM cards from this profile (profiles/README.md) instead of the
                   built-in demo profile; applies to new card images only
  --state DIR      keep card i's persistent memory in DIR/slot<i> (default: RAM only; nothing
                   survives a restart). One process per state directory: a second one on the
                   same directory is refused
  --t0             cards speak T=0 (their ATR offers T=0 only) instead of T=1
  --control PATH   control socket (default dmcard-vicc-<port>.sock in $XDG_RUNTIME_DIR, else
                   /run/dmcard for root or /tmp/dmcard-<uid>, a directory made 0700)
  -v, --verbose    one line per APDU on stderr: command, P1 P2, Lc/Le, SW, microseconds
  --record FILE    write every exchange as a trace (docs/trace-format.md), readable by you only
                   (0600); with several cards card i > 0 writes FILE.i. PIN data (VERIFY, CHANGE
                   REFERENCE DATA, RESET RETRY COUNTER) is written as ** per byte
  --record-secrets with --record: write secret data in clear — PINs, STORE DATA documents, values
                   of secret leaves (the trace then holds them)
  -h, --help       this text;  --version  the version

Environment:
  DMCARD_READER_CONF_DIR  where pcscd's reader entries are read to name the readers (default
                          /etc/reader.conf.d; pcscd itself always reads /etc/reader.conf.d)

Control commands (ctl):
  remove [SLOT]    take the card out: its vpcd connection closes, PC/SC sees the reader empty
  insert [SLOT]    put it back
  reset [SLOT]     warm reset of the card
  status           one line per card
)";

int UsageError(const std::string& what) {
  std::fprintf(stderr, "dmcard-vicc: %s\nRun 'dmcard-vicc --help' for usage.\n", what.c_str());
  return 2;
}

bool ParsePort(const std::string& s, uint16_t& out) {
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 0);
  if (s.empty() || *end != '\0' || v < 1 || v > 65535) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

struct CardSpec {
  std::string kind = "demo";
  bool t0 = false;
  std::string state;
  std::string profile;  // profile file; empty = the built-in demo profile (or --profile)
};

bool ParseCardSpec(const std::string& text, CardSpec& spec, std::string& error) {
  size_t start = 0;
  bool first = true;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string part =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (first) {
      if (part != "demo" && part != "null") {
        error = "unknown card kind '" + part + "' (use demo or null)";
        return false;
      }
      spec.kind = part;
      first = false;
    } else if (part == "t0") {
      spec.t0 = true;
    } else if (part.rfind("state=", 0) == 0 && part.size() > 6) {
      spec.state = part.substr(6);
    } else if (part.rfind("profile=", 0) == 0 && part.size() > 8) {
      spec.profile = part.substr(8);
    } else {
      error = "unknown card option '" + part + "' in '" + text +
              "' (use t0, state=DIR or profile=FILE)";
      return false;
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return true;
}

int RunCtl(const std::vector<std::string>& args) {
  std::string control;
  uint16_t port = kDefaultPort;
  std::vector<std::string> words;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--control" && i + 1 < args.size()) {
      control = args[++i];
    } else if (a == "--port" && i + 1 < args.size()) {
      if (!ParsePort(args[++i], port)) return UsageError("bad port '" + args[i] + "'");
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      return UsageError("unknown ctl option '" + a + "'");
    } else {
      words.push_back(a);
    }
  }
  if (words.empty() || words.size() > 2) {
    return UsageError("ctl needs a command: remove|insert|reset|status [SLOT]");
  }
  if (control.empty()) control = dmcard::vicc::DefaultControlPath(port);
  std::string line = words[0];
  if (words.size() == 2) line += " " + words[1];
  return dmcard::vicc::RunControlClient(control, line);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dmcard;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "ctl") return RunCtl({args.begin() + 1, args.end()});

  vicc::BridgeOptions options;
  uint16_t port = kDefaultPort;
  int slots = 1;
  bool t0 = false;
  std::string state_root;
  std::string profile_path;
  std::vector<CardSpec> cards;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* name) -> const std::string* {
      if (i + 1 >= args.size()) return nullptr;
      (void)name;
      return &args[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("dmcard-vicc 0.1.0\n");
      return 0;
    } else if (a == "--host") {
      const std::string* v = value("--host");
      if (v == nullptr) return UsageError("--host needs a host name");
      options.host = *v;
    } else if (a == "--port") {
      const std::string* v = value("--port");
      if (v == nullptr || !ParsePort(*v, port)) return UsageError("--port needs a port 1..65535");
    } else if (a == "--reverse") {
      options.reverse = true;
    } else if (a == "--trust-any-peer") {
      options.trust_any_peer = true;
    } else if (a == "--slots") {
      const std::string* v = value("--slots");
      char* end = nullptr;
      long n = v == nullptr ? 0 : std::strtol(v->c_str(), &end, 10);
      if (v == nullptr || *end != '\0' || n < 1 || n > kMaxSlots) {
        return UsageError("--slots needs a number from 1 to 10");
      }
      slots = static_cast<int>(n);
    } else if (a == "--card") {
      const std::string* v = value("--card");
      if (v == nullptr) return UsageError("--card needs a spec, e.g. demo or null");
      CardSpec spec;
      std::string error;
      if (!ParseCardSpec(*v, spec, error)) return UsageError(error);
      cards.push_back(spec);
    } else if (a == "--state") {
      const std::string* v = value("--state");
      if (v == nullptr) return UsageError("--state needs a directory");
      state_root = *v;
    } else if (a == "--profile") {
      const std::string* v = value("--profile");
      if (v == nullptr) return UsageError("--profile needs a profile file (profile.json)");
      profile_path = *v;
    } else if (a == "--t0") {
      t0 = true;
    } else if (a == "--control") {
      const std::string* v = value("--control");
      if (v == nullptr) return UsageError("--control needs a socket path");
      options.control_path = *v;
    } else if (a == "-v" || a == "--verbose") {
      options.verbose = true;
    } else if (a == "--record-secrets") {
      options.record_secrets = true;
    } else if (a == "--record") {
      const std::string* v = value("--record");
      if (v == nullptr) return UsageError("--record needs a file name");
      options.record_path = *v;
    } else {
      return UsageError("unknown argument '" + a + "'");
    }
  }
  options.reader_conf_dir = vicc::DefaultReaderConfDir();
  if (cards.empty()) cards.assign(static_cast<size_t>(slots), CardSpec{});
  if (cards.size() > static_cast<size_t>(kMaxSlots)) {
    return UsageError("at most 10 cards");
  }
  if (static_cast<int>(port) + static_cast<int>(cards.size()) - 1 > 65535) {
    return UsageError("ports run past 65535; choose a lower --port");
  }
  if (options.control_path.empty()) {
    if (const std::string why = vicc::PrepareControlDir(vicc::DefaultControlDir()); !why.empty()) {
      std::fprintf(stderr, "dmcard-vicc: %s\n", why.c_str());
      return 1;
    }
    options.control_path = vicc::DefaultControlPath(port);
  }
  // --state DIR holds one folder per card (DIR/slot<i>), never a card itself.
  if (!state_root.empty() && HoldsCard(state_root)) {
    std::fprintf(stderr,
                 "dmcard-vicc: '%s' is one card's state directory (it holds card.img/card.jnl), "
                 "but --state takes the folder that holds slot0, slot1, ... Use --state with its "
                 "parent if it is a slot folder, or --card demo,state=%s for this card alone.\n",
                 state_root.c_str(), state_root.c_str());
    return 1;
  }

  std::vector<vicc::Bridge::SlotSpec> specs;
  std::map<std::string, std::shared_ptr<const Profile>> profiles;  // one copy per file
  for (size_t i = 0; i < cards.size(); ++i) {
    const std::string& file = cards[i].profile.empty() ? profile_path : cards[i].profile;
    std::shared_ptr<const Profile>& profile = profiles[file];
    if (!profile) {
      if (file.empty()) {
        profile = std::make_shared<const Profile>(DemoProfile());
      } else {
        std::string error;
        auto loaded = LoadProfile(file, error);
        if (!loaded) {
          std::fprintf(stderr, "dmcard-vicc: card %zu: %s\n", i, error.c_str());
          return 1;
        }
        profile = std::make_shared<const Profile>(std::move(*loaded));
      }
    }
    CardConfig config = CardConfigFor(*profile);
    if (t0 || cards[i].t0) config.protocol = Protocol::kT0;
    config.max_response_data = 65533;  // vpcd frame: 2-byte length, 65535 bytes = data + SW
    vicc::Bridge::SlotSpec spec;
    spec.port = static_cast<uint16_t>(port + i);
    if (cards[i].kind == "null") {
      spec.card = std::make_unique<vicc::NullCard>(DefaultAtr(config));
    } else {
      std::string dir = cards[i].state;
      if (dir.empty() && !state_root.empty()) dir = state_root + "/slot" + std::to_string(i);
      std::string error;
      if (!file.empty() && !dir.empty() && HoldsCard(dir)) {
        std::fprintf(stderr, "dmcard-vicc: card %zu: %s\n", i,
                     ProfileNotAppliedNotice(file, dir).c_str());
      }
      auto card = vicc::RuntimeCard::Open(profile, config, dir, error);
      if (!card) {
        std::fprintf(stderr, "dmcard-vicc: card %zu: %s\n", i, error.c_str());
        return 1;
      }
      card->set_label("card " + std::to_string(i) + ": ");
      card->PrintNotices();
      spec.card = std::move(card);
    }
    specs.push_back(std::move(spec));
  }
  vicc::Bridge bridge(options, std::move(specs));
  return bridge.Run();
}
