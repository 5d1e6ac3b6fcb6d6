// The trace runner: steps against a Reader, answers against their matchers, results per step
// and per case, mismatch diffs, JUnit XML.
#include "host/trace_runner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "runtime/sw_text.h"

namespace dmcard {

namespace {

constexpr size_t kDiffRowBytes = 16;
constexpr size_t kDiffMaxRows = 8;

using Clock = std::chrono::steady_clock;

// One byte of the expected data, as the diff shows it.
struct ExpectedUnit {
  BytePattern pattern;
  bool free = false;  // any value goes: {N}, captures, '*' (shown "..")
  std::string ToString() const { return free ? ".." : pattern.ToString(); }
};

// The expected data of `items`, one unit per byte; '*' stands for as many bytes as the
// `actual_size` bytes of the answer leave.
std::vector<ExpectedUnit> ExpectedUnits(const std::vector<DataItem>& items, size_t actual_size) {
  size_t fixed = 0;
  for (const DataItem& item : items) {
    if (!item.rest) fixed += item.kind == DataItem::Kind::kBytes ? item.bytes.size() : item.length;
  }
  std::vector<ExpectedUnit> units;
  for (const DataItem& item : items) {
    if (item.kind == DataItem::Kind::kBytes) {
      for (const BytePattern& p : item.bytes) units.push_back(ExpectedUnit{p, false});
      continue;
    }
    const size_t n = item.rest ? (actual_size > fixed ? actual_size - fixed : 0) : item.length;
    units.insert(units.end(), n, ExpectedUnit{BytePattern{0, 0}, true});
  }
  return units;
}

std::string SwText(const std::vector<std::vector<BytePattern>>& sw) {
  std::string s;
  for (const std::vector<BytePattern>& alt : sw) {
    if (!s.empty()) s += " or ";
    for (const BytePattern& p : alt) s += p.ToString();
  }
  return s;
}

bool AtrMatches(const std::vector<BytePattern>& expect, ByteView atr) {
  if (expect.size() != atr.size()) return false;
  for (size_t i = 0; i < atr.size(); ++i) {
    if (!expect[i].Matches(atr[i])) return false;
  }
  return true;
}

std::string PatternsHex(const std::vector<BytePattern>& patterns) {
  std::string s;
  for (const BytePattern& p : patterns) s += (s.empty() ? "" : " ") + p.ToString();
  return s;
}

struct StepRunner {
  Reader& reader;
  const RunOptions& options;
  std::map<std::string, Bytes> values;
  Bytes atr;  // of the latest power-on, reset, insertion or connection

  void Run(const Step& step, StepResult& result);
  void Command(const Step& step, StepResult& result);
  void Fail(const Step& step, StepResult& result, StepVerdict verdict, const std::string& why) {
    result.verdict = verdict;
    result.message = step.where.ToString() + ": " + why;
  }
  // A reader call's outcome: its error makes the step broken.
  void Check(bool ok, const Step& step, StepResult& result, const std::string& error) {
    if (!ok) Fail(step, result, StepVerdict::kError, reader.name() + ": " + error);
  }
};

void StepRunner::Run(const Step& step, StepResult& result) {
  std::string error;
  switch (step.kind) {
    case StepKind::kCommand:
      return Command(step, result);
    case StepKind::kAtr:
      result.atr = atr;
      if (!AtrMatches(step.atr, atr)) {
        Fail(step, result, StepVerdict::kFailed,
             "ATR does not match\n  expected: " + PatternsHex(step.atr) +
                 "\n  actual:   " + ToHex(atr, ' '));
      }
      return;
    case StepKind::kPowerOn:
      Check(reader.PowerOn(atr, error), step, result, error);
      break;
    case StepKind::kPowerOff:
      Check(reader.PowerOff(error), step, result, error);
      return;
    case StepKind::kReset:
      Check(reader.Reset(atr, error), step, result, error);
      break;
    case StepKind::kRemove:
      Check(reader.Remove(error), step, result, error);
      return;
    case StepKind::kInsert:
      Check(reader.Insert(atr, error), step, result, error);
      break;
    case StepKind::kSet:
      values[step.text] = step.bytes;
      return;
    case StepKind::kDelay:
      if (options.honour_delays)
        std::this_thread::sleep_for(std::chrono::milliseconds(step.number));
      return;
    case StepKind::kCase:
    case StepKind::kEcho:
    case StepKind::kOutput:
      return;
  }
  result.atr = atr;
}

void StepRunner::Command(const Step& step, StepResult& result) {
  std::string error;
  if (!BuildCommand(step.command, values, result.command, error)) {
    return Fail(step, result, StepVerdict::kError, error);
  }
  if (!reader.Transmit(result.command, result.response, error)) {
    return Fail(step, result, StepVerdict::kError, reader.name() + ": " + error);
  }
  if (step.expect && !step.expect->Matches(result.response, &values)) {
    Fail(step, result, StepVerdict::kFailed,
         "the answer to " + ToHex(result.command, ' ') + " does not match\n" +
             DescribeMismatch(*step.expect, result.response));
  }
}

struct CaseCollector {
  RunResult& run;
  CaseResult current;
  Clock::time_point start = Clock::now();

  // Whether the case was kept (an empty one only with `keep_empty`).
  bool Close(bool keep_empty) {
    current.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (current.steps == 0 && !keep_empty) return false;
    run.cases.push_back(current);
    return true;
  }
  void Open(const std::string& name, const SourceLocation& where) {
    current = CaseResult{};
    current.name = name;
    current.where = where;
    start = Clock::now();
  }
  void Count(const StepResult& r) {
    ++current.steps;
    switch (r.verdict) {
      case StepVerdict::kPassed:
        ++run.passed;
        break;
      case StepVerdict::kFailed:
        ++run.failed;
        ++current.failures;
        current.messages.push_back(r.message);
        break;
      case StepVerdict::kError:
        ++run.errors;
        ++current.errors;
        current.messages.push_back(r.message);
        break;
      case StepVerdict::kSkipped:
        ++run.skipped;
        ++current.skipped;
        break;
    }
  }
};

std::string XmlEscape(std::string_view text) {
  std::string s;
  for (char c : text) {
    switch (c) {
      case '&':
        s += "&amp;";
        break;
      case '<':
        s += "&lt;";
        break;
      case '>':
        s += "&gt;";
        break;
      case '"':
        s += "&quot;";
        break;
      case '\'':
        s += "&apos;";
        break;
      default:
        // XML 1.0 allows no other control character, even escaped.
        s +=
            (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') ? '?' : c;
    }
  }
  return s;
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

void CaseXml(const std::string& suite, const CaseResult& c, std::string& xml) {
  xml += "    <testcase name=\"" + XmlEscape(c.name) + "\" classname=\"" + XmlEscape(suite) +
         "\" time=\"" + std::to_string(c.seconds) + "\"";
  if (c.ok() && c.skipped == 0) {
    xml += "/>\n";
    return;
  }
  xml += ">\n";
  if (!c.ok()) {
    const char* tag = c.errors > 0 ? "error" : "failure";
    std::string body;
    for (const std::string& m : c.messages) body += m + "\n";
    xml += std::string("      <") + tag + " message=\"" + XmlEscape(FirstLine(c.messages[0])) +
           "\">" + XmlEscape(body) + "</" + tag + ">\n";
  } else {
    xml += "      <skipped/>\n";
  }
  xml += "    </testcase>\n";
}

}  // namespace

std::string DescribeMismatch(const ResponseMatcher& expect, ByteView response) {
  std::string out;
  if (response.size() < 2) {
    return "  expected: " + expect.ToString() + "\n  actual:   " + ToHex(response, ' ') +
           " (no status word)";
  }
  const ByteView body = response.first(response.size() - 2);
  const std::vector<ExpectedUnit> units = ExpectedUnits(expect.data, body.size());
  const size_t n = std::max(units.size(), body.size());
  size_t rows = 0;
  for (size_t row = 0; row < n; row += kDiffRowBytes) {
    std::string e, a, marks;
    bool row_differs = false;
    for (size_t i = row; i < std::min(n, row + kDiffRowBytes); ++i) {
      const bool have_e = i < units.size(), have_a = i < body.size();
      const bool bad = !have_e || !have_a || !units[i].pattern.Matches(body[i]);
      row_differs |= bad;
      e += (have_e ? units[i].ToString() : "--") + " ";
      a += (have_a ? ToHex(body.subspan(i, 1)) : "--") + " ";
      marks += bad ? "^^ " : "   ";
    }
    if (!row_differs) continue;
    if (++rows > kDiffMaxRows) {
      out += "  (more differences not shown)\n";
      break;
    }
    char offset[24];
    std::snprintf(offset, sizeof offset, "%04zX", row);
    out += "  data at " + std::string(offset) + " expected: " + e + "\n";
    out += "               actual:   " + a + "\n";
    out += "                         " + marks + "\n";
  }
  if (units.size() != body.size()) {
    out += "  data: expected " + std::to_string(units.size()) +
           (!expect.data.empty() && expect.data.back().rest ? " or more" : "") + " bytes, got " +
           std::to_string(body.size()) + "\n";
  }
  const uint16_t sw = static_cast<uint16_t>(ReadU16(response.data() + response.size() - 2));
  char hex[16];
  std::snprintf(hex, sizeof hex, "%04X", sw);
  ResponseMatcher sw_only;
  sw_only.sw = expect.sw;
  const bool sw_ok = sw_only.Matches(response.last(2), nullptr);
  out += std::string("  status word ") + hex + " (" + DescribeSw(sw) + ")" +
         (sw_ok ? "" : ", expected " + SwText(expect.sw));
  return out;
}

RunResult RunTrace(const Trace& trace, Reader& reader, const RunOptions& options,
                   TraceObserver* observer) {
  RunResult run;
  run.name = trace.name;
  run.steps.resize(trace.steps.size());
  StepRunner runner{reader, options, options.values, {}};
  std::string error;
  if (!reader.Connect(runner.atr, error)) {
    run.connect_error = reader.name() + ": " + error;
    if (observer != nullptr) observer->OnEnd(trace, run);
    return run;
  }
  if (observer != nullptr) observer->OnStart(trace, runner.atr);
  CaseCollector cases{run, {}};
  cases.Open(trace.name, SourceLocation{trace.name, 0});
  bool stopped = false;
  for (size_t i = 0; i < trace.steps.size(); ++i) {
    const Step& step = trace.steps[i];
    StepResult& result = run.steps[i];
    if (step.kind == StepKind::kCase) {
      if (cases.Close(false) && observer != nullptr) observer->OnCaseEnd(run.cases.back());
      cases.Open(step.text, step.where);
    } else {
      if (stopped) {
        result.verdict = StepVerdict::kSkipped;
      } else {
        runner.Run(step, result);
      }
      cases.Count(result);
      stopped |= options.stop_at_first_failure &&
                 (result.verdict == StepVerdict::kFailed || result.verdict == StepVerdict::kError);
    }
    if (observer != nullptr) observer->OnStep(trace, i, trace.steps.size(), result);
  }
  if (cases.Close(run.cases.empty()) && observer != nullptr) observer->OnCaseEnd(run.cases.back());
  if (observer != nullptr) observer->OnEnd(trace, run);
  return run;
}

std::string JUnitXml(const std::vector<RunResult>& runs) {
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n";
  for (const RunResult& run : runs) {
    size_t failures = 0, errors = 0, skipped = 0;
    double seconds = 0;
    std::vector<CaseResult> cases = run.cases;
    if (!run.connect_error.empty()) {
      CaseResult connect;
      connect.name = "connect";
      connect.errors = 1;
      connect.messages.push_back(run.connect_error);
      cases.insert(cases.begin(), connect);
    }
    for (const CaseResult& c : cases) {
      if (c.errors > 0) {
        ++errors;
      } else if (c.failures > 0) {
        ++failures;
      } else if (c.skipped > 0) {
        ++skipped;
      }
      seconds += c.seconds;
    }
    xml += "  <testsuite name=\"" + XmlEscape(run.name) + "\" tests=\"" +
           std::to_string(cases.size()) + "\" failures=\"" + std::to_string(failures) +
           "\" errors=\"" + std::to_string(errors) + "\" skipped=\"" + std::to_string(skipped) +
           "\" time=\"" + std::to_string(seconds) + "\">\n";
    for (const CaseResult& c : cases) CaseXml(run.name, c, xml);
    xml += "  </testsuite>\n";
  }
  return xml + "</testsuites>\n";
}

bool WriteJUnit(const std::filesystem::path& path, const std::vector<RunResult>& runs,
                std::string& error) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << JUnitXml(runs);
  out.close();
  if (!out) {
    error = "cannot write " + path.string();
    return false;
  }
  return true;
}

}  // namespace dmcard
