// The card's DM bootstrap from its tree (dm/bootstrap_export.h): OMA-TS-DM_Bootstrap 1.2
// (smartcard bootstrap, the message a SyncML DM 1.2 package in WBXML), OMA-TS-DM_TNDS 1.2 for the
// objects it carries. The selection is an export over a node list: no copy of the tree is made.
#include "dm/bootstrap_export.h"

#include <map>
#include <string_view>
#include <utility>

#include "dm/tnds.h"

namespace dmcard::dm {

namespace {

// OMA-TS-DM_TNDS 1.2 §7: the MIME type of a TNDS object in XML. libwbxml2 encodes the Data of an
// Item of this type as an embedded WBXML TNDS document and writes the type as
// application/vnd.syncml.dmtnds+wbxml.
constexpr char kTndsXmlType[] = "application/vnd.syncml.dmtnds+xml";

bool IsUnder(std::string_view uri, std::string_view root) {
  if (root == ".") return true;
  return uri == root || (uri.size() > root.size() && uri.substr(0, root.size()) == root &&
                         uri[root.size()] == '/');
}

// "./A/B/C" → {"./A", "./A/B"}.
std::vector<std::string> AncestorsOf(const std::string& uri) {
  std::vector<std::string> out;
  for (size_t pos = uri.find('/', 2); pos != std::string::npos; pos = uri.find('/', pos + 1)) {
    out.push_back(uri.substr(0, pos));
  }
  return out;
}

// "./A/B" → {".", "A", "B"}: ordering by these gives pre-order with siblings by name, the order
// of MoTree::Walk.
std::vector<std::string> Segments(std::string_view uri) {
  std::vector<std::string> out;
  for (size_t start = 0;;) {
    const size_t slash = uri.find('/', start);
    out.emplace_back(uri.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

// A secret value never leaves the card: the node goes out marked secret, without its value.
Node WithoutSecret(Node n) {
  if (n.props.secret || MoTree::IsSecretName(MoTree::NameOf(n.uri))) {
    n.props.secret = true;
    n.value.clear();
  }
  return n;
}

class Selector {
 public:
  Selector(const MoTree& tree, const Principal& reader) : tree_(tree), reader_(reader) {}

  // The node, every ancestor and the root may be Get.
  bool MayGet(const std::string& uri) const {
    if (!tree_.Allowed(reader_, uri, AclOp::kGet)) return false;
    for (const std::string& a : AncestorsOf(uri)) {
      if (!tree_.Allowed(reader_, a, AclOp::kGet)) return false;
    }
    return tree_.Allowed(reader_, ".", AclOp::kGet);
  }

  // The subtree at `root` without the nodes the reader may not Get, nor their subtrees.
  std::vector<Node> ReadableWalk(const std::string& root) const {
    std::vector<Node> out;
    std::vector<std::string> refused;
    for (Node& n : tree_.Walk(root)) {
      bool under_refused = false;
      for (const std::string& r : refused) under_refused = under_refused || IsUnder(n.uri, r);
      if (under_refused) continue;
      if (!tree_.Allowed(reader_, n.uri, AclOp::kGet)) {
        refused.push_back(n.uri);
        continue;
      }
      out.push_back(std::move(n));
    }
    return out;
  }

  void AddRoot(const std::string& uri) {
    for (const std::string& r : roots_) {
      if (IsUnder(uri, r)) return;
    }
    if (!tree_.Read(uri) || !MayGet(uri)) return;
    std::erase_if(roots_, [&](const std::string& r) { return IsUnder(r, uri); });
    roots_.push_back(uri);
  }

  // DMAcc's PrefConRef and ToConRef/<x>/ConRef values.
  void FollowConRefs() {
    if (!tree_.Read("./DMAcc") || !MayGet("./DMAcc")) return;
    for (const Node& n : ReadableWalk("./DMAcc")) {
      const std::string name = MoTree::NameOf(n.uri);
      if (n.interior || (name != "ConRef" && name != "PrefConRef")) continue;
      const std::string target(n.value.begin(), n.value.end());
      if (target.rfind("./", 0) == 0 && tree_.CheckUri(target) == DmStatus::kOk) AddRoot(target);
    }
  }

  // Each root an object; ./DMAcc one object per account (an empty ./DMAcc is one object).
  std::vector<BootstrapObject> Objects() const {
    std::vector<BootstrapObject> out;
    for (const std::string& root : roots_) {
      std::vector<std::string> tops;
      if (root == "./DMAcc") {
        for (const Node& child : ReadableWalk(root)) {
          if (AncestorsOf(child.uri).size() == 1) tops.push_back(child.uri);
        }
      }
      if (tops.empty()) tops.push_back(root);
      for (const std::string& top : tops) out.push_back(Object(top));
    }
    return out;
  }

 private:
  BootstrapObject Object(const std::string& root) const {
    BootstrapObject object;
    object.root = root;
    for (const std::string& a : AncestorsOf(root)) {
      std::optional<Node> n = tree_.Read(a);
      if (!n) break;
      object.nodes.push_back(WithoutSecret(std::move(*n)));
    }
    for (Node& n : ReadableWalk(root)) object.nodes.push_back(WithoutSecret(std::move(n)));
    return object;
  }

  const MoTree& tree_;
  const Principal& reader_;
  std::vector<std::string> roots_;
};

TndsExportOptions ExportOptions(bool indent) {
  TndsExportOptions options;
  options.include_values = true;
  options.include_secret_values = false;
  options.include_properties = true;
  options.indent = indent;
  return options;
}

}  // namespace

std::vector<BootstrapObject> SelectBootstrapObjects(const MoTree& tree, const Principal& reader,
                                                    const BootstrapSelection& selection) {
  Selector selector(tree, reader);
  for (const std::string& r : selection.roots) selector.AddRoot(r);
  if (selection.follow_con_refs) selector.FollowConRefs();
  return selector.Objects();
}

std::string BootstrapTndsXml(const std::vector<BootstrapObject>& objects) {
  // Ancestors shared by several objects once; tree order.
  std::map<std::vector<std::string>, const Node*> ordered;
  for (const BootstrapObject& o : objects) {
    for (const Node& n : o.nodes) ordered.emplace(Segments(n.uri), &n);
  }
  std::vector<Node> nodes;
  nodes.reserve(ordered.size() + 1);
  Node root;  // the document's <MgmtTree>
  root.uri = ".";
  root.interior = true;
  nodes.push_back(std::move(root));
  for (const auto& [segments, n] : ordered) nodes.push_back(*n);
  return ExportTndsXml(nodes, ExportOptions(/*indent=*/true));
}

std::optional<Bytes> BootstrapMessageWbxml(const std::vector<BootstrapObject>& objects,
                                           std::string& error) {
  // OMA-TS-DM_Bootstrap 1.2: a SyncML DM 1.2 package; OMA-TS-DM_RepPro 1.2 §6 for the header.
  std::string xml =
      "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>"
      "<SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>.</LocURI></Target>"
      "<Source><LocURI>dmcard</LocURI></Source></SyncHdr><SyncBody>";
  int cmd_id = 0;
  for (const BootstrapObject& o : objects) {
    xml += "<Add><CmdID>" + std::to_string(++cmd_id) +
           "</CmdID><Item><Meta><Format xmlns=\"syncml:metinf\">xml</Format>"
           "<Type xmlns=\"syncml:metinf\">" +
           kTndsXmlType + "</Type></Meta><Data>" +
           ExportTndsXml(o.nodes, ExportOptions(/*indent=*/false)) + "</Data></Item></Add>";
  }
  xml += "<Final/></SyncBody></SyncML>";
  // WBXML 1.2, inline strings only: libwbxml2 would put each item's original Meta/Type
  // (…dmtnds+xml) into the string table although it writes the Type as …dmtnds+wbxml. Each
  // embedded TNDS document keeps its own string table, which holds its public ID.
  return XmlToWbxml(std::move(xml), WbxmlWriting{.version_1_2 = true, .string_table = false},
                    error);
}

}  // namespace dmcard::dm
