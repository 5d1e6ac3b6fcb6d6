// dmcard-vicc: the virtual card behind vsmartcard's vpcd driver, so that pcscd shows it as a
// reader and unmodified PC/SC software talks to it.
#include <sys/resource.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bridge.h"
#include "control_server.h"
#include "host/demo_card.h"
#include "host/state_dir.h"
#include "host/vicc_control.h"
#include "runtime/atr.h"

namespace {

constexpr uint16_t kDefaultPort = 35963;  // 0x8C7B, vpcd's default
// Cards per process: the scale that is tested (tests/unit/vicc_protocol_test.cc, Vicc_Many) and
// measured (BENCHMARKS.md, "Scale": about 0.1 MB and 1 to 5 descriptors a card). Past the first
// 16 cards one pcscd shows no more (below); the others serve --reverse or other vpcd instances.
constexpr int kMaxSlots = 1000;

constexpr const char* kDescription =
    "dmcard-vicc - the dmcard virtual card behind vsmartcard's vpcd (pcscd)\n\n"
    "Runs cards until SIGINT/SIGTERM; 'dmcard-vicc ctl COMMAND' controls a running one.";

constexpr const char* kFooter = R"(
Ports and readers: card i uses --port + i. Debian's vpcd serves two ports per reader.conf
entry: cards 0 and 1 show up as readers "Virtual PCD 00 00" and "Virtual PCD 00 01".
dmcard-vicc names each card's reader from the vpcd entries in /etc/reader.conf.d, and says what
entry to add when none serves its port.

Many cards: up to 1000 (--slots 1000, ports --port .. --port + 999). One pcscd shows at most
16 readers (pcsc-lite's limit; each vpcd port is one reader), so only 16 of the cards can be
seen through one pcscd; the others are for --reverse clients or vpcd instances on other hosts.
Past the first 16 cards, waiting and listening are said in one line, not per card ('ctl status'
lists every card). Each card needs up to 5 open files (its connection, a listener with
--reverse, 3 with --state, 1 with --record): when they need more than the soft RLIMIT_NOFILE,
it is raised to the hard limit; when that is too low, dmcard-vicc stops at start naming it.

Peers: by default, a vpcd connection on this machine must belong to root (pcscd) or to you: if
another user holds vpcd's port (taken before pcscd started, or while it restarts), the
connection is closed unanswered, stderr names the holder, and dmcard-vicc retries until pcscd
has the port. A vpcd on another machine (--host) cannot be checked.

Cards (--card, repeatable; replaces --slots): KIND[,t0][,state=DIR][,profile=FILE] with KIND
demo (a DM card made from the built-in demo profile, or from FILE) or null (answers 9000 to
everything: a transport latency baseline).

Traces (--record FILE, docs/trace-format.md; 'dmcard run FILE' replays them): readable by you
only (0600); with several cards card i > 0 writes FILE.i. PIN data (VERIFY, CHANGE REFERENCE
DATA, RESET RETRY COUNTER) and every secret the card names is written as ** per byte unless
--record-secrets.

Environment:
  DMCARD_READER_CONF_DIR  where pcscd's reader entries are read to name the readers (default
                          /etc/reader.conf.d; pcscd itself always reads /etc/reader.conf.d)

Control commands (dmcard-vicc ctl [--control PATH | --port P] COMMAND [SLOT]):
  remove [SLOT]    take the card out: its vpcd connection closes, PC/SC sees the reader empty
  insert [SLOT]    put it back
  reset [SLOT]     warm reset of the card
  status           one line per card)";

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

// Every card holds files open: its vpcd connection, a listener with --reverse, its state
// directory, lock and journal with --state (runtime/storage_medium.h), its trace with --record.
// A soft RLIMIT_NOFILE too low for them (Debian's default is 1024) is raised to the hard limit;
// a hard limit too low stops the start here, before any card is made, with an error naming it.
// Empty when there are enough.
std::string EnsureOpenFiles(const std::vector<CardSpec>& cards, bool state, bool reverse,
                            bool record) {
  // stdio, the signalfd, the control socket and a client, the reader entries being read, a
  // connection refused while the card's own is open, a card image being rewritten.
  constexpr rlim_t kProcess = 32;
  rlim_t need = kProcess;
  for (const CardSpec& card : cards) {
    need += reverse ? 2 : 1;
    if (card.kind == "demo" && (state || !card.state.empty())) need += 3;
    if (record) need += 1;
  }
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};  // unknown: a failing card says why
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= need) return {};
  const std::string what = std::to_string(cards.size()) + " cards need about " +
                           std::to_string(need) +
                           " open files (1 per card for its vpcd connection, 1 more with "
                           "--reverse, 3 more with --state, 1 more with --record)";
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < need) {
    return what + ", but RLIMIT_NOFILE allows this process " + std::to_string(limit.rlim_max) +
           " (its hard limit, 'ulimit -Hn'). Raise the hard limit (as root 'ulimit -Hn " +
           std::to_string(need) +
           "' in the shell that starts dmcard-vicc, LimitNOFILE= for a systemd service, or "
           "/etc/security/limits.conf) or run fewer cards";
  }
  limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? need : limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return what + ", but raising RLIMIT_NOFILE's soft limit to " + std::to_string(limit.rlim_cur) +
           " failed: " + std::strerror(errno);
  }
  return {};
}

int RunCtl(const std::string& control_option, uint16_t port,
           const std::vector<std::string>& words) {
  std::string control = control_option;
  if (control.empty()) control = dmcard::vicc::DefaultControlPath(port);
  std::string line = words[0];
  if (words.size() == 2) line += " " + words[1];
  return dmcard::vicc::RunControlClient(control, line);
}

// CLI11 check: a TCP port, decimal or 0x hex.
std::string PortCheck(std::string& text) {
  uint16_t p = 0;
  return ParsePort(text, p) ? "" : "needs a port 1..65535, not '" + text + "'";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dmcard;
  CLI::App app{kDescription, "dmcard-vicc"};
  app.footer(kFooter);
  app.set_version_flag("--version", "dmcard-vicc 0.1.0");
  app.require_subcommand(0, 1);

  vicc::BridgeOptions options;
  std::string port_text = std::to_string(kDefaultPort);
  int slots = 1;
  bool t0 = false;
  std::string state_root;
  std::string profile_path;
  std::vector<std::string> card_texts;
  app.add_option("--host", options.host, "where vpcd listens (default localhost)")
      ->type_name("HOST");
  app.add_option("--port", port_text, "vpcd port of the first card (default 35963)")
      ->type_name("P")
      ->check(CLI::Validator(PortCheck, "PORT"));
  app.add_flag("--reverse", options.reverse,
               "listen on the port(s) and let vpcd connect (vpcd DEVICENAME host:port), on "
               "--host's address, loopback by default");
  app.add_flag("--trust-any-peer", options.trust_any_peer,
               "give the card to whatever holds the other end of the vpcd connection");
  app.add_option("--slots", slots, "run N demo cards (default 1; see Many cards)")
      ->type_name("N")
      ->check(CLI::Range(1, kMaxSlots));
  app.add_option("--card", card_texts, "add a card (see Cards below)")->type_name("SPEC");
  app.add_option("--profile", profile_path,
                 "make the DM cards from this profile (profiles/README.md) instead of the "
                 "built-in demo profile; new card images only")
      ->type_name("FILE");
  app.add_option("--state", state_root,
                 "keep card i's persistent memory in DIR/slot<i> (default: RAM only). One "
                 "process per state directory")
      ->type_name("DIR");
  app.add_flag("--t0", t0, "cards speak T=0 (their ATR offers T=0 only) instead of T=1");
  app.add_option("--control", options.control_path,
                 "control socket (default dmcard-vicc-<port>.sock in $XDG_RUNTIME_DIR, else "
                 "/run/dmcard for root or /tmp/dmcard-<uid>, a directory made 0700)")
      ->type_name("PATH");
  app.add_flag("-v,--verbose", options.verbose,
               "one line per APDU on stderr: the command's name, P1 P2, Lc/Le, SW, microseconds");
  app.add_option("--record", options.record_path, "write every exchange as a trace (see below)")
      ->type_name("FILE");
  app.add_flag("--record-secrets", options.record_secrets,
               "with --record: write secret data in clear (the trace then holds them)");

  CLI::App* ctl = app.add_subcommand("ctl", "control a running dmcard-vicc (see below)");
  std::string ctl_control;
  std::string ctl_port_text = std::to_string(kDefaultPort);
  std::vector<std::string> ctl_words;
  ctl->add_option("--control", ctl_control, "its control socket")->type_name("PATH");
  ctl->add_option("--port", ctl_port_text, "its first vpcd port (names the default socket)")
      ->type_name("P")
      ->check(CLI::Validator(PortCheck, "PORT"));
  ctl->add_option("COMMAND", ctl_words, "remove|insert|reset|status [SLOT]")
      ->required()
      ->expected(1, 2);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return UsageError(e.what());
  }
  uint16_t port = kDefaultPort;
  if (ctl->parsed()) {
    ParsePort(ctl_port_text, port);
    return RunCtl(ctl_control, port, ctl_words);
  }
  ParsePort(port_text, port);
  std::vector<CardSpec> cards;
  for (const std::string& text : card_texts) {
    CardSpec spec;
    std::string error;
    if (!ParseCardSpec(text, spec, error)) return UsageError(error);
    cards.push_back(spec);
  }
  options.reader_conf_dir = vicc::DefaultReaderConfDir();
  if (cards.empty()) cards.assign(static_cast<size_t>(slots), CardSpec{});
  if (cards.size() > static_cast<size_t>(kMaxSlots)) {
    return UsageError("at most " + std::to_string(kMaxSlots) + " cards");
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

  if (const std::string why = EnsureOpenFiles(cards, !state_root.empty(), options.reverse,
                                              !options.record_path.empty());
      !why.empty()) {
    std::fprintf(stderr, "dmcard-vicc: %s\n", why.c_str());
    return 1;
  }

  // Many cards take a moment (new state directories most: each image is written and synced).
  const bool many = cards.size() > static_cast<size_t>(vicc::kReadersOnePcscdShows);
  const auto making = std::chrono::steady_clock::now();
  if (many) std::fprintf(stderr, "dmcard-vicc: making %zu cards\n", cards.size());
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
  if (many) {
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - making;
    std::fprintf(stderr, "dmcard-vicc: %zu cards made in %.1f s\n", cards.size(), took.count());
  }
  vicc::Bridge bridge(options, std::move(specs));
  return bridge.Run();
}
