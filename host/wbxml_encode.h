// XML to WBXML with libwbxml2 (the field's library), as a network or a DM server would send it:
// a SyncML 1.2 XML message becomes WBXML (items whose Meta/Type is
// application/vnd.syncml.dmtnds+xml become embedded WBXML TNDS), and a TNDS MgmtTree document
// becomes TNDS WBXML (OMA-TS-DM_TNDS). Never throws.
#pragma once

#include <optional>
#include <string>

#include "runtime/bytes.h"

namespace dmcard {

// WBXML 1.2 of an XML document whose root names its language (SyncML, MgmtTree); nullopt with
// `error` set (libwbxml2's message) when libwbxml2 cannot encode it.
std::optional<Bytes> XmlToWbxml(const std::string& xml, std::string& error);

}  // namespace dmcard
