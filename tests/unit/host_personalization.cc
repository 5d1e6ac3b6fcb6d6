#include "host_personalization.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "host_scp03.h"

namespace dmcard::testing {

namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Hex digits to bytes (the profile's keys; the swapped IMSI nibbles).
Bytes Hex(const std::string& text) {
  if (text.size() % 2 != 0 || text.find_first_not_of("0123456789abcdefABCDEF") != text.npos) {
    throw std::runtime_error("not hex: " + text);
  }
  Bytes out;
  for (size_t i = 0; i < text.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoul(text.substr(i, 2), nullptr, 16)));
  }
  return out;
}

Bytes TextBytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

}  // namespace

HostProfile ReadHostProfile(const std::filesystem::path& profile_json) {
  const nlohmann::json j = nlohmann::json::parse(ReadFile(profile_json), nullptr,
                                                 /*allow_exceptions=*/true,
                                                 /*ignore_comments=*/true);
  HostProfile p;
  if (j.contains("bootstrap")) {
    p.user_confirmation = j["bootstrap"].value("user_confirmation", false);
    p.autoconnect = j["bootstrap"].value("autoconnect", false);
  }
  p.user_pin = j.value("user_pin", "");
  p.user_puk = j.value("user_puk", "");
  p.imsi = j.value("imsi", "");
  p.root_acl = j.value("root_acl", "");
  p.tree_xml = ReadFile(profile_json.parent_path() / j.at("tree").get<std::string>());
  for (const nlohmann::json& e : j.value("key_sets", nlohmann::json::array())) {
    HostProfile::KeySet set;
    set.kvn = Hex(e.at("kvn").get<std::string>()).at(0);
    set.owner = e.at("owner").get<std::string>();
    set.enc = Hex(e.at("enc").get<std::string>());
    set.mac = Hex(e.at("mac").get<std::string>());
    set.dek = Hex(e.at("dek").get<std::string>());
    p.key_sets.push_back(std::move(set));
  }
  return p;
}

Bytes HostEfImsi(const std::string& digits) {
  // Semi-octets, low nibble first: the parity nibble (odd 9, even 1), the digits, an F filler.
  std::string nibbles = (digits.size() % 2 == 1 ? "9" : "1") + digits;
  if (nibbles.size() % 2 == 1) nibbles += "F";
  std::string swapped;
  for (size_t i = 0; i < nibbles.size(); i += 2) {
    swapped += nibbles[i + 1];
    swapped += nibbles[i];
  }
  Bytes ef = {static_cast<uint8_t>(nibbles.size() / 2)};
  Append(ef, Hex(swapped));
  ef.resize(9, 0xFF);  // the file is 9 bytes; unused ones FF
  return ef;
}

std::vector<HostDgi> PersonalizationDgis(const HostProfile& p, ByteView dek) {
  auto secret = [&](uint16_t tag, ByteView plain) {
    return HostDgi{tag, HostScp03::EncryptSensitiveData(dek, plain)};
  };
  std::vector<HostDgi> dgis;
  dgis.push_back({0x0201, TextBytes(p.tree_xml)});
  if (!p.root_acl.empty()) dgis.push_back({0x0103, TextBytes(p.root_acl)});
  const uint8_t flags =
      static_cast<uint8_t>((p.user_confirmation ? 0x02 : 0) | (p.autoconnect ? 0x04 : 0));
  dgis.push_back({0x0101, Bytes{flags}});
  if (!p.imsi.empty()) dgis.push_back({0x0102, HostEfImsi(p.imsi)});
  if (!p.user_pin.empty()) dgis.push_back(secret(0x8301, TextBytes(p.user_pin)));
  if (!p.user_puk.empty()) dgis.push_back(secret(0x8302, TextBytes(p.user_puk)));
  for (const HostProfile::KeySet& set : p.key_sets) {
    // KVN | tries before blocking | key length | ENC | MAC | DEK | owner.
    Bytes v = {set.kvn, 10, static_cast<uint8_t>(set.enc.size())};
    Append(v, set.enc);
    Append(v, set.mac);
    Append(v, set.dek);
    Append(v, TextBytes(set.owner));
    dgis.push_back(secret(0x8401, v));
  }
  return dgis;
}

Bytes EncodeDgi(const HostDgi& dgi) {
  Bytes out = {static_cast<uint8_t>(dgi.tag >> 8), static_cast<uint8_t>(dgi.tag)};
  const size_t n = dgi.value.size();
  if (n > 0xFFFF) throw std::runtime_error("a DGI holds at most 65535 bytes");
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

std::vector<Bytes> StoreDataCommands(const std::vector<HostDgi>& dgis, size_t max_data) {
  // The whole stream, and for each byte whether it belongs to an encrypted DGI.
  Bytes stream;
  std::vector<bool> encrypted;
  for (const HostDgi& d : dgis) {
    const Bytes wire = EncodeDgi(d);
    Append(stream, wire);
    encrypted.insert(encrypted.end(), wire.size(), (d.tag & 0x8000) != 0);
  }
  std::vector<Bytes> commands;
  for (size_t pos = 0; pos < stream.size(); pos += max_data) {
    const size_t n = std::min(max_data, stream.size() - pos);
    if (commands.size() > 0xFF) throw std::runtime_error("more than 256 STORE DATA blocks");
    bool carries_secret = false;
    for (size_t i = pos; i < pos + n; ++i) carries_secret = carries_secret || encrypted[i];
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

}  // namespace dmcard::testing
