// LwM2M bootstrap from the smart card (OMA-TS-LightweightM2M-V1_1 Appendix G): the content of
// EF(LwM2M_Bootstrap), which the PKCS#15 view serves under a data object with OID 2.23.43.9.1 in
// its own DODF (dm/pkcs15_view.h). The objects come from the card's profile ("lwm2m",
// profiles/README.md); the file is encoded once, when the card is made.
//
// Layout (Appendix G.3.3, big-endian):
//   <object count: u16> <size: u16, bytes of what follows>
//   { <object id: u16> <version: 00 | major minor> <length: u16> <LwM2M TLV object instances> }*
// The object instances in the LwM2M TLV format (Core TS §6.4.3, application/vnd.oma.lwm2m+tlv).
//
// Secrets stay in: the resources that hold key material (Lwm2mSecretResourceName) are refused
// when the profile is read, so no file the card serves ever holds them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/bytes.h"

namespace dmcard::dm {

namespace lwm2m {
// Appendix G.3.3: "This file size is limited to 32KB".
inline constexpr size_t kMaxBootstrapFileSize = 32 * 1024;
}  // namespace lwm2m

// A resource's value in one of the LwM2M data types (Core TS Appendix C), with its TLV encoding.
struct Lwm2mValue {
  enum class Type { kString, kInteger, kUnsigned, kFloat, kBoolean, kOpaque, kObjlnk, kTime };
  Type type = Type::kString;
  std::string text;        // kString
  int64_t integer = 0;     // kInteger, kTime (seconds since the Unix epoch), kBoolean (0 or 1)
  uint64_t unsigned_ = 0;  // kUnsigned
  double real = 0;         // kFloat
  Bytes opaque;            // kOpaque
  uint16_t link_object = 0, link_instance = 0;  // kObjlnk
};

// One resource of an object instance: a single value, or a multiple-instance resource (the
// Multiple Resource TLV, even with zero or one instance, Core TS §6.4.3).
struct Lwm2mResource {
  uint16_t id = 0;
  bool multiple = false;
  Lwm2mValue value;                                        // !multiple
  std::vector<std::pair<uint16_t, Lwm2mValue>> instances;  // multiple: (instance id, value)
};

struct Lwm2mObjectInstance {
  uint16_t id = 0;
  std::vector<Lwm2mResource> resources;
};

struct Lwm2mObject {
  uint16_t id = 0;
  // Appendix G: absent = IMPLICIT_VERSION (one byte 00: version 1.0 or the version the LwM2M
  // enabler defines); else MAJOR (01-FF) MINOR (00-FF), two bytes.
  std::optional<std::pair<uint8_t, uint8_t>> version;
  std::vector<Lwm2mObjectInstance> instances;
};

// What EF(LwM2M_Bootstrap) holds: the objects, in the profile's order.
struct Lwm2mBootstrap {
  std::vector<Lwm2mObject> objects;
};

// The LwM2M TLV of one value (the Value field only): strings as UTF-8; integers and time in the
// fewest of 1, 2, 4 or 8 bytes, two's complement; unsigned integers likewise, unsigned; floats in
// 4 bytes when binary32 holds the value exactly, else 8; booleans one byte 00/01; opaque as is;
// objlnk as object id u16 then instance id u16 (Core TS Appendix C).
Bytes Lwm2mValueBytes(const Lwm2mValue& value);

// One TLV (Core TS §6.4.3 Table 21): type bits 7-6 `kind`, bit 5 set for a 16-bit identifier,
// bits 4-3 the length field's size (0 = the length in bits 2-0 when below 8).
Bytes Lwm2mTlv(uint8_t kind, uint16_t id, ByteView value);
// The object instances as LwM2M TLV: one Object Instance TLV each, holding Resource TLVs and
// Multiple Resource TLVs (with Resource Instance TLVs), in the given order.
Bytes Lwm2mObjectInstancesTlv(const std::vector<Lwm2mObjectInstance>& instances);

// The whole EF(LwM2M_Bootstrap) content, or nullopt with `error` set when the file would exceed
// lwm2m::kMaxBootstrapFileSize, or an object's TLV its 16-bit length field.
std::optional<Bytes> Lwm2mBootstrapFile(const Lwm2mBootstrap& bootstrap, std::string& error);

// When resource `resource` of object `object` holds key material that must never leave the card
// (so the profile may not carry it), its name as the object definition gives it; else empty:
//   0/x/5  LwM2M Security "Secret Key" ("MUST NOT be readable by any server", Appendix E.1),
//   0/x/8  LwM2M Security "SMS Binding Secret Key(s)" (likewise),
//   21/x/0 LwM2M OSCORE "OSCORE Master Secret" (OMNA object 21; RFC 8613 §3.1 secret).
std::string Lwm2mSecretResourceName(uint16_t object, uint16_t resource);

}  // namespace dmcard::dm
