// The card's own DM bootstrap, made from its DM tree for EF(DM_Bootstrap) of the PKCS#15 view
// (dm/pkcs15_view.h). OMA-TS-DM_Bootstrap 1.2 (smartcard bootstrap): the device retrieves the
// bootstrap data from the card and processes it as a bootstrap message, which MUST be a SyncML DM
// package in WBXML whose TNDS objects are embedded as WBXML (reference-facts.md §1); the ACLs of
// the new objects travel as TNDS ACL properties.
//
// Two steps, so that both forms carry exactly the same nodes:
//   1. SelectBootstrapObjects: what goes in, as `reader` may Get it (the DM ACLs), secret values
//      left out (the nodes stay, without a value: the card keeps AAuthSecret and AAuthData).
//   2. BootstrapMessageWbxml (the OMA form) or BootstrapTndsXml (one TNDS XML document).
//
// The WBXML message (libwbxml2 encodes it; nothing is hand-made), inline strings, no string table:
//   02 A4 01 6A 00  WBXML 1.2, public ID 0x1201 (-//SYNCML//DTD SyncML 1.2//EN), UTF-8, no table
//   SyncML
//     SyncHdr   VerDTD 1.2, VerProto DM/1.2, SessionID 1, MsgID 1, Target/LocURI ".",
//               Source/LocURI "dmcard"
//     SyncBody  one Add per object (CmdID 1, 2, ...), each with one Item:
//                 Meta  Format xml, Type application/vnd.syncml.dmtnds+wbxml
//                 Data  OPAQUE (C3 len): the object's TNDS document in WBXML, 02 00 00 6A 1B
//                       "-//OMA//DTD-DM-DDF 1.2//EN" 00 ... (DM DDF 1.2 code pages, OMA-TS-DM_TNDS
//                       1.2 §9.1.1), its ancestors included so that each Add stands on its own
//               Final
//   With nothing the reader may Get, the SyncBody holds Final alone: the file is still a message,
//   and READ BINARY of it answers 9000 as handsets expect.
// An object is a DM account ./DMAcc/<x> (each account its own Add, OMA DM 1.2 DMAcc MO), or one
// of the other subtrees the options name (./Con), or a node a DMAcc PrefConRef or ConRef names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dm/acl.h"
#include "dm/mo_tree.h"
#include "runtime/bytes.h"

namespace dmcard::dm {

// What EF(DM_Bootstrap) holds.
enum class BootstrapEfFormat : uint8_t {
  kWbxml,    // the OMA DM bootstrap message, SyncML DM 1.2 WBXML with embedded WBXML TNDS
  kTndsXml,  // one pretty-printed TNDS XML document (the card's earlier form)
};

struct BootstrapSelection {
  // Subtrees exported when present (missing ones are skipped). "./DMAcc" is split into its
  // accounts.
  std::vector<std::string> roots = {"./DMAcc", "./Con"};
  // Also export the nodes that DMAcc's PrefConRef and ToConRef/<x>/ConRef values name (absolute
  // URIs "./..." of existing nodes, with their ancestors), wherever they are in the tree.
  bool follow_con_refs = true;
};

// One object of the bootstrap: the subtree at `root` as the reader may Get it, preceded by its
// ancestors (interior, without the root "."), parents before children. Secret leaves keep
// their properties, with props.secret set and no value.
struct BootstrapObject {
  std::string root;
  std::vector<Node> nodes;
};

// The objects `reader` may Get: a node whose Get the ACLs refuse is left out with its whole
// subtree, and a subtree is exported only when the root and every ancestor may be Get too.
std::vector<BootstrapObject> SelectBootstrapObjects(const MoTree& tree, const Principal& reader,
                                                    const BootstrapSelection& selection = {});

// One TNDS XML document with every object (ancestors shared), indented, in tree order.
std::string BootstrapTndsXml(const std::vector<BootstrapObject>& objects);

// The OMA DM bootstrap message of the objects (layout above); nullopt with `error` when
// libwbxml2 cannot encode it.
std::optional<Bytes> BootstrapMessageWbxml(const std::vector<BootstrapObject>& objects,
                                           std::string& error);

}  // namespace dmcard::dm
