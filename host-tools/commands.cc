#include "commands.h"

#include <cstdio>
#include <filesystem>
#include <system_error>

#include "host/pcsc_reader.h"
#include "host/state_check.h"
#include "host/state_dir.h"
#include "runtime/bytes.h"

namespace dmcard::cli {

int RunReaders() {
  std::string error;
  auto names = ListPcscReaders(error);
  if (!names) {
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return kExitFailed;
  }
  if (names->empty()) {
    std::printf("no PC/SC readers (start a card with scripts/run.sh, or use --direct)\n");
    return kExitOk;
  }
  for (size_t i = 0; i < names->size(); ++i) {
    const std::string& name = (*names)[i];
    std::string card = "no card";
    if (auto reader = PcscReader::Open(name, false, error)) {
      Bytes atr;
      if (reader->Connect(atr, error)) card = reader->protocol() + "  ATR " + ToHex(atr, ' ');
    }
    std::printf("%zu  %s\n   %s\n", i, name.c_str(), card.c_str());
  }
  return kExitOk;
}

int RunSend(const CardOptions& options, const std::vector<std::string>& apdus) {
  std::vector<Bytes> commands;
  for (const std::string& hex : apdus) {
    auto bytes = FromHex(hex);
    if (!bytes || bytes->size() < 4) {
      std::fprintf(stderr,
                   "dmcard: '%s' is not an APDU: give CLA INS P1 P2 [Lc data] [Le] in hex, one "
                   "argument per APDU (quote it when it has spaces)\n",
                   hex.c_str());
      return kExitUsage;
    }
    commands.push_back(std::move(*bytes));
  }
  Bytes atr;
  auto reader = OpenConnected(options, /*direct_by_default=*/false, atr);
  if (!reader) return kExitFailed;
  CommandNamer namer;
  for (const Bytes& c : commands) {
    if (!PrintedExchange(*reader, namer, c)) return kExitFailed;
  }
  return kExitOk;
}

int RunDemo(const CardOptions& options) {
  Bytes atr;
  auto reader = OpenConnected(options, /*direct_by_default=*/true, atr);
  if (!reader) return kExitFailed;
  std::printf("dmcard card: %s ('bash scripts/run.sh' puts it behind PC/SC)\n",
              reader->name().c_str());
  std::printf("ATR: %s\n\n", ToHex(atr, ' ').c_str());
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
      {"(first 64 bytes of the DM bootstrap message: SyncML DM WBXML)", "00 B0 00 00 40"},
  };
  CommandNamer namer;
  for (const auto& [what, hex] : steps) {
    std::printf("# %s\n", what);
    if (!PrintedExchange(*reader, namer, *FromHex(hex))) return kExitFailed;
  }
  std::printf("\nNext: 'dmcard --direct shell' to send your own APDUs (see 'dmcard --help').\n");
  return kExitOk;
}

int RunCheck(const std::string& state_dir) {
  namespace fs = std::filesystem;
  if (state_dir.empty()) {
    std::fprintf(stderr,
                 "dmcard: check needs the state directory: dmcard check --state DIR (a card's "
                 "directory, or dmcard-vicc's --state folder of slot folders)\n");
    return kExitUsage;
  }
  std::error_code ec;
  if (!fs::is_directory(state_dir, ec)) {
    std::fprintf(stderr, "dmcard: %s is not a directory: name the --state directory of a card\n",
                 state_dir.c_str());
    return kExitUsage;
  }
  // dmcard-vicc --state DIR keeps card i in DIR/slot<i>: check each.
  std::vector<fs::path> dirs;
  const std::vector<std::string> slots =
      HoldsCard(state_dir) ? std::vector<std::string>{} : SlotFolders(state_dir);
  for (const std::string& slot : slots) dirs.push_back(fs::path(state_dir) / slot);
  if (dirs.empty()) dirs.push_back(state_dir);
  int status = kExitOk;
  for (const fs::path& dir : dirs) {
    const StateCheck c = CheckState(dir);
    std::fputs(DescribeStateCheck(c).c_str(), stdout);
    if (c.verdict == StateCheck::Verdict::kDamaged ||
        c.verdict == StateCheck::Verdict::kUnreadable) {
      status = kExitFailed;
    } else if (c.verdict == StateCheck::Verdict::kInUse && status == kExitOk) {
      status = kExitInUse;
    }
  }
  return status;
}

}  // namespace dmcard::cli
