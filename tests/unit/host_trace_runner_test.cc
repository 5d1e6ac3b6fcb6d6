// The trace runner (host/trace_runner.h) against the in-process demo card: a v1 trace written
// by hand from the card's documented answers (apdu-specs/*.json) replays, a tampered copy
// fails at the tampered line with a diff, v2 matchers and captures work on a real card, a
// trace recorded without secrets says how to get one that replays, stop-at-first-failure,
// cases and JUnit XML, and a trace written by TraceWriter reads back and replays.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <unistd.h>

#include "host/demo_card.h"
#include "host/hosted_card.h"
#include "host/reader.h"
#include "host/trace.h"
#include "host/trace_runner.h"

namespace dmcard {
namespace {

namespace fs = std::filesystem;

const std::string kTraces = std::string(DMCARD_TEST_DATA_DIR) + "/traces/";

Bytes Hex(const std::string& hex) { return FromHex(hex).value(); }

// A Reader over the in-process card, for these tests only (the product's is DirectReader).
class TestCardReader : public Reader {
 public:
  TestCardReader() {
    std::string error;
    card_ = HostedCard::Open(std::make_shared<Profile>(DemoProfile()), DemoCardConfig(), "", error);
    EXPECT_NE(card_, nullptr) << error;
  }
  std::string name() const override { return "test card"; }
  bool Connect(Bytes& atr, std::string&) override {
    atr = card_->powered() ? card_->atr() : card_->PowerOn();
    return true;
  }
  bool Transmit(ByteView command, Bytes& response, std::string& error) override {
    if (removed_ || !card_->Transmit(command, response)) {
      error = removed_ ? "no card in the reader" : "the card is powered off";
      return false;
    }
    return true;
  }
  bool Reset(Bytes& atr, std::string&) override {
    atr = card_->Reset();
    return true;
  }
  bool PowerOff(std::string&) override {
    card_->PowerOff();
    return true;
  }
  bool PowerOn(Bytes& atr, std::string& error) override {
    if (removed_) {
      error = "no card in the reader";
      return false;
    }
    atr = card_->PowerOn();
    return true;
  }
  bool Remove(std::string&) override {
    card_->PowerOff();
    removed_ = true;
    return true;
  }
  bool Insert(Bytes& atr, std::string&) override {
    removed_ = false;
    atr = card_->PowerOn();
    return true;
  }

 private:
  std::unique_ptr<HostedCard> card_;
  bool removed_ = false;
};

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Trace Load(const std::string& name) {
  Trace trace;
  trace.name = name;
  std::string error;
  EXPECT_TRUE(ParseNativeTrace(ReadAll(kTraces + name), name, trace, error)) << error;
  return trace;
}

Trace FromText(const std::string& text) {
  Trace trace;
  trace.name = "inline";
  std::string error;
  EXPECT_TRUE(ParseNativeTrace(text, "inline.trace", trace, error)) << error;
  return trace;
}

RunResult RunOnCard(const Trace& trace, const RunOptions& options = {}) {
  TestCardReader reader;
  return RunTrace(trace, reader, options, nullptr);
}

TEST(HostTraceRunner, HandWrittenVersion1TraceReplays) {
  const Trace trace = Load("demo_v1.trace");
  const RunResult result = RunOnCard(trace);
  for (const StepResult& s : result.steps) EXPECT_TRUE(s.message.empty()) << s.message;
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.passed, trace.steps.size());
  ASSERT_EQ(result.cases.size(), 1u);  // no @case: one case named after the trace
  EXPECT_EQ(result.cases[0].name, "demo_v1.trace");
}

TEST(HostTraceRunner, TamperedCopyFailsAtTheTamperedLineWithADiff) {
  const RunResult result = RunOnCard(Load("demo_v1_tampered.trace"));
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.failed, 1u);
  std::string message;
  for (const StepResult& s : result.steps) {
    if (s.verdict == StepVerdict::kFailed) message = s.message;
  }
  EXPECT_EQ(message,
            "demo_v1_tampered.trace:12: the answer to 00 A4 00 0C 02 12 34 does not match\n"
            "  status word 6A82 (file or application not found), expected 6A83");
}

TEST(HostTraceRunner, DataDiffMarksTheDifferingBytes) {
  ResponseMatcher m;
  std::string error;
  ASSERT_TRUE(ParseResponseMatcher("6F 15 ?? 01 * 90 00", m, error));
  EXPECT_EQ(DescribeMismatch(m, Hex("6F168201389000")),
            "  data at 0000 expected: 6F 15 ?? 01 .. \n"
            "               actual:   6F 16 82 01 38 \n"
            "                            ^^          \n"
            "  status word 9000 (success)");
  ASSERT_TRUE(ParseResponseMatcher("01 02 03 62 83", m = {}, error));
  EXPECT_EQ(DescribeMismatch(m, Hex("01029000")),
            "  data at 0000 expected: 01 02 03 \n"
            "               actual:   01 02 -- \n"
            "                               ^^ \n"
            "  data: expected 3 bytes, got 2\n"
            "  status word 9000 (success), expected 6283");
}

TEST(HostTraceRunner, Version2MatchersCapturesAndCases) {
  const Trace trace = Load("demo_v2.trace");
  const RunResult result = RunOnCard(trace);
  for (const StepResult& s : result.steps) EXPECT_TRUE(s.message.empty()) << s.message;
  EXPECT_TRUE(result.ok());
  // The @atr check before the first @case is a case named after the trace.
  ASSERT_EQ(result.cases.size(), 5u);
  EXPECT_EQ(result.cases[0].name, "demo_v2.trace");
  EXPECT_EQ(result.cases[0].steps, 1u);
  EXPECT_EQ(result.cases[1].name, "select file system applet");
  EXPECT_EQ(result.cases[4].name, "wrong PIN counts down");
  // The card challenge (bytes 13..20 of INITIALIZE UPDATE's answer) went into UPDATE BINARY
  // through ${challenge}, and READ BINARY gave it back.
  const StepResult* init = nullptr;
  const StepResult* update = nullptr;
  const StepResult* read = nullptr;
  for (size_t i = 0; i < trace.steps.size(); ++i) {
    const Bytes& c = result.steps[i].command;
    if (c.size() > 2 && c[1] == 0x50) init = &result.steps[i];
    if (c.size() > 2 && c[1] == 0xD6) update = &result.steps[i];
    if (c.size() > 2 && c[1] == 0xB0) read = &result.steps[i];
  }
  ASSERT_TRUE(init && update && read);
  const Bytes challenge(init->response.begin() + 13, init->response.begin() + 21);
  EXPECT_EQ(update->command, [&] {
    Bytes b = Hex("00D6000008");
    b.insert(b.end(), challenge.begin(), challenge.end());
    return b;
  }());
  EXPECT_EQ(Bytes(read->response.begin(), read->response.end() - 2), challenge);
}

TEST(HostTraceRunner, WildcardsDoNotOverMatchOnTheCard) {
  // The card answers SELECT 1234 with 6A82 and the FS applet's FCI with 0x1E bytes + 9000.
  const RunResult result =
      RunOnCard(FromText("> 00 A4 00 0C 02 12 34\n< 6A8?|6B00\n"
                         "> 00 A4 00 0C 02 12 34\n< 6A 9?\n"
                         "> 00 A4 04 00 09 F0 44 4D 43 41 52 44 46 53 00\n"
                         "< {29} 90 00\n"
                         "> 00 A4 04 00 09 F0 44 4D 43 41 52 44 46 53 00\n"
                         "< {30} 90 00\n"
                         "> 00 A4 04 00 09 F0 44 4D 43 41 52 44 46 53 00\n"
                         "< 6F 1C {29} 90 00\n"));
  ASSERT_EQ(result.steps.size(), 5u);
  EXPECT_EQ(result.steps[0].verdict, StepVerdict::kPassed);
  EXPECT_EQ(result.steps[1].verdict, StepVerdict::kFailed);
  EXPECT_EQ(result.steps[2].verdict, StepVerdict::kFailed);
  EXPECT_EQ(result.steps[3].verdict, StepVerdict::kPassed);
  EXPECT_EQ(result.steps[4].verdict, StepVerdict::kFailed);
  EXPECT_NE(result.steps[2].message.find("data: expected 29 bytes, got 30"), std::string::npos)
      << result.steps[2].message;
}

TEST(HostTraceRunner, WithheldPinSaysHowToReplay) {
  const RunResult result = RunOnCard(Load("demo_v1_withheld.trace"));
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.errors, 1u);
  EXPECT_EQ(result.steps[3].verdict, StepVerdict::kError);
  EXPECT_NE(result.steps[3].message.find("demo_v1_withheld.trace:6: the command was recorded "
                                         "without secrets"),
            std::string::npos)
      << result.steps[3].message;
  EXPECT_NE(result.steps[3].message.find("re-record with --record-secrets"), std::string::npos);
  // Without the PIN, the UPDATE that needs it is refused: a failure too.
  EXPECT_EQ(result.steps[4].verdict, StepVerdict::kFailed);
}

TEST(HostTraceRunner, StopAtFirstFailureSkipsTheRest) {
  RunOptions options;
  options.stop_at_first_failure = true;
  const RunResult result = RunOnCard(Load("demo_v1_tampered.trace"), options);
  EXPECT_EQ(result.failed, 1u);
  EXPECT_GT(result.skipped, 10u);
  EXPECT_EQ(result.steps.back().verdict, StepVerdict::kSkipped);
}

TEST(HostTraceRunner, AtrMismatchAndPowerEvents) {
  const RunResult result =
      RunOnCard(FromText("@atr 3B 8C ??\n"  // the ATR is longer
                         "@remove\n> 00 A4 00 0C 02 3F 00\n"
                         "@insert\n> 00 A4 00 0C 02 3F 00\n< 90 00\n"));
  EXPECT_EQ(result.steps[0].verdict, StepVerdict::kFailed);
  EXPECT_NE(result.steps[0].message.find("inline.trace:1: ATR does not match"), std::string::npos);
  EXPECT_EQ(result.steps[2].verdict, StepVerdict::kError);  // no card in the reader
  EXPECT_NE(result.steps[2].message.find("test card: no card in the reader"), std::string::npos);
  EXPECT_EQ(result.steps[3].verdict, StepVerdict::kPassed);
  EXPECT_EQ(result.steps[4].verdict, StepVerdict::kPassed);
}

TEST(HostTraceRunner, ObserverSeesEveryStep) {
  struct Counter : TraceObserver {
    size_t steps = 0, total = 0, cases = 0;
    bool started = false, ended = false;
    void OnStart(const Trace&, ByteView) override { started = true; }
    void OnStep(const Trace&, size_t index, size_t n, const StepResult&) override {
      EXPECT_EQ(index, steps++);
      total = n;
    }
    void OnCaseEnd(const CaseResult&) override { ++cases; }
    void OnEnd(const Trace&, const RunResult&) override { ended = true; }
  } counter;
  const Trace trace = Load("demo_v2.trace");
  TestCardReader reader;
  RunOptions options;
  RunTrace(trace, reader, options, &counter);
  EXPECT_TRUE(counter.started && counter.ended);
  EXPECT_EQ(counter.steps, trace.steps.size());
  EXPECT_EQ(counter.total, trace.steps.size());
  EXPECT_EQ(counter.cases, 5u);
}

TEST(HostTraceRunner, JUnitXmlHasACasePerCaseAndEscapedFailures) {
  const RunResult result =
      RunOnCard(FromText("@case good\n> 00 A4 00 0C 02 12 34\n< 6A 82\n"
                         "@case bad <&>\n> 00 A4 00 0C 02 12 34\n< 90 00\n"));
  const std::string xml = JUnitXml({result});
  EXPECT_NE(xml.find("<testsuite name=\"inline\" tests=\"2\" failures=\"1\" errors=\"0\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testcase name=\"good\" classname=\"inline\""), std::string::npos);
  EXPECT_NE(xml.find("<testcase name=\"bad &lt;&amp;&gt;\" classname=\"inline\""),
            std::string::npos);
  EXPECT_NE(xml.find("<failure message=\"inline.trace:5: the answer to 00 A4 00 0C 02 12 34 does "
                     "not match\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("status word 6A82 (file or application not found), expected 9000"),
            std::string::npos);
}

TEST(HostTraceRunner, WrittenTraceReadsBackAndReplays) {
  const fs::path path =
      fs::temp_directory_path() / ("dmcard_trace_rt_" + std::to_string(getpid()) + ".trace");
  // Record a session with the card as dmcard-vicc does, then replay the file on a fresh card.
  {
    TestCardReader card;
    Bytes atr;
    std::string error;
    ASSERT_TRUE(card.Connect(atr, error));
    TraceWriter writer;
    ASSERT_TRUE(writer.Open(path, "dmcard trace v1: test", atr, error)) << error;
    writer.PowerOn();
    for (const char* hex : {"00A4040009F0444D43415244465300", "00A4080C0450005002",
                            "002000010431323334", "00D6000002ABCD", "00B0000004"}) {
      Bytes response;
      ASSERT_TRUE(card.Transmit(Hex(hex), response, error));
      writer.Exchange(Hex(hex), response, false);
    }
    writer.Reset();
    ASSERT_TRUE(card.Reset(atr, error));
  }
  Trace trace;
  trace.name = "recorded";
  std::string error;
  ASSERT_TRUE(ParseNativeTrace(ReadAll(path), path.string(), trace, error)) << error;
  ASSERT_EQ(trace.steps.size(), 8u);  // @atr, @power-on, 5 exchanges, @reset
  EXPECT_EQ(trace.steps[6].expect->ToString(), "AB CD 00 00 90 00");
  const RunResult result = RunOnCard(trace);
  for (const StepResult& s : result.steps) EXPECT_TRUE(s.message.empty()) << s.message;
  EXPECT_TRUE(result.ok());
  fs::remove(path);
}

}  // namespace
}  // namespace dmcard
