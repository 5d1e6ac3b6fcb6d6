// Conformance of the card to its machine-readable reference (apdu-specs/*.json): every example
// exchange replays on a fresh demo card, every status word an example produces is listed for
// its command, and every listed status word is defined. The DM applet's command table and
// apdu-specs/dm.json list the same commands, in both directions.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "dm/command_table.h"
#include "host/apdu_spec.h"
#include "host/demo_card.h"
#include "host/direct_reader.h"
#include "host/trace_runner.h"

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

// Every example runs as a trace (host/apdu_spec.h ApduExampleTraces) through the host's one
// trace runner, each on a fresh in-process demo card (tests/pcsc/golden_traces_test.cc replays
// the same traces through pcscd + vpcd).
TEST(ApduSpecs, ExamplesReplayOnTheDemoCard) {
  ApduSpecSet specs;
  std::string error;
  ASSERT_TRUE(LoadApduSpecs(SpecDir(), specs, error)) << error;
  std::vector<Trace> traces;
  ASSERT_TRUE(ApduExampleTraces(specs, traces, error)) << error;
  size_t exchanges = 0;
  for (const Trace& trace : traces) {
    SCOPED_TRACE(trace.name);
    auto reader =
        DirectReader::Open(std::make_shared<Profile>(DemoProfile()), DemoCardConfig(), "", error);
    ASSERT_TRUE(reader) << error;
    RunOptions options;
    options.honour_delays = false;
    const RunResult result = RunTrace(trace, *reader, options, nullptr);
    EXPECT_TRUE(result.ok()) << result.connect_error;
    for (const StepResult& step : result.steps) {
      if (!step.message.empty()) ADD_FAILURE() << step.message;
    }
    exchanges += result.passed;
  }
  EXPECT_GT(exchanges, 20u);
}

// The last exchange of every example exercises the command itself: its status word must be one
// the command lists (and not masked).
TEST(ApduSpecs, EveryExampleEndsWithAListedStatusWord) {
  for (const auto& f : SpecFiles()) {
    const json spec = Load(f);
    for (const auto& c : spec["commands"]) {
      if (!c.contains("examples")) continue;
      for (const auto& ex : c["examples"]) {
        SCOPED_TRACE(f.filename().string() + " / " + c["name"].get<std::string>() + " / " +
                     ex["name"].get<std::string>());
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
}

// What the cross-check reads of a command-table row.
struct TableRow {
  std::string name;
  uint8_t ins;
  bool proprietary;  // CLA b8 = 1
};

std::vector<TableRow> DmTable() {
  std::vector<TableRow> rows;
  for (const dm::Command& c : dm::CommandTable()) {
    rows.push_back({c.name, c.ins, c.cls == dm::CommandClass::kProprietary});
  }
  return rows;
}

// The command table and a spec file must list the same commands: a JSON command entry for every
// row and a row for every JSON command entry, matched by name, with the same INS and class (the
// class of the first CLA the entry's "cla" lists). Returns one line per disagreement.
std::vector<std::string> TableSpecMismatches(const std::vector<TableRow>& table, const json& spec) {
  std::vector<std::string> out;
  std::set<std::string> in_spec;
  for (const auto& c : spec["commands"]) {
    const std::string name = c.value("name", "");
    if (!in_spec.insert(name).second) out.push_back("'" + name + "' is in the JSON twice");
    auto row =
        std::find_if(table.begin(), table.end(), [&](const TableRow& r) { return r.name == name; });
    if (row == table.end()) {
      out.push_back("'" + name + "' is in the JSON but not in the command table");
      continue;
    }
    const auto ins = FromHex(c.value("ins", ""));
    if (!ins || ins->size() != 1 || (*ins)[0] != row->ins) {
      out.push_back("'" + name + "': INS " + c.value("ins", "") + " in the JSON, " +
                    ToHex(Bytes{row->ins}) + " in the table");
    }
    const auto cla = FromHex(c.value("cla", "").substr(0, 2));
    if (!cla || cla->size() != 1 || (((*cla)[0] & 0x80) != 0) != row->proprietary) {
      out.push_back("'" + name + "': class of CLA " + c.value("cla", "") + " in the JSON is not " +
                    (row->proprietary ? "proprietary" : "interindustry") + " as in the table");
    }
  }
  std::set<std::string> in_table;
  for (const TableRow& r : table) {
    if (!in_table.insert(r.name).second) out.push_back("'" + r.name + "' is in the table twice");
    if (in_spec.count(r.name) == 0) {
      out.push_back("'" + r.name + "' is in the command table but not in the JSON");
    }
  }
  return out;
}

std::string Lines(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

TEST(ApduSpecs, DmCommandTableAndDmJsonListTheSameCommands) {
  const json spec = Load(SpecDir() / "dm.json");
  const std::vector<TableRow> table = DmTable();
  ASSERT_GE(table.size(), 10u);
  EXPECT_EQ(table.size(), spec["commands"].size());
  const auto mismatches = TableSpecMismatches(table, spec);
  EXPECT_TRUE(mismatches.empty()) << Lines(mismatches);
}

// The cross-check itself fails when the two disagree, in either direction.
TEST(ApduSpecs, TableCheckReportsAJsonCommandTheTableLacks) {
  json spec = Load(SpecDir() / "dm.json");
  spec["commands"].push_back(
      {{"name", "FROB (tree)"}, {"cla", "80-83, C0-CF"}, {"ins", "3C"}, {"status_words", {}}});
  const auto mismatches = TableSpecMismatches(DmTable(), spec);
  ASSERT_EQ(mismatches.size(), 1u) << Lines(mismatches);
  EXPECT_EQ(mismatches[0], "'FROB (tree)' is in the JSON but not in the command table");
}

TEST(ApduSpecs, TableCheckReportsARowTheJsonLacks) {
  json spec = Load(SpecDir() / "dm.json");
  auto& commands = spec["commands"];
  for (auto it = commands.begin(); it != commands.end(); ++it) {
    if ((*it)["name"] == "DELETE (tree)") {
      commands.erase(it);
      break;
    }
  }
  auto mismatches = TableSpecMismatches(DmTable(), spec);
  ASSERT_EQ(mismatches.size(), 1u) << Lines(mismatches);
  EXPECT_EQ(mismatches[0], "'DELETE (tree)' is in the command table but not in the JSON");

  std::vector<TableRow> table = DmTable();
  table.push_back({"FROB (tree)", 0x3C, true});
  mismatches = TableSpecMismatches(table, Load(SpecDir() / "dm.json"));
  ASSERT_EQ(mismatches.size(), 1u) << Lines(mismatches);
  EXPECT_EQ(mismatches[0], "'FROB (tree)' is in the command table but not in the JSON");
}

TEST(ApduSpecs, TableCheckReportsADifferentInsOrClass) {
  json spec = Load(SpecDir() / "dm.json");
  for (auto& c : spec["commands"]) {
    if (c["name"] == "GET (tree)") c["ins"] = "31";
    if (c["name"] == "VERIFY (DM applet PINs)") c["cla"] = "80-83";
  }
  const auto mismatches = TableSpecMismatches(DmTable(), spec);
  ASSERT_EQ(mismatches.size(), 2u) << Lines(mismatches);
  EXPECT_EQ(mismatches[0], "'GET (tree)': INS 31 in the JSON, 30 in the table");
  EXPECT_EQ(mismatches[1],
            "'VERIFY (DM applet PINs)': class of CLA 80-83 in the JSON is not interindustry as in "
            "the table");
}

}  // namespace
}  // namespace dmcard
