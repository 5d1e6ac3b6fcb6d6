// What a state-changing command costs the disk (issue 13 item 5, "one fdatasync per
// state-changing APDU"; docs/card-image-format.md, "Transaction"): a demo card on a state
// directory with fsync on, counting the fdatasync/fsync calls its medium makes per APDU.
//  - a command that changes nothing syncs nothing;
//  - a command that changes the card's state is one transaction: one sync;
//  - a refused PIN costs exactly its try: one sync;
//  - an accepted PIN is two by design (runtime/pin.h: the try is made durable before the
//    comparison, and given back after it).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "host/demo_card.h"
#include "runtime/storage_medium.h"
#include "test_applets.h"

namespace dmcard {
namespace {

namespace fs = std::filesystem;

class Runtime_DurableWrites : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dmcard-syncs-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    medium_ = std::make_shared<FileMedium>(dir_, /*sync=*/true);
    ASSERT_EQ(medium_->open_error(), "");
    std::string error;
    const uint8_t seed[16] = {0x5C};
    card_ = MakeDemoCard(DemoCardConfig(),
                         Platform{medium_, crypto::Drbg::FromSeed(seed), [] { return 1700000000; }},
                         error);
    ASSERT_TRUE(card_) << error;
    card_->PowerOn();
  }
  void TearDown() override {
    card_.reset();
    medium_.reset();
    fs::remove_all(dir_);
  }

  // Sends `apdu`, expects the status word `sw`, and returns the syncs it cost.
  uint64_t SyncsOf(const char* apdu, const char* sw) {
    const uint64_t before = medium_->syncs();
    const Bytes r = card_->Transmit(testing::H(apdu));
    EXPECT_GE(r.size(), 2u);
    EXPECT_EQ(ToHex(Bytes(r.end() - 2, r.end())), sw) << apdu;
    return medium_->syncs() - before;
  }

  fs::path dir_;
  std::shared_ptr<FileMedium> medium_;
  std::unique_ptr<Card> card_;
};

TEST_F(Runtime_DurableWrites, OneSyncPerStateChangingCommand) {
  EXPECT_EQ(SyncsOf("00A4080C0450005001", "9000"), 0u) << "SELECT EF 5001";
  EXPECT_EQ(SyncsOf("00B0000004", "9000"), 0u) << "READ BINARY";
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(SyncsOf("00D6000004000000AA", "9000"), 1u) << "UPDATE BINARY #" << i;
  }
  // The demo user PIN (1234, three tries), on the DM applet.
  EXPECT_EQ(SyncsOf("00A404000AF0444D434152442D444D", "9000"), 0u) << "SELECT DM";
  EXPECT_EQ(SyncsOf("002000010439393939", "63C2"), 1u) << "VERIFY, wrong PIN";
  EXPECT_EQ(SyncsOf("002000010431323334", "9000"), 2u) << "VERIFY, right PIN";
  EXPECT_EQ(SyncsOf("00200001", "9000"), 0u) << "VERIFY status";
}

}  // namespace
}  // namespace dmcard
