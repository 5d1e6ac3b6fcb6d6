// The DM applet's tree commands: GET, ADD, REPLACE, DELETE, EXEC, EXPORT. Each gets its
// already-validated request (dm/requests.h) and performs one MoTree operation under the channel's
// principal; the runtime's per-APDU transaction makes each atomic.
#include <string>

#include "dm/dm_applet.h"
#include "dm/tnds.h"
#include "runtime/tlv.h"

namespace dmcard::dm {

namespace {

Sw Status(DmStatus s) { return SwFromDmStatus(s); }

}  // namespace

// GET: a leaf's value, one property, the child names, or all properties (81..88; no Size (85)
// for interior nodes).
Sw DmApplet::Get(AppletContext& ctx, const GetRequest& req, Bytes& out) const {
  const MoTree tree = Tree(ctx);
  const Principal who = PrincipalOf(ctx.security());
  const std::string& uri = req.uri;
  switch (req.what) {
    case GetRequest::What::kValue: {
      Bytes value;
      DmStatus s = tree.GetValue(who, uri, value);
      if (s == DmStatus::kOk) Append(out, value);
      return Status(s);
    }
    case GetRequest::What::kProperty: {
      std::string text;
      DmStatus s = tree.GetProperty(who, uri, req.property, text);
      if (s == DmStatus::kOk) out.insert(out.end(), text.begin(), text.end());
      return Status(s);
    }
    case GetRequest::What::kChildren: {
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
    case GetRequest::What::kAllProperties: {
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
  return Sw::kNoPreciseDiagnosis;  // unreachable: ParseGet accepts P1 00..03 only
}

// ADD: an interior node, or a leaf with its format, value and secret mark.
Sw DmApplet::Add(AppletContext& ctx, const AddRequest& req, Bytes& /*out*/) const {
  MoTree tree = Tree(ctx);
  const Principal who = PrincipalOf(ctx.security());
  if (req.format == NodeFormat::kNode) {
    return Status(tree.AddInterior(who, req.uri, req.acl, req.type));
  }
  return Status(tree.AddLeaf(who, req.uri, req.format, req.type, req.value, req.acl, req.secret));
}

// REPLACE: a leaf's value, or its ACL or Title.
Sw DmApplet::Replace(AppletContext& ctx, const ReplaceRequest& req, Bytes& /*out*/) const {
  MoTree tree = Tree(ctx);
  const Principal who = PrincipalOf(ctx.security());
  if (!req.property) return Status(tree.ReplaceValue(who, req.uri, req.value));
  return Status(tree.ReplaceProperty(who, req.uri, *req.property,
                                     std::string(req.value.begin(), req.value.end())));
}

// DELETE: the node and its subtree.
Sw DmApplet::Delete(AppletContext& ctx, const DeleteRequest& req, Bytes& /*out*/) const {
  MoTree tree = Tree(ctx);
  return Status(tree.Delete(PrincipalOf(ctx.security()), req.uri));
}

// EXEC: the node's handler with the data.
Sw DmApplet::Exec(AppletContext& ctx, const ExecRequest& req, Bytes& /*out*/) const {
  MoTree tree = Tree(ctx);
  return Status(tree.Exec(PrincipalOf(ctx.security()), req.uri, req.data));
}

// EXPORT: the subtree as TNDS, XML or WBXML. Every node of it must be readable by the caller
// (Get); secret values are never included.
Sw DmApplet::Export(AppletContext& ctx, const ExportRequest& req, Bytes& out) const {
  const MoTree tree = Tree(ctx);
  if (DmStatus s = tree.CheckUri(req.uri); s != DmStatus::kOk) return Status(s);
  const Principal who = PrincipalOf(ctx.security());
  const std::vector<Node> nodes = tree.Walk(req.uri);
  if (nodes.empty()) return Status(DmStatus::kNotFound);
  for (const Node& n : nodes) {
    if (!tree.Allowed(who, n.uri, AclOp::kGet)) return Status(DmStatus::kPermissionDenied);
  }
  const std::string xml = ExportTndsXml(tree, req.uri);
  if (req.encoding == ExportRequest::Encoding::kXml) {
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
