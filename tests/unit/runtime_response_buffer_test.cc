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

// Issue 7 item 1: no R-APDU carries more than max_response_data bytes of data, whatever Ne.
TEST(Runtime_ResponseBuffer, NoResponseCarriesMoreThanMaxResponseData) {
  CardConfig vpcd;
  vpcd.max_response_data = 65533;  // a 65535-byte vpcd frame minus SW1 SW2
  ResponseBuffer rb;
  for (const char* hex : {"80120000000000", "8012000000FFFF", "8012000000FFFE"}) {
    SCOPED_TRACE(hex);
    const Bytes raw = H(hex);  // extended Le 0000 (Ne 65536), FFFF, FFFE; 65535 bytes available
    Bytes data = Pattern(65535), out;
    rb.Answer(vpcd, Cmd(raw), Sw::kOk, data, out);
    ASSERT_EQ(out.size(), 65533u + 2);
    EXPECT_EQ(SwOf(out), 0x6102) << "2 bytes remain";
    EXPECT_EQ(out[65532], static_cast<uint8_t>(65532));
    const Bytes g = H("00C00000000000");  // GET RESPONSE, extended Le 0000
    rb.GetResponse(vpcd, Cmd(g), out);
    EXPECT_EQ(ToHex(out), "FDFE9000");
  }
  // Exactly the limit fits in one R-APDU.
  const Bytes raw = H("80120000000000");
  Bytes data = Pattern(65533), out;
  rb.Answer(vpcd, Cmd(raw), Sw::kOk, data, out);
  EXPECT_EQ(out.size(), 65533u + 2);
  EXPECT_EQ(SwOf(out), 0x9000);
  // Without a transport limit (default 65536), Ne 65536 returns everything at once.
  data = Pattern(65535);
  rb.Answer(CardConfig{}, Cmd(raw), Sw::kOk, data, out);
  EXPECT_EQ(out.size(), 65535u + 2);
  EXPECT_EQ(SwOf(out), 0x9000);
}

TEST(Runtime_ResponseBuffer, GetResponseIsCappedToo) {
  CardConfig small;
  small.max_response_data = 100;
  ResponseBuffer rb;
  const Bytes raw = H("8012000000012C");  // 300 bytes available, extended Le 012C (Ne 300)
  Bytes data = Pattern(300), out;
  rb.Answer(small, Cmd(raw), Sw::kOk, data, out);
  EXPECT_EQ(out.size(), 102u);
  EXPECT_EQ(SwOf(out), 0x61C8) << "200 remain";
  const Bytes g = H("00C00000000000");
  rb.GetResponse(small, Cmd(g), out);
  EXPECT_EQ(out.size(), 102u);
  EXPECT_EQ(out[0], 100);
  EXPECT_EQ(SwOf(out), 0x6164) << "100 remain";
  rb.GetResponse(small, Cmd(g), out);
  EXPECT_EQ(out.size(), 102u);
  EXPECT_EQ(out[99], static_cast<uint8_t>(299));
  EXPECT_EQ(SwOf(out), 0x9000);
  // Under T=0 the limit applies the same way.
  CardConfig t0 = small;
  t0.protocol = Protocol::kT0;
  const Bytes case2 = H("8012000000");  // Ne 256
  data = Pattern(300);
  rb.Answer(t0, Cmd(case2), Sw::kOk, data, out);
  EXPECT_EQ(out.size(), 102u);
  EXPECT_EQ(SwOf(out), 0x61C8);
}

TEST(Runtime_ResponseBuffer, ALimitOfZeroStillMakesProgress) {
  CardConfig zero;
  zero.max_response_data = 0;  // out of range: one byte per R-APDU, never none
  ResponseBuffer rb;
  const Bytes raw = H("8012000000");
  Bytes data = Pattern(2), out;
  rb.Answer(zero, Cmd(raw), Sw::kOk, data, out);
  EXPECT_EQ(ToHex(out), "006101");
  const Bytes g = H("00C0000000");
  rb.GetResponse(zero, Cmd(g), out);
  EXPECT_EQ(ToHex(out), "019000");
}

}  // namespace
}  // namespace dmcard
