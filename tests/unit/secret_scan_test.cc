// No response carries a key or a secret (issue 9, "Must show" 3): a card made from the demo
// profile with every key and secret replaced by values generated here (seeded), loaded the ways a
// card gets them — SCP03 key sets through the profile, other keys through KeyLoader, the DM
// account's AAuthSecret/AAuthData by the DM server over SCP03, a leaf marked secret (ADD with
// 85 01), a secret-by-name leaf through the development STORE DATA path, the user PIN and PUK and
// the development issuer PIN through the profile, EF.SECRET written by the user — then every
// command path of every applet, as every kind of caller:
//   DM applet  SELECT (descriptor), GET DATA A5, GET of every node with P1 00, 01 (P2 01-08), 02
//              and 03, EXPORT XML and WBXML of every subtree including ".", OMA DM CREDENTIAL
//              with P1 00-03 on every node, INTERNAL AUTHENTICATE with every key version,
//              INITIALIZE UPDATE;
//   file system  SELECT (FCI, FCP, FMD, none) and READ BINARY / READ RECORD of every file, the
//              PKCS#15 EFs included, plain and over SCP03 sessions per key set;
//   ISD        SELECT, GET DATA E0, INITIALIZE UPDATE of every key version, sessions per key set;
// and asserts that no response's data (all of it, joined across 61xx / GET RESPONSE, and under
// SCP03 both as sent and unwrapped) holds any 6-byte window of any secret, nor its hex or base64
// text. The scanner is shown to find planted values, so the test can fail.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "demo_card_apdus.h"
#include "dm/dm_applet.h"
#include "gp/security_domain.h"
#include "host/demo_card.h"
#include "host/personalization.h"
#include "host/profile_file.h"
#include "host/scp03_host.h"
#include "runtime/key_store.h"
#include "seeded_draw.h"
#include "test_applets.h"

namespace dmcard {
namespace {

using gp::SecurityDomain;
using testing::Ascii;
using testing::DataOf;
using testing::DmReplace;
using testing::H;
using testing::SelectAid;
using testing::Str;
using testing::SwOf;

// ---- the scanner ------------------------------------------------------------------------------

using testing::Base64Groups;

// Finds any 6-byte window of a registered secret in response data: as bytes, as hex text (either
// case) and as base64 text (standard or URL alphabet, at any alignment of the secret in the
// encoded message: a 6-byte window aligned on a 3-byte group is two whole base64 groups).
class SecretScanner {
 public:
  static constexpr size_t kWindow = 6;

  void Add(const std::string& name, ByteView secret) {
    if (secret.size() < kWindow) {
      ADD_FAILURE() << name << " is shorter than the scan window";
      return;
    }
    names_.push_back(name);
    for (size_t i = 0; i + kWindow <= secret.size(); ++i) {
      const ByteView w = secret.subspan(i, kWindow);
      raw_.emplace(Str(w), name + " (bytes " + std::to_string(i) + "..)");
      hex_.emplace(ToHex(w), name + " (hex text)");
    }
    for (size_t offset = 0; offset < 3; ++offset) {
      const size_t groups = (secret.size() - offset) / 3;
      const ByteView whole = secret.subspan(offset, groups * 3);
      for (bool url : {false, true}) {
        const std::string text = Base64Groups(whole, url);
        for (size_t g = 0; g + 2 <= groups; ++g) {
          b64_.emplace(text.substr(4 * g, 8),
                       name + (url ? " (base64url text)" : " (base64 text)"));
        }
      }
    }
  }

  // What `data` holds of a secret: "" when nothing, else the first find and where.
  std::string Find(ByteView data) const {
    const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
    std::string upper(text);
    for (char& c : upper) {
      if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
    }
    for (size_t pos = 0; pos < text.size(); ++pos) {
      if (pos + kWindow <= text.size()) {
        if (auto it = raw_.find(text.substr(pos, kWindow)); it != raw_.end()) {
          return it->second + " at offset " + std::to_string(pos);
        }
      }
      if (pos + 2 * kWindow <= upper.size()) {
        const std::string_view u(upper);
        if (auto it = hex_.find(u.substr(pos, 2 * kWindow)); it != hex_.end()) {
          return it->second + " at offset " + std::to_string(pos);
        }
      }
      if (pos + 8 <= text.size()) {
        if (auto it = b64_.find(text.substr(pos, 8)); it != b64_.end()) {
          return it->second + " at offset " + std::to_string(pos);
        }
      }
    }
    return "";
  }

  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> names_;
  StringMap<std::string> raw_, hex_, b64_;
};

// ---- exchanges --------------------------------------------------------------------------------

// A command and everything the card answered to it.
struct Exchange {
  Bytes data;  // all response data bytes, joined across 61xx / GET RESPONSE
  uint16_t sw = 0;
  std::vector<Bytes> pieces;  // each R-APDU's data as it came
};

// Sends `apdu` on the basic channel and fetches the rest with GET RESPONSE while the card
// answers 61xx (ISO 7816-4 §5.3.4).
Exchange Transceive(Card& card, const Bytes& apdu) {
  Exchange e;
  Bytes r = card.Transmit(apdu);
  for (int fetched = 0;; ++fetched) {
    e.pieces.push_back(DataOf(r));
    Append(e.data, e.pieces.back());
    e.sw = SwOf(r);
    if ((e.sw >> 8) != 0x61 || fetched > 1000) break;
    r = card.Transmit(Bytes{0x00, 0xC0, 0x00, 0x00, static_cast<uint8_t>(e.sw & 0xFF)});
  }
  return e;
}

// ---- seeded secrets ---------------------------------------------------------------------------

using SeededBytes = testing::SeededDraw;

// ---- DM applet commands (apdu-specs/dm.json) ---------------------------------------------------

constexpr char kDemoServer[] = "dmcard.example.test";    // the demo DM account's ServerID
constexpr char kSecondServer[] = "second.example.test";  // a server with no account
constexpr char kFsAidHex[] = "F0444D434152444653";
const char* const kSrvSecret = "./DMAcc/DMCardTest/AppAuth/SrvCred/AAuthSecret";
const char* const kSrvData = "./DMAcc/DMCardTest/AppAuth/SrvCred/AAuthData";
const char* const kCliSecret = "./DMAcc/DMCardTest/AppAuth/CliCred/AAuthSecret";
const char* const kCliData = "./DMAcc/DMCardTest/AppAuth/CliCred/AAuthData";
const char* const kFlaggedLeaf = "./Vendor/dmcard/FUMOPolicy/GoldSecret";
const char* const kStoredSecret = "./Vendor/dmcard/IssuerCred/AAuthSecret";

Bytes UriCommand(uint8_t ins, uint8_t p1, uint8_t p2, std::string_view uri, bool le) {
  Bytes c = {0x80, ins, p1, p2, static_cast<uint8_t>(uri.size())};
  Append(c, Ascii(uri));
  if (le) c.push_back(0x00);
  return c;
}
Bytes Tlv(uint8_t tag, ByteView value) {
  Bytes t = {tag, static_cast<uint8_t>(value.size())};
  Append(t, value);
  return t;
}
// OMA DM CREDENTIAL (80 3C) with P1 `op` on the entry `uri`: nonce "n", MD5(body) and a server's
// credential where the operation takes them (apdu-specs/dm.json).
Bytes DmCredential(uint8_t op, std::string_view uri) {
  Bytes tlv = Tlv(0x80, Ascii(uri));
  Append(tlv, Tlv(0x81, Ascii("n")));
  if ((op & 0x01) != 0) Append(tlv, Tlv(0x82, Bytes(16, 0x4D)));
  if (op >= 0x02) Append(tlv, Tlv(0x83, Ascii("Zz6EivR3yeaaENcRN6lpAQ==")));
  Bytes c = {0x80, 0x3C, op, 0x00, static_cast<uint8_t>(tlv.size())};
  Append(c, tlv);
  c.push_back(0x00);
  return c;
}
// ADD of a bin leaf whose value is secret (85 01).
Bytes DmAddSecretLeaf(std::string_view uri, ByteView value) {
  Bytes tlv = Tlv(0x80, Ascii(uri));
  Append(tlv, Tlv(0x82, Ascii("bin")));
  Append(tlv, Tlv(0x81, value));
  Append(tlv, H("850101"));
  Bytes c = {0x80, 0x32, 0x00, 0x00, static_cast<uint8_t>(tlv.size())};
  Append(c, tlv);
  return c;
}
Bytes VerifyPin(uint8_t ref, std::string_view pin) {
  Bytes c = {0x00, 0x20, 0x00, ref, static_cast<uint8_t>(pin.size())};
  Append(c, Ascii(pin));
  return c;
}

// ---- the card full of secrets -----------------------------------------------------------------

class Req_SEC1_NoResponseCarriesSecrets : public ::testing::Test {
 protected:
  struct KeySet {
    uint8_t kvn;
    std::string owner;
    HostScp03Keys keys;
  };

  void SetUp() override {
    SeededBytes random(0x5EC2E75);
    Profile profile = DemoProfile();
    profile.user_pin = random.Digits(8);
    profile.user_puk = random.Digits(8);
    sets_ = {{0x30, kIssuerPrincipal, {random.Random(16), random.Random(16), random.Random(16)}},
             {0x31, kDemoServer, {random.Random(32), random.Random(32), random.Random(32)}},
             {0x32, kSecondServer, {random.Random(24), random.Random(24), random.Random(24)}}};
    profile.key_sets.clear();
    for (const KeySet& s : sets_) {
      profile.key_sets.push_back(ProfileKeySet{"set" + ToHex(Bytes{s.kvn}), s.kvn, s.owner,
                                               s.keys.enc, s.keys.mac, s.keys.dek});
      const std::string set = "SCP03 key set " + ToHex(Bytes{s.kvn});
      scanner_.Add(set + " K-ENC", s.keys.enc);
      scanner_.Add(set + " K-MAC", s.keys.mac);
      scanner_.Add(set + " K-DEK", s.keys.dek);
    }
    user_pin_ = profile.user_pin;
    scanner_.Add("user PIN", Ascii(profile.user_pin));
    scanner_.Add("user PUK", Ascii(profile.user_puk));

    std::string error;
    const uint8_t seed[16] = {0x5E, 0xC2};
    card_ = MakeCard(profile, CardConfigFor(profile),
                     Platform{std::make_shared<RamMedium>(), crypto::Drbg::FromSeed(seed),
                              [] { return int64_t{1700000000}; }},
                     error);
    ASSERT_TRUE(card_) << error;
    card_->PowerOn();

    LoadOtherKeys(random);
    ASSERT_NO_FATAL_FAILURE(LoadDmSecrets(random));
    ASSERT_NO_FATAL_FAILURE(LoadThroughPersonalization(random));
    ASSERT_NO_FATAL_FAILURE(LoadFileSecret(random));
    card_->Reset();
  }

  // Keys of the other usages, straight into the key store (installation's interface).
  void LoadOtherKeys(SeededBytes& random) {
    Bytes ec_scalar = random.Random(32);
    ec_scalar[0] &= 0x7F;  // below the P-256 group order
    PersistentStore& store = card_->store();
    store.Begin();
    KeyLoader loader(store);
    // One key each (built field by field: g++ 12 -O3 misreads an aggregate array of them).
    auto load = [&](KeyType type, KeyUsage usage, uint8_t kvn, const std::string& owner,
                    uint32_t max_uses, const Bytes& material) {
      KeySpec spec;
      spec.type = type;
      spec.usage = usage;
      spec.kvn = kvn;
      spec.id = 0x01;
      spec.owner = owner;
      spec.max_uses = max_uses;
      EXPECT_EQ(loader.Load(spec, material), CryptoStatus::kOk) << ToHex(Bytes{kvn});
      scanner_.Add("key " + ToHex(Bytes{kvn, spec.id}), material);
    };
    load(KeyType::kHmacSecret, KeyUsage::kDmCredential, 0x01, kDemoServer, 0, random.Random(32));
    load(KeyType::kAes256, KeyUsage::kCardAuthentication, 0x02, kIssuerPrincipal, 0,
         random.Random(32));
    load(KeyType::kEcP256Private, KeyUsage::kCardAuthentication, 0x03, kIssuerPrincipal, 0,
         ec_scalar);
    load(KeyType::kAes128, KeyUsage::kBootstrapVerification, 0x04, kDemoServer, 0,
         random.Random(16));
    load(KeyType::kHmacSecret, KeyUsage::kFumo, 0x05, kIssuerPrincipal, 5, random.Random(20));
    EXPECT_EQ(store.Commit(), StoreStatus::kOk);
  }

  // The DM server, over SCP03 with its (random) key set on the DM applet: new AAuthSecret and
  // AAuthData for both credentials, a leaf ADDed with 85 01, and the account's PrefConRef pointed
  // at that leaf (the PKCS#15 view follows PrefConRef).
  void LoadDmSecrets(SeededBytes& random) {
    ASSERT_EQ(Transceive(*card_, SelectAid(dm::DmApplet::DefaultAid())).sw, 0x9000);
    HostScp03 host(sets_[1].keys);
    ASSERT_EQ(OpenSession(host, sets_[1].kvn, dm::DmApplet::DefaultAid(), 0x33), "");
    const struct {
      const char* uri;
      Bytes value;
    } secrets[] = {{kSrvSecret, Ascii(random.Alnum(24))},
                   {kSrvData, random.Random(20)},
                   {kCliSecret, Ascii(random.Alnum(24))},
                   {kCliData, random.Random(20)}};
    for (const auto& s : secrets) {
      EXPECT_EQ(Transceive(*card_, host.Wrap(DmReplace(s.uri, s.value))).sw, 0x9000) << s.uri;
      scanner_.Add(s.uri, s.value);
    }
    // The OMA DM authenticators B64(MD5(AAuthName:AAuthSecret)) (docs/credentials.md): as good
    // as the secrets, so never in an answer either (OpenSSL's MD5 and base64).
    for (const auto& [name, secret] : {std::pair{"dmcard.example.test", secrets[0].value},
                                       std::pair{"dmcard-test-client", secrets[2].value}}) {
      Bytes user = Ascii(std::string(name) + ":");
      Append(user, secret);
      unsigned char md[EVP_MAX_MD_SIZE];
      unsigned int md_len = 0;
      ASSERT_EQ(EVP_Digest(user.data(), user.size(), md, &md_len, EVP_md5(), nullptr), 1);
      unsigned char b64[32];
      const int n = EVP_EncodeBlock(b64, md, static_cast<int>(md_len));
      scanner_.Add(std::string("authenticator of ") + name, Bytes(b64, b64 + n));
    }
    const Bytes flagged = random.Random(24);
    EXPECT_EQ(Transceive(*card_, host.Wrap(DmAddSecretLeaf(kFlaggedLeaf, flagged))).sw, 0x9000);
    scanner_.Add(kFlaggedLeaf, flagged);
    EXPECT_EQ(Transceive(*card_,
                         host.Wrap(DmReplace("./DMAcc/DMCardTest/PrefConRef", Ascii(kFlaggedLeaf))))
                  .sw,
              0x9000);
    card_->Reset();
  }

  // The issuer personalizes over SCP03 (its random key set 30) with STORE DATA: a tree with a
  // secret-by-name leaf (DGI 8202, encrypted), a new user PIN and PUK, a new DM server key set
  // (33) and a bootstrap-verification key; the secret DGIs encrypted under its K-DEK.
  void LoadThroughPersonalization(SeededBytes& random) {
    ASSERT_EQ(Transceive(*card_, SelectAid(dm::DmApplet::DefaultAid())).sw, 0x9000);
    HostScp03 host(sets_[0].keys);
    ASSERT_EQ(OpenSession(host, sets_[0].kvn, dm::DmApplet::DefaultAid(), 0x01), "");
    const std::string value = random.Alnum(24);
    const std::string tnds =
        "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>IssuerCred</NodeName>"
        "<Path>./Vendor/dmcard</Path><RTProperties><Format><node/></Format></RTProperties>"
        "<Node><NodeName>AAuthSecret</NodeName><RTProperties><Format><chr/></Format>"
        "</RTProperties><Value>" +
        value + "</Value></Node></Node></MgmtTree>";
    scanner_.Add(kStoredSecret, Ascii(value));
    const std::string pin = random.Digits(6), puk = random.Digits(8);
    scanner_.Add("user PIN (personalized)", Ascii(pin));
    scanner_.Add("user PUK (personalized)", Ascii(puk));
    const Bytes third_enc = random.Random(16), third_mac = random.Random(16),
                third_dek = random.Random(16), hmac = random.Random(32);
    scanner_.Add("SCP03 key set 33 K-ENC", third_enc);
    scanner_.Add("SCP03 key set 33 K-MAC", third_mac);
    scanner_.Add("SCP03 key set 33 K-DEK", third_dek);
    scanner_.Add("key 06 01 (personalized)", hmac);
    // 8401: KVN, tries, key length, ENC, MAC, DEK, owner; 8402: KVN, id, type 04 (HMAC secret),
    // usage 04 (bootstrap verification), no use limit, owner length, owner, the secret.
    Bytes key_set = {0x33, 0x05, 0x10};
    for (const Bytes* k : {&third_enc, &third_mac, &third_dek}) Append(key_set, *k);
    Append(key_set, Ascii("third.example.test"));
    const std::string owner = kDemoServer;
    Bytes key = {0x06, 0x01, 0x04, 0x04, 0, 0, 0, 0, static_cast<uint8_t>(owner.size())};
    Append(key, Ascii(owner));
    Append(key, hmac);
    const Bytes& dek = sets_[0].keys.dek;
    auto secret = [&dek](uint16_t tag, const Bytes& plain) {
      return HostDgi{tag, HostScp03::EncryptSensitiveData(dek, plain)};
    };
    std::string error;
    const std::optional<std::vector<Bytes>> blocks = StoreDataCommands(
        {secret(0x8202, Ascii(tnds)), secret(0x8301, Ascii(pin)), secret(0x8302, Ascii(puk)),
         secret(0x8401, key_set), secret(0x8402, key)},
        error);
    ASSERT_TRUE(blocks) << error;
    for (const Bytes& block : *blocks) {
      ASSERT_EQ(RunWrapped("STORE DATA", host, block).sw, 0x9000);
    }
    user_pin_ = pin;
    card_->Reset();
  }

  // The user writes EF.SECRET (3F00/5000/5003: read never, update PIN 01).
  void LoadFileSecret(SeededBytes& random) {
    ASSERT_EQ(Transceive(*card_, SelectAid(H(kFsAidHex))).sw, 0x9000);
    ASSERT_EQ(Transceive(*card_, VerifyPin(0x01, user_pin_)).sw, 0x9000);
    ASSERT_EQ(Transceive(*card_, H("00A4080C04 50005003")).sw, 0x9000);
    const Bytes secret = random.Random(16);
    Bytes c = H("00D6000010");
    Append(c, secret);
    ASSERT_EQ(Transceive(*card_, c).sw, 0x9000);
    scanner_.Add("EF.SECRET", secret);
    card_->Reset();
  }

  // INITIALIZE UPDATE + EXTERNAL AUTHENTICATE, the answers scanned; "" on success.
  std::string OpenSession(HostScp03& host, uint8_t kvn, ByteView aid, uint8_t level) {
    const Exchange iu = Run("INITIALIZE UPDATE " + ToHex(Bytes{kvn}),
                            host.InitializeUpdate(kvn, H("0102030405060708")));
    if (iu.sw != 0x9000) return "INITIALIZE UPDATE " + ToHex(Bytes{kvn}) + " answered an error";
    try {
      host.ReadInitializeUpdateResponse(iu.data, aid);
    } catch (const HostScp03Error& e) {
      return e.what();
    }
    const Exchange ea = Run("EXTERNAL AUTHENTICATE", host.ExternalAuthenticate(level));
    return ea.sw == 0x9000 ? "" : "EXTERNAL AUTHENTICATE failed";
  }

  // Sends a plain command and scans what came back.
  Exchange Run(const std::string& label, const Bytes& apdu) {
    Exchange e = Transceive(*card_, apdu);
    joined_ += e.pieces.size() > 1;
    Scan(label, e.data);
    return e;
  }
  // Sends a command through `host`'s session; scans the data as sent and as unwrapped.
  Exchange RunWrapped(const std::string& label, HostScp03& host, const Bytes& plain) {
    Exchange e = Transceive(*card_, host.Wrap(plain));
    joined_ += e.pieces.size() > 1;
    Scan(label + " (as sent)", e.data);
    try {
      const Bytes unwrapped = host.Unwrap(e.data, e.sw);
      Scan(label + " (unwrapped)", unwrapped);
      e.data = unwrapped;
    } catch (const HostScp03Error& err) {
      ADD_FAILURE() << label << ": " << err.what();
    }
    return e;
  }
  void Scan(const std::string& label, ByteView data) {
    ++scanned_;
    scanned_bytes_ += data.size();
    if (std::string found = scanner_.Find(data); !found.empty()) {
      leaks_.push_back(label + ": " + found);
    }
  }

  // Every URI of the tree, found with GET P1 02 (child names) from "." as `send` reads it.
  template <typename Send>
  std::vector<std::string> EnumerateTree(Send send) {
    std::vector<std::string> uris = {"."};
    for (size_t i = 0; i < uris.size(); ++i) {
      const Exchange e = send(UriCommand(0x30, 0x02, 0x00, uris[i], true));
      if (e.sw != 0x9000 || e.data.empty()) continue;  // a leaf, or no children
      const std::string names = Str(e.data);
      size_t start = 0;
      while (start <= names.size()) {
        const size_t end = std::min(names.find('/', start), names.size());
        if (end > start) uris.push_back(uris[i] + "/" + names.substr(start, end - start));
        start = end + 1;
      }
    }
    return uris;
  }

  // Every DM command path for every URI, sent with `send` (plain or wrapped).
  template <typename Send>
  void AllDmCommands(const std::vector<std::string>& uris, Send send) {
    send(H("80CA00A500"));  // GET DATA: the descriptor
    for (const std::string& uri : uris) {
      send(UriCommand(0x30, 0x00, 0x00, uri, true));
      for (uint8_t p2 = 0x01; p2 <= 0x08; ++p2) send(UriCommand(0x30, 0x01, p2, uri, true));
      send(UriCommand(0x30, 0x02, 0x00, uri, true));
      send(UriCommand(0x30, 0x03, 0x00, uri, true));
      send(UriCommand(0x3A, 0x00, 0x00, uri, true));  // EXPORT XML
      send(UriCommand(0x3A, 0x01, 0x00, uri, true));  // EXPORT WBXML
      for (uint8_t op = 0x00; op <= 0x03; ++op) send(DmCredential(op, uri));
    }
    // INTERNAL AUTHENTICATE with every key version, card-authentication keys (02, 03) or not.
    for (uint8_t kvn : {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x33}) {
      send(Bytes{0x00, 0x88, 0x00, kvn, 0x04, 0x01, 0x02, 0x03, 0x04, 0x00});
    }
  }

  // Every file of the file-system applet (fs/demo_fs.h, dm/pkcs15_view.h): SELECT with each P2
  // and the whole content read, each command sent with `send(label, apdu)` (plain or wrapped).
  template <typename Send>
  void AllFileCommands(const std::string& who, Send send) {
    struct File {
      const char* path;  // from the MF, for SELECT P1 08 (empty: the MF)
      enum { kDf, kTransparent, kRecords } kind;
    };
    const File files[] = {
        {"", File::kDf},
        {"2F00", File::kRecords},
        {"2F02", File::kTransparent},
        {"5000", File::kDf},
        {"50005001", File::kTransparent},
        {"50005002", File::kTransparent},
        {"50005003", File::kTransparent},
        {"50005004", File::kRecords},
        {"5015", File::kDf},
        {"50155031", File::kTransparent},
        {"50155032", File::kTransparent},
        {"50154401", File::kTransparent},
        {"50154402", File::kTransparent},
        {"50156430", File::kTransparent},
        {"50156431", File::kTransparent},
    };
    for (const File& f : files) {
      const std::string name = who + " file 3F00" + f.path;
      for (uint8_t p2 : {0x00, 0x04, 0x08, 0x0C}) {
        Bytes select;
        if (*f.path == '\0') {
          select = {0x00, 0xA4, 0x00, p2, 0x02, 0x3F, 0x00};
        } else {
          const Bytes path = H(f.path);
          select = {0x00, 0xA4, 0x08, p2, static_cast<uint8_t>(path.size())};
          Append(select, path);
        }
        if (p2 != 0x0C) select.push_back(0x00);
        const Exchange e = send(name + " SELECT P2 " + ToHex(Bytes{p2}), select);
        EXPECT_EQ(e.sw, 0x9000) << name;
      }
      if (f.kind == File::kTransparent) {
        // In pieces of at most 256 bytes by offset, then all at once with an extended Le.
        uint32_t offset = 0;
        for (int i = 0; i < 300; ++i) {
          const Exchange e = send(name + " READ BINARY at " + std::to_string(offset),
                                  Bytes{0x00, 0xB0, static_cast<uint8_t>(offset >> 8),
                                        static_cast<uint8_t>(offset), 0x00});
          offset += static_cast<uint32_t>(e.data.size());
          if (e.sw != 0x9000 || e.data.empty()) break;
        }
        send(name + " READ BINARY whole", H("00B00000 000000"));
        ++files_read_;
      } else if (f.kind == File::kRecords) {
        for (int rec = 1; rec <= 254; ++rec) {
          const Exchange e = send(name + " READ RECORD " + std::to_string(rec),
                                  Bytes{0x00, 0xB2, static_cast<uint8_t>(rec), 0x04, 0x00});
          if (e.sw != 0x9000) break;
        }
        ++files_read_;
      }
    }
    // The DFs by name (ISO 7816-4 SELECT P1 04), answered by the runtime or the applet.
    send(who + " SELECT DF.DEMO by name", H("00A404000B F0444D4341524444454D4F 00"));
    send(who + " SELECT DF.PKCS15 by name", H("00A404000C A000000063504B43532D3135 00"));
  }

  std::unique_ptr<Card> card_;
  std::vector<KeySet> sets_;
  std::string user_pin_;
  SecretScanner scanner_;
  std::vector<std::string> leaks_;
  size_t scanned_ = 0;
  size_t scanned_bytes_ = 0;
  int files_read_ = 0;
  int joined_ = 0;  // answers that came in more than one piece (61xx)
};

std::string Listed(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += "\n  " + x;
  return s;
}

TEST_F(Req_SEC1_NoResponseCarriesSecrets, DmAppletAsEveryCaller) {
  const Bytes dm_aid = dm::DmApplet::DefaultAid();
  auto plain = [this](const Bytes& apdu) { return Run("DM " + ToHex(apdu), apdu); };

  // The tree as the DM server sees it (Get on everything): the URIs every caller is asked about.
  ASSERT_EQ(Run("SELECT DM", SelectAid(dm_aid)).sw, 0x9000);
  std::vector<std::string> uris;
  {
    HostScp03 host(sets_[1].keys);
    ASSERT_EQ(OpenSession(host, sets_[1].kvn, dm_aid, 0x11), "");
    uris = EnumerateTree([&](const Bytes& apdu) { return RunWrapped("DM", host, apdu); });
  }
  for (const char* secret : {kSrvSecret, kSrvData, kCliSecret, kCliData, kFlaggedLeaf,
                             kStoredSecret, "./DevInfo/Man", "./Vendor/dmcard/UserPrefs/Lang"}) {
    EXPECT_NE(std::find(uris.begin(), uris.end(), secret), uris.end()) << secret;
  }
  EXPECT_GT(uris.size(), 60u);

  // The device and the user: plain commands.
  card_->Reset();
  Run("SELECT DM", SelectAid(dm_aid));
  AllDmCommands(uris, plain);
  card_->Reset();
  Run("SELECT DM", SelectAid(dm_aid));
  ASSERT_EQ(Run("VERIFY user", VerifyPin(0x01, user_pin_)).sw, 0x9000);
  AllDmCommands(uris, plain);

  // Management authorities and the issuer over SCP03 on the DM applet, at a level that MACs the
  // answers (data as it is) and one that encrypts them.
  const struct {
    size_t set;
    uint8_t level;
  } sessions[] = {{1, 0x11}, {1, 0x33}, {0, 0x13}, {2, 0x01}};
  int secret_gets_refused = 0;
  for (const auto& s : sessions) {
    SCOPED_TRACE("key set " + ToHex(Bytes{sets_[s.set].kvn}) + " level " + ToHex(Bytes{s.level}));
    card_->Reset();
    ASSERT_EQ(Run("SELECT DM", SelectAid(dm_aid)).sw, 0x9000);
    HostScp03 host(sets_[s.set].keys);
    ASSERT_EQ(OpenSession(host, sets_[s.set].kvn, dm_aid, s.level), "");
    AllDmCommands(uris, [&](const Bytes& apdu) {
      return RunWrapped("DM as " + sets_[s.set].owner + " " + ToHex(apdu), host, apdu);
    });
    if (s.set == 1) {
      // The account's own server reads and exports the account, but no secret value.
      const Exchange e = RunWrapped("DM export", host, UriCommand(0x3A, 0x00, 0x00, ".", true));
      EXPECT_EQ(e.sw, 0x9000);
      EXPECT_NE(Str(e.data).find("AAuthSecret"), std::string::npos);
      EXPECT_NE(Str(e.data).find("dms.example.test"), std::string::npos);
      for (const char* secret : {kSrvSecret, kCliData, kFlaggedLeaf, kStoredSecret}) {
        secret_gets_refused +=
            RunWrapped("DM", host, UriCommand(0x30, 0x00, 0x00, secret, true)).sw == 0x6982;
      }
    }
  }
  EXPECT_EQ(secret_gets_refused, 8);

  // INITIALIZE UPDATE of every key version, known or not, on the DM applet.
  for (uint8_t kvn : {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x3F}) {
    HostScp03 probe(sets_[0].keys);
    Run("DM INITIALIZE UPDATE " + ToHex(Bytes{kvn}),
        probe.InitializeUpdate(kvn, H("1122334455667788")));
  }

  // Floors, so that a change that silences the card cannot pass unnoticed (this run: 78 URIs,
  // about 11 000 answers and 1.5 MB scanned).
  EXPECT_GT(scanned_, 10000u);
  EXPECT_GT(scanned_bytes_, 1000000u);
  EXPECT_GT(joined_, 100);
  EXPECT_TRUE(leaks_.empty()) << leaks_.size() << " responses carry secrets:" << Listed(leaks_);
}

TEST_F(Req_SEC1_NoResponseCarriesSecrets, FileSystemAndPkcs15AsEveryCaller) {
  const Bytes fs_aid = H(kFsAidHex);
  auto plain = [this](const std::string& label, const Bytes& apdu) { return Run(label, apdu); };
  ASSERT_EQ(Run("SELECT FS", SelectAid(fs_aid)).sw, 0x9000);
  AllFileCommands("device", plain);

  card_->Reset();
  ASSERT_EQ(Run("SELECT FS", SelectAid(fs_aid)).sw, 0x9000);
  ASSERT_EQ(Run("VERIFY user", VerifyPin(0x01, user_pin_)).sw, 0x9000);
  AllFileCommands("user", plain);
  ASSERT_EQ(Run("select EF.SECRET", H("00A4080C04 50005003")).sw, 0x9000);
  EXPECT_EQ(Run("read EF.SECRET", H("00B0000000")).sw, 0x6982);  // read: never

  // The issuer and the management authorities over SCP03 on the file-system applet, at levels
  // with and without R-ENCRYPTION.
  const uint8_t levels[] = {0x33, 0x13, 0x01};  // per key set: issuer, DM server, second server
  for (size_t set = 0; set < sets_.size(); ++set) {
    const std::string& principal = sets_[set].owner;
    SCOPED_TRACE(principal);
    card_->Reset();
    ASSERT_EQ(Run("SELECT FS", SelectAid(fs_aid)).sw, 0x9000);
    HostScp03 host(sets_[set].keys);
    ASSERT_EQ(OpenSession(host, sets_[set].kvn, fs_aid, levels[set]), "");
    auto wrapped = [&](const std::string& label, const Bytes& apdu) {
      return RunWrapped(label, host, apdu);
    };
    AllFileCommands(principal, wrapped);
    if (principal == kDemoServer) {
      // The DM server's bootstrap view holds the account (so the scan above saw real content).
      ASSERT_EQ(wrapped("bootstrap", H("00A4080C04 50154402")).sw, 0x9000);
      const Exchange e = wrapped("bootstrap", H("00B00000 000000"));
      EXPECT_NE(Str(e.data).find("dms.example.test"), std::string::npos);
      EXPECT_NE(Str(e.data).find("SrvCred"), std::string::npos);
    }
  }
  EXPECT_EQ(files_read_, 5 * 12);  // 5 callers, 12 files with content (LwM2M 6430, 6431 included)
  // This run: about 680 answers, 68 kB (EF(DM_Bootstrap), WBXML with inline strings, is a fifth
  // of the TNDS XML it was).
  EXPECT_GT(scanned_bytes_, 60000u);
  EXPECT_TRUE(leaks_.empty()) << leaks_.size() << " responses carry secrets:" << Listed(leaks_);
}

TEST_F(Req_SEC1_NoResponseCarriesSecrets, IssuerSecurityDomain) {
  const Bytes isd = SecurityDomain::IsdAid();
  ASSERT_EQ(Run("SELECT ISD", SelectAid(isd)).sw, 0x9000);
  EXPECT_EQ(Run("GET DATA E0", H("80CA00E000")).sw, 0x9000);
  Run("GET DATA E0 interindustry", H("00CA00E000"));
  for (uint8_t kvn : {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x3F}) {
    HostScp03 probe(sets_[0].keys);
    Run("ISD INITIALIZE UPDATE " + ToHex(Bytes{kvn}),
        probe.InitializeUpdate(kvn, H("1122334455667788")));
  }
  for (size_t set = 0; set < sets_.size(); ++set) {
    for (uint8_t level : {0x01, 0x13, 0x33}) {
      SCOPED_TRACE("key set " + ToHex(Bytes{sets_[set].kvn}) + " level " + ToHex(Bytes{level}));
      card_->Reset();
      ASSERT_EQ(Run("SELECT ISD", SelectAid(isd)).sw, 0x9000);
      HostScp03 host(sets_[set].keys);
      ASSERT_EQ(OpenSession(host, sets_[set].kvn, isd, level), "");
      const Exchange e = RunWrapped("ISD GET DATA E0", host, H("80CA00E000"));
      EXPECT_EQ(e.sw, 0x9000);
      // GP CS §11.3.3.1: C0 04 { key id, KVN, 88 AES, length } for each member of the SCP03
      // sets (30: 16-byte keys, 31: 32, 32: 24, 33 personalized: 16); the other keys are no
      // SCP03 set's.
      EXPECT_EQ(ToHex(e.data),
                "E048"
                "C00401308810C00402308810C00403308810"
                "C00401318820C00402318820C00403318820"
                "C00401328818C00402328818C00403328818"
                "C00401338810C00402338810C00403338810");
    }
  }
  EXPECT_TRUE(leaks_.empty()) << leaks_.size() << " responses carry secrets:" << Listed(leaks_);
}

// ---- the scan can fail ------------------------------------------------------------------------

TEST(SecretScanner, FindsPlantedWindowsInEveryForm) {
  SeededBytes random(7);
  const Bytes key = random.Random(16);
  SecretScanner scanner;
  scanner.Add("key", key);
  const Bytes noise = random.Random(100);
  EXPECT_EQ(scanner.Find(noise), "");

  Bytes raw = noise;
  raw.insert(raw.begin() + 40, key.begin() + 5, key.begin() + 11);  // bytes 5..10 only
  EXPECT_NE(scanner.Find(raw), "");
  Bytes five = noise;
  five.insert(five.begin() + 40, key.begin() + 5, key.begin() + 10);  // 5 bytes: below a window
  EXPECT_EQ(scanner.Find(five), "");

  std::string hex = ToHex(ByteView(key).subspan(3, 6));
  for (char& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_NE(scanner.Find(Ascii("<Value>" + hex + "</Value>")), "");

  // The key inside a longer message, base64-encoded: found whatever the key's alignment.
  for (size_t lead = 0; lead < 3; ++lead) {
    Bytes message = random.Random(lead);
    Append(message, key);
    Append(message, random.Random(3 + (3 - message.size() % 3) % 3));  // whole groups
    const std::string text = Base64Groups(message, false);
    EXPECT_NE(scanner.Find(Ascii("<b64>" + text + "</b64>")), "") << lead;
    EXPECT_NE(scanner.Find(Ascii(Base64Groups(message, true))), "") << lead;
  }
}

// A secret that straddles two GET RESPONSE pieces is found in the joined data, though neither
// piece holds a whole window: Transceive joins them. (The scratch applet echoes its data.)
TEST(SecretScanner, FindsASecretSplitAcross61xx) {
  auto card = testing::MakeTestCard();
  SeededBytes random(8);
  const Bytes secret = random.Random(6);
  SecretScanner scanner;
  scanner.Add("secret", secret);
  Bytes data = Bytes(253, 0x20);  // the secret at 253..258: 3 bytes in each 256-byte piece
  Append(data, secret);
  Append(data, Bytes(41, 0x20));
  // ECHO (80 10) of 300 bytes through command chaining (CLA 90, then 80 with Le 00).
  Bytes first = {0x90, 0x10, 0x00, 0x00, 0xFF};
  first.insert(first.end(), data.begin(), data.begin() + 255);
  ASSERT_EQ(SwOf(card->Transmit(first)), 0x9000);
  Bytes last = {0x80, 0x10, 0x00, 0x00, static_cast<uint8_t>(data.size() - 255)};
  last.insert(last.end(), data.begin() + 255, data.end());
  last.push_back(0x00);
  const Exchange e = Transceive(*card, last);
  ASSERT_EQ(e.sw, 0x9000);
  ASSERT_EQ(e.data, data);
  ASSERT_EQ(e.pieces.size(), 2u);
  EXPECT_EQ(scanner.Find(e.pieces[0]), "");
  EXPECT_EQ(scanner.Find(e.pieces[1]), "");
  EXPECT_NE(scanner.Find(e.data), "");
}

}  // namespace
}  // namespace dmcard
