// The DM server's tree commands and answers (host/dms.h, issue 11): the commands are byte for
// byte the examples of apdu-specs/dm.json, and against the in-process demo card they read the
// values of profiles/demo/tree.xml, change what the ACLs allow, and the event log reads back as
// lines.
#include <gtest/gtest.h>

#include <string>

#include "demo_card_apdus.h"
#include "demo_card_in_ram.h"
#include "dm/dm_applet.h"
#include "host/demo_card.h"
#include "host/dms.h"
#include "scp03_test_client.h"
#include "test_applets.h"

namespace dmcard {
namespace {

using testing::Ascii;
using testing::DataOf;
using testing::H;
using testing::SwOf;

std::string Hex(const std::optional<Bytes>& c) { return c ? ToHex(*c) : "nullopt"; }

DmsAdd Add(const std::string& uri, const std::string& format = "node",
           std::optional<Bytes> value = std::nullopt) {
  DmsAdd add;
  add.uri = uri;
  add.format = format;
  add.value = std::move(value);
  return add;
}

TEST(HostDms, CommandsAreTheJsonExamples) {
  std::string error;
  // apdu-specs/dm.json, "GET (tree)": DevInfo for the DMS, child names, one property.
  EXPECT_EQ(Hex(DmsGetValue("./DevInfo/Man", error)), "803000000D2E2F446576496E666F2F4D616E00");
  EXPECT_EQ(Hex(DmsGetChildren("./DMAcc", error)), "80300200072E2F444D41636300");
  EXPECT_EQ(Hex(DmsGetProperty("./DMAcc/DMCardTest/ServerID", DmsProperty::kFormat, error)),
            "803001021B2E2F444D4163632F444D43617264546573742F536572766572494400");
  // "ADD (tree)": a chr leaf under the user preferences; an interior node.
  DmsAdd add;
  add.uri = "./Vendor/dmcard/UserPrefs/Scratch";
  add.format = "chr";
  add.value = Ascii("hello");
  EXPECT_EQ(Hex(DmsAddCommand(add, error)),
            "803200002F80212E2F56656E646F722F646D636172642F5573657250726566732F5363726174636882"
            "03636872810568656C6C6F");
  EXPECT_EQ(Hex(DmsAddCommand(Add("./DMAcc/Rogue"), error)),
            "8032000015800D2E2F444D4163632F526F67756582046E6F6465");
  // "REPLACE (tree)", "DELETE (tree)", "EXEC (tree)".
  EXPECT_EQ(Hex(DmsReplaceValue("./Vendor/dmcard/UserPrefs/Lang", Ascii("fr-FR"), error)),
            "8034000027801E2E2F56656E646F722F646D636172642F5573657250726566732F4C616E67810566722D"
            "4652");
  EXPECT_EQ(Hex(DmsDelete("./DMAcc", error)), "80360000072E2F444D416363");
  EXPECT_EQ(Hex(DmsDelete(".", error)), "80360000012E");
  EXPECT_EQ(Hex(DmsExec("./DevInfo/Man", {}, error)), "803800000F800D2E2F446576496E666F2F4D616E");
  // "GET DATA": the event log from the start, and from counter 5.
  EXPECT_EQ(ToHex(DmsEventLogCommand()), "80CA00E100");
  EXPECT_EQ(ToHex(DmsEventLogCommand(5)), "80CA00E1040000000500");
  // REPLACE of the ACL property: P1 01 P2 01.
  EXPECT_EQ(Hex(DmsReplaceProperty("./A", DmsProperty::kAcl, "Get=*", error)),
            "803401010C80032E2F41810547"
            "65743D2A");

  // A long value goes extended (Lc 00 xx xx).
  add.value = Bytes(300, 'x');
  const std::optional<Bytes> ext = DmsAddCommand(add, error);
  ASSERT_TRUE(ext) << error;
  EXPECT_EQ(ToHex(*ext).substr(0, 14), "80320000000158");

  // Refused with a reason.
  EXPECT_FALSE(DmsGetValue("DevInfo/Man", error));
  EXPECT_NE(error.find("./"), std::string::npos) << error;
  EXPECT_FALSE(DmsGetValue(std::string(256, '.'), error));
  add.format = "text";
  EXPECT_FALSE(DmsAddCommand(add, error));
  EXPECT_FALSE(DmsAddCommand(Add("./A", "node", Ascii("v")), error));
  EXPECT_FALSE(DmsReplaceProperty("./A", DmsProperty::kFormat, "chr", error));
  EXPECT_EQ(DmsPropertyByName("tstamp"), DmsProperty::kTStamp);
  EXPECT_FALSE(DmsPropertyByName("Colour"));
}

TEST(HostDms, AnswersDecode) {
  EXPECT_EQ(DmsChildNames(Ascii("CliCred/SrvCred")),
            (std::vector<std::string>{"CliCred", "SrvCred"}));
  EXPECT_TRUE(DmsChildNames({}).empty());
  EXPECT_EQ(DmsValueText(Ascii("dmcard")), "dmcard");
  EXPECT_EQ(DmsValueText(H("0001FF")), "hex:0001FF");
  std::string error;
  const std::optional<DmsNodeProperties> p = DecodeDmsProperties(H("8105"
                                                                   "4765743D2A"
                                                                   "8203636872"
                                                                   "8403"
                                                                   "4D616E"),
                                                                 error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->Get(DmsProperty::kAcl), "Get=*");
  EXPECT_EQ(p->Get(DmsProperty::kFormat), "chr");
  EXPECT_EQ(p->Get(DmsProperty::kName), "Man");
  EXPECT_FALSE(p->Get(DmsProperty::kSize));
  EXPECT_FALSE(DecodeDmsProperties(H("8905414243"), error));
  EXPECT_FALSE(DecodeDmsProperties(H("8105"), error));

  // One entry by hand: counter 7, 2023-11-14T22:13:20Z, bootstrap rejected (wrong MAC).
  const Bytes log = H("E124 E222 800400000007 8108000000006553F100 820102 830101 8407" +
                      ToHex(Ascii("@device")) + "850100");
  const std::optional<std::vector<DmsEvent>> events = DecodeEventLog(log, error);
  ASSERT_TRUE(events) << error;
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(EventLine(events->front()),
            "#7 2023-11-14T22:13:20Z @device: bootstrap rejected (wrong MAC) — hex:00");
  EXPECT_FALSE(DecodeEventLog(H("E103E20100"), error));
  EXPECT_FALSE(DecodeEventLog(H("E2020000"), error));
  EXPECT_EQ(DmsStatusText(0x6A82), "6A82 node not found");
  EXPECT_EQ(DmsStatusText(0x63C2), "63C2 verification failed, 2 tries left");
}

// The demo card, DM applet selected on channel 0.
class HostDmsCard : public ::testing::Test {
 protected:
  void SetUp() override {
    card_ = testing::DemoCardInRam(0xD5);
    ASSERT_TRUE(card_);
    ASSERT_EQ(SwOf(card_->Transmit(testing::SelectAid(dm::DmApplet::DefaultAid()))), 0x9000);
  }
  // The command's answer: data, or "SW xxxx" when the status word is not 9000.
  Bytes Run(const std::optional<Bytes>& command, uint16_t& sw) {
    EXPECT_TRUE(command);
    const Bytes r = card_->Transmit(command.value_or(Bytes{0x80, 0x00, 0x00, 0x00}));
    sw = SwOf(r);
    return DataOf(r);
  }
  std::string Value(const std::string& uri) {
    std::string error;
    uint16_t sw = 0;
    const Bytes data = Run(DmsGetValue(uri, error), sw);
    return sw == 0x9000 ? DmsValueText(data) : "SW " + DmsStatusText(sw);
  }

  std::unique_ptr<Card> card_;
};

TEST_F(HostDmsCard, GetReadsTheDemoTree) {
  std::string error;
  uint16_t sw = 0;
  // profiles/demo/tree.xml: DevInfo/Man "dmcard", the DM account DMCardTest.
  EXPECT_EQ(Value("./DevInfo/Man"), "dmcard");
  EXPECT_EQ(Value("./DMAcc/DMCardTest/ServerID"), "dmcard.example.test");
  EXPECT_EQ(Value("./DMAcc/DMCardTest/AppAddr/Srv1/Addr"), "https://dms.example.test/dm");
  EXPECT_EQ(DmsChildNames(Run(DmsGetChildren("./DMAcc", error), sw)),
            std::vector<std::string>{"DMCardTest"});
  EXPECT_EQ(DmsChildNames(Run(DmsGetChildren("./DMAcc/DMCardTest/AppAuth", error), sw)),
            (std::vector<std::string>{"CliCred", "SrvCred"}));
  EXPECT_EQ(testing::Str(Run(
                DmsGetProperty("./DMAcc/DMCardTest/ServerID", DmsProperty::kFormat, error), sw)),
            "chr");
  const Bytes all = Run(DmsGetProperties("./DevInfo/Man", error), sw);
  ASSERT_EQ(sw, 0x9000);
  const std::optional<DmsNodeProperties> props = DecodeDmsProperties(all, error);
  ASSERT_TRUE(props) << error;
  EXPECT_EQ(props->Get(DmsProperty::kFormat), "chr");
  EXPECT_EQ(props->Get(DmsProperty::kType), "text/plain");
  EXPECT_EQ(props->Get(DmsProperty::kName), "Man");
  EXPECT_EQ(props->Get(DmsProperty::kSize), "6");
  // An interior node has no Size.
  const std::optional<DmsNodeProperties> interior =
      DecodeDmsProperties(Run(DmsGetProperties("./DevInfo", error), sw), error);
  ASSERT_TRUE(interior) << error;
  EXPECT_EQ(interior->Get(DmsProperty::kFormat), "node");
  EXPECT_FALSE(interior->Get(DmsProperty::kSize));
  // The secret leaf and a node that is not there (dm.json examples).
  EXPECT_EQ(Value("./DMAcc/DMCardTest/AppAuth/SrvCred/AAuthSecret"),
            "SW 6982 security status not satisfied (the ACL or the session does not allow it)");
  EXPECT_EQ(Value("./NoSuchNode"), "SW 6A82 node not found");
}

TEST_F(HostDmsCard, ChangesWhereTheAclsAllowAndTheEventLogReadsAsLines) {
  std::string error;
  uint16_t sw = 0;
  // The device may not add to DMAcc; the user may write the user preferences (dm.json).
  Run(DmsAddCommand(Add("./DMAcc/Rogue"), error), sw);
  EXPECT_EQ(sw, 0x6982);
  ASSERT_EQ(SwOf(card_->Transmit(H("002000010431323334"))), 0x9000);  // user PIN 1234
  const DmsAdd add = Add("./Vendor/dmcard/UserPrefs/Scratch", "chr", Ascii("hello"));
  Run(DmsAddCommand(add, error), sw);
  EXPECT_EQ(sw, 0x9000);
  EXPECT_EQ(Value("./Vendor/dmcard/UserPrefs/Scratch"), "hello");
  Run(DmsAddCommand(add, error), sw);
  EXPECT_EQ(DmsStatusText(sw), "6A89 node already exists");
  Run(DmsReplaceValue("./Vendor/dmcard/UserPrefs/Scratch", Ascii("again"), error), sw);
  EXPECT_EQ(sw, 0x9000);
  EXPECT_EQ(Value("./Vendor/dmcard/UserPrefs/Scratch"), "again");
  Run(DmsDelete("./Vendor/dmcard/UserPrefs/Scratch", error), sw);
  EXPECT_EQ(sw, 0x9000);
  EXPECT_EQ(Value("./Vendor/dmcard/UserPrefs/Scratch"), "SW 6A82 node not found");
  Run(DmsExec("./DevInfo/Man", {}, error), sw);
  EXPECT_EQ(sw, 0x6982);  // no Exec right

  // The log needs a secure session (a DM server's or, here, the issuer's).
  EXPECT_EQ(SwOf(card_->Transmit(DmsEventLogCommand())), 0x6982);
  testing::Scp03TestClient issuer(*card_, {0x30, testing::DemoIssuerKeys()});
  ASSERT_EQ(issuer.Open(dm::DmApplet::DefaultAid()), "");
  const Bytes r = issuer.Transmit(DmsEventLogCommand());
  ASSERT_EQ(SwOf(r), 0x9000) << ToHex(r);
  const std::optional<std::vector<DmsEvent>> events = DecodeEventLog(DataOf(r), error);
  ASSERT_TRUE(events) << error;
  std::vector<std::string> lines;
  for (const DmsEvent& e : *events) lines.push_back(EventLine(e));
  ASSERT_EQ(lines.size(), 3u) << ::testing::PrintToString(lines);
  // The demo card's clock: 1700000000 = 2023-11-14T22:13:20Z; counters from 0.
  EXPECT_EQ(lines[0].rfind("#0 2023-11-14T22:13:20Z @user: tree changed by ADD — ", 0), 0u)
      << lines[0];
  EXPECT_NE(lines[0].find("./Vendor/dmcard/UserPrefs/Scratch"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("@user: tree changed by REPLACE"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("@user: tree changed by DELETE"), std::string::npos) << lines[2];
}

}  // namespace
}  // namespace dmcard
