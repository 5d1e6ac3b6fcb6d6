// Which card a `dmcard` command talks to, from its options: a PC/SC reader (`-r NAME|INDEX`) or
// the card run in-process (`--direct [--state DIR] [--profile FILE] [--t0]`), and how what a
// command does is printed the same way for both.
#pragma once

#include <memory>
#include <string>

#include "host/command_namer.h"
#include "host/reader.h"

namespace dmcard::cli {

struct CardOptions {
  std::string reader;      // -r: PC/SC reader name or index
  bool direct = false;     // --direct: the in-process card
  std::string state_dir;   // --state: its persistent memory (implies --direct)
  std::string profile;     // --profile: the profile a new in-process card is made from
  bool t0 = false;         // --t0: the in-process card speaks T=0
  bool exclusive = false;  // --exclusive: hold the PC/SC card exclusively
  std::string control;     // --control: dmcard-vicc's control socket (remove/insert)
};

// The reader the options name. With neither -r nor an in-process option, `direct_by_default`
// picks the in-process card; else PC/SC reader 0. Null with a message on standard error.
std::unique_ptr<Reader> OpenReader(const CardOptions& options, bool direct_by_default);

// The same, connected: `atr` is the card's answer to reset. Null with a message on standard
// error when the reader or the card cannot be reached.
std::unique_ptr<Reader> OpenConnected(const CardOptions& options, bool direct_by_default,
                                      Bytes& atr);

// Prints on standard error what the in-process card has to say (a repaired torn write, a memory
// failure); nothing for other readers.
void PrintNotices(Reader& reader);

// "6F 44 ... 90 00" as "6F 44 …  9000 (meaning)", the meaning from the command reference.
std::string FormatResponse(const Bytes& response);

// One exchange as `send` and the shell show it: the command with its name from the command
// reference (following selections), each GET RESPONSE or Le retry, the response with its status
// word's meaning. `withhold` shows the command's data as "**" per byte (a typed PIN). False when
// the reader failed; the message is on standard error.
bool PrintedExchange(Reader& reader, CommandNamer& namer, const Bytes& apdu, bool withhold = false);

// Exit codes: 0 done, 1 the card or a check said no, 2 the command line was wrong.
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

}  // namespace dmcard::cli
