// Issuer personalization over APDUs — DEVELOPMENT PATH. Until issuer authentication exists
// (DM applet part 2: GlobalPlatform-style secure channel), STORE DATA and PUT DATA are opened by
// verifying the development issuer PIN (reference 8F). A card whose profile sets no such PIN
// refuses both (6982). Never ship a profile with a development issuer PIN.
#include <string>

#include "dm/dm_applet.h"
#include "dm/tnds.h"

namespace dmcard::dm {

// 80 E2 P1 00 <TNDS XML or WBXML>: P1 00 replaces the whole tree, 01 merges into it.
Sw DmApplet::StoreData(AppletContext& ctx, const CommandApdu& cmd) const {
  if (config_.dev_issuer_pin.empty() || !ctx.security()->pin_verified(kDevIssuerPinRef)) {
    return Sw::kSecurityStatusNotSatisfied;
  }
  if (cmd.p1 > 0x01 || cmd.p2 != 0x00) return Sw::kIncorrectP1P2;
  if (cmd.data.empty()) return Sw::kWrongLength;
  std::string xml;
  if (cmd.data[0] == '<') {
    xml.assign(cmd.data.begin(), cmd.data.end());
  } else {
    std::string error;
    auto converted = TndsWbxmlToXml(cmd.data, error);
    if (!converted) return Sw::kWrongData;
    xml = std::move(*converted);
  }
  TndsDocument doc = ParseTndsXml(xml);
  if (!doc.error.empty()) return Sw::kWrongData;
  MoTree tree = Tree(ctx);
  if (cmd.p1 == 0x00) {
    if (DmStatus s = tree.Clear(config_.root_acl); s != DmStatus::kOk) return SwFromDmStatus(s);
  }
  return SwFromDmStatus(ImportNodes(tree, doc.nodes));
}

// 80 DA 00 84 01 <flags>: bootstrap flags (02 user confirmation, 04 connect autonomously).
Sw DmApplet::PutData(AppletContext& ctx, const CommandApdu& cmd) const {
  if (config_.dev_issuer_pin.empty() || !ctx.security()->pin_verified(kDevIssuerPinRef)) {
    return Sw::kSecurityStatusNotSatisfied;
  }
  if (cmd.p1p2() != 0x0084) return Sw::kReferenceDataNotFound;
  if (cmd.data.size() != 1) return Sw::kWrongLength;
  if ((cmd.data[0] & ~kStoredFlags) != 0) return Sw::kWrongData;
  return SwFromStore(ctx.store().Put(kFlagsKey, Bytes{cmd.data[0]}));
}

}  // namespace dmcard::dm
