// The WBXML readers for untrusted input: the structural scan (dm/wbxml_scan.h) and the two
// decoders behind it (TNDS WBXML, SyncML DM bootstrap messages), which hand to libwbxml2 only
// what the scan passed. Oracle: libwbxml2 never aborts the process (the scan's promise); a
// decoded TNDS document is XML that the TNDS reader takes or refuses with a message.
#include <cstdint>
#include <string>

#include "dm/tnds.h"
#include "dm/wbxml_scan.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dmcard;
  if (size < 1) return 0;
  // The first byte picks the reader, the rest is the document.
  const bool syncml = (data[0] & 1) != 0;
  const ByteView wbxml(data + 1, size - 1);
  dm::ScanWbxml(wbxml, syncml ? dm::WbxmlScan::kSyncMl : dm::WbxmlScan::kTnds);
  std::string error;
  if (syncml) {
    dm::SyncMlWbxmlToXml(wbxml, error);
  } else if (const std::optional<std::string> xml = dm::TndsWbxmlToXml(wbxml, error)) {
    dm::TndsDocument doc = dm::ParseTndsXml(*xml);
    if (fuzz::Broken("wbxml-error")) doc.error = "planted";
    if (!doc.error.empty() && !doc.nodes.empty()) {
      fuzz::OracleViolation("wbxml", "nodes returned with an error");
    }
  }
  return 0;
}
