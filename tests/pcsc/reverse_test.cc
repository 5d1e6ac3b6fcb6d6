// --reverse: dmcard-vicc listens and vpcd connects to it (reader.conf DEVICENAME host:port).
// The entry exists only during this test: pcscd is restarted with it, and without it after.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "pcsc_fixture.h"

namespace dmcard::pcsctest {
namespace {

constexpr uint16_t kReversePort = kBasePort + 0x10;  // 36016, clear of the normal slots
constexpr const char* kReverseReader = "Virtual PCD Reverse 00 00";
constexpr const char* kReverseReader1 = "Virtual PCD Reverse 00 01";

// Adds a reader.conf entry for vpcd in reverse mode and restarts pcscd; undoes both.
class ReverseEntry {
 public:
  explicit ReverseEntry(Pcscd& pcscd)
      : pcscd_(pcscd), path_(Sandbox::Get().reader_conf_dir() / "vpcd-reverse") {
    char port[16];
    std::snprintf(port, sizeof port, "0x%04X", kReversePort);
    std::ofstream(path_) << "FRIENDLYNAME \"Virtual PCD Reverse\"\n"
                         << "DEVICENAME localhost:" << port << "\n"
                         << "LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\n"
                         << "CHANNELID " << port << "\n";
    pcscd_.Restart();
  }
  // Restarts pcscd without the entry while the cards still listen (see below).
  ~ReverseEntry() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
    try {
      pcscd_.Restart();
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }

 private:
  Pcscd& pcscd_;
  std::filesystem::path path_;
};

using Pcsc_Reverse = PcscTest;

// Debian's vpcd 0.8 in reverse mode aborts pcscd ("bit out of range 0 - FD_SETSIZE on
// fd_set") whenever it tries to connect and nothing listens on the port. So the cards listen
// before pcscd is started with the entry, both of vpcd's ports are served (--slots 2), and
// pcscd is restarted without the entry before the cards stop.
TEST_F(Pcsc_Reverse, VpcdConnectsToTheListeningCards) {
  StartVicc({"--reverse", "--slots", "2", "--port", std::to_string(kReversePort)},
            std::vector<std::string>{});
  WaitListening(kReversePort);
  WaitListening(kReversePort + 1);
  ReverseEntry entry(pcscd());
  Context ctx;
  for (const char* reader : {kReverseReader, kReverseReader1}) {
    ctx.WaitForReader(reader);
    ctx.WaitForState(reader, SCARD_STATE_PRESENT);
  }
  CardHandle card(ctx, kReverseReader), card1(ctx, kReverseReader1);
  EXPECT_EQ(ToHex(card.Status().atr), kAtrT1);
  EXPECT_EQ(ToHex(card.Transmit(kSelectFsApplet)), std::string(kFsAppletFci) + "9000");
  EXPECT_EQ(ToHex(card1.Transmit(kSelectEf5001)), "9000");
  EXPECT_EQ(ToHex(card1.Transmit("00B0000000")).substr(0, 8), "00010203");
  // The normal-mode readers are still there, empty.
  EXPECT_TRUE(ctx.State(ReaderName(0)) & SCARD_STATE_EMPTY) << StateText(ctx.State(ReaderName(0)));
}

// Removal in reverse mode is refused with a clear message: Debian's vpcd 0.8 aborts pcscd when a
// reverse-mode card goes away (failed reconnect, or an empty ATR). The refusal keeps pcscd and
// the card alive.
TEST_F(Pcsc_Reverse, RemoveIsRefusedAndPcscdStaysAlive) {
  ViccProcess& vicc =
      StartVicc({"--reverse", "--slots", "2", "--port", std::to_string(kReversePort)},
                std::vector<std::string>{});
  WaitListening(kReversePort);
  WaitListening(kReversePort + 1);
  ReverseEntry entry(pcscd());
  Context ctx;
  ctx.WaitForReader(kReverseReader);
  ctx.WaitForState(kReverseReader, SCARD_STATE_PRESENT);
  ToolResult r = vicc.Ctl({"remove", "0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("not available with --reverse"), std::string::npos) << r.output;
  ASSERT_TRUE(pcscd().running()) << pcscd().Describe();
  CardHandle card(ctx, kReverseReader);
  EXPECT_EQ(ToHex(card.Transmit(kSelectFsApplet)), std::string(kFsAppletFci) + "9000");
}

}  // namespace
}  // namespace dmcard::pcsctest
