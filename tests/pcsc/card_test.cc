// The demo card through pcscd + vpcd: ATR, SELECT, READ/UPDATE BINARY, T=1 and T=0 response
// shaping, extended APDUs, command chaining, 1-byte C-APDUs.
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "pcsc_fixture.h"

namespace dmcard::pcsctest {
namespace {

// Bytes `offset` .. `offset + n - 1` of the initial EF 5001 (byte i = i & FF).
Bytes Ef5001(size_t offset, size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>((offset + i) & 0xFF);
  return b;
}

Bytes Concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

using Pcsc_Card = PcscTest;
using Pcsc_T0 = PcscTest;

TEST_F(Pcsc_Card, ConnectReportsReaderNameAndAtr) {
  StartVicc();
  Context ctx;
  auto readers = ctx.Readers();
  ASSERT_FALSE(readers.empty());
  EXPECT_EQ(readers.front(), "Virtual PCD 00 00");
  CardHandle card(ctx, "Virtual PCD 00 00");
  EXPECT_EQ(card.protocol(), static_cast<DWORD>(SCARD_PROTOCOL_T1));
  CardStatus st = card.Status();
  EXPECT_EQ(st.reader, "Virtual PCD 00 00");
  EXPECT_EQ(ToHex(st.atr), kAtrT1);
  EXPECT_EQ(st.protocol, static_cast<DWORD>(SCARD_PROTOCOL_T1));
  // The ATR pcscd reports without a connection is the same.
  SCARD_READERSTATE rs{};
  rs.szReader = "Virtual PCD 00 00";
  rs.dwCurrentState = SCARD_STATE_UNAWARE;
  Check(SCardGetStatusChange(ctx.get(), 0, &rs, 1), "SCardGetStatusChange");
  EXPECT_EQ(ToHex(Bytes(rs.rgbAtr, rs.rgbAtr + rs.cbAtr)), kAtrT1);
  // A T=1 card refuses a T=0-only connection.
  SCARDHANDLE h;
  DWORD proto;
  EXPECT_EQ(PcscError(SCardConnect(ctx.get(), "Virtual PCD 00 00", SCARD_SHARE_SHARED,
                                   SCARD_PROTOCOL_T0, &h, &proto)),
            PcscError(SCARD_E_PROTO_MISMATCH));
}

TEST_F(Pcsc_Card, SelectApplicationAndReadBinary) {
  StartVicc();
  Context ctx;
  CardHandle card(ctx, ReaderName(0), SCARD_PROTOCOL_T1);
  EXPECT_EQ(ToHex(card.Transmit(kSelectFsApplet)), std::string(kFsAppletFci) + "9000");
  EXPECT_EQ(ToHex(card.Transmit(kSelectEf5001)), "9000");
  EXPECT_EQ(ToHex(card.Transmit("00B0000000")), ToHex(Ef5001(0, 256)) + "9000");
  EXPECT_EQ(ToHex(card.Transmit("00B001F010")), ToHex(Ef5001(0x1F0, 16)) + "9000");
  // Past the end: what is there + 6282; beyond: 6B00.
  EXPECT_EQ(ToHex(card.Transmit("00B001F820")), ToHex(Ef5001(0x1F8, 8)) + "6282");
  EXPECT_EQ(ToHex(card.Transmit("00B0020001")), "6B00");
  // Errors come back as status words, not as PC/SC errors.
  EXPECT_EQ(ToHex(card.Transmit("00A4040C07A0000005719999")), "6A82");
  EXPECT_EQ(ToHex(card.Transmit("00EE0000")), "6D00");
}

TEST_F(Pcsc_Card, T1LongResponseInOneTransmit) {
  StartVicc();
  Context ctx;
  CardHandle card(ctx, ReaderName(0), SCARD_PROTOCOL_T1);
  ASSERT_EQ(ToHex(card.Transmit(kSelectEf5001)), "9000");
  // 256 bytes (Le 00) from offset 0x100 in a single exchange: no 61xx.
  Bytes r = card.Transmit("00B0010000");
  ASSERT_EQ(r.size(), 258u) << ToHex(r);
  EXPECT_EQ(ToHex(r), ToHex(Ef5001(0x100, 256)) + "9000");
  // Le 05 on the SELECT: 5 bytes now, the rest through GET RESPONSE (T=1 too).
  EXPECT_EQ(ToHex(card.Transmit("00A4040009F0444D43415244465305")), "6F1C8201386119");
  EXPECT_EQ(ToHex(card.Transmit("00C0000019")), std::string(kFsAppletFci).substr(10) + "9000");
}

TEST_F(Pcsc_Card, ExtendedLengthApdus) {
  StartVicc();
  Context ctx;
  CardHandle card(ctx, ReaderName(0), SCARD_PROTOCOL_T1);
  ASSERT_EQ(ToHex(card.Transmit(kSelectEf5001)), "9000");
  // Extended Le 0200: the whole 512-byte EF in one response.
  Bytes r = card.Transmit("00B00000000200");
  ASSERT_EQ(r.size(), 514u) << ToHex(r);
  EXPECT_EQ(ToHex(r), ToHex(Ef5001(0, 512)) + "9000");
  // Extended Lc: 300 bytes written at offset 0x10, read back with extended Le.
  Bytes data(300);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(0xFF - i);
  EXPECT_EQ(ToHex(card.Transmit(Concat(Hex("00D6001000012C"), data))), "9000");
  EXPECT_EQ(ToHex(card.Transmit("00B0001000012C")), ToHex(data) + "9000");
  EXPECT_EQ(ToHex(card.Transmit("00B0000000")),
            ToHex(Concat(Ef5001(0, 16), Bytes(data.begin(), data.begin() + 240))) + "9000");
}

TEST_F(Pcsc_Card, CommandChainingOfALongUpdate) {
  StartVicc();
  Context ctx;
  CardHandle card(ctx, ReaderName(0), SCARD_PROTOCOL_T1);
  ASSERT_EQ(ToHex(card.Transmit(kSelectEf5001)), "9000");
  // 400 bytes written at offset 0x20 as a chain of 255 + 145 (CLA 10 then 00).
  Bytes data(400);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 3);
  EXPECT_EQ(
      ToHex(card.Transmit(Concat(Hex("10D60020FF"), Bytes(data.begin(), data.begin() + 255)))),
      "9000");
  EXPECT_EQ(ToHex(card.Transmit(Concat(Hex("00D6002091"), Bytes(data.begin() + 255, data.end())))),
            "9000");
  // Read back in short pieces: 0x00..0x1F untouched, then the 400 bytes, then the rest.
  Bytes all;
  for (int offset = 0; offset < 512; offset += 128) {
    char cmd[16];
    std::snprintf(cmd, sizeof cmd, "00B0%04X80", offset);
    Bytes r = card.Transmit(cmd);
    ASSERT_EQ(Sw(r), 0x9000) << cmd << " -> " << ToHex(r);
    Bytes d = Data(r);
    all.insert(all.end(), d.begin(), d.end());
  }
  EXPECT_EQ(ToHex(all), ToHex(Concat(Concat(Ef5001(0, 0x20), data), Ef5001(0x1B0, 0x50))));
}

TEST_F(Pcsc_T0, Case4AnswersThroughGetResponse) {
  StartVicc({"--t0"});
  Context ctx;
  CardHandle card(ctx, ReaderName(0), SCARD_PROTOCOL_T0);
  EXPECT_EQ(card.protocol(), static_cast<DWORD>(SCARD_PROTOCOL_T0));
  EXPECT_EQ(ToHex(card.Status().atr), kAtrT0);
  EXPECT_EQ(ToHex(card.Transmit(kSelectFsApplet)), "611E");
  EXPECT_EQ(ToHex(card.Transmit("00C000001E")), std::string(kFsAppletFci) + "9000");
  // A T=0-only card refuses a T=1 connection.
  SCARDHANDLE h;
  DWORD proto;
  EXPECT_EQ(PcscError(SCardConnect(ctx.get(), ReaderName(0).c_str(), SCARD_SHARE_SHARED,
                                   SCARD_PROTOCOL_T1, &h, &proto)),
            PcscError(SCARD_E_PROTO_MISMATCH));
}

TEST_F(Pcsc_T0, WrongLeAnswers6Cxx) {
  StartVicc({"--t0"});
  Context ctx;
  CardHandle card(ctx, ReaderName(0), SCARD_PROTOCOL_T0);
  ASSERT_EQ(ToHex(card.Transmit(kSelectEf5001)), "9000");
  // 8 bytes left at 0x1F8, P3 = 0x20: 6C08, then the same command with P3 = 08.
  EXPECT_EQ(ToHex(card.Transmit("00B001F820")), "6C08");
  EXPECT_EQ(ToHex(card.Transmit("00B001F808")), ToHex(Ef5001(0x1F8, 8)) + "9000");
  // P3 = 00 means 256 on T=0: the whole first half.
  EXPECT_EQ(ToHex(card.Transmit("00B0000000")), ToHex(Ef5001(0, 256)) + "9000");
  // GET RESPONSE with a too-large P3: 6Cxx with what is pending, then the right P3.
  EXPECT_EQ(ToHex(card.Transmit(kSelectFsApplet)), "611E");
  EXPECT_EQ(ToHex(card.Transmit("00C0000020")), "6C1E");
  EXPECT_EQ(ToHex(card.Transmit("00C000001E")), std::string(kFsAppletFci) + "9000");
}

// Runs `work` on a thread and waits for it at most `limit`. If it is still blocked then (a hung
// reader), dmcard-vicc is killed so that vpcd's wait ends, the thread is joined, and false is
// returned.
template <typename Work>
bool FinishesWithin(std::chrono::seconds limit, ViccProcess& vicc, Work work) {
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  std::thread thread([&] {
    work();
    done.set_value();
  });
  const bool in_time = finished.wait_for(limit) == std::future_status::ready;
  if (!in_time) vicc.Kill9();
  thread.join();
  return in_time;
}

// vpcd forwards a 1-byte C-APDU unchanged, in the framing of its 1-byte control messages
// (00 power off, 01 power on, 02 reset, 04 get ATR), and waits for its answer while every
// other client of the reader waits for vpcd. Neither client hangs: the C-APDU is answered 6700
// (the undecided 00/01/02 after dmcard-vicc's bounded wait for what follows a real control
// message), the other client's command is answered in turn, and the card's state is untouched.
TEST_F(Pcsc_Card, OneByteApdusNeverHangTheReader) {
  ViccProcess& vicc = StartVicc();
  Context ctx;
  CardHandle other(ctx, ReaderName(0));
  ASSERT_EQ(ToHex(other.Transmit(kSelectEf5001)), "9000");
  for (uint8_t b : {0x00, 0x01, 0x02, 0x03, 0x05, 0x80, 0xFF}) {
    SCOPED_TRACE("1-byte C-APDU " + ToHex(Bytes{b}));
    LONG rv = SCARD_S_SUCCESS;
    Bytes answer, other_answer;
    const bool in_time = FinishesWithin(std::chrono::seconds(30), vicc, [&] {
      Context own;  // one context per thread
      CardHandle client(own, ReaderName(0));
      std::thread second([&] { other_answer = other.Transmit("00B0000004"); });
      rv = client.TryTransmit(Bytes{b}, answer);
      second.join();
    });
    ASSERT_TRUE(in_time) << "a client still waited after 30 s (dmcard-vicc killed to end it)";
    EXPECT_EQ(PcscError(rv), PcscError(SCARD_S_SUCCESS));
    EXPECT_EQ(ToHex(answer), "6700");
    EXPECT_EQ(ToHex(other_answer), "000102039000") << "the other client's own answer, and the "
                                                      "current EF survived";
  }
  // 04 cannot be told from vpcd's GET ATR (docs/vpcd-bridge.md): its answer is the ATR, but it
  // hangs nobody either.
  Bytes answer;
  ASSERT_TRUE(FinishesWithin(std::chrono::seconds(30), vicc, [&] {
    Context own;
    CardHandle client(own, ReaderName(0));
    client.TryTransmit(Bytes{0x04}, answer);
  }));
  EXPECT_EQ(ToHex(answer), kAtrT1);
  EXPECT_EQ(ToHex(other.Transmit("00B0000004")), "000102039000");
}

}  // namespace
}  // namespace dmcard::pcsctest
