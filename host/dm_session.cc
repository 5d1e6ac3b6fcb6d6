#include "host/dm_session.h"

#include <openssl/rand.h>

#include <functional>
#include <vector>

#include "dm/dm_applet.h"
#include "host/apdu_spec.h"
#include "host/exchange.h"
#include "host/profile_file.h"

namespace dmcard {

namespace {

std::string SwText(uint16_t sw) { return StatusWordText(BuiltInApduSpecs(), sw); }

// Walks BER-TLV with one-byte tags and short or 81/82 lengths; calls `f(tag, value)` per element.
// False when the data does not decode.
bool EachTlv(ByteView data, const std::function<void(uint8_t, ByteView)>& f) {
  size_t i = 0;
  while (i < data.size()) {
    if (i + 2 > data.size()) return false;
    const uint8_t tag = data[i++];
    size_t len = data[i++];
    if (len == 0x81 || len == 0x82) {
      const size_t n = len - 0x80;
      if (i + n > data.size()) return false;
      len = 0;
      for (size_t k = 0; k < n; ++k) len = (len << 8) | data[i++];
    } else if (len > 0x7F) {
      return false;
    }
    if (i + len > data.size()) return false;
    f(tag, data.subspan(i, len));
    i += len;
  }
  return true;
}

uint32_t BigEndian(ByteView v) {
  uint32_t n = 0;
  for (uint8_t b : v) n = (n << 8) | b;
  return n;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out.empty() ? "none" : out;
}

}  // namespace

std::string DmDescriptor::FlagsText() const {
  std::vector<std::string> parts;
  if (provisioned()) parts.push_back("provisioning data present");
  if (user_confirmation()) parts.push_back("user confirmation required (USA1)");
  if (autoconnect()) parts.push_back("connect to the DMS autonomously (USA3)");
  return Join(parts);
}

std::string DmDescriptor::CapabilitiesText() const {
  static const std::pair<uint16_t, const char*> kBits[] = {{0x01, "extended length"},
                                                           {0x02, "command chaining"},
                                                           {0x04, "TNDS XML export"},
                                                           {0x08, "TNDS WBXML export"},
                                                           {0x40, "issuer personalization"}};
  std::vector<std::string> parts;
  for (const auto& [bit, text] : kBits) {
    if (((capabilities >> 8) & bit) != 0) parts.push_back(text);  // first byte (dm.json)
  }
  return Join(parts);
}

std::optional<DmDescriptor> DecodeDmDescriptor(ByteView fci, std::string& error) {
  Bytes a5;
  bool found = false;
  auto take_a5 = [&](uint8_t tag, ByteView v) {
    if (tag == 0xA5) {
      a5.assign(v.begin(), v.end());
      found = true;
    }
  };
  const bool ok = !fci.empty() && fci[0] == 0x6F ? EachTlv(fci,
                                                           [&](uint8_t tag, ByteView v) {
                                                             if (tag == 0x6F) EachTlv(v, take_a5);
                                                           })
                                                 : EachTlv(fci, take_a5);
  if (!ok || !found) {
    error = "the DM applet's descriptor (A5) is missing or malformed in " + ToHex(fci);
    return std::nullopt;
  }
  DmDescriptor d;
  EachTlv(a5, [&](uint8_t tag, ByteView v) {
    switch (tag) {
      case 0x80:
        d.applet_version = static_cast<uint16_t>(BigEndian(v));
        break;
      case 0x81:
        d.tree_format = static_cast<uint8_t>(BigEndian(v));
        break;
      case 0x82:
        d.generation = BigEndian(v);
        break;
      case 0x83:
        d.digest.assign(v.begin(), v.end());
        break;
      case 0x84:
        d.flags = static_cast<uint8_t>(BigEndian(v));
        break;
      case 0x85:
        d.capabilities = static_cast<uint16_t>(BigEndian(v));
        break;
      default:
        break;
    }
  });
  return d;
}

uint16_t StatusWordOf(ByteView r) {
  if (r.size() < 2) return 0;
  return static_cast<uint16_t>((r[r.size() - 2] << 8) | r[r.size() - 1]);
}

Bytes DataOf(ByteView r) { return r.size() < 2 ? Bytes{} : Bytes(r.begin(), r.end() - 2); }

std::optional<HostProfile::KeySet> FindKeySet(const KeySetChoice& choice, std::string& error) {
  Profile profile;
  if (choice.profile.empty()) {
    profile = DemoProfile();
  } else {
    auto loaded = LoadProfile(choice.profile, error);
    if (!loaded) return std::nullopt;
    profile = std::move(*loaded);
  }
  const std::string source =
      choice.profile.empty() ? "the built-in demo profile" : "profile " + choice.profile;
  std::vector<const ProfileKeySet*> found;
  std::string names;
  for (const ProfileKeySet& set : profile.key_sets) {
    names += (names.empty() ? "" : ", ") + set.name + " (owner " + set.owner + ")";
    const bool match = choice.owner.empty() ? set.owner != "@issuer"
                                            : set.owner == choice.owner || set.name == choice.owner;
    if (match) found.push_back(&set);
  }
  if (found.size() != 1) {
    const std::string want =
        choice.owner.empty() ? "a DM server's key set" : "'" + choice.owner + "'";
    error = source +
            (found.empty() ? " has no key set for " + want
                           : " has several key sets for " + want + ": name one") +
            (names.empty() ? " (it has no key_sets)" : "; it has " + names);
    return std::nullopt;
  }
  HostProfile::KeySet out;
  out.kvn = found[0]->kvn;
  out.owner = found[0]->owner;
  out.enc = found[0]->enc;
  out.mac = found[0]->mac;
  out.dek = found[0]->dek;
  return out;
}

bool DmSession::Select(std::string& error) {
  const Bytes aid = dm::DmApplet::DefaultAid();
  Bytes select{0x00, 0xA4, 0x04, 0x00, static_cast<uint8_t>(aid.size())};
  select.insert(select.end(), aid.begin(), aid.end());
  select.push_back(0x00);
  if (!TransmitFollowing(reader_, select, select_response_, error)) return false;
  const uint16_t sw = StatusWordOf(select_response_);
  if (sw != 0x9000) {
    error = "the card has no DM applet: SELECT " + ToHex(aid) + " answered " + SwText(sw);
    return false;
  }
  return true;
}

std::unique_ptr<DmSession> DmSession::OpenPlain(Reader& reader, std::string& error) {
  std::unique_ptr<DmSession> s(new DmSession(reader));
  Bytes atr;
  if (!reader.Connect(atr, error) || !s->Select(error)) return nullptr;
  return s;
}

std::unique_ptr<DmSession> DmSession::OpenSecure(Reader& reader, const HostProfile::KeySet& keys,
                                                 uint8_t level, std::string& error) {
  auto s = OpenPlain(reader, error);
  if (!s) return nullptr;
  try {
    auto scp = std::make_unique<HostScp03>(HostScp03Keys{keys.enc, keys.mac, keys.dek});
    Bytes challenge(8);
    if (RAND_bytes(challenge.data(), static_cast<int>(challenge.size())) != 1) {
      error = "cannot get a host challenge from the system's random generator";
      return nullptr;
    }
    Bytes r;
    if (!TransmitFollowing(reader, scp->InitializeUpdate(keys.kvn, challenge), r, error)) {
      return nullptr;
    }
    if (StatusWordOf(r) != 0x9000) {
      error = "INITIALIZE UPDATE with key set " + ToHex(Bytes{keys.kvn}) + " (owner " + keys.owner +
              ") answered " + SwText(StatusWordOf(r));
      return nullptr;
    }
    scp->ReadInitializeUpdateResponse(DataOf(r), dm::DmApplet::DefaultAid());
    if (!TransmitFollowing(reader, scp->ExternalAuthenticate(level), r, error)) return nullptr;
    if (StatusWordOf(r) != 0x9000) {
      error = "EXTERNAL AUTHENTICATE (key set " + ToHex(Bytes{keys.kvn}) + ", owner " + keys.owner +
              ") answered " + SwText(StatusWordOf(r)) + ": the card does not hold these keys";
      return nullptr;
    }
    s->scp_ = std::move(scp);
  } catch (const HostScp03Error& e) {
    error = std::string("the secure channel failed: ") + e.what();
    return nullptr;
  }
  return s;
}

bool DmSession::Transmit(ByteView command, Bytes& response, std::string& error) {
  if (!scp_) return TransmitFollowing(reader_, command, response, error);
  try {
    Bytes wire;
    if (!TransmitFollowing(reader_, scp_->Wrap(command), wire, error)) return false;
    const uint16_t sw = StatusWordOf(wire);
    response = scp_->Unwrap(DataOf(wire), sw);
    response.push_back(static_cast<uint8_t>(sw >> 8));
    response.push_back(static_cast<uint8_t>(sw));
    return true;
  } catch (const HostScp03Error& e) {
    error = std::string("the secure channel failed: ") + e.what();
    return false;
  }
}

}  // namespace dmcard
