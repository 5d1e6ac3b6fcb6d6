// The management-object tree on the card ("secure MO file system", RD SC1/SC5/SEC1): OMA DM 1.2
// nodes addressed by URI, with their properties, kept in the card's persistent store (one
// record per node), and the OMA DM ACL rules enforced against the principal of the channel.
//
// Every operation runs inside the APDU's store transaction, so each is atomic: on an error
// status nothing of it remains. The tree generation counter and digest (SC7 efficient
// detection) change with every change of the tree.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dm/acl.h"
#include "dm/node_value.h"
#include "runtime/bytes.h"
#include "runtime/persistent_store.h"
#include "runtime/store_view.h"
#include "runtime/sw.h"

namespace dmcard::dm {

// OMA DM result codes (OMA-TS-DM_RepPro 1.2 §10) the tree answers with.
enum class DmStatus : uint16_t {
  kOk = 200,
  kBadRequest = 400,  // malformed URI or data
  kNotFound = 404,
  kCommandNotAllowed = 405,  // e.g. a value on an interior node, deleting the root, Exec on a
                             // node that has no Exec behaviour
  kOptionalNotSupported = 406,
  kRequestTooLarge = 413,    // value above the card's per-node limit
  kUriTooLong = 414,         // beyond MaxDepth / MaxTotLen / MaxSegLen
  kUnsupportedFormat = 415,  // unknown Format, or a value not valid for its Format
  kAlreadyExists = 418,
  kDeviceFull = 420,        // persistent memory full
  kPermissionDenied = 425,  // ACL refused, or a secret value was asked for
  kCommandFailed = 500,
  kDataStoreFailure = 510,  // persistent memory failed (power lost mid-write)
};

// The status word an APDU answers for a DmStatus (documented in apdu-specs/dm.json):
// 200 9000, 400 6A80, 404 6A82, 405 6986, 406 6A81, 413 6700, 414 6A80, 415 6A80, 418 6A89,
// 420 6A84, 425 6982, 500 6F00, 510 6581 (the runtime's one store mapping, SwFromStore).
Sw SwFromDmStatus(DmStatus s);

// The properties of a node (OMA DM 1.2 TND §7). Name and Size are derived (last URI segment,
// value length) and not stored.
struct NodeProperties {
  NodeFormat format = NodeFormat::kNode;
  std::string type;     // MIME type (Type); for interior nodes a DDF/MO identifier or empty
  std::string acl;      // ACL; empty = inherited from the nearest ancestor that has one
  std::string title;    // Title
  int64_t tstamp = 0;   // TStamp: UTC seconds of the last change of this node
  uint16_t verno = 0;   // VerNo: incremented (mod 65536) on every change of this node
  bool secret = false;  // value never readable by anyone (AAuthSecret, AAuthData, or marked)
};

// One node as stored. `uri` is absolute: "." for the root, "./DMAcc/Operator/Name", ...
struct Node {
  std::string uri;
  bool interior = false;
  NodeProperties props;
  Bytes value;  // leaves only
};

// Property identifiers for Get/Replace of a single property (also P2 of the DM applet's GET).
enum class Property : uint8_t {
  kAcl = 1,
  kFormat = 2,
  kType = 3,
  kName = 4,
  kSize = 5,
  kTitle = 6,
  kTStamp = 7,
  kVerNo = 8,
};

// Limits reported in DevDetail/URI and enforced on every URI (OMA DM DevDetail MO).
struct UriLimits {
  uint16_t max_depth = 16;     // segments below the root
  uint16_t max_tot_len = 255;  // characters of the whole URI
  uint16_t max_seg_len = 64;   // characters of one segment
};

class MoTree {
 public:
  // Leaf names whose values are secret wherever they appear (OMA DM DMAcc AppAuth).
  static bool IsSecretName(std::string_view name) {
    return name == "AAuthSecret" || name == "AAuthData";
  }
  // OMA DM's default ACL of the root (OMA-TS-DM_TND 1.2 §7.7.1): anyone may add and get. A
  // profile may give the root another (dmcard's demo profile lets only its DM server add).
  static constexpr const char* kRootAcl = "Add=*&Get=*";
  static constexpr uint32_t kMaxValueBytes = 16 * 1024;

  // `store` must outlive the tree. `key_prefix` separates this tree's records (e.g. "dm/").
  MoTree(StoreView store, std::string key_prefix, std::function<int64_t()> clock,
         UriLimits limits = {});

  // Creates the root (ACL `root_acl`, non-empty) and the generation counter unless present.
  // Install time.
  DmStatus Init(std::string_view root_acl = kRootAcl);

  // Bytes of persistent memory kept free for the issuer (unchecked writes) and management
  // authorities: a write by the device or the user that would take memory from it answers
  // kDeviceFull, so whoever may add nodes can never fill the card for those who manage it.
  void SetReserve(uint32_t bytes) { reserve_ = bytes; }
  static bool BoundByReserve(const Principal& who);

  // URI syntax (OMA DM 1.2 TND §6): "." or "./seg/seg..." with non-empty segments of printable
  // UTF-8 text (IsTndsText; no control characters, '/', '?', '#'), no "." or ".." segments,
  // within the limits.
  DmStatus CheckUri(std::string_view uri) const;
  static std::string ParentOf(std::string_view uri);  // "." for top-level nodes
  static std::string NameOf(std::string_view uri);    // last segment ("." for the root)

  // --- Operations under ACL (what APDUs do) --------------------------------------------------
  // Get: the value of a leaf (kPermissionDenied for secret leaves, whoever asks), the child
  // names of an interior node (GetChildren), or one property.
  DmStatus GetValue(const Principal& who, std::string_view uri, Bytes& out) const;
  DmStatus GetChildren(const Principal& who, std::string_view uri,
                       std::vector<std::string>& names) const;
  DmStatus GetProperty(const Principal& who, std::string_view uri, Property p,
                       std::string& out) const;
  // Add needs Add on the parent, which must exist and be interior. `acl` may be empty.
  DmStatus AddInterior(const Principal& who, std::string_view uri, std::string_view acl = {},
                       std::string_view type = {});
  // `secret` marks the leaf's value unreadable (names AAuthSecret/AAuthData always are).
  DmStatus AddLeaf(const Principal& who, std::string_view uri, NodeFormat format,
                   std::string_view type, ByteView value, std::string_view acl = {},
                   bool secret = false);
  // Replace of a leaf value needs Replace on the node.
  DmStatus ReplaceValue(const Principal& who, std::string_view uri, ByteView value);
  // Replace of Title needs Replace on the node. Replace of ACL (text validated) needs Replace
  // on the parent, or, for an interior node, on the node itself (OMA DM 1.2 TND §7.7.1.3).
  DmStatus ReplaceProperty(const Principal& who, std::string_view uri, Property p,
                           std::string_view value);
  // Deletes the node and its whole subtree; needs Delete on the node. The root cannot go.
  DmStatus Delete(const Principal& who, std::string_view uri);
  // Exec needs Exec on the node and an exec handler for it (see SetExecHandler), else 405.
  DmStatus Exec(const Principal& who, std::string_view uri, ByteView data);
  using ExecHandler = std::function<DmStatus(MoTree& tree, std::string_view uri, ByteView data)>;
  void SetExecHandler(ExecHandler handler) { exec_ = std::move(handler); }

  // The ACL rule that governs `op` on `uri` (the node's own or the nearest ancestor's).
  bool Allowed(const Principal& who, std::string_view uri, AclOp op) const;

  // --- Unchecked access (issuer personalization, views, digests) ---------------------------
  std::optional<Node> Read(std::string_view uri) const;
  // Every node in pre-order (parents before children, siblings by name).
  std::vector<Node> Walk(std::string_view from = ".") const;
  // Creates or overwrites a node as given (parent must exist and be interior; the root may be
  // overwritten for its ACL). TStamp/VerNo are set as for a change. Marks secret names.
  DmStatus Put(const Node& node);
  // Removes every node but the root and sets the root ACL to `root_acl` (re-personalization).
  DmStatus Clear(std::string_view root_acl = kRootAcl);

  // Runs `writes` (any writes of the command, not only the tree's) as one unit of the command's
  // transaction: when they fail (a full card, or for the device and the user memory taken from the
  // reserve; `who` null for unchecked writes) everything they wrote is undone through a savepoint
  // and the failure is the answer. So no operation works out beforehand whether it will fit.
  DmStatus Atomically(const Principal* who, const std::function<DmStatus()>& writes);

  // SC7: changes with every change; persistent.
  uint32_t generation() const;
  // SHA-256 over the tree in pre-order (URIs, properties, values; secret values are
  // represented by their VerNo only, so the digest tells nothing about them). Empty only if
  // the crypto library fails.
  Bytes Digest() const;
  // Number of nodes and bytes of persistent memory the tree's records take.
  size_t node_count() const;

 private:
  std::string KeyOf(std::string_view uri) const;
  // Writes a node's record and moves the generation counter, atomically.
  DmStatus Store(const Node& node, const Principal* who = nullptr);
  DmStatus Changed();  // bumps the generation counter
  bool NearestAcl(std::string_view uri, std::string& acl) const;

  StoreView store_;
  std::string prefix_;
  std::function<int64_t()> clock_;
  UriLimits limits_;
  ExecHandler exec_;
  uint32_t reserve_ = 0;
};

}  // namespace dmcard::dm
