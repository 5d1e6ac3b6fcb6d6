// Issue 8 items 1–3 on cards built from profiles, in-process: the PKCS#15 view obeys the DM
// ACLs (SEC1, SC2), the card has one user PIN taken from the profile, and neither the device
// nor the user can fill the card for the issuer and the DM servers. The same scenarios run
// through pcscd + vpcd in tests/pcsc/security_test.cc.
//
// Expected values come from the test profile (tests/data/dm/profiles/restrictive/) and the demo
// profile as their files state them.
#include <gtest/gtest.h>

#include <string>

#include "demo_card_apdus.h"
#include "host/demo_card.h"
#include "host/personalization.h"
#include "host/profile_file.h"
#include "runtime/pin.h"
#include "runtime/tlv.h"
#include "scp03_test_client.h"
#include "test_applets.h"

namespace dmcard {
namespace {

using testing::DataOf;
using testing::H;
using testing::Scp03TestClient;
using testing::SwOf;
using testing::TestKeySet;

constexpr char kRestrictiveServer[] = "restricted.example.test";
constexpr char kDmAidHex[] = "F0444D434152442D444D";
constexpr char kFsAidHex[] = "F0444D434152444653";

Profile RestrictiveProfile() {
  std::string error;
  std::optional<Profile> p = LoadProfile(
      std::string(DMCARD_TEST_DATA_DIR) + "/dm/profiles/restrictive/profile.json", error);
  EXPECT_TRUE(p) << error;
  return p.value_or(Profile{});
}

std::string Str(const Bytes& b) { return std::string(b.begin(), b.end()); }

Bytes Ascii(std::string_view s) { return Bytes(s.begin(), s.end()); }

// 80 32 ADD of a chr leaf of `value_size` bytes, extended Lc when the data needs it.
Bytes AddLeafApdu(std::string_view uri, size_t value_size) {
  Bytes tlv = {0x80, static_cast<uint8_t>(uri.size())};
  Append(tlv, Ascii(uri));
  Append(tlv, H("8203 636872"));
  AppendTlv(tlv, 0x81, Bytes(value_size, 'v'));
  Bytes c = {0x80, 0x32, 0x00, 0x00};
  if (tlv.size() <= 255) {
    c.push_back(static_cast<uint8_t>(tlv.size()));
  } else {
    Append(c, Bytes{0x00, static_cast<uint8_t>(tlv.size() >> 8), static_cast<uint8_t>(tlv.size())});
  }
  Append(c, tlv);
  return c;
}

// One card over a RAM medium that outlives it (so a test can rebuild the card on it).
class ProfileCard {
 public:
  explicit ProfileCard(const Profile& profile,
                       std::shared_ptr<RamMedium> medium = std::make_shared<RamMedium>())
      : profile_(profile), medium_(std::move(medium)) {
    Rebuild();
  }

  void Rebuild() {
    card_.reset();
    std::string error;
    const uint8_t seed[16] = {8};
    card_ = MakeCard(
        profile_, CardConfigFor(profile_),
        Platform{medium_, crypto::Drbg::FromSeed(seed), [] { return int64_t{1700000000}; }}, error);
    ASSERT_TRUE(card_) << error;
    card_->PowerOn();
  }

  Card& card() { return *card_; }
  const std::shared_ptr<RamMedium>& medium() const { return medium_; }

  Bytes Send(const Bytes& apdu) { return card_->Transmit(apdu); }
  Bytes Send(std::string_view hex) { return Send(H(hex)); }
  uint16_t Sw(std::string_view hex) { return SwOf(Send(hex)); }
  uint16_t Sw(const Bytes& apdu) { return SwOf(Send(apdu)); }

  uint16_t SelectAid(std::string_view aid_hex) {
    const Bytes aid = H(aid_hex);
    Bytes c = {0x00, 0xA4, 0x04, 0x00, static_cast<uint8_t>(aid.size())};
    Append(c, aid);
    c.push_back(0x00);
    return Sw(c);
  }
  uint16_t Verify(uint8_t ref, std::string_view pin) {
    Bytes c = {0x00, 0x20, 0x00, ref, static_cast<uint8_t>(pin.size())};
    Append(c, Ascii(pin));
    return Sw(c);
  }

  // EF(DM_Bootstrap) as the basic channel reads it (plain, or through the SCP03 session `as`):
  // SELECT 3F00/5015/4402 by path (FCP), then READ BINARY with extended Le. The FCP's size must
  // match what is read.
  std::string ReadBootstrap(Scp03TestClient* as = nullptr) {
    auto send = [&](std::string_view hex) { return as ? as->Transmit(hex) : Send(hex); };
    const Bytes r = send("00A4080404 50154402 00");
    EXPECT_EQ(SwOf(r), 0x9000);
    const Bytes fcp = DataOf(r);
    size_t size = 0;
    if (fcp.size() >= 6 && fcp[2] == 0x80 && fcp[3] == 0x02) size = size_t{fcp[4]} << 8 | fcp[5];
    const Bytes data = send("00B00000 000000");  // extended Le 0000: up to 65536 bytes
    EXPECT_EQ(SwOf(data), 0x6282);               // end of file before Ne
    EXPECT_EQ(DataOf(data).size(), size) << "FCP size and content disagree";
    return Str(DataOf(data));
  }

  // 80 32 ADD of a chr leaf (AddLeafApdu).
  uint16_t AddLeaf(std::string_view uri, size_t value_size) {
    return Sw(AddLeafApdu(uri, value_size));
  }
  // 80 30 00 00 GET of a value (extended length), as text or "SW xxxx".
  std::string Get(std::string_view uri) {
    Bytes c = {0x80, 0x30, 0x00, 0x00, 0x00, 0x00, static_cast<uint8_t>(uri.size())};
    Append(c, Ascii(uri));
    Append(c, Bytes{0x00, 0x00});  // extended Le: the whole value
    const Bytes r = Send(c);
    if (SwOf(r) != 0x9000) return "SW " + ToHex(ByteView(r).last(2));
    return Str(DataOf(r));
  }

 private:
  Profile profile_;
  std::shared_ptr<RamMedium> medium_;
  std::unique_ptr<Card> card_;
};

bool Has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// EF(DM_Bootstrap) holds an OMA DM bootstrap message: WBXML 1.2, SyncML 1.2 (public ID 0x1201
// as mb_u_int32 A4 01), UTF-8. Its strings are inline or in the string table, so a value the
// reader may Get shows as its bytes and one it may not is nowhere.
bool IsBootstrapMessage(const std::string& content) {
  return content.rfind("\x02\xA4\x01\x6A", 0) == 0;
}

// --- Item 1: EF(DM_Bootstrap) holds what the channel's principal may Get ----------------------

TEST(Req_SEC1_Pkcs15View, BootstrapFileHoldsOnlyWhatTheReaderMayGet) {
  ProfileCard c(RestrictiveProfile());
  // The profile names no key sets: the card gets one for its DM server and one for another.
  const TestKeySet server_keys = testing::AddKeySetFor(c.card(), kRestrictiveServer);
  const TestKeySet other_keys = testing::AddKeySetFor(c.card(), "other.example.test");
  // The device (nobody authenticated): the DM applet refuses the account, and so does the file.
  ASSERT_EQ(c.SelectAid(kDmAidHex), 0x9000);
  EXPECT_EQ(c.Get("./DMAcc/Restricted/AppAddr/A1/Addr"), "SW 6982");
  ASSERT_EQ(c.SelectAid(kFsAidHex), 0x9000);
  const std::string device = c.ReadBootstrap();
  EXPECT_TRUE(IsBootstrapMessage(device)) << device;
  for (const char* hidden :
       {"DMAcc", "Restricted", "dms.restricted.example.test", kRestrictiveServer,
        "restricted-client", "Con", "apn.", "not-a-real-secret"}) {
    EXPECT_FALSE(Has(device, hidden)) << hidden << " in the device's view:\n" << device;
  }

  // The user (PIN 01 verified on the channel, here in the file-system applet): ./Con is theirs.
  ASSERT_EQ(c.Verify(0x01, "2468"), 0x9000);
  const std::string user = c.ReadBootstrap();
  EXPECT_TRUE(Has(user, "apn.user-only.example.test")) << user;
  EXPECT_FALSE(Has(user, "dms.restricted.example.test")) << user;
  EXPECT_FALSE(Has(user, "apn.named-by-the-account")) << user;

  // The DM server the account belongs to, authenticated to the file-system applet over SCP03:
  // the account, and the connectivity its PrefConRef names (readable to everyone, but only
  // found through the account); not the user's ./Con, and never the secret.
  Scp03TestClient as_server(c.card(), server_keys);
  ASSERT_EQ(as_server.Open(H(kFsAidHex)), "");
  const std::string server = c.ReadBootstrap(&as_server);
  EXPECT_TRUE(Has(server, "dms.restricted.example.test")) << server;
  EXPECT_TRUE(Has(server, "restricted-client")) << server;
  EXPECT_TRUE(Has(server, "apn.named-by-the-account.example.test")) << server;
  EXPECT_FALSE(Has(server, "apn.user-only.example.test")) << server;
  EXPECT_FALSE(Has(server, "not-a-real-secret")) << server;

  // Another server sees what the device sees.
  Scp03TestClient as_other(c.card(), other_keys);
  ASSERT_EQ(as_other.Open(H(kFsAidHex)), "");
  const std::string other = c.ReadBootstrap(&as_other);
  EXPECT_TRUE(IsBootstrapMessage(other)) << other;
  EXPECT_FALSE(Has(other, "dms.restricted.example.test")) << other;
}

TEST(Req_SEC1_Pkcs15View, EachChannelReadsAsItsOwnPrincipal) {
  ProfileCard c(RestrictiveProfile());
  // Channel 1 authenticated as the server, channel 0 not: no cross-talk through the cache.
  Scp03TestClient on1(c.card(), testing::AddKeySetFor(c.card(), kRestrictiveServer), 1);
  ASSERT_EQ(SwOf(c.Send("0070000001")), 0x9000);  // the file system, the default applet
  ASSERT_EQ(on1.Open(H(kFsAidHex)), "");
  ASSERT_EQ(SwOf(on1.Transmit("01A4080C04 50154402")), 0x9000);
  const Bytes read1 = on1.Transmit("01B00000 000000");
  EXPECT_TRUE(Has(Str(DataOf(read1)), "dms.restricted.example.test"));
  EXPECT_FALSE(Has(c.ReadBootstrap(), "dms.restricted.example.test"));
  const Bytes again1 = on1.Transmit("01B00000 000000");
  EXPECT_EQ(DataOf(again1), DataOf(read1));
}

// --- Item 2: one user PIN, the profile's, with one counter ------------------------------------

TEST(Req_SEC1_OneUserPin, FileSystemAndDmAppletShareThePinOfTheProfile) {
  ProfileCard c(RestrictiveProfile());  // user PIN 2468, PUK 87654321
  ASSERT_EQ(c.SelectAid(kFsAidHex), 0x9000);
  EXPECT_EQ(c.Verify(0x01, "1234"), 0x63C2);  // the old hard-coded value is no PIN here
  ASSERT_EQ(c.SelectAid(kDmAidHex), 0x9000);
  EXPECT_EQ(c.Verify(0x01, "1234"), 0x63C1);  // the same counter
  ASSERT_EQ(c.SelectAid(kFsAidHex), 0x9000);
  EXPECT_EQ(c.Sw("00200001"), 0x63C1);
  EXPECT_EQ(c.Verify(0x01, "2468"), 0x9000);  // restores it for both
  ASSERT_EQ(c.SelectAid(kDmAidHex), 0x9000);
  EXPECT_EQ(c.Sw("00200001"), 0x63C3);

  // Changed in the DM applet, the new value opens the file system.
  EXPECT_EQ(c.Sw("0024000110 32343638FFFFFFFF 31333537FFFFFFFF"), 0x9000);
  ASSERT_EQ(c.SelectAid(kFsAidHex), 0x9000);
  EXPECT_EQ(c.Verify(0x01, "2468"), 0x63C2);
  EXPECT_EQ(c.Verify(0x01, "1357"), 0x9000);

  // Blocked through one applet, blocked in the other: 3 tries in all, not 3 + 3.
  for (uint16_t left : {0x63C2, 0x63C1, 0x63C0}) EXPECT_EQ(c.Verify(0x01, "0000"), left);
  ASSERT_EQ(c.SelectAid(kDmAidHex), 0x9000);
  EXPECT_EQ(c.Verify(0x01, "1357"), 0x6983);
  // One PUK (the profile's) unblocks it for both.
  ASSERT_EQ(c.SelectAid(kFsAidHex), 0x9000);
  EXPECT_EQ(c.Sw("002C000110 3837363534333231 39383736FFFFFFFF"), 0x9000);
  ASSERT_EQ(c.SelectAid(kDmAidHex), 0x9000);
  EXPECT_EQ(c.Verify(0x01, "9876"), 0x9000);
  // One record each for the PIN and its PUK, the card's.
  EXPECT_EQ(c.card().store().Keys("card/pin/").size(), 1u);
  EXPECT_EQ(c.card().store().Keys("card/puk/").size(), 1u);
  EXPECT_TRUE(c.card().store().Keys("dm/pin/user").empty());
  EXPECT_TRUE(c.card().store().Keys("fs/" + std::string(kFsAidHex) + "/pin/").empty());
}

TEST(Req_SEC1_OneUserPin, EfDirAndPkcs15FilesAreTheIssuersAlone) {
  ProfileCard c(DemoProfile());
  ASSERT_EQ(c.SelectAid(kFsAidHex), 0x9000);
  ASSERT_EQ(c.Verify(0x01, "1234"), 0x9000);  // the demo profile's user PIN
  const std::string blank(64, '0');
  const std::string record1 = ToHex(DataOf(c.Send("00B201F420")));  // EF.DIR by SFI 30
  ASSERT_FALSE(record1.empty());
  EXPECT_EQ(c.Sw("00DC01F420" + blank), 0x6982);  // the user may not rewrite EF.DIR
  EXPECT_EQ(ToHex(DataOf(c.Send("00B201F420"))), record1);
  // The PKCS#15 files are generated: nobody updates them.
  for (const char* ef : {"5031", "5032", "4401", "4402", "6430", "6431"}) {
    ASSERT_EQ(c.Sw(std::string("00A4080C04 5015") + ef), 0x9000) << ef;
    EXPECT_EQ(c.Sw("00D6000001 00"), 0x6981) << ef;
  }
  // The issuer, authenticated to the file-system applet with its key set (30), may.
  ASSERT_EQ(c.Sw("00A4000C02 3F00"), 0x9000);
  Scp03TestClient issuer(c.card(), {0x30, testing::DemoIssuerKeys()});
  ASSERT_EQ(issuer.Open(H(kFsAidHex)), "");
  EXPECT_EQ(SwOf(issuer.Transmit("00DC01F420" + blank)), 0x9000);
  EXPECT_EQ(ToHex(DataOf(issuer.Transmit("00B201F420"))), blank);
}

// A card made before the user PIN became global kept it in the DM applet (value and counter)
// and a second, hard-coded PIN in the file system. Opened now, the DM applet's PIN is the card's.
TEST(Req_SEC1_OneUserPin, CardFromAnEarlierVersionKeepsTheUsersPinAndDropsTheSecond) {
  ProfileCard c(DemoProfile());
  PersistentStore& store = c.card().store();
  const PinPolicy policy{3, 4, 8};
  store.Begin();
  ASSERT_EQ(store.Erase(GlobalPinKey(0x01)), StoreStatus::kOk);
  ASSERT_EQ(Pin("dm/pin/user", 0x01, policy).Create(store, Ascii("9753")), Sw::kOk);
  ASSERT_EQ(Pin("fs/F0444D434152444653/pin/01", 0x01, policy).Create(store, Ascii("1234")),
            Sw::kOk);
  ASSERT_EQ(store.Commit(), StoreStatus::kOk);

  c.Rebuild();
  ASSERT_EQ(c.SelectAid(kFsAidHex), 0x9000);
  EXPECT_EQ(c.Verify(0x01, "1234"), 0x63C2);  // the second PIN is gone
  EXPECT_EQ(c.Verify(0x01, "9753"), 0x9000);  // the user's value survived
  EXPECT_FALSE(c.card().store().Contains("dm/pin/user"));
  EXPECT_FALSE(c.card().store().Contains("fs/F0444D434152444653/pin/01"));
}

// --- Item 3: the device cannot exhaust the card ------------------------------------------------

TEST(Req_SEC1_CardNotExhausted, DemoRootLetsOnlyItsServerAdd) {
  ProfileCard c(DemoProfile());
  ASSERT_EQ(c.SelectAid(kDmAidHex), 0x9000);
  EXPECT_EQ(c.AddLeaf("./Junk", 4), 0x6982);  // the device
  ASSERT_EQ(c.Verify(0x01, "1234"), 0x9000);
  EXPECT_EQ(c.AddLeaf("./Junk", 4), 0x6982);  // the user
  // The DM server the profile names (dmcard.example.test, key set 31), over SCP03.
  Scp03TestClient server(c.card(), {0x31, testing::DemoDmsKeys()});
  ASSERT_EQ(server.Open(H(kDmAidHex)), "");
  EXPECT_EQ(SwOf(server.Transmit(AddLeafApdu("./Junk", 4))), 0x9000);
}

TEST(Req_SEC1_CardNotExhausted, FullCardStillAcceptsIssuerAndAuthorityWrites) {
  const Profile profile = RestrictiveProfile();  // 16384 bytes, reserve 2048
  ProfileCard c(profile);
  const TestKeySet server_keys = testing::AddKeySetFor(c.card(), kRestrictiveServer);
  ASSERT_EQ(c.SelectAid(kDmAidHex), 0x9000);
  ASSERT_EQ(c.Verify(0x01, "2468"), 0x9000);
  // The user fills ./UserPrefs until the card refuses, in 600-byte then 1-byte steps.
  int added = 0;
  for (size_t size : {600, 1}) {
    for (int i = 0; i < 100; ++i, ++added) {
      const uint16_t sw = c.AddLeaf("./UserPrefs/P" + std::to_string(added), size);
      if (sw == 0x6A84) break;
      ASSERT_EQ(sw, 0x9000) << added;
    }
  }
  ASSERT_GT(added, 10);
  const StoreStats full = c.card().store().stats();
  // The user stopped at the reserve, not at the end of memory.
  EXPECT_GE(full.capacity - full.used, *profile.reserve);
  EXPECT_LT(full.capacity - full.used, *profile.reserve + 100);  // one more small leaf's worth
  EXPECT_EQ(c.Get("./UserPrefs/P0").size(), 600u);

  // The DM server that manages the account still writes, over SCP03.
  Scp03TestClient server(c.card(), server_keys);
  ASSERT_EQ(server.Open(H(kDmAidHex)), "");
  EXPECT_EQ(SwOf(server.Transmit(AddLeafApdu("./DMAcc/Restricted/Note", 200))), 0x9000);
  ASSERT_EQ(c.SelectAid(kDmAidHex), 0x9000);  // ends the session: nobody authenticated
  // So does the issuer: personalization over SCP03 with the profile's issuer key set (KVN 30),
  // STORE DATA of a tree merged (DGI 0202).
  const std::string tnds =
      "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>DevInfo</NodeName><Node>"
      "<NodeName>Lang</NodeName><RTProperties><Format><chr/></Format></RTProperties>"
      "<Value>en-issuer</Value></Node></Node></MgmtTree>";
  Scp03TestClient issuer(c.card(), {0x30, testing::DemoIssuerKeys()});
  ASSERT_EQ(issuer.Open(H(kDmAidHex)), "");
  std::string error;
  const std::optional<std::vector<Bytes>> blocks =
      StoreDataCommands({{0x0202, Ascii(tnds)}}, error);
  ASSERT_TRUE(blocks) << error;
  for (const Bytes& block : *blocks) {
    EXPECT_EQ(SwOf(issuer.Transmit(block)), 0x9000);
  }
  ASSERT_EQ(c.SelectAid(kDmAidHex), 0x9000);  // ends the session
  EXPECT_EQ(c.Get("./DevInfo/Lang"), "en-issuer");
  // And the user, back on a fresh channel state, is still refused past the reserve.
  ASSERT_EQ(c.SelectAid(kDmAidHex), 0x9000);
  ASSERT_EQ(c.Verify(0x01, "2468"), 0x9000);
  EXPECT_EQ(c.AddLeaf("./UserPrefs/More", 1), 0x6A84);
  // Deleting their own node gives the user room again.
  const std::string p0 = "./UserPrefs/P0";
  Bytes del = {0x80, 0x36, 0x00, 0x00, static_cast<uint8_t>(p0.size())};
  Append(del, Ascii(p0));
  EXPECT_EQ(c.Sw(del), 0x9000);
  EXPECT_EQ(c.AddLeaf("./UserPrefs/More", 1), 0x9000);
}

// --- Traces withhold secrets (non-negotiable 5) --------------------------------------------------

Bytes AddApdu(std::string_view uri, std::string_view value, bool secret_flag,
              bool chained = false) {
  Bytes tlv = {0x80, static_cast<uint8_t>(uri.size())};
  Append(tlv, Ascii(uri));
  Append(tlv, H("8203 636872"));
  AppendTlv(tlv, 0x81, Ascii(value));
  if (secret_flag) Append(tlv, H("850101"));
  Bytes c = {static_cast<uint8_t>(chained ? 0x90 : 0x80), 0x32, 0x00, 0x00,
             static_cast<uint8_t>(tlv.size())};
  Append(c, tlv);
  return c;
}

Bytes ReplaceApdu(std::string_view uri, std::string_view value) {
  Bytes tlv = {0x80, static_cast<uint8_t>(uri.size())};
  Append(tlv, Ascii(uri));
  AppendTlv(tlv, 0x81, Ascii(value));
  Bytes c = {0x80, 0x34, 0x00, 0x00, static_cast<uint8_t>(tlv.size())};
  Append(c, tlv);
  return c;
}

TEST(Req_SEC1_TraceSecrets, CardSaysWhichCommandsCarrySecrets) {
  ProfileCard c(DemoProfile());
  Card& card = c.card();
  // PIN commands, whatever is selected and even malformed.
  EXPECT_TRUE(card.CommandCarriesSecrets(H("002000010431323334")));
  EXPECT_TRUE(card.CommandCarriesSecrets(H("0020000106313233")));
  EXPECT_TRUE(card.CommandCarriesSecrets(H("002C000110 3132333435363738 31323334FFFFFFFF")));
  // The file system's own commands carry none.
  EXPECT_FALSE(card.CommandCarriesSecrets(H("00D6000002ABCD")));
  ASSERT_EQ(c.SelectAid(kDmAidHex), 0x9000);
  Scp03TestClient server(c.card(), {0x31, testing::DemoDmsKeys()});
  ASSERT_EQ(server.Open(H(kDmAidHex)), "");
  const std::string leaf = "./Vendor/dmcard/FUMOPolicy/Hidden";
  ASSERT_EQ(SwOf(server.Transmit(AddApdu(leaf, "v1", /*secret_flag=*/true))), 0x9000);  // flagged
  EXPECT_TRUE(card.CommandCarriesSecrets(AddApdu("./X/AAuthSecret", "s", false)));      // by name
  EXPECT_TRUE(card.CommandCarriesSecrets(AddApdu("./X/Y", "s", true)));                 // by flag
  EXPECT_FALSE(card.CommandCarriesSecrets(AddApdu("./X/Y", "plain", false)));
  EXPECT_TRUE(card.CommandCarriesSecrets(AddApdu("./X/Y", "plain", false, /*chained=*/true)));
  EXPECT_TRUE(card.CommandCarriesSecrets(ReplaceApdu(leaf, "v2")));  // the node is secret
  EXPECT_FALSE(card.CommandCarriesSecrets(ReplaceApdu("./DevInfo/Man", "x")));
  EXPECT_TRUE(card.CommandCarriesSecrets(H("80E2880004 01010100")));  // STORE DATA, always
  // VERIFY BOOTSTRAP: the digits the user typed (83) are a secret, the message and MAC are not.
  EXPECT_TRUE(card.CommandCarriesSecrets(H("8042000010 800101 810401020304 830431323334 00")));
  EXPECT_FALSE(card.CommandCarriesSecrets(
      H("8042000033 800100 810401020304 8228" + std::string(80, '3') + "00")));  // NETWPIN
  EXPECT_TRUE(card.CommandCarriesSecrets(H("8042000003 800101")));               // cannot be judged
  EXPECT_FALSE(card.CommandCarriesSecrets(H("80300000 0D 2E2F446576496E666F2F4D616E 00")));
  EXPECT_TRUE(card.CommandCarriesSecrets(H("80320000 03 800100")));  // cannot be judged
}

}  // namespace
}  // namespace dmcard
