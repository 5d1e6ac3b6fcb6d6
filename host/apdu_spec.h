// The card's command reference (apdu-specs/*.json, format in apdu-specs/README.md) read into
// typed structures: command groups, their commands' headers (CLA ranges, INS, P1/P2 meanings),
// data, Le, status words, notes and examples. The JSON files are embedded at build time
// (apdu-specs/embed.cmake), so programs need no file at run time; tests load the directory.
// Hosts name commands with it (host/command_namer.h) and the human reference is generated from
// it (host/apdu_reference.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/trace.h"

namespace dmcard {

// One key of a "p1"/"p2" map and its meaning. Keys as the JSON writes them: a byte "04", a range
// "30-3F", a bit pattern "0xxxxxxx" / "100sssss" (0/1 fixed, letters free), "any", or a bit
// field "b4-b3" whose meaning is a map of its own (`fields`, keys in binary: "00", "01", ...).
struct ApduParamValue {
  std::string key;
  std::string meaning;                 // empty for a bit field or when the JSON gives ""
  std::vector<ApduParamValue> fields;  // the values of a bit field key, else empty

  bool bit_field() const { return !fields.empty(); }
  bool operator==(const ApduParamValue&) const = default;
};

// An inclusive range of CLA values, e.g. 40-4F.
struct ClaRange {
  uint8_t first = 0;
  uint8_t last = 0;
  bool operator==(const ClaRange&) const = default;
};

// One command/response pair of an example: hex text as written ("r" may hold spaces and "??").
struct ApduExchange {
  std::string command;
  std::string response;
  bool operator==(const ApduExchange&) const = default;
};

// A named sequence of exchanges, run on a freshly powered demo card.
struct ApduExample {
  std::string name;
  std::vector<ApduExchange> exchanges;
  bool operator==(const ApduExample&) const = default;
};

// One command entry of a group.
struct ApduCommandSpec {
  std::string name;       // "GET (tree)"
  std::string reference;  // the standard's clause
  std::string cla_text;   // as written: "80-83, C0-CF"
  // The CLA values `cla_text` lists (every two-digit uppercase hex byte or range in it); empty
  // when it lists none.
  std::vector<ClaRange> cla;
  std::string ins_text;        // as written: "30", or prose ("any applet command")
  std::optional<uint8_t> ins;  // when `ins_text` is one byte in hex
  std::vector<ApduParamValue> p1;
  std::vector<ApduParamValue> p2;
  std::string data;
  std::string le;
  std::vector<std::string> status_words;  // "9000", "61xx", "63Cx"
  std::string notes;
  std::vector<ApduExample> examples;

  // Whether a CLA of class b8 = `proprietary` is among the listed values.
  bool AcceptsClass(bool proprietary) const;
  bool operator==(const ApduCommandSpec&) const = default;
};

// One status word pattern ("6A82", "61xx", "63Cx") and its meaning.
struct StatusWordSpec {
  std::string pattern;
  std::string meaning;
  bool operator==(const StatusWordSpec&) const = default;
};

// One file of apdu-specs/: a command group.
struct ApduSpecGroup {
  std::string file;   // the file's stem: "runtime", "iso-fs", "dm"
  std::string group;  // its "group": "runtime", "iso-fs", "oma-dm"
  std::string description;
  std::vector<std::string> requirements;  // requirement ids, when the file lists them
  std::vector<ApduCommandSpec> commands;
  std::vector<StatusWordSpec> status_words;  // only runtime.json defines status words
  bool operator==(const ApduSpecGroup&) const = default;
};

// All groups: "runtime" first, then the others by file name.
struct ApduSpecSet {
  std::vector<ApduSpecGroup> groups;

  // The group read from `<file>.json`, or nullptr.
  const ApduSpecGroup* Find(std::string_view file) const;
  // The status word meanings (runtime.json), in the file's order.
  const std::vector<StatusWordSpec>& StatusWords() const;
  bool operator==(const ApduSpecSet&) const = default;
};

// Parses one spec file's text; `file` is its stem ("dm"). On failure `error` names the file and
// the entry at fault.
bool ParseApduSpecGroup(std::string_view file, std::string_view json_text, ApduSpecGroup& group,
                        std::string& error);
// Reads every *.json of `dir` (apdu-specs/): for tests and tools that work on the sources.
bool LoadApduSpecs(const std::filesystem::path& dir, ApduSpecSet& set, std::string& error);
// The specs embedded at build time. Fails only on a build defect (the tests parse the same files).
bool ParseBuiltInApduSpecs(ApduSpecSet& set, std::string& error);
// The embedded specs, parsed on first use; an empty set after a build defect (reported on
// stderr once).
const ApduSpecSet& BuiltInApduSpecs();

// The CLA values of a "cla" text: every two-digit uppercase hex byte or "XX-YY" range standing
// as a word ("00-03, 40-4F (channel in CLA)" → 00-03, 40-4F). False when there is none.
bool ParseClaRanges(std::string_view text, std::vector<ClaRange>& ranges);
// Whether `value` fits a p1/p2 key ("04", "30-3F", "100sssss", "any"). A bit field key ("b4-b3")
// fits when one of its field values fits the bits it names. Unknown forms never fit.
bool ParamKeyMatches(const ApduParamValue& param, uint8_t value);
// Whether `sw` fits a status word pattern: four hex digits, 'x' for a free nibble ("63Cx").
bool StatusWordMatches(std::string_view pattern, uint16_t sw);

// "6A82 file or application not found": the meaning from runtime.json's status_words (the
// host's source of truth), with the pattern's free digits put in ("63C2 verification failed, 2
// tries left"); for a word the specs do not define, the card's own DescribeSw
// (runtime/sw_text.h).
std::string StatusWordText(const ApduSpecSet& specs, uint16_t sw);
// The same without the leading hex: "verification failed, 2 tries left".
std::string StatusWordMeaning(const ApduSpecSet& specs, uint16_t sw);

// The examples of every command of `specs` as traces (host/trace.h), one per example, named
// "<group> / <command> / <example>": the example's exchanges as steps with their expected
// responses ("??" any byte) — what the conformance tests replay on a fresh demo card, in-process
// and through PC/SC. False with `error` naming the example whose hex does not parse.
bool ApduExampleTraces(const ApduSpecSet& specs, std::vector<Trace>& out, std::string& error);

}  // namespace dmcard
