// `dmcard device provision`: the reference handset's provisioning flow (host/device_provision.h)
// on the command line — UC511/UC512 from the card's own data, UC-CR from a bootstrap package
// (`--package FILE`), the user asked on the terminal or answered by `--yes`/`--no`/`--pin`, the
// device's DM tree in `--tree FILE`.
//
// Exit status: 0 provisioned (or already up to date, or the card holds no provisioning data:
// UC511a), 1 the card refused or something failed (the tree file is unchanged), 2 the command
// line was wrong, 3 the user declined (nothing written).
#pragma once

#include <string>

#include "card_access.h"
#include "host/reader.h"

namespace CLI {
class App;
}

namespace dmcard::cli {

struct DeviceProvisionOptions {
  std::string tree = "device-tree.xml";  // --tree: the device's DM tree (TNDS XML)
  std::string package;                   // --package: the network's bootstrap package
  bool yes = false;                      // --yes: accept when the card asks (USA1)
  bool no = false;                       // --no: decline when the card asks
  std::string pin;                       // --pin: what the user types for USERPIN methods
};

// 3: the user declined the card's provisioning data (USA1); nothing was written.
constexpr int kExitDeclined = 3;

// Adds `device` with its subcommand `provision` to `app`; the options land in `options`. The
// returned subcommand's parsed() says whether it was chosen.
CLI::App* AddDeviceCommand(CLI::App& app, DeviceProvisionOptions& options);

// Runs the flow on `reader`'s card and prints what was found and done.
int RunDeviceProvision(Reader& reader, const DeviceProvisionOptions& options);

// The same on the card the card options name (PC/SC reader 0 unless told otherwise).
int RunDeviceProvision(const CardOptions& card, const DeviceProvisionOptions& options);

}  // namespace dmcard::cli
