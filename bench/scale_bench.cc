// How the cost of one operation grows with the size of the card's content (issue 13 item 5): the
// demo card with N more nodes (100, 1,000, 10,000) under ./Scale, in groups of 100 leaves
// (./Scale/G<k>/L<j>), its capacity raised to hold them. Each figure is one APDU (or one card
// build) on the RAM medium; BENCHMARKS.md, "Scale", records them.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "cards/make_card.h"
#include "host/demo_card.h"
#include "host/profile_file.h"

namespace dmcard {
namespace {

constexpr int kGroup = 100;  // leaves per interior node under ./Scale

// The demo profile with `nodes` more nodes under ./Scale (any principal may Get, Replace, Add and
// Delete there), and room for them.
Profile ScaleProfile(int nodes) {
  Profile p = DemoProfile();
  std::string scale =
      "<Node><NodeName>Scale</NodeName><RTProperties><ACL>Add=*&amp;Delete=*&amp;Get=*&amp;"
      "Replace=*</ACL><Format><node/></Format></RTProperties>";
  for (int g = 0; g * kGroup < nodes; ++g) {
    scale += "<Node><NodeName>G" + std::to_string(g) +
             "</NodeName><RTProperties><Format><node/></Format></RTProperties>";
    for (int j = 0; j < kGroup && g * kGroup + j < nodes; ++j) {
      scale += "<Node><NodeName>L" + std::to_string(j) +
               "</NodeName><RTProperties><Format><chr/></Format></RTProperties><Value>value " +
               std::to_string(g * kGroup + j) + "</Value></Node>";
    }
    scale += "</Node>";
  }
  scale += "</Node>";
  const size_t end = p.tree_xml.rfind("</MgmtTree>");
  p.tree_xml.insert(end, scale);
  p.capacity = 64 * 1024 + static_cast<uint32_t>(nodes) * 160;
  return p;
}

std::unique_ptr<Card> ScaleCard(int nodes) {
  const Profile p = ScaleProfile(nodes);
  std::string error;
  const uint8_t seed[32] = {1};
  auto card = MakeCard(p, CardConfigFor(p),
                       Platform{std::make_shared<RamMedium>(), crypto::Drbg::FromSeed(seed),
                                [] { return int64_t{1700000000}; }},
                       error);
  if (!card) {
    std::fprintf(stderr, "scale card: %s\n", error.c_str());
    std::abort();
  }
  card->PowerOn();
  return card;
}

// ADD and REPLACE (CLA 80, apdu-specs/dm.json): a TLV body, 80 URI [, 82 Format] [, 81 value].
Bytes DmCommand(uint8_t ins, const std::string& uri, const std::string* value = nullptr,
                const std::string& format = "") {
  Bytes tlv = {0x80, static_cast<uint8_t>(uri.size())};
  tlv.insert(tlv.end(), uri.begin(), uri.end());
  if (!format.empty()) {
    tlv.insert(tlv.end(), {0x82, static_cast<uint8_t>(format.size())});
    tlv.insert(tlv.end(), format.begin(), format.end());
  }
  if (value) {
    tlv.insert(tlv.end(), {0x81, static_cast<uint8_t>(value->size())});
    tlv.insert(tlv.end(), value->begin(), value->end());
  }
  Bytes c = {0x80, ins, 0x00, 0x00, static_cast<uint8_t>(tlv.size())};
  c.insert(c.end(), tlv.begin(), tlv.end());
  return c;
}

// GET and DELETE carry the URI alone (apdu-specs/dm.json); GET with Le 00.
Bytes UriCommand(uint8_t ins, const std::string& uri, bool le) {
  Bytes c = {0x80, ins, 0x00, 0x00, static_cast<uint8_t>(uri.size())};
  c.insert(c.end(), uri.begin(), uri.end());
  if (le) c.push_back(0x00);
  return c;
}

Bytes SelectDm() { return *FromHex("00A404000AF0444D434152442D444D00"); }

bool Ok(const Bytes& r) { return r.size() >= 2 && r[r.size() - 2] == 0x90 && r.back() == 0x00; }

// A leaf in the middle of the ./Scale nodes.
std::string MiddleLeaf(int nodes) {
  const int i = nodes / 2;
  return "./Scale/G" + std::to_string(i / kGroup) + "/L" + std::to_string(i % kGroup);
}

void Args(benchmark::internal::Benchmark* b) { b->Arg(100)->Arg(1000)->Arg(10000); }

// Making the card from its profile: the tree imported into an empty card.
void BM_ScaleBuildCard(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ScaleCard(static_cast<int>(state.range(0))).get());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScaleBuildCard)->Apply(Args)->Unit(benchmark::kMillisecond);

void BM_ScaleGet(benchmark::State& state) {
  auto card = ScaleCard(static_cast<int>(state.range(0)));
  card->Transmit(SelectDm());
  const Bytes get = UriCommand(0x30, MiddleLeaf(static_cast<int>(state.range(0))), true);
  Bytes out;
  for (auto _ : state) card->Transmit(get, out);
  if (!Ok(out)) state.SkipWithError("GET failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScaleGet)->Apply(Args);

void BM_ScaleReplace(benchmark::State& state) {
  auto card = ScaleCard(static_cast<int>(state.range(0)));
  card->Transmit(SelectDm());
  const std::string value = "changed";
  const Bytes replace = DmCommand(0x34, MiddleLeaf(static_cast<int>(state.range(0))), &value);
  Bytes out;
  for (auto _ : state) card->Transmit(replace, out);
  if (!Ok(out)) state.SkipWithError("REPLACE failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScaleReplace)->Apply(Args);

// ADD of a leaf and DELETE of it again (two APDUs per item).
void BM_ScaleAddDelete(benchmark::State& state) {
  auto card = ScaleCard(static_cast<int>(state.range(0)));
  card->Transmit(SelectDm());
  const std::string value = "new";
  const std::string uri = "./Scale/G0/New";
  const Bytes add = DmCommand(0x32, uri, &value, "chr");
  const Bytes del = UriCommand(0x36, uri, false);
  Bytes out1, out2;
  for (auto _ : state) {
    card->Transmit(add, out1);
    card->Transmit(del, out2);
  }
  if (!Ok(out1) || !Ok(out2)) state.SkipWithError("ADD or DELETE failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScaleAddDelete)->Apply(Args);

// SELECT of the DM applet when the tree has not changed (the descriptor's digest cached) ...
void BM_ScaleSelectDm(benchmark::State& state) {
  auto card = ScaleCard(static_cast<int>(state.range(0)));
  Bytes out;
  const Bytes select = SelectDm();
  for (auto _ : state) card->Transmit(select, out);
  if (!Ok(out)) state.SkipWithError("SELECT failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScaleSelectDm)->Apply(Args);

// ... and after every change (REPLACE, then SELECT: the digest is over the whole tree).
void BM_ScaleReplaceThenSelectDm(benchmark::State& state) {
  auto card = ScaleCard(static_cast<int>(state.range(0)));
  card->Transmit(SelectDm());
  const std::string value = "changed";
  const Bytes replace = DmCommand(0x34, MiddleLeaf(static_cast<int>(state.range(0))), &value);
  const Bytes select = SelectDm();
  Bytes out1, out2;
  for (auto _ : state) {
    card->Transmit(replace, out1);
    card->Transmit(select, out2);
  }
  if (!Ok(out1) || !Ok(out2)) state.SkipWithError("REPLACE or SELECT failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScaleReplaceThenSelectDm)->Apply(Args);

// EF(DM_Bootstrap) generated after a change of the tree (REPLACE under ./Scale, then the first
// READ BINARY of the PKCS#15 view, which rebuilds the bootstrap message). The DM applet is
// selected without its descriptor (P2 0C), whose digest is measured above.
void BM_ScaleBootstrapEf(benchmark::State& state) {
  auto card = ScaleCard(static_cast<int>(state.range(0)));
  const std::string value = "changed";
  const Bytes select_dm = *FromHex("00A4040C0AF0444D434152442D444D");
  const Bytes replace = DmCommand(0x34, MiddleLeaf(static_cast<int>(state.range(0))), &value);
  const Bytes select_fs = *FromHex("00A4040C09F0444D434152444653");
  const Bytes select_ef = *FromHex("00A4080C0450154402");
  const Bytes read = *FromHex("00B0000000");
  Bytes out;
  for (auto _ : state) {
    card->Transmit(select_dm, out);
    card->Transmit(replace, out);
    card->Transmit(select_fs, out);
    card->Transmit(select_ef, out);
    card->Transmit(read, out);
  }
  if (out.size() != 258 && !Ok(out)) state.SkipWithError("READ BINARY failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScaleBootstrapEf)->Apply(Args);

}  // namespace
}  // namespace dmcard
