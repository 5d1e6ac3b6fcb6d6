// The Issuer Security Domain on cards made from profiles (cards/demo_card, cards/profile): the
// profile's SCP03 key sets ("key_sets", profiles/README.md) in the card's key store, sessions on
// the demo card with its obviously-test keys (worked out here from the ASCII they spell, not read
// from the profile), keys the issuer has changed kept when the card is made again, and what a
// profile's key sets may not be.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "demo_card_apdus.h"
#include "gp/security_domain.h"
#include "host/demo_card.h"
#include "host/scp03_host.h"
#include "runtime/key_store.h"
#include "test_applets.h"

namespace dmcard {
namespace {

namespace fs = std::filesystem;
using gp::SecurityDomain;
using testing::Ascii;
using testing::DataOf;
using testing::H;
using testing::SwOf;

const HostScp03Keys kDemoIssuer = testing::DemoIssuerKeys();
const HostScp03Keys kDemoDms = testing::DemoDmsKeys();

std::unique_ptr<Card> DemoCard(std::shared_ptr<StorageMedium> medium) {
  std::string error;
  const uint8_t seed[16] = {9};
  auto card = MakeDemoCard(
      DemoCardConfig(),
      Platform{std::move(medium), crypto::Drbg::FromSeed(seed), [] { return int64_t{1700000000}; }},
      error);
  EXPECT_TRUE(card) << error;
  if (card) card->PowerOn();
  return card;
}

Bytes SelectIsd() {
  Bytes c = {0x00, 0xA4, 0x04, 0x00, 0x08};
  Append(c, SecurityDomain::IsdAid());
  return c;
}

// INITIALIZE UPDATE + EXTERNAL AUTHENTICATE on the ISD; "" on success, else what failed.
std::string Open(Card& card, HostScp03& host, uint8_t kvn, uint8_t level) {
  const Bytes r = card.Transmit(host.InitializeUpdate(kvn, H("A1A2A3A4A5A6A7A8")));
  if (SwOf(r) != 0x9000) return "INITIALIZE UPDATE " + ToHex(r);
  try {
    host.ReadInitializeUpdateResponse(DataOf(r), SecurityDomain::IsdAid());
  } catch (const HostScp03Error& e) {
    return e.what();
  }
  const Bytes a = card.Transmit(host.ExternalAuthenticate(level));
  return ToHex(a) == "9000" ? "" : "EXTERNAL AUTHENTICATE " + ToHex(a);
}

TEST(Gp_DemoCard, Req_SC8_DemoCardOpensSessionsWithItsTestKeySets) {
  auto card = DemoCard(std::make_shared<RamMedium>());
  ASSERT_TRUE(card);
  ASSERT_EQ(SwOf(card->Transmit(SelectIsd())), 0x9000);
  EXPECT_EQ(ToHex(card->Transmit(H("80CA00E000"))),
            "E024C00401308810C00402308810C00403308810C00401318810C00402318810C004033188109000");
  const KeyInfo dms = *card->keys().Info(*card->keys().Find(0x31, 0x02));
  EXPECT_EQ(dms.owner, "dmcard.example.test");  // the demo DM account's ServerID
  EXPECT_EQ(card->keys().Info(*card->keys().Find(0x30, 0x02))->owner, kIssuerPrincipal);

  for (auto [kvn, keys] : {std::pair{0x30, kDemoIssuer}, std::pair{0x31, kDemoDms}}) {
    HostScp03 host(keys);
    ASSERT_EQ(Open(*card, host, static_cast<uint8_t>(kvn), 0x33), "");
    const Bytes r = card->Transmit(host.Wrap(H("80CA00E000")));
    ASSERT_EQ(SwOf(r), 0x9000);
    EXPECT_EQ(ToHex(host.Unwrap(DataOf(r), 0x9000)).substr(0, 4), "E024");
  }
  // The other set's keys do not open a set.
  HostScp03 wrong(kDemoDms);
  EXPECT_NE(Open(*card, wrong, 0x30, 0x01), "");
}

// A key set the card holds is the card's from then on: making the card again from its profile
// (every start of dmcard-vicc) does not put the profile's keys back.
TEST(Gp_DemoCard, Req_SC8_KeysChangedOnTheCardStayWhenTheCardIsMadeAgain) {
  auto medium = std::make_shared<RamMedium>();
  const HostScp03Keys changed = {H("000102030405060708090A0B0C0D0E0F"),
                                 H("101112131415161718191A1B1C1D1E1F"),
                                 H("202122232425262728292A2B2C2D2E2F")};
  {
    auto card = DemoCard(medium);
    ASSERT_TRUE(card);
    card->store().Begin();
    ASSERT_EQ(KeyLoader(card->store())
                  .LoadScp03KeySet(0x30, kIssuerPrincipal, changed.enc, changed.mac, changed.dek),
              CryptoStatus::kOk);
    ASSERT_EQ(card->store().Commit(), StoreStatus::kOk);
  }
  auto card = DemoCard(medium);
  ASSERT_TRUE(card);
  ASSERT_EQ(SwOf(card->Transmit(SelectIsd())), 0x9000);
  HostScp03 old_keys(kDemoIssuer), new_keys(changed), dms(kDemoDms);
  EXPECT_NE(Open(*card, old_keys, 0x30, 0x01), "");
  EXPECT_EQ(Open(*card, new_keys, 0x30, 0x01), "");
  EXPECT_EQ(Open(*card, dms, 0x31, 0x01), "");
}

// --- what a profile's key sets may not be -----------------------------------------------------

class Gp_ProfileKeySets : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dmcard-gp-profile-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "tree.xml") << "<MgmtTree><VerDTD>1.2</VerDTD></MgmtTree>";
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Loads a profile with `key_sets` as its key_sets value; the error ("" on success).
  std::string Load(const std::string& key_sets) {
    std::ofstream(dir_ / "profile.json")
        << R"({"profile": "p", "tree": "tree.xml", "key_sets": )" << key_sets << "}";
    std::string error;
    loaded_ = LoadProfile(dir_ / "profile.json", error);
    return error;
  }
  static std::string Set(const std::string& fields) {
    return R"({"name": "s", "kvn": "30", "owner": "@issuer", )" + fields + "}";
  }

  fs::path dir_;
  std::optional<Profile> loaded_;
};

const std::string kKeys128 =
    R"("enc": "404142434445464748494A4B4C4D4E4F", "mac": "505152535455565758595A5B5C5D5E5F",)"
    R"( "dek": "606162636465666768696A6B6C6D6E6F")";

TEST_F(Gp_ProfileKeySets, GoodKeySetsLoad) {
  ASSERT_EQ(Load("[" + Set(kKeys128) +
                 R"(, {"name": "dms", "kvn": "3F", "owner": "dms.example.test", "enc": ")" +
                 std::string(64, '1') + R"(", "mac": ")" + std::string(64, '2') + R"(", "dek": ")" +
                 std::string(64, '3') + R"("}])"),
            "");
  ASSERT_EQ(loaded_->key_sets.size(), 2u);
  EXPECT_EQ(loaded_->key_sets[0].kvn, 0x30);
  EXPECT_EQ(loaded_->key_sets[0].owner, kIssuerPrincipal);
  EXPECT_EQ(ToHex(loaded_->key_sets[0].mac), "505152535455565758595A5B5C5D5E5F");
  EXPECT_EQ(loaded_->key_sets[1].name, "dms");
  EXPECT_EQ(loaded_->key_sets[1].enc.size(), 32u);
}

TEST_F(Gp_ProfileKeySets, BadKeySetsAreErrorsNamingTheField) {
  const struct {
    std::string key_sets;
    std::string expected;  // part of the error
  } cases[] = {
      {R"({"kvn": "30"})", "field 'key_sets' must be an array"},
      {"[1]", "field 'key_sets[0]' must be an object"},
      {"[" + Set(kKeys128 + R"(, "x": 1)") + "]", "field 'key_sets[0].x' unknown field"},
      {R"([{"kvn": "30"}])", "field 'key_sets[0].name' is missing"},
      {std::string("[") + R"({"name": "s", "kvn": "2F", "owner": "@issuer", )" + kKeys128 + "}]",
       "field 'key_sets[0].kvn' must be a key version number"},
      {std::string("[") + R"({"name": "s", "kvn": "40", "owner": "@issuer", )" + kKeys128 + "}]",
       "field 'key_sets[0].kvn'"},
      {std::string("[") + R"({"name": "s", "kvn": "30", "owner": "@user", )" + kKeys128 + "}]",
       "field 'key_sets[0].owner' must be \"@issuer\" or a DM ServerID"},
      {std::string("[") + R"({"name": "s", "kvn": "30", "owner": "a b", )" + kKeys128 + "}]",
       "field 'key_sets[0].owner'"},
      {"[" + Set(R"("enc": "0011", "mac": "00", "dek": "00")") + "]",
       "field 'key_sets[0].enc' must be an AES key"},
      {"[" +
           Set(R"("enc": ")" + std::string(32, '1') + R"(", "mac": ")" + std::string(48, '2') +
               R"(", "dek": ")" + std::string(32, '3') + "\"") +
           "]",
       "field 'key_sets[0]' enc, mac and dek must be keys of one length"},
      {"[" + Set(kKeys128) + ", " + Set(kKeys128) + "]", "field 'key_sets[1].kvn' is used twice"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.key_sets);
    const std::string error = Load(c.key_sets);
    EXPECT_FALSE(loaded_);
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace dmcard
