// Runs a trace (host/trace.h) against a card through a Reader (host/reader.h): connects, runs
// each step, compares each answer with what the trace expects and collects a result per step
// and per named case; a mismatch is told as a diff (expected vs actual, the differing bytes
// marked, the step's file:line and the status word's meaning). Also writes the results as
// JUnit XML.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "host/reader.h"
#include "host/trace.h"

namespace dmcard {

struct RunOptions {
  // Stop at the first failed or broken step (the rest are reported as skipped).
  bool stop_at_first_failure = false;
  // Values for ${name} given from outside the trace (`dmcard run --set name=HEX`).
  std::map<std::string, Bytes> values;
  // Whether @delay / apdutool `delay` really wait (off in tests).
  bool honour_delays = true;
};

enum class StepVerdict {
  kPassed,   // ran; matched its expectation or had none
  kFailed,   // ran; the card's answer (or ATR) did not match
  kError,    // could not run: the reader failed, a value was missing, bytes were withheld
  kSkipped,  // not run (after a failure with stop_at_first_failure)
};

struct StepResult {
  StepVerdict verdict = StepVerdict::kPassed;
  Bytes command;   // the C-APDU sent (kCommand)
  Bytes response;  // the card's R-APDU (kCommand)
  Bytes atr;       // the ATR got (power-on, reset, insert; kAtr: the one compared)
  // Why it failed (a multi-line diff) or broke; empty when passed.
  std::string message;
};

// The results of the steps of one named case (@case), or of the steps before the first case.
struct CaseResult {
  std::string name;
  SourceLocation where;
  size_t steps = 0;
  size_t failures = 0;  // kFailed steps
  size_t errors = 0;    // kError steps
  size_t skipped = 0;
  double seconds = 0;
  std::vector<std::string> messages;  // of the failed and broken steps
  bool ok() const { return failures == 0 && errors == 0; }
};

struct RunResult {
  std::string name;               // the trace's name
  std::vector<StepResult> steps;  // one per trace step, same order
  std::vector<CaseResult> cases;  // in trace order
  size_t passed = 0, failed = 0, errors = 0, skipped = 0;
  std::string connect_error;  // set when the reader could not connect (nothing ran)
  bool ok() const { return connect_error.empty() && failed == 0 && errors == 0; }
};

// What the CLI needs while a trace runs: a progress bar and each exchange as it happens.
class TraceObserver {
 public:
  virtual ~TraceObserver() = default;
  // Before the first step; `atr` is the one got on connecting.
  virtual void OnStart(const Trace& /*trace*/, ByteView /*atr*/) {}
  // After step `index` (0-based) of `total` ran (or was skipped).
  virtual void OnStep(const Trace& /*trace*/, size_t /*index*/, size_t /*total*/,
                      const StepResult& /*result*/) {}
  virtual void OnCaseEnd(const CaseResult& /*result*/) {}
  virtual void OnEnd(const Trace& /*trace*/, const RunResult& /*result*/) {}
};

RunResult RunTrace(const Trace& trace, Reader& reader, const RunOptions& options,
                   TraceObserver* observer);

// The diff told when `response` does not match `expect` (used by RunTrace; public for tests
// and the CLI).
std::string DescribeMismatch(const ResponseMatcher& expect, ByteView response);

// JUnit XML: one <testsuite> per run (its name the trace's), one <testcase> per case, a
// <failure message="..."> (or <error>) per case that failed, the diffs in its text.
std::string JUnitXml(const std::vector<RunResult>& runs);
bool WriteJUnit(const std::filesystem::path& path, const std::vector<RunResult>& runs,
                std::string& error);

}  // namespace dmcard
