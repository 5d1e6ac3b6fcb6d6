// XML to WBXML and back (host/wbxml_encode.h) through libwbxml2's converters.
#include "host/wbxml_encode.h"

#include <wbxml/wbxml.h>
#include <wbxml/wbxml_conv.h>

#include <cstdlib>

namespace dmcard {

std::optional<Bytes> XmlToWbxml(const std::string& xml, std::string& error) {
  WBXMLConvXML2WBXML* conv = nullptr;
  if (wbxml_conv_xml2wbxml_create(&conv) != WBXML_OK) {
    error = "libwbxml2: cannot create the XML to WBXML converter";
    return std::nullopt;
  }
  wbxml_conv_xml2wbxml_set_version(conv, WBXML_VERSION_12);
  WB_UTINY* out = nullptr;
  WB_ULONG len = 0;
  std::string input = xml;  // libwbxml2 takes a non-const buffer
  const WBXMLError rc = wbxml_conv_xml2wbxml_run(conv, reinterpret_cast<WB_UTINY*>(input.data()),
                                                 static_cast<WB_ULONG>(input.size()), &out, &len);
  wbxml_conv_xml2wbxml_destroy(conv);
  std::optional<Bytes> wbxml;
  if (rc == WBXML_OK) {
    wbxml = Bytes(out, out + len);
  } else {
    error = std::string("libwbxml2 cannot encode the XML: ") +
            reinterpret_cast<const char*>(wbxml_errors_string(rc));
  }
  std::free(out);
  return wbxml;
}

std::optional<std::string> TndsWbxmlToXml(ByteView wbxml, std::string& error) {
  WBXMLConvWBXML2XML* conv = nullptr;
  if (wbxml.empty() || wbxml_conv_wbxml2xml_create(&conv) != WBXML_OK) {
    error = wbxml.empty() ? "empty WBXML document"
                          : "libwbxml2: cannot create the WBXML to XML converter";
    return std::nullopt;
  }
  wbxml_conv_wbxml2xml_set_gen_type(conv, WBXML_GEN_XML_COMPACT);
  wbxml_conv_wbxml2xml_set_language(conv, WBXML_LANG_SYNCML_DMDDF12);
  Bytes input(wbxml.begin(), wbxml.end());  // libwbxml2 takes a non-const buffer
  WB_UTINY* out = nullptr;
  WB_ULONG len = 0;
  const WBXMLError rc =
      wbxml_conv_wbxml2xml_run(conv, input.data(), static_cast<WB_ULONG>(input.size()), &out, &len);
  wbxml_conv_wbxml2xml_destroy(conv);
  std::optional<std::string> xml;
  if (rc == WBXML_OK) {
    std::string text(reinterpret_cast<const char*>(out), len);
    if (text.find("<MgmtTree") == std::string::npos) {
      error = "the WBXML document is not a TNDS <MgmtTree>";
    } else {
      xml = std::move(text);
    }
  } else {
    error = std::string("libwbxml2 cannot decode the WBXML: ") +
            reinterpret_cast<const char*>(wbxml_errors_string(rc));
  }
  std::free(out);
  return xml;
}

}  // namespace dmcard
