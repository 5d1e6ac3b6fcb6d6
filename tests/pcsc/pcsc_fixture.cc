#include "pcsc_fixture.h"

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>

namespace dmcard::pcsctest {

Pcscd& SharedPcscd() {
  static Pcscd pcscd;
  return pcscd;
}

void PcscTest::SetUp() {
  Sandbox& sandbox = Sandbox::Get();
  if (!sandbox.ok()) {
    if (Sandbox::MustRun()) {
      FAIL() << "PC/SC integration test cannot run, and under CI=true as root a skipped PC/SC "
                "suite is a failure: "
             << sandbox.skip_reason();
    }
    GTEST_SKIP() << "PC/SC integration test skipped: " << sandbox.skip_reason();
  }
  try {
    pcscd().Start();
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
}

void PcscTest::TearDown() {
  if (!Sandbox::Get().ok()) return;
  std::vector<std::string> readers;
  for (auto& v : vicc_) {
    readers.insert(readers.end(), v.readers.begin(), v.readers.end());
    if (!v.process->running()) continue;
    bool graceful = false;
    int status = v.process->Stop(&graceful);
    EXPECT_TRUE(graceful && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "dmcard-vicc did not exit with 0 within 5 s of SIGTERM:\n"
        << v.process->Describe();
  }
  // Let pcscd see the cards go, so that the next test starts with empty readers.
  if (!pcscd().running()) {
    ADD_FAILURE() << "pcscd is not running at the end of the test:\n" << pcscd().Describe();
  } else if (!readers.empty()) {
    try {
      Context ctx;
      auto listed = ctx.Readers();
      for (const auto& reader : readers) {
        if (std::find(listed.begin(), listed.end(), reader) == listed.end()) continue;
        ctx.WaitForState(reader, SCARD_STATE_EMPTY);
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << "after stopping dmcard-vicc: " << e.what();
    }
  }
  if (HasFailure()) {
    Sandbox::Get().KeepScratch();
    std::fprintf(stderr, "---- pcscd ----\n%s\n", pcscd().Describe().c_str());
    for (auto& v : vicc_) {
      std::fprintf(stderr, "---- dmcard-vicc ----\n%s\n", v.process->Describe().c_str());
    }
  }
  vicc_.clear();
}

ViccProcess& PcscTest::StartVicc(std::vector<std::string> args, int slots) {
  std::vector<std::string> readers;
  for (int slot = 0; slot < slots; ++slot) readers.push_back(ReaderName(slot));
  return StartVicc(std::move(args), std::move(readers));
}

ViccProcess& PcscTest::StartVicc(std::vector<std::string> args, std::vector<std::string> readers) {
  vicc_.push_back({std::make_unique<ViccProcess>(std::move(args)), readers});
  ViccProcess& vicc = *vicc_.back().process;
  vicc.Start();
  Context ctx;
  for (const auto& reader : readers) {
    ctx.WaitForReader(reader);
    ctx.WaitForState(reader, SCARD_STATE_PRESENT);
  }
  return vicc;
}

void PcscTest::WaitPresent(int slots, int first) {
  Context ctx;
  for (int slot = first; slot < first + slots; ++slot) {
    ctx.WaitForReader(ReaderName(slot));
    ctx.WaitForState(ReaderName(slot), SCARD_STATE_PRESENT);
  }
}

std::string PcscTest::NewStateDir() { return Sandbox::Get().NewPath("state").string(); }

std::string ReadBootstrapFile(CardHandle& card) {
  EXPECT_EQ(Sw(card.Transmit("00A4080C0450154402")), 0x9000);
  const Bytes r = card.Transmit("00B00000000000");
  EXPECT_EQ(Sw(r), 0x6282);
  const Bytes d = Data(r);
  return std::string(d.begin(), d.end());
}

}  // namespace dmcard::pcsctest

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  dmcard::pcsctest::SharedPcscd().Stop();
  if (auto* sandbox = dmcard::pcsctest::Sandbox::IfCreated()) {
    if (!sandbox->ok() && dmcard::pcsctest::Sandbox::MustRun()) {
      // Not the skip line below: ctest must report a failure, not a skip.
      std::printf("dmcard-pcsc: every test FAILED (CI=true as root, the suite must run): %s\n",
                  sandbox->skip_reason().c_str());
      rc = rc != 0 ? rc : 1;
    } else if (!sandbox->ok()) {
      // ctest's SKIP_REGULAR_EXPRESSION matches this line.
      std::printf("dmcard-pcsc: every test skipped: %s\n", sandbox->skip_reason().c_str());
    } else if (rc != 0) {
      sandbox->KeepScratch();
    }
  }
  return rc;
}
