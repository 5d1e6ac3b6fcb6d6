// The trace model (host/trace.h): the native format's reader (v1 as dmcard-vicc --record
// writes it, v2's matchers, captures, cases), its error messages (file:line and what is
// wrong), the response matchers against the rules of docs/trace-format.md, and TraceWriter's
// lines and file mode.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

#include "data_table.h"
#include "host/trace.h"

namespace dmcard {
namespace {

namespace fs = std::filesystem;

const std::string kTraces = std::string(DMCARD_TEST_DATA_DIR) + "/traces/";

Bytes Hex(const std::string& hex) { return FromHex(hex).value(); }

bool Parse(const std::string& text, Trace& trace, std::string& error) {
  return ParseNativeTrace(text, "t.trace", trace, error);
}

std::string ParseError(const std::string& text) {
  Trace trace;
  std::string error;
  EXPECT_FALSE(Parse(text, trace, error)) << text;
  return error;
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(HostTraceMatcher, TableOfMatchersAndResponses) {
  for (const testing::TableRow& row : testing::ReadTable(kTraces + "matchers.data", 4)) {
    ResponseMatcher m;
    std::string error;
    ASSERT_TRUE(ParseResponseMatcher(row.fields[0], m, error)) << row.line << ": " << error;
    EXPECT_EQ(m.Matches(Hex(row.fields[1]), nullptr), row.fields[2] == "yes")
        << "matchers.data:" << row.line << ": " << row.fields[3];
  }
}

TEST(HostTraceMatcher, StatusWordAlternatives) {
  ResponseMatcher m;
  std::string error;
  ASSERT_TRUE(ParseResponseMatcher("* 9000|6283|63C?", m, error)) << error;
  EXPECT_EQ(m.sw.size(), 3u);
  EXPECT_TRUE(m.Matches(Hex("019000"), nullptr));
  EXPECT_TRUE(m.Matches(Hex("6283"), nullptr));
  EXPECT_TRUE(m.Matches(Hex("63C0"), nullptr));
  EXPECT_FALSE(m.Matches(Hex("6282"), nullptr));
  EXPECT_FALSE(m.Matches(Hex("6300"), nullptr));
  EXPECT_EQ(m.ToString(), "* 9000|6283|63C?");
}

TEST(HostTraceMatcher, CapturesOnlyWhenTheWholeResponseMatches) {
  ResponseMatcher m;
  std::string error;
  ASSERT_TRUE(ParseResponseMatcher("{2:head} 00 {*:tail} 90 00", m, error)) << error;
  std::map<std::string, Bytes> captures;
  EXPECT_FALSE(m.Matches(Hex("0A0B01CCDD9000"), &captures));  // third byte is not 00
  EXPECT_TRUE(captures.empty());
  EXPECT_TRUE(m.Matches(Hex("0A0B00CCDD9000"), &captures));
  EXPECT_EQ(captures["head"], Hex("0A0B"));
  EXPECT_EQ(captures["tail"], Hex("CCDD"));
  EXPECT_EQ(m.ToString(), "{2:head} 00 {*:tail} 90 00");
}

TEST(HostTraceMatcher, BadMatchersAreRefused) {
  ResponseMatcher m;
  std::string error;
  EXPECT_FALSE(ParseResponseMatcher("", m, error));
  EXPECT_FALSE(ParseResponseMatcher("90", m = {}, error));  // one byte: no status word
  EXPECT_NE(error.find("status word"), std::string::npos) << error;
  EXPECT_FALSE(ParseResponseMatcher("01 {4}", m = {}, error));      // ends without a SW
  EXPECT_FALSE(ParseResponseMatcher("* 01 90 00", m = {}, error));  // bytes after '*'
  EXPECT_NE(error.find("nothing may follow"), std::string::npos) << error;
  EXPECT_FALSE(ParseResponseMatcher("9G 00", m = {}, error));
  EXPECT_FALSE(ParseResponseMatcher("900 0", m = {}, error));  // 3 + 1 digits: not bytes
  EXPECT_FALSE(ParseResponseMatcher("{x} 90 00", m = {}, error));
  EXPECT_FALSE(ParseResponseMatcher("{4:a b} 90 00", m = {}, error));
  EXPECT_FALSE(ParseResponseMatcher("90 00|62", m = {}, error));  // alternative of 1 byte
}

TEST(HostTraceNative, ReadsVersion1AsRecorded) {
  Trace trace;
  std::string error;
  ASSERT_TRUE(ParseNativeTrace(ReadAll(kTraces + "demo_v1.trace"), "demo_v1.trace", trace, error))
      << error;
  ASSERT_GE(trace.steps.size(), 4u);
  EXPECT_EQ(trace.steps[0].kind, StepKind::kAtr);
  EXPECT_EQ(trace.steps[0].where.ToString(), "demo_v1.trace:4");
  EXPECT_EQ(trace.steps[0].atr.size(), 19u);
  EXPECT_EQ(trace.steps[1].kind, StepKind::kPowerOn);
  const Step& select = trace.steps[2];
  EXPECT_EQ(select.kind, StepKind::kCommand);
  EXPECT_EQ(select.where.line, 6);
  EXPECT_EQ(select.last_line, 7);
  Bytes command;
  ASSERT_TRUE(BuildCommand(select.command, {}, command, error));
  EXPECT_EQ(command, Hex("00A4040009F0444D43415244465300"));
  ASSERT_TRUE(select.expect.has_value());
  EXPECT_TRUE(select.expect->Matches(
      Hex("6F1C820138 83023F00 8409F0444D434152444653 8A0105 AB0580017F9700 9000"), nullptr));
  size_t kinds[16] = {};
  for (const Step& s : trace.steps) ++kinds[static_cast<int>(s.kind)];
  EXPECT_EQ(kinds[static_cast<int>(StepKind::kCommand)], 15u);
  EXPECT_EQ(kinds[static_cast<int>(StepKind::kPowerOn)], 2u);
  EXPECT_EQ(kinds[static_cast<int>(StepKind::kPowerOff)], 1u);
  EXPECT_EQ(kinds[static_cast<int>(StepKind::kReset)], 1u);
  EXPECT_EQ(trace.source_lines.size(), 38u);
}

TEST(HostTraceNative, ReadsVersion2Directives) {
  Trace trace;
  std::string error;
  ASSERT_TRUE(
      Parse("@case UC511 normal\n"
            "@remove\n@insert   # comment after a directive\n"
            "@set pin 3132 3334\n"
            "> 00 20 00 01 04 ${pin}\n"
            "< 90 00\n"
            "> 00 B0 00 00 00\n"  // no '<': any answer
            "@echo hello there\n"
            "@delay 5\n",
            trace, error))
      << error;
  ASSERT_EQ(trace.steps.size(), 8u);
  EXPECT_EQ(trace.steps[0].kind, StepKind::kCase);
  EXPECT_EQ(trace.steps[0].text, "UC511 normal");
  EXPECT_EQ(trace.steps[1].kind, StepKind::kRemove);
  EXPECT_EQ(trace.steps[2].kind, StepKind::kInsert);
  EXPECT_EQ(trace.steps[3].kind, StepKind::kSet);
  EXPECT_EQ(trace.steps[3].bytes, Hex("31323334"));
  Bytes command;
  ASSERT_TRUE(BuildCommand(trace.steps[4].command, {{"pin", Hex("31323334")}}, command, error));
  EXPECT_EQ(command, Hex("002000010431323334"));
  EXPECT_FALSE(trace.steps[5].expect.has_value());
  EXPECT_EQ(trace.steps[6].text, "hello there");
  EXPECT_EQ(trace.steps[7].number, 5);
}

TEST(HostTraceNative, IncludeKeepsTheIncludedFilesLines) {
  const fs::path dir = fs::temp_directory_path() / ("dmcard_trace_inc_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "part.trace") << "# part\n> 00 A4 00 0C 02 12 34\n< 6A 82\n";
  std::ofstream(dir / "main.trace") << "@power-on\n@include part.trace\n@reset\n";
  std::ofstream(dir / "loop.trace") << "@include loop.trace\n";
  Trace trace;
  std::string error;
  ASSERT_TRUE(
      ParseNativeTrace(ReadAll(dir / "main.trace"), (dir / "main.trace").string(), trace, error))
      << error;
  ASSERT_EQ(trace.steps.size(), 3u);
  EXPECT_EQ(trace.steps[1].where.ToString(), (dir / "part.trace").string() + ":2");
  EXPECT_EQ(trace.source_lines.size(), 3u);  // the main file's only
  Trace loop;
  EXPECT_FALSE(
      ParseNativeTrace(ReadAll(dir / "loop.trace"), (dir / "loop.trace").string(), loop, error));
  EXPECT_NE(error.find("nested"), std::string::npos) << error;
  fs::remove_all(dir);
}

TEST(HostTraceNative, BadLinesSayWhereAndWhat) {
  EXPECT_EQ(ParseError("@power-on\n\nx 00 A4\n"),
            "t.trace:3: a line starts with '>' (command), '<' (expected response), '@' "
            "(directive) or '#' (comment), not 'x'");
  EXPECT_EQ(ParseError("> 00 A4 0G\n"),
            "t.trace:1: '0G' is not hex bytes, '**' (a withheld byte) or ${name} (a captured "
            "value)");
  EXPECT_EQ(ParseError("@power-on\n< 90 00\n"),
            "t.trace:2: a '<' line (expected response) must follow its '>' line (command)");
  EXPECT_EQ(ParseError("> 00 A4\n< 90 00\n< 90 00\n"),
            "t.trace:3: a '<' line (expected response) must follow its '>' line (command)");
  EXPECT_NE(ParseError("> 00\n< 90\n").find("t.trace:2: the expected response must end with"),
            std::string::npos);
  EXPECT_NE(ParseError("@bogus\n").find("t.trace:1: unknown directive '@bogus'"),
            std::string::npos);
  EXPECT_EQ(ParseError("@reset now\n"), "t.trace:1: @reset takes no argument");
  EXPECT_EQ(ParseError("@case\n"), "t.trace:1: @case needs a name");
  EXPECT_EQ(ParseError("@set pin 313\n"), "t.trace:1: @set pin: the value is not hex");
  EXPECT_NE(ParseError("@atr\n").find("t.trace:1: @atr"), std::string::npos);
  EXPECT_NE(ParseError(">\n").find("t.trace:1: a '>' line needs"), std::string::npos);
  EXPECT_NE(ParseError("> 00 ${bad name\n").find("t.trace:1:"), std::string::npos);
}

TEST(HostTraceNative, WithheldBytesCannotBeSent) {
  Trace trace;
  std::string error;
  ASSERT_TRUE(Parse("> 00 20 00 01 04 ** ** ** **\n< 90 00\n", trace, error)) << error;
  Bytes command;
  EXPECT_FALSE(BuildCommand(trace.steps[0].command, {}, command, error));
  EXPECT_NE(error.find("recorded without secrets"), std::string::npos) << error;
  EXPECT_NE(error.find("re-record with --record-secrets"), std::string::npos) << error;
  EXPECT_FALSE(
      BuildCommand({CommandPart{CommandPart::Kind::kValue, {}, 0, "x"}}, {}, command, error));
  EXPECT_NE(error.find("${x} has no value"), std::string::npos) << error;
}

TEST(HostTraceWriter, WritesTheRecordedFormatWithMode0600) {
  const fs::path path =
      fs::temp_directory_path() / ("dmcard_trace_w_" + std::to_string(getpid()) + ".trace");
  std::ofstream(path) << "old content\n";
  fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  {
    TraceWriter writer;
    std::string error;
    ASSERT_TRUE(writer.Open(path, "dmcard trace v1: slot 0, demo card, port 35963",
                            Hex("3B8C8131FE458073F201DF5664"), error))
        << error;
    writer.PowerOn();
    writer.Exchange(Hex("00A4000C023F00"), Hex("9000"), false);
    writer.Exchange(Hex("002000010431323334"), Hex("9000"), true);  // data withheld
    writer.Exchange(Hex("00200001"), Hex("6700"), true);            // malformed: after header
    writer.Exchange(Hex("0020000104313233"), Hex("6700"), true);    // Lc says 4, 3 follow
    writer.Reset();
    writer.PowerOff();
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadAll(path),
            "# dmcard trace v1: slot 0, demo card, port 35963\n"
            "@atr 3B 8C 81 31 FE 45 80 73 F2 01 DF 56 64\n"
            "@power-on\n"
            "> 00 A4 00 0C 02 3F 00\n"
            "< 90 00\n"
            "> 00 20 00 01 04 ** ** ** **\n"
            "< 90 00\n"
            "> 00 20 00 01\n"
            "< 67 00\n"
            "> 00 20 00 01 ** ** ** **\n"
            "< 67 00\n"
            "@reset\n"
            "@power-off\n");
  fs::remove(path);
}

TEST(HostTraceWriter, UnwritablePathIsAnError) {
  TraceWriter writer;
  std::string error;
  EXPECT_FALSE(writer.Open("/nonexistent-dir/x.trace", "h", {}, error));
  EXPECT_NE(error.find("cannot write trace /nonexistent-dir/x.trace"), std::string::npos) << error;
}

}  // namespace
}  // namespace dmcard
