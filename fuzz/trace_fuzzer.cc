// Trace files `dmcard run` reads (host/trace.h, host/trace_formats.h; docs/trace-format.md): the
// native format (with @include, confined here to the scratch directory), pcsc-tools scriptor
// scripts, Java Card apdutool scripts with their .expected.out, and format detection. The first
// byte picks the reader. Oracles on what reads: every matcher prints (ToString) to text that
// reads back to the same matcher, and every command a recorder would write (TraceWriter::
// CommandLine) reads back to the same bytes.
#include <cstdint>
#include <map>
#include <string>

#include "fuzz_files.h"
#include "fuzz_input.h"
#include "host/trace.h"
#include "host/trace_formats.h"

namespace {

using namespace dmcard;

// @include names outside the scratch directory are not followed (they could name a device).
bool IncludesOutside(std::string_view text) {
  for (size_t at = text.find("include"); at != std::string_view::npos;
       at = text.find("include", at + 1)) {
    const size_t eol = text.find('\n', at);
    const std::string_view rest = text.substr(at, eol == std::string_view::npos ? eol : eol - at);
    if (rest.find('/') != std::string_view::npos || rest.find("..") != std::string_view::npos)
      return true;
  }
  return false;
}

void CheckSteps(const Trace& trace) {
  std::map<std::string, Bytes> values;
  for (const Step& step : trace.steps) {
    if (step.kind == StepKind::kSet) values[step.text] = step.bytes;
    if (step.kind != StepKind::kCommand) continue;
    if (step.expect) {
      const std::string text = step.expect->ToString() + (fuzz::Broken("trace-matcher") ? "?" : "");
      ResponseMatcher back;
      std::string error;
      if (!ParseResponseMatcher(text, back, error) || back.ToString() != text) {
        fuzz::OracleViolation("trace", "the matcher '" + text + "' does not read back: " + error);
      }
    }
    Bytes command;
    std::string error;
    if (!BuildCommand(step.command, values, command, error)) continue;
    const std::string line = TraceWriter::CommandLine(command, /*withhold=*/false);
    std::vector<CommandPart> parts;
    Bytes again;
    const std::string_view after = line.starts_with("> ") ? std::string_view(line).substr(2) : line;
    if (!ParseCommandParts(after, parts, error) || !BuildCommand(parts, {}, again, error) ||
        again != command) {
      fuzz::OracleViolation("trace", "the recorded line '" + line + "' does not replay " +
                                         ToHex(command) + ": " + error);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  const uint8_t pick = in.Byte();
  const std::string_view text = fuzz::Text(in.Until(0x00));
  const std::string_view expected = fuzz::Text(in.Rest());
  if (IncludesOutside(text)) return 0;
  Trace trace;
  std::string error;
  bool ok = false;
  switch (pick % 4) {
    case 0: {
      // Written out too, so that an @include of itself is read.
      const auto file = fuzz::WriteScratch(
          "self.trace", ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
      ok = ParseNativeTrace(text, file.string(), trace, error);
      break;
    }
    case 1:
      ok = ParseScriptor(text, "fuzz.script", trace, error);
      break;
    case 2:
      ok = ParseApdutool(text, "fuzz.scr", trace, error) &&
           (expected.empty() ||
            ApplyApdutoolExpected(expected, "fuzz.scr.expected.out", trace, error));
      break;
    default: {
      static const char* const kNames[] = {"t.trace", "t.scr", "t.txt", "t"};
      const std::string name = kNames[(pick >> 2) % 4];
      const auto file = fuzz::WriteScratch(
          name, ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
      fuzz::WriteScratch(
          name + ".expected.out",
          ByteView(reinterpret_cast<const uint8_t*>(expected.data()), expected.size()));
      DetectTraceFormat(file, text);
      ok = ReadTraceFile(file, TraceFormat::kAuto, trace, error);
    }
  }
  if (ok) CheckSteps(trace);
  return 0;
}
