// The network-signed bootstrap (UC-CR, issue 10 items 1 and 2): the device has the card verify
// the bootstrap message it received with the method the network used. Published MACs (Gecko's
// CP tests, tests/data/dm/bootstrap_mac.data) and MACs and signatures made by OpenSSL on the host
// are accepted; every forgery, replay and lock-out is refused with its status word, an
// event-log entry, a durable failure count and nothing else changed.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "demo_card_apdus.h"
#include "dm/bootstrap.h"
#include "dm/dm_applet.h"
#include "dm/imsi.h"
#include "dm/pkcs15_view.h"
#include "dm/wbxml_scan.h"
#include "host/demo_card.h"
#include "host/openssl_util.h"
#include "host/personalization.h"
#include "host/profile_file.h"
#include "host/wbxml_encode.h"
#include "runtime/event_log.h"
#include "runtime/key_store.h"
#include "runtime/tlv.h"
#include "scp03_test_client.h"
#include "test_applets.h"
#include "vector_file.h"

namespace dmcard {
namespace {

using testing::Ascii;
using testing::DataOf;
using testing::H;
using testing::SwOf;
using namespace ossl;  // NOLINT: the host side of every MAC and signature

constexpr uint8_t kNetwPin = 0x00, kUserPin = 0x01, kUserNetwPin = 0x02, kUserPinMac = 0x03,
                  kHmacSha256 = 0x10, kEcdsa = 0x11;
constexpr uint8_t kHmacKvn = 0x40, kEcKvn = 0x41;
constexpr char kImsi[] = "001010123456789";  // the demo profile's
const Bytes kBody = Ascii("<a WBXML DM bootstrap message as the network sent it>");

// The NETWPIN key, written from OMA ProvBoot's rule (reference-facts.md §2) apart from the card:
// the semi-octets of EF_IMSI without the length byte.
Bytes NetwPinKeyOf(const std::string& imsi) {
  const Bytes ef = HostEfImsi(imsi);
  return Bytes(ef.begin() + 1, ef.begin() + 1 + ef[0]);
}

// VERIFY BOOTSTRAP (apdu-specs/dm.json): 80 42 00 00, TLVs 80 method, 81 body, 82 MAC,
// 83 typed PIN, 84 sequence number, 85 KVN; extended length when the data needs it.
struct Verify {
  uint8_t method = kNetwPin;
  Bytes body = kBody;
  Bytes mac;
  std::string pin;
  std::optional<uint32_t> sequence;
  std::optional<uint8_t> kvn;

  Bytes Apdu() const {
    const Bytes data = Data();
    Bytes c = {0x80,
               0x42,
               0x00,
               0x00,
               0x00,
               static_cast<uint8_t>(data.size() >> 8),
               static_cast<uint8_t>(data.size())};
    Append(c, data);
    c.push_back(0x00);
    c.push_back(0x00);
    return c;
  }
  // The same command as short APDUs with command chaining (ISO 7816-4 §5.1.1.1: CLA b5 on every
  // part but the last), 200 data bytes each.
  std::vector<Bytes> Chained() const {
    const Bytes data = Data();
    std::vector<Bytes> parts;
    for (size_t pos = 0; pos < data.size(); pos += 200) {
      const size_t n = std::min<size_t>(200, data.size() - pos);
      const bool last = pos + n == data.size();
      Bytes c = {static_cast<uint8_t>(last ? 0x80 : 0x90), 0x42, 0x00, 0x00,
                 static_cast<uint8_t>(n)};
      c.insert(c.end(), data.begin() + static_cast<long>(pos),
               data.begin() + static_cast<long>(pos + n));
      if (last) c.push_back(0x00);
      parts.push_back(std::move(c));
    }
    return parts;
  }
  Bytes Data() const {
    Bytes data;
    auto tlv = [&data](uint8_t tag, ByteView v) {
      data.push_back(tag);
      if (v.size() > 255) {
        data.push_back(0x82);
        data.push_back(static_cast<uint8_t>(v.size() >> 8));
      } else if (v.size() > 127) {
        data.push_back(0x81);
      }
      data.push_back(static_cast<uint8_t>(v.size()));
      Append(data, v);
    };
    tlv(0x80, Bytes{method});
    tlv(0x81, body);
    if (!mac.empty()) tlv(0x82, mac);
    if (!pin.empty()) tlv(0x83, Ascii(pin));
    if (sequence) {
      Bytes s;
      AppendU32(s, *sequence);
      tlv(0x84, s);
    }
    if (kvn) tlv(0x85, Bytes{*kvn});
    return data;
  }
};

Bytes HexText(ByteView mac, bool lower = false) {
  std::string hex = ToHex(mac);
  if (lower) {
    for (char& ch : hex) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  return Ascii(hex);
}

class Req_UCCR_VerifyBootstrap : public ::testing::Test {
 protected:
  void SetUp() override { Build(kImsi, /*limit=*/4); }

  void Build(const std::string& imsi, uint8_t limit) {
    profile_ = DemoProfile();
    profile_.imsi = imsi;
    profile_.bootstrap_failure_limit = limit;
    medium_ = std::make_shared<RamMedium>();
    Rebuild();
    LoadOperatorKeys();
  }
  void Rebuild() {
    card_.reset();
    std::string error;
    const uint8_t seed[16] = {0xB0, 0x07};
    card_ = MakeCard(
        profile_, CardConfigFor(profile_),
        Platform{medium_, crypto::Drbg::FromSeed(seed), [] { return int64_t{1700000000}; }}, error);
    ASSERT_TRUE(card_) << error;
    card_->PowerOn();
    ASSERT_EQ(SwOf(card_->Transmit(testing::SelectAid(dm::DmApplet::DefaultAid()))), 0x9000);
  }
  // The operator's keys (usage bootstrap verification): an HMAC-SHA256 secret and the public
  // half of an EC P-256 key pair OpenSSL made.
  void LoadOperatorKeys() {
    ec_ = OsslNewP256();
    const Bytes pub = OsslEcPublicKey(ec_.get());
    ASSERT_EQ(pub.size(), 65u);
    PersistentStore& store = card_->store();
    store.Begin();
    KeyLoader loader(store);
    KeySpec hmac;
    hmac.type = KeyType::kHmacSecret;
    hmac.usage = KeyUsage::kBootstrapVerification;
    hmac.kvn = kHmacKvn;
    hmac.id = 0x01;
    hmac.owner = kIssuerPrincipal;
    EXPECT_EQ(loader.Load(hmac, hmac_key_), CryptoStatus::kOk);
    KeySpec ec = hmac;
    ec.type = KeyType::kEcP256Public;
    ec.kvn = kEcKvn;
    EXPECT_EQ(loader.Load(ec, pub), CryptoStatus::kOk);
    ASSERT_EQ(store.Commit(), StoreStatus::kOk);
  }

  Bytes Send(const Verify& v) { return card_->Transmit(v.Apdu()); }
  uint16_t Sw(const Verify& v) { return SwOf(Send(v)); }

  // Good requests for each method, made on the host.
  Verify NetwPin(const Bytes& body = kBody) {
    Verify v;
    v.body = body;
    v.mac = HexText(OsslMac("HMAC", "SHA1", NetwPinKeyOf(kImsi), body));
    return v;
  }
  Verify UserNetwPin(const std::string& pin) {
    Verify v;
    v.method = kUserNetwPin;
    v.pin = pin;
    Bytes key = NetwPinKeyOf(kImsi);
    Append(key, Ascii(pin));
    v.mac = HexText(OsslMac("HMAC", "SHA1", key, v.body), /*lower=*/true);
    return v;
  }
  // USERPINMAC: the user types the n-digit key and n check digits, HMAC[i] mod 10.
  Verify UserPinMac(const std::string& key) {
    Verify v;
    v.method = kUserPinMac;
    const Bytes mac = OsslMac("HMAC", "SHA1", Ascii(key), v.body);
    v.pin = key;
    for (size_t i = 0; i < key.size(); ++i) v.pin += static_cast<char>('0' + mac[i] % 10);
    return v;
  }
  // An operator method's request, and what its MAC or signature covers: sequence || message.
  static Verify Sequenced(uint8_t method, uint32_t sequence) {
    Verify v;
    v.method = method;
    v.sequence = sequence;
    return v;
  }
  static Bytes Signed(const Verify& v) {
    Bytes data;
    AppendU32(data, *v.sequence);
    Append(data, v.body);
    return data;
  }
  Verify Hmac256(uint32_t sequence) {
    Verify v = Sequenced(kHmacSha256, sequence);
    v.mac = OsslMac("HMAC", "SHA256", hmac_key_, Signed(v));
    return v;
  }
  Verify Ecdsa(uint32_t sequence, EVP_PKEY* key = nullptr) {
    Verify v = Sequenced(kEcdsa, sequence);
    v.mac = OsslDerToRaw(OsslSignDer(key ? key : ec_.get(), OsslDigest("SHA256", Signed(v))));
    return v;
  }

  // Every record but the event log, the verification state (failures, last sequence) and the
  // keys' use counters, as name=hex lines.
  std::string State() {
    std::string s;
    for (const std::string& k : card_->store().Keys("")) {
      if (k.rfind("card/log/", 0) == 0 || k == "dm/bootstrap" ||
          (k.size() > 5 && k.compare(k.size() - 5, 5, "/uses") == 0)) {
        continue;
      }
      s += k + "=" + ToHex(*card_->store().Get(k)) + "\n";
    }
    return s;
  }
  std::vector<Event> Log() { return card_->log().Read(0, 1000); }

  Profile profile_;
  std::shared_ptr<RamMedium> medium_;
  std::unique_ptr<Card> card_;
  const Bytes hmac_key_ = Ascii("OPERATOR-NOT-REAL-HMAC-KEY-32-BY");
  PkeyPtr ec_;
};

TEST_F(Req_UCCR_VerifyBootstrap, PublishedMacsAreValid) {
  // reference-facts.md §2 (Intel/ACCESS CPClient, Gecko): IMSI 123456789012345 → this key.
  EXPECT_EQ(ToHex(dm::NetwPinKey(*dm::EfImsiFromDigits("123456789012345")).value_or(Bytes{})),
            "1932547698103254");
  for (const testing::VectorCase& v : testing::LoadVectorFile("dm/bootstrap_mac.data")) {
    SCOPED_TRACE(v.Where());
    Build(v.Has("imsi_ascii") ? testing::Str(v.Get("imsi_ascii")) : kImsi, 4);
    for (bool lower : {false, true}) {
      Verify req;
      req.method = v.Get("method")[0];
      req.body = v.Get("body");
      req.mac = HexText(v.Get("mac"), lower);
      if (v.Has("pin_ascii")) req.pin = testing::Str(v.Get("pin_ascii"));
      // Valid; the answer carries the card's bootstrap flags (demo: 02 user confirmation,
      // 04 connect autonomously).
      EXPECT_EQ(ToHex(Send(req)), "8401069000");
      req.body.back() ^= 0x01;  // one bit of the message changed
      EXPECT_EQ(SwOf(Send(req)) & 0xFFF0, 0x63C0);
    }
  }
}

TEST_F(Req_UCCR_VerifyBootstrap, MacsAndSignaturesMadeByOpenSslAreValid) {
  EXPECT_EQ(ToHex(Send(NetwPin())), "8401069000");
  EXPECT_EQ(ToHex(Send(UserNetwPin("2468"))), "8401069000");
  EXPECT_EQ(ToHex(Send(UserPinMac("13579"))), "8401069000");
  EXPECT_EQ(ToHex(Send(UserPinMac("9876543210"))), "8401069000");
  // One sequence for every operator message: each verification uses its number up.
  EXPECT_EQ(ToHex(Send(Hmac256(1))), "8401069000");
  EXPECT_EQ(ToHex(Send(Ecdsa(2))), "8401069000");
  Verify by_kvn = Ecdsa(3);
  by_kvn.kvn = kEcKvn;
  EXPECT_EQ(ToHex(Send(by_kvn)), "8401069000");
  // A message of several short APDUs' size: extended length, or command chaining.
  EXPECT_EQ(ToHex(Send(NetwPin(Bytes(3000, 0x5A)))), "8401069000");
  const std::vector<Bytes> parts = NetwPin(Bytes(1000, 0xA5)).Chained();
  ASSERT_GT(parts.size(), 4u);
  for (size_t i = 0; i + 1 < parts.size(); ++i) EXPECT_EQ(ToHex(card_->Transmit(parts[i])), "9000");
  EXPECT_EQ(ToHex(card_->Transmit(parts.back())), "8401069000");
  // Accepted verifications are logged.
  std::vector<Event> log = Log();
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back().kind, EventKind::kBootstrapAccepted);
  EXPECT_EQ(log.back().principal, "@device");
}

// Each refusal: its status word, a kBootstrapRejected entry with its reason, and nothing else
// changed.
TEST_F(Req_UCCR_VerifyBootstrap, ForgeriesReplaysAndUnknownKeysAreRefusedAndLogged) {
  ASSERT_EQ(SwOf(Send(Hmac256(6))), 0x9000);
  ASSERT_EQ(SwOf(Send(Ecdsa(7))), 0x9000);
  PkeyPtr other = OsslNewP256();
  struct Case {
    const char* what;
    Verify request;
    uint16_t sw;  // 63C0 stands for any 63Cx
    dm::BootstrapRefusal reason;
  };
  Verify wrong_mac = NetwPin();
  wrong_mac.mac[0] = wrong_mac.mac[0] == 'A' ? 'B' : 'A';
  Verify tampered = NetwPin();
  tampered.body.push_back(0x00);
  Verify wrong_method = NetwPin();
  wrong_method.method = kUserNetwPin;
  wrong_method.pin = "1234";
  Verify wrong_pin = UserNetwPin("2468");
  wrong_pin.pin = "2469";
  Verify userpin = UserNetwPin("1111");  // made with the NETWPIN key + PIN: not USERPIN's
  userpin.method = kUserPin;
  Verify wrong_digits = UserPinMac("13579");
  wrong_digits.pin.back() = wrong_digits.pin.back() == '0' ? '1' : '0';
  Verify wrong_kvn = Hmac256(8);
  wrong_kvn.kvn = 0x42;
  Verify ec_as_hmac_kvn = Ecdsa(8);
  ec_as_hmac_kvn.kvn = kHmacKvn;  // that KVN holds no EC key
  const Case cases[] = {
      {"wrong MAC", wrong_mac, 0x63C0, dm::BootstrapRefusal::kWrongMac},
      {"tampered body", tampered, 0x63C0, dm::BootstrapRefusal::kWrongMac},
      {"wrong method", wrong_method, 0x63C0, dm::BootstrapRefusal::kWrongMac},
      {"wrong PIN (USERNETWPIN)", wrong_pin, 0x63C0, dm::BootstrapRefusal::kWrongMac},
      {"wrong PIN (USERPIN)", userpin, 0x63C0, dm::BootstrapRefusal::kWrongMac},
      {"wrong digits (USERPINMAC)", wrong_digits, 0x63C0, dm::BootstrapRefusal::kWrongMac},
      {"replayed message (HMAC)", Hmac256(6), 0x6985, dm::BootstrapRefusal::kReplayed},
      {"replayed message (ECDSA)", Ecdsa(7), 0x6985, dm::BootstrapRefusal::kReplayed},
      {"older sequence number", Hmac256(5), 0x6985, dm::BootstrapRefusal::kReplayed},
      {"signature by another key", Ecdsa(9, other.get()), 0x63C0, dm::BootstrapRefusal::kWrongMac},
      {"wrong key version", wrong_kvn, 0x6A88, dm::BootstrapRefusal::kNoKey},
      {"a KVN without a key of the method's type", ec_as_hmac_kvn, 0x6A88,
       dm::BootstrapRefusal::kNoKey},
  };
  uint32_t next = 100;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    ASSERT_EQ(SwOf(Send(Hmac256(next++))), 0x9000);  // a valid one clears the failures
    const auto before = State();
    const size_t logged = Log().size();
    const uint16_t sw = SwOf(Send(c.request));
    if (c.sw == 0x63C0) {
      EXPECT_EQ(sw & 0xFFF0, 0x63C0) << std::hex << sw;
    } else {
      EXPECT_EQ(sw, c.sw);
    }
    EXPECT_TRUE(State() == before) << "the refusal changed the card";
    const std::vector<Event> log = Log();
    ASSERT_EQ(log.size(), logged + 1);
    EXPECT_EQ(log.back().kind, EventKind::kBootstrapRejected);
    EXPECT_EQ(log.back().reason, static_cast<uint8_t>(c.reason));
    EXPECT_EQ(log.back().detail, Bytes{c.request.method});
  }
  // Malformed requests: 6A80 (nothing counted, nothing logged).
  const size_t logged = Log().size();
  Verify no_pin = UserNetwPin("2468");
  no_pin.pin.clear();
  Verify short_mac = NetwPin();
  short_mac.mac.pop_back();
  Verify not_hex = NetwPin();
  not_hex.mac[3] = 'G';
  Verify seq_for_oma = NetwPin();
  seq_for_oma.sequence = 1;
  Verify odd_digits = UserPinMac("13579");
  odd_digits.pin.pop_back();
  Verify unknown_method = NetwPin();
  unknown_method.method = 0x04;
  for (const Verify& v : {no_pin, short_mac, not_hex, seq_for_oma, odd_digits, unknown_method}) {
    EXPECT_EQ(SwOf(Send(v)), 0x6A80);
  }
  EXPECT_EQ(SwOf(card_->Transmit(H("8042020000"))), 0x6A86);
  EXPECT_EQ(Log().size(), logged);
}

// Failures are counted before the proof is checked and survive a power cycle; at the limit the
// card refuses even a valid message until the issuer resets the count (DGI 0104).
TEST_F(Req_UCCR_VerifyBootstrap, FailuresLockOutUntilTheIssuerResets) {
  Verify bad = NetwPin();
  bad.body.push_back(0x01);
  EXPECT_EQ(SwOf(Send(bad)), 0x63C3);  // limit 4: three more
  EXPECT_EQ(SwOf(Send(bad)), 0x63C2);
  Rebuild();
  EXPECT_EQ(SwOf(Send(bad)), 0x63C1) << "the count survived the power cycle";
  EXPECT_EQ(SwOf(Send(bad)), 0x63C0);
  const std::string before = State();
  const Bytes locked_record = *card_->store().Get("dm/bootstrap");
  EXPECT_EQ(SwOf(Send(NetwPin())), 0x6983) << "locked out: even a valid message";
  EXPECT_TRUE(State() == before) << "the refusal changed the card";
  EXPECT_EQ(*card_->store().Get("dm/bootstrap"), locked_record) << "nothing more counted";
  const std::vector<Event> log = Log();
  EXPECT_EQ(log.back().reason, static_cast<uint8_t>(dm::BootstrapRefusal::kLockedOut));
  Rebuild();
  EXPECT_EQ(SwOf(Send(NetwPin())), 0x6983);
  // The issuer resets it (and may set another limit).
  testing::Scp03TestClient issuer(*card_, {0x30, testing::DemoIssuerKeys()});
  ASSERT_EQ(issuer.Open(dm::DmApplet::DefaultAid()), "");
  std::string error;
  const std::optional<std::vector<Bytes>> blocks =
      StoreDataCommands({{0x0104, Bytes{0x02}}}, error);
  ASSERT_TRUE(blocks) << error;
  for (const Bytes& block : *blocks) {
    ASSERT_EQ(SwOf(issuer.Transmit(block)), 0x9000);
  }
  ASSERT_EQ(SwOf(card_->Transmit(testing::SelectAid(dm::DmApplet::DefaultAid()))), 0x9000);
  EXPECT_EQ(SwOf(Send(bad)), 0x63C1);  // the new limit: 2
  EXPECT_EQ(ToHex(Send(NetwPin())), "8401069000");
}

// A card without an IMSI cannot check NETWPIN (6A88, not counted as a failure).
TEST_F(Req_UCCR_VerifyBootstrap, NoImsiNoNetwPin) {
  profile_.imsi.clear();
  medium_ = std::make_shared<RamMedium>();
  Rebuild();
  EXPECT_EQ(SwOf(Send(NetwPin())), 0x6A88);
  EXPECT_EQ(ToHex(Send(UserPinMac("13579"))), "8401069000");
}

// A power cut at every write of a failed verification: afterwards the failures counted are the
// ones before or one more, never fewer.
TEST(Req_UCCR_VerifyBootstrapTear, TheFailureCountNeverGoesBackwards) {
  Profile profile = DemoProfile();
  profile.bootstrap_failure_limit = 9;
  Verify bad;
  bad.mac = Ascii(std::string(40, '0'));
  auto run = [&](std::optional<uint64_t> cut, bool& was_cut) -> uint16_t {
    auto ram = std::make_shared<RamMedium>();
    auto faulty = std::make_shared<FaultInjectingMedium>(ram);
    std::string error;
    const uint8_t seed[16] = {1};
    {
      auto card = MakeCard(profile, CardConfigFor(profile),
                           Platform{faulty, crypto::Drbg::FromSeed(seed)}, error);
      EXPECT_TRUE(card) << error;
      card->PowerOn();
      EXPECT_EQ(SwOf(card->Transmit(testing::SelectAid(dm::DmApplet::DefaultAid()))), 0x9000);
      EXPECT_EQ(SwOf(card->Transmit(bad.Apdu())), 0x63C8);  // one failure before the cut
      if (cut) faulty->CutPowerAfter(*cut);
      card->Transmit(bad.Apdu());
      was_cut = faulty->power_cut();
    }
    auto card = MakeCard(profile, CardConfigFor(profile),
                         Platform{ram, crypto::Drbg::FromSeed(seed)}, error);
    EXPECT_TRUE(card) << error;
    card->PowerOn();
    EXPECT_EQ(SwOf(card->Transmit(testing::SelectAid(dm::DmApplet::DefaultAid()))), 0x9000);
    return SwOf(card->Transmit(bad.Apdu()));  // 63Cx: x = tries left after this one
  };
  bool was_cut = false;
  for (uint64_t cut = 0; cut < 50; ++cut) {
    const uint16_t sw = run(cut, was_cut);
    SCOPED_TRACE("cut after " + std::to_string(cut) + " writes");
    // 1 or 2 failures before this verification (the cut one not counted, or counted): 63C7 or
    // 63C6 after it, never more tries left.
    EXPECT_TRUE(sw == 0x63C7 || sw == 0x63C6) << std::hex << sw;
    if (!was_cut) {
      EXPECT_EQ(sw, 0x63C6);
      break;
    }
  }
  EXPECT_FALSE(was_cut);
}

// ---- install on acceptance (issue 10 item 3) ----------------------------------------------------

// A DM bootstrap message (OMA-TS-DM_Bootstrap: SyncML DM 1.2) as a network would send it, made
// here (self-generated, not a published example): an Add of a second DM account as TNDS and a
// Replace of one leaf, encoded to WBXML with libwbxml2 (the TNDS embedded as WBXML).
const char kBootstrapXml[] = R"(<SyncML xmlns="SYNCML:SYNCML1.2">
<SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>
<Target><LocURI>IMEI:000000000000000</LocURI></Target>
<Source><LocURI>https://dms2.example.test/dm</LocURI></Source></SyncHdr>
<SyncBody>
<Add><CmdID>1</CmdID><Item>
<Meta><Format xmlns="syncml:metinf">xml</Format>
<Type xmlns="syncml:metinf">application/vnd.syncml.dmtnds+xml</Type></Meta>
<Data><MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD>
<Node><NodeName>Second</NodeName><Path>./DMAcc</Path>
<RTProperties><ACL>Get=dms2.example.test</ACL><Format><node/></Format></RTProperties>
<Node><NodeName>ServerID</NodeName><RTProperties><Format><chr/></Format></RTProperties>
<Value>dms2.example.test</Value></Node>
<Node><NodeName>Name</NodeName><RTProperties><Format><chr/></Format></RTProperties>
<Value>second DM server (test)</Value></Node>
</Node></MgmtTree></Data></Item></Add>
<Replace><CmdID>2</CmdID><Item><Target><LocURI>./DevInfo/Lang</LocURI></Target>
<Meta><Format xmlns="syncml:metinf">chr</Format></Meta><Data>fr-FR</Data></Item></Replace>
<Final/>
</SyncBody></SyncML>)";

class Req_UCCR_InstallBootstrap : public Req_UCCR_VerifyBootstrap {
 protected:
  void SetUp() override {
    Req_UCCR_VerifyBootstrap::SetUp();
    std::string error;
    message_ = XmlToWbxml(kBootstrapXml, error).value_or(Bytes{});
    ASSERT_FALSE(message_.empty()) << error;
  }
  Bytes Install(Verify v) {
    Bytes c = v.Apdu();
    c[2] = 0x01;  // P1 01: verify and install
    return card_->Transmit(c);
  }
  // The tree as a device sees it change: the descriptor's generation (82) and digest (83).
  std::string TreeFingerprint() {
    const Bytes r = card_->Transmit(H("80CA00A500"));
    EXPECT_EQ(SwOf(r), 0x9000);
    const Bytes data = DataOf(r);
    const std::optional<std::vector<Tlv>> top = ParseTlvs(data);
    if (!top || top->empty()) return "?";
    const std::optional<std::vector<Tlv>> fields = ParseTlvs((*top)[0].value);
    std::string out;
    for (const Tlv& t : fields.value_or(std::vector<Tlv>{})) {
      if (t.tag == 0x82 || t.tag == 0x83) out += ToHex(t.value) + " ";
    }
    return out;
  }
  std::string Value(const std::string& uri) {
    dm::MoTree tree(card_->ViewOf(static_cast<size_t>(card_->selected_applet(0))),
                    dm::DmApplet::kKeyPrefix, {});
    const std::optional<dm::Node> n = tree.Read(uri);
    return n ? testing::Str(n->value) : "(none)";
  }
  Bytes message_;
};

TEST_F(Req_UCCR_InstallBootstrap, AVerifiedMessageIsInstalledInOneStep) {
  const std::string before = TreeFingerprint();
  EXPECT_EQ(Value("./DevInfo/Lang"), "en-US");  // profiles/demo/tree.xml
  EXPECT_EQ(ToHex(Install(NetwPin(message_))), "8401069000");
  EXPECT_EQ(Value("./DMAcc/Second/ServerID"), "dms2.example.test");
  EXPECT_EQ(Value("./DMAcc/Second/Name"), "second DM server (test)");
  EXPECT_EQ(Value("./DevInfo/Lang"), "fr-FR");
  EXPECT_NE(TreeFingerprint(), before) << "the generation and digest move";
  const std::vector<Event> log = Log();
  EXPECT_EQ(log.back().kind, EventKind::kBootstrapAccepted);
  EXPECT_EQ(log.back().detail, (Bytes{kNetwPin, 0x01})) << "method, installed";
}

TEST_F(Req_UCCR_InstallBootstrap, TamperedReplayedOrUnreadableMessagesInstallNothing) {
  ASSERT_EQ(ToHex(Send(Hmac256(50))), "8401069000");
  const std::string before = TreeFingerprint();
  // Tampered: one letter of a value changed after the MAC was made (still a readable message).
  Verify tampered = NetwPin(message_);
  const std::string text(tampered.body.begin(), tampered.body.end());
  const size_t at = text.find("second DM server");
  ASSERT_NE(at, std::string::npos);
  tampered.body[at] = 'S';
  EXPECT_EQ(SwOf(Install(tampered)) & 0xFFF0, 0x63C0);
  // Replayed: the operator's message with a used sequence number.
  Verify replay = Hmac256(50);
  replay.body = message_;
  replay.mac = OsslMac("HMAC", "SHA256", hmac_key_, Signed(replay));
  EXPECT_EQ(SwOf(Install(replay)), 0x6985);
  // Locked out.
  // Unreadable: a valid MAC over something that is not a bootstrap message (6A80, not counted).
  EXPECT_EQ(SwOf(Install(NetwPin(Ascii("not WBXML")))), 0x6A80);
  std::string error;
  EXPECT_EQ(SwOf(Install(NetwPin(
                XmlToWbxml(
                    "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncBody><Delete><CmdID>1</CmdID><Item>"
                    "<Target><LocURI>./DMAcc</LocURI></Target></Item></Delete></SyncBody></SyncML>",
                    error)
                    .value_or(Bytes{})))),
            0x6A80)
      << "a Delete in a bootstrap";
  EXPECT_EQ(TreeFingerprint(), before);
  EXPECT_EQ(Value("./DMAcc/Second/ServerID"), "(none)");
  // The same message, untouched and fresh, installs.
  Verify fresh = Hmac256(51);
  fresh.body = message_;
  fresh.mac = OsslMac("HMAC", "SHA256", hmac_key_, Signed(fresh));
  EXPECT_EQ(ToHex(Install(fresh)), "8401069000");
  EXPECT_EQ(Value("./DMAcc/Second/ServerID"), "dms2.example.test");
}

// The message is untrusted input: its WBXML, and the TNDS embedded in it, pass the structural
// scan before libwbxml2 sees them (dm/wbxml_scan.h).
// The bootstrap message the card writes into EF(DM_Bootstrap) (dm/bootstrap_export.h) is one its
// own VERIFY BOOTSTRAP install reads (issue 12 item 2: generator and decoder agree): installed on
// a card whose tree is empty, it gives back every value but the secrets, which it never carries.
TEST_F(Req_UCCR_InstallBootstrap, TheCardsOwnBootstrapMessageInstalls) {
  Bytes message;
  std::vector<dm::Node> exported;
  {
    const dm::MoTree tree(card_->ViewOf(static_cast<size_t>(card_->selected_applet(0))),
                          dm::DmApplet::kKeyPrefix, {});
    message = dm::DmBootstrapFile(tree, dm::Principal::Device());
    for (const dm::BootstrapObject& o : dm::SelectBootstrapObjects(tree, dm::Principal::Device())) {
      exported.insert(exported.end(), o.nodes.begin(), o.nodes.end());
    }
  }
  ASSERT_FALSE(message.empty());
  profile_.tree_xml = R"(<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD></MgmtTree>)";
  medium_ = std::make_shared<RamMedium>();
  Rebuild();
  ASSERT_EQ(Value("./DMAcc/DMCardTest/ServerID"), "(none)");
  const Bytes r = Install(NetwPin(message));
  EXPECT_EQ(SwOf(r), 0x9000) << ToHex(r);
  size_t leaves = 0;
  for (const dm::Node& n : exported) {
    if (n.interior) continue;
    ++leaves;
    EXPECT_EQ(Value(n.uri), n.props.secret ? "" : testing::Str(n.value)) << n.uri;
  }
  EXPECT_GE(leaves, 15u);
  EXPECT_EQ(Value("./DMAcc/DMCardTest/ServerID"), "dmcard.example.test");
}

TEST_F(Req_UCCR_InstallBootstrap, TheEmbeddedTndsIsScannedBeforeLibwbxmlSeesIt) {
  EXPECT_EQ(dm::ScanWbxml(message_, dm::WbxmlScan::kSyncMl), "");
  EXPECT_NE(dm::ScanWbxml(message_, dm::WbxmlScan::kTnds), "") << "TNDS opaque data holds no NUL";
  // The embedded document (OPAQUE C3, its length, then WBXML 1.2: 02 00 00 6A) with a version
  // byte no WBXML has: no longer a document, and its NUL bytes are refused.
  Bytes damaged = message_;
  const Bytes inner = {0x02, 0x00, 0x00, 0x6A};
  const auto at = std::search(damaged.begin() + 4, damaged.end(), inner.begin(), inner.end());
  ASSERT_NE(at, damaged.end());
  *at = 0x07;
  EXPECT_NE(dm::ScanWbxml(damaged, dm::WbxmlScan::kSyncMl), "");
  EXPECT_EQ(SwOf(Install(NetwPin(damaged))), 0x6A80);
  // An embedded document without a single NUL byte still gets the scan: WBXML 1.3, public id 01,
  // UTF-8, a 1-byte string table, then ENTITY 0x80000001, which libwbxml2 asserts on (issue 7
  // item 6a). Inside an outer SyncML 1.2 document (public id 0x1201) as OPAQUE.
  const Bytes no_nul = H("03 01 6A 01 41 45 02 88 80 80 80 01 01");
  Bytes outer = H("02 A4 01 6A 00 6D C3");
  outer.push_back(static_cast<uint8_t>(no_nul.size()));
  Append(outer, no_nul);
  outer.push_back(0x01);
  EXPECT_NE(dm::ScanWbxml(outer, dm::WbxmlScan::kSyncMl), "");
}

// A power cut at every write of an install: after power-up the card shows the old tree or the
// new one, never a part of the message.
TEST_F(Req_UCCR_InstallBootstrap, PowerCutAtEveryWriteLeavesTheOldTreeOrTheNew) {
  const Bytes request = [&] {
    Bytes c = NetwPin(message_).Apdu();
    c[2] = 0x01;
    return c;
  }();
  auto run = [&](std::optional<uint64_t> cut, bool& was_cut) {
    auto ram = std::make_shared<RamMedium>();
    auto faulty = std::make_shared<FaultInjectingMedium>(ram);
    medium_ = ram;
    {
      std::string error;
      const uint8_t seed[16] = {0xB0, 0x07};
      auto card = MakeCard(
          profile_, CardConfigFor(profile_),
          Platform{faulty, crypto::Drbg::FromSeed(seed), [] { return int64_t{1700000000}; }},
          error);
      EXPECT_TRUE(card) << error;
      card->PowerOn();
      EXPECT_EQ(SwOf(card->Transmit(testing::SelectAid(dm::DmApplet::DefaultAid()))), 0x9000);
      if (cut) faulty->CutPowerAfter(*cut);
      card->Transmit(request);
      was_cut = faulty->power_cut();
    }
    Rebuild();  // on `ram`, the medium as the cut left it
    return TreeFingerprint() + Value("./DMAcc/Second/Name") + "|" + Value("./DevInfo/Lang");
  };
  bool was_cut = false;
  const std::string old_tree = run(0, was_cut);
  ASSERT_TRUE(was_cut);
  const std::string new_tree = run(std::nullopt, was_cut);
  ASSERT_FALSE(was_cut);
  ASSERT_NE(old_tree, new_tree);
  int cuts = 0;
  for (uint64_t cut = 0; cut < 100; ++cut) {
    const std::string now = run(cut, was_cut);
    EXPECT_TRUE(now == old_tree || now == new_tree) << "cut after " << cut << " writes: " << now;
    if (!was_cut) break;
    ++cuts;
  }
  EXPECT_FALSE(was_cut);
  EXPECT_GE(cuts, 2);  // the attempt counted first (durable), then the install
}

}  // namespace
}  // namespace dmcard
