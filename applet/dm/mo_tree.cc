// The OMA DM management-object tree in the persistent store; see mo_tree.h.
//
// Records (all under the tree's key prefix P, e.g. "dm/"):
//   P "gen"       generation counter, u32 big-endian
//   P "n/" uri    one record per node, e.g. "dm/n/." (root), "dm/n/./DMAcc/Operator"
// Children are found with store.Keys(P "n/" uri "/") filtered to one more segment.
//
// Node record, version 1 (integers big-endian):
//   offset 0   u8     record version (1)
//          1   u8     flags: bit 0 interior, bit 1 secret
//          2   u8     Format (NodeFormat value)
//          3   u16    VerNo
//          5   i64    TStamp (UTC seconds, two's complement)
//          13  u16 n  Type length, then n bytes of Type
//              u16 n  ACL length, then the ACL text (empty = inherited)
//              u16 n  Title length, then the Title
//              ...    the rest of the record is the value (leaves only)
// Name and Size are derived (last URI segment, value length), never stored.
//
// Every operation checks everything (URI, existence, ACL, arguments, room in the store) before
// its first write, so a refused operation writes nothing; the writes of an accepted one all go
// into the caller's open store transaction. A new node starts with VerNo 0; every later change
// of it sets TStamp to the clock and increments VerNo. The generation counter is incremented
// once per successful mutating operation.
#include "dm/mo_tree.h"
#include "dm/records.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "crypto/crypto.h"

namespace dmcard::dm {

namespace {

constexpr uint8_t kRecordVersion = records::kNode.version;  // dm/records.h
constexpr uint8_t kFlagInterior = 0x01;
constexpr uint8_t kFlagSecret = 0x02;
constexpr size_t kFixedHeader = 13;
constexpr size_t kMaxTextBytes = MoTree::kMaxValueBytes;  // Type, ACL, Title

// Store outcome as an OMA DM result; its status word then agrees with the runtime's SwFromStore.
DmStatus FromStore(StoreStatus s) {
  switch (s) {
    case StoreStatus::kOk:
      return DmStatus::kOk;
    case StoreStatus::kFull:
      return DmStatus::kDeviceFull;
    case StoreStatus::kPowerLost:
      return DmStatus::kDataStoreFailure;
    case StoreStatus::kNoTransaction:
    case StoreStatus::kOutOfRange:
    case StoreStatus::kNotFound:
    case StoreStatus::kOutOfScope:
      return DmStatus::kCommandFailed;
  }
  return DmStatus::kCommandFailed;
}

void AppendText(Bytes& out, std::string_view s) {
  AppendU16(out, static_cast<uint16_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

Bytes Encode(const Node& n) {
  Bytes out;
  out.reserve(kFixedHeader + 6 + n.props.type.size() + n.props.acl.size() + n.props.title.size() +
              n.value.size());
  out.push_back(kRecordVersion);
  out.push_back(
      static_cast<uint8_t>((n.interior ? kFlagInterior : 0) | (n.props.secret ? kFlagSecret : 0)));
  out.push_back(static_cast<uint8_t>(n.props.format));
  AppendU16(out, n.props.verno);
  const auto ts = static_cast<uint64_t>(n.props.tstamp);
  AppendU32(out, static_cast<uint32_t>(ts >> 32));
  AppendU32(out, static_cast<uint32_t>(ts));
  AppendText(out, n.props.type);
  AppendText(out, n.props.acl);
  AppendText(out, n.props.title);
  if (!n.interior) Append(out, n.value);
  return out;
}

bool ReadText(const Bytes& in, size_t& pos, std::string& out) {
  if (in.size() - pos < 2) return false;
  const size_t n = ReadU16(in.data() + pos);
  pos += 2;
  if (in.size() - pos < n) return false;
  out.assign(in.begin() + static_cast<ptrdiff_t>(pos),
             in.begin() + static_cast<ptrdiff_t>(pos + n));
  pos += n;
  return true;
}

bool Decode(std::string_view uri, const Bytes& in, Node& n) {
  if (in.size() < kFixedHeader || in[0] != kRecordVersion) return false;
  if ((in[1] & ~(kFlagInterior | kFlagSecret)) != 0) return false;
  if (in[2] >= kNodeFormatCount) return false;
  n.uri.assign(uri);
  n.interior = (in[1] & kFlagInterior) != 0;
  n.props.secret = (in[1] & kFlagSecret) != 0;
  n.props.format = static_cast<NodeFormat>(in[2]);
  n.props.verno = ReadU16(in.data() + 3);
  n.props.tstamp =
      static_cast<int64_t>((uint64_t{ReadU32(in.data() + 5)} << 32) | ReadU32(in.data() + 9));
  size_t pos = kFixedHeader;
  if (!ReadText(in, pos, n.props.type) || !ReadText(in, pos, n.props.acl) ||
      !ReadText(in, pos, n.props.title)) {
    return false;
  }
  n.value.assign(in.begin() + static_cast<ptrdiff_t>(pos), in.end());
  return !n.interior || n.value.empty();
}

// kOk and the node, kNotFound, or kCommandFailed for a record that does not decode.
DmStatus Load(const StoreView& store, const std::string& key, std::string_view uri, Node& node) {
  const Bytes* rec = store.Get(key);
  if (rec == nullptr) return DmStatus::kNotFound;
  return Decode(uri, *rec, node) ? DmStatus::kOk : DmStatus::kCommandFailed;
}

// Checks a node as it would be stored: ACL syntax, text sizes, format and value.
DmStatus ValidateNode(const Node& n) {
  if (!Acl::Parse(n.props.acl)) return DmStatus::kBadRequest;
  if (n.props.type.size() > kMaxTextBytes || n.props.acl.size() > kMaxTextBytes ||
      n.props.title.size() > kMaxTextBytes) {
    return DmStatus::kRequestTooLarge;
  }
  // Properties are UTF-8 strings (OMA-TS-DM_TND 1.2 §7.4) that TNDS exports as XML text.
  if (!IsTndsText(n.props.type) || !IsTndsText(n.props.acl) || !IsTndsText(n.props.title)) {
    return DmStatus::kBadRequest;
  }
  if (n.interior) {
    if (n.props.format != NodeFormat::kNode) return DmStatus::kUnsupportedFormat;
    if (!n.value.empty()) return DmStatus::kBadRequest;
    return DmStatus::kOk;
  }
  if (n.value.size() > MoTree::kMaxValueBytes) return DmStatus::kRequestTooLarge;
  if (static_cast<size_t>(n.props.format) >= kNodeFormatCount ||
      !ValidLeafValue(n.props.format, n.value)) {
    return DmStatus::kUnsupportedFormat;
  }
  return DmStatus::kOk;
}

// Pre-order with siblings by name: compare URIs with '/' ranking below every other character.
bool PreOrderLess(const std::string& a, const std::string& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) continue;
    if (a[i] == '/') return true;
    if (b[i] == '/') return false;
    return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return a.size() < b.size();
}

// ISO 8601 basic UTC form of OMA DM TStamp, e.g. 20010711T163817Z.
std::string FormatTStamp(int64_t t) {
  int64_t days = t / 86400;
  int64_t secs = t % 86400;
  if (secs < 0) {
    secs += 86400;
    --days;
  }
  // days -> civil date (H. Hinnant's civil_from_days).
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[128];  // room for any int64 fields
  std::snprintf(buf, sizeof buf, "%04lld%02lld%02lldT%02lld%02lld%02lldZ",
                static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                static_cast<long long>(secs % 60));
  return buf;
}

void DigestField(Bytes& out, ByteView data) {
  AppendU32(out, static_cast<uint32_t>(data.size()));
  Append(out, data);
}
void DigestField(Bytes& out, std::string_view s) {
  DigestField(out, ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

}  // namespace

Sw SwFromDmStatus(DmStatus s) {
  switch (s) {
    case DmStatus::kOk:
      return Sw::kOk;
    case DmStatus::kBadRequest:
      return Sw::kWrongData;
    case DmStatus::kNotFound:
      return Sw::kFileNotFound;
    case DmStatus::kCommandNotAllowed:
      return Sw::kCommandNotAllowedNoEf;
    case DmStatus::kOptionalNotSupported:
      return Sw::kFunctionNotSupported;
    case DmStatus::kRequestTooLarge:
      return Sw::kWrongLength;
    case DmStatus::kUriTooLong:
      return Sw::kWrongData;
    case DmStatus::kUnsupportedFormat:
      return Sw::kWrongData;
    case DmStatus::kAlreadyExists:
      return Sw::kFileAlreadyExists;
    case DmStatus::kDeviceFull:
      return Sw::kNotEnoughMemory;
    case DmStatus::kPermissionDenied:
      return Sw::kSecurityStatusNotSatisfied;
    case DmStatus::kCommandFailed:
      return Sw::kNoPreciseDiagnosis;
    case DmStatus::kDataStoreFailure:
      return SwFromStore(StoreStatus::kPowerLost);
  }
  return Sw::kNoPreciseDiagnosis;
}

MoTree::MoTree(StoreView store, std::string key_prefix, std::function<int64_t()> clock,
               UriLimits limits)
    : store_(store), prefix_(std::move(key_prefix)), clock_(std::move(clock)), limits_(limits) {}

std::string MoTree::KeyOf(std::string_view uri) const {
  std::string key = prefix_;
  key += "n/";
  key += uri;
  return key;
}

DmStatus MoTree::Init(std::string_view root_acl) {
  const std::string root_key = KeyOf(".");
  const std::string gen_key = prefix_ + "gen";
  const bool need_root = !store_.Contains(root_key);
  const bool need_gen = !store_.Contains(gen_key);
  if (!need_root && !need_gen) return DmStatus::kOk;
  Node root;
  root.uri = ".";
  root.interior = true;
  root.props.acl.assign(root_acl);
  if (root.props.acl.empty() || !Acl::Parse(root.props.acl)) return DmStatus::kBadRequest;
  root.props.tstamp = clock_ ? clock_() : 0;
  return Atomically(nullptr, [&]() -> DmStatus {
    if (need_root) {
      if (DmStatus s = FromStore(store_.Put(root_key, Encode(root))); s != DmStatus::kOk) return s;
    }
    if (!need_gen) return DmStatus::kOk;
    Bytes zero;
    AppendU32(zero, 0);
    return FromStore(store_.Put(gen_key, zero));
  });
}

DmStatus MoTree::CheckUri(std::string_view uri) const {
  if (uri == ".") return DmStatus::kOk;
  if (!uri.starts_with("./")) return DmStatus::kBadRequest;
  std::string_view rest = uri.substr(2);
  size_t depth = 0;
  bool too_long = uri.size() > limits_.max_tot_len;
  while (true) {
    const size_t slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    if (seg.empty() || seg == "." || seg == "..") return DmStatus::kBadRequest;
    for (char c : seg) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7F || c == '?' || c == '#') return DmStatus::kBadRequest;
    }
    // Node names are UTF-8 (OMA-TS-DM_TND 1.2 §7.4) and TNDS writes them as <NodeName> text.
    if (!IsTndsText(seg)) return DmStatus::kBadRequest;
    ++depth;
    if (seg.size() > limits_.max_seg_len) too_long = true;
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (depth > limits_.max_depth) too_long = true;
  return too_long ? DmStatus::kUriTooLong : DmStatus::kOk;
}

// "" for the root (it has no parent) and for a string with no '/'.
std::string MoTree::ParentOf(std::string_view uri) {
  if (uri == ".") return {};
  const size_t slash = uri.rfind('/');
  if (slash == std::string_view::npos) return {};
  return std::string(uri.substr(0, slash));
}

std::string MoTree::NameOf(std::string_view uri) {
  if (uri == ".") return ".";
  const size_t slash = uri.rfind('/');
  return std::string(slash == std::string_view::npos ? uri : uri.substr(slash + 1));
}

bool MoTree::NearestAcl(std::string_view uri, std::string& acl) const {
  std::string u(uri);
  while (!u.empty()) {
    if (const Bytes* rec = store_.Get(KeyOf(u)); rec != nullptr) {
      Node n;
      if (Decode(u, *rec, n) && !n.props.acl.empty()) {
        acl = std::move(n.props.acl);
        return true;
      }
    }
    u = ParentOf(u);
  }
  return false;
}

bool MoTree::Allowed(const Principal& who, std::string_view uri, AclOp op) const {
  std::string text;
  if (!NearestAcl(uri, text)) text = kRootAcl;
  const std::optional<Acl> acl = Acl::Parse(text);
  return acl.has_value() && acl->Allows(op, who);  // an unreadable ACL grants nothing
}

bool MoTree::BoundByReserve(const Principal& who) {
  return who.kind == Principal::Kind::kDevice || who.kind == Principal::Kind::kUser;
}

DmStatus MoTree::Atomically(const Principal* who, const std::function<DmStatus()>& writes) {
  if (store_.power_lost()) return DmStatus::kDataStoreFailure;
  if (!store_.in_transaction()) return DmStatus::kCommandFailed;
  const PersistentStore::SavepointId sp = store_.Savepoint();
  const uint32_t used_before = store_.used();
  DmStatus s = writes();
  if (s == DmStatus::kOk && who != nullptr && BoundByReserve(*who)) {
    const uint32_t used = store_.used();
    if (used > used_before && int64_t{used} > int64_t{store_.capacity()} - int64_t{reserve_}) {
      s = DmStatus::kDeviceFull;
    }
  }
  // After a power loss the card is dead and the transaction gone: nothing to undo.
  if (s != DmStatus::kOk && !store_.power_lost()) {
    store_.RollbackTo(sp);
  } else {
    store_.Release(sp);
  }
  return s;
}

DmStatus MoTree::Store(const Node& node, const Principal* who) {
  return Atomically(who, [&]() -> DmStatus {
    if (DmStatus s = FromStore(store_.Put(KeyOf(node.uri), Encode(node))); s != DmStatus::kOk) {
      return s;
    }
    return Changed();
  });
}

DmStatus MoTree::Changed() {
  Bytes gen;
  AppendU32(gen, generation() + 1);  // wraps mod 2^32
  return FromStore(store_.Put(prefix_ + "gen", gen));
}

uint32_t MoTree::generation() const {
  const Bytes* g = store_.Get(prefix_ + "gen");
  return g != nullptr && g->size() == 4 ? ReadU32(g->data()) : 0;
}

// --- Operations under ACL ------------------------------------------------------------------

DmStatus MoTree::GetValue(const Principal& who, std::string_view uri, Bytes& out) const {
  if (DmStatus s = CheckUri(uri); s != DmStatus::kOk) return s;
  Node n;
  if (DmStatus s = Load(store_, KeyOf(uri), uri, n); s != DmStatus::kOk) return s;
  if (!Allowed(who, uri, AclOp::kGet)) return DmStatus::kPermissionDenied;
  if (n.interior) return DmStatus::kCommandNotAllowed;
  if (n.props.secret) return DmStatus::kPermissionDenied;  // whoever asks
  out = std::move(n.value);
  return DmStatus::kOk;
}

DmStatus MoTree::GetChildren(const Principal& who, std::string_view uri,
                             std::vector<std::string>& names) const {
  if (DmStatus s = CheckUri(uri); s != DmStatus::kOk) return s;
  Node n;
  if (DmStatus s = Load(store_, KeyOf(uri), uri, n); s != DmStatus::kOk) return s;
  if (!Allowed(who, uri, AclOp::kGet)) return DmStatus::kPermissionDenied;
  if (!n.interior) return DmStatus::kCommandNotAllowed;
  names.clear();
  const std::string prefix = KeyOf(uri) + "/";
  for (const std::string& key : store_.Keys(prefix)) {
    const std::string_view name = std::string_view(key).substr(prefix.size());
    if (name.find('/') == std::string_view::npos) names.emplace_back(name);
  }
  return DmStatus::kOk;
}

DmStatus MoTree::GetProperty(const Principal& who, std::string_view uri, Property p,
                             std::string& out) const {
  if (DmStatus s = CheckUri(uri); s != DmStatus::kOk) return s;
  Node n;
  if (DmStatus s = Load(store_, KeyOf(uri), uri, n); s != DmStatus::kOk) return s;
  if (!Allowed(who, uri, AclOp::kGet)) return DmStatus::kPermissionDenied;
  switch (p) {
    case Property::kAcl:
      out = n.props.acl;
      return DmStatus::kOk;
    case Property::kFormat:
      out = FormatName(n.props.format);
      return DmStatus::kOk;
    case Property::kType:
      out = n.props.type;
      return DmStatus::kOk;
    case Property::kName:
      out = NameOf(uri);
      return DmStatus::kOk;
    case Property::kSize:
      if (n.interior) return DmStatus::kCommandNotAllowed;  // leaves only (TND §7.7.6)
      out = std::to_string(n.value.size());                 // secret leaves too
      return DmStatus::kOk;
    case Property::kTitle:
      out = n.props.title;
      return DmStatus::kOk;
    case Property::kTStamp:
      out = FormatTStamp(n.props.tstamp);
      return DmStatus::kOk;
    case Property::kVerNo:
      out = std::to_string(n.props.verno);
      return DmStatus::kOk;
  }
  return DmStatus::kBadRequest;
}

namespace {

// The checks common to both Adds: URI, parent present, Add on the parent, parent interior,
// node absent.
DmStatus CheckAdd(const MoTree& tree, const Principal& who, std::string_view uri) {
  if (DmStatus s = tree.CheckUri(uri); s != DmStatus::kOk) return s;
  if (uri == ".") return DmStatus::kAlreadyExists;
  const std::string parent_uri = MoTree::ParentOf(uri);
  const std::optional<Node> parent = tree.Read(parent_uri);
  if (!parent) return DmStatus::kNotFound;
  if (!tree.Allowed(who, parent_uri, AclOp::kAdd)) return DmStatus::kPermissionDenied;
  if (!parent->interior) return DmStatus::kCommandNotAllowed;
  if (tree.Read(uri)) return DmStatus::kAlreadyExists;
  return DmStatus::kOk;
}

}  // namespace

DmStatus MoTree::AddInterior(const Principal& who, std::string_view uri, std::string_view acl,
                             std::string_view type) {
  if (DmStatus s = CheckAdd(*this, who, uri); s != DmStatus::kOk) return s;
  Node n;
  n.uri.assign(uri);
  n.interior = true;
  n.props.format = NodeFormat::kNode;
  n.props.type.assign(type);
  n.props.acl.assign(acl);
  if (DmStatus s = ValidateNode(n); s != DmStatus::kOk) return s;
  n.props.tstamp = clock_ ? clock_() : 0;
  return Store(n, &who);
}

DmStatus MoTree::AddLeaf(const Principal& who, std::string_view uri, NodeFormat format,
                         std::string_view type, ByteView value, std::string_view acl, bool secret) {
  if (DmStatus s = CheckAdd(*this, who, uri); s != DmStatus::kOk) return s;
  Node n;
  n.uri.assign(uri);
  n.interior = false;
  n.props.format = format;
  n.props.type.assign(type);
  n.props.acl.assign(acl);
  n.props.secret = secret || IsSecretName(NameOf(uri));
  n.value.assign(value.begin(), value.end());
  if (DmStatus s = ValidateNode(n); s != DmStatus::kOk) return s;
  n.props.tstamp = clock_ ? clock_() : 0;
  return Store(n, &who);
}

DmStatus MoTree::ReplaceValue(const Principal& who, std::string_view uri, ByteView value) {
  if (DmStatus s = CheckUri(uri); s != DmStatus::kOk) return s;
  Node n;
  if (DmStatus s = Load(store_, KeyOf(uri), uri, n); s != DmStatus::kOk) return s;
  if (!Allowed(who, uri, AclOp::kReplace)) return DmStatus::kPermissionDenied;
  if (n.interior) return DmStatus::kCommandNotAllowed;
  n.value.assign(value.begin(), value.end());
  if (DmStatus s = ValidateNode(n); s != DmStatus::kOk) return s;
  n.props.tstamp = clock_ ? clock_() : 0;
  ++n.props.verno;
  return Store(n, &who);
}

DmStatus MoTree::ReplaceProperty(const Principal& who, std::string_view uri, Property p,
                                 std::string_view value) {
  if (DmStatus s = CheckUri(uri); s != DmStatus::kOk) return s;
  Node n;
  if (DmStatus s = Load(store_, KeyOf(uri), uri, n); s != DmStatus::kOk) return s;
  // OMA-TS-DM_TND 1.2 §7.7.1.3: Replace on a node covers its value and properties, but a
  // leaf's own ACL only through its parent; Replace on the parent may always change a child's
  // ACL (so a server controlling the parent can take over a child).
  const bool node_replace = Allowed(who, uri, AclOp::kReplace);
  const bool parent_replace = uri != "." && Allowed(who, ParentOf(uri), AclOp::kReplace);
  const bool may =
      p == Property::kAcl ? parent_replace || (n.interior && node_replace) : node_replace;
  if (!may) return DmStatus::kPermissionDenied;
  switch (p) {
    case Property::kAcl:
      if (!Acl::Parse(value)) return DmStatus::kBadRequest;
      if (uri == "." && value.empty()) return DmStatus::kCommandNotAllowed;  // root keeps one
      n.props.acl.assign(value);
      break;
    case Property::kTitle:
      n.props.title.assign(value);
      break;
    case Property::kName:
      return DmStatus::kOptionalNotSupported;  // renaming is optional in OMA DM; not supported
    default:
      return DmStatus::kCommandNotAllowed;  // Format, Type, Size, TStamp, VerNo: read-only
  }
  if (DmStatus s = ValidateNode(n); s != DmStatus::kOk) return s;
  n.props.tstamp = clock_ ? clock_() : 0;
  ++n.props.verno;
  return Store(n, &who);
}

DmStatus MoTree::Delete(const Principal& who, std::string_view uri) {
  if (DmStatus s = CheckUri(uri); s != DmStatus::kOk) return s;
  if (uri == ".") return DmStatus::kCommandNotAllowed;
  const std::string key = KeyOf(uri);
  if (!store_.Contains(key)) return DmStatus::kNotFound;
  if (!Allowed(who, uri, AclOp::kDelete)) return DmStatus::kPermissionDenied;
  return Atomically(nullptr, [&]() -> DmStatus {
    for (const std::string& k : store_.Keys(key + "/")) {
      if (DmStatus s = FromStore(store_.Erase(k)); s != DmStatus::kOk) return s;
    }
    if (DmStatus s = FromStore(store_.Erase(key)); s != DmStatus::kOk) return s;
    return Changed();
  });
}

DmStatus MoTree::Exec(const Principal& who, std::string_view uri, ByteView data) {
  if (DmStatus s = CheckUri(uri); s != DmStatus::kOk) return s;
  if (!store_.Contains(KeyOf(uri))) return DmStatus::kNotFound;
  if (!Allowed(who, uri, AclOp::kExec)) return DmStatus::kPermissionDenied;
  if (!exec_) return DmStatus::kCommandNotAllowed;
  // The handler's own tree changes go through the tree and count there.
  return exec_(*this, uri, data);
}

// --- Unchecked access ------------------------------------------------------------------------

std::optional<Node> MoTree::Read(std::string_view uri) const {
  if (CheckUri(uri) != DmStatus::kOk) return std::nullopt;
  Node n;
  if (Load(store_, KeyOf(uri), uri, n) != DmStatus::kOk) return std::nullopt;
  return n;
}

std::vector<Node> MoTree::Walk(std::string_view from) const {
  std::vector<Node> out;
  std::optional<Node> top = Read(from);
  if (!top) return out;
  out.push_back(std::move(*top));
  const std::string prefix = KeyOf(from) + "/";
  const size_t uri_at = prefix_.size() + 2;  // after P "n/"
  for (const std::string& key : store_.Keys(prefix)) {
    Node n;
    const Bytes* rec = store_.Get(key);
    if (rec != nullptr && Decode(std::string_view(key).substr(uri_at), *rec, n)) {
      out.push_back(std::move(n));
    }
  }
  std::sort(out.begin() + 1, out.end(),
            [](const Node& a, const Node& b) { return PreOrderLess(a.uri, b.uri); });
  return out;
}

DmStatus MoTree::Put(const Node& node) {
  if (DmStatus s = CheckUri(node.uri); s != DmStatus::kOk) return s;
  const bool root = node.uri == ".";
  if (root && (!node.interior || node.props.acl.empty())) return DmStatus::kCommandNotAllowed;
  if (!root) {
    const std::optional<Node> parent = Read(ParentOf(node.uri));
    if (!parent) return DmStatus::kNotFound;
    if (!parent->interior) return DmStatus::kCommandNotAllowed;
  }
  const std::string key = KeyOf(node.uri);
  Node old;
  const DmStatus found = Load(store_, key, node.uri, old);
  if (found == DmStatus::kOk && old.interior && !node.interior && !store_.Keys(key + "/").empty()) {
    return DmStatus::kCommandNotAllowed;  // an interior node with children cannot become a leaf
  }
  Node n = node;
  n.props.secret = node.props.secret || (!node.interior && IsSecretName(NameOf(node.uri)));
  if (DmStatus s = ValidateNode(n); s != DmStatus::kOk) return s;
  n.props.tstamp = clock_ ? clock_() : 0;
  n.props.verno = found == DmStatus::kOk ? static_cast<uint16_t>(old.props.verno + 1) : 0;
  return Store(n);
}

DmStatus MoTree::Clear(std::string_view root_acl) {
  if (root_acl.empty() || !Acl::Parse(root_acl)) return DmStatus::kBadRequest;
  const std::string root_key = KeyOf(".");
  Node root;
  if (Load(store_, root_key, ".", root) == DmStatus::kOk) {
    ++root.props.verno;
  } else {
    root = Node{};
    root.uri = ".";
    root.interior = true;
  }
  root.props.acl.assign(root_acl);
  root.props.tstamp = clock_ ? clock_() : 0;
  return Atomically(nullptr, [&]() -> DmStatus {
    for (const std::string& k : store_.Keys(root_key + "/")) {
      if (DmStatus s = FromStore(store_.Erase(k)); s != DmStatus::kOk) return s;
    }
    return Store(root);
  });
}

Bytes MoTree::Digest() const {
  Bytes buf;
  DigestField(buf, std::string_view("dmcard MO tree digest v1"));
  for (const Node& n : Walk(".")) {
    DigestField(buf, n.uri);
    buf.push_back(n.interior ? 1 : 0);
    buf.push_back(static_cast<uint8_t>(n.props.format));
    DigestField(buf, n.props.type);
    DigestField(buf, n.props.acl);
    DigestField(buf, n.props.title);
    AppendU16(buf, n.props.verno);
    buf.push_back(n.props.secret ? 1 : 0);
    if (!n.props.secret) DigestField(buf, n.value);  // secret values: their VerNo only
  }
  Bytes digest;
  if (crypto::Hash(crypto::HashAlg::kSha256, buf, digest) != crypto::CryptoStatus::kOk) {
    return {};  // mbed TLS failed: no digest (the descriptor then carries an empty one)
  }
  return digest;
}

size_t MoTree::node_count() const { return store_.Keys(prefix_ + "n/").size(); }

}  // namespace dmcard::dm
