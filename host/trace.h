// The host's one trace model: a list of steps (commands with their expected responses, power
// events, named cases) read from a trace file of any supported format (host/trace_formats.h),
// run against a card by host/trace_runner.h, and written by `dmcard-vicc --record` through
// TraceWriter. The native format is described in docs/trace-format.md.
//
// Nothing here throws: parsing reports the first problem as "file:line: what is wrong".
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/bytes.h"

namespace dmcard {

// Where a step was written, for messages ("cards/verify.trace:12").
struct SourceLocation {
  std::string file;
  int line = 0;
  std::string ToString() const;
};

// One expected byte: it matches `actual` when (actual & mask) == value. mask FF is an exact
// byte, 00 any byte ("??"), F0 or 0F one nibble given ("6?", "?3").
struct BytePattern {
  uint8_t value = 0;
  uint8_t mask = 0xFF;
  bool Matches(uint8_t actual) const { return (actual & mask) == value; }
  // "6F", "??", "6?", "?3".
  std::string ToString() const;
};

// One piece of an expected response's data field.
struct DataItem {
  enum class Kind {
    kBytes,    // the bytes of `bytes`, each masked
    kAny,      // any `length` bytes ("{8}"), or any number of bytes ("*") when `rest`
    kCapture,  // `length` bytes (all the remaining ones when `rest`) saved under `name`
  };
  Kind kind = Kind::kBytes;
  std::vector<BytePattern> bytes;
  size_t length = 0;
  bool rest = false;  // takes every byte up to the status word; only the last item may
  std::string name;
};

// What a command's answer must be: its data field and one of the status words in `sw`.
struct ResponseMatcher {
  std::vector<DataItem> data;
  std::vector<std::vector<BytePattern>> sw;  // alternatives, 2 patterns each, at least one
  // Whether `response` (data and SW) matches; the bytes captured go to `captures` (may be null)
  // only when it does.
  bool Matches(ByteView response, std::map<std::string, Bytes>* captures) const;
  // The matcher in the native syntax ("6F ?? {8:challenge} 90 00|62 83").
  std::string ToString() const;
};

// One piece of a command: bytes given, bytes withheld when recorded ("**"), or the value of a
// capture or @set value ("${name}").
struct CommandPart {
  enum class Kind { kBytes, kWithheld, kValue };
  Kind kind = Kind::kBytes;
  Bytes bytes;       // kBytes
  size_t count = 0;  // kWithheld: how many bytes
  std::string name;  // kValue
};

enum class StepKind {
  kCommand,   // a C-APDU, with or without an expected response
  kAtr,       // the ATR of the latest power-on/reset (or of connecting) must match `atr`
  kPowerOn,   // cold: powers the card (again)
  kPowerOff,  //
  kReset,     // warm reset
  kRemove,    // the card taken out of the reader
  kInsert,    // and put back
  kCase,      // a named test case starts here (`text`), for JUnit
  kSet,       // the value `bytes` saved under `text`, as if captured
  kEcho,      // `text` printed (apdutool `echo`, native `@echo`)
  kDelay,     // a pause of `number` ms (apdutool `delay`)
  kOutput,    // printing of exchanges on (`number` 1) or off (0) (apdutool `output on|off`)
};

struct Step {
  StepKind kind = StepKind::kCommand;
  SourceLocation where;
  int last_line = 0;  // the step's last source line (a scriptor command continued with '\')
  std::vector<CommandPart> command;       // kCommand
  std::optional<ResponseMatcher> expect;  // kCommand: none = any answer is accepted
  std::vector<BytePattern> atr;           // kAtr
  std::string text;                       // kCase, kSet, kEcho
  Bytes bytes;                            // kSet
  long number = 0;                        // kDelay, kOutput
  std::string display;  // the command as its format's tool prints it (scriptor); empty = hex
};

enum class TraceFormat { kAuto, kNative, kScriptor, kApdutool };

struct Trace {
  std::string name;  // the file's name without its extension (the JUnit suite name)
  TraceFormat format = TraceFormat::kNative;
  std::vector<Step> steps;
  // The main file's lines, for printers that echo the script (scriptor does).
  std::vector<std::string> source_lines;
};

// Patterns of hex digits where '?' is any nibble: "6F??A?" gives 3 patterns. False with
// `error` set on an odd digit count or another character.
bool ParseBytePatterns(std::string_view text, std::vector<BytePattern>& out, std::string& error);
// The text after '<' in the native format.
bool ParseResponseMatcher(std::string_view text, ResponseMatcher& out, std::string& error);
// The text after '>' in the native format.
bool ParseCommandParts(std::string_view text, std::vector<CommandPart>& out, std::string& error);
// The bytes of `parts` with the values of `values`. False with `error` set when a value is
// unknown or bytes were withheld.
bool BuildCommand(const std::vector<CommandPart>& parts, const std::map<std::string, Bytes>& values,
                  Bytes& out, std::string& error);

// A trace in the native format (v1 and v2) from `text`; `file` names it in messages and
// resolves @include. Steps are appended to `trace`.
bool ParseNativeTrace(std::string_view text, const std::string& file, Trace& trace,
                      std::string& error);

// Writes the native format as `dmcard-vicc --record` does: a header comment, the ATR, power
// events and exchanges, with the data of commands carrying secrets withheld as "**".
class TraceWriter {
 public:
  TraceWriter() = default;
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;
  TraceWriter(TraceWriter&& other) noexcept : file_(std::exchange(other.file_, nullptr)) {}
  TraceWriter& operator=(TraceWriter&& other) noexcept {
    std::swap(file_, other.file_);
    return *this;
  }
  ~TraceWriter();

  // Creates (or truncates) `path`, readable and writable by its owner only (0600, also when
  // the file existed): a trace holds everything the clients sent. Writes "# `header`" and the
  // "@atr" line.
  bool Open(const std::filesystem::path& path, const std::string& header, ByteView atr,
            std::string& error);
  bool is_open() const { return file_ != nullptr; }
  void Close();

  void PowerOn() { Line("@power-on"); }
  void PowerOff() { Line("@power-off"); }
  void Reset() { Line("@reset"); }
  void Remove() { Line("@remove"); }
  void Insert() { Line("@insert"); }
  // One exchange; `withhold`: the command's data (after its header when malformed) as "**".
  void Exchange(ByteView command, ByteView response, bool withhold);

  // A C-APDU as a trace line, withheld or not.
  static std::string CommandLine(ByteView command, bool withhold);

 private:
  void Line(const std::string& line);

  std::FILE* file_ = nullptr;
};

}  // namespace dmcard
