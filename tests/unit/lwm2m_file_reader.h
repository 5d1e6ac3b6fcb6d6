// A reader of EF(LwM2M_Bootstrap) for tests, written from OMA LwM2M 1.1 Appendix G.3.3 (the
// file layout) and Core TS §6.4.3 Table 21 (the TLV), apart from the card's encoder
// (applet/dm/lwm2m_bootstrap.cc), and a comparison of a read file with a profile's "lwm2m"
// section taken as JSON: what a handset would get against what the profile's author wrote.
// Used by the unit tests and, through the real PC/SC stack, by tests/pcsc.
#pragma once

#include <bit>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/bytes.h"

namespace dmcard::testing::lwm2m {

// One TLV: `kind` is bits 7-6 of the type byte (0 object instance, 1 resource instance,
// 2 multiple resource, 3 resource with value).
struct Tlv {
  int kind = 0;
  uint16_t id = 0;
  Bytes value;
};

// The TLVs of `data` in order; nullopt when one is cut short.
inline std::optional<std::vector<Tlv>> ReadTlvs(const Bytes& data) {
  std::vector<Tlv> out;
  size_t at = 0;
  while (at < data.size()) {
    const uint8_t type = data[at++];
    Tlv t;
    t.kind = type >> 6;
    const size_t id_bytes = (type & 0x20) ? 2 : 1;
    const size_t length_bytes = (type >> 3) & 0x03;
    if (at + id_bytes + length_bytes > data.size()) return std::nullopt;
    for (size_t i = 0; i < id_bytes; ++i) t.id = static_cast<uint16_t>((t.id << 8) | data[at++]);
    size_t length = type & 0x07;
    if (length_bytes != 0) {
      length = 0;
      for (size_t i = 0; i < length_bytes; ++i) length = (length << 8) | data[at++];
    }
    if (at + length > data.size()) return std::nullopt;
    t.value.assign(data.begin() + static_cast<long>(at),
                   data.begin() + static_cast<long>(at + length));
    at += length;
    out.push_back(std::move(t));
  }
  return out;
}

struct FileObject {
  uint16_t id = 0;
  Bytes version;  // {00} (implicit) or {major, minor}
  Bytes instances_tlv;
};

struct File {
  uint16_t count = 0;  // the header's object count
  uint16_t size = 0;   // the header's size
  std::vector<FileObject> objects;
};

// Appendix G.3.3: <count u16> <size u16> { <id u16> <00 | major minor> <length u16> <TLV> }*.
inline std::optional<File> ReadFile(const Bytes& data, std::string& error) {
  if (data.size() < 4) {
    error = "shorter than its 4-byte header";
    return std::nullopt;
  }
  File f;
  f.count = static_cast<uint16_t>((data[0] << 8) | data[1]);
  f.size = static_cast<uint16_t>((data[2] << 8) | data[3]);
  if (f.size != data.size() - 4) {
    error = "size " + std::to_string(f.size) + " in the header, but " +
            std::to_string(data.size() - 4) + " bytes follow it";
    return std::nullopt;
  }
  size_t at = 4;
  while (at < data.size()) {
    FileObject o;
    if (at + 3 > data.size()) break;
    o.id = static_cast<uint16_t>((data[at] << 8) | data[at + 1]);
    at += 2;
    // IMPLICIT_VERSION is one byte 00; MAJOR_VERSION is 01-FF, followed by MINOR_VERSION.
    o.version.push_back(data[at++]);
    if (o.version[0] != 0x00) {
      if (at >= data.size()) break;
      o.version.push_back(data[at++]);
    }
    if (at + 2 > data.size()) break;
    const size_t length = static_cast<size_t>((data[at] << 8) | data[at + 1]);
    at += 2;
    if (at + length > data.size()) break;
    o.instances_tlv.assign(data.begin() + static_cast<long>(at),
                           data.begin() + static_cast<long>(at + length));
    at += length;
    f.objects.push_back(std::move(o));
  }
  if (at != data.size()) {
    error = "an object is cut short at byte " + std::to_string(at);
    return std::nullopt;
  }
  if (f.count != f.objects.size()) {
    error = "count " + std::to_string(f.count) + " in the header, but " +
            std::to_string(f.objects.size()) + " objects";
    return std::nullopt;
  }
  return f;
}

namespace detail {

inline std::string Hex(const Bytes& b) { return ToHex(b); }

inline bool IsTyped(const nlohmann::json& v) {
  if (!v.is_object() || v.size() != 1) return false;
  const std::string k = v.begin().key();
  return k == "string" || k == "integer" || k == "unsigned" || k == "float" || k == "boolean" ||
         k == "opaque" || k == "objlnk" || k == "time";
}

// A big-endian two's-complement integer of 1, 2, 4 or 8 bytes.
inline std::optional<int64_t> Signed(const Bytes& b) {
  if (b.size() != 1 && b.size() != 2 && b.size() != 4 && b.size() != 8) return std::nullopt;
  uint64_t v = (b[0] & 0x80) ? ~uint64_t{0} : 0;
  for (uint8_t x : b) v = (v << 8) | x;
  return static_cast<int64_t>(v);
}

inline std::optional<uint64_t> Unsigned(const Bytes& b) {
  if (b.size() != 1 && b.size() != 2 && b.size() != 4 && b.size() != 8) return std::nullopt;
  uint64_t v = 0;
  for (uint8_t x : b) v = (v << 8) | x;
  return v;
}

inline std::optional<double> Float(const Bytes& b) {
  if (b.size() == 4) {
    uint32_t v = 0;
    for (uint8_t x : b) v = (v << 8) | x;
    return static_cast<double>(std::bit_cast<float>(v));
  }
  if (b.size() == 8) {
    uint64_t v = 0;
    for (uint8_t x : b) v = (v << 8) | x;
    return std::bit_cast<double>(v);
  }
  return std::nullopt;
}

// "" when `actual` (a TLV's value) is what the profile wrote as `expected`, else why not.
inline std::string CompareValue(const nlohmann::json& expected, const Bytes& actual) {
  const std::string got = " (got " + Hex(actual) + ")";
  if (expected.is_string()) {
    const std::string s = expected.get<std::string>();
    if (s.rfind("hex:", 0) == 0) {
      return FromHex(s.substr(4)) == actual ? "" : "expected opaque " + s.substr(4) + got;
    }
    return Bytes(s.begin(), s.end()) == actual ? "" : "expected string \"" + s + "\"" + got;
  }
  if (expected.is_boolean()) {
    return actual == Bytes{static_cast<uint8_t>(expected.get<bool>() ? 1 : 0)}
               ? ""
               : "expected boolean " + expected.dump() + got;
  }
  if (expected.is_number_integer()) {
    return Signed(actual) == expected.get<int64_t>() ? ""
                                                     : "expected integer " + expected.dump() + got;
  }
  if (expected.is_number_float()) {
    return Float(actual) == expected.get<double>() ? "" : "expected float " + expected.dump() + got;
  }
  if (!IsTyped(expected)) return "cannot read the profile's value " + expected.dump();
  const std::string type = expected.begin().key();
  const nlohmann::json& x = expected.begin().value();
  if (type == "string" || type == "boolean" || type == "float") return CompareValue(x, actual);
  if (type == "integer" || type == "time") {
    return Signed(actual) == x.get<int64_t>() ? "" : "expected " + expected.dump() + got;
  }
  if (type == "unsigned") {
    return Unsigned(actual) == x.get<uint64_t>() ? "" : "expected " + expected.dump() + got;
  }
  if (type == "opaque") {
    return FromHex(x.get<std::string>()) == actual ? "" : "expected " + expected.dump() + got;
  }
  // objlnk "a:b": object ID u16 then instance ID u16 (Core TS Appendix C).
  unsigned object = 0, instance = 0;
  std::sscanf(x.get<std::string>().c_str(), "%u:%u", &object, &instance);
  const Bytes link = {static_cast<uint8_t>(object >> 8), static_cast<uint8_t>(object),
                      static_cast<uint8_t>(instance >> 8), static_cast<uint8_t>(instance)};
  return link == actual ? "" : "expected " + expected.dump() + got;
}

}  // namespace detail

// Every difference between `file` and the profile's "lwm2m" section (empty: none): the objects
// in order with their IDs and versions, each object's instances in order, and in each instance
// exactly the resources the profile lists, with its values.
inline std::vector<std::string> CompareWithProfile(const File& file, const nlohmann::json& lwm2m) {
  std::vector<std::string> diffs;
  const nlohmann::json& objects = lwm2m.at("objects");
  if (file.objects.size() != objects.size()) {
    diffs.push_back(std::to_string(file.objects.size()) + " objects, the profile has " +
                    std::to_string(objects.size()));
    return diffs;
  }
  for (size_t n = 0; n < objects.size(); ++n) {
    const nlohmann::json& o = objects[n];
    const FileObject& fo = file.objects[n];
    const std::string at = "object " + std::to_string(n);
    if (fo.id != o.at("id").get<uint16_t>()) diffs.push_back(at + ": id " + std::to_string(fo.id));
    Bytes version = {0x00};
    if (o.contains("version")) {
      unsigned major = 0, minor = 0;
      std::sscanf(o["version"].get<std::string>().c_str(), "%u.%u", &major, &minor);
      version = {static_cast<uint8_t>(major), static_cast<uint8_t>(minor)};
    }
    if (fo.version != version) diffs.push_back(at + ": version " + detail::Hex(fo.version));
    const std::optional<std::vector<Tlv>> instances = ReadTlvs(fo.instances_tlv);
    const nlohmann::json& pi = o.at("instances");
    if (!instances || instances->size() != pi.size()) {
      diffs.push_back(at + ": instances TLV " + detail::Hex(fo.instances_tlv));
      continue;
    }
    for (size_t i = 0; i < pi.size(); ++i) {
      const Tlv& inst = (*instances)[i];
      const std::string iat = at + " instance " + std::to_string(i);
      const uint16_t id =
          pi[i].contains("id") ? pi[i]["id"].get<uint16_t>() : static_cast<uint16_t>(i);
      if (inst.kind != 0 || inst.id != id) {
        diffs.push_back(iat + ": not Object Instance TLV " + std::to_string(id));
      }
      const std::optional<std::vector<Tlv>> resources = ReadTlvs(inst.value);
      if (!resources) {
        diffs.push_back(iat + ": resources cut short");
        continue;
      }
      std::map<uint16_t, const Tlv*> by_id;
      for (const Tlv& r : *resources) by_id[r.id] = &r;
      const nlohmann::json& pr = pi[i].at("resources");
      if (by_id.size() != resources->size() || by_id.size() != pr.size()) {
        diffs.push_back(iat + ": " + std::to_string(resources->size()) +
                        " resources, the profile has " + std::to_string(pr.size()));
      }
      for (const auto& [key, value] : pr.items()) {
        const std::string rat = iat + " resource " + key;
        const auto found = by_id.find(static_cast<uint16_t>(std::stoul(key)));
        if (found == by_id.end()) {
          diffs.push_back(rat + ": missing");
          continue;
        }
        const Tlv& r = *found->second;
        if (value.is_array() || (value.is_object() && !detail::IsTyped(value))) {
          // Multiple Resource TLV of Resource Instance TLVs.
          std::map<uint16_t, nlohmann::json> want;
          if (value.is_array()) {
            for (size_t k = 0; k < value.size(); ++k) want[static_cast<uint16_t>(k)] = value[k];
          } else {
            for (const auto& [ik, iv] : value.items())
              want[static_cast<uint16_t>(std::stoul(ik))] = iv;
          }
          const std::optional<std::vector<Tlv>> ris = ReadTlvs(r.value);
          if (r.kind != 2 || !ris || ris->size() != want.size()) {
            diffs.push_back(rat + ": not a Multiple Resource TLV of " +
                            std::to_string(want.size()) + " instances: " + detail::Hex(r.value));
            continue;
          }
          for (const Tlv& ri : *ris) {
            const auto w = want.find(ri.id);
            if (ri.kind != 1 || w == want.end()) {
              diffs.push_back(rat + ": unexpected resource instance " + std::to_string(ri.id));
            } else if (std::string why = detail::CompareValue(w->second, ri.value); !why.empty()) {
              diffs.push_back(rat + "/" + std::to_string(ri.id) + ": " + why);
            }
          }
          continue;
        }
        if (r.kind != 3) {
          diffs.push_back(rat + ": not a Resource TLV");
        } else if (std::string why = detail::CompareValue(value, r.value); !why.empty()) {
          diffs.push_back(rat + ": " + why);
        }
      }
    }
  }
  return diffs;
}

}  // namespace dmcard::testing::lwm2m
