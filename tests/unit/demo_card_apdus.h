// What several card-level tests say to the demo card, written once: its obviously-test SCP03 keys
// (profiles/demo/profile.json; each key is the ASCII text it spells, written here from that text,
// not read from the profile) and the C-APDUs they send, built from the specifications.
#pragma once

#include <string>
#include <string_view>

#include "host/scp03_host.h"
#include "runtime/bytes.h"

namespace dmcard::testing {

inline Bytes Ascii(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline std::string Str(ByteView b) { return std::string(b.begin(), b.end()); }

// The demo profile's key sets: KVN 30 the issuer, KVN 31 the DM server dmcard.example.test.
inline HostScp03Keys DemoIssuerKeys() {
  return {Ascii("ISS-NOT-REAL-ENC"), Ascii("ISS-NOT-REAL-MAC"), Ascii("ISS-NOT-REAL-DEK")};
}
inline HostScp03Keys DemoDmsKeys() {
  return {Ascii("DMS-NOT-REAL-ENC"), Ascii("DMS-NOT-REAL-MAC"), Ascii("DMS-NOT-REAL-DEK")};
}

// SELECT by AID (ISO 7816-4 §11.2.2), FCI, Le 00.
inline Bytes SelectAid(ByteView aid) {
  Bytes c = {0x00, 0xA4, 0x04, 0x00, static_cast<uint8_t>(aid.size())};
  Append(c, aid);
  c.push_back(0x00);
  return c;
}
// DM GET of a value: 80 30 00 00 Lc URI Le (apdu-specs/dm.json).
inline Bytes DmGet(std::string_view uri) {
  Bytes c = {0x80, 0x30, 0x00, 0x00, static_cast<uint8_t>(uri.size())};
  Append(c, Ascii(uri));
  c.push_back(0x00);
  return c;
}
// DM REPLACE of a value: 80 34 00 00 Lc { 80 URI, 81 value } (short values).
inline Bytes DmReplace(std::string_view uri, ByteView value) {
  Bytes tlv = {0x80, static_cast<uint8_t>(uri.size())};
  Append(tlv, Ascii(uri));
  tlv.push_back(0x81);
  tlv.push_back(static_cast<uint8_t>(value.size()));
  Append(tlv, value);
  Bytes c = {0x80, 0x34, 0x00, 0x00, static_cast<uint8_t>(tlv.size())};
  Append(c, tlv);
  return c;
}
inline Bytes DmReplace(std::string_view uri, std::string_view value) {
  return DmReplace(uri, ByteView(Ascii(value)));
}

}  // namespace dmcard::testing
