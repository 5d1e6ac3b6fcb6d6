// The OMA DM bootstrap message a network sends (OMA-TS-DM_Bootstrap: a SyncML DM 1.2 message in
// WBXML), read into the changes it makes to the tree: each Add or Replace command of its SyncBody,
// each Item either a TNDS document (Meta/Type application/vnd.syncml.dmtnds+wbxml or +xml, the
// Data holding <MgmtTree>) or one leaf (Target/LocURI, Data the value, Meta/Format default chr,
// Meta/Type). Untrusted input: scanned before libwbxml2 decodes it (dm/wbxml_scan.h), and every
// node checked as STORE DATA checks it (dm/tnds.h). Other commands than Add, Replace (and Final)
// make the message unreadable: the card never half-applies what it cannot read.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dm/mo_tree.h"
#include "runtime/bytes.h"

namespace dmcard::dm {

struct BootstrapChange {
  bool replace = false;     // Replace (else Add)
  std::vector<Node> nodes;  // parents before children, absolute URIs
};

// The changes, in the message's order; nullopt with `error` when the message cannot be read.
std::optional<std::vector<BootstrapChange>> DecodeBootstrapMessage(ByteView wbxml,
                                                                   std::string& error);

}  // namespace dmcard::dm
