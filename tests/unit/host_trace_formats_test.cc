// The other trace formats (host/trace_formats.h): scriptor scripts read line for line as
// pcsc-tools' scriptor 1.6 reads them (/usr/bin/scriptor: "exit" anywhere ends the script,
// '#' in column 1 is a comment, "reset" anywhere resets, a line without spaces is split into
// pairs, '\' continues, each byte two hex digits one space apart) and printed as it prints
// (its SW texts are pcsc-perl's ISO7816Error); apdutool scripts and their .expected.out;
// format detection. The expected outputs in tests/data/traces/ were written by hand from
// those rules and the demo card's documented answers (apdu-specs/*.json).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "host/demo_card.h"
#include "host/hosted_card.h"
#include "host/trace_formats.h"

namespace dmcard {
namespace {

namespace fs = std::filesystem;

const std::string kTraces = std::string(DMCARD_TEST_DATA_DIR) + "/traces/";

Bytes Hex(const std::string& hex) { return FromHex(hex).value(); }

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The in-process demo card as a Reader (test only).
class CardReader : public Reader {
 public:
  CardReader() {
    std::string error;
    card_ = HostedCard::Open(std::make_shared<Profile>(DemoProfile()), DemoCardConfig(), "", error);
  }
  std::string name() const override { return "test card"; }
  bool Connect(Bytes& atr, std::string&) override {
    atr = card_->PowerOn();
    return true;
  }
  bool Transmit(ByteView command, Bytes& response, std::string& error) override {
    if (card_->Transmit(command, response)) return true;
    error = "powered off";
    return false;
  }
  bool Reset(Bytes& atr, std::string&) override {
    atr = card_->Reset();
    return true;
  }
  bool PowerOff(std::string&) override {
    card_->PowerOff();
    return true;
  }
  bool PowerOn(Bytes& atr, std::string&) override {
    atr = card_->PowerOn();
    return true;
  }
  bool Remove(std::string& error) override {
    error = "cannot remove";
    return false;
  }
  bool Insert(Bytes&, std::string& error) override {
    error = "cannot insert";
    return false;
  }

 private:
  std::unique_ptr<HostedCard> card_;
};

std::string ScriptorError(const std::string& text) {
  Trace trace;
  std::string error;
  EXPECT_FALSE(ParseScriptor(text, "s.txt", trace, error)) << text;
  return error;
}

TEST(HostTraceScriptor, ReadsLinesAsScriptorDoes) {
  Trace trace;
  std::string error;
  ASSERT_TRUE(
      ParseScriptor("# comment with reset in it\n"
                    "\n"
                    "00a4040C\n"                  // no spaces: split into pairs
                    "  # not a comment: reset\n"  // '#' not in column 1, "reset"
                    "00 B0 \\\n"
                    "00 00 10\n"
                    "RESET\n"
                    "00 C0 00 00 10\n"
                    "# the script stops: EXIT\n"
                    "zz not read\n",
                    "s.txt", trace, error))
      << error;
  ASSERT_EQ(trace.steps.size(), 5u);
  EXPECT_EQ(trace.steps[0].kind, StepKind::kCommand);
  EXPECT_EQ(trace.steps[0].command[0].bytes, Hex("00A4040C"));
  EXPECT_EQ(trace.steps[0].display, "00 a4 04 0C ");
  EXPECT_EQ(trace.steps[1].kind, StepKind::kReset);
  EXPECT_EQ(trace.steps[1].where.line, 4);
  EXPECT_EQ(trace.steps[2].command[0].bytes, Hex("00B0000010"));
  EXPECT_EQ(trace.steps[2].where.line, 5);
  EXPECT_EQ(trace.steps[2].last_line, 6);
  EXPECT_EQ(trace.steps[2].display, "00 B0 00 00 10");
  EXPECT_EQ(trace.steps[3].kind, StepKind::kReset);
  EXPECT_FALSE(trace.steps[4].expect.has_value());  // scriptor checks no answer
  EXPECT_EQ(trace.source_lines.size(), 9u);         // up to the exit line
}

TEST(HostTraceScriptor, LinesScriptorStopsAtAreErrors) {
  EXPECT_EQ(ScriptorError("00 A4\n00 A4 0G\n"),
            "s.txt:2: scriptor stops here: '0G' is not a byte (two hex digits, one space "
            "between bytes)");
  EXPECT_EQ(ScriptorError("00  A4\n"),  // two spaces: an empty field
            "s.txt:1: scriptor stops here: '' is not a byte (two hex digits, one space between "
            "bytes)");
  EXPECT_EQ(ScriptorError(" 00 A4\n"),  // a leading space: an empty field
            "s.txt:1: scriptor stops here: '' is not a byte (two hex digits, one space between "
            "bytes)");
  EXPECT_EQ(ScriptorError("00 A4 04 00\r\n"),
            "s.txt:1: scriptor stops here: '00\\r' is not a byte (two hex digits, one space "
            "between bytes; the line ends in CR: a DOS line end)");
  EXPECT_NE(ScriptorError("00A40\n").find("'0'"), std::string::npos);  // odd digit count
  EXPECT_NE(ScriptorError("00\tA4\n").find("s.txt:1:"), std::string::npos);
}

TEST(HostTraceScriptor, StatusWordTextsAreIso7816ErrorOfPcscPerl) {
  const std::pair<const char*, const char*> kTexts[] = {
      {"9000", "Normal processing."},
      {"019000", "Normal processing."},
      {"9001", "Error not defined by ISO 7816"},
      {"6110", "0x10 bytes of response still available."},
      {"6282",
       "State of non-volatile memory unchanged. End of file/record reached before "
       "reading Le bytes."},
      {"6285", "State of non-volatile memory unchanged. "},
      {"63C2", "State of non-volatile memory changed. Counter: 0x2"},
      {"6300", "State of non-volatile memory changed. No information given."},
      {"6400", "State of non-volatile memory unchanged."},
      {"6581", "State of non-volatile memory changed. Memory failure."},
      {"6700", "Wrong length."},
      {"6881", "Functions in CLA not supported. Logical channel not supported."},
      {"6982", "Command not allowed. Security status not satisfied."},
      {"6985", "Command not allowed. Conditions of use not satisfied."},
      {"6A82", "Wrong parameter(s) P1-P2. File not found."},
      {"6A89", "Wrong parameter(s) P1-P2. "},
      {"6B00", "Wrong parameter(s) P1-P2."},
      {"6C10", "Wrong length Le: should be 0x10"},
      {"6D00", "Instruction code not supported or invalid."},
      {"6E00", "Class not supported."},
      {"6F00", "No precise diagnosis."},
      {"6F01", "Error not defined by ISO 7816"},
      {"6F", "wrong SW size for: 6F"},
  };
  for (const auto& [response, text] : kTexts) {
    EXPECT_EQ(ScriptorSwText(Hex(response)), text) << response;
  }
}

TEST(HostTraceScriptor, RunPrintsWhatScriptorPrints) {
  Trace trace;
  std::string error;
  ASSERT_TRUE(ReadTraceFile(kTraces + "scriptor_demo.txt", TraceFormat::kAuto, trace, error))
      << error;
  EXPECT_EQ(trace.format, TraceFormat::kScriptor);
  CardReader reader;
  std::ostringstream out;
  ScriptorPrinter printer(out);
  const RunResult result = RunTrace(trace, reader, RunOptions{}, &printer);
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(out.str(), ReadAll(kTraces + "scriptor_demo.txt.out"));
}

TEST(HostTraceApdutool, ReadsStatements) {
  Trace trace;
  std::string error;
  ASSERT_TRUE(
      ParseApdutool("powerup; // comment\n"
                    "echo \"a; b\";\n"
                    "0x80 0x10 0x00 0x00 0x00 0x7F;\n"
                    "0 164 4 0 2 0x3F 0x0 0;\n"
                    "delay 20; output off; contacted;\n"
                    "powerdown;\n",
                    "a.scr", trace, error))
      << error;
  ASSERT_EQ(trace.steps.size(), 7u);
  EXPECT_EQ(trace.steps[0].kind, StepKind::kPowerOn);
  EXPECT_EQ(trace.steps[1].text, "a; b");
  EXPECT_EQ(trace.steps[2].command[0].bytes, Hex("801000007F"));  // Lc 0: no Lc field
  EXPECT_EQ(trace.steps[3].command[0].bytes, Hex("00A40400023F0000"));
  EXPECT_EQ(trace.steps[3].where.line, 4);
  EXPECT_EQ(trace.steps[4].number, 20);
  EXPECT_EQ(trace.steps[5].kind, StepKind::kOutput);
  EXPECT_EQ(trace.steps[5].number, 0);
  EXPECT_EQ(trace.steps[6].kind, StepKind::kPowerOff);
}

TEST(HostTraceApdutool, BadStatementsSayWhereAndWhat) {
  Trace trace;
  std::string error;
  EXPECT_FALSE(
      ParseApdutool("powerup;\n0x00 0xA4 0x04 0x00 0x02 0x3F 0x7F;\n", "a.scr", trace, error));
  EXPECT_EQ(error, "a.scr:2: an APDU is CLA INS P1 P2 Lc, Lc data bytes, Le: 7 bytes with Lc 2");
  EXPECT_FALSE(ParseApdutool("0x00 0xA4 0x100 0x00 0x00 0x00;\n", "a.scr", trace = {}, error));
  EXPECT_EQ(error, "a.scr:1: '0x100' is not a byte (0x00..0xFF or 0..255) nor a command");
  EXPECT_FALSE(ParseApdutool("powerup;\n0x00 0xA4\n", "a.scr", trace = {}, error));
  EXPECT_EQ(error, "a.scr:2: the statement has no ';' at its end");
  EXPECT_FALSE(ParseApdutool("output maybe;\n", "a.scr", trace = {}, error));
  EXPECT_EQ(error, "a.scr:1: expected 'output on;' or 'output off;'");
  EXPECT_FALSE(ParseApdutool("send 0x00 to 0x01;\n", "a.scr", trace = {}, error));
  EXPECT_NE(error.find("a.scr:1: 'send'"), std::string::npos) << error;
}

TEST(HostTraceApdutool, ExpectedOutputGivesTheVerdictsAndThePrinterReproducesIt) {
  Trace trace;
  std::string error;
  ASSERT_TRUE(ReadTraceFile(kTraces + "apdutool_demo.scr", TraceFormat::kAuto, trace, error))
      << error;
  EXPECT_EQ(trace.format, TraceFormat::kApdutool);
  size_t expected = 0;
  for (const Step& s : trace.steps) expected += s.expect.has_value();
  EXPECT_EQ(expected, 3u);  // the command under `output off;` has no line
  CardReader reader;
  std::ostringstream out;
  ApdutoolPrinter printer(out);
  RunOptions options;
  options.honour_delays = false;
  const RunResult result = RunTrace(trace, reader, options, &printer);
  for (const StepResult& s : result.steps) EXPECT_TRUE(s.message.empty()) << s.message;
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(out.str(), ReadAll(kTraces + "apdutool_demo.scr.expected.out"));
}

TEST(HostTraceApdutool, TamperedExpectedOutputFails) {
  Trace trace;
  std::string error;
  ASSERT_TRUE(ReadTraceFile(kTraces + "apdutool_tampered.scr", TraceFormat::kAuto, trace, error))
      << error;
  CardReader reader;
  RunOptions options;
  options.honour_delays = false;
  const RunResult result = RunTrace(trace, reader, options, nullptr);
  EXPECT_EQ(result.failed, 1u);
  std::string message;
  for (const StepResult& s : result.steps) message += s.message;
  EXPECT_NE(message.find("apdutool_tampered.scr:12: the answer to 00 B0 01 F0 10 does not match"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("F2 F2"), std::string::npos) << message;  // expected F2, actual F1
}

TEST(HostTraceApdutool, ExpectedOutputMustPairWithTheCommands) {
  Trace trace;
  std::string error;
  ASSERT_TRUE(ParseApdutool("0x00 0xB0 0x00 0x00 0x00 0x10;\n", "a.scr", trace, error));
  EXPECT_FALSE(
      ApplyApdutoolExpected("CLA: 00, INS: b0, P1: 00, P2: 01, Lc: 00, Le: 00, SW1: 90, "
                            "SW2: 00\n",
                            "a.out", trace, error));
  EXPECT_EQ(error, "a.out:1: this exchange is not the one of a.scr:1");
  EXPECT_FALSE(ApplyApdutoolExpected("hello\n", "a.out", trace, error));
  EXPECT_EQ(error, "a.out: 1 of the script's commands have no exchange line");
  EXPECT_FALSE(
      ApplyApdutoolExpected("CLA: 00, INS: b0, Le: 03, SW1: 90, SW2: 00\n", "a.out", trace, error));
  EXPECT_NE(error.find("a.out:1: not an apdutool exchange line"), std::string::npos) << error;
}

TEST(HostTraceFormats, ApdutoolLineStyle) {
  EXPECT_EQ(ApdutoolLine(Hex("00A4040C023F00"), Hex("9000")),
            "CLA: 00, INS: a4, P1: 04, P2: 0c, Lc: 02, 3f, 00, Le: 00, SW1: 90, SW2: 00");
  EXPECT_EQ(ApdutoolLine(Hex("00B0000002"), Hex("ABCD6282")),
            "CLA: 00, INS: b0, P1: 00, P2: 00, Lc: 00, Le: 02, ab, cd, SW1: 62, SW2: 82");
}

TEST(HostTraceFormats, DetectionByExtensionThenContent) {
  EXPECT_EQ(DetectTraceFormat("x.scr", "00 A4 04 00"), TraceFormat::kApdutool);
  EXPECT_EQ(DetectTraceFormat("x.trace", "00 A4 04 00"), TraceFormat::kNative);
  EXPECT_EQ(DetectTraceFormat("x.txt", "# c\n\n> 00 A4\n"), TraceFormat::kNative);
  EXPECT_EQ(DetectTraceFormat("x.apdu", "@atr 3B\n"), TraceFormat::kNative);
  EXPECT_EQ(DetectTraceFormat("x.apdu", "// c\npowerup;\n"), TraceFormat::kApdutool);
  EXPECT_EQ(DetectTraceFormat("x.apdu", "0x00 0xA4 0x04 0x00 0x00 0x00;\n"),
            TraceFormat::kApdutool);
  EXPECT_EQ(DetectTraceFormat("x.txt", "# c\nreset\n00 A4 04 00\n"), TraceFormat::kScriptor);
  EXPECT_EQ(DetectTraceFormat("script", "00A40400\n"), TraceFormat::kScriptor);
}

}  // namespace
}  // namespace dmcard
