// OMA ProvSC files (issue 12): a profile's Client Provisioning documents served by the PKCS#15
// view as EFs named in the DM DODF by OIDs 2.23.43.5.1 / .2 / .3 (reference-facts §1). The EF is
// decoded here with libwbxml2 called directly (WAP Provisioning 1.0 tables) and compared, parm by
// parm, with the XML file the profile names; the DODF entries are read with a BER walker of the
// test's own. Documents with secret parms are refused, with the exact message, never quoting the
// secret.
#include <gtest/gtest.h>
#include <wbxml/wbxml.h>

#include <pugixml.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <unistd.h>

#include "cards/make_card.h"
#include "demo_card_in_ram.h"
#include "host/demo_card.h"
#include "host/profile_file.h"
#include "runtime/card.h"
#include "runtime/storage_medium.h"

namespace dmcard {
namespace {

namespace fs = std::filesystem;

uint16_t SwOf(const Bytes& r) {
  return r.size() < 2 ? 0 : static_cast<uint16_t>((r[r.size() - 2] << 8) | r[r.size() - 1]);
}

fs::path ProvScProfileDir() {
  return fs::path(DMCARD_TEST_DATA_DIR) / "dm" / "profiles" / "provsc";
}

std::unique_ptr<Card> CardOf(const Profile& profile) {
  return testing::ProfileCardInRam(profile, DemoCardConfig(), 9);
}

using testing::ReadPkcs15Ef;

// BER-TLVs with one-byte tags and one-byte lengths (all the DODF uses here).
std::vector<std::pair<uint8_t, Bytes>> Children(const Bytes& v) {
  std::vector<std::pair<uint8_t, Bytes>> out;
  for (size_t at = 0; at + 2 <= v.size() && v[at + 1] < 0x80 && at + 2 + v[at + 1] <= v.size();
       at += 2 + v[at + 1]) {
    out.emplace_back(v[at], Bytes(v.begin() + static_cast<long>(at + 2),
                                  v.begin() + static_cast<long>(at + 2 + v[at + 1])));
  }
  return out;
}

// A DODF entry as a reader sees it: its form (30 opaqueDO, A1 oidDO), label, OID and path.
struct Entry {
  uint8_t form = 0;
  std::string label;
  std::string oid;  // hex of the OID's content
  std::string path;
  bool operator==(const Entry&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Entry& e) {
  return os << "{" << ToHex(Bytes{e.form}) << " " << e.label << " " << e.oid << " " << e.path
            << "}";
}

std::vector<Entry> DodfEntries(const Bytes& dodf) {
  std::vector<Entry> out;
  for (const auto& [tag, value] : Children(dodf)) {
    const auto parts = Children(value);
    if (parts.size() != 3) {
      ADD_FAILURE() << "entry " << ToHex(value);
      continue;
    }
    Entry e;
    e.form = tag;
    const Bytes label = Children(parts[0].second).at(0).second;
    e.label.assign(label.begin(), label.end());
    if (tag == 0x30) {  // opaqueDO: the OID in CommonDataObjectAttributes, the path in [1]
      for (const auto& [t, v] : Children(parts[1].second)) {
        if (t == 0x06) e.oid = ToHex(v);
      }
      e.path = ToHex(Children(Children(parts[2].second).at(0).second).at(0).second);
    } else {  // oidDO: [1] { OidDO { id, path } }
      const auto oid_do = Children(Children(parts[2].second).at(0).second);
      e.oid = ToHex(oid_do.at(0).second);
      e.path = ToHex(Children(oid_do.at(1).second).at(0).second);
    }
    out.push_back(e);
  }
  return out;
}

// libwbxml2's reading of a WAP Provisioning 1.0 WBXML document, as XML.
std::string ProvWbxmlToXml(const Bytes& wbxml) {
  Bytes input = wbxml;
  WBXMLConvWBXML2XML* conv = nullptr;
  EXPECT_EQ(wbxml_conv_wbxml2xml_create(&conv), WBXML_OK);
  wbxml_conv_wbxml2xml_set_language(conv, WBXML_LANG_PROV10);
  wbxml_conv_wbxml2xml_set_gen_type(conv, WBXML_GEN_XML_COMPACT);
  WB_UTINY* out = nullptr;
  WB_ULONG out_len = 0;
  const WBXMLError rc = wbxml_conv_wbxml2xml_run(
      conv, input.data(), static_cast<WB_ULONG>(input.size()), &out, &out_len);
  wbxml_conv_wbxml2xml_destroy(conv);
  EXPECT_EQ(rc, WBXML_OK) << wbxml_errors_string(rc);
  std::string xml(reinterpret_cast<const char*>(out), out_len);
  std::free(out);
  return xml;
}

// Every parm of a CP document as (characteristic path, name, value), in document order.
using Parm = std::tuple<std::string, std::string, std::string>;
void CollectParms(pugi::xml_node node, const std::string& path, std::vector<Parm>& out) {
  for (pugi::xml_node child : node.children()) {
    const std::string name = child.name();
    if (name == "parm") {
      out.emplace_back(path, child.attribute("name").value(), child.attribute("value").value());
    } else if (name == "characteristic") {
      CollectParms(child, path + "/" + child.attribute("type").value(), out);
    }
  }
}
std::vector<Parm> Parms(const std::string& xml) {
  pugi::xml_document doc;
  EXPECT_TRUE(doc.load_string(xml.c_str())) << xml;
  EXPECT_EQ(std::string(doc.document_element().name()), "wap-provisioningdoc") << xml;
  std::vector<Parm> out;
  CollectParms(doc.document_element(), "", out);
  return out;
}

std::string ReadText(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<Profile> LoadProvScProfile() {
  std::string error;
  std::optional<Profile> p = LoadProfile(ProvScProfileDir() / "profile.json", error);
  EXPECT_TRUE(p) << error;
  return p;
}

// DEV1: the DM DODF lists the ProvSC documents after the DM bootstrap, each in both forms with
// its OID (2.23.43.5.1 Bootstrap, .2 Config1) and its EF (4403, 4404).
TEST(ProvSc, Req_DEV1_DmDodfListsTheDocumentsWithTheirOids) {
  const std::optional<Profile> profile = LoadProvScProfile();
  ASSERT_TRUE(profile);
  auto card = CardOf(*profile);
  ASSERT_TRUE(card);
  const std::vector<Entry> expected = {
      {0x30, "DM Bootstrap", "672B0701", "4402"},
      {0xA1, "DM Bootstrap", "672B0701", "4402"},
      {0x30, "ProvSC Bootstrap", "672B0501", "4403"},
      {0xA1, "ProvSC Bootstrap", "672B0501", "4403"},
      {0x30, "ProvSC Config1", "672B0502", "4404"},
      {0xA1, "ProvSC Config1", "672B0502", "4404"},
  };
  EXPECT_EQ(DodfEntries(ReadPkcs15Ef(*card, 0x4401).value_or(Bytes{})), expected);
  // No Config2 in this profile: no entry, no file.
  EXPECT_FALSE(ReadPkcs15Ef(*card, 0x4405));
  // The ODF is unchanged: the ProvSC entries live in the DM DODF.
  EXPECT_EQ(ToHex(ReadPkcs15Ef(*card, 0x5031).value_or(Bytes{})), "A706300404024401");
}

// The EFs hold the documents in WBXML (WAP Provisioning 1.0 code pages, public ID 0B), every parm
// of the profile's XML file there with its value.
TEST(ProvSc, EfsHoldTheProfilesDocumentsInWbxml) {
  const std::optional<Profile> profile = LoadProvScProfile();
  ASSERT_TRUE(profile);
  auto card = CardOf(*profile);
  ASSERT_TRUE(card);
  for (auto [fid, file] :
       {std::pair{uint16_t{0x4403}, "bootstrap.xml"}, std::pair{uint16_t{0x4404}, "config1.xml"}}) {
    SCOPED_TRACE(file);
    const Bytes wbxml = ReadPkcs15Ef(*card, fid).value_or(Bytes{});
    ASSERT_GT(wbxml.size(), 4u);
    // WBXML version (1.3), public ID 0B "-//WAPFORUM//DTD PROV 1.0//EN", charset UTF-8 (6A).
    EXPECT_EQ(ToHex(Bytes(wbxml.begin(), wbxml.begin() + 3)), "030B6A") << ToHex(wbxml);
    const std::vector<Parm> want = Parms(ReadText(ProvScProfileDir() / file));
    EXPECT_GT(want.size(), 5u);
    EXPECT_EQ(Parms(ProvWbxmlToXml(wbxml)), want);
  }
}

// Reference-facts §1 names no access condition for ProvSC files: read always, update never.
TEST(ProvSc, FilesAreReadOnly) {
  const std::optional<Profile> profile = LoadProvScProfile();
  ASSERT_TRUE(profile);
  auto card = CardOf(*profile);
  ASSERT_TRUE(card);
  for (uint16_t fid : {0x4403, 0x4404}) {
    ASSERT_TRUE(ReadPkcs15Ef(*card, fid));
    EXPECT_EQ(SwOf(card->Transmit(Bytes{0x00, 0xD6, 0x00, 0x00, 0x01, 0x00})), 0x6981) << fid;
  }
}

class ProvScProfiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dmcard-provsc-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "tree.xml") << "<MgmtTree><VerDTD>1.2</VerDTD></MgmtTree>";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Loads a profile with "provsc": {"<which>": "doc.xml"}, doc.xml holding `xml`.
  std::string Load(const std::string& which, const std::string& xml) {
    std::ofstream(dir_ / "doc.xml", std::ios::trunc) << xml;
    std::ofstream(dir_ / "profile.json", std::ios::trunc)
        << R"({"profile": "p", "provsc": {")" << which << R"(": "doc.xml"}, "tree": "tree.xml"})";
    std::string error;
    const std::optional<Profile> p = LoadProfile(dir_ / "profile.json", error);
    EXPECT_EQ(p.has_value(), error.empty());
    return error;
  }
  std::string Prefix(const std::string& which) const {
    return (dir_ / "profile.json").string() + ": field 'provsc." + which + "' 'doc.xml': ";
  }

  fs::path dir_;
};

// SC2: a document with a secret parm is refused, naming the parm and where it is, never its value.
TEST_F(ProvScProfiles, Req_SC2_SecretParmsAreRefusedNamingTheParm) {
  const std::string tail =
      " holds a secret: the card never serves secret values, so a ProvSC document cannot carry "
      "it; leave the parm out (the device gets the secret another way)";
  struct Case {
    std::string which, xml, where;
  };
  const Case cases[] = {
      {"bootstrap",
       R"(<wap-provisioningdoc><characteristic type="NAPDEF"><parm name="NAPID" value="n"/>
          <characteristic type="NAPAUTHINFO"><parm name="AUTHTYPE" value="PAP"/>
          <parm name="AUTHSECRET" value="NOT-REAL-SECRET"/></characteristic></characteristic>
          </wap-provisioningdoc>)",
       "parm AUTHSECRET of characteristic NAPDEF/NAPAUTHINFO"},
      {"config1",
       R"(<wap-provisioningdoc><characteristic type="APPLICATION"><parm name="APPID" value="w7"/>
          <characteristic type="APPAUTH"><parm name="AAUTHNAME" value="dev"/>
          <parm name="AAUTHSECRET" value="NOT-REAL-SECRET"/></characteristic></characteristic>
          </wap-provisioningdoc>)",
       "parm AAUTHSECRET of characteristic APPLICATION/APPAUTH"},
      {"config2",
       R"(<wap-provisioningdoc><characteristic type="APPLICATION">
          <characteristic type="APPAUTH"><parm name="AAUTHDATA" value="NOT-REAL-SECRET"/>
          </characteristic></characteristic></wap-provisioningdoc>)",
       "parm AAUTHDATA of characteristic APPLICATION/APPAUTH"},
      {"bootstrap",
       R"(<wap-provisioningdoc><characteristic type="PXLOGICAL">
          <characteristic type="PXAUTHINFO"><parm name="PXAUTH-TYPE" value="HTTP-BASIC"/>
          <parm name="PXAUTH-PW" value="NOT-REAL-SECRET"/></characteristic></characteristic>
          </wap-provisioningdoc>)",
       "parm PXAUTH-PW of characteristic PXLOGICAL/PXAUTHINFO"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.where);
    const std::string error = Load(c.which, c.xml);
    EXPECT_EQ(error, Prefix(c.which) + c.where + tail);
    EXPECT_EQ(error.find("NOT-REAL-SECRET"), std::string::npos);
  }
}

TEST_F(ProvScProfiles, BadDocumentsAndSectionsAreRefusedWithTheirExactMessage) {
  EXPECT_EQ(Load("bootstrap", "<MgmtTree/>"),
            Prefix("bootstrap") +
                "the root element is <MgmtTree>, not <wap-provisioningdoc> (OMA Client "
                "Provisioning)");
  EXPECT_EQ(Load("config1", "<wap-provisioningdoc>"),
            Prefix("config1") + "not well-formed XML at byte 20: Start-end tags mismatch");
  std::ofstream(dir_ / "profile.json", std::ios::trunc)
      << R"({"profile": "p", "provsc": {"config3": "doc.xml"}, "tree": "tree.xml"})";
  std::string error;
  EXPECT_FALSE(LoadProfile(dir_ / "profile.json", error));
  EXPECT_EQ(error, (dir_ / "profile.json").string() +
                       ": field 'provsc.config3' unknown field (expected bootstrap, config1, "
                       "config2)");
  // An empty value holds no secret: allowed.
  EXPECT_EQ(Load("config2", R"(<wap-provisioningdoc><characteristic type="APPLICATION">
      <characteristic type="APPAUTH"><parm name="AAUTHSECRET" value=""/></characteristic>
      </characteristic></wap-provisioningdoc>)"),
            "");
}

}  // namespace
}  // namespace dmcard
