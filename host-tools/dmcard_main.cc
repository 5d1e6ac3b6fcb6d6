// dmcard: the host-side command-line tool. For now it runs the demo card in-process
// (`demo`, `shell`); the trace runner, personalization and PC/SC transport come later.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "host/demo_card.h"
#include "host/hosted_card.h"
#include "host/state_dir.h"
#include "runtime/sw_text.h"

namespace dmcard {
namespace {

constexpr const char* kUsage = R"(dmcard - virtual OMA DM smart card tool

Usage:
  dmcard demo  [--state DIR] [--profile FILE] [--t0]
                                      start a card in-process and show a short session
  dmcard shell [--state DIR] [--profile FILE] [--t0]
                                      send APDUs to an in-process card: one hex APDU per
                                      line on standard input
  dmcard --help                       this text
  dmcard --version                    version

Options:
  --state DIR   keep the card's persistent memory in DIR (card.img + card.jnl); created if
                missing. Without it the card lives in RAM and forgets everything on exit.
                One process per directory: dmcard-vicc's card 0 is DIR/slot0 of its --state
                (.state/demo/slot0 for scripts/run.sh), usable here while dmcard-vicc is stopped.
  --profile FILE  make the card from this profile (profiles/README.md) instead of the
                built-in demo profile (a new card image only; an existing --state keeps its card).
  --t0          speak T=0 (61xx/GET RESPONSE for case 4, 6Cxx for a wrong Le) instead of T=1.

Shell lines:
  00A4040009F0444D434152444653   an APDU in hex (spaces allowed)
  atr | reset | off | on         power: show ATR, warm reset, power off, power on
  stats                          persistent memory usage
  help | quit                    '#' starts a comment
)";

struct Options {
  std::string command;
  std::string state_dir;
  std::string profile;
  bool t0 = false;
};

int UsageError(const std::string& what) {
  std::fprintf(stderr, "dmcard: %s\nRun 'dmcard --help' for usage.\n", what.c_str());
  return 2;
}

std::string FormatResponse(const Bytes& r) {
  if (r.size() < 2) return "(no answer)";
  const uint16_t sw = static_cast<uint16_t>((r[r.size() - 2] << 8) | r[r.size() - 1]);
  std::string s;
  if (r.size() > 2) s = ToHex(ByteView(r).first(r.size() - 2), ' ') + "  ";
  char swbuf[8];
  std::snprintf(swbuf, sizeof swbuf, "%04X", sw);
  return s + swbuf + " (" + DescribeSw(sw) + ")";
}

void PrintStats(HostedCard& card) {
  const StoreStats s = card.card().store().stats();
  std::printf("persistent memory: %u of %u bytes used in %u records; %llu commits, %llu writes\n",
              s.used, s.capacity, s.records, static_cast<unsigned long long>(s.commits),
              static_cast<unsigned long long>(s.physical_writes));
}

// What the card has to say (a repaired torn write, a memory failure), on standard error.
void PrintNotices(HostedCard& card) {
  std::fflush(stdout);
  for (const std::string& n : card.TakeNotices()) std::fprintf(stderr, "dmcard: %s\n", n.c_str());
}

std::unique_ptr<HostedCard> OpenCard(const Options& opt) {
  std::string error;
  auto profile = std::make_shared<Profile>(DemoProfile());
  if (!opt.profile.empty()) {
    auto loaded = LoadProfile(opt.profile, error);
    if (!loaded) {
      std::fprintf(stderr, "dmcard: %s\n", error.c_str());
      return nullptr;
    }
    *profile = std::move(*loaded);
  }
  CardConfig config = CardConfigFor(*profile);
  if (opt.t0) config.protocol = Protocol::kT0;
  if (!opt.profile.empty() && !opt.state_dir.empty() && HoldsCard(opt.state_dir)) {
    std::fprintf(stderr, "dmcard: %s\n",
                 ProfileNotAppliedNotice(opt.profile, opt.state_dir).c_str());
  }
  auto card = HostedCard::Open(std::move(profile), config, opt.state_dir, error);
  if (!card) {
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return nullptr;
  }
  PrintNotices(*card);
  return card;
}

bool Exchange(HostedCard& card, const Bytes& apdu) {
  std::printf("> %s\n", ToHex(apdu, ' ').c_str());
  Bytes r;
  if (!card.Transmit(apdu, r)) {
    std::printf("< (no answer: card is powered off; 'on' powers it)\n");
    return false;
  }
  std::printf("< %s\n", FormatResponse(r).c_str());
  PrintNotices(card);
  return true;
}

int RunDemo(const Options& opt) {
  auto card = OpenCard(opt);
  if (!card) return 1;
  std::printf("dmcard card (in-process; 'bash scripts/run.sh' puts it behind PC/SC)\n");
  std::printf("ATR: %s\n\n", ToHex(card->PowerOn(), ' ').c_str());
  const std::pair<const char*, const char*> steps[] = {
      {"SELECT the file system applet by AID", "00 A4 04 00 09 F0444D434152444653 00"},
      {"SELECT EF 5001 by path 5000/5001, FCP", "00 A4 08 04 04 5000 5001 00"},
      {"READ BINARY 16 bytes at offset 0", "00 B0 00 00 10"},
      {"UPDATE BINARY on EF 5002 (needs PIN 01)", "00 D6 82 00 04 CAFEBABE"},
      {"VERIFY PIN 01 with \"1234\"", "00 20 00 01 04 31323334"},
      {"UPDATE BINARY on EF 5002 again", "00 D6 82 00 04 CAFEBABE"},
      {"READ BINARY EF 5002 (SFI 2), 8 bytes", "00 B0 82 00 08"},
      {"SELECT the MF, no response data", "00 A4 00 0C 02 3F00"},
      {"READ RECORD 1 of EF.DIR (SFI 30)", "00 B2 01 F4 00"},
      {"MANAGE CHANNEL open", "00 70 00 00 01"},
      {"on channel 1: SELECT the OMA DM applet (descriptor: generation, digest, flags)",
       "01 A4 04 00 0A F0444D434152442D444D 00"},
      {"GET the child names of ./DMAcc", "81 30 02 00 07 2E2F444D416363 00"},
      {"GET ./DMAcc/DMCardTest/ServerID",
       "81 30 00 00 1B 2E2F444D4163632F444D43617264546573742F5365727665724944 00"},
      {"GET a secret (AAuthSecret): refused to everyone",
       "81 30 00 00 2E "
       "2E2F444D4163632F444D43617264546573742F417070417574682F537276437265642F414175746853656372657"
       "4 00"},
      {"on the basic channel: READ BINARY of EF(DM_Bootstrap) in the PKCS#15 application",
       "00 A4 08 0C 04 5015 4402"},
      {"(first 64 bytes of the TNDS bootstrap document)", "00 B0 00 00 40"},
  };
  for (const auto& [what, hex] : steps) {
    std::printf("# %s\n", what);
    if (!Exchange(*card, *FromHex(hex))) return 1;
  }
  std::printf("\n");
  PrintStats(*card);
  std::printf("\nNext: 'dmcard shell' to send your own APDUs (see 'dmcard --help').\n");
  return 0;
}

int RunShell(const Options& opt) {
  auto card = OpenCard(opt);
  if (!card) return 1;
  std::printf("ATR: %s\n", ToHex(card->PowerOn(), ' ').c_str());
  std::string line;
  int errors = 0;
  while (std::getline(std::cin, line)) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    const std::string word = line.substr(b, line.find_last_not_of(" \t\r") - b + 1);
    if (word == "quit" || word == "exit") break;
    if (word == "help") {
      std::fputs(kUsage, stdout);
    } else if (word == "atr") {
      std::printf("ATR: %s\n", ToHex(card->atr(), ' ').c_str());
    } else if (word == "reset") {
      std::printf("ATR: %s\n", ToHex(card->Reset(), ' ').c_str());
    } else if (word == "off") {
      card->PowerOff();
      std::printf("powered off\n");
    } else if (word == "on") {
      std::printf("ATR: %s\n", ToHex(card->PowerOn(), ' ').c_str());
    } else if (word == "stats") {
      PrintStats(*card);
    } else if (auto apdu = FromHex(word)) {
      Exchange(*card, *apdu);
    } else {
      std::printf("error: '%s' is neither hex nor a shell command (try 'help')\n", word.c_str());
      ++errors;
    }
    std::fflush(stdout);
  }
  return errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace dmcard

int main(int argc, char** argv) {
  using namespace dmcard;
  Options opt;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h" || a == "help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--version") {
      std::printf("dmcard 0.1.0\n");
      return 0;
    }
    if (a == "--state") {
      if (i + 1 >= args.size()) return UsageError("--state needs a directory");
      opt.state_dir = args[++i];
    } else if (a.rfind("--state=", 0) == 0) {
      opt.state_dir = a.substr(8);
    } else if (a == "--profile") {
      if (i + 1 >= args.size()) return UsageError("--profile needs a profile file");
      opt.profile = args[++i];
    } else if (a == "--t0") {
      opt.t0 = true;
    } else if (!a.empty() && a[0] == '-') {
      return UsageError("unknown option '" + a + "'");
    } else if (opt.command.empty()) {
      opt.command = a;
    } else {
      return UsageError("unexpected argument '" + a + "'");
    }
  }
  if (opt.command.empty()) return UsageError("no command given (demo or shell)");
  if (opt.command == "demo") return RunDemo(opt);
  if (opt.command == "shell") return RunShell(opt);
  return UsageError("unknown command '" + opt.command + "'");
}
