#include "run_command.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "host/command_namer.h"
#include "host/direct_reader.h"
#include "host/trace_formats.h"
#include "host/trace_runner.h"

namespace dmcard::cli {

namespace {

// Native traces: the exchanges with -v (named from the command reference), every failure as
// its diff, and a progress bar on a terminal.
class NativePrinter final : public TraceObserver {
 public:
  NativePrinter(bool verbose, bool progress) : verbose_(verbose), progress_(progress) {}

  void OnStart(const Trace& trace, ByteView atr) override {
    namer_.Reset();
    if (verbose_) std::printf("# %s  ATR %s\n", trace.name.c_str(), ToHex(atr, ' ').c_str());
  }

  void OnStep(const Trace& trace, size_t index, size_t total, const StepResult& result) override {
    const Step& step = trace.steps[index];
    if (step.kind == StepKind::kCommand && result.verdict != StepVerdict::kSkipped) {
      if (verbose_) {
        ClearBar();
        std::printf("> %s    %s\n", ToHex(result.command, ' ').c_str(),
                    namer_.Name(result.command).Describe().c_str());
        if (!result.response.empty())
          std::printf("< %s\n", FormatResponse(result.response).c_str());
      }
      namer_.Observe(result.command, result.response);
    } else if (step.kind == StepKind::kCase && verbose_) {
      ClearBar();
      std::printf("@case %s\n", step.text.c_str());
    } else if (step.kind == StepKind::kPowerOn || step.kind == StepKind::kPowerOff ||
               step.kind == StepKind::kReset || step.kind == StepKind::kInsert ||
               step.kind == StepKind::kRemove) {
      namer_.Reset();
    }
    if (result.verdict == StepVerdict::kFailed || result.verdict == StepVerdict::kError) {
      ClearBar();
      std::fflush(stdout);
      std::printf("%s %s\n", result.verdict == StepVerdict::kFailed ? "FAILED" : "ERROR",
                  result.message.c_str());
    }
    if (progress_ && total >= 50) DrawBar(trace, index + 1, total);
  }

  void OnEnd(const Trace&, const RunResult&) override { ClearBar(); }

 private:
  void DrawBar(const Trace& trace, size_t done, size_t total) {
    constexpr size_t kWidth = 30;
    const size_t filled = done * kWidth / total;
    std::fprintf(stderr, "\r%s [%s%s] %zu/%zu", trace.name.c_str(),
                 std::string(filled, '#').c_str(), std::string(kWidth - filled, ' ').c_str(), done,
                 total);
    bar_shown_ = true;
  }
  void ClearBar() {
    if (!bar_shown_) return;
    std::fprintf(stderr, "\r\033[K");
    bar_shown_ = false;
  }

  bool verbose_;
  bool progress_;
  bool bar_shown_ = false;
  CommandNamer namer_;
};

bool ParseFormat(const std::string& text, TraceFormat& format) {
  if (text == "auto")
    format = TraceFormat::kAuto;
  else if (text == "native")
    format = TraceFormat::kNative;
  else if (text == "scriptor")
    format = TraceFormat::kScriptor;
  else if (text == "apdutool")
    format = TraceFormat::kApdutool;
  else
    return false;
  return true;
}

std::string Summary(const RunResult& r) {
  return std::to_string(r.passed) + " passed, " + std::to_string(r.failed) + " failed, " +
         std::to_string(r.errors) + " broken, " + std::to_string(r.skipped) + " skipped";
}

}  // namespace

int RunTraces(const CardOptions& card, const RunCommandOptions& options) {
  TraceFormat format = TraceFormat::kAuto;
  if (!ParseFormat(options.format, format)) {
    std::fprintf(stderr, "dmcard: --format must be auto, native, scriptor or apdutool, not '%s'\n",
                 options.format.c_str());
    return kExitUsage;
  }
  RunOptions run;
  run.stop_at_first_failure = options.stop;
  for (const std::string& v : options.values) {
    const auto eq = v.find('=');
    auto bytes = eq == std::string::npos ? std::nullopt : FromHex(v.substr(eq + 1));
    if (eq == 0 || !bytes) {
      std::fprintf(stderr, "dmcard: --set takes NAME=HEX (e.g. --set pin=31323334), not '%s'\n",
                   v.c_str());
      return kExitUsage;
    }
    run.values[v.substr(0, eq)] = *bytes;
  }
  // Every file is read before the card is touched: a typo in the last one costs nothing.
  std::vector<Trace> traces;
  for (const std::string& file : options.files) {
    Trace trace;
    std::string error;
    if (!ReadTraceFile(file, format, trace, error)) {
      std::fprintf(stderr, "dmcard: %s\n", error.c_str());
      return kExitFailed;
    }
    traces.push_back(std::move(trace));
  }
  auto reader = OpenReader(card, /*direct_by_default=*/false);
  if (!reader) return kExitFailed;
  // An in-process card in RAM is made afresh for each file: traces such as the golden ones
  // start from a fresh card. With --state (or a PC/SC card) the files share the one card.
  const bool fresh_each = card.state_dir.empty() && dynamic_cast<DirectReader*>(reader.get());
  const bool progress = options.progress && ::isatty(STDERR_FILENO) != 0;
  std::vector<RunResult> results;
  bool all_ok = true;
  for (const Trace& trace : traces) {
    if (fresh_each && !results.empty()) {
      reader = OpenReader(card, false);
      if (!reader) return kExitFailed;
    }
    std::unique_ptr<TraceObserver> printer;
    if (trace.format == TraceFormat::kScriptor) {
      printer = std::make_unique<ScriptorPrinter>(std::cout);
    } else if (trace.format == TraceFormat::kApdutool) {
      printer = std::make_unique<ApdutoolPrinter>(std::cout);
    } else {
      printer = std::make_unique<NativePrinter>(options.verbose, progress);
    }
    RunResult r = RunTrace(trace, *reader, run, printer.get());
    std::cout.flush();
    std::fflush(stdout);
    PrintNotices(*reader);
    if (!r.connect_error.empty()) {
      std::fprintf(stderr, "dmcard: %s: %s\n", trace.name.c_str(), r.connect_error.c_str());
    }
    if (trace.format == TraceFormat::kNative) {
      std::printf("%s %s: %s\n", r.ok() ? "PASS" : "FAIL", trace.name.c_str(), Summary(r).c_str());
    } else if (!r.ok()) {
      for (const StepResult& s : r.steps) {
        if (!s.message.empty()) std::fprintf(stderr, "dmcard: %s\n", s.message.c_str());
      }
    }
    all_ok = all_ok && r.ok();
    results.push_back(std::move(r));
  }
  if (!options.junit.empty()) {
    std::string error;
    if (!WriteJUnit(options.junit, results, error)) {
      std::fprintf(stderr, "dmcard: %s\n", error.c_str());
      return kExitFailed;
    }
  }
  return all_ok ? kExitOk : kExitFailed;
}

}  // namespace dmcard::cli
