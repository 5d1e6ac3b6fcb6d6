// Markdown pages of the command reference (host/apdu_reference.h). The output depends on the
// specs alone (no date, no path), so the committed pages can be compared byte for byte.
#include "host/apdu_reference.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "host/command_namer.h"
#include "runtime/bytes.h"

namespace dmcard {
namespace {

const char* kRegenerate = "ninja apdu-reference";

std::string Banner(const std::string& source) {
  return "<!-- Generated from " + source + " by dmcard-specdoc (apdu-specs/specdoc.cc). Do not " +
         "edit: change the JSON and run `" + kRegenerate + "`. -->\n\n";
}

// A table cell: no line breaks, '|' escaped.
std::string Cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// GitHub's heading anchors: lower case, spaces to '-', punctuation other than '-' and '_' gone.
std::string Anchor(const std::string& heading) {
  std::string out;
  for (unsigned char c : heading) {
    if (std::isalnum(c) || c == '-' || c == '_') {
      out += static_cast<char>(std::tolower(c));
    } else if (c == ' ') {
      out += '-';
    } else if (c >= 0x80) {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Anchors of a page, unique as GitHub makes them ("name", "name-1", ...).
class Anchors {
 public:
  std::string Next(const std::string& heading) {
    const std::string base = Anchor(heading);
    const int n = seen_[base]++;
    return n == 0 ? base : base + "-" + std::to_string(n);
  }

 private:
  std::map<std::string, int> seen_;
};

std::string Hex2(unsigned v) {
  const char* digits = "0123456789ABCDEF";
  return {digits[(v >> 4) & 0xF], digits[v & 0xF]};
}

std::string PageTitle(const ApduSpecGroup& g) {
  if (g.file == "runtime") return "Runtime commands";
  if (g.file == "iso-fs") return "File-system applet commands";
  if (g.file == "dm") return "OMA DM applet commands";
  return "Commands of " + g.group;
}

// "P1" rows of the header table; a bit field gives a row per value ("b4-b3 = 01").
void ParamRows(const char* label, const std::vector<ApduParamValue>& params, std::string& out) {
  if (params.empty()) {
    out += std::string("| ") + label + " | | |\n";
    return;
  }
  bool first = true;
  for (const ApduParamValue& p : params) {
    if (p.bit_field()) {
      for (const ApduParamValue& f : p.fields) {
        out += std::string("| ") + (first ? label : "") + " | " + Cell(p.key) + " = " +
               Cell(f.key) + " | " + Cell(f.meaning) + " |\n";
        first = false;
      }
    } else {
      out += std::string("| ") + (first ? label : "") + " | " + Cell(p.key) + " | " +
             Cell(p.meaning) + " |\n";
      first = false;
    }
  }
}

std::string StripSpaces(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c != ' ') out += c;
  }
  return out;
}

// An example's exchanges as a text block: the command's name (from the command namer, which
// follows the selections of the example as the card does), "> command", "< response" and the
// meaning of the response's status word.
void ExampleBlock(const ApduSpecSet& specs, const ApduExample& ex, std::string& out) {
  out += "*" + ex.name + "*\n\n```text\n";
  CommandNamer namer(specs);  // every example starts on a freshly powered card
  for (const ApduExchange& x : ex.exchanges) {
    const std::optional<Bytes> cmd = FromHex(StripSpaces(x.command));
    std::string r = StripSpaces(x.response);
    std::replace(r.begin(), r.end(), '?', '0');
    const std::optional<Bytes> rsp = FromHex(r);
    if (cmd) out += "# " + namer.Name(*cmd).Describe() + "\n";
    out += "> " + x.command + "\n< " + x.response;
    const std::string plain = StripSpaces(x.response);
    if (rsp && rsp->size() >= 2 && plain.substr(plain.size() - 4).find('?') == std::string::npos) {
      const uint16_t sw = static_cast<uint16_t>(((*rsp)[rsp->size() - 2] << 8) | rsp->back());
      out += "   (" + StatusWordMeaning(specs, sw) + ")";
    }
    out += "\n";
    if (cmd && rsp) namer.Observe(*cmd, *rsp);
  }
  out += "```\n\n";
}

void CommandSection(const ApduSpecSet& specs, const ApduCommandSpec& c, std::string& out) {
  out += "## " + c.name + "\n\n";
  out += "| Field | Value | Meaning |\n|---|---|---|\n";
  out += "| CLA | " + Cell(c.cla_text) + " | |\n";
  out += "| INS | " + Cell(c.ins_text) + " | |\n";
  ParamRows("P1", c.p1, out);
  ParamRows("P2", c.p2, out);
  out += "\n";
  if (!c.data.empty()) out += "**Data:** " + c.data + "\n\n";
  if (!c.le.empty()) out += "**Le:** " + c.le + "\n\n";
  if (!c.status_words.empty()) {
    out += "**Status words**\n\n| SW | Meaning |\n|---|---|\n";
    for (const std::string& sw : c.status_words) {
      std::string meaning = "(not defined in runtime.json)";
      for (const StatusWordSpec& s : specs.StatusWords()) {
        if (s.pattern == sw) meaning = s.meaning;
      }
      out += "| " + Cell(sw) + " | " + Cell(meaning) + " |\n";
    }
    out += "\n";
  }
  if (!c.notes.empty()) out += "**Notes:** " + c.notes + "\n\n";
  if (!c.reference.empty()) out += "**Reference:** " + c.reference + "\n\n";
  if (!c.examples.empty()) {
    out += "**Examples**\n\n";
    for (const ApduExample& ex : c.examples) ExampleBlock(specs, ex, out);
  }
}

std::string GroupPage(const ApduSpecSet& specs, const ApduSpecGroup& g) {
  std::string out = Banner("apdu-specs/" + g.file + ".json");
  out += "# " + PageTitle(g) + "\n\n";
  if (!g.description.empty()) out += g.description + "\n\n";
  if (!g.requirements.empty()) {
    out += "Requirements:";
    for (size_t i = 0; i < g.requirements.size(); ++i) {
      out += (i ? ", " : " ") + g.requirements[i];
    }
    out += ".\n\n";
  }
  out += "[All command groups](index.md)\n\n";
  out += "| Command | CLA | INS |\n|---|---|---|\n";
  Anchors anchors;
  for (const ApduCommandSpec& c : g.commands) {
    out += "| [" + Cell(c.name) + "](#" + anchors.Next(c.name) + ") | " + Cell(c.cla_text) + " | " +
           Cell(c.ins_text) + " |\n";
  }
  out += "\n";
  for (const ApduCommandSpec& c : g.commands) CommandSection(specs, c, out);
  if (!g.status_words.empty()) {
    out +=
        "## Status words\n\nEvery status word a command lists, and what it means (`x`: a "
        "digit that varies).\n\n| SW | Meaning |\n|---|---|\n";
    for (const StatusWordSpec& s : g.status_words) {
      out += "| " + Cell(s.pattern) + " | " + Cell(s.meaning) + " |\n";
    }
    out += "\n";
  }
  while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') {
    out.pop_back();
  }
  return out;
}

std::string IndexPage(const ApduSpecSet& specs) {
  std::string out = Banner("apdu-specs/*.json");
  out += "# Command reference\n\n";
  out +=
      "The card's commands, one page per group, generated from the machine-readable reference "
      "in `apdu-specs/*.json` (format: [../README.md](../README.md)). The examples are "
      "exchanges with the built-in demo card, replayed by the unit tests `ApduSpecs.*`; each "
      "starts on a freshly powered card. Each exchange is headed by the name the host tools "
      "give the command (`host/command_namer.h`).\n\n";
  out += "| Page | Group | Commands |\n|---|---|---|\n";
  for (const ApduSpecGroup& g : specs.groups) {
    out += "| [" + PageTitle(g) + "](" + g.file + ".md) | `" + g.group + "` (" + g.file +
           ".json) | " + std::to_string(g.commands.size()) + " |\n";
  }
  out +=
      "\n## By instruction\n\nThe same INS is a different command in different applets: the "
      "command depends on the applet selected on the logical channel.\n\n";
  struct Row {
    std::string ins, cla, name, page;
  };
  std::vector<Row> rows;
  for (const ApduSpecGroup& g : specs.groups) {
    Anchors anchors;
    for (const ApduCommandSpec& c : g.commands) {
      const std::string link = g.file + ".md#" + anchors.Next(c.name);
      rows.push_back({c.ins ? Hex2(*c.ins) : c.ins_text, c.cla_text,
                      "[" + Cell(c.name) + "](" + link + ")", PageTitle(g)});
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    const bool ah = a.ins.size() == 2, bh = b.ins.size() == 2;  // prose INS last
    return ah != bh ? ah : (ah && a.ins < b.ins);
  });
  out += "| INS | CLA | Command | Page |\n|---|---|---|---|\n";
  for (const Row& r : rows) {
    out += "| " + Cell(r.ins) + " | " + Cell(r.cla) + " | " + r.name + " | " + r.page + " |\n";
  }
  if (specs.Find("runtime") != nullptr && !specs.StatusWords().empty()) {
    out += "\nStatus words: [runtime.md](runtime.md#status-words).\n";
  }
  return out;
}

}  // namespace

std::vector<ReferencePage> ApduReferencePages(const ApduSpecSet& specs) {
  std::vector<ReferencePage> pages;
  pages.push_back({"index.md", IndexPage(specs)});
  for (const ApduSpecGroup& g : specs.groups)
    pages.push_back({g.file + ".md", GroupPage(specs, g)});
  return pages;
}

}  // namespace dmcard
