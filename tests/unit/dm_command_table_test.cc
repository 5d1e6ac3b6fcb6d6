// The DM applet's command table (applet/dm/command_table.h): its rows are unambiguous, the
// development-path guard comes before any parsing, the parse functions give typed requests, and
// DmApplet::DescribeCommand names every command — with its URI, never a value, PIN or document —
// directly and through Card::DescribeCommand (what dmcard-vicc -v prints). The table's agreement
// with apdu-specs/dm.json is checked in apdu_specs_test.cc.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <tuple>

#include "demo_card_apdus.h"
#include "dm/command_table.h"
#include "dm/dm_applet.h"
#include "dm/requests.h"
#include "host/demo_card.h"
#include "runtime/tlv.h"
#include "scp03_test_client.h"
#include "test_applets.h"

namespace dmcard::dm {
namespace {

using testing::H;
using testing::SwOf;

Bytes Str(std::string_view s) { return Bytes(s.begin(), s.end()); }

// 80 <ins> P1 P2 Lc data (no Le), with CLA `cla`.
Bytes Apdu(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, ByteView data) {
  Bytes c = {cla, ins, p1, p2};
  if (!data.empty()) {
    c.push_back(static_cast<uint8_t>(data.size()));
    Append(c, data);
  }
  return c;
}
Bytes Dm(uint8_t ins, uint8_t p1, uint8_t p2, ByteView data) {
  return Apdu(0x80, ins, p1, p2, data);
}
Bytes TlvData(std::initializer_list<std::pair<uint8_t, std::string>> items) {
  Bytes out;
  for (const auto& [tag, text] : items) AppendTlv(out, tag, Str(text));
  return out;
}

CommandApdu Parse(const Bytes& raw) {
  ParsedApdu p = ParseCommand(raw, true);
  EXPECT_EQ(p.error, Sw::kOk) << ToHex(raw);
  return p.command;
}

std::string Describe(const Bytes& raw) {
  const DmApplet applet{DmAppletConfig{}};
  return applet.DescribeCommand(Parse(raw));
}

constexpr std::string_view kSecret = "s3cr3t";
const std::string kSecretHex = ToHex(Str(kSecret));

// The description of `raw`, which carries kSecret: checked to show neither its text nor its hex.
std::string DescribeSecretBearing(const Bytes& raw) {
  EXPECT_NE(ToHex(raw).find(kSecretHex), std::string::npos) << "the command must carry it";
  const std::string text = Describe(raw);
  EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
  EXPECT_EQ(text.find(kSecretHex), std::string::npos) << text;
  return text;
}

TEST(DmCommandTable, RowsAreUnambiguous) {
  std::set<std::tuple<CommandClass, uint8_t, bool>> keys;
  std::set<std::string> names;
  for (const Command& c : CommandTable()) {
    EXPECT_TRUE(keys.insert({c.cls, c.ins, c.on_select}).second) << c.name;
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
    EXPECT_NE(std::string(c.label), "") << c.name;
    EXPECT_TRUE(c.run != nullptr && c.describe != nullptr) << c.name;
  }
  int on_select = 0;
  for (const Command& c : CommandTable()) on_select += c.on_select ? 1 : 0;
  EXPECT_EQ(on_select, 1) << "one row answers the SELECT that selects the applet";
}

TEST(DmCommandTable, FindsRowsByClassAndIns) {
  const Command* get = FindCommand(Parse(H("8030000000")), false);
  ASSERT_NE(get, nullptr);
  EXPECT_STREQ(get->name, "GET (tree)");
  EXPECT_NE(FindCommand(Parse(H("C3300000")), false), nullptr) << "channel 7, same class";
  EXPECT_EQ(FindCommand(Parse(H("0030000000")), false), nullptr) << "interindustry 30";
  EXPECT_EQ(FindCommand(Parse(H("8020000100")), false), nullptr) << "proprietary 20";
  EXPECT_EQ(FindCommand(Parse(H("00A4000C023F00")), false), nullptr)
      << "SELECT is only the selecting row";
  const Command* select = FindCommand(Parse(H("00A404000AF0444D434152442D444D")), true);
  ASSERT_NE(select, nullptr);
  EXPECT_STREQ(select->name, "SELECT (DM applet)");
}

// The issuer's guard is the row's Access, checked once before parsing: STORE DATA carries it,
// and a malformed command from anyone but the issuer answers 6982, not its format error.
TEST(DmCommandTable, IssuerGuardPrecedesParsing) {
  std::set<std::string> guarded;
  for (const Command& c : CommandTable()) {
    if (c.access == Access::kIssuer) guarded.insert(c.label);
  }
  EXPECT_EQ(guarded, (std::set<std::string>{"DM STORE DATA"}));

  std::string error;
  const uint8_t seed[16] = {3};
  auto card =
      MakeDemoCard(DemoCardConfig(),
                   Platform{std::make_shared<RamMedium>(), crypto::Drbg::FromSeed(seed)}, error);
  ASSERT_TRUE(card) << error;
  card->PowerOn();
  ASSERT_EQ(SwOf(card->Transmit(H("00A404000AF0444D434152442D444D00"))), 0x9000);
  EXPECT_EQ(SwOf(card->Transmit(H("80E2050000"))), 0x6982) << "bad P1, no data, no session";
  EXPECT_EQ(SwOf(card->Transmit(H("80E2880000"))), 0x6982) << "no data, no session";
  testing::Scp03TestClient issuer(*card, {0x30, testing::DemoIssuerKeys()});
  ASSERT_EQ(issuer.Open(dm::DmApplet::DefaultAid()), "");
  EXPECT_EQ(SwOf(issuer.Transmit(H("80E2050000"))), 0x6A86) << "the issuer: the parse speaks";
  EXPECT_EQ(SwOf(issuer.Transmit(H("80E2880000"))), 0x6700);
}

TEST(DmRequests, ParsesIntoTypedRequests) {
  Bytes add = Dm(0x32, 0, 0,
                 TlvData({{0x80, "./A/B"},
                          {0x82, "int"},
                          {0x81, "42"},
                          {0x83, "text/plain"},
                          {0x84, "Get=*"},
                          {0x85, std::string(1, '\x01')}}));
  Parsed<AddRequest> a = ParseAdd(Parse(add));
  ASSERT_TRUE(a.request);
  EXPECT_EQ(a.request->uri, "./A/B");
  EXPECT_EQ(a.request->format, NodeFormat::kInt);
  EXPECT_EQ(std::string(a.request->value.begin(), a.request->value.end()), "42");
  EXPECT_EQ(a.request->type, "text/plain");
  EXPECT_EQ(a.request->acl, "Get=*");
  EXPECT_TRUE(a.request->secret);

  Parsed<GetRequest> g = ParseGet(Parse(Dm(0x30, 0x01, 0x07, Str("./A"))));
  ASSERT_TRUE(g.request);
  EXPECT_EQ(g.request->what, GetRequest::What::kProperty);
  EXPECT_EQ(g.request->property, Property::kTStamp);

  Parsed<ReplaceRequest> r =
      ParseReplace(Parse(Dm(0x34, 0x01, 0x06, TlvData({{0x80, "./A"}, {0x81, "T"}}))));
  ASSERT_TRUE(r.request);
  EXPECT_EQ(r.request->property, Property::kTitle);

  // STORE DATA: P1 b8 last block, b7-b6 11 encrypted, b5-b4 01 DGI format; P2 block number.
  const Bytes store = Dm(0xE2, 0xE8, 0x05, Str("0101"));  // the request's data points into it
  Parsed<StoreDataRequest> s = ParseStoreData(Parse(store));
  ASSERT_TRUE(s.request);
  EXPECT_TRUE(s.request->last_block);
  EXPECT_TRUE(s.request->encrypted);
  EXPECT_EQ(s.request->block, 0x05);
  EXPECT_EQ(std::string(s.request->data.begin(), s.request->data.end()), "0101");
  s = ParseStoreData(Parse(Dm(0xE2, 0x08, 0x00, Str("x"))));
  ASSERT_TRUE(s.request);
  EXPECT_FALSE(s.request->last_block);
  EXPECT_FALSE(s.request->encrypted);

  // Malformed commands: the status words of apdu-specs/dm.json.
  EXPECT_EQ(ParseGet(Parse(H("8030040000"))).sw, Sw::kIncorrectP1P2);
  EXPECT_EQ(ParseGet(Parse(H("8030000000"))).sw, Sw::kWrongLength);
  EXPECT_EQ(ParseAdd(Parse(H("803200000380FF01"))).sw, Sw::kWrongData);
  EXPECT_EQ(ParseAdd(Parse(Dm(0x32, 0, 0, TlvData({{0x80, "./A"}, {0x82, "nonsense"}})))).sw,
            SwFromDmStatus(DmStatus::kUnsupportedFormat));
  EXPECT_EQ(
      ParseAdd(Parse(Dm(0x32, 0, 0, TlvData({{0x80, "./A"}, {0x82, "node"}, {0x81, "v"}})))).sw,
      SwFromDmStatus(DmStatus::kCommandNotAllowed))
      << "an interior node has no value";
  EXPECT_EQ(ParseReplace(Parse(Dm(0x34, 0x01, 0x02, TlvData({{0x80, "./A"}, {0x81, "v"}})))).sw,
            Sw::kIncorrectP1P2)
      << "only ACL and Title are replaceable";
  EXPECT_EQ(ParseExport(Parse(H("803A0200022E00"))).sw, Sw::kIncorrectP1P2);
  EXPECT_EQ(ParseStoreData(Parse(H("80E20000033C783E"))).sw, Sw::kIncorrectP1P2)
      << "not the DGI format";
  EXPECT_EQ(ParseStoreData(Parse(H("80E2A800033C783E"))).sw, Sw::kIncorrectP1P2)
      << "application-dependent encryption";
  EXPECT_EQ(ParseStoreData(Parse(H("80E2880000"))).sw, Sw::kWrongLength);
  EXPECT_EQ(ParseGetData(Parse(H("80CA00B000"))).sw, Sw::kReferenceDataNotFound);
}

TEST(DmDescribeCommand, NamesEveryRowByItsLabel) {
  for (const Command& c : CommandTable()) {
    if (c.on_select) continue;
    const uint8_t cla = c.cls == CommandClass::kProprietary ? 0x80 : 0x00;
    const std::string text = Describe(Bytes{cla, c.ins, 0x00, 0x00});
    EXPECT_EQ(text.rfind(c.label, 0), 0u) << c.name << ": " << text;
  }
}

TEST(DmDescribeCommand, TreeCommandsShowWhatAndTheUri) {
  EXPECT_EQ(Describe(Dm(0x30, 0x00, 0x00, Str("./DevInfo/Man"))), "DM GET value ./DevInfo/Man");
  EXPECT_EQ(Describe(Dm(0x30, 0x01, 0x01, Str("./DMAcc"))), "DM GET ACL ./DMAcc");
  EXPECT_EQ(Describe(Dm(0x30, 0x01, 0x08, Str("./DMAcc"))), "DM GET VerNo ./DMAcc");
  EXPECT_EQ(Describe(Dm(0x30, 0x02, 0x00, Str("./DMAcc"))), "DM GET children ./DMAcc");
  EXPECT_EQ(Describe(Dm(0x30, 0x03, 0x00, Str("."))), "DM GET properties .");
  EXPECT_EQ(Describe(Dm(0x36, 0x00, 0x00, Str("./X/Y"))), "DM DELETE ./X/Y");
  EXPECT_EQ(Describe(Dm(0x3A, 0x00, 0x00, Str("./DMAcc"))), "DM EXPORT XML ./DMAcc");
  EXPECT_EQ(Describe(Dm(0x3A, 0x01, 0x00, Str("./DMAcc"))), "DM EXPORT WBXML ./DMAcc");
  EXPECT_EQ(Describe(H("80CA00A500")), "DM GET DATA descriptor");
  EXPECT_EQ(Describe(H("C3CA00A500")), "DM GET DATA descriptor") << "on channel 7";
}

TEST(DmDescribeCommand, NeverShowsValuesPinsOrDocuments) {
  const std::string secret(kSecret);
  EXPECT_EQ(DescribeSecretBearing(Dm(0x32, 0, 0,
                                     TlvData({{0x80, "./X/Y"},
                                              {0x82, "chr"},
                                              {0x81, secret},
                                              {0x84, "Get=" + secret},
                                              {0x83, secret}}))),
            "DM ADD ./X/Y");
  EXPECT_EQ(DescribeSecretBearing(Dm(0x34, 0x00, 0x00, TlvData({{0x80, "./X/Y"}, {0x81, secret}}))),
            "DM REPLACE value ./X/Y");
  EXPECT_EQ(DescribeSecretBearing(
                Dm(0x34, 0x01, 0x01, TlvData({{0x80, "./X"}, {0x81, "Get=" + secret}}))),
            "DM REPLACE ACL ./X");
  EXPECT_EQ(DescribeSecretBearing(Dm(0x34, 0x01, 0x06, TlvData({{0x80, "./X"}, {0x81, secret}}))),
            "DM REPLACE Title ./X");
  EXPECT_EQ(DescribeSecretBearing(Dm(0x38, 0, 0, TlvData({{0x80, "./Ops/Go"}, {0x81, secret}}))),
            "DM EXEC ./Ops/Go");
  const std::string doc =
      "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>K</NodeName><RTProperties><Format><chr/>"
      "</Format></RTProperties><Value>" +
      secret + "</Value></Node></MgmtTree>";
  EXPECT_EQ(DescribeSecretBearing(Dm(0xE2, 0x08, 0x00, Str(doc))), "DM STORE DATA block 00");
  EXPECT_EQ(DescribeSecretBearing(Dm(0xE2, 0xE8, 0x03, Str(secret))),
            "DM STORE DATA block 03, encrypted, last");
  EXPECT_EQ(DescribeSecretBearing(Dm(0xE2, 0x00, 0x00, Str(secret))), "DM STORE DATA")
      << "not the DGI format";
  EXPECT_EQ(DescribeSecretBearing(Apdu(0x00, 0x20, 0x00, 0x01, Str(secret))), "VERIFY PIN 01");
  EXPECT_EQ(DescribeSecretBearing(Apdu(0x00, 0x20, 0x00, 0x8F, Str(secret))), "VERIFY PIN 8F");
  EXPECT_EQ(DescribeSecretBearing(Apdu(0x00, 0x24, 0x00, 0x01, Str(secret + secret))),
            "CHANGE REFERENCE DATA PIN 01");
  EXPECT_EQ(DescribeSecretBearing(Apdu(0x00, 0x2C, 0x00, 0x01, Str(secret + "12"))),
            "RESET RETRY COUNTER PIN 01");
  // A link of a chain: its data is a piece of the command's, so only the label.
  EXPECT_EQ(DescribeSecretBearing(
                Apdu(0x90, 0x32, 0, 0, TlvData({{0x80, "./X/Y"}, {0x82, "chr"}, {0x81, secret}}))),
            "DM ADD (chained)");
}

TEST(DmDescribeCommand, JustTheLabelWhenTheUriCannotBeDecoded) {
  EXPECT_EQ(Describe(H("8030040000")), "DM GET") << "bad P1";
  EXPECT_EQ(Describe(H("8030000000")), "DM GET") << "no URI";
  EXPECT_EQ(Describe(H("80300000032E2F1B")), "DM GET") << "ESC in the URI";
  EXPECT_EQ(Describe(Dm(0x36, 0, 0, Bytes{'.', '/', 0xC3, 0xA9})), "DM DELETE") << "not ASCII";
  Bytes long_uri = H("80300000 000100");  // extended Lc 256
  Append(long_uri, Bytes(256, 'a'));
  EXPECT_EQ(Describe(long_uri), "DM GET") << "beyond MaxTotLen";
  EXPECT_EQ(Describe(H("803200000380FF01")), "DM ADD") << "truncated TLV";
  EXPECT_EQ(Describe(H("80CA00B000")), "DM GET DATA");
}

TEST(DmDescribeCommand, OtherCommandsAreLeftToTheRuntime) {
  EXPECT_EQ(Describe(H("80990000")), "");
  EXPECT_EQ(Describe(H("0030000000")), "");
  EXPECT_EQ(Describe(H("00A4000C023F00")), "") << "SELECT is not the applet's to name";
}

// What dmcard-vicc -v prints: the card asks the applet selected on the command's channel.
TEST(DmDescribeCommand, ThroughTheCardOnTheDmChannel) {
  std::string error;
  const uint8_t seed[16] = {3};
  auto card =
      MakeDemoCard(DemoCardConfig(),
                   Platform{std::make_shared<RamMedium>(), crypto::Drbg::FromSeed(seed)}, error);
  ASSERT_TRUE(card) << error;
  card->PowerOn();
  const Bytes get = Dm(0x30, 0x00, 0x00, Str("./DevInfo/Man"));
  EXPECT_NE(card->DescribeCommand(get).rfind("DM GET", 0), 0u) << "the default applet is not DM";
  ASSERT_EQ(SwOf(card->Transmit(H("00A404000AF0444D434152442D444D00"))), 0x9000);
  EXPECT_EQ(card->DescribeCommand(get), "DM GET value ./DevInfo/Man");
  EXPECT_EQ(card->DescribeCommand(H("002000010431323334")), "VERIFY PIN 01");
  // Channel 1 opened with MANAGE CHANNEL, DM selected there too.
  ASSERT_EQ(SwOf(card->Transmit(H("0070000001"))), 0x9000);
  ASSERT_EQ(SwOf(card->Transmit(H("01A404000AF0444D434152442D444D00"))), 0x9000);
  EXPECT_EQ(card->DescribeCommand(Apdu(0x81, 0x3A, 0x00, 0x00, Str("./DMAcc"))),
            "DM EXPORT XML ./DMAcc");
}

}  // namespace
}  // namespace dmcard::dm
