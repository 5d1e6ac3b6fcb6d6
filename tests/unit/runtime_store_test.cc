// Persistent memory: transactions with true rollback, capacity and statistics, durability on
// the RAM and file media, atomicity at every physical write index (also with torn writes).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "test_applets.h"

namespace dmcard {
namespace {

using testing::H;
using testing::MakeTestCard;
using testing::Send;
using testing::SwOf;

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

PersistentStore::Options Opts(uint32_t capacity = 4096, uint32_t checkpoint = 1 << 20) {
  PersistentStore::Options o;
  o.capacity = capacity;
  o.checkpoint_journal_bytes = checkpoint;
  return o;
}

TEST(Runtime_Store, WritesNeedATransaction) {
  PersistentStore s(std::make_shared<RamMedium>(), Opts());
  EXPECT_EQ(s.Put("k", B("v")), StoreStatus::kNoTransaction);
  s.Begin();
  EXPECT_EQ(s.Put("k", B("v")), StoreStatus::kOk);
  EXPECT_EQ(*s.Get("k"), B("v")) << "a transaction reads its own writes";
  EXPECT_EQ(s.Commit(), StoreStatus::kOk);
  EXPECT_EQ(*s.Get("k"), B("v"));
  EXPECT_FALSE(s.in_transaction());
}

TEST(Runtime_Store, AbortIsTrueRollback) {
  auto medium = std::make_shared<RamMedium>();
  PersistentStore s(medium, Opts());
  s.Begin();
  ASSERT_EQ(s.Put("keep", B("1234")), StoreStatus::kOk);
  ASSERT_EQ(s.Put("gone", B("xx")), StoreStatus::kOk);
  ASSERT_EQ(s.Commit(), StoreStatus::kOk);
  const uint32_t used = s.stats().used;

  s.Begin();
  ASSERT_EQ(s.Patch("keep", 1, B("ZZ")), StoreStatus::kOk);
  ASSERT_EQ(s.Erase("gone"), StoreStatus::kOk);
  ASSERT_EQ(s.Put("new", B("abc")), StoreStatus::kOk);
  EXPECT_EQ(*s.Get("keep"), B("1ZZ4"));
  EXPECT_FALSE(s.Contains("gone"));
  s.Abort();
  EXPECT_EQ(*s.Get("keep"), B("1234"));
  EXPECT_EQ(*s.Get("gone"), B("xx"));
  EXPECT_FALSE(s.Contains("new"));
  EXPECT_EQ(s.stats().used, used);
  EXPECT_EQ(s.Keys(""), (std::vector<std::string>{"gone", "keep"}));

  // Nothing of the aborted transaction reached the medium either.
  PersistentStore reopened(medium, Opts());
  EXPECT_EQ(*reopened.Get("keep"), B("1234"));
  EXPECT_FALSE(reopened.Contains("new"));
}

TEST(Runtime_Store, PatchAndEraseErrors) {
  PersistentStore s(std::make_shared<RamMedium>(), Opts());
  s.Begin();
  EXPECT_EQ(s.Patch("missing", 0, B("a")), StoreStatus::kNotFound);
  EXPECT_EQ(s.Erase("missing"), StoreStatus::kNotFound);
  ASSERT_EQ(s.Put("k", B("abc")), StoreStatus::kOk);
  EXPECT_EQ(s.Patch("k", 2, B("xy")), StoreStatus::kOutOfRange);
  EXPECT_EQ(s.Patch("k", 3, B("")), StoreStatus::kOk);
}

TEST(Runtime_Store, CapacityAndStatistics) {
  PersistentStore s(std::make_shared<RamMedium>(), Opts(100));
  EXPECT_EQ(s.stats().capacity, 100u);
  EXPECT_EQ(s.stats().used, 0u);
  EXPECT_EQ(s.stats().physical_writes, 2u) << "a brand-new card: empty image, then journal";
  s.Begin();
  // One record costs 8 bytes of header + key + value.
  ASSERT_EQ(s.Put("a", Bytes(50, 1)), StoreStatus::kOk);
  EXPECT_EQ(s.stats().used, 59u);
  EXPECT_EQ(s.Put("b", Bytes(40, 1)), StoreStatus::kFull);
  EXPECT_EQ(s.Put("b", Bytes(32, 1)), StoreStatus::kOk);  // 59 + 41 = 100
  EXPECT_EQ(s.stats().used, 100u);
  EXPECT_EQ(s.Put("a", Bytes(51, 1)), StoreStatus::kFull) << "growing a record counts too";
  ASSERT_EQ(s.Commit(), StoreStatus::kOk);
  StoreStats st = s.stats();
  EXPECT_EQ(st.records, 2u);
  EXPECT_EQ(st.commits, 1u);
  EXPECT_EQ(st.physical_writes, 3u) << "creation (image, journal) + the transaction's one append";
  s.Begin();
  ASSERT_EQ(s.Erase("a"), StoreStatus::kOk);
  EXPECT_EQ(s.stats().used, 41u);
  ASSERT_EQ(s.Put("c", Bytes(40, 1)), StoreStatus::kOk) << "erased space is free again";
}

TEST(Runtime_Store, CardAnswers6A84WhenFull) {
  testing::TestCardOptions o;
  o.config.capacity = 2048;
  auto card = MakeTestCard(o);
  const uint32_t before = card->store().stats().used;
  EXPECT_EQ(SwOf(Send(*card, "80500800")), 0x6A84);  // 2048 bytes cannot fit
  EXPECT_EQ(card->store().stats().used, before);
  EXPECT_EQ(SwOf(Send(*card, "80500100")), 0x9000);  // 256 bytes can
  EXPECT_GT(card->store().stats().used, before + 256);
}

TEST(Runtime_Store, DefaultCapacityIs64KiB) {
  auto card = MakeTestCard();
  EXPECT_EQ(card->store().stats().capacity, 65536u);
}

TEST(Runtime_Store, CommittedStateSurvivesReopen) {
  auto medium = std::make_shared<RamMedium>();
  {
    PersistentStore s(medium, Opts());
    s.Begin();
    ASSERT_EQ(s.Put("a", B("one")), StoreStatus::kOk);
    ASSERT_EQ(s.Commit(), StoreStatus::kOk);
    s.Begin();
    ASSERT_EQ(s.Put("b", B("uncommitted")), StoreStatus::kOk);
    // dropped without commit, as when power fails
  }
  PersistentStore s(medium, Opts());
  EXPECT_TRUE(s.open_error().empty());
  EXPECT_EQ(*s.Get("a"), B("one"));
  EXPECT_FALSE(s.Contains("b"));
}

TEST(Runtime_Store, CheckpointFoldsJournalIntoImage) {
  auto medium = std::make_shared<RamMedium>();
  PersistentStore s(medium, Opts(8192, 256));
  for (int i = 0; i < 40; ++i) {
    s.Begin();
    ASSERT_EQ(s.Put("counter", Bytes{static_cast<uint8_t>(i)}), StoreStatus::kOk);
    ASSERT_EQ(s.Put("k" + std::to_string(i % 5), Bytes(20, static_cast<uint8_t>(i))),
              StoreStatus::kOk);
    ASSERT_EQ(s.Commit(), StoreStatus::kOk);
  }
  EXPECT_GT(s.stats().checkpoints, 0u);
  EXPECT_LE(medium->content(MediumFile::kJournal).size(), 256u + 100u);
  PersistentStore r(medium, Opts());
  EXPECT_EQ(*r.Get("counter"), Bytes{39});
  EXPECT_EQ(*r.Get("k4"), Bytes(20, 39));
}

TEST(Runtime_Store, CorruptImageIsRefusedNotSilentlyReset) {
  auto medium = std::make_shared<RamMedium>();
  {
    PersistentStore s(medium, Opts(4096, 0));  // checkpoint after every commit
    s.Begin();
    ASSERT_EQ(s.Put("a", B("x")), StoreStatus::kOk);
    ASSERT_EQ(s.Commit(), StoreStatus::kOk);
  }
  Bytes image = medium->content(MediumFile::kImage);
  ASSERT_FALSE(image.empty());
  image[image.size() / 2] ^= 0x01;
  ASSERT_TRUE(medium->Replace(MediumFile::kImage, image));
  PersistentStore s(medium, Opts());
  EXPECT_FALSE(s.open_error().empty());
  s.Begin();
  EXPECT_EQ(s.Put("b", B("y")), StoreStatus::kPowerLost);
}

// Builds the starting state used by the atomicity test: records a/0..a/4 = "old".
std::shared_ptr<RamMedium> OldState(uint32_t checkpoint) {
  auto ram = std::make_shared<RamMedium>();
  testing::TestCardOptions o;
  o.medium = ram;
  o.config.checkpoint_journal_bytes = checkpoint;
  auto card = MakeTestCard(o);
  EXPECT_EQ(SwOf(Send(*card, "80200500036F6C64")), 0x9000);  // WRITE 5 × "old"
  return ram;
}

// Reads a/0..a/4 from a card rebuilt on `ram`: "old", "new", or "mixed".
std::string Outcome(const std::shared_ptr<RamMedium>& ram) {
  testing::TestCardOptions o;
  o.medium = ram;
  auto card = MakeTestCard(o);
  EXPECT_TRUE(card->open_error().empty()) << card->open_error();
  std::string seen;
  for (int i = 0; i < 5; ++i) {
    Bytes r = card->Transmit(Bytes{0x80, 0x22, static_cast<uint8_t>(i), 0x00, 0x00});
    std::string v(r.begin(), r.end() - 2);
    if (seen.empty()) seen = v;
    if (v != seen) return "mixed";
  }
  return seen;
}

// Cuts power after every possible number of physical writes during a five-record transaction
// (its one journal append — entry and commit marker — and, with a small threshold, the
// checkpoint's image replacement and journal truncation) and finds the store exactly old or
// exactly new.
void CutAtEveryWrite(uint32_t checkpoint, FaultInjectingMedium::Tear tear) {
  using Tear = FaultInjectingMedium::Tear;
  // Count the physical writes of the transaction when nothing fails.
  uint64_t writes = 0;
  {
    auto ram = OldState(checkpoint);
    auto faulty = std::make_shared<FaultInjectingMedium>(ram);
    testing::TestCardOptions o;
    o.medium = faulty;
    o.config.checkpoint_journal_bytes = checkpoint;
    auto card = MakeTestCard(o);
    const uint64_t before = faulty->physical_writes();
    EXPECT_EQ(SwOf(Send(*card, "80200500036E6577")), 0x9000);
    writes = faulty->physical_writes() - before;
  }
  ASSERT_GE(writes, 1u);
  int saw_old = 0, saw_new = 0;
  for (uint64_t cut = 0; cut <= writes; ++cut) {
    SCOPED_TRACE("power cut after " + std::to_string(cut) + " of " + std::to_string(writes) +
                 " writes" +
                 (tear == Tear::kFirstHalf ? " (first half written)"
                  : tear == Tear::kHoles   ? " (middle third unwritten)"
                                           : ""));
    auto ram = OldState(checkpoint);
    auto faulty = std::make_shared<FaultInjectingMedium>(ram);
    testing::TestCardOptions o;
    o.medium = faulty;
    o.config.checkpoint_journal_bytes = checkpoint;
    auto card = MakeTestCard(o);
    faulty->CutPowerAfter(cut, tear);
    Bytes out;
    const bool answered = card->Transmit(H("80200500036E6577"), out);
    const std::string outcome = Outcome(ram);
    if (cut < writes) {
      EXPECT_FALSE(answered) << "a card that lost power mid-write does not answer";
      EXPECT_TRUE(card->dead());
    } else {
      EXPECT_TRUE(answered);
      EXPECT_EQ(SwOf(out), 0x9000);
    }
    EXPECT_TRUE(outcome == "old" || outcome == "new") << outcome;
    if (answered) {
      EXPECT_EQ(outcome, "new") << "an answered write is durable";
    }
    if (cut < 1) {
      EXPECT_EQ(outcome, "old") << "the transaction's append cut: no change";
    }
    (outcome == "old" ? saw_old : saw_new)++;
  }
  EXPECT_GT(saw_old, 0);
  EXPECT_GT(saw_new, 0);
}

using Tear = FaultInjectingMedium::Tear;
TEST(Runtime_Store, AtomicAtEveryWriteIndex) { CutAtEveryWrite(1 << 20, Tear::kNone); }
TEST(Runtime_Store, AtomicAtEveryWriteIndexWithCheckpoint) { CutAtEveryWrite(0, Tear::kNone); }
TEST(Runtime_Store, AtomicAtEveryWriteIndexWithTornWrites) {
  CutAtEveryWrite(1 << 20, Tear::kFirstHalf);
}
TEST(Runtime_Store, AtomicAtEveryWriteIndexTornWithCheckpoint) {
  CutAtEveryWrite(0, Tear::kFirstHalf);
}
TEST(Runtime_Store, AtomicAtEveryWriteIndexWithUnwrittenBlocks) {
  CutAtEveryWrite(1 << 20, Tear::kHoles);
}
TEST(Runtime_Store, AtomicAtEveryWriteIndexUnwrittenBlocksWithCheckpoint) {
  CutAtEveryWrite(0, Tear::kHoles);
}

TEST(Runtime_Store, FileMediumRoundTrip) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("dmcard-store-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    PersistentStore s(std::make_shared<FileMedium>(dir, false), Opts(4096, 64));
    for (int i = 0; i < 10; ++i) {
      s.Begin();
      ASSERT_EQ(s.Put("n", Bytes{static_cast<uint8_t>(i)}), StoreStatus::kOk);
      ASSERT_EQ(s.Commit(), StoreStatus::kOk);
    }
    EXPECT_GT(s.stats().checkpoints, 0u);
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "card.img"));
  PersistentStore s(std::make_shared<FileMedium>(dir, true), Opts());
  EXPECT_TRUE(s.open_error().empty());
  EXPECT_EQ(*s.Get("n"), Bytes{9});
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dmcard
