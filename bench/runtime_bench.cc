// In-process APDU throughput of the runtime and the file-system applet (no transport).
// Figures are recorded in BENCHMARKS.md; tests never assert on them.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "fs/demo_fs.h"
#include "host/demo_card.h"

namespace dmcard {
namespace {

std::unique_ptr<Card> BenchCard() {
  std::string error;
  const uint8_t seed[32] = {1};
  auto card =
      MakeDemoCard(DemoCardConfig(),
                   Platform{std::make_shared<RamMedium>(), crypto::Drbg::FromSeed(seed)}, error);
  if (!card) std::abort();
  card->PowerOn();
  return card;
}

Bytes Hex(const char* s) { return *FromHex(s); }

// SELECT the file-system applet by AID, no response data.
void BM_SelectByAid(benchmark::State& state) {
  auto card = BenchCard();
  const Bytes select = Hex("00A4040C09F0444D434152444653");
  Bytes out;
  out.reserve(512);
  for (auto _ : state) {
    card->Transmit(select, out);
    benchmark::DoNotOptimize(out.data());
  }
  if (out.size() != 2 || out[0] != 0x90) state.SkipWithError("SELECT failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SelectByAid);

// READ BINARY of 256 bytes (Le 00) from the current transparent EF (5001, 512 bytes).
void BM_ReadBinary256(benchmark::State& state) {
  auto card = BenchCard();
  Bytes out;
  out.reserve(512);
  card->Transmit(Hex("00A4080C0450005001"), out);
  const Bytes read = Hex("00B0000000");
  for (auto _ : state) {
    card->Transmit(read, out);
    benchmark::DoNotOptimize(out.data());
  }
  if (out.size() != 258) state.SkipWithError("READ BINARY failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReadBinary256);

// The mix: SELECT of the applet and a 256-byte READ BINARY by SFI, alternating;
// items = APDUs.
void BM_SelectThenReadBinary256(benchmark::State& state) {
  auto card = BenchCard();
  const Bytes select = Hex("00A4040C09F0444D434152444653");
  const Bytes to_df = Hex("00A4000C025000");
  const Bytes read = Hex("00B0810000");  // SFI 1 = EF 5001 in DF 5000
  Bytes out;
  out.reserve(512);
  for (auto _ : state) {
    card->Transmit(select, out);
    card->Transmit(to_df, out);
    card->Transmit(read, out);
    benchmark::DoNotOptimize(out.data());
  }
  if (out.size() != 258) state.SkipWithError("READ BINARY failed");
  state.SetItemsProcessed(state.iterations() * 3);
}
BENCHMARK(BM_SelectThenReadBinary256);

// A persistent write: UPDATE BINARY of 16 bytes, journal commit on the RAM medium.
void BM_UpdateBinary16(benchmark::State& state) {
  auto card = BenchCard();
  Bytes out;
  card->Transmit(Hex("00A4080C0450005001"), out);
  const Bytes update = Hex("00D6001010000102030405060708090A0B0C0D0E0F");
  for (auto _ : state) {
    card->Transmit(update, out);
    benchmark::DoNotOptimize(out.data());
  }
  if (out.size() != 2 || out[0] != 0x90) state.SkipWithError("UPDATE BINARY failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UpdateBinary16);

}  // namespace
}  // namespace dmcard

namespace dmcard {
namespace {

std::filesystem::path BenchDir(const char* what, int64_t arg) {
  const auto dir =
      std::filesystem::temp_directory_path() /
      ("dmcard-bench-" + std::to_string(::getpid()) + "-" + what + "-" + std::to_string(arg));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// The same UPDATE BINARY on the file medium in a temporary directory, with and without fsync
// (arg 1 / 0): what a card with --state pays per committed write. The counter syncs_per_apdu is
// the fdatasync/fsync calls per APDU (checkpoints included).
void BM_UpdateBinary16FileMedium(benchmark::State& state) {
  const auto dir = BenchDir("update", state.range(0));
  {
    std::string error;
    const uint8_t seed[32] = {1};
    auto medium = std::make_shared<FileMedium>(dir, state.range(0) != 0);
    auto card =
        MakeDemoCard(DemoCardConfig(), Platform{medium, crypto::Drbg::FromSeed(seed)}, error);
    if (!card) std::abort();
    card->PowerOn();
    Bytes out;
    card->Transmit(*FromHex("00A4080C0450005001"), out);
    const Bytes update = *FromHex("00D6001010000102030405060708090A0B0C0D0E0F");
    const uint64_t syncs_before = medium->syncs();
    for (auto _ : state) {
      card->Transmit(update, out);
      benchmark::DoNotOptimize(out.data());
    }
    if (out.size() != 2 || out[0] != 0x90) state.SkipWithError("UPDATE BINARY failed");
    state.SetItemsProcessed(state.iterations());
    state.counters["syncs_per_apdu"] = static_cast<double>(medium->syncs() - syncs_before) /
                                       static_cast<double>(state.iterations());
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_UpdateBinary16FileMedium)->Arg(0)->Arg(1);

// The physical floor on the same disk: append the bytes of one UPDATE BINARY's transaction
// (about 60) to a file and fdatasync it.
void BM_AppendFdatasync(benchmark::State& state) {
  const auto dir = BenchDir("fdatasync", 0);
  const int fd = ::open((dir / "f").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  const char data[60] = {1};
  for (auto _ : state) {
    if (::write(fd, data, sizeof data) != static_cast<ssize_t>(sizeof data) ||
        ::fdatasync(fd) != 0) {
      state.SkipWithError("write or fdatasync failed");
      break;
    }
  }
  ::close(fd);
  state.SetItemsProcessed(state.iterations());
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AppendFdatasync);

}  // namespace
}  // namespace dmcard

namespace dmcard {
namespace {

// SELECT of the OMA DM applet: the answer carries the descriptor (generation, tree digest),
// which the device reads on every insertion (SC7).
void BM_SelectDmApplet(benchmark::State& state) {
  auto card = BenchCard();
  const Bytes select = *FromHex("00A404000AF0444D434152442D444D00");
  Bytes out;
  out.reserve(512);
  for (auto _ : state) {
    card->Transmit(select, out);
    benchmark::DoNotOptimize(out.data());
  }
  if (out.size() < 2 || out[out.size() - 2] != 0x90) state.SkipWithError("SELECT failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SelectDmApplet);

// GET of a leaf value by URI (./DMAcc/DMCardTest/ServerID): ACL walk and one record read.
void BM_DmGetLeaf(benchmark::State& state) {
  auto card = BenchCard();
  Bytes out;
  card->Transmit(*FromHex("00A4040C0AF0444D434152442D444D"), out);
  const Bytes get = *FromHex("803000001B2E2F444D4163632F444D43617264546573742F536572766572494400");
  for (auto _ : state) {
    card->Transmit(get, out);
    benchmark::DoNotOptimize(out.data());
  }
  if (out.size() < 2 || out[out.size() - 2] != 0x90) state.SkipWithError("GET failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DmGetLeaf);

// REPLACE of a leaf value by the user (./Vendor/dmcard/UserPrefs/Lang, after VERIFY of PIN 01):
// ACL walk, the node record rewritten, the generation moved and the change logged (event log
// entry and head) in one RAM-journal transaction.
void BM_DmReplaceLeaf(benchmark::State& state) {
  auto card = BenchCard();
  Bytes out;
  card->Transmit(*FromHex("00A4040C0AF0444D434152442D444D"), out);
  card->Transmit(*FromHex("002000010431323334"), out);
  const std::string uri = "./Vendor/dmcard/UserPrefs/Lang", value = "en-GB";
  Bytes tlv = {0x80, static_cast<uint8_t>(uri.size())};
  tlv.insert(tlv.end(), uri.begin(), uri.end());
  tlv.insert(tlv.end(), {0x81, static_cast<uint8_t>(value.size())});
  tlv.insert(tlv.end(), value.begin(), value.end());
  Bytes replace = {0x80, 0x34, 0x00, 0x00, static_cast<uint8_t>(tlv.size())};
  replace.insert(replace.end(), tlv.begin(), tlv.end());
  for (auto _ : state) {
    card->Transmit(replace, out);
    benchmark::DoNotOptimize(out.data());
  }
  if (out.size() != 2 || out[0] != 0x90) state.SkipWithError("REPLACE failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DmReplaceLeaf);

}  // namespace
}  // namespace dmcard

namespace dmcard {
namespace {

// READ BINARY of 256 bytes from EF(DM_Bootstrap), the PKCS#15 view generated from the tree.
void BM_ReadDmBootstrap256(benchmark::State& state) {
  auto card = BenchCard();
  Bytes out;
  card->Transmit(*FromHex("00A4080C0450154402"), out);
  const Bytes read = *FromHex("00B0000000");
  for (auto _ : state) {
    card->Transmit(read, out);
    benchmark::DoNotOptimize(out.data());
  }
  if (out.size() != 258) state.SkipWithError("READ BINARY failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReadDmBootstrap256);

}  // namespace
}  // namespace dmcard
