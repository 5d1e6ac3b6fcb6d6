// DEV3 (mutual authentication with the DMS using credentials on the card) and SC8 (the card
// ensures the session's authenticity): the DM applet's OMA DM CREDENTIAL (80 3C) and INTERNAL
// AUTHENTICATE (00 88), checked from the host's side with OpenSSL — MD5, base64, AES-CMAC and
// ECDSA written here, not taken from the card's code — and against the published OMA DM example
// (tests/data/dm/oma_dm_credentials.data). Every refusal past the parse answers its documented
// status word, leaves one event-log entry and changes nothing else.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "demo_card_apdus.h"
#include "dm/dm_applet.h"
#include "dm/mo_tree.h"
#include "host/demo_card.h"
#include "host/openssl_util.h"
#include "host/scp03_host.h"
#include "runtime/event_log.h"
#include "runtime/key_store.h"
#include "runtime/tlv.h"
#include "test_applets.h"
#include "vector_file.h"

namespace dmcard {
namespace {

using testing::Ascii;
using testing::DataOf;
using testing::H;
using testing::Str;
using testing::SwOf;
using namespace ossl;  // NOLINT: the host side of every credential and signature

// The demo profile's accounts (profiles/demo/tree.xml), written here from that text.
constexpr char kCliCred[] = "./DMAcc/DMCardTest/AppAuth/CliCred";
constexpr char kSrvCred[] = "./DMAcc/DMCardTest/AppAuth/SrvCred";
constexpr char kDemoClientName[] = "dmcard-test-client";
constexpr char kDemoClientSecret[] = "test-client-secret-NOT-REAL";
constexpr char kDemoServerName[] = "dmcard.example.test";
constexpr char kDemoServerSecret[] = "test-server-secret-NOT-REAL";

// ---- the host's side: OpenSSL -----------------------------------------------------------------

std::string B64Md5(ByteView data) { return OsslBase64(OsslDigest("MD5", data)); }

// OMA DM 1.2 (DM Security §5.1): auth-md5 = B64(MD5(B64(MD5(name:secret)):nonce)); auth-MAC
// appends ":" B64(MD5(body)) before the outer MD5. `body_md5` empty: auth-md5.
std::string HostCredential(std::string_view name, std::string_view secret, ByteView nonce,
                           ByteView body_md5 = {}) {
  Bytes inner = Ascii(std::string(name) + ":" + std::string(secret));
  Bytes outer = Ascii(B64Md5(inner) + ":");
  Append(outer, nonce);
  if (!body_md5.empty()) Append(outer, Ascii(":" + OsslBase64(body_md5)));
  return B64Md5(outer);
}

// ECDSA P-256 with SHA-256 over `message`, checked by OpenSSL with the public key (04 || X || Y)
// against a raw r || s signature.
bool OsslEcdsaVerifies(ByteView public_key, ByteView message, ByteView raw_signature) {
  if (raw_signature.size() != 64) return false;
  const PkeyPtr key = OsslEcKey(public_key);
  return key &&
         OsslVerifyDer(key.get(), OsslDigest("SHA256", message), OsslSigToDer(raw_signature));
}

// ---- C-APDUs (apdu-specs/dm.json) -------------------------------------------------------------

enum Op : uint8_t { kClientMd5 = 0x00, kClientMac = 0x01, kCheckMd5 = 0x02, kCheckMac = 0x03 };

// 80 3C P1 00 Lc { 80 URI, 81 nonce, [82 MD5(body)], [83 credential] } 00.
Bytes CredentialApdu(uint8_t p1, std::string_view uri, ByteView nonce, ByteView body_md5 = {},
                     std::string_view credential = {}) {
  Bytes data;
  AppendTlv(data, 0x80, Ascii(uri));
  AppendTlv(data, 0x81, nonce);
  if (!body_md5.empty()) AppendTlv(data, 0x82, body_md5);
  if (!credential.empty()) AppendTlv(data, 0x83, Ascii(credential));
  Bytes c = {0x80, 0x3C, p1, 0x00, static_cast<uint8_t>(data.size())};
  Append(c, data);
  c.push_back(0x00);
  return c;
}

// 00 88 00 P2 Lc challenge 00.
Bytes InternalAuthenticate(uint8_t p2, ByteView challenge) {
  Bytes c = {0x00, 0x88, 0x00, p2, static_cast<uint8_t>(challenge.size())};
  Append(c, challenge);
  c.push_back(0x00);
  return c;
}

// ---- the card ---------------------------------------------------------------------------------

using Snapshot = std::map<std::string, Bytes>;

class CredentialCard : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    const uint8_t seed[16] = {0xDE, 0x03};
    card_ = MakeDemoCard(DemoCardConfig(),
                         Platform{std::make_shared<RamMedium>(), crypto::Drbg::FromSeed(seed),
                                  [] { return int64_t{1700000000}; }},
                         error);
    ASSERT_TRUE(card_) << error;
    card_->PowerOn();
    ASSERT_EQ(SelectDm(), 0x9000);
  }

  uint16_t SelectDm() {
    return SwOf(card_->Transmit(testing::SelectAid(dm::DmApplet::DefaultAid())));
  }
  Bytes Send(const Bytes& c) { return card_->Transmit(c); }

  // An AppAuth entry written straight into the tree (unchecked, in a store transaction of its
  // own, as installation writes): the leaves given, "" for a leaf left out.
  void PutEntry(const std::string& uri, std::string_view level, std::string_view type,
                std::string_view name, std::string_view secret, std::string_view name_acl = {}) {
    dm::MoTree tree(card_->ViewOf(static_cast<size_t>(card_->selected_applet(0))),
                    dm::DmApplet::kKeyPrefix, [] { return int64_t{1700000000}; });
    card_->store().Begin();
    auto put = [&](const std::string& at, bool interior, std::string_view value,
                   std::string_view acl = {}) {
      dm::Node n;
      n.uri = at;
      n.interior = interior;
      n.props.format = interior ? dm::NodeFormat::kNode : dm::NodeFormat::kChr;
      n.props.acl = std::string(acl);
      n.value = Ascii(value);
      ASSERT_EQ(tree.Put(n), dm::DmStatus::kOk) << at;
    };
    std::string parent;
    for (size_t at = uri.find('/', 2); at != std::string::npos; at = uri.find('/', at + 1)) {
      parent = uri.substr(0, at);
      if (!tree.Read(parent)) put(parent, true, "");
    }
    put(uri, true, "");
    if (!level.empty()) put(uri + "/AAuthLevel", false, level);
    if (!type.empty()) put(uri + "/AAuthType", false, type);
    if (!name.empty()) put(uri + "/AAuthName", false, name, name_acl);
    if (!secret.empty()) put(uri + "/AAuthSecret", false, secret);
    ASSERT_EQ(card_->store().Commit(), StoreStatus::kOk);
  }

  // A key loaded straight into the key store (installation's interface).
  void LoadKey(KeyType type, KeyUsage usage, uint8_t kvn, const Bytes& material) {
    card_->store().Begin();
    KeySpec spec;
    spec.type = type;
    spec.usage = usage;
    spec.kvn = kvn;
    spec.id = 0x01;
    spec.owner = kIssuerPrincipal;
    EXPECT_EQ(KeyLoader(card_->store()).Load(spec, material), CryptoStatus::kOk);
    ASSERT_EQ(card_->store().Commit(), StoreStatus::kOk);
  }

  Bytes PublicKey(uint8_t kvn) {
    Bytes pub;
    card_->store().Begin();
    const std::optional<KeyHandle> key = card_->keys().Find(kvn, 0x01);
    EXPECT_TRUE(key);
    if (key) {
      EXPECT_EQ(card_->keys().PublicKey(*key, pub), CryptoStatus::kOk);
    }
    card_->store().Abort();
    return pub;
  }

  // Every record but the event log's and the key use counters (a successful INTERNAL
  // AUTHENTICATE counts one use by design).
  Snapshot State(bool with_uses = true) {
    Snapshot s;
    for (const std::string& key : card_->store().Keys("")) {
      if (key.rfind("card/log/", 0) == 0) continue;
      if (!with_uses && key.size() > 5 && key.compare(key.size() - 5, 5, "/uses") == 0) continue;
      s[key] = *card_->store().Get(key);
    }
    return s;
  }

  std::vector<Event> Log() { return card_->log().Read(0, EventLog::kCapacity); }

  // Sends `c`, which must be refused with `sw` after its parse: one new kCredentialFailed entry
  // (reason: SW2, principal, detail) and no other record changed.
  void ExpectLoggedRefusal(const Bytes& c, uint16_t sw, const std::string& detail,
                           const std::string& principal = "@device") {
    SCOPED_TRACE(ToHex(c));
    const Snapshot before = State();
    const size_t entries = Log().size();
    const Bytes r = Send(c);
    EXPECT_EQ(ToHex(r), ToHex(Bytes{static_cast<uint8_t>(sw >> 8), static_cast<uint8_t>(sw)}));
    EXPECT_EQ(State(), before) << "only the event log may change";
    const std::vector<Event> log = Log();
    ASSERT_EQ(log.size(), entries + 1);
    EXPECT_EQ(log.back().kind, EventKind::kCredentialFailed);
    EXPECT_EQ(log.back().reason, static_cast<uint8_t>(sw));
    EXPECT_EQ(log.back().principal, principal);
    EXPECT_EQ(Str(log.back().detail), detail);
  }

  // Sends `c`, which must be refused by its parse with `sw`: nothing logged, nothing changed.
  void ExpectMalformed(const Bytes& c, uint16_t sw) {
    SCOPED_TRACE(ToHex(c));
    const Snapshot before = State();
    const size_t entries = Log().size();
    EXPECT_EQ(SwOf(Send(c)), sw);
    EXPECT_EQ(State(), before);
    EXPECT_EQ(Log().size(), entries);
  }

  std::unique_ptr<Card> card_;
};

// ---- OMA DM credentials -----------------------------------------------------------------------

// The OMA DM example (Bruce2 / OhBehave / nonce "Nonce" -> Zz6EivR3yeaaENcRN6lpAQ==) through the
// card, the account given to it as a DM account's client credential.
TEST_F(CredentialCard, Req_DEV3_PublishedAuthMd5ExampleThroughTheCard) {
  const auto cases = testing::LoadVectorFile("dm/oma_dm_credentials.data");
  ASSERT_EQ(cases.size(), 1u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.Where());
    const std::string entry = "./DMAcc/Example/AppAuth/Client";
    ASSERT_NO_FATAL_FAILURE(
        PutEntry(entry, "CLCRED", "DIGEST", Str(c.Get("name")), Str(c.Get("secret"))));
    const Bytes r = Send(CredentialApdu(kClientMd5, entry, c.Get("nonce")));
    ASSERT_EQ(SwOf(r), 0x9000) << ToHex(r);
    EXPECT_EQ(Str(DataOf(r)), Str(c.Get("cred")));
    // The host's computation agrees with the published value (the test's own check).
    EXPECT_EQ(HostCredential(Str(c.Get("name")), Str(c.Get("secret")), c.Get("nonce")),
              Str(c.Get("cred")));
  }
}

// auth-MAC of the demo account's client credential, for nonces of several lengths (binary bytes
// included) and message bodies, equals OpenSSL's computation; the secret never appears.
TEST_F(CredentialCard, Req_DEV3_ClientAuthMacMatchesOpenssl) {
  for (size_t len : {0u, 1u, 5u, 16u, 33u, 128u}) {
    SCOPED_TRACE("nonce length " + std::to_string(len));
    Bytes nonce(len);
    for (size_t i = 0; i < len; ++i) nonce[i] = static_cast<uint8_t>(i * 37 + len);
    const Bytes body = Ascii("<SyncML>body of " + std::to_string(len) + "</SyncML>");
    const Bytes body_md5 = OsslDigest("MD5", body);
    const Bytes r = Send(CredentialApdu(kClientMac, kCliCred, nonce, body_md5));
    ASSERT_EQ(SwOf(r), 0x9000) << ToHex(r);
    const std::string expected =
        HostCredential(kDemoClientName, kDemoClientSecret, nonce, body_md5);
    EXPECT_EQ(Str(DataOf(r)), expected);
    EXPECT_EQ(Str(DataOf(r)).find("NOT-REAL"), std::string::npos);
    // Not the authenticator B64(MD5(name:secret)) either, which is as good as the secret.
    EXPECT_NE(Str(DataOf(r)),
              B64Md5(Ascii(std::string(kDemoClientName) + ":" + kDemoClientSecret)));
  }
  // Another body, another credential: the digest counts.
  const Bytes nonce = Ascii("n");
  EXPECT_NE(DataOf(Send(CredentialApdu(kClientMac, kCliCred, nonce, Bytes(16, 1)))),
            DataOf(Send(CredentialApdu(kClientMac, kCliCred, nonce, Bytes(16, 2)))));
}

// Mutual authentication: the card checks the server's credential, computed by the host with the
// server's name and secret and the nonce the device sent it. A good one answers 9000 and changes
// nothing; a wrong one 6300, with an event-log entry and nothing else changed.
TEST_F(CredentialCard, Req_DEV3_ChecksTheServersCredential) {
  const Bytes nonce = H("00FF10203040506070809A");
  const std::string good = HostCredential(kDemoServerName, kDemoServerSecret, nonce);
  const Snapshot before = State();
  EXPECT_EQ(ToHex(Send(CredentialApdu(kCheckMd5, kSrvCred, nonce, {}, good))), "9000");
  EXPECT_EQ(State(), before);
  EXPECT_TRUE(Log().empty());

  const std::string what = std::string("check server auth-md5 ") + kSrvCred;
  // Another nonce, another secret, another name, a changed character, not base64, a
  // non-canonical encoding of the right digest's neighbour, the client's credential.
  Bytes other_nonce = nonce;
  other_nonce.back() ^= 1;
  std::string flipped = good;
  flipped[3] = flipped[3] == 'A' ? 'B' : 'A';
  std::string non_canonical = good;  // 16 bytes: "xx==" ends; a non-zero unused bit
  non_canonical[21] = static_cast<char>(non_canonical[21] + 1);
  for (const std::string& bad :
       {HostCredential(kDemoServerName, kDemoServerSecret, other_nonce),
        HostCredential(kDemoServerName, "test-server-secret-NOT-REAL!", nonce),
        HostCredential("dmcard.example.tesT", kDemoServerSecret, nonce), flipped,
        std::string("not base64 at all"), non_canonical, good.substr(0, 22),
        HostCredential(kDemoClientName, kDemoClientSecret, nonce)}) {
    SCOPED_TRACE(bad);
    ASSERT_NO_FATAL_FAILURE(
        ExpectLoggedRefusal(CredentialApdu(kCheckMd5, kSrvCred, nonce, {}, bad), 0x6300, what));
  }
  // The good one still passes: a failure blocks nothing.
  EXPECT_EQ(ToHex(Send(CredentialApdu(kCheckMd5, kSrvCred, nonce, {}, good))), "9000");
}

TEST_F(CredentialCard, Req_DEV3_ChecksTheServersAuthMac) {
  const std::string entry = "./DMAcc/Mac/AppAuth/Server";
  ASSERT_NO_FATAL_FAILURE(PutEntry(entry, "SRVCRED", "HMAC", "srv-mac", "srv-mac-secret"));
  const Bytes nonce = Ascii("server-nonce");
  const Bytes body_md5 = OsslDigest("MD5", Ascii("<SyncML>from the server</SyncML>"));
  const std::string good = HostCredential("srv-mac", "srv-mac-secret", nonce, body_md5);
  EXPECT_EQ(ToHex(Send(CredentialApdu(kCheckMac, entry, nonce, body_md5, good))), "9000");
  Bytes other_body = body_md5;
  other_body[0] ^= 0x80;
  ASSERT_NO_FATAL_FAILURE(
      ExpectLoggedRefusal(CredentialApdu(kCheckMac, entry, nonce, other_body, good), 0x6300,
                          "check server auth-MAC " + entry));
  // The auth-md5 credential is not an auth-MAC one.
  ASSERT_NO_FATAL_FAILURE(
      ExpectLoggedRefusal(CredentialApdu(kCheckMac, entry, nonce, body_md5,
                                         HostCredential("srv-mac", "srv-mac-secret", nonce)),
                          0x6300, "check server auth-MAC " + entry));
}

// The account decides what may be done with it: the client's credential only from a CLCRED entry,
// the server's checked only against a SRVCRED entry, in the scheme its AAuthType names; an entry
// without AAuthName or AAuthSecret, a missing node, a name the caller may not Get: each refused
// with its status word, logged, nothing else changed.
TEST_F(CredentialCard, Req_DEV3_RefusalsAreLoggedAndChangeNothing) {
  const Bytes nonce = Ascii("abc");
  const Bytes md5 = Bytes(16, 0x5A);
  const std::string srv_check = HostCredential(kDemoServerName, kDemoServerSecret, nonce);
  // The server's credential is never computed by the card, for anyone.
  ExpectLoggedRefusal(CredentialApdu(kClientMd5, kSrvCred, nonce), 0x6985,
                      std::string("client auth-md5 ") + kSrvCred);
  ExpectLoggedRefusal(CredentialApdu(kClientMac, kSrvCred, nonce, md5), 0x6985,
                      std::string("client auth-MAC ") + kSrvCred);
  // The client's credential is not checked as a server's.
  ExpectLoggedRefusal(CredentialApdu(kCheckMac, kCliCred, nonce, md5, srv_check), 0x6985,
                      std::string("check server auth-MAC ") + kCliCred);
  // AAuthType: the demo client account is HMAC (no auth-md5), the server account DIGEST.
  ExpectLoggedRefusal(CredentialApdu(kClientMd5, kCliCred, nonce), 0x6985,
                      std::string("client auth-md5 ") + kCliCred);
  ExpectLoggedRefusal(CredentialApdu(kCheckMac, kSrvCred, nonce, md5, srv_check), 0x6985,
                      std::string("check server auth-MAC ") + kSrvCred);
  ASSERT_NO_FATAL_FAILURE(PutEntry("./DMAcc/B/AppAuth/Basic", "CLCRED", "BASIC", "u", "p"));
  ExpectLoggedRefusal(CredentialApdu(kClientMd5, "./DMAcc/B/AppAuth/Basic", nonce), 0x6985,
                      "client auth-md5 ./DMAcc/B/AppAuth/Basic");
  ASSERT_NO_FATAL_FAILURE(PutEntry("./DMAcc/B/AppAuth/NoLevel", "", "DIGEST", "u", "p"));
  ExpectLoggedRefusal(CredentialApdu(kClientMd5, "./DMAcc/B/AppAuth/NoLevel", nonce), 0x6985,
                      "client auth-md5 ./DMAcc/B/AppAuth/NoLevel");
  // Accounts without credentials: the AppAuth node itself, an entry without a secret or a name.
  ExpectLoggedRefusal(CredentialApdu(kClientMd5, "./DMAcc/DMCardTest/AppAuth", nonce), 0x6A88,
                      "client auth-md5 ./DMAcc/DMCardTest/AppAuth");
  ASSERT_NO_FATAL_FAILURE(PutEntry("./DMAcc/B/AppAuth/NoSecret", "CLCRED", "DIGEST", "u", ""));
  ExpectLoggedRefusal(CredentialApdu(kClientMd5, "./DMAcc/B/AppAuth/NoSecret", nonce), 0x6A88,
                      "client auth-md5 ./DMAcc/B/AppAuth/NoSecret");
  ASSERT_NO_FATAL_FAILURE(PutEntry("./DMAcc/B/AppAuth/NoName", "CLCRED", "DIGEST", "", "p"));
  ExpectLoggedRefusal(CredentialApdu(kClientMd5, "./DMAcc/B/AppAuth/NoName", nonce), 0x6A88,
                      "client auth-md5 ./DMAcc/B/AppAuth/NoName");
  // No such node; a leaf is no entry.
  ExpectLoggedRefusal(CredentialApdu(kClientMd5, "./DMAcc/Nobody/AppAuth/CliCred", nonce), 0x6A82,
                      "client auth-md5 ./DMAcc/Nobody/AppAuth/CliCred");
  ExpectLoggedRefusal(CredentialApdu(kClientMd5, std::string(kCliCred) + "/AAuthName", nonce),
                      0x6A82, std::string("client auth-md5 ") + kCliCred + "/AAuthName");
  // A name only the DM server may Get: the device may not use the account.
  ASSERT_NO_FATAL_FAILURE(PutEntry("./DMAcc/B/AppAuth/Hidden", "CLCRED", "DIGEST", "u", "p",
                                   "Get=dmcard.example.test"));
  ExpectLoggedRefusal(CredentialApdu(kClientMd5, "./DMAcc/B/AppAuth/Hidden", nonce), 0x6982,
                      "client auth-md5 ./DMAcc/B/AppAuth/Hidden");
  // An entry without AAuthType takes either scheme.
  ASSERT_NO_FATAL_FAILURE(PutEntry("./DMAcc/B/AppAuth/AnyType", "CLCRED", "", "u", "p"));
  EXPECT_EQ(Str(DataOf(Send(CredentialApdu(kClientMd5, "./DMAcc/B/AppAuth/AnyType", nonce)))),
            HostCredential("u", "p", nonce));
  EXPECT_EQ(Str(DataOf(Send(CredentialApdu(kClientMac, "./DMAcc/B/AppAuth/AnyType", nonce, md5)))),
            HostCredential("u", "p", nonce, md5));
}

TEST_F(CredentialCard, Req_DEV3_MalformedCommandsAreRefusedByTheParse) {
  const Bytes nonce = Ascii("abc");
  const Bytes md5(16, 1);
  ExpectMalformed(H("803C040000"), 0x6A86);  // P1
  Bytes p2 = CredentialApdu(kClientMd5, kCliCred, nonce);
  p2[3] = 0x01;
  ExpectMalformed(p2, 0x6A86);
  ExpectMalformed(H("803C000000"), 0x6A80);          // no data
  ExpectMalformed(H("803C0000038101AA00"), 0x6A80);  // no URI
  ExpectMalformed(H("803C00000380054100"), 0x6A80);  // a truncated TLV
  Bytes no_nonce = {0x80, 0x3C, 0x01, 0x00};
  Bytes data;
  AppendTlv(data, 0x80, Ascii(kCliCred));
  AppendTlv(data, 0x82, md5);
  no_nonce.push_back(static_cast<uint8_t>(data.size()));
  Append(no_nonce, data);
  ExpectMalformed(no_nonce, 0x6A80);
  ExpectMalformed(CredentialApdu(kClientMac, kCliCred, Bytes(129, 'n'), md5), 0x6A80);
  ExpectMalformed(CredentialApdu(kClientMac, kCliCred, nonce), 0x6A80);  // no MD5(body)
  ExpectMalformed(CredentialApdu(kClientMac, kCliCred, nonce, Bytes(15, 1)), 0x6A80);
  ExpectMalformed(CredentialApdu(kClientMac, kCliCred, nonce, Bytes(20, 1)), 0x6A80);
  ExpectMalformed(CredentialApdu(kClientMd5, kCliCred, nonce, md5), 0x6A80);  // MD5(body) extra
  ExpectMalformed(CredentialApdu(kCheckMd5, kSrvCred, nonce), 0x6A80);        // no credential
  ExpectMalformed(CredentialApdu(kClientMd5, kCliCred, nonce, {}, "Zm9v"), 0x6A80);  // extra
  ExpectMalformed(CredentialApdu(kCheckMd5, kSrvCred, nonce, {}, std::string(65, 'A')), 0x6A80);
}

// The secret stays on the card: no answer holds it, and logs name the command by what it uses,
// not by its data.
TEST_F(CredentialCard, Req_DEV3_NothingRevealsTheSecret) {
  const Bytes nonce = Ascii("nonce-for-the-log");
  const Bytes md5(16, 0x42);
  const Bytes c = CredentialApdu(kClientMac, kCliCred, nonce, md5);
  EXPECT_EQ(card_->DescribeCommand(c), std::string("DM CREDENTIAL client auth-MAC ") + kCliCred);
  EXPECT_FALSE(card_->CommandCarriesSecrets(c)) << "nonce and digest are not secrets";
  const Bytes check = CredentialApdu(kCheckMd5, kSrvCred, nonce, {}, "Zz6EivR3yeaaENcRN6lpAQ==");
  EXPECT_EQ(card_->DescribeCommand(check),
            std::string("DM CREDENTIAL check server auth-md5 ") + kSrvCred);
  EXPECT_EQ(card_->DescribeCommand(InternalAuthenticate(0x20, Ascii("challenge"))),
            "INTERNAL AUTHENTICATE KVN 20");
  EXPECT_EQ(card_->DescribeCommand(InternalAuthenticate(0x00, Ascii("challenge"))),
            "INTERNAL AUTHENTICATE first card key");
  // Nor does GET: the secret leaf stays unreadable.
  EXPECT_EQ(SwOf(Send(testing::DmGet(std::string(kCliCred) + "/AAuthSecret"))), 0x6982);
}

// ---- INTERNAL AUTHENTICATE --------------------------------------------------------------------

class InternalAuthenticateCard : public CredentialCard {
 protected:
  void SetUp() override {
    CredentialCard::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_NO_FATAL_FAILURE(LoadKey(KeyType::kAes128, KeyUsage::kCardAuthentication, 0x20, kAes));
    ASSERT_NO_FATAL_FAILURE(
        LoadKey(KeyType::kEcP256Private, KeyUsage::kCardAuthentication, 0x21, kEc));
    ASSERT_NO_FATAL_FAILURE(
        LoadKey(KeyType::kEcP256Private, KeyUsage::kCardAuthentication, 0x22, kOtherEc));
    ASSERT_NO_FATAL_FAILURE(
        LoadKey(KeyType::kAes256, KeyUsage::kCardAuthentication, 0x23, Bytes(32, 0x23)));
    ASSERT_NO_FATAL_FAILURE(
        LoadKey(KeyType::kHmacSecret, KeyUsage::kDmCredential, 0x24, Bytes(32, 0x24)));
    ASSERT_NO_FATAL_FAILURE(
        LoadKey(KeyType::kAes128, KeyUsage::kBootstrapVerification, 0x25, Bytes(16, 0x25)));
  }
  // Obviously-test keys.
  const Bytes kAes = Ascii("CARD-AUTH-NOTREL");
  const Bytes kEc = H("1111111111111111111111111111111111111111111111111111111111111111");
  const Bytes kOtherEc = H("2222222222222222222222222222222222222222222222222222222222222222");
};

TEST_F(InternalAuthenticateCard, Req_SC8_AesKeyAnswersWithItsCmac) {
  for (size_t len : {1u, 8u, 16u, 17u, 128u}) {
    SCOPED_TRACE("challenge length " + std::to_string(len));
    const Bytes challenge(len, static_cast<uint8_t>(len));
    const Bytes r = Send(InternalAuthenticate(0x20, challenge));
    ASSERT_EQ(SwOf(r), 0x9000) << ToHex(r);
    EXPECT_EQ(ToHex(DataOf(r)), ToHex(HostScp03::AesCmac(kAes, challenge)));
    // AES-256 at KVN 23.
    EXPECT_EQ(ToHex(DataOf(Send(InternalAuthenticate(0x23, challenge)))),
              ToHex(HostScp03::AesCmac(Bytes(32, 0x23), challenge)));
  }
  // P2 00: the first card-authentication key, KVN 20.
  const Bytes challenge = H("0102030405060708");
  EXPECT_EQ(ToHex(DataOf(Send(InternalAuthenticate(0x00, challenge)))),
            ToHex(HostScp03::AesCmac(kAes, challenge)));
}

TEST_F(InternalAuthenticateCard, Req_SC8_EcKeyAnswersWithAnEcdsaSignature) {
  const Bytes pub = PublicKey(0x21);
  const Bytes other_pub = PublicKey(0x22);
  ASSERT_EQ(pub.size(), 65u);
  for (size_t len : {1u, 32u, 100u, 128u}) {
    SCOPED_TRACE("challenge length " + std::to_string(len));
    Bytes challenge(len);
    for (size_t i = 0; i < len; ++i) challenge[i] = static_cast<uint8_t>(0xA0 + i);
    const Bytes r = Send(InternalAuthenticate(0x21, challenge));
    ASSERT_EQ(SwOf(r), 0x9000) << ToHex(r);
    const Bytes sig = DataOf(r);
    ASSERT_EQ(sig.size(), 64u);
    EXPECT_TRUE(OsslEcdsaVerifies(pub, challenge, sig));
    // The test can fail: another key's public key, another challenge, a changed signature.
    EXPECT_FALSE(OsslEcdsaVerifies(other_pub, challenge, sig));
    Bytes other = challenge;
    other[0] ^= 1;
    EXPECT_FALSE(OsslEcdsaVerifies(pub, other, sig));
    Bytes bent = sig;
    bent[40] ^= 0x01;
    EXPECT_FALSE(OsslEcdsaVerifies(pub, challenge, bent));
    // The signature made by the other key does not pass as this key's.
    const Bytes by_other = DataOf(Send(InternalAuthenticate(0x22, challenge)));
    EXPECT_TRUE(OsslEcdsaVerifies(other_pub, challenge, by_other));
    EXPECT_FALSE(OsslEcdsaVerifies(pub, challenge, by_other));
  }
}

TEST_F(InternalAuthenticateCard, Req_SC8_RefusalsAreLoggedAndChangeNothing) {
  const Bytes challenge = Ascii("challenge");
  // No such key version; a KVN whose key 01 is not a card-authentication key.
  ExpectLoggedRefusal(InternalAuthenticate(0x26, challenge), 0x6A88, "KVN 26");
  ExpectLoggedRefusal(InternalAuthenticate(0x7F, challenge), 0x6A88, "KVN 7F");
  ExpectLoggedRefusal(InternalAuthenticate(0x24, challenge), 0x6985, "KVN 24");
  ExpectLoggedRefusal(InternalAuthenticate(0x25, challenge), 0x6985, "KVN 25");
  ExpectLoggedRefusal(InternalAuthenticate(0x30, challenge), 0x6985, "KVN 30");  // SCP03 K-ENC
  // Malformed: nothing logged.
  ExpectMalformed(H("0088002000"), 0x6700);  // no challenge
  Bytes too_long = {0x00, 0x88, 0x00, 0x20, 129};
  Append(too_long, Bytes(129, 0x33));
  ExpectMalformed(too_long, 0x6700);
  ExpectMalformed(H("008801200401020304"), 0x6A86);  // P1
  ExpectMalformed(H("008800800401020304"), 0x6A86);  // P2 beyond KVN 7F
  EXPECT_EQ(SwOf(Send(H("808800200401020304"))), 0x6D00) << "an interindustry command";
}

TEST_F(CredentialCard, Req_SC8_InternalAuthenticateWithoutACardKey) {
  // The demo card holds no card-authentication key.
  ExpectLoggedRefusal(InternalAuthenticate(0x00, Ascii("challenge")), 0x6A88, "first card key");
}

TEST_F(InternalAuthenticateCard, Req_SC8_ASuccessCountsOneUseAndNothingElse) {
  const Snapshot before = State(/*with_uses=*/false);
  ASSERT_EQ(SwOf(Send(InternalAuthenticate(0x21, Ascii("x")))), 0x9000);
  EXPECT_EQ(State(/*with_uses=*/false), before);
  EXPECT_TRUE(Log().empty());
  card_->store().Begin();
  EXPECT_EQ(card_->keys().Info(*card_->keys().Find(0x21, 0x01))->uses, 1u);
  card_->store().Abort();
}

}  // namespace
}  // namespace dmcard
