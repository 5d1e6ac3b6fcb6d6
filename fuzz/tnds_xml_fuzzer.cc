// The TNDS XML reader (dm/tnds.h ParseTndsXml), which reads profiles, STORE DATA and the
// bootstrap messages' TNDS items. Oracles, for a document it accepts: the nodes import into a
// fresh tree or are refused with a status (never half a crash), and what the tree then exports
// (as XML, and as WBXML through libwbxml2) reads back to the same nodes.
#include <cstdint>
#include <memory>
#include <string>

#include "dm/mo_tree.h"
#include "dm/tnds.h"
#include "fuzz_input.h"
#include "runtime/persistent_store.h"

namespace {

using dmcard::dm::Node;

std::string Summary(const std::vector<Node>& nodes) {
  std::string s;
  for (const Node& n : nodes) {
    s += n.uri + (n.interior ? "/" : "=" + dmcard::ToHex(n.value)) + " " +
         std::string(dmcard::dm::FormatName(n.props.format)) + "\n";
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dmcard;
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  dm::TndsDocument doc = dm::ParseTndsXml(xml);
  if (!doc.error.empty()) {
    if (!doc.nodes.empty()) fuzz::OracleViolation("tnds_xml", "nodes returned with an error");
    return 0;
  }
  auto medium = std::make_shared<RamMedium>();
  PersistentStore store(medium, {});
  dm::MoTree tree(store, "dm/", [] { return int64_t{1700000000}; });
  store.Begin();
  if (tree.Init() != dm::DmStatus::kOk) fuzz::OracleViolation("tnds_xml", "tree Init failed");
  const dm::DmStatus imported = dm::ImportNodes(tree, doc.nodes);
  if (imported != dm::DmStatus::kOk) {
    store.Abort();
    return 0;
  }
  if (store.Commit() != StoreStatus::kOk) return 0;  // larger than the store: refused, fine

  // What the tree holds reads back the same, through XML and through WBXML.
  dm::TndsExportOptions all;
  all.include_secret_values = true;
  all.indent = false;
  std::vector<Node> held = tree.Walk(".");
  if (!held.empty() && held.front().uri == ".") held.erase(held.begin());
  const std::string exported = dm::ExportTndsXml(tree, ".", all);
  const dm::TndsDocument again = dm::ParseTndsXml(
      fuzz::Broken("tnds-roundtrip") ? exported.substr(0, exported.size() / 2) : exported);
  if (!again.error.empty()) {
    fuzz::OracleViolation(
        "tnds_xml", "the tree's own export does not read back: " + again.error + "\n" + exported);
  }
  if (Summary(again.nodes) != Summary(held)) {
    fuzz::OracleViolation("tnds_xml", "export and read back changed the nodes:\n" + Summary(held) +
                                          "---\n" + Summary(again.nodes));
  }
  std::string error;
  const std::optional<Bytes> wbxml = dm::TndsXmlToWbxml(exported, error);
  if (!wbxml) return 0;  // libwbxml2 may refuse what it cannot encode
  const std::optional<std::string> decoded = dm::TndsWbxmlToXml(*wbxml, error);
  if (!decoded) {
    fuzz::OracleViolation("tnds_xml", "WBXML made from the export does not decode: " + error);
  }
  const dm::TndsDocument via_wbxml = dm::ParseTndsXml(*decoded);
  if (Summary(via_wbxml.nodes) != Summary(held)) {
    fuzz::OracleViolation("tnds_xml", "the WBXML round trip changed the nodes: " + via_wbxml.error +
                                          "\n" + Summary(held) + "---\n" +
                                          Summary(via_wbxml.nodes));
  }
  return 0;
}
