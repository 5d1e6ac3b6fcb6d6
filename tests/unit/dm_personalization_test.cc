// Issuer personalization over SCP03 (issue 9 item 5; SC2: the card stores authentication
// parameters securely): the issuer opens a session with its key set and loads a profile — keys,
// PINs, the IMSI, flags, the tree — with STORE DATA of DGIs (apdu-specs/dm.json). The host side
// (host/personalization, OpenSSL) reads the profile file itself; the card built from a
// blank profile and personalized must hold what the card built directly from the profile holds.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "demo_card_apdus.h"
#include "dm/dm_applet.h"
#include "dm/imsi.h"
#include "dm/mo_tree.h"
#include "host/demo_card.h"
#include "host/personalization.h"
#include "host/profile_file.h"
#include "host/state_check.h"
#include "runtime/key_store.h"
#include "scp03_test_client.h"
#include "test_applets.h"
#include "vector_file.h"

namespace dmcard {
namespace {

using testing::Ascii;
using testing::DataOf;
using testing::H;
using testing::Scp03TestClient;
using testing::SwOf;

const std::string kData = DMCARD_TEST_DATA_DIR;
const std::string kDemoProfile = std::string(DMCARD_SOURCE_DIR) + "/profiles/demo/profile.json";
const testing::TestKeySet kIssuer{0x30, testing::DemoIssuerKeys()};
const testing::TestKeySet kDms{0x31, testing::DemoDmsKeys()};

Profile Load(const std::string& file) {
  std::string error;
  std::optional<Profile> p = LoadProfile(file, error);
  EXPECT_TRUE(p) << error;
  return p.value_or(Profile{});
}

// Everything a card holds, record by record: persistent state to compare.
using Snapshot = std::map<std::string, Bytes>;

// A card over a RAM medium (or a fault-injecting one over it) that a test can rebuild.
class TestCard {
 public:
  explicit TestCard(Profile profile, std::shared_ptr<StorageMedium> medium = nullptr)
      : profile_(std::move(profile)),
        ram_(std::make_shared<RamMedium>()),
        medium_(medium ? std::move(medium) : ram_) {
    Build(medium_);
  }
  TestCard(Profile profile, std::shared_ptr<RamMedium> ram, std::shared_ptr<StorageMedium> medium)
      : profile_(std::move(profile)), ram_(std::move(ram)), medium_(std::move(medium)) {
    Build(medium_);
  }

  // Power up again on what the medium kept (the RAM under any fault injection).
  void Rebuild() { Build(ram_); }

  Card& card() { return *card_; }
  Bytes Send(const Bytes& c) { return card_->Transmit(c); }
  uint16_t Sw(const Bytes& c) { return SwOf(Send(c)); }
  uint16_t SelectDm() { return Sw(testing::SelectAid(dm::DmApplet::DefaultAid())); }

  // Every record of the card but the key sets' session bookkeeping (sequence counter, failed
  // authentications, use counters), which opening a session moves by design.
  Snapshot State() {
    Snapshot s;
    auto ends_with = [](const std::string& key, std::string_view end) {
      return key.size() > end.size() && key.compare(key.size() - end.size(), end.size(), end) == 0;
    };
    for (const std::string& key : card_->store().Keys("")) {
      if (ends_with(key, "/state") || ends_with(key, "/uses")) continue;
      s[key] = *card_->store().Get(key);
    }
    return s;
  }

  // The DM tree, read without ACLs (values of secret leaves included), without the change
  // bookkeeping (TStamp, VerNo, generation) that differs between two ways of loading a tree.
  std::vector<std::string> Tree() {
    dm::MoTree tree(card_->ViewOf(DmIndex()), dm::DmApplet::kKeyPrefix, [] { return int64_t{0}; });
    std::vector<std::string> out;
    for (const dm::Node& n : tree.Walk()) {
      out.push_back(n.uri + (n.interior ? " interior" : " leaf") +
                    " format=" + std::to_string(static_cast<int>(n.props.format)) +
                    " type=" + n.props.type + " acl=" + n.props.acl + " title=" + n.props.title +
                    (n.props.secret ? " secret" : "") + " value=" + ToHex(n.value));
    }
    return out;
  }

  std::vector<std::string> Keys() {
    std::vector<std::string> out;
    card_->store().Begin();
    for (KeyHandle h : card_->keys().List()) {
      const KeyInfo i = *card_->keys().Info(h);
      out.push_back(
          ToHex(Bytes{i.kvn, i.id, static_cast<uint8_t>(i.type), static_cast<uint8_t>(i.usage)}) +
          " " + i.owner);
    }
    card_->store().Abort();
    return out;
  }

  const Bytes* Record(const std::string& key) { return card_->store().Get(key); }

 private:
  size_t DmIndex() {
    EXPECT_EQ(SelectDm(), 0x9000);
    return static_cast<size_t>(card_->selected_applet(0));
  }
  void Build(std::shared_ptr<StorageMedium> medium) {
    card_.reset();
    std::string error;
    const uint8_t seed[16] = {9, 1};
    card_ = MakeCard(profile_, CardConfigFor(profile_),
                     Platform{std::move(medium), crypto::Drbg::FromSeed(seed),
                              [] { return int64_t{1700000000}; }},
                     error);
    ASSERT_TRUE(card_) << error;
    card_->PowerOn();
  }

  Profile profile_;
  std::shared_ptr<RamMedium> ram_;
  std::shared_ptr<StorageMedium> medium_;
  std::unique_ptr<Card> card_;
};

// The STORE DATA commands that load the demo profile, read by the host from its file.
std::vector<Bytes> DemoPersonalization() {
  std::string error;
  const std::optional<HostProfile> profile = ReadHostProfile(kDemoProfile, error);
  EXPECT_TRUE(profile) << error;
  if (!profile) return {};
  const std::optional<std::vector<HostDgi>> dgis =
      PersonalizationDgis(*profile, kIssuer.keys.dek, error);
  EXPECT_TRUE(dgis) << error;
  if (!dgis) return {};
  std::optional<std::vector<Bytes>> blocks = StoreDataCommands(*dgis, error);
  EXPECT_TRUE(blocks) << error;
  return blocks.value_or(std::vector<Bytes>{});
}

// An issuer session to the DM applet on channel 0 of `c`.
std::unique_ptr<Scp03TestClient> IssuerSession(TestCard& c, uint8_t level = 0x33) {
  EXPECT_EQ(c.SelectDm(), 0x9000);
  auto client = std::make_unique<Scp03TestClient>(c.card(), kIssuer);
  EXPECT_EQ(client->Open(dm::DmApplet::DefaultAid(), level), "");
  return client;
}

uint16_t SwOfAll(Scp03TestClient& s, const std::vector<Bytes>& commands) {
  uint16_t sw = 0x9000;
  for (const Bytes& c : commands) {
    sw = SwOf(s.Transmit(c));
    if (sw != 0x9000) break;
  }
  return sw;
}

// A command header followed by ASCII text (a PIN command's data).
Bytes Cat(Bytes header, std::string_view text) {
  Append(header, Ascii(text));
  return header;
}

Bytes Block(uint8_t p1, uint8_t p2, const Bytes& data) {
  Bytes c = {0x80, 0xE2, p1, p2, static_cast<uint8_t>(data.size())};
  Append(c, data);
  return c;
}

TEST(Req_SC2_IssuerPersonalization, EfImsiMatchesThePublishedEncoding) {
  // tests/data/dm/ef_imsi.data: IMSIs and their EF_IMSI bytes, with their sources.
  const std::vector<testing::VectorCase> cases = testing::LoadVectorFile("dm/ef_imsi.data");
  ASSERT_FALSE(cases.empty());
  for (const testing::VectorCase& v : cases) {
    SCOPED_TRACE(v.Where());
    const std::string digits = testing::Str(v.Get("imsi_ascii"));
    const Bytes& ef = v.Get("ef_imsi");
    EXPECT_EQ(ToHex(dm::EfImsiFromDigits(digits).value_or(Bytes{})), ToHex(ef));
    EXPECT_EQ(ToHex(HostEfImsi(digits)), ToHex(ef));
    EXPECT_EQ(dm::DigitsOfEfImsi(ef).value_or(""), digits);
  }
  // TS 31.102 §4.2.2 worked by hand: 14 digits (even) take parity 1 and an F filler in the
  // eighth byte; 6 digits (MCC + MNC only) use 4 bytes, the rest is FF.
  EXPECT_EQ(ToHex(dm::EfImsiFromDigits("00101012345678").value_or(Bytes{})), "0801101010325476F8");
  EXPECT_EQ(ToHex(dm::EfImsiFromDigits("001010").value_or(Bytes{})), "04011010F0FFFFFFFF");
  EXPECT_EQ(dm::DigitsOfEfImsi(H("0801101010325476F8")).value_or(""), "00101012345678");
  for (const char* bad : {"", "12345", "1234567890123456", "00101012345678a"}) {
    EXPECT_FALSE(dm::EfImsiFromDigits(bad)) << bad;
  }
  // Wrong length byte, wrong parity nibble, no filler where the parity needs one, a non-digit,
  // not 9 bytes, a used byte claimed beyond 8, something other than FF after the used bytes.
  for (const char* bad :
       {"071932547698103254", "081832547698103254", "081132547698103254", "081932547698A03254",
        "0819325476981032", "091932547698103254", "04011010F000FFFFFF", ""}) {
    EXPECT_FALSE(dm::DigitsOfEfImsi(H(bad))) << bad;
  }
}

TEST(Req_SC2_IssuerPersonalization, BlankCardPersonalizedOverScp03HoldsWhatTheProfileBuilds) {
  const Profile demo = Load(kDemoProfile);
  TestCard reference(demo);
  for (uint8_t level : {0x01, 0x03, 0x33}) {
    SCOPED_TRACE("level " + ToHex(Bytes{level}));
    TestCard blank(Load(kData + "/dm/profiles/blank/profile.json"));
    // Nothing but the issuer's key set and an empty tree: no PIN, no IMSI, no DM server.
    ASSERT_EQ(blank.SelectDm(), 0x9000);
    EXPECT_EQ(blank.Sw(Cat(H("0020000104"), "1234")), 0x6A88);
    EXPECT_EQ(blank.Record("dm/imsi"), nullptr);
    EXPECT_NE(blank.Tree(), reference.Tree());

    auto issuer = IssuerSession(blank, level);
    const std::vector<Bytes> commands = DemoPersonalization();
    ASSERT_GT(commands.size(), 3u);  // the demo tree needs many blocks
    EXPECT_EQ(SwOfAll(*issuer, commands), 0x9000);

    EXPECT_EQ(blank.Tree(), reference.Tree());
    EXPECT_EQ(blank.Keys(), reference.Keys());
    ASSERT_NE(blank.Record("dm/imsi"), nullptr);
    // 001010123456789 (TS 31.102 §4.2.2 by hand: parity 9, then the digits low nibble first).
    EXPECT_EQ(ToHex(*blank.Record("dm/imsi")), "080910101032547698");
    EXPECT_EQ(ToHex(*blank.Record("dm/imsi")), ToHex(*reference.Record("dm/imsi")));
    EXPECT_EQ(ToHex(*blank.Record("dm/flags")), ToHex(*reference.Record("dm/flags")));
    // The PIN, the PUK and the DM server's key set work as the profile's.
    blank.Rebuild();
    ASSERT_EQ(blank.SelectDm(), 0x9000);
    EXPECT_EQ(blank.Sw(Cat(H("0020000104"), "9999")), 0x63C2);
    // RESET RETRY COUNTER: the PUK, then the new PIN padded with FF to 8 bytes.
    Bytes unblock = Cat(H("002C000110"), "123456784321");
    Append(unblock, H("FFFFFFFF"));
    EXPECT_EQ(blank.Sw(unblock), 0x9000);
    EXPECT_EQ(blank.Sw(Cat(H("0020000104"), "4321")), 0x9000);
    Scp03TestClient dms(blank.card(), kDms);
    ASSERT_EQ(dms.Open(dm::DmApplet::DefaultAid()), "");
    EXPECT_EQ(ToHex(dms.Transmit(testing::DmReplace("./DMAcc/DMCardTest/Name", "by the DMS"))),
              "9000");
  }
}

// Issue 9 item 2: every record name is declared once by its owner with its format version;
// a personalized card used by a DM server and the user holds no other record.
TEST(Records_Declared, EveryRecordOfAPersonalizedCardIsDeclaredByItsOwner) {
  TestCard c(Load(kData + "/dm/profiles/blank/profile.json"));
  auto issuer = IssuerSession(c);
  EXPECT_EQ(SwOfAll(*issuer, DemoPersonalization()), 0x9000);
  c.Rebuild();
  ASSERT_EQ(c.SelectDm(), 0x9000);
  Scp03TestClient dms(c.card(), kDms);
  ASSERT_EQ(dms.Open(dm::DmApplet::DefaultAid()), "");
  EXPECT_EQ(ToHex(dms.Transmit(testing::DmReplace("./DMAcc/DMCardTest/Name", "x"))), "9000");
  ASSERT_EQ(c.SelectDm(), 0x9000);
  EXPECT_EQ(c.Sw(Cat(H("0020000104"), "1234")), 0x9000);
  EXPECT_EQ(UndeclaredRecords(c.card().store()), std::vector<std::string>{});
  // The check can fail: a record no owner declares.
  c.card().store().Begin();
  ASSERT_EQ(c.card().store().Put("dm/other", Bytes{1}), StoreStatus::kOk);
  EXPECT_EQ(UndeclaredRecords(c.card().store()),
            std::vector<std::string>{"dm/other: declared by no owner in this version"});
  c.card().store().Abort();
}

TEST(Req_SC2_IssuerPersonalization, OnlyTheIssuersSessionPersonalizes) {
  TestCard c(Load(kDemoProfile));
  const Snapshot before = c.State();
  const Bytes flags = Block(0x88, 0x00, H("010101 00"));
  // No session, the user, a DM server: 6982.
  ASSERT_EQ(c.SelectDm(), 0x9000);
  EXPECT_EQ(c.Sw(flags), 0x6982);
  EXPECT_EQ(c.Sw(Cat(H("0020000104"), "1234")), 0x9000);
  EXPECT_EQ(c.Sw(flags), 0x6982);
  Scp03TestClient dms(c.card(), kDms);
  ASSERT_EQ(dms.Open(dm::DmApplet::DefaultAid()), "");
  EXPECT_EQ(SwOf(dms.Transmit(flags)), 0x6982);
  EXPECT_EQ(c.State(), before);
  // The issuer: 9000, and the flags are cleared.
  auto issuer = IssuerSession(c);
  EXPECT_EQ(SwOf(issuer->Transmit(flags)), 0x9000);
  EXPECT_EQ(ToHex(*c.Record("dm/flags")), "00");
}

TEST(Req_SC2_IssuerPersonalization, MalformedSequencesAreRefusedAndChangeNothing) {
  TestCard c(Load(kDemoProfile));
  const Bytes dek = kIssuer.keys.dek;
  const Bytes pin_dgi =
      EncodeDgi({0x8301, HostScp03::EncryptSensitiveData(dek, Ascii("5555"))}).value();
  struct Case {
    const char* what;
    std::vector<Bytes> blocks;
    uint16_t sw;
  } cases[] = {
      {"P1 without the DGI format", {Block(0x80, 0x00, H("01010100"))}, 0x6A86},
      {"P1 with application-dependent encryption", {Block(0xA8, 0x00, H("01010100"))}, 0x6A86},
      {"P1 with RFU bits", {Block(0x89, 0x00, H("01010100"))}, 0x6A86},
      {"no data", {H("80E2880000")}, 0x6700},
      {"first block not 00", {Block(0x88, 0x01, H("01010100"))}, 0x6985},
      {"a block skipped", {Block(0x08, 0x00, H("0101")), Block(0x88, 0x02, H("0100"))}, 0x6985},
      {"a truncated DGI", {Block(0x88, 0x00, H("010102 00"))}, 0x6A80},
      {"a truncated long length", {Block(0x88, 0x00, H("0201FF00"))}, 0x6A80},
      {"an unknown DGI after a valid one", {Block(0x88, 0x00, H("01010100 7F010100"))}, 0x6A88},
      {"flags outside the stored bits", {Block(0x88, 0x00, H("01010101"))}, 0x6A80},
      {"an IMSI with a wrong parity nibble",
       {Block(0x88, 0x00, H("010209 081832547698103254"))},
       0x6A80},
      {"a root ACL that is not an ACL", {Block(0x88, 0x00, H("010305 4164643D3D"))}, 0x6A80},
      {"a tree that is not TNDS", {Block(0x88, 0x00, H("020103 3C613E"))}, 0x6A80},
      {"a secret DGI in a block not marked encrypted", {Block(0x88, 0x00, pin_dgi)}, 0x6A80},
      {"a secret DGI sent in clear", {Block(0xE8, 0x00, H("830104 35353535"))}, 0x6A80},
      {"a secret DGI encrypted under another key",
       {Block(0xE8, 0x00,
              EncodeDgi({0x8301, HostScp03::EncryptSensitiveData(kDms.keys.dek, Ascii("5555"))})
                  .value())},
       0x6A80},
      {"a PIN that breaks the policy",
       {Block(0xE8, 0x00,
              EncodeDgi({0x8301, HostScp03::EncryptSensitiveData(dek, Ascii("12a4"))}).value())},
       0x6A80},
      {"a key set bound to a reserved name",
       {Block(0xE8, 0x00,
              EncodeDgi(
                  {0x8401, HostScp03::EncryptSensitiveData(
                               dek, H("3A0A10" + std::string(96, 'A') + ToHex(Ascii("@other"))))})
                  .value())},
       0x6A80},
  };
  auto issuer = IssuerSession(c);
  const Snapshot before = c.State();
  for (const Case& k : cases) {
    SCOPED_TRACE(k.what);
    uint16_t sw = 0;
    for (const Bytes& b : k.blocks) {
      sw = SwOf(issuer->Transmit(b));
      if (sw != 0x9000) break;
    }
    EXPECT_EQ(sw, k.sw);
    EXPECT_EQ(c.State(), before);
  }
  // The session is still the issuer's: a good sequence after all of them loads.
  EXPECT_EQ(SwOf(issuer->Transmit(Block(0x88, 0x00, H("01010100")))), 0x9000);
  EXPECT_EQ(ToHex(*c.Record("dm/flags")), "00");
}

TEST(Req_SC2_IssuerPersonalization, AnUnfinishedSequenceIsDroppedWithItsSession) {
  TestCard c(Load(kDemoProfile));
  auto issuer = IssuerSession(c);
  ASSERT_EQ(SwOf(issuer->Transmit(Block(0x08, 0x00, H("0101")))), 0x9000);
  // A new session (INITIALIZE UPDATE) starts over: the old sequence's block 01 has nothing to
  // follow.
  ASSERT_EQ(issuer->Open(dm::DmApplet::DefaultAid()), "");
  EXPECT_EQ(SwOf(issuer->Transmit(Block(0x88, 0x01, H("0100")))), 0x6985);
  // So does a deselect (a SELECT of the applet again ends the session, too).
  ASSERT_EQ(SwOf(issuer->Transmit(Block(0x08, 0x00, H("0101")))), 0x9000);
  issuer = IssuerSession(c);
  EXPECT_EQ(SwOf(issuer->Transmit(Block(0x88, 0x01, H("0100")))), 0x6985);
  EXPECT_EQ(ToHex(*c.Record("dm/flags")), "06");  // the demo profile's, unchanged
}

TEST(Req_SC2_IssuerPersonalization, PowerCutAtEveryWriteLeavesTheBlankCardOrThePersonalizedOne) {
  const Profile blank = Load(kData + "/dm/profiles/blank/profile.json");
  const std::vector<Bytes> commands = DemoPersonalization();
  // A blank card with an issuer session that has sent every block but the last; the last one
  // then goes out with power cut after `cut` writes (nullopt: never). The state the card shows
  // when it is powered up again.
  auto run = [&](std::optional<uint64_t> cut, bool torn, bool& was_cut) {
    auto ram = std::make_shared<RamMedium>();
    auto faulty = std::make_shared<FaultInjectingMedium>(ram);
    TestCard c(blank, ram, faulty);
    auto issuer = IssuerSession(c);
    for (size_t i = 0; i + 1 < commands.size(); ++i) {
      EXPECT_EQ(SwOf(issuer->Transmit(commands[i])), 0x9000);
    }
    if (cut) faulty->CutPowerAfter(*cut, torn);
    const Bytes r = c.card().Transmit(issuer->host().Wrap(commands.back()));
    was_cut = faulty->power_cut();
    if (!was_cut) {
      EXPECT_EQ(SwOf(r), 0x9000);
    }
    c.Rebuild();
    return c.State();
  };
  bool was_cut = false;
  const Snapshot old_state = run(0, false, was_cut);
  ASSERT_TRUE(was_cut);
  const Snapshot new_state = run(std::nullopt, false, was_cut);
  ASSERT_FALSE(was_cut);
  ASSERT_NE(old_state, new_state);
  int cuts = 0;
  for (uint64_t cut = 0; cut < 200; ++cut) {
    bool any_cut = false;
    for (bool torn : {false, true}) {
      const Snapshot now = run(cut, torn, was_cut);
      EXPECT_TRUE(now == old_state || now == new_state)
          << "cut after " << cut << (torn ? " writes, torn" : " writes");
      any_cut = any_cut || was_cut;
    }
    if (!any_cut) break;
    ++cuts;
  }
  EXPECT_EQ(cuts, 1);  // the last block applies the profile in one transaction: one append
}

}  // namespace
}  // namespace dmcard
