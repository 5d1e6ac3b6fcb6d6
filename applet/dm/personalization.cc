// Issuer personalization over APDUs — DEVELOPMENT PATH. Until issuer authentication exists
// (GlobalPlatform SCP03 with the issuer's key set), STORE DATA and PUT DATA are opened by
// verifying the development issuer PIN (reference 8F): their rows in the command table carry
// Access::kDevelopmentIssuer, which DmApplet::Process checks before parsing them. A card whose
// profile sets no such PIN refuses both (6982). Never ship a profile with a development issuer PIN.
#include "dm/dm_applet.h"
#include "dm/tnds.h"

namespace dmcard::dm {

// STORE DATA: the decoded TNDS document replaces the whole tree, or merges into it.
Sw DmApplet::StoreData(AppletContext& ctx, const StoreDataRequest& req, Bytes& /*out*/) const {
  MoTree tree = Tree(ctx);
  if (req.replace_tree) {
    if (DmStatus s = tree.Clear(config_.root_acl); s != DmStatus::kOk) return SwFromDmStatus(s);
  }
  return SwFromDmStatus(ImportNodes(tree, req.nodes));
}

// PUT DATA: the stored bootstrap flags (02 user confirmation, 04 connect autonomously).
Sw DmApplet::PutData(AppletContext& ctx, const PutDataRequest& req, Bytes& /*out*/) const {
  return SwFromStore(ctx.store().Put(kFlagsKey, Bytes{req.flags}));
}

}  // namespace dmcard::dm
