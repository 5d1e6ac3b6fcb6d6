// PINs (ISO 7816-4 VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER) on the scratch applet:
// PIN ref 01 = "1234", 3 tries; its PUK = "12345678", 5 tries.
#include <gtest/gtest.h>

#include "test_applets.h"

namespace dmcard {
namespace {

using testing::H;
using testing::MakeTestCard;
using testing::Send;
using testing::SwOf;

constexpr const char* kVerifyRight = "002000010431323334";
constexpr const char* kVerifyWrong = "002000010439393939";
constexpr const char* kStatus = "0020000100";

uint16_t SendSw(Card& card, const char* hex) { return SwOf(Send(card, hex)); }

TEST(Runtime_Pin, WrongTriesCountDownThenBlock) {
  auto card = MakeTestCard();
  EXPECT_EQ(SendSw(*card, "00200001"), 0x63C3) << "status query spends no try";
  EXPECT_EQ(SendSw(*card, kVerifyWrong), 0x63C2);
  EXPECT_EQ(SendSw(*card, kVerifyWrong), 0x63C1);
  EXPECT_EQ(SendSw(*card, "00200001"), 0x63C1);
  EXPECT_EQ(SendSw(*card, kVerifyWrong), 0x63C0);
  EXPECT_EQ(SendSw(*card, kVerifyRight), 0x6983) << "blocked: even the right PIN is refused";
  EXPECT_EQ(SendSw(*card, "00200001"), 0x6983);
  EXPECT_EQ(SendSw(*card, "80600000"), 0x6982);
}

TEST(Runtime_Pin, RightPinRestoresCounterAndValidates) {
  auto card = MakeTestCard();
  EXPECT_EQ(SendSw(*card, kVerifyWrong), 0x63C2);
  EXPECT_EQ(SendSw(*card, "80600000"), 0x6982);
  EXPECT_EQ(SendSw(*card, kVerifyRight), 0x9000);
  EXPECT_EQ(SendSw(*card, "00200001"), 0x9000) << "status query: verified";
  EXPECT_EQ(SendSw(*card, "80600000"), 0x9000);
  EXPECT_EQ(SendSw(*card, "002000FF"), 0x6A88) << "unknown reference";
  EXPECT_EQ(SendSw(*card, "00200001"), 0x9000);
  // FF-padded form is the same PIN.
  EXPECT_EQ(SendSw(*card, "002000010831323334FFFFFFFF"), 0x9000);
  // A wrong try drops the validation.
  EXPECT_EQ(SendSw(*card, kVerifyWrong), 0x63C2);
  EXPECT_EQ(SendSw(*card, "80600000"), 0x6982);
}

TEST(Runtime_Pin, VerifyP1FFResetsValidation) {
  auto card = MakeTestCard();
  EXPECT_EQ(SendSw(*card, kVerifyRight), 0x9000);
  EXPECT_EQ(SendSw(*card, "00 20 FF 01"), 0x9000);
  EXPECT_EQ(SendSw(*card, "80600000"), 0x6982);
  EXPECT_EQ(SendSw(*card, kStatus), 0x63C3);
}

TEST(Runtime_Pin, ValidationClearedByResetAndDeselect) {
  auto card = MakeTestCard();
  EXPECT_EQ(SendSw(*card, kVerifyRight), 0x9000);
  card->Reset();
  EXPECT_EQ(SendSw(*card, "80600000"), 0x6982);
  EXPECT_EQ(SendSw(*card, kVerifyRight), 0x9000);
  EXPECT_EQ(SendSw(*card, "00A4040C07A0000005710201"), 0x9000);  // B
  EXPECT_EQ(SendSw(*card, "00A4040C07A0000005710101"), 0x9000);  // back to A
  EXPECT_EQ(SendSw(*card, "80600000"), 0x6982);
}

TEST(Runtime_Pin, CounterIsPersistent) {
  auto medium = std::make_shared<RamMedium>();
  {
    testing::TestCardOptions o;
    o.medium = medium;
    auto card = MakeTestCard(o);
    EXPECT_EQ(SendSw(*card, kVerifyWrong), 0x63C2);
    EXPECT_EQ(SendSw(*card, kVerifyWrong), 0x63C1);
  }
  testing::TestCardOptions o;
  o.medium = medium;
  auto card = MakeTestCard(o);
  EXPECT_EQ(SendSw(*card, kStatus), 0x63C1);
  EXPECT_EQ(SendSw(*card, kVerifyRight), 0x9000);
  EXPECT_EQ(SendSw(*card, kStatus), 0x9000);
}

TEST(Runtime_Pin, ChangeWithOldPin) {
  auto card = MakeTestCard();
  // old "1234" || new "5678", each padded with FF to 8 bytes.
  EXPECT_EQ(SendSw(*card, "0024000110 31323334FFFFFFFF 35363738FFFFFFFF"), 0x9000);
  EXPECT_EQ(SendSw(*card, "80600000"), 0x9000) << "a successful change validates";
  card->Reset();
  EXPECT_EQ(SendSw(*card, kVerifyRight), 0x63C2) << "old PIN no longer works";
  EXPECT_EQ(SendSw(*card, "002000010435363738"), 0x9000);
  // Wrong old PIN: counts as a failed try, no change.
  EXPECT_EQ(SendSw(*card, "0024000110 39393939FFFFFFFF 31313131FFFFFFFF"), 0x63C2);
  EXPECT_EQ(SendSw(*card, "002000010435363738"), 0x9000);
  // New PIN too short: refused before any try is spent.
  EXPECT_EQ(SendSw(*card, "0024000110 35363738FFFFFFFF 3132FFFFFFFFFFFF"), 0x6A80);
  EXPECT_EQ(SendSw(*card, kStatus), 0x9000);
}

TEST(Runtime_Pin, ChangeAfterVerification) {
  auto card = MakeTestCard();
  EXPECT_EQ(SendSw(*card, "002401010439393939"), 0x6982);
  EXPECT_EQ(SendSw(*card, kVerifyRight), 0x9000);
  EXPECT_EQ(SendSw(*card, "002401010439393939"), 0x9000);
  card->Reset();
  EXPECT_EQ(SendSw(*card, "002000010439393939"), 0x9000);
}

TEST(Runtime_Pin, ResetRetryCounterWithPuk) {
  auto card = MakeTestCard();
  for (int i = 0; i < 3; ++i) Send(*card, kVerifyWrong);
  EXPECT_EQ(SendSw(*card, kStatus), 0x6983);
  // Wrong PUK: PUK counter 5 → 4.
  EXPECT_EQ(SendSw(*card, "002C01010839393939393939 39"), 0x63C4);
  // Right PUK, keep the PIN value (P1 = 01).
  EXPECT_EQ(SendSw(*card, "002C0101083132333435363738"), 0x9000);
  EXPECT_EQ(SendSw(*card, kStatus), 0x63C3);
  EXPECT_EQ(SendSw(*card, kVerifyRight), 0x9000);
  // P1 = 00: PUK || new PIN.
  for (int i = 0; i < 3; ++i) Send(*card, kVerifyWrong);
  EXPECT_EQ(SendSw(*card, "002C000110 3132333435363738 37373737FFFFFFFF"), 0x9000);
  EXPECT_EQ(SendSw(*card, "002000010437373737"), 0x9000);
}

TEST(Runtime_Pin, PukBlocksToo) {
  auto card = MakeTestCard();
  for (int left = 4; left >= 0; --left) {
    EXPECT_EQ(SendSw(*card, "002C0101083939393939393939"), 0x63C0 | left);
  }
  EXPECT_EQ(SendSw(*card, "002C0101083132333435363738"), 0x6983);
}

// Reads the PIN counter from a card rebuilt on `ram` (status query spends nothing).
uint16_t CounterAfterReopen(const std::shared_ptr<RamMedium>& ram) {
  testing::TestCardOptions o;
  o.medium = ram;
  auto card = MakeTestCard(o);
  return SendSw(*card, kStatus);
}

// Cuts power after every physical write of a VERIFY. The try counter is decremented and made
// durable before the comparison, so a cut can never give a free try: whenever the card has
// compared (i.e. could have told the attacker anything), the decrement is on the medium.
void CutDuringVerify(const char* verify, bool right) {
  uint64_t writes = 0;
  {
    auto faulty = std::make_shared<FaultInjectingMedium>(std::make_shared<RamMedium>());
    testing::TestCardOptions o;
    o.medium = faulty;
    auto card = MakeTestCard(o);
    const uint64_t before = faulty->physical_writes();
    EXPECT_EQ(SendSw(*card, verify), right ? 0x9000 : 0x63C2);
    writes = faulty->physical_writes() - before;
  }
  // The decrement (a transaction: one append) then, for the right PIN, the restore (another).
  EXPECT_EQ(writes, right ? 2u : 1u);
  for (uint64_t cut = 0; cut <= writes; ++cut) {
    SCOPED_TRACE("cut after " + std::to_string(cut) + " writes");
    auto ram = std::make_shared<RamMedium>();
    auto faulty = std::make_shared<FaultInjectingMedium>(ram);
    testing::TestCardOptions o;
    o.medium = faulty;
    auto card = MakeTestCard(o);
    faulty->CutPowerAfter(cut);
    Bytes out;
    const bool answered = card->Transmit(H(verify), out);
    const uint16_t counter = CounterAfterReopen(ram);
    if (cut < 1) {
      EXPECT_FALSE(answered);
      EXPECT_EQ(counter, 0x63C3) << "cut before the decrement was durable: nothing compared";
    } else if (cut < writes) {
      EXPECT_FALSE(answered);
      EXPECT_EQ(counter, 0x63C2) << "decrement durable before the comparison";
    } else {
      EXPECT_TRUE(answered);
      EXPECT_EQ(counter, right ? 0x63C3 : 0x63C2);
    }
  }
}

TEST(Runtime_Pin, CutBetweenDecrementAndCompareWrongPin) { CutDuringVerify(kVerifyWrong, false); }
TEST(Runtime_Pin, CutBetweenDecrementAndCompareRightPin) { CutDuringVerify(kVerifyRight, true); }

}  // namespace
}  // namespace dmcard
