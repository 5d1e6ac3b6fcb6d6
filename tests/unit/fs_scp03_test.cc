// The file-system applet serves the GlobalPlatform SCP03 handshake itself, as the DM applet does
// (fs/fs_applet.h): the issuer authenticates to it to update EF.DIR (access rule: the issuer
// alone), and a DM server reads the PKCS#15 view as itself. On the demo card (its key sets:
// KVN 30 the issuer, KVN 31 the DM server dmcard.example.test; demo_card_apdus.h), in-process.
#include <gtest/gtest.h>

#include <string>

#include "demo_card_apdus.h"
#include "demo_card_in_ram.h"
#include "dm/dm_applet.h"
#include "fs/demo_fs.h"
#include "host/demo_card.h"
#include "host/scp03_host.h"
#include "runtime/tlv.h"
#include "scp03_test_client.h"
#include "test_applets.h"

namespace dmcard {
namespace {

using testing::DataOf;
using testing::H;
using testing::Scp03TestClient;
using testing::SwOf;

constexpr uint8_t kIssuerKvn = 0x30;
constexpr uint8_t kDmsKvn = 0x31;
// EF.DIR record 2 by SFI 30 (P2 = F4; ISO 7816-4 §11.4.3), 32 bytes: READ and UPDATE RECORD.
constexpr char kReadDir2[] = "00B202F420";
const std::string kRecord = std::string(64, 'E');
const std::string kUpdateDir2 = "00DC02F420" + kRecord;

class Req_SEC1_FsOverScp03 : public ::testing::Test {
 protected:
  void SetUp() override {
    card_ = testing::DemoCardInRam(0xF5);
    ASSERT_TRUE(card_);
    ASSERT_EQ(SwOf(card_->Transmit(testing::SelectAid(fs::demo::Aid()))), 0x9000);
    const Bytes r = card_->Transmit(H(kReadDir2));
    ASSERT_EQ(SwOf(r), 0x9000);
    dir2_ = ToHex(DataOf(r));
    ASSERT_NE(dir2_, kRecord);
  }

  std::string Plain(std::string_view hex) { return ToHex(card_->Transmit(H(hex))); }
  uint8_t FailedAuthentications(uint8_t kvn) {
    const std::optional<KeySetState> state = card_->keys().SetState(kvn);
    return state ? state->failed_authentications : 0xFF;
  }

  std::unique_ptr<Card> card_;
  std::string dir2_;  // EF.DIR record 2 as the card was made, hex
};

TEST_F(Req_SEC1_FsOverScp03, IssuerUpdatesEfDirOnlyWhenAuthenticated) {
  EXPECT_EQ(Plain(kUpdateDir2), "6982");  // the device
  EXPECT_EQ(Plain(kReadDir2), dir2_ + "9000");
  for (uint8_t level : {0x01, 0x13, 0x33}) {
    SCOPED_TRACE("level " + ToHex(Bytes{level}));
    Scp03TestClient issuer(*card_, {kIssuerKvn, testing::DemoIssuerKeys()});
    ASSERT_EQ(issuer.Open(fs::demo::Aid(), level), "");
    ASSERT_EQ(ToHex(issuer.Transmit(kUpdateDir2)), "9000");
    EXPECT_EQ(ToHex(issuer.Transmit(kReadDir2)), kRecord + "9000");
    // A new SELECT of the applet ends the session: plain again, nobody is the issuer.
    ASSERT_EQ(SwOf(card_->Transmit(testing::SelectAid(fs::demo::Aid()))), 0x9000);
    EXPECT_EQ(Plain("00DC02F420" + dir2_), "6982");
    EXPECT_EQ(Plain(kReadDir2), kRecord + "9000");
    // Put the record back for the next level, as the issuer.
    ASSERT_EQ(issuer.Open(fs::demo::Aid(), level), "");
    ASSERT_EQ(ToHex(issuer.Transmit("00DC02F420" + dir2_)), "9000");
    ASSERT_EQ(SwOf(card_->Transmit(testing::SelectAid(fs::demo::Aid()))), 0x9000);
  }
  EXPECT_EQ(FailedAuthentications(kIssuerKvn), 0);
}

// The DM server authenticates too, but EF.DIR is the issuer's: a management authority is not
// the issuer.
TEST_F(Req_SEC1_FsOverScp03, DmServerIsNotTheIssuer) {
  Scp03TestClient server(*card_, {kDmsKvn, testing::DemoDmsKeys()});
  ASSERT_EQ(server.Open(fs::demo::Aid()), "");
  EXPECT_EQ(ToHex(server.Transmit(kUpdateDir2)), "6982");
  EXPECT_EQ(ToHex(server.Transmit(kReadDir2)), dir2_ + "9000");  // the session still runs
}

// The pseudo-random card challenge (Amendment D §6.2.2.1: KDF under K-ENC, constant 02, context
// = sequence counter || the AID of the application invoking the secure channel) after SELECT of
// the PKCS#15 application: the file-system applet serves that AID, and the challenge is its own
// (docs/personalization.md, "The session").
TEST_F(Req_SEC1_FsOverScp03, CardChallengeAfterSelectingThePkcs15AidNamesTheFileSystemApplet) {
  const Bytes pkcs15_aid = H("A000000063504B43532D3135");
  ASSERT_EQ(SwOf(card_->Transmit(testing::SelectAid(pkcs15_aid))), 0x9000);
  HostScp03 host(testing::DemoIssuerKeys());
  const Bytes r = card_->Transmit(host.InitializeUpdate(kIssuerKvn, H("0102030405060708")));
  ASSERT_EQ(SwOf(r), 0x9000);
  const Bytes answer = DataOf(r);
  ASSERT_EQ(answer.size(), 32u) << "with a pseudo-random challenge: the sequence counter too";
  ASSERT_EQ(answer[12] & 0x10, 0x10) << "i announces a pseudo-random card challenge";
  const Bytes challenge(answer.begin() + 13, answer.begin() + 21);
  auto expected = [&answer](const Bytes& aid) {
    Bytes context(answer.begin() + 29, answer.end());  // the sequence counter
    Append(context, aid);
    return HostScp03::Kdf(testing::DemoIssuerKeys().enc, 0x02, 64, context);
  };
  EXPECT_EQ(ToHex(challenge), ToHex(expected(fs::demo::Aid())));
  EXPECT_NE(ToHex(challenge), ToHex(expected(pkcs15_aid)));
}

// A host that holds other keys than the issuer's key set cannot open a session with it: the
// card's cryptogram does not verify on the host, and the host's proof, made with its own keys,
// is refused by the card (counted as a failed authentication); the channel stays the device's.
TEST_F(Req_SEC1_FsOverScp03, WrongKeysAreRefused) {
  HostScp03 impostor(testing::DemoDmsKeys());
  EXPECT_NE(testing::OpenScp03(*card_, impostor, kIssuerKvn, fs::demo::Aid(), 0x01), "");

  // The impostor's EXTERNAL AUTHENTICATE, worked out here from its own keys (Amendment D
  // §6.2.2.2 host cryptogram, §6.2.3/§6.2.4 first C-MAC from a zero chaining value).
  const Bytes host_challenge = H("0102030405060708");
  const Bytes r = card_->Transmit(impostor.InitializeUpdate(kIssuerKvn, host_challenge));
  ASSERT_EQ(SwOf(r), 0x9000);
  const Bytes answer = DataOf(r);
  ASSERT_GE(answer.size(), 29u);
  Bytes context = host_challenge;
  Append(context, ByteView(answer).subspan(13, 8));  // the card challenge
  const Bytes& keys_mac = testing::DemoDmsKeys().mac;
  const Bytes s_mac = HostScp03::Kdf(keys_mac, 0x06, keys_mac.size() * 8, context);
  const Bytes cryptogram = HostScp03::Kdf(s_mac, 0x01, 64, context);
  Bytes ea = {0x84, 0x82, 0x01, 0x00, 0x10};
  Append(ea, cryptogram);
  Bytes mac_input(16, 0x00);
  Append(mac_input, ea);
  Append(ea, ByteView(HostScp03::AesCmac(s_mac, mac_input)).first(8));
  const uint16_t sw = SwOf(card_->Transmit(ea));
  EXPECT_TRUE(sw == 0x6982 || sw == 0x6300) << std::hex << sw;  // bad C-MAC or cryptogram
  EXPECT_EQ(FailedAuthentications(kIssuerKvn), 1);

  EXPECT_EQ(Plain(kUpdateDir2), "6982");
  EXPECT_EQ(Plain(kReadDir2), dir2_ + "9000");
}

// The PKCS#15 view (EF(DM_Bootstrap), 3F00/5015/4402) as the DM server reads it over its own
// session to the file-system applet: a leaf of its account that only it may Get (added here by
// the server over SCP03 to the DM applet), which the device's view leaves out.
TEST_F(Req_SEC1_FsOverScp03, DmServerReadsThePkcs15ViewAsItself) {
  const std::string uri = "./DMAcc/DMCardTest/Note";
  const std::string note = "for-the-server-only";
  Bytes add;
  AppendTlv(add, 0x80, testing::Ascii(uri));
  AppendTlv(add, 0x82, testing::Ascii("chr"));
  AppendTlv(add, 0x81, testing::Ascii(note));
  AppendTlv(add, 0x84, testing::Ascii("Get=dmcard.example.test"));
  Bytes add_apdu = {0x80, 0x32, 0x00, 0x00, static_cast<uint8_t>(add.size())};
  Append(add_apdu, add);
  Scp03TestClient server(*card_, {kDmsKvn, testing::DemoDmsKeys()});
  ASSERT_EQ(SwOf(card_->Transmit(testing::SelectAid(dm::DmApplet::DefaultAid()))), 0x9000);
  ASSERT_EQ(server.Open(dm::DmApplet::DefaultAid()), "");
  ASSERT_EQ(ToHex(server.Transmit(add_apdu)), "9000");

  ASSERT_EQ(SwOf(card_->Transmit(testing::SelectAid(fs::demo::Aid()))), 0x9000);
  ASSERT_EQ(Plain("00A4080C04 50154402"), "9000");
  const std::string device = testing::Str(DataOf(card_->Transmit(H("00B00000 000000"))));
  EXPECT_NE(device.find("DMCardTest"), std::string::npos) << device;  // the account: Get=*
  EXPECT_EQ(device.find(note), std::string::npos) << device;

  ASSERT_EQ(server.Open(fs::demo::Aid()), "");
  ASSERT_EQ(ToHex(server.Transmit("00A4080C04 50154402")), "9000");
  const Bytes r = server.Transmit("00B00000 000000");
  EXPECT_EQ(SwOf(r), 0x6282);  // end of file before Ne
  EXPECT_NE(testing::Str(DataOf(r)).find(note), std::string::npos);
}

// Logs name the handshake as the DM applet's do.
TEST_F(Req_SEC1_FsOverScp03, HandshakeCommandsAreNamed) {
  EXPECT_EQ(card_->DescribeCommand(H("8050300008 0102030405060708 00")),
            "GP INITIALIZE UPDATE KVN 30");
}

}  // namespace
}  // namespace dmcard
