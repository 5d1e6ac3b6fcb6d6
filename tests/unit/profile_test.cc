// Card profiles (cards/profile.h): the built-in demo profile equals profiles/demo/, its TNDS
// tree imports into a management tree holding every standard MO with the values written in
// profiles/demo/tree.xml (checked here by hand), its ACLs (SEC1, SC2, UC512), the bootstrap
// flags (USA1, USA3), ApplyProfile, and LoadProfile's error messages.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>

#include <unistd.h>

#include "data_table.h"
#include "dm/mo_tree.h"
#include "dm/tnds.h"
#include "host/demo_card.h"
#include "host/platform.h"
#include "host/profile_file.h"
#include "runtime/atr.h"
#include "runtime/persistent_store.h"
#include "runtime/storage_medium.h"

namespace dmcard {
namespace {

namespace fs = std::filesystem;
using dm::DmStatus;
using dm::MoTree;
using dm::NodeFormat;
using dm::Principal;

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << part << "\" not found in: " << text;
}

fs::path DemoDir() { return fs::path(DMCARD_SOURCE_DIR) / "profiles" / "demo"; }

// The demo tree imported into a MoTree over RAM (as the DM applet does at install).
class ProfileDemoTree : public ::testing::Test {
 protected:
  void SetUp() override {
    const Profile p = DemoProfile();
    const dm::TndsDocument doc = dm::ParseTndsXml(p.tree_xml);
    ASSERT_EQ(doc.error, "");
    store_.Begin();
    ASSERT_EQ(tree_.Init(), DmStatus::kOk);
    ASSERT_EQ(dm::ImportNodes(tree_, doc.nodes), DmStatus::kOk);
    ASSERT_EQ(store_.Commit(), StoreStatus::kOk);
  }

  std::string Value(const std::string& uri) {
    const std::optional<dm::Node> n = tree_.Read(uri);
    if (!n) {
      ADD_FAILURE() << uri << " is missing";
      return "<missing>";
    }
    EXPECT_FALSE(n->interior) << uri;
    return std::string(n->value.begin(), n->value.end());
  }
  NodeFormat Format(const std::string& uri) {
    const std::optional<dm::Node> n = tree_.Read(uri);
    return n ? n->props.format : NodeFormat::kNull;
  }
  std::string Type(const std::string& uri) {
    const std::optional<dm::Node> n = tree_.Read(uri);
    return n ? n->props.type : "<missing>";
  }
  std::string Acl(const std::string& uri) {
    const std::optional<dm::Node> n = tree_.Read(uri);
    return n ? n->props.acl : "<missing>";
  }
  bool Interior(const std::string& uri) {
    const std::optional<dm::Node> n = tree_.Read(uri);
    return n && n->interior;
  }

  std::shared_ptr<RamMedium> medium_ = std::make_shared<RamMedium>();
  PersistentStore store_{medium_, PersistentStore::Options{}};
  MoTree tree_{store_, "dm/", [] { return int64_t{1700000000}; }};
};

const std::string kAcc = "./DMAcc/DMCardTest";
const char* kServer = "dmcard.example.test";
const char* kServerAcl =
    "Add=dmcard.example.test&Delete=dmcard.example.test&Get=*&Replace=dmcard.example.test";

TEST(Profile, BuiltInDemoProfileEqualsTheFiles) {
  const Profile built_in = DemoProfile();
  std::string error;
  const std::optional<Profile> file = LoadProfile(DemoDir() / "profile.json", error);
  ASSERT_TRUE(file) << error;
  EXPECT_EQ(built_in.name, file->name);
  EXPECT_EQ(built_in.description, file->description);
  EXPECT_EQ(built_in.capacity, file->capacity);
  EXPECT_EQ(built_in.protocol, file->protocol);
  EXPECT_EQ(built_in.atr, file->atr);
  EXPECT_EQ(built_in.user_confirmation, file->user_confirmation);
  EXPECT_EQ(built_in.autoconnect, file->autoconnect);
  EXPECT_EQ(built_in.user_pin, file->user_pin);
  EXPECT_EQ(built_in.user_puk, file->user_puk);
  EXPECT_EQ(built_in.imsi, file->imsi);
  EXPECT_EQ(built_in.tree_xml, file->tree_xml);
}

TEST(Profile, DemoProfileFields) {
  const Profile p = DemoProfile();
  EXPECT_EQ(p.name, "dmcard-demo");
  EXPECT_FALSE(p.description.empty());
  EXPECT_EQ(p.capacity, 65536u);
  EXPECT_EQ(p.protocol, Protocol::kT1);
  EXPECT_FALSE(p.atr);
  EXPECT_EQ(p.user_pin, "1234");
  EXPECT_EQ(p.user_puk, "12345678");
  EXPECT_EQ(p.imsi, "001010123456789");  // the ITU-T test network (MCC 001, MNC 01)
  EXPECT_TRUE(Contains(p.tree_xml, "<MgmtTree"));
}

// USA1 / USA3: the card's data says whether the device asks the user and connects on its own.
TEST(Req_USA1_USA3_BootstrapFlags, DemoProfileAsksTheUserAndConnects) {
  const Profile p = DemoProfile();
  EXPECT_TRUE(p.user_confirmation);
  EXPECT_TRUE(p.autoconnect);
}

TEST(Profile, ApplyProfileSetsOnlyWhatTheProfileSays) {
  CardConfig config;
  config.default_applet = {0xA0, 0x01};
  Profile p;
  ApplyProfile(p, config);
  EXPECT_EQ(config.capacity, CardConfig{}.capacity);
  EXPECT_EQ(config.protocol, Protocol::kT1);
  EXPECT_TRUE(config.atr.empty());

  p.capacity = 128 * 1024;
  p.protocol = Protocol::kT0;
  p.atr = Bytes{0x3B, 0x00};
  ApplyProfile(p, config);
  EXPECT_EQ(config.capacity, 128u * 1024);
  EXPECT_EQ(config.protocol, Protocol::kT0);
  EXPECT_EQ(config.atr, (Bytes{0x3B, 0x00}));
  EXPECT_EQ(config.default_applet, (Bytes{0xA0, 0x01}));

  CardConfig demo;
  ApplyProfile(DemoProfile(), demo);
  EXPECT_EQ(demo.capacity, 65536u);
  EXPECT_EQ(demo.protocol, Protocol::kT1);
}

TEST_F(ProfileDemoTree, HoldsDmAcc) {
  EXPECT_TRUE(Interior("./DMAcc"));
  EXPECT_EQ(Type("./DMAcc"), "urn:oma:mo:oma-dm-dmacc:1.0");
  EXPECT_EQ(Acl("./DMAcc"), kServerAcl);
  EXPECT_TRUE(Interior(kAcc));
  EXPECT_EQ(Type(kAcc), "urn:oma:mo:oma-dm-dmacc:1.0");
  EXPECT_EQ(Value(kAcc + "/AppID"), "w7");
  EXPECT_EQ(Value(kAcc + "/ServerID"), "dmcard.example.test");
  EXPECT_EQ(Value(kAcc + "/Name"), "dmcard demo DM server (test)");
  EXPECT_EQ(Value(kAcc + "/PrefConRef"), "./Con/NAP/TestAPN");
  EXPECT_EQ(Value(kAcc + "/AppAddr/Srv1/Addr"), "https://dms.example.test/dm");
  EXPECT_EQ(Value(kAcc + "/AppAddr/Srv1/AddrType"), "URI");
  EXPECT_EQ(Value(kAcc + "/AppAddr/Srv1/Port/Port1/PortNbr"), "443");
  EXPECT_EQ(Format(kAcc + "/AppAddr/Srv1/Port/Port1/PortNbr"), NodeFormat::kInt);
  EXPECT_EQ(Value(kAcc + "/AAuthPref"), "HMAC");

  const std::string srv = kAcc + "/AppAuth/SrvCred";
  EXPECT_EQ(Value(srv + "/AAuthLevel"), "SRVCRED");
  EXPECT_EQ(Value(srv + "/AAuthType"), "DIGEST");
  EXPECT_EQ(Value(srv + "/AAuthName"), "dmcard.example.test");
  EXPECT_EQ(Value(srv + "/AAuthSecret"), "test-server-secret-NOT-REAL");
  EXPECT_EQ(Value(srv + "/AAuthData"), "dmcard-test-server-nonce");  // bin, base64 in the file
  EXPECT_EQ(Format(srv + "/AAuthData"), NodeFormat::kBin);

  const std::string cli = kAcc + "/AppAuth/CliCred";
  EXPECT_EQ(Value(cli + "/AAuthLevel"), "CLCRED");
  EXPECT_EQ(Value(cli + "/AAuthType"), "HMAC");
  EXPECT_EQ(Value(cli + "/AAuthName"), "dmcard-test-client");
  EXPECT_EQ(Value(cli + "/AAuthSecret"), "test-client-secret-NOT-REAL");
  EXPECT_EQ(Value(cli + "/AAuthData"), "dmcard-test-client-nonce");
}

TEST_F(ProfileDemoTree, HoldsDevInfoAndDevDetail) {
  EXPECT_EQ(Type("./DevInfo"), "urn:oma:mo:oma-dm-devinfo:1.0");
  EXPECT_EQ(Acl("./DevInfo"), "Get=*");
  EXPECT_EQ(Value("./DevInfo/DevId"), "IMEI:000000000000000");
  EXPECT_EQ(Value("./DevInfo/Man"), "dmcard");
  EXPECT_EQ(Value("./DevInfo/Mod"), "dmcard-virtual");
  EXPECT_EQ(Value("./DevInfo/DmV"), "1.2");
  EXPECT_EQ(Value("./DevInfo/Lang"), "en-US");

  EXPECT_EQ(Type("./DevDetail"), "urn:oma:mo:oma-dm-devdetail:1.0");
  EXPECT_EQ(Acl("./DevDetail"), "Get=*");
  EXPECT_EQ(Value("./DevDetail/DevTyp"), "smartcard");
  EXPECT_EQ(Value("./DevDetail/OEM"), "dmcard test OEM");
  EXPECT_EQ(Value("./DevDetail/FwV"), "0.1.0-test");
  EXPECT_EQ(Value("./DevDetail/SwV"), "0.1.0-test");
  EXPECT_EQ(Value("./DevDetail/HwV"), "virtual-1");
  EXPECT_EQ(Value("./DevDetail/LrgObj"), "true");
  EXPECT_EQ(Format("./DevDetail/LrgObj"), NodeFormat::kBool);
  // The URI limits the document announces are the card's own.
  const dm::UriLimits limits;
  EXPECT_EQ(Value("./DevDetail/URI/MaxDepth"), std::to_string(limits.max_depth));
  EXPECT_EQ(Value("./DevDetail/URI/MaxTotLen"), std::to_string(limits.max_tot_len));
  EXPECT_EQ(Value("./DevDetail/URI/MaxSegLen"), std::to_string(limits.max_seg_len));
}

TEST_F(ProfileDemoTree, HoldsConnectivity) {
  EXPECT_EQ(Acl("./Con"), kServerAcl);
  const std::string nap = "./Con/NAP/TestAPN";
  EXPECT_EQ(Type(nap), "urn:oma:mo:oma-connmo-nap:1.0");
  EXPECT_EQ(Value(nap + "/NapId"), "dmcard-test-apn");
  EXPECT_EQ(Value(nap + "/Name"), "dmcard test APN");
  EXPECT_EQ(Value(nap + "/Addr"), "internet.example.test");
  EXPECT_EQ(Value(nap + "/AddrType"), "APN");
  EXPECT_EQ(Value(nap + "/Bearer/BearerType"), "3GPP-PS");
  const std::string proxy = "./Con/Proxy/TestProxy";
  EXPECT_EQ(Type(proxy), "urn:oma:mo:oma-connmo-proxy:1.0");
  EXPECT_EQ(Value(proxy + "/ProxyId"), "dmcard-test-proxy");
  EXPECT_EQ(Value(proxy + "/Addr"), "192.0.2.80");
  EXPECT_EQ(Value(proxy + "/AddrType"), "IPv4");
  EXPECT_EQ(Value(proxy + "/Ports/Port1/PortNbr"), "8080");
  EXPECT_EQ(Value(proxy + "/ConRefs/ConRef1/ConRef"), nap);
  // DMAcc's preferred connection resolves to this NAP.
  EXPECT_TRUE(Interior(Value(kAcc + "/PrefConRef")));
}

TEST_F(ProfileDemoTree, HoldsFumoPolicyAndUserPrefs) {
  const std::string policy = "./Vendor/dmcard/FUMOPolicy";
  EXPECT_EQ(Acl(policy), kServerAcl);
  EXPECT_EQ(Type(policy), "urn:dmcard:mo:fumo-policy:1.0");
  // SHA-256("dmcard-test-firmware-0.0.1"), as the file's comment says.
  EXPECT_EQ(Value(policy + "/TestPkg1/PkgDigest"),
            "bc408f49f8bb95a2b51c98dec26e5e66b11f6c98eadef16e54722522b7fb72ca");
  EXPECT_EQ(Value(policy + "/TestPkg1/PkgVersion"), "0.0.1-test");

  const std::string prefs = "./Vendor/dmcard/UserPrefs";
  EXPECT_EQ(Acl(prefs), "Add=@user&Delete=@user&Get=*&Replace=@user");
  EXPECT_EQ(Value(prefs + "/Lang"), "en-US");
  EXPECT_EQ(Value(prefs + "/AllowAutoConnect"), "true");
}

// SEC1: the DM account is readable by anyone but changed only by its own DM server.
class Req_SEC1_DemoTreeAcl : public ProfileDemoTree {};
TEST_F(Req_SEC1_DemoTreeAcl, DmAccChangedOnlyByItsServer) {
  const std::string name = kAcc + "/Name";
  for (dm::AclOp op : {dm::AclOp::kReplace, dm::AclOp::kAdd, dm::AclOp::kDelete}) {
    EXPECT_TRUE(tree_.Allowed(Principal::Authority(kServer), name, op));
    EXPECT_FALSE(tree_.Allowed(Principal::Authority("other.example.test"), name, op));
    EXPECT_FALSE(tree_.Allowed(Principal::Device(), name, op));
    EXPECT_FALSE(tree_.Allowed(Principal::User(), name, op));
  }
  EXPECT_TRUE(tree_.Allowed(Principal::Device(), name, dm::AclOp::kGet));
  Bytes out;
  EXPECT_EQ(tree_.GetValue(Principal::Device(), name, out), DmStatus::kOk);
  EXPECT_EQ(std::string(out.begin(), out.end()), "dmcard demo DM server (test)");
  EXPECT_FALSE(tree_.Allowed(Principal::Authority(kServer), "./DevInfo/Man", dm::AclOp::kReplace));
}

// SC2: authentication secrets are stored but never readable, not even by the DM server.
class Req_SC2_DemoTreeSecrets : public ProfileDemoTree {};
TEST_F(Req_SC2_DemoTreeSecrets, AuthenticationSecretsAreUnreadable) {
  for (const std::string leaf : {"AAuthSecret", "AAuthData"}) {
    for (const std::string cred : {"SrvCred", "CliCred"}) {
      const std::string uri = kAcc + "/AppAuth/" + cred + "/" + leaf;
      EXPECT_TRUE(tree_.Read(uri)->props.secret) << uri;
      Bytes out;
      EXPECT_EQ(tree_.GetValue(Principal::Authority(kServer), uri, out),
                DmStatus::kPermissionDenied)
          << uri;
      EXPECT_EQ(tree_.GetValue(Principal::User(), uri, out), DmStatus::kPermissionDenied) << uri;
    }
  }
  const std::string exported = dm::ExportTndsXml(tree_, ".");
  EXPECT_EQ(exported.find("NOT-REAL"), std::string::npos);
}

// UC512: user preferences are kept apart: the user changes them, DM servers cannot.
class Req_UC512_DemoTreeUserPrefs : public ProfileDemoTree {};
TEST_F(Req_UC512_DemoTreeUserPrefs, UserPreferencesBelongToTheUser) {
  const std::string lang = "./Vendor/dmcard/UserPrefs/Lang";
  EXPECT_TRUE(tree_.Allowed(Principal::User(), lang, dm::AclOp::kReplace));
  EXPECT_FALSE(tree_.Allowed(Principal::Authority(kServer), lang, dm::AclOp::kReplace));
  EXPECT_FALSE(tree_.Allowed(Principal::Device(), lang, dm::AclOp::kReplace));
  EXPECT_TRUE(tree_.Allowed(Principal::Authority(kServer), lang, dm::AclOp::kGet));
  store_.Begin();
  const std::string fr = "fr-FR";
  EXPECT_EQ(tree_.ReplaceValue(Principal::Authority(kServer), lang, Bytes(fr.begin(), fr.end())),
            DmStatus::kPermissionDenied);
  EXPECT_EQ(tree_.ReplaceValue(Principal::User(), lang, Bytes(fr.begin(), fr.end())),
            DmStatus::kOk);
  EXPECT_EQ(store_.Commit(), StoreStatus::kOk);
  EXPECT_EQ(Value(lang), "fr-FR");
}

// The whole demo tree survives TNDS XML and WBXML: what a device reads equals the card's tree.
TEST_F(ProfileDemoTree, ExportsAndReimportsThroughWbxml) {
  dm::TndsExportOptions all;
  all.include_secret_values = true;
  const std::string xml = dm::ExportTndsXml(tree_, ".", all);
  std::string error;
  const std::optional<Bytes> wbxml = dm::TndsXmlToWbxml(xml, error);
  ASSERT_TRUE(wbxml) << error;
  const std::optional<std::string> back = dm::TndsWbxmlToXml(*wbxml, error);
  ASSERT_TRUE(back) << error;
  const dm::TndsDocument doc = dm::ParseTndsXml(*back);
  ASSERT_EQ(doc.error, "");

  auto medium = std::make_shared<RamMedium>();
  PersistentStore store(medium, PersistentStore::Options{});
  MoTree copy(store, "dm/", [] { return int64_t{1}; });
  store.Begin();
  ASSERT_EQ(copy.Init(), DmStatus::kOk);
  ASSERT_EQ(dm::ImportNodes(copy, doc.nodes), DmStatus::kOk);
  ASSERT_EQ(store.Commit(), StoreStatus::kOk);
  const std::vector<dm::Node> a = tree_.Walk(), b = copy.Walk();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].uri, b[i].uri);
    EXPECT_EQ(a[i].interior, b[i].interior) << a[i].uri;
    EXPECT_EQ(a[i].props.format, b[i].props.format) << a[i].uri;
    EXPECT_EQ(a[i].props.type, b[i].props.type) << a[i].uri;
    EXPECT_EQ(a[i].props.acl, b[i].props.acl) << a[i].uri;
    EXPECT_EQ(a[i].props.title, b[i].props.title) << a[i].uri;
    EXPECT_EQ(a[i].props.secret, b[i].props.secret) << a[i].uri;
    EXPECT_EQ(a[i].value, b[i].value) << a[i].uri;
  }
}

// --- LoadProfile errors ----------------------------------------------------------------------

class ProfileFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dmcard-profile-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    Write("tree.xml", "<MgmtTree><VerDTD>1.2</VerDTD></MgmtTree>");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ / name, std::ios::binary) << content;
  }
  // Loads `json` as profile.json; returns the error ("" on success).
  std::string Load(const std::string& json) {
    Write("profile.json", json);
    std::string error;
    loaded_ = LoadProfile(dir_ / "profile.json", error);
    EXPECT_EQ(loaded_.has_value(), error.empty()) << error;
    return error;
  }
  std::string File() const { return (dir_ / "profile.json").string(); }

  fs::path dir_;
  std::optional<Profile> loaded_;
};

TEST_F(ProfileFiles, MinimalProfileLoads) {
  EXPECT_EQ(Load(R"({"profile": "p", "tree": "tree.xml"})"), "");
  ASSERT_TRUE(loaded_);
  EXPECT_EQ(loaded_->name, "p");
  EXPECT_FALSE(loaded_->capacity);
  EXPECT_FALSE(loaded_->protocol);
  EXPECT_FALSE(loaded_->user_confirmation);
  EXPECT_TRUE(loaded_->user_pin.empty());
  EXPECT_TRUE(loaded_->imsi.empty());
  EXPECT_TRUE(loaded_->key_sets.empty());
  // Comments are allowed; the ATR must offer the protocol.
  EXPECT_EQ(Load(R"({ // a card speaking T=0
                      "profile": "p", "protocol": "T=0", "atr": "3B 00", "tree": "tree.xml"})"),
            "");
  ASSERT_TRUE(loaded_);
  EXPECT_EQ(loaded_->atr, (Bytes{0x3B, 0x00}));
  EXPECT_EQ(loaded_->protocol, Protocol::kT0);
  CardConfig t1;
  const Bytes t1_atr = DefaultAtr(t1);
  EXPECT_EQ(Load(R"({"profile": "p", "atr": ")" + ToHex(t1_atr, ' ') + R"(", "tree": "tree.xml"})"),
            "");
}

// Issue 12 item 6: the quirk switches are off unless the profile turns them on.
TEST_F(ProfileFiles, QuirksAreOffByDefaultAndReadFromTheProfile) {
  EXPECT_EQ(Load(R"({"profile": "p", "tree": "tree.xml"})"), "");
  ASSERT_TRUE(loaded_);
  EXPECT_FALSE(loaded_->quirks.dodf_path_without_length);
  EXPECT_FALSE(loaded_->quirks.dodf_padded_with_ff);
  EXPECT_FALSE(DemoProfile().quirks.dodf_path_without_length);
  EXPECT_FALSE(DemoProfile().quirks.dodf_padded_with_ff);
  EXPECT_EQ(
      Load(R"({"profile": "p", "quirks": {"dodf_padded_with_ff": true}, "tree": "tree.xml"})"), "");
  ASSERT_TRUE(loaded_);
  EXPECT_FALSE(loaded_->quirks.dodf_path_without_length);
  EXPECT_TRUE(loaded_->quirks.dodf_padded_with_ff);
  EXPECT_EQ(Load(R"({"profile": "p", "quirks": {"dodf_path_without_length": true,
                     "dodf_padded_with_ff": false}, "tree": "tree.xml"})"),
            "");
  ASSERT_TRUE(loaded_);
  EXPECT_TRUE(loaded_->quirks.dodf_path_without_length);
  EXPECT_FALSE(loaded_->quirks.dodf_padded_with_ff);
}

// "bootstrap": {"ef_format"}: what EF(DM_Bootstrap) holds (issue 12 item 2); the OMA DM bootstrap
// message unless the profile asks for TNDS XML.
TEST_F(ProfileFiles, BootstrapEfFormatOption) {
  EXPECT_EQ(Load(R"({"profile": "p", "tree": "tree.xml"})"), "");
  ASSERT_TRUE(loaded_);
  EXPECT_EQ(loaded_->bootstrap_ef_format, dm::BootstrapEfFormat::kWbxml);
  EXPECT_EQ(Load(R"({"profile": "p", "bootstrap": {"ef_format": "tnds-xml"}, "tree": "tree.xml"})"),
            "");
  ASSERT_TRUE(loaded_);
  EXPECT_EQ(loaded_->bootstrap_ef_format, dm::BootstrapEfFormat::kTndsXml);
  EXPECT_EQ(Load(R"({"profile": "p", "bootstrap": {"ef_format": "wbxml"}, "tree": "tree.xml"})"),
            "");
  ASSERT_TRUE(loaded_);
  EXPECT_EQ(loaded_->bootstrap_ef_format, dm::BootstrapEfFormat::kWbxml);
}

TEST_F(ProfileFiles, ErrorsNameTheFileAndTheProblem) {
  struct Case {
    const char* what;
    std::string json;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {"bad JSON", R"({"profile": "p",, })", {"not valid JSON", "line 1"}},
      {"not an object", R"(["profile"])", {"must be a JSON object"}},
      {"missing tree", R"({"profile": "p"})", {"field 'tree' is missing"}},
      {"missing name", R"({"tree": "tree.xml"})", {"field 'profile' is missing"}},
      {"tree file missing",
       R"({"profile": "p", "tree": "nope.xml"})",
       {"field 'tree'", "nope.xml", "does not exist"}},
      {"tree not a string", R"({"profile": "p", "tree": 3})", {"field 'tree' must be a string"}},
      {"unknown protocol",
       R"({"profile": "p", "protocol": "T=2", "tree": "tree.xml"})",
       {"field 'protocol'", "unknown protocol \"T=2\"", "\"T=0\" or \"T=1\""}},
      {"unknown field",
       R"({"profile": "p", "protocl": "T=1", "tree": "tree.xml"})",
       {"field 'protocl' unknown field"}},
      {"capacity too small",
       R"({"profile": "p", "capacity": 100, "tree": "tree.xml"})",
       {"field 'capacity'", "got 100"}},
      {"capacity negative",
       R"({"profile": "p", "capacity": -5, "tree": "tree.xml"})",
       {"field 'capacity'"}},
      {"ATR not hex",
       R"({"profile": "p", "atr": "3B ZZ", "tree": "tree.xml"})",
       {"field 'atr' is not hex bytes"}},
      {"ATR malformed",
       R"({"profile": "p", "atr": "3B 80", "tree": "tree.xml"})",
       {"field 'atr' is not a well-formed ATR"}},
      {"ATR without T=1",
       R"({"profile": "p", "atr": "3B 00", "tree": "tree.xml"})",
       {"field 'atr' does not offer the card's protocol T=1"}},
      {"bootstrap flag not bool",
       R"({"profile": "p", "bootstrap": {"autoconnect": "yes"}, "tree": "tree.xml"})",
       {"field 'bootstrap.autoconnect' must be true or false"}},
      {"bootstrap unknown flag",
       R"({"profile": "p", "bootstrap": {"autoconect": true}, "tree": "tree.xml"})",
       {"field 'bootstrap.autoconect' unknown field"}},
      {"PIN too short",
       R"({"profile": "p", "user_pin": "12", "tree": "tree.xml"})",
       {"field 'user_pin' must be 4 to 8 digits"}},
      {"PIN not digits",
       R"({"profile": "p", "user_pin": "12ab", "tree": "tree.xml"})",
       {"field 'user_pin' must be 4 to 8 digits"}},
      {"PUK without PIN",
       R"({"profile": "p", "user_puk": "12345678", "tree": "tree.xml"})",
       {"field 'user_puk'", "needs a user_pin"}},
      {"the development issuer PIN is gone",
       R"({"profile": "p", "dev_issuer_pin": "DEV-ONLY", "tree": "tree.xml"})",
       {"field 'dev_issuer_pin'", "no longer supported", "SCP03", "remove the field"}},
      {"IMSI too short",
       R"({"profile": "p", "imsi": "00101", "tree": "tree.xml"})",
       {"field 'imsi' must be 6 to 15 decimal digits", "\"00101\""}},
      {"IMSI not digits",
       R"({"profile": "p", "imsi": "00101O123456789", "tree": "tree.xml"})",
       {"field 'imsi' must be 6 to 15 decimal digits"}},
      {"IMSI not a string",
       R"({"profile": "p", "imsi": 1010123456789, "tree": "tree.xml"})",
       {"field 'imsi'"}},
      {"PUK shorter than the applet's 8 digits",
       R"({"profile": "p", "user_pin": "1234", "user_puk": "1234", "tree": "tree.xml"})",
       {"field 'user_puk' must be 8 digits"}},
      {"tree not TNDS",
       R"({"profile": "p", "tree": "bad.xml"})",
       {"field 'tree'", "'bad.xml': line 2", "unknown format <string/>"}},
  };
  Write("bad.xml",
        "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>A</NodeName>\n<RTProperties><Format>"
        "<string/></Format></RTProperties></Node></MgmtTree>");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string error = Load(c.json);
    EXPECT_FALSE(loaded_);
    EXPECT_TRUE(Contains(error, File() + ": "));
    for (const std::string& part : c.expected) EXPECT_TRUE(Contains(error, part));
  }
}

// Issue 7 item 6b: every bad profile is a message naming the file and the field; nothing
// escapes LoadProfile (before, "capacity": 1e400 threw nlohmann::out_of_range out of it).
TEST_F(ProfileFiles, BadProfilesAreMessagesNamingTheField) {
  const std::string table = std::string(DMCARD_TEST_DATA_DIR) + "/dm/bad_profiles.data";
  for (const testing::TableRow& row : testing::ReadTable(table, 3)) {
    SCOPED_TRACE(table + ":" + std::to_string(row.line) + ": " + row.fields[0]);
    std::string error;
    EXPECT_NO_THROW(error = Load(row.fields[1]));
    EXPECT_FALSE(loaded_);
    EXPECT_TRUE(Contains(error, File() + ": "));
    std::stringstream parts(row.fields[2]);
    for (std::string part; std::getline(parts, part, ';');) EXPECT_TRUE(Contains(error, part));
  }
}

// Issue 7 item 10b: the PIN rules of profiles are the applet's (dm/pin_policy.h). A profile at
// the edges of what the validator accepts installs; before, a 4-digit PUK passed validation
// and the DM applet refused it at install with 6700.
TEST_F(ProfileFiles, ProfileTheValidatorAcceptsInstalls) {
  const std::vector<std::string> accepted = {
      R"({"profile": "p", "user_pin": "1234", "user_puk": "12345678", "tree": "tree.xml"})",
      R"({"profile": "p", "user_pin": "12345678", "user_puk": "00000000",
          "imsi": "001010", "tree": "tree.xml"})",
      R"({"profile": "p", "user_pin": "0000", "imsi": "999999999999999",
          "tree": "tree.xml"})",
      R"({"profile": "p", "root_acl": "Get=*", "reserve": 0, "tree": "tree.xml"})",
      R"({"profile": "p", "capacity": 8192, "reserve": 4095, "tree": "tree.xml"})",
  };
  for (const std::string& json : accepted) {
    SCOPED_TRACE(json);
    ASSERT_EQ(Load(json), "");
    std::string error;
    std::optional<Platform> platform = MakePlatform({}, error);
    ASSERT_TRUE(platform) << error;
    EXPECT_TRUE(MakeCard(*loaded_, CardConfigFor(*loaded_), std::move(*platform), error)) << error;
  }
  EXPECT_TRUE(Contains(
      Load(R"({"profile": "p", "user_pin": "1234", "user_puk": "1234567", "tree": "tree.xml"})"),
      "field 'user_puk' must be 8 digits"));
}

TEST_F(ProfileFiles, MissingProfileFileIsNamed) {
  std::string error;
  EXPECT_FALSE(LoadProfile(dir_ / "absent.json", error));
  EXPECT_TRUE(Contains(error, (dir_ / "absent.json").string()));
  EXPECT_TRUE(Contains(error, "does not exist"));
}

}  // namespace
}  // namespace dmcard
