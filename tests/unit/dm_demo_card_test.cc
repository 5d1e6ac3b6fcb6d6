// Scenario tests on the built-in demo card (profile profiles/demo/), in-process: what a device
// and a DM server read from it. Expected values are the demo profile's, as its tree.xml states.
#include <gtest/gtest.h>

#include "demo_card_apdus.h"
#include "dm/dm_applet.h"
#include "host/demo_card.h"
#include "scp03_test_client.h"
#include "test_applets.h"

namespace dmcard {
namespace {

using dm::DmApplet;
using testing::DataOf;
using testing::H;
using testing::SwOf;

std::unique_ptr<Card> DemoCard() {
  std::string error;
  const uint8_t seed[16] = {3};
  auto card = MakeDemoCard(DemoCardConfig(),
                           Platform{std::make_shared<RamMedium>(), crypto::Drbg::FromSeed(seed),
                                    [] { return int64_t{1700000000}; }},
                           error);
  EXPECT_TRUE(card) << error;
  card->PowerOn();
  // Select the DM applet on the basic channel.
  EXPECT_EQ(SwOf(card->Transmit(H("00A404000AF0444D434152442D444D00"))), 0x9000);
  return card;
}

// 80 30 P1 P2 <uri> 00, answered as text (or the SW as "SW xxxx").
std::string Get(Card& card, uint8_t p1, std::string_view uri, uint8_t p2 = 0) {
  Bytes c = {0x80, 0x30, p1, p2, static_cast<uint8_t>(uri.size())};
  c.insert(c.end(), uri.begin(), uri.end());
  c.push_back(0x00);
  Bytes r = card.Transmit(c);
  if (SwOf(r) != 0x9000) return "SW " + ToHex(ByteView(r).last(2));
  Bytes d = DataOf(r);
  return std::string(d.begin(), d.end());
}

constexpr const char* kAccount = "./DMAcc/DMCardTest";

TEST(Req_SC3_SecureConnectionData, DemoCardHoldsServerAddressCredentialsAndConnectivity) {
  auto card = DemoCard();
  EXPECT_EQ(Get(*card, 0, std::string(kAccount) + "/AppAddr/Srv1/Addr"),
            "https://dms.example.test/dm");
  EXPECT_EQ(Get(*card, 0, std::string(kAccount) + "/AAuthPref"), "HMAC");
  EXPECT_EQ(Get(*card, 2, std::string(kAccount) + "/AppAuth"), "CliCred/SrvCred");
  EXPECT_EQ(Get(*card, 0, std::string(kAccount) + "/AppAuth/SrvCred/AAuthType"), "DIGEST");
  // The credentials are on the card (their Size is readable) but never leave it.
  const std::string secret = std::string(kAccount) + "/AppAuth/SrvCred/AAuthSecret";
  EXPECT_NE(Get(*card, 1, secret, 0x05), "0");
  EXPECT_EQ(Get(*card, 0, secret), "SW 6982");
  // The account points at the connectivity MO that carries the network access point (SC1).
  EXPECT_EQ(Get(*card, 0, std::string(kAccount) + "/PrefConRef"), "./Con/NAP/TestAPN");
  EXPECT_EQ(Get(*card, 2, "./Con/NAP/TestAPN"), "Addr/AddrType/Bearer/Name/NapId");
}

TEST(Req_DMS1_QueryCard, DevDetailReportsTheUriLimitsTheCardEnforces) {
  auto card = DemoCard();
  EXPECT_EQ(Get(*card, 0, "./DevDetail/URI/MaxDepth"), "16");
  EXPECT_EQ(Get(*card, 0, "./DevDetail/URI/MaxSegLen"), "64");
  EXPECT_EQ(Get(*card, 0, "./DevDetail/URI/MaxTotLen"), "255");
  EXPECT_EQ(Get(*card, 0, "./DevInfo/DmV"), "1.2");
  // And the card does enforce them: a 65-character segment is refused.
  EXPECT_EQ(Get(*card, 0, "./" + std::string(65, 'a')), "SW 6A80");
  std::string deep = ".";
  for (int i = 0; i < 17; ++i) deep += "/a";
  EXPECT_EQ(Get(*card, 0, deep), "SW 6A80");
}

TEST(Req_SEC1_DemoCard, DeviceReadsButCannotChangeTheAccount) {
  auto card = DemoCard();
  Bytes replace = H("80340000");
  const std::string uri = std::string(kAccount) + "/ServerID";
  Bytes data = {0x80, static_cast<uint8_t>(uri.size())};
  data.insert(data.end(), uri.begin(), uri.end());
  data.insert(data.end(), {0x81, 0x04, 'e', 'v', 'i', 'l'});
  replace.push_back(static_cast<uint8_t>(data.size()));
  Append(replace, data);
  EXPECT_EQ(SwOf(card->Transmit(replace)), 0x6982);
  EXPECT_EQ(SwOf(card->Transmit(H("002000010431323334"))), 0x9000);
  EXPECT_EQ(SwOf(card->Transmit(replace)), 0x6982) << "the user is no management authority";
  // The account's own server (dmcard.example.test, the demo profile's key set 31) over SCP03.
  testing::Scp03TestClient server(*card, {0x31, testing::DemoDmsKeys()});
  ASSERT_EQ(server.Open(DmApplet::DefaultAid()), "");
  EXPECT_EQ(SwOf(server.Transmit(replace)), 0x9000) << "the account's own server may";
  EXPECT_EQ(testing::Str(DataOf(server.Transmit(testing::DmGet(uri)))), "evil");
}

}  // namespace
}  // namespace dmcard
