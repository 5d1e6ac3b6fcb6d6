// Golden traces of every use case (issue 11 item 4): apdu-specs/traces/*.trace, one per use case
// or variant of /work/shared/requirements (UC511 and its alternatives a and b, UC512, UC521, the
// four outcomes of UC-CR, FUMO), each a commented, replayable conversation of the device, the DM
// server, the issuer and the network with a freshly made demo card.
//
// The traces are written by DISABLED_RegenerateGoldenTraces below, which drives a fresh in-process
// demo card (DirectReader over the built-in profile, in RAM) with the host library as each party
// would (host/scp03_host.h, host/dms.h, host/operator.h, host/personalization.h) and checks every
// answer on the host side on its own: R-MACs and the card cryptogram by HostScp03, values against
// profiles/demo/tree.xml (read here by a small TNDS reader), the bootstrap flags against
// profiles/demo/profile.json (ReadHostProfile), credentials and digests recomputed with OpenSSL,
// the event log decoded into lines. Only what differs between runs is masked: the card clock's
// times (event-log entry times, and the R-MAC of an answer carrying them).
//
// The tests replay every trace on a fresh in-process card, require a trace for every use case,
// and check that a tampered copy fails. tests/pcsc/golden_traces_test.cc replays them through
// pcscd + vpcd.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "demo_card_apdus.h"
#include "dm/dm_applet.h"
#include "host/demo_card.h"
#include "host/direct_reader.h"
#include "host/dms.h"
#include "host/openssl_util.h"
#include "host/operator.h"
#include "host/personalization.h"
#include "host/profile_file.h"
#include "host/scp03_host.h"
#include "host/trace.h"
#include "host/trace_formats.h"
#include "host/trace_runner.h"
#include "lwm2m_file_reader.h"

namespace dmcard {
namespace {

namespace fs = std::filesystem;
using dm::BootstrapMethod;
using testing::Ascii;
using testing::Str;

fs::path TracesDir() { return fs::path(DMCARD_SOURCE_DIR) / "apdu-specs" / "traces"; }
fs::path DemoProfileDir() { return fs::path(DMCARD_SOURCE_DIR) / "profiles" / "demo"; }

// Every use case and variant of the requirements, with its golden trace.
struct GoldenTrace {
  const char* file;
  const char* id;
  const char* cases;  // how each of its @case names starts
};
constexpr GoldenTrace kGoldenTraces[] = {
    {"uc-511-normal.trace", "UC511", "UC511 "},
    {"uc-511a-key-only.trace", "UC511a", "UC511a "},
    {"uc-511b-reconfigure.trace", "UC511b", "UC511b "},
    {"uc-512-used-device.trace", "UC512", "UC512 "},
    {"uc-521-helpdesk.trace", "UC521", "UC521 "},
    {"uc-cr-accepted.trace", "UC-CR accepted", "UC-CR "},
    {"uc-cr-user-declines.trace", "UC-CR user declines", "UC-CR "},
    {"uc-cr-tampered.trace", "UC-CR tampered", "UC-CR "},
    {"uc-cr-replayed.trace", "UC-CR replayed", "UC-CR "},
    {"fumo-check-firmware.trace", "FUMO", "FUMO "},
    // Issue 12 item 7: a UICC-based client reads the DM bootstrap through PKCS#15.
    {"uicc-access-dm-bootstrap.trace", "UICC DM bootstrap", "UICC "},
    // Issue 12: the same sequence for the LwM2M bootstrap (OMA LwM2M 1.1 Appendix G).
    {"uicc-access-lwm2m-bootstrap.trace", "UICC LwM2M bootstrap", "UICC "},
};

// A fresh demo card in RAM, as `dmcard --direct` and dmcard-vicc make it.
std::unique_ptr<DirectReader> FreshDemoCard() {
  std::string error;
  auto reader = DirectReader::Open(std::make_shared<const Profile>(DemoProfile()), DemoCardConfig(),
                                   {}, error);
  EXPECT_TRUE(reader) << error;
  return reader;
}

// ---- the demo profile as the host reads it -----------------------------------------------------

// The leaf values of a TNDS document by URI ("./DevInfo/Man" -> "dmcard"): a reader of just the
// <Node>, <NodeName>, <Value> structure of profiles/demo/tree.xml, apart from the card's parser.
std::map<std::string, std::string> TndsLeafValues(const std::string& xml) {
  std::map<std::string, std::string> values;
  std::vector<std::string> path = {"."};
  auto text_of = [&xml](size_t from, const char* end_tag) {
    const size_t end = xml.find(end_tag, from);
    std::string t = xml.substr(from, end - from);
    for (auto [entity, c] : {std::pair{"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}}) {
      for (size_t at; (at = t.find(entity)) != std::string::npos;) t.replace(at, strlen(entity), c);
    }
    return t;
  };
  for (size_t at = 0; (at = xml.find('<', at)) != std::string::npos; ++at) {
    if (xml.compare(at, 4, "<!--") == 0) {
      at = xml.find("-->", at);
      if (at == std::string::npos) break;
    } else if (xml.compare(at, 6, "<Node>") == 0) {
      path.emplace_back();
    } else if (xml.compare(at, 7, "</Node>") == 0) {
      path.pop_back();
    } else if (xml.compare(at, 10, "<NodeName>") == 0) {
      path.back() = text_of(at + 10, "</NodeName>");
    } else if (xml.compare(at, 7, "<Value>") == 0) {
      std::string uri;
      for (const std::string& segment : path) uri += (uri.empty() ? "" : "/") + segment;
      values[uri] = text_of(at + 7, "</Value>");
    }
  }
  return values;
}

struct DemoProfileFacts {
  HostProfile profile;
  std::map<std::string, std::string> tree;
  // VERIFY BOOTSTRAP's 84 flags and the descriptor's, from the profile's bootstrap section.
  uint8_t bootstrap_flags = 0;
};

const DemoProfileFacts& Demo() {
  static const DemoProfileFacts facts = [] {
    DemoProfileFacts f;
    std::string error;
    std::optional<HostProfile> p = ReadHostProfile(DemoProfileDir() / "profile.json", error);
    EXPECT_TRUE(p) << error;
    if (p) f.profile = *p;
    f.tree = TndsLeafValues(f.profile.tree_xml);
    f.bootstrap_flags = static_cast<uint8_t>((f.profile.user_confirmation ? 0x02 : 0) |
                                             (f.profile.autoconnect ? 0x04 : 0));
    return f;
  }();
  return facts;
}

const HostProfile::KeySet& DemoKeySet(const std::string& owner) {
  for (const HostProfile::KeySet& set : Demo().profile.key_sets) {
    if (set.owner == owner) return set;
  }
  ADD_FAILURE() << "the demo profile has no key set of " << owner;
  static const HostProfile::KeySet none;
  return none;
}

// ---- writing a trace while the card answers ----------------------------------------------------

std::string SpacedHex(ByteView b) {
  std::string s;
  for (uint8_t x : b) {
    char h[4];
    std::snprintf(h, sizeof h, s.empty() ? "%02X" : " %02X", x);
    s += h;
  }
  return s;
}

// A byte range of an answer's data that varies between runs; `from_end`: counted back from the
// end of the data (an R-MAC).
struct Masked {
  size_t offset = 0;
  size_t length = 0;
  bool from_end = false;
};

uint16_t SwOf(ByteView r) {
  return r.size() < 2 ? 0 : static_cast<uint16_t>(r[r.size() - 2] << 8 | r.back());
}
Bytes DataOf(ByteView r) { return Bytes(r.begin(), r.end() - std::min<size_t>(2, r.size())); }
std::string Hex2(uint8_t b) { return ToHex(Bytes{b}); }

// The `<` matcher of `response`: its bytes, each masked range as ?? or {N}.
std::string MatcherOf(ByteView response, std::vector<Masked> masks) {
  const Bytes data = DataOf(response);
  for (Masked& m : masks) {
    if (m.from_end) m.offset = data.size() - std::min(m.length, data.size());
  }
  std::string out;
  auto add = [&out](const std::string& item) { out += (out.empty() ? "" : " ") + item; };
  for (size_t i = 0; i < data.size();) {
    auto m = std::find_if(masks.begin(), masks.end(),
                          [i](const Masked& m) { return m.length > 0 && m.offset == i; });
    if (m != masks.end()) {
      add(m->length == 1 ? std::string("??") : "{" + std::to_string(m->length) + "}");
      i += m->length;
    } else {
      add(SpacedHex(ByteView(&data[i], 1)));
      ++i;
    }
  }
  add(SpacedHex(ByteView(response).last(2)));
  return out;
}

// One BER-TLV of `data` at `at`: tag (one byte), value offset and length. False at the end or
// on a malformed length.
struct Tlv {
  uint8_t tag = 0;
  size_t value = 0, length = 0;
  size_t end() const { return value + length; }
};
bool ReadTlv(ByteView data, size_t at, Tlv& tlv) {
  if (at + 2 > data.size()) return false;
  tlv.tag = data[at];
  size_t len = data[at + 1], header = 2;
  if (len == 0x81 || len == 0x82) {
    const size_t n = len & 0x7F;
    if (at + 2 + n > data.size()) return false;
    len = 0;
    for (size_t i = 0; i < n; ++i) len = len << 8 | data[at + 2 + i];
    header += n;
  }
  tlv.value = at + header;
  tlv.length = len;
  return tlv.end() <= data.size();
}
// The TLVs directly inside data[from, to).
std::vector<Tlv> TlvsIn(ByteView data, size_t from, size_t to) {
  std::vector<Tlv> out;
  Tlv t;
  for (size_t at = from; at < to && ReadTlv(data.first(to), at, t); at = t.end()) out.push_back(t);
  return out;
}

// The DM applet's descriptor (dm.json SELECT: 6F { 84 AID, A5 { 80 .. 85 } }, or GET DATA A5).
struct Descriptor {
  Bytes generation, digest;
  uint8_t flags = 0;
  Bytes capabilities;
};
std::optional<Descriptor> DescriptorOf(ByteView data) {
  std::vector<Tlv> outer = TlvsIn(data, 0, data.size());
  if (outer.size() == 1 && outer[0].tag == 0x6F)
    outer = TlvsIn(data, outer[0].value, outer[0].end());
  for (const Tlv& t : outer) {
    if (t.tag != 0xA5) continue;
    Descriptor d;
    for (const Tlv& f : TlvsIn(data, t.value, t.end())) {
      const Bytes v(data.begin() + f.value, data.begin() + f.end());
      if (f.tag == 0x82) d.generation = v;
      if (f.tag == 0x83) d.digest = v;
      if (f.tag == 0x84 && v.size() == 1) d.flags = v[0];
      if (f.tag == 0x85) d.capabilities = v;
    }
    return d;
  }
  return std::nullopt;
}

// Where the times are in an event log answer (E1 { E2 { 81 time ... } ... }): the card's clock.
std::vector<Masked> EventTimes(ByteView data) {
  std::vector<Masked> masks;
  for (const Tlv& log : TlvsIn(data, 0, data.size())) {
    if (log.tag != 0xE1) continue;
    for (const Tlv& entry : TlvsIn(data, log.value, log.end())) {
      if (entry.tag != 0xE2) continue;
      for (const Tlv& f : TlvsIn(data, entry.value, entry.end())) {
        if (f.tag == 0x81) masks.push_back({f.value, f.length});
      }
    }
  }
  return masks;
}

// What a plain C-APDU is, for the note after it: the DM commands of dm.json by INS, with the URI.
std::string CommandNote(ByteView c) {
  if (c.size() < 4) return "?";
  const uint8_t ins = c[1], p1 = c[2], p2 = c[3];
  Bytes data;
  if (c.size() > 5 && c[4] != 0 && size_t{5} + c[4] <= c.size()) {
    data.assign(c.begin() + 5, c.begin() + 5 + c[4]);
  } else if (c.size() > 7 && c[4] == 0) {
    const size_t n = size_t{c[5]} << 8 | c[6];
    if (7 + n <= c.size()) data.assign(c.begin() + 7, c.begin() + 7 + n);
  }
  // The URI of tag 80 (ADD, REPLACE, EXEC, CREDENTIAL), or the data itself (GET, DELETE).
  auto uri_of_tlv = [&data]() -> std::string {
    Tlv t;
    return ReadTlv(data, 0, t) && t.tag == 0x80 ? Str(ByteView(data).subspan(t.value, t.length))
                                                : std::string("?");
  };
  switch (ins) {
    case 0xA4:
      return "SELECT DM applet (descriptor in the FCI)";
    case 0x30: {
      static const char* const kGet[] = {"GET value", "GET property", "GET children",
                                         "GET properties"};
      return std::string(p1 < 4 ? kGet[p1] : "GET") + " " + Str(data);
    }
    case 0x32:
      return "ADD " + uri_of_tlv();
    case 0x34:
      return "REPLACE " + uri_of_tlv();
    case 0x36:
      return "DELETE " + Str(data);
    case 0x3C:
      return std::string("CREDENTIAL ") +
             (p1 == 0x00   ? "compute auth-md5 "
              : p1 == 0x01 ? "compute auth-MAC "
              : p1 == 0x02 ? "check server auth-md5 "
                           : "check server auth-MAC ") +
             uri_of_tlv();
    case 0x42:
      return std::string("VERIFY BOOTSTRAP ") + (p1 == 0x01 ? "and install" : "(verify only)");
    case 0x44:
      return "CHECK FIRMWARE";
    case 0xCA:
      return p2 == 0xE1 ? "GET DATA E1 (event log)" : "GET DATA A5 (descriptor)";
    case 0xE2:
      return "STORE DATA block " + Hex2(p2) + ", P1 " + Hex2(p1);
    case 0x20:
      return "VERIFY user PIN";
    case 0x50:
      return "INITIALIZE UPDATE";
    case 0x82:
      return "EXTERNAL AUTHENTICATE";
    default:
      return "INS " + Hex2(ins);
  }
}

// What an answer says: its data as text when printable, and the status word in words.
std::string AnswerNote(ByteView r) {
  const Bytes data = DataOf(r);
  std::string note = DmsStatusText(SwOf(r));
  if (data.empty()) return note;
  const bool text =
      std::all_of(data.begin(), data.end(), [](uint8_t b) { return b >= 0x20 && b < 0x7F; });
  return (text ? "\"" + Str(data) + "\"" : std::to_string(data.size()) + " bytes") + ", " + note;
}

// One trace being written: a fresh demo card and the text so far.
class TraceScript {
 public:
  TraceScript(std::string file, const std::vector<std::string>& header) : file_(std::move(file)) {
    reader_ = FreshDemoCard();
    for (const std::string& line : header) Say(line);
    Say("");
    Say("Starts on a freshly made demo card (built-in profile, profiles/demo/). Written by");
    Say("Golden_TracesGenerator.DISABLED_RegenerateGoldenTraces "
        "(tests/unit/golden_traces_test.cc);");
    Say("replay: dmcard --direct run apdu-specs/traces/" + file_ + "   (or dmcard -r 0 run ...)");
    Bytes atr;
    std::string error;
    EXPECT_TRUE(reader_->Connect(atr, error)) << error;
    text_ += "@atr " + SpacedHex(atr) + "\n";
  }

  // A comment line ("" for a blank one).
  void Say(const std::string& line) { text_ += line.empty() ? "#\n" : "# " + line + "\n"; }
  void Case(const std::string& name, const std::vector<std::string>& what) {
    text_ += "\n@case " + name + "\n";
    for (const std::string& line : what) Say(line);
  }

  // Sends `command`, writes it and its answer (masked where given); returns the R-APDU.
  // `note`: what the command is, written after it (else said from the command itself);
  // `plain_answer`: the answer to explain when it went wrapped (else the answer itself).
  Bytes Exchange(ByteView command, const std::vector<Masked>& masks = {},
                 const std::string& note = "") {
    return ExchangeWithMasksOf(
        command, [&masks](ByteView) { return masks; }, note);
  }
  // Same, the masks found in the answer's data.
  Bytes ExchangeWithMasksOf(ByteView command,
                            const std::function<std::vector<Masked>(ByteView)>& masks_of,
                            const std::string& note = "") {
    Bytes response;
    std::string error;
    EXPECT_TRUE(reader_->Transmit(command, response, error)) << error;
    if (response.size() < 2) response = {0x6F, 0x00};
    EXPECT_NE(response[response.size() - 2], 0x61)
        << file_ << ": a golden trace keeps its answers whole (no GET RESPONSE)";
    text_ += "> " + SpacedHex(command) + "   # " + (note.empty() ? CommandNote(command) : note) +
             "\n< " + MatcherOf(response, masks_of(DataOf(response)));
    pending_answer_ = text_.size();
    text_ += "   # " + AnswerNote(response) + "\n";
    return response;
  }
  // Replaces the note of the last answer (a wrapped one, explained once unwrapped).
  void NoteLastAnswer(const std::string& note) {
    const size_t end = text_.find('\n', pending_answer_);
    text_.replace(pending_answer_, end - pending_answer_, "   # " + note);
  }

  // The device's SELECT of the DM applet: the descriptor, checked against the profile.
  Descriptor Select(bool provisioned = true) {
    const Bytes r = Exchange(testing::SelectAid(dm::DmApplet::DefaultAid()));
    EXPECT_EQ(SwOf(r), 0x9000);
    const std::optional<Descriptor> d = DescriptorOf(DataOf(r));
    EXPECT_TRUE(d) << ToHex(r);
    if (!d) return {};
    // 01 provisioning data present, 02 user confirmation (USA1), 04 autoconnect (USA3).
    EXPECT_EQ(d->flags, (provisioned ? 0x01 : 0x00) | Demo().bootstrap_flags) << file_;
    EXPECT_EQ(d->digest.size(), 32u);
    return *d;
  }

  // A plain GET of a leaf by the device; the value when 9000.
  std::string Get(const std::string& uri, uint16_t expected_sw = 0x9000) {
    std::string error;
    const std::optional<Bytes> c = DmsGetValue(uri, error);
    EXPECT_TRUE(c) << error;
    const Bytes r = Exchange(*c);
    EXPECT_EQ(SwOf(r), expected_sw) << uri;
    return Str(DataOf(r));
  }
  // Same, the value expected to be profiles/demo/tree.xml's.
  void GetDemo(const std::string& uri) {
    ASSERT_TRUE(Demo().tree.count(uri)) << uri << " is not in profiles/demo/tree.xml";
    EXPECT_EQ(Get(uri), Demo().tree.at(uri)) << uri;
  }

  void Write() {
    std::ofstream out(TracesDir() / file_, std::ios::binary | std::ios::trunc);
    out << text_;
    EXPECT_TRUE(out.good()) << file_;
  }
  int64_t started() const { return started_; }

 private:
  std::string file_;
  std::string text_;
  size_t pending_answer_ = 0;
  std::unique_ptr<DirectReader> reader_;
  int64_t started_ = std::time(nullptr);
};

std::string LevelText(uint8_t level) {
  switch (level) {
    case 0x01:
      return "C-MAC";
    case 0x03:
      return "C-MAC, C-DECRYPTION";
    case 0x13:
      return "C-MAC, C-DECRYPTION, R-MAC";
    case 0x33:
      return "C-MAC, C-DECRYPTION, R-MAC, R-ENCRYPTION";
    default:
      return "level " + Hex2(level);
  }
}

// A party with an SCP03 key set (the DM server, the issuer) over a TraceScript. Every answer is
// checked by HostScp03: the card cryptogram, the pseudo-random card challenge, each R-MAC.
class Party {
 public:
  Party(TraceScript& t, const HostProfile::KeySet& set, std::string host_challenge)
      : t_(t),
        set_(set),
        host_({set.enc, set.mac, set.dek}),
        challenge_(std::move(host_challenge)) {}

  void Open(uint8_t level) {
    t_.Say("INITIALIZE UPDATE, KVN " + Hex2(set_.kvn) + " (owner " + set_.owner +
           "), host challenge '" + challenge_ + "'.");
    t_.Say(
        "The card answers its card challenge, pseudo-random from the key set's sequence counter");
    t_.Say("(so fixed on a fresh card), and its card cryptogram; the host checks both.");
    const Bytes iu = t_.Exchange(host_.InitializeUpdate(set_.kvn, Ascii(challenge_)));
    ASSERT_EQ(SwOf(iu), 0x9000) << ToHex(iu);
    host_.ReadInitializeUpdateResponse(DataOf(iu), dm::DmApplet::DefaultAid());  // throws if wrong
    t_.Say("EXTERNAL AUTHENTICATE at security level " + Hex2(level) + " (" + LevelText(level) +
           "): host cryptogram");
    t_.Say("and C-MAC. From here on " + set_.owner +
           " is the channel's principal for the tree's ACLs.");
    const Bytes ea = t_.Exchange(host_.ExternalAuthenticate(level));
    ASSERT_EQ(SwOf(ea), 0x9000) << ToHex(ea);
  }

  // `plain` wrapped and sent; returns the plain answer (data after the R-MAC check and the
  // decryption, then the SW). `masks`: ranges of the plain answer data that vary between runs;
  // the R-MAC is then masked too (the host has checked it).
  Bytes SendPlain(ByteView plain, uint16_t expected_sw, const std::vector<Masked>& masks = {}) {
    std::vector<Masked> wire = masks;
    if (!masks.empty()) {
      EXPECT_FALSE(host_.security_level() & 0x20) << "an encrypted answer cannot be masked in part";
      if (host_.security_level() & 0x10) wire.push_back({0, 8, /*from_end=*/true});
    }
    const Bytes response = t_.Exchange(host_.Wrap(plain), wire, "wrapped: " + CommandNote(plain));
    Bytes out = host_.Unwrap(DataOf(response), SwOf(response));  // throws on a wrong R-MAC
    {
      Bytes plain_answer = out;
      plain_answer.push_back(response[response.size() - 2]);
      plain_answer.push_back(response.back());
      t_.NoteLastAnswer(std::string(host_.security_level() & 0x20 ? "decrypted, " : "") +
                        (host_.security_level() & 0x10 ? "R-MAC checked: " : "") +
                        AnswerNote(plain_answer));
    }
    EXPECT_EQ(SwOf(response), expected_sw) << ToHex(plain) << " -> " << ToHex(response);
    out.push_back(response[response.size() - 2]);
    out.push_back(response.back());
    return out;
  }
  Bytes Send(const std::optional<Bytes>& plain, uint16_t expected_sw) {
    EXPECT_TRUE(plain);
    return SendPlain(plain.value_or(Bytes{0x80, 0x00, 0x00, 0x00}), expected_sw);
  }

  // A leaf's value over the session.
  std::string Get(const std::string& uri, uint16_t expected_sw = 0x9000) {
    std::string error;
    return Str(DataOf(Send(DmsGetValue(uri, error), expected_sw)));
  }
  void GetDemo(const std::string& uri) {
    ASSERT_TRUE(Demo().tree.count(uri)) << uri << " is not in profiles/demo/tree.xml";
    EXPECT_EQ(Get(uri), Demo().tree.at(uri)) << uri;
  }
  // The event log (GET DATA E1 from `from`) as lines without the time; the times are masked.
  std::vector<std::string> EventLog(uint32_t from = 0) {
    const Bytes plain = DmsEventLogCommand(from);
    const Bytes wrapped = host_.Wrap(plain);
    Bytes response;
    std::string error;
    response = t_.ExchangeWithMasksOf(
        wrapped,
        [this](ByteView wire_data) {
          std::vector<Masked> m = EventTimes(wire_data);
          if (host_.security_level() & 0x10) m.push_back({0, 8, true});
          return m;
        },
        "wrapped: " + CommandNote(plain));
    const Bytes data = host_.Unwrap(DataOf(response), SwOf(response));
    EXPECT_EQ(SwOf(response), 0x9000);
    std::optional<std::vector<DmsEvent>> events = DecodeEventLog(data, error);
    EXPECT_TRUE(events) << error;
    std::vector<std::string> lines;
    t_.NoteLastAnswer("R-MAC checked: " + std::to_string(events ? events->size() : 0) +
                      " entries, times masked");
    for (const DmsEvent& e : events.value_or(std::vector<DmsEvent>{})) {
      // The time is the card clock's, between the start of the trace and now.
      EXPECT_GE(e.time, t_.started() - 1);
      EXPECT_LE(e.time, std::time(nullptr) + 1);
      std::string line = EventLine(e);
      const size_t time_at = line.find(' ');
      const size_t time_end = line.find(' ', time_at + 1);
      line.erase(time_at, time_end - time_at);  // "#3 @user: ..."
      lines.push_back(line);
      t_.Say("  " + line);
    }
    return lines;
  }

 private:
  TraceScript& t_;
  HostProfile::KeySet set_;
  HostScp03 host_;
  std::string challenge_;
};

// ---- what the parties say ----------------------------------------------------------------------

constexpr char kDms[] = "dmcard.example.test";  // the demo DM server's ServerID and key-set owner
constexpr char kIssuer[] = "@issuer";

std::optional<Bytes> AddCommand(const std::string& uri, const std::string& format = "node",
                                const std::string& value = "", bool secret = false) {
  DmsAdd add;
  add.uri = uri;
  add.format = format;
  if (format != "node") add.value = Ascii(value);
  add.secret = secret;
  std::string error;
  std::optional<Bytes> c = DmsAddCommand(add, error);
  EXPECT_TRUE(c) << error;
  return c;
}
std::optional<Bytes> ReplaceCommand(const std::string& uri, const std::string& value) {
  std::string error;
  std::optional<Bytes> c = DmsReplaceValue(uri, Ascii(value), error);
  EXPECT_TRUE(c) << error;
  return c;
}

// OMA DM CREDENTIAL (80 3C, dm.json): 80 URI, 81 nonce, [82 MD5 of the body], [83 the server's
// credential], Le 00.
Bytes CredentialCommand(uint8_t p1, const std::string& uri, const std::string& nonce,
                        const std::string& server_credential = "", ByteView body_md5 = {}) {
  Bytes data = {0x80, static_cast<uint8_t>(uri.size())};
  Append(data, Ascii(uri));
  data.push_back(0x81);
  data.push_back(static_cast<uint8_t>(nonce.size()));
  Append(data, Ascii(nonce));
  if (!body_md5.empty()) {
    data.push_back(0x82);
    data.push_back(static_cast<uint8_t>(body_md5.size()));
    Append(data, body_md5);
  }
  if (!server_credential.empty()) {
    data.push_back(0x83);
    data.push_back(static_cast<uint8_t>(server_credential.size()));
    Append(data, Ascii(server_credential));
  }
  Bytes c = {0x80, 0x3C, p1, 0x00, static_cast<uint8_t>(data.size())};
  Append(c, data);
  c.push_back(0x00);
  return c;
}
// syncml:auth-md5 (OMA DM Security): B64(MD5(B64(MD5(name:secret)):nonce)), with OpenSSL.
std::string AuthMd5(const std::string& name, const std::string& secret, const std::string& nonce) {
  const std::string inner = ossl::OsslBase64(ossl::OsslDigest("MD5", Ascii(name + ":" + secret)));
  return ossl::OsslBase64(ossl::OsslDigest("MD5", Ascii(inner + ":" + nonce)));
}
// syncml:auth-MAC (OMA DM Security, HMAC scheme):
// B64(MD5(B64(MD5(name:secret)):nonce:B64(MD5(body)))), with OpenSSL.
std::string AuthMac(const std::string& name, const std::string& secret, const std::string& nonce,
                    const std::string& body) {
  const std::string inner = ossl::OsslBase64(ossl::OsslDigest("MD5", Ascii(name + ":" + secret)));
  const std::string body_b64 = ossl::OsslBase64(ossl::OsslDigest("MD5", Ascii(body)));
  return ossl::OsslBase64(ossl::OsslDigest("MD5", Ascii(inner + ":" + nonce + ":" + body_b64)));
}

uint32_t GenerationOf(const Descriptor& d) {
  uint32_t g = 0;
  for (uint8_t b : d.generation) g = g << 8 | b;
  return g;
}

// What the trace header says about secrets.
const char kNoSecrets[] =
    "Secrets: none in clear. SCP03 sessions use the demo profile's obviously-test key sets.";
const char kDemoPinSecret[] =
    "Secrets: the user's VERIFY carries the demo profile's obviously-test PIN 1234 in clear "
    "(as a --record-secrets trace would), so that the trace replays; SCP03 sessions use the "
    "demo profile's obviously-test key sets.";

// The bootstrap the network sends in the UC-CR traces: an account for the operator's DM server.
constexpr char kOperatorTnds[] = R"(<MgmtTree><VerDTD>1.2</VerDTD>
<Node><NodeName>OpAcc</NodeName><Path>./DMAcc</Path>
<RTProperties><Format><node/></Format></RTProperties>
<Node><NodeName>ServerID</NodeName><RTProperties><Format><chr/></Format></RTProperties>
<Value>dms-op.example.test</Value></Node>
<Node><NodeName>Name</NodeName><RTProperties><Format><chr/></Format></RTProperties>
<Value>operator bootstrap (test)</Value></Node>
</Node></MgmtTree>)";
constexpr char kOperatorServerId[] = "dms-op.example.test";

Bytes OperatorBootstrapMessage() {
  std::string error;
  BootstrapHeader header;
  header.source = "https://dms-op.example.test/dm";
  std::optional<Bytes> message = BuildBootstrapMessage(Ascii(kOperatorTnds), header, error);
  EXPECT_TRUE(message) << error;
  return message.value_or(Bytes{});
}

BootstrapProof NetwPinProof(ByteView message) {
  BootstrapSecrets secrets;
  secrets.imsi = Demo().profile.imsi;  // the network knows its subscriber's IMSI
  std::string error;
  std::optional<BootstrapProof> proof =
      ProveBootstrap(message, BootstrapMethod::kNetwPin, secrets, error);
  EXPECT_TRUE(proof) << error;
  return proof.value_or(BootstrapProof{});
}

Bytes FlagsAnswer() { return {0x84, 0x01, Demo().bootstrap_flags}; }

// The operator's obviously-test bootstrap keys (UC-CR replayed): fixed, so that the trace is
// the same each time it is made. The EC key's private scalar is SHA-256 of a test phrase.
OperatorKeys GoldenOperatorKeys() {
  OperatorKeys keys;
  keys.hmac_secret = Ascii("OPERATOR-HMAC-SECRET-NOT-REAL-01");
  const Bytes priv = ossl::OsslDigest("SHA256", Ascii("dmcard golden operator EC key NOT REAL"));
  keys.ec = ossl::OsslEcKey(ossl::OsslPublicFromPrivate(priv), priv);
  return keys;
}

// ---- the use cases -----------------------------------------------------------------------------

void Uc511Normal() {
  TraceScript t(
      "uc-511-normal.trace",
      {"UC511 smart-card based provisioning, normal flow. The card is inserted in a Device",
       "for the first time: the Device detects the provisioning data (DEV1, SC7), asks the",
       "user (USA1), transfers the parameters into its DM tree (DEV4, DEV2), authenticates",
       "to the DMS with the card's credential (DEV3, SC2) and connects on its own (USA3);",
       "the DMS queries the Device and downloads provisioning data over SCP03 (DMS1, DMS2,",
       "SC6, IF1); the Device sees the transfer in the descriptor.", kNoSecrets});
  t.Case("UC511 the Device detects provisioning data",
         {"Device: SELECT of the DM applet. The FCI's descriptor A5 says (SC7, one command):",
          "  84 flags 07 = 01 provisioning data present (DEV1), 02 ask the user first (USA1),",
          "  04 connect to the DMS autonomously (USA3); 82 generation and 83 digest of the tree",
          "  (what the Device remembers to notice any later change); 85 capabilities."});
  const Descriptor before = t.Select();
  t.Case("UC511 the Device reads the parameters",
         {"Device: asks the user (flag 02, USA1); once accepted, reads the DM account and the",
          "connectivity parameters it names into its own DM tree (DEV4, DEV2, SC1)."});
  t.Say("The DM server's identity, address and port; the preferred connection (a NAP).");
  for (const char* uri :
       {"./DMAcc/DMCardTest/ServerID", "./DMAcc/DMCardTest/AppAddr/Srv1/Addr",
        "./DMAcc/DMCardTest/AppAddr/Srv1/Port/Port1/PortNbr", "./DMAcc/DMCardTest/PrefConRef",
        "./Con/NAP/TestAPN/NapId", "./Con/NAP/TestAPN/Addr", "./DMAcc/DMCardTest/AAuthPref",
        "./DMAcc/DMCardTest/AppAuth/CliCred/AAuthName"}) {
    t.GetDemo(uri);
  }
  t.Say("The client secret never leaves the card: GET answers 6982 to everyone (SEC1, SC2).");
  t.Get("./DMAcc/DMCardTest/AppAuth/CliCred/AAuthSecret", 0x6982);

  t.Case("UC511 the Device authenticates to the DMS with the card's credential",
         {"Device: the DMS's challenge (NextNonce 'dmcard-nonce-511') is answered by the card,",
          "which computes the client's syncml:auth-MAC (CliCred's AAuthType HMAC) over the MD5 of",
          "the message body '<SyncML>UC511</SyncML>' with the secret it keeps (DEV3, SC2)."});
  const auto& tree = Demo().tree;
  const std::string cli = "./DMAcc/DMCardTest/AppAuth/CliCred";
  const std::string srv = "./DMAcc/DMCardTest/AppAuth/SrvCred";
  const std::string nonce = "dmcard-nonce-511";
  const std::string body = "<SyncML>UC511</SyncML>";
  const Bytes client =
      t.Exchange(CredentialCommand(0x01, cli, nonce, "", ossl::OsslDigest("MD5", Ascii(body))));
  EXPECT_EQ(SwOf(client), 0x9000);
  // Recomputed on the host from profiles/demo/tree.xml's test account.
  EXPECT_EQ(Str(DataOf(client)),
            AuthMac(tree.at(cli + "/AAuthName"), tree.at(cli + "/AAuthSecret"), nonce, body));
  t.Say("The DMS's credential (nonce 'dmcard-nonce-dev') is checked by the card: 9000, mutual");
  t.Say("authentication done; the Device now trusts the DMS.");
  const std::string server =
      AuthMd5(tree.at(srv + "/AAuthName"), tree.at(srv + "/AAuthSecret"), "dmcard-nonce-dev");
  EXPECT_EQ(SwOf(t.Exchange(CredentialCommand(0x02, srv, "dmcard-nonce-dev", server))), 0x9000);

  t.Case("UC511 the DMS queries the Device and downloads provisioning data",
         {"DMS (dmcard.example.test): a secure channel to the card through the Device (IF1), every",
          "command encrypted and MACed, every answer MACed and encrypted."});
  Party dms(t, DemoKeySet(kDms), "DMS-0511");
  dms.Open(0x33);
  t.Say("The DMS queries the Device's properties (DMS1): DevId, Man, Mod, DmV.");
  for (const char* uri : {"./DevInfo/DevId", "./DevInfo/Man", "./DevInfo/Mod", "./DevInfo/DmV"}) {
    dms.GetDemo(uri);
  }
  t.Say("The DMS downloads provisioning data (DMS2, SC6): a second access point ./Con/NAP/DmsAPN");
  t.Say("with NapId 'dms-apn', Addr 'dms-apn.example.test', AddrType 'APN' (ADD x4).");
  dms.Send(AddCommand("./Con/NAP/DmsAPN"), 0x9000);
  dms.Send(AddCommand("./Con/NAP/DmsAPN/NapId", "chr", "dms-apn"), 0x9000);
  dms.Send(AddCommand("./Con/NAP/DmsAPN/Addr", "chr", "dms-apn.example.test"), 0x9000);
  dms.Send(AddCommand("./Con/NAP/DmsAPN/AddrType", "chr", "APN"), 0x9000);
  t.Say("The DMS reads it back: the transfer is confirmed.");
  EXPECT_EQ(dms.Get("./Con/NAP/DmsAPN/Addr"), "dms-apn.example.test");

  t.Case("UC511 the Device sees the change",
         {"Device: SELECT again (which ends the DMS's session). The generation counter moved and",
          "the digest changed (SC7): the Device reads the new access point (DEV4)."});
  const Descriptor after = t.Select();
  EXPECT_GT(GenerationOf(after), GenerationOf(before));
  EXPECT_NE(ToHex(after.digest), ToHex(before.digest));
  EXPECT_EQ(t.Get("./Con/NAP/DmsAPN/Addr"), "dms-apn.example.test");
  t.Write();
}

void Uc511aKeyOnly() {
  TraceScript t(
      "uc-511a-key-only.trace",
      {"UC511 alternative a: the card holds only a key. The issuer personalizes the card",
       "with the DMS's SCP03 key set and a bare tree; the Device finds no provisioning data",
       "but the autoconnect flag (USA3); the parameters then come over the air from the",
       "DMS in an SCP03 session with the card's key (SC2, SC3, DMS2, SC6, SC5); the Device",
       "then finds them (DEV1, DEV4, SC7).", kNoSecrets});
  t.Case("UC511a the issuer makes a card that holds only the DMS's key",
         {"Issuer (@issuer, KVN 30): STORE DATA DGI 0201 replaces the whole tree with a bare one:",
          "DevInfo/Man and an empty ./DMAcc the DMS may add to. The DMS's key set (KVN 31, owner",
          "dmcard.example.test) is the profile's and stays: the card holds the key, no account."});
  t.Say("Issuer: SELECT of the DM applet (its descriptor as the profile made it).");
  t.Select();
  Party issuer(t, DemoKeySet(kIssuer), "ISS-511A");
  issuer.Open(0x13);
  const std::string bare = R"(<MgmtTree><VerDTD>1.2</VerDTD>
<Node><NodeName>DevInfo</NodeName><RTProperties><ACL>Get=*</ACL><Format><node/></Format></RTProperties>
<Node><NodeName>Man</NodeName><RTProperties><Format><chr/></Format></RTProperties><Value>dmcard</Value></Node></Node>
<Node><NodeName>DMAcc</NodeName><RTProperties><ACL>Add=dmcard.example.test&amp;Delete=dmcard.example.test&amp;Get=*&amp;Replace=dmcard.example.test</ACL><Format><node/></Format></RTProperties></Node>
</MgmtTree>)";
  std::string error;
  const std::optional<std::vector<Bytes>> store =
      StoreDataCommands({HostDgi{0x0201, Ascii(bare)}}, error);
  ASSERT_TRUE(store) << error;
  for (const Bytes& c : *store) issuer.SendPlain(c, 0x9000);

  t.Case("UC511a the Device finds a key but no parameters",
         {"Device: SELECT. Flags 06: no provisioning data (01 clear), ask the user, connect to the",
          "DMS on its own (USA3). ./DMAcc has no account."});
  t.Select(/*provisioned=*/false);
  EXPECT_EQ(SwOf(t.Exchange(*DmsGetChildren("./DMAcc", error))), 0x9000);

  t.Case("UC511a the DMS sends the parameters over the air",
         {"DMS (dmcard.example.test): opens the secure channel with the key the card holds and",
          "adds the DM account ./DMAcc/OtaAcc (SC5, SC6, DMS2): ServerID, Name, AppAddr/Srv1/Addr,",
          "and a client credential whose secret is flagged secret (85 01) and sent encrypted."});
  Party dms(t, DemoKeySet(kDms), "DMS-511A");
  dms.Open(0x33);
  const std::string acc = "./DMAcc/OtaAcc";
  dms.Send(AddCommand(acc), 0x9000);
  dms.Send(AddCommand(acc + "/ServerID", "chr", kDms), 0x9000);
  dms.Send(AddCommand(acc + "/Name", "chr", "over-the-air account (test)"), 0x9000);
  dms.Send(AddCommand(acc + "/AppAddr"), 0x9000);
  dms.Send(AddCommand(acc + "/AppAddr/Srv1"), 0x9000);
  dms.Send(AddCommand(acc + "/AppAddr/Srv1/Addr", "chr", "https://dms.example.test/dm"), 0x9000);
  dms.Send(AddCommand(acc + "/AppAuth"), 0x9000);
  dms.Send(AddCommand(acc + "/AppAuth/CliCred"), 0x9000);
  dms.Send(AddCommand(acc + "/AppAuth/CliCred/AAuthName", "chr", "dmcard-ota-client"), 0x9000);
  dms.Send(AddCommand(acc + "/AppAuth/CliCred/AAuthSecret", "chr", "ota-secret-NOT-REAL", true),
           0x9000);
  EXPECT_EQ(dms.Get(acc + "/ServerID"), kDms);

  t.Case("UC511a the Device finds the provisioning data",
         {"Device: SELECT again. Flags 07: provisioning data present now (DEV1); the Device reads",
          "the account (DEV4); the secret stays on the card (6982, SEC1)."});
  t.Select(/*provisioned=*/true);
  EXPECT_EQ(t.Get(acc + "/ServerID"), kDms);
  EXPECT_EQ(t.Get(acc + "/AppAddr/Srv1/Addr"), "https://dms.example.test/dm");
  t.Get(acc + "/AppAuth/CliCred/AAuthSecret", 0x6982);
  t.Write();
}

void Uc511bReconfigure() {
  TraceScript t(
      "uc-511b-reconfigure.trace",
      {"UC511 alternative b: an existing card is reconfigured by a management authority:",
       "the issuer merges new parameters by STORE DATA over SCP03, the DMS replaces a",
       "value over SCP03 (SC5, SC6, DMS2, SEC1: only they may); the Device notices the",
       "change by the descriptor (SC7) and reads the new parameters (DEV4).", kNoSecrets});
  t.Case("UC511b the Device's view before",
         {"Device: SELECT (descriptor remembered) and the parameters as the profile made them."});
  const Descriptor before = t.Select();
  t.GetDemo("./Con/NAP/TestAPN/Addr");
  t.GetDemo("./DMAcc/DMCardTest/AppAddr/Srv1/Addr");
  t.Say("The Device itself may not change the DM account (ACL Replace=dmcard.example.test): 6982");
  t.Say("(SEC1).");
  EXPECT_EQ(SwOf(t.Exchange(
                *ReplaceCommand("./DMAcc/DMCardTest/AppAddr/Srv1/Addr", "https://evil.test/dm"))),
            0x6982);

  t.Case("UC511b the issuer reconfigures the card",
         {"Issuer (@issuer, KVN 30): STORE DATA DGI 0202 merges a TNDS document into the tree:",
          "./Con/NAP/TestAPN/Addr becomes 'internet2.example.test'."});
  Party issuer(t, DemoKeySet(kIssuer), "ISS-511B");
  issuer.Open(0x13);
  const std::string merge = R"(<MgmtTree><VerDTD>1.2</VerDTD>
<Node><NodeName>Addr</NodeName><Path>./Con/NAP/TestAPN</Path>
<RTProperties><Format><chr/></Format></RTProperties><Value>internet2.example.test</Value></Node>
</MgmtTree>)";
  std::string error;
  const std::optional<std::vector<Bytes>> store =
      StoreDataCommands({HostDgi{0x0202, Ascii(merge)}}, error);
  ASSERT_TRUE(store) << error;
  for (const Bytes& c : *store) issuer.SendPlain(c, 0x9000);
  EXPECT_EQ(issuer.Get("./Con/NAP/TestAPN/Addr"), "internet2.example.test");

  t.Case("UC511b the DMS reconfigures the card",
         {"DMS (dmcard.example.test, KVN 31): REPLACE of the DM server address (DMS2, SC6)."});
  Party dms(t, DemoKeySet(kDms), "DMS-511B");
  dms.Open(0x33);
  dms.Send(ReplaceCommand("./DMAcc/DMCardTest/AppAddr/Srv1/Addr", "https://dms2.example.test/dm"),
           0x9000);
  EXPECT_EQ(dms.Get("./DMAcc/DMCardTest/AppAddr/Srv1/Addr"), "https://dms2.example.test/dm");

  t.Case("UC511b the Device sees the new configuration",
         {"Device: SELECT. Generation and digest changed (SC7): it reads the new values (DEV4)."});
  const Descriptor after = t.Select();
  EXPECT_GT(GenerationOf(after), GenerationOf(before));
  EXPECT_NE(ToHex(after.digest), ToHex(before.digest));
  EXPECT_EQ(t.Get("./Con/NAP/TestAPN/Addr"), "internet2.example.test");
  EXPECT_EQ(t.Get("./DMAcc/DMCardTest/AppAddr/Srv1/Addr"), "https://dms2.example.test/dm");
  t.Write();
}

void Uc512UsedDevice() {
  TraceScript t(
      "uc-512-used-device.trace",
      {"UC512 bootstrap for used Devices: a second-hand Device, configured for another card,",
       "gets this new card. It detects the new card/Device pair by the descriptor (SC7,",
       "DEV1), reads the card's provisioning data and overrides its configuration (DEV4),",
       "and keeps the user's preferences apart: only the user changes them (SEC1).",
       kDemoPinSecret});
  t.Case("UC512 the Device detects a new card",
         {"Device: SELECT. It remembers the previous card's descriptor (another generation and",
          "digest): this digest differs, so this is a new card/Device pair. (The IMSI is not",
          "readable through the DM applet: the card keeps it for NETWPIN only; the descriptor is",
          "what the Device compares.) Flags 07: provisioning data present, ask the user (USA1)."});
  t.Select();
  t.Case("UC512 the Device overrides its configuration",
         {"Device: after the user agreed (USA1), reads the DM account and the connectivity",
          "(NAP and proxy) and replaces its own, possibly mis-configured, settings (DEV4)."});
  for (const char* uri :
       {"./DMAcc/DMCardTest/ServerID", "./DMAcc/DMCardTest/Name",
        "./DMAcc/DMCardTest/AppAddr/Srv1/Addr",
        "./DMAcc/DMCardTest/AppAddr/Srv1/Port/Port1/PortNbr", "./DMAcc/DMCardTest/PrefConRef",
        "./Con/NAP/TestAPN/Addr", "./Con/NAP/TestAPN/Bearer/BearerType",
        "./Con/Proxy/TestProxy/Addr", "./Con/Proxy/TestProxy/Ports/Port1/PortNbr",
        "./Con/Proxy/TestProxy/ConRefs/ConRef1/ConRef"}) {
    t.GetDemo(uri);
  }
  t.Case("UC512 user preferences stay apart",
         {"Device: the user's preferences live apart, under ./Vendor/dmcard/UserPrefs: readable,",
          "changed only by the user (ACL Replace=@user). The Device alone is refused (6982)."});
  t.GetDemo("./Vendor/dmcard/UserPrefs/Lang");
  t.GetDemo("./Vendor/dmcard/UserPrefs/AllowAutoConnect");
  EXPECT_EQ(SwOf(t.Exchange(*ReplaceCommand("./Vendor/dmcard/UserPrefs/Lang", "fr-FR"))), 0x6982);
  t.Say("The user types the PIN (demo PIN 1234, in clear in this trace): the channel's principal");
  t.Say(
      "becomes the user, whose change of Lang the card accepts; the operator's data is untouched.");
  EXPECT_EQ(SwOf(t.Exchange(Bytes{0x00, 0x20, 0x00, 0x01, 0x04, '1', '2', '3', '4'})), 0x9000);
  EXPECT_EQ(SwOf(t.Exchange(*ReplaceCommand("./Vendor/dmcard/UserPrefs/Lang", "fr-FR"))), 0x9000);
  EXPECT_EQ(t.Get("./Vendor/dmcard/UserPrefs/Lang"), "fr-FR");
  t.GetDemo("./DMAcc/DMCardTest/ServerID");
  t.Write();
}

void Uc521Helpdesk() {
  TraceScript t(
      "uc-521-helpdesk.trace",
      {"UC521 helpdesk problem determination: a subscriber calls; the operator's DMS opens a",
       "secure channel and queries Device type, serial number, firmware and software",
       "versions, capabilities, installed packages, configuration and the card's event log",
       "(DMS1, SC6, IF1), then acts (DMS2).", kDemoPinSecret,
       "Masked: each event-log entry's time (the card's clock) and the R-MAC of that answer."});
  t.Case("UC521 what happened before the call",
         {"Device: passes the card a bootstrap message whose MAC is wrong (NETWPIN): 63C9, refused",
          "and logged. Then the user changes a preference (PIN 1234, in clear): logged too."});
  t.Select();
  const Bytes message = OperatorBootstrapMessage();
  BootstrapProof proof = NetwPinProof(message);
  proof.command_data[proof.command_data.size() - 1] ^= 0x01;  // the MAC's last hex character
  EXPECT_EQ(SwOf(t.Exchange(VerifyBootstrapApdu(proof.command_data, false))), 0x63C9);
  EXPECT_EQ(SwOf(t.Exchange(Bytes{0x00, 0x20, 0x00, 0x01, 0x04, '1', '2', '3', '4'})), 0x9000);
  EXPECT_EQ(SwOf(t.Exchange(*ReplaceCommand("./Vendor/dmcard/UserPrefs/Lang", "de-DE"))), 0x9000);

  t.Case("UC521 the helpdesk queries the Device",
         {"DMS (dmcard.example.test): a secure channel with C-MAC, C-DECRYPTION and R-MAC, the",
          "answers in clear so that the helpdesk's trace shows them (DMS1, IF1)."});
  Party dms(t, DemoKeySet(kDms), "DMS-0521");
  dms.Open(0x13);
  t.Say("Device type, serial number (DevId), manufacturer, model, DM version, language.");
  for (const char* uri : {"./DevDetail/DevTyp", "./DevInfo/DevId", "./DevInfo/Man", "./DevInfo/Mod",
                          "./DevInfo/DmV", "./DevInfo/Lang"}) {
    dms.GetDemo(uri);
  }
  t.Say("OS and firmware versions, hardware, OEM, large-object support, URI limits.");
  for (const char* uri : {"./DevDetail/FwV", "./DevDetail/SwV", "./DevDetail/HwV",
                          "./DevDetail/OEM", "./DevDetail/LrgObj", "./DevDetail/URI/MaxDepth"}) {
    dms.GetDemo(uri);
  }
  t.Say("The card's capabilities: GET DATA A5, the descriptor (85: extended length, chaining,");
  t.Say("TNDS XML and WBXML export, issuer personalization).");
  const Bytes descriptor = dms.SendPlain(Bytes{0x80, 0xCA, 0x00, 0xA5, 0x00}, 0x9000);
  const std::optional<Descriptor> d = DescriptorOf(DataOf(descriptor));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->flags, 0x01 | Demo().bootstrap_flags);
  std::string error;
  t.Say(
      "Installed packages the firmware policy knows (children of FUMOPolicy), the configuration.");
  EXPECT_EQ(Str(DataOf(dms.Send(DmsGetChildren("./Vendor/dmcard/FUMOPolicy", error), 0x9000))),
            "TestPkg1");
  dms.GetDemo("./Vendor/dmcard/FUMOPolicy/TestPkg1/PkgVersion");
  dms.GetDemo("./Con/NAP/TestAPN/Addr");
  dms.GetDemo("./DMAcc/DMCardTest/AppAddr/Srv1/Addr");
  EXPECT_EQ(dms.Get("./Vendor/dmcard/UserPrefs/Lang"), "de-DE");
  t.Say("The event log (GET DATA E1): the refused bootstrap and the user's change, each with its");
  t.Say("counter, time (masked), kind, reason, principal and detail.");
  const std::vector<std::string> log = dms.EventLog();
  ASSERT_EQ(log.size(), 2u) << ::testing::PrintToString(log);
  EXPECT_NE(log[0].find("@device: bootstrap rejected (wrong MAC)"), std::string::npos) << log[0];
  EXPECT_NE(log[1].find("@user: tree changed by REPLACE"), std::string::npos) << log[1];
  EXPECT_NE(log[1].find("./Vendor/dmcard/UserPrefs/Lang"), std::string::npos) << log[1];

  t.Case("UC521 the helpdesk acts",
         {"DMS: corrects the access point's address (DMS2); the change is logged under its name",
          "(the log read from entry 2 on: GET DATA E1 with the counter 00000002)."});
  dms.Send(ReplaceCommand("./Con/NAP/TestAPN/Addr", "internet3.example.test"), 0x9000);
  const std::vector<std::string> after = dms.EventLog(2);
  ASSERT_EQ(after.size(), 1u) << ::testing::PrintToString(after);
  EXPECT_NE(after[0].find("dmcard.example.test: tree changed by REPLACE"), std::string::npos)
      << after[0];
  t.Write();
}

void UcCrAccepted() {
  TraceScript t(
      "uc-cr-accepted.trace",
      {"UC-CR network-operator signed bootstrap, accepted. The network sends a DM bootstrap",
       "message (SyncML DM 1.2 WBXML, one Add of a TNDS account ./DMAcc/OpAcc) MACed with",
       "NETWPIN, the mechanism it shares with the card (the IMSI). The Device has the card",
       "verify it, asks the user as the card says (USA1), then has it installed; it then",
       "connects on its own (USA3) and the DMS reads the log (DMS1).", kNoSecrets,
       "Masked: each event-log entry's time (the card's clock) and the R-MAC of that answer."});
  t.Case("UC-CR the Device detects the card",
         {"Device: SELECT; flags 07 (provisioning data, user confirmation, autoconnect)."});
  const Descriptor before = t.Select();
  const Bytes message = OperatorBootstrapMessage();
  const BootstrapProof proof = NetwPinProof(message);
  t.Case("UC-CR the card verifies the network's bootstrap",
         {"Device: VERIFY BOOTSTRAP P1 00 (verify only): 80 method 00 NETWPIN, 81 the message as",
          "received, 82 HMAC-SHA1 over it as 40 hex characters. Valid: 84 01 06 = the Device must",
          "ask the user (02, USA1), then connect on its own (04, USA3)."});
  EXPECT_EQ(ToHex(t.Exchange(VerifyBootstrapApdu(proof.command_data, false))),
            ToHex(FlagsAnswer()) + "9000");
  t.Case("UC-CR the user accepts and the bootstrap is installed",
         {"Device: the user says yes (USA1). VERIFY BOOTSTRAP P1 01 verifies again and installs",
          "the message in the same command (the network's MAC authorizes it, not the ACLs)."});
  EXPECT_EQ(ToHex(t.Exchange(VerifyBootstrapApdu(proof.command_data, true))),
            ToHex(FlagsAnswer()) + "9000");
  t.Say("The Device reads the new account into its DM tree (DEV4); the descriptor moved (SC7).");
  EXPECT_EQ(t.Get("./DMAcc/OpAcc/ServerID"), kOperatorServerId);
  EXPECT_EQ(t.Get("./DMAcc/OpAcc/Name"), "operator bootstrap (test)");
  const Descriptor after = t.Select();
  EXPECT_GT(GenerationOf(after), GenerationOf(before));
  t.Case("UC-CR the Device connects; the DMS reads the log",
         {"DMS (dmcard.example.test): the event log shows both verifications accepted (NETWPIN)."});
  Party dms(t, DemoKeySet(kDms), "DMS-0CRA");
  dms.Open(0x13);
  const std::vector<std::string> log = dms.EventLog();
  ASSERT_EQ(log.size(), 2u) << ::testing::PrintToString(log);
  for (const std::string& line : log) {
    EXPECT_NE(line.find("@device: bootstrap accepted (NETWPIN)"), std::string::npos) << line;
  }
  t.Write();
}

void UcCrUserDeclines() {
  TraceScript t("uc-cr-user-declines.trace",
                {"UC-CR network-operator signed bootstrap, the user declines. The card finds the",
                 "network's bootstrap (NETWPIN) valid and says the user must confirm (USA1); the",
                 "user says no, so the Device does not install it: the card's tree is unchanged.",
                 kNoSecrets});
  t.Case("UC-CR the Device detects the card", {"Device: SELECT; the descriptor is remembered."});
  const Descriptor before = t.Select();
  const BootstrapProof proof = NetwPinProof(OperatorBootstrapMessage());
  t.Case("UC-CR the card verifies the network's bootstrap",
         {"Device: VERIFY BOOTSTRAP P1 00 (verify only), NETWPIN. Valid: 84 01 06, the user must",
          "confirm (02, USA1)."});
  EXPECT_EQ(ToHex(t.Exchange(VerifyBootstrapApdu(proof.command_data, false))),
            ToHex(FlagsAnswer()) + "9000");
  t.Case("UC-CR the user declines: nothing changes",
         {"Device: the user says no (USA1); the Device sends no install. The account is not",
          "there (6A82) and the descriptor is exactly as before: same generation and digest."});
  t.Get("./DMAcc/OpAcc/ServerID", 0x6A82);
  const Descriptor after = t.Select();
  EXPECT_EQ(ToHex(after.generation), ToHex(before.generation));
  EXPECT_EQ(ToHex(after.digest), ToHex(before.digest));
  t.GetDemo("./DMAcc/DMCardTest/ServerID");
  t.Write();
}

void UcCrTampered() {
  TraceScript t(
      "uc-cr-tampered.trace",
      {"UC-CR network-operator signed bootstrap, tampered on the way: one byte of the",
       "message changed ('dms-op' became 'dms-ev') while the MAC is the network's. The card",
       "refuses it, counts the failure, changes nothing (SEC1) and logs the refusal.", kNoSecrets,
       "Masked: each event-log entry's time (the card's clock) and the R-MAC of that answer."});
  t.Case("UC-CR the Device detects the card", {"Device: SELECT; the descriptor is remembered."});
  const Descriptor before = t.Select();
  const Bytes message = OperatorBootstrapMessage();
  const BootstrapProof proof = NetwPinProof(message);
  // The tampered message: the MAC of the original over a changed ServerID.
  Bytes tampered_data = proof.command_data;
  const std::string original = "dms-op.example.test";
  auto at =
      std::search(tampered_data.begin(), tampered_data.end(), original.begin(), original.end());
  ASSERT_NE(at, tampered_data.end());
  at[4] = 'e';
  at[5] = 'v';
  t.Case("UC-CR the card refuses the tampered bootstrap",
         {"Device: VERIFY BOOTSTRAP P1 00 and P1 01 with the tampered message: 63C9 then 63C8,",
          "wrong MAC, 9 then 8 verifications left before the card locks bootstrap out."});
  EXPECT_EQ(SwOf(t.Exchange(VerifyBootstrapApdu(tampered_data, false))), 0x63C9);
  EXPECT_EQ(SwOf(t.Exchange(VerifyBootstrapApdu(tampered_data, true))), 0x63C8);
  t.Case("UC-CR nothing changed",
         {"Device: no account ./DMAcc/OpAcc (nor the tampered one); the descriptor is as before."});
  t.Get("./DMAcc/OpAcc/ServerID", 0x6A82);
  const Descriptor after = t.Select();
  EXPECT_EQ(ToHex(after.generation), ToHex(before.generation));
  EXPECT_EQ(ToHex(after.digest), ToHex(before.digest));
  t.Case("UC-CR the DMS sees the refusals",
         {"DMS (dmcard.example.test): the event log has both refusals (kind 02, reason 01)."});
  Party dms(t, DemoKeySet(kDms), "DMS-0CRT");
  dms.Open(0x13);
  const std::vector<std::string> log = dms.EventLog();
  ASSERT_EQ(log.size(), 2u) << ::testing::PrintToString(log);
  for (const std::string& line : log) {
    EXPECT_NE(line.find("@device: bootstrap rejected (wrong MAC)"), std::string::npos) << line;
  }
  t.Write();
}

void UcCrReplayed() {
  TraceScript t(
      "uc-cr-replayed.trace",
      {"UC-CR network-operator signed bootstrap, replayed. The issuer loads the operator's",
       "bootstrap keys (DGI 8402: an HMAC-SHA256 secret, KVN 40, and an ECDSA P-256 public",
       "key, KVN 41). The network's bootstrap carries sequence number 1 and an HMAC-SHA256",
       "over it and the message; the card installs it once. The same packet replayed is",
       "refused (6985) and changes nothing (SEC1); the DMS reads both in the log.",
       "Secrets: the operator keys are obviously-test values ('OPERATOR-HMAC-SECRET-NOT-",
       "REAL-01'), sent encrypted under the demo issuer's K-DEK.",
       "Masked: each event-log entry's time (the card's clock) and the R-MAC of that answer."});
  t.Case("UC-CR the issuer loads the operator's keys",
         {"Issuer (@issuer, KVN 30): STORE DATA of two DGIs 8402, DEK-encrypted (P1 E8)."});
  t.Say("Issuer: SELECT of the DM applet.");
  t.Select();
  Party issuer(t, DemoKeySet(kIssuer), "ISS-0CRR");
  issuer.Open(0x13);
  const OperatorKeys keys = GoldenOperatorKeys();
  std::string error;
  const std::optional<std::vector<HostDgi>> dgis =
      OperatorKeyDgis(keys, OperatorKeySlots{}, DemoKeySet(kIssuer).dek, error);
  ASSERT_TRUE(dgis) << error;
  const std::optional<std::vector<Bytes>> store = StoreDataCommands(*dgis, error);
  ASSERT_TRUE(store) << error;
  for (const Bytes& c : *store) issuer.SendPlain(c, 0x9000);

  t.Case("UC-CR the bootstrap with sequence number 1 is accepted",
         {"Device: SELECT (flags 07: the user confirms before anything is installed, USA1). The",
          "user said yes; VERIFY BOOTSTRAP P1 01: 80 method 10 HMAC-SHA256, 81 message, 82 MAC,",
          "84 sequence 00000001, 85 KVN 40. Accepted and installed: 84 01 06."});
  const Descriptor before = t.Select();
  BootstrapSecrets secrets;
  secrets.keys = &keys;
  secrets.sequence = 1;
  secrets.kvn = 0x40;
  const std::optional<BootstrapProof> proof =
      ProveBootstrap(OperatorBootstrapMessage(), BootstrapMethod::kHmacSha256, secrets, error);
  ASSERT_TRUE(proof) << error;
  EXPECT_EQ(ToHex(t.Exchange(VerifyBootstrapApdu(proof->command_data, true))),
            ToHex(FlagsAnswer()) + "9000");
  EXPECT_EQ(t.Get("./DMAcc/OpAcc/ServerID"), kOperatorServerId);
  const Descriptor installed = t.Select();
  EXPECT_GT(GenerationOf(installed), GenerationOf(before));

  t.Case("UC-CR the same packet replayed is refused",
         {"Attacker (or a confused network): the very same command again. The MAC is right but",
          "sequence 1 is used up: 6985, and the tree is as it was (same generation and digest)."});
  EXPECT_EQ(SwOf(t.Exchange(VerifyBootstrapApdu(proof->command_data, true))), 0x6985);
  const Descriptor after = t.Select();
  EXPECT_EQ(ToHex(after.generation), ToHex(installed.generation));
  EXPECT_EQ(ToHex(after.digest), ToHex(installed.digest));

  t.Case("UC-CR the DMS sees the replay",
         {"DMS (dmcard.example.test): the event log has the accepted bootstrap (HMAC-SHA256) and",
          "the replay refused (kind 02, reason 02)."});
  Party dms(t, DemoKeySet(kDms), "DMS-0CRR");
  dms.Open(0x13);
  const std::vector<std::string> log = dms.EventLog();
  const std::string all = ::testing::PrintToString(log);
  const size_t accepted = all.find("@device: bootstrap accepted (HMAC-SHA256)");
  const size_t replayed = all.find("@device: bootstrap rejected (replayed)");
  EXPECT_NE(accepted, std::string::npos) << all;
  EXPECT_NE(replayed, std::string::npos) << all;
  EXPECT_LT(accepted, replayed) << all;
  t.Write();
}

void FumoCheckFirmware() {
  TraceScript t(
      "fumo-check-firmware.trace",
      {"FUMO: the card controls firmware updates. Before installing a package the Device",
       "asks the card (CHECK FIRMWARE, 80 44): allowed when the operator's policy in the",
       "tree lists its SHA-256 digest and version. The DMS extends the policy over SCP03",
       "(SC6, DMS2) and reads the decisions in the log (DMS1).", kNoSecrets,
       "Masked: each event-log entry's time (the card's clock) and the R-MAC of that answer."});
  t.Case("FUMO a listed package is allowed",
         {"Device: SELECT, then CHECK FIRMWARE of 'dmcard-test-firmware-0.0.1' (80 SHA-256, 81",
          "version 0.0.1-test): the policy's TestPkg1 matches, 86 01 01 allowed."});
  t.Select();
  const Bytes digest1 = ossl::OsslDigest("SHA256", Ascii("dmcard-test-firmware-0.0.1"));
  EXPECT_EQ(ToHex(digest1), [] {
    std::string s = Demo().tree.at("./Vendor/dmcard/FUMOPolicy/TestPkg1/PkgDigest");
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  }());
  const std::string version1 = Demo().tree.at("./Vendor/dmcard/FUMOPolicy/TestPkg1/PkgVersion");
  EXPECT_EQ(ToHex(t.Exchange(FumoCheckFirmwareCommand(digest1, version1))), "8601019000");
  t.Case("FUMO unlisted packages are not allowed",
         {"Device: the same package claiming another version, and another package: 86 01 00.",
          "A signature without a FUMO key on the card: 6A88 (the demo card has none)."});
  EXPECT_EQ(ToHex(t.Exchange(FumoCheckFirmwareCommand(digest1, "0.0.2-test"))), "8601009000");
  const Bytes digest2 = ossl::OsslDigest("SHA256", Ascii("dmcard-test-firmware-0.0.2"));
  EXPECT_EQ(ToHex(t.Exchange(FumoCheckFirmwareCommand(digest2, "0.0.2-test"))), "8601009000");
  EXPECT_EQ(SwOf(t.Exchange(FumoCheckFirmwareCommand(digest2, "0.0.2-test", Bytes(64, 0x5A)))),
            0x6A88);

  t.Case("FUMO the DMS allows a new package",
         {"DMS (dmcard.example.test): adds ./Vendor/dmcard/FUMOPolicy/TestPkg2 with the new",
          "package's digest and version (SC6, DMS2)."});
  Party dms(t, DemoKeySet(kDms), "DMS-FUMO");
  dms.Open(0x13);
  t.Say("The DMS first reads the Device's decisions so far (GET DATA E1): the three checks.");
  const std::vector<std::string> decisions = dms.EventLog();
  ASSERT_EQ(decisions.size(), 3u) << ::testing::PrintToString(decisions);
  EXPECT_NE(decisions[0].find("#0 @device: FUMO decision (allowed: listed)"), std::string::npos)
      << decisions[0];
  EXPECT_NE(decisions[1].find("@device: FUMO decision (not allowed)"), std::string::npos)
      << decisions[1];
  EXPECT_NE(decisions[2].find("@device: FUMO decision (not allowed)"), std::string::npos)
      << decisions[2];
  t.Say("Then adds the new package's entry (ADD x3).");
  const std::string pkg = "./Vendor/dmcard/FUMOPolicy/TestPkg2";
  dms.Send(AddCommand(pkg), 0x9000);
  std::string hex = ToHex(digest2);
  for (char& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  dms.Send(AddCommand(pkg + "/PkgDigest", "chr", hex), 0x9000);
  dms.Send(AddCommand(pkg + "/PkgVersion", "chr", "0.0.2-test"), 0x9000);
  t.Case("FUMO the new package is allowed",
         {"Device: SELECT (ends the DMS's session), CHECK FIRMWARE of 0.0.2-test: 86 01 01."});
  t.Select();
  EXPECT_EQ(ToHex(t.Exchange(FumoCheckFirmwareCommand(digest2, "0.0.2-test"))), "8601019000");
  t.Case(
      "FUMO the DMS reads the new decision",
      {"DMS: the log from entry 6 on (entries 3 to 5 are its own ADDs): the new package allowed."});
  Party dms2(t, DemoKeySet(kDms), "DMS-FUM2");
  dms2.Open(0x13);
  const std::vector<std::string> last = dms2.EventLog(6);
  ASSERT_EQ(last.size(), 1u) << ::testing::PrintToString(last);
  EXPECT_NE(last[0].find("#6 @device: FUMO decision (allowed: listed) — 0.0.2-test"),
            std::string::npos)
      << last[0];
  t.Write();
}

// The UICC access sequence (reference-facts §1; OMA LwM2M 1.1 Appendix G.2.5: select the PKCS#15
// application, read the ODF, the DODF-bootstrap, EF(LwM2M_Bootstrap)), each answer checked here:
// the ODF's entries and the DODF's oidDO read by hand, the file decoded by
// tests/unit/lwm2m_file_reader.h and compared with profiles/demo/profile.json's "lwm2m".
void UiccLwm2mBootstrap() {
  TraceScript t(
      "uicc-access-lwm2m-bootstrap.trace",
      {"UICC access to the LwM2M bootstrap (issue 12; OMA LwM2M 1.1 Appendix G): the sequence of",
       "a UICC-based LwM2M client (reference-facts §1; Nordic uicc_lwm2m) on a logical channel of",
       "its own: MANAGE CHANNEL open, SELECT the PKCS#15 application by AID with an FCP (P2 04),",
       "SELECT 7FFF || FID (P1 08, ETSI TS 102 221 §8.4.2) for EF.ODF, for the DODF-bootstrap",
       "that its second dataObjects entry names (6430, Appendix G.3.2's default) and for",
       "EF(LwM2M_Bootstrap) that the DODF's oidDO entry with OID 2.23.43.9.1 names, one READ",
       "BINARY each with Le = the FCP's size, MANAGE CHANNEL close. Every step answers exactly",
       "9000. The file holds the demo profile's \"lwm2m\" objects in Appendix G.3.3's layout.",
       "Secrets: none; the profile cannot hold LwM2M key material (its Secret Keys are empty).",
       "Masked: nothing (the file is the profile's, fixed when the card is made)."});
  auto hex = [](std::string_view h) { return FromHex(h).value_or(Bytes{}); };
  auto select = [&t](uint16_t fid, const std::string& what) {
    const Bytes r = t.Exchange(
        Bytes{0x01, 0xA4, 0x08, 0x04, 0x04, 0x7F, 0xFF, static_cast<uint8_t>(fid >> 8),
              static_cast<uint8_t>(fid), 0x00},
        {},
        "SELECT 7FFF " + ToHex(Bytes{static_cast<uint8_t>(fid >> 8), static_cast<uint8_t>(fid)}) +
            " (" + what + "), FCP");
    EXPECT_EQ(SwOf(r), 0x9000) << what;
    const Bytes fcp = DataOf(r);
    // 62 L 80 02 <size>: the file size a client reads with one READ BINARY.
    return fcp.size() > 5 && fcp[2] == 0x80 ? static_cast<size_t>((fcp[4] << 8) | fcp[5]) : 0;
  };
  auto read = [&t](size_t size, const std::string& what) {
    EXPECT_LT(size, 256u) << what << ": one short READ BINARY";
    const Bytes r = t.Exchange(Bytes{0x01, 0xB0, 0x00, 0x00, static_cast<uint8_t>(size)}, {},
                               "READ BINARY, " + std::to_string(size) + " bytes (" + what + ")");
    EXPECT_EQ(SwOf(r), 0x9000) << what;
    return DataOf(r);
  };
  // The children of a BER-TLV value with one-byte tags and lengths below 128 (all used here).
  auto children = [](const Bytes& v) {
    std::vector<std::pair<uint8_t, Bytes>> out;
    for (size_t at = 0; at + 2 <= v.size() && v[at + 1] < 0x80;) {
      const size_t len = v[at + 1];
      out.emplace_back(v[at],
                       Bytes(v.begin() + static_cast<long>(at + 2),
                             v.begin() + static_cast<long>(std::min(v.size(), at + 2 + len))));
      at += 2 + len;
    }
    return out;
  };

  t.Case("UICC open a channel and select the PKCS#15 application",
         {"MANAGE CHANNEL open (the card chooses channel 1), then the PKCS#15 AID",
          "A0 00 00 00 63 \"PKCS-15\" with P2 04: the ADF's FCP."});
  EXPECT_EQ(ToHex(t.Exchange(hex("0070000001"), {}, "MANAGE CHANNEL open, the card chooses")),
            "019000");
  const Bytes fcp =
      t.Exchange(hex("01A404040CA000000063504B43532D313500"), {}, "SELECT PKCS#15 by AID, FCP");
  EXPECT_EQ(SwOf(fcp), 0x9000);
  EXPECT_EQ(fcp.at(0), 0x62);

  t.Case("UICC EF.ODF names the DODF-bootstrap",
         {"Two dataObjects entries in priority order: the DM DODF 4401, then the LwM2M",
          "DODF-bootstrap 6430 (a client that keeps the last entry, as Nordic's does, finds it)."});
  const Bytes odf = read(select(0x5031, "EF.ODF"), "EF.ODF");
  std::vector<Bytes> dodfs;
  for (const auto& [tag, value] : children(odf)) {
    EXPECT_EQ(tag, 0xA7);  // dataObjects
    const auto path = children(value);
    if (path.size() == 1 && path[0].first == 0x30 && !children(path[0].second).empty()) {
      dodfs.push_back(children(path[0].second)[0].second);
    }
  }
  EXPECT_EQ(dodfs, (std::vector<Bytes>{{0x44, 0x01}, {0x64, 0x30}})) << ToHex(odf);

  t.Case("UICC the DODF-bootstrap names EF(LwM2M_Bootstrap)",
         {"\"LwM2M Bootstrap\" twice: opaqueDO (what OpenSC reads, applicationOID 2.23.43.9.1),",
          "then oidDO (what handsets read): OidDO { 06 04 67 2B 09 01, Path { 6431 } }."});
  const Bytes dodf = read(select(0x6430, "the LwM2M DODF-bootstrap"), "the DODF-bootstrap");
  Bytes bootstrap_fid;
  for (const auto& [tag, value] : children(dodf)) {
    if (tag != 0xA1) continue;  // oidDO only, as handsets read it
    const auto parts = children(value);
    ASSERT_EQ(parts.size(), 3u) << ToHex(value);
    Bytes label = {0x0C, 0x0F};  // CommonObjectAttributes { label UTF8String }
    Append(label, Ascii("LwM2M Bootstrap"));
    EXPECT_EQ(parts[0].second, label);
    const auto oid_do = children(children(parts[2].second).at(0).second);
    ASSERT_EQ(oid_do.size(), 2u);
    EXPECT_EQ(ToHex(oid_do[0].second), "672B0901");  // 2.23.43.9.1
    bootstrap_fid = children(oid_do[1].second).at(0).second;
  }
  EXPECT_EQ(ToHex(bootstrap_fid), "6431");

  t.Case(
      "UICC EF(LwM2M_Bootstrap) read and the channel closed",
      {"The demo profile's LwM2M objects in OMA LwM2M 1.1 Appendix G.3.3's layout: object count,",
       "size, then per object its ID, version (00 implicit, or major minor) and length, and",
       "its instances in LwM2M TLV: Security (0) with a bootstrap server and an LwM2M server",
       "(NoSec, empty Secret Keys), Server 1.1 (short server ID 101, lifetime 86400 s, binding "
       "U)."});
  const Bytes file = read(select(0x6431, "EF(LwM2M_Bootstrap)"), "EF(LwM2M_Bootstrap)");
  std::string error;
  const std::optional<testing::lwm2m::File> decoded = testing::lwm2m::ReadFile(file, error);
  ASSERT_TRUE(decoded) << error;
  std::ifstream in(DemoProfileDir() / "profile.json");
  std::stringstream json;
  json << in.rdbuf();
  const nlohmann::json profile = nlohmann::json::parse(json.str(), nullptr, true, true);
  EXPECT_EQ(testing::lwm2m::CompareWithProfile(*decoded, profile.at("lwm2m")),
            std::vector<std::string>{});
  EXPECT_EQ(ToHex(t.Exchange(hex("01708001"), {}, "MANAGE CHANNEL close")), "9000");
  t.Write();
}

// Regenerates apdu-specs/traces/*.trace. Run on purpose only:
//   build/tests/dmcard_unit_tests --gtest_also_run_disabled_tests
//       --gtest_filter=Golden_TracesGenerator.DISABLED_RegenerateGoldenTraces
// then review the diff: a changed golden trace is a changed card.
TEST(Golden_TracesGenerator, DISABLED_RegenerateGoldenTraces) {
  fs::create_directories(TracesDir());
  Uc511Normal();
  Uc511aKeyOnly();
  Uc511bReconfigure();
  Uc512UsedDevice();
  Uc521Helpdesk();
  UcCrAccepted();
  UcCrUserDeclines();
  UcCrTampered();
  UcCrReplayed();
  FumoCheckFirmware();
  UiccLwm2mBootstrap();
}

// ---- the tests ---------------------------------------------------------------------------------

RunResult Replay(const fs::path& file) {
  Trace trace;
  std::string error;
  RunResult result;
  if (!ReadTraceFile(file, TraceFormat::kAuto, trace, error)) {
    result.connect_error = error;
    return result;
  }
  auto reader = FreshDemoCard();
  if (!reader) {
    result.connect_error = "no demo card";
    return result;
  }
  RunOptions options;
  options.honour_delays = false;
  return RunTrace(trace, *reader, options, nullptr);
}

std::string Messages(const RunResult& r) {
  std::string s = r.connect_error;
  for (const CaseResult& c : r.cases) {
    for (const std::string& m : c.messages) s += "\n[" + c.name + "] " + m;
  }
  return s;
}

class GoldenTraces : public ::testing::TestWithParam<GoldenTrace> {};

TEST_P(GoldenTraces, ReplaysOnAFreshDemoCard) {
  const fs::path file = TracesDir() / GetParam().file;
  ASSERT_TRUE(fs::exists(file)) << file << ": the golden trace of " << GetParam().id
                                << " is missing";
  const RunResult r = Replay(file);
  EXPECT_TRUE(r.ok()) << Messages(r);
  EXPECT_EQ(r.skipped, 0u);
  // Every case of the trace is named after its use case.
  ASSERT_FALSE(r.cases.empty());
  for (const CaseResult& c : r.cases) {
    if (c.name == fs::path(file).stem().string()) continue;  // the steps before the first @case
    EXPECT_EQ(c.name.rfind(GetParam().cases, 0), 0u) << c.name;
  }
}

std::string TraceTestName(const ::testing::TestParamInfo<GoldenTrace>& info) {
  std::string name = fs::path(info.param.file).stem().string();
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Req_UseCases, GoldenTraces, ::testing::ValuesIn(kGoldenTraces),
                         TraceTestName);

TEST(GoldenTracesSet, EveryUseCaseHasItsTraceAndNoTraceIsUnlisted) {
  std::vector<std::string> listed, present;
  for (const GoldenTrace& g : kGoldenTraces) listed.push_back(g.file);
  for (const auto& entry : fs::directory_iterator(TracesDir())) {
    if (entry.path().extension() == ".trace") present.push_back(entry.path().filename());
  }
  std::sort(listed.begin(), listed.end());
  std::sort(present.begin(), present.end());
  EXPECT_EQ(present, listed);
  // The use cases of /work/shared/requirements: UC511 (normal, a, b), UC512, UC521, UC-CR
  // (accepted, user declines, tampered, replayed), FUMO.
  for (const char* id : {"UC511", "UC511a", "UC511b", "UC512", "UC521", "UC-CR accepted",
                         "UC-CR user declines", "UC-CR tampered", "UC-CR replayed", "FUMO"}) {
    EXPECT_TRUE(std::any_of(std::begin(kGoldenTraces), std::end(kGoldenTraces),
                            [id](const GoldenTrace& g) { return std::string(g.id) == id; }))
        << id;
  }
}

TEST(GoldenTracesSet, ATamperedCopyFails) {
  // One byte of an expected answer changed: the DM server's ServerID as the Device reads it.
  const fs::path original = TracesDir() / "uc-511-normal.trace";
  std::ifstream in(original, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  const std::string server_id = SpacedHex(Ascii("dmcard.example.test"));
  const size_t at = s.find("< " + server_id);
  ASSERT_NE(at, std::string::npos);
  s[at + 2] = s[at + 2] == '6' ? '7' : '6';  // 'd' (64) becomes 't' (74)
  Trace trace;
  std::string error;
  ASSERT_TRUE(ParseNativeTrace(s, "uc-511-normal.trace (tampered)", trace, error)) << error;
  auto reader = FreshDemoCard();
  ASSERT_TRUE(reader);
  RunOptions options;
  options.honour_delays = false;
  const RunResult r = RunTrace(trace, *reader, options, nullptr);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.failed, 1u) << Messages(r);
  EXPECT_NE(Messages(r).find("does not match"), std::string::npos) << Messages(r);
}
}  // namespace
}  // namespace dmcard
