#include "dm/lwm2m_bootstrap.h"

#include <bit>
#include <cstring>

namespace dmcard::dm {

namespace {

// Core TS §6.4.3 Table 21, bits 7-6 of the type byte.
constexpr uint8_t kObjectInstance = 0x00;
constexpr uint8_t kResourceInstance = 0x40;
constexpr uint8_t kMultipleResource = 0x80;
constexpr uint8_t kResourceWithValue = 0xC0;

// `v` big-endian in its `n` low bytes.
Bytes BigEndian(uint64_t v, size_t n) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[n - 1 - i] = static_cast<uint8_t>(v >> (8 * i));
  return out;
}

Bytes SignedInteger(int64_t v) {
  const size_t n = (v >= INT8_MIN && v <= INT8_MAX)     ? 1
                   : (v >= INT16_MIN && v <= INT16_MAX) ? 2
                   : (v >= INT32_MIN && v <= INT32_MAX) ? 4
                                                        : 8;
  return BigEndian(static_cast<uint64_t>(v), n);
}

Bytes UnsignedInteger(uint64_t v) {
  const size_t n = v <= UINT8_MAX ? 1 : v <= UINT16_MAX ? 2 : v <= UINT32_MAX ? 4 : 8;
  return BigEndian(v, n);
}

}  // namespace

Bytes Lwm2mValueBytes(const Lwm2mValue& value) {
  using Type = Lwm2mValue::Type;
  switch (value.type) {
    case Type::kString:
      return Bytes(value.text.begin(), value.text.end());
    case Type::kInteger:
    case Type::kTime:
      return SignedInteger(value.integer);
    case Type::kUnsigned:
      return UnsignedInteger(value.unsigned_);
    case Type::kFloat: {
      // IEEE 754 binary32 when it holds the value exactly, else binary64.
      const float narrow = static_cast<float>(value.real);
      if (static_cast<double>(narrow) == value.real) {
        return BigEndian(std::bit_cast<uint32_t>(narrow), 4);
      }
      return BigEndian(std::bit_cast<uint64_t>(value.real), 8);
    }
    case Type::kBoolean:
      return {static_cast<uint8_t>(value.integer != 0 ? 1 : 0)};
    case Type::kOpaque:
      return value.opaque;
    case Type::kObjlnk: {
      Bytes out;
      AppendU16(out, value.link_object);
      AppendU16(out, value.link_instance);
      return out;
    }
  }
  return {};
}

Bytes Lwm2mTlv(uint8_t kind, uint16_t id, ByteView value) {
  uint8_t type = kind;
  if (id > 0xFF) type |= 0x20;
  const size_t n = value.size();
  size_t length_bytes = 0;
  if (n < 8) {
    type |= static_cast<uint8_t>(n);
  } else if (n <= 0xFF) {
    type |= 0x08;
    length_bytes = 1;
  } else if (n <= 0xFFFF) {
    type |= 0x10;
    length_bytes = 2;
  } else {
    type |= 0x18;
    length_bytes = 3;
  }
  Bytes out{type};
  Append(out, BigEndian(id, id > 0xFF ? 2 : 1));
  Append(out, BigEndian(n, length_bytes));
  Append(out, value);
  return out;
}

Bytes Lwm2mObjectInstancesTlv(const std::vector<Lwm2mObjectInstance>& instances) {
  Bytes out;
  for (const Lwm2mObjectInstance& instance : instances) {
    Bytes resources;
    for (const Lwm2mResource& r : instance.resources) {
      if (!r.multiple) {
        Append(resources, Lwm2mTlv(kResourceWithValue, r.id, Lwm2mValueBytes(r.value)));
        continue;
      }
      Bytes values;
      for (const auto& [id, v] : r.instances) {
        Append(values, Lwm2mTlv(kResourceInstance, id, Lwm2mValueBytes(v)));
      }
      Append(resources, Lwm2mTlv(kMultipleResource, r.id, values));
    }
    Append(out, Lwm2mTlv(kObjectInstance, instance.id, resources));
  }
  return out;
}

std::optional<Bytes> Lwm2mBootstrapFile(const Lwm2mBootstrap& bootstrap, std::string& error) {
  // Appendix G.3.3: <number of objects> <size> <collection_of_lwm2m_objects>, where each object
  // is <lwm2m_object_ID> <object_version> <length_of_object> <lwm2m_object_instances>.
  Bytes collection;
  for (const Lwm2mObject& object : bootstrap.objects) {
    const Bytes tlv = Lwm2mObjectInstancesTlv(object.instances);
    if (tlv.size() > 0xFFFF) {
      error = "object " + std::to_string(object.id) + " takes " + std::to_string(tlv.size()) +
              " bytes of LwM2M TLV, more than its 16-bit length field holds (65535)";
      return std::nullopt;
    }
    AppendU16(collection, object.id);
    if (object.version) {
      collection.push_back(object.version->first);
      collection.push_back(object.version->second);
    } else {
      collection.push_back(0x00);  // IMPLICIT_VERSION
    }
    AppendU16(collection, static_cast<uint16_t>(tlv.size()));
    Append(collection, tlv);
  }
  const size_t total = collection.size() + 4;
  if (total > lwm2m::kMaxBootstrapFileSize || bootstrap.objects.size() > 0xFFFF) {
    error = "EF(LwM2M_Bootstrap) would be " + std::to_string(total) + " bytes, more than the " +
            std::to_string(lwm2m::kMaxBootstrapFileSize) +
            " bytes (32 KB) OMA LwM2M 1.1 Appendix G.3.3 allows";
    return std::nullopt;
  }
  Bytes file;
  AppendU16(file, static_cast<uint16_t>(bootstrap.objects.size()));
  AppendU16(file, static_cast<uint16_t>(collection.size()));
  Append(file, collection);
  return file;
}

std::string Lwm2mSecretResourceName(uint16_t object, uint16_t resource) {
  if (object == 0 && resource == 5) return "the LwM2M Security object's Secret Key";
  if (object == 0 && resource == 8) return "the LwM2M Security object's SMS Binding Secret Key(s)";
  if (object == 21 && resource == 0) return "the LwM2M OSCORE object's OSCORE Master Secret";
  return {};
}

}  // namespace dmcard::dm
