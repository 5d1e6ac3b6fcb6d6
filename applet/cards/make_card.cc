#include "cards/make_card.h"

#include <algorithm>

#include "dm/dm_applet.h"
#include "dm/imsi.h"
#include "dm/pin_policy.h"
#include "dm/pkcs15_view.h"
#include "dm/records.h"
#include "dm/uicc_view.h"
#include "fs/demo_fs.h"
#include "fs/fcp.h"
#include "gp/security_domain.h"

namespace dmcard {

namespace {

std::string SwText(Sw sw) {
  return ToHex(Bytes{static_cast<uint8_t>(ToU16(sw) >> 8), static_cast<uint8_t>(ToU16(sw))});
}

Bytes Ascii(const std::string& s) { return Bytes(s.begin(), s.end()); }

// Label of the DM applet's EF.DIR record (2 + 12 + 2 + 13 bytes: fits a 32-byte record).
constexpr char kDmDirLabel[] = "DMCARD OMA DM";

// ISO 7816-4 §8.2.1.1: an application template 61 { 4F AID, 50 label } of an EF.DIR record.
Bytes ApplicationTemplate(ByteView aid, const std::string& label) {
  Bytes inner;
  AppendTlv(inner, 0x4F, aid);
  AppendTlv(inner, 0x50, Ascii(label));
  Bytes out;
  AppendTlv(out, 0x61, inner);
  return out;
}

// The demo file system with the PKCS#15 application added. EF.DIR lists every application of
// the card a terminal selects for a service (ISO 7816-4 §8.2.1.1; ETSI TS 102 221 §13.1):
// record 1 the PKCS#15 application (the OMA smart-card provisioning convention), record 2 the
// demo application DF, record 3 the DM applet; record 4 stays free for the issuer. The Issuer
// Security Domain is not an application of that kind and, as on real UICCs, is not listed: it
// is reached by its own AID (GlobalPlatform Card Specification §9.9.2, SELECT).
fs::FileSpec FileSystemWithPkcs15(Card& card, const dm::Pkcs15Options& options) {
  fs::FileSpec mf = fs::DemoFileSystem();
  for (fs::FileSpec& f : mf.children) {
    if (f.fid == fs::demo::kEfDir && !f.initial_records.empty()) {
      f.initial_records.insert(f.initial_records.begin(), dm::Pkcs15DirRecord(options));
      f.initial_records.insert(f.initial_records.begin() + 2,
                               ApplicationTemplate(dm::DmApplet::DefaultAid(), kDmDirLabel));
      f.initial_records.resize(fs::demo::kEfDirRecords);
    }
  }
  Card* c = &card;
  mf.children.push_back(dm::Pkcs15Application(
      dm::DmApplet::kKeyPrefix, [c] { return c->now(); }, options));
  return mf;
}

// The PKCS#15 view's options of `profile`: its quirk switches, the EF(DM_Bootstrap) format, the
// LwM2M bootstrap file and the ProvSC documents in WBXML; nullopt with `error` set when the LwM2M
// objects do not fit the file or a ProvSC document cannot be served.
std::optional<dm::Pkcs15Options> Pkcs15OptionsFor(const Profile& profile, std::string& error) {
  dm::Pkcs15Options options;
  options.quirks.dodf_path_without_length = profile.quirks.dodf_path_without_length;
  options.quirks.dodf_padded_with_ff = profile.quirks.dodf_padded_with_ff;
  options.quirks.lwm2m_oid_double_encoded = profile.quirks.lwm2m_oid_double_encoded;
  options.bootstrap_format = profile.bootstrap_ef_format;
  if (profile.lwm2m) {
    options.lwm2m_bootstrap = dm::Lwm2mBootstrapFile(*profile.lwm2m, error);
    if (!options.lwm2m_bootstrap) {
      error = "the LwM2M bootstrap: " + error;
      return std::nullopt;
    }
  }
  for (const Profile::ProvScDocument& doc : profile.provsc) {
    std::optional<Bytes> wbxml = dm::ProvScWbxml(doc.xml, error);
    if (!wbxml) {
      error = std::string("the ProvSC document ") + dm::ProvScLabel(doc.file) + ": " + error;
      return std::nullopt;
    }
    options.provsc.push_back({doc.file, std::move(*wbxml)});
  }
  return options;
}

// The card's one user PIN (global reference 01) as the file-system applet serves it: the
// profile's value under the DM applet's policies, so whichever applet installs first creates
// the same PIN.
// The user PIN 01 is served by the file system even when the profile has none (yet): issuer
// personalization may load it, and both applets serve the one global PIN.
std::vector<fs::PinSpec> UserPinFor(const Profile& profile) {
  fs::PinSpec pin;
  pin.reference = dm::DmApplet::kUserPinRef;
  pin.initial_value = Ascii(profile.user_pin);
  pin.policy = dm::kUserPinPolicy.limits;
  pin.puk_value = Ascii(profile.user_puk);
  pin.puk_policy = dm::kUserPukPolicy.limits;
  return {pin};
}

// The UICC view (dm/uicc_view.h) added to `mf`: EF_ICCID and ADF.USIM under the MF, and the
// USIM's application template in EF.DIR's record 4, the one free record: records 1-3 stay as they
// are, and handsets find the USIM by its AID in whichever record (3GPP TS 31.102 §5.1.1: the
// first USIM listed in EF.DIR, not record 1). EF_IMSI is read with the card's user PIN 01, as on
// a USIM; a card without a user PIN is a USIM whose PIN is disabled: read always.
void AddUiccView(fs::FileSpec& mf, const Profile& profile) {
  for (fs::FileSpec& f : mf.children) {
    if (f.fid == fs::demo::kEfDir && f.initial_records.size() == fs::demo::kEfDirRecords) {
      f.initial_records.back() = dm::UsimDirRecord();
    }
    // ISO 7816-4 gives EF.GDO the SFI 02 that TS 102 221 §13.2 gives EF_ICCID; on a UICC
    // EF_ICCID has it (modems read it by SFI), EF.GDO stays reachable by its FID.
    if (f.fid == fs::demo::kEfGdo) f.sfi = 0;
  }
  mf.children.push_back(dm::EfIccid(dm::EfIccidFromDigits(profile.uicc->iccid).value_or(Bytes{})));
  mf.children.push_back(dm::UsimAdf(std::string(dm::records::kImsi.pattern),
                                    profile.user_pin.empty()
                                        ? fs::AccessCondition::Always()
                                        : fs::AccessCondition::Pin(dm::DmApplet::kUserPinRef)));
}

// The profile's IMSI in the card's one copy: EF_IMSI form, or pySim's pre-2018 form of an even
// number of digits under the quirk "imsi_even_length_left_padded".
Bytes ImsiFor(const Profile& profile) {
  const std::optional<Bytes> ef = profile.quirks.imsi_even_length_left_padded
                                      ? dm::EfImsiFromDigitsLeftPadded(profile.imsi)
                                      : dm::EfImsiFromDigits(profile.imsi);
  return ef.value_or(Bytes{});
}

// The profile's SCP03 key sets and bootstrap keys into the card's key store, those whose KVN the
// card does not hold yet: keys the issuer has changed since stay. One transaction: all or none.
Sw LoadKeys(Card& card, const std::vector<ProfileKeySet>& sets,
            const std::vector<ProfileBootstrapKey>& bootstrap_keys) {
  PersistentStore& store = card.store();
  store.Begin();
  KeyLoader loader(store);
  for (const ProfileKeySet& set : sets) {
    if (card.keys().Find(set.kvn, 0x01)) continue;
    const CryptoStatus s = loader.LoadScp03KeySet(set.kvn, set.owner, set.enc, set.mac, set.dek);
    if (s != CryptoStatus::kOk) {
      store.Abort();
      return SwFromCrypto(s);
    }
  }
  for (const ProfileBootstrapKey& key : bootstrap_keys) {
    if (card.keys().Find(key.kvn, 0x01)) continue;
    KeySpec spec;
    spec.type = key.ec ? KeyType::kEcP256Public : KeyType::kHmacSecret;
    spec.usage = KeyUsage::kBootstrapVerification;
    spec.kvn = key.kvn;
    spec.id = 0x01;
    spec.owner = key.owner;
    const CryptoStatus s = loader.Load(spec, key.material);
    if (s != CryptoStatus::kOk) {
      store.Abort();
      return SwFromCrypto(s);
    }
  }
  return SwFromStore(store.Commit());
}

}  // namespace

void ApplyProfile(const Profile& profile, CardConfig& config) {
  if (profile.capacity) config.capacity = *profile.capacity;
  if (profile.protocol) config.protocol = *profile.protocol;
  if (profile.atr) config.atr = *profile.atr;
}

CardConfig CardConfigFor(const Profile& profile) {
  CardConfig config;
  ApplyProfile(profile, config);
  config.default_applet = fs::demo::Aid();
  return config;
}

std::unique_ptr<Card> MakeCard(const Profile& profile, const CardConfig& config, Platform platform,
                               std::string& error) {
  auto card = std::make_unique<Card>(config, std::move(platform));
  if (!card->open_error().empty()) {
    error = "cannot open the card's persistent memory: " + card->open_error();
    return nullptr;
  }
  dm::DmAppletConfig dm;
  dm.initial_tnds = profile.tree_xml;
  dm.flags = {profile.user_confirmation, profile.autoconnect};
  if (profile.bootstrap_failure_limit)
    dm.bootstrap_failure_limit = *profile.bootstrap_failure_limit;
  dm.user_pin = Ascii(profile.user_pin);
  dm.user_puk = Ascii(profile.user_puk);
  if (!profile.imsi.empty()) dm.imsi = ImsiFor(profile);
  if (!profile.root_acl.empty()) dm.root_acl = profile.root_acl;
  // Default reserve: the applet's, but never more than 1/16 of a small card.
  dm.reserve =
      profile.reserve.value_or(std::min(dm::DmAppletConfig::kDefaultReserve, config.capacity / 16));
  Sw sw = card->Install(std::make_unique<dm::DmApplet>(std::move(dm)));
  if (sw != Sw::kOk) {
    error = "installing the DM applet of profile '" + profile.name + "' failed with status " +
            SwText(sw) + (sw == Sw::kNotEnoughMemory ? " (persistent memory too small)" : "");
    return nullptr;
  }
  std::string pkcs15_error;
  const std::optional<dm::Pkcs15Options> pkcs15 = Pkcs15OptionsFor(profile, pkcs15_error);
  if (!pkcs15) {
    error = "profile '" + profile.name + "': " + pkcs15_error;
    return nullptr;
  }
  fs::FileSpec mf = FileSystemWithPkcs15(*card, *pkcs15);
  if (profile.uicc) AddUiccView(mf, profile);
  sw = card->Install(std::make_unique<fs::FileSystemApplet>(
      fs::demo::Aid(), std::move(mf), UserPinFor(profile),
      profile.uicc ? fs::FcpStyle::kUicc : fs::FcpStyle::kIso7816));
  if (sw != Sw::kOk) {
    error = "installing the file system applet failed with status " + SwText(sw);
    return nullptr;
  }
  // The PKCS#15 view reads the DM tree: an explicit, read-only grant (runtime/store_view.h).
  card->GrantRead(fs::demo::Aid(), dm::DmApplet::kKeyPrefix);
  sw = card->Install(std::make_unique<gp::SecurityDomain>());
  if (sw == Sw::kOk) sw = LoadKeys(*card, profile.key_sets, profile.bootstrap_keys);
  if (sw != Sw::kOk) {
    error =
        "installing the issuer security domain or its key sets failed with status " + SwText(sw);
    return nullptr;
  }
  return card;
}

}  // namespace dmcard
