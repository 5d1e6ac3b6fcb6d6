// A golden card (issue 9 item 7): the state directory of a demo card that lived a little —
// tests/golden/card-v1/{card.img, card.jnl, card.lock}, as FileMedium wrote them — loaded by
// today's code, so that every later version keeps reading the cards people hold now. What the
// card went through is in tests/golden/card-v1/README and in DISABLED_RegenerateGoldenCardV1
// below; the tests check each of those facts through APDUs only, on a copy of the directory
// (FileMedium locks and rewrites the directory it opens; the committed files stay untouched).
//
// Expected values come from the demo profile's files (profiles/demo/profile.json, tree.xml), from
// what the generator did (written here as constants) and from the specifications the commands
// follow (GP Card Specification 2.3 Amendment D, ISO/IEC 7816-4): none is read from the card's
// code or its records.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "demo_card_apdus.h"
#include "dm/dm_applet.h"
#include "gp/security_domain.h"
#include "host/demo_card.h"
#include "host/scp03_host.h"
#include "host/state_check.h"
#include "test_applets.h"

namespace dmcard {
namespace {

namespace fs = std::filesystem;
using gp::SecurityDomain;
using testing::Ascii;
using testing::DataOf;
using testing::DmGet;
using testing::DmReplace;
using testing::H;
using testing::SelectAid;
using testing::Str;
using testing::SwOf;

// The demo profile's obviously-test SCP03 keys, each the ASCII text it spells.
const HostScp03Keys kDemoIssuer = testing::DemoIssuerKeys();
const HostScp03Keys kDemoDms = testing::DemoDmsKeys();
constexpr uint8_t kIssuerKvn = 0x30;  // profile.json key_sets "issuer"
constexpr uint8_t kDmsKvn = 0x31;     // profile.json key_sets "dm-server"

// What the generator did to the card (tests/golden/card-v1/README says the same).
constexpr char kName[] = "./DMAcc/DMCardTest/Name";
constexpr char kChangedName[] = "golden card-v1: renamed by the DM server";
constexpr char kOldPin[] = "1234";                   // profile.json user_pin
constexpr char kNewPin[] = "2468";                   // CHANGE REFERENCE DATA
constexpr char kPuk[] = "12345678";                  // profile.json user_puk, unchanged
constexpr uint32_t kDmsSequenceCounter = 3;          // INITIALIZE UPDATEs of KVN 31
constexpr uint32_t kIssuerSequenceCounter = 2;       // INITIALIZE UPDATEs of KVN 30
constexpr uint8_t kIssuerFailedAuthentications = 2;  // failed EXTERNAL AUTHENTICATEs of KVN 30
// The limit of failed authentications in a row the golden card's key sets were loaded with
// (KeyStore's default, key_store.h; the set's state record keeps it).
constexpr uint8_t kMaxFailedAuthentications = 10;
constexpr int64_t kClock = 1700000000;

const char* const kGoldenFiles[] = {"card.img", "card.jnl", "card.lock"};

// ---- APDUs, written from the specifications ----------------------------------------------------

// ISO 7816-4 VERIFY of the user PIN (reference 01); without a value: the retry status.
Bytes Verify(std::string_view pin) {
  Bytes c = {0x00, 0x20, 0x00, 0x01};
  if (!pin.empty()) {
    c.push_back(static_cast<uint8_t>(pin.size()));
    Append(c, Ascii(pin));
  }
  return c;
}
// An 8-byte PIN block: the digits, FF-padded (dm.json, CHANGE REFERENCE DATA / RESET RETRY
// COUNTER).
Bytes PinBlock(std::string_view pin) {
  Bytes b = Ascii(pin);
  b.resize(8, 0xFF);
  return b;
}
// GP Amendment D §7.2 EXTERNAL AUTHENTICATE at level 01 with a made-up host cryptogram and C-MAC:
// a failed authentication attempt (6300 or 6982), which the card counts on the key set.
Bytes BogusExternalAuthenticate() { return H("8482010010 00000000000000000000000000000000"); }

// The sequence counter an INITIALIZE UPDATE answer carries (Amendment D §7.1.2: key
// diversification data 10, key information 3, card challenge 8, card cryptogram 8, sequence
// counter 3).
uint32_t SequenceCounterOf(ByteView data) {
  if (data.size() != 32) return 0xFFFFFFFF;
  return uint32_t{data[29]} << 16 | uint32_t{data[30]} << 8 | data[31];
}

// ---- the golden card on a scratch copy ----------------------------------------------------------

fs::path GoldenDir() { return fs::path(DMCARD_GOLDEN_DIR) / "card-v1"; }

// `checkpoint_journal_bytes`: 0 keeps the demo card's default.
std::unique_ptr<Card> OpenDemoCard(const fs::path& dir, bool sync, std::string& error,
                                   uint32_t checkpoint_journal_bytes = 0) {
  CardConfig config = DemoCardConfig();
  if (checkpoint_journal_bytes != 0) config.checkpoint_journal_bytes = checkpoint_journal_bytes;
  auto medium = std::make_shared<FileMedium>(dir, sync);
  if (!medium->open_error().empty()) {
    error = medium->open_error();
    return nullptr;
  }
  const uint8_t seed[16] = {7, 7};
  auto card = MakeDemoCard(
      config, Platform{std::move(medium), crypto::Drbg::FromSeed(seed), [] { return kClock; }},
      error);
  if (card) card->PowerOn();
  return card;
}

class Golden_CardV1 : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dmcard-golden-card-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const char* name : kGoldenFiles) {
      ASSERT_TRUE(fs::exists(GoldenDir() / name)) << GoldenDir() / name;
      fs::copy_file(GoldenDir() / name, dir_ / name);
    }
    std::string error;
    card_ = OpenDemoCard(dir_, /*sync=*/false, error);
    ASSERT_TRUE(card_) << error;
  }
  void TearDown() override {
    card_.reset();  // releases the directory's lock
    fs::remove_all(dir_);
  }

  Bytes Send(const Bytes& apdu) { return card_->Transmit(apdu); }
  uint16_t Sw(const Bytes& apdu) { return SwOf(Send(apdu)); }

  // INITIALIZE UPDATE with `host` to the applet selected on the basic channel (whose AID derives
  // the card challenge), then EXTERNAL AUTHENTICATE at `level`. "" on success; `sequence`: the
  // counter the card answered.
  std::string Open(HostScp03& host, uint8_t kvn, ByteView aid, uint8_t level, uint32_t& sequence) {
    const Bytes r = Send(host.InitializeUpdate(kvn, H("0102030405060708")));
    if (SwOf(r) != 0x9000) return "INITIALIZE UPDATE " + ToHex(r);
    sequence = SequenceCounterOf(DataOf(r));
    try {
      host.ReadInitializeUpdateResponse(DataOf(r), aid);  // checks the card cryptogram
    } catch (const HostScp03Error& e) {
      return e.what();
    }
    const Bytes a = Send(host.ExternalAuthenticate(level));
    return ToHex(a) == "9000" ? "" : "EXTERNAL AUTHENTICATE " + ToHex(a);
  }

  fs::path dir_;
  std::unique_ptr<Card> card_;
};

// The DM server's REPLACE of ./DMAcc/DMCardTest/Name is there; the rest of the account is the
// profile's tree.xml, and its secrets are still unreadable.
// Issue 9 item 2: today's card, loaded from the golden image, holds only records their owners
// declare (the image's legacy ones, such as the development issuer PIN, are gone at start-up).
TEST_F(Golden_CardV1, EveryRecordIsDeclaredByItsOwner) {
  EXPECT_EQ(UndeclaredRecords(card_->store()), std::vector<std::string>{});
}

TEST_F(Golden_CardV1, TreeHoldsTheServersChange) {
  ASSERT_EQ(Sw(SelectAid(dm::DmApplet::DefaultAid())), 0x9000);
  const Bytes name = Send(DmGet(kName));
  ASSERT_EQ(SwOf(name), 0x9000);
  EXPECT_EQ(Str(DataOf(name)), kChangedName);
  const Bytes server = Send(DmGet("./DMAcc/DMCardTest/ServerID"));
  EXPECT_EQ(Str(DataOf(server)), "dmcard.example.test");
  EXPECT_EQ(Str(DataOf(Send(DmGet("./DMAcc/DMCardTest/AppAddr/Srv1/Addr")))),
            "https://dms.example.test/dm");
  EXPECT_EQ(Str(DataOf(Send(DmGet("./DevInfo/Man")))), "dmcard");
  EXPECT_EQ(Sw(DmGet("./DMAcc/DMCardTest/AppAuth/SrvCred/AAuthSecret")), 0x6982);
  // Still the DM server's alone to change.
  EXPECT_EQ(Sw(DmReplace(kName, "by the device")), 0x6982);
  EXPECT_EQ(Str(DataOf(Send(DmGet(kName)))), kChangedName);
}

// The user PIN is 2468 (changed from the profile's 1234) with one wrong try on its counter of 3:
// two tries left, one more used by the old value, and the new value verifies.
TEST_F(Golden_CardV1, UserPinIsTheChangedOneWithOneTryUsed) {
  ASSERT_EQ(Sw(SelectAid(dm::DmApplet::DefaultAid())), 0x9000);
  EXPECT_EQ(Sw(Verify("")), 0x63C2);
  EXPECT_EQ(Sw(Verify(kOldPin)), 0x63C1);
  EXPECT_EQ(Sw(Verify(kNewPin)), 0x9000);
  EXPECT_EQ(Sw(Verify("")), 0x9000);  // verified on this channel
  // A successful VERIFY restored the counter: after a reset, three tries.
  card_->Reset();
  ASSERT_EQ(Sw(SelectAid(H("F0444D434152444653"))), 0x9000);  // the file-system applet
  EXPECT_EQ(Sw(Verify("")), 0x63C3);                          // which serves the same PIN
}

// The profile's PUK is unchanged: it unblocks the PIN the golden card's counter lets block.
TEST_F(Golden_CardV1, ProfilePukStillUnblocks) {
  ASSERT_EQ(Sw(SelectAid(dm::DmApplet::DefaultAid())), 0x9000);
  EXPECT_EQ(Sw(Verify("0000")), 0x63C1);
  EXPECT_EQ(Sw(Verify("0000")), 0x63C0);
  EXPECT_EQ(Sw(Verify(kNewPin)), 0x6983);
  Bytes reset = {0x00, 0x2C, 0x00, 0x01, 0x10};
  Append(reset, PinBlock(kPuk));
  Append(reset, PinBlock("1357"));
  EXPECT_EQ(Sw(reset), 0x9000);
  EXPECT_EQ(Sw(Verify("1357")), 0x9000);
}

// Both key sets are the profile's: the Key Information Template lists them, and the demo keys
// open sessions — the DM server's with the DM applet (its ServerID then reads and changes the
// account), the issuer's with the ISD. Each INITIALIZE UPDATE answers a sequence counter one
// above the one the golden card stored: the counter never restarts.
TEST_F(Golden_CardV1, KeySetsOpenSessionsAndSequenceCountersGoOn) {
  ASSERT_EQ(Sw(SelectAid(SecurityDomain::IsdAid())), 0x9000);
  // GP CS §11.3.3.1: C0 04 { key id, KVN, 88 (AES), 10 (16 bytes) } for 01..03 of sets 30, 31.
  EXPECT_EQ(ToHex(Send(H("80CA00E000"))),
            "E024"
            "C00401308810C00402308810C00403308810"
            "C00401318810C00402318810C00403318810"
            "9000");

  ASSERT_EQ(Sw(SelectAid(dm::DmApplet::DefaultAid())), 0x9000);
  HostScp03 dms(kDemoDms);
  uint32_t sequence = 0;
  ASSERT_EQ(Open(dms, kDmsKvn, dm::DmApplet::DefaultAid(), 0x33, sequence), "");
  EXPECT_EQ(sequence, kDmsSequenceCounter + 1);
  EXPECT_EQ(dms.sequence_counter(), kDmsSequenceCounter + 1);
  const Bytes g = Send(dms.Wrap(DmGet(kName)));
  ASSERT_EQ(SwOf(g), 0x9000);
  EXPECT_EQ(Str(dms.Unwrap(DataOf(g), 0x9000)), kChangedName);
  const Bytes r = Send(dms.Wrap(DmReplace(kName, "renamed again")));
  ASSERT_EQ(SwOf(r), 0x9000);
  EXPECT_TRUE(dms.Unwrap(DataOf(r), 0x9000).empty());

  ASSERT_EQ(Sw(SelectAid(SecurityDomain::IsdAid())), 0x9000);
  HostScp03 issuer(kDemoIssuer);
  ASSERT_EQ(Open(issuer, kIssuerKvn, SecurityDomain::IsdAid(), 0x13, sequence), "");
  EXPECT_EQ(sequence, kIssuerSequenceCounter + 1);
  const Bytes e0 = Send(issuer.Wrap(H("80CA00E000")));
  ASSERT_EQ(SwOf(e0), 0x9000);
  EXPECT_EQ(ToHex(issuer.Unwrap(DataOf(e0), 0x9000)).substr(0, 4), "E024");

  // The counters moved on are kept when the card is opened again.
  card_.reset();
  std::string error;
  card_ = OpenDemoCard(dir_, false, error);
  ASSERT_TRUE(card_) << error;
  ASSERT_EQ(Sw(SelectAid(dm::DmApplet::DefaultAid())), 0x9000);
  EXPECT_EQ(Str(DataOf(Send(DmGet(kName)))), "renamed again");
  HostScp03 again(kDemoDms);
  ASSERT_EQ(Open(again, kDmsKvn, dm::DmApplet::DefaultAid(), 0x01, sequence), "");
  EXPECT_EQ(sequence, kDmsSequenceCounter + 2);
}

// The issuer's set holds two failed authentications: eight more in a row (the tenth in all)
// block it, seven do not.
TEST_F(Golden_CardV1, IssuerKeySetKeepsItsFailedAuthentications) {
  ASSERT_EQ(Sw(SelectAid(SecurityDomain::IsdAid())), 0x9000);
  HostScp03 probe(kDemoIssuer);
  const int left = kMaxFailedAuthentications - kIssuerFailedAuthentications;
  for (int i = 1; i <= left; ++i) {
    SCOPED_TRACE("failure " + std::to_string(i) + " on top of the stored ones");
    const Bytes r = Send(probe.InitializeUpdate(kIssuerKvn, H("1112131415161718")));
    ASSERT_EQ(SwOf(r), 0x9000);  // not blocked yet
    EXPECT_EQ(SequenceCounterOf(DataOf(r)), kIssuerSequenceCounter + static_cast<uint32_t>(i));
    const uint16_t sw = Sw(BogusExternalAuthenticate());
    EXPECT_TRUE(sw == 0x6300 || sw == 0x6982) << std::hex << sw;
  }
  EXPECT_EQ(Sw(probe.InitializeUpdate(kIssuerKvn, H("1112131415161718"))), 0x6983);
  // The DM server's set is another set: not blocked, and it had no failures.
  ASSERT_EQ(Sw(SelectAid(dm::DmApplet::DefaultAid())), 0x9000);
  HostScp03 dms(kDemoDms);
  uint32_t sequence = 0;
  EXPECT_EQ(Open(dms, kDmsKvn, dm::DmApplet::DefaultAid(), 0x01, sequence), "");
}

TEST_F(Golden_CardV1, IssuerKeySetStillOpensBeforeTheLimit) {
  ASSERT_EQ(Sw(SelectAid(SecurityDomain::IsdAid())), 0x9000);
  HostScp03 probe(kDemoIssuer);
  for (int i = 1; i < kMaxFailedAuthentications - kIssuerFailedAuthentications; ++i) {
    ASSERT_EQ(SwOf(Send(probe.InitializeUpdate(kIssuerKvn, H("2122232425262728")))), 0x9000);
    const uint16_t sw = Sw(BogusExternalAuthenticate());
    ASSERT_TRUE(sw == 0x6300 || sw == 0x6982) << std::hex << sw;
  }
  // Nine failures in a row so far: the right keys still open the set, and clear the count.
  HostScp03 issuer(kDemoIssuer);
  uint32_t sequence = 0;
  ASSERT_EQ(Open(issuer, kIssuerKvn, SecurityDomain::IsdAid(), 0x01, sequence), "");
  EXPECT_EQ(sequence,
            kIssuerSequenceCounter + kMaxFailedAuthentications - kIssuerFailedAuthentications);
}

// Regenerates tests/golden/card-v1. Only for a NEW card format version: the committed files are
// what cards made by that commit look like, and the point of the test above is that later code
// still reads them. For a new version, copy this generator to card-v<N>, run it there, and keep
// card-v1 and its test as they are. Run (from a build of a clean commit):
//   dmcard_unit_tests --gtest_also_run_disabled_tests
//       --gtest_filter=Golden_CardV1Generator.DISABLED_RegenerateGoldenCardV1
// then update card-v1/README with the commit the generator ran on.
TEST(Golden_CardV1Generator, DISABLED_RegenerateGoldenCardV1) {
  const fs::path out = GoldenDir();
  fs::create_directories(out);
  for (const char* name : kGoldenFiles) fs::remove(out / name);
  std::string error;
  // A low checkpoint threshold folds the installation into card.img, so that the golden files
  // hold records in both the image and the journal (the changes below stay in the journal).
  auto card = OpenDemoCard(out, /*sync=*/true, error, /*checkpoint_journal_bytes=*/6 * 1024);
  ASSERT_TRUE(card) << error;
  auto send = [&card](const Bytes& apdu) { return card->Transmit(apdu); };

  // 1. The DM server opens SCP03 on the DM applet with KVN 31 (sequence counter 1) and renames
  //    the account; two more INITIALIZE UPDATEs of KVN 31 are left unanswered (counter 3).
  ASSERT_EQ(SwOf(send(SelectAid(dm::DmApplet::DefaultAid()))), 0x9000);
  HostScp03 dms(kDemoDms);
  const Bytes iu = send(dms.InitializeUpdate(kDmsKvn, H("0102030405060708")));
  ASSERT_EQ(SwOf(iu), 0x9000);
  dms.ReadInitializeUpdateResponse(DataOf(iu), dm::DmApplet::DefaultAid());
  ASSERT_EQ(ToHex(send(dms.ExternalAuthenticate(0x13))), "9000");
  const Bytes r = send(dms.Wrap(DmReplace(kName, kChangedName)));
  ASSERT_EQ(SwOf(r), 0x9000);
  for (uint32_t i = 2; i <= kDmsSequenceCounter; ++i) {
    HostScp03 idle(kDemoDms);
    const Bytes again = send(idle.InitializeUpdate(kDmsKvn, H("0102030405060708")));
    ASSERT_EQ(SwOf(again), 0x9000);
    ASSERT_EQ(SequenceCounterOf(DataOf(again)), i);
  }
  card->Reset();

  // 2. The user changes PIN 01 from 1234 to 2468, then, on a new session, gets it wrong once.
  ASSERT_EQ(SwOf(send(SelectAid(dm::DmApplet::DefaultAid()))), 0x9000);
  Bytes change = {0x00, 0x24, 0x00, 0x01, 0x10};
  Append(change, PinBlock(kOldPin));
  Append(change, PinBlock(kNewPin));
  ASSERT_EQ(SwOf(send(change)), 0x9000);
  card->Reset();
  ASSERT_EQ(SwOf(send(SelectAid(dm::DmApplet::DefaultAid()))), 0x9000);
  ASSERT_EQ(SwOf(send(Verify("9999"))), 0x63C2);

  // 3. Two failed authentications with the issuer's set on the ISD (counter 2, failures 2).
  card->Reset();
  ASSERT_EQ(SwOf(send(SelectAid(SecurityDomain::IsdAid()))), 0x9000);
  static_assert(kIssuerSequenceCounter == kIssuerFailedAuthentications);
  for (uint32_t i = 1; i <= kIssuerFailedAuthentications; ++i) {
    HostScp03 issuer(kDemoIssuer);
    const Bytes a = send(issuer.InitializeUpdate(kIssuerKvn, H("A1A2A3A4A5A6A7A8")));
    ASSERT_EQ(SwOf(a), 0x9000);
    ASSERT_EQ(SequenceCounterOf(DataOf(a)), i);
    const uint16_t sw = SwOf(send(BogusExternalAuthenticate()));
    ASSERT_TRUE(sw == 0x6300 || sw == 0x6982) << std::hex << sw;
  }
  card->PowerOff();
}

}  // namespace
}  // namespace dmcard
