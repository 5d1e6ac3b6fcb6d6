#include "dm/bootstrap_message.h"

#include <pugixml.hpp>

#include <sstream>
#include <string_view>

#include "dm/node_value.h"
#include "dm/tnds.h"

namespace dmcard::dm {

namespace {

std::string Trimmed(const char* text) {
  std::string_view v(text);
  while (!v.empty() &&
         (v.front() == ' ' || v.front() == '\n' || v.front() == '\r' || v.front() == '\t')) {
    v.remove_prefix(1);
  }
  while (!v.empty() &&
         (v.back() == ' ' || v.back() == '\n' || v.back() == '\r' || v.back() == '\t')) {
    v.remove_suffix(1);
  }
  return std::string(v);
}

// The element's Meta/<name> text, of the item or else of its command (SyncML: the command's
// Meta applies to items without their own).
std::string MetaOf(pugi::xml_node item, pugi::xml_node command, const char* name) {
  for (pugi::xml_node at : {item, command}) {
    if (pugi::xml_node m = at.child("Meta").child(name)) return Trimmed(m.child_value());
  }
  return {};
}

bool ReadItem(pugi::xml_node item, pugi::xml_node command, BootstrapChange& change,
              std::string& error) {
  const pugi::xml_node data = item.child("Data");
  const std::string target = Trimmed(item.child("Target").child_value("LocURI"));
  if (const pugi::xml_node tree = data.child("MgmtTree")) {
    std::ostringstream xml;
    tree.print(xml, "", pugi::format_raw);
    TndsDocument doc = ParseTndsXml(xml.str(), target.empty() ? "." : target);
    if (!doc.error.empty()) {
      error = "TNDS item: " + doc.error;
      return false;
    }
    for (Node& n : doc.nodes) change.nodes.push_back(std::move(n));
    return true;
  }
  // One leaf.
  if (target.empty() || target.rfind("./", 0) != 0) {
    error = "an item without an absolute Target/LocURI";
    return false;
  }
  const std::string format_name = MetaOf(item, command, "Format");
  const std::optional<NodeFormat> format =
      ParseFormat(format_name.empty() ? std::string_view("chr") : format_name);
  if (!format || *format == NodeFormat::kNode) {
    error = "item " + target + ": format '" + format_name + "' is not a leaf's";
    return false;
  }
  Node n;
  n.uri = target;
  n.props.format = *format;
  n.props.type = MetaOf(item, command, "Type");
  const std::string value = data.child_value();
  if (!ValidLeafValue(*format, value)) {
    error = "item " + target + ": a value its format does not take";
    return false;
  }
  n.value.assign(value.begin(), value.end());
  change.nodes.push_back(std::move(n));
  return true;
}

}  // namespace

std::optional<std::vector<BootstrapChange>> DecodeBootstrapMessage(ByteView wbxml,
                                                                   std::string& error) {
  const std::optional<std::string> xml = SyncMlWbxmlToXml(wbxml, error);
  if (!xml) return std::nullopt;
  pugi::xml_document doc;
  if (!doc.load_buffer(xml->data(), xml->size(), pugi::parse_default, pugi::encoding_utf8)) {
    error = "libwbxml produced unreadable XML";
    return std::nullopt;
  }
  const pugi::xml_node body = doc.child("SyncML").child("SyncBody");
  if (!body) {
    error = "not a SyncML message (no SyncML/SyncBody)";
    return std::nullopt;
  }
  std::vector<BootstrapChange> changes;
  for (pugi::xml_node command = body.first_child(); command; command = command.next_sibling()) {
    if (command.type() != pugi::node_element) continue;
    const std::string_view name = command.name();
    if (name == "Final") continue;
    if (name != "Add" && name != "Replace") {
      error = "a bootstrap command other than Add or Replace: <" + std::string(name) + ">";
      return std::nullopt;
    }
    BootstrapChange change;
    change.replace = name == "Replace";
    for (pugi::xml_node item = command.child("Item"); item; item = item.next_sibling("Item")) {
      if (!ReadItem(item, command, change, error)) return std::nullopt;
    }
    if (change.nodes.empty()) {
      error = std::string("<") + std::string(name) + "> without items";
      return std::nullopt;
    }
    changes.push_back(std::move(change));
  }
  if (changes.empty()) {
    error = "a bootstrap message without Add or Replace";
    return std::nullopt;
  }
  return changes;
}

}  // namespace dmcard::dm
