// The `dmcard` subcommands that are a few lines each: readers, demo, send, check.
#pragma once

#include <string>
#include <vector>

#include "card_access.h"

namespace dmcard::cli {

int RunReaders();
int RunDemo(const CardOptions& options);
int RunSend(const CardOptions& options, const std::vector<std::string>& apdus);
// `dmcard check --state DIR`: host/state_check.h on DIR, or on each slot folder of a
// dmcard-vicc --state folder. Exit 0 when the card starts from every one (repairs included), 1
// when one is damaged, 2 for a wrong command line, 4 when a running card holds one.
int RunCheck(const std::string& state_dir);
constexpr int kExitInUse = 4;

}  // namespace dmcard::cli
