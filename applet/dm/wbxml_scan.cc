// The WBXML pre-scan; see wbxml_scan.h. One pass, no recursion (an explicit depth counter),
// every read bounds-checked. Grammar (WAP-192-WBXML-20010725-a §5.3), as checked here:
//
//   start     = version publicid charset strtbl body
//   publicid  = mb_u_int32 | ( zero index )
//   strtbl    = length *byte
//   body      = element                      (*pi before/after: refused, see the header)
//   element   = ([switchPage] stag) [ 1*attribute END ] [ *content END ]
//   content   = element | string | entity | opaque      (pi, extension: refused)
//   stag      = TAG | ( literalTag index )
//   attribute = attrStart *attrValue
//   attrStart = ([switchPage] ATTRSTART) | ( LITERAL index )
//   attrValue = ([switchPage] ATTRVALUE) | string | entity | opaque   (extension: refused)
//   string    = inline | tableref;  inline = STR_I termstr;  tableref = STR_T index
//   entity    = ENTITY entcode;  opaque = OPAQUE length *byte
//
// A TAG byte carries "has attributes" in bit 7 and "has content" in bit 6 (§5.8.2); its low six
// bits are 05..3F (00..04 are global tokens). The literal tags LITERAL_A/_C/_AC use the same
// two bits. ATTRSTART tokens are below 80, ATTRVALUE tokens 80 and above (§5.8.3).
#include "dm/wbxml_scan.h"

#include <cstdint>
#include <optional>

namespace dmcard::dm {

namespace {

// Global tokens (WBXML §7.1).
constexpr uint8_t kSwitchPage = 0x00;
constexpr uint8_t kEnd = 0x01;
constexpr uint8_t kEntity = 0x02;
constexpr uint8_t kStrI = 0x03;
constexpr uint8_t kLiteral = 0x04;
constexpr uint8_t kPi = 0x43;
constexpr uint8_t kStrT = 0x83;
constexpr uint8_t kOpaque = 0xC3;
constexpr uint8_t kHasAttributes = 0x80;
constexpr uint8_t kHasContent = 0x40;

// EXT_I_0..2 (40-42), EXT_T_0..2 (80-82), EXT_0..2 (C0-C2).
bool IsExtension(uint8_t b) { return (b & 0x3F) <= 0x02 && (b & 0xC0) != 0; }
// LITERAL, LITERAL_C, LITERAL_A, LITERAL_AC.
bool IsLiteralTag(uint8_t b) { return (b & 0x3F) == kLiteral; }

// XML 1.0 §2.2 Char.
bool IsXmlChar(uint32_t c) {
  return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
         (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

class Scanner {
 public:
  Scanner(ByteView in, WbxmlScan kind) : in_(in), kind_(kind) {}

  std::string Run() {
    if (!Header() || !Body()) return error_;
    if (pos_ != in_.size()) {
      Fail("bytes after the root element (processing instructions are not accepted)");
      return error_;
    }
    return {};
  }

 private:
  bool Header() {
    uint8_t version = 0;
    if (!U8(version, "version")) return false;
    // §5.4: version = major - 1 in the high nibble, minor in the low one. 1.0 has no charset.
    if (version < 0x01 || version > 0x03) {
      pos_ = 0;
      return Fail("WBXML version byte " + ToHex(Bytes{version}) +
                  " (only 1.1, 1.2 and 1.3 are accepted)");
    }
    // §5.5 publicid: a well-known value, or 00 and an index into the string table (checked
    // once the table is read).
    uint8_t first = 0;
    if (!Peek(first, "public identifier")) return false;
    std::optional<std::pair<size_t, uint32_t>> publicid_index;
    uint32_t value = 0;
    if (first == 0x00) {
      ++pos_;
      const size_t at = pos_;
      if (!MbUint32(value, "public identifier index")) return false;
      publicid_index = {at, value};
    } else if (!MbUint32(value, "public identifier")) {
      return false;
    }
    // §5.6 charset: an IANA MIBenum; 0 = unknown (UTF-8 assumed). Only UTF-8 is decoded here.
    const size_t charset_at = pos_;
    uint32_t charset = 0;
    if (!MbUint32(charset, "charset")) return false;
    if (charset != 0 && charset != 106) {
      pos_ = charset_at;
      return Fail("charset MIBenum " + std::to_string(charset) + " is not UTF-8 (106)");
    }
    // §5.7 string table.
    uint32_t length = 0;
    if (!MbUint32(length, "string table length")) return false;
    if (length > in_.size() - pos_) {
      return Fail("string table of " + std::to_string(length) + " bytes runs past the end");
    }
    strtbl_ = in_.subspan(pos_, length);
    pos_ += length;
    if (publicid_index) {
      const size_t body = pos_;
      pos_ = publicid_index->first;
      if (!TableString(publicid_index->second, "public identifier")) return false;
      pos_ = body;
    }
    return true;
  }

  bool Body() {
    size_t depth = 0;
    if (!ElementStart(depth)) return false;
    while (depth > 0) {
      uint8_t b = 0;
      if (!Peek(b, "content or END")) return false;
      if (b == kEnd) {
        ++pos_;
        --depth;
      } else if (b == kStrI || b == kStrT || b == kEntity || b == kOpaque) {
        if (!Value()) return false;
      } else if (b == kPi) {
        return Fail("processing instruction (PI) in content; TNDS has none");
      } else if (IsExtension(b)) {
        return Fail("extension token " + ToHex(Bytes{b}) + "; the DM DDF code page defines none");
      } else if (!ElementStart(depth)) {  // [switchPage] stag
        return false;
      }
    }
    return true;
  }

  // ([switchPage] stag) [ 1*attribute END ], then `depth` + 1 when content follows.
  bool ElementStart(size_t& depth) {
    uint8_t tag = 0;
    if (!U8(tag, "tag")) return false;
    if (tag == kSwitchPage) {
      uint8_t page = 0;
      if (!U8(page, "code page after SWITCH_PAGE") || !U8(tag, "tag after SWITCH_PAGE")) {
        return false;
      }
    }
    if (IsLiteralTag(tag)) {
      if (!Index("literal tag name")) return false;
    } else if ((tag & 0x3F) <= kLiteral || tag == kPi || IsExtension(tag)) {
      --pos_;
      return Fail("global token " + ToHex(Bytes{tag}) + " where a tag is due");
    }
    if ((tag & kHasAttributes) != 0 && !Attributes()) return false;
    if ((tag & kHasContent) != 0) {
      if (depth == kMaxWbxmlDepth) {
        --pos_;
        return Fail("elements nested deeper than " + std::to_string(kMaxWbxmlDepth));
      }
      ++depth;
    }
    return true;
  }

  // 1*attribute END
  bool Attributes() {
    bool have_start = false;
    while (true) {
      uint8_t b = 0;
      if (!Peek(b, "attribute or END")) return false;
      if (b == kEnd) {
        if (!have_start) return Fail("attribute list without an attribute");
        ++pos_;
        return true;
      }
      if (b == kLiteral) {  // attrStart = LITERAL index
        ++pos_;
        if (!Index("literal attribute name")) return false;
        have_start = true;
        continue;
      }
      if (b == kStrI || b == kStrT || b == kEntity || b == kOpaque) {
        if (!have_start) return Fail("attribute value before any attribute start");
        if (!Value()) return false;
        continue;
      }
      if (b == kPi || IsExtension(b) || IsLiteralTag(b) || b == kEnd) {
        return Fail("token " + ToHex(Bytes{b}) + " in an attribute list");
      }
      ++pos_;
      if (b == kSwitchPage) {
        uint8_t page = 0;
        if (!U8(page, "code page after SWITCH_PAGE") || !U8(b, "attribute after SWITCH_PAGE")) {
          return false;
        }
        if (b == kEnd || b == kEntity || b == kStrI || b == kLiteral || b == kPi || b == kStrT ||
            b == kOpaque || IsExtension(b) || IsLiteralTag(b) || b == kSwitchPage) {
          --pos_;
          return Fail("global token " + ToHex(Bytes{b}) + " after SWITCH_PAGE in attributes");
        }
      }
      if (b < 0x80) {
        have_start = true;  // ATTRSTART
      } else if (!have_start) {
        --pos_;
        return Fail("attribute value before any attribute start");
      }
    }
  }

  // string | entity | opaque, at a byte known to be STR_I, STR_T, ENTITY or OPAQUE.
  bool Value() {
    uint8_t token = 0;
    if (!U8(token, "value")) return false;
    if (token == kStrI) {  // termstr: UTF-8 up to a NUL (§5.8.4.1)
      for (size_t i = pos_; i < in_.size(); ++i) {
        if (in_[i] == 0x00) {
          pos_ = i + 1;
          return true;
        }
      }
      return Fail("inline string (STR_I) without its terminating NUL");
    }
    if (token == kStrT) return Index("string table reference (STR_T)");
    const size_t at = pos_;
    uint32_t value = 0;
    if (token == kEntity) {
      if (!MbUint32(value, "entity")) return false;
      if (!IsXmlChar(value)) {
        pos_ = at;
        return Fail("ENTITY " + std::to_string(value) + " is not an XML character");
      }
      return true;
    }
    if (!MbUint32(value, "opaque length")) return false;  // OPAQUE length *byte
    if (value > in_.size() - pos_) {
      pos_ = at;
      return Fail("opaque data of " + std::to_string(value) + " bytes runs past the end");
    }
    // kSyncMl: libwbxml2 parses OPAQUE data as an embedded document whenever the item's
    // Meta/Type says so, which the scan cannot see; so OPAQUE data that begins like a WBXML
    // document (a version byte 00-03, NUL bytes or not) must pass the TNDS scan. Other OPAQUE
    // data (leaf values) keeps the NUL rule below.
    const ByteView opaque = in_.subspan(pos_, value);
    if (kind_ == WbxmlScan::kSyncMl && !opaque.empty() && opaque[0] <= 0x03) {
      const std::string why = ScanWbxml(opaque, WbxmlScan::kTnds);
      if (!why.empty()) {
        pos_ = at;
        return Fail("opaque data that is not an embedded TNDS document (" + why + ")");
      }
      pos_ += value;
      return true;
    }
    // libwbxml2 decodes DM DDF opaque data as character data, handled as C strings: a NUL
    // would silently cut the value short (and XML 1.0 has no NUL character anyway).
    for (size_t i = pos_; i < pos_ + value; ++i) {
      if (in_[i] == 0x00) {
        pos_ = i;
        return Fail("NUL byte in opaque data (it becomes character data, which holds no NUL)");
      }
    }
    pos_ += value;
    return true;
  }

  // index = mb_u_int32 into the string table, at the start of a NUL-terminated string.
  bool Index(const char* what) {
    const size_t at = pos_;
    uint32_t index = 0;
    if (!MbUint32(index, what)) return false;
    const size_t after = pos_;
    pos_ = at;
    if (!TableString(index, what)) return false;
    pos_ = after;
    return true;
  }

  bool TableString(uint32_t index, const char* what) {
    if (index >= strtbl_.size()) {
      return Fail(std::string(what) + " " + std::to_string(index) + " is outside the " +
                  std::to_string(strtbl_.size()) + "-byte string table");
    }
    for (size_t i = index; i < strtbl_.size(); ++i) {
      if (strtbl_[i] == 0x00) return true;
    }
    return Fail(std::string(what) + " " + std::to_string(index) +
                " names a string without its terminating NUL");
  }

  // §5.1 mb_u_int32: 7 bits per byte, most significant first, bit 7 set on all but the last.
  bool MbUint32(uint32_t& out, const char* what) {
    const size_t at = pos_;
    uint64_t value = 0;
    for (size_t n = 0; n < 5; ++n) {
      uint8_t b = 0;
      if (!U8(b, what)) return false;
      value = (value << 7) | (b & 0x7F);
      if ((b & 0x80) == 0) {
        if (value >= 0x80000000u) {
          pos_ = at;
          return Fail(std::string(what) + " of 0x80000000 or more");
        }
        out = static_cast<uint32_t>(value);
        return true;
      }
    }
    pos_ = at;
    return Fail(std::string(what) + ": multi-byte integer longer than 5 bytes");
  }

  bool U8(uint8_t& out, const char* what) {
    if (!Peek(out, what)) return false;
    ++pos_;
    return true;
  }

  bool Peek(uint8_t& out, const char* what) {
    if (pos_ >= in_.size()) return Fail(std::string("ends where the ") + what + " is due");
    out = in_[pos_];
    return true;
  }

  bool Fail(const std::string& message) {
    error_ = "WBXML byte " + std::to_string(pos_) + ": " + message;
    return false;
  }

  ByteView in_;
  WbxmlScan kind_;
  ByteView strtbl_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

std::string ScanWbxml(ByteView wbxml, WbxmlScan kind) { return Scanner(wbxml, kind).Run(); }

}  // namespace dmcard::dm
