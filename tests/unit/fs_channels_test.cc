// ISO 7816-4 §5.4.1 on the demo card's file system: a channel opened from a non-basic channel
// starts at that channel's current DF; one opened from the basic channel starts at the MF.
#include <gtest/gtest.h>

#include "host/demo_card.h"
#include "test_applets.h"

namespace dmcard {
namespace {

using testing::H;
using testing::SwOf;

TEST(Runtime_FileSystemChannels, OpenedFromAnotherStartsAtItsCurrentDf) {
  std::string error;
  const uint8_t seed[16] = {4};
  auto card =
      MakeDemoCard(DemoCardConfig(),
                   Platform{std::make_shared<RamMedium>(), crypto::Drbg::FromSeed(seed)}, error);
  ASSERT_TRUE(card) << error;
  card->PowerOn();
  EXPECT_EQ(ToHex(card->Transmit(H("0070000001"))), "019000");
  EXPECT_EQ(SwOf(card->Transmit(H("01A4000C025000"))), 0x9000);  // channel 1 → DF 5000
  EXPECT_EQ(ToHex(card->Transmit(H("0170000001"))), "029000");   // opened from channel 1
  // SFI 1 is EF 5001 in DF 5000: found on channel 2 without any SELECT.
  EXPECT_EQ(ToHex(card->Transmit(H("02B0810004"))), "000102039000");
  EXPECT_EQ(ToHex(card->Transmit(H("0070000001"))), "039000");  // opened from the basic channel
  EXPECT_EQ(SwOf(card->Transmit(H("03B0810004"))), 0x6A82) << "at the MF there is no SFI 1";
  // The channels stay independent afterwards.
  EXPECT_EQ(SwOf(card->Transmit(H("02A4000C023F00"))), 0x9000);
  EXPECT_EQ(ToHex(card->Transmit(H("01B0810004"))), "000102039000");
}

}  // namespace
}  // namespace dmcard
