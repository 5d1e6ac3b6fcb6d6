// Personalization over STORE DATA, the issuer's side (host/personalization.h).
#include "host/personalization.h"

#include "host/files.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "host/scp03_host.h"

namespace dmcard {

namespace {

// Hex digits to bytes (the profile's keys and KVN); nullopt when not an even count of hex digits.
std::optional<Bytes> Hex(const std::string& text) {
  if (text.size() % 2 != 0 || text.find_first_not_of("0123456789abcdefABCDEF") != text.npos) {
    return std::nullopt;
  }
  return FromHex(text);
}

Bytes TextBytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

bool IsAesKeyLength(size_t n) { return n == 16 || n == 24 || n == 32; }

// The profile's fields; nlohmann's type errors are caught by the caller.
bool ParseProfile(const nlohmann::json& j, HostProfile& p, std::string& tree_file,
                  std::string& error) {
  if (!j.is_object()) {
    error = "not a JSON object";
    return false;
  }
  if (j.contains("bootstrap")) {
    p.user_confirmation = j["bootstrap"].value("user_confirmation", false);
    p.autoconnect = j["bootstrap"].value("autoconnect", false);
  }
  p.user_pin = j.value("user_pin", "");
  p.user_puk = j.value("user_puk", "");
  p.imsi = j.value("imsi", "");
  p.root_acl = j.value("root_acl", "");
  if (!j.contains("tree") || !j["tree"].is_string()) {
    error = "\"tree\" (the tree file) is missing";
    return false;
  }
  tree_file = j["tree"].get<std::string>();
  const nlohmann::json sets = j.value("key_sets", nlohmann::json::array());
  for (size_t i = 0; i < sets.size(); ++i) {
    const nlohmann::json& e = sets[i];
    const std::string where = "key_sets[" + std::to_string(i) + "]";
    HostProfile::KeySet set;
    const std::optional<Bytes> kvn = Hex(e.at("kvn").get<std::string>());
    if (!kvn || kvn->size() != 1) {
      error = where + ".kvn: not one byte in hex";
      return false;
    }
    set.kvn = kvn->at(0);
    set.owner = e.at("owner").get<std::string>();
    for (auto [name, key] : {std::pair{"enc", &set.enc}, {"mac", &set.mac}, {"dek", &set.dek}}) {
      std::optional<Bytes> value = Hex(e.at(name).get<std::string>());
      if (!value || !IsAesKeyLength(value->size())) {
        error = where + "." + name + ": not an AES key in hex";
        return false;
      }
      *key = std::move(*value);
    }
    p.key_sets.push_back(std::move(set));
  }
  const nlohmann::json keys = j.value("bootstrap_keys", nlohmann::json::array());
  for (size_t i = 0; i < keys.size(); ++i) {
    const nlohmann::json& e = keys[i];
    const std::string where = "bootstrap_keys[" + std::to_string(i) + "]";
    HostProfile::BootstrapKey key;
    const std::optional<Bytes> kvn = Hex(e.at("kvn").get<std::string>());
    if (!kvn || kvn->size() != 1) {
      error = where + ".kvn: not one byte in hex";
      return false;
    }
    key.kvn = kvn->at(0);
    key.ec = e.at("type").get<std::string>() == "ecdsa-p256";
    key.owner = e.value("owner", "@issuer");
    std::optional<Bytes> material = Hex(e.at(key.ec ? "public" : "secret").get<std::string>());
    if (!material) {
      error = where + ": the key is not hex";
      return false;
    }
    key.material = std::move(*material);
    p.bootstrap_keys.push_back(std::move(key));
  }
  return true;
}

}  // namespace

std::optional<HostProfile> ReadHostProfile(const std::filesystem::path& profile_json,
                                           std::string& error) {
  std::string text;
  if (auto t = ReadWholeFile(profile_json, error)) {
    text = std::move(*t);
  } else {
    return std::nullopt;
  }
  HostProfile p;
  std::string tree_file;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false,
                                                 /*ignore_comments=*/true);
  if (j.is_discarded()) {
    error = profile_json.string() + ": not JSON";
    return std::nullopt;
  }
  try {
    if (!ParseProfile(j, p, tree_file, error)) {
      error = profile_json.string() + ": " + error;
      return std::nullopt;
    }
  } catch (const nlohmann::json::exception& e) {
    error = profile_json.string() + ": " + e.what();
    return std::nullopt;
  }
  if (auto t = ReadWholeFile(profile_json.parent_path() / tree_file, error)) {
    p.tree_xml = std::move(*t);
  } else {
    return std::nullopt;
  }
  return p;
}

Bytes HostEfImsi(const std::string& digits) {
  if (digits.empty() || digits.size() > 15 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return {};
  }
  // Semi-octets, low nibble first: the parity nibble (odd 9, even 1), the digits, an F filler.
  std::string nibbles = (digits.size() % 2 == 1 ? "9" : "1") + digits;
  if (nibbles.size() % 2 == 1) nibbles += "F";
  std::string swapped;
  for (size_t i = 0; i < nibbles.size(); i += 2) {
    swapped += nibbles[i + 1];
    swapped += nibbles[i];
  }
  Bytes ef = {static_cast<uint8_t>(nibbles.size() / 2)};
  Append(ef, Hex(swapped).value_or(Bytes{}));
  ef.resize(9, 0xFF);  // the file is 9 bytes; unused ones FF
  return ef;
}

std::optional<std::vector<HostDgi>> PersonalizationDgis(const HostProfile& p, ByteView dek,
                                                        std::string& error) {
  if (!IsAesKeyLength(dek.size())) {
    error = "the issuer's K-DEK is " + std::to_string(dek.size()) + " bytes, not an AES key";
    return std::nullopt;
  }
  auto secret = [&](uint16_t tag, ByteView plain) {
    return HostDgi{tag, HostScp03::EncryptSensitiveData(dek, plain)};  // cannot throw: AES key
  };
  std::vector<HostDgi> dgis;
  dgis.push_back({0x0201, TextBytes(p.tree_xml)});
  if (!p.root_acl.empty()) dgis.push_back({0x0103, TextBytes(p.root_acl)});
  const uint8_t flags =
      static_cast<uint8_t>((p.user_confirmation ? 0x02 : 0) | (p.autoconnect ? 0x04 : 0));
  dgis.push_back({0x0101, Bytes{flags}});
  if (!p.imsi.empty()) {
    const Bytes ef = HostEfImsi(p.imsi);
    if (ef.empty()) {
      error = "imsi \"" + p.imsi + "\": not 1 to 15 decimal digits";
      return std::nullopt;
    }
    dgis.push_back({0x0102, ef});
  }
  if (!p.user_pin.empty()) dgis.push_back(secret(0x8301, TextBytes(p.user_pin)));
  if (!p.user_puk.empty()) dgis.push_back(secret(0x8302, TextBytes(p.user_puk)));
  for (const HostProfile::KeySet& set : p.key_sets) {
    if (set.mac.size() != set.enc.size() || set.dek.size() != set.enc.size() ||
        !IsAesKeyLength(set.enc.size())) {
      error =
          "key set " + ToHex(Bytes{set.kvn}) + ": ENC, MAC and DEK must be AES keys of one size";
      return std::nullopt;
    }
    // KVN | tries before blocking | key length | ENC | MAC | DEK | owner.
    Bytes v = {set.kvn, 10, static_cast<uint8_t>(set.enc.size())};
    Append(v, set.enc);
    Append(v, set.mac);
    Append(v, set.dek);
    Append(v, TextBytes(set.owner));
    dgis.push_back(secret(0x8401, v));
  }
  for (const HostProfile::BootstrapKey& key : p.bootstrap_keys) {
    if (key.owner.empty() || key.owner.size() > 255) {
      error = "bootstrap key " + ToHex(Bytes{key.kvn}) + ": the owner must be 1 to 255 bytes";
      return std::nullopt;
    }
    dgis.push_back(AnyKeyDgi(key.kvn, 0x01, key.ec ? kDgiKeyTypeEcPublic : kDgiKeyTypeHmacSecret,
                             kDgiUsageBootstrap, key.owner, key.material, dek));
  }
  return dgis;
}

HostDgi AnyKeyDgi(uint8_t kvn, uint8_t id, uint8_t type, uint8_t usage, const std::string& owner,
                  ByteView material, ByteView dek) {
  Bytes v = {kvn, id, type, usage, 0, 0, 0, 0, static_cast<uint8_t>(owner.size())};
  Append(v, TextBytes(owner));
  Append(v, material);
  return HostDgi{0x8402, HostScp03::EncryptSensitiveData(dek, v)};  // AES DEK: cannot throw
}

std::optional<Bytes> EncodeDgi(const HostDgi& dgi) {
  const size_t n = dgi.value.size();
  if (n > 0xFFFF) return std::nullopt;
  Bytes out = {static_cast<uint8_t>(dgi.tag >> 8), static_cast<uint8_t>(dgi.tag)};
  if (n < 0xFF) {
    out.push_back(static_cast<uint8_t>(n));
  } else {
    out.push_back(0xFF);
    out.push_back(static_cast<uint8_t>(n >> 8));
    out.push_back(static_cast<uint8_t>(n));
  }
  Append(out, dgi.value);
  return out;
}

std::optional<std::vector<Bytes>> StoreDataCommands(const std::vector<HostDgi>& dgis,
                                                    std::string& error, size_t max_data) {
  if (max_data == 0 || max_data > 255) {
    error = "STORE DATA blocks carry 1 to 255 bytes, not " + std::to_string(max_data);
    return std::nullopt;
  }
  // The whole stream, and for each byte whether it belongs to an encrypted DGI.
  Bytes stream;
  std::vector<bool> encrypted;
  for (const HostDgi& d : dgis) {
    const std::optional<Bytes> wire = EncodeDgi(d);
    if (!wire) {
      error = "DGI " + ToHex(Bytes{static_cast<uint8_t>(d.tag >> 8), static_cast<uint8_t>(d.tag)}) +
              " holds " + std::to_string(d.value.size()) + " bytes, at most 65535";
      return std::nullopt;
    }
    Append(stream, *wire);
    encrypted.insert(encrypted.end(), wire->size(), (d.tag & 0x8000) != 0);
  }
  if ((stream.size() + max_data - 1) / max_data > 256) {
    error = "the DGIs need more than 256 STORE DATA blocks of " + std::to_string(max_data) +
            " bytes (P2 counts to FF)";
    return std::nullopt;
  }
  std::vector<Bytes> commands;
  for (size_t pos = 0; pos < stream.size(); pos += max_data) {
    const size_t n = std::min(max_data, stream.size() - pos);
    const bool carries_secret =
        std::any_of(encrypted.begin() + static_cast<long>(pos),
                    encrypted.begin() + static_cast<long>(pos + n), [](bool b) { return b; });
    uint8_t p1 = 0x08;
    if (carries_secret) p1 |= 0x60;
    if (pos + n == stream.size()) p1 |= 0x80;
    Bytes c = {0x80, 0xE2, p1, static_cast<uint8_t>(commands.size()), static_cast<uint8_t>(n)};
    c.insert(c.end(), stream.begin() + static_cast<long>(pos),
             stream.begin() + static_cast<long>(pos + n));
    commands.push_back(std::move(c));
  }
  return commands;
}

}  // namespace dmcard
