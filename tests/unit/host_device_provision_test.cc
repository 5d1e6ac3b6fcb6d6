// The reference handset's provisioning flow (host/device_provision.h, issue 11 item 2) against the
// in-process demo card: UC511 (a new device gets the card's DM account, the values of
// profiles/demo/tree.xml), UC511a (no account on the card), UC512 (a used, mis-configured device:
// the account is replaced, the user's preferences kept), USA1 (asked, declined: nothing written;
// nobody to ask: refused), USA3 (the DM server's address), UC-CR (a package made by
// host/operator.h, verified by the card and incorporated; tampered: refused, nothing written),
// and a damaged device tree that is never touched.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "dm/tnds.h"
#include "host/demo_card.h"
#include "host/device_provision.h"
#include "host/direct_reader.h"
#include "host/dms.h"
#include "host/exchange.h"
#include "host/operator.h"
#include "host/profile_file.h"

namespace dmcard {
namespace {

namespace fs = std::filesystem;

// A prompt that records what it was asked and answers as the test says (nullopt: nobody).
class FakePrompt final : public UserPrompt {
 public:
  std::optional<bool> answer;
  std::optional<std::string> pin;
  std::vector<std::string> questions;
  std::vector<std::string> pin_questions;

  std::optional<bool> Confirm(const std::string& question, std::string& error) override {
    questions.push_back(question);
    if (!answer) error = "nobody is there";
    return answer;
  }
  std::optional<std::string> AskDigits(const std::string& question, std::string& error) override {
    pin_questions.push_back(question);
    if (!pin) error = "nobody is there";
    return pin;
  }
};

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("dmcard-device-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

std::string ReadText(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteText(const fs::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary) << text;
}

Bytes TextBytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

// A TNDS document's nodes (read with the card's own TNDS parser).
std::vector<dm::Node> Nodes(const std::string& xml) {
  dm::TndsDocument doc = dm::ParseTndsXml(xml);
  EXPECT_EQ(doc.error, "");
  return doc.nodes;
}

// Leaf values by URI (bin values as their bytes).
std::map<std::string, std::string> Values(const std::string& xml) {
  std::map<std::string, std::string> out;
  for (const dm::Node& n : Nodes(xml)) {
    if (!n.interior) out[n.uri] = std::string(n.value.begin(), n.value.end());
  }
  return out;
}

std::map<std::string, std::string> DemoTreeValues() {
  return Values(ReadText(fs::path(DMCARD_SOURCE_DIR) / "profiles/demo/tree.xml"));
}

std::unique_ptr<DirectReader> OpenCard(const Profile& profile) {
  std::string error;
  auto reader = DirectReader::Open(std::make_shared<Profile>(profile), DemoCardConfig(), "", error);
  EXPECT_TRUE(reader) << error;
  return reader;
}

std::unique_ptr<DirectReader> OpenDemoCard() { return OpenCard(DemoProfile()); }

// The value of a leaf of the card's tree, or its status word as "sw XXXX".
std::string CardValue(Reader& reader, const std::string& uri) {
  std::string error;
  Bytes r;
  const Bytes select = {0x00, 0xA4, 0x04, 0x00, 0x0A, 0xF0, 'D', 'M',
                        'C',  'A',  'R',  'D',  '-',  'D',  'M', 0x00};
  EXPECT_TRUE(TransmitFollowing(reader, select, r, error)) << error;
  const std::optional<Bytes> get = DmsGetValue(uri, error);
  EXPECT_TRUE(get) << error;
  EXPECT_TRUE(TransmitFollowing(reader, *get, r, error)) << error;
  if (r.size() >= 2 && r[r.size() - 2] == 0x90 && r.back() == 0x00)
    return std::string(r.begin(), r.end() - 2);
  return "sw " + ToHex(ByteView(r.data() + r.size() - 2, 2));
}

bool HasChange(const ProvisionReport& report, TreeChange::Kind kind, const std::string& uri) {
  for (const TreeChange& c : report.changes) {
    if (c.kind == kind && c.uri == uri) return true;
  }
  return false;
}

// A second DM account an operator bootstraps (self-generated for this test).
constexpr char kOperatorTnds[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<MgmtTree><VerDTD>1.2</VerDTD>
<Node><NodeName>Operator</NodeName><Path>./DMAcc</Path>
<RTProperties><ACL>Get=*</ACL><Format><node/></Format></RTProperties>
<Node><NodeName>ServerID</NodeName><RTProperties><Format><chr/></Format></RTProperties>
<Value>dms-op.example.test</Value></Node>
<Node><NodeName>AppAddr</NodeName><RTProperties><Format><node/></Format></RTProperties>
<Node><NodeName>A</NodeName><RTProperties><Format><node/></Format></RTProperties>
<Node><NodeName>Addr</NodeName><RTProperties><Format><chr/></Format></RTProperties>
<Value>https://dms-op.example.test/dm</Value></Node>
</Node></Node>
</Node></MgmtTree>)";

// The operator's package for the demo card: VERIFY BOOTSTRAP data of kOperatorTnds.
BootstrapProof OperatorPackage(dm::BootstrapMethod method, const std::string& user_pin = "") {
  std::string error;
  const std::optional<Bytes> message =
      BuildBootstrapMessage(TextBytes(kOperatorTnds), BootstrapHeader{}, error);
  EXPECT_TRUE(message) << error;
  BootstrapSecrets secrets;
  secrets.imsi = DemoProfile().imsi;  // profiles/demo/profile.json "imsi"
  secrets.user_pin = user_pin;
  const std::optional<BootstrapProof> proof = ProveBootstrap(*message, method, secrets, error);
  EXPECT_TRUE(proof) << error;
  return *proof;
}

class HostDeviceProvision : public ::testing::Test {
 protected:
  fs::path TreeFile() const { return dir_.path() / "device-tree.xml"; }

  bool Provision(Reader& reader, UserPrompt& prompt, const fs::path& package = {}) {
    ProvisionOptions options;
    options.tree_file = TreeFile();
    options.package = package;
    error_.clear();
    return ProvisionDevice(reader, options, prompt, report_, error_);
  }

  TempDir dir_;
  ProvisionReport report_;
  std::string error_;
};

TEST(HostDeviceDescriptor, Req_SC7_DemoCardSaysProvisionedConfirmAutoconnect) {
  auto reader = OpenDemoCard();
  ASSERT_TRUE(reader);
  std::string error;
  Bytes atr, r;
  ASSERT_TRUE(reader->Connect(atr, error)) << error;
  const Bytes select = {0x00, 0xA4, 0x04, 0x00, 0x0A, 0xF0, 'D', 'M',
                        'C',  'A',  'R',  'D',  '-',  'D',  'M', 0x00};
  ASSERT_TRUE(TransmitFollowing(*reader, select, r, error)) << error;
  const std::optional<DmDescriptor> d = DecodeDmDescriptor(ByteView(r.data(), r.size() - 2), error);
  ASSERT_TRUE(d) << error;
  EXPECT_EQ(d->flags, 0x07);  // apdu-specs/dm.json: the demo card's descriptor
  EXPECT_EQ(d->applet_version, 0x0100);
  EXPECT_EQ(d->digest.size(), 32u);
  EXPECT_FALSE(DecodeDmDescriptor(TextBytes("6F00"), error));
}

TEST_F(HostDeviceProvision, Req_UC511_NewDeviceGetsTheCardsAccount) {
  auto reader = OpenDemoCard();
  ASSERT_TRUE(reader);
  FakePrompt prompt;
  prompt.answer = true;
  ASSERT_TRUE(Provision(*reader, prompt)) << error_;
  EXPECT_EQ(report_.outcome, ProvisionOutcome::kProvisioned);
  EXPECT_TRUE(report_.tree_created);
  EXPECT_TRUE(report_.tree_written);
  EXPECT_EQ(report_.accounts, std::vector<std::string>{"./DMAcc/DMCardTest"});
  EXPECT_NE(report_.source.find("EF(DM_Bootstrap)"), std::string::npos);

  // Every value of the demo account (profiles/demo/tree.xml) is in the device's tree, but the
  // secrets, which stay on the card.
  const std::map<std::string, std::string> expected = DemoTreeValues();
  const std::map<std::string, std::string> device = Values(ReadText(TreeFile()));
  size_t leaves = 0;
  for (const auto& [uri, value] : expected) {
    if (uri.rfind("./DMAcc/", 0) != 0) continue;
    ++leaves;
    ASSERT_EQ(device.count(uri), 1u) << uri;
    if (dm::MoTree::IsSecretName(uri.substr(uri.rfind('/') + 1))) {
      EXPECT_EQ(device.at(uri), "") << uri;
    } else {
      EXPECT_EQ(device.at(uri), value) << uri;
    }
  }
  EXPECT_GE(leaves, 15u);
  EXPECT_EQ(device.at("./DMAcc/DMCardTest/ServerID"), "dmcard.example.test");
  EXPECT_EQ(device.at("./DMAcc/DMCardTest/AppAddr/Srv1/Addr"), "https://dms.example.test/dm");
  EXPECT_EQ(report_.kept_on_card.size(), 4u);  // AAuthSecret, AAuthData of SrvCred and CliCred
  // The connectivity the account names comes too; what is not provisioning data does not.
  EXPECT_EQ(device.at("./Con/NAP/TestAPN/Addr"), expected.at("./Con/NAP/TestAPN/Addr"));
  EXPECT_EQ(device.count("./DevInfo/Man"), 0u);
  EXPECT_EQ(fs::status(TreeFile()).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_TRUE(HasChange(report_, TreeChange::Kind::kAdded, "./DMAcc/DMCardTest/ServerID"));

  // Once more: nothing changes, nothing is asked or written.
  FakePrompt again;
  ASSERT_TRUE(Provision(*reader, again)) << error_;
  EXPECT_EQ(report_.outcome, ProvisionOutcome::kProvisioned);
  EXPECT_TRUE(report_.changes.empty());
  EXPECT_FALSE(report_.tree_written);
  EXPECT_TRUE(report_.replaced.empty());
  EXPECT_TRUE(again.questions.empty());
}

// Issue 12 item 2: tree → EF(DM_Bootstrap) → device tree keeps every value but the secrets, in
// both forms the card can write: the OMA DM bootstrap message (SyncML DM 1.2 WBXML with embedded
// WBXML TNDS, the default) and TNDS XML (profile "bootstrap": {"ef_format": "tnds-xml"}).
TEST_F(HostDeviceProvision, Req_UC511_RoundTripKeepsEveryNonSecretValueInBothEfFormats) {
  const std::map<std::string, std::string> expected = DemoTreeValues();
  for (const dm::BootstrapEfFormat format :
       {dm::BootstrapEfFormat::kWbxml, dm::BootstrapEfFormat::kTndsXml}) {
    SCOPED_TRACE(format == dm::BootstrapEfFormat::kWbxml ? "wbxml" : "tnds-xml");
    fs::remove(TreeFile());
    Profile profile = DemoProfile();
    profile.bootstrap_ef_format = format;
    auto reader = OpenCard(profile);
    ASSERT_TRUE(reader);
    FakePrompt prompt;
    prompt.answer = true;
    ASSERT_TRUE(Provision(*reader, prompt)) << error_;
    EXPECT_EQ(report_.outcome, ProvisionOutcome::kProvisioned);
    const std::map<std::string, std::string> device = Values(ReadText(TreeFile()));
    // Every value the device got is the demo tree's, the secrets (kept on the card) empty...
    for (const auto& [uri, value] : device) {
      ASSERT_EQ(expected.count(uri), 1u) << uri;
      const bool secret = dm::MoTree::IsSecretName(uri.substr(uri.rfind('/') + 1));
      EXPECT_EQ(value, secret ? "" : expected.at(uri)) << uri;
    }
    // ...and every value of the demo's accounts and connectivity came.
    size_t carried = 0;
    for (const auto& [uri, value] : expected) {
      if (uri.rfind("./DMAcc/", 0) != 0 && uri.rfind("./Con/", 0) != 0) continue;
      ++carried;
      EXPECT_EQ(device.count(uri), 1u) << uri;
    }
    EXPECT_GE(carried, 18u);
    EXPECT_EQ(report_.kept_on_card.size(), 4u);
  }
}

TEST_F(HostDeviceProvision, Req_UC511a_CardWithoutAccountIsReported) {
  Profile profile = DemoProfile();
  profile.tree_xml = R"(<MgmtTree><VerDTD>1.2</VerDTD>
<Node><NodeName>DevInfo</NodeName><RTProperties><ACL>Get=*</ACL><Format><node/></Format>
</RTProperties><Node><NodeName>Man</NodeName><Value>dmcard</Value></Node></Node></MgmtTree>)";
  auto reader = OpenCard(profile);
  ASSERT_TRUE(reader);
  FakePrompt prompt;
  ASSERT_TRUE(Provision(*reader, prompt)) << error_;
  EXPECT_EQ(report_.outcome, ProvisionOutcome::kNoProvisioningData);
  ASSERT_TRUE(report_.descriptor);
  EXPECT_EQ(report_.descriptor->flags & DmDescriptor::kProvisioningData, 0);
  EXPECT_FALSE(fs::exists(TreeFile()));
  EXPECT_TRUE(prompt.questions.empty());
}

TEST_F(HostDeviceProvision, Req_UC512_UsedDeviceAccountReplacedPreferencesKept) {
  // A second-hand device: the same account mis-configured (wrong ServerID and address, a stale
  // node), another account of its own, and the user's preferences elsewhere.
  WriteText(TreeFile(), R"(<?xml version="1.0" encoding="UTF-8"?>
<MgmtTree xmlns="syncml:dmddf1.2">
  <VerDTD>1.2</VerDTD>
  <!-- the user's own settings -->
  <Node>
    <NodeName>Settings</NodeName>
    <Node><NodeName>Ringtone</NodeName><RTProperties><Format><chr/></Format></RTProperties>
      <Value>marimba</Value></Node>
  </Node>
  <Node>
    <NodeName>DMAcc</NodeName>
    <Node>
      <NodeName>DMCardTest</NodeName>
      <Node><NodeName>ServerID</NodeName><Value>wrong.example.test</Value></Node>
      <Node><NodeName>Stale</NodeName><Value>left by the last owner</Value></Node>
      <Node><NodeName>AppAddr</NodeName><Node><NodeName>Srv1</NodeName>
        <Node><NodeName>Addr</NodeName><Value>http://wrong.example.test/</Value></Node>
      </Node></Node>
    </Node>
    <Node>
      <NodeName>Maker</NodeName>
      <Node><NodeName>ServerID</NodeName><Value>maker.example.test</Value></Node>
    </Node>
  </Node>
</MgmtTree>
)");
  auto reader = OpenDemoCard();
  ASSERT_TRUE(reader);
  FakePrompt prompt;
  prompt.answer = true;
  ASSERT_TRUE(Provision(*reader, prompt)) << error_;
  EXPECT_EQ(report_.outcome, ProvisionOutcome::kProvisioned);
  EXPECT_FALSE(report_.tree_created);
  EXPECT_EQ(report_.replaced, std::vector<std::string>{"./DMAcc/DMCardTest"});
  ASSERT_EQ(prompt.questions.size(), 1u);
  EXPECT_NE(prompt.questions[0].find("replacing the device's ./DMAcc/DMCardTest"),
            std::string::npos)
      << prompt.questions[0];

  const std::string text = ReadText(TreeFile());
  const std::map<std::string, std::string> expected = DemoTreeValues();
  const std::map<std::string, std::string> device = Values(text);
  EXPECT_EQ(device.at("./DMAcc/DMCardTest/ServerID"), expected.at("./DMAcc/DMCardTest/ServerID"));
  EXPECT_EQ(device.at("./DMAcc/DMCardTest/AppAddr/Srv1/Addr"),
            expected.at("./DMAcc/DMCardTest/AppAddr/Srv1/Addr"));
  EXPECT_EQ(device.count("./DMAcc/DMCardTest/Stale"), 0u);
  EXPECT_TRUE(HasChange(report_, TreeChange::Kind::kRemoved, "./DMAcc/DMCardTest/Stale"));
  EXPECT_TRUE(HasChange(report_, TreeChange::Kind::kChanged, "./DMAcc/DMCardTest/ServerID"));
  // Kept: the preferences (and their comment), and the account the card does not name.
  EXPECT_EQ(device.at("./Settings/Ringtone"), "marimba");
  EXPECT_EQ(device.at("./DMAcc/Maker/ServerID"), "maker.example.test");
  EXPECT_NE(text.find("<!-- the user's own settings -->"), std::string::npos);
  EXPECT_FALSE(HasChange(report_, TreeChange::Kind::kChanged, "./Settings/Ringtone"));
}

TEST_F(HostDeviceProvision, Req_USA1_UserAskedAndDeclinedNothingWritten) {
  const std::string before = R"(<MgmtTree><VerDTD>1.2</VerDTD>
<Node><NodeName>Settings</NodeName><Node><NodeName>Lang</NodeName><Value>fr</Value></Node></Node>
</MgmtTree>
)";
  WriteText(TreeFile(), before);
  auto reader = OpenDemoCard();  // user confirmation: profiles/demo/profile.json "bootstrap"
  ASSERT_TRUE(reader);
  FakePrompt prompt;
  prompt.answer = false;
  ASSERT_TRUE(Provision(*reader, prompt)) << error_;
  EXPECT_EQ(report_.outcome, ProvisionOutcome::kDeclined);
  EXPECT_TRUE(report_.user_asked);
  ASSERT_EQ(prompt.questions.size(), 1u);
  EXPECT_NE(prompt.questions[0].find("./DMAcc/DMCardTest"), std::string::npos);
  EXPECT_FALSE(report_.tree_written);
  EXPECT_EQ(ReadText(TreeFile()), before);
  EXPECT_TRUE(report_.connect_to.empty());
}

TEST_F(HostDeviceProvision, Req_USA2_NotAskedWhenTheCardDoesNotSay) {
  Profile profile = DemoProfile();
  profile.user_confirmation = false;
  profile.autoconnect = false;
  auto reader = OpenCard(profile);
  ASSERT_TRUE(reader);
  FakePrompt prompt;  // would refuse: nobody there
  ASSERT_TRUE(Provision(*reader, prompt)) << error_;
  EXPECT_EQ(report_.outcome, ProvisionOutcome::kProvisioned);
  EXPECT_TRUE(prompt.questions.empty());
  EXPECT_FALSE(report_.user_asked);
  EXPECT_FALSE(report_.autoconnect);  // USA3 not indicated: no address to connect to
  EXPECT_TRUE(report_.connect_to.empty());
}

TEST_F(HostDeviceProvision, Req_USA3_AddressOfTheDmServer) {
  auto reader = OpenDemoCard();
  ASSERT_TRUE(reader);
  FakePrompt prompt;
  prompt.answer = true;
  ASSERT_TRUE(Provision(*reader, prompt)) << error_;
  EXPECT_TRUE(report_.autoconnect);
  ASSERT_EQ(report_.connect_to.size(), 1u);
  const std::map<std::string, std::string> expected = DemoTreeValues();
  EXPECT_EQ(report_.connect_to[0].account, "./DMAcc/DMCardTest");
  EXPECT_EQ(report_.connect_to[0].address, expected.at("./DMAcc/DMCardTest/AppAddr/Srv1/Addr"));
  EXPECT_EQ(report_.connect_to[0].port,
            expected.at("./DMAcc/DMCardTest/AppAddr/Srv1/Port/Port1/PortNbr"));
  EXPECT_EQ(report_.connect_to[0].server_id, expected.at("./DMAcc/DMCardTest/ServerID"));
}

TEST_F(HostDeviceProvision, Req_UCCR_NetworkPackageVerifiedAndIncorporated) {
  const BootstrapProof proof = OperatorPackage(dm::BootstrapMethod::kNetwPin);
  // Hex text with a comment, as an operator tool writes it; then the same bytes in binary.
  const fs::path hex = dir_.path() / "package.hex";
  WriteText(hex, "# NETWPIN bootstrap for the demo card\n" + ToHex(proof.command_data) + "\n");
  const fs::path bin = dir_.path() / "package.bin";
  WriteText(bin, std::string(proof.command_data.begin(), proof.command_data.end()));

  for (const fs::path& package : {hex, bin}) {
    SCOPED_TRACE(package.filename().string());
    fs::remove(TreeFile());
    auto reader = OpenDemoCard();
    ASSERT_TRUE(reader);
    FakePrompt prompt;
    prompt.answer = true;
    ASSERT_TRUE(Provision(*reader, prompt, package)) << error_;
    EXPECT_EQ(report_.outcome, ProvisionOutcome::kProvisioned);
    EXPECT_EQ(report_.method, dm::BootstrapMethod::kNetwPin);
    EXPECT_EQ(report_.card_flags & 0x06, 0x06);  // VERIFY BOOTSTRAP's answer: USA1 and USA3
    EXPECT_EQ(prompt.questions.size(), 1u);
    EXPECT_TRUE(prompt.pin_questions.empty());
    const std::map<std::string, std::string> device = Values(ReadText(TreeFile()));
    EXPECT_EQ(device.at("./DMAcc/Operator/ServerID"), "dms-op.example.test");
    ASSERT_EQ(report_.connect_to.size(), 1u);
    EXPECT_EQ(report_.connect_to[0].address, "https://dms-op.example.test/dm");
    // Verified only (P1 00): the card's own tree did not take the account.
    EXPECT_EQ(CardValue(*reader, "./DMAcc/Operator/ServerID"), "sw 6A82");
  }
}

TEST_F(HostDeviceProvision, Req_UCCR_UserPinTypedByTheUser) {
  const BootstrapProof proof = OperatorPackage(dm::BootstrapMethod::kUserPin, "2468");
  const fs::path package = dir_.path() / "package.hex";
  WriteText(package, ToHex(proof.command_data));
  auto reader = OpenDemoCard();
  ASSERT_TRUE(reader);
  FakePrompt wrong;
  wrong.answer = true;
  wrong.pin = "1357";
  EXPECT_FALSE(Provision(*reader, wrong, package));
  EXPECT_EQ(report_.outcome, ProvisionOutcome::kCardRefused);
  EXPECT_EQ(report_.card_sw & 0xFFF0, 0x63C0);
  EXPECT_FALSE(fs::exists(TreeFile()));

  FakePrompt right;
  right.answer = true;
  right.pin = "2468";
  ASSERT_TRUE(Provision(*reader, right, package)) << error_;
  EXPECT_EQ(right.pin_questions.size(), 1u);
  EXPECT_EQ(Values(ReadText(TreeFile())).at("./DMAcc/Operator/ServerID"), "dms-op.example.test");
}

TEST_F(HostDeviceProvision, Req_UCCR_TamperedPackageRefusedTreeUnchanged) {
  BootstrapProof proof = OperatorPackage(dm::BootstrapMethod::kNetwPin);
  // A byte of the message's account changed: the MAC no longer matches.
  const std::string hex = ToHex(proof.command_data);
  std::string tampered = hex;
  const size_t at = hex.find(ToHex(TextBytes("dms-op")));
  ASSERT_NE(at, std::string::npos);
  tampered.replace(at, 2, ToHex(TextBytes("x")));
  const fs::path package = dir_.path() / "package.hex";
  WriteText(package, tampered);
  const std::string before = "<MgmtTree><VerDTD>1.2</VerDTD></MgmtTree>\n";
  WriteText(TreeFile(), before);

  auto reader = OpenDemoCard();
  ASSERT_TRUE(reader);
  FakePrompt prompt;
  prompt.answer = true;
  EXPECT_FALSE(Provision(*reader, prompt, package));
  EXPECT_EQ(report_.outcome, ProvisionOutcome::kCardRefused);
  EXPECT_EQ(report_.card_sw & 0xFFF0, 0x63C0);
  EXPECT_NE(error_.find("does not verify"), std::string::npos) << error_;
  EXPECT_TRUE(prompt.questions.empty());
  EXPECT_EQ(ReadText(TreeFile()), before);
}

TEST_F(HostDeviceProvision, Req_USA1_NoTerminalAndNoAnswerRefuses) {
  auto reader = OpenDemoCard();
  ASSERT_TRUE(reader);
  std::istringstream in;
  std::ostringstream out;
  ConsolePrompt prompt(in, out, /*terminal=*/false, {});
  EXPECT_FALSE(Provision(*reader, prompt));
  EXPECT_EQ(report_.outcome, ProvisionOutcome::kFailed);
  EXPECT_NE(error_.find("USA1"), std::string::npos) << error_;
  EXPECT_NE(error_.find("pass --yes or --no"), std::string::npos) << error_;
  EXPECT_FALSE(fs::exists(TreeFile()));

  ConsolePrompt yes(in, out, /*terminal=*/false, {.confirm = true, .pin = {}});
  EXPECT_TRUE(Provision(*reader, yes)) << error_;
  EXPECT_TRUE(fs::exists(TreeFile()));
}

TEST(HostDeviceConsolePrompt, TerminalAsksUntilYesOrNo) {
  std::istringstream in("maybe\n  Y \n");
  std::ostringstream out;
  ConsolePrompt prompt(in, out, /*terminal=*/true, {});
  std::string error;
  EXPECT_EQ(prompt.Confirm("Incorporate it?", error), true);
  EXPECT_NE(out.str().find("Incorporate it? [y/n]"), std::string::npos);
  EXPECT_NE(out.str().find("Please answer y or n."), std::string::npos);

  std::istringstream none;
  ConsolePrompt eof(none, out, /*terminal=*/true, {});
  EXPECT_FALSE(eof.Confirm("Incorporate it?", error));
  ConsolePrompt no_pin(none, out, /*terminal=*/false, {});
  EXPECT_FALSE(no_pin.AskDigits("PIN", error));
  EXPECT_NE(error.find("--pin"), std::string::npos);
}

TEST_F(HostDeviceProvision, DamagedTreeFileIsLeftAsItIs) {
  const std::string damaged = "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>DMAcc</Node>";
  WriteText(TreeFile(), damaged);
  auto reader = OpenDemoCard();
  ASSERT_TRUE(reader);
  FakePrompt prompt;
  prompt.answer = true;
  EXPECT_FALSE(Provision(*reader, prompt));
  EXPECT_NE(error_.find("is damaged"), std::string::npos) << error_;
  EXPECT_NE(error_.find("line 1"), std::string::npos) << error_;
  EXPECT_EQ(ReadText(TreeFile()), damaged);

  const std::string not_tnds = "<html/>";
  WriteText(TreeFile(), not_tnds);
  EXPECT_FALSE(Provision(*reader, prompt));
  EXPECT_NE(error_.find("not a TNDS document"), std::string::npos) << error_;
  EXPECT_EQ(ReadText(TreeFile()), not_tnds);
  // No temporary file left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_.path()), fs::directory_iterator()), 1);
}

TEST(HostDevicePackage, FileFormatsAndRefusals) {
  std::string error;
  EXPECT_FALSE(DecodeBootstrapPackage(TextBytes("garbage"), error));
  const Bytes no_message = {0x80, 0x01, 0x00};
  EXPECT_FALSE(DecodeBootstrapPackage(no_message, error));
  EXPECT_NE(error.find("81"), std::string::npos) << error;
  const Bytes typed = {0x80, 0x01, 0x01, 0x81, 0x01, 0xAA, 0x83, 0x01, '1'};
  EXPECT_FALSE(DecodeBootstrapPackage(typed, error));
  EXPECT_NE(error.find("83"), std::string::npos) << error;
  const Bytes unknown_method = {0x80, 0x01, 0x07, 0x81, 0x01, 0xAA};
  EXPECT_FALSE(DecodeBootstrapPackage(unknown_method, error));

  TempDir dir;
  WriteText(dir.path() / "odd.hex", "80 01 0");
  EXPECT_FALSE(ReadBootstrapPackage(dir.path() / "odd.hex", error));
  EXPECT_FALSE(ReadBootstrapPackage(dir.path() / "missing.hex", error));
  EXPECT_NE(error.find("missing.hex"), std::string::npos) << error;
  EXPECT_NE(BootstrapRefusalText(0x6985).find("replay"), std::string::npos);
  EXPECT_NE(BootstrapRefusalText(0x6983).find("locked"), std::string::npos);
}

}  // namespace
}  // namespace dmcard
