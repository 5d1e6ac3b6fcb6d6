// The data tables (malformed APDUs, ACLs) replay through the host's one trace model and runner
// (host/trace.h, host/trace_runner.h), as the golden traces and the apdu-specs examples do: a
// row becomes a trace step, the card under test a Reader, a mismatch the runner's diff.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "host/reader.h"
#include "host/trace.h"
#include "host/trace_runner.h"

namespace dmcard::testing {

// A card under test as a Reader: each command goes to `transmit` (the card itself, or a secure
// session over it). The card is powered already; power events are not the table's business.
class TransmitReader final : public Reader {
 public:
  explicit TransmitReader(std::function<Bytes(ByteView)> transmit)
      : transmit_(std::move(transmit)) {}
  std::string name() const override { return "card under test"; }
  bool Connect(Bytes& atr, std::string&) override {
    atr.clear();
    return true;
  }
  bool Transmit(ByteView command, Bytes& response, std::string&) override {
    response = transmit_(command);
    return true;
  }
  bool Reset(Bytes&, std::string& error) override { return Unsupported(error); }
  bool PowerOff(std::string& error) override { return Unsupported(error); }
  bool PowerOn(Bytes&, std::string& error) override { return Unsupported(error); }
  bool Remove(std::string& error) override { return Unsupported(error); }
  bool Insert(Bytes&, std::string& error) override { return Unsupported(error); }

 private:
  static bool Unsupported(std::string& error) {
    error = "a table row has no power events";
    return false;
  }
  std::function<Bytes(ByteView)> transmit_;
};

// A trace of `exchanges` (C-APDU hex, expected response in the native '<' syntax: "6982",
// "0102 9000", "?? 9000") located at `file`:`line`. Fails the calling test on a row that does
// not parse.
inline Trace RowTrace(const std::string& file, int line,
                      const std::vector<std::pair<std::string, std::string>>& exchanges) {
  Trace trace;
  trace.name = file + ":" + std::to_string(line);
  for (const auto& [command, expected] : exchanges) {
    Step step;
    step.where = SourceLocation{file, line};
    step.last_line = line;
    ResponseMatcher matcher;
    std::string error;
    // An empty C-APDU (a table's malformed input) is one empty part: the native format has no
    // line for it, the model does.
    const bool empty = command.find_first_not_of(" ") == std::string::npos;
    if (empty) step.command.push_back(CommandPart{});
    if ((!empty && !ParseCommandParts(command, step.command, error)) ||
        !ParseResponseMatcher(expected, matcher, error)) {
      ADD_FAILURE() << file << ":" << line << ": " << error;
      return trace;
    }
    step.expect = std::move(matcher);
    trace.steps.push_back(std::move(step));
  }
  return trace;
}

// Runs `trace` on `reader`; each failed step fails the calling test with the runner's diff.
inline void ExpectTracePasses(const Trace& trace, Reader& reader) {
  RunOptions options;
  options.honour_delays = false;
  const RunResult result = RunTrace(trace, reader, options, nullptr);
  EXPECT_TRUE(result.ok()) << result.connect_error;
  EXPECT_EQ(result.passed, trace.steps.size());
  for (const StepResult& step : result.steps) {
    if (!step.message.empty()) ADD_FAILURE() << step.message;
  }
}

}  // namespace dmcard::testing
