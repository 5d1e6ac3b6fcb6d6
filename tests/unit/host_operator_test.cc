// The operator's side of the network-signed bootstrap (host/operator.h, issue 11): keys made by
// keygen load back from their files; the host's NETWPIN and USERPIN MACs match the published
// Gecko vectors (tests/data/dm/bootstrap_mac.data); the demo card, given the operator keys by
// personalization (DGI 8402 over the issuer's SCP03 session), accepts the host-made bootstrap for
// every method, installs it, and refuses a tampered one; the ECDSA signature verifies with
// OpenSSL on the host too.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "demo_card_apdus.h"
#include "demo_card_in_ram.h"
#include "dm/bootstrap_message.h"
#include "dm/dm_applet.h"
#include "host/demo_card.h"
#include "host/openssl_util.h"
#include "host/operator.h"
#include "host/personalization.h"
#include "host/wbxml_encode.h"
#include "scp03_test_client.h"
#include "test_applets.h"
#include "vector_file.h"

namespace dmcard {
namespace {

using dm::BootstrapMethod;
using testing::Ascii;
using testing::DataOf;
using testing::H;
using testing::SwOf;

constexpr char kImsi[] = "001010123456789";  // the demo profile's

// A TNDS document an operator would bootstrap: a second DM account (self-generated).
constexpr char kTnds[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<MgmtTree><VerDTD>1.2</VerDTD>
<Node><NodeName>Operator</NodeName><Path>./DMAcc</Path>
<RTProperties><ACL>Get=*</ACL><Format><node/></Format></RTProperties>
<Node><NodeName>ServerID</NodeName><RTProperties><Format><chr/></Format></RTProperties>
<Value>dms-op.example.test</Value></Node>
</Node></MgmtTree>)";

// A scratch directory for key files, removed afterwards.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("dmcard-operator-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

unsigned Mode(const std::filesystem::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? static_cast<unsigned>(st.st_mode & 0777) : 0;
}

TEST(HostOperator, KeygenFilesLoadBackAndThePublicKeyMatchesThePrivate) {
  std::string error;
  const std::optional<OperatorKeys> keys = MakeOperatorKeys(error);
  ASSERT_TRUE(keys) << error;
  EXPECT_EQ(keys->hmac_secret.size(), 32u);
  ASSERT_EQ(keys->ec_public().size(), 65u);

  TempDir dir;
  const OperatorKeyFiles files = OperatorKeyFiles::In(dir.path());
  ASSERT_TRUE(WriteOperatorKeys(*keys, files, error)) << error;
  EXPECT_EQ(Mode(files.hmac_secret), 0600u);
  EXPECT_EQ(Mode(files.ec_private_pem), 0600u);
  EXPECT_EQ(Mode(files.ec_public_pem), 0644u);

  const std::optional<OperatorKeys> back = ReadOperatorKeys(files, error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(ToHex(back->hmac_secret), ToHex(keys->hmac_secret));
  EXPECT_EQ(ToHex(back->ec_public()), ToHex(keys->ec_public()));
  const ossl::PkeyPtr pub = ReadEcPublicKeyPem(files.ec_public_pem, error);
  ASSERT_TRUE(pub) << error;
  EXPECT_EQ(ToHex(ossl::OsslEcPublicKey(pub.get())), ToHex(keys->ec_public()));
  // The public key is the private scalar's (OpenSSL's EVP_PKEY_eq on the pair and the public).
  EXPECT_EQ(EVP_PKEY_eq(back->ec.get(), pub.get()), 1);

  // An operator key is never overwritten, and a second keygen makes other keys.
  const std::optional<OperatorKeys> other = MakeOperatorKeys(error);
  ASSERT_TRUE(other);
  EXPECT_NE(ToHex(other->hmac_secret), ToHex(keys->hmac_secret));
  EXPECT_FALSE(WriteOperatorKeys(*other, files, error));
  EXPECT_NE(error.find("never overwritten"), std::string::npos) << error;
  EXPECT_EQ(ToHex(ReadOperatorKeys(files, error)->hmac_secret), ToHex(keys->hmac_secret));

  // A public key file is not a private key.
  EXPECT_FALSE(ReadOperatorKeys({files.hmac_secret, files.ec_public_pem, {}}, error));
}

TEST(HostOperator, OmaMacsMatchThePublishedGeckoVectors) {
  const std::vector<testing::VectorCase> cases = testing::LoadVectorFile("dm/bootstrap_mac.data");
  ASSERT_EQ(cases.size(), 2u);
  for (const testing::VectorCase& v : cases) {
    SCOPED_TRACE(v.Where());
    BootstrapSecrets secrets;
    if (v.Has("imsi_ascii")) secrets.imsi = testing::Str(v.Get("imsi_ascii"));
    if (v.Has("pin_ascii")) secrets.user_pin = testing::Str(v.Get("pin_ascii"));
    std::string error;
    const auto method = static_cast<BootstrapMethod>(v.Get("method").at(0));
    const std::optional<BootstrapProof> proof =
        ProveBootstrap(v.Get("body"), method, secrets, error);
    ASSERT_TRUE(proof) << error;
    EXPECT_EQ(testing::Str(proof->mac), ToHex(v.Get("mac")));
  }
  // The NETWPIN key of Gecko's IMSI 466923103145252 (CP.Authenticator.formatImsi).
  EXPECT_EQ(ToHex(NetwPinKey("466923103145252")), "4966291330412525");
  EXPECT_TRUE(NetwPinKey("12345").empty());
  EXPECT_TRUE(NetwPinKey("00101012345678a").empty());
}

// Found by the bootstrap_message fuzz target (fuzz/regressions/bootstrap_message/): a TNDS
// document without nodes made a message every card refuses ("<Add> without items"), signed all
// the same. The tool now checks the document as the card reads it, before it builds anything.
TEST(HostOperator, BootstrapMessagesAreBuiltOnlyFromDocumentsTheCardReads) {
  std::string error;
  EXPECT_FALSE(BuildBootstrapMessage(
      Ascii("<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD></MgmtTree>"),
      BootstrapHeader{}, error));
  EXPECT_NE(error.find("holds no node"), std::string::npos) << error;
  error.clear();
  EXPECT_FALSE(BuildBootstrapMessage(
      Ascii("<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>a/b</NodeName></Node></MgmtTree>"),
      BootstrapHeader{}, error));
  EXPECT_NE(error.find("not one a card reads"), std::string::npos) << error;
  const std::optional<Bytes> message =
      BuildBootstrapMessage(Ascii(kTnds), BootstrapHeader{}, error);
  ASSERT_TRUE(message) << error;
  EXPECT_TRUE(dm::DecodeBootstrapMessage(*message, error)) << error;
}

TEST(HostOperator, VerifyBootstrapDataIsCodedAsTheSpecSays) {
  std::string error;
  BootstrapSecrets secrets;
  secrets.imsi = kImsi;
  const Bytes message = Ascii("m");
  std::optional<BootstrapProof> p =
      ProveBootstrap(message, BootstrapMethod::kNetwPin, secrets, error);
  ASSERT_TRUE(p) << error;
  // 80 01 00 | 81 01 'm' | 82 28 <40 hex characters>.
  EXPECT_EQ(ToHex(p->command_data).substr(0, 16),
            "8001008101"
            "6D8228");
  EXPECT_EQ(p->command_data.size(), 3u + 3u + 42u);
  EXPECT_TRUE(p->user_digits.empty());
  // Operator methods: 84 sequence and 85 KVN after the MAC; 81 with a two-byte length.
  const std::optional<OperatorKeys> keys = MakeOperatorKeys(error);
  ASSERT_TRUE(keys);
  secrets.keys = &*keys;
  secrets.sequence = 0x01020304;
  secrets.kvn = 0x40;
  const Bytes long_message(300, 0x41);
  p = ProveBootstrap(long_message, BootstrapMethod::kHmacSha256, secrets, error);
  ASSERT_TRUE(p) << error;
  const std::string hex = ToHex(p->command_data);
  EXPECT_EQ(hex.substr(0, 14),
            "80011081820"
            "12C");
  EXPECT_EQ(hex.substr(hex.size() - 18), "840401020304850140");
  EXPECT_EQ(ToHex(VerifyBootstrapApdu(Bytes{0x80, 0x01, 0x00}, true)),
            "80420100000003800100"
            "0000");
  // Missing secrets are refused with a reason.
  EXPECT_FALSE(ProveBootstrap(message, BootstrapMethod::kUserPin, BootstrapSecrets{}, error));
  EXPECT_NE(error.find("PIN"), std::string::npos);
  EXPECT_FALSE(ProveBootstrap(message, BootstrapMethod::kEcdsaP256, BootstrapSecrets{}, error));
  BootstrapSecrets short_key;
  short_key.user_pin = "1234";
  EXPECT_FALSE(ProveBootstrap(message, BootstrapMethod::kUserPinMac, short_key, error));
  EXPECT_EQ(BootstrapMethodByName("ecdsa-p256"), BootstrapMethod::kEcdsaP256);
  EXPECT_EQ(BootstrapMethodByName("USERPINMAC"), BootstrapMethod::kUserPinMac);
  EXPECT_FALSE(BootstrapMethodByName("RSA"));
}

// The demo card with the operator keys loaded by the issuer (DGI 8402 over SCP03).
class HostOperatorCard : public ::testing::Test {
 protected:
  void SetUp() override {
    card_ = testing::DemoCardInRam(0x0B);
    ASSERT_TRUE(card_);
    std::string error;
    ASSERT_EQ(SwOf(card_->Transmit(testing::SelectAid(dm::DmApplet::DefaultAid()))), 0x9000);
    std::optional<OperatorKeys> keys = MakeOperatorKeys(error);
    ASSERT_TRUE(keys) << error;
    keys_ = std::move(*keys);

    const HostScp03Keys issuer_keys = testing::DemoIssuerKeys();
    const std::optional<std::vector<HostDgi>> dgis =
        OperatorKeyDgis(keys_, slots_, issuer_keys.dek, error);
    ASSERT_TRUE(dgis) << error;
    const std::optional<std::vector<Bytes>> blocks = StoreDataCommands(*dgis, error);
    ASSERT_TRUE(blocks) << error;
    testing::Scp03TestClient issuer(*card_, {0x30, issuer_keys});
    ASSERT_EQ(issuer.Open(dm::DmApplet::DefaultAid()), "");
    for (const Bytes& block : *blocks) ASSERT_EQ(ToHex(issuer.Transmit(block)), "9000");
    // A new SELECT ends the issuer's session: the device talks to the card in clear.
    ASSERT_EQ(SwOf(card_->Transmit(testing::SelectAid(dm::DmApplet::DefaultAid()))), 0x9000);

    std::optional<Bytes> message = BuildBootstrapMessage(Ascii(kTnds), BootstrapHeader{}, error);
    ASSERT_TRUE(message) << error;
    message_ = std::move(*message);
  }

  BootstrapSecrets Secrets(BootstrapMethod m) {
    BootstrapSecrets s;
    s.imsi = kImsi;
    s.user_pin = m == BootstrapMethod::kUserPinMac ? "271828" : "4321";
    s.keys = &keys_;
    if (dm::OperatorMethod(m)) {
      s.sequence = ++sequence_;
      s.kvn = m == BootstrapMethod::kHmacSha256 ? slots_.hmac_kvn : slots_.ec_kvn;
    }
    return s;
  }
  // What the device sends: the host's data with the user's digits.
  Bytes Verify(const BootstrapProof& p, ByteView data, bool install = false) {
    return card_->Transmit(VerifyBootstrapApdu(WithTypedDigits(data, p.user_digits), install));
  }
  std::string Get(const std::string& uri) {
    Bytes c = {0x80, 0x30, 0x00, 0x00, static_cast<uint8_t>(uri.size())};
    Append(c, Ascii(uri));
    c.push_back(0x00);
    const Bytes r = card_->Transmit(c);
    return SwOf(r) == 0x9000 ? testing::Str(DataOf(r)) : "SW " + ToHex(ByteView(r).last(2));
  }

  std::unique_ptr<Card> card_;
  OperatorKeys keys_;
  OperatorKeySlots slots_;
  Bytes message_;
  uint32_t sequence_ = 0;
};

constexpr BootstrapMethod kEveryMethod[] = {
    BootstrapMethod::kNetwPin,    BootstrapMethod::kUserPin,    BootstrapMethod::kUserNetwPin,
    BootstrapMethod::kUserPinMac, BootstrapMethod::kHmacSha256, BootstrapMethod::kEcdsaP256};

TEST_F(HostOperatorCard, TheCardAcceptsTheHostsBootstrapForEveryMethodAndRefusesATamperedOne) {
  for (BootstrapMethod m : kEveryMethod) {
    SCOPED_TRACE(BootstrapMethodName(m));
    std::string error;
    const std::optional<BootstrapProof> proof = ProveBootstrap(message_, m, Secrets(m), error);
    ASSERT_TRUE(proof) << error;
    // Valid: the demo card's flags (02 user confirmation, 04 autoconnect).
    EXPECT_EQ(ToHex(Verify(*proof, proof->command_data)), "8401069000");

    // The same proof over a message with one bit changed (in tag 81's value): 63Cx.
    const std::optional<BootstrapProof> fresh = ProveBootstrap(message_, m, Secrets(m), error);
    ASSERT_TRUE(fresh) << error;
    Bytes tampered = fresh->command_data;
    const auto at = std::search(tampered.begin(), tampered.end(), message_.begin(), message_.end());
    ASSERT_NE(at, tampered.end());
    at[static_cast<long>(message_.size() / 2)] ^= 0x01;
    EXPECT_EQ(SwOf(Verify(*fresh, tampered)) & 0xFFF0, 0x63C0);
  }
}

TEST_F(HostOperatorCard, TheAcceptedBootstrapInstallsTheTndsGivenAsXmlOrWbxml) {
  std::string error;
  EXPECT_EQ(Get("./DMAcc/Operator/ServerID"), "SW 6A82");
  const std::optional<BootstrapProof> proof = ProveBootstrap(
      message_, BootstrapMethod::kHmacSha256, Secrets(BootstrapMethod::kHmacSha256), error);
  ASSERT_TRUE(proof) << error;
  EXPECT_EQ(ToHex(Verify(*proof, proof->command_data, /*install=*/true)), "8401069000");
  EXPECT_EQ(Get("./DMAcc/Operator/ServerID"), "dms-op.example.test");

  // The card's own TNDS WBXML export (EXPORT P1 01) of the new account, bootstrapped again
  // under another name: the host decodes the WBXML and embeds it as a network would.
  const std::string uri = "./DMAcc/Operator";
  Bytes c = {0x80, 0x3A, 0x01, 0x00, static_cast<uint8_t>(uri.size())};
  Append(c, Ascii(uri));
  c.push_back(0x00);
  const Bytes exported = card_->Transmit(c);
  ASSERT_EQ(SwOf(exported), 0x9000);
  const std::optional<std::string> xml = TndsWbxmlToXml(DataOf(exported), error);
  ASSERT_TRUE(xml) << error;
  EXPECT_NE(xml->find("dms-op.example.test"), std::string::npos) << *xml;
  std::string renamed = *xml;
  const size_t at = renamed.find("<NodeName>Operator</NodeName>");
  ASSERT_NE(at, std::string::npos) << renamed;
  renamed.replace(at, 29, "<NodeName>Operator2</NodeName>");
  // Back to WBXML: the bootstrap builder takes the document in either form.
  const std::optional<Bytes> wbxml = XmlToWbxml(renamed, error);
  ASSERT_TRUE(wbxml) << error;
  const std::optional<Bytes> message = BuildBootstrapMessage(*wbxml, BootstrapHeader{}, error);
  ASSERT_TRUE(message) << error;
  const std::optional<BootstrapProof> second = ProveBootstrap(
      *message, BootstrapMethod::kEcdsaP256, Secrets(BootstrapMethod::kEcdsaP256), error);
  ASSERT_TRUE(second) << error;
  EXPECT_EQ(ToHex(Verify(*second, second->command_data, /*install=*/true)), "8401069000");
  EXPECT_EQ(Get("./DMAcc/Operator2/ServerID"), "dms-op.example.test");
}

TEST_F(HostOperatorCard, TheEcdsaSignatureVerifiesWithOpenSslFromThePublicKeyFile) {
  std::string error;
  TempDir dir;
  const OperatorKeyFiles files = OperatorKeyFiles::In(dir.path());
  ASSERT_TRUE(WriteOperatorKeys(keys_, files, error)) << error;
  const std::optional<OperatorKeys> loaded = ReadOperatorKeys(files, error);
  ASSERT_TRUE(loaded) << error;
  BootstrapSecrets s = Secrets(BootstrapMethod::kEcdsaP256);
  s.keys = &*loaded;  // signed with the key read back from its PEM file
  const std::optional<BootstrapProof> proof =
      ProveBootstrap(message_, BootstrapMethod::kEcdsaP256, s, error);
  ASSERT_TRUE(proof) << error;
  ASSERT_EQ(proof->mac.size(), 64u);

  const ossl::PkeyPtr pub = ReadEcPublicKeyPem(files.ec_public_pem, error);
  ASSERT_TRUE(pub) << error;
  Bytes signed_data;
  AppendU32(signed_data, *s.sequence);
  Append(signed_data, message_);
  const Bytes digest = ossl::OsslDigest("SHA256", signed_data);
  EXPECT_TRUE(ossl::OsslVerifyDer(pub.get(), digest, ossl::OsslSigToDer(proof->mac)));
  signed_data.back() ^= 0x01;
  EXPECT_FALSE(ossl::OsslVerifyDer(pub.get(), ossl::OsslDigest("SHA256", signed_data),
                                   ossl::OsslSigToDer(proof->mac)));
  // And the card agrees.
  EXPECT_EQ(ToHex(Verify(*proof, proof->command_data)), "8401069000");
}

// The operator's keys given in a profile ("bootstrap_keys", as `dmcard operator keygen` writes
// them): a card made from it verifies the operator's HMAC-SHA256 and ECDSA bootstraps and refuses
// tampered ones; personalization turns the same entries into one DGI 8402 each.
TEST(HostOperator, ProfileBootstrapKeysVerifyTheOperatorsMessages) {
  std::string error;
  std::optional<OperatorKeys> keys = MakeOperatorKeys(error);
  ASSERT_TRUE(keys) << error;
  Profile profile = DemoProfile();
  profile.bootstrap_keys.push_back({"operator-hmac", 0x40, false, "@issuer", keys->hmac_secret});
  profile.bootstrap_keys.push_back({"operator-ec", 0x41, true, "@issuer", keys->ec_public()});
  const uint8_t seed[16] = {0x0B, 0x0F};
  auto card = MakeCard(profile, CardConfigFor(profile),
                       Platform{std::make_shared<RamMedium>(), crypto::Drbg::FromSeed(seed),
                                [] { return int64_t{1700000000}; }},
                       error);
  ASSERT_TRUE(card) << error;
  card->PowerOn();
  ASSERT_EQ(SwOf(card->Transmit(testing::SelectAid(dm::DmApplet::DefaultAid()))), 0x9000);
  const std::optional<Bytes> message =
      BuildBootstrapMessage(Ascii(kTnds), BootstrapHeader{}, error);
  ASSERT_TRUE(message) << error;
  uint32_t seq = 0;
  for (const auto& [method, kvn] : {std::pair{BootstrapMethod::kHmacSha256, uint8_t{0x40}},
                                    std::pair{BootstrapMethod::kEcdsaP256, uint8_t{0x41}}}) {
    BootstrapSecrets s;
    s.keys = &*keys;
    s.sequence = ++seq;
    s.kvn = kvn;
    const std::optional<BootstrapProof> proof = ProveBootstrap(*message, method, s, error);
    ASSERT_TRUE(proof) << error;
    // 84 01 flags: the demo profile asks the user (02) and connects autonomously (04).
    EXPECT_EQ(ToHex(card->Transmit(VerifyBootstrapApdu(proof->command_data, false))), "8401069000")
        << BootstrapMethodName(method);
    Bytes tampered = proof->command_data;
    tampered[tampered.size() / 2] ^= 0x01;
    EXPECT_EQ(SwOf(card->Transmit(VerifyBootstrapApdu(tampered, false))) & 0xFFF0, 0x63C0);
  }
  // The profile's keys as personalization DGIs (8402 under the issuer's DEK).
  HostProfile host;
  host.bootstrap_keys.push_back({0x40, false, "@issuer", keys->hmac_secret});
  host.bootstrap_keys.push_back({0x41, true, "@issuer", keys->ec_public()});
  const std::optional<std::vector<HostDgi>> dgis =
      PersonalizationDgis(host, testing::DemoIssuerKeys().dek, error);
  ASSERT_TRUE(dgis) << error;
  EXPECT_EQ(
      std::count_if(dgis->begin(), dgis->end(), [](const HostDgi& d) { return d.tag == 0x8402; }),
      2);
}

}  // namespace
}  // namespace dmcard
