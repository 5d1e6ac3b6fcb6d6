#include "dm/provsc.h"

#include <pugixml.hpp>

#include <array>
#include <cstring>

#include "dm/tnds.h"

namespace dmcard::dm {

namespace {

// WAP-183 ProvCont: the parms that carry a secret. AUTHSECRET (NAPAUTHINFO), PXAUTH-PW
// (PXAUTHINFO), AAUTHSECRET and AAUTHDATA (APPAUTH, as OMA DM's AAuthSecret and AAuthData).
constexpr std::array<const char*, 4> kSecretParms = {"AUTHSECRET", "PXAUTH-PW", "AAUTHSECRET",
                                                     "AAUTHDATA"};

// "NAPDEF/NAPAUTHINFO": the types of the characteristics around `node`.
std::string CharacteristicPath(pugi::xml_node node) {
  std::string path;
  for (pugi::xml_node n = node; n && std::strcmp(n.name(), "characteristic") == 0; n = n.parent()) {
    path = std::string(n.attribute("type").value()) + (path.empty() ? "" : "/" + path);
  }
  return path.empty() ? "wap-provisioningdoc" : path;
}

// The first secret parm with a value under `node`, as "parm X of characteristic Y"; else "".
std::string FindSecret(pugi::xml_node node) {
  for (pugi::xml_node child : node.children()) {
    if (std::strcmp(child.name(), "parm") == 0) {
      const char* name = child.attribute("name").value();
      for (const char* secret : kSecretParms) {
        if (std::strcmp(name, secret) == 0 && *child.attribute("value").value() != '\0') {
          return std::string("parm ") + name + " of characteristic " + CharacteristicPath(node);
        }
      }
    }
    if (std::string found = FindSecret(child); !found.empty()) return found;
  }
  return {};
}

}  // namespace

const char* ProvScOid(ProvScFile file) {
  switch (file) {
    case ProvScFile::kBootstrap:
      return "2.23.43.5.1";
    case ProvScFile::kConfig1:
      return "2.23.43.5.2";
    case ProvScFile::kConfig2:
      return "2.23.43.5.3";
  }
  return "";
}

const char* ProvScLabel(ProvScFile file) {
  switch (file) {
    case ProvScFile::kBootstrap:
      return "ProvSC Bootstrap";
    case ProvScFile::kConfig1:
      return "ProvSC Config1";
    case ProvScFile::kConfig2:
      return "ProvSC Config2";
  }
  return "";
}

uint16_t ProvScFid(ProvScFile file) {
  switch (file) {
    case ProvScFile::kBootstrap:
      return 0x4403;
    case ProvScFile::kConfig1:
      return 0x4404;
    case ProvScFile::kConfig2:
      return 0x4405;
  }
  return 0;
}

std::optional<Bytes> ProvScWbxml(std::string_view xml, std::string& error) {
  pugi::xml_document doc;
  const pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size());
  if (!parsed) {
    error = std::string("not well-formed XML at byte ") + std::to_string(parsed.offset) + ": " +
            parsed.description();
    return std::nullopt;
  }
  const pugi::xml_node root = doc.document_element();
  if (std::strcmp(root.name(), "wap-provisioningdoc") != 0) {
    error = std::string("the root element is <") + root.name() +
            ">, not <wap-provisioningdoc> (OMA Client Provisioning)";
    return std::nullopt;
  }
  if (std::string secret = FindSecret(root); !secret.empty()) {
    error = secret +
            " holds a secret: the card never serves secret values, so a ProvSC document "
            "cannot carry it; leave the parm out (the device gets the secret another way)";
    return std::nullopt;
  }
  // Without indentation, so that libwbxml2 keeps only the values' text (XmlToWbxml preserves
  // whitespace); CP documents carry their data in attributes.
  std::string compact;
  struct Writer : pugi::xml_writer {
    std::string* out;
    void write(const void* data, size_t size) override {
      out->append(static_cast<const char*>(data), size);
    }
  } writer;
  writer.out = &compact;
  root.print(writer, "", pugi::format_raw | pugi::format_no_declaration);
  std::string wbxml_error;
  std::optional<Bytes> wbxml = XmlToWbxml(
      "<?xml version=\"1.0\"?>\n<!DOCTYPE wap-provisioningdoc PUBLIC "
      "\"-//WAPFORUM//DTD PROV 1.0//EN\" "
      "\"http://www.wapforum.org/DTD/prov.dtd\">\n" +
          compact,
      WbxmlWriting{.version_1_2 = false, .string_table = false}, wbxml_error);
  if (!wbxml) error = "cannot be encoded to WBXML: " + wbxml_error;
  return wbxml;
}

}  // namespace dmcard::dm
