// `dmcard device provision` (device_command.h).
#include "device_command.h"

#include <unistd.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "host/device_provision.h"

namespace dmcard::cli {

namespace {

constexpr const char* kProvisionFooter = R"(
What the card says decides the flow (its DM applet's descriptor, SC7):
  no provisioning data   UC511a: nothing to incorporate; the device would connect to the DM
                         server with the card's key and get its parameters over the air
  provisioning data      UC511/UC512: the DM accounts (and the connectivity they name) are read
                         from the card's PKCS#15 EF(DM_Bootstrap) as handsets read it
  user confirmation      USA1: you are asked (or --yes / --no); without a terminal and without
                         either option the command refuses
  autoconnect            USA3: the DM server's address the device connects to is printed
--package FILE (UC-CR): the network's bootstrap package, the VERIFY BOOTSTRAP command data
(80 method | 81 message | 82 MAC | [84 sequence] | [85 KVN]) in binary or as hex text ('#'
comments allowed). The card checks it (VERIFY BOOTSTRAP P1 00, verify only); for USERPIN,
USERNETWPIN and USERPINMAC you type the PIN or digits (or --pin).
The device tree (--tree, TNDS XML) is created if missing. Each DM account ./DMAcc/<name> and
connectivity object ./Con/<kind>/<name> the data holds replaces the device's wholesale; every
other node is kept (user preferences). The file is replaced atomically, never half-written.
Exit status: 0 provisioned (or nothing to do), 1 the card refused or something failed (the
tree file is unchanged), 2 the command line was wrong, 3 you declined (nothing written).)";

std::string FlagsText(uint8_t flags) {
  std::string out;
  const auto add = [&](bool on, const char* text) {
    if (on) out += (out.empty() ? "" : ", ") + std::string(text);
  };
  add((flags & DmDescriptor::kProvisioningData) != 0, "provisioning data");
  add((flags & DmDescriptor::kUserConfirmation) != 0, "user confirmation");
  add((flags & DmDescriptor::kAutoconnect) != 0, "autoconnect");
  return out.empty() ? "none" : out;
}

void PrintReport(const ProvisionReport& r, const DeviceProvisionOptions& options) {
  if (r.descriptor) {
    std::printf("Card: DM applet, tree generation %u, flags %02X (%s)\n", r.descriptor->generation,
                r.descriptor->flags, FlagsText(r.descriptor->flags).c_str());
  }
  if (r.outcome == ProvisionOutcome::kNoProvisioningData) {
    std::printf(
        "No provisioning data on the card (no DM account): it holds only keys. The device would "
        "connect to the DM server with the card's key and get its parameters over the air "
        "(UC511a). Nothing written.\n");
    return;
  }
  if (r.source.empty()) return;
  std::printf("Data: %s", r.source.c_str());
  if (r.method) std::printf("; the card's flags for it: %s", FlagsText(r.card_flags).c_str());
  std::printf("\n");
  for (const std::string& a : r.accounts) std::printf("DM account: %s\n", a.c_str());
  if (!r.kept_on_card.empty()) {
    std::printf("Kept on the card (secret, written without a value): %zu leaves\n",
                r.kept_on_card.size());
  }
  if (r.outcome == ProvisionOutcome::kDeclined) {
    std::printf("Declined: nothing written to %s.\n", options.tree.c_str());
    return;
  }
  if (r.outcome != ProvisionOutcome::kProvisioned) return;
  for (const std::string& s : r.replaced) {
    std::printf("Replaced the device's %s (existing configuration overridden)\n", s.c_str());
  }
  if (r.changes.empty()) {
    std::printf("%s already holds this data: nothing changed.\n", options.tree.c_str());
  } else {
    std::printf("%s %s, %zu node(s) changed:\n", options.tree.c_str(),
                r.tree_created ? "created" : "updated", r.changes.size());
    for (const TreeChange& c : r.changes) {
      const char mark = c.kind == TreeChange::Kind::kAdded     ? '+'
                        : c.kind == TreeChange::Kind::kChanged ? '~'
                                                               : '-';
      std::printf("  %c %s\n", mark, c.uri.c_str());
    }
  }
  for (const DmsAddress& a : r.connect_to) {
    if (a.address.empty()) {
      std::printf("Autoconnect: the account %s names no server address\n", a.account.c_str());
      continue;
    }
    std::printf("Autoconnect: connect to the DM server at %s%s%s (ServerID %s, account %s)\n",
                a.address.c_str(), a.port.empty() ? "" : " port ", a.port.c_str(),
                a.server_id.empty() ? "?" : a.server_id.c_str(), a.account.c_str());
  }
}

}  // namespace

CLI::App* AddDeviceCommand(CLI::App& app, DeviceProvisionOptions& options) {
  CLI::App* device = app.add_subcommand("device", "the reference handset's side of the card");
  device->require_subcommand(1);
  CLI::App* provision = device->add_subcommand(
      "provision",
      "provision the device's DM tree from the card (UC511, UC512) or from a network bootstrap "
      "package the card verifies (UC-CR)");
  provision->footer(kProvisionFooter);
  provision->add_option("--tree", options.tree, "the device's DM tree file (TNDS XML)")
      ->type_name("FILE");
  provision->add_option("--package", options.package, "the network's bootstrap package (UC-CR)")
      ->type_name("FILE");
  CLI::Option* yes =
      provision->add_flag("--yes", options.yes, "accept when the card asks for confirmation");
  CLI::Option* no =
      provision->add_flag("--no", options.no, "decline when the card asks for confirmation");
  yes->excludes(no);
  provision->add_option("--pin", options.pin, "the PIN or digits of a USERPIN bootstrap")
      ->type_name("PIN");
  return provision;
}

int RunDeviceProvision(Reader& reader, const DeviceProvisionOptions& options) {
  if (options.yes && options.no) {
    std::fprintf(stderr, "dmcard: device provision: --yes and --no exclude each other\n");
    return kExitUsage;
  }
  ConsolePrompt::Answers answers;
  if (options.yes) answers.confirm = true;
  if (options.no) answers.confirm = false;
  if (!options.pin.empty()) answers.pin = options.pin;
  ConsolePrompt prompt(std::cin, std::cout, ::isatty(STDIN_FILENO) != 0, answers);

  ProvisionOptions provision;
  provision.tree_file = options.tree;
  provision.package = options.package;
  ProvisionReport report;
  std::string error;
  const bool ok = ProvisionDevice(reader, provision, prompt, report, error);
  std::cout.flush();
  PrintReport(report, options);
  std::fflush(stdout);
  PrintNotices(reader);
  if (!ok) {
    std::fprintf(stderr, "dmcard: device provision: %s\n", error.c_str());
    return kExitFailed;
  }
  return report.outcome == ProvisionOutcome::kDeclined ? kExitDeclined : kExitOk;
}

int RunDeviceProvision(const CardOptions& card, const DeviceProvisionOptions& options) {
  if (options.yes && options.no) {
    std::fprintf(stderr, "dmcard: device provision: --yes and --no exclude each other\n");
    return kExitUsage;
  }
  auto reader = OpenReader(card, /*direct_by_default=*/false);
  return reader ? RunDeviceProvision(*reader, options) : kExitFailed;
}

}  // namespace dmcard::cli
