#include "shell.h"

#include <editline/readline.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "card_access.h"
#include "dm_commands.h"
#include "host/direct_reader.h"
#include "host/dms.h"
#include "runtime/bytes.h"

namespace dmcard::cli {

namespace {

constexpr const char* kHelp = R"(Lines:
  00 A4 04 00 0A F0444D434152442D444D 00   an APDU in hex (spaces allowed); 61xx and 6Cxx are
                                           followed automatically (GET RESPONSE, Le)
  select dm|fs|isd|pkcs15|AID   SELECT an applet by AID on the basic channel
  verify PIN                    VERIFY the user PIN (reference 01)
  get URI                       a DM tree leaf's value, or an interior node's children (the
                                DM applet selected: 'select dm')
  tree [URI]                    the DM tree under URI (default '.'); selects the DM applet
  atr | reset | off | on        show the ATR, warm reset, power off, power on
  remove | insert               take the card out and put it back
  stats                         persistent memory usage (in-process card)
  help | quit                   '#' starts a comment
)";

const std::map<std::string, std::string> kAids = {
    {"dm", "F0444D434152442D444D"},
    {"fs", "F0444D434152444653"},
    {"isd", "A000000151000000"},
    {"pkcs15", "A000000063504B43532D3135"},
};

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

class Shell {
 public:
  explicit Shell(Reader& reader) : reader_(reader) {}

  // False when the line was not understood.
  bool Line(const std::string& raw, bool& quit) {
    std::string line = raw;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    line = Trim(line);
    if (line.empty()) return true;
    std::istringstream words(line);
    std::string verb;
    words >> verb;
    std::string arg;
    std::getline(words, arg);
    arg = Trim(arg);
    if (verb == "quit" || verb == "exit") {
      quit = true;
      return true;
    }
    if (verb == "help") {
      std::fputs(kHelp, stdout);
      return true;
    }
    if (verb == "select") return Select(arg);
    if (verb == "verify") return Verify(arg);
    if (verb == "get") return Get(arg);
    if (verb == "tree") return Tree(arg.empty() ? "." : arg);
    if (verb == "atr" || verb == "reset" || verb == "on" || verb == "insert") return Power(verb);
    if (verb == "off" || verb == "remove") return Power(verb);
    if (verb == "stats") return Stats();
    if (auto apdu = FromHex(line)) return Send(*apdu);
    std::printf("error: '%s' is neither hex nor a shell command (try 'help')\n", line.c_str());
    return false;
  }

 private:
  bool Send(const Bytes& apdu, bool withhold = false) {
    if (apdu.size() < 4) {
      std::printf("error: an APDU has at least 4 bytes (CLA INS P1 P2), this has %zu\n",
                  apdu.size());
      return false;
    }
    PrintedExchange(reader_, namer_, apdu, withhold);
    return true;
  }

  bool Select(const std::string& what) {
    std::string aid = what;
    if (auto it = kAids.find(what); it != kAids.end()) aid = it->second;
    auto bytes = FromHex(aid);
    if (what.empty() || !bytes || bytes->empty() || bytes->size() > 16) {
      std::printf("error: select needs dm, fs, isd, pkcs15 or an AID in hex (5-16 bytes)\n");
      return false;
    }
    Bytes apdu{0x00, 0xA4, 0x04, 0x00, static_cast<uint8_t>(bytes->size())};
    apdu.insert(apdu.end(), bytes->begin(), bytes->end());
    apdu.push_back(0x00);
    return Send(apdu);
  }

  bool Verify(const std::string& pin) {
    if (pin.empty() || pin.size() > 16) {
      std::printf("error: verify needs the PIN, e.g. 'verify 1234'\n");
      return false;
    }
    Bytes apdu{0x00, 0x20, 0x00, 0x01, static_cast<uint8_t>(pin.size())};
    apdu.insert(apdu.end(), pin.begin(), pin.end());
    return Send(apdu, /*withhold=*/true);  // shown as traces show it: "**" per byte
  }

  bool Get(const std::string& uri) {
    std::string error;
    if (!DmsGetValue(uri, error)) {
      std::printf("error: %s\n", error.c_str());
      return false;
    }
    PrintValues(*DmSession::Attach(reader_), {uri});
    return true;
  }

  bool Tree(const std::string& uri) {
    std::string error;
    auto session = DmSession::OpenPlain(reader_, error);
    namer_.Reset();  // the session SELECTed the DM applet on the basic channel
    namer_.Observe(Bytes{0x00, 0xA4, 0x04, 0x00, 0x0A, 0xF0, 0x44, 0x4D, 0x43, 0x41, 0x52, 0x44,
                         0x2D, 0x44, 0x4D, 0x00},
                   Bytes{0x90, 0x00});
    if (!session) {
      std::printf("error: %s\n", error.c_str());
      return true;
    }
    PrintTree(*session, uri);
    return true;
  }

  bool Power(const std::string& verb) {
    Bytes atr;
    std::string error;
    bool ok = true;
    if (verb == "atr") {
      ok = reader_.Connect(atr, error);
    } else if (verb == "reset") {
      ok = reader_.Reset(atr, error);
    } else if (verb == "on") {
      ok = reader_.PowerOn(atr, error);
    } else if (verb == "insert") {
      ok = reader_.Insert(atr, error);
    } else if (verb == "off") {
      ok = reader_.PowerOff(error);
    } else {
      ok = reader_.Remove(error);
    }
    if (!ok) {
      std::printf("error: %s\n", error.c_str());
      return true;
    }
    namer_.Reset();
    if (verb == "off") {
      std::printf("powered off\n");
    } else if (verb == "remove") {
      std::printf("card removed\n");
    } else {
      std::printf("ATR: %s\n", ToHex(atr, ' ').c_str());
    }
    return true;
  }

  bool Stats() {
    auto* direct = dynamic_cast<DirectReader*>(&reader_);
    if (direct == nullptr) {
      std::printf("error: stats needs the in-process card (--direct)\n");
      return false;
    }
    const StoreStats s = direct->card().card().store().stats();
    std::printf("persistent memory: %u of %u bytes used in %u records; %llu commits, %llu writes\n",
                s.used, s.capacity, s.records, static_cast<unsigned long long>(s.commits),
                static_cast<unsigned long long>(s.physical_writes));
    return true;
  }

  Reader& reader_;
  CommandNamer namer_;
};

// Whether a line may go into the history file: never one that can carry a PIN, a key or a secret
// leaf — `verify`, and APDUs of the PIN commands (20, 21, 24, 2C), STORE DATA (E2), tree ADD and
// REPLACE (32, 34), credentials (3C) and VERIFY BOOTSTRAP (42, a typed PIN).
bool Rememberable(const std::string& line) {
  const std::string text = Trim(line);
  if (text.rfind("verify", 0) == 0) return false;
  auto apdu = FromHex(text);
  if (!apdu || apdu->size() < 2) return true;
  switch ((*apdu)[1]) {
    case 0x20:
    case 0x21:
    case 0x24:
    case 0x2C:
    case 0xE2:
    case 0x32:
    case 0x34:
    case 0x3C:
    case 0x42:
      return false;
    default:
      return true;
  }
}

std::string HistoryFile() {
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return "";
  return std::string(home) + "/.dmcard_history";
}

}  // namespace

int RunShell(Reader& reader) {
  Shell shell(reader);
  Bytes atr;
  std::string error;
  if (!reader.Connect(atr, error)) {
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return kExitFailed;
  }
  std::printf("%s\nATR: %s\n", reader.name().c_str(), ToHex(atr, ' ').c_str());
  int errors = 0;
  bool quit = false;
  if (::isatty(STDIN_FILENO) != 0) {
    std::printf("'help' lists the commands; Ctrl-D or 'quit' ends.\n");
    const std::string history = HistoryFile();
    using_history();
    if (!history.empty()) read_history(history.c_str());
    while (!quit) {
      char* line = readline("dmcard> ");
      if (line == nullptr) break;
      const std::string text(line);
      std::free(line);
      if (!Trim(text).empty() && Rememberable(text)) add_history(text.c_str());
      if (!shell.Line(text, quit)) ++errors;
      std::fflush(stdout);
    }
    if (!history.empty()) {
      write_history(history.c_str());
      ::chmod(history.c_str(), 0600);  // the user's alone, like the state directories
    }
    return kExitOk;
  }
  std::string line;
  while (!quit && std::getline(std::cin, line)) {
    if (!shell.Line(line, quit)) ++errors;
    std::fflush(stdout);
  }
  return errors == 0 ? kExitOk : kExitFailed;
}

}  // namespace dmcard::cli
