// Conformance of the card to its machine-readable reference (apdu-specs/*.json): every example
// exchange replays on a fresh demo card, every status word an example produces is listed for
// its command, and every listed status word is defined.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "cards/demo_card.h"

namespace dmcard {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path SpecDir() { return fs::path(DMCARD_SOURCE_DIR) / "apdu-specs"; }

json Load(const fs::path& p) {
  std::ifstream in(p);
  EXPECT_TRUE(in) << "cannot open " << p;
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << p << " is not valid JSON";
  return j;
}

std::vector<fs::path> SpecFiles() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(SpecDir())) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// "r" patterns: hex with optional spaces; "??" matches any byte.
bool Matches(const std::string& pattern, const Bytes& actual) {
  std::string p;
  for (char c : pattern) {
    if (c != ' ') p.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (p.size() != actual.size() * 2) return false;
  const std::string hex = ToHex(actual);
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '?' && p[i] != hex[i]) return false;
  }
  return true;
}

// Listed status words may use x for a variable nibble: "61xx", "63Cx".
bool SwListed(const json& list, uint16_t sw) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "%04X", sw);
  for (const auto& entry : list) {
    const std::string s = entry.get<std::string>();
    bool ok = s.size() == 4;
    for (size_t i = 0; ok && i < 4; ++i) ok = s[i] == 'x' || s[i] == buf[i];
    if (ok) return true;
  }
  return false;
}

std::unique_ptr<Card> FreshDemoCard() {
  std::string error;
  const uint8_t seed[16] = {7};
  auto card =
      MakeDemoCard(DemoCardConfig(),
                   Platform{std::make_shared<RamMedium>(), crypto::Drbg::FromSeed(seed)}, error);
  EXPECT_TRUE(card) << error;
  if (card) card->PowerOn();
  return card;
}

TEST(ApduSpecs, FilesExistAndParse) {
  const auto files = SpecFiles();
  ASSERT_GE(files.size(), 2u) << "expected runtime.json and iso-fs.json in " << SpecDir();
  for (const auto& f : files) {
    json j = Load(f);
    ASSERT_TRUE(j.contains("commands")) << f;
    EXPECT_FALSE(j["commands"].empty()) << f;
    for (const auto& c : j["commands"]) {
      for (const char* key : {"name", "reference", "ins", "status_words"}) {
        EXPECT_TRUE(c.contains(key)) << f << ": a command lacks '" << key << "'";
      }
    }
  }
}

TEST(ApduSpecs, ListedStatusWordsAreDefined) {
  json runtime = Load(SpecDir() / "runtime.json");
  const json& defined = runtime["status_words"];
  for (const auto& f : SpecFiles()) {
    const json spec = Load(f);
    for (const auto& c : spec["commands"]) {
      for (const auto& sw : c["status_words"]) {
        EXPECT_TRUE(defined.contains(sw.get<std::string>()))
            << f.filename() << " " << c["name"] << ": " << sw << " is not in runtime.json";
      }
    }
  }
}

TEST(ApduSpecs, ExamplesReplayOnTheDemoCard) {
  int exchanges = 0;
  for (const auto& f : SpecFiles()) {
    const json spec = Load(f);
    for (const auto& c : spec["commands"]) {
      if (!c.contains("examples")) continue;
      for (const auto& ex : c["examples"]) {
        SCOPED_TRACE(f.filename().string() + " / " + c["name"].get<std::string>() + " / " +
                     ex["name"].get<std::string>());
        auto card = FreshDemoCard();
        ASSERT_TRUE(card);
        for (const auto& x : ex["exchanges"]) {
          auto cmd = FromHex(x["c"].get<std::string>());
          ASSERT_TRUE(cmd) << "bad hex " << x["c"];
          Bytes r = card->Transmit(*cmd);
          EXPECT_TRUE(Matches(x["r"].get<std::string>(), r))
              << "C: " << ToHex(*cmd) << "\nexpected: " << x["r"] << "\nactual:   " << ToHex(r);
          ++exchanges;
        }
        // The last exchange of every example exercises the command itself: its status word
        // must be one the command lists.
        std::string last;
        for (char ch : ex["exchanges"].back()["r"].get<std::string>()) {
          if (ch != ' ') last.push_back(ch);
        }
        ASSERT_GE(last.size(), 4u);
        auto sw = FromHex(last.substr(last.size() - 4));
        ASSERT_TRUE(sw) << "the status word of an expected response may not be masked";
        EXPECT_TRUE(SwListed(c["status_words"], ReadU16(sw->data())))
            << "example ends with " << last.substr(last.size() - 4) << ", not listed";
      }
    }
  }
  EXPECT_GT(exchanges, 20);
}

}  // namespace
}  // namespace dmcard
