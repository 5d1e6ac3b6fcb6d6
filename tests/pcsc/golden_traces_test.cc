// The golden traces of every use case (apdu-specs/traces/*.trace, issue 11 item 4) through the
// real PC/SC stack: each replayed by the host's trace runner over a PcscReader (libpcsclite ->
// pcscd -> vpcd -> dmcard-vicc) on a freshly started demo card, as `dmcard -r 0 run FILE` does.
// The same files replay in-process in tests/unit/golden_traces_test.cc. So do the examples of
// the command reference (apdu-specs/*.json).
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "host/apdu_spec.h"
#include "host/pcsc_reader.h"
#include "host/trace_formats.h"
#include "host/trace_runner.h"
#include "pcsc_fixture.h"

namespace dmcard::pcsctest {
namespace {

namespace fs = std::filesystem;

// The golden traces, in name order (the in-process test checks that every use case has one).
std::vector<std::string> GoldenTraceFiles() {
  std::vector<std::string> files;
  const fs::path dir = fs::path(DMCARD_SOURCE_DIR) / "apdu-specs" / "traces";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".trace") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class Pcsc_GoldenTraces : public PcscTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(Pcsc_GoldenTraces, ReplaysOnAFreshDemoCardThroughPcscd) {
  Trace trace;
  std::string error;
  ASSERT_TRUE(ReadTraceFile(GetParam(), TraceFormat::kAuto, trace, error)) << error;
  StartVicc();  // a fresh demo card, in RAM: the state every golden trace starts from
  std::unique_ptr<PcscReader> reader = PcscReader::Open(ReaderName(0), false, error);
  ASSERT_TRUE(reader) << error;
  RunOptions options;
  options.honour_delays = false;
  const RunResult r = RunTrace(trace, *reader, options, nullptr);
  std::string messages = r.connect_error;
  for (const CaseResult& c : r.cases) {
    for (const std::string& m : c.messages) messages += "\n[" + c.name + "] " + m;
  }
  EXPECT_TRUE(r.ok()) << messages;
  // Every command ran and matched.
  const auto commands = std::count_if(trace.steps.begin(), trace.steps.end(),
                                      [](const Step& s) { return s.kind == StepKind::kCommand; });
  EXPECT_GE(r.passed, static_cast<size_t>(commands));
  EXPECT_GT(commands, 3);
}

std::string TraceTestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = fs::path(info.param).stem().string();
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Req_UseCases, Pcsc_GoldenTraces, ::testing::ValuesIn(GoldenTraceFiles()),
                         TraceTestName);

using Pcsc_ApduSpecs = PcscTest;

// Every example of the command reference (apdu-specs/*.json) through the real stack, each on a
// fresh demo card as the in-process ApduSpecs.ExamplesReplayOnTheDemoCard runs them: the
// reference's exact answers are what a PC/SC client gets. Two fresh cards per dmcard-vicc (the
// two slots of the vpcd entry).
TEST_F(Pcsc_ApduSpecs, ExamplesReplayThroughPcscd) {
  ApduSpecSet specs;
  std::string error;
  ASSERT_TRUE(LoadApduSpecs(fs::path(DMCARD_SOURCE_DIR) / "apdu-specs", specs, error)) << error;
  std::vector<Trace> traces;
  ASSERT_TRUE(ApduExampleTraces(specs, traces, error)) << error;
  ASSERT_GT(traces.size(), 20u);
  size_t passed = 0;
  for (size_t i = 0; i < traces.size(); i += 2) {
    ViccProcess& vicc = StartVicc({"--slots", "2"}, 2);
    for (size_t slot = 0; slot < 2 && i + slot < traces.size(); ++slot) {
      const Trace& trace = traces[i + slot];
      SCOPED_TRACE(trace.name);
      std::unique_ptr<PcscReader> reader =
          PcscReader::Open(ReaderName(static_cast<int>(slot)), false, error);
      ASSERT_TRUE(reader) << error;
      const RunResult r = RunTrace(trace, *reader, RunOptions{}, nullptr);
      EXPECT_TRUE(r.ok()) << r.connect_error;
      for (const StepResult& step : r.steps) {
        if (!step.message.empty()) ADD_FAILURE() << step.message;
      }
      passed += r.passed;
    }
    vicc.Stop();
    // pcscd sees both cards go before the next dmcard-vicc brings fresh ones.
    Context ctx;
    for (int slot = 0; slot < 2; ++slot) ctx.WaitForState(ReaderName(slot), SCARD_STATE_EMPTY);
  }
  EXPECT_GT(passed, 60u);
}

}  // namespace
}  // namespace dmcard::pcsctest
