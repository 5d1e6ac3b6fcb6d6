// The OMA DM applet: the management-object tree on the card behind APDUs, with its DM
// descriptor for efficient detection (SC7, DEV1), ACLs enforced against the channel's principal
// (SEC1), the user PIN, and a development-only personalization path.
//
// Commands (CLA 80-83 / C0-CF, i.e. proprietary class on any logical channel; full reference
// with status words and examples in apdu-specs/dm.json):
//   SELECT by AID                 FCI 6F { 84 AID, A5 descriptor }
//   80 CA 00 A5 00                GET DATA: the descriptor alone (A5 template)
//   80 30 P1 P2 Lc URI [Le]       GET: P1 00 value, 01 property P2, 02 child names ('/'-joined),
//                                 03 all properties (TLV)
//   80 32 00 00 Lc TLV            ADD: 80 URI, 82 Format ("node" for interior), 81 value, 83 Type,
//                                 84 ACL, 85 01 (the leaf's value is secret)
//   80 34 P1 P2 Lc TLV            REPLACE: P1 00 value (80 URI, 81 value); P1 01 property P2
//                                 (01 ACL, 06 Title) (80 URI, 81 new text)
//   80 36 00 00 Lc URI            DELETE (subtree)
//   80 38 00 00 Lc TLV            EXEC (80 URI, 81 data)
//   80 3A P1 00 Lc URI [Le]       EXPORT subtree as TNDS: P1 00 XML, 01 WBXML
//   00 20 00 01 ..                VERIFY user PIN (ref 01, the card's global PIN, shared with the
//                                 file-system applet) → the channel's principal is the user
//   80 E2 P1 00 Lc TNDS           STORE DATA — DEVELOPMENT PATH: needs the development issuer PIN
//                                 (ref 8F) verified; P1 00 replaces the tree, 01 merges into it
//   80 DA 00 84 01 flags          PUT DATA bootstrap flags — DEVELOPMENT PATH (PIN 8F)
// Values longer than one short APDU travel with command chaining or extended length; long
// answers with 61xx/GET RESPONSE or extended Le — all handled by the runtime.
#pragma once

#include <memory>
#include <string>

#include "dm/mo_tree.h"
#include "runtime/applet.h"
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
  Bytes user_pin;  // PIN 01; empty = no user PIN
  Bytes user_puk;  // its PUK; empty = none
  // DEVELOPMENT ONLY: PIN 8F that opens STORE DATA / PUT DATA until issuer authentication
  // (part 2) exists. Empty disables the path entirely.
  Bytes dev_issuer_pin;
};

class DmApplet final : public Applet {
 public:
  // F0 "DMCARD-DM" (proprietary category F AID).
  static Bytes DefaultAid();
  static constexpr uint8_t kUserPinRef = 0x01;
  static constexpr uint8_t kUserPukRef = 0x81;  // policies of all three PINs: dm/pin_policy.h
  static constexpr uint8_t kDevIssuerPinRef = 0x8F;
  static constexpr const char* kKeyPrefix = "dm/";
  static constexpr uint8_t kAppletVersion[2] = {0x01, 0x00};
  static constexpr uint8_t kFormatVersion = 0x01;

  explicit DmApplet(DmAppletConfig config);

  const char* name() const override { return "oma-dm"; }
  bool multiselectable() const override { return true; }

  Sw Install(AppletContext& ctx) override;
  Sw Process(AppletContext& ctx, const CommandApdu& cmd, Bytes& response) override;

  // The descriptor template (A5 ...) for the current state.
  Bytes Descriptor(AppletContext& ctx) const;
  // Who the channel's caller is for the ACLs.
  static Principal PrincipalOf(const SecurityState* security);

 private:
  // Persisted bootstrap flags: one byte of the descriptor's flag bits (tag 84). Written last at
  // install, so its presence also marks the applet as installed on this card.
  static constexpr const char* kFlagsKey = "dm/flags";
  // Where cards made before global PINs kept the user PIN and PUK (moved at install).
  static constexpr const char* kOldUserPinKey = "dm/pin/user";
  static constexpr const char* kOldUserPukKey = "dm/pin/puk";
  static constexpr uint8_t kFlagProvisioned = 0x01;       // derived: ./DMAcc holds an account
  static constexpr uint8_t kFlagUserConfirmation = 0x02;  // USA1
  static constexpr uint8_t kFlagAutoconnect = 0x04;       // USA3
  static constexpr uint8_t kStoredFlags = kFlagUserConfirmation | kFlagAutoconnect;

  MoTree Tree(AppletContext& ctx) const;
  static uint8_t StoredFlags(const PersistentStore& store);

  // One handler per command (tree_commands.cc, personalization.cc).
  Sw Get(AppletContext& ctx, const CommandApdu& cmd, Bytes& out) const;
  Sw Add(AppletContext& ctx, const CommandApdu& cmd) const;
  Sw Replace(AppletContext& ctx, const CommandApdu& cmd) const;
  Sw Delete(AppletContext& ctx, const CommandApdu& cmd) const;
  Sw Exec(AppletContext& ctx, const CommandApdu& cmd) const;
  Sw Export(AppletContext& ctx, const CommandApdu& cmd, Bytes& out) const;
  Sw StoreData(AppletContext& ctx, const CommandApdu& cmd) const;
  Sw PutData(AppletContext& ctx, const CommandApdu& cmd) const;

  // The digest and provisioning flag of the descriptor, computed once per tree generation (the
  // generation changes with every committed tree change). Not card state: a cache.
  struct DescriptorCache {
    bool valid = false;
    uint32_t generation = 0;
    Bytes digest;
    bool provisioned = false;
  };
  mutable DescriptorCache cache_;

  DmAppletConfig config_;
  Pin user_pin_;
  Pin user_puk_;
  Pin dev_pin_;
  PinCommands pins_;
};

}  // namespace dmcard::dm
