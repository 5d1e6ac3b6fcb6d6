#include "dm_commands.h"

#include <cstdio>
#include <functional>

#include "host/apdu_spec.h"
#include "host/dms.h"
#include "host/profile_file.h"

namespace dmcard::cli {

namespace {

// One DM command through the session; prints why when it could not run. nullopt then.
std::optional<Bytes> Command(DmSession& s, const std::optional<Bytes>& apdu,
                             const std::string& error_so_far) {
  if (!apdu) {
    std::fprintf(stderr, "dmcard: %s\n", error_so_far.c_str());
    return std::nullopt;
  }
  Bytes r;
  std::string error;
  if (!s.Transmit(*apdu, r, error)) {
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return std::nullopt;
  }
  return r;
}

// A value given on the command line: text, or "hex:" and the bytes.
std::optional<Bytes> ValueBytes(const std::string& text) {
  if (text.rfind("hex:", 0) == 0) return FromHex(text.substr(4));
  return Bytes(text.begin(), text.end());
}

// Draws the tree under `uri` as the session may read it: interior nodes with their children,
// leaves with their values; what the card refuses says so.
bool DrawTree(DmSession& s, const std::string& uri, const std::string& prefix,
              const std::string& label, bool last, bool root) {
  std::string error;
  auto kids = Command(s, DmsGetChildren(uri, error), error);
  if (!kids) return false;
  const uint16_t sw = StatusWordOf(*kids);
  const std::string branch = root ? "" : prefix + (last ? "└── " : "├── ");
  const std::string below = root ? "" : prefix + (last ? "    " : "│   ");
  if (sw == 0x9000) {
    std::printf("%s%s\n", branch.c_str(), label.c_str());
    const std::vector<std::string> names = DmsChildNames(DataOf(*kids));
    for (size_t i = 0; i < names.size(); ++i) {
      if (!DrawTree(s, uri + "/" + names[i], below, names[i], i + 1 == names.size(), false)) {
        return false;
      }
    }
    return true;
  }
  // A leaf answers GET of its children 6986 (command not allowed on a leaf); read its value.
  if (sw == 0x6986) {
    auto value = Command(s, DmsGetValue(uri, error), error);
    if (!value) return false;
    const uint16_t vsw = StatusWordOf(*value);
    const std::string text = vsw == 0x9000   ? DmsValueText(DataOf(*value))
                             : vsw == 0x6982 ? "(not readable)"
                                             : "(" + DmsStatusText(vsw) + ")";
    std::printf("%s%s = %s\n", branch.c_str(), label.c_str(), text.c_str());
    return true;
  }
  std::printf("%s%s (%s)\n", branch.c_str(), label.c_str(),
              sw == 0x6982 ? "not readable" : DmsStatusText(sw).c_str());
  return true;
}

int Tree(DmSession& s, const std::string& uri, bool tnds) {
  if (!tnds) return DrawTree(s, uri, "", uri, true, true) ? kExitOk : kExitFailed;
  Bytes apdu{0x80, 0x3A, 0x00, 0x00};
  std::string error;
  auto get = DmsGetValue(uri, error);  // for its URI check only
  if (!get) {
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return kExitUsage;
  }
  apdu.push_back(static_cast<uint8_t>(uri.size()));
  apdu.insert(apdu.end(), uri.begin(), uri.end());
  apdu.push_back(0x00);
  auto r = Command(s, apdu, "");
  if (!r) return kExitFailed;
  if (StatusWordOf(*r) != 0x9000) {
    std::fprintf(stderr, "dmcard: EXPORT of %s refused: %s%s\n", uri.c_str(),
                 DmsStatusText(StatusWordOf(*r)).c_str(),
                 StatusWordOf(*r) == 0x6A80 || StatusWordOf(*r) == 0x6982
                     ? " (every node of the subtree must be readable; try a smaller subtree)"
                     : "");
    return kExitFailed;
  }
  const Bytes xml = DataOf(*r);
  std::fwrite(xml.data(), 1, xml.size(), stdout);
  if (xml.empty() || xml.back() != '\n') std::printf("\n");
  return kExitOk;
}

// Prints the answer of a command that changes the tree: "OK" or why not. 0 or 1.
int Outcome(const std::string& what, const Bytes& r) {
  const uint16_t sw = StatusWordOf(r);
  if (sw == 0x9000) {
    std::printf("%s: OK\n", what.c_str());
    return kExitOk;
  }
  std::printf("%s: refused, %s\n", what.c_str(), DmsStatusText(sw).c_str());
  return kExitFailed;
}

int GetValues(DmSession& s, const std::vector<std::string>& uris) {
  int rc = kExitOk;
  for (const std::string& uri : uris) {
    std::string error;
    auto r = Command(s, DmsGetValue(uri, error), error);
    if (!r) return kExitFailed;
    uint16_t sw = StatusWordOf(*r);
    if (sw == 0x9000) {
      std::printf("%s = %s\n", uri.c_str(), DmsValueText(DataOf(*r)).c_str());
      continue;
    }
    if (sw == 0x6986) {  // an interior node: its children
      auto kids = Command(s, DmsGetChildren(uri, error), error);
      if (!kids) return kExitFailed;
      sw = StatusWordOf(*kids);
      if (sw == 0x9000) {
        std::string list;
        for (const std::string& n : DmsChildNames(DataOf(*kids)))
          list += (list.empty() ? "" : " ") + n;
        std::printf("%s/ %s\n", uri.c_str(), list.c_str());
        continue;
      }
    }
    const bool not_dm = sw == 0x6E00 || sw == 0x6D00;
    std::printf("%s: %s%s\n", uri.c_str(), DmsStatusText(sw).c_str(),
                not_dm ? " — is the DM applet selected? ('select dm')" : "");
    rc = kExitFailed;
  }
  return rc;
}

int Log(DmSession& s) {
  std::vector<DmsEvent> all;
  uint32_t from = 0;
  for (int page = 0; page < 64; ++page) {
    auto r = Command(s, DmsEventLogCommand(from), "");
    if (!r) return kExitFailed;
    if (StatusWordOf(*r) != 0x9000) {
      std::fprintf(stderr, "dmcard: the event log was refused: %s\n",
                   DmsStatusText(StatusWordOf(*r)).c_str());
      return kExitFailed;
    }
    std::string error;
    auto events = DecodeEventLog(DataOf(*r), error);
    if (!events) {
      std::fprintf(stderr, "dmcard: the card's event log does not decode: %s\n", error.c_str());
      return kExitFailed;
    }
    if (events->empty()) break;
    all.insert(all.end(), events->begin(), events->end());
    const uint32_t next = events->back().counter + 1;
    if (next <= from) break;
    from = next;
  }
  if (all.empty()) std::printf("(the event log is empty)\n");
  for (const DmsEvent& e : all) std::printf("%s\n", EventLine(e).c_str());
  return kExitOk;
}

// UC521: what a helpdesk operator asks a card in one report — the card, its DM content, the
// device's properties, the configuration and the event log.
int Helpdesk(Reader& reader, DmSession& s) {
  std::string error;
  std::printf("UC521 helpdesk report: %s\n\n", reader.name().c_str());
  Bytes atr;
  if (reader.Connect(atr, error)) std::printf("Card\n  ATR %s\n", ToHex(atr, ' ').c_str());
  if (auto d = DecodeDmDescriptor(s.select_response(), error)) {
    std::printf("  DM applet version %u.%u, tree format %u\n", d->applet_version >> 8,
                d->applet_version & 0xFF, d->tree_format);
    std::printf("  tree generation %u, digest %s\n", d->generation, ToHex(d->digest).c_str());
    std::printf("  flags: %s\n  capabilities: %s\n", d->FlagsText().c_str(),
                d->CapabilitiesText().c_str());
  } else {
    std::printf("  %s\n", error.c_str());
  }
  int rc = kExitOk;
  const std::pair<const char*, const char*> sections[] = {
      {"Device properties (DevInfo)", "./DevInfo"},
      {"Device details, capabilities and versions (DevDetail)", "./DevDetail"},
      {"DM accounts (DMAcc)", "./DMAcc"},
      {"Connectivity (Con)", "./Con"},
      {"Vendor configuration and user preferences (Vendor)", "./Vendor"},
  };
  for (const auto& [title, uri] : sections) {
    std::printf("\n%s\n", title);
    std::fflush(stdout);
    if (!DrawTree(s, uri, "", uri, true, true)) rc = kExitFailed;
  }
  std::printf("\nEvent log\n");
  std::fflush(stdout);
  if (Log(s) != kExitOk) rc = kExitFailed;
  return rc;
}

bool LevelOk(const std::string& level) {
  static const std::vector<std::string> kLevels = {"01", "03", "13", "33"};
  if (std::find(kLevels.begin(), kLevels.end(), level) != kLevels.end()) return true;
  std::fprintf(stderr, "dmcard: --level must be 01, 03, 13 or 33, not '%s'\n", level.c_str());
  return false;
}

}  // namespace

int PrintValues(DmSession& session, const std::vector<std::string>& uris) {
  return GetValues(session, uris);
}

bool PrintTree(DmSession& session, const std::string& uri) {
  return DrawTree(session, uri, "", uri, true, true);
}

int RunTree(const CardOptions& card, const std::string& uri, bool tnds) {
  auto reader = OpenReader(card, /*direct_by_default=*/false);
  if (!reader) return kExitFailed;
  std::string error;
  auto session = DmSession::OpenPlain(*reader, error);
  if (!session) {
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return kExitFailed;
  }
  return Tree(*session, uri, tnds);
}

int RunDms(const CardOptions& card, const DmsAuth& auth, const DmsRequest& req) {
  if (!LevelOk(auth.level)) return kExitUsage;
  std::string error;
  auto keys = FindKeySet(auth.keys, error);
  if (!keys) {
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return kExitUsage;
  }
  std::optional<Bytes> value;
  if (req.has_value) {
    value = ValueBytes(req.value);
    if (!value) {
      std::fprintf(stderr, "dmcard: '%s' is not a value: text, or hex: and hex digits\n",
                   req.value.c_str());
      return kExitUsage;
    }
  }
  auto reader = OpenReader(card, /*direct_by_default=*/false);
  if (!reader) return kExitFailed;
  const uint8_t level = static_cast<uint8_t>(std::stoi(auth.level, nullptr, 16));
  auto session = DmSession::OpenSecure(*reader, *keys, level, error);
  if (!session) {
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return kExitFailed;
  }
  DmSession& s = *session;
  const std::string uri = req.uri.empty() ? "." : req.uri;
  if (req.verb == "get") return GetValues(s, req.uris);
  if (req.verb == "tree") return Tree(s, uri, req.tnds);
  if (req.verb == "log") return Log(s);
  if (req.verb == "helpdesk") return Helpdesk(*reader, s);
  std::optional<Bytes> apdu;
  if (req.verb == "add") {
    DmsAdd add;
    add.uri = uri;
    add.format = req.has_value ? req.format : "node";
    add.value = value;
    add.type = req.type;
    add.acl = req.acl;
    add.secret = req.secret;
    apdu = DmsAddCommand(add, error);
  } else if (req.verb == "replace") {
    if (req.property.empty()) {
      apdu = DmsReplaceValue(uri, *value, error);
    } else {
      auto property = DmsPropertyByName(req.property);
      if (!property) {
        std::fprintf(stderr, "dmcard: --property must be ACL or Title, not '%s'\n",
                     req.property.c_str());
        return kExitUsage;
      }
      apdu = DmsReplaceProperty(uri, *property, std::string(value->begin(), value->end()), error);
    }
  } else if (req.verb == "delete") {
    apdu = DmsDelete(uri, error);
  } else if (req.verb == "exec") {
    apdu = DmsExec(uri, value.value_or(Bytes{}), error);
  }
  if (!apdu) {
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return kExitUsage;
  }
  auto r = Command(s, apdu, "");
  if (!r) return kExitFailed;
  return Outcome(req.verb + " " + uri, *r);
}

}  // namespace dmcard::cli

namespace dmcard::cli {

int RunPersonalize(const CardOptions& card, const std::string& profile_file,
                   const std::string& issuer_keys, const std::string& level) {
  if (!LevelOk(level)) return kExitUsage;
  std::string error;
  auto keys = FindKeySet({issuer_keys.empty() ? profile_file : issuer_keys, "@issuer"}, error);
  if (!keys) {
    std::fprintf(stderr, "dmcard: %s (personalization needs the issuer's key set: --issuer-keys)\n",
                 error.c_str());
    return kExitUsage;
  }
  // The card's own profile rules first (host/profile_file.h: every field checked, unknown ones
  // refused), then the personalization reader that turns the profile into DGIs.
  auto profile =
      LoadProfile(profile_file, error) ? ReadHostProfile(profile_file, error) : std::nullopt;
  if (!profile) {
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return kExitUsage;
  }
  auto dgis = PersonalizationDgis(*profile, keys->dek, error);
  auto blocks = dgis ? StoreDataCommands(*dgis, error) : std::nullopt;
  if (!blocks) {
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return kExitUsage;
  }
  auto reader = OpenReader(card, /*direct_by_default=*/false);
  if (!reader) return kExitFailed;
  auto session = DmSession::OpenSecure(*reader, *keys,
                                       static_cast<uint8_t>(std::stoi(level, nullptr, 16)), error);
  if (!session) {
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return kExitFailed;
  }
  std::printf("personalizing %s from %s: %zu DGIs in %zu STORE DATA blocks, SCP03 level %s\n",
              reader->name().c_str(), profile_file.c_str(), dgis->size(), blocks->size(),
              level.c_str());
  for (size_t i = 0; i < blocks->size(); ++i) {
    Bytes r;
    if (!session->Transmit((*blocks)[i], r, error)) {
      std::fprintf(stderr, "dmcard: block %zu: %s\n", i, error.c_str());
      return kExitFailed;
    }
    if (StatusWordOf(r) != 0x9000) {
      std::fprintf(stderr,
                   "dmcard: block %zu of %zu refused: %s; the card applies a sequence whole or "
                   "not at all, so nothing changed\n",
                   i, blocks->size(), DmsStatusText(StatusWordOf(r)).c_str());
      return kExitFailed;
    }
  }
  std::string list;
  for (const HostDgi& d : *dgis) {
    list += (list.empty() ? "" : " ") +
            ToHex(Bytes{static_cast<uint8_t>(d.tag >> 8), static_cast<uint8_t>(d.tag)});
  }
  std::printf("done: the card holds the profile (DGIs %s)\n", list.c_str());
  PrintNotices(*reader);
  return kExitOk;
}

}  // namespace dmcard::cli
