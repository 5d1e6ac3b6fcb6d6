// The OMA DM applet: the management-object tree on the card behind APDUs, with its DM
// descriptor for efficient detection (SC7, DEV1), ACLs enforced against the channel's principal
// (SEC1), the user PIN, and issuer personalization over a secure session.
//
// Its commands are the rows of one table, dm/command_table.cc: class and INS, the name in
// apdu-specs/dm.json (the full reference, with status words and examples, which a unit test holds
// to the table in both directions), who may send them, and each command's typed parse bound to
// its execute function. The table also holds the SELECT that selects the applet (FCI 6F { 84 AID,
// A5 descriptor }) and the interindustry PIN commands VERIFY, CHANGE REFERENCE DATA and RESET
// RETRY COUNTER, which the runtime's PinCommands (runtime/pin.h) validates and serves for both
// applets; their rows name and route them. Where the code is:
//   dm/command_table.cc    the table; Process and DescribeCommand look commands up in it
//   dm/requests.{h,cc}     a request struct per command, its parse (P1/P2, Lc, data), its log text
//   dm/dm_applet.cc        install, the descriptor; SELECT, GET DATA, the PIN commands
//   dm/tree_commands.cc    GET, ADD, REPLACE, DELETE, EXEC, EXPORT
//   dm/personalization.cc  STORE DATA: issuer personalization (dm/personalization.h)
//   dm/bootstrap.cc        VERIFY BOOTSTRAP (dm/bootstrap.h)
//   dm/fumo.cc             CHECK FIRMWARE: FUMO control
//   dm/credentials.cc      OMA DM credentials (auth-md5, auth-MAC) and INTERNAL AUTHENTICATE
// Values longer than one short APDU travel with command chaining or extended length; long
// answers with 61xx/GET RESPONSE or extended Le — all handled by the runtime.
#pragma once

#include <array>
#include <memory>
#include <span>
#include <string>

#include "dm/bootstrap.h"
#include "dm/command_table.h"
#include "dm/mo_tree.h"
#include "dm/personalization.h"
#include "dm/records.h"
#include "dm/requests.h"
#include "runtime/applet.h"
#include "runtime/card.h"
#include "runtime/pin.h"

namespace dmcard::dm {

// Bootstrap flags of the descriptor (tag 84), also persisted on the card.
struct BootstrapFlags {
  bool user_confirmation = false;  // USA1: the device must ask the user before incorporating
  bool autoconnect = false;        // USA3: the device connects to the DMS on its own
};

struct DmAppletConfig {
  static constexpr uint32_t kDefaultReserve = 4096;
  Bytes aid;                 // default kDefaultAid
  std::string initial_tnds;  // TNDS XML loaded into the tree at first install ("" = empty tree)
  BootstrapFlags flags;      // initial flags
  // ACL of the tree's root at the first install and after STORE DATA replaces the tree.
  std::string root_acl = MoTree::kRootAcl;
  // Persistent memory (bytes) only the issuer and management authorities may fill (see
  // MoTree::SetReserve): the device and the user get 6A84 before they reach it.
  uint32_t reserve = kDefaultReserve;
  Bytes user_pin;  // PIN 01; empty = none until personalization sets one
  Bytes user_puk;  // its PUK; empty = none
  Bytes imsi;      // EF_IMSI form (dm/imsi.h); empty = none until personalization sets one
  // VERIFY BOOTSTRAP failures in a row that lock it out (dm/bootstrap.h); 1 to 255.
  uint8_t bootstrap_failure_limit = BootstrapState::kDefaultFailureLimit;
};

class DmApplet final : public Applet {
 public:
  // F0 "DMCARD-DM" (proprietary category F AID).
  static Bytes DefaultAid();
  static constexpr uint8_t kUserPinRef = 0x01;
  static constexpr uint8_t kUserPukRef = 0x81;  // policies of both: dm/pin_policy.h
  static constexpr const char* kKeyPrefix = records::kNamespace.data();
  static constexpr uint8_t kAppletVersion[2] = {0x01, 0x00};
  static constexpr uint8_t kFormatVersion = 0x01;

  explicit DmApplet(DmAppletConfig config);

  const char* name() const override { return "oma-dm"; }
  bool multiselectable() const override { return true; }

  Sw Install(AppletContext& ctx) override;
  // Drops the channel's unfinished STORE DATA sequence.
  void Deselect(AppletContext& ctx) override;
  // Looks `cmd` up in the command table, checks its access, parses it and executes it.
  Sw Process(AppletContext& ctx, const CommandApdu& cmd, Bytes& response) override;
  // From the command table: the row's label and what its request names, e.g. "DM GET value
  // ./DevInfo/Man", "DM EXPORT XML ./DMAcc", "VERIFY PIN 01"; never a value, PIN or document.
  // Just the label when the command does not parse (or is one link of a chain); "" when the
  // applet has no such command.
  std::string DescribeCommand(const CommandApdu& cmd) const override;
  // STORE DATA (a whole tree), ADD of a secret leaf (85 01 or a secret name), REPLACE of a
  // secret leaf's value, and any ADD/REPLACE that cannot be judged on its own (a chain link,
  // data that does not parse).
  bool CommandCarriesSecrets(const CommandApdu& cmd, const StoreView& store) const override;
  std::string store_namespace() const override { return kKeyPrefix; }

  // The descriptor template (A5 ...) for the current state.
  Bytes Descriptor(AppletContext& ctx) const;
  // Who the channel's caller is for the ACLs.
  static Principal PrincipalOf(const SecurityState* security);
  // How the event log names a principal: its ServerID, "@user" or "@device".
  static std::string LogName(const Principal& who);
  // Entries one GET DATA E1 answers at most (the caller asks again from the next counter).
  static constexpr size_t kLogEntriesPerAnswer = 16;

 private:
  // Record names (dm/records.h). The flags are written last at install, so their presence also
  // marks the applet as installed on this card; the old PIN records are moved to the global PIN
  // (user PIN, PUK) or erased (development issuer PIN) at install.
  static constexpr std::string_view kFlagsKey = records::kFlags.pattern;
  static constexpr std::string_view kImsiKey = records::kImsi.pattern;
  static constexpr std::string_view kBootstrapKey = records::kBootstrap.pattern;
  static constexpr std::string_view kOldUserPinKey = records::kOldUserPin.pattern;
  static constexpr std::string_view kOldUserPukKey = records::kOldUserPuk.pattern;
  static constexpr std::string_view kOldDevIssuerPinKey = records::kOldDevIssuerPin.pattern;
  // Descriptor flag bit derived from the tree: ./DMAcc holds an account. The stored bits:
  // kStoredFlags (dm/requests.h).
  static constexpr uint8_t kFlagProvisioned = 0x01;

  MoTree Tree(AppletContext& ctx) const;
  static uint8_t StoredFlags(const StoreView& store);

  // The table names the execute functions below.
  friend std::span<const Command> CommandTable();
  // Applies the DGIs of a complete STORE DATA sequence (personalization.cc).
  Sw Personalize(AppletContext& ctx, const std::vector<Dgi>& dgis) const;

  // Execute functions, one per command, each given its command's already-validated request
  // (dm_applet.cc, tree_commands.cc, personalization.cc, credentials.cc).
  Sw AnswerSelect(AppletContext& ctx, const SelectRequest& req, Bytes& out) const;
  Sw GetData(AppletContext& ctx, const GetDataRequest& req, Bytes& out) const;
  Sw Get(AppletContext& ctx, const GetRequest& req, Bytes& out) const;
  Sw Add(AppletContext& ctx, const AddRequest& req, Bytes& out) const;
  Sw Replace(AppletContext& ctx, const ReplaceRequest& req, Bytes& out) const;
  Sw Delete(AppletContext& ctx, const DeleteRequest& req, Bytes& out) const;
  Sw Exec(AppletContext& ctx, const ExecRequest& req, Bytes& out) const;
  Sw Export(AppletContext& ctx, const ExportRequest& req, Bytes& out) const;
  Sw StoreData(AppletContext& ctx, const StoreDataRequest& req, Bytes& out) const;
  Sw PinCommand(AppletContext& ctx, const PinRequest& req, Bytes& out) const;
  Sw SecureChannel(AppletContext& ctx, const SecureChannelRequest& req, Bytes& out) const;
  Sw VerifyBootstrap(AppletContext& ctx, const VerifyBootstrapRequest& req, Bytes& out) const;
  Sw CheckFirmware(AppletContext& ctx, const FirmwareRequest& req, Bytes& out) const;
  Sw Credential(AppletContext& ctx, const CredentialRequest& req, Bytes& out) const;
  Sw InternalAuthenticate(AppletContext& ctx, const InternalAuthenticateRequest& req,
                          Bytes& out) const;

  // The digest and provisioning flag of the descriptor, computed once per tree generation (the
  // generation changes with every committed tree change). Not card state: a cache.
  struct DescriptorCache {
    bool valid = false;
    uint32_t generation = 0;
    Bytes digest;
    bool provisioned = false;
  };
  mutable DescriptorCache cache_;
  // Each channel's STORE DATA sequence until its last block (RAM, not card state).
  mutable std::array<StoreDataSequence, Card::kMaxChannels> sequences_;

  DmAppletConfig config_;
  Pin user_pin_;
  Pin user_puk_;
  PinCommands pins_;
};

}  // namespace dmcard::dm
