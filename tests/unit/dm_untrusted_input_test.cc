// Untrusted input to the DM applet and what the card holds (issue 7 items 6a, 7c, 10a):
//  - malformed WBXML (tests/data/dm/bad_wbxml.data) is answered 6A80 and never reaches code
//    that can abort (dm/wbxml_scan.h), also after random damage to a valid document and at any
//    nesting depth;
//  - every chr value the card accepts (tests/data/dm/tnds_text_values.data) exports to TNDS XML
//    and WBXML and reads back identical; what TNDS cannot carry is refused at ADD/REPLACE (6A80);
//  - the OMA DM int grammar has one home: the tree and the TNDS reader agree on every value,
//    and a tree the card holds loads back through its own STORE DATA.
#include <gtest/gtest.h>

#include <pugixml.hpp>

#include <random>
#include <sstream>
#include <string>

#include "data_table.h"
#include "demo_card_apdus.h"
#include "dm/dm_applet.h"
#include "dm/node_value.h"
#include "dm/tnds.h"
#include "dm/wbxml_scan.h"
#include "host/demo_card.h"
#include "host/personalization.h"
#include "runtime/tlv.h"
#include "scp03_test_client.h"
#include "test_applets.h"

namespace dmcard::dm {
namespace {

using testing::DataOf;
using testing::H;
using testing::SwOf;

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << part << "\" not found in: \"" << text << "\"";
}

Bytes Str(std::string_view s) { return Bytes(s.begin(), s.end()); }
std::string Text(const Bytes& b) { return std::string(b.begin(), b.end()); }

// A command APDU, CLA 80, always with extended Lc and Le (ISO 7816-3 §12.1.3 cases 3E/4E):
// values and exported trees are longer than short APDUs carry. `data` is never empty here.
Bytes Cmd(uint8_t ins, uint8_t p1, uint8_t p2, ByteView data, bool le) {
  Bytes c = {0x80,
             ins,
             p1,
             p2,
             0x00,
             static_cast<uint8_t>(data.size() >> 8),
             static_cast<uint8_t>(data.size())};
  Append(c, data);
  if (le) c.insert(c.end(), {0x00, 0x00});  // Le 65536
  return c;
}

// The demo card with the DM applet selected on the basic channel.
class DemoDmCard {
 public:
  DemoDmCard() {
    const uint8_t seed[16] = {7};
    std::string error;
    card_ = MakeDemoCard(DemoCardConfig(),
                         Platform{std::make_shared<RamMedium>(), crypto::Drbg::FromSeed(seed),
                                  [] { return int64_t{1700000000}; }},
                         error);
    EXPECT_TRUE(card_) << error;
    if (!card_) return;
    card_->PowerOn();
    Bytes select = H("00A404000A");
    Append(select, DmApplet::DefaultAid());
    select.push_back(0x00);
    EXPECT_EQ(SwOf(card_->Transmit(select)), 0x9000);
    // Speak as the demo profile's DM server, whom its root ACL lets add top-level nodes: over
    // SCP03 with its key set (31), every command below wrapped.
    server_ = std::make_unique<testing::Scp03TestClient>(
        *card_, testing::TestKeySet{0x31, testing::DemoDmsKeys()});
    EXPECT_EQ(server_->Open(DmApplet::DefaultAid()), "");
  }
  bool ok() const { return card_ != nullptr; }

  Bytes Transmit(const Bytes& apdu) { return server_->Transmit(apdu); }
  // From here on, speak as the issuer (the demo profile's key set 30), who may STORE DATA.
  void OpenPersonalization() {
    server_ = std::make_unique<testing::Scp03TestClient>(
        *card_, testing::TestKeySet{0x30, testing::DemoIssuerKeys()});
    ASSERT_EQ(server_->Open(DmApplet::DefaultAid()), "");
  }
  // STORE DATA of one TNDS document: DGI 0201 (replacing the tree) or 0202 (merged into it).
  uint16_t StoreData(bool replace, ByteView doc) {
    uint16_t sw = 0;
    std::string error;
    const std::optional<std::vector<Bytes>> blocks = StoreDataCommands(
        {{replace ? uint16_t{0x0201} : uint16_t{0x0202}, Bytes(doc.begin(), doc.end())}}, error);
    if (!blocks) {
      ADD_FAILURE() << error;
      return 0;
    }
    for (const Bytes& block : *blocks) {
      sw = SwOf(Transmit(block));
      if (sw != 0x9000) break;
    }
    return sw;
  }
  uint16_t AddLeaf(const std::string& uri, const std::string& format, ByteView value) {
    Bytes data;
    AppendTlv(data, 0x80, Str(uri));
    AppendTlv(data, 0x82, Str(format));
    AppendTlv(data, 0x81, value);
    return SwOf(Transmit(Cmd(0x32, 0, 0, data, false)));
  }
  // An interior node anyone may change (its ACL grants every command to everyone).
  uint16_t AddInterior(const std::string& uri) {
    Bytes data;
    AppendTlv(data, 0x80, Str(uri));
    AppendTlv(data, 0x82, Str("node"));
    AppendTlv(data, 0x84, Str("Add=*&Delete=*&Exec=*&Get=*&Replace=*"));
    return SwOf(Transmit(Cmd(0x32, 0, 0, data, false)));
  }
  uint16_t ReplaceTitle(const std::string& uri, ByteView title) {
    Bytes data;
    AppendTlv(data, 0x80, Str(uri));
    AppendTlv(data, 0x81, title);
    return SwOf(Transmit(Cmd(0x34, 0x01, 0x06, data, false)));
  }
  Bytes Get(const std::string& uri, uint8_t p1 = 0, uint8_t p2 = 0) {
    return Transmit(Cmd(0x30, p1, p2, Str(uri), true));
  }
  Bytes Export(const std::string& uri, uint8_t p1) {
    return Transmit(Cmd(0x3A, p1, 0, Str(uri), true));
  }

 private:
  std::unique_ptr<Card> card_;
  std::unique_ptr<testing::Scp03TestClient> server_;
};

std::string DataFile(const std::string& name) {
  return std::string(DMCARD_TEST_DATA_DIR) + "/dm/" + name;
}

// --- 6a: malformed WBXML ------------------------------------------------------------------

TEST(DmUntrustedWbxml, MalformedDocumentsAreRefusedBeforeLibwbxml) {
  const std::string table = DataFile("bad_wbxml.data");
  for (const testing::TableRow& row : testing::ReadTable(table, 4)) {
    SCOPED_TRACE(table + ":" + std::to_string(row.line) + ": " + row.fields[0]);
    const Bytes doc = H(row.fields[1]);
    const std::string scan = ScanWbxml(doc);
    if (row.fields[3] == "-") {
      EXPECT_EQ(scan, "");
    } else {
      EXPECT_TRUE(Contains(scan, row.fields[3]));
    }
    std::string error;
    const bool converted = TndsWbxmlToXml(doc, error).has_value();
    if (!scan.empty()) {
      EXPECT_FALSE(converted);
      EXPECT_TRUE(Contains(error, "malformed WBXML"));
    }
    // Through the card: answered with the documented status word, and the card goes on.
    DemoDmCard card;
    ASSERT_TRUE(card.ok());
    card.OpenPersonalization();
    const uint16_t expected = static_cast<uint16_t>(std::stoul(row.fields[2], nullptr, 16));
    EXPECT_EQ(card.StoreData(/*replace=*/false, doc), expected);
    EXPECT_EQ(SwOf(card.Get("./DevInfo/Man")), 0x9000) << "the card still answers";
  }
}

// The WBXML of a real export, damaged at random (seeded), never aborts the decoder: each
// damaged document is either refused by the scan or decoded by libwbxml2 to something the TNDS
// reader accepts or refuses. A process abort here fails the whole test binary.
TEST(DmUntrustedWbxml, DamagedExportsNeverAbort) {
  DemoDmCard card;
  ASSERT_TRUE(card.ok());
  const Bytes exported = card.Export("./DMAcc", 0x01);
  ASSERT_EQ(SwOf(exported), 0x9000);
  const Bytes good = DataOf(exported);
  std::mt19937 rng(20240607);
  size_t scanned_ok = 0;
  for (int i = 0; i < 4000; ++i) {
    Bytes doc = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !doc.empty(); ++e) {
      const size_t at = rng() % doc.size();
      switch (rng() % 5) {
        case 0:
          doc[at] = static_cast<uint8_t>(rng());
          break;
        case 1:
          doc[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        case 2:
          doc.resize(at);
          break;
        case 3:  // an entity or multi-byte integer prefix where it hurts most
          doc.insert(doc.begin() + static_cast<ptrdiff_t>(at),
                     {0x02, 0xFE, 0xFF, 0xFF, 0xFF, 0x00});
          break;
        default:
          doc.insert(doc.begin() + static_cast<ptrdiff_t>(at), static_cast<uint8_t>(rng()));
          break;
      }
    }
    if (doc.empty()) continue;
    if (ScanWbxml(doc).empty()) ++scanned_ok;
    std::string error;
    std::optional<std::string> xml = TndsWbxmlToXml(doc, error);
    if (xml) (void)ParseTndsXml(*xml);
  }
  EXPECT_GT(scanned_ok, 0u) << "some damage (e.g. inside a value) leaves a decodable document";
}

// Nesting is bounded without recursion: a document of 100 000 nested elements is refused.
TEST(DmUntrustedWbxml, DeepNestingIsRefused) {
  Bytes deep = H("03 01 6A 00 00 02");
  deep.insert(deep.end(), 100000, 0x64);  // <Node> with content, over and over
  deep.insert(deep.end(), 100000, 0x01);
  EXPECT_TRUE(Contains(ScanWbxml(deep), "nested deeper than 160"));
  // Exactly the limit is fine for the scan (libwbxml2 then names the unknown page-0 tags).
  Bytes limit = H("03 01 6A 00");
  limit.insert(limit.end(), kMaxWbxmlDepth, 0x60);
  limit.insert(limit.end(), kMaxWbxmlDepth, 0x01);
  EXPECT_EQ(ScanWbxml(limit), "");
  limit.insert(limit.begin() + 4, 0x60);
  limit.push_back(0x01);
  EXPECT_TRUE(Contains(ScanWbxml(limit), "nested deeper"));

  // The XML reader bounds <Node> nesting too.
  std::string xml = "<MgmtTree><VerDTD>1.2</VerDTD>";
  for (size_t i = 0; i < 20000; ++i) xml += "<Node><NodeName>a</NodeName>";
  for (size_t i = 0; i < 20000; ++i) xml += "</Node>";
  xml += "</MgmtTree>";
  EXPECT_TRUE(Contains(ParseTndsXml(xml).error, "nested deeper than 127"));
}

// --- 7c: every value the card accepts round-trips through TNDS XML and WBXML -------------

// The value of `uri` in a TNDS XML document, or nullopt with the reason in `why`.
std::optional<Bytes> ValueIn(const std::string& xml, const std::string& uri, std::string& why) {
  const TndsDocument doc = ParseTndsXml(xml);
  if (!doc.error.empty()) {
    why = doc.error;
    return std::nullopt;
  }
  for (const Node& n : doc.nodes) {
    if (n.uri == uri) return n.value;
  }
  why = uri + " is not in the document";
  return std::nullopt;
}

TEST(DmTndsText, AcceptedValuesRoundTripRefusedOnesAreRefusedAtAddAndReplace) {
  const std::string table = DataFile("tnds_text_values.data");
  for (const testing::TableRow& row : testing::ReadTable(table, 4)) {
    SCOPED_TRACE(table + ":" + std::to_string(row.line) + ": " + row.fields[0]);
    const Bytes value = row.fields[1].empty() ? Bytes{} : H(row.fields[1]);
    const std::string format = row.fields[2];
    const uint16_t expected = static_cast<uint16_t>(std::stoul(row.fields[3], nullptr, 16));
    DemoDmCard card;
    ASSERT_TRUE(card.ok());
    ASSERT_EQ(card.AddInterior("./Scratch"), 0x9000);
    EXPECT_EQ(card.AddLeaf("./Scratch/V", format, value), expected);
    // REPLACE answers the same, and so does the Title property (text of the same kind).
    ASSERT_EQ(card.AddLeaf("./Scratch/W", format, Bytes{}), 0x9000);
    EXPECT_EQ(SwOf(card.Transmit([&] {
                Bytes data;
                AppendTlv(data, 0x80, Str("./Scratch/W"));
                AppendTlv(data, 0x81, value);
                return Cmd(0x34, 0, 0, data, false);
              }())),
              expected);
    EXPECT_EQ(card.ReplaceTitle("./Scratch", value), expected);
    if (expected != 0x9000) {
      EXPECT_EQ(SwOf(card.Get("./Scratch/V")), 0x6A82) << "nothing of a refused ADD remains";
      continue;
    }
    EXPECT_EQ(DataOf(card.Get("./Scratch/V")), value);

    // TNDS XML: no raw C0 control but tab and LF (XML 1.0 §2.2), no character reference but
    // &#13; for CR (§2.11), parsed by pugixml and by the TNDS reader to the same value; the
    // WBXML export below runs the same text through expat (libwbxml2's XML reader).
    const Bytes xml_r = card.Export("./Scratch", 0x00);
    ASSERT_EQ(SwOf(xml_r), 0x9000);
    const std::string xml = Text(DataOf(xml_r));
    for (size_t i = 0; i < xml.size(); ++i) {
      const auto c = static_cast<unsigned char>(xml[i]);
      EXPECT_TRUE(c >= 0x20 || c == '\t' || c == '\n') << "raw control byte at " << i;
      if (xml.compare(i, 2, "&#") == 0) {
        EXPECT_EQ(xml.substr(i, 5), "&#13;");
      }
    }
    std::string why;
    std::optional<Bytes> back = ValueIn(xml, "./Scratch/V", why);
    ASSERT_TRUE(back) << why << "\n" << xml;
    EXPECT_EQ(*back, value) << xml;
    pugi::xml_document parsed;
    EXPECT_TRUE(
        parsed.load_string(xml.c_str(), pugi::parse_default | pugi::parse_ws_pcdata_single));
    EXPECT_EQ(
        std::string(
            parsed.document_element().child("Node").child("RTProperties").child_value("Title")),
        Text(value));

    // TNDS WBXML: the card encodes it (no 6F00) and it decodes to the same value.
    const Bytes wbxml_r = card.Export("./Scratch", 0x01);
    ASSERT_EQ(SwOf(wbxml_r), 0x9000);
    std::string error;
    std::optional<std::string> decoded = TndsWbxmlToXml(DataOf(wbxml_r), error);
    ASSERT_TRUE(decoded) << error;
    back = ValueIn(*decoded, "./Scratch/V", why);
    ASSERT_TRUE(back) << why << "\n" << *decoded;
    EXPECT_EQ(*back, value) << *decoded;

    // The card's own STORE DATA loads both forms back, value for value.
    card.OpenPersonalization();
    for (const Bytes& doc : {Bytes(xml.begin(), xml.end()), DataOf(wbxml_r)}) {
      ASSERT_EQ(SwOf(card.Transmit(Cmd(0x36, 0, 0, Str("./Scratch"), false))), 0x9000);
      EXPECT_EQ(card.StoreData(/*replace=*/false, doc), 0x9000);
      EXPECT_EQ(DataOf(card.Get("./Scratch/V")), value);
      EXPECT_EQ(DataOf(card.Get("./Scratch", 0x01, 0x06)), value) << "Title";
    }
  }
}

TEST(DmTndsText, NodeNamesAreTextTheDocumentCanCarry) {
  DemoDmCard card;
  ASSERT_TRUE(card.ok());
  // XML 1.0 §2.2 and RFC 3629: a name with a C0 control or invalid UTF-8 is refused (6A80).
  EXPECT_EQ(card.AddLeaf(std::string("./A\x01"), "chr", Str("x")), 0x6A80);
  EXPECT_EQ(card.AddLeaf(std::string("./A\xFF"), "chr", Str("x")), 0x6A80);
  EXPECT_EQ(card.AddLeaf(std::string("./A\xC0\x80"), "chr", Str("x")), 0x6A80);      // overlong NUL
  EXPECT_EQ(card.AddLeaf(std::string("./A\xED\xA0\x80"), "chr", Str("x")), 0x6A80);  // surrogate
  // Any other Unicode name is fine and exports as such.
  const std::string name = "./Caf\xC3\xA9-\xF0\x9F\x93\xB1";
  ASSERT_EQ(card.AddLeaf(name, "chr", Str("x")), 0x9000);
  const std::string xml = Text(DataOf(card.Export(name, 0x00)));
  std::string why;
  EXPECT_TRUE(ValueIn(xml, name, why)) << why << "\n" << xml;
}

// --- 10a: one OMA DM int grammar ----------------------------------------------------------

// OMA DM int (SyncML Meta-Information Format "int"): an unsigned integer from 0 to 2**32-1 as
// decimal digits. Leading zeros are digits too (this card keeps the value as written).
TEST(DmIntGrammar, TreeAndTndsReaderAgreeOnEveryValue) {
  struct Case {
    std::string text;
    bool valid;
  };
  const std::vector<Case> cases = {
      {"0", true},
      {"1", true},
      {"4294967295", true},
      {"00000000001", true},  // issue 7 item 10a: the tree held it, STORE DATA refused it
      {"0000000000000000000004294967295", true},
      {"4294967296", false},
      {"99999999999999999999", false},
      {"-1", false},  // unsigned
      {"+1", false},
      {"", false},
      {"1.0", false},
      {"0x10", false},
      {"1e3", false},
      {"1 2", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("int '" + c.text + "'");
    EXPECT_EQ(ValidInt(c.text), c.valid);
    DemoDmCard card;
    ASSERT_TRUE(card.ok());
    EXPECT_EQ(card.AddLeaf("./N", "int", Str(c.text)), c.valid ? 0x9000 : 0x6A80);
    const std::string doc =
        "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>N</NodeName><RTProperties><Format><int/>"
        "</Format></RTProperties><Value>" +
        c.text + "</Value></Node></MgmtTree>";
    const TndsDocument parsed = ParseTndsXml(doc);
    EXPECT_EQ(parsed.error.empty(), c.valid) << parsed.error;
  }
}

// The reproduction of item 10a: the card holds 00000000001 in an int leaf, exports its tree
// and loads the export back through its own STORE DATA (replacing the whole tree).
TEST(DmIntGrammar, ATreeTheCardHoldsLoadsBackThroughStoreData) {
  DemoDmCard card;
  ASSERT_TRUE(card.ok());
  ASSERT_EQ(card.AddLeaf("./Counter", "int", Str("00000000001")), 0x9000);
  const Bytes xml = card.Export(".", 0x00);
  ASSERT_EQ(SwOf(xml), 0x9000);
  const Bytes wbxml = card.Export(".", 0x01);
  ASSERT_EQ(SwOf(wbxml), 0x9000);
  card.OpenPersonalization();
  EXPECT_EQ(card.StoreData(/*replace=*/true, DataOf(xml)), 0x9000);
  EXPECT_EQ(Text(DataOf(card.Get("./Counter"))), "00000000001");
  EXPECT_EQ(card.StoreData(/*replace=*/true, DataOf(wbxml)), 0x9000);
  EXPECT_EQ(Text(DataOf(card.Get("./Counter"))), "00000000001");
}

}  // namespace
}  // namespace dmcard::dm
