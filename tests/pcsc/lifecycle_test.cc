// Card and daemon life cycle: removal/insertion through `dmcard-vicc ctl`, a pcscd restart,
// kill -9 of dmcard-vicc during writes with --state (restarted after pcscd saw the removal, and
// at once), two cards in one process.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "pcsc_fixture.h"

namespace dmcard::pcsctest {
namespace {

using Pcsc_Lifecycle = PcscTest;

Bytes U32(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

uint32_t ReadU32(CardHandle& card) {
  Bytes r = card.Transmit("00B0000004");
  if (r.size() != 6 || Sw(r) != 0x9000) {
    throw std::runtime_error("READ BINARY 00B0000004 -> " + ToHex(r));
  }
  return static_cast<uint32_t>(r[0]) << 24 | r[1] << 16 | r[2] << 8 | r[3];
}

TEST_F(Pcsc_Lifecycle, RemoveAndInsertThroughCtl) {
  ViccProcess& vicc = StartVicc();
  Context ctx;
  CardHandle old_card(ctx, ReaderName(0));
  ASSERT_EQ(Sw(old_card.Transmit(kSelectFsApplet)), 0x9000);

  ToolResult r = vicc.Ctl({"remove", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  DWORD empty = ctx.WaitForState(ReaderName(0), SCARD_STATE_EMPTY);
  Bytes response;
  LONG rv = old_card.TryTransmit(Hex(kSelectFsApplet), response);
  EXPECT_NE(rv, SCARD_S_SUCCESS) << "transmit to a removed card answered " << ToHex(response);
  r = vicc.Ctl({"status"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("slot 0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("removed"), std::string::npos) << r.output;
  // Stays out: still empty after a few of pcscd's 0.4 s polls.
  SCARD_READERSTATE rs{};
  rs.szReader = "Virtual PCD 00 00";
  rs.dwCurrentState = empty & ~SCARD_STATE_CHANGED;
  EXPECT_EQ(PcscError(SCardGetStatusChange(ctx.get(), 1200, &rs, 1)), PcscError(SCARD_E_TIMEOUT))
      << "reader state changed to " << StateText(rs.dwEventState);

  r = vicc.Ctl({"insert", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ctx.WaitForState(ReaderName(0), SCARD_STATE_PRESENT);
  CardHandle card(ctx, ReaderName(0));
  EXPECT_EQ(ToHex(card.Status().atr), kAtrT1);
  EXPECT_EQ(ToHex(card.Transmit(kSelectFsApplet)), std::string(kFsAppletFci) + "9000");
  EXPECT_TRUE(vicc.running());
}

TEST_F(Pcsc_Lifecycle, ResetThroughCtlResetsTheCardState) {
  ViccProcess& vicc = StartVicc();
  Context ctx;
  CardHandle card(ctx, ReaderName(0));
  ASSERT_EQ(ToHex(card.Transmit(kSelectEf5001)), "9000");
  EXPECT_EQ(ToHex(card.Transmit("00B0000004")), "000102039000");
  ToolResult r = vicc.Ctl({"reset", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Warm reset: the default applet again, no current EF.
  EXPECT_EQ(ToHex(card.Transmit("00B0000004")), "6986");
  EXPECT_EQ(ToHex(card.Transmit(kSelectEf5001)), "9000");
  EXPECT_EQ(ToHex(card.Transmit("00B0000004")), "000102039000");
  EXPECT_EQ(ctx.State(ReaderName(0)) & (SCARD_STATE_PRESENT | SCARD_STATE_EMPTY),
            static_cast<DWORD>(SCARD_STATE_PRESENT));
}

TEST_F(Pcsc_Lifecycle, PcscdRestartReconnectsByItself) {
  ViccProcess& vicc = StartVicc();
  {
    Context ctx;
    CardHandle card(ctx, ReaderName(0));
    ASSERT_EQ(Sw(card.Transmit(kSelectFsApplet)), 0x9000);
  }
  pcscd().Stop();
  ASSERT_TRUE(vicc.running()) << "dmcard-vicc exited when pcscd stopped:\n" << vicc.Describe();
  pcscd().Start();
  Context ctx;
  ctx.WaitForReader(ReaderName(0));
  ctx.WaitForState(ReaderName(0), SCARD_STATE_PRESENT, std::chrono::milliseconds(10000));
  CardHandle card(ctx, ReaderName(0));
  EXPECT_EQ(ToHex(card.Status().atr), kAtrT1);
  EXPECT_EQ(ToHex(card.Transmit(kSelectFsApplet)), std::string(kFsAppletFci) + "9000");
}

// kill -9 in the middle of a burst of UPDATE BINARY: after a restart on the same --state, the
// EF holds the last acknowledged value or the one in flight, never an older one.
TEST_F(Pcsc_Lifecycle, Kill9DuringWritesKeepsLastAcknowledged) {
  std::string state = NewStateDir();
  ViccProcess& vicc = StartVicc({"--state", state});
  uint32_t counter = 0x10000000;
  const int delays_ms[] = {150, 233, 311};
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Context ctx;
    std::optional<uint32_t> acknowledged, in_flight;
    int writes = 0;
    {
      CardHandle card(ctx, ReaderName(0));
      ASSERT_EQ(ToHex(card.Transmit(kSelectEf5001)), "9000");
      if (round > 0) counter = ReadU32(card) + 1;
      pid_t pid = vicc.pid();
      std::jthread killer([pid, delay = delays_ms[round]] {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
        kill(pid, SIGKILL);
      });
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (std::chrono::steady_clock::now() < deadline) {
        Bytes cmd = Hex("00D6000004");
        Bytes value = U32(counter);
        cmd.insert(cmd.end(), value.begin(), value.end());
        Bytes response;
        in_flight = counter;
        LONG rv = card.TryTransmit(cmd, response);
        // vpcd reports a card that vanished mid-command as a success with an empty response.
        if (rv != SCARD_S_SUCCESS || response.empty()) break;
        if (Sw(response) != 0x9000) {
          ADD_FAILURE() << ToHex(cmd) << " -> " << ToHex(response);
          break;
        }
        acknowledged = counter;
        in_flight.reset();
        ++writes;
        ++counter;
      }
      killer.join();  // (a jthread also joins if the loop throws)
    }
    ASSERT_TRUE(acknowledged) << "no write acknowledged before the kill";
    vicc.Kill9();
    ctx.WaitForState(ReaderName(0), SCARD_STATE_EMPTY);

    vicc.Start();
    ctx.WaitForState(ReaderName(0), SCARD_STATE_PRESENT);
    CardHandle card(ctx, ReaderName(0));
    ASSERT_EQ(ToHex(card.Transmit(kSelectEf5001)), "9000");
    uint32_t value = ReadU32(card);
    if (in_flight) {
      EXPECT_TRUE(value == *acknowledged || value == *in_flight)
          << std::hex << "EF holds " << value << ", last acknowledged " << *acknowledged
          << ", in flight " << *in_flight;
    } else {
      EXPECT_EQ(value, *acknowledged) << std::hex << "(nothing in flight)";
    }
    // The rest of the EF is untouched.
    Bytes rest = card.Transmit("00B00004FC");
    ASSERT_EQ(rest.size(), 0xFCu + 2);
    for (size_t i = 0; i < 0xFC; ++i) ASSERT_EQ(rest[i], static_cast<uint8_t>(4 + i)) << i;
    std::printf("[          ] round %d: %d writes acknowledged before the kill; the EF holds %s\n",
                round, writes,
                value == *acknowledged ? "the last acknowledged" : "the one in flight");
  }
}

// Keeps a client transmitting until dmcard-vicc dies (so that it dies under a transmit, as in
// the field), then restarts it at once: vpcd drops the dead connection inside that transmit and
// accepts the new one at its next presence poll, so pcscd may never see a removal nor send
// POWER ON. The restarted card must work all the same: new connections get real answers (not
// 6985, "conditions of use not satisfied", from an unpowered card), within a bounded wait.
TEST_F(Pcsc_Lifecycle, Kill9AndImmediateRestartComesBackWorking) {
  ViccProcess& vicc = StartVicc({"--state", NewStateDir()});
  Context ctx;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    {
      CardHandle card(ctx, ReaderName(0));
      ASSERT_EQ(ToHex(card.Transmit(kSelectEf5001)), "9000");
      pid_t pid = vicc.pid();
      std::jthread killer([pid, delay = 100 + 70 * round] {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
        kill(pid, SIGKILL);
      });
      Bytes response;
      for (int i = 0; i < 100000; ++i) {
        if (card.TryTransmit(Hex("00B0000004"), response) != SCARD_S_SUCCESS || response.empty())
          break;
      }
    }
    vicc.Kill9();  // reaps it
    vicc.Start();  // at once
    bool worked = false;
    std::string seen;
    for (int attempt = 0; attempt < 100 && !worked; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      SCARDHANDLE h = 0;
      DWORD protocol = 0;
      LONG rv = SCardConnect(ctx.get(), ReaderName(0).c_str(), SCARD_SHARE_SHARED,
                             SCARD_PROTOCOL_T1, &h, &protocol);
      if (rv != SCARD_S_SUCCESS) {
        seen += " connect:" + PcscError(rv);
        continue;
      }
      BYTE answer[258];
      DWORD len = sizeof answer;
      rv = SCardTransmit(h, SCARD_PCI_T1, Hex(kSelectEf5001).data(),
                         static_cast<DWORD>(Hex(kSelectEf5001).size()), nullptr, answer, &len);
      SCardDisconnect(h, SCARD_LEAVE_CARD);
      if (rv != SCARD_S_SUCCESS) {
        seen += " transmit:" + PcscError(rv);
        continue;
      }
      const std::string text = ToHex(Bytes(answer, answer + len));
      ASSERT_NE(text, "6985") << "the restarted card is unpowered; seen before:" << seen;
      worked = text == "9000";
      if (!worked) seen += " answer:" + text;
    }
    ASSERT_TRUE(worked) << "no working card within 10 s of the restart; seen:" << seen;
  }
}

TEST_F(Pcsc_Lifecycle, TwoCardsInOneProcessAreIndependent) {
  ViccProcess& vicc = StartVicc({"--slots", "2"}, 2);
  Context ctx;
  auto readers = ctx.Readers();
  for (const char* name : {"Virtual PCD 00 00", "Virtual PCD 00 01"}) {
    EXPECT_NE(std::find(readers.begin(), readers.end(), name), readers.end()) << name;
  }
  CardHandle a(ctx, ReaderName(0)), b(ctx, ReaderName(1));
  EXPECT_EQ(ToHex(a.Status().atr), kAtrT1);
  EXPECT_EQ(ToHex(b.Status().atr), kAtrT1);
  ASSERT_EQ(ToHex(a.Transmit(kSelectEf5001)), "9000");
  ASSERT_EQ(ToHex(b.Transmit(kSelectEf5001)), "9000");
  EXPECT_EQ(ToHex(a.Transmit("00D6000004DEADBEEF")), "9000");
  EXPECT_EQ(ToHex(a.Transmit("00B0000004")), "DEADBEEF9000");
  EXPECT_EQ(ToHex(b.Transmit("00B0000004")), "000102039000");
  EXPECT_EQ(ToHex(b.Transmit("00D6000004CAFEBABE")), "9000");
  EXPECT_EQ(ToHex(a.Transmit("00B0000004")), "DEADBEEF9000");
  // Security state is per card too: VERIFY on b does not open EF 5002 on a.
  EXPECT_EQ(ToHex(b.Transmit("002000010431323334")), "9000");
  EXPECT_EQ(ToHex(a.Transmit("00A4080C0450005002")), "9000");
  EXPECT_EQ(ToHex(a.Transmit("00D6000002ABCD")), "6982");
  // Removing card 1 leaves card 0 in place.
  ToolResult r = vicc.Ctl({"remove", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ctx.WaitForState(ReaderName(1), SCARD_STATE_EMPTY);
  EXPECT_TRUE(ctx.State(ReaderName(0)) & SCARD_STATE_PRESENT)
      << StateText(ctx.State(ReaderName(0)));
  EXPECT_EQ(ToHex(a.Transmit(kSelectEf5001)), "9000");
  EXPECT_EQ(ToHex(a.Transmit("00B0000004")), "DEADBEEF9000");
}

}  // namespace
}  // namespace dmcard::pcsctest
