// The DM applet's command table: every command the applet answers, in one place. A row names the
// command's class and INS, its name in apdu-specs/dm.json, its label in logs, who may send it,
// and binds the command's typed parse (dm/requests.h) to its execute function (a DmApplet
// member that receives the already-validated request). DmApplet::Process dispatches through it,
// DmApplet::DescribeCommand names commands from it (dmcard-vicc -v), and the conformance test
// (tests/unit/apdu_specs_test.cc) fails when it and apdu-specs/dm.json disagree.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "runtime/apdu.h"
#include "runtime/bytes.h"
#include "runtime/sw.h"

namespace dmcard {
class AppletContext;
}

namespace dmcard::dm {

class DmApplet;

// ISO 7816-4 §5.4.1: CLA b8 = 0 interindustry (00-03, 40-4F), 1 proprietary (80-83, C0-CF).
enum class CommandClass : uint8_t { kInterindustry, kProprietary };

// Who may send a command, checked before it is parsed.
enum class Access : uint8_t {
  kAnyone,  // nothing checked before parsing (tree commands then apply the tree's ACLs)
  // The channel's principal is the issuer (kIssuerPrincipal: a secure session opened with the
  // issuer's key set), else 6982.
  kIssuer,
};

// One row of the table.
struct Command {
  CommandClass cls;
  uint8_t ins;
  const char* name;   // the command's "name" in apdu-specs/dm.json
  const char* label;  // how logs name it: "DM GET" (followed by its request's Describe())
  Access access;
  // True for the rows whose success changes the tree: each is logged (runtime/event_log.h,
  // kMoChanged) with who made it and what the request names, in the command's transaction.
  bool logs_change;
  // True for the row that answers the SELECT that has just selected the applet
  // (AppletContext::selecting()); such a row never answers an ordinary command.
  bool on_select;
  // Parses the command and, when it is valid, executes it; else answers the parse's status word.
  Sw (*run)(const DmApplet& applet, AppletContext& ctx, const CommandApdu& cmd, Bytes& out);
  // Parses the command and describes the request; "" when it does not parse.
  std::string (*describe)(const CommandApdu& cmd);
};

// The table (command_table.cc).
std::span<const Command> CommandTable();

// The row answering `cmd`: by class and INS among the rows with on_select == `selecting`.
// Null when the applet has no such command (6D00).
const Command* FindCommand(const CommandApdu& cmd, bool selecting);

}  // namespace dmcard::dm
