// XML to WBXML with libwbxml2 (the field's library), as a network or a DM server would send it:
// a SyncML 1.2 XML message becomes WBXML (items whose Meta/Type is
// application/vnd.syncml.dmtnds+xml become embedded WBXML TNDS), and a TNDS MgmtTree document
// becomes TNDS WBXML (OMA-TS-DM_TNDS); and back, for a TNDS document the host was given as
// WBXML. The input is the host user's own document, not a card's or a network's. Never throws.
#pragma once

#include <optional>
#include <string>

#include "runtime/bytes.h"

namespace dmcard {

// WBXML 1.2 of an XML document whose root names its language (SyncML, MgmtTree); nullopt with
// `error` set (libwbxml2's message) when libwbxml2 cannot encode it.
std::optional<Bytes> XmlToWbxml(const std::string& xml, std::string& error);

// Compact XML of a TNDS WBXML document (the DM DDF 1.2 code pages; another public ID in the
// document wins), as libwbxml2 writes it (with its XML declaration and DOCTYPE); nullopt with
// `error` when libwbxml2 cannot decode it or the document is not a <MgmtTree>.
std::optional<std::string> TndsWbxmlToXml(ByteView wbxml, std::string& error);

}  // namespace dmcard
