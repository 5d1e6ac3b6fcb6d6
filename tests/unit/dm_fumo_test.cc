// FUMO control on the card (issue 10 item 5; requirement FUMO): "may this firmware package be
// installed?" answered from the operator's FUMO policy nodes (the demo tree's TestPkg1) and a
// package signature verified with the card's FUMO key (made here with OpenSSL); every decision
// in the event log.
#include <gtest/gtest.h>

#include <string>

#include "demo_card_apdus.h"
#include "demo_card_in_ram.h"
#include "dm/dm_applet.h"
#include "host/demo_card.h"
#include "host/dms.h"
#include "host/openssl_util.h"
#include "runtime/event_log.h"
#include "runtime/key_store.h"
#include "test_applets.h"

namespace dmcard {
namespace {

using testing::Ascii;
using testing::H;
using testing::SwOf;
using namespace ossl;  // NOLINT: the host side of the signatures

class Req_FUMO_FirmwareControl : public ::testing::Test {
 protected:
  void SetUp() override {
    card_ = testing::DemoCardInRam(0xF0);
    ASSERT_TRUE(card_);
    ASSERT_EQ(SwOf(card_->Transmit(testing::SelectAid(dm::DmApplet::DefaultAid()))), 0x9000);
  }
  // The operator's FUMO key: the public half of a P-256 pair OpenSSL made.
  void LoadFumoKey() {
    fumo_ = OsslNewP256();
    const Bytes pub = OsslEcPublicKey(fumo_.get());
    ASSERT_EQ(pub.size(), 65u);
    card_->store().Begin();
    KeySpec spec;
    spec.type = KeyType::kEcP256Public;
    spec.usage = KeyUsage::kFumo;
    spec.kvn = 0x50;
    spec.id = 0x01;
    spec.owner = kIssuerPrincipal;
    EXPECT_EQ(KeyLoader(card_->store()).Load(spec, pub), CryptoStatus::kOk);
    ASSERT_EQ(card_->store().Commit(), StoreStatus::kOk);
  }
  std::string Decide(const Bytes& apdu) { return ToHex(card_->Transmit(apdu)); }

  std::unique_ptr<Card> card_;
  PkeyPtr fumo_;
};

TEST_F(Req_FUMO_FirmwareControl, ThePolicyAllowsWhatItListsAndNothingElse) {
  // profiles/README.md: TestPkg1 is the SHA-256 of "dmcard-test-firmware-0.0.1", 0.0.1-test.
  const Bytes listed = OsslDigest("SHA256", Ascii("dmcard-test-firmware-0.0.1"));
  EXPECT_EQ(Decide(FumoCheckFirmwareCommand(listed, "0.0.1-test")), "8601019000");
  EXPECT_EQ(Decide(FumoCheckFirmwareCommand(listed, "0.0.2-test")), "8601009000");
  EXPECT_EQ(
      Decide(FumoCheckFirmwareCommand(OsslDigest("SHA256", Ascii("other firmware")), "0.0.1-test")),
      "8601009000");
  const std::vector<Event> log = card_->log().Read(0, 100);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].kind, EventKind::kFumoDecision);
  EXPECT_EQ(log[0].reason, 0x01);
  EXPECT_EQ(log[0].detail, Ascii("0.0.1-test"));
  EXPECT_EQ(log[1].reason, 0x00);
  // Malformed: a short digest, no version, a version with a control character.
  EXPECT_EQ(SwOf(card_->Transmit(FumoCheckFirmwareCommand(Bytes(31, 0), "1"))), 0x6A80);
  EXPECT_EQ(SwOf(card_->Transmit(H("8044000022 8020" + std::string(64, '0') + "00"))), 0x6A80);
  EXPECT_EQ(SwOf(card_->Transmit(FumoCheckFirmwareCommand(listed, std::string("1\x01", 2)))),
            0x6A80);
}

TEST_F(Req_FUMO_FirmwareControl, APackageSignedWithTheFumoKeyIsAllowed) {
  const Bytes digest = OsslDigest("SHA256", Ascii("a signed firmware package"));
  // No FUMO key on the demo card yet.
  EXPECT_EQ(SwOf(card_->Transmit(FumoCheckFirmwareCommand(digest, "2.0", Bytes(64, 1)))), 0x6A88);
  LoadFumoKey();
  const Bytes signature = OsslDerToRaw(OsslSignDer(fumo_.get(), digest));
  EXPECT_EQ(Decide(FumoCheckFirmwareCommand(digest, "2.0", signature)), "8601029000");
  // Signed by another key, or another package's signature: refused (6982), logged durably.
  PkeyPtr other = OsslNewP256();
  const Bytes forged = OsslDerToRaw(OsslSignDer(other.get(), digest));
  const size_t logged = card_->log().Read(0, 100).size();
  EXPECT_EQ(Decide(FumoCheckFirmwareCommand(digest, "2.0", forged)), "6982");
  EXPECT_EQ(Decide(FumoCheckFirmwareCommand(OsslDigest("SHA256", Ascii("x")), "2.0", signature)),
            "6982");
  const std::vector<Event> log = card_->log().Read(0, 100);
  ASSERT_EQ(log.size(), logged + 2);
  EXPECT_EQ(log.back().kind, EventKind::kFumoDecision);
  EXPECT_EQ(log.back().reason, 0xFF);
}

}  // namespace
}  // namespace dmcard
