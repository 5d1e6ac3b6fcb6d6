// Unmodified PC/SC tools against the card: opensc-tool, scriptor, pcsc_scan. They run as
// children of this process, so they see its /run/pcscd (our pcscd) and nothing else.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "pcsc_fixture.h"

namespace dmcard::pcsctest {
namespace {

using Pcsc_Tools = PcscTest;

bool Installed(const char* tool) {
  return RunTool({"sh", "-c", std::string("command -v ") + tool}).exit_code == 0;
}

// Upper-case hex digits only (drops separators), to compare ATRs whatever their layout.
std::string HexDigits(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

std::string Spaced(const std::string& hex) { return ToHex(Hex(hex), true); }

TEST_F(Pcsc_Tools, OpenscToolPrintsTheAtr) {
  if (!Installed("opensc-tool")) GTEST_SKIP() << "opensc-tool not installed (package opensc)";
  StartVicc();
  ToolResult r = RunTool({"opensc-tool", "-r", "Virtual PCD 00 00", "-a"});
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // opensc-tool prints the ATR as 3b:8c:81:...
  std::string line = r.output.substr(0, r.output.find('\n'));
  EXPECT_NE(r.output.find(':'), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("3b:8c:81:31:fe:45"), std::string::npos) << r.output;
  EXPECT_NE(HexDigits(r.output).find(kAtrT1), std::string::npos) << r.output;
}

TEST_F(Pcsc_Tools, ScriptorSelectAnswers9000) {
  if (!Installed("scriptor")) GTEST_SKIP() << "scriptor not installed (package pcsc-tools)";
  StartVicc();
  ToolResult r = RunTool({"scriptor", "-r", "Virtual PCD 00 00"},
                         "00 A4 04 00 09 F0 44 4D 43 41 52 44 46 53\n");
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // "< 6F 15 ... 90 00 : Normal processing." (wrapped every 16 bytes)
  EXPECT_NE(r.output.find("90 00 : Normal processing."), std::string::npos) << r.output;
  EXPECT_NE(HexDigits(r.output).find(std::string(kFsAppletFci) + "9000"), std::string::npos)
      << r.output;
}

TEST_F(Pcsc_Tools, PcscScanListsReaderAndAtr) {
  if (!Installed("pcsc_scan")) GTEST_SKIP() << "pcsc_scan not installed (package pcsc-tools)";
  StartVicc();
  // -t: quit after 1 s; -n: no ATR analysis (it may want the network for its ATR list).
  ToolResult r = RunTool({"pcsc_scan", "-n", "-t", "1"}, "", std::chrono::milliseconds(10000));
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_NE(r.output.find("Virtual PCD 00 00"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(Spaced(kAtrT1)), std::string::npos) << r.output;
}

// The lines a scriptor-style run prints for the card's answers ("< 90 00 : Normal processing."),
// in order.
std::vector<std::string> AnswerLines(const std::string& output) {
  std::vector<std::string> lines;
  std::string line;
  for (std::istringstream in(output); std::getline(in, line);) {
    if (line.rfind("< ", 0) == 0) lines.push_back(line);
  }
  return lines;
}

// Issue 11 must-show: the same scriptor script gives the same verdicts under the real scriptor
// (pcsc-tools) and under `dmcard run`, which prints it in scriptor's own style: the same answer
// lines, the same exit status — for a good script and for one scriptor stops at.
TEST_F(Pcsc_Tools, ScriptorAndDmcardRunGiveTheSameVerdicts) {
  if (!Installed("scriptor")) GTEST_SKIP() << "scriptor not installed (package pcsc-tools)";
  StartVicc();
  const std::string dir = NewStateDir();
  std::filesystem::create_directories(dir);
  const std::string good = dir + "/good.script";
  std::ofstream(good) << "# the file system applet, an unknown file, a reset, EF 5001\n"
                         "00 A4 04 00 09 F0 44 4D 43 41 52 44 46 53 00\n"
                         "00 A4 00 0C 02 12 34\n"
                         "reset\n"
                         "00 A4 08 0C 04 50 00 50 01\n"
                         "00 B0 00 00 20\n"
                         "00B0000004\n";
  const std::string bad = dir + "/bad.script";
  std::ofstream(bad) << "00 A4 04 00 09 F0 44 4D 43 41 52 44 46 53 00\n00 A4 0G\n";
  for (const std::string& script : {good, bad}) {
    SCOPED_TRACE(script);
    ToolResult real = RunTool({"scriptor", "-r", "Virtual PCD 00 00", script});
    ToolResult ours = RunTool({DMCARD_CLI_PATH, "-r", "Virtual PCD 00 00", "run", script});
    ASSERT_FALSE(real.timed_out || ours.timed_out) << real.output << ours.output;
    EXPECT_EQ(ours.exit_code == 0, real.exit_code == 0) << real.output << "\n---\n" << ours.output;
    if (script == good) {
      EXPECT_EQ(real.exit_code, 0) << real.output;
      const std::vector<std::string> answers = AnswerLines(real.output);
      EXPECT_EQ(answers.size(), 6u) << real.output;  // 5 APDUs and the reset's "< OK: ATR"
      EXPECT_EQ(AnswerLines(ours.output), answers) << real.output << "\n---\n" << ours.output;
    } else {
      EXPECT_NE(real.exit_code, 0) << real.output;
    }
  }
}

}  // namespace
// The exchange lines ("> ..." and "< ...") of a dmcard run, in order.
std::vector<std::string> ExchangeLines(const std::string& output) {
  std::vector<std::string> lines;
  std::string line;
  for (std::istringstream in(output); std::getline(in, line);) {
    if (line.rfind("> ", 0) == 0 || line.rfind("< ", 0) == 0 || line.rfind("./", 0) == 0 ||
        line.rfind("├", 0) == 0 || line.rfind("└", 0) == 0) {
      lines.push_back(line);
    }
  }
  return lines;
}

// Issue 11: every dmcard command works against a PC/SC reader (-r) with the same results as
// in-process (--direct); readers lists the card; the shell takes the card out and puts it back
// through dmcard-vicc's control socket.
TEST_F(Pcsc_Tools, DmcardGivesTheSameAnswersThroughPcscAsInProcess) {
  ViccProcess& vicc = StartVicc();
  const std::string cli = DMCARD_CLI_PATH;
  ToolResult readers = RunTool({cli, "readers"});
  EXPECT_EQ(readers.exit_code, 0) << readers.output;
  EXPECT_NE(readers.output.find("0  Virtual PCD 00 00\n   T=1  ATR " + Spaced(kAtrT1)),
            std::string::npos)
      << readers.output;
  const std::vector<std::string> apdus = {"00A404000AF0444D434152442D444D00",
                                          "803000000D2E2F446576496E666F2F4D616E00", "80CA00A500",
                                          "00A4000C021234"};
  std::vector<std::string> pcsc = {cli, "-r", "Virtual PCD 00 00", "send"};
  std::vector<std::string> direct = {cli, "--direct", "send"};
  pcsc.insert(pcsc.end(), apdus.begin(), apdus.end());
  direct.insert(direct.end(), apdus.begin(), apdus.end());
  ToolResult by_pcsc = RunTool(pcsc);
  ToolResult in_process = RunTool(direct);
  EXPECT_EQ(by_pcsc.exit_code, 0) << by_pcsc.output;
  EXPECT_EQ(ExchangeLines(by_pcsc.output), ExchangeLines(in_process.output))
      << by_pcsc.output << "\n---\n"
      << in_process.output;
  EXPECT_EQ(ExchangeLines(by_pcsc.output).size(), 8u) << by_pcsc.output;
  ToolResult tree_pcsc = RunTool({cli, "-r", "0", "tree", "./DevInfo"});
  ToolResult tree_direct = RunTool({cli, "--direct", "tree", "./DevInfo"});
  EXPECT_EQ(tree_pcsc.exit_code, 0) << tree_pcsc.output;
  EXPECT_EQ(tree_pcsc.output, tree_direct.output);
  ToolResult dms = RunTool({cli, "-r", "0", "dms", "get", "./DevInfo/Man"});
  EXPECT_EQ(dms.exit_code, 0) << dms.output;
  EXPECT_NE(dms.output.find("./DevInfo/Man = dmcard"), std::string::npos) << dms.output;
  ToolResult shell = RunTool({cli, "-r", "0", "--control", vicc.control_path(), "shell"},
                             "remove\ninsert\nselect dm\n", std::chrono::milliseconds(20000));
  EXPECT_EQ(shell.exit_code, 0) << shell.output;
  EXPECT_NE(shell.output.find("card removed\nATR: " + Spaced(kAtrT1)), std::string::npos)
      << shell.output;
  EXPECT_NE(shell.output.find("9000 (success)"), std::string::npos) << shell.output;
}

}  // namespace dmcard::pcsctest
