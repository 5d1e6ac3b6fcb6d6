// Issue 13 item 5: the host library holds 1,000 demo cards in one process. Each is the card
// `dmcard --direct` runs (DirectReader over HostedCard, RAM medium, one shared demo profile), and
// each answers with data of its own, so that cards sharing any state would fail here. Their
// memory is measured by bench/many_cards_bench.cc (BENCHMARKS.md, "Scale").
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "demo_card_apdus.h"
#include "host/demo_card.h"
#include "host/direct_reader.h"
#include "test_applets.h"

namespace dmcard {
namespace {

using testing::H;

constexpr int kCards = 1000;
// The demo card's ATR (profiles/demo/profile.json, the runtime's default T=1 ATR).
constexpr const char* kDemoAtr = "3B8C8131FE458073F201DF56646D6361726413";

// The card's answer to `command` as hex, "" with a test failure when the reader refuses it.
std::string Exchange(DirectReader& reader, const Bytes& command) {
  Bytes response;
  std::string error;
  EXPECT_TRUE(reader.Transmit(command, response, error)) << error;
  return ToHex(response);
}

std::string LangOf(int card) { return "card-" + std::to_string(card); }

TEST(Host_ManyCards, ThousandDemoCardsInOneProcessEachKeepItsOwnState) {
  const auto profile = std::make_shared<const Profile>(DemoProfile());
  const CardConfig config = DemoCardConfig();
  std::vector<std::unique_ptr<DirectReader>> cards;
  cards.reserve(kCards);
  for (int i = 0; i < kCards; ++i) {
    std::string error;
    auto reader = DirectReader::Open(profile, config, "", error);
    ASSERT_TRUE(reader) << "card " << i << ": " << error;
    cards.push_back(std::move(reader));
  }
  // Every card powered, its DM applet selected, the user's PIN (the demo profile's 1234)
  // verified, and a value of its own written where the user may (UserPrefs: Replace=@user).
  for (int i = 0; i < kCards; ++i) {
    SCOPED_TRACE("card " + std::to_string(i));
    DirectReader& card = *cards[static_cast<size_t>(i)];
    Bytes atr;
    std::string error;
    ASSERT_TRUE(card.Connect(atr, error)) << error;
    ASSERT_EQ(ToHex(atr), kDemoAtr);
    ASSERT_EQ(Exchange(card, H("00A4040C0AF0444D434152442D444D")), "9000");
    ASSERT_EQ(Exchange(card, H("002000010431323334")), "9000");
    ASSERT_EQ(Exchange(card, testing::DmReplace("./Vendor/dmcard/UserPrefs/Lang", LangOf(i))),
              "9000");
  }
  // Read back once every card is written, last first: each holds its own value, and the demo
  // profile's tree.
  for (int i = kCards - 1; i >= 0; --i) {
    SCOPED_TRACE("card " + std::to_string(i));
    DirectReader& card = *cards[static_cast<size_t>(i)];
    ASSERT_EQ(Exchange(card, testing::DmGet("./Vendor/dmcard/UserPrefs/Lang")),
              ToHex(testing::Ascii(LangOf(i))) + "9000");
    ASSERT_EQ(Exchange(card, testing::DmGet("./DevInfo/Man")),
              ToHex(testing::Ascii("dmcard")) + "9000");
  }
  // A power cycle keeps what was committed, per card.
  for (const int i : {0, kCards / 2, kCards - 1}) {
    DirectReader& card = *cards[static_cast<size_t>(i)];
    Bytes atr;
    std::string error;
    ASSERT_TRUE(card.PowerOff(error)) << error;
    ASSERT_TRUE(card.PowerOn(atr, error)) << error;
    ASSERT_EQ(Exchange(card, H("00A4040C0AF0444D434152442D444D")), "9000");
    EXPECT_EQ(Exchange(card, testing::DmGet("./Vendor/dmcard/UserPrefs/Lang")),
              ToHex(testing::Ascii(LangOf(i))) + "9000");
  }
}

}  // namespace
}  // namespace dmcard
