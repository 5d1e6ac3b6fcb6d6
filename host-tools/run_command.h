// `dmcard run FILE...`: the trace runner. Each file (native trace, scriptor or apdutool script;
// docs/trace-format.md) runs against the card; any mismatch makes the exit status 1 and is told
// as a readable diff. scriptor and apdutool scripts print in their tools' own output styles.
#pragma once

#include <string>
#include <vector>

#include "card_access.h"

namespace dmcard::cli {

struct RunCommandOptions {
  std::vector<std::string> files;
  std::string format = "auto";      // auto | native | scriptor | apdutool
  std::string junit;                // --junit FILE
  bool stop = false;                // --stop: at the first failure
  bool verbose = false;             // -v: every exchange of a native trace
  std::vector<std::string> values;  // --set NAME=HEX
  bool progress = true;             // a progress bar when standard error is a terminal
};

int RunTraces(const CardOptions& card, const RunCommandOptions& options);

}  // namespace dmcard::cli
