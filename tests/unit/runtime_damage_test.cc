// Damage is detected, never silently served (issue 7 item 5; docs/card-image-format.md,
// "Opening"). Every expectation here comes from the rule written there:
//  - only a torn tail (the file ends inside the last transaction, or the last transaction fails
//    a checksum with nothing after it, and card.lock's witness says it was never acknowledged)
//    may be dropped;
//  - every other damage, deletion, empty file or mismatched pair refuses to open with a message
//    naming the file, and opening writes nothing;
//  - a journal that ends before the last acknowledged transaction (the card.lock witness) is
//    refused; without the witness a cut at a transaction boundary cannot be told from a card
//    that never made the later transactions (the documented limit).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "runtime/persistent_store.h"
#include "runtime/storage_medium.h"

namespace dmcard {
namespace {

using Model = std::map<std::string, Bytes>;

PersistentStore::Options Opts(uint32_t checkpoint = 1 << 20) {
  PersistentStore::Options o;
  o.capacity = 4096;
  o.checkpoint_journal_bytes = checkpoint;
  return o;
}

// Transaction i (1-based) of the test history, applied to the store and to an independent model:
// put k<i> = {i, i, i}; from the second on patch byte 0 of k1 to i; every third erases k<i-1>.
void Transaction(PersistentStore& s, Model& m, int i) {
  const uint8_t v = static_cast<uint8_t>(i);
  s.Begin();
  ASSERT_EQ(s.Put("k" + std::to_string(i), Bytes{v, v, v}), StoreStatus::kOk);
  m["k" + std::to_string(i)] = Bytes{v, v, v};
  if (i > 1) {
    ASSERT_EQ(s.Patch("k1", 0, Bytes{v}), StoreStatus::kOk);
    m["k1"][0] = v;
  }
  if (i % 3 == 0) {
    ASSERT_EQ(s.Erase("k" + std::to_string(i - 1)), StoreStatus::kOk);
    m.erase("k" + std::to_string(i - 1));
  }
  ASSERT_EQ(s.Commit(), StoreStatus::kOk);
}

// A card with `n` committed transactions in its journal (no checkpoint): the medium, the model
// after each transaction (models[k] = state after k), and the journal length after each
// (ends[0] = the header alone).
struct History {
  std::shared_ptr<RamMedium> ram = std::make_shared<RamMedium>();
  std::vector<Model> models{Model{}};
  std::vector<size_t> ends;
};

History Build(int n) {
  History h;
  PersistentStore s(h.ram, Opts());
  EXPECT_TRUE(s.open_error().empty()) << s.open_error();
  h.ends.push_back(h.ram->content(MediumFile::kJournal).size());
  Model m;
  for (int i = 1; i <= n; ++i) {
    Transaction(s, m, i);
    h.models.push_back(m);
    h.ends.push_back(h.ram->content(MediumFile::kJournal).size());
  }
  return h;
}

// A medium holding the given files (null = missing) and card.lock witness.
std::shared_ptr<RamMedium> Copy(const Bytes* image, const Bytes* journal, uint64_t acknowledged) {
  auto ram = std::make_shared<RamMedium>();
  if (image != nullptr) ram->Replace(MediumFile::kImage, *image);
  if (journal != nullptr) ram->Replace(MediumFile::kJournal, *journal);
  ram->RecordAcknowledged(acknowledged);
  return ram;
}

Model StateOf(const PersistentStore& s) {
  Model m;
  for (const std::string& k : s.Keys("")) m[k] = *s.Get(k);
  return m;
}

bool Mentions(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

// Opens on `ram` and checks the refusal: message naming `file`, no writes accepted, and the
// files untouched.
void ExpectRefused(const std::shared_ptr<RamMedium>& ram, const std::string& file) {
  const Bytes image = ram->content(MediumFile::kImage);
  const Bytes journal = ram->content(MediumFile::kJournal);
  const bool had_image = ram->exists(MediumFile::kImage);
  const bool had_journal = ram->exists(MediumFile::kJournal);
  PersistentStore s(ram, Opts());
  EXPECT_TRUE(Mentions(s.open_error(), file)) << "open error: '" << s.open_error() << "'";
  EXPECT_TRUE(s.Keys("").empty()) << "a refused card serves nothing";
  s.Begin();
  EXPECT_EQ(s.Put("x", Bytes{1}), StoreStatus::kPowerLost);
  EXPECT_EQ(s.Commit(), StoreStatus::kPowerLost);
  EXPECT_EQ(ram->exists(MediumFile::kImage), had_image);
  EXPECT_EQ(ram->exists(MediumFile::kJournal), had_journal);
  EXPECT_EQ(ram->content(MediumFile::kImage), image) << "nothing is rewritten";
  EXPECT_EQ(ram->content(MediumFile::kJournal), journal) << "nothing is rewritten";
}

TEST(Runtime_StoreDamage, BrandNewCardIsMadeImageThenJournal) {
  auto ram = std::make_shared<RamMedium>();
  auto faulty = std::make_shared<FaultInjectingMedium>(ram);
  faulty->CutPowerAfter(1);  // the image is written, the journal is not
  {
    PersistentStore s(faulty, Opts());
    EXPECT_FALSE(s.open_error().empty());
  }
  EXPECT_TRUE(ram->exists(MediumFile::kImage));
  EXPECT_FALSE(ram->exists(MediumFile::kJournal));
  // An empty image without a journal is an interrupted creation: opening finishes it.
  PersistentStore s(ram, Opts());
  EXPECT_TRUE(s.open_error().empty()) << s.open_error();
  Model m;
  Transaction(s, m, 1);
  PersistentStore r(ram, Opts());
  EXPECT_TRUE(r.open_error().empty()) << r.open_error();
  EXPECT_EQ(StateOf(r), m);
}

TEST(Runtime_StoreDamage, EveryBitFlipInACommittedJournalIsRefused) {
  const History h = Build(6);
  const Bytes image = h.ram->content(MediumFile::kImage);
  const Bytes journal = h.ram->content(MediumFile::kJournal);
  ASSERT_EQ(journal.size(), h.ends.back());
  {
    PersistentStore intact(Copy(&image, &journal, 0), Opts());
    ASSERT_TRUE(intact.open_error().empty()) << intact.open_error();
    ASSERT_EQ(StateOf(intact), h.models[6]);
  }
  for (size_t pos = 0; pos < journal.size(); ++pos) {
    for (int bit = 0; bit < 8; ++bit) {
      SCOPED_TRACE("flip bit " + std::to_string(bit) + " of journal byte " + std::to_string(pos));
      Bytes damaged = journal;
      damaged[pos] ^= static_cast<uint8_t>(1u << bit);
      // With card.lock's witness (all six acknowledged): every flip is refused.
      ExpectRefused(Copy(&image, &damaged, 6), "card.jnl");
      // Without it, the checksums alone catch every flip before the last transaction. A flip in
      // the last one looks like a write the power cut left unfinished (a transaction is one
      // append): it is dropped as never acknowledged — the documented limit without card.lock.
      if (pos < h.ends[5]) {
        ExpectRefused(Copy(&image, &damaged, 0), "card.jnl");
      } else {
        PersistentStore s(Copy(&image, &damaged, 0), Opts());
        EXPECT_TRUE(s.open_error().empty()) << s.open_error();
        EXPECT_EQ(StateOf(s), h.models[5]);
        EXPECT_TRUE(Mentions(s.open_note(), "torn last transaction")) << s.open_note();
      }
      if (::testing::Test::HasFailure()) return;
    }
  }
}

// A transaction is one append: a power cut in it can leave its whole length with blocks that
// never reached the disk (zeros), not only a file that ends early.
TEST(Runtime_StoreDamage, ACutAppendWithUnwrittenBlocksIsATornTail) {
  using Tear = FaultInjectingMedium::Tear;
  for (Tear tear : {Tear::kFirstHalf, Tear::kHoles}) {
    SCOPED_TRACE(tear == Tear::kHoles ? "middle third unwritten" : "first half written");
    History h = Build(5);
    {
      auto faulty = std::make_shared<FaultInjectingMedium>(h.ram);
      PersistentStore s(faulty, Opts());
      faulty->CutPowerAfter(0, tear);
      s.Begin();
      ASSERT_EQ(s.Put("k6", Bytes(40, 6)), StoreStatus::kOk);
      ASSERT_EQ(s.Commit(), StoreStatus::kPowerLost);
    }
    const Bytes image = h.ram->content(MediumFile::kImage);
    const Bytes journal = h.ram->content(MediumFile::kJournal);
    ASSERT_GT(journal.size(), h.ends.back()) << "part of transaction 6 is there";
    ASSERT_EQ(h.ram->acknowledged(), 5u);
    {
      auto ram = Copy(&image, &journal, 5);
      PersistentStore s(ram, Opts());
      ASSERT_TRUE(s.open_error().empty()) << s.open_error();
      EXPECT_EQ(StateOf(s), h.models[5]);
      EXPECT_TRUE(Mentions(s.open_note(), "torn last transaction")) << s.open_note();
      EXPECT_EQ(ram->content(MediumFile::kJournal), journal) << "opening writes nothing";
      s.Begin();
      ASSERT_EQ(s.Put("after", Bytes{9}), StoreStatus::kOk);
      ASSERT_EQ(s.Commit(), StoreStatus::kOk);
      PersistentStore r(ram, Opts());
      ASSERT_TRUE(r.open_error().empty()) << r.open_error();
      Model expect = h.models[5];
      expect["after"] = Bytes{9};
      EXPECT_EQ(StateOf(r), expect);
      EXPECT_TRUE(r.open_note().empty()) << "the next commit cut the torn tail";
    }
    // Had the card acknowledged transaction 6, the same bytes are damage, not a torn tail.
    ExpectRefused(Copy(&image, &journal, 6), "card.jnl");
  }
}

// Found by the store_open fuzz target (fuzz/regressions/store_open/
// new-card-image-without-journal-behind-witness): an empty image without a journal is an
// interrupted creation only for a card that never acknowledged anything.
TEST(Runtime_StoreDamage, InterruptedCreationBehindTheWitnessIsRefused) {
  auto ram = std::make_shared<RamMedium>();
  {
    auto faulty = std::make_shared<FaultInjectingMedium>(ram);
    faulty->CutPowerAfter(1);  // the image is written, the journal is not
    PersistentStore s(faulty, Opts());
  }
  ASSERT_TRUE(ram->exists(MediumFile::kImage));
  ASSERT_FALSE(ram->exists(MediumFile::kJournal));
  const Bytes image = ram->content(MediumFile::kImage);
  // card.lock says transaction 3 was acknowledged: the journal holding it is gone.
  ExpectRefused(Copy(&image, nullptr, 3), "card.jnl");
  PersistentStore fresh(Copy(&image, nullptr, 0), Opts());
  EXPECT_TRUE(fresh.open_error().empty()) << fresh.open_error();
}

TEST(Runtime_StoreDamage, EveryByteOfTheImageIsChecked) {
  auto ram = std::make_shared<RamMedium>();
  {
    PersistentStore s(ram, Opts(0));  // every commit folds into the image
    Model m;
    for (int i = 1; i <= 4; ++i) Transaction(s, m, i);
  }
  const Bytes image = ram->content(MediumFile::kImage);
  const Bytes journal = ram->content(MediumFile::kJournal);
  {
    PersistentStore intact(Copy(&image, &journal, 0), Opts());
    ASSERT_TRUE(intact.open_error().empty()) << intact.open_error();
    ASSERT_EQ(intact.Keys("").size(), 3u);  // k1, k2, k4 (k3 erased by transaction 3)
  }
  std::mt19937 rng(7);
  for (size_t pos = 0; pos < image.size(); ++pos) {
    SCOPED_TRACE("flip in image byte " + std::to_string(pos));
    Bytes damaged = image;
    damaged[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
    ExpectRefused(Copy(&damaged, &journal, 0), "card.img");
    if (::testing::Test::HasFailure()) return;
  }
}

// The journal of 5 committed transactions plus the torn first half of a sixth (a power cut in
// the middle of its entry), cut at every length.
TEST(Runtime_StoreDamage, TruncationsAtEveryLength) {
  History h = Build(5);
  {
    auto faulty = std::make_shared<FaultInjectingMedium>(h.ram);
    PersistentStore s(faulty, Opts());
    faulty->CutPowerAfter(0, /*torn=*/true);
    s.Begin();
    ASSERT_EQ(s.Put("k6", Bytes(40, 6)), StoreStatus::kOk);
    ASSERT_EQ(s.Commit(), StoreStatus::kPowerLost);
  }
  const Bytes image = h.ram->content(MediumFile::kImage);
  const Bytes journal = h.ram->content(MediumFile::kJournal);
  ASSERT_GT(journal.size(), h.ends.back()) << "the torn half of transaction 6 is there";
  const uint64_t acknowledged = h.ram->acknowledged();
  ASSERT_EQ(acknowledged, 5u);
  for (size_t len = 0; len <= journal.size(); ++len) {
    SCOPED_TRACE("journal cut to " + std::to_string(len) + " of " + std::to_string(journal.size()) +
                 " bytes");
    const Bytes cut(journal.begin(), journal.begin() + static_cast<ptrdiff_t>(len));
    // With the witness: only the torn tail may go.
    {
      auto ram = Copy(&image, &cut, acknowledged);
      if (len < h.ends.back()) {
        ExpectRefused(ram, "card.jnl");
      } else {
        PersistentStore s(ram, Opts());
        ASSERT_TRUE(s.open_error().empty()) << s.open_error();
        EXPECT_EQ(StateOf(s), h.models[5]);
        EXPECT_EQ(!s.open_note().empty(), len > h.ends.back()) << s.open_note();
        EXPECT_EQ(ram->content(MediumFile::kJournal), cut) << "opening writes nothing";
      }
    }
    // Without it (card.lock deleted): every cut inside the journal opens as the transactions
    // wholly before the cut; a cut inside the header is refused.
    {
      auto ram = Copy(&image, &cut, 0);
      if (len < h.ends[0]) {
        ExpectRefused(ram, "card.jnl");
        continue;
      }
      size_t k = 0;
      while (k + 1 < h.ends.size() && h.ends[k + 1] <= len) ++k;
      Model expect = h.models[k];
      {
        PersistentStore s(ram, Opts());
        ASSERT_TRUE(s.open_error().empty()) << s.open_error();
        EXPECT_EQ(StateOf(s), expect);
        // The next commit cuts the torn tail first; the card carries on from there.
        s.Begin();
        ASSERT_EQ(s.Put("after", Bytes{9}), StoreStatus::kOk);
        ASSERT_EQ(s.Commit(), StoreStatus::kOk);
        expect["after"] = Bytes{9};
      }
      PersistentStore r(ram, Opts());
      ASSERT_TRUE(r.open_error().empty()) << r.open_error();
      EXPECT_EQ(StateOf(r), expect);
      EXPECT_TRUE(r.open_note().empty()) << "no torn tail left behind";
    }
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(Runtime_StoreDamage, ZeroLengthAndMissingFiles) {
  const History h = Build(3);
  const Bytes image = h.ram->content(MediumFile::kImage);
  const Bytes journal = h.ram->content(MediumFile::kJournal);
  const Bytes empty;
  {
    SCOPED_TRACE("card.img empty");
    ExpectRefused(Copy(&empty, &journal, 0), "card.img");
  }
  {
    SCOPED_TRACE("card.img missing beside a journal");
    ExpectRefused(Copy(nullptr, &journal, 0), "card.img");
  }
  {
    SCOPED_TRACE("card.jnl empty");
    ExpectRefused(Copy(&image, &empty, 0), "card.jnl");
  }
  {
    SCOPED_TRACE("both empty");
    ExpectRefused(Copy(&empty, &empty, 0), "card.img");
  }
  // A journal missing beside an image that holds transactions (after a checkpoint).
  auto folded = std::make_shared<RamMedium>();
  {
    PersistentStore s(folded, Opts(0));
    Model m;
    Transaction(s, m, 1);
  }
  folded->Remove(MediumFile::kJournal);
  {
    SCOPED_TRACE("card.jnl missing beside an image with transactions");
    ExpectRefused(folded, "card.jnl");
  }
}

TEST(Runtime_StoreDamage, OlderImageOrJournalIsRefused) {
  auto ram = std::make_shared<RamMedium>();
  Bytes old_image, old_journal;
  {
    PersistentStore s(ram, Opts(200));  // a checkpoint every few transactions
    Model m;
    for (int i = 1; i <= 30; ++i) {
      Transaction(s, m, i);
      if (i == 10) {
        old_image = ram->content(MediumFile::kImage);
        old_journal = ram->content(MediumFile::kJournal);
      }
    }
    ASSERT_GE(s.stats().checkpoints, 2u);
  }
  const Bytes image = ram->content(MediumFile::kImage);
  const Bytes journal = ram->content(MediumFile::kJournal);
  ASSERT_NE(old_image, image);
  {
    SCOPED_TRACE("older card.img beside the current journal");
    ExpectRefused(Copy(&old_image, &journal, 0), "card.img is older");
  }
  {
    SCOPED_TRACE("older card.jnl beside the current image");
    ExpectRefused(Copy(&image, &old_journal, 0), "card.jnl");
  }
  {
    SCOPED_TRACE("the old pair, with the witness of the newer card");
    ExpectRefused(Copy(&old_image, &old_journal, ram->acknowledged()), "card.jnl");
  }
  // The old pair alone is a consistent card (a backup restored on purpose, card.lock deleted).
  PersistentStore s(Copy(&old_image, &old_journal, 0), Opts());
  EXPECT_TRUE(s.open_error().empty()) << s.open_error();
}

TEST(Runtime_StoreDamage, JournalOfAnotherCardIsRefused) {
  auto a = std::make_shared<RamMedium>();
  auto b = std::make_shared<RamMedium>();
  {
    PersistentStore sa(a, Opts());
    PersistentStore::Options other = Opts();
    other.capacity = 8192;
    PersistentStore sb(b, other);
  }
  const Bytes image = a->content(MediumFile::kImage);
  const Bytes journal = b->content(MediumFile::kJournal);
  ExpectRefused(Copy(&image, &journal, 0), "card.jnl was not started beside");
}

TEST(Runtime_StoreDamage, FullDiskFailsTheWriteAndKeepsTheLastCommittedState) {
  const History h = Build(3);
  using Tear = FaultInjectingMedium::Tear;
  for (Tear tear : {Tear::kNone, Tear::kFirstHalf, Tear::kHoles}) {
    SCOPED_TRACE("the transaction's append fails, leaving " +
                 std::string(tear == Tear::kNone        ? "nothing"
                             : tear == Tear::kFirstHalf ? "its first half"
                                                        : "its length with a hole"));
    auto ram = Copy(&h.ram->content(MediumFile::kImage), &h.ram->content(MediumFile::kJournal), 3);
    {
      auto faulty = std::make_shared<FaultInjectingMedium>(ram);
      PersistentStore s(faulty, Opts());
      faulty->CutPowerAfter(0, tear);
      Model m = h.models[3];
      s.Begin();
      ASSERT_EQ(s.Put("big", Bytes(100, 1)), StoreStatus::kOk);
      EXPECT_EQ(s.Commit(), StoreStatus::kPowerLost);
      EXPECT_TRUE(s.power_lost());
      EXPECT_FALSE(s.failure().empty());
    }
    PersistentStore r(ram, Opts());
    ASSERT_TRUE(r.open_error().empty()) << r.open_error();
    EXPECT_EQ(StateOf(r), h.models[3]);
  }
}

}  // namespace
}  // namespace dmcard
