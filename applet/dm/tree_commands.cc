// The DM applet's tree commands: GET, ADD, REPLACE, DELETE, EXEC, EXPORT. Each parses and
// validates its command, then performs one MoTree operation under the channel's principal; the
// runtime's per-APDU transaction makes each atomic.
#include <string>

#include "dm/dm_applet.h"
#include "dm/tnds.h"
#include "runtime/tlv.h"

namespace dmcard::dm {

namespace {

constexpr uint16_t kTagUri = 0x80;
constexpr uint16_t kTagValue = 0x81;
constexpr uint16_t kTagFormat = 0x82;
constexpr uint16_t kTagType = 0x83;
constexpr uint16_t kTagAcl = 0x84;
constexpr uint16_t kTagSecret = 0x85;  // 01: the leaf's value is secret (never readable)

std::string Text(ByteView v) { return std::string(v.begin(), v.end()); }

// Command data that is a bare URI.
bool UriFromData(const CommandApdu& cmd, std::string& uri) {
  if (cmd.data.empty()) return false;
  uri = Text(cmd.data);
  return true;
}

// Command data that is a TLV list with a URI (tag 80).
bool ParseTlvCommand(const CommandApdu& cmd, std::vector<Tlv>& tlvs, std::string& uri) {
  auto parsed = ParseTlvs(cmd.data);
  if (!parsed) return false;
  tlvs = std::move(*parsed);
  const Tlv* u = FindTlv(tlvs, kTagUri);
  if (u == nullptr || u->value.empty()) return false;
  uri = Text(u->value);
  return true;
}

Sw Status(DmStatus s) { return SwFromDmStatus(s); }

}  // namespace

// 80 30 P1 P2: P1 00 value, 01 property P2, 02 child names, 03 all properties (81..88; no
// Size (85) for interior nodes).
Sw DmApplet::Get(AppletContext& ctx, const CommandApdu& cmd, Bytes& out) const {
  if (cmd.p1 > 0x03 || (cmd.p1 != 0x01 && cmd.p2 != 0x00)) return Sw::kIncorrectP1P2;
  if (cmd.p1 == 0x01 && (cmd.p2 < 1 || cmd.p2 > 8)) return Sw::kIncorrectP1P2;
  std::string uri;
  if (!UriFromData(cmd, uri)) return Sw::kWrongLength;
  const MoTree tree = Tree(ctx);
  const Principal who = PrincipalOf(ctx.security());
  switch (cmd.p1) {
    case 0x00: {
      Bytes value;
      DmStatus s = tree.GetValue(who, uri, value);
      if (s == DmStatus::kOk) Append(out, value);
      return Status(s);
    }
    case 0x01: {
      std::string text;
      DmStatus s = tree.GetProperty(who, uri, static_cast<Property>(cmd.p2), text);
      if (s == DmStatus::kOk) out.insert(out.end(), text.begin(), text.end());
      return Status(s);
    }
    case 0x02: {
      std::vector<std::string> names;
      DmStatus s = tree.GetChildren(who, uri, names);
      if (s != DmStatus::kOk) return Status(s);
      // OMA DM: the child list of an interior node is its children's names separated by '/'.
      for (size_t i = 0; i < names.size(); ++i) {
        if (i != 0) out.push_back('/');
        out.insert(out.end(), names[i].begin(), names[i].end());
      }
      return Sw::kOk;
    }
    default: {
      for (uint8_t p = 1; p <= 8; ++p) {
        std::string text;
        DmStatus s = tree.GetProperty(who, uri, static_cast<Property>(p), text);
        if (s == DmStatus::kCommandNotAllowed && p == static_cast<uint8_t>(Property::kSize)) {
          continue;  // interior nodes have no Size
        }
        if (s != DmStatus::kOk) {
          out.clear();
          return Status(s);
        }
        AppendTlv(out, static_cast<uint16_t>(0x80 | p),
                  ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
      }
      return Sw::kOk;
    }
  }
}

// 80 32 00 00: 80 URI, 82 Format, [81 value], [83 Type], [84 ACL], [85 01 = secret leaf].
Sw DmApplet::Add(AppletContext& ctx, const CommandApdu& cmd) const {
  if (cmd.p1p2() != 0) return Sw::kIncorrectP1P2;
  std::vector<Tlv> tlvs;
  std::string uri;
  if (!ParseTlvCommand(cmd, tlvs, uri)) return Sw::kWrongData;
  const Tlv* fmt = FindTlv(tlvs, kTagFormat);
  if (fmt == nullptr) return Sw::kWrongData;
  auto format = ParseFormat(Text(fmt->value));
  if (!format) return Status(DmStatus::kUnsupportedFormat);
  const Tlv* value = FindTlv(tlvs, kTagValue);
  const Tlv* type = FindTlv(tlvs, kTagType);
  const Tlv* acl = FindTlv(tlvs, kTagAcl);
  const std::string type_text = type ? Text(type->value) : std::string();
  const std::string acl_text = acl ? Text(acl->value) : std::string();
  MoTree tree = Tree(ctx);
  const Principal who = PrincipalOf(ctx.security());
  if (*format == NodeFormat::kNode) {
    if (value != nullptr) return Status(DmStatus::kCommandNotAllowed);
    return Status(tree.AddInterior(who, uri, acl_text, type_text));
  }
  const Tlv* secret = FindTlv(tlvs, kTagSecret);
  if (secret != nullptr && (secret->value.size() != 1 || secret->value[0] > 1)) {
    return Sw::kWrongData;
  }
  return Status(tree.AddLeaf(who, uri, *format, type_text, value ? value->value : ByteView{},
                             acl_text, secret != nullptr && secret->value[0] == 1));
}

// 80 34 P1 P2: P1 00 value (80 URI, 81 value); P1 01 property P2 = 01 ACL or 06 Title.
Sw DmApplet::Replace(AppletContext& ctx, const CommandApdu& cmd) const {
  if (cmd.p1 > 0x01 || (cmd.p1 == 0x00 && cmd.p2 != 0x00) ||
      (cmd.p1 == 0x01 && cmd.p2 != 0x01 && cmd.p2 != 0x06)) {
    return Sw::kIncorrectP1P2;
  }
  std::vector<Tlv> tlvs;
  std::string uri;
  if (!ParseTlvCommand(cmd, tlvs, uri)) return Sw::kWrongData;
  const Tlv* value = FindTlv(tlvs, kTagValue);
  if (value == nullptr) return Sw::kWrongData;
  MoTree tree = Tree(ctx);
  const Principal who = PrincipalOf(ctx.security());
  if (cmd.p1 == 0x00) return Status(tree.ReplaceValue(who, uri, value->value));
  return Status(tree.ReplaceProperty(who, uri, static_cast<Property>(cmd.p2), Text(value->value)));
}

// 80 36 00 00 URI: the node and its subtree.
Sw DmApplet::Delete(AppletContext& ctx, const CommandApdu& cmd) const {
  if (cmd.p1p2() != 0) return Sw::kIncorrectP1P2;
  std::string uri;
  if (!UriFromData(cmd, uri)) return Sw::kWrongLength;
  MoTree tree = Tree(ctx);
  return Status(tree.Delete(PrincipalOf(ctx.security()), uri));
}

// 80 38 00 00: 80 URI, [81 data].
Sw DmApplet::Exec(AppletContext& ctx, const CommandApdu& cmd) const {
  if (cmd.p1p2() != 0) return Sw::kIncorrectP1P2;
  std::vector<Tlv> tlvs;
  std::string uri;
  if (!ParseTlvCommand(cmd, tlvs, uri)) return Sw::kWrongData;
  const Tlv* data = FindTlv(tlvs, kTagValue);
  MoTree tree = Tree(ctx);
  return Status(tree.Exec(PrincipalOf(ctx.security()), uri, data ? data->value : ByteView{}));
}

// 80 3A P1 00 URI: the subtree as TNDS (P1 00 XML, 01 WBXML). Every node of it must be readable
// by the caller (Get); secret values are never included.
Sw DmApplet::Export(AppletContext& ctx, const CommandApdu& cmd, Bytes& out) const {
  if (cmd.p1 > 0x01 || cmd.p2 != 0x00) return Sw::kIncorrectP1P2;
  std::string uri;
  if (!UriFromData(cmd, uri)) return Sw::kWrongLength;
  const MoTree tree = Tree(ctx);
  if (DmStatus s = tree.CheckUri(uri); s != DmStatus::kOk) return Status(s);
  const Principal who = PrincipalOf(ctx.security());
  const std::vector<Node> nodes = tree.Walk(uri);
  if (nodes.empty()) return Status(DmStatus::kNotFound);
  for (const Node& n : nodes) {
    if (!tree.Allowed(who, n.uri, AclOp::kGet)) return Status(DmStatus::kPermissionDenied);
  }
  const std::string xml = ExportTndsXml(tree, uri);
  if (cmd.p1 == 0x00) {
    out.insert(out.end(), xml.begin(), xml.end());
    return Sw::kOk;
  }
  std::string error;
  auto wbxml = TndsXmlToWbxml(xml, error);
  if (!wbxml) return Sw::kNoPreciseDiagnosis;
  Append(out, *wbxml);
  return Sw::kOk;
}

}  // namespace dmcard::dm
