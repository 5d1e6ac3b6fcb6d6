// The other trace formats `dmcard run` reads into the one trace model (host/trace.h), and the
// printers that show a run in each tool's own output style:
// - pcsc-tools `scriptor` scripts (hex APDUs, `reset`, `exit`, `#` comments), read exactly as
//   scriptor 1.6 reads them, printed as scriptor prints them;
// - Java Card Development Kit `apdutool` scripts (.scr: `powerup;`, `0x00 0xA4 ... 0x7F;`,
//   `echo "...";`, `output on|off;`, `delay N;`, `//` comments), with the kit's convention of
//   a `FILE.scr.expected.out` holding the output the script must give.
// Format detection and the rules are in docs/trace-format.md ("Other formats").
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <string_view>

#include "host/trace.h"
#include "host/trace_runner.h"

namespace dmcard {

// A scriptor script. Lines are taken as scriptor takes them (see docs/trace-format.md): a
// line that scriptor would stop at (a byte that is not two hex digits) is an error here,
// with its file:line. Commands carry no expectation: scriptor checks none.
bool ParseScriptor(std::string_view text, const std::string& file, Trace& trace,
                   std::string& error);

// An apdutool script. An APDU statement is CLA INS P1 P2 Lc data... Le (bytes as 0xHH or
// decimal); it is sent as CLA INS P1 P2 [Lc data] Le.
bool ParseApdutool(std::string_view text, const std::string& file, Trace& trace,
                   std::string& error);

// Takes the "CLA: .., SW1: .., SW2: .." lines of an apdutool expected output (`file` names it)
// as the exact expected responses of the trace's commands, in order (the commands run under
// `output off;` have none). False when the lines and commands do not pair up.
bool ApplyApdutoolExpected(std::string_view expected_out, const std::string& file, Trace& trace,
                           std::string& error);

// The format of `path` holding `text`: .scr is apdutool, .trace native, anything else by its
// first line that is not blank or a comment: '>', '<' or '@' native; a ';' or "0x" apdutool;
// otherwise scriptor.
TraceFormat DetectTraceFormat(const std::filesystem::path& path, std::string_view text);

// Reads `path` in `format` (kAuto: detected). An apdutool script's `path`.expected.out, when
// it exists, gives the expected responses.
bool ReadTraceFile(const std::filesystem::path& path, TraceFormat format, Trace& trace,
                   std::string& error);

// The status word's meaning as scriptor prints it (Chipcard::PCSC::Card::ISO7816Error of
// pcsc-perl), e.g. "Normal processing." for 90 00. `response` is the whole R-APDU.
std::string ScriptorSwText(ByteView response);
// "< 6F 15 ... : Normal processing." (a line break after every 16 bytes), as scriptor prints
// an answer, without the final newline.
std::string ScriptorResponseLine(ByteView response);

// "CLA: 00, INS: a4, P1: 04, P2: 00, Lc: 09, a0, ..., Le: 02, 6f, 00, SW1: 90, SW2: 00": an
// exchange as apdutool prints it (Le: the number of data bytes the card answered).
std::string ApdutoolLine(ByteView command, ByteView response);

// Prints a run as scriptor does: the script's lines echoed (scriptor echoes a script it reads
// from a file), "> COMMAND" and "< RESPONSE : MEANING" per exchange, "> RESET" and
// "< OK: ATR" per reset. `header` (e.g. "Using T=1 protocol") is printed first when not empty.
class ScriptorPrinter : public TraceObserver {
 public:
  explicit ScriptorPrinter(std::ostream& out, std::string header = {})
      : out_(out), header_(std::move(header)) {}
  void OnStart(const Trace& trace, ByteView atr) override;
  void OnStep(const Trace& trace, size_t index, size_t total, const StepResult& result) override;
  void OnEnd(const Trace& trace, const RunResult& result) override;

 private:
  void EchoUpTo(const Trace& trace, size_t lines);

  std::ostream& out_;
  std::string header_;
  size_t echoed_ = 0;  // source lines echoed so far
};

// Prints a run as `apdutool -nobanner -noatr` does: one ApdutoolLine per exchange while output
// is on, the text of each echo.
class ApdutoolPrinter : public TraceObserver {
 public:
  explicit ApdutoolPrinter(std::ostream& out) : out_(out) {}
  void OnStep(const Trace& trace, size_t index, size_t total, const StepResult& result) override;

 private:
  std::ostream& out_;
  bool output_ = true;
};

}  // namespace dmcard
