// `dmcard tree` and `dmcard dms ...`: the management tree as the device sees it, and the
// commands of a management authority (a DM server, over SCP03 with its key set): get, add,
// replace, delete, exec, the event log and the helpdesk report of UC521.
#pragma once

#include <string>
#include <vector>

#include "card_access.h"
#include "host/dm_session.h"

namespace dmcard::cli {

// How `dms` authenticates: the key set and the SCP03 security level.
struct DmsAuth {
  KeySetChoice keys;         // --keys PROFILE, --server ID
  std::string level = "33";  // --level 01|03|13|33
};

struct DmsRequest {
  std::string verb;               // get, add, replace, delete, exec, log, tree, helpdesk
  std::vector<std::string> uris;  // get
  std::string uri;                // the others; tree: default "."
  std::string value;              // add/replace/exec: text, or hex:... for bytes
  bool has_value = false;
  std::string format = "chr";  // add: the leaf's format (an interior node without a value)
  std::string type, acl;       // add: MIME type and ACL
  bool secret = false;         // add: the value is never readable
  std::string property;        // replace: ACL or Title instead of the value
  bool tnds = false;           // tree: TNDS XML instead of a drawing
};

// Draws the tree under `uri` as `session` may read it (values of leaves; what the card refuses
// says so). False when the reader failed (the message is printed).
bool PrintTree(DmSession& session, const std::string& uri);

// Prints each URI's value ("URI = value"), an interior node's children ("URI/ a b c") or why
// not. 0, or 1 when a node could not be read.
int PrintValues(DmSession& session, const std::vector<std::string>& uris);

// `dmcard tree [URI] [--tnds]`, as the device (plain commands).
int RunTree(const CardOptions& card, const std::string& uri, bool tnds);
// `dmcard dms VERB ...`, over SCP03 as the DM server `auth` names.
int RunDms(const CardOptions& card, const DmsAuth& auth, const DmsRequest& request);

// `dmcard personalize PROFILE`: loads the profile's tree, flags, IMSI, PINs and key sets into
// the card by STORE DATA over SCP03 as the issuer (docs/personalization.md). The issuer's key
// set comes from `issuer_keys` (a profile; default: PROFILE itself).
int RunPersonalize(const CardOptions& card, const std::string& profile,
                   const std::string& issuer_keys, const std::string& level);

}  // namespace dmcard::cli
