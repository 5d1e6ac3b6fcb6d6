#include "host/dm_session.h"

#include <openssl/rand.h>

#include <vector>

#include "dm/dm_applet.h"
#include "host/apdu_spec.h"
#include "host/exchange.h"
#include "host/profile_file.h"
#include "runtime/tlv.h"

namespace dmcard {

namespace {

std::string SwText(uint16_t sw) { return StatusWordText(BuiltInApduSpecs(), sw); }

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
  // The SELECT answer (6F { 84 AID, A5 {...} }) or GET DATA's A5 alone.
  const auto top = ParseTlvs(fci);
  const Tlv* t6f = top ? FindTlv(*top, 0x6F) : nullptr;
  const auto fci_objects = t6f ? ParseTlvs(t6f->value) : top;
  const Tlv* a5 = fci_objects ? FindTlv(*fci_objects, 0xA5) : nullptr;
  const auto items = a5 ? ParseTlvs(a5->value) : std::nullopt;
  if (!items) {
    error = "the DM applet's SELECT answer has no descriptor (6F { A5 }): " + ToHex(fci);
    return std::nullopt;
  }
  // An object of another size than the reference's is ignored.
  const auto field = [&](uint16_t tag, size_t size) -> const uint8_t* {
    const Tlv* t = FindTlv(*items, tag);
    return t != nullptr && t->value.size() == size ? t->value.data() : nullptr;
  };
  const uint8_t* flags = field(0x84, 1);
  if (flags == nullptr) {
    error = "the DM applet's descriptor has no flags (84, one byte): " + ToHex(a5->value);
    return std::nullopt;
  }
  DmDescriptor d;
  d.flags = *flags;
  if (const uint8_t* p = field(0x80, 2)) d.applet_version = ReadU16(p);
  if (const uint8_t* p = field(0x81, 1)) d.tree_format = *p;
  if (const uint8_t* p = field(0x82, 4)) d.generation = ReadU32(p);
  if (const uint8_t* p = field(0x83, 32)) d.digest.assign(p, p + 32);
  if (const uint8_t* p = field(0x85, 2)) d.capabilities = ReadU16(p);
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
