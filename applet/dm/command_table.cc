// The DM applet's command table (dm/command_table.h) and the two things read from it: dispatch
// (DmApplet::Process) and command names for logs (DmApplet::DescribeCommand).
#include "dm/command_table.h"

#include <type_traits>
#include <utility>

#include "dm/dm_applet.h"
#include "dm/requests.h"
#include "runtime/event_log.h"

namespace dmcard::dm {

namespace {

// A row from a parse function (Parsed<R> (*)(const CommandApdu&)) and a DmApplet execute
// function taking its request R: run = parse, then execute the valid request; describe = parse,
// then Describe(request).
template <auto parse, auto execute>
constexpr Command Row(CommandClass cls, uint8_t ins, const char* name, const char* label,
                      Access access = Access::kAnyone, bool on_select = false,
                      bool logs_change = false) {
  using Request = typename std::invoke_result_t<decltype(parse), const CommandApdu&>::value_type;
  static_assert(std::is_same_v<decltype(execute),
                               Sw (DmApplet::*)(AppletContext&, const Request&, Bytes&) const>,
                "the execute function must take the parse function's request");
  return Command{
      cls,
      ins,
      name,
      label,
      access,
      logs_change,
      on_select,
      [](const DmApplet& applet, AppletContext& ctx, const CommandApdu& cmd, Bytes& out) -> Sw {
        Parsed<Request> parsed = parse(cmd);
        if (!parsed.request) return parsed.sw;
        return (applet.*execute)(ctx, *parsed.request, out);
      },
      [](const CommandApdu& cmd) -> std::string {
        Parsed<Request> parsed = parse(cmd);
        return parsed.request ? Describe(*parsed.request) : std::string();
      },
  };
}

constexpr CommandClass kInterindustry = CommandClass::kInterindustry;
constexpr CommandClass kProprietary = CommandClass::kProprietary;
constexpr Access kIssuer = Access::kIssuer;
constexpr bool kLogsChange = true;

}  // namespace

std::span<const Command> CommandTable() {
  // Names are apdu-specs/dm.json's; status words of a malformed command come from the parse
  // functions (dm/requests.cc), the others from the execute functions.
  static constexpr Command kTable[] = {
      Row<ParseSelect, &DmApplet::AnswerSelect>(kInterindustry, kInsSelect, "SELECT (DM applet)",
                                                "SELECT DM applet", Access::kAnyone,
                                                /*on_select=*/true),
      Row<ParseGetData, &DmApplet::GetData>(kProprietary, 0xCA, "GET DATA (descriptor, event log)",
                                            "DM GET DATA"),
      Row<ParseGet, &DmApplet::Get>(kProprietary, 0x30, "GET (tree)", "DM GET"),
      Row<ParseAdd, &DmApplet::Add>(kProprietary, 0x32, "ADD (tree)", "DM ADD", Access::kAnyone,
                                    false, kLogsChange),
      Row<ParseReplace, &DmApplet::Replace>(kProprietary, 0x34, "REPLACE (tree)", "DM REPLACE",
                                            Access::kAnyone, false, kLogsChange),
      Row<ParseDelete, &DmApplet::Delete>(kProprietary, 0x36, "DELETE (tree)", "DM DELETE",
                                          Access::kAnyone, false, kLogsChange),
      Row<ParseExec, &DmApplet::Exec>(kProprietary, 0x38, "EXEC (tree)", "DM EXEC", Access::kAnyone,
                                      false, kLogsChange),
      Row<ParseExport, &DmApplet::Export>(kProprietary, 0x3A, "EXPORT (TNDS)", "DM EXPORT"),
      Row<ParseStoreData, &DmApplet::StoreData>(
          kProprietary, 0xE2, "STORE DATA (issuer personalization)", "DM STORE DATA", kIssuer),
      Row<ParseVerifyBootstrap, &DmApplet::VerifyBootstrap>(kProprietary, 0x42, "VERIFY BOOTSTRAP",
                                                            "DM VERIFY BOOTSTRAP"),
      Row<ParseCheckFirmware, &DmApplet::CheckFirmware>(kProprietary, 0x44, "CHECK FIRMWARE",
                                                        "DM CHECK FIRMWARE"),
      // GlobalPlatform SCP03 (Card Specification 2.3 Amendment D), served by gp::Scp03Handshake.
      Row<ParseSecureChannel, &DmApplet::SecureChannel>(
          kProprietary, 0x50, "INITIALIZE UPDATE (SCP03)", "GP INITIALIZE UPDATE"),
      Row<ParseSecureChannel, &DmApplet::SecureChannel>(
          kProprietary, 0x82, "EXTERNAL AUTHENTICATE (SCP03)", "GP EXTERNAL AUTHENTICATE"),
      // ISO 7816-4 §11.5.6, §11.5.7, §11.5.10, served by the runtime's PinCommands.
      Row<ParsePin, &DmApplet::PinCommand>(kInterindustry, 0x20, "VERIFY (DM applet PINs)",
                                           "VERIFY"),
      Row<ParsePin, &DmApplet::PinCommand>(
          kInterindustry, 0x24, "CHANGE REFERENCE DATA (DM applet PINs)", "CHANGE REFERENCE DATA"),
      Row<ParsePin, &DmApplet::PinCommand>(
          kInterindustry, 0x2C, "RESET RETRY COUNTER (DM applet PINs)", "RESET RETRY COUNTER"),
      // DEV3, SC8: OMA DM 1.2 credentials from an account's AppAuth entry, and the card's own
      // authentication (ISO 7816-4 §11.5.2), both in dm/credentials.cc.
      Row<ParseCredential, &DmApplet::Credential>(
          kProprietary, 0x3C, "OMA DM CREDENTIAL (auth-md5, auth-MAC)", "DM CREDENTIAL"),
      Row<ParseInternalAuthenticate, &DmApplet::InternalAuthenticate>(
          kInterindustry, 0x88, "INTERNAL AUTHENTICATE (card authentication)",
          "INTERNAL AUTHENTICATE"),
  };
  return kTable;
}

const Command* FindCommand(const CommandApdu& cmd, bool selecting) {
  const CommandClass cls = cmd.cls.interindustry ? kInterindustry : kProprietary;
  for (const Command& c : CommandTable()) {
    if (c.cls == cls && c.ins == cmd.ins && c.on_select == selecting) return &c;
  }
  return nullptr;
}

Sw DmApplet::Process(AppletContext& ctx, const CommandApdu& cmd, Bytes& out) {
  const Command* command = FindCommand(cmd, ctx.selecting());
  if (command == nullptr) return Sw::kInsNotSupported;
  if (command->access == Access::kIssuer && ctx.security()->principal != kIssuerPrincipal) {
    return Sw::kSecurityStatusNotSatisfied;
  }
  if (!command->logs_change) return command->run(*this, ctx, cmd, out);
  // A change and its log entry are one unit under the reserve rule: the entry's memory counts
  // against the device and the user as the change's does.
  const Principal who = PrincipalOf(ctx.security());
  Sw sw = Sw::kOk;
  const DmStatus unit = Tree(ctx).Atomically(&who, [&]() -> DmStatus {
    sw = command->run(*this, ctx, cmd, out);
    if (sw != Sw::kOk) return DmStatus::kCommandFailed;
    const std::string detail = command->describe(cmd);
    const StoreStatus logged = ctx.log().Append(
        EventKind::kMoChanged, cmd.ins, LogName(who),
        ByteView(reinterpret_cast<const uint8_t*>(detail.data()), detail.size()), ctx.now(),
        /*durable=*/false);
    if (logged != StoreStatus::kOk) sw = SwFromStore(logged);
    return logged == StoreStatus::kOk ? DmStatus::kOk : DmStatus::kCommandFailed;
  });
  if (sw != Sw::kOk) return sw;
  if (unit != DmStatus::kOk) out.clear();
  return SwFromDmStatus(unit);
}

std::string DmApplet::DescribeCommand(const CommandApdu& cmd) const {
  const Command* command = FindCommand(cmd, /*selecting=*/false);
  if (command == nullptr) return {};
  std::string text = command->label;
  // A link of a chain carries a piece of the data, which would not describe the command.
  if (cmd.cls.chaining) return text + " (chained)";
  const std::string detail = command->describe(cmd);
  if (!detail.empty()) text += " " + detail;
  return text;
}

bool DmApplet::CommandCarriesSecrets(const CommandApdu& cmd, const StoreView& store) const {
  if (cmd.cls.interindustry) return false;  // PIN commands: the runtime withholds them already
  const bool add = cmd.ins == 0x32;
  if (cmd.ins == 0xE2) return true;
  if (cmd.ins == 0x42) {  // VERIFY BOOTSTRAP: the digits the user typed are a secret
    if (cmd.cls.chaining) return true;
    const Parsed<VerifyBootstrapRequest> p = ParseVerifyBootstrap(cmd);
    return !p.request || !p.request->pin.empty();
  }
  if (!add && cmd.ins != 0x34) return false;
  if (cmd.cls.chaining) return true;
  auto secret_name = [](const std::string& uri) {
    return MoTree::IsSecretName(MoTree::NameOf(uri));
  };
  if (add) {
    const Parsed<AddRequest> p = ParseAdd(cmd);
    return !p.request || p.request->secret || secret_name(p.request->uri);
  }
  const Parsed<ReplaceRequest> p = ParseReplace(cmd);
  if (!p.request) return true;
  if (p.request->property) return false;  // ACL or Title text
  if (secret_name(p.request->uri)) return true;
  const std::optional<Node> node = MoTree(store, kKeyPrefix, {}).Read(p.request->uri);
  return node && node->props.secret;
}

}  // namespace dmcard::dm
