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

#include "demo_card_in_ram.h"
#include "dm/bootstrap_message.h"
#include "dm/mo_tree.h"
#include "dm/node_value.h"
#include "dm/pkcs15_view.h"
#include "dm/tnds.h"
#include "fs/file_system.h"
#include "fs/fs_applet.h"
#include "host/demo_card.h"
#include "host/profile_file.h"
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
  // dataObjects [7] (explicit: PathOrObjects is a CHOICE) → Path { efidOrPath 4401 }, the FID
  // relative to the PKCS#15 application, as UICCs give it (reference-facts §1).
  EXPECT_EQ(ToHex(odf), X("A706 3004 0402 4401"));
  EXPECT_EQ(DumpDer(odf), "[C7]{SEQ{OCTET:4401}}");
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

// The DODF entry twice: opaqueDO first (OpenSC reads only that form and stops at the first
// entry it cannot decode), then oidDO (the only form Tizen, Nordic and the Open Mobile API
// read), both with the path 4402 relative to the application (reference-facts §1).
constexpr char kOpaqueDoDump[] =
    "SEQ{SEQ{UTF8:\"DM Bootstrap\"},SEQ{UTF8:\"OMA DM\",OID:2.23.43.7.1},"
    "[C1]{SEQ{OCTET:4402}}}";
constexpr char kOidDoDump[] =
    "[C1]{SEQ{UTF8:\"DM Bootstrap\"},SEQ{UTF8:\"OMA DM\"},"
    "[C1]{SEQ{OID:2.23.43.7.1,SEQ{OCTET:4402}}}}";

TEST_F(DmPkcs15, Req_SC7_DodfNamesTheDmBootstrap) {
  const Bytes dodf = ReadEf("5015 4401");
  // opaqueDO: SEQ { CommonObjectAttributes { label }, CommonDataObjectAttributes
  //   { applicationName, applicationOID }, typeAttributes [1] { Path { 4402 } } }
  // oidDO [1]: { CommonObjectAttributes { label }, CommonDataObjectAttributes
  //   { applicationName }, typeAttributes [1] { OidDO { id, Path { 4402 } } } }
  EXPECT_EQ(DumpDer(dodf), std::string(kOpaqueDoDump) + "," + kOidDoDump);
  EXPECT_EQ(ToHex(dodf),
            X("3028 300E 0C0C" + AsciiHex("DM Bootstrap") + "300E 0C06" + AsciiHex("OMA DM") +
              "0604 672B0701 A106 3004 0402 4402"
              "A12A 300E 0C0C" +
              AsciiHex("DM Bootstrap") + "3008 0C06" + AsciiHex("OMA DM") +
              "A10E 300C 0604 672B0701 3004 0402 4402"));
  EXPECT_EQ(dodf, Pkcs15Dodf());
}

// The oidDO entry has the shape of the real UICC entry in reference-facts §1
// (A1 29 30 00 30 0F 0C 0D "GP SE Acc Ctl" A1 14 30 12 06 0A <OID> 30 04 04 02 42 00): the
// same tags at the same depths, differing only in the label and the OID.
TEST_F(DmPkcs15, OidDoEntryHasTheShapeOfARealUiccEntry) {
  const std::string real = DumpDer(Hx("A129 3000 300F 0C0D" + AsciiHex("GP SE Acc Ctl") +
                                      "A114 3012 060A 2A864886FC6B81480101 3004 0402 4200"));
  EXPECT_EQ(real,
            "[C1]{SEQ{},SEQ{UTF8:\"GP SE Acc Ctl\"},"
            "[C1]{SEQ{OID:1.2.840.114283.200.1.1,SEQ{OCTET:4200}}}}");
  EXPECT_EQ(DumpDer(Pkcs15Dodf()).substr(std::string(kOpaqueDoDump).size() + 1), kOidDoDump);
}

// --- Quirk switches (issue 12 item 6): each changes exactly what it names --------------------

TEST_F(DmPkcs15, QuirkDodfPathWithoutLengthAddsIndexToEveryDodfPathOnly) {
  Pkcs15Options quirky;
  quirky.quirks.dodf_path_without_length = true;
  std::string dump = DumpDer(Pkcs15Dodf(quirky));
  // Path { efidOrPath, index 0 } without length, in both entries.
  const std::string with_index = "SEQ{OCTET:4402,INT:00}";
  size_t found = 0;
  for (size_t at = dump.find(with_index); at != std::string::npos; at = dump.find(with_index)) {
    dump.replace(at, with_index.size(), "SEQ{OCTET:4402}");
    ++found;
  }
  EXPECT_EQ(found, 2u);
  EXPECT_EQ(dump, DumpDer(Pkcs15Dodf()));
  // Nothing else changes: ODF, TokenInfo, EF.DIR record.
  EXPECT_EQ(Pkcs15TokenInfo(quirky), Pkcs15TokenInfo());
  EXPECT_EQ(Pkcs15DirRecord(quirky), Pkcs15DirRecord());
}

TEST_F(DmPkcs15, QuirkDodfPaddedWithFfPadsTheDodfOnly) {
  Pkcs15Options quirky;
  quirky.quirks.dodf_padded_with_ff = true;
  const Bytes plain = Pkcs15Dodf();
  const Bytes padded = Pkcs15Dodf(quirky);
  ASSERT_EQ(padded.size(), pkcs15::kPaddedDodfSize);
  EXPECT_EQ(Bytes(padded.begin(), padded.begin() + static_cast<long>(plain.size())), plain);
  EXPECT_TRUE(std::all_of(padded.begin() + static_cast<long>(plain.size()), padded.end(),
                          [](uint8_t b) { return b == 0xFF; }));
  EXPECT_EQ(Pkcs15TokenInfo(quirky), Pkcs15TokenInfo());
  EXPECT_EQ(Pkcs15DirRecord(quirky), Pkcs15DirRecord());
}

// --- 7FFF: the current application (ETSI TS 102 221 §8.4.2) ---------------------------------

TEST_F(DmPkcs15, Select7fffNamesTheApplicationSelectedByAid) {
  // No application entered yet on the channel: 7FFF names nothing.
  EXPECT_EQ(SwOf(Send("00A4080C04 7FFF5031")), 0x6A82);
  EXPECT_EQ(SwOf(Send("00A4000C02 7FFF")), 0x6A82);
  // SELECT by AID with P2 04: an FCP (62) of DF 5015 with its DF name.
  const Bytes fcp = Send(std::string("00A404040C") + kPkcs15AidHex + "00");
  ASSERT_EQ(SwOf(fcp), 0x9000) << ToHex(fcp);
  EXPECT_EQ(ToHex(DataOf(fcp)), X(std::string("621F 8201 38 8302 5015 840C") + kPkcs15AidHex +
                                  "8A01 05 AB05 8001 7F 9700"));
  // 7FFF || FID from the MF, with an FCP.
  const Bytes odf = Send("00A4080404 7FFF5031 00");
  ASSERT_EQ(SwOf(odf), 0x9000) << ToHex(odf);
  EXPECT_NE(ToHex(DataOf(odf)).find("83025031"), std::string::npos) << ToHex(odf);
  // The application stays current while the MF is selected (TS 102 221 §8.5.1).
  const size_t size = ReadEf("5015 4402").size();
  EXPECT_EQ(SwOf(Send("00A4000C02 3F00")), 0x9000);
  EXPECT_EQ(SelectPath("7FFF 4402"), size);
  // 7FFF alone: the ADF itself, by path and by FID.
  EXPECT_EQ(SwOf(Send("00A4000C02 3F00")), 0x9000);
  EXPECT_EQ(SwOf(Send("00A4000C02 7FFF")), 0x9000);
  EXPECT_EQ(SwOf(Send("00A4020C02 5032")), 0x9000);
  EXPECT_EQ(SwOf(Send("00A4080C02 7FFF")), 0x9000);
  EXPECT_EQ(SwOf(Send("00A4080C04 7FFF9999")), 0x6A82);
}

TEST_F(DmPkcs15, Select7fffAfterEnteringTheApplicationByPath) {
  EXPECT_EQ(SwOf(Send("00A4080C04 50155032")), 0x9000);
  EXPECT_EQ(SwOf(Send("00A4000C02 3F00")), 0x9000);
  EXPECT_EQ(SwOf(Send("00A4080C04 7FFF4401")), 0x9000);
}

// The access sequence of a UICC-based client (reference-facts §1, Nordic uicc_lwm2m): every
// step on its own logical channel answers exactly 9000.
TEST_F(DmPkcs15, Req_DEV1_UiccAccessSequenceAnswers9000OnALogicalChannel) {
  const Bytes open = Send("0070000001");
  ASSERT_EQ(ToHex(open), "019000");
  const Bytes aid = Send(std::string("01A404040C") + kPkcs15AidHex + "00");
  ASSERT_EQ(SwOf(aid), 0x9000) << ToHex(aid);
  EXPECT_EQ(DataOf(aid).at(0), 0x62);
  auto read = [this](std::string_view fid) {
    const Bytes fcp = Send("01A4080404 7FFF" + std::string(fid) + "00");
    EXPECT_EQ(SwOf(fcp), 0x9000) << fid << ": " << ToHex(fcp);
    const Bytes d = DataOf(fcp);
    const size_t size = d.size() > 5 ? static_cast<size_t>((d[4] << 8) | d[5]) : 0;
    Bytes out;
    while (out.size() < size) {
      const size_t left = size - out.size();
      const Bytes cmd = {0x01, 0xB0, static_cast<uint8_t>(out.size() >> 8),
                         static_cast<uint8_t>(out.size()),
                         static_cast<uint8_t>(left >= 256 ? 0 : left)};
      const Bytes r = card_->Transmit(cmd);
      EXPECT_EQ(SwOf(r), 0x9000) << ToHex(cmd) << " → " << ToHex(r);
      if (SwOf(r) != 0x9000) break;
      Append(out, DataOf(r));
    }
    return out;
  };
  EXPECT_EQ(read("5031"), Pkcs15Odf());
  EXPECT_EQ(read("4401"), Pkcs15Dodf());
  EXPECT_EQ(read("4402"), ReadEf("5015 4402"));
  EXPECT_EQ(ToHex(Send("01708001")), "9000");
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

// --- The card a profile makes (cards/make_card.cc) -------------------------------------------

std::unique_ptr<Card> CardOf(const Profile& profile) {
  return testing::ProfileCardInRam(profile, DemoCardConfig(), 7);
}

// ISO 7816-4 §8.2.1.1: EF.DIR lists the applications of the card, the DM applet included; the
// Issuer Security Domain is not listed (docs/pkcs15-view.md, "EF.DIR").
TEST(DmPkcs15Card, Req_SC7_EfDirListsEveryApplicationOfTheCard) {
  auto card = CardOf(DemoProfile());
  ASSERT_TRUE(card);
  ASSERT_EQ(SwOf(card->Transmit(Hx("00A4020C022F00"))), 0x9000);
  auto record = [&card](uint8_t n) {
    const Bytes r = card->Transmit(Bytes{0x00, 0xB2, n, 0x04, 0x20});
    EXPECT_EQ(SwOf(r), 0x9000) << ToHex(r);
    return ToHex(DataOf(r));
  };
  auto padded = [](std::string hex) { return hex + std::string(64 - hex.size(), '0'); };
  EXPECT_EQ(record(1), padded(X(std::string("611C 4F0C") + kPkcs15AidHex +
                                "5006 4F4D4120444D 5104 3F005015")));
  EXPECT_EQ(record(2),
            padded(X("611A 4F0B F0444D4341524444454D4F 500B" + AsciiHex("DMCARD DEMO"))));
  EXPECT_EQ(record(3),
            padded(X("611B 4F0A F0444D434152442D444D 500D" + AsciiHex("DMCARD OMA DM"))));
  EXPECT_EQ(record(4), padded(""));
  // Each listed AID selects its application: the DM applet, and, under the file-system applet,
  // the PKCS#15 application and the demo DF.
  EXPECT_EQ(SwOf(card->Transmit(Hx("00A4040C0AF0444D434152442D444D"))), 0x9000);
  EXPECT_EQ(SwOf(card->Transmit(Hx("00A4040C09F0444D434152444653"))), 0x9000);
  EXPECT_EQ(SwOf(card->Transmit(Hx(std::string("00A4040C0C") + kPkcs15AidHex))), 0x9000);
  EXPECT_EQ(SwOf(card->Transmit(Hx("00A4040C0BF0444D4341524444454D4F"))), 0x9000);
}

// Each quirk switch of the profile reaches EF.DODF, and changes only what it names (the
// encodings themselves: QuirkDodf* above).
TEST(DmPkcs15Card, ProfileQuirksReachTheDodf) {
  for (int mask = 0; mask < 4; ++mask) {
    Profile profile = DemoProfile();
    profile.quirks.dodf_path_without_length = (mask & 1) != 0;
    profile.quirks.dodf_padded_with_ff = (mask & 2) != 0;
    Pkcs15Options options;
    options.quirks.dodf_path_without_length = profile.quirks.dodf_path_without_length;
    options.quirks.dodf_padded_with_ff = profile.quirks.dodf_padded_with_ff;
    SCOPED_TRACE("quirks " + std::to_string(mask));
    auto card = CardOf(profile);
    ASSERT_TRUE(card);
    const Bytes fcp = card->Transmit(Hx("00A4080404 50154401 00"));
    ASSERT_EQ(SwOf(fcp), 0x9000) << ToHex(fcp);
    const size_t size = static_cast<size_t>((fcp[4] << 8) | fcp[5]);
    const Bytes r = card->Transmit(Bytes{
        0x00, 0xB0, 0x00, 0x00, 0x00, static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(size)});
    ASSERT_EQ(SwOf(r), 0x9000) << ToHex(r);
    EXPECT_EQ(DataOf(r), Pkcs15Dodf(options));
    EXPECT_EQ(DataOf(r) == Pkcs15Dodf(), mask == 0);
    // The ODF is the same whatever the quirks.
    ASSERT_EQ(SwOf(card->Transmit(Hx("00A4080C04 50155031"))), 0x9000);
    EXPECT_EQ(DataOf(card->Transmit(Hx("00B0000008"))), Pkcs15Odf());
  }
}

}  // namespace
}  // namespace dmcard::dm
