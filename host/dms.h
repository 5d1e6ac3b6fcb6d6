// The DM server's view of the card's tree commands (`dmcard dms get|add|replace|delete|exec|log`):
// C-APDUs made from a URI and a value, and the answers read back — a leaf's value, an interior
// node's child names, a node's properties, the event log as readable lines — so that a user
// never writes hex. The coding is apdu-specs/dm.json's ("GET (tree)", "ADD (tree)", "REPLACE
// (tree)", "DELETE (tree)", "EXEC (tree)", "GET DATA (descriptor, event log)"), written here apart
// from the card's parser (applet/dm/requests.*).
//
// Every command is for logical channel 0 (CLA 80); a caller on another channel or under secure
// messaging changes CLA. Data up to 255 bytes goes short; longer data extended (Lc 00 xx xx).
// Never throws: failures are nullopt with `error` set.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dm/mo_tree.h"
#include "runtime/bytes.h"

namespace dmcard {

// A node property (OMA DM 1.2 TND §7) as GET P1 01 numbers it in P2, and as tag 80|number in
// the answer to GET P1 03: the card's own numbering (dm/mo_tree.h).
using DmsProperty = dm::Property;
// "ACL", "Format", "Type", "Name", "Size", "Title", "TStamp", "VerNo", and back
// (case-insensitive).
std::string DmsPropertyName(DmsProperty p);
std::optional<DmsProperty> DmsPropertyByName(const std::string& name);

// ---- commands ----

// GET (80 30): the value of a leaf (P1 00), one property (P1 01, P2 the property), the child
// names of an interior node (P1 02) or all properties (P1 03). Le 00.
std::optional<Bytes> DmsGetValue(const std::string& uri, std::string& error);
std::optional<Bytes> DmsGetProperty(const std::string& uri, DmsProperty property,
                                    std::string& error);
std::optional<Bytes> DmsGetChildren(const std::string& uri, std::string& error);
std::optional<Bytes> DmsGetProperties(const std::string& uri, std::string& error);

// ADD (80 32 00 00): 80 URI, 82 Format, [81 value], [83 Type], [84 ACL], [85 01 secret].
struct DmsAdd {
  std::string uri;
  std::string format = "node";  // node, chr, int, bool, bin, b64, xml, date, time, float, null
  std::optional<Bytes> value;   // a leaf's value (none for an interior node)
  std::string type;             // MIME type; "" leaves it out
  std::string acl;              // e.g. "Get=*&Replace=dms.example.test"; "" leaves it out
  bool secret = false;          // a leaf whose value is never readable
};
std::optional<Bytes> DmsAddCommand(const DmsAdd& add, std::string& error);

// REPLACE (80 34): a leaf's value (P1 00: 80 URI, 81 value), or its ACL or Title (P1 01, P2 01 or
// 06: 80 URI, 81 text).
std::optional<Bytes> DmsReplaceValue(const std::string& uri, ByteView value, std::string& error);
std::optional<Bytes> DmsReplaceProperty(const std::string& uri, DmsProperty property,
                                        const std::string& text, std::string& error);

// DELETE (80 36 00 00 URI): the node and its subtree.
std::optional<Bytes> DmsDelete(const std::string& uri, std::string& error);

// EXEC (80 38 00 00): 80 URI, [81 data].
std::optional<Bytes> DmsExec(const std::string& uri, ByteView data, std::string& error);

// GET DATA of the event log (80 CA 00 E1), entries from counter `from` (data absent for 0).
Bytes DmsEventLogCommand(uint32_t from = 0);

// CHECK FIRMWARE (80 44, apdu-specs/dm.json; FUMO): 80 package digest, 81 version, [82
// signature], Le 00 — the card says whether the update may go ahead.
Bytes FumoCheckFirmwareCommand(ByteView digest, const std::string& version,
                               ByteView signature = {});

// ---- answers (the response data, without the status word) ----

// A leaf's value as text when it is printable UTF-8 (no control characters but tab, CR, LF),
// else as "hex:" and the bytes in hex.
std::string DmsValueText(ByteView value);

// The child names of GET P1 02 ('/'-separated; none for an empty answer).
std::vector<std::string> DmsChildNames(ByteView data);

// The answer to GET P1 03: each property present (Size is absent for interior nodes), in order.
struct DmsNodeProperties {
  std::vector<std::pair<DmsProperty, std::string>> items;
  // The property's text, or nullopt when it is absent.
  std::optional<std::string> Get(DmsProperty p) const;
};
std::optional<DmsNodeProperties> DecodeDmsProperties(ByteView data, std::string& error);

// One entry of the event log (runtime/event_log.h; apdu-specs/dm.json "GET DATA").
struct DmsEvent {
  uint32_t counter = 0;
  int64_t time = 0;  // UTC seconds
  uint8_t kind = 0;  // 01 bootstrap accepted ... 07 FUMO decision
  uint8_t reason = 0;
  std::string principal;  // ServerID, @issuer, @user, @device
  Bytes detail;
};
// The answer to GET DATA E1: E1 { E2 { 80 counter, 81 time, 82 kind, 83 reason, 84 principal,
// 85 detail } ... }, oldest first.
std::optional<std::vector<DmsEvent>> DecodeEventLog(ByteView data, std::string& error);
// "#12 2023-11-14T22:13:20Z @user: tree changed by ADD — value ./Vendor/..." and the like: the
// counter, the UTC time, the principal, the kind and its reason in words, the detail.
std::string EventLine(const DmsEvent& event);

// The meaning of a DM applet status word (apdu-specs/dm.json), e.g. "6982 security status not
// satisfied (the ACL or the session does not allow it)".
std::string DmsStatusText(uint16_t sw);

}  // namespace dmcard
