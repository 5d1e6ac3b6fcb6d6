// Applet registry, SELECT by DF name (full and partial AID, occurrences), default applet,
// logical channels (MANAGE CHANNEL, both CLA encodings, per-channel selection and security).
#include <gtest/gtest.h>

#include "gp/scp03_handshake.h"
#include "scp03_test_client.h"
#include "test_applets.h"

namespace dmcard {
namespace {

using testing::AppletAt;
using testing::DataOf;
using testing::H;
using testing::kAidA;
using testing::kAidA2;
using testing::kAidB;
using testing::MakeTestCard;
using testing::Send;
using testing::SwOf;

constexpr int kA = 0, kA2 = 1, kB = 2;

// A scratch applet that serves the GlobalPlatform SCP03 handshake before its own commands (so
// 80 50 is INITIALIZE UPDATE here, not FILL): its channels get a principal from a real session.
class Scp03ScratchApplet final : public testing::ScratchApplet {
 public:
  using ScratchApplet::ScratchApplet;
  Sw Process(AppletContext& ctx, const CommandApdu& cmd, Bytes& out) override {
    if (std::optional<Sw> sw = gp::Scp03Handshake(aid()).Process(ctx, cmd, out)) return *sw;
    return ScratchApplet::Process(ctx, cmd, out);
  }
};

TEST(Runtime_Select, DefaultAppletSelectedAfterReset) {
  auto card = MakeTestCard();
  EXPECT_EQ(card->selected_applet(0), kA);
  EXPECT_EQ(SwOf(Send(*card, "00A4040007A0000005710201")), 0x9000);
  EXPECT_EQ(card->selected_applet(0), kB);
  card->Reset();
  EXPECT_EQ(card->selected_applet(0), kA);
}

TEST(Runtime_Select, NoDefaultAppletMeansNothingSelected) {
  CardConfig config;
  config.default_applet = H("A000000571FFFF");  // not installed
  testing::TestCardOptions o;
  o.config = config;
  auto card = MakeTestCard(o);
  EXPECT_EQ(card->selected_applet(0), -1);
  EXPECT_EQ(SwOf(Send(*card, "8010000001AA")), 0x6A82);
}

TEST(Runtime_Select, FullAidAnswersFci) {
  auto card = MakeTestCard();
  Bytes r = Send(*card, "00A4040007A000000571010200");
  EXPECT_EQ(ToHex(r), "6F098407A00000057101029000");
  EXPECT_EQ(card->selected_applet(0), kA2);
}

TEST(Runtime_Select, P2NoResponseData) {
  auto card = MakeTestCard();
  EXPECT_EQ(ToHex(Send(*card, "00A4040C07A0000005710201")), "9000");
  EXPECT_EQ(card->selected_applet(0), kB);
}

TEST(Runtime_Select, PartialAidFirstAndNextOccurrence) {
  auto card = MakeTestCard();
  // A0 00 00 05 71 01 matches A (first) and A2.
  EXPECT_EQ(SwOf(Send(*card, "00A4040006A00000057101")), 0x9000);
  EXPECT_EQ(card->selected_applet(0), kA);
  EXPECT_EQ(SwOf(Send(*card, "00A4040206A00000057101")), 0x9000);  // next
  EXPECT_EQ(card->selected_applet(0), kA2);
  EXPECT_EQ(SwOf(Send(*card, "00A4040206A00000057101")), 0x6A82);  // no further occurrence
  EXPECT_EQ(card->selected_applet(0), kA2) << "a failed SELECT keeps the current applet";
  EXPECT_EQ(SwOf(Send(*card, "00A4040306A00000057101")), 0x9000);  // previous
  EXPECT_EQ(card->selected_applet(0), kA);
  EXPECT_EQ(SwOf(Send(*card, "00A4040106A00000057101")), 0x9000);  // last
  EXPECT_EQ(card->selected_applet(0), kA2);
  // A 5-byte prefix matches all three; "next" walks them in install order.
  EXPECT_EQ(SwOf(Send(*card, "00A4040005A000000571")), 0x9000);
  EXPECT_EQ(card->selected_applet(0), kA);
  EXPECT_EQ(SwOf(Send(*card, "00A4040205A000000571")), 0x9000);
  EXPECT_EQ(SwOf(Send(*card, "00A4040205A000000571")), 0x9000);
  EXPECT_EQ(card->selected_applet(0), kB);
}

TEST(Runtime_Select, UnknownAidKeepsSelection) {
  auto card = MakeTestCard();
  EXPECT_EQ(SwOf(Send(*card, "00A4040007A0000005710999")), 0x6A82);
  EXPECT_EQ(card->selected_applet(0), kA);
  EXPECT_EQ(ToHex(Send(*card, "8010000001AA")), "AA9000");
}

TEST(Runtime_Select, RefusedSelectLeavesNoApplet) {
  auto card = MakeTestCard();
  AppletAt(*card, kB).refuse_select = true;
  EXPECT_EQ(SwOf(Send(*card, "00A4040007A0000005710201")), 0x6999);
  EXPECT_EQ(card->selected_applet(0), -1);
  EXPECT_EQ(SwOf(Send(*card, "8010000001AA")), 0x6A82);
}

TEST(Runtime_Select, ReselectCallsDeselectThenSelect) {
  auto card = MakeTestCard();
  auto& a = AppletAt(*card, kA);
  const int selects = a.selects, deselects = a.deselects;
  EXPECT_EQ(SwOf(Send(*card, "00A4040007A0000005710101")), 0x9000);
  EXPECT_EQ(a.selects, selects + 1);
  EXPECT_EQ(a.deselects, deselects + 1);
}

TEST(Runtime_Channels, OpenAssignsLowestFreeChannel) {
  auto card = MakeTestCard();
  EXPECT_EQ(ToHex(Send(*card, "0070000001")), "019000");
  EXPECT_EQ(ToHex(Send(*card, "0070000001")), "029000");
  EXPECT_EQ(SwOf(Send(*card, "00708001")), 0x9000);  // close channel 1
  EXPECT_EQ(ToHex(Send(*card, "0070000001")), "019000");
}

TEST(Runtime_Channels, NineteenFurtherChannelsThenExhausted) {
  auto card = MakeTestCard();
  for (int i = 1; i < 20; ++i) {
    Bytes r = Send(*card, "0070000001");
    ASSERT_EQ(SwOf(r), 0x9000);
    EXPECT_EQ(r[0], i);
  }
  EXPECT_EQ(SwOf(Send(*card, "0070000001")), 0x6A81);
  // Every channel answers with its own CLA encoding (first interindustry for 0-3, further for
  // 4-19), and the proprietary class mirrors it.
  for (uint8_t ch = 0; ch < 20; ++ch) {
    Bytes cmd = {EncodeClass(0x80, ch), 0x10, 0x00, 0x00, 0x01, ch, 0x00};
    EXPECT_EQ(ToHex(card->Transmit(cmd)), ToHex(Bytes{ch, 0x90, 0x00})) << int(ch);
  }
}

TEST(Runtime_Channels, OpenSpecificChannelAndCloseFromItself) {
  auto card = MakeTestCard();
  EXPECT_EQ(ToHex(Send(*card, "00700013")), "9000");  // open channel 19
  EXPECT_TRUE(card->channel_open(19));
  EXPECT_EQ(SwOf(Send(*card, "00700013")), 0x6A81);           // already open
  EXPECT_EQ(ToHex(Send(*card, "CF10000001AA00")), "AA9000");  // CLA CF: proprietary, channel 19
  EXPECT_EQ(ToHex(Send(*card, "4F708000")), "9000");          // close the channel it is sent on
  EXPECT_FALSE(card->channel_open(19));
  EXPECT_EQ(SwOf(Send(*card, "CF10000001AA00")), 0x6881);
}

TEST(Runtime_Channels, SelectionPerChannel) {
  auto card = MakeTestCard();
  EXPECT_EQ(ToHex(Send(*card, "0070000001")), "019000");
  // Opened from the basic channel: the default applet is selected on it.
  EXPECT_EQ(card->selected_applet(1), kA);
  EXPECT_EQ(SwOf(Send(*card, "01A4040007A0000005710201")), 0x9000);
  EXPECT_EQ(card->selected_applet(1), kB);
  EXPECT_EQ(card->selected_applet(0), kA);
  // Opened from channel 1: the applet selected there.
  EXPECT_EQ(ToHex(Send(*card, "0170000001")), "029000");
  EXPECT_EQ(card->selected_applet(2), kB);
}

TEST(Runtime_Channels, AppletLearnsWhichChannelANewChannelWasOpenedFrom) {
  auto card = MakeTestCard();
  auto& a = AppletAt(*card, kA);
  EXPECT_EQ(ToHex(Send(*card, "0070000001")), "019000");
  EXPECT_EQ(a.last_opened_from, -1) << "opened from the basic channel: a fresh selection";
  EXPECT_EQ(ToHex(Send(*card, "0170000001")), "029000");
  EXPECT_EQ(a.last_opened_from, 1);
  EXPECT_EQ(SwOf(Send(*card, "02A4040C07A0000005710101")), 0x9000);
  EXPECT_EQ(a.last_opened_from, -1) << "a SELECT is never an inheritance";
}

TEST(Runtime_Channels, NonMultiselectableAppletOnOneChannelOnly) {
  testing::TestCardOptions o;
  o.multiselectable = false;
  auto card = MakeTestCard(o);
  EXPECT_EQ(ToHex(Send(*card, "0070000001")), "019000");
  EXPECT_EQ(card->selected_applet(1), -1) << "A is busy on channel 0";
  EXPECT_EQ(SwOf(Send(*card, "01A4040007A0000005710101")), 0x6985);
  EXPECT_EQ(SwOf(Send(*card, "01A4040007A0000005710201")), 0x9000);
}

TEST(Runtime_Channels, SecurityStatePerChannel) {
  CardConfig config;
  config.default_applet = kAidA;
  const uint8_t seed[16] = {1, 2, 3};
  Card card(config, Platform{std::make_shared<RamMedium>(), crypto::Drbg::FromSeed(seed)});
  ASSERT_EQ(card.Install(std::make_unique<Scp03ScratchApplet>(kAidA, true, "a")), Sw::kOk);
  card.PowerOn();
  const testing::TestKeySet dms = testing::AddKeySetFor(card, "com.example.dms");
  EXPECT_EQ(ToHex(Send(card, "0070000001")), "019000");
  EXPECT_EQ(SwOf(Send(card, "002000010431323334")), 0x9000);  // VERIFY on channel 0
  EXPECT_EQ(SwOf(Send(card, "80600000")), 0x9000);
  EXPECT_EQ(SwOf(Send(card, "81600000")), 0x6982) << "channel 1 has not verified";
  // Channel 1 authenticates as com.example.dms (SCP03 with the key set it owns).
  testing::Scp03TestClient on1(card, dms, 1);
  ASSERT_EQ(on1.Open(kAidA), "");
  EXPECT_EQ(
      ToHex(DataOf(on1.Transmit("8162000000"))),
      ToHex(Bytes{'c', 'o', 'm', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'd', 'm', 's'}));
  EXPECT_EQ(ToHex(Send(card, "8062000000")), "9000") << "principal is per channel";
  // Closing channel 1 drops its state; reopening starts clean.
  EXPECT_EQ(SwOf(Send(card, "00708001")), 0x9000);
  EXPECT_EQ(ToHex(Send(card, "0070000001")), "019000");
  EXPECT_EQ(ToHex(Send(card, "8162000000")), "9000");
}

TEST(Runtime_Power, ResetDeselectsAndDropsSecurityState) {
  auto card = MakeTestCard();
  EXPECT_EQ(ToHex(Send(*card, "0070000001")), "019000");
  EXPECT_EQ(SwOf(Send(*card, "002000010431323334")), 0x9000);
  auto& a = AppletAt(*card, kA);
  const int deselects = a.deselects;
  card->Reset();
  EXPECT_EQ(a.deselects, deselects + 2) << "deselected on channels 0 and 1";
  EXPECT_FALSE(card->channel_open(1));
  EXPECT_EQ(SwOf(Send(*card, "80600000")), 0x6982);
  card->PowerOff();
  card->PowerOn();
  EXPECT_EQ(SwOf(Send(*card, "80600000")), 0x6982);
}

TEST(Runtime_Transient, ClearedOnResetAndOnDeselect) {
  auto card = MakeTestCard();
  EXPECT_EQ(SwOf(Send(*card, "80400000020102")), 0x9000);
  Bytes r = Send(*card, "8042000020");
  ASSERT_EQ(r.size(), 34u);
  EXPECT_EQ(r[0], 1);
  EXPECT_EQ(r[16], 1);
  // Select B then A again: A's deselect-cleared array is zero, its reset-cleared one is kept.
  EXPECT_EQ(SwOf(Send(*card, "00A4040C07A0000005710201")), 0x9000);
  EXPECT_EQ(SwOf(Send(*card, "00A4040C07A0000005710101")), 0x9000);
  r = Send(*card, "8042000020");
  EXPECT_EQ(r[0], 1);
  EXPECT_EQ(r[1], 2);
  EXPECT_EQ(r[16], 0);
  EXPECT_EQ(r[17], 0);
  card->Reset();
  r = Send(*card, "8042000020");
  EXPECT_EQ(r[0], 0);
  EXPECT_EQ(r[1], 0);
  // Power cycle clears too.
  EXPECT_EQ(SwOf(Send(*card, "80400000020304")), 0x9000);
  card->PowerOff();
  card->PowerOn();
  r = Send(*card, "8042000020");
  EXPECT_EQ(r[0], 0);
  EXPECT_EQ(r[16], 0);
}

TEST(Runtime_Transient, DeselectClearWaitsUntilNoChannelHoldsTheApplet) {
  auto card = MakeTestCard();
  EXPECT_EQ(ToHex(Send(*card, "0070000001")), "019000");  // A on channels 0 and 1
  EXPECT_EQ(SwOf(Send(*card, "80400000010A")), 0x9000);
  EXPECT_EQ(SwOf(Send(*card, "01A4040C07A0000005710201")), 0x9000);  // channel 1 → B
  Bytes r = Send(*card, "8042000020");
  EXPECT_EQ(r[16], 0x0A) << "A is still selected on channel 0";
}

}  // namespace
}  // namespace dmcard

namespace dmcard {
namespace {

// An applet whose Install() fails (e.g. memory full) must not stay registered.
class FailingInstallApplet : public Applet {
 public:
  FailingInstallApplet() : Applet(Bytes{0xA0, 0x00, 0x00, 0x05, 0x71, 0x0F, 0x01}) {}
  const char* name() const override { return "failing"; }
  std::string store_namespace() const override { return "failing/"; }
  Sw Install(AppletContext& ctx) override {
    if (ctx.store().Put("failing/x", Bytes(10, 1)) != StoreStatus::kOk) return Sw::kMemoryFailure;
    return Sw::kNotEnoughMemory;
  }
  Sw Process(AppletContext&, const CommandApdu&, Bytes&) override { return Sw::kOk; }
};

TEST(Runtime_Select, FailedInstallLeavesNothingBehind) {
  auto card = testing::MakeTestCard();
  const size_t before = card->registry().size();
  EXPECT_EQ(card->Install(std::make_unique<FailingInstallApplet>()), Sw::kNotEnoughMemory);
  EXPECT_EQ(card->registry().size(), before);
  EXPECT_FALSE(card->store().Contains("failing/x")) << "its writes are rolled back";
  EXPECT_EQ(testing::SwOf(testing::Send(*card, "00A4040C07A0000005710F01")), 0x6A82);
}

TEST(Runtime_Select, DuplicateAidIsRefused) {
  auto card = testing::MakeTestCard();
  EXPECT_EQ(card->Install(std::make_unique<testing::ScratchApplet>(testing::kAidB)),
            Sw::kDfNameAlreadyExists);
}

}  // namespace
}  // namespace dmcard
