// OMA DM node formats and the rules for what a node may hold — one home for the tree
// (mo_tree.cc, every ADD/REPLACE/Put) and TNDS (tnds.cc, every document read), so that the card
// never holds a tree its own STORE DATA would refuse (issue 7 item 10a) and everything it holds
// exports to TNDS XML and WBXML and reads back identical (item 7c).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "runtime/bytes.h"

namespace dmcard::dm {

// OMA DM 1.2 node formats (the Format property, OMA-TS-DM_TND 1.2 §7.7.2).
enum class NodeFormat : uint8_t {
  kNode,
  kChr,
  kInt,
  kBool,
  kBin,
  kB64,
  kXml,
  kDate,
  kTime,
  kFloat,
  kNull
};
inline constexpr size_t kNodeFormatCount = 11;
const char* FormatName(NodeFormat f);  // "node", "chr", ...
std::optional<NodeFormat> ParseFormat(std::string_view name);

// OMA DM int: "numeric text representing an unsigned integer between zero and 2**32-1"
// (SyncML Meta-Information, the Format values OMA DM uses). Decimal digits only: no sign, no
// spaces. Leading zeros are accepted ("00000000001" is 1) and kept as written, so a value
// always reads back as stored; the value, not the length, is bounded.
bool ValidInt(std::string_view s);

// Text a TNDS document can carry exactly (chr and xml values, Title, Type, ACL, node names):
// well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF) of XML 1.0
// characters only (XML 1.0 §2.2 Char: tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD,
// U+10000-U+10FFFF). NUL and the other C0 controls cannot appear in XML 1.0 at all, not even as
// character references (§4.1 WFC: Legal Character), so the card refuses them; binary data
// belongs in a bin leaf (exported as base64).
bool IsTndsText(std::string_view s);

// Whether `value` is valid for a leaf of format `f` (the size limit is checked separately):
// chr, xml: IsTndsText; int: ValidInt; bool: true|false; b64: RFC 4648 base64; null: empty;
// date, time: ISO 8601 digits with '-' (date) or ':' '.' '+' '-' 'Z' (time), loosely; float: a
// decimal number with an optional exponent; bin: any bytes.
bool ValidLeafValue(NodeFormat f, ByteView value);
inline bool ValidLeafValue(NodeFormat f, std::string_view value) {
  return ValidLeafValue(f, ByteView(reinterpret_cast<const uint8_t*>(value.data()), value.size()));
}

}  // namespace dmcard::dm
