// `dmcard shell`: an interactive session with a card — a prompt with line editing and history
// (libedit) on a terminal, one line at a time from a pipe. Lines are APDUs in hex or named
// commands (`help` lists them).
#pragma once

#include "host/reader.h"

namespace dmcard::cli {

// Runs the shell until `quit` or end of input. Exit code: 0, or 1 when a line was not
// understood (a script fed on standard input then fails).
int RunShell(Reader& reader);

}  // namespace dmcard::cli
