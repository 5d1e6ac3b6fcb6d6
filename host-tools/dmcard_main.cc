// dmcard: the host-side command-line tool. Every command talks to a card in a PC/SC reader
// (`-r NAME|INDEX`, real cards too) or to the card run in-process (`--direct [--state DIR]`),
// with the same results.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "card_access.h"
#include "commands.h"
#include "device_command.h"
#include "dm_commands.h"
#include "operator_commands.h"
#include "run_command.h"
#include "shell.h"

namespace dmcard::cli {
namespace {

constexpr const char* kDescription =
    "dmcard - virtual OMA DM smart card tool\n\n"
    "Every command talks to a card in a PC/SC reader (-r NAME|INDEX; reader 0 by default) or to\n"
    "the card run in-process (--direct, implied by --state, --profile and --t0).";

constexpr const char* kFooter = R"(
Examples:
  dmcard readers                      the PC/SC readers and their cards
  dmcard send 00A404000AF0444D434152442D444D00
                                      SELECT the DM applet on reader 0
  dmcard --direct shell               an interactive session with an in-process card
  dmcard demo                         a short session with the in-process demo card

--state DIR keeps the in-process card's persistent memory in DIR (card.img + card.jnl; created
if missing; one process per directory: dmcard-vicc's card 0 is DIR/slot0 of its --state,
.state/demo/slot0 for scripts/run.sh, usable here while dmcard-vicc is stopped). Without it the
card lives in RAM and forgets everything on exit. --profile FILE makes a new card from that
profile (profiles/README.md) instead of the built-in demo profile.
dmcard check --state DIR reads a state directory without changing it and says whether the card
starts from it: good, repairable (a torn write the card drops at start), DAMAGED (the card
refuses to start; restore DIR from a backup or move it away), or in use by a running card.
Exit status: 0 done, 1 the card or a check said no, 2 the command line was wrong, 3 the user
declined (device provision), 4 a running card holds the state directory (check).)";

void AddCardOptions(CLI::App& app, CardOptions& o) {
  app.add_option("-r,--reader", o.reader, "PC/SC reader: its name or index ('dmcard readers')");
  app.add_flag("--direct", o.direct, "the card in-process instead of a PC/SC reader");
  app.add_option("--state", o.state_dir, "in-process card: keep its memory in DIR")
      ->type_name("DIR");
  app.add_option("--profile", o.profile, "in-process card: make it from this profile")
      ->type_name("FILE");
  app.add_flag("--t0", o.t0, "in-process card: speak T=0 (61xx/GET RESPONSE, 6Cxx)");
  app.add_flag("--exclusive", o.exclusive, "PC/SC: hold the card exclusively");
  app.add_option("--control", o.control,
                 "PC/SC: the dmcard-vicc control socket for remove/insert (default: found from "
                 "the reader's vpcd entry)")
      ->type_name("PATH");
}

}  // namespace
}  // namespace dmcard::cli

int main(int argc, char** argv) {
  using namespace dmcard::cli;
  CLI::App app{kDescription, "dmcard"};
  app.footer(kFooter);
  app.set_version_flag("--version", "dmcard 0.1.0");
  app.require_subcommand(0, 1);
  app.fallthrough();
  CardOptions card;
  AddCardOptions(app, card);

  CLI::App* readers = app.add_subcommand("readers", "list the PC/SC readers and their cards");
  CLI::App* demo = app.add_subcommand("demo", "a short session with the in-process demo card");
  CLI::App* shell = app.add_subcommand(
      "shell", "interactive session: APDUs in hex and named commands ('help' inside)");
  std::vector<std::string> send_hex;
  CLI::App* send =
      app.add_subcommand("send", "send APDUs, print each response, its status word and meaning");
  send->add_option("apdu", send_hex, "C-APDUs in hex (one argument each)")->required();

  RunCommandOptions run_opt;
  CLI::App* run = app.add_subcommand(
      "run",
      "run trace files (native, scriptor, apdutool; docs/trace-format.md) and check "
      "every answer; exit 1 on any mismatch");
  run->add_option("file", run_opt.files, "trace or script files")->required();
  run->add_option("--format", run_opt.format, "auto (default), native, scriptor or apdutool")
      ->type_name("FMT");
  run->add_option("--junit", run_opt.junit, "write the results as JUnit XML")->type_name("FILE");
  run->add_flag("--stop", run_opt.stop, "stop at the first failure");
  run->add_flag("-v,--verbose", run_opt.verbose, "print every exchange of a native trace");
  run->add_option("--set", run_opt.values, "a value for ${NAME} in the traces")
      ->type_name("NAME=HEX");
  run->add_flag("!--no-progress", run_opt.progress, "no progress bar");

  std::string tree_uri = ".";
  bool tree_tnds = false;
  CLI::App* tree = app.add_subcommand("tree", "print the management tree as the device sees it");
  tree->add_option("uri", tree_uri, "the subtree (default: the whole tree, '.')");
  tree->add_flag("--tnds", tree_tnds, "TNDS XML (the card's EXPORT) instead of a drawing");

  std::string check_dir;
  CLI::App* check = app.add_subcommand(
      "check", "say what is wrong with a card's state directory, and whether it can start");
  check->add_option("dir", check_dir, "the directory (default: --state)")->type_name("DIR");

  DmsAuth dms_auth;
  DmsRequest dms_req;
  CLI::App* dms = app.add_subcommand(
      "dms", "act as a DM server (a management authority) over SCP03 with its key set");
  dms->require_subcommand(1);
  dms->add_option("--keys", dms_auth.keys.profile,
                  "profile whose key_sets hold the server's keys (default: the built-in demo "
                  "profile's obviously-test keys)")
      ->type_name("PROFILE");
  dms->add_option("--server", dms_auth.keys.owner,
                  "the key set's owner (ServerID) or name; default: the profile's only DM server")
      ->type_name("ID");
  dms->add_option("--level", dms_auth.level,
                  "SCP03 security level: 01 C-MAC, 03 +C-DEC, 13 +R-MAC, 33 +R-ENC (default)");
  auto value_help = "text, or hex: followed by hex digits";
  CLI::App* dms_get = dms->add_subcommand("get", "leaf values; an interior node's children");
  dms_get->add_option("uri", dms_req.uris, "node URIs, e.g. ./DevInfo/Man")->required();
  CLI::App* dms_add = dms->add_subcommand("add", "add a node: a leaf with VALUE, or interior");
  dms_add->add_option("uri", dms_req.uri, "the new node's URI")->required();
  dms_add->add_option("value", dms_req.value, value_help);
  dms_add->add_option("--format", dms_req.format, "a leaf's format (default chr)");
  dms_add->add_option("--type", dms_req.type, "MIME type");
  dms_add->add_option("--acl", dms_req.acl, "ACL, e.g. 'Get=*&Replace=dms.example.test'");
  dms_add->add_flag("--secret", dms_req.secret, "the value is never readable (a credential)");
  CLI::App* dms_replace = dms->add_subcommand("replace", "replace a leaf's value (or property)");
  dms_replace->add_option("uri", dms_req.uri, "the node's URI")->required();
  dms_replace->add_option("value", dms_req.value, value_help)->required();
  dms_replace->add_option("--property", dms_req.property, "ACL or Title instead of the value");
  CLI::App* dms_delete = dms->add_subcommand("delete", "delete a node and its subtree");
  dms_delete->add_option("uri", dms_req.uri, "the node's URI")->required();
  CLI::App* dms_exec = dms->add_subcommand("exec", "EXEC a node, with optional data");
  dms_exec->add_option("uri", dms_req.uri, "the node's URI")->required();
  dms_exec->add_option("data", dms_req.value, value_help);
  CLI::App* dms_tree = dms->add_subcommand("tree", "the tree as the server sees it");
  dms_tree->add_option("uri", dms_req.uri, "the subtree (default '.')");
  dms_tree->add_flag("--tnds", dms_req.tnds, "TNDS XML instead of a drawing");
  dms->add_subcommand("log", "the card's event log");
  dms->add_subcommand("helpdesk",
                      "UC521 report: device and card properties, configuration, capabilities, "
                      "event log");

  std::string perso_profile, perso_issuer, perso_level = "33";
  CLI::App* perso = app.add_subcommand(
      "personalize", "load a profile into the card over SCP03 as the issuer (STORE DATA)");
  perso->add_option("profile", perso_profile, "the profile to load (profiles/README.md)")
      ->required();
  perso
      ->add_option("--issuer-keys", perso_issuer,
                   "profile holding the card's current issuer key set (default: PROFILE)")
      ->type_name("PROFILE");
  perso->add_option("--level", perso_level, "SCP03 security level (default 33)");

  CLI::App* op = app.add_subcommand("operator",
                                    "the network operator's side of the signed "
                                    "bootstrap (UC-CR): keys and packages");
  op->require_subcommand(1);
  KeygenOptions keygen_opt;
  CLI::App* keygen = op->add_subcommand(
      "keygen", "make operator bootstrap keys (HMAC-SHA256, ECDSA P-256) and profile entries");
  keygen->add_option("--out", keygen_opt.out_dir, "directory for the key files")->required();
  keygen->add_option("--hmac-kvn", keygen_opt.hmac_kvn, "the HMAC key's KVN on the card (40)");
  keygen->add_option("--ec-kvn", keygen_opt.ec_kvn, "the EC key's KVN on the card (41)");
  keygen->add_option("--owner", keygen_opt.owner, "the keys' owner on the card (@issuer)");

  BootstrapOptions boot_opt;
  CLI::App* boot = op->add_subcommand(
      "bootstrap", "a DM bootstrap package from a TNDS file, with its MAC or signature");
  boot->add_option("--tnds", boot_opt.tnds, "the bootstrap data: TNDS XML or WBXML")
      ->required()
      ->type_name("FILE");
  boot->add_option("--method", boot_opt.method,
                   "NETWPIN, USERPIN, USERNETWPIN, USERPINMAC, HMAC-SHA256 or ECDSA-P256")
      ->required();
  boot->add_option("--imsi", boot_opt.imsi, "the card's IMSI (NETWPIN, USERNETWPIN)");
  boot->add_option("--pin", boot_opt.pin,
                   "the user's PIN (USERPIN, USERNETWPIN) or USERPINMAC's n-digit key");
  boot->add_option("--keys", boot_opt.keys_dir, "operator keys (HMAC-SHA256, ECDSA-P256)")
      ->type_name("DIR");
  boot->add_option("--seq", boot_opt.sequence,
                   "sequence number, higher than any the card accepted (default: now in seconds)");
  boot->add_option("--kvn", boot_opt.kvn, "the card's key (default 40 HMAC, 41 EC)");
  boot->add_option("--out", boot_opt.out, "write the package here (default: standard output)")
      ->type_name("FILE");

  DeviceProvisionOptions device_opt;
  CLI::App* provision = AddDeviceCommand(app, device_opt);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "dmcard: %s\nRun 'dmcard --help' for usage.\n", e.what());
    return kExitUsage;
  }
  if (app.get_subcommands().empty()) {
    std::fprintf(stderr,
                 "dmcard: no command given (readers, send, run, shell, tree, demo...)\n"
                 "Run 'dmcard --help' for usage.\n");
    return kExitUsage;
  }
  if (readers->parsed()) return RunReaders();
  if (check->parsed()) return RunCheck(check_dir.empty() ? card.state_dir : check_dir);
  if (demo->parsed()) return RunDemo(card);
  if (shell->parsed()) {
    auto reader = OpenReader(card, /*direct_by_default=*/false);
    return reader ? RunShell(*reader) : kExitFailed;
  }
  if (send->parsed()) return RunSend(card, send_hex);
  if (run->parsed()) return RunTraces(card, run_opt);
  if (tree->parsed()) return RunTree(card, tree_uri, tree_tnds);
  if (keygen->parsed()) return RunOperatorKeygen(keygen_opt);
  if (boot->parsed()) return RunOperatorBootstrap(boot_opt);
  if (provision->parsed()) return RunDeviceProvision(card, device_opt);
  if (perso->parsed()) return RunPersonalize(card, perso_profile, perso_issuer, perso_level);
  if (dms->parsed()) {
    dms_req.verb = dms->get_subcommands().front()->get_name();
    for (CLI::App* sub : {dms_add, dms_replace, dms_exec}) {
      if (sub->parsed() && sub->count(sub == dms_exec ? "data" : "value") > 0) {
        dms_req.has_value = true;
      }
    }
    return RunDms(card, dms_auth, dms_req);
  }
  return kExitUsage;
}
