// The host's WBXML encoder for tests: libwbxml2 (the field's library) turning a SyncML 1.2 XML
// message into WBXML as a network would send it — items whose Meta/Type is
// application/vnd.syncml.dmtnds+xml become embedded WBXML TNDS. Failures are test failures with
// an empty result.
#pragma once

#include <string>

#include "runtime/bytes.h"

namespace dmcard::testing {

Bytes SyncMlXmlToWbxml(const std::string& xml);

}  // namespace dmcard::testing
