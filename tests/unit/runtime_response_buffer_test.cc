// ResponseBuffer on its own: shaping an applet's answer by Ne and protocol (ISO 7816-3 §10.3,
// ISO 7816-4 §5.3.4) and GET RESPONSE (ISO 7816-4 §11.6.1), without a card around it.
#include "runtime/response_buffer.h"

#include <gtest/gtest.h>

#include "test_applets.h"

namespace dmcard {
namespace {

using testing::H;
using testing::SwOf;

// Parses a C-APDU kept alive in `raw`.
CommandApdu Cmd(const Bytes& raw) {
  ParsedApdu p = ParseCommand(raw, true);
  EXPECT_EQ(p.error, Sw::kOk) << ToHex(raw);
  return p.command;
}

// n bytes, byte i = i & FF.
Bytes Pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i);
  return b;
}

CardConfig T1() { return CardConfig{}; }
CardConfig T0() {
  CardConfig c;
  c.protocol = Protocol::kT0;
  return c;
}

TEST(Runtime_ResponseBuffer, DataWithinNeIsReturnedWhole) {
  ResponseBuffer rb;
  const Bytes raw = H("8012000010");  // Le 10: Ne 16
  Bytes data = Pattern(3), out;
  rb.Answer(T1(), Cmd(raw), Sw::kOk, data, out);
  EXPECT_EQ(ToHex(out), "0001029000");
  EXPECT_FALSE(rb.pending());
}

TEST(Runtime_ResponseBuffer, T1MoreThanNeKeepsTheRestFor61xx) {
  ResponseBuffer rb;
  const Bytes raw = H("8012000004");  // Ne 4, 10 bytes available
  Bytes data = Pattern(10), out;
  rb.Answer(T1(), Cmd(raw), Sw::kOk, data, out);
  EXPECT_EQ(ToHex(out), "000102036106");
  ASSERT_TRUE(rb.pending());
  const Bytes g1 = H("00C0000004"), g2 = H("00C0000010");
  rb.GetResponse(T1(), Cmd(g1), out);
  EXPECT_EQ(ToHex(out), "040506076102");
  rb.GetResponse(T1(), Cmd(g2), out);
  EXPECT_EQ(ToHex(out), "08099000");
  EXPECT_FALSE(rb.pending());
  rb.GetResponse(T1(), Cmd(g2), out);
  EXPECT_EQ(ToHex(out), "6985");
}

TEST(Runtime_ResponseBuffer, WarningIsAnsweredWithTheLastPart) {
  ResponseBuffer rb;
  const Bytes raw = H("8012000002");
  Bytes data = Pattern(3), out;
  rb.Answer(T1(), Cmd(raw), Sw::kEndOfFileReached, data, out);
  EXPECT_EQ(ToHex(out), "00016101");
  const Bytes g = H("00C0000001");
  rb.GetResponse(T1(), Cmd(g), out);
  EXPECT_EQ(ToHex(out), "026282");
}

TEST(Runtime_ResponseBuffer, ErrorCarriesNoData) {
  ResponseBuffer rb;
  const Bytes raw = H("8012000004");
  Bytes data = Pattern(10), out;
  rb.Answer(T1(), Cmd(raw), Sw::kWrongData, data, out);
  EXPECT_EQ(ToHex(out), "6A80");
  EXPECT_FALSE(rb.pending());
}

TEST(Runtime_ResponseBuffer, MoreThan255RemainingIsAnnounced6100) {
  // ISO 7816-4 §5.3.4: SW2 of 61xx counts the bytes still available; 00 stands for 256 or more.
  ResponseBuffer rb;
  const Bytes raw = H("8012000001");
  Bytes data = Pattern(600), out;
  rb.Answer(T1(), Cmd(raw), Sw::kOk, data, out);
  EXPECT_EQ(ToHex(out), "006100");
  const Bytes g = H("00C0000000");  // Ne 256
  rb.GetResponse(T1(), Cmd(g), out);
  EXPECT_EQ(out.size(), 258u);
  EXPECT_EQ(SwOf(out), 0x6100) << "343 remain";
  rb.GetResponse(T1(), Cmd(g), out);
  EXPECT_EQ(SwOf(out), 0x6157) << "87 remain";
  rb.GetResponse(T1(), Cmd(g), out);
  ASSERT_EQ(out.size(), 89u);
  EXPECT_EQ(SwOf(out), 0x9000);
  EXPECT_EQ(out[86], static_cast<uint8_t>(599));
}

TEST(Runtime_ResponseBuffer, T0Case4AndWrongLe) {
  ResponseBuffer rb;
  // T=0 case 4: always announced with 61xx.
  const Bytes case4 = H("8010000003010203");
  Bytes data = H("010203"), out;
  rb.Answer(T0(), Cmd(case4), Sw::kOk, data, out);
  EXPECT_EQ(ToHex(out), "6103");
  // GET RESPONSE asking for more than remains: 6Cxx with what remains, data still pending.
  const Bytes too_many = H("00C0000005"), exact = H("00C0000003");
  rb.GetResponse(T0(), Cmd(too_many), out);
  EXPECT_EQ(ToHex(out), "6C03");
  rb.GetResponse(T0(), Cmd(exact), out);
  EXPECT_EQ(ToHex(out), "0102039000");
  // T=0 case 2 with Ne above Na: 6Cxx, nothing pending.
  const Bytes case2 = H("8012000010");
  data = Pattern(3);
  rb.Answer(T0(), Cmd(case2), Sw::kOk, data, out);
  EXPECT_EQ(ToHex(out), "6C03");
  EXPECT_FALSE(rb.pending());
}

TEST(Runtime_ResponseBuffer, GetResponseWithWrongP1P2DropsThePendingData) {
  ResponseBuffer rb;
  const Bytes raw = H("8012000001");
  Bytes data = Pattern(3), out;
  rb.Answer(T1(), Cmd(raw), Sw::kOk, data, out);
  const Bytes bad = H("00C0010002"), good = H("00C0000002");
  rb.GetResponse(T1(), Cmd(bad), out);
  EXPECT_EQ(ToHex(out), "6A86");
  rb.GetResponse(T1(), Cmd(good), out);
  EXPECT_EQ(ToHex(out), "6985");
}

TEST(Runtime_ResponseBuffer, DropForgetsThePendingData) {
  ResponseBuffer rb;
  const Bytes raw = H("8012000001");
  Bytes data = Pattern(3), out;
  rb.Answer(T1(), Cmd(raw), Sw::kOk, data, out);
  rb.Drop();
  const Bytes g = H("00C0000002");
  rb.GetResponse(T1(), Cmd(g), out);
  EXPECT_EQ(ToHex(out), "6985");
}

}  // namespace
}  // namespace dmcard
