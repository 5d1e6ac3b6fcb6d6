// The PKCS#15 view of the DM tree (dm/pkcs15_view.h), read through a file-system applet on a
// card with raw APDUs, as a device or OpenSC would. DER is decoded with OpenSSL's parser
// (ASN1_get_object, d2i_ASN1_OBJECT), never with the code under test, and the expected
// structures are written by hand from PKCS#15 v1.1 (DIRRecord, ODF, TokenInfo, DataType).
// EF(DM_Bootstrap), an OMA DM bootstrap message in WBXML, is decoded with libwbxml2 called here,
// never with the card's own decoder (dm/bootstrap_message.h).
#include <gtest/gtest.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <wbxml/wbxml.h>

#include <pugixml.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "dm/bootstrap_message.h"
#include "dm/mo_tree.h"
#include "dm/node_value.h"
#include "dm/pkcs15_view.h"
#include "dm/tnds.h"
#include "fs/file_system.h"
#include "fs/fs_applet.h"
#include "runtime/card.h"
#include "runtime/storage_medium.h"

namespace dmcard::dm {
namespace {

Bytes Hx(std::string_view hex) {
  std::optional<Bytes> b = FromHex(hex);
  EXPECT_TRUE(b.has_value()) << "bad hex in test: " << hex;
  return b.value_or(Bytes{});
}
std::string X(std::string_view hex) { return ToHex(Hx(hex)); }
std::string AsciiHex(std::string_view s) {
  return ToHex(ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}
uint16_t SwOf(const Bytes& r) {
  return r.size() < 2 ? 0 : static_cast<uint16_t>((r[r.size() - 2] << 8) | r[r.size() - 1]);
}
Bytes DataOf(const Bytes& r) { return r.size() < 2 ? Bytes{} : Bytes(r.begin(), r.end() - 2); }
std::string Text(const Bytes& b) { return std::string(b.begin(), b.end()); }
ByteView Bv(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// --- DER → text, through OpenSSL's decoder ----------------------------------------------------
// SEQ{...}, SET{...}, [A15]{...} / [A15]:hex (application), [C0]... (context), INT:hex,
// OCTET:hex, BITS:hex (contents with the unused-bits byte), OID:dotted, UTF8:"text".
// Anything that is not definite-length DER fills the whole input is a test failure.
std::string DumpDer(const unsigned char* p, long len) {
  std::string out;
  const unsigned char* const end = p + len;
  while (p < end) {
    const unsigned char* const start = p;
    long l = 0;
    int tag = 0;
    int cls = 0;
    const int ret = ASN1_get_object(&p, &l, &tag, &cls, end - p);
    if ((ret & 0x80) != 0 || ret == 0x21) {
      ADD_FAILURE() << "not DER at offset " << (start - (end - len));
      return out + "!";
    }
    if (!out.empty()) out += ",";
    std::string name;
    if (cls == V_ASN1_UNIVERSAL) {
      switch (tag) {
        case V_ASN1_SEQUENCE:
          name = "SEQ";
          break;
        case V_ASN1_SET:
          name = "SET";
          break;
        case V_ASN1_INTEGER:
          name = "INT";
          break;
        case V_ASN1_OCTET_STRING:
          name = "OCTET";
          break;
        case V_ASN1_BIT_STRING:
          name = "BITS";
          break;
        case V_ASN1_OBJECT:
          name = "OID";
          break;
        case V_ASN1_UTF8STRING:
          name = "UTF8";
          break;
        default:
          name = "U" + std::to_string(tag);
      }
    } else {
      name = std::string(cls == V_ASN1_APPLICATION        ? "[A"
                         : cls == V_ASN1_CONTEXT_SPECIFIC ? "[C"
                                                          : "[P") +
             std::to_string(tag) + "]";
    }
    if ((ret & V_ASN1_CONSTRUCTED) != 0) {
      out += name + "{" + DumpDer(p, l) + "}";
    } else if (cls == V_ASN1_UNIVERSAL && tag == V_ASN1_OBJECT) {
      const unsigned char* q = start;
      ASN1_OBJECT* obj = d2i_ASN1_OBJECT(nullptr, &q, (p - start) + l);
      char buf[128] = {};
      if (obj != nullptr) OBJ_obj2txt(buf, sizeof buf, obj, 1);
      ASN1_OBJECT_free(obj);
      out += name + ":" + buf;
    } else if (cls == V_ASN1_UNIVERSAL && tag == V_ASN1_UTF8STRING) {
      out += name + ":\"" + std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(l)) +
             "\"";
    } else {
      out += name + ":" + ToHex(ByteView(p, static_cast<size_t>(l)));
    }
    p += l;
  }
  return out;
}
std::string DumpDer(const Bytes& der) { return DumpDer(der.data(), static_cast<long>(der.size())); }

// --- The bootstrap message, through libwbxml2 ------------------------------------------------

// The SyncML XML of a WBXML message as libwbxml2 writes it (its embedded WBXML TNDS decoded in
// place), the commands of its SyncBody, and the nodes of every item's TNDS document in order
// (read with the TNDS XML parser: the WBXML decoding is libwbxml2's alone).
struct DecodedMessage {
  std::string xml;
  std::vector<std::string> commands;  // "Add", ..., "Final"
  std::vector<Node> nodes;
  std::string error;
};

DecodedMessage DecodeWithLibwbxml(Bytes wbxml) {
  DecodedMessage out;
  WBXMLConvWBXML2XML* conv = nullptr;
  if (wbxml.empty() || wbxml_conv_wbxml2xml_create(&conv) != WBXML_OK) {
    out.error = "empty or no converter";
    return out;
  }
  wbxml_conv_wbxml2xml_set_gen_type(conv, WBXML_GEN_XML_COMPACT);
  WB_UTINY* xml = nullptr;
  WB_ULONG len = 0;
  const WBXMLError rc =
      wbxml_conv_wbxml2xml_run(conv, wbxml.data(), static_cast<WB_ULONG>(wbxml.size()), &xml, &len);
  wbxml_conv_wbxml2xml_destroy(conv);
  if (rc != WBXML_OK) {
    out.error = reinterpret_cast<const char*>(wbxml_errors_string(rc));
    return out;
  }
  out.xml.assign(reinterpret_cast<const char*>(xml), len);
  std::free(xml);
  pugi::xml_document doc;
  if (!doc.load_string(out.xml.c_str())) {
    out.error = "libwbxml2 wrote unreadable XML";
    return out;
  }
  for (pugi::xml_node c : doc.child("SyncML").child("SyncBody").children()) {
    out.commands.emplace_back(c.name());
    for (pugi::xml_node item : c.children("Item")) {
      std::ostringstream tnds;
      item.child("Data").child("MgmtTree").print(tnds, "", pugi::format_raw);
      TndsDocument parsed = ParseTndsXml(tnds.str());
      if (!parsed.error.empty()) out.error = parsed.error;
      for (Node& n : parsed.nodes) out.nodes.push_back(std::move(n));
    }
  }
  return out;
}

// A node as a device learns it: URI, interior or leaf, value and the exported properties.
std::set<std::string> Described(const std::vector<Node>& nodes) {
  std::set<std::string> out;
  for (const Node& n : nodes) {
    out.insert(
        n.uri +
        (n.interior ? std::string(" node") : " leaf " + std::string(FormatName(n.props.format))) +
        " acl[" + n.props.acl + "] type[" + n.props.type + "] = " + Text(n.value));
  }
  return out;
}

// --- Fixture ---------------------------------------------------------------------------------

const Bytes kFsAid = {0xF0, 'P', '1', '5', 'T', 'E', 'S', 'T'};
constexpr char kPkcs15AidHex[] = "A000000063504B43532D3135";
constexpr char kSecretA[] = "srv-secret-4711";
constexpr char kSecretB[] = "c2VjcmV0LWRhdGE=";   // AAuthData (b64)
constexpr char kSecretC[] = "nap-password-0815";  // a node marked secret

class DmPkcs15 : public ::testing::Test {
 protected:
  void SetUp() override {
    CardConfig config;
    config.default_applet = kFsAid;
    const uint8_t seed[16] = {1, 5, 1, 5};
    card_ =
        std::make_unique<Card>(config, Platform{medium_, crypto::Drbg::FromSeed(seed), Clock()});
    PopulateTree();
    std::vector<fs::FileSpec> mf = {
        fs::FileSpec::LinearFixed(0x2F00, 32, 2, {Pkcs15DirRecord()}),
        Pkcs15Application("dm/", Clock(), options_),
    };
    ASSERT_EQ(card_->Install(
                  std::make_unique<fs::FileSystemApplet>(kFsAid, fs::FileSpec::Mf(std::move(mf)))),
              Sw::kOk);
    ASSERT_TRUE(card_->GrantRead(kFsAid, "dm/"));
    card_->PowerOn();
  }

  std::function<int64_t()> Clock() {
    return [this] { return now_; };
  }

  // Runs `f` on the DM tree ("dm/" in the card's store) in one committed transaction.
  void Edit(const std::function<void(MoTree&)>& f) {
    PersistentStore& store = card_->store();
    store.Begin();
    MoTree tree(store, "dm/", Clock());
    ASSERT_EQ(tree.Init(), DmStatus::kOk);
    f(tree);
    ASSERT_EQ(store.Commit(), StoreStatus::kOk);
  }

  static void Interior(MoTree& t, const std::string& uri, std::string acl = {}) {
    Node n;
    n.uri = uri;
    n.interior = true;
    n.props.acl = std::move(acl);
    ASSERT_EQ(t.Put(n), DmStatus::kOk) << uri;
  }
  static void Leaf(MoTree& t, const std::string& uri, std::string_view value,
                   NodeFormat format = NodeFormat::kChr, bool secret = false) {
    Node n;
    n.uri = uri;
    n.props.format = format;
    n.props.secret = secret;
    n.value.assign(value.begin(), value.end());
    ASSERT_EQ(t.Put(n), DmStatus::kOk) << uri;
  }

  // An OMA DM 1.2 DMAcc with server credentials, a legacy connectivity subtree (./Con), a
  // connectivity object elsewhere that DMAcc's ToConRef names, and nodes no bootstrap carries.
  void PopulateTree() {
    Edit([](MoTree& t) {
      Interior(t, "./DMAcc", "Add=*&Delete=*&Get=*");
      Interior(t, "./DMAcc/dms1", "Get=*&Replace=dms1");
      Leaf(t, "./DMAcc/dms1/AppID", "w7");
      Leaf(t, "./DMAcc/dms1/ServerID", "dms1");
      Leaf(t, "./DMAcc/dms1/Name", "Example DMS");
      Interior(t, "./DMAcc/dms1/AppAddr");
      Interior(t, "./DMAcc/dms1/AppAddr/a1");
      Leaf(t, "./DMAcc/dms1/AppAddr/a1/Addr", "https://dms.example.com/dm");
      Leaf(t, "./DMAcc/dms1/AppAddr/a1/AddrType", "URI");
      Interior(t, "./DMAcc/dms1/AppAuth");
      Interior(t, "./DMAcc/dms1/AppAuth/srv");
      Leaf(t, "./DMAcc/dms1/AppAuth/srv/AAuthLevel", "SRVCRED");
      Leaf(t, "./DMAcc/dms1/AppAuth/srv/AAuthType", "HMAC");
      Leaf(t, "./DMAcc/dms1/AppAuth/srv/AAuthName", "dms1");
      Leaf(t, "./DMAcc/dms1/AppAuth/srv/AAuthSecret", kSecretA);
      Leaf(t, "./DMAcc/dms1/AppAuth/srv/AAuthData", kSecretB, NodeFormat::kB64);
      Interior(t, "./DMAcc/dms1/ToConRef");
      Interior(t, "./DMAcc/dms1/ToConRef/c1");
      Leaf(t, "./DMAcc/dms1/ToConRef/c1/ConRef", "./Vendor/NAP/gprs1");
      Interior(t, "./DMAcc/dms2");
      Leaf(t, "./DMAcc/dms2/ServerID", "dms2");
      Interior(t, "./Con");
      Interior(t, "./Con/internet");
      Leaf(t, "./Con/internet/Name", "Internet");
      Interior(t, "./Con/internet/NAP");
      Leaf(t, "./Con/internet/NAP/Addr", "internet.example");
      Leaf(t, "./Con/internet/NAP/AddrType", "APN");
      Leaf(t, "./Con/internet/NAP/AuthSecret", kSecretC, NodeFormat::kChr, /*secret=*/true);
      Leaf(t, "./Con/internet/NAP/Retries", "4711", NodeFormat::kInt, /*secret=*/true);
      Interior(t, "./Vendor");
      Interior(t, "./Vendor/NAP");
      Interior(t, "./Vendor/NAP/gprs1");
      Leaf(t, "./Vendor/NAP/gprs1/Apn", "gprs.example");
      Interior(t, "./Vendor/Other");
      Leaf(t, "./Vendor/Other/Note", "not-a-bootstrap-node");
      Interior(t, "./DevInfo");
      Leaf(t, "./DevInfo/DevId", "IMEI:490154203237518");
    });
  }

  Bytes Send(std::string_view hex) { return card_->Transmit(Hx(hex)); }

  // SELECT by path from the MF (P1 08, FCP), returns the FCP's data-size object (80) value.
  size_t SelectPath(std::string_view path_hex) {
    const Bytes path = Hx(path_hex);
    Bytes apdu = {0x00, 0xA4, 0x08, 0x04, static_cast<uint8_t>(path.size())};
    Append(apdu, path);
    apdu.push_back(0x00);
    const Bytes r = card_->Transmit(apdu);
    EXPECT_EQ(SwOf(r), 0x9000) << ToHex(apdu) << " → " << ToHex(r);
    // 62 L { 80 02 size ... } — the size is the first object for an EF.
    const Bytes fcp = DataOf(r);
    if (fcp.size() < 6 || fcp[0] != 0x62 || fcp[2] != 0x80 || fcp[3] != 0x02) {
      ADD_FAILURE() << "FCP without 80 first: " << ToHex(fcp);
      return 0;
    }
    return static_cast<size_t>((fcp[4] << 8) | fcp[5]);
  }

  // The whole current EF, with READ BINARY in chunks of at most 256 bytes.
  Bytes ReadBinary(size_t size) {
    Bytes out;
    while (out.size() < size) {
      const size_t off = out.size();
      const uint8_t le = size - off >= 256 ? 0x00 : static_cast<uint8_t>(size - off);
      const Bytes apdu = {0x00, 0xB0, static_cast<uint8_t>(off >> 8), static_cast<uint8_t>(off),
                          le};
      const Bytes r = card_->Transmit(apdu);
      EXPECT_EQ(SwOf(r), 0x9000) << ToHex(apdu) << " → " << ToHex(r);
      if (SwOf(r) != 0x9000 || r.size() == 2) break;
      Append(out, DataOf(r));
    }
    return out;
  }
  Bytes ReadEf(std::string_view path_hex) { return ReadBinary(SelectPath(path_hex)); }
  // EF(DM_Bootstrap) decoded by libwbxml2.
  DecodedMessage Message() {
    DecodedMessage m = DecodeWithLibwbxml(ReadEf("5015 4402"));
    EXPECT_EQ(m.error, "");
    return m;
  }
  std::string Bootstrap() { return Message().xml; }

  Pkcs15Options options_;
  int64_t now_ = 1700000000;
  std::shared_ptr<RamMedium> medium_ = std::make_shared<RamMedium>();
  std::unique_ptr<Card> card_;
};

// --- Detection by generic readers: EF.DIR and the application DF -----------------------------

TEST_F(DmPkcs15, DirRecordEncodesAidLabelAndPath) {
  // 61 1C { 4F 0C A0 00 00 00 63 "PKCS-15", 50 06 "OMA DM", 51 04 3F00 5015 }
  EXPECT_EQ(ToHex(Pkcs15DirRecord()),
            X(std::string("611C 4F0C") + kPkcs15AidHex + "5006 4F4D4120444D 5104 3F005015"));
  EXPECT_EQ(DumpDer(Pkcs15DirRecord()), std::string("[A1]{[A15]:") + kPkcs15AidHex +
                                            ",[A16]:" + AsciiHex("OMA DM") + ",[A17]:3F005015}");
  // It fits the 32-byte records of the demo EF.DIR.
  EXPECT_LE(Pkcs15DirRecord().size(), 32u);
}

TEST_F(DmPkcs15, Req_SC7_EfDirListsThePkcs15Application) {
  // What a PKCS#15 host does first: SELECT 2F00 under the MF, READ RECORD 1.
  EXPECT_EQ(SwOf(Send("00A4020C02 2F00")), 0x9000);
  const Bytes r = Send("00B2010420");  // Le = the record size
  ASSERT_EQ(SwOf(r), 0x9000) << ToHex(r);
  EXPECT_EQ(ToHex(DataOf(r)),
            X(std::string("611C 4F0C") + kPkcs15AidHex + "5006 4F4D4120444D 5104 3F005015 0000"));
}

TEST_F(DmPkcs15, Req_DEV1_Pkcs15ApplicationSelectableByAidAndPath) {
  // SELECT by DF name (P1 04) with the PKCS#15 AID, FCI: the DF name 84 = the AID.
  const Bytes r = Send(std::string("00A404000C") + kPkcs15AidHex + "00");
  ASSERT_EQ(SwOf(r), 0x9000) << ToHex(r);
  EXPECT_NE(ToHex(DataOf(r)).find(std::string("840C") + kPkcs15AidHex), std::string::npos)
      << ToHex(r);
  // Then the conventional files relative to it: ODF 5031 and TokenInfo 5032 (P1 02: EF of
  // the current DF).
  EXPECT_EQ(SwOf(Send("00A4020C02 5031")), 0x9000);
  EXPECT_EQ(SwOf(Send("00A4020C02 5032")), 0x9000);
  // And by path from the MF.
  EXPECT_GT(SelectPath("5015 5031"), 0u);
}

// --- ODF, TokenInfo, DODF --------------------------------------------------------------------

TEST_F(DmPkcs15, Req_SC7_OdfPointsAtTheDodf) {
  const Bytes odf = ReadEf("5015 5031");
  // dataObjects [7] (explicit: PathOrObjects is a CHOICE) → Path { efidOrPath 3F00 5015 4401 }
  EXPECT_EQ(ToHex(odf), X("A70A 3008 0406 3F0050154401"));
  EXPECT_EQ(DumpDer(odf), "[C7]{SEQ{OCTET:3F0050154401}}");
  EXPECT_EQ(odf, Pkcs15Odf());
}

TEST_F(DmPkcs15, TokenInfoDecodesToItsFields) {
  const Bytes ti = ReadEf("5015 5032");
  // TokenInfo { version v1(0), serialNumber "DM000001", manufacturerID "dmcard",
  //             label [0] "DMCARD OMA DM", tokenflags { readonly } }
  EXPECT_EQ(DumpDer(ti), "SEQ{INT:00,OCTET:" + AsciiHex("DM000001") +
                             ",UTF8:\"dmcard\",[C0]:" + AsciiHex("DMCARD OMA DM") + ",BITS:0780}");
  EXPECT_EQ(ti, Pkcs15TokenInfo());
}

TEST_F(DmPkcs15, LongLabelsUseLongFormLengths) {
  // X.690 §8.1.3.5: lengths above 127 take 81 xx / 82 xx xx.
  Pkcs15Options o;
  o.token_label = std::string(200, 'L');
  o.manufacturer_id = std::string(300, 'M');
  const Bytes ti = Pkcs15TokenInfo(o);
  EXPECT_EQ(ToHex(Bytes(ti.begin(), ti.begin() + 4)), "3082020C") << ToHex(ti);
  EXPECT_EQ(DumpDer(ti), "SEQ{INT:00,OCTET:" + AsciiHex("DM000001") + ",UTF8:\"" +
                             o.manufacturer_id + "\",[C0]:" + AsciiHex(o.token_label) +
                             ",BITS:0780}");
}

TEST_F(DmPkcs15, Req_SC7_DodfNamesTheDmBootstrap) {
  const Bytes dodf = ReadEf("5015 4401");
  // opaqueDO { CommonObjectAttributes { label "DM Bootstrap" },
  //            CommonDataObjectAttributes { applicationName "OMA DM",
  //                                         applicationOID 2.23.43.7.1 },
  //            typeAttributes [1] { Path { 3F00 5015 4402 } } }
  EXPECT_EQ(DumpDer(dodf),
            "SEQ{SEQ{UTF8:\"DM Bootstrap\"},SEQ{UTF8:\"OMA DM\",OID:2.23.43.7.1},"
            "[C1]{SEQ{OCTET:3F0050154402}}}");
  // The OID by hand (X.690 §8.19): 2·40 + 23 = 103 = 67, 43 = 2B, 7, 1.
  EXPECT_NE(ToHex(dodf).find(X("0604 672B0701")), std::string::npos);
  EXPECT_EQ(dodf, Pkcs15Dodf());
}

TEST_F(DmPkcs15, Pkcs15FilesAreReadOnly) {
  for (std::string_view path : {"5015 5031", "5015 5032", "5015 4401", "5015 4402"}) {
    SelectPath(path);
    EXPECT_EQ(SwOf(Send("00D6000001 00")), 0x6981) << path;
  }
}

// --- EF(DM_Bootstrap) ------------------------------------------------------------------------

TEST_F(DmPkcs15, Req_DEV1_BootstrapHoldsTndsOfDmAccAndConnectivity) {
  const DecodedMessage doc = Message();
  const std::string& xml = doc.xml;
  ASSERT_FALSE(xml.empty());
  EXPECT_NE(xml.find("<MgmtTree"), std::string::npos) << xml;
  std::vector<std::string> uris;
  for (const Node& n : doc.nodes) uris.push_back(n.uri);
  auto has = [&](std::string_view uri) {
    return std::find(uris.begin(), uris.end(), uri) != uris.end();
  };
  auto value_of = [&](std::string_view uri) {
    for (const Node& n : doc.nodes) {
      if (n.uri == uri) return Text(n.value);
    }
    return std::string("(absent)");
  };
  // DMAcc, ./Con, and the connectivity object that ToConRef names (with its parents).
  EXPECT_EQ(value_of("./DMAcc/dms1/AppAddr/a1/Addr"), "https://dms.example.com/dm");
  EXPECT_EQ(value_of("./DMAcc/dms1/ServerID"), "dms1");
  EXPECT_EQ(value_of("./DMAcc/dms1/ToConRef/c1/ConRef"), "./Vendor/NAP/gprs1");
  EXPECT_EQ(value_of("./Con/internet/NAP/Addr"), "internet.example");
  EXPECT_EQ(value_of("./Vendor/NAP/gprs1/Apn"), "gprs.example");
  EXPECT_TRUE(has("./Vendor/NAP"));
  // Nothing else.
  EXPECT_FALSE(has("./DevInfo"));
  EXPECT_FALSE(has("./DevInfo/DevId"));
  EXPECT_FALSE(has("./Vendor/Other"));
  EXPECT_EQ(xml.find("IMEI"), std::string::npos);
  EXPECT_EQ(xml.find("not-a-bootstrap-node"), std::string::npos);
  // Properties travel: the ACL of dms1.
  for (const Node& n : doc.nodes) {
    if (n.uri == "./DMAcc/dms1") {
      EXPECT_EQ(n.props.acl, "Get=*&Replace=dms1");
    }
  }
  // It is exactly what the view computes from the card's tree, and it carries the very nodes
  // of the TNDS XML form.
  const MoTree tree(card_->store(), "dm/", Clock());
  EXPECT_EQ(ReadEf("5015 4402"), DmBootstrapFile(tree, Principal::Device()));
  EXPECT_EQ(Described(doc.nodes),
            Described(ParseTndsXml(DmBootstrapTnds(tree, Principal::Device())).nodes));
}

// OMA-TS-DM_Bootstrap 1.2: the bootstrap message is a SyncML DM package in WBXML whose TNDS
// objects are embedded as WBXML (reference-facts.md §1).
TEST_F(DmPkcs15, Req_DEV1_BootstrapIsAnOmaDmBootstrapMessage) {
  const Bytes raw = ReadEf("5015 4402");
  // WBXML 1.2, public ID 0x1201 (-//SYNCML//DTD SyncML 1.2//EN) as mb_u_int32 A4 01, UTF-8, no
  // string table, <SyncML> with content (6D).
  ASSERT_GE(raw.size(), 6u);
  EXPECT_EQ(ToHex(ByteView(raw.data(), 6)), "02A4016A006D");
  // Each item's type says embedded WBXML TNDS, whose own header follows an OPAQUE token (C3):
  // WBXML 1.2, public ID in the string table, UTF-8, "-//OMA//DTD-DM-DDF 1.2//EN".
  const std::string hex = ToHex(raw);
  EXPECT_NE(Text(raw).find("application/vnd.syncml.dmtnds+wbxml"), std::string::npos);
  EXPECT_EQ(Text(raw).find("application/vnd.syncml.dmtnds+xml"), std::string::npos);
  EXPECT_NE(hex.find("0200006A1B" + AsciiHex("-//OMA//DTD-DM-DDF 1.2//EN") + "00"),
            std::string::npos)
      << hex;

  const DecodedMessage m = Message();
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(m.xml.c_str())) << m.xml;
  const pugi::xml_node hdr = doc.child("SyncML").child("SyncHdr");
  EXPECT_STREQ(hdr.child_value("VerDTD"), "1.2");
  EXPECT_STREQ(hdr.child_value("VerProto"), "DM/1.2");
  // One Add per DM account, one for ./Con, one for the object ToConRef names; then Final.
  EXPECT_EQ(m.commands, (std::vector<std::string>{"Add", "Add", "Add", "Add", "Final"}));
  std::vector<std::string> tops;  // the deepest node of each item's ancestor chain
  int cmd_id = 0;
  for (pugi::xml_node add : doc.child("SyncML").child("SyncBody").children("Add")) {
    EXPECT_EQ(std::string(add.child_value("CmdID")), std::to_string(++cmd_id));
    const pugi::xml_node meta = add.child("Item").child("Meta");
    EXPECT_STREQ(meta.child_value("Format"), "xml");
    pugi::xml_node node = add.child("Item").child("Data").child("MgmtTree").child("Node");
    std::string uri = ".";
    for (; node; node = node.child("Node")) {
      uri += "/" + std::string(node.child_value("NodeName"));
      if (uri == "./DMAcc/dms1" || uri == "./DMAcc/dms2" || uri == "./Con" ||
          uri == "./Vendor/NAP/gprs1")
        break;
    }
    tops.push_back(uri);
  }
  EXPECT_EQ(tops, (std::vector<std::string>{"./DMAcc/dms1", "./DMAcc/dms2", "./Con",
                                            "./Vendor/NAP/gprs1"}));
}

// The card's own VERIFY BOOTSTRAP reader (dm/bootstrap_message.h) reads what the view writes:
// the same nodes, so that the generator and the decoder agree.
TEST_F(DmPkcs15, CardsBootstrapDecoderReadsTheGeneratedMessage) {
  std::string error;
  const auto changes = DecodeBootstrapMessage(ReadEf("5015 4402"), error);
  ASSERT_TRUE(changes) << error;
  std::vector<Node> nodes;
  for (const BootstrapChange& c : *changes) {
    EXPECT_FALSE(c.replace);
    nodes.insert(nodes.end(), c.nodes.begin(), c.nodes.end());
  }
  EXPECT_EQ(Described(nodes), Described(Message().nodes));
}

class DmPkcs15TndsXml : public DmPkcs15 {
 protected:
  DmPkcs15TndsXml() { options_.bootstrap_format = BootstrapEfFormat::kTndsXml; }
};

// The profile option "bootstrap": {"ef_format": "tnds-xml"}: one TNDS XML document.
TEST_F(DmPkcs15TndsXml, BootstrapIsOneTndsXmlDocument) {
  const std::string xml = Text(ReadEf("5015 4402"));
  EXPECT_EQ(xml.rfind("<?xml", 0), 0u) << xml;
  const MoTree tree(card_->store(), "dm/", Clock());
  EXPECT_EQ(xml, DmBootstrapTnds(tree, Principal::Device()));
  TndsDocument doc = ParseTndsXml(xml);
  ASSERT_EQ(doc.error, "");
  EXPECT_EQ(Described(doc.nodes),
            Described(DecodeWithLibwbxml(DmBootstrapFile(tree, Principal::Device())).nodes));
}

TEST_F(DmPkcs15, NoSecretValueAppearsInAnyFile) {
  Bytes all = ReadEf("5015 4402");
  for (std::string_view p : {"5015 5031", "5015 5032", "5015 4401"}) Append(all, ReadEf(p));
  const std::string text = Text(all);
  for (std::string_view secret : {kSecretA, kSecretB, kSecretC, "4711"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " leaked:\n" << text;
  }
  // The secret nodes themselves are described (a device learns that credentials exist), but
  // without a value — not even a stand-in.
  const DecodedMessage doc = Message();
  EXPECT_EQ(doc.xml.find("4711"), std::string::npos) << doc.xml;
  int seen = 0;
  for (const Node& n : doc.nodes) {
    if (n.uri == "./DMAcc/dms1/AppAuth/srv/AAuthSecret" ||
        n.uri == "./DMAcc/dms1/AppAuth/srv/AAuthData" || n.uri == "./Con/internet/NAP/AuthSecret" ||
        n.uri == "./Con/internet/NAP/Retries") {
      ++seen;
      EXPECT_TRUE(n.value.empty()) << n.uri << " = " << Text(n.value);
    }
  }
  EXPECT_EQ(seen, 4);
}

TEST_F(DmPkcs15, BootstrapIsNeverStale) {
  const std::string before = Bootstrap();
  ASSERT_NE(before.find("https://dms.example.com/dm"), std::string::npos);
  // The tree changes between two APDUs (as a DMS Replace would do it)...
  Edit([](MoTree& t) {
    ASSERT_EQ(t.ReplaceValue(Principal::Authority("dms1"), "./DMAcc/dms1/AppAddr/a1/Addr",
                             Bv("https://new.example/x")),
              DmStatus::kOk);
    Interior(t, "./Con/wap");
    Leaf(t, "./Con/wap/Name", "WAP access point with a longer name, so the size changes");
  });
  // ...and the very next read shows it, with the FCP size following.
  const std::string after = Bootstrap();
  EXPECT_EQ(after.find("https://dms.example.com/dm"), std::string::npos) << after;
  EXPECT_NE(after.find("https://new.example/x"), std::string::npos) << after;
  EXPECT_NE(after.find("WAP access point"), std::string::npos) << after;
  EXPECT_GT(after.size(), before.size());
  // Deleting the whole DMAcc empties that part of the document.
  Edit([](MoTree& t) {
    ASSERT_EQ(t.Delete(Principal::Authority("dms1"), "./DMAcc"), DmStatus::kOk);
  });
  const std::string gone = Bootstrap();
  EXPECT_EQ(gone.find("DMAcc"), std::string::npos) << gone;
  EXPECT_NE(gone.find("internet.example"), std::string::npos) << gone;
}

TEST_F(DmPkcs15, EmptyTreeGivesAnEmptyDocument) {
  PersistentStore::Options o;
  PersistentStore store(std::make_shared<RamMedium>(), o);
  const MoTree tree(store, "dm/", [] { return int64_t{0}; });  // not even a root
  const std::string xml = DmBootstrapTnds(tree, Principal::Device());
  TndsDocument doc = ParseTndsXml(xml);
  EXPECT_TRUE(doc.error.empty()) << doc.error << "\n" << xml;
  EXPECT_TRUE(doc.nodes.empty()) << xml;
  // Nothing to bootstrap: a message whose SyncBody holds Final alone.
  const DecodedMessage m = DecodeWithLibwbxml(DmBootstrapFile(tree, Principal::Device()));
  EXPECT_EQ(m.error, "");
  EXPECT_EQ(m.commands, std::vector<std::string>{"Final"}) << m.xml;
}

}  // namespace
}  // namespace dmcard::dm
