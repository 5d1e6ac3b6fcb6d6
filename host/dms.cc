// The DM server's tree commands and answers (host/dms.h).
#include "host/dms.h"
#include "runtime/tlv.h"

#include <algorithm>
#include <cctype>
#include <ctime>

namespace dmcard {

namespace {

constexpr uint8_t kCla = 0x80;
constexpr size_t kMaxUri = 255;  // OMA DM DevDetail/URI MaxTotLen of the card

Bytes TextBytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

bool CheckUri(const std::string& uri, std::string& error) {
  if (uri.empty() || uri.size() > kMaxUri) {
    error = "a URI is 1 to " + std::to_string(kMaxUri) + " characters";
    return false;
  }
  if (uri != "." && uri.rfind("./", 0) != 0) {
    error = "\"" + uri + "\": an absolute URI starts with ./ (e.g. ./DevInfo/Man)";
    return false;
  }
  return true;
}

// One TLV read from `data` at `pos`; false when the data is cut or malformed.
bool ReadTlv(ByteView data, size_t& pos, uint8_t& tag, ByteView& value) {
  if (pos + 2 > data.size()) return false;
  tag = data[pos++];
  size_t n = data[pos++];
  if (n == 0x81 || n == 0x82) {
    const size_t bytes = n - 0x80;
    if (pos + bytes > data.size()) return false;
    n = 0;
    for (size_t i = 0; i < bytes; ++i) n = (n << 8) | data[pos++];
  } else if (n > 0x7F) {
    return false;
  }
  if (n > data.size() - pos) return false;
  value = data.subspan(pos, n);
  pos += n;
  return true;
}

// A C-APDU 80 INS P1 P2 with `data`: short when it fits, else extended; `le` adds Le 00 (00 00).
std::optional<Bytes> Command(uint8_t ins, uint8_t p1, uint8_t p2, ByteView data, bool le,
                             std::string& error) {
  if (data.size() > 0xFFFF) {
    error = "the command data exceeds 65535 bytes";
    return std::nullopt;
  }
  Bytes c = {kCla, ins, p1, p2};
  const bool extended = data.size() > 0xFF;
  if (!data.empty()) {
    if (extended) {
      c.push_back(0x00);
      c.push_back(static_cast<uint8_t>(data.size() >> 8));
    }
    c.push_back(static_cast<uint8_t>(data.size()));
    Append(c, data);
  }
  if (le) {
    c.push_back(0x00);
    if (extended) c.push_back(0x00);
  }
  return c;
}

std::optional<Bytes> Get(const std::string& uri, uint8_t p1, uint8_t p2, std::string& error) {
  if (!CheckUri(uri, error)) return std::nullopt;
  return Command(0x30, p1, p2, TextBytes(uri), /*le=*/true, error);
}

bool Printable(ByteView v) {
  // UTF-8 is taken as it is (bytes 80 and above); C0 controls other than tab, LF, CR and DEL are
  // not text.
  return std::all_of(v.begin(), v.end(), [](uint8_t c) {
    return c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c != 0x7F);
  });
}

uint64_t BigEndian(ByteView v) {
  uint64_t n = 0;
  for (uint8_t b : v) n = (n << 8) | b;
  return n;
}

std::string Hex2(uint8_t b) { return ToHex(Bytes{b}); }

std::string UtcText(int64_t seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return std::to_string(seconds) + "s";
  char text[32];
  const size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return n == 0 ? std::to_string(seconds) + "s" : std::string(text, n);
}

// What the kind's reason means (apdu-specs/dm.json, GET DATA E1).
std::string KindAndReason(const DmsEvent& e) {
  switch (e.kind) {
    case 0x01: {
      static const char* const kMethods[] = {"NETWPIN", "USERPIN", "USERNETWPIN", "USERPINMAC"};
      std::string method = e.reason < 4       ? kMethods[e.reason]
                           : e.reason == 0x10 ? "HMAC-SHA256"
                           : e.reason == 0x11 ? "ECDSA-P256"
                                              : "method " + Hex2(e.reason);
      return "bootstrap accepted (" + method + ")";
    }
    case 0x02: {
      static const char* const kWhy[] = {"", "wrong MAC", "replayed", "locked out", "no key"};
      return std::string("bootstrap rejected (") +
             (e.reason >= 1 && e.reason <= 4 ? kWhy[e.reason] : "reason " + Hex2(e.reason)) + ")";
    }
    case 0x03:
      return "SCP03 authentication failed (SW low byte " + Hex2(e.reason) + ")";
    case 0x04:
      return "credential failed (SW low byte " + Hex2(e.reason) + ")";
    case 0x05: {
      const char* ins = e.reason == 0x32   ? "ADD"
                        : e.reason == 0x34 ? "REPLACE"
                        : e.reason == 0x36 ? "DELETE"
                        : e.reason == 0x38 ? "EXEC"
                        : e.reason == 0xE2 ? "STORE DATA"
                        : e.reason == 0x42 ? "VERIFY BOOTSTRAP"
                                           : nullptr;
      return std::string("tree changed by ") + (ins != nullptr ? ins : "INS " + Hex2(e.reason));
    }
    case 0x06:
      return "PIN blocked (reference " + Hex2(e.reason) + ")";
    case 0x07: {
      const char* what = e.reason == 0x00   ? "not allowed"
                         : e.reason == 0x01 ? "allowed: listed"
                         : e.reason == 0x02 ? "allowed: signed"
                         : e.reason == 0xFF ? "refused: bad signature"
                                            : nullptr;
      return std::string("FUMO decision (") +
             (what != nullptr ? what : "reason " + Hex2(e.reason)) + ")";
    }
    default:
      return "kind " + Hex2(e.kind) + " reason " + Hex2(e.reason);
  }
}

}  // namespace

std::string DmsPropertyName(DmsProperty p) {
  static const char* const kNames[] = {"ACL",  "Format", "Type",   "Name",
                                       "Size", "Title",  "TStamp", "VerNo"};
  const auto i = static_cast<uint8_t>(p);
  return i >= 1 && i <= 8 ? kNames[i - 1] : "property " + Hex2(i);
}

std::optional<DmsProperty> DmsPropertyByName(const std::string& name) {
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (uint8_t i = 1; i <= 8; ++i) {
    const auto p = static_cast<DmsProperty>(i);
    if (lower(DmsPropertyName(p)) == lower(name)) return p;
  }
  return std::nullopt;
}

std::optional<Bytes> DmsGetValue(const std::string& uri, std::string& error) {
  return Get(uri, 0x00, 0x00, error);
}

std::optional<Bytes> DmsGetProperty(const std::string& uri, DmsProperty property,
                                    std::string& error) {
  const auto p = static_cast<uint8_t>(property);
  if (p < 1 || p > 8) {
    error = "unknown property " + Hex2(p);
    return std::nullopt;
  }
  return Get(uri, 0x01, p, error);
}

std::optional<Bytes> DmsGetChildren(const std::string& uri, std::string& error) {
  return Get(uri, 0x02, 0x00, error);
}

std::optional<Bytes> DmsGetProperties(const std::string& uri, std::string& error) {
  return Get(uri, 0x03, 0x00, error);
}

std::optional<Bytes> DmsAddCommand(const DmsAdd& add, std::string& error) {
  if (!CheckUri(add.uri, error)) return std::nullopt;
  static const char* const kFormats[] = {"node", "chr",  "int",  "bool",  "bin", "b64",
                                         "xml",  "date", "time", "float", "null"};
  if (std::find(std::begin(kFormats), std::end(kFormats), add.format) == std::end(kFormats)) {
    error = "format \"" + add.format +
            "\": one of node, chr, int, bool, bin, b64, xml, date, time, float, null";
    return std::nullopt;
  }
  if (add.format == "node" && (add.value || add.secret)) {
    error = "an interior node (format node) has no value and cannot be secret";
    return std::nullopt;
  }
  Bytes data;
  AppendTlv(data, 0x80, TextBytes(add.uri));
  AppendTlv(data, 0x82, TextBytes(add.format));
  if (add.value) AppendTlv(data, 0x81, *add.value);
  if (!add.type.empty()) AppendTlv(data, 0x83, TextBytes(add.type));
  if (!add.acl.empty()) AppendTlv(data, 0x84, TextBytes(add.acl));
  if (add.secret) AppendTlv(data, 0x85, Bytes{0x01});
  return Command(0x32, 0x00, 0x00, data, /*le=*/false, error);
}

std::optional<Bytes> DmsReplaceValue(const std::string& uri, ByteView value, std::string& error) {
  if (!CheckUri(uri, error)) return std::nullopt;
  Bytes data;
  AppendTlv(data, 0x80, TextBytes(uri));
  AppendTlv(data, 0x81, value);
  return Command(0x34, 0x00, 0x00, data, /*le=*/false, error);
}

std::optional<Bytes> DmsReplaceProperty(const std::string& uri, DmsProperty property,
                                        const std::string& text, std::string& error) {
  if (property != DmsProperty::kAcl && property != DmsProperty::kTitle) {
    error = "REPLACE changes a node's ACL or Title only, not its " + DmsPropertyName(property);
    return std::nullopt;
  }
  if (!CheckUri(uri, error)) return std::nullopt;
  Bytes data;
  AppendTlv(data, 0x80, TextBytes(uri));
  AppendTlv(data, 0x81, TextBytes(text));
  return Command(0x34, 0x01, static_cast<uint8_t>(property), data, /*le=*/false, error);
}

std::optional<Bytes> DmsDelete(const std::string& uri, std::string& error) {
  if (!CheckUri(uri, error)) return std::nullopt;
  return Command(0x36, 0x00, 0x00, TextBytes(uri), /*le=*/false, error);
}

std::optional<Bytes> DmsExec(const std::string& uri, ByteView data, std::string& error) {
  if (!CheckUri(uri, error)) return std::nullopt;
  Bytes tlvs;
  AppendTlv(tlvs, 0x80, TextBytes(uri));
  if (!data.empty()) AppendTlv(tlvs, 0x81, data);
  return Command(0x38, 0x00, 0x00, tlvs, /*le=*/false, error);
}

Bytes DmsEventLogCommand(uint32_t from) {
  Bytes c = {kCla, 0xCA, 0x00, 0xE1};
  if (from != 0) {
    c.push_back(0x04);
    AppendU32(c, from);
  }
  c.push_back(0x00);
  return c;
}

std::string DmsValueText(ByteView value) {
  return Printable(value) ? std::string(value.begin(), value.end()) : "hex:" + ToHex(value);
}

std::vector<std::string> DmsChildNames(ByteView data) {
  std::vector<std::string> names;
  if (data.empty()) return names;
  const std::string text(data.begin(), data.end());
  size_t start = 0;
  while (true) {
    const size_t slash = text.find('/', start);
    names.push_back(text.substr(start, slash == std::string::npos ? slash : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return names;
}

std::optional<std::string> DmsNodeProperties::Get(DmsProperty p) const {
  for (const auto& [property, text] : items) {
    if (property == p) return text;
  }
  return std::nullopt;
}

std::optional<DmsNodeProperties> DecodeDmsProperties(ByteView data, std::string& error) {
  DmsNodeProperties props;
  size_t pos = 0;
  while (pos < data.size()) {
    uint8_t tag = 0;
    ByteView value;
    if (!ReadTlv(data, pos, tag, value) || tag < 0x81 || tag > 0x88) {
      error = "the properties are not TLVs 81 to 88";
      return std::nullopt;
    }
    props.items.emplace_back(static_cast<DmsProperty>(tag & 0x0F),
                             std::string(value.begin(), value.end()));
  }
  return props;
}

std::optional<std::vector<DmsEvent>> DecodeEventLog(ByteView data, std::string& error) {
  size_t pos = 0;
  uint8_t tag = 0;
  ByteView entries;
  if (!ReadTlv(data, pos, tag, entries) || tag != 0xE1 || pos != data.size()) {
    error = "the event log is not one E1 template";
    return std::nullopt;
  }
  std::vector<DmsEvent> events;
  pos = 0;
  while (pos < entries.size()) {
    ByteView entry;
    if (!ReadTlv(entries, pos, tag, entry) || tag != 0xE2) {
      error = "an event-log entry is not an E2 template";
      return std::nullopt;
    }
    DmsEvent e;
    bool seen[6] = {};
    size_t at = 0;
    while (at < entry.size()) {
      ByteView v;
      if (!ReadTlv(entry, at, tag, v) || tag < 0x80 || tag > 0x85 || seen[tag - 0x80]) {
        error = "event-log entry " + std::to_string(events.size()) + ": malformed field";
        return std::nullopt;
      }
      seen[tag - 0x80] = true;
      const size_t need[] = {4, 8, 1, 1};
      if (tag <= 0x83 && v.size() != need[tag - 0x80]) {
        error = "event-log entry " + std::to_string(events.size()) + ": field " + Hex2(tag) +
                " of " + std::to_string(v.size()) + " bytes";
        return std::nullopt;
      }
      switch (tag) {
        case 0x80:
          e.counter = static_cast<uint32_t>(BigEndian(v));
          break;
        case 0x81:
          e.time = static_cast<int64_t>(BigEndian(v));  // two's complement
          break;
        case 0x82:
          e.kind = v[0];
          break;
        case 0x83:
          e.reason = v[0];
          break;
        case 0x84:
          e.principal.assign(v.begin(), v.end());
          break;
        default:
          e.detail.assign(v.begin(), v.end());
      }
    }
    if (!seen[0] || !seen[1] || !seen[2] || !seen[3]) {
      error = "event-log entry " + std::to_string(events.size()) +
              ": counter, time, kind or "
              "reason missing";
      return std::nullopt;
    }
    events.push_back(std::move(e));
  }
  return events;
}

std::string EventLine(const DmsEvent& e) {
  std::string line = "#" + std::to_string(e.counter) + " " + UtcText(e.time) + " " +
                     (e.principal.empty() ? "(nobody)" : e.principal) + ": " + KindAndReason(e);
  if (!e.detail.empty()) line += " — " + DmsValueText(e.detail);
  return line;
}

std::string DmsStatusText(uint16_t sw) {
  const std::string code = ToHex(Bytes{static_cast<uint8_t>(sw >> 8), static_cast<uint8_t>(sw)});
  if ((sw & 0xFFF0) == 0x63C0) {
    return code + " verification failed, " + std::to_string(sw & 0x0F) + " tries left";
  }
  if ((sw & 0xFF00) == 0x6100) return code + " more data waiting (GET RESPONSE)";
  static const struct {
    uint16_t sw;
    const char* text;
  } kTexts[] = {
      {0x9000, "OK"},
      {0x6581, "memory failure (the card lost power in a write; nothing changed)"},
      {0x6700, "wrong length"},
      {0x6882, "secure messaging expected (no session)"},
      {0x6982, "security status not satisfied (the ACL or the session does not allow it)"},
      {0x6983, "blocked"},
      {0x6985, "conditions of use not satisfied"},
      {0x6986, "command not allowed (e.g. on this node)"},
      {0x6A80, "wrong data (malformed URI, value or TLV)"},
      {0x6A81, "function not supported"},
      {0x6A82, "node not found"},
      {0x6A84, "not enough memory"},
      {0x6A86, "incorrect P1 P2"},
      {0x6A88, "referenced data not found"},
      {0x6A89, "node already exists"},
      {0x6D00, "instruction not supported"},
      {0x6E00, "class not supported"},
  };
  for (const auto& t : kTexts) {
    if (t.sw == sw) return code + " " + t.text;
  }
  return code;
}

Bytes FumoCheckFirmwareCommand(ByteView digest, const std::string& version, ByteView signature) {
  Bytes data;
  AppendTlv(data, 0x80, digest);
  AppendTlv(data, 0x81, TextBytes(version));
  if (!signature.empty()) AppendTlv(data, 0x82, signature);
  Bytes c = {0x80, 0x44, 0x00, 0x00, static_cast<uint8_t>(data.size())};
  Append(c, data);
  c.push_back(0x00);
  return c;
}

}  // namespace dmcard
