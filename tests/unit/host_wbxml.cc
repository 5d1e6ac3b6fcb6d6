#include "host_wbxml.h"

#include <gtest/gtest.h>
#include <wbxml/wbxml.h>
#include <wbxml/wbxml_conv.h>

#include <cstdlib>

namespace dmcard::testing {

Bytes SyncMlXmlToWbxml(const std::string& xml) {
  WBXMLConvXML2WBXML* conv = nullptr;
  if (wbxml_conv_xml2wbxml_create(&conv) != WBXML_OK) {
    ADD_FAILURE() << "wbxml_conv_xml2wbxml_create";
    return {};
  }
  wbxml_conv_xml2wbxml_set_version(conv, WBXML_VERSION_12);
  WB_UTINY* out = nullptr;
  WB_ULONG len = 0;
  std::string input = xml;  // libwbxml takes a non-const buffer
  const WBXMLError rc = wbxml_conv_xml2wbxml_run(conv, reinterpret_cast<WB_UTINY*>(input.data()),
                                                 static_cast<WB_ULONG>(input.size()), &out, &len);
  wbxml_conv_xml2wbxml_destroy(conv);
  Bytes wbxml;
  if (rc == WBXML_OK) {
    wbxml.assign(out, out + len);
  } else {
    ADD_FAILURE() << "libwbxml: " << reinterpret_cast<const char*>(wbxml_errors_string(rc));
  }
  std::free(out);
  return wbxml;
}

}  // namespace dmcard::testing
