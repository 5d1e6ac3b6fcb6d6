// Reading apdu-specs/*.json (host/apdu_spec.h). Never throws: the JSON is parsed without
// exceptions and every value's type is checked before it is read.
#include "host/apdu_spec.h"

#include "host/files.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/sw_text.h"

namespace dmcard {
namespace embedded {
extern const char* const kApduSpecNames[];
extern const char* const kApduSpecTexts[];
extern const std::size_t kApduSpecSizes[];
extern const std::size_t kApduSpecCount;
}  // namespace embedded

namespace {

// Object keys keep the file's order: the reference pages list meanings as written.
using Json = nlohmann::ordered_json;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Two hex digits, either case.
std::optional<uint8_t> HexByte(std::string_view s) {
  if (s.size() != 2 || HexDigit(s[0]) < 0 || HexDigit(s[1]) < 0) return std::nullopt;
  return static_cast<uint8_t>(HexDigit(s[0]) * 16 + HexDigit(s[1]));
}

bool IsUpperHex(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }
bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// Reads the string member `key` of `obj` into `out`; absent is fine unless `required`.
bool ReadString(const Json& obj, const char* key, bool required, std::string& out,
                const std::string& where, std::string& error) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (!required) return true;
    error = where + ": '" + key + "' is missing";
    return false;
  }
  if (!it->is_string()) {
    error = where + ": '" + key + "' is not a string";
    return false;
  }
  out = it->get<std::string>();
  return true;
}

bool ReadStringList(const Json& obj, const char* key, std::vector<std::string>& out,
                    const std::string& where, std::string& error) {
  auto it = obj.find(key);
  if (it == obj.end()) return true;
  if (!it->is_array()) {
    error = where + ": '" + key + "' is not a list";
    return false;
  }
  for (const Json& v : *it) {
    if (!v.is_string()) {
      error = where + ": '" + key + "' holds a value that is not a string";
      return false;
    }
    out.push_back(v.get<std::string>());
  }
  return true;
}

// A "p1"/"p2" map: key → meaning, or key → map (a bit field).
bool ReadParams(const Json& obj, const char* key, std::vector<ApduParamValue>& out,
                const std::string& where, std::string& error) {
  auto it = obj.find(key);
  if (it == obj.end()) return true;
  if (!it->is_object()) {
    error = where + ": '" + key + "' is not an object";
    return false;
  }
  for (auto entry = it->begin(); entry != it->end(); ++entry) {
    ApduParamValue param;
    param.key = entry.key();
    if (entry->is_string()) {
      param.meaning = entry->get<std::string>();
    } else if (entry->is_object() && !entry->empty()) {
      for (auto field = entry->begin(); field != entry->end(); ++field) {
        if (!field->is_string()) {
          error = where + ": " + key + " '" + param.key + "' '" + field.key() + "' is not a string";
          return false;
        }
        param.fields.push_back({field.key(), field->get<std::string>(), {}});
      }
    } else {
      error = where + ": " + key + " '" + param.key + "' is neither a string nor a map";
      return false;
    }
    out.push_back(std::move(param));
  }
  return true;
}

bool ReadExamples(const Json& obj, std::vector<ApduExample>& out, const std::string& where,
                  std::string& error) {
  auto it = obj.find("examples");
  if (it == obj.end()) return true;
  if (!it->is_array()) {
    error = where + ": 'examples' is not a list";
    return false;
  }
  for (const Json& e : *it) {
    if (!e.is_object()) {
      error = where + ": an example is not an object";
      return false;
    }
    ApduExample example;
    if (!ReadString(e, "name", true, example.name, where + " example", error)) return false;
    const std::string ex_where = where + " example '" + example.name + "'";
    auto x = e.find("exchanges");
    if (x == e.end() || !x->is_array()) {
      error = ex_where + ": 'exchanges' is missing or not a list";
      return false;
    }
    for (const Json& pair : *x) {
      if (!pair.is_object()) {
        error = ex_where + ": an exchange is not an object";
        return false;
      }
      ApduExchange exchange;
      if (!ReadString(pair, "c", true, exchange.command, ex_where, error) ||
          !ReadString(pair, "r", true, exchange.response, ex_where, error)) {
        return false;
      }
      example.exchanges.push_back(std::move(exchange));
    }
    out.push_back(std::move(example));
  }
  return true;
}

bool ReadCommand(const Json& c, ApduCommandSpec& cmd, const std::string& file, std::string& error) {
  if (!c.is_object()) {
    error = file + ": a command is not an object";
    return false;
  }
  if (!ReadString(c, "name", true, cmd.name, file + ": a command", error)) return false;
  const std::string where = file + " '" + cmd.name + "'";
  if (!ReadString(c, "reference", false, cmd.reference, where, error) ||
      !ReadString(c, "cla", false, cmd.cla_text, where, error) ||
      !ReadString(c, "ins", true, cmd.ins_text, where, error) ||
      !ReadString(c, "data", false, cmd.data, where, error) ||
      !ReadString(c, "le", false, cmd.le, where, error) ||
      !ReadString(c, "notes", false, cmd.notes, where, error) ||
      !ReadParams(c, "p1", cmd.p1, where, error) || !ReadParams(c, "p2", cmd.p2, where, error) ||
      !ReadStringList(c, "status_words", cmd.status_words, where, error) ||
      !ReadExamples(c, cmd.examples, where, error)) {
    return false;
  }
  ParseClaRanges(cmd.cla_text, cmd.cla);  // none listed: the entry names no APDU
  cmd.ins = HexByte(cmd.ins_text);        // prose ("any applet command"): likewise
  return true;
}

// "runtime" first, then by file name.
void SortGroups(std::vector<ApduSpecGroup>& groups) {
  std::sort(groups.begin(), groups.end(), [](const ApduSpecGroup& a, const ApduSpecGroup& b) {
    const bool ar = a.file == "runtime", br = b.file == "runtime";
    return ar != br ? ar : a.file < b.file;
  });
}

// Whether the bit field key "bN-bM" (N >= M, bits 1..8) covers bits that `value` has in the
// places the field value `bits` ("01") gives.
bool BitFieldMatches(std::string_view key, std::string_view bits, uint8_t value) {
  if (key.size() != 5 || key[0] != 'b' || key[2] != '-' || key[3] != 'b') return false;
  const int high = key[1] - '0', low = key[4] - '0';
  if (high < 1 || high > 8 || low < 1 || low > high) return false;
  if (bits.size() != static_cast<size_t>(high - low + 1)) return false;
  for (int bit = high, i = 0; bit >= low; --bit, ++i) {
    if (bits[i] != '0' && bits[i] != '1') return false;
    const bool set = (value >> (bit - 1)) & 1;
    if (set != (bits[i] == '1')) return false;
  }
  return true;
}

}  // namespace

bool ApduCommandSpec::AcceptsClass(bool proprietary) const {
  return std::any_of(cla.begin(), cla.end(), [&](const ClaRange& r) {
    // The range holds a value of that class when one of its ends, or the class boundary, does.
    return proprietary ? r.last >= 0x80 : r.first < 0x80;
  });
}

const ApduSpecGroup* ApduSpecSet::Find(std::string_view file) const {
  for (const ApduSpecGroup& g : groups) {
    if (g.file == file) return &g;
  }
  return nullptr;
}

const std::vector<StatusWordSpec>& ApduSpecSet::StatusWords() const {
  static const std::vector<StatusWordSpec> kNone;
  const ApduSpecGroup* runtime = Find("runtime");
  return runtime != nullptr ? runtime->status_words : kNone;
}

bool ParseApduSpecGroup(std::string_view file, std::string_view json_text, ApduSpecGroup& group,
                        std::string& error) {
  const std::string name = std::string(file) + ".json";
  const Json j = Json::parse(json_text.begin(), json_text.end(), nullptr,
                             /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    error = name + ": not a JSON object";
    return false;
  }
  ApduSpecGroup g;
  g.file = std::string(file);
  if (!ReadString(j, "group", true, g.group, name, error) ||
      !ReadString(j, "description", false, g.description, name, error) ||
      !ReadStringList(j, "requirements", g.requirements, name, error)) {
    return false;
  }
  if (auto sw = j.find("status_words"); sw != j.end()) {
    if (!sw->is_object()) {
      error = name + ": 'status_words' is not an object";
      return false;
    }
    for (auto it = sw->begin(); it != sw->end(); ++it) {
      if (!it->is_string()) {
        error = name + ": status word " + it.key() + " has no text";
        return false;
      }
      g.status_words.push_back({it.key(), it->get<std::string>()});
    }
  }
  auto commands = j.find("commands");
  if (commands == j.end() || !commands->is_array()) {
    error = name + ": 'commands' is missing or not a list";
    return false;
  }
  for (const Json& c : *commands) {
    ApduCommandSpec cmd;
    if (!ReadCommand(c, cmd, name, error)) return false;
    g.commands.push_back(std::move(cmd));
  }
  group = std::move(g);
  return true;
}

bool LoadApduSpecs(const std::filesystem::path& dir, ApduSpecSet& set, std::string& error) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".json") files.push_back(it->path());
  }
  if (ec) {
    error = "cannot list " + dir.string() + ": " + ec.message();
    return false;
  }
  ApduSpecSet out;
  for (const auto& path : files) {
    std::string text;
    if (auto t = ReadWholeFile(path, error)) {
      text = std::move(*t);
    } else {
      return false;
    }
    ApduSpecGroup group;
    if (!ParseApduSpecGroup(path.stem().string(), text, group, error)) return false;
    out.groups.push_back(std::move(group));
  }
  if (out.groups.empty()) {
    error = "no *.json in " + dir.string();
    return false;
  }
  SortGroups(out.groups);
  set = std::move(out);
  return true;
}

bool ParseBuiltInApduSpecs(ApduSpecSet& set, std::string& error) {
  ApduSpecSet out;
  for (std::size_t i = 0; i < embedded::kApduSpecCount; ++i) {
    ApduSpecGroup group;
    const std::string_view text(embedded::kApduSpecTexts[i], embedded::kApduSpecSizes[i]);
    if (!ParseApduSpecGroup(embedded::kApduSpecNames[i], text, group, error)) {
      error = "built-in apdu-specs/" + error;
      return false;
    }
    out.groups.push_back(std::move(group));
  }
  SortGroups(out.groups);
  set = std::move(out);
  return true;
}

const ApduSpecSet& BuiltInApduSpecs() {
  static const ApduSpecSet specs = [] {
    ApduSpecSet s;
    std::string error;
    if (!ParseBuiltInApduSpecs(s, error)) {
      // A build defect (the unit tests parse the same files); commands go unnamed.
      std::fprintf(stderr, "dmcard: the built-in command reference is broken: %s\n", error.c_str());
    }
    return s;
  }();
  return specs;
}

bool ParseClaRanges(std::string_view text, std::vector<ClaRange>& ranges) {
  std::vector<ClaRange> out;
  for (size_t i = 0; i + 2 <= text.size(); ++i) {
    if ((i > 0 && IsWordChar(text[i - 1])) || !IsUpperHex(text[i]) || !IsUpperHex(text[i + 1])) {
      continue;
    }
    size_t end = i + 2;
    ClaRange r;
    r.first = r.last = *HexByte(text.substr(i, 2));
    if (end + 3 <= text.size() && text[end] == '-' && IsUpperHex(text[end + 1]) &&
        IsUpperHex(text[end + 2])) {
      r.last = *HexByte(text.substr(end + 1, 2));
      end += 3;
    }
    if (end < text.size() && IsWordChar(text[end])) continue;  // part of a longer word
    if (r.first <= r.last) out.push_back(r);                   // a backwards range lists nothing
    i = end - 1;
  }
  if (out.empty()) return false;
  ranges = std::move(out);
  return true;
}

bool ParamKeyMatches(const ApduParamValue& param, uint8_t value) {
  const std::string_view key = param.key;
  if (param.bit_field()) {
    return std::any_of(param.fields.begin(), param.fields.end(),
                       [&](const ApduParamValue& f) { return BitFieldMatches(key, f.key, value); });
  }
  if (key == "any") return true;
  if (auto b = HexByte(key)) return *b == value;
  if (key.size() == 5 && key[2] == '-') {
    auto lo = HexByte(key.substr(0, 2)), hi = HexByte(key.substr(3, 2));
    return lo && hi && *lo <= value && value <= *hi;
  }
  if (key.size() == 8) {  // bit pattern, b8 first
    bool any_fixed = false;
    for (int i = 0; i < 8; ++i) {
      const bool set = (value >> (7 - i)) & 1;
      if (key[i] == '0' || key[i] == '1') {
        any_fixed = true;
        if (set != (key[i] == '1')) return false;
      } else if (!std::islower(static_cast<unsigned char>(key[i]))) {
        return false;
      }
    }
    return any_fixed;
  }
  return false;
}

bool StatusWordMatches(std::string_view pattern, uint16_t sw) {
  if (pattern.size() != 4) return false;
  for (int i = 0; i < 4; ++i) {
    const int nibble = (sw >> (12 - 4 * i)) & 0xF;
    if (pattern[i] == 'x') continue;
    if (HexDigit(pattern[i]) != nibble) return false;
  }
  return true;
}

std::string StatusWordMeaning(const ApduSpecSet& specs, uint16_t sw) {
  for (const StatusWordSpec& s : specs.StatusWords()) {
    if (!StatusWordMatches(s.pattern, sw)) continue;
    // The free digits are a count ("61xx", "63Cx"): put in their value, in decimal, for the
    // same run of x's in the text.
    const size_t free = static_cast<size_t>(std::count(s.pattern.begin(), s.pattern.end(), 'x'));
    std::string text = s.meaning;
    if (free > 0) {
      const unsigned value = sw & ((1u << (4 * free)) - 1);
      const std::string xs(free, 'x');
      for (size_t at = text.find(xs); at != std::string::npos; at = text.find(xs, at)) {
        const bool alone = (at == 0 || !IsWordChar(text[at - 1])) &&
                           (at + free == text.size() || !IsWordChar(text[at + free]));
        if (!alone) {
          at += free;
          continue;
        }
        const std::string n = std::to_string(value);
        text.replace(at, free, n);
        at += n.size();
      }
    }
    return text;
  }
  return DescribeSw(sw);
}

std::string StatusWordText(const ApduSpecSet& specs, uint16_t sw) {
  char hex[5];
  std::snprintf(hex, sizeof hex, "%04X", sw);
  return std::string(hex) + " " + StatusWordMeaning(specs, sw);
}

bool ApduExampleTraces(const ApduSpecSet& specs, std::vector<Trace>& out, std::string& error) {
  for (const ApduSpecGroup& group : specs.groups) {
    for (const ApduCommandSpec& command : group.commands) {
      for (const ApduExample& example : command.examples) {
        Trace trace;
        trace.name = group.file + " / " + command.name + " / " + example.name;
        trace.format = TraceFormat::kNative;
        int n = 0;
        for (const ApduExchange& x : example.exchanges) {
          Step step;
          step.kind = StepKind::kCommand;
          step.where = SourceLocation{"apdu-specs/" + group.file + ".json", ++n};
          step.last_line = n;
          ResponseMatcher expect;
          if (!ParseCommandParts(x.command, step.command, error) ||
              !ParseResponseMatcher(x.response, expect, error)) {
            error = trace.name + ", exchange " + std::to_string(n) + ": " + error;
            return false;
          }
          step.expect = std::move(expect);
          trace.steps.push_back(std::move(step));
        }
        out.push_back(std::move(trace));
      }
    }
  }
  return true;
}

}  // namespace dmcard
