// OMA DM TNDS 1.2 documents (dm/tnds.h): export → parse → import round trips, secrets, the
// published Hotspot 2.0 PPS MO example, WBXML through libwbxml2 (DM DDF 1.2 code page),
// malformed documents with errors that say what and where, and DEV4 (card data incorporated
// into a device's DM tree through a TNDS export).
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <memory>
#include <sstream>

#include "dm/mo_tree.h"
#include "dm/tnds.h"
#include "runtime/persistent_store.h"
#include "runtime/storage_medium.h"

namespace dmcard::dm {
namespace {

// Whether `text` contains `part`, showing both when not.
::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << part << "\" not found in:\n" << text;
}

// A tree over RAM, committed after every step so tests can read and compare freely.
class RamTree {
 public:
  RamTree()
      : medium_(std::make_shared<RamMedium>()),
        store_(medium_, PersistentStore::Options{.capacity = 512 * 1024}),
        tree_(store_, "dm/", [] { return int64_t{1700000000}; }) {
    store_.Begin();
    EXPECT_EQ(tree_.Init(), DmStatus::kOk);
    EXPECT_EQ(store_.Commit(), StoreStatus::kOk);
  }
  MoTree& tree() { return tree_; }
  // Runs `f` in a store transaction, committed on kOk and aborted otherwise.
  DmStatus Write(const std::function<DmStatus(MoTree&)>& f) {
    store_.Begin();
    const DmStatus s = f(tree_);
    if (s == DmStatus::kOk) {
      EXPECT_EQ(store_.Commit(), StoreStatus::kOk);
    } else {
      store_.Abort();
    }
    return s;
  }
  DmStatus Import(const std::vector<Node>& nodes) {
    return Write([&](MoTree& t) { return ImportNodes(t, nodes); });
  }

 private:
  std::shared_ptr<RamMedium> medium_;
  PersistentStore store_;
  MoTree tree_;
};

Node Interior(std::string uri, std::string acl = {}, std::string type = {},
              std::string title = {}) {
  Node n;
  n.uri = std::move(uri);
  n.interior = true;
  n.props.format = NodeFormat::kNode;
  n.props.acl = std::move(acl);
  n.props.type = std::move(type);
  n.props.title = std::move(title);
  return n;
}

Node Leaf(std::string uri, NodeFormat format, std::string_view value,
          std::string type = "text/plain") {
  Node n;
  n.uri = std::move(uri);
  n.props.format = format;
  n.props.type = std::move(type);
  n.value.assign(value.begin(), value.end());
  return n;
}

// Everything of a node that a document carries (TStamp/VerNo belong to the tree).
std::string Describe(const Node& n) {
  std::ostringstream s;
  s << n.uri << (n.interior ? " interior" : " leaf") << " format=" << FormatName(n.props.format)
    << " type=" << n.props.type << " acl=" << n.props.acl << " title=" << n.props.title
    << " secret=" << n.props.secret << " value=" << ToHex(n.value);
  return s.str();
}
std::vector<std::string> Describe(const std::vector<Node>& nodes) {
  std::vector<std::string> out;
  for (const Node& n : nodes) out.push_back(Describe(n));
  return out;
}

std::string Text(const Bytes& b) { return std::string(b.begin(), b.end()); }

// A tree with every format, properties, awkward characters and secrets.
std::vector<Node> SampleNodes() {
  Bytes all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<uint8_t>(i));
  Node bin = Leaf("./Acc/Srv/Blob", NodeFormat::kBin, "", "application/octet-stream");
  bin.value = all_bytes;
  Node secret_bin = Leaf("./Acc/Srv/Auth/AAuthData", NodeFormat::kBin, "", "");
  secret_bin.value = {0x00, 0xFF, 0x10};
  return {
      Interior("./Acc", "Add=srv.example.test&Get=*&Replace=srv.example.test",
               "urn:oma:mo:oma-dm-dmacc:1.0", "Accounts"),
      Interior("./Acc/Srv"),
      Leaf("./Acc/Srv/Name", NodeFormat::kChr, "<Test & \"Server\" 'one'> é ✓"),
      Leaf("./Acc/Srv/Spaces", NodeFormat::kChr, "  leading and trailing  "),
      Leaf("./Acc/Srv/Blank", NodeFormat::kChr, "   "),
      Leaf("./Acc/Srv/Lines", NodeFormat::kChr, "line one\nline two\n"),
      Leaf("./Acc/Srv/Empty", NodeFormat::kChr, ""),
      Leaf("./Acc/Srv/Port", NodeFormat::kInt, "4294967295"),
      Leaf("./Acc/Srv/Zeros", NodeFormat::kInt, "00000000001"),
      Leaf("./Acc/Srv/Crlf", NodeFormat::kChr, "a\r\nb\rc"),
      Leaf("./Acc/Srv/On", NodeFormat::kBool, "false"),
      bin,
      Leaf("./Acc/Srv/Enc", NodeFormat::kB64, "SGVsbG8="),
      Leaf("./Acc/Srv/Doc", NodeFormat::kXml, "<a x=\"1\">b</a>", "text/xml"),
      Leaf("./Acc/Srv/When", NodeFormat::kDate, "2024-01-31"),
      Leaf("./Acc/Srv/At", NodeFormat::kTime, "12:30:00Z"),
      Leaf("./Acc/Srv/Ratio", NodeFormat::kFloat, "1.5e3"),
      Leaf("./Acc/Srv/Nothing", NodeFormat::kNull, ""),
      Interior("./Acc/Srv/Auth", "Get=@user"),
      Leaf("./Acc/Srv/Auth/AAuthSecret", NodeFormat::kChr, "s3cret-NOT-REAL"),
      secret_bin,
      Interior("./Acc/Srv/EmptyInterior"),
      Interior("./Other", "Get=*", "", "Second top-level node"),
      Leaf("./Other/Leaf", NodeFormat::kChr, "x"),
  };
}

void Seed(RamTree& t, const std::vector<Node>& nodes) { ASSERT_EQ(t.Import(nodes), DmStatus::kOk); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(DmTnds, ExportParseImportGivesTheSameTree) {
  RamTree card;
  Seed(card, SampleNodes());
  TndsExportOptions all;
  all.include_secret_values = true;
  const std::string xml = ExportTndsXml(card.tree(), ".", all);
  ASSERT_TRUE(Contains(xml, "<VerDTD>1.2</VerDTD>"));

  const TndsDocument doc = ParseTndsXml(xml);
  ASSERT_EQ(doc.error, "") << xml;
  RamTree copy;
  ASSERT_EQ(copy.Import(doc.nodes), DmStatus::kOk);
  EXPECT_EQ(Describe(copy.tree().Walk()), Describe(card.tree().Walk())) << xml;
  EXPECT_EQ(copy.tree().Read("./Acc/Srv/Blob")->value.size(), 256u);
}

TEST(DmTnds, WritesTheTndsElementSet) {
  RamTree card;
  Seed(card, SampleNodes());
  const std::string xml = ExportTndsXml(card.tree(), ".");
  EXPECT_TRUE(Contains(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
  EXPECT_TRUE(Contains(xml, "<MgmtTree xmlns=\"syncml:dmddf1.2\">"));
  EXPECT_TRUE(Contains(xml,
                       "<NodeName>Acc</NodeName>\n"
                       "    <RTProperties>\n"
                       "      <ACL>Add=srv.example.test&amp;Get=*&amp;Replace=srv.example."
                       "test</ACL>\n"
                       "      <Format>\n"
                       "        <node />\n"
                       "      </Format>\n"
                       "      <Title>Accounts</Title>\n"
                       "      <Type>\n"
                       "        <DDFName>urn:oma:mo:oma-dm-dmacc:1.0</DDFName>"));
  EXPECT_TRUE(Contains(xml, "<MIME>text/plain</MIME>"));
  EXPECT_TRUE(Contains(xml, "<Value>4294967295</Value>"));
  EXPECT_TRUE(Contains(xml, "<Value>a&#13;\nb&#13;c</Value>"));  // CR kept (XML 1.0 §2.11)
  // bin as base64: the 256 byte values start with AAECAwQF.
  EXPECT_TRUE(Contains(xml, "<Value>AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"));
  EXPECT_TRUE(Contains(xml, "<Value>&lt;Test &amp; \"Server\" 'one'&gt; é ✓</Value>"));
  // TStamp / VerNo are the tree's, not the document's.
  EXPECT_EQ(xml.find("TStamp"), std::string::npos);
  EXPECT_EQ(xml.find("VerNo"), std::string::npos);
}

TEST(DmTnds, SecretValuesAreLeftOutUnlessAsked) {
  RamTree card;
  Seed(card, SampleNodes());
  const std::string xml = ExportTndsXml(card.tree(), ".");
  EXPECT_EQ(xml.find("s3cret-NOT-REAL"), std::string::npos);
  EXPECT_EQ(xml.find("AP8Q"), std::string::npos);  // base64 of 00 FF 10
  // The secret nodes are still described (structure), without a value.
  const TndsDocument doc = ParseTndsXml(xml);
  ASSERT_EQ(doc.error, "");
  bool found = false;
  for (const Node& n : doc.nodes) {
    if (n.uri == "./Acc/Srv/Auth/AAuthSecret") {
      found = true;
      EXPECT_FALSE(n.interior);
      EXPECT_TRUE(n.value.empty());
    }
  }
  EXPECT_TRUE(found);

  TndsExportOptions all;
  all.include_secret_values = true;
  EXPECT_TRUE(Contains(ExportTndsXml(card.tree(), ".", all), "s3cret-NOT-REAL"));
  EXPECT_TRUE(Contains(ExportTndsXml(card.tree(), ".", all), "<Value>AP8Q</Value>"));
}

TEST(DmTnds, ExportWithoutValuesOrPropertiesKeepsTheShape) {
  RamTree card;
  Seed(card, SampleNodes());
  TndsExportOptions bare;
  bare.include_values = false;
  bare.include_properties = false;
  const std::string xml = ExportTndsXml(card.tree(), ".", bare);
  EXPECT_EQ(xml.find("<Value"), std::string::npos);
  EXPECT_EQ(xml.find("<ACL>"), std::string::npos);
  const TndsDocument doc = ParseTndsXml(xml);
  ASSERT_EQ(doc.error, "");
  const std::vector<Node> original = card.tree().Walk();
  ASSERT_EQ(doc.nodes.size() + 1, original.size());  // the root is not described
  for (size_t i = 0; i < doc.nodes.size(); ++i) {
    EXPECT_EQ(doc.nodes[i].uri, original[i + 1].uri);
    EXPECT_EQ(doc.nodes[i].interior, original[i + 1].interior) << doc.nodes[i].uri;
    EXPECT_EQ(doc.nodes[i].props.format, original[i + 1].props.format) << doc.nodes[i].uri;
  }
}

TEST(DmTnds, SubtreeExportCarriesItsPath) {
  RamTree card;
  Seed(card, SampleNodes());
  TndsExportOptions all;
  all.include_secret_values = true;
  const std::string xml = ExportTndsXml(card.tree(), "./Acc/Srv/Auth", all);
  EXPECT_TRUE(Contains(xml, "<NodeName>Auth</NodeName>\n    <Path>./Acc/Srv</Path>"));
  const TndsDocument doc = ParseTndsXml(xml, "./Elsewhere");  // Path wins over the base
  ASSERT_EQ(doc.error, "");
  EXPECT_EQ(Describe(doc.nodes), Describe(card.tree().Walk("./Acc/Srv/Auth")));

  EXPECT_EQ(ExportTndsXml(card.tree(), "./Acc/Nope"), "");
}

TEST(DmTnds, TopLevelNodesHangFromTheBase) {
  const TndsDocument doc = ParseTndsXml(
      "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>A</NodeName><Node><NodeName>B</NodeName>"
      "<Value>v</Value></Node></Node></MgmtTree>",
      "./Vendor/x");
  ASSERT_EQ(doc.error, "");
  ASSERT_EQ(doc.nodes.size(), 2u);
  EXPECT_EQ(doc.nodes[0].uri, "./Vendor/x/A");
  EXPECT_TRUE(doc.nodes[0].interior);
  EXPECT_EQ(doc.nodes[1].uri, "./Vendor/x/A/B");
  EXPECT_EQ(doc.nodes[1].props.format, NodeFormat::kChr);
  EXPECT_EQ(Text(doc.nodes[1].value), "v");

  EXPECT_TRUE(Contains(ParseTndsXml("<MgmtTree><VerDTD>1.2</VerDTD></MgmtTree>", "Vendor").error,
                       "base URI 'Vendor' is not absolute"));
}

// The Hotspot 2.0 PPS MO example (tests/data/dm/hotspot20-pps-mo.xml names its source): no
// Format anywhere, so nodes with a Value are chr leaves and the others interior.
TEST(DmTnds, ReadsThePublishedHotspot20PpsMoExample) {
  const std::string xml = ReadFile(std::string(DMCARD_TEST_DATA_DIR) + "/dm/hotspot20-pps-mo.xml");
  const TndsDocument doc = ParseTndsXml(xml);
  ASSERT_EQ(doc.error, "");
  const std::string pps = "./PerProviderSubscription";
  const std::string i = pps + "/i001";
  const std::string up = i + "/Credential/UsernamePassword";
  const std::vector<std::pair<std::string, std::string>> expected = {
      {pps, "<interior>"},
      {i, "<interior>"},
      {i + "/HomeSP", "<interior>"},
      {i + "/HomeSP/FriendlyName", "Century House"},
      {i + "/HomeSP/FQDN", "mi6.co.uk"},
      {i + "/HomeSP/RoamingConsortiumOI", "112233,445566"},
      {i + "/Credential", "<interior>"},
      {i + "/Credential/Realm", "shaken.stirred.com"},
      {up, "<interior>"},
      {up + "/Username", "james"},
      {up + "/Password", "Ym9uZDAwNw=="},
      {up + "/EAPMethod", "<interior>"},
      {up + "/EAPMethod/EAPType", "21"},
      {up + "/EAPMethod/InnerMethod", "MS-CHAP-V2"},
  };
  ASSERT_EQ(doc.nodes.size(), expected.size());
  for (size_t k = 0; k < expected.size(); ++k) {
    const Node& n = doc.nodes[k];
    EXPECT_EQ(n.uri, expected[k].first);
    if (expected[k].second == "<interior>") {
      EXPECT_TRUE(n.interior) << n.uri;
      EXPECT_EQ(n.props.format, NodeFormat::kNode) << n.uri;
    } else {
      EXPECT_FALSE(n.interior) << n.uri;
      EXPECT_EQ(n.props.format, NodeFormat::kChr) << n.uri;
      EXPECT_EQ(Text(n.value), expected[k].second) << n.uri;
    }
  }
  EXPECT_EQ(doc.nodes[0].props.type, "urn:wfa:mo:hotspot2dot0perprovidersubscription:1.0");

  RamTree tree;
  ASSERT_EQ(tree.Import(doc.nodes), DmStatus::kOk);
  EXPECT_EQ(Text(tree.tree().Read(i + "/HomeSP/FQDN")->value), "mi6.co.uk");
}

TEST(DmTnds, WbxmlRoundTripKeepsEveryNode) {
  RamTree card;
  Seed(card, SampleNodes());
  TndsExportOptions all;
  all.include_secret_values = true;
  const std::string xml = ExportTndsXml(card.tree(), ".", all);
  std::string error;
  const std::optional<Bytes> wbxml = TndsXmlToWbxml(xml, error);
  ASSERT_TRUE(wbxml) << error;
  // WBXML 1.3, public identifier as a string-table literal, UTF-8, then SWITCH_PAGE to the DM
  // DDF code page 2 and MgmtTree (token 0x20) with content.
  ASSERT_GT(wbxml->size(), 40u);
  EXPECT_EQ((*wbxml)[0], 0x03);
  EXPECT_EQ((*wbxml)[1], 0x00);              // public id: a string-table literal ...
  const uint8_t public_id_at = (*wbxml)[2];  // ... at this offset (one mb_u_int32 byte here)
  ASSERT_LT(public_id_at, 0x80);
  EXPECT_EQ((*wbxml)[3], 0x6A);  // charset UTF-8 (MIBenum 106)
  size_t pos = 4;
  size_t table_size = 0;
  do {
    table_size = (table_size << 7) | ((*wbxml)[pos] & 0x7F);
  } while ((*wbxml)[pos++] & 0x80);
  ASSERT_LT(pos + table_size + 3, wbxml->size());
  const std::string table(wbxml->begin() + static_cast<ptrdiff_t>(pos),
                          wbxml->begin() + static_cast<ptrdiff_t>(pos + table_size));
  EXPECT_EQ(table.substr(public_id_at, 26), "-//OMA//DTD-DM-DDF 1.2//EN");
  pos += table_size;
  EXPECT_EQ((*wbxml)[pos], 0x00);      // SWITCH_PAGE
  EXPECT_EQ((*wbxml)[pos + 1], 0x02);  // to code page 2
  EXPECT_EQ((*wbxml)[pos + 2], 0x60);  // MgmtTree (0x20) with content (0x40)
  EXPECT_LT(wbxml->size(), xml.size() / 2);

  const std::optional<std::string> back = TndsWbxmlToXml(*wbxml, error);
  ASSERT_TRUE(back) << error;
  const TndsDocument original = ParseTndsXml(xml);
  const TndsDocument decoded = ParseTndsXml(*back);
  ASSERT_EQ(decoded.error, "") << *back;
  EXPECT_EQ(Describe(decoded.nodes), Describe(original.nodes)) << *back;

  // And into a tree: identical to the card's.
  RamTree copy;
  ASSERT_EQ(copy.Import(decoded.nodes), DmStatus::kOk);
  EXPECT_EQ(Describe(copy.tree().Walk()), Describe(card.tree().Walk()));
}

TEST(DmTnds, WbxmlOfThePublishedExampleRoundTrips) {
  const std::string xml = ReadFile(std::string(DMCARD_TEST_DATA_DIR) + "/dm/hotspot20-pps-mo.xml");
  std::string error;
  const std::optional<Bytes> wbxml = TndsXmlToWbxml(xml, error);
  ASSERT_TRUE(wbxml) << error;
  const std::optional<std::string> back = TndsWbxmlToXml(*wbxml, error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(Describe(ParseTndsXml(*back).nodes), Describe(ParseTndsXml(xml).nodes));
}

TEST(DmTnds, WbxmlErrorsAreReported) {
  std::string error;
  EXPECT_FALSE(TndsXmlToWbxml("<wml><card/></wml>", error));
  EXPECT_TRUE(Contains(error, "not a TNDS document"));
  EXPECT_TRUE(Contains(error, "<wml>"));

  error.clear();
  EXPECT_FALSE(TndsWbxmlToXml(Bytes{}, error));
  EXPECT_TRUE(Contains(error, "empty"));

  error.clear();
  EXPECT_FALSE(TndsWbxmlToXml(Bytes{0x03, 0x00, 0x00, 0x6A, 0x05, 'a'}, error));  // truncated
  EXPECT_TRUE(Contains(error, "malformed WBXML: WBXML byte 5: string table of 5 bytes"));

  // Well-formed WBXML that libwbxml2 itself refuses: an attribute, and the DM DDF code page
  // has no attribute table.
  error.clear();
  EXPECT_FALSE(TndsWbxmlToXml(Bytes{0x03, 0x01, 0x6A, 0x00, 0xA0, 0x05, 0x01}, error));
  EXPECT_TRUE(Contains(error, "libwbxml"));
}

struct BadDocument {
  const char* what;
  std::string xml;
  std::string expected;  // substrings of the error, '|'-separated
};

TEST(DmTnds, MalformedDocumentsSayWhatAndWhere) {
  const std::string head = "<MgmtTree>\n<VerDTD>1.2</VerDTD>\n";  // lines 1-2
  const std::string tail = "</MgmtTree>\n";
  const std::vector<BadDocument> cases = {
      {"empty", "", "not well-formed XML"},
      {"unterminated", head + "<Node><NodeName>A</NodeName>\n",
       "line 3, column 29|not well-formed XML"},
      {"not TNDS", "<SyncML/>", "root element is <SyncML>"},
      {"wrong namespace", "<MgmtTree xmlns=\"syncml:metinf\"><VerDTD>1.2</VerDTD></MgmtTree>",
       "namespace is 'syncml:metinf'"},
      {"no VerDTD", "<MgmtTree>\n<Node><NodeName>A</NodeName></Node>\n</MgmtTree>",
       "line 1, column 1|has no <VerDTD>"},
      {"VerDTD 2.0", "<MgmtTree><VerDTD>2.0</VerDTD></MgmtTree>", "unsupported <VerDTD> '2.0'"},
      {"missing NodeName", head + "<Node>\n  <Value>x</Value>\n</Node>\n" + tail,
       "line 3, column 1|<Node> without <NodeName> (under .)"},
      {"nested missing NodeName",
       head + "<Node><NodeName>A</NodeName>\n  <Node><Value>x</Value></Node>\n</Node>\n" + tail,
       "line 4, column 3|<Node> without <NodeName> (under ./A)"},
      {"empty NodeName", head + "<Node><NodeName></NodeName></Node>\n" + tail,
       "line 3|empty <NodeName> under ."},
      {"slash in NodeName", head + "<Node><NodeName>a/b</NodeName></Node>\n" + tail,
       "line 3|<NodeName> 'a/b' is not a valid node name"},
      {"NodeName twice", head + "<Node><NodeName>A</NodeName><NodeName>B</NodeName></Node>" + tail,
       "<NodeName> appears twice in <Node>"},
      {"unknown element in Node", head + "<Node><NodeName>A</NodeName>\n<Foo/></Node>\n" + tail,
       "line 4, column 1|unexpected element <Foo> in <Node>"},
      {"Value under MgmtTree", head + "<Value>x</Value>\n" + tail,
       "line 3|unexpected element <Value> in <MgmtTree>"},
      {"NodeName in RTProperties",
       head +
           "<Node><NodeName>A</NodeName>\n<RTProperties><NodeName>B</NodeName></RTProperties>"
           "</Node>\n" +
           tail,
       "line 4|node ./A|unexpected element <NodeName> in <RTProperties>"},
      {"DDF properties", head + "<Node><NodeName>A</NodeName><DFProperties/></Node>\n" + tail,
       "<DFProperties> belongs to DDF descriptions"},
      {"unknown format",
       head +
           "<Node><NodeName>A</NodeName>\n<RTProperties><Format><string/></Format>"
           "</RTProperties></Node>\n" +
           tail,
       "line 4, column 23|node ./A|unknown format <string/>"},
      {"empty format",
       head + "<Node><NodeName>A</NodeName><RTProperties><Format/></RTProperties></Node>" + tail,
       "node ./A|<Format> is empty"},
      {"two formats",
       head +
           "<Node><NodeName>A</NodeName><RTProperties><Format><chr/><int/></Format>"
           "</RTProperties></Node>" +
           tail,
       "<Format> holds more than one format (<chr/> and <int/>)"},
      {"format as text",
       head +
           "<Node><NodeName>A</NodeName><RTProperties><Format>chr</Format></RTProperties>"
           "</Node>" +
           tail,
       "text 'chr' directly inside <Format>"},
      {"format with content",
       head +
           "<Node><NodeName>A</NodeName><RTProperties><Format><chr>x</chr></Format>"
           "</RTProperties></Node>" +
           tail,
       "format element <chr> must be empty"},
      {"value on interior",
       head +
           "<Node><NodeName>A</NodeName><RTProperties><Format><node/></Format></RTProperties>"
           "\n<Value>x</Value></Node>" +
           tail,
       "line 4|node ./A|interior node (Format node) has a <Value>"},
      {"children of a leaf",
       head +
           "<Node><NodeName>A</NodeName><RTProperties><Format><chr/></Format></RTProperties>"
           "\n<Node><NodeName>B</NodeName></Node></Node>" +
           tail,
       "line 4|node ./A|leaf node (Format chr) has child <Node> elements"},
      {"value and children",
       head +
           "<Node><NodeName>A</NodeName><Node><NodeName>B</NodeName></Node>"
           "<Value>x</Value></Node>" +
           tail,
       "node ./A|either child <Node> elements or a <Value>"},
      {"bad base64",
       head +
           "<Node><NodeName>A</NodeName><RTProperties><Format><bin/></Format></RTProperties>"
           "<Value>not base64!</Value></Node>" +
           tail,
       "node ./A|<Value> of a bin node is not valid base64"},
      {"bad int",
       head +
           "<Node><NodeName>A</NodeName><RTProperties><Format><int/></Format></RTProperties>"
           "<Value>12a</Value></Node>" +
           tail,
       "'12a' of an int node is not an unsigned 32-bit integer"},
      {"int overflow",
       head +
           "<Node><NodeName>A</NodeName><RTProperties><Format><int/></Format></RTProperties>"
           "<Value>4294967296</Value></Node>" +
           tail,
       "not an unsigned 32-bit integer (OMA DM int: 0 to 4294967295)"},
      {"bad bool",
       head +
           "<Node><NodeName>A</NodeName><RTProperties><Format><bool/></Format></RTProperties>"
           "<Value>yes</Value></Node>" +
           tail,
       "'yes' of a bool node is neither true nor false"},
      {"bad ACL",
       head +
           "<Node><NodeName>A</NodeName><RTProperties><ACL>Get=*&amp;Fetch=*</ACL>"
           "</RTProperties></Node>" +
           tail,
       "node ./A|malformed <ACL> 'Get=*&Fetch=*'"},
      {"bad Type",
       head +
           "<Node><NodeName>A</NodeName><RTProperties><Type><Foo/></Type></RTProperties>"
           "</Node>" +
           tail,
       "unexpected element <Foo> in <Type>"},
      {"node twice",
       head + "<Node><NodeName>A</NodeName></Node>\n<Node><NodeName>A</NodeName></Node>" + tail,
       "line 4|node ./A|node described twice"},
      {"nested Path elsewhere",
       head +
           "<Node><NodeName>A</NodeName><Node><NodeName>B</NodeName><Path>./X</Path></Node>"
           "</Node>" +
           tail,
       "<Path> './X' of a nested node must be its parent ./A"},
      {"bad Path", head + "<Node><NodeName>A</NodeName><Path>/abs</Path></Node>" + tail,
       "<Path> '/abs' is not an absolute URI"},
      {"attribute on Node", head + "<Node id=\"1\"><NodeName>A</NodeName></Node>" + tail,
       "unexpected attribute 'id' on <Node>"},
      {"markup in Value", head + "<Node><NodeName>A</NodeName><Value>a<b/>c</Value></Node>" + tail,
       "<b> inside <Value>, which holds text only"},
  };
  for (const BadDocument& c : cases) {
    SCOPED_TRACE(c.what);
    const TndsDocument doc = ParseTndsXml(c.xml);
    EXPECT_TRUE(doc.nodes.empty());
    ASSERT_NE(doc.error, "") << c.xml;
    std::string_view rest = c.expected;
    while (!rest.empty()) {
      const size_t bar = rest.find('|');
      const std::string part(rest.substr(0, bar));
      EXPECT_TRUE(Contains(doc.error, part));
      rest = bar == std::string_view::npos ? std::string_view{} : rest.substr(bar + 1);
    }
  }
}

TEST(DmTnds, ImportNeedsParentsAndStopsAtTheFirstFailure) {
  RamTree t;
  const std::vector<Node> nodes = {
      Interior("./A"),
      Leaf("./Missing/B", NodeFormat::kChr, "x"),
      Leaf("./A/C", NodeFormat::kChr, "never written"),
  };
  EXPECT_EQ(ImportNodes(t.tree(), {}), DmStatus::kOk);
  EXPECT_EQ(t.Import(nodes), DmStatus::kNotFound);
  EXPECT_FALSE(t.tree().Read("./A"));  // the failed transaction left nothing
  // Values are checked with the tree's own rules while parsing (dm/node_value.h), so the error
  // names the node; what only the tree can know (here: a parent it lacks) fails at import.
  const TndsDocument bad_value = ParseTndsXml(
      "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>D</NodeName><RTProperties><Format><date/>"
      "</Format></RTProperties><Value>not a date</Value></Node></MgmtTree>");
  EXPECT_TRUE(Contains(bad_value.error, "node ./D: <Value> 'not a date' of a date node"));
  const TndsDocument placed = ParseTndsXml(
      "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>D</NodeName><Path>./Missing</Path>"
      "<Value>x</Value></Node></MgmtTree>");
  ASSERT_EQ(placed.error, "");
  EXPECT_EQ(t.Import(placed.nodes), DmStatus::kNotFound);
}

// DEV4: the device retrieves configuration data from the card and incorporates it into its own
// DM tree. Here the card's DMAcc and DevDetail subtrees are exported as TNDS (as the applet's
// EXPORT command does) and imported by a device that already has a tree of its own.
TEST(Req_DEV4_IncorporateCardData, ExportedSubtreeImportsIntoTheDeviceTree) {
  RamTree card;
  Seed(card,
       {
           Interior("./DMAcc", "Get=*&Replace=dms.example.test", "urn:oma:mo:oma-dm-dmacc:1.0"),
           Interior("./DMAcc/Test", "", "urn:oma:mo:oma-dm-dmacc:1.0"),
           Leaf("./DMAcc/Test/ServerID", NodeFormat::kChr, "dms.example.test"),
           Interior("./DMAcc/Test/AppAddr"),
           Interior("./DMAcc/Test/AppAddr/A"),
           Leaf("./DMAcc/Test/AppAddr/A/Addr", NodeFormat::kChr, "https://dms.example.test/dm"),
           Interior("./DMAcc/Test/AppAuth"),
           Interior("./DMAcc/Test/AppAuth/C"),
           Leaf("./DMAcc/Test/AppAuth/C/AAuthName", NodeFormat::kChr, "client"),
           Leaf("./DMAcc/Test/AppAuth/C/AAuthSecret", NodeFormat::kChr, "NOT-REAL-secret"),
       });
  const std::string from_card = ExportTndsXml(card.tree(), "./DMAcc");
  EXPECT_EQ(from_card.find("NOT-REAL-secret"), std::string::npos);  // SC2: secrets stay

  RamTree device;
  Seed(device, {Interior("./DevInfo", "Get=*"), Leaf("./DevInfo/Man", NodeFormat::kChr, "ACME")});
  const TndsDocument doc = ParseTndsXml(from_card);
  ASSERT_EQ(doc.error, "");
  ASSERT_EQ(device.Import(doc.nodes), DmStatus::kOk);

  const MoTree& t = device.tree();
  EXPECT_EQ(Text(t.Read("./DMAcc/Test/ServerID")->value), "dms.example.test");
  EXPECT_EQ(Text(t.Read("./DMAcc/Test/AppAddr/A/Addr")->value), "https://dms.example.test/dm");
  EXPECT_EQ(t.Read("./DMAcc")->props.acl, "Get=*&Replace=dms.example.test");
  EXPECT_EQ(t.Read("./DMAcc/Test")->props.type, "urn:oma:mo:oma-dm-dmacc:1.0");
  EXPECT_TRUE(t.Read("./DMAcc/Test/AppAuth/C/AAuthSecret")->props.secret);
  EXPECT_EQ(Text(t.Read("./DevInfo/Man")->value), "ACME");  // the device's own data stays
  // Everything the card showed is now in the device's tree, with the same properties.
  std::vector<Node> card_nodes = card.tree().Walk("./DMAcc");
  for (Node& n : card_nodes) {
    if (n.props.secret) n.value.clear();
  }
  EXPECT_EQ(Describe(t.Walk("./DMAcc")), Describe(card_nodes));
}

}  // namespace
}  // namespace dmcard::dm
