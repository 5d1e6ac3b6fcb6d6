// A structural pre-scan of untrusted WBXML before libwbxml2 decodes it.
//
// Debian's libwbxml2 (0.11.8) aborts the whole process on some malformed input (an ENTITY of
// 0x80000000 or more trips `assert(code < 0x80000000)` in parse_entity; issue 7 item 6a), and
// decodes element nesting by recursion. Everything that reaches it from outside the card —
// STORE DATA now, network bootstrap packets next — is first checked here against the WBXML
// grammar (WAP-192-WBXML-20010725-a §5) restricted to what a TNDS document (OMA-TS-DM_TNDS 1.2
// §9.1.1, the DM DDF 1.2 code page) needs. Only a document that passes goes to libwbxml2.
#pragma once

#include <cstddef>
#include <string>

#include "runtime/bytes.h"

namespace dmcard::dm {

// Deepest element nesting accepted. A TNDS document nests <MgmtTree>, at most 127 <Node>s (a
// URI of MaxTotLen 255 has at most 127 segments), then <RTProperties><Format><chr/>: 131.
inline constexpr size_t kMaxWbxmlDepth = 160;

// "" when `wbxml` is a well-formed WBXML document that libwbxml2 can decode without aborting;
// otherwise what is wrong and at which byte offset. Refused:
//  - version other than 1.1, 1.2, 1.3 (01..03); charset other than 0 (unknown: UTF-8 assumed,
//    §5.6) or 106 (UTF-8);
//  - any mb_u_int32 (§5.1) longer than 5 bytes, or of 0x80000000 or more (libwbxml2 casts
//    them to signed and asserts on entities);
//  - a string table, OPAQUE or inline string (termstr) running past the end; a NUL inside
//    OPAQUE data (libwbxml2 turns DM DDF opaque data into character data); a string-table
//    index (publicid, STR_T, LITERAL*) past the table or not starting a NUL-terminated string;
//  - ENTITY of a code point that is not an XML 1.0 Char (§2.2: #x9 #xA #xD #x20-#xD7FF
//    #xE000-#xFFFD #x10000-#x10FFFF), which numeric character references must match (§4.1);
//  - processing instructions (PI) and extension tokens (EXT_*): the DM DDF code page defines no
//    extension and TNDS carries no processing instruction;
//  - a global token where a tag is due, an attribute value before any attribute start, an
//    element without END, nesting deeper than kMaxWbxmlDepth, and bytes after the root element.
//
// kSyncMl (an OMA DM bootstrap message: SyncML 1.2 whose items may carry WBXML TNDS) differs in
// one rule: OPAQUE data that begins with a WBXML version byte (00-03) must itself be a WBXML
// document that passes this scan as TNDS, NUL bytes or not (libwbxml2 decodes OPAQUE data as an
// embedded document when the item's Meta/Type is application/vnd.syncml.dmtnds+wbxml, which a
// structural scan cannot see); one level, no deeper. Other OPAQUE data keeps the NUL rule.
enum class WbxmlScan : uint8_t { kTnds, kSyncMl };
std::string ScanWbxml(ByteView wbxml, WbxmlScan kind = WbxmlScan::kTnds);

}  // namespace dmcard::dm
