// The reference handset's provisioning flow (host/device_provision.h).
#include "host/device_provision.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <pugixml.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "dm/bootstrap_message.h"
#include "dm/mo_tree.h"
#include "dm/tnds.h"
#include "host/dms.h"
#include "host/exchange.h"
#include "host/files.h"
#include "host/openssl_util.h"
#include "host/operator.h"
#include "runtime/tlv.h"

namespace dmcard {

namespace {

// The DM applet (apdu-specs/dm.json) and the PKCS#15 application (docs/pkcs15-view.md).
const Bytes kDmAid = {0xF0, 'D', 'M', 'C', 'A', 'R', 'D', '-', 'D', 'M'};
const Bytes kPkcs15Aid = {0xA0, 0x00, 0x00, 0x00, 0x63, 'P', 'K', 'C', 'S', '-', '1', '5'};
// OMA DM bootstrap, 2.23.43.7.1 (reference-facts.md §1); cards in the field may wrap it twice.
const Bytes kDmBootstrapOid = {0x67, 0x2B, 0x07, 0x01};
const Bytes kDmBootstrapOidTwice = {0x06, 0x04, 0x67, 0x2B, 0x07, 0x01};
constexpr uint16_t kOdfFid = 0x5031;     // PKCS#15 v1.1 §5.4: EF.ODF in the application DF
constexpr size_t kMaxEfOffset = 0x7FFF;  // READ BINARY's 15-bit offset (P1-P2)
constexpr int kMaxTlvDepth = 8;          // how deep a DODF entry is searched

std::string HexOf(uint16_t sw) {
  return ToHex(Bytes{static_cast<uint8_t>(sw >> 8), static_cast<uint8_t>(sw)});
}

// One command, 61xx and 6Cxx followed: the answer's data and status word.
bool Exchange(Reader& reader, ByteView command, Bytes& data, uint16_t& sw, std::string& error) {
  Bytes r;
  if (!TransmitFollowing(reader, command, r, error)) return false;
  if (r.size() < 2) {
    error = "the card answered " + ToHex(command) + " without a status word";
    return false;
  }
  sw = ReadU16(r.data() + r.size() - 2);
  data.assign(r.begin(), r.end() - 2);
  return true;
}

Bytes SelectByAid(const Bytes& aid, uint8_t p2) {
  Bytes c = {0x00, 0xA4, 0x04, p2, static_cast<uint8_t>(aid.size())};
  Append(c, aid);
  c.push_back(0x00);
  return c;
}

bool Constructed(uint16_t tag) { return ((tag > 0xFF ? tag >> 8 : tag) & 0x20) != 0; }

// ---- the descriptor and the package ----

bool ReadFlagsAnswer(ByteView data, uint8_t& flags) {
  const auto tlvs = ParseTlvs(data);
  const Tlv* f = tlvs ? FindTlv(*tlvs, 0x84) : nullptr;
  if (f == nullptr || f->value.size() != 1) return false;
  flags = f->value[0];
  return true;
}

// ---- EF(DM_Bootstrap) through PKCS#15, as a handset finds it ----

// Whether a DODF entry names the OMA DM bootstrap OID, at any depth (opaqueDO's
// applicationOID, oidDO's id).
bool NamesBootstrapOid(ByteView data, int depth) {
  const auto tlvs = ParseTlvs(data);
  if (!tlvs) return false;
  for (const Tlv& t : *tlvs) {
    const Bytes v(t.value.begin(), t.value.end());
    if (t.tag == 0x06 && (v == kDmBootstrapOid || v == kDmBootstrapOidTwice)) return true;
    if (Constructed(t.tag) && depth < kMaxTlvDepth && NamesBootstrapOid(t.value, depth + 1))
      return true;
  }
  return false;
}

// The first PKCS#15 Path (SEQUENCE { efidOrPath OCTET STRING, ... }) in `data`.
std::optional<Bytes> FindPath(ByteView data, int depth) {
  const auto tlvs = ParseTlvs(data);
  if (!tlvs) return std::nullopt;
  for (const Tlv& t : *tlvs) {
    if (t.tag == 0x30) {
      const auto inner = ParseTlvs(t.value);
      if (inner && !inner->empty() && (*inner)[0].tag == 0x04 && !(*inner)[0].value.empty())
        return Bytes((*inner)[0].value.begin(), (*inner)[0].value.end());
    }
    if (Constructed(t.tag) && depth < kMaxTlvDepth) {
      if (auto p = FindPath(t.value, depth + 1)) return p;
    }
  }
  return std::nullopt;
}

// The BER-TLV objects of a file, which may end in 00 or FF padding (ISO 7816-4 §5.2.2.1: such
// bytes may come before, between or after objects; a UICC's fixed-size EF.DODF ends in FF).
std::optional<std::vector<Tlv>> ParsePaddedTlvs(ByteView data) {
  if (auto tlvs = ParseTlvs(data)) return tlvs;
  size_t n = data.size();
  while (n > 0 && (data[n - 1] == 0x00 || data[n - 1] == 0xFF)) --n;
  return ParseTlvs(data.first(n));
}

class Pkcs15Reader {
 public:
  explicit Pkcs15Reader(Reader& reader) : reader_(reader) {}

  // EF(DM_Bootstrap)'s content, read on a logical channel of its own as UICC clients do
  // (reference-facts.md §1): the DM applet stays selected on the basic channel.
  bool ReadBootstrap(Bytes& content, std::string& error) {
    Bytes data;
    uint16_t sw = 0;
    // MANAGE CHANNEL open (ISO 7816-4 §11.1.2); a card without channels is read on channel 0.
    if (!Exchange(reader_, Bytes{0x00, 0x70, 0x00, 0x00, 0x01}, data, sw, error)) return false;
    const bool own_channel = sw == 0x9000 && data.size() == 1 && data[0] > 0 && data[0] < 20;
    if (own_channel) {
      channel_ = data[0];
      cla_ = channel_ < 4 ? channel_ : static_cast<uint8_t>(0x40 | (channel_ - 4));
    }
    const bool ok = ReadOnChannel(content, error);
    if (own_channel) {
      std::string ignored;
      Exchange(reader_, Bytes{0x00, 0x70, 0x80, channel_, 0x00}, data, sw, ignored);
    }
    return ok;
  }

 private:
  bool ReadOnChannel(Bytes& content, std::string& error) {
    Bytes data;
    uint16_t sw = 0;
    Bytes select = SelectByAid(kPkcs15Aid, 0x04);
    select[0] = cla_;
    if (!Exchange(reader_, select, data, sw, error)) return false;
    if (sw != 0x9000) {
      error = "the card has no PKCS#15 application (SELECT by AID " + ToHex(kPkcs15Aid) +
              " answered " + DmsStatusText(sw) + ")";
      return false;
    }
    Bytes odf;
    if (!ReadEf(Bytes{kOdfFid >> 8, kOdfFid & 0xFF}, "EF.ODF", odf, error)) return false;
    // ODF: dataObjects [7] (A7) → the DODF's path.
    const auto objects = ParsePaddedTlvs(odf);
    const Tlv* dodf_ref = objects ? FindTlv(*objects, 0xA7) : nullptr;
    const std::optional<Bytes> dodf_path = dodf_ref ? FindPath(dodf_ref->value, 0) : std::nullopt;
    if (!dodf_path) {
      error = "the card's EF.ODF lists no data objects (no A7 with a path): no DM bootstrap";
      return false;
    }
    Bytes dodf;
    if (!ReadEf(*dodf_path, "EF.DODF", dodf, error)) return false;
    const auto entries = ParsePaddedTlvs(dodf);
    if (!entries) {
      error = "the card's EF.DODF is not BER-TLV";
      return false;
    }
    for (const Tlv& entry : *entries) {
      if (!NamesBootstrapOid(entry.value, 0)) continue;
      // The object's value is its last path (the attributes before it have no Path).
      std::optional<Bytes> path;
      const auto parts = ParseTlvs(entry.value);
      if (parts && !parts->empty()) path = FindPath(parts->back().value, 0);
      if (!path) path = FindPath(entry.value, 0);
      if (!path) break;
      return ReadEf(*path, "EF(DM_Bootstrap)", content, error);
    }
    error = "the card's EF.DODF names no OMA DM bootstrap object (OID 2.23.43.7.1)";
    return false;
  }

  // SELECT `path` (from the MF when it starts 3F00, else a file of the application DF) with
  // its FCP, then the whole EF.
  bool ReadEf(const Bytes& path, const std::string& what, Bytes& out, std::string& error) {
    Bytes c = {cla_, 0xA4, 0x02, 0x04};
    Bytes p = path;
    if (p.size() >= 2 && p[0] == 0x3F && p[1] == 0x00) {
      c[2] = 0x08;  // ISO 7816-4 §11.2.2: path from the MF, without the MF's own FID
      p.erase(p.begin(), p.begin() + 2);
    } else if (p.size() != 2) {
      c[2] = 0x09;  // path from the current DF
    }
    if (p.empty() || p.size() % 2 != 0 || p.size() > 16) {
      error = what + ": the card gives the path " + ToHex(path) + ", which cannot be selected";
      return false;
    }
    c.push_back(static_cast<uint8_t>(p.size()));
    Append(c, p);
    c.push_back(0x00);
    Bytes fcp;
    uint16_t sw = 0;
    if (!Exchange(reader_, c, fcp, sw, error)) return false;
    if (sw != 0x9000) {
      error = what + ": SELECT " + ToHex(path) + " answered " + DmsStatusText(sw);
      return false;
    }
    // FCP 62 { 80 size (the data bytes of the EF) ... } (ISO 7816-4 §5.3.3).
    size_t size = 0;
    const auto top = ParseTlvs(fcp);
    const Tlv* t62 = top ? FindTlv(*top, 0x62) : nullptr;
    const auto inner = t62 ? ParseTlvs(t62->value) : std::nullopt;
    const Tlv* t80 = inner ? FindTlv(*inner, 0x80) : nullptr;
    if (t80 == nullptr || t80->value.empty() || t80->value.size() > 4) {
      error = what + ": the card's FCP gives no file size (tag 80): " + ToHex(fcp);
      return false;
    }
    for (uint8_t b : t80->value) size = (size << 8) | b;
    if (size > kMaxEfOffset + 1) {
      error = what + " is larger (" + std::to_string(size) + " bytes) than READ BINARY reaches";
      return false;
    }
    out.clear();
    while (out.size() < size) {
      const size_t left = size - out.size();
      const Bytes read = {cla_, 0xB0, static_cast<uint8_t>(out.size() >> 8),
                          static_cast<uint8_t>(out.size()),
                          static_cast<uint8_t>(left >= 256 ? 0x00 : left)};
      Bytes chunk;
      if (!Exchange(reader_, read, chunk, sw, error)) return false;
      if (sw != 0x9000 && sw != 0x6282) {
        error = what + ": READ BINARY at " + std::to_string(out.size()) + " answered " +
                DmsStatusText(sw);
        return false;
      }
      Append(out, chunk);
      if (chunk.empty() || sw == 0x6282) break;  // 6282: end of file before Le bytes
    }
    return true;
  }

  Reader& reader_;
  uint8_t channel_ = 0;
  uint8_t cla_ = 0x00;
};

// A SyncML message whose SyncBody holds no command but Final: what the card writes when the
// reader may Get nothing of the bootstrap.
bool IsMessageWithoutCommands(ByteView content) {
  std::string error;
  const std::optional<std::string> xml = dm::SyncMlWbxmlToXml(content, error);
  pugi::xml_document doc;
  if (!xml || !doc.load_buffer(xml->data(), xml->size())) return false;
  const pugi::xml_node body = doc.child("SyncML").child("SyncBody");
  if (!body) return false;
  for (pugi::xml_node c : body.children()) {
    if (c.type() == pugi::node_element && std::string_view(c.name()) != "Final") return false;
  }
  return true;
}

// EF(DM_Bootstrap) is the OMA DM bootstrap message (SyncML DM 1.2 WBXML whose items carry WBXML
// TNDS, the card's default), or TNDS XML (the card's "tnds-xml" profile option), or TNDS WBXML;
// each is read; an empty file or a message without commands is a bootstrap without nodes
// (nothing the device may read). Nodes with absolute URIs, parents first.
bool ParseCardBootstrap(ByteView content, std::vector<dm::Node>& nodes, std::string& error) {
  if (content.empty()) return true;
  const auto first =
      std::find_if(content.begin(), content.end(), [](uint8_t b) { return std::isspace(b) == 0; });
  std::string xml;
  if (first != content.end() && *first == '<') {
    xml.assign(content.begin(), content.end());
  } else {
    std::string merror;
    if (const auto changes = dm::DecodeBootstrapMessage(content, merror)) {
      for (const dm::BootstrapChange& c : *changes) {
        nodes.insert(nodes.end(), c.nodes.begin(), c.nodes.end());
      }
      return true;
    }
    if (IsMessageWithoutCommands(content)) return true;
    std::string werror;
    std::optional<std::string> decoded = dm::TndsWbxmlToXml(content, werror);
    if (!decoded) {
      error = "EF(DM_Bootstrap) is neither an OMA DM bootstrap message (" + merror +
              ") nor TNDS XML nor TNDS WBXML (" + werror + ")";
      return false;
    }
    xml = std::move(*decoded);
  }
  dm::TndsDocument doc = dm::ParseTndsXml(xml);
  if (!doc.error.empty()) {
    error = "EF(DM_Bootstrap) is not a TNDS document the device can read: " + doc.error;
    return false;
  }
  nodes = std::move(doc.nodes);
  return true;
}

// ---- URIs ----

std::vector<std::string> Segments(const std::string& uri) {
  std::vector<std::string> out;
  std::string seg;
  std::istringstream in(uri);
  while (std::getline(in, seg, '/')) out.push_back(seg);
  return out;
}

std::string ParentOf(const std::string& uri) {
  const auto slash = uri.rfind('/');
  return slash == std::string::npos ? "." : uri.substr(0, slash);
}

std::string NameOf(const std::string& uri) {
  const auto slash = uri.rfind('/');
  return slash == std::string::npos ? uri : uri.substr(slash + 1);
}

// The object a node belongs to when it is one replaced wholesale: a DM account ./DMAcc/<name>
// (OMA DM 1.2 DMAcc MO) or a connectivity object ./Con/<kind>/<name> (ConnMO NAP, Proxy).
std::optional<std::string> ObjectRootOf(const std::string& uri) {
  const std::vector<std::string> s = Segments(uri);
  if (s.size() >= 3 && s[0] == "." && s[1] == "DMAcc") return "./DMAcc/" + s[2];
  if (s.size() >= 4 && s[0] == "." && s[1] == "Con") return "./Con/" + s[2] + "/" + s[3];
  return std::nullopt;
}

// ---- the device tree file ----

std::string NormalizedPath(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p.empty() || p == ".") return ".";
  if (p.rfind("./", 0) != 0) p = "./" + p;
  return p;
}

std::string TextOf(pugi::xml_node el) { return el.text().get(); }

// The device's DM tree as a TNDS XML document, edited in place with pugixml so that whatever
// the provisioning does not name stays as it was (comments, order, unknown elements).
class DeviceTree {
 public:
  bool Load(const std::filesystem::path& file, bool& created, std::string& error) {
    std::error_code ec;
    const bool exists = std::filesystem::exists(file, ec);
    if (ec) {
      error = "device tree " + file.string() + ": " + ec.message();
      return false;
    }
    if (!exists) {
      created = true;
      pugi::xml_node decl = doc_.append_child(pugi::node_declaration);
      decl.append_attribute("version") = "1.0";
      decl.append_attribute("encoding") = "UTF-8";
      pugi::xml_node root = doc_.append_child("MgmtTree");
      root.append_attribute("xmlns") = "syncml:dmddf1.2";
      root.append_child("VerDTD").text().set("1.2");
      return true;
    }
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      error = "device tree " + file.string() + " is not a regular file";
      return false;
    }
    mode_ = st.st_mode & 07777;
    std::ifstream in(file, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      error = "device tree " + file.string() + ": cannot be read";
      return false;
    }
    const pugi::xml_parse_result r =
        doc_.load_buffer(text.data(), text.size(), pugi::parse_full, pugi::encoding_utf8);
    if (!r) {
      const size_t line =
          1 + static_cast<size_t>(std::count(
                  text.begin(), text.begin() + std::min<ptrdiff_t>(r.offset, text.size()), '\n'));
      error = "device tree " + file.string() + " is damaged (line " + std::to_string(line) + ": " +
              r.description() + "); it is left as it is: repair or remove it";
      return false;
    }
    if (std::string(doc_.document_element().name()) != "MgmtTree") {
      error = "device tree " + file.string() + " is not a TNDS document (its root is <" +
              doc_.document_element().name() + ">, not <MgmtTree>); it is left as it is";
      return false;
    }
    return true;
  }

  pugi::xml_node Root() const { return doc_.document_element(); }

  // Every <Node> by its URI, in document order (a top-level <Path> places its node).
  std::vector<std::pair<std::string, pugi::xml_node>> Index() const {
    std::vector<std::pair<std::string, pugi::xml_node>> out;
    std::set<std::string> seen;
    Walk(Root(), ".", true, out, seen);
    return out;
  }

  pugi::xml_node Find(const std::string& uri) const {
    if (uri == ".") return Root();
    for (const auto& [u, el] : Index()) {
      if (u == uri) return el;
    }
    return {};
  }

  // The <Node> of `uri`, created (with its missing ancestors, bare interior nodes) if needed.
  pugi::xml_node Ensure(const std::string& uri) {
    if (pugi::xml_node el = Find(uri)) return el;
    pugi::xml_node parent = Ensure(ParentOf(uri));
    if (parent.child("Value")) parent.remove_child("Value");  // a leaf becomes interior
    pugi::xml_node el = parent.append_child("Node");
    el.append_child("NodeName").text().set(NameOf(uri).c_str());
    return el;
  }

  void Remove(const std::string& uri) {
    if (pugi::xml_node el = Find(uri)) el.parent().remove_child(el);
  }

  // Sets the node to the data's: properties (ACL, Format, Title, Type, as dm/tnds.cc writes
  // them) and, for a leaf, the value. False when the value is a secret the data does not give.
  bool Put(const dm::Node& n) {
    pugi::xml_node el = Ensure(n.uri);
    el.remove_child("RTProperties");
    pugi::xml_node after = el.child("Path") ? el.child("Path") : el.child("NodeName");
    pugi::xml_node props = el.insert_child_after("RTProperties", after);
    if (!n.props.acl.empty()) props.append_child("ACL").text().set(n.props.acl.c_str());
    props.append_child("Format").append_child(dm::FormatName(n.props.format));
    if (!n.props.title.empty()) props.append_child("Title").text().set(n.props.title.c_str());
    pugi::xml_node type = props.append_child("Type").append_child(n.interior ? "DDFName" : "MIME");
    if (!n.props.type.empty()) type.text().set(n.props.type.c_str());
    el.remove_child("Value");
    if (n.interior) return true;
    while (pugi::xml_node child = el.child("Node")) el.remove_child(child);  // now a leaf
    if (n.props.secret && n.value.empty()) return false;
    const std::string text = n.props.format == dm::NodeFormat::kBin
                                 ? ossl::OsslBase64(n.value)
                                 : std::string(n.value.begin(), n.value.end());
    pugi::xml_node value = el.append_child("Value");
    if (!text.empty()) value.text().set(text.c_str());
    return true;
  }

  // What each node is (its properties and value), to see what changed.
  std::map<std::string, std::string> Snapshot(std::vector<std::string>* order = nullptr) const {
    std::map<std::string, std::string> out;
    for (const auto& [uri, el] : Index()) {
      std::ostringstream sig;
      el.child("RTProperties").print(sig, "", pugi::format_raw);
      sig << '|' << (el.child("Node") ? "interior" : "leaf") << '|';
      if (pugi::xml_node v = el.child("Value")) sig << "=" << TextOf(v);
      out.emplace(uri, sig.str());
      if (order) order->push_back(uri);
    }
    return out;
  }

  // Leaf values by URI.
  std::map<std::string, std::string> Values() const {
    std::map<std::string, std::string> out;
    for (const auto& [uri, el] : Index()) {
      if (pugi::xml_node v = el.child("Value")) out.emplace(uri, TextOf(v));
    }
    return out;
  }

  std::string Text() const {
    std::ostringstream out;
    doc_.save(out, "  ", pugi::format_indent, pugi::encoding_utf8);
    std::string xml;
    for (char c : out.str()) {
      if (c == '\r') {
        xml += "&#13;";  // XML 1.0 §2.11: a raw CR would read back as LF
      } else {
        xml += c;
      }
    }
    return xml;
  }

  mode_t mode() const { return mode_; }

 private:
  static void Walk(pugi::xml_node parent, const std::string& parent_uri, bool top,
                   std::vector<std::pair<std::string, pugi::xml_node>>& out,
                   std::set<std::string>& seen) {
    for (pugi::xml_node el : parent.children("Node")) {
      const std::string name = TextOf(el.child("NodeName"));
      if (name.empty()) continue;
      std::string base = parent_uri;
      if (top && el.child("Path")) base = NormalizedPath(TextOf(el.child("Path")));
      const std::string uri = base + "/" + name;
      if (!seen.insert(uri).second) continue;  // a duplicate: the first one counts
      out.emplace_back(uri, el);
      Walk(el, uri, false, out, seen);
    }
  }

  pugi::xml_document doc_;
  mode_t mode_ = 0600;  // a new file may hold an account: the user's only
};

// ---- USA3 ----

// A DM account's server and address in the device tree: OMA DM 1.2 AppAddr/<x>/Addr with
// Port/<y>/PortNbr, else DM 1.1's Addr, else DM 2.0's ServerURI.
DmsAddress AddressOf(const std::string& account, const std::map<std::string, std::string>& values) {
  DmsAddress a;
  a.account = account;
  const auto get = [&](const std::string& uri) {
    auto it = values.find(uri);
    return it == values.end() ? std::string() : it->second;
  };
  a.server_id = get(account + "/ServerID");
  const std::string app_addr = account + "/AppAddr/";
  for (const auto& [uri, value] : values) {
    if (uri.rfind(app_addr, 0) != 0 || value.empty()) continue;
    const std::vector<std::string> rest = Segments(uri.substr(app_addr.size()));
    if (rest.size() == 2 && rest[1] == "Addr" && a.address.empty()) {
      a.address = value;
      const std::string ports = app_addr + rest[0] + "/Port/";
      for (const auto& [puri, pvalue] : values) {
        const std::vector<std::string> p = puri.rfind(ports, 0) == 0
                                               ? Segments(puri.substr(ports.size()))
                                               : std::vector<std::string>{};
        if (p.size() == 2 && p[1] == "PortNbr") {
          a.port = pvalue;
          break;
        }
      }
    }
  }
  if (a.address.empty()) a.address = get(account + "/Addr");
  if (a.address.empty()) a.address = get(account + "/ServerURI");
  return a;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

bool Fail(ProvisionReport& report, ProvisionOutcome outcome, std::string& error,
          std::string message) {
  report.outcome = outcome;
  error = std::move(message);
  return false;
}

}  // namespace

std::optional<BootstrapPackage> DecodeBootstrapPackage(ByteView data, std::string& error) {
  const auto tlvs = ParseTlvs(data);
  if (!tlvs || tlvs->empty()) {
    error = "not VERIFY BOOTSTRAP data (BER-TLV 80 method | 81 message | 82 MAC ...)";
    return std::nullopt;
  }
  const Tlv* method = FindTlv(*tlvs, 0x80);
  const Tlv* message = FindTlv(*tlvs, 0x81);
  if (method == nullptr || method->value.size() != 1 ||
      !dm::KnownBootstrapMethod(method->value[0])) {
    error =
        "no known bootstrap method (tag 80: 00 NETWPIN, 01 USERPIN, 02 USERNETWPIN, "
        "03 USERPINMAC, 10 HMAC-SHA256, 11 ECDSA-P256)";
    return std::nullopt;
  }
  if (message == nullptr || message->value.empty()) {
    error = "no bootstrap message (tag 81)";
    return std::nullopt;
  }
  for (const Tlv& t : *tlvs) {
    if (t.tag == 0x83) {
      error = "it holds typed digits (tag 83): the device asks the user for them (--pin)";
      return std::nullopt;
    }
    if (t.tag < 0x80 || t.tag > 0x85) {
      error = "unexpected tag " + ToHex(Bytes{static_cast<uint8_t>(t.tag)}) +
              " (80 method, 81 message, 82 MAC, 84 sequence, 85 KVN)";
      return std::nullopt;
    }
  }
  BootstrapPackage p;
  p.method = static_cast<dm::BootstrapMethod>(method->value[0]);
  p.message.assign(message->value.begin(), message->value.end());
  p.command_data.assign(data.begin(), data.end());
  return p;
}

std::optional<BootstrapPackage> ReadBootstrapPackage(const std::filesystem::path& file,
                                                     std::string& error) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    error = "cannot read the bootstrap package " + file.string() + ": " + std::strerror(errno);
    return std::nullopt;
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes data;
  if (!text.empty() && static_cast<uint8_t>(text[0]) == 0x80) {
    data.assign(text.begin(), text.end());  // binary: the command data as it is
  } else {
    // Hex text: '#' comments to the end of the line, whitespace anywhere.
    std::string hex;
    bool comment = false;
    for (char c : text) {
      if (c == '\n') comment = false;
      if (comment || c == '#') {
        comment = true;
        continue;
      }
      if (std::isspace(static_cast<unsigned char>(c))) continue;
      if (!std::isxdigit(static_cast<unsigned char>(c))) {
        error = "bootstrap package " + file.string() +
                ": neither binary VERIFY BOOTSTRAP data (first byte 80) nor hex text (found '" +
                std::string(1, c) + "')";
        return std::nullopt;
      }
      hex += c;
    }
    const std::optional<Bytes> bytes = FromHex(hex);
    if (!bytes || bytes->empty()) {
      error = "bootstrap package " + file.string() +
              ": the hex text is empty or has an odd "
              "number of digits";
      return std::nullopt;
    }
    data = *bytes;
  }
  std::string why;
  std::optional<BootstrapPackage> p = DecodeBootstrapPackage(data, why);
  if (!p) error = "bootstrap package " + file.string() + ": " + why;
  return p;
}

bool MethodNeedsUserDigits(dm::BootstrapMethod method) {
  return method == dm::BootstrapMethod::kUserPin || method == dm::BootstrapMethod::kUserNetwPin ||
         method == dm::BootstrapMethod::kUserPinMac;
}

std::string BootstrapRefusalText(uint16_t sw) {
  const std::string code = HexOf(sw);
  if ((sw & 0xFFF0) == 0x63C0) {
    return "the card refused the bootstrap package (" + code +
           "): its MAC, signature or the typed PIN does not verify; " + std::to_string(sw & 0x0F) +
           " verification(s) left before the card locks them";
  }
  switch (sw) {
    case 0x6983:
      return "the card refused the bootstrap package (6983): bootstrap verification is locked "
             "after too many failures; only the issuer can reset it";
    case 0x6985:
      return "the card refused the bootstrap package (6985): a replay — its sequence number is "
             "not above the last one the card accepted";
    case 0x6A88:
      return "the card refused the bootstrap package (6A88): it has no key for this method (no "
             "IMSI for NETWPIN/USERNETWPIN, or no operator key of that KVN)";
    case 0x6A80:
      return "the card refused the bootstrap package (6A80): the command data is malformed";
    default:
      return "the card refused the bootstrap package: " + DmsStatusText(sw);
  }
}

std::optional<bool> ConsolePrompt::Confirm(const std::string& question, std::string& error) {
  if (answers_.confirm) return answers_.confirm;
  if (!terminal_) {
    error = "no terminal to ask on: pass --yes or --no";
    return std::nullopt;
  }
  for (;;) {
    out_ << question << " [y/n] " << std::flush;
    std::string line;
    if (!std::getline(in_, line)) {
      error = "no answer (end of input)";
      return std::nullopt;
    }
    std::transform(line.begin(), line.end(), line.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    line.erase(0, line.find_first_not_of(" \t"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (line == "y" || line == "yes") return true;
    if (line == "n" || line == "no") return false;
    out_ << "Please answer y or n.\n";
  }
}

std::optional<std::string> ConsolePrompt::AskDigits(const std::string& question,
                                                    std::string& error) {
  if (answers_.pin) return answers_.pin;
  if (!terminal_) {
    error = "no terminal to ask on: pass --pin";
    return std::nullopt;
  }
  out_ << question << ": " << std::flush;
  // What the user types is a secret: no echo when standard input is the terminal.
  termios saved{};
  const bool echo_off = &in_ == &std::cin && ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (echo_off) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(in_, line));
  if (echo_off) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    out_ << "\n";
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (!got || line.empty()) {
    error = "nothing typed";
    return std::nullopt;
  }
  return line;
}

bool ProvisionDevice(Reader& reader, const ProvisionOptions& options, UserPrompt& prompt,
                     ProvisionReport& report, std::string& error) {
  report = ProvisionReport{};
  using Outcome = ProvisionOutcome;

  // Every file is read before the card is touched: a damaged tree or package costs the card
  // nothing (not even a counted verification).
  DeviceTree tree;
  if (!tree.Load(options.tree_file, report.tree_created, error)) return false;
  std::optional<BootstrapPackage> package;
  std::vector<dm::Node> nodes;
  if (!options.package.empty()) {
    package = ReadBootstrapPackage(options.package, error);
    if (!package) return false;
    report.method = package->method;
    std::string why;
    const auto changes = dm::DecodeBootstrapMessage(package->message, why);
    if (!changes) {
      return Fail(
          report, Outcome::kFailed, error,
          "bootstrap package " + options.package.string() +
              ": its message is not an OMA DM bootstrap message the device can read: " + why);
    }
    for (const dm::BootstrapChange& c : *changes) {
      nodes.insert(nodes.end(), c.nodes.begin(), c.nodes.end());
    }
  }

  // DEV1, SC7: one SELECT says whether there is provisioning data and what the device must do.
  Bytes atr;
  if (!reader.Connect(atr, error)) return false;
  Bytes fci;
  uint16_t sw = 0;
  if (!Exchange(reader, SelectByAid(kDmAid, 0x00), fci, sw, error)) return false;
  if (sw != 0x9000) {
    return Fail(report, Outcome::kFailed, error,
                "the card has no DM applet (SELECT " + ToHex(kDmAid) + " answered " +
                    DmsStatusText(sw) + ")");
  }
  report.descriptor = DecodeDmDescriptor(fci, error);
  if (!report.descriptor) return false;

  if (package) {
    // UC-CR: the card checks the network's proof. P1 00, verify only: the data goes into the
    // device's tree, not the card's (P1 01 would install it on the card, before the user said
    // yes); and a verification the card accepts uses its sequence number up, so a second
    // command (verify, then install) would be refused as a replay.
    report.source = "bootstrap package " + options.package.string() + " (" +
                    BootstrapMethodName(package->method) + ")";
    std::string digits;
    if (MethodNeedsUserDigits(package->method)) {
      const std::string question =
          package->method == dm::BootstrapMethod::kUserPinMac
              ? "The bootstrap is protected by USERPINMAC: type the digits the operator gave you"
              : "The bootstrap is protected by " + BootstrapMethodName(package->method) +
                    ": type the PIN the operator gave you";
      std::string why;
      std::optional<std::string> typed = prompt.AskDigits(question, why);
      if (!typed) {
        return Fail(report, Outcome::kFailed, error,
                    "the bootstrap method " + BootstrapMethodName(package->method) +
                        " needs the PIN the user was given, and " + why);
      }
      digits = *typed;
    }
    const Bytes apdu = VerifyBootstrapApdu(WithTypedDigits(package->command_data, digits),
                                           /*install=*/false);
    if (apdu.empty()) {
      return Fail(report, Outcome::kFailed, error,
                  "the bootstrap package is too long for one VERIFY BOOTSTRAP command");
    }
    Bytes answer;
    if (!Exchange(reader, apdu, answer, sw, error)) return false;
    if (sw != 0x9000) {
      report.card_sw = sw;
      return Fail(report, Outcome::kCardRefused, error, BootstrapRefusalText(sw));
    }
    if (!ReadFlagsAnswer(answer, report.card_flags)) {
      return Fail(report, Outcome::kFailed, error,
                  "the card accepted the bootstrap package but its answer has no flags (84 01): " +
                      ToHex(answer));
    }
    report.source += ", verified by the card";
  } else {
    report.card_flags = report.descriptor->flags;
    if ((report.card_flags & DmDescriptor::kProvisioningData) == 0) {
      // UC511a: only a key on the card; the device connects to the DMS with it (DEV3) and gets
      // its parameters over the air.
      report.outcome = Outcome::kNoProvisioningData;
      return true;
    }
    // The handsets' way (reference-facts.md §1): EF(DM_Bootstrap) through PKCS#15. It holds
    // what a bootstrap is — the DM accounts and the connectivity objects they name — as the
    // device may read it (docs/pkcs15-view.md), in one document with the nodes' properties.
    Bytes content;
    Pkcs15Reader pkcs15(reader);
    if (!pkcs15.ReadBootstrap(content, error)) return false;
    if (!ParseCardBootstrap(content, nodes, error)) return false;
    report.source = "the card's EF(DM_Bootstrap) (PKCS#15)";
  }

  // The objects the data brings; those it describes whole replace the device's.
  std::vector<std::string> roots;
  for (const dm::Node& n : nodes) {
    const std::optional<std::string> root = ObjectRootOf(n.uri);
    if (root && *root == n.uri) roots.push_back(n.uri);
    if (root && root->rfind("./DMAcc/", 0) == 0 &&
        std::find(report.accounts.begin(), report.accounts.end(), *root) == report.accounts.end())
      report.accounts.push_back(*root);
  }
  if (nodes.empty() || (!package && report.accounts.empty())) {
    return Fail(report, Outcome::kFailed, error,
                package ? "the bootstrap message holds no node"
                        : "the card says it holds provisioning data, but EF(DM_Bootstrap) gives "
                          "the device no DM account (its ACL keeps ./DMAcc from the device)");
  }

  // DEV4, UC512: into the device tree, in memory first.
  std::vector<std::string> before_order;
  const std::map<std::string, std::string> before = tree.Snapshot(&before_order);
  for (const std::string& root : roots) {
    if (before.count(root) != 0) {
      report.replaced.push_back(root);
      tree.Remove(root);
    }
  }
  for (const dm::Node& n : nodes) {
    if (!tree.Put(n)) report.kept_on_card.push_back(n.uri);
  }
  std::vector<std::string> after_order;
  const std::map<std::string, std::string> after = tree.Snapshot(&after_order);
  for (const std::string& uri : after_order) {
    auto it = before.find(uri);
    if (it == before.end()) {
      report.changes.push_back({TreeChange::Kind::kAdded, uri});
    } else if (it->second != after.at(uri)) {
      report.changes.push_back({TreeChange::Kind::kChanged, uri});
    }
  }
  for (const std::string& uri : before_order) {
    if (after.count(uri) == 0) report.changes.push_back({TreeChange::Kind::kRemoved, uri});
  }

  // Replaced means overridden: a subtree the device held exactly as the card's is not reported.
  std::erase_if(report.replaced, [&](const std::string& root) {
    return std::none_of(report.changes.begin(), report.changes.end(), [&](const TreeChange& c) {
      return c.uri == root || c.uri.rfind(root + "/", 0) == 0;
    });
  });

  // USA1: the user decides before anything is written.
  if (!report.changes.empty() && (report.card_flags & DmDescriptor::kUserConfirmation) != 0) {
    std::string question = "The card asks before its provisioning data goes into the device: " +
                           (report.accounts.empty() ? std::string("nodes")
                                                    : "DM account(s) " + Join(report.accounts)) +
                           " from " + report.source + ", " + std::to_string(report.changes.size()) +
                           " node(s) of " + options.tree_file.string() + " change";
    if (!report.replaced.empty()) question += ", replacing the device's " + Join(report.replaced);
    question += ". Incorporate it?";
    report.user_asked = true;
    std::string why;
    const std::optional<bool> yes = prompt.Confirm(question, why);
    if (!yes) {
      return Fail(report, Outcome::kFailed, error,
                  "the card asks for the user's confirmation before its data goes into the "
                  "device (USA1), and " +
                      why);
    }
    if (!*yes) {
      report.outcome = Outcome::kDeclined;
      return true;
    }
  }

  if (!report.changes.empty() || report.tree_created) {
    if (!ReplaceFileAtomically(options.tree_file, tree.Text(), tree.mode(), error)) {
      report.outcome = Outcome::kFailed;
      return false;
    }
    report.tree_written = true;
  }

  // USA3: where the device connects on its own.
  report.autoconnect = (report.card_flags & DmDescriptor::kAutoconnect) != 0;
  if (report.autoconnect) {
    const std::map<std::string, std::string> values = tree.Values();
    for (const std::string& account : report.accounts) {
      report.connect_to.push_back(AddressOf(account, values));
    }
  }
  report.outcome = Outcome::kProvisioned;
  return true;
}

}  // namespace dmcard
