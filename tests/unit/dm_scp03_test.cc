// A DM server manages the tree over a GlobalPlatform SCP03 secure channel opened to the DM applet
// itself (issue 9 item 4, SEC1/SC8): its key set's owner — the demo DM account's ServerID — is
// the channel's principal for the OMA DM ACLs. The host side is host/scp03_host (OpenSSL);
// the demo profile's test keys are written here from the ASCII they spell.
#include <gtest/gtest.h>

#include <string>

#include "demo_card_apdus.h"
#include "demo_card_in_ram.h"
#include "dm/dm_applet.h"
#include "host/demo_card.h"
#include "host/scp03_host.h"
#include "scp03_test_client.h"
#include "test_applets.h"

namespace dmcard {
namespace {

using testing::Ascii;
using testing::DataOf;
using testing::DmGet;
using testing::DmReplace;
using testing::H;
using testing::SwOf;

const HostScp03Keys kDemoDms = testing::DemoDmsKeys();
const HostScp03Keys kDemoIssuer = testing::DemoIssuerKeys();
constexpr char kName[] = "./DMAcc/DMCardTest/Name";

class Req_SEC1_DmOverScp03 : public ::testing::Test {
 protected:
  void SetUp() override {
    card_ = testing::DemoCardInRam(42);
    ASSERT_TRUE(card_);
    Bytes select = H("00A404000A");
    Append(select, dm::DmApplet::DefaultAid());
    select.push_back(0x00);
    ASSERT_EQ(SwOf(card_->Transmit(select)), 0x9000);
  }

  // INITIALIZE UPDATE + EXTERNAL AUTHENTICATE to the DM applet; "" on success. The card
  // challenge is derived with the DM applet's AID: the applet serves the handshake.
  std::string Open(HostScp03& host, uint8_t kvn, uint8_t level) {
    return testing::OpenScp03(*card_, host, kvn, dm::DmApplet::DefaultAid(), level);
  }

  std::string PlainGet(std::string_view uri) {
    const Bytes r = card_->Transmit(DmGet(uri));
    const Bytes data = DataOf(r);
    return SwOf(r) == 0x9000 ? std::string(data.begin(), data.end())
                             : "SW " + ToHex(ByteView(r).last(2));
  }

  std::unique_ptr<Card> card_;
};

TEST_F(Req_SEC1_DmOverScp03, ServerSessionChangesTheAccountTheDeviceCannot) {
  const std::string before = PlainGet(kName);
  EXPECT_EQ(ToHex(card_->Transmit(DmReplace(kName, "by the device"))), "6982");
  for (uint8_t level : {0x01, 0x03, 0x11, 0x13, 0x33}) {
    SCOPED_TRACE("level " + ToHex(Bytes{level}));
    HostScp03 host(kDemoDms);
    ASSERT_EQ(Open(host, 0x31, level), "");
    const std::string value = "by the DMS at " + ToHex(Bytes{level});
    const Bytes r = card_->Transmit(host.Wrap(DmReplace(kName, value)));
    EXPECT_EQ(SwOf(r), 0x9000) << ToHex(r);
    EXPECT_TRUE(host.Unwrap(DataOf(r), SwOf(r)).empty());
    const Bytes g = card_->Transmit(host.Wrap(DmGet(kName)));
    ASSERT_EQ(SwOf(g), 0x9000);
    const Bytes plain = host.Unwrap(DataOf(g), 0x9000);
    EXPECT_EQ(std::string(plain.begin(), plain.end()), value);
  }
  EXPECT_NE(PlainGet(kName), before);
}

TEST_F(Req_SEC1_DmOverScp03, TamperedReplayedOrReorderedCommandsChangeNothing) {
  HostScp03 host(kDemoDms);
  const std::string before = PlainGet(kName);
  ASSERT_EQ(Open(host, 0x31, 0x13), "");
  Bytes tampered = host.Wrap(DmReplace(kName, "tampered"));
  tampered[tampered.size() - 1] ^= 0x01;  // the C-MAC's last byte
  EXPECT_EQ(ToHex(card_->Transmit(tampered)), "6982");
  EXPECT_EQ(ToHex(card_->Transmit(host.Wrap(DmReplace(kName, "after")))), "6882");  // no session
  EXPECT_EQ(PlainGet(kName), before);

  ASSERT_EQ(Open(host, 0x31, 0x01), "");
  const Bytes first = host.Wrap(DmReplace(kName, "first"));  // wrapped, never sent
  const Bytes second = host.Wrap(DmReplace(kName, "second"));
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(SwOf(card_->Transmit(second)), 0x6982);  // out of order
  EXPECT_EQ(PlainGet(kName), before);

  ASSERT_EQ(Open(host, 0x31, 0x01), "");
  const Bytes once = host.Wrap(DmReplace(kName, "once"));
  ASSERT_EQ(SwOf(card_->Transmit(once)), 0x9000);
  EXPECT_EQ(SwOf(card_->Transmit(once)), 0x6982);  // replayed
}

// The issuer's key set opens a channel to the DM applet too, but the tree's ACLs name the DM
// server: the issuer personalizes through STORE DATA, not as a management authority.
TEST_F(Req_SEC1_DmOverScp03, OnlyTheAccountsServerIsThatServer) {
  HostScp03 issuer(kDemoIssuer);
  ASSERT_EQ(Open(issuer, 0x30, 0x01), "");
  EXPECT_EQ(SwOf(card_->Transmit(issuer.Wrap(DmReplace(kName, "issuer")))), 0x6982);
  // A host without the server's keys cannot even confirm the card's cryptogram.
  HostScp03 wrong(kDemoIssuer);
  const Bytes r = card_->Transmit(wrong.InitializeUpdate(0x31, H("0102030405060708")));
  ASSERT_EQ(SwOf(r), 0x9000);
  EXPECT_THROW(wrong.ReadInitializeUpdateResponse(DataOf(r), dm::DmApplet::DefaultAid()),
               HostScp03Error);  // the card's cryptogram does not match either
}

}  // namespace
}  // namespace dmcard
