// Memory per further card (issue 13 item 5): demo cards held in one process through the host
// library as `dmcard --direct` and dmcard-vicc hold them (HostedCard: RAM medium, the demo
// profile shared, each card powered, its DM applet selected and a leaf read). One card is made,
// then 999 more; the figures are counters, not times (BENCHMARKS.md, "Scale"):
// - heap_*: bytes malloc has handed out and not taken back (glibc mallinfo2: uordblks + hblkhd),
//   what the cards hold, whatever malloc keeps in reserve or the kernel has paged in;
// - rss_*: the process's VmRSS (/proc/self/status), what the machine pays, including malloc's
//   reserve and pages touched once. Run this benchmark alone (--benchmark_filter) for it: memory
//   freed by benchmarks before it is reused and hides part of the growth.
// dmcard-vicc's own figures (a process per run, with and without --state) come from
// scripts/many-cards-memory.sh.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "host/demo_card.h"
#include "host/hosted_card.h"

namespace dmcard {
namespace {

size_t HeapInUse() {
  const struct mallinfo2 m = ::mallinfo2();
  return m.uordblks + m.hblkhd;
}

// VmRSS in bytes; 0 when /proc cannot say.
size_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  }
  return 0;
}

std::unique_ptr<HostedCard> CardInUse(const std::shared_ptr<const Profile>& profile,
                                      const CardConfig& config) {
  std::string error;
  auto card = HostedCard::Open(profile, config, "", error);
  if (!card) {
    std::fprintf(stderr, "many cards: %s\n", error.c_str());
    std::abort();
  }
  card->PowerOn();
  Bytes out;
  card->Transmit(*FromHex("00A404000AF0444D434152442D444D00"), out);        // SELECT DM, descriptor
  card->Transmit(*FromHex("803000000D2E2F446576496E666F2F4D616E00"), out);  // GET ./DevInfo/Man
  if (out.size() < 2 || out[out.size() - 2] != 0x90) std::abort();
  return card;
}

// Bytes, shown in KiB/MiB.
benchmark::Counter Bytes1024(double bytes) {
  return benchmark::Counter(bytes, benchmark::Counter::kDefaults, benchmark::Counter::kIs1024);
}

void BM_ManyCardsMemory(benchmark::State& state) {
  const int cards = static_cast<int>(state.range(0));
  const auto profile = std::make_shared<const Profile>(DemoProfile());
  const CardConfig config = DemoCardConfig();
  for (auto _ : state) {
    const size_t heap0 = HeapInUse();
    const size_t rss0 = ResidentBytes();
    std::vector<std::unique_ptr<HostedCard>> held;
    held.reserve(static_cast<size_t>(cards));
    held.push_back(CardInUse(profile, config));
    const size_t heap1 = HeapInUse();
    const size_t rss1 = ResidentBytes();
    while (held.size() < static_cast<size_t>(cards)) held.push_back(CardInUse(profile, config));
    const size_t heap_n = HeapInUse();
    const size_t rss_n = ResidentBytes();
    const double further = cards > 1 ? cards - 1.0 : 1.0;
    state.counters["heap_first_card"] = Bytes1024(static_cast<double>(heap1 - heap0));
    state.counters["heap_all_cards"] = Bytes1024(static_cast<double>(heap_n - heap0));
    state.counters["heap_per_further_card"] =
        Bytes1024(static_cast<double>(heap_n - heap1) / further);
    state.counters["rss_first_card"] =
        Bytes1024(static_cast<double>(rss1) - static_cast<double>(rss0));
    state.counters["rss_all_cards"] =
        Bytes1024(static_cast<double>(rss_n) - static_cast<double>(rss0));
    state.counters["rss_per_further_card"] =
        Bytes1024((static_cast<double>(rss_n) - static_cast<double>(rss1)) / further);
  }
}
BENCHMARK(BM_ManyCardsMemory)->Arg(1)->Arg(1000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace dmcard
