// UC521 (helpdesk problem determination): the card's event log as a management authority reads
// it through the DM applet (GET DATA E1 over SCP03): tree changes with who made them, PIN blocks
// and failed authentications — the last two kept although their commands are refused — and
// nothing for a refused change. Only a secure session's principal reads it.
#include <gtest/gtest.h>

#include <string>

#include "demo_card_apdus.h"
#include "demo_card_in_ram.h"
#include "dm/dm_applet.h"
#include "host/demo_card.h"
#include "runtime/event_log.h"
#include "runtime/tlv.h"
#include "scp03_test_client.h"
#include "test_applets.h"

namespace dmcard {
namespace {

using testing::DataOf;
using testing::H;
using testing::SwOf;

constexpr char kName[] = "./DMAcc/DMCardTest/Name";

struct LoggedEvent {
  uint32_t counter;
  uint8_t kind, reason;
  std::string principal, detail;
};

// E1 { E2 { 80 counter, 81 time, 82 kind, 83 reason, 84 principal, 85 detail } ... }, read with
// the TLV rules of ISO 7816-4 (runtime/tlv.h).
std::vector<LoggedEvent> Decode(const Bytes& data) {
  std::vector<LoggedEvent> out;
  const std::optional<std::vector<Tlv>> top = ParseTlvs(data);
  EXPECT_TRUE(top && top->size() == 1 && (*top)[0].tag == 0xE1) << ToHex(data);
  if (!top || top->empty()) return out;
  const std::optional<std::vector<Tlv>> entries = ParseTlvs((*top)[0].value);
  for (const Tlv& e : entries.value_or(std::vector<Tlv>{})) {
    const std::optional<std::vector<Tlv>> f = ParseTlvs(e.value);
    if (!f || f->size() != 6) {
      ADD_FAILURE() << "entry " << ToHex(e.value);
      continue;
    }
    LoggedEvent le;
    le.counter = ReadU32((*f)[0].value.data());
    le.kind = (*f)[2].value[0];
    le.reason = (*f)[3].value[0];
    le.principal.assign((*f)[4].value.begin(), (*f)[4].value.end());
    le.detail.assign((*f)[5].value.begin(), (*f)[5].value.end());
    out.push_back(le);
  }
  return out;
}

TEST(Req_UC521_EventLog, ChangesBlocksAndFailedAuthenticationsAreLoggedForTheAuthority) {
  auto card = testing::DemoCardInRam(0x21);
  ASSERT_TRUE(card);
  const Bytes dm_aid = dm::DmApplet::DefaultAid();
  ASSERT_EQ(SwOf(card->Transmit(testing::SelectAid(dm_aid))), 0x9000);

  // The device: a refused change (no entry), the log refused (no session).
  EXPECT_EQ(SwOf(card->Transmit(testing::DmReplace(kName, "by the device"))), 0x6982);
  EXPECT_EQ(SwOf(card->Transmit(H("80CA00E100"))), 0x6982);
  // Three wrong user PINs: the third blocks it.
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(SwOf(card->Transmit(H("0020000104 39393939"))), 0x9000);
  }
  // A failed authentication with the DM server's key set (a made-up host cryptogram).
  HostScp03 bogus(testing::DemoDmsKeys());
  ASSERT_EQ(SwOf(card->Transmit(bogus.InitializeUpdate(0x31, H("0102030405060708")))), 0x9000);
  EXPECT_NE(SwOf(card->Transmit(H("8482010010 00000000000000000000000000000000"))), 0x9000);
  // The DM server changes its account, then reads the log.
  ASSERT_EQ(SwOf(card->Transmit(testing::SelectAid(dm_aid))), 0x9000);
  testing::Scp03TestClient dms(*card, {0x31, testing::DemoDmsKeys()});
  ASSERT_EQ(dms.Open(dm_aid), "");
  ASSERT_EQ(SwOf(dms.Transmit(testing::DmReplace(kName, "by the DMS"))), 0x9000);
  const Bytes r = dms.Transmit(H("80CA00E100"));
  ASSERT_EQ(SwOf(r), 0x9000);
  const std::vector<LoggedEvent> log = Decode(DataOf(r));
  ASSERT_EQ(log.size(), 3u) << ToHex(r);
  EXPECT_EQ(log[0].kind, static_cast<uint8_t>(EventKind::kPinBlocked));
  EXPECT_EQ(log[0].principal, "@device");
  EXPECT_EQ(log[0].detail, "\x01");
  EXPECT_EQ(log[1].kind, static_cast<uint8_t>(EventKind::kAuthenticationFailed));
  EXPECT_EQ(log[1].principal, "dmcard.example.test");
  EXPECT_EQ(log[1].detail, "\x31");
  EXPECT_EQ(log[2].kind, static_cast<uint8_t>(EventKind::kMoChanged));
  EXPECT_EQ(log[2].reason, 0x34);  // REPLACE
  EXPECT_EQ(log[2].principal, "dmcard.example.test");
  EXPECT_EQ(log[2].detail, std::string("value ") + kName);
  EXPECT_EQ(log[0].counter + 1, log[1].counter);
  EXPECT_EQ(log[1].counter + 1, log[2].counter);
  // From a counter on; malformed requests.
  const Bytes later = dms.Transmit(
      Bytes{0x80, 0xCA, 0x00, 0xE1, 0x04, 0, 0, 0, static_cast<uint8_t>(log[2].counter), 0x00});
  ASSERT_EQ(SwOf(later), 0x9000);
  EXPECT_EQ(Decode(DataOf(later)).size(), 1u);
  EXPECT_EQ(SwOf(dms.Transmit(H("80CA00E102 0000 00"))), 0x6700);
  // A tampered command on the open session (its C-MAC broken): refused, the session ended, and
  // the failure on record under the session's principal.
  Bytes tampered = dms.host().Wrap(testing::DmReplace(kName, "tampered"));
  tampered.back() ^= 0x01;
  EXPECT_EQ(ToHex(card->Transmit(tampered)), "6982");
  ASSERT_EQ(SwOf(card->Transmit(testing::SelectAid(dm_aid))), 0x9000);
  ASSERT_EQ(dms.Open(dm_aid), "");
  const std::vector<LoggedEvent> after = Decode(DataOf(dms.Transmit(H("80CA00E100"))));
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after.back().kind, static_cast<uint8_t>(EventKind::kAuthenticationFailed));
  EXPECT_EQ(after.back().reason, 0x82);  // 6982
  EXPECT_EQ(after.back().principal, "dmcard.example.test");
  EXPECT_EQ(after.back().detail, "secure messaging");
}

}  // namespace
}  // namespace dmcard
