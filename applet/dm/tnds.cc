// OMA DM TNDS 1.2 (OMA-TS-DM_TNDS-V1_2): management subtrees as documents; see tnds.h.
//
// The document form is the DM DDF 1.2 DTD of OMA-TS-DM_TND 1.2 with run-time properties
// (TNDS §9.2). Elements read and written here:
//
//   MgmtTree       root; optional xmlns="syncml:dmddf1.2" (other xmlns:* attributes ignored)
//     VerDTD       required, "1.2"
//     Man, Mod     optional, read and ignored (not written)
//     Node*        top-level nodes
//   Node           NodeName, Path?, RTProperties?, then Node* (interior) or Value? (leaf)
//     NodeName     required, non-empty, no '/' (DDF-only unnamed placeholders are refused)
//     Path         the parent's absolute URI ("./Vendor" or "Vendor"); on a top-level node it
//                  places the node anywhere in the tree (overriding `base`), on a nested node
//                  it must name the enclosing node
//     RTProperties ACL?, Format?, Name?, Size?, Title?, TStamp?, Type?, VerNo? (any order, each
//                  at most once). Name, Size, TStamp and VerNo are derived or maintained by the
//                  tree: accepted and ignored on input, never written.
//       Format     exactly one empty element: b64 bin bool chr date float int node null time xml
//       Type       empty, <MIME>…</MIME> (leaves) or <DDFName>…</DDFName> (interior nodes)
//     Value        leaf value as text; Format bin is base64 (whitespace allowed), others verbatim
//
// Interior or leaf: Format decides; without Format a node with a Value is a chr leaf and a node
// without one is interior. Values, names and properties are checked here with the tree's own
// rules (dm/node_value.h), so that the error can say where and a document that parses imports.
// int and bool values may be surrounded by whitespace (trimmed); other values are verbatim.
//
// Writing: UTF-8, indented two spaces, XML declaration (or one compact element without it, to
// embed in a SyncML message: TndsExportOptions::indent), xmlns="syncml:dmddf1.2". A CR in a
// value is written as &#13; (a raw one would read back as LF, XML 1.0 §2.11); the tree holds no
// text XML cannot carry (IsTndsText), so every export reads back identical. The exported
// subtree's top node carries <Path> when it does not hang from the root. With
// include_properties off, Format is still written where the document would otherwise change
// meaning (a leaf whose value is left out, or a leaf that is not chr).
//
// WBXML: TNDS reuses the WBXML encoding of DM DDF 1.2 (TNDS §9.1.1), which libwbxml2 implements
// as WBXML_LANG_SYNCML_DMDDF12 (code page 2, public identifier "-//OMA//DTD-DM-DDF 1.2//EN"
// written as a string-table literal). Whitespace is preserved both ways; the XML is normalized
// (no indentation) before encoding so that only values carry text.
#include "dm/tnds.h"

#include <mbedtls/base64.h>
#include <wbxml/wbxml.h>
#include <pugixml.hpp>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <set>
#include <sstream>
#include <unordered_map>

#include "dm/node_value.h"
#include "dm/wbxml_scan.h"

namespace dmcard::dm {

namespace {

constexpr const char* kVerDtd = "1.2";
constexpr const char* kDdfNamespace = "syncml:dmddf1.2";
constexpr const char* kNotText =
    "is not text a TNDS document can carry (NUL or another control character, or not UTF-8; "
    "binary data belongs in a bin node)";

bool IsXmlSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// "an int node", "a chr node".
const char* Article(NodeFormat f) {
  return f == NodeFormat::kInt || f == NodeFormat::kXml ? "an " : "a ";
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsXmlSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsXmlSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string Base64Encode(ByteView data) {
  size_t needed = 0;
  mbedtls_base64_encode(nullptr, 0, &needed, data.data(), data.size());
  std::string out(needed, '\0');
  size_t written = 0;
  if (mbedtls_base64_encode(reinterpret_cast<unsigned char*>(out.data()), out.size(), &written,
                            data.data(), data.size()) != 0) {
    return {};
  }
  out.resize(written);  // drops the terminating NUL mbed TLS counts in `needed`
  return out;
}

std::optional<Bytes> Base64Decode(std::string_view text) {
  std::string compact;
  compact.reserve(text.size());
  for (char c : text) {
    if (!IsXmlSpace(c)) compact.push_back(c);
  }
  const auto* src = reinterpret_cast<const unsigned char*>(compact.data());
  size_t needed = 0;
  const int probe = mbedtls_base64_decode(nullptr, 0, &needed, src, compact.size());
  if (probe != 0 && probe != MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL) return std::nullopt;
  Bytes out(needed);
  size_t written = 0;
  if (mbedtls_base64_decode(out.data(), out.size(), &written, src, compact.size()) != 0) {
    return std::nullopt;
  }
  out.resize(written);
  return out;
}

// Absolute URI from a Path element's text; nullopt when it cannot be one.
std::optional<std::string> NormalizePath(std::string_view path) {
  path = Trim(path);
  if (path.empty() || path.front() == '/' || path.back() == '/') return std::nullopt;
  if (path == ".") return std::string(".");
  if (path.starts_with("./")) return std::string(path);
  if (path.starts_with(".")) return std::nullopt;
  return "./" + std::string(path);
}

std::string ChildUri(std::string_view parent, std::string_view name) {
  std::string uri(parent);
  uri += '/';
  uri += name;
  return uri;
}

std::string ParentUri(std::string_view uri) {
  const size_t slash = uri.rfind('/');
  return slash == std::string_view::npos ? std::string(".") : std::string(uri.substr(0, slash));
}

std::string LastSegment(std::string_view uri) {
  const size_t slash = uri.rfind('/');
  return std::string(slash == std::string_view::npos ? uri : uri.substr(slash + 1));
}

// --- Parsing ----------------------------------------------------------------------------------

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  TndsDocument Run(std::string_view base) {
    TndsDocument result;
    if (!Parse(base)) {
      result.error = std::move(error_);
      return result;
    }
    result.nodes = std::move(nodes_);
    return result;
  }

 private:
  bool Parse(std::string_view base_view) {
    const std::string base(Trim(base_view));
    if (base != "." && !base.starts_with("./")) {
      return Fail({}, {}, "base URI '" + base + "' is not absolute (\".\" or \"./...\")");
    }
    pugi::xml_document doc;
    const unsigned flags = pugi::parse_default | pugi::parse_ws_pcdata_single;
    const pugi::xml_parse_result parsed =
        doc.load_buffer(text_.data(), text_.size(), flags, pugi::encoding_utf8);
    if (!parsed) {
      return Fail({}, {}, LineOf(parsed.offset) + ": not well-formed XML: " + parsed.description());
    }
    pugi::xml_node root = doc.document_element();
    if (!root) return Fail({}, {}, "empty document (no <MgmtTree> element)");
    if (std::string_view(root.name()) != "MgmtTree") {
      return Fail(root, {},
                  "root element is <" + std::string(root.name()) +
                      ">, a TNDS document starts with <MgmtTree>");
    }
    for (pugi::xml_attribute a : root.attributes()) {
      const std::string_view name = a.name();
      if (name == "xmlns") {
        if (std::string_view(a.value()) != kDdfNamespace) {
          return Fail(root, {},
                      "<MgmtTree> namespace is '" + std::string(a.value()) + "', expected '" +
                          kDdfNamespace + "'");
        }
      } else if (!name.starts_with("xmlns:")) {
        return Fail(root, {}, "unexpected attribute '" + std::string(name) + "' on <MgmtTree>");
      }
    }
    bool have_verdtd = false, have_man = false, have_mod = false;
    for (pugi::xml_node child : root.children()) {
      if (!CheckText(child, root, {})) return false;
      if (child.type() != pugi::node_element) continue;
      const std::string_view name = child.name();
      if (name == "VerDTD") {
        if (have_verdtd) return Fail(child, {}, "<VerDTD> appears twice");
        have_verdtd = true;
        std::string text;
        if (!TextOf(child, {}, text)) return false;
        if (Trim(text) != kVerDtd) {
          return Fail(child, {},
                      "unsupported <VerDTD> '" + std::string(Trim(text)) +
                          "' (this reader supports " + kVerDtd + ")");
        }
      } else if (name == "Man" || name == "Mod") {
        bool& seen = name == "Man" ? have_man : have_mod;
        if (seen) return Fail(child, {}, "<" + std::string(name) + "> appears twice");
        seen = true;
        std::string ignored;
        if (!TextOf(child, {}, ignored)) return false;
      } else if (name == "Node") {
        if (!ParseNode(child, base, /*depth=*/1)) return false;
      } else {
        return Unexpected(child, root, {});
      }
    }
    if (!have_verdtd) return Fail(root, {}, "<MgmtTree> has no <VerDTD> (TNDS requires 1.2)");
    return true;
  }

  // `depth` 1 for a top-level <Node>. Recursion is bounded by kMaxTndsNodeDepth.
  bool ParseNode(pugi::xml_node el, const std::string& parent_uri, size_t depth) {
    const bool top_level = depth == 1;
    if (depth > kMaxTndsNodeDepth) {
      return Fail(el, {},
                  "<Node> elements nested deeper than " + std::to_string(kMaxTndsNodeDepth) +
                      " (no URI within MaxTotLen 255 is that deep)");
    }
    if (!NoAttributes(el, {})) return false;
    pugi::xml_node name_el, path_el, props_el, value_el;
    std::vector<pugi::xml_node> children;
    for (pugi::xml_node child : el.children()) {
      if (!CheckText(child, el, {})) return false;
      if (child.type() != pugi::node_element) continue;
      const std::string_view name = child.name();
      pugi::xml_node* slot = nullptr;
      if (name == "NodeName") {
        slot = &name_el;
      } else if (name == "Path") {
        slot = &path_el;
      } else if (name == "RTProperties") {
        slot = &props_el;
      } else if (name == "Value") {
        slot = &value_el;
      } else if (name == "Node") {
        children.push_back(child);
        continue;
      } else if (name == "DFProperties") {
        return Fail(child, {},
                    "<DFProperties> belongs to DDF descriptions; a TNDS <Node> carries "
                    "<RTProperties>");
      } else {
        return Unexpected(child, el, {});
      }
      if (*slot) return Fail(child, {}, "<" + std::string(name) + "> appears twice in <Node>");
      *slot = child;
    }

    if (!name_el) return Fail(el, {}, "<Node> without <NodeName> (under " + parent_uri + ")");
    std::string name;
    if (!TextOf(name_el, {}, name)) return false;
    name = std::string(Trim(name));
    if (name.empty()) {
      return Fail(name_el, {},
                  "empty <NodeName> under " + parent_uri +
                      " (unnamed placeholder nodes are for DDF descriptions, not TNDS data)");
    }
    if (name.find('/') != std::string::npos || name == "." || name == ".." || !IsTndsText(name)) {
      return Fail(name_el, {}, "<NodeName> '" + name + "' is not a valid node name");
    }

    std::string parent = parent_uri;
    if (path_el) {
      std::string path_text;
      if (!TextOf(path_el, {}, path_text)) return false;
      const std::optional<std::string> path = NormalizePath(path_text);
      if (!path) {
        return Fail(path_el, {}, "<Path> '" + path_text + "' is not an absolute URI");
      }
      if (top_level) {
        parent = *path;
      } else if (*path != parent_uri) {
        return Fail(path_el, {},
                    "<Path> '" + *path + "' of a nested node must be its parent " + parent_uri);
      }
    }
    Node node;
    node.uri = ChildUri(parent, name);
    if (!seen_.insert(node.uri).second) return Fail(el, node.uri, "node described twice");

    std::optional<NodeFormat> format;
    if (props_el && !ParseProperties(props_el, node.uri, node.props, format)) return false;

    if (value_el && !children.empty()) {
      return Fail(value_el, node.uri, "a <Node> has either child <Node> elements or a <Value>");
    }
    if (format) {
      node.interior = *format == NodeFormat::kNode;
    } else {
      node.interior = !value_el;
      node.props.format = node.interior ? NodeFormat::kNode : NodeFormat::kChr;
    }
    if (node.interior && value_el) {
      return Fail(value_el, node.uri, "interior node (Format node) has a <Value>");
    }
    if (!node.interior && !children.empty()) {
      return Fail(children.front(), node.uri,
                  std::string("leaf node (Format ") + FormatName(node.props.format) +
                      ") has child <Node> elements");
    }
    if (value_el && !ParseValue(value_el, node)) return false;
    node.props.secret = !node.interior && MoTree::IsSecretName(name);

    nodes_.push_back(std::move(node));
    const std::string uri = nodes_.back().uri;
    for (pugi::xml_node child : children) {
      if (!ParseNode(child, uri, depth + 1)) return false;
    }
    return true;
  }

  bool ParseProperties(pugi::xml_node props_el, const std::string& uri, NodeProperties& props,
                       std::optional<NodeFormat>& format) {
    if (!NoAttributes(props_el, uri)) return false;
    std::set<std::string, std::less<>> seen;
    for (pugi::xml_node p : props_el.children()) {
      if (!CheckText(p, props_el, uri)) return false;
      if (p.type() != pugi::node_element) continue;
      const std::string_view name = p.name();
      static constexpr std::string_view kKnown[] = {"ACL",   "Format", "Name", "Size",
                                                    "Title", "TStamp", "Type", "VerNo"};
      if (std::find(std::begin(kKnown), std::end(kKnown), name) == std::end(kKnown)) {
        return Unexpected(p, props_el, uri);
      }
      if (!seen.insert(std::string(name)).second) {
        return Fail(p, uri, "<" + std::string(name) + "> appears twice in <RTProperties>");
      }
      if (!NoAttributes(p, uri)) return false;
      if (name == "Format") {
        if (!ParseFormatElement(p, uri, format)) return false;
        props.format = *format;
      } else if (name == "Type") {
        if (!ParseType(p, uri, props.type)) return false;
      } else {
        std::string text;
        if (!TextOf(p, uri, text)) return false;
        if (name == "ACL") {
          text = std::string(Trim(text));
          if (!Acl::Parse(text)) return Fail(p, uri, "malformed <ACL> '" + text + "'");
          props.acl = text;
        } else if (name == "Title") {
          props.title = text;
        }
        if (!IsTndsText(text)) return Fail(p, uri, "<" + std::string(name) + "> " + kNotText);
        // Name, Size, TStamp, VerNo: derived or maintained by the tree.
      }
    }
    return true;
  }

  bool ParseFormatElement(pugi::xml_node el, const std::string& uri,
                          std::optional<NodeFormat>& format) {
    pugi::xml_node only;
    for (pugi::xml_node c : el.children()) {
      if (!CheckText(c, el, uri)) return false;
      if (c.type() != pugi::node_element) continue;
      if (only) {
        return Fail(c, uri,
                    "<Format> holds more than one format (<" + std::string(only.name()) +
                        "/> and <" + c.name() + "/>)");
      }
      only = c;
    }
    if (!only) {
      return Fail(el, uri, "<Format> is empty; it holds one empty element such as <chr/>");
    }
    if (only.first_child() || only.first_attribute()) {
      return Fail(only, uri, "format element <" + std::string(only.name()) + "> must be empty");
    }
    format = ParseFormat(only.name());
    if (!format) {
      return Fail(only, uri,
                  "unknown format <" + std::string(only.name()) +
                      "/> (known: b64 bin bool chr date float int node null time xml)");
    }
    return true;
  }

  bool ParseType(pugi::xml_node el, const std::string& uri, std::string& type) {
    pugi::xml_node only;
    for (pugi::xml_node c : el.children()) {
      if (!CheckText(c, el, uri)) return false;
      if (c.type() != pugi::node_element) continue;
      const std::string_view name = c.name();
      if (name != "MIME" && name != "DDFName") return Unexpected(c, el, uri);
      if (only) return Fail(c, uri, "<Type> holds both <MIME> and <DDFName>, or one twice");
      only = c;
    }
    if (!only) {
      type.clear();
      return true;
    }
    if (!NoAttributes(only, uri) || !TextOf(only, uri, type)) return false;
    type = std::string(Trim(type));
    if (!IsTndsText(type)) return Fail(only, uri, "<Type> " + std::string(kNotText));
    return true;
  }

  bool ParseValue(pugi::xml_node el, Node& node) {
    if (!NoAttributes(el, node.uri)) return false;
    std::string text;
    if (!TextOf(el, node.uri, text)) return false;
    switch (node.props.format) {
      case NodeFormat::kBin: {
        std::optional<Bytes> decoded = Base64Decode(text);
        if (!decoded) return Fail(el, node.uri, "<Value> of a bin node is not valid base64");
        node.value = std::move(*decoded);
        return true;
      }
      case NodeFormat::kInt:
      case NodeFormat::kBool:
        text = std::string(Trim(text));  // indentation around a number or a truth value
        break;
      default:
        break;
    }
    // The tree's own rules (dm/node_value.h), so that whatever parses here imports.
    if (!ValidLeafValue(node.props.format, text)) {
      const char* why =
          node.props.format == NodeFormat::kInt
              ? "is not an unsigned 32-bit integer (OMA DM int: 0 to 4294967295)"
          : node.props.format == NodeFormat::kBool ? "is neither true nor false"
          : node.props.format == NodeFormat::kNull ? "must be empty"
          : node.props.format == NodeFormat::kChr || node.props.format == NodeFormat::kXml
              ? kNotText
              : "is not valid for its format";
      const std::string shown = IsTndsText(text) ? "'" + text.substr(0, 40) + "' " : "";
      return Fail(el, node.uri,
                  "<Value> " + shown + "of " + Article(node.props.format) +
                      FormatName(node.props.format) + " node " + why);
    }
    node.value.assign(text.begin(), text.end());
    return true;
  }

  // Concatenated character data of an element that must not contain elements.
  bool TextOf(pugi::xml_node el, std::string_view uri, std::string& out) {
    out.clear();
    for (pugi::xml_node c : el.children()) {
      if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) {
        out += c.value();
      } else if (c.type() == pugi::node_element) {
        return Fail(
            c, uri,
            "<" + std::string(c.name()) + "> inside <" + el.name() + ">, which holds text only");
      }
    }
    return true;
  }

  // Character data is only allowed in text elements; whitespace between elements is fine.
  bool CheckText(pugi::xml_node child, pugi::xml_node parent, std::string_view uri) {
    if (child.type() != pugi::node_pcdata && child.type() != pugi::node_cdata) return true;
    if (Trim(child.value()).empty()) return true;
    return Fail(child, uri,
                "text '" + std::string(Trim(child.value()).substr(0, 40)) + "' directly inside <" +
                    parent.name() + ">");
  }

  bool NoAttributes(pugi::xml_node el, std::string_view uri) {
    if (pugi::xml_attribute a = el.first_attribute()) {
      return Fail(el, uri,
                  "unexpected attribute '" + std::string(a.name()) + "' on <" + el.name() + ">");
    }
    return true;
  }

  bool Unexpected(pugi::xml_node el, pugi::xml_node parent, std::string_view uri) {
    return Fail(el, uri,
                "unexpected element <" + std::string(el.name()) + "> in <" + parent.name() + ">");
  }

  std::string LineOf(ptrdiff_t offset) const {
    if (offset < 0) return "at an unknown position";
    const size_t end = std::min(static_cast<size_t>(offset), text_.size());
    const size_t line =
        1 + static_cast<size_t>(std::count(text_.begin(), text_.begin() + end, '\n'));
    const size_t line_start = text_.rfind('\n', end == 0 ? 0 : end - 1);
    const size_t column =
        line_start == std::string_view::npos || end == 0 ? end + 1 : end - line_start;
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
  }

  bool Fail(pugi::xml_node at, std::string_view uri, const std::string& message) {
    std::string where;
    if (at) {
      // offset_debug() points at the name of an element; back up to its '<'.
      ptrdiff_t offset = at.offset_debug();
      if (offset > 0 && at.type() == pugi::node_element) --offset;
      where = LineOf(offset);
    }
    if (!uri.empty())
      where += (where.empty() ? "" : ", ") + std::string("node ") + std::string(uri);
    error_ = where.empty() ? message : where + ": " + message;
    return false;
  }

  std::string_view text_;
  std::vector<Node> nodes_;
  std::set<std::string, std::less<>> seen_;
  std::string error_;
};

// --- Writing ----------------------------------------------------------------------------------

void AppendFormat(pugi::xml_node props, NodeFormat format) {
  props.append_child("Format").append_child(FormatName(format));
}

// pugixml writes a CR in character data as a raw byte, which every XML reader turns into LF
// (XML 1.0 §2.11 end-of-line handling): write it as the reference &#13; so that values keep it.
// Only character data can hold a CR here (names and the one attribute cannot).
std::string ToXmlString(const pugi::xml_document& doc, bool indent, bool declaration = true) {
  std::ostringstream out;
  const unsigned format = (indent ? pugi::format_indent : pugi::format_raw) |
                          (declaration ? 0U : pugi::format_no_declaration);
  doc.save(out, "  ", format, pugi::encoding_utf8);
  const std::string raw = out.str();
  std::string xml;
  xml.reserve(raw.size());
  for (char c : raw) {
    if (c == '\r') {
      xml += "&#13;";
    } else {
      xml += c;
    }
  }
  return xml;
}

void AddDeclaration(pugi::xml_document& doc) {
  pugi::xml_node decl = doc.prepend_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
}

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

}  // namespace

std::string ExportTndsXml(const MoTree& tree, std::string_view from,
                          const TndsExportOptions& options) {
  return ExportTndsXml(tree.Walk(from), options);
}

std::string ExportTndsXml(const std::vector<Node>& nodes, const TndsExportOptions& options) {
  if (nodes.empty()) return {};
  pugi::xml_document doc;
  if (options.indent) AddDeclaration(doc);
  pugi::xml_node root = doc.append_child("MgmtTree");
  root.append_attribute("xmlns") = kDdfNamespace;
  root.append_child("VerDTD").text().set(kVerDtd);

  std::unordered_map<std::string, pugi::xml_node> elements;  // URI -> its <Node>
  for (const Node& n : nodes) {
    if (n.uri == ".") {
      elements.emplace(".", root);
      continue;
    }
    const std::string parent = ParentUri(n.uri);
    auto it = elements.find(parent);
    const bool subtree_top = it == elements.end();
    pugi::xml_node el = (subtree_top ? root : it->second).append_child("Node");
    el.append_child("NodeName").text().set(LastSegment(n.uri).c_str());
    if (subtree_top && parent != ".") el.append_child("Path").text().set(parent.c_str());

    const bool with_value =
        !n.interior && options.include_values && (!n.props.secret || options.include_secret_values);
    if (options.include_properties) {
      pugi::xml_node props = el.append_child("RTProperties");
      if (!n.props.acl.empty()) props.append_child("ACL").text().set(n.props.acl.c_str());
      AppendFormat(props, n.props.format);
      if (!n.props.title.empty()) props.append_child("Title").text().set(n.props.title.c_str());
      pugi::xml_node type = props.append_child("Type");
      type.append_child(n.interior ? "DDFName" : "MIME").text().set(n.props.type.c_str());
    } else if (!n.interior && (!with_value || n.props.format != NodeFormat::kChr)) {
      AppendFormat(el.append_child("RTProperties"), n.props.format);
    }
    if (with_value) {
      const std::string text = n.props.format == NodeFormat::kBin
                                   ? Base64Encode(n.value)
                                   : std::string(n.value.begin(), n.value.end());
      el.append_child("Value").text().set(text.data(), text.size());
    }
    if (n.interior) elements.emplace(n.uri, el);
  }
  return ToXmlString(doc, options.indent, /*declaration=*/options.indent);
}

TndsDocument ParseTndsXml(std::string_view xml, std::string_view base) {
  return Parser(xml).Run(base);
}

DmStatus ImportNodes(MoTree& tree, const std::vector<Node>& nodes) {
  for (const Node& n : nodes) {
    if (DmStatus s = tree.Put(n); s != DmStatus::kOk) return s;
  }
  return DmStatus::kOk;
}

std::optional<Bytes> TndsXmlToWbxml(std::string_view xml, std::string& error) {
  const TndsDocument checked = ParseTndsXml(xml);
  if (!checked.error.empty()) {
    error = "not a TNDS document: " + checked.error;
    return std::nullopt;
  }
  // Re-serialize without indentation: with whitespace preserved, only values carry text.
  pugi::xml_document doc;
  doc.load_buffer(xml.data(), xml.size(), pugi::parse_default | pugi::parse_ws_pcdata_single,
                  pugi::encoding_utf8);
  std::string compact = ToXmlString(doc, /*indent=*/false);

  return XmlToWbxml(std::move(compact), WbxmlWriting{}, error);
}

std::optional<Bytes> XmlToWbxml(std::string xml, const WbxmlWriting& writing, std::string& error) {
  WBXMLConvXML2WBXML* conv = nullptr;
  if (wbxml_conv_xml2wbxml_create(&conv) != WBXML_OK) {
    error = "libwbxml: cannot create the XML to WBXML converter";
    return std::nullopt;
  }
  if (writing.version_1_2) wbxml_conv_xml2wbxml_set_version(conv, WBXML_VERSION_12);
  wbxml_conv_xml2wbxml_enable_preserve_whitespaces(conv);
  if (!writing.string_table) wbxml_conv_xml2wbxml_disable_string_table(conv);
  WB_UTINY* out = nullptr;
  WB_ULONG out_len = 0;
  const WBXMLError rc = wbxml_conv_xml2wbxml_run(conv, reinterpret_cast<WB_UTINY*>(xml.data()),
                                                 static_cast<WB_ULONG>(xml.size()), &out, &out_len);
  wbxml_conv_xml2wbxml_destroy(conv);
  std::unique_ptr<WB_UTINY, FreeDeleter> owned(out);
  if (rc != WBXML_OK) {
    error = std::string("libwbxml: ") + reinterpret_cast<const char*>(wbxml_errors_string(rc));
    return std::nullopt;
  }
  return Bytes(out, out + out_len);
}

namespace {

// libwbxml2's decoding of untrusted WBXML (`language` its code tables), after the structural
// scan: libwbxml2 aborts the process on some malformed documents (issue 7 item 6a). The XML as
// libwbxml2 writes it.
std::optional<std::string> DecodeWbxml(ByteView wbxml, WbxmlScan kind, WBXMLLanguage language,
                                       std::string& error) {
  if (wbxml.empty()) {
    error = "empty WBXML document";
    return std::nullopt;
  }
  if (std::string why = ScanWbxml(wbxml, kind); !why.empty()) {
    error = "malformed WBXML: " + why;
    return std::nullopt;
  }
  Bytes input(wbxml.begin(), wbxml.end());  // libwbxml takes a non-const buffer
  WBXMLConvWBXML2XML* conv = nullptr;
  if (wbxml_conv_wbxml2xml_create(&conv) != WBXML_OK) {
    error = "libwbxml: cannot create the WBXML to XML converter";
    return std::nullopt;
  }
  wbxml_conv_wbxml2xml_set_language(conv, language);
  wbxml_conv_wbxml2xml_set_charset(conv, WBXML_CHARSET_UTF_8);
  wbxml_conv_wbxml2xml_set_gen_type(conv, WBXML_GEN_XML_COMPACT);
  wbxml_conv_wbxml2xml_enable_preserve_whitespaces(conv);
  WB_UTINY* out = nullptr;
  WB_ULONG out_len = 0;
  const WBXMLError rc = wbxml_conv_wbxml2xml_run(
      conv, input.data(), static_cast<WB_ULONG>(input.size()), &out, &out_len);
  wbxml_conv_wbxml2xml_destroy(conv);
  std::unique_ptr<WB_UTINY, FreeDeleter> owned(out);
  if (rc != WBXML_OK) {
    error = std::string("libwbxml: ") + reinterpret_cast<const char*>(wbxml_errors_string(rc));
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

}  // namespace

std::optional<std::string> SyncMlWbxmlToXml(ByteView wbxml, std::string& error) {
  return DecodeWbxml(wbxml, WbxmlScan::kSyncMl, WBXML_LANG_SYNCML_SYNCML12, error);
}

std::optional<std::string> TndsWbxmlToXml(ByteView wbxml, std::string& error) {
  const std::optional<std::string> out =
      DecodeWbxml(wbxml, WbxmlScan::kTnds, WBXML_LANG_SYNCML_DMDDF12, error);
  if (!out) return std::nullopt;
  // Re-indent and drop libwbxml's DOCTYPE (the DDF DTD's): the result reads like an export.
  // No end-of-line normalization: a CR libwbxml writes raw came from the WBXML strings (an
  // exported &#13;), and ToXmlString writes it back as &#13;.
  pugi::xml_document doc;
  const pugi::xml_parse_result parsed = doc.load_buffer(
      out->data(), out->size(),
      (pugi::parse_default & ~pugi::parse_eol) | pugi::parse_ws_pcdata_single, pugi::encoding_utf8);
  if (!parsed) {
    error = std::string("libwbxml produced unreadable XML: ") + parsed.description();
    return std::nullopt;
  }
  if (std::string_view(doc.document_element().name()) != "MgmtTree") {
    error =
        std::string("not a TNDS document: root element <") + doc.document_element().name() + ">";
    return std::nullopt;
  }
  for (pugi::xml_node n = doc.first_child(); n;) {
    pugi::xml_node next = n.next_sibling();
    if (n.type() == pugi::node_declaration || n.type() == pugi::node_doctype) doc.remove_child(n);
    n = next;
  }
  AddDeclaration(doc);
  return ToXmlString(doc, /*indent=*/true);
}

}  // namespace dmcard::dm
