// The runtime's transmit path: bad APDUs, response shaping (Le, T=0/T=1, 61xx/6Cxx, GET
// RESPONSE), command chaining, extended length.
#include <gtest/gtest.h>

#include "data_table.h"
#include "runtime/atr.h"
#include "table_trace.h"
#include "test_applets.h"

namespace dmcard {
namespace {

using testing::DataOf;
using testing::H;
using testing::MakeTestCard;
using testing::Send;
using testing::SwOf;

// Every malformed input gets its status word (and nothing else) and the card keeps answering
// correctly: each row replays through the host's trace runner (table_trace.h) with the alive
// check after it — SELECT applet B, an echo.
TEST(Runtime_Card, BadApduTable) {
  const std::string file = std::string(DMCARD_TEST_DATA_DIR) + "/runtime/bad_apdus.data";
  for (const auto& row : testing::ReadTable(file, 3)) {
    SCOPED_TRACE("line " + std::to_string(row.line) + ": " + row.fields[0]);
    auto card = MakeTestCard();
    testing::TransmitReader reader([&card](ByteView c) { return card->Transmit(c); });
    testing::ExpectTracePasses(
        testing::RowTrace(file, row.line,
                          {{row.fields[1], row.fields[2]},
                           {"00A4040007A0000005710201", "6F098407A0000005710201 9000"},
                           {"8010000003010203", "010203 9000"}}),
        reader);
  }
}

TEST(Runtime_Card, NoAnswerWhenUnpowered) {
  auto card = MakeTestCard();
  card->PowerOff();
  Bytes out;
  EXPECT_FALSE(card->Transmit(H("80100000"), out));
  EXPECT_TRUE(out.empty());
  card->PowerOn();
  EXPECT_EQ(ToHex(Send(*card, "8010000001AA")), "AA9000");
}

TEST(Runtime_Card, T1ReturnsDataUpToNeThenGetResponse) {
  auto card = MakeTestCard();
  // 300 bytes available, short Le 00 (Ne 256): 256 bytes + 61 2C, then GET RESPONSE.
  Bytes r = Send(*card, "8012012C00");
  ASSERT_EQ(r.size(), 258u);
  EXPECT_EQ(SwOf(r), 0x612C);
  EXPECT_EQ(r[255], 0xFF);
  Bytes g = Send(*card, "00C000002C");
  ASSERT_EQ(g.size(), 46u);
  EXPECT_EQ(SwOf(g), 0x9000);
  EXPECT_EQ(g[0], 0x00);  // byte 256 of the pattern
  EXPECT_EQ(g[43], 43);
  // Ne larger than available in T=1: just the data.
  EXPECT_EQ(ToHex(Send(*card, "8012000310")), "0001029000");
  // Smaller chunks: 10 bytes with Le 4.
  Bytes a = Send(*card, "8012000A04");
  EXPECT_EQ(ToHex(a),
            "00010203"
            "6106");
  EXPECT_EQ(ToHex(Send(*card, "00C0000004")),
            "04050607"
            "6102");
  EXPECT_EQ(ToHex(Send(*card, "00C0000010")),
            "0809"
            "9000");
  // Nothing left.
  EXPECT_EQ(SwOf(Send(*card, "00C0000010")), 0x6985);
}

TEST(Runtime_Card, ExtendedLeReturnsEverything) {
  auto card = MakeTestCard();
  Bytes r = Send(*card, "80120400000000");  // P1P2 = 0400 → 1024 bytes, Le 0000 → 65536
  ASSERT_EQ(r.size(), 1026u);
  EXPECT_EQ(SwOf(r), 0x9000);
  EXPECT_EQ(r[1023], 0xFF);
  Bytes echo = H("801000000001F4");
  echo.resize(echo.size() + 500, 0x42);
  echo.push_back(0x01);
  echo.push_back(0xF4);
  Bytes e = card->Transmit(echo);
  ASSERT_EQ(e.size(), 502u);
  EXPECT_EQ(SwOf(e), 0x9000);
  EXPECT_EQ(e[499], 0x42);
}

TEST(Runtime_Card, T1WithoutLeReturnsDataAsForLe00) {
  auto card = MakeTestCard();
  EXPECT_EQ(ToHex(Send(*card, "8010000002CAFE")), "CAFE9000");
  Bytes r = Send(*card, "8012012C");  // 300 bytes, no Le: 256 now, 44 through GET RESPONSE
  EXPECT_EQ(r.size(), 258u);
  EXPECT_EQ(SwOf(r), 0x612C);
}

TEST(Runtime_Card, T0WithoutLeAnnouncesData) {
  testing::TestCardOptions o;
  o.config.protocol = Protocol::kT0;
  auto card = MakeTestCard(o);
  EXPECT_EQ(ToHex(Send(*card, "80120002")), "6102");
  EXPECT_EQ(ToHex(Send(*card, "00C0000002")), "00019000");
}

TEST(Runtime_Card, GetResponseIsDroppedByAnyOtherCommand) {
  auto card = MakeTestCard();
  EXPECT_EQ(SwOf(Send(*card, "8012000A04")), 0x6106);
  EXPECT_EQ(SwOf(Send(*card, "8010000001AA00")), 0x9000);
  EXPECT_EQ(SwOf(Send(*card, "00C0000006")), 0x6985);
}

TEST(Runtime_Card, T0Case4AlwaysThroughGetResponse) {
  testing::TestCardOptions o;
  o.config.protocol = Protocol::kT0;
  auto card = MakeTestCard(o);
  EXPECT_EQ(ToHex(Send(*card, "8010000003010203")), "6103");
  EXPECT_EQ(ToHex(Send(*card, "00C0000003")), "0102039000");
  // The SELECT (case 4) answers 61xx too.
  Bytes sel = Send(*card, "00A4040007A0000005710201");
  EXPECT_EQ(ToHex(sel), "610B");
  EXPECT_EQ(ToHex(Send(*card, "00C000000B")),
            "6F098407A0000005710201"
            "9000");
}

TEST(Runtime_Card, T0WrongLeAnswers6Cxx) {
  testing::TestCardOptions o;
  o.config.protocol = Protocol::kT0;
  auto card = MakeTestCard(o);
  // 5 bytes available, P3 = 0x10: 6C05, then the resent command with P3 = 05 succeeds.
  EXPECT_EQ(ToHex(Send(*card, "8012000510")), "6C05");
  EXPECT_EQ(ToHex(Send(*card, "8012000505")), "00010203049000");
  // GET RESPONSE with a too-large P3: 6Cxx with the remaining length, data still pending.
  EXPECT_EQ(ToHex(Send(*card, "8010000003010203")), "6103");
  EXPECT_EQ(ToHex(Send(*card, "00C0000008")), "6C03");
  EXPECT_EQ(ToHex(Send(*card, "00C0000003")), "0102039000");
  // Le 00 with more than 256 bytes: 256 bytes and 61xx.
  Bytes r = Send(*card, "8012012C00");
  EXPECT_EQ(r.size(), 258u);
  EXPECT_EQ(SwOf(r), 0x612C);
}

TEST(Runtime_Card, DefaultAtrDeclaresProtocolAndExtendedLength) {
  auto card = MakeTestCard();
  auto info = ParseAtr(card->atr());
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->t1);
  EXPECT_FALSE(info->t0);
  EXPECT_TRUE(info->tck_ok);
  ASSERT_TRUE(info->card_capabilities_3);
  EXPECT_TRUE(*info->card_capabilities_3 & 0x40) << "extended Lc/Le";
  EXPECT_TRUE(*info->card_capabilities_3 & 0x80) << "command chaining";

  testing::TestCardOptions o;
  o.config.protocol = Protocol::kT0;
  o.config.extended_length = false;
  auto t0 = MakeTestCard(o);
  auto info0 = ParseAtr(t0->atr());
  ASSERT_TRUE(info0);
  EXPECT_TRUE(info0->t0);
  EXPECT_FALSE(info0->t1);
  EXPECT_FALSE(*info0->card_capabilities_3 & 0x40);
  // And the card then rejects extended APDUs.
  EXPECT_EQ(SwOf(Send(*t0, "80120000000010")), 0x6700);
}

TEST(Runtime_Card, AtrIsConfiguration) {
  testing::TestCardOptions o;
  o.config.atr = H("3B 02 14 50");
  auto card = MakeTestCard(o);
  EXPECT_EQ(ToHex(card->atr()), "3B021450");
  EXPECT_EQ(ToHex(card->Reset()), "3B021450");
}

TEST(Runtime_Card, CommandChainingAssemblesData) {
  auto card = MakeTestCard();
  // Three commands: CLA 90 (chaining bit) twice, then CLA 80.
  EXPECT_EQ(ToHex(Send(*card, "9010000002AABB")), "9000");
  EXPECT_EQ(ToHex(Send(*card, "9010000002CCDD")), "9000");
  EXPECT_EQ(ToHex(Send(*card, "8010000001EE00")), "AABBCCDDEE9000");
}

TEST(Runtime_Card, ChainingLongerThanShortApdu) {
  auto card = MakeTestCard();
  Bytes part = H("90100000FF");
  part.resize(5 + 255, 0x11);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(SwOf(card->Transmit(part)), 0x9000);
  Bytes last = H("801000000122");
  last.push_back(0x00);  // Le 00: 256 → first 256 bytes and 61xx
  Bytes r = card->Transmit(last);
  EXPECT_EQ(r.size(), 258u);
  EXPECT_EQ(SwOf(r), 0x6100) << "510 bytes remain: SW2 00 means 256 or more";
  // Fetch the rest in 256-byte pieces.
  size_t total = 256;
  for (;;) {
    Bytes g = Send(*card, "00C0000000");
    total += g.size() - 2;
    if (SwOf(g) == 0x9000) {
      EXPECT_EQ(g[g.size() - 3], 0x22);
      break;
    }
    ASSERT_EQ(SwOf(g) >> 8, 0x61);
  }
  EXPECT_EQ(total, 3u * 255 + 1);
}

TEST(Runtime_Card, ChainInterruptedByOtherCommand) {
  auto card = MakeTestCard();
  EXPECT_EQ(SwOf(Send(*card, "9010000002AABB")), 0x9000);
  EXPECT_EQ(SwOf(Send(*card, "8012000004")), 0x6883);
  // The chain is gone: the next ECHO stands alone.
  EXPECT_EQ(ToHex(Send(*card, "8010000001EE00")), "EE9000");
}

TEST(Runtime_Card, ChainedDataLimit) {
  testing::TestCardOptions o;
  o.config.max_chained_data = 300;
  auto card = MakeTestCard(o);
  Bytes part = H("90100000FF");
  part.resize(5 + 255, 0x11);
  EXPECT_EQ(SwOf(card->Transmit(part)), 0x9000);
  EXPECT_EQ(SwOf(card->Transmit(part)), 0x6700);
  EXPECT_EQ(ToHex(Send(*card, "8010000001EE00")), "EE9000");
}

// Issue 7: GET RESPONSE cannot be chained (apdu-specs/runtime.json, ISO 7816-4 §5.1.1.1): with
// the chaining bit it answers 6884 and returns nothing; like any command other than a served
// GET RESPONSE it drops the pending data.
TEST(Runtime_Card, GetResponseWithChainingBitAnswers6884) {
  auto card = MakeTestCard();
  EXPECT_EQ(ToHex(Send(*card, "8012000A04")), "000102036106");
  EXPECT_EQ(ToHex(Send(*card, "10C0000006")), "6884");
  EXPECT_EQ(ToHex(Send(*card, "00C0000006")), "6985");
  // Nothing pending: still 6884, and no chain was started by it.
  EXPECT_EQ(ToHex(Send(*card, "10C0000000")), "6884");
  EXPECT_EQ(ToHex(Send(*card, "8010000001EE00")), "EE9000");
  // Further interindustry CLA (channel 4 and up, b5 = chaining) too.
  EXPECT_EQ(ToHex(Send(*card, "00700004")), "9000");
  EXPECT_EQ(ToHex(Send(*card, "C012000A04")), "000102036106");
  EXPECT_EQ(ToHex(Send(*card, "50C0000006")), "6884");
  EXPECT_EQ(ToHex(Send(*card, "40C0000006")), "6985");
}

// Issue 7: each logical channel keeps its own pending response (ISO 7816-4: channels work
// independently), so two clients on their own channels can interleave 61xx sequences.
TEST(Runtime_Card, PendingResponseIsPerLogicalChannel) {
  auto card = MakeTestCard();
  ASSERT_EQ(ToHex(Send(*card, "0070000001")), "019000");
  ASSERT_EQ(ToHex(Send(*card, "0070000001")), "029000");
  // GENERATE 10 bytes with Le 4 on channels 0 and 1, 8 bytes with Le 2 on channel 2.
  EXPECT_EQ(ToHex(Send(*card, "8012000A04")), "000102036106");
  EXPECT_EQ(ToHex(Send(*card, "8112000A04")), "000102036106");
  EXPECT_EQ(ToHex(Send(*card, "8212000802")), "00016106");
  // Another command on channel 2 drops only channel 2's data.
  EXPECT_EQ(ToHex(Send(*card, "8210000001AA00")), "AA9000");
  EXPECT_EQ(ToHex(Send(*card, "02C0000006")), "6985");
  // Channels 0 and 1 fetch their own rest, in either order and in pieces.
  EXPECT_EQ(ToHex(Send(*card, "01C0000002")), "04056104");
  EXPECT_EQ(ToHex(Send(*card, "00C0000006")), "0405060708099000");
  EXPECT_EQ(ToHex(Send(*card, "01C0000004")), "060708099000");
  EXPECT_EQ(ToHex(Send(*card, "00C0000001")), "6985");
  EXPECT_EQ(ToHex(Send(*card, "01C0000001")), "6985");
}

TEST(Runtime_Card, ClosingOrResettingDropsAChannelsPendingResponse) {
  auto card = MakeTestCard();
  ASSERT_EQ(ToHex(Send(*card, "0070000001")), "019000");
  EXPECT_EQ(SwOf(Send(*card, "8112000A04")), 0x6106);
  EXPECT_EQ(SwOf(Send(*card, "8012000A04")), 0x6106);
  // Channel 1 closes itself: the basic channel's data stays, channel 1's goes.
  EXPECT_EQ(ToHex(Send(*card, "01708000")), "9000");
  EXPECT_EQ(ToHex(Send(*card, "00C0000006")), "0405060708099000");
  EXPECT_EQ(ToHex(Send(*card, "00700001")), "9000");
  EXPECT_EQ(ToHex(Send(*card, "01C0000006")), "6985");
  // A reset drops everything.
  EXPECT_EQ(SwOf(Send(*card, "8012000A04")), 0x6106);
  card->Reset();
  EXPECT_EQ(ToHex(Send(*card, "00C0000006")), "6985");
}

TEST(Runtime_Card, MalformedApduDropsOnlyItsChannelsState) {
  auto card = MakeTestCard();
  ASSERT_EQ(ToHex(Send(*card, "0070000001")), "019000");
  EXPECT_EQ(SwOf(Send(*card, "8012000A04")), 0x6106);
  EXPECT_EQ(SwOf(Send(*card, "8112000A04")), 0x6106);
  // Lc 05 with one data byte on channel 1: 6700, channel 1's pending data is dropped.
  EXPECT_EQ(ToHex(Send(*card, "8110000005AA")), "6700");
  EXPECT_EQ(ToHex(Send(*card, "01C0000006")), "6985");
  // Too short to name a channel, or an invalid CLA: no channel's state is touched.
  EXPECT_EQ(ToHex(Send(*card, "8012")), "6700");
  EXPECT_EQ(ToHex(Send(*card, "FF120000")), "6E00");
  EXPECT_EQ(ToHex(Send(*card, "00C0000006")), "0405060708099000");
}

// Chaining state is per channel too: a chain on one channel is not broken by commands on
// another (a client chaining on its own channel must not have its command data cut short).
TEST(Runtime_Card, CommandChainingIsPerLogicalChannel) {
  auto card = MakeTestCard();
  ASSERT_EQ(ToHex(Send(*card, "0070000001")), "019000");
  EXPECT_EQ(ToHex(Send(*card, "9010000002AABB")), "9000");
  EXPECT_EQ(ToHex(Send(*card, "9110000002CCDD")), "9000");
  // Another command on channel 1 breaks channel 1's chain only.
  EXPECT_EQ(ToHex(Send(*card, "8112000204")), "6883");
  EXPECT_EQ(ToHex(Send(*card, "9110000001EE")), "9000") << "a new chain on channel 1";
  // Commands for a closed channel disturb nobody.
  EXPECT_EQ(ToHex(Send(*card, "8210000001AA")), "6881");
  EXPECT_EQ(ToHex(Send(*card, "8010000001FF00")), "AABBFF9000");
  EXPECT_EQ(ToHex(Send(*card, "811000000111")), "EE119000");
}

// Issue 7 item 1, in-process: a card whose transport carries at most 65533 data bytes (vpcd)
// answers GENERATE of 65535 bytes with extended Le 0000 with 65533 bytes + 6102, and a client
// on another channel meanwhile gets exactly its own answers.
TEST(Runtime_Card, ResponsesFitTheTransportAndChannelsStayApart) {
  testing::TestCardOptions o;
  o.config.max_response_data = 65533;
  auto card = MakeTestCard(o);
  ASSERT_EQ(ToHex(Send(*card, "0070000001")), "019000");
  Bytes r = Send(*card, "8012FFFF000000");
  ASSERT_EQ(r.size(), 65535u);
  EXPECT_EQ(SwOf(r), 0x6102);
  EXPECT_EQ(r[65532], static_cast<uint8_t>(65532));
  EXPECT_EQ(ToHex(Send(*card, "01A4040007A000000571020100")), "6F098407A00000057102019000");
  EXPECT_EQ(ToHex(Send(*card, "00C00000000000")), "FDFE9000");
  EXPECT_EQ(ToHex(Send(*card, "811000000301020300")), "0102039000");
  // The default configuration has no transport limit below ISO's Ne maximum.
  auto plain = MakeTestCard();
  EXPECT_EQ(plain->Transmit(H("8012FFFF000000")).size(), 65537u);
}

TEST(Runtime_Card, ErrorStatusCarriesNoData) {
  auto card = MakeTestCard();
  // WRITE-THEN-FAIL answers 6A80: no data, and its write is rolled back.
  EXPECT_EQ(ToHex(Send(*card, "8030000002ABCD")), "6A80");
  EXPECT_FALSE(card->store().Contains("a/fail"));
}

}  // namespace
}  // namespace dmcard
