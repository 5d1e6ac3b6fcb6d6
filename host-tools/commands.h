// The `dmcard` subcommands that are a few lines each: readers, demo, send.
#pragma once

#include <string>
#include <vector>

#include "card_access.h"

namespace dmcard::cli {

int RunReaders();
int RunDemo(const CardOptions& options);
int RunSend(const CardOptions& options, const std::vector<std::string>& apdus);

}  // namespace dmcard::cli
