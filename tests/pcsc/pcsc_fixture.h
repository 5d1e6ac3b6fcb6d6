// GoogleTest fixture over the PC/SC stack harness: one pcscd for the whole run (restarted
// only by the tests that need it), dmcard-vicc processes per test, logs printed on failure.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "pcsc_stack.h"

namespace dmcard::pcsctest {

// The demo card's ATRs (applet/runtime/atr.h defaults).
inline constexpr const char* kAtrT1 = "3B8C8131FE458073F201DF56646D6361726413";
inline constexpr const char* kAtrT0 = "3B0C8073F201DF56646D63617264";
// SELECT of the demo file system applet by its AID (F0444D434152444653), Le 00.
inline constexpr const char* kSelectFsApplet = "00A4040009F0444D43415244465300";
inline constexpr const char* kFsAppletFci =
    "6F1C82013883023F008409F0444D4341524446538A0105AB0580017F9700";
// SELECT of EF 5001 (512 bytes, byte i = i & FF, always writable) by path, no response data.
inline constexpr const char* kSelectEf5001 = "00A4080C0450005001";

// The shared pcscd; stopped by main() after the run.
Pcscd& SharedPcscd();

class PcscTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts dmcard-vicc with `args` (--port and --control added) and waits until its `slots`
  // readers (from "Virtual PCD 00 00") report a present card.
  ViccProcess& StartVicc(std::vector<std::string> args = {}, int slots = 1);
  // Same, waiting for the given readers.
  ViccProcess& StartVicc(std::vector<std::string> args, std::vector<std::string> readers);
  // Waits until `slots` readers from slot 0 report a present card.
  void WaitPresent(int slots = 1, int first = 0);
  // A new, not yet existing directory for --state.
  std::string NewStateDir();

  Pcscd& pcscd() { return SharedPcscd(); }

 private:
  struct Started {
    std::unique_ptr<ViccProcess> process;
    std::vector<std::string> readers;
  };
  std::vector<Started> vicc_;
};

// EF(DM_Bootstrap) as the file-system applet selected on the basic channel serves it to `card`
// (SELECT by path 5015 4402, READ BINARY with extended Le): the PKCS#15 view of the DM tree.
std::string ReadBootstrapFile(CardHandle& card);

}  // namespace dmcard::pcsctest
