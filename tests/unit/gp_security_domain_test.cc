// SCP03 secure sessions on a card (gp/scp03_handshake, gp/scp03_session, gp/security_domain),
// driven in-process by the host side (host/scp03_host, OpenSSL): a runtime Card with the Issuer
// Security Domain and a test applet that serves the same handshake (as the DM applet does), key
// sets in the card's key store for the issuer and for a management authority.
//
// What is checked: sessions as the issuer and as a management authority at levels 01, 03, 11,
// 13, 33 on any logical channel, the key set's owner becoming the channel's principal; tampered,
// replayed and reordered commands refused with nothing changed and the session ended; a wrong
// host cryptogram answered 6300; the attempt counter blocking a key set; the sequence counter
// surviving a card rebuild and never going backwards under a power cut at every write of
// INITIALIZE UPDATE; pySim's published exchanges (tests/data/gp/scp03_pysim.data) replayed at
// APDU level.
//
// Requirements: SC8 (mutual authentication, integrity: C-MAC, R-MAC), SC9 (confidentiality:
// C-DECRYPTION, R-ENCRYPTION), SEC1 (only an authenticated management authority is taken for
// one; tampered, replayed or reordered commands change nothing).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gp/scp03_handshake.h"
#include "gp/security_domain.h"
#include "host/scp03_host.h"
#include "runtime/key_store.h"
#include "test_applets.h"
#include "vector_file.h"

namespace dmcard {
namespace {

using gp::SecurityDomain;
using testing::DataOf;
using testing::H;
using testing::LoadVectorFile;
using testing::SwOf;
using testing::VectorCase;

constexpr char kDms[] = "dms.example.test";
const HostScp03Keys kIssuerKeys = {H("404142434445464748494A4B4C4D4E4F"),
                                   H("505152535455565758595A5B5C5D5E5F"),
                                   H("606162636465666768696A6B6C6D6E6F")};
const HostScp03Keys kDmsKeys = {
    H("1111111111111111111111111111111111111111111111111111111111111111"),
    H("2222222222222222222222222222222222222222222222222222222222222222"),
    H("3333333333333333333333333333333333333333333333333333333333333333")};
constexpr uint8_t kIssuerKvn = 0x30;
constexpr uint8_t kDmsKvn = 0x31;
const Bytes kAidS = {0xA0, 0x00, 0x00, 0x05, 0x71, 0x05, 0x01};

// Test-only applet: the scratch applet (test_applets.h: ECHO, WRITE, READ, WHOAMI ...) serving the
// SCP03 handshake first, as an application with a secure channel of its own (the DM applet).
class Scp03ScratchApplet final : public testing::ScratchApplet {
 public:
  explicit Scp03ScratchApplet(const Bytes& aid) : ScratchApplet(aid, true, "s"), handshake_(aid) {}
  Sw Process(AppletContext& ctx, const CommandApdu& cmd, Bytes& out) override {
    if (auto sw = handshake_.Process(ctx, cmd, out)) return *sw;
    return ScratchApplet::Process(ctx, cmd, out);
  }

 private:
  gp::Scp03Handshake handshake_;
};

void LoadKeySets(Card& card) {
  PersistentStore& store = card.store();
  store.Begin();
  KeyLoader loader(store);
  ASSERT_EQ(loader.LoadScp03KeySet(kIssuerKvn, kIssuerPrincipal, kIssuerKeys.enc, kIssuerKeys.mac,
                                   kIssuerKeys.dek),
            CryptoStatus::kOk);
  ASSERT_EQ(loader.LoadScp03KeySet(kDmsKvn, kDms, kDmsKeys.enc, kDmsKeys.mac, kDmsKeys.dek),
            CryptoStatus::kOk);
  ASSERT_EQ(store.Commit(), StoreStatus::kOk);
}

// A powered card: the test applets A (default), A2, B, the ISD and the SCP03 scratch applet S.
std::unique_ptr<Card> BuildCard(std::shared_ptr<StorageMedium> medium) {
  testing::TestCardOptions options;
  options.medium = std::move(medium);
  auto card = testing::MakeTestCard(options);
  EXPECT_EQ(card->Install(std::make_unique<SecurityDomain>()), Sw::kOk);
  EXPECT_EQ(card->Install(std::make_unique<Scp03ScratchApplet>(kAidS)), Sw::kOk);
  return card;
}

Bytes SelectCommand(uint8_t channel, const Bytes& aid) {
  Bytes c = {EncodeClass(0x00, channel), 0xA4, 0x04, 0x00, static_cast<uint8_t>(aid.size())};
  Append(c, aid);
  return c;
}

std::string Str(const Bytes& b) { return std::string(b.begin(), b.end()); }

class Gp_Scp03Card : public ::testing::Test {
 protected:
  void SetUp() override {
    medium_ = std::make_shared<RamMedium>();
    card_ = BuildCard(medium_);
    LoadKeySets(*card_);
  }

  Bytes Tx(const Bytes& c) { return card_->Transmit(c); }
  std::string Hex(const Bytes& c) { return ToHex(card_->Transmit(c)); }
  void Select(uint8_t channel, const Bytes& aid) {
    ASSERT_EQ(SwOf(Tx(SelectCommand(channel, aid))), 0x9000);
  }
  // INITIALIZE UPDATE with `host`, checked by it (card cryptogram, pseudo-random challenge with
  // `aid`); then EXTERNAL AUTHENTICATE at `level`, answered 9000 in the clear.
  void Open(HostScp03& host, uint8_t kvn, uint8_t level, uint8_t channel, const Bytes& aid) {
    const Bytes r = Tx(host.InitializeUpdate(kvn, H("0102030405060708"), channel));
    ASSERT_EQ(SwOf(r), 0x9000);
    ASSERT_NO_THROW(host.ReadInitializeUpdateResponse(DataOf(r), aid));
    EXPECT_EQ(host.i(), 0x70);
    ASSERT_EQ(Hex(host.ExternalAuthenticate(level)), "9000");
  }
  // A command wrapped by `host`; the answer's data unwrapped (R-MAC checked, R-ENC decrypted)
  // and its status word.
  std::pair<Bytes, uint16_t> Secure(HostScp03& host, const Bytes& plain) {
    const Bytes r = Tx(host.Wrap(plain));
    const uint16_t sw = SwOf(r);
    Bytes data;
    EXPECT_NO_THROW(data = host.Unwrap(DataOf(r), sw));
    return {data, sw};
  }
  std::string WhoAmI(HostScp03& host, uint8_t channel = 0) {
    auto [data, sw] = Secure(host, {EncodeClass(0x80, channel), 0x62, 0x00, 0x00, 0x00});
    EXPECT_EQ(sw, 0x9000);
    return Str(data);
  }
  const KeySetState State(uint8_t kvn) { return card_->keys().SetState(kvn).value(); }

  std::shared_ptr<RamMedium> medium_;
  std::unique_ptr<Card> card_;
};

// ---- sessions work ------------------------------------------------------------------------

TEST_F(Gp_Scp03Card, Req_SC8_IssuerAndAuthoritySessionsAtEveryLevel) {
  const std::pair<uint8_t, std::string> principals[] = {{kIssuerKvn, kIssuerPrincipal},
                                                        {kDmsKvn, kDms}};
  for (uint8_t level : {0x01, 0x03, 0x11, 0x13, 0x33}) {
    for (const auto& [kvn, principal] : principals) {
      SCOPED_TRACE("level " + ToHex(Bytes{level}) + " as " + principal);
      Select(0, kAidS);
      HostScp03 host(kvn == kIssuerKvn ? kIssuerKeys : kDmsKeys);
      Open(host, kvn, level, 0, kAidS);
      EXPECT_EQ(WhoAmI(host), principal);
      // ECHO: command data decrypted, answer encrypted, as the level says.
      const Bytes payload = H("00112233445566778899AABBCCDDEEFF0123");
      Bytes echo = {0x80, 0x10, 0x00, 0x00, static_cast<uint8_t>(payload.size())};
      Append(echo, payload);
      echo.push_back(0x00);
      auto [data, sw] = Secure(host, echo);
      EXPECT_EQ(sw, 0x9000);
      EXPECT_EQ(ToHex(data), ToHex(payload));
      // A write and a read under the session; a refused command keeps the session.
      EXPECT_EQ(Secure(host, H("8020010002CAFE")).second, 0x9000);
      auto [read, read_sw] = Secure(host, H("8022000000"));
      EXPECT_EQ(read_sw, 0x9000);
      EXPECT_EQ(ToHex(read), "CAFE");
      EXPECT_EQ(Secure(host, H("8022070000")).second, 0x6A83);
      EXPECT_EQ(WhoAmI(host), principal);
      EXPECT_EQ(State(kvn).failed_authentications, 0);
    }
  }
}

TEST_F(Gp_Scp03Card, Req_SC8_SecurityDomainOpensSessionsAndListsItsKeySets) {
  Select(0, SecurityDomain::IsdAid());
  // The key information template in the clear, then under an R-ENCRYPTION session.
  const std::string kit =
      "E024"
      "C00401308810C00402308810C00403308810"
      "C00401318820C00402318820C00403318820";
  EXPECT_EQ(Hex(H("80CA00E000")), kit + "9000");
  for (uint8_t kvn : {kIssuerKvn, kDmsKvn}) {
    HostScp03 host(kvn == kIssuerKvn ? kIssuerKeys : kDmsKeys);
    Open(host, kvn, 0x33, 0, SecurityDomain::IsdAid());
    auto [data, sw] = Secure(host, H("80CA00E000"));
    EXPECT_EQ(sw, 0x9000);
    EXPECT_EQ(ToHex(data) + "9000", kit + "9000");
    EXPECT_EQ(Secure(host, H("80E2000000")).second, 0x6D00);  // not yet (issue 9 item 5)
  }
  EXPECT_EQ(card_->DescribeCommand(H("8050300008 0102030405060708 00")),
            "GP INITIALIZE UPDATE KVN 30");
  EXPECT_EQ(card_->DescribeCommand(H("80CA00E000")), "GP GET DATA key information");
}

TEST_F(Gp_Scp03Card, Req_SEC1_EachLogicalChannelHasItsOwnSessionAndPrincipal) {
  // Channel 0 the issuer, channel 1 the management authority, channel 5 (further classes C0/E0)
  // the management authority again; channel 2 nobody.
  for (uint8_t c : {1, 2, 3, 4, 5}) {
    ASSERT_EQ(Hex({0x00, 0x70, 0x00, c}), "9000");  // MANAGE CHANNEL open channel c
  }
  for (uint8_t c : {0, 1, 2, 5}) Select(c, kAidS);
  HostScp03 issuer(kIssuerKeys), dms(kDmsKeys), dms5(kDmsKeys);
  Open(issuer, kIssuerKvn, 0x33, 0, kAidS);
  Open(dms, kDmsKvn, 0x13, 1, kAidS);
  Open(dms5, kDmsKvn, 0x11, 5, kAidS);
  EXPECT_EQ(WhoAmI(issuer, 0), kIssuerPrincipal);
  EXPECT_EQ(WhoAmI(dms, 1), kDms);
  EXPECT_EQ(WhoAmI(dms5, 5), kDms);
  EXPECT_EQ(Hex(H("8262000000")), "9000");  // channel 2: no principal
  // The sessions' counters run on their own: interleaved commands all verify.
  EXPECT_EQ(WhoAmI(dms, 1), kDms);
  EXPECT_EQ(WhoAmI(issuer, 0), kIssuerPrincipal);
  // SELECT (another applet or this one anew) ends a channel's session, and only that one.
  Select(1, SecurityDomain::IsdAid());
  EXPECT_EQ(Hex(dms.Wrap(H("81620000 00"))), "6882");
  EXPECT_EQ(WhoAmI(issuer, 0), kIssuerPrincipal);
  EXPECT_EQ(WhoAmI(dms5, 5), kDms);
  // Closing channel 5 and a reset end theirs.
  ASSERT_EQ(Hex(H("00708005")), "9000");
  card_->Reset();
  Select(0, kAidS);
  EXPECT_EQ(Hex(issuer.Wrap(H("80620000 00"))), "6882");
}

// ---- refusals ------------------------------------------------------------------------------

TEST_F(Gp_Scp03Card, Req_SEC1_TamperedReplayedReorderedCommandsChangeNothingAndEndTheSession) {
  Select(0, kAidS);
  const Bytes write_a = H("8020010002AAAA");
  const Bytes write_b = H("8020010002BBBB");
  auto value = [&] {
    const Bytes* v = card_->store().Get("s/0");
    return v == nullptr ? std::string("<none>") : ToHex(*v);
  };
  auto session_gone = [&](HostScp03& host) {
    EXPECT_EQ(Hex(host.Wrap(H("80620000 00"))), "6882");  // no session to unwrap with
    EXPECT_EQ(Hex(H("80620000 00")), "9000");             // no principal left
  };
  for (uint8_t level : {0x01, 0x13, 0x33}) {
    SCOPED_TRACE("level " + ToHex(Bytes{level}));
    {  // Tampered: any byte of header, data or MAC.
      for (size_t at : {1u, 2u, 5u, 6u, 12u}) {
        HostScp03 host(kDmsKeys);
        Open(host, kDmsKvn, level, 0, kAidS);
        Bytes c = host.Wrap(write_a);
        ASSERT_LT(at, c.size());
        c[at] ^= 0x01;
        const std::string before = value();
        EXPECT_EQ(Hex(c), "6982") << "byte " << at;
        EXPECT_EQ(value(), before);
        session_gone(host);
      }
    }
    {  // Replayed.
      HostScp03 host(kDmsKeys);
      Open(host, kDmsKvn, level, 0, kAidS);
      const Bytes a = host.Wrap(write_a);
      EXPECT_EQ(SwOf(Tx(a)), 0x9000);
      EXPECT_EQ(value(), "AAAA");
      const Bytes b = host.Wrap(write_b);  // made, never sent
      EXPECT_EQ(Hex(a), "6982");
      EXPECT_EQ(value(), "AAAA");
      session_gone(host);
      // A replay into a new session fails too.
      HostScp03 again(kDmsKeys);
      Open(again, kDmsKvn, level, 0, kAidS);
      EXPECT_EQ(Hex(b), "6982");
      EXPECT_EQ(value(), "AAAA");
      session_gone(again);
    }
    {  // Reordered.
      HostScp03 host(kDmsKeys);
      Open(host, kDmsKvn, level, 0, kAidS);
      const Bytes first = host.Wrap(H("8020010002CCCC"));
      const Bytes second = host.Wrap(write_b);
      EXPECT_EQ(Hex(second), "6982");
      EXPECT_EQ(value(), "AAAA");
      EXPECT_EQ(Hex(first), "6882");  // the session is gone
      EXPECT_EQ(value(), "AAAA");
    }
    {  // A plain command inside the session.
      HostScp03 host(kDmsKeys);
      Open(host, kDmsKvn, level, 0, kAidS);
      EXPECT_EQ(Hex(write_b), "6982");
      EXPECT_EQ(value(), "AAAA");
      session_gone(host);
    }
  }
  // None of this was a failed authentication.
  EXPECT_EQ(State(kDmsKvn).failed_authentications, 0);
}

// The host's EXTERNAL AUTHENTICATE with another cryptogram and a correct C-MAC over it (worked
// out here with OpenSSL from the host's session keys, Amendment D §6.2.3/§6.2.4).
Bytes ExternalAuthenticateWith(const HostScp03& host, ByteView cryptogram, uint8_t level) {
  Bytes part = {0x84, 0x82, level, 0x00, 0x10};
  Append(part, cryptogram);
  Bytes input(16, 0x00);
  Append(input, part);
  const Bytes mac = HostScp03::AesCmac(host.s_mac(), input);
  Append(part, ByteView(mac).first(8));
  return part;
}

TEST_F(Gp_Scp03Card, Req_SC8_WrongHostCryptogramIs6300AndBadMacIs6982) {
  Select(0, kAidS);
  HostScp03 host(kIssuerKeys);
  ASSERT_EQ(SwOf(Tx(host.InitializeUpdate(kIssuerKvn, H("0102030405060708")))), 0x9000);
  // (ReadInitializeUpdateResponse is not needed for the session keys of a forged cryptogram:
  // derive them through a second, correct opening.)
  HostScp03 good(kIssuerKeys);
  const Bytes r = Tx(good.InitializeUpdate(kIssuerKvn, H("1112131415161718")));
  ASSERT_NO_THROW(good.ReadInitializeUpdateResponse(DataOf(r), kAidS));
  Bytes wrong = good.host_cryptogram();
  wrong[3] ^= 0x40;
  EXPECT_EQ(Hex(ExternalAuthenticateWith(good, wrong, 0x01)), "6300");
  EXPECT_EQ(State(kIssuerKvn).failed_authentications, 1);
  EXPECT_EQ(Hex(H("80620000 00")), "9000");  // nobody
  // The session is closed: the right EXTERNAL AUTHENTICATE now finds none.
  EXPECT_EQ(Hex(good.ExternalAuthenticate(0x01)), "6882");

  HostScp03 bad_mac(kIssuerKeys);
  const Bytes r2 = Tx(bad_mac.InitializeUpdate(kIssuerKvn, H("2122232425262728")));
  ASSERT_NO_THROW(bad_mac.ReadInitializeUpdateResponse(DataOf(r2), kAidS));
  Bytes ea = bad_mac.ExternalAuthenticate(0x01);
  ea.back() ^= 0x01;
  EXPECT_EQ(Hex(ea), "6982");
  EXPECT_EQ(State(kIssuerKvn).failed_authentications, 2);

  // Keys of another set under this KVN: the card cryptogram does not verify on the host, and the
  // host cryptogram not on the card.
  HostScp03 impostor(kDmsKeys);
  const Bytes r3 = Tx(impostor.InitializeUpdate(kIssuerKvn, H("3132333435363738")));
  EXPECT_THROW(impostor.ReadInitializeUpdateResponse(DataOf(r3), kAidS), HostScp03Error);

  // An unsupported level is refused without counting; no INITIALIZE UPDATE before: 6985.
  HostScp03 level(kIssuerKeys);
  const Bytes r4 = Tx(level.InitializeUpdate(kIssuerKvn, H("4142434445464748")));
  ASSERT_NO_THROW(level.ReadInitializeUpdateResponse(DataOf(r4), kAidS));
  EXPECT_EQ(Hex(level.ExternalAuthenticate(0x02)), "6A86");
  EXPECT_EQ(State(kIssuerKvn).failed_authentications, 2);
  EXPECT_EQ(Hex(H("84820100 10 00000000000000000000000000000000")), "6882");  // no session
  EXPECT_EQ(Hex(H("80820100 10 00000000000000000000000000000000")), "6985");  // plain

  // A success clears the count.
  HostScp03 ok(kIssuerKeys);
  Open(ok, kIssuerKvn, 0x01, 0, kAidS);
  EXPECT_EQ(State(kIssuerKvn).failed_authentications, 0);
}

TEST_F(Gp_Scp03Card, Req_SC8_InitializeUpdateRefusals) {
  Select(0, kAidS);
  EXPECT_EQ(Hex(H("8050300108 0102030405060708 00")), "6A86");                  // P2
  EXPECT_EQ(Hex(H("8050300010 0102030405060708090A0B0C0D0E0F10 00")), "6700");  // S16
  EXPECT_EQ(Hex(H("8050320008 0102030405060708 00")), "6A88");                  // no such set
  // KVN 00: the lowest SCP03 key set (the issuer's here).
  HostScp03 host(kIssuerKeys);
  const Bytes r = Tx(host.InitializeUpdate(0x00, H("0102030405060708")));
  ASSERT_EQ(SwOf(r), 0x9000);
  EXPECT_EQ(DataOf(r).at(10), kIssuerKvn);
  ASSERT_NO_THROW(host.ReadInitializeUpdateResponse(DataOf(r), kAidS));
  // A plain command between INITIALIZE UPDATE and EXTERNAL AUTHENTICATE aborts the opening.
  EXPECT_EQ(Hex(H("8010000001 AB")), "AB9000");
  EXPECT_EQ(Hex(host.ExternalAuthenticate(0x01)), "6985");
}

// A key-set record bound to a reserved name, as a damaged or forged card image could hold it (the
// loader refuses such owners; the handshake refuses them again).
TEST_F(Gp_Scp03Card, Req_SEC1_ReservedOwnerIsNeverAPrincipal) {
  PersistentStore& store = card_->store();
  store.Begin();
  // card/key/<KVN>/<ID> version 1: version, type, usage, owner, max uses, secret, public key.
  auto record = [](uint8_t usage) {
    Bytes r = {0x01, 0x01, usage, 0x05, '@', 'u', 's', 'e', 'r', 0, 0, 0, 0, 0x10};
    Append(r, Bytes(16, usage));
    r.push_back(0x00);
    return r;
  };
  ASSERT_EQ(store.Put("card/key/3F/01", record(0x01)), StoreStatus::kOk);
  ASSERT_EQ(store.Put("card/key/3F/02", record(0x02)), StoreStatus::kOk);
  ASSERT_EQ(store.Put("card/key/3F/state", H("01 000000 00 0A")), StoreStatus::kOk);
  ASSERT_EQ(store.Commit(), StoreStatus::kOk);
  ASSERT_EQ(card_->keys().Info(*card_->keys().Find(0x3F, 1))->owner, "@user");
  Select(0, kAidS);
  EXPECT_EQ(Hex(H("80503F0008 0102030405060708 00")), "6985");
  EXPECT_EQ(State(0x3F).sequence_counter, 0u);  // refused before any challenge was made
}

TEST_F(Gp_Scp03Card, Req_SC8_AttemptCounterBlocksTheKeySet) {
  Select(0, kAidS);
  auto fail_once = [&] {
    HostScp03 host(kDmsKeys);
    const Bytes r = Tx(host.InitializeUpdate(kDmsKvn, H("0102030405060708")));
    if (SwOf(r) != 0x9000) return ToHex(r);
    host.ReadInitializeUpdateResponse(DataOf(r), kAidS);
    Bytes ea = host.ExternalAuthenticate(0x01);
    ea.back() ^= 0xFF;
    return ToHex(Tx(ea));
  };
  for (int i = 0; i < KeyStore::kDefaultMaxFailedAuthentications; ++i) {
    EXPECT_EQ(fail_once(), "6982") << "attempt " << i;
  }
  EXPECT_TRUE(State(kDmsKvn).blocked());
  EXPECT_EQ(fail_once(), "6983");
  // Blocked for good: the right keys do not open it, not even after a rebuild.
  card_ = BuildCard(medium_);
  Select(0, kAidS);
  HostScp03 right(kDmsKeys);
  EXPECT_EQ(Hex(right.InitializeUpdate(kDmsKvn, H("0102030405060708"))), "6983");
  // Another key set is not affected.
  HostScp03 issuer(kIssuerKeys);
  Open(issuer, kIssuerKvn, 0x01, 0, kAidS);
  EXPECT_EQ(WhoAmI(issuer), kIssuerPrincipal);
  // Loading the set anew (issuer personalization) unblocks it.
  PersistentStore& store = card_->store();
  store.Begin();
  ASSERT_EQ(
      KeyLoader(store).LoadScp03KeySet(kDmsKvn, kDms, kDmsKeys.enc, kDmsKeys.mac, kDmsKeys.dek),
      CryptoStatus::kOk);
  ASSERT_EQ(store.Commit(), StoreStatus::kOk);
  HostScp03 again(kDmsKeys);
  Open(again, kDmsKvn, 0x01, 0, kAidS);
  EXPECT_EQ(WhoAmI(again), kDms);
}

// ---- the sequence counter --------------------------------------------------------------------

TEST_F(Gp_Scp03Card, Req_SC8_SequenceCounterPersistsAcrossRebuild) {
  Select(0, kAidS);
  uint32_t expected = 0;
  for (int i = 0; i < 3; ++i) {
    HostScp03 host(kIssuerKeys);
    const Bytes r = Tx(host.InitializeUpdate(kIssuerKvn, H("0102030405060708")));
    ASSERT_NO_THROW(host.ReadInitializeUpdateResponse(DataOf(r), kAidS));
    EXPECT_EQ(host.sequence_counter(), ++expected);
  }
  // A refused INITIALIZE UPDATE after the counter moved keeps it moved: nothing here refuses
  // after the move, so rebuild the card and look.
  card_ = BuildCard(medium_);
  Select(0, kAidS);
  HostScp03 host(kIssuerKeys);
  const Bytes r = Tx(host.InitializeUpdate(kIssuerKvn, H("0102030405060708")));
  ASSERT_NO_THROW(host.ReadInitializeUpdateResponse(DataOf(r), kAidS));
  EXPECT_EQ(host.sequence_counter(), 4u);
  // Each key set counts on its own.
  HostScp03 dms(kDmsKeys);
  const Bytes r2 = Tx(dms.InitializeUpdate(kDmsKvn, H("0102030405060708")));
  ASSERT_NO_THROW(dms.ReadInitializeUpdateResponse(DataOf(r2), kAidS));
  EXPECT_EQ(dms.sequence_counter(), 1u);
}

TEST(Gp_Scp03Tear, SequenceCounterNeverGoesBackUnderAPowerCutAtEveryWriteOfInitializeUpdate) {
  bool finished = false;
  int cuts_without_answer = 0;
  for (uint64_t cut = 0; !finished && cut < 64; ++cut) {
    SCOPED_TRACE("cut after " + std::to_string(cut) + " writes");
    auto ram = std::make_shared<RamMedium>();
    auto faulty = std::make_shared<FaultInjectingMedium>(ram);
    std::set<std::string> challenges;  // every card challenge the card answered with
    uint32_t highest = 0;              // the highest sequence counter it answered with
    auto initialize_update = [&](Card& card) {
      HostScp03 host(kIssuerKeys);
      const Bytes r = card.Transmit(host.InitializeUpdate(kIssuerKvn, H("0102030405060708")));
      if (r.empty()) return false;  // power cut: no answer
      EXPECT_EQ(SwOf(r), 0x9000);
      EXPECT_NO_THROW(host.ReadInitializeUpdateResponse(DataOf(r), kAidS));
      EXPECT_TRUE(challenges.insert(ToHex(host.card_challenge())).second) << "challenge repeated";
      EXPECT_GT(host.sequence_counter(), highest);
      highest = host.sequence_counter();
      return true;
    };
    {
      auto card = BuildCard(faulty);
      LoadKeySets(*card);
      ASSERT_EQ(SwOf(card->Transmit(SelectCommand(0, kAidS))), 0x9000);
      ASSERT_TRUE(initialize_update(*card));
      faulty->CutPowerAfter(cut);
      if (initialize_update(*card)) {
        finished = !faulty->power_cut();
      } else {
        ++cuts_without_answer;
      }
    }
    faulty->Disarm();
    auto card = BuildCard(ram);
    ASSERT_EQ(SwOf(card->Transmit(SelectCommand(0, kAidS))), 0x9000);
    ASSERT_TRUE(initialize_update(*card));  // checks: above all answered, challenge new
  }
  EXPECT_TRUE(finished);
  EXPECT_GT(cuts_without_answer, 0);
}

// ---- pySim's published exchanges at APDU level -------------------------------------------------

// GSMA SGP.02/SGP.22 ISD-R AID: the AID pySim's card challenges were made with (gp_scp03_test.cc).
const Bytes kIsdRAid = H("A0000005591010FFFFFFFF8900000100");

// Test-only applet at the ISD-R AID: the SCP03 handshake, then records each command as the
// applet sees it and answers ES10c GetEID (STORE DATA BF3E 5C 5A) with pySim's EID response.
class EidApplet final : public Applet {
 public:
  EidApplet(Bytes eid_response) : Applet(kIsdRAid), handshake_(kIsdRAid), eid_(eid_response) {}
  const char* name() const override { return "pysim-isd-r"; }
  std::vector<Bytes> seen;  // each command as CLA INS P1 P2 [Lc data] [Le]
  Sw Process(AppletContext& ctx, const CommandApdu& cmd, Bytes& out) override {
    if (ctx.selecting()) return Sw::kOk;
    if (auto sw = handshake_.Process(ctx, cmd, out)) return *sw;
    Bytes c = {cmd.cla, cmd.ins, cmd.p1, cmd.p2};
    if (!cmd.data.empty()) {
      c.push_back(static_cast<uint8_t>(cmd.data.size()));
      Append(c, cmd.data);
    }
    if (cmd.has_le()) c.push_back(static_cast<uint8_t>(cmd.ne & 0xFF));
    seen.push_back(c);
    if (cmd.ins == 0xE2 && cmd.p1 == 0x91 && ToHex(cmd.data) == "BF3E035C015A") Append(out, eid_);
    return Sw::kOk;
  }

 private:
  gp::Scp03Handshake handshake_;
  Bytes eid_;
};

uint32_t CounterOf(const Bytes& init_update_rsp) {
  return (uint32_t{init_update_rsp[29]} << 16) | (uint32_t{init_update_rsp[30]} << 8) |
         init_update_rsp[31];
}

// A card whose only SCP03 key set is the case's, with its sequence counter moved to one before
// the case's by earlier INITIALIZE UPDATEs (the counter moves only that way).
std::unique_ptr<Card> PySimCard(const VectorCase& c, std::unique_ptr<Applet> at_isd_r) {
  const uint8_t kvn = c.Get("init_update_rsp").at(10);
  auto card = testing::MakeTestCard();
  EXPECT_EQ(card->Install(std::move(at_isd_r)), Sw::kOk);
  card->store().Begin();
  EXPECT_EQ(KeyLoader(card->store())
                .LoadScp03KeySet(kvn, kIssuerPrincipal, c.Get("enc"), c.Get("mac"), c.Get("dek")),
            CryptoStatus::kOk);
  EXPECT_EQ(card->store().Commit(), StoreStatus::kOk);
  EXPECT_EQ(SwOf(card->Transmit(SelectCommand(0, kIsdRAid))), 0x9000);
  for (uint32_t i = 1; i < CounterOf(c.Get("init_update_rsp")); ++i) {
    Bytes iu = {0x80, 0x50, kvn, 0x00, 0x08};
    Append(iu, Bytes(8, static_cast<uint8_t>(i)));
    iu.push_back(0x00);
    EXPECT_EQ(SwOf(card->Transmit(iu)), 0x9000);
  }
  return card;
}

std::vector<VectorCase> PySimCases() {
  auto cases = LoadVectorFile("gp/scp03_pysim.data");
  EXPECT_EQ(cases.size(), 9u);
  return cases;
}

// The Issuer Security Domain, installed at the ISD-R AID, answers pySim's INITIALIZE UPDATE with
// pySim's bytes and accepts its EXTERNAL AUTHENTICATE and its secured commands (which it does not
// implement: answered with an error status word, without R-MAC, the session going on).
TEST(Req_SC8_Scp03PySim, SecurityDomainAnswersPySimByteForByte) {
  for (const auto& c : PySimCases()) {
    SCOPED_TRACE(c.Where());
    auto card = PySimCard(c, std::make_unique<SecurityDomain>(kIsdRAid));
    EXPECT_EQ(ToHex(card->Transmit(c.Get("init_update_cmd"))),
              ToHex(c.Get("init_update_rsp")) + "9000");
    EXPECT_EQ(ToHex(card->Transmit(c.Get("ext_auth_cmd"))), "9000");
    EXPECT_EQ(ToHex(card->Transmit(c.Get("get_eid_cmd"))), "6D00");
    // GET STATUS, GET DATA Card Data (66, not held), GET STATUS, GET STATUS.
    const std::pair<const char*, const char*> answers[] = {
        {"case1", "6D00"}, {"case2", "6A88"}, {"case3", "6D00"}, {"case4", "6D00"}};
    for (const auto& [n, sw] : answers) EXPECT_EQ(ToHex(card->Transmit(c.Get(n))), sw) << n;
    // The MAC chain held to the end: a replay of the last command is refused.
    EXPECT_EQ(ToHex(card->Transmit(c.Get("case4"))), "6982");
  }
}

// An applet serving the same handshake at the ISD-R AID sees pySim's plain commands and answers
// GetEID with the bytes pySim unwraps (R-MAC, R-ENCRYPTION as the case's level says).
TEST(Req_SC8_Scp03PySim, CardProducesPySimResponsesAndSeesItsPlainCommands) {
  for (const auto& c : PySimCases()) {
    SCOPED_TRACE(c.Where());
    auto applet = std::make_unique<EidApplet>(c.Get("get_eid_rsp_plain"));
    EidApplet* eid = applet.get();
    auto card = PySimCard(c, std::move(applet));
    EXPECT_EQ(ToHex(card->Transmit(c.Get("init_update_cmd"))),
              ToHex(c.Get("init_update_rsp")) + "9000");
    EXPECT_EQ(ToHex(card->Transmit(c.Get("ext_auth_cmd"))), "9000");
    EXPECT_EQ(ToHex(card->Transmit(c.Get("get_eid_cmd"))), ToHex(c.Get("get_eid_rsp")) + "9000");
    for (const char* n : {"case1", "case2", "case3", "case4"}) {
      EXPECT_EQ(SwOf(card->Transmit(c.Get(n))), 0x9000) << n;
    }
    ASSERT_EQ(eid->seen.size(), 5u);
    EXPECT_EQ(ToHex(eid->seen[0]), ToHex(c.Get("get_eid_plain")));
    for (int i = 1; i <= 4; ++i) {
      const std::string n = "case" + std::to_string(i) + "_plain";
      EXPECT_EQ(ToHex(eid->seen[static_cast<size_t>(i)]), ToHex(c.Get(n))) << n;
    }
  }
}

}  // namespace
}  // namespace dmcard
