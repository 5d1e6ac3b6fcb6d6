// Naming commands from the command reference, following the selected applet per logical channel
// (host/command_namer.h).
#include "host/command_namer.h"

#include <algorithm>
#include <cstdio>

#include "dm/dm_applet.h"
#include "fs/demo_fs.h"
#include "gp/security_domain.h"
#include "runtime/apdu.h"

namespace dmcard {
namespace {

constexpr const char* kRuntimeFile = "runtime";

// The variant text of a P1/P2 meaning: what precedes its first ": " or "; ", without
// parenthesized asides, and, when that is still long, what precedes its first ", ".
// "property P2 (01 ACL, 06 Title): TLV 80 URI, 81 text" → "property P2".
std::string ShortMeaning(const std::string& meaning) {
  std::string s = meaning;
  for (const char* stop : {": ", "; "}) {
    if (size_t at = s.find(stop); at != std::string::npos) s.resize(at);
  }
  std::string out;
  int depth = 0;
  for (char c : s) {
    if (c == '(') {
      if (depth++ == 0 && !out.empty() && out.back() == ' ') out.pop_back();
    } else if (c == ')') {
      if (depth > 0) --depth;
    } else if (depth == 0) {
      out.push_back(c);
    }
  }
  constexpr size_t kLong = 48;
  if (out.size() > kLong) {
    if (size_t at = out.find(", "); at != std::string::npos) out.resize(at);
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ',')) out.pop_back();
  return out;
}

size_t FlatCount(const std::vector<ApduParamValue>& params) {
  return static_cast<size_t>(std::count_if(params.begin(), params.end(),
                                           [](const ApduParamValue& p) { return !p.bit_field(); }));
}

const ApduParamValue* MatchingParam(const std::vector<ApduParamValue>& params, uint8_t value) {
  for (const ApduParamValue& p : params) {
    if (ParamKeyMatches(p, value)) return &p;
  }
  return nullptr;
}

// Whether the header fits the entry's P1 and P2 (an entry without a map takes any value).
bool ParamsFit(const ApduCommandSpec& c, uint8_t p1, uint8_t p2) {
  return (c.p1.empty() || MatchingParam(c.p1, p1) != nullptr) &&
         (c.p2.empty() || MatchingParam(c.p2, p2) != nullptr);
}

// The variant of an entry the header picks: P1's meaning when P1 tells variants apart, else P2's.
std::string Variant(const ApduCommandSpec& c, uint8_t p1, uint8_t p2) {
  const ApduParamValue* v = nullptr;
  if (FlatCount(c.p1) >= 2) {
    v = MatchingParam(c.p1, p1);
  } else if (FlatCount(c.p2) >= 2) {
    v = MatchingParam(c.p2, p2);
  }
  return v != nullptr ? ShortMeaning(v->meaning) : std::string();
}

struct Found {
  const ApduSpecGroup* group = nullptr;
  const ApduCommandSpec* command = nullptr;
};

// The first entry of `groups` (in order) with this INS and class whose P1/P2 fit; else the first
// with this INS and class (a P1/P2 the command does not take is still that command, refused).
Found FindCommand(const std::vector<const ApduSpecGroup*>& groups, uint8_t ins, bool proprietary,
                  uint8_t p1, uint8_t p2) {
  Found loose;
  for (const ApduSpecGroup* g : groups) {
    if (g == nullptr) continue;
    for (const ApduCommandSpec& c : g->commands) {
      if (!c.ins || *c.ins != ins || !c.AcceptsClass(proprietary)) continue;
      if (ParamsFit(c, p1, p2)) return {g, &c};
      // The runtime serves SELECT by DF name (P1 04) only; other SELECTs are an applet's.
      if (g->file == kRuntimeFile && ins == kInsSelect) continue;
      if (loose.command == nullptr) loose = {g, &c};
    }
  }
  return loose;
}

const ApduCommandSpec* FindByName(const ApduSpecGroup* g, const std::string& name) {
  if (g == nullptr) return nullptr;
  for (const ApduCommandSpec& c : g->commands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string Hex2(unsigned v) {
  char buf[4];
  std::snprintf(buf, sizeof buf, "%02X", v & 0xFF);
  return buf;
}

}  // namespace

std::vector<KnownApplet> DmcardApplets() {
  // The registry order of cards/make_card.cc: DM applet, file system, ISD.
  return {
      {dm::DmApplet::DefaultAid(), "dm", "DM applet", "SELECT (DM applet)"},
      {fs::demo::Aid(), "iso-fs", "file-system applet", ""},
      {gp::SecurityDomain::IsdAid(), "", "issuer security domain", ""},
  };
}

std::string CommandName::Describe() const {
  std::vector<std::string> parts;
  if (channel != 0) parts.push_back("channel " + std::to_string(channel));
  if (secure_messaging) parts.push_back("secure messaging");
  if (chained) parts.push_back("chained");
  if (parts.empty()) return name;
  std::string s = name + " [";
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? ", " : "") + parts[i];
  return s + "]";
}

CommandNamer::CommandNamer(const ApduSpecSet& specs, std::vector<KnownApplet> applets,
                           int default_applet)
    : specs_(specs),
      applets_(std::move(applets)),
      default_applet_(default_applet >= 0 && static_cast<size_t>(default_applet) < applets_.size()
                          ? default_applet
                          : -1) {
  Reset();
}

void CommandNamer::Reset() {
  open_.fill(false);
  selected_.fill(-1);
  open_[0] = true;
  selected_[0] = default_applet_;
}

int CommandNamer::SelectedApplet(uint8_t channel) const {
  return channel < kChannels && open_[channel] ? selected_[channel] : -1;
}

int CommandNamer::FindApplet(ByteView aid, uint8_t p2, int current) const {
  // ISO 7816-4 §11.2.2: a DF name of 1 to 16 bytes, full or right-truncated; P2 b2-b1 the
  // occurrence (first, last, next, previous), as the runtime's registry finds it.
  if (aid.empty() || aid.size() > 16) return -1;
  const int n = static_cast<int>(applets_.size());
  auto matches = [&](int i) {
    const Bytes& a = applets_[static_cast<size_t>(i)].aid;
    return aid.size() <= a.size() && std::equal(aid.begin(), aid.end(), a.begin());
  };
  switch (p2 & 0x03) {
    case 0:
      for (int i = 0; i < n; ++i) {
        if (matches(i)) return i;
      }
      return -1;
    case 1:
      for (int i = n - 1; i >= 0; --i) {
        if (matches(i)) return i;
      }
      return -1;
    case 2:
      for (int i = current + 1; i < n; ++i) {
        if (matches(i)) return i;
      }
      return -1;
    default:
      for (int i = (current < 0 ? n : current) - 1; i >= 0; --i) {
        if (matches(i)) return i;
      }
      return -1;
  }
}

CommandName CommandNamer::Name(ByteView command) const {
  CommandName out;
  if (command.size() < 4) {
    out.name = "malformed APDU (" + std::to_string(command.size()) + " byte" +
               (command.size() == 1 ? "" : "s") + ")";
    return out;
  }
  const uint8_t cla = command[0], ins = command[1], p1 = command[2], p2 = command[3];
  const std::optional<ClassByte> cls = DecodeClass(cla);
  if (!cls) {
    out.name = "INS " + Hex2(ins) + " (invalid class " + Hex2(cla) + ")";
    return out;
  }
  out.channel = cls->channel;
  out.secure_messaging = cls->secure_messaging;
  out.chained = cls->chaining;
  const bool proprietary = !cls->interindustry;

  const int selected = SelectedApplet(cls->channel);
  const KnownApplet* applet = selected >= 0 ? &applets_[static_cast<size_t>(selected)] : nullptr;
  const ApduSpecGroup* runtime = specs_.Find(kRuntimeFile);
  const ApduSpecGroup* own =
      applet != nullptr && !applet->spec_file.empty() ? specs_.Find(applet->spec_file) : nullptr;

  Found found;
  if (ins == kInsSelect && p1 == 0x04 && !proprietary) {
    // SELECT by DF name: the runtime selects the applet the name finds; a name no applet has is
    // a DF the selected applet may own (the file system: "SELECT (file)").
    const ParsedApdu parsed = ParseCommand(command, /*allow_extended=*/true);
    const ByteView aid = parsed.error == Sw::kOk ? parsed.command.data : ByteView{};
    const int target = FindApplet(aid, p2, selected);
    if (target >= 0) {
      const KnownApplet& t = applets_[static_cast<size_t>(target)];
      const ApduSpecGroup* g = specs_.Find(t.spec_file);
      if (const ApduCommandSpec* c = FindByName(g, t.select_command)) found = {g, c};
    } else if (own != nullptr) {
      found = FindCommand({own}, ins, proprietary, p1, p2);
      // The applet's own selection entry is not a DF of it.
      if (found.command != nullptr && found.command->name == applet->select_command) found = {};
    }
    if (found.command == nullptr) found = FindCommand({runtime}, ins, proprietary, p1, p2);
  } else {
    // The applet's own entries first (its VERIFY, its SELECT), then what the runtime serves for
    // every applet.
    found = FindCommand({own, runtime}, ins, proprietary, p1, p2);
  }

  if (found.command == nullptr) {
    out.name =
        "INS " + Hex2(ins) + (proprietary ? " (proprietary class)" : " (interindustry class)");
    return out;
  }
  out.spec_file = found.group->file;
  out.spec_command = found.command->name;
  out.name = found.command->name;
  if (ParamsFit(*found.command, p1, p2)) {
    const std::string variant = Variant(*found.command, p1, p2);
    if (!variant.empty()) out.name += ": " + variant;
  }
  return out;
}

void CommandNamer::Observe(ByteView command, ByteView response) {
  if (command.size() < 4 || response.size() < 2) return;
  const uint16_t sw =
      static_cast<uint16_t>((response[response.size() - 2] << 8) | response[response.size() - 1]);
  const std::optional<ClassByte> cls = DecodeClass(command[0]);
  if (!cls || !cls->interindustry || cls->channel >= kChannels) return;
  const uint8_t ch = cls->channel, ins = command[1], p1 = command[2], p2 = command[3];

  if (ins == kInsSelect && p1 == 0x04 && (sw == 0x9000 || (sw >> 8) == 0x61)) {
    const ParsedApdu parsed = ParseCommand(command, /*allow_extended=*/true);
    if (parsed.error != Sw::kOk) return;
    const int target = FindApplet(parsed.command.data, p2, selected_[ch]);
    if (target >= 0) selected_[ch] = target;  // else a DF of the selected applet
    return;
  }
  if (ins == kInsManageChannel && sw == 0x9000) {
    // ISO 7816-4 §11.1.2; §5.4.1: a channel opened from the basic channel gets the default
    // applet, one opened from another channel the applet selected there.
    if (p1 == 0x00) {
      int target = p2;
      if (target == 0) target = response.size() == 3 ? response[0] : -1;
      if (target <= 0 || static_cast<size_t>(target) >= kChannels) return;
      open_[static_cast<size_t>(target)] = true;
      selected_[static_cast<size_t>(target)] = ch == 0 ? default_applet_ : selected_[ch];
    } else if (p1 == 0x80) {
      const int target = p2 != 0 ? p2 : ch;
      if (target <= 0 || static_cast<size_t>(target) >= kChannels) return;
      open_[static_cast<size_t>(target)] = false;
      selected_[static_cast<size_t>(target)] = -1;
    }
  }
}

}  // namespace dmcard
