// ISO 7816-4 §5.1 APDU parsing and §5.4.1 class byte decoding.
#include <gtest/gtest.h>

#include "runtime/apdu.h"
#include "test_applets.h"

namespace dmcard {
namespace {

using testing::H;

TEST(Runtime_Apdu, ParsesEveryCase) {
  struct Case {
    const char* hex;
    ApduCase apdu_case;
    size_t nc;
    uint32_t ne;
  };
  const Case cases[] = {
      {"00A40400", ApduCase::k1, 0, 0},
      {"00B0000010", ApduCase::k2S, 0, 16},
      {"00B0000000", ApduCase::k2S, 0, 256},
      {"00D6000002AABB", ApduCase::k3S, 2, 0},
      {"00A4040002AABB00", ApduCase::k4S, 2, 256},
      {"00A4040002AABB05", ApduCase::k4S, 2, 5},
      {"00B0000000012C", ApduCase::k2E, 0, 300},
      {"00B00000000000", ApduCase::k2E, 0, 65536},
      {"00D60000000002AABB", ApduCase::k3E, 2, 0},
      {"00A40400000002AABB0000", ApduCase::k4E, 2, 65536},
      {"00A40400000002AABB0102", ApduCase::k4E, 2, 258},
  };
  for (const Case& c : cases) {
    Bytes raw = H(c.hex);
    ParsedApdu p = ParseCommand(raw, true);
    ASSERT_EQ(p.error, Sw::kOk) << c.hex;
    EXPECT_EQ(p.command.apdu_case, c.apdu_case) << c.hex;
    EXPECT_EQ(p.command.data.size(), c.nc) << c.hex;
    EXPECT_EQ(p.command.ne, c.ne) << c.hex;
  }
}

TEST(Runtime_Apdu, ExtendedFieldsRejectedWhenDisabled) {
  Bytes raw = H("00B0000000012C");
  EXPECT_EQ(ParseCommand(raw, false).error, Sw::kWrongLength);
  Bytes short_ok = H("00B000002C");
  EXPECT_EQ(ParseCommand(short_ok, false).error, Sw::kOk);
}

TEST(Runtime_Apdu, ExtendedDataOfMaximumLength) {
  Bytes raw =
      H("80100000"
        "00FFFF");
  raw.resize(raw.size() + 0xFFFF, 0x5A);
  raw.push_back(0x00);
  raw.push_back(0x00);
  ParsedApdu p = ParseCommand(raw, true);
  ASSERT_EQ(p.error, Sw::kOk);
  EXPECT_EQ(p.command.data.size(), 0xFFFFu);
  EXPECT_EQ(p.command.ne, 65536u);
}

TEST(Runtime_Apdu, DecodesFirstAndFurtherInterindustryClasses) {
  for (uint8_t ch = 0; ch < 4; ++ch) {
    auto c = DecodeClass(ch);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->channel, ch);
    EXPECT_TRUE(c->interindustry);
    EXPECT_FALSE(c->chaining);
  }
  for (uint8_t ch = 4; ch < 20; ++ch) {
    const uint8_t cla = static_cast<uint8_t>(0x40 + ch - 4);
    auto c = DecodeClass(cla);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->channel, ch);
    EXPECT_EQ(EncodeClass(0x00, ch), cla);
  }
  auto chained = DecodeClass(0x13);
  ASSERT_TRUE(chained);
  EXPECT_TRUE(chained->chaining);
  EXPECT_EQ(chained->channel, 3);
  auto further_chained = DecodeClass(0x5F);
  ASSERT_TRUE(further_chained);
  EXPECT_TRUE(further_chained->chaining);
  EXPECT_EQ(further_chained->channel, 19);
  auto sm = DecodeClass(0x0C);
  ASSERT_TRUE(sm);
  EXPECT_TRUE(sm->secure_messaging);
  auto prop = DecodeClass(0x81);
  ASSERT_TRUE(prop);
  EXPECT_FALSE(prop->interindustry);
  EXPECT_EQ(prop->channel, 1);
  EXPECT_EQ(EncodeClass(0x80, 5), 0xC1);
  EXPECT_FALSE(DecodeClass(0xFF));
  EXPECT_FALSE(DecodeClass(0x20));
  EXPECT_FALSE(DecodeClass(0xBF));
}

}  // namespace
}  // namespace dmcard
