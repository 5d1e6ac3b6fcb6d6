// OMA DM TNDS (Tree and Node Description Serialization, OMA-TS-DM_TNDS 1.2): the document form
// of management objects. XML through pugixml, WBXML through libwbxml2 — neither is hand-made.
// Used for personalization profiles, STORE DATA over APDUs, and the PKCS#15 EF(DM_Bootstrap).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dm/mo_tree.h"
#include "runtime/bytes.h"

namespace dmcard::dm {

struct TndsExportOptions {
  bool include_values = true;          // leaf values (chr/int/bool... as text, bin as base64)
  bool include_secret_values = false;  // never true except for issuer tooling in tests
  bool include_properties = true;      // ACL, Format, Type, Title (TStamp/VerNo are not exported)
  bool indent = true;  // two-space indentation and the XML declaration; else one compact element
};

// Serializes the subtree rooted at `from` ("." = whole tree) as a TNDS <MgmtTree> document
// (UTF-8, with the VerDTD element). Node names only, nested as in the tree; a subtree whose
// top does not hang from the root gets <Path>. Empty string when `from` does not exist.
std::string ExportTndsXml(const MoTree& tree, std::string_view from,
                          const TndsExportOptions& options = {});
// The same document made from a node list (absolute URIs, every parent before its children, "."
// allowed first and not written), as MoTree::Walk returns them. Empty string for an empty list.
std::string ExportTndsXml(const std::vector<Node>& nodes, const TndsExportOptions& options = {});

// Deepest nesting of <Node> elements ParseTndsXml reads: a URI within MaxTotLen 255 ("./a/b/..")
// has at most 127 segments. Deeper documents are refused, never recursed into.
inline constexpr size_t kMaxTndsNodeDepth = 127;

// Parses a TNDS XML document. Every value, name and property is checked against the tree's
// own rules (dm/node_value.h), so a document that parses imports unless the tree refuses it
// for its place (missing parent, ACL, limits, room). Nodes get absolute URIs under `base` (the URI
// the document's top-level nodes hang from, "." by default; a top-level <Path> overrides it),
// parents before children. On error `error` says what and where (line or node path) and `nodes` is
// empty.
struct TndsDocument {
  std::vector<Node> nodes;
  std::string error;
};
TndsDocument ParseTndsXml(std::string_view xml, std::string_view base = ".");

// Writes the nodes into the tree with issuer rights (MoTree::Put), creating missing interior
// parents is NOT done: a document must describe its parents. Stops at the first failure.
DmStatus ImportNodes(MoTree& tree, const std::vector<Node>& nodes);

// WBXML encodings of a TNDS document (libwbxml2). TndsWbxmlToXml takes untrusted input: it is
// scanned first (dm/wbxml_scan.h) and goes to libwbxml2 only when nothing in it can abort it.
std::optional<Bytes> TndsXmlToWbxml(std::string_view xml, std::string& error);

// How libwbxml2 writes WBXML (XmlToWbxml): its default version, or 1.2; with a string table or
// inline strings only.
struct WbxmlWriting {
  bool version_1_2 = false;
  bool string_table = true;
};
// The one call into libwbxml2's XML to WBXML converter, whitespace preserved (the caller passes
// XML without indentation, so only values carry text). nullopt with `error` naming libwbxml2's
// error.
std::optional<Bytes> XmlToWbxml(std::string xml, const WbxmlWriting& writing, std::string& error);
std::optional<std::string> TndsWbxmlToXml(ByteView wbxml, std::string& error);
// A SyncML 1.2 WBXML document (an OMA DM bootstrap message) as XML, its embedded WBXML TNDS data
// decoded in place (libwbxml2: items whose Meta/Type is application/vnd.syncml.dmtnds+wbxml).
// Untrusted input: scanned first (WbxmlScan::kSyncMl). nullopt with `error` on failure.
std::optional<std::string> SyncMlWbxmlToXml(ByteView wbxml, std::string& error);

}  // namespace dmcard::dm
