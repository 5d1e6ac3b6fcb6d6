// Profile files; see profile_file.h and profiles/README.md for the format.
#include "host/profile_file.h"

#include "host/files.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "dm/acl.h"
#include "dm/imsi.h"
#include "dm/lwm2m_bootstrap.h"
#include "dm/pin_policy.h"
#include "dm/provsc.h"
#include "dm/tnds.h"
#include "dm/uicc_view.h"
#include "runtime/atr.h"
#include "runtime/key_store.h"

// Generated at build time from profiles/demo/ (profiles/embed.cmake).
namespace dmcard::embedded {
extern const char kDemoProfileJson[];
extern const size_t kDemoProfileJsonSize;
extern const char kDemoTreeXml[];
extern const size_t kDemoTreeXmlSize;
}  // namespace dmcard::embedded

namespace dmcard {

namespace {

constexpr uint32_t kMinCapacity = 4 * 1024;
constexpr uint32_t kMaxCapacity = 16 * 1024 * 1024;

// Reads the tree file a profile names; nullopt with `error` set when it cannot.
using TreeReader = std::function<std::optional<std::string>(const std::string&, std::string&)>;

class ProfileParser {
 public:
  ProfileParser(std::string label, TreeReader read_tree)
      : label_(std::move(label)), read_tree_(std::move(read_tree)) {}

  // Never throws: whatever goes wrong (bad JSON, numbers out of range, even memory) becomes
  // the error message, so that `dmcard` and `dmcard-vicc` can print it (issue 7 item 6b).
  std::optional<Profile> Parse(std::string_view text, std::string& error) {
    Profile p;
    bool ok = false;
    try {
      ok = Run(text, p);
    } catch (const std::exception& e) {
      ok = Fail({}, std::string("cannot be read: ") + e.what());
    }
    if (!ok) {
      error = std::move(error_);
      return std::nullopt;
    }
    return p;
  }

 private:
  bool Run(std::string_view text, Profile& p) {
    // The field being read, for errors the JSON parser raises before it returns any value
    // (e.g. "capacity": 1e400): the keys from the top object down to the current one.
    std::vector<std::string> path;
    const nlohmann::json::parser_callback_t track =
        [&path](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
          if (event == nlohmann::json::parse_event_t::key && depth >= 1) {
            path.resize(static_cast<size_t>(depth));
            path.back() = parsed.is_string() ? parsed.get<std::string>() : parsed.dump();
          } else if (event == nlohmann::json::parse_event_t::object_end &&
                     path.size() > static_cast<size_t>(depth)) {
            path.resize(static_cast<size_t>(depth));
          }
          return true;
        };
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text, track, /*allow_exceptions=*/true,
                                /*ignore_comments=*/true);
    } catch (const nlohmann::json::out_of_range& e) {
      // RFC 8259 §6 lets parsers limit the range of numbers; nlohmann's is that of double.
      return Fail(JoinPath(path), "is a number out of any range this profile accepts (" +
                                      std::string(e.what()) + ")");
    } catch (const nlohmann::json::exception& e) {
      const std::string near = JoinPath(path);
      return Fail({}, "not valid JSON" +
                          (near.empty() ? "" : " (in or after field '" + near + "')") + ": " +
                          e.what());
    }
    if (!j.is_object()) return Fail({}, "the profile must be a JSON object");

    static const std::set<std::string, std::less<>> kFields = {
        "profile",  "description",    "capacity", "protocol", "atr",      "bootstrap",
        "user_pin", "user_puk",       "tree",     "imsi",     "root_acl", "reserve",
        "key_sets", "bootstrap_keys", "quirks",   "lwm2m",    "provsc",   "uicc"};
    for (const auto& [key, value] : j.items()) {
      if (key == "dev_issuer_pin") {
        return Fail(key,
                    "is no longer supported: the issuer personalizes the card over SCP03 with "
                    "the issuer key set of \"key_sets\" (STORE DATA); remove the field");
      }
      if (!kFields.contains(key)) return Fail(key, "unknown field");
    }

    if (!String(j, "profile", /*required=*/true, p.name)) return false;
    if (p.name.empty()) return Fail("profile", "the profile name is empty");
    if (!String(j, "description", false, p.description)) return false;

    if (auto it = j.find("capacity"); it != j.end()) {
      if (!it->is_number_unsigned() || it->get<uint64_t>() < kMinCapacity ||
          it->get<uint64_t>() > kMaxCapacity) {
        return Fail("capacity", "must be a whole number of bytes from " +
                                    std::to_string(kMinCapacity) + " to " +
                                    std::to_string(kMaxCapacity) + ", got " + it->dump());
      }
      p.capacity = static_cast<uint32_t>(it->get<uint64_t>());
    }

    std::string protocol;
    if (!String(j, "protocol", false, protocol)) return false;
    if (j.contains("protocol")) {
      if (protocol == "T=0") {
        p.protocol = Protocol::kT0;
      } else if (protocol == "T=1") {
        p.protocol = Protocol::kT1;
      } else {
        return Fail("protocol",
                    "unknown protocol \"" + protocol + "\" (expected \"T=0\" or \"T=1\")");
      }
    }

    std::string atr_hex;
    if (!String(j, "atr", false, atr_hex)) return false;
    if (j.contains("atr")) {
      std::optional<Bytes> atr = FromHex(atr_hex);
      if (!atr || atr->empty()) return Fail("atr", "is not hex bytes: \"" + atr_hex + "\"");
      std::optional<AtrInfo> info = ParseAtr(*atr);
      if (!info) return Fail("atr", "is not a well-formed ATR (ISO/IEC 7816-3 §8)");
      if (!info->tck_ok) return Fail("atr", "has a wrong or missing check byte TCK");
      const Protocol effective = p.protocol.value_or(CardConfig{}.protocol);
      if ((effective == Protocol::kT0 && !info->t0) || (effective == Protocol::kT1 && !info->t1)) {
        return Fail("atr", std::string("does not offer the card's protocol ") +
                               (effective == Protocol::kT0 ? "T=0" : "T=1"));
      }
      p.atr = std::move(*atr);
    }

    if (auto it = j.find("bootstrap"); it != j.end()) {
      if (!it->is_object()) return Fail("bootstrap", "must be an object");
      for (const auto& [key, value] : it->items()) {
        if (key == "failure_limit") {
          if (!value.is_number_unsigned() || value.get<uint64_t>() < 1 ||
              value.get<uint64_t>() > 255) {
            return Fail("bootstrap.failure_limit",
                        "must be a whole number from 1 to 255, got " + value.dump());
          }
          p.bootstrap_failure_limit = static_cast<uint8_t>(value.get<uint64_t>());
          continue;
        }
        if (key == "ef_format") {
          const std::string name = value.is_string() ? value.get<std::string>() : "";
          if (name != "wbxml" && name != "tnds-xml") {
            return Fail("bootstrap.ef_format",
                        "must be \"wbxml\" or \"tnds-xml\", got " + value.dump());
          }
          p.bootstrap_ef_format =
              name == "wbxml" ? dm::BootstrapEfFormat::kWbxml : dm::BootstrapEfFormat::kTndsXml;
          continue;
        }
        bool* flag = key == "user_confirmation" ? &p.user_confirmation
                     : key == "autoconnect"     ? &p.autoconnect
                                                : nullptr;
        if (!flag) return Fail("bootstrap." + key, "unknown field");
        if (!value.is_boolean()) return Fail("bootstrap." + key, "must be true or false");
        *flag = value.get<bool>();
      }
    }

    if (!String(j, "user_pin", false, p.user_pin)) return false;
    if (!String(j, "user_puk", false, p.user_puk)) return false;
    // The applet's own PIN policies (dm/pin_policy.h): what passes here installs.
    if (j.contains("user_pin")) {
      if (std::string why = dm::CheckPinValue(dm::kUserPinPolicy, p.user_pin); !why.empty()) {
        return Fail("user_pin", why);
      }
    }
    if (j.contains("user_puk")) {
      if (std::string why = dm::CheckPinValue(dm::kUserPukPolicy, p.user_puk); !why.empty()) {
        return Fail("user_puk", why);
      }
    }
    if (!p.user_puk.empty() && p.user_pin.empty()) {
      return Fail("user_puk", "a PUK needs a user_pin to unblock");
    }
    if (!String(j, "imsi", false, p.imsi)) return false;
    if (j.contains("imsi") && !dm::EfImsiFromDigits(p.imsi)) {
      return Fail("imsi",
                  "must be 6 to 15 decimal digits (MCC, MNC, MSIN), got \"" + p.imsi + "\"");
    }

    if (!String(j, "root_acl", false, p.root_acl)) return false;
    if (j.contains("root_acl") && (p.root_acl.empty() || !dm::Acl::Parse(p.root_acl))) {
      return Fail("root_acl", "is not an OMA DM ACL such as \"Add=server-id&Get=*\" (commands " +
                                  std::string("Add, Delete, Exec, Get, Replace; server IDs "
                                              "joined by '+'; entries by '&')"));
    }
    if (auto it = j.find("reserve"); it != j.end()) {
      const uint64_t capacity = p.capacity.value_or(CardConfig{}.capacity);
      if (!it->is_number_unsigned() || it->get<uint64_t>() >= capacity / 2) {
        return Fail("reserve", "must be a whole number of bytes below half the capacity (" +
                                   std::to_string(capacity / 2) + "), got " + it->dump());
      }
      p.reserve = static_cast<uint32_t>(it->get<uint64_t>());
    }

    if (!KeySets(j, p.key_sets)) return false;
    if (!BootstrapKeys(j, p.bootstrap_keys)) return false;
    if (!Quirks(j, p.quirks)) return false;
    if (!Lwm2m(j, p.lwm2m)) return false;
    if (!Uicc(j, p)) return false;

    std::string tree_name;
    if (!String(j, "tree", /*required=*/true, tree_name)) return false;
    if (tree_name.empty()) return Fail("tree", "names no file");
    std::string read_error;
    std::optional<std::string> tree = read_tree_(tree_name, read_error);
    if (!tree) return Fail("tree", read_error);
    const dm::TndsDocument doc = dm::ParseTndsXml(*tree);
    if (!doc.error.empty()) return Fail("tree", "'" + tree_name + "': " + doc.error);
    p.tree_xml = std::move(*tree);
    return ProvSc(j, p.provsc);
  }

  // "provsc": {"bootstrap": file, "config1": file, "config2": file}, each optional: OMA Client
  // Provisioning XML files next to the profile (as "tree"), checked and encoded as the card
  // will serve them (dm/provsc.h).
  bool ProvSc(const nlohmann::json& j, std::vector<Profile::ProvScDocument>& out) {
    auto it = j.find("provsc");
    if (it == j.end()) return true;
    if (!it->is_object() || it->empty()) {
      return Fail("provsc",
                  "must be an object naming \"bootstrap\", \"config1\" and/or "
                  "\"config2\" files");
    }
    for (const auto& [key, value] : it->items()) {
      if (key != "bootstrap" && key != "config1" && key != "config2") {
        return Fail("provsc." + key, "unknown field (expected bootstrap, config1, config2)");
      }
    }
    for (auto [key, file] : {std::pair{"bootstrap", dm::ProvScFile::kBootstrap},
                             {"config1", dm::ProvScFile::kConfig1},
                             {"config2", dm::ProvScFile::kConfig2}}) {
      std::string name;
      if (!String(*it, key, false, name, "provsc")) return false;
      if (!it->contains(key)) continue;
      const std::string at = std::string("provsc.") + key;
      if (name.empty()) return Fail(at, "names no file");
      std::string read_error;
      std::optional<std::string> xml = read_tree_(name, read_error);
      if (!xml) return Fail(at, read_error);
      std::string error;
      if (!dm::ProvScWbxml(*xml, error)) return Fail(at, "'" + name + "': " + error);
      out.push_back({file, std::move(*xml)});
    }
    return true;
  }

  // "key_sets": [{"name", "kvn", "owner", "enc", "mac", "dek"}, ...] with the key store's rules
  // (runtime/key_store.h), so a profile that loads installs.
  bool KeySets(const nlohmann::json& j, std::vector<ProfileKeySet>& out) {
    auto it = j.find("key_sets");
    if (it == j.end()) return true;
    if (!it->is_array()) return Fail("key_sets", "must be an array of key sets");
    static const std::set<std::string, std::less<>> kSetFields = {"name", "kvn", "owner",
                                                                  "enc",  "mac", "dek"};
    for (size_t n = 0; n < it->size(); ++n) {
      const nlohmann::json& e = (*it)[n];
      const std::string at = "key_sets[" + std::to_string(n) + "]";
      if (!e.is_object()) return Fail(at, "must be an object");
      for (const auto& [key, value] : e.items()) {
        if (!kSetFields.contains(key)) return Fail(at + "." + key, "unknown field");
      }
      ProfileKeySet set;
      std::string kvn;
      if (!String(e, "name", true, set.name, at) || !String(e, "kvn", true, kvn, at) ||
          !String(e, "owner", true, set.owner, at)) {
        return false;
      }
      if (set.name.empty()) return Fail(at + ".name", "is empty");
      const std::optional<Bytes> kvn_byte = FromHex(kvn);
      if (!kvn_byte || kvn_byte->size() != 1 || (*kvn_byte)[0] < KeyLoader::kScp03KvnFirst ||
          (*kvn_byte)[0] > KeyLoader::kScp03KvnLast) {
        return Fail(at + ".kvn",
                    "must be a key version number \"30\" to \"3F\", got \"" + kvn + "\"");
      }
      set.kvn = (*kvn_byte)[0];
      if (!KeyOwnerAcceptable(set.owner)) {
        return Fail(at + ".owner",
                    "must be \"@issuer\" or a DM ServerID (1 to 128 printable characters, no "
                    "spaces, not beginning with '@'), got \"" +
                        set.owner + "\"");
      }
      for (auto [field, key] : {std::pair{"enc", &set.enc}, {"mac", &set.mac}, {"dek", &set.dek}}) {
        std::string hex;
        if (!String(e, field, true, hex, at)) return false;
        std::optional<Bytes> bytes = FromHex(hex);
        if (!bytes || (bytes->size() != 16 && bytes->size() != 24 && bytes->size() != 32)) {
          return Fail(at + "." + field, "must be an AES key of 16, 24 or 32 bytes in hex");
        }
        *key = std::move(*bytes);
      }
      if (set.mac.size() != set.enc.size() || set.dek.size() != set.enc.size()) {
        return Fail(at, "enc, mac and dek must be keys of one length");
      }
      for (const ProfileKeySet& other : out) {
        if (other.kvn == set.kvn) return Fail(at + ".kvn", "is used twice (" + kvn + ")");
        if (other.name == set.name) return Fail(at + ".name", "is used twice");
      }
      out.push_back(std::move(set));
    }
    return true;
  }

  // "quirks": {"dodf_path_without_length": bool, "dodf_padded_with_ff": bool}, each false when
  // absent (cards/card_profile.h ProfileQuirks).
  bool Quirks(const nlohmann::json& j, ProfileQuirks& quirks) {
    auto it = j.find("quirks");
    if (it == j.end()) return true;
    if (!it->is_object()) return Fail("quirks", "must be an object of switches");
    for (const auto& [key, value] : it->items()) {
      bool* flag = key == "dodf_path_without_length"       ? &quirks.dodf_path_without_length
                   : key == "dodf_padded_with_ff"          ? &quirks.dodf_padded_with_ff
                   : key == "lwm2m_oid_double_encoded"     ? &quirks.lwm2m_oid_double_encoded
                   : key == "imsi_even_length_left_padded" ? &quirks.imsi_even_length_left_padded
                                                           : nullptr;
      if (!flag) return Fail("quirks." + key, "unknown quirk");
      if (!value.is_boolean()) return Fail("quirks." + key, "must be true or false");
      *flag = value.get<bool>();
    }
    return true;
  }

  // "lwm2m": {"objects": [{"id", "version", "instances": [{"id", "resources": {...}}]}]}: the
  // objects of EF(LwM2M_Bootstrap) (dm/lwm2m_bootstrap.h; profiles/README.md, "lwm2m"). Checked
  // here to the byte: a profile that loads makes a card whose file fits 32 KB.
  bool Lwm2m(const nlohmann::json& j, std::optional<dm::Lwm2mBootstrap>& out) {
    auto it = j.find("lwm2m");
    if (it == j.end()) return true;
    if (!it->is_object()) return Fail("lwm2m", "must be an object with \"objects\"");
    for (const auto& [key, value] : it->items()) {
      if (key != "objects") return Fail("lwm2m." + key, "unknown field");
    }
    auto objects = it->find("objects");
    if (objects == it->end()) return Fail("lwm2m.objects", "is missing");
    if (!objects->is_array() || objects->empty()) {
      return Fail("lwm2m.objects", "must be a non-empty array of LwM2M objects");
    }
    dm::Lwm2mBootstrap bootstrap;
    for (size_t n = 0; n < objects->size(); ++n) {
      const nlohmann::json& o = (*objects)[n];
      const std::string at = "lwm2m.objects[" + std::to_string(n) + "]";
      if (!o.is_object()) return Fail(at, "must be an object");
      for (const auto& [key, value] : o.items()) {
        if (key != "id" && key != "version" && key != "instances") {
          return Fail(at + "." + key, "unknown field");
        }
      }
      dm::Lwm2mObject object;
      if (!o.contains("id")) return Fail(at + ".id", "is missing");
      if (!Id16(o["id"], at + ".id", 0xFFFF, object.id)) return false;
      for (const dm::Lwm2mObject& other : bootstrap.objects) {
        if (other.id == object.id) {
          return Fail(at + ".id", "object " + std::to_string(object.id) + " is listed twice");
        }
      }
      if (auto v = o.find("version"); v != o.end()) {
        // Appendix G.3.3: MAJOR_VERSION 01-FF, MINOR_VERSION 00-FF ("2.5" is 02 05).
        const std::string text = v->is_string() ? v->get<std::string>() : "";
        unsigned major = 256, minor = 256;
        char end = 0;
        if (std::sscanf(text.c_str(), "%3u.%3u%c", &major, &minor, &end) != 2 || major < 1 ||
            major > 255 || minor > 255 || text.find_first_not_of("0123456789.") != text.npos) {
          return Fail(at + ".version",
                      "must be \"major.minor\" with major 1 to 255 and minor 0 to 255 (e.g. "
                      "\"1.1\"), got " +
                          v->dump());
        }
        object.version = std::pair{static_cast<uint8_t>(major), static_cast<uint8_t>(minor)};
      }
      auto instances = o.find("instances");
      if (instances == o.end()) return Fail(at + ".instances", "is missing");
      if (!instances->is_array() || instances->empty()) {
        return Fail(at + ".instances", "must be a non-empty array of object instances");
      }
      for (size_t i = 0; i < instances->size(); ++i) {
        const std::string iat = at + ".instances[" + std::to_string(i) + "]";
        dm::Lwm2mObjectInstance instance;
        if (!Lwm2mInstance((*instances)[i], iat, object.id, i, instance)) return false;
        for (const dm::Lwm2mObjectInstance& other : object.instances) {
          if (other.id == instance.id) {
            return Fail(iat + ".id",
                        "instance " + std::to_string(instance.id) + " is listed twice");
          }
        }
        object.instances.push_back(std::move(instance));
      }
      bootstrap.objects.push_back(std::move(object));
    }
    std::string error;
    if (!dm::Lwm2mBootstrapFile(bootstrap, error)) return Fail("lwm2m", error);
    out = std::move(bootstrap);
    return true;
  }

  // An object instance {"id": n (default: its index), "resources": {"<resource id>": value}}.
  bool Lwm2mInstance(const nlohmann::json& e, const std::string& at, uint16_t object_id,
                     size_t index, dm::Lwm2mObjectInstance& out) {
    if (!e.is_object()) return Fail(at, "must be an object with \"resources\"");
    for (const auto& [key, value] : e.items()) {
      if (key != "id" && key != "resources") return Fail(at + "." + key, "unknown field");
    }
    // Core TS §6.3 Table 20: MAX_ID 65535 is reserved, not an Object Instance ID.
    if (e.contains("id")) {
      if (!Id16(e["id"], at + ".id", 0xFFFE, out.id)) return false;
    } else if (index > 0xFFFE) {
      return Fail(at, "needs an \"id\"");
    } else {
      out.id = static_cast<uint16_t>(index);
    }
    auto resources = e.find("resources");
    if (resources == e.end()) return Fail(at + ".resources", "is missing");
    if (!resources->is_object()) {
      return Fail(at + ".resources", "must be an object of \"<resource id>\": value");
    }
    for (const auto& [key, value] : resources->items()) {
      const std::string rat = at + ".resources." + key;
      dm::Lwm2mResource resource;
      if (!DecimalId(key, 0xFFFF, resource.id)) {
        return Fail(rat, "is not a resource ID (a decimal number from 0 to 65535)");
      }
      // A secret resource may stay only as an empty Opaque (a NoSec instance's Mandatory
      // Secret Key, Appendix E.1): there is no value to leak. Checked before the value is read,
      // so that no error message ever quotes a secret.
      if (std::string secret = dm::Lwm2mSecretResourceName(object_id, resource.id);
          !secret.empty() && value != nlohmann::json("hex:") &&
          value != nlohmann::json{{"opaque", ""}}) {
        return Fail(rat, "is " + secret + " (" + std::to_string(object_id) + "/x/" + key +
                             "): the card never serves secret values, so a profile cannot hold "
                             "them (LwM2M 1.1 Appendix H's SCP03-protected reading is not "
                             "implemented); leave it out, or empty (\"hex:\") for a NoSec "
                             "instance, and give the key to the device another way");
      }
      if (value.is_array() || (value.is_object() && !IsTypedValue(value))) {
        // A multiple-instance resource: [v0, v1, ...] (instance IDs 0, 1, ...) or
        // {"<resource instance id>": value, ...}.
        resource.multiple = true;
        if (value.is_array() && value.size() > 0x10000) {
          return Fail(rat, "has more than 65536 instances");
        }
        if (value.is_array()) {
          for (size_t k = 0; k < value.size(); ++k) {
            dm::Lwm2mValue v;
            if (!Lwm2mScalar(value[k], rat + "[" + std::to_string(k) + "]", v)) return false;
            resource.instances.emplace_back(static_cast<uint16_t>(k), std::move(v));
          }
        } else {
          for (const auto& [ikey, ivalue] : value.items()) {
            uint16_t iid = 0;
            if (!DecimalId(ikey, 0xFFFF, iid)) {
              return Fail(rat + "." + ikey,
                          "is not a resource instance ID (a decimal number from 0 to 65535), "
                          "nor is the object one typed value such as {\"opaque\": \"0102\"}");
            }
            dm::Lwm2mValue v;
            if (!Lwm2mScalar(ivalue, rat + "." + ikey, v)) return false;
            resource.instances.emplace_back(iid, std::move(v));
          }
        }
      } else if (!Lwm2mScalar(value, rat, resource.value)) {
        return false;
      }
      // Resource and resource instance IDs in numeric order (JSON objects have no order).
      std::sort(resource.instances.begin(), resource.instances.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      out.resources.push_back(std::move(resource));
    }
    std::sort(out.resources.begin(), out.resources.end(),
              [](const dm::Lwm2mResource& a, const dm::Lwm2mResource& b) { return a.id < b.id; });
    return true;
  }

  // The typed-value form: an object with exactly one of these keys.
  static bool IsTypedValue(const nlohmann::json& v) {
    static const std::set<std::string, std::less<>> kTypes = {
        "string", "integer", "unsigned", "float", "boolean", "opaque", "objlnk", "time"};
    return v.is_object() && v.size() == 1 && kTypes.contains(v.begin().key());
  }

  // One value: a JSON string (UTF-8 String, or Opaque when it starts with "hex:"), whole number
  // (Integer), other number (Float), true/false (Boolean), or a typed value {"<type>": ...}.
  bool Lwm2mScalar(const nlohmann::json& v, const std::string& at, dm::Lwm2mValue& out) {
    using Type = dm::Lwm2mValue::Type;
    auto integer = [&](const nlohmann::json& n, const std::string& where, int64_t& value) {
      if (n.is_number_integer() &&
          (!n.is_number_unsigned() || n.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX))) {
        value = n.get<int64_t>();
        return true;
      }
      return Fail(where,
                  "must be a whole number from -2^63 to 2^63-1 (a 64-bit LwM2M Integer), "
                  "got " +
                      n.dump());
    };
    auto opaque = [&](const std::string& hex, const std::string& where) {
      std::optional<Bytes> bytes = FromHex(hex);
      if (!bytes) return Fail(where, "is not hex bytes: \"" + hex + "\"");
      out.type = Type::kOpaque;
      out.opaque = std::move(*bytes);
      return true;
    };
    if (v.is_string()) {
      const std::string text = v.get<std::string>();
      if (text.rfind("hex:", 0) == 0) return opaque(text.substr(4), at);
      out.type = Type::kString;
      out.text = text;
      return true;
    }
    if (v.is_boolean()) {
      out.type = Type::kBoolean;
      out.integer = v.get<bool>() ? 1 : 0;
      return true;
    }
    if (v.is_number_float()) {
      out.type = Type::kFloat;
      out.real = v.get<double>();
      return true;
    }
    if (v.is_number()) {
      out.type = Type::kInteger;
      return integer(v, at, out.integer);
    }
    if (!IsTypedValue(v)) {
      return Fail(at, std::string(v.is_array() || v.is_object()
                                      ? "a resource instance must be one value, not "
                                      : "must be a string, number, true/false or a typed "
                                        "value such as {\"opaque\": \"0102\"}, not ") +
                          v.dump());
    }
    const std::string type = v.begin().key();
    const nlohmann::json& x = v.begin().value();
    const std::string tat = at + "." + type;
    if (type == "string") {
      if (!x.is_string()) return Fail(tat, "must be a string");
      out.type = Type::kString;
      out.text = x.get<std::string>();
    } else if (type == "integer" || type == "time") {
      out.type = type == "time" ? Type::kTime : Type::kInteger;
      return integer(x, tat, out.integer);
    } else if (type == "unsigned") {
      if (!x.is_number_unsigned()) {
        return Fail(tat, "must be a whole number from 0 to 2^64-1, got " + x.dump());
      }
      out.type = Type::kUnsigned;
      out.unsigned_ = x.get<uint64_t>();
    } else if (type == "float") {
      if (!x.is_number()) return Fail(tat, "must be a number, got " + x.dump());
      out.type = Type::kFloat;
      out.real = x.get<double>();
    } else if (type == "boolean") {
      if (!x.is_boolean()) return Fail(tat, "must be true or false, got " + x.dump());
      out.type = Type::kBoolean;
      out.integer = x.get<bool>() ? 1 : 0;
    } else if (type == "opaque") {
      if (!x.is_string()) return Fail(tat, "must be hex bytes in a string");
      return opaque(x.get<std::string>(), tat);
    } else {  // objlnk "object:instance"
      const std::string text = x.is_string() ? x.get<std::string>() : "";
      const size_t colon = text.find(':');
      uint16_t object = 0, instance = 0;
      if (colon == text.npos || !DecimalId(text.substr(0, colon), 0xFFFF, object) ||
          !DecimalId(text.substr(colon + 1), 0xFFFF, instance)) {
        return Fail(tat,
                    "must be \"<object id>:<instance id>\" (each 0 to 65535; "
                    "\"65535:65535\" links nothing), got " +
                        x.dump());
      }
      out.type = Type::kObjlnk;
      out.link_object = object;
      out.link_instance = instance;
    }
    return true;
  }

  // A JSON whole number from 0 to `max`.
  bool Id16(const nlohmann::json& v, const std::string& at, uint32_t max, uint16_t& out) {
    if (!v.is_number_unsigned() || v.get<uint64_t>() > max) {
      return Fail(at,
                  "must be a whole number from 0 to " + std::to_string(max) + ", got " + v.dump());
    }
    out = static_cast<uint16_t>(v.get<uint64_t>());
    return true;
  }

  // Decimal digits only, no sign or leading zeros (so "05" and "5" cannot name one ID twice).
  static bool DecimalId(const std::string& text, uint32_t max, uint16_t& out) {
    if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != text.npos ||
        (text.size() > 1 && text[0] == '0')) {
      return false;
    }
    const unsigned long v = std::stoul(text);
    if (v > max) return false;
    out = static_cast<uint16_t>(v);
    return true;
  }

  // "uicc": true | false | {"iccid": "<19 or 20 digits>"} (cards/card_profile.h ProfileUicc).
  // Needs "imsi" read before it (the default ICCID is made from it).
  bool Uicc(const nlohmann::json& j, Profile& p) {
    auto it = j.find("uicc");
    if (it == j.end()) return true;
    if (it->is_boolean()) {
      if (it->get<bool>()) p.uicc = ProfileUicc{dm::DefaultIccid(p.imsi)};
      return true;
    }
    if (!it->is_object()) return Fail("uicc", "must be true, false or an object {\"iccid\": ...}");
    for (const auto& [key, value] : it->items()) {
      if (key != "iccid") return Fail("uicc." + key, "unknown field");
    }
    ProfileUicc uicc;
    if (!String(*it, "iccid", false, uicc.iccid, "uicc")) return false;
    if (it->contains("iccid")) {
      if (std::string why = dm::CheckIccid(uicc.iccid); !why.empty()) {
        return Fail("uicc.iccid", why + ", got \"" + uicc.iccid + "\"");
      }
    } else {
      uicc.iccid = dm::DefaultIccid(p.imsi);
    }
    p.uicc = std::move(uicc);
    return true;
  }

  // "bootstrap_keys": [{"name", "kvn", "type", "owner", "secret" | "public"}, ...]: the operator's
  // keys for VERIFY BOOTSTRAP methods 10 (HMAC-SHA256) and 11 (ECDSA P-256); `dmcard operator
  // keygen` writes these entries.
  bool BootstrapKeys(const nlohmann::json& j, std::vector<ProfileBootstrapKey>& out) {
    auto it = j.find("bootstrap_keys");
    if (it == j.end()) return true;
    if (!it->is_array()) return Fail("bootstrap_keys", "must be an array of keys");
    static const std::set<std::string, std::less<>> kKeyFields = {"name",  "kvn",    "type",
                                                                  "owner", "secret", "public"};
    for (size_t n = 0; n < it->size(); ++n) {
      const nlohmann::json& e = (*it)[n];
      const std::string at = "bootstrap_keys[" + std::to_string(n) + "]";
      if (!e.is_object()) return Fail(at, "must be an object");
      for (const auto& [key, value] : e.items()) {
        if (!kKeyFields.contains(key)) return Fail(at + "." + key, "unknown field");
      }
      ProfileBootstrapKey key;
      std::string kvn, type;
      key.owner = "@issuer";
      if (!String(e, "name", true, key.name, at) || !String(e, "kvn", true, kvn, at) ||
          !String(e, "type", true, type, at) || !String(e, "owner", false, key.owner, at)) {
        return false;
      }
      if (key.name.empty()) return Fail(at + ".name", "is empty");
      const std::optional<Bytes> kvn_byte = FromHex(kvn);
      if (!kvn_byte || kvn_byte->size() != 1 || (*kvn_byte)[0] == 0 || (*kvn_byte)[0] > 0x7F ||
          ((*kvn_byte)[0] >= KeyLoader::kScp03KvnFirst &&
           (*kvn_byte)[0] <= KeyLoader::kScp03KvnLast)) {
        return Fail(at + ".kvn",
                    "must be a key version number \"01\" to \"7F\" outside the "
                    "SCP03 range 30 to 3F, got \"" +
                        kvn + "\"");
      }
      key.kvn = (*kvn_byte)[0];
      if (!KeyOwnerAcceptable(key.owner)) {
        return Fail(at + ".owner",
                    "must be \"@issuer\" or a DM ServerID, got \"" + key.owner + "\"");
      }
      if (type != "hmac-sha256" && type != "ecdsa-p256") {
        return Fail(at + ".type",
                    "must be \"hmac-sha256\" or \"ecdsa-p256\", got \"" + type + "\"");
      }
      key.ec = type == "ecdsa-p256";
      const char* field = key.ec ? "public" : "secret";
      if (e.contains(key.ec ? "secret" : "public")) {
        return Fail(at, std::string("a ") + type + " key takes \"" + field + "\" only");
      }
      std::string hex;
      if (!String(e, field, true, hex, at)) return false;
      std::optional<Bytes> material = FromHex(hex);
      if (key.ec && (!material || material->size() != 65 || (*material)[0] != 0x04)) {
        return Fail(at + ".public",
                    "must be an uncompressed P-256 point in hex (65 bytes, 04 "
                    "|| X || Y)");
      }
      if (!key.ec && (!material || material->size() < 16 || material->size() > 64)) {
        return Fail(at + ".secret", "must be an HMAC secret of 16 to 64 bytes in hex");
      }
      key.material = std::move(*material);
      for (const ProfileBootstrapKey& other : out) {
        if (other.kvn == key.kvn) return Fail(at + ".kvn", "is used twice (" + kvn + ")");
        if (other.name == key.name) return Fail(at + ".name", "is used twice");
      }
      out.push_back(std::move(key));
    }
    return true;
  }

  bool String(const nlohmann::json& j, const char* field, bool required, std::string& out,
              const std::string& parent = {}) {
    const std::string where = parent.empty() ? field : parent + "." + field;
    auto it = j.find(field);
    if (it == j.end()) {
      return required ? Fail(where, "is missing") : true;
    }
    if (!it->is_string()) return Fail(where, "must be a string, got " + it->dump());
    out = it->get<std::string>();
    return true;
  }

  static std::string JoinPath(const std::vector<std::string>& path) {
    std::string out;
    for (const std::string& key : path) out += (out.empty() ? "" : ".") + key;
    return out;
  }

  bool Fail(const std::string& field, const std::string& message) {
    error_ = label_ + ": " + (field.empty() ? "" : "field '" + field + "' ") + message;
    return false;
  }

  std::string label_;
  TreeReader read_tree_;
  std::string error_;
};

}  // namespace

std::optional<Profile> LoadProfile(const std::filesystem::path& file, std::string& error) {
  std::string read_error;
  std::optional<std::string> text = ReadWholeFile(file, read_error);
  if (!text) {
    error = "profile " + read_error;
    return std::nullopt;
  }
  const std::filesystem::path dir = file.parent_path();
  ProfileParser parser(file.string(), [&dir](const std::string& name, std::string& err) {
    return ReadWholeFile(dir / name, err);
  });
  return parser.Parse(*text, error);
}

std::optional<Profile> ParseProfile(std::string_view json, const std::string& label,
                                    const ProfileFileReader& read_file, std::string& error) {
  ProfileParser parser(label, read_file);
  return parser.Parse(json, error);
}

Profile DemoProfile() {
  const std::string_view json(embedded::kDemoProfileJson, embedded::kDemoProfileJsonSize);
  ProfileParser parser("built-in profiles/demo/profile.json",
                       [](const std::string& name, std::string& err) -> std::optional<std::string> {
                         if (name != "tree.xml") {
                           err = "'" + name + "' is not embedded (only tree.xml is)";
                           return std::nullopt;
                         }
                         return std::string(embedded::kDemoTreeXml, embedded::kDemoTreeXmlSize);
                       });
  std::string error;
  std::optional<Profile> p = parser.Parse(json, error);
  if (!p) {
    // A build defect (the unit tests load the same files); nothing sensible to run instead.
    std::fprintf(stderr, "dmcard: the built-in demo profile is broken: %s\n", error.c_str());
    std::abort();
  }
  return std::move(*p);
}

}  // namespace dmcard
