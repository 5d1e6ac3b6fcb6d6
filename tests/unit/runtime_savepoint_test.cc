// Savepoints and durable-even-if-refused writes of the persistent store (issue 9 item 2):
// nested rollback inside a transaction, and PutDurable — the write a failure counter or a
// sequence number needs, which stays when the command is then refused and survives a power cut
// at any write as all-old or all-new.
#include <gtest/gtest.h>

#include <string>

#include "runtime/persistent_store.h"
#include "test_applets.h"

namespace dmcard {
namespace {

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

std::string Value(const PersistentStore& s, std::string_view key) {
  const Bytes* v = s.Get(key);
  return v == nullptr ? "<none>" : std::string(v->begin(), v->end());
}

PersistentStore::Options SmallOptions(uint32_t capacity = 1024) {
  PersistentStore::Options o;
  o.capacity = capacity;
  return o;
}

TEST(Runtime_Savepoint, RollbackUndoesWritesSinceTheSavepoint) {
  PersistentStore s(std::make_shared<RamMedium>(), SmallOptions());
  s.Begin();
  ASSERT_EQ(s.Put("a", B("1")), StoreStatus::kOk);
  const uint32_t used_after_a = s.stats().used;
  const auto sp = s.Savepoint();
  ASSERT_EQ(s.Put("b", B("2")), StoreStatus::kOk);
  ASSERT_EQ(s.Put("a", B("one")), StoreStatus::kOk);
  ASSERT_EQ(s.Erase("a"), StoreStatus::kOk);
  s.RollbackTo(sp);
  EXPECT_EQ(Value(s, "a"), "1");
  EXPECT_EQ(Value(s, "b"), "<none>");
  EXPECT_EQ(s.stats().used, used_after_a);  // the memory the undone writes took is back
  ASSERT_EQ(s.Put("c", B("3")), StoreStatus::kOk);
  ASSERT_EQ(s.Commit(), StoreStatus::kOk);
  EXPECT_EQ(Value(s, "a"), "1");
  EXPECT_EQ(Value(s, "b"), "<none>");
  EXPECT_EQ(Value(s, "c"), "3");
  // What was committed is exactly what a fresh open reads.
  EXPECT_EQ(s.Keys(""), (std::vector<std::string>{"a", "c"}));
}

TEST(Runtime_Savepoint, SavepointsNest) {
  PersistentStore s(std::make_shared<RamMedium>(), SmallOptions());
  s.Begin();
  const auto outer = s.Savepoint();
  ASSERT_EQ(s.Put("x", B("outer")), StoreStatus::kOk);
  const auto inner = s.Savepoint();
  ASSERT_EQ(s.Put("y", B("inner")), StoreStatus::kOk);
  s.RollbackTo(inner);  // only y goes
  EXPECT_EQ(Value(s, "x"), "outer");
  EXPECT_EQ(Value(s, "y"), "<none>");
  ASSERT_EQ(s.Put("y", B("again")), StoreStatus::kOk);
  s.RollbackTo(outer);  // both go; `inner` is forgotten
  EXPECT_EQ(Value(s, "x"), "<none>");
  EXPECT_EQ(Value(s, "y"), "<none>");
  ASSERT_EQ(s.Put("z", B("z")), StoreStatus::kOk);
  s.RollbackTo(inner);  // unknown now: nothing happens
  EXPECT_EQ(Value(s, "z"), "z");
  s.RollbackTo(outer);  // still usable
  EXPECT_EQ(Value(s, "z"), "<none>");
  ASSERT_EQ(s.Commit(), StoreStatus::kOk);
  EXPECT_TRUE(s.Keys("").empty());
  EXPECT_EQ(s.stats().commits, 0u);  // nothing left to write
}

// What the DM tree needs instead of pre-computing room: try, and roll back when full.
// A released savepoint keeps its writes in the enclosing scope: the savepoint taken before it
// still undoes them, and the writes made before the release are not undone by the release.
TEST(Runtime_Savepoint, ReleasedScopeStaysUndoableByTheEnclosingOne) {
  PersistentStore s(std::make_shared<RamMedium>(), SmallOptions());
  s.Begin();
  ASSERT_EQ(s.Put("a", B("1")), StoreStatus::kOk);
  const auto outer = s.Savepoint();
  ASSERT_EQ(s.Put("a", B("2")), StoreStatus::kOk);
  const auto inner = s.Savepoint();
  ASSERT_EQ(s.Put("a", B("3")), StoreStatus::kOk);
  ASSERT_EQ(s.Put("b", B("new")), StoreStatus::kOk);
  s.Release(inner);
  EXPECT_EQ(Value(s, "a"), "3");
  EXPECT_EQ(Value(s, "b"), "new");
  // Many released scopes, as a tree import makes: still one undo log, the outer one's.
  for (int i = 0; i < 1000; ++i) {
    const auto sp = s.Savepoint();
    ASSERT_EQ(s.Put("k" + std::to_string(i % 7), B("v")), StoreStatus::kOk);
    s.Release(sp);
  }
  EXPECT_EQ(s.Savepoint(), outer + 1);  // no scope left behind
  s.RollbackTo(outer);                  // back to before a = 2
  EXPECT_EQ(Value(s, "a"), "1");
  EXPECT_EQ(Value(s, "b"), "<none>");
  EXPECT_EQ(Value(s, "k0"), "<none>");
  ASSERT_EQ(s.Commit(), StoreStatus::kOk);
  EXPECT_EQ(s.Keys(""), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Value(s, "a"), "1");
}

TEST(Runtime_Savepoint, RollbackAfterAFullStoreLeavesRoomForWhatFits) {
  PersistentStore s(std::make_shared<RamMedium>(), SmallOptions(256));
  s.Begin();
  const auto sp = s.Savepoint();
  ASSERT_EQ(s.Put("big1", Bytes(100, 1)), StoreStatus::kOk);
  EXPECT_EQ(s.Put("big2", Bytes(200, 2)), StoreStatus::kFull);
  s.RollbackTo(sp);
  EXPECT_EQ(s.Put("big2", Bytes(200, 2)), StoreStatus::kOk);  // fits once big1 is undone
  ASSERT_EQ(s.Commit(), StoreStatus::kOk);
  EXPECT_EQ(s.Keys(""), (std::vector<std::string>{"big2"}));
}

TEST(Runtime_DurableWrite, StaysWhenTheTransactionIsAborted) {
  auto ram = std::make_shared<RamMedium>();
  {
    PersistentStore s(ram, SmallOptions());
    s.Begin();
    ASSERT_EQ(s.Put("counter", B("5")), StoreStatus::kOk);
    ASSERT_EQ(s.Commit(), StoreStatus::kOk);

    s.Begin();
    ASSERT_EQ(s.Put("data", B("pending")), StoreStatus::kOk);
    ASSERT_EQ(s.Put("counter", B("earlier, superseded")), StoreStatus::kOk);
    const auto sp = s.Savepoint();
    ASSERT_EQ(s.PutDurable("counter", B("4")), StoreStatus::kOk);
    EXPECT_EQ(Value(s, "counter"), "4");
    EXPECT_EQ(Value(s, "data"), "pending");  // the rest of the transaction is still open
    s.RollbackTo(sp);                        // no savepoint undoes a durable write
    EXPECT_EQ(Value(s, "counter"), "4");
    EXPECT_EQ(Value(s, "data"), "pending");
    s.Abort();  // the command is refused
    EXPECT_EQ(Value(s, "counter"), "4");
    EXPECT_EQ(Value(s, "data"), "<none>");
  }
  PersistentStore reopened(ram, SmallOptions());
  ASSERT_EQ(reopened.open_error(), "");
  EXPECT_EQ(Value(reopened, "counter"), "4");
  EXPECT_EQ(Value(reopened, "data"), "<none>");
}

TEST(Runtime_DurableWrite, SupersedesTheRecordsEarlierWritesAtCommit) {
  PersistentStore s(std::make_shared<RamMedium>(), SmallOptions());
  s.Begin();
  ASSERT_EQ(s.Put("seq", B("old pending")), StoreStatus::kOk);
  ASSERT_EQ(s.PutDurable("seq", B("7")), StoreStatus::kOk);
  ASSERT_EQ(s.Put("other", B("x")), StoreStatus::kOk);
  ASSERT_EQ(s.Commit(), StoreStatus::kOk);
  EXPECT_EQ(Value(s, "seq"), "7");  // not the earlier pending write replayed over it
  EXPECT_EQ(Value(s, "other"), "x");
  EXPECT_EQ(s.PutDurable("seq", B("8")), StoreStatus::kNoTransaction);
}

// A durable write between a savepoint and its rollback: the rollback undoes the other writes
// made since the savepoint, keeps the durable value, and the commit never replays the record's
// earlier pending write (made before the savepoint) over it.
TEST(Runtime_DurableWrite, RollbackAroundItKeepsItAndTheRestConsistent) {
  PersistentStore s(std::make_shared<RamMedium>(), SmallOptions());
  s.Begin();
  ASSERT_EQ(s.Put("seq", B("old pending")), StoreStatus::kOk);
  ASSERT_EQ(s.Put("keep", B("before")), StoreStatus::kOk);
  const auto sp = s.Savepoint();
  ASSERT_EQ(s.Put("gone", B("after")), StoreStatus::kOk);
  ASSERT_EQ(s.Put("keep", B("changed")), StoreStatus::kOk);
  ASSERT_EQ(s.PutDurable("seq", B("9")), StoreStatus::kOk);
  s.RollbackTo(sp);
  EXPECT_EQ(Value(s, "seq"), "9");
  EXPECT_EQ(Value(s, "keep"), "before");
  EXPECT_EQ(Value(s, "gone"), "<none>");
  ASSERT_EQ(s.Commit(), StoreStatus::kOk);
  EXPECT_EQ(Value(s, "seq"), "9");
  EXPECT_EQ(Value(s, "keep"), "before");
  EXPECT_EQ(s.Keys(""), (std::vector<std::string>{"keep", "seq"}));
}

TEST(Runtime_DurableWrite, RefusedWhenItWouldNotLeaveRoomForThePendingWrites) {
  PersistentStore s(std::make_shared<RamMedium>(), SmallOptions(256));
  s.Begin();
  ASSERT_EQ(s.Put("pending", Bytes(150, 1)), StoreStatus::kOk);
  EXPECT_EQ(s.PutDurable("counter", Bytes(150, 2)), StoreStatus::kFull);
  EXPECT_EQ(Value(s, "counter"), "<none>");
  ASSERT_EQ(s.Commit(), StoreStatus::kOk);
}

// A power cut at every physical write of a transaction that holds a durable write: the reopened
// store has the durable value old or new, the other writes of the transaction all or none, and
// never the durable value missing while the transaction's writes are there.
TEST(Runtime_DurableWrite, PowerCutAtEveryWriteIsAllOldOrAllNew) {
  for (uint64_t cut = 0; cut < 8; ++cut) {
    SCOPED_TRACE("power cut after " + std::to_string(cut) + " writes");
    auto ram = std::make_shared<RamMedium>();
    auto faulty = std::make_shared<FaultInjectingMedium>(ram);
    {
      PersistentStore s(faulty, SmallOptions());
      s.Begin();
      ASSERT_EQ(s.Put("counter", B("3")), StoreStatus::kOk);
      ASSERT_EQ(s.Commit(), StoreStatus::kOk);
      faulty->CutPowerAfter(cut);
      s.Begin();
      (void)s.Put("data", B("new"));
      (void)s.PutDurable("counter", B("2"));
      (void)s.Put("more", B("new"));
      (void)s.Commit();
    }
    PersistentStore reopened(ram, SmallOptions());
    ASSERT_EQ(reopened.open_error(), "");
    const std::string counter = Value(reopened, "counter");
    EXPECT_TRUE(counter == "3" || counter == "2") << counter;
    const std::string data = Value(reopened, "data");
    EXPECT_EQ(data, Value(reopened, "more"));  // the transaction: all or nothing
    if (data == "new") {
      EXPECT_EQ(counter, "2");  // its durable write came first
    }
    if (cut >= 4) {
      EXPECT_EQ(data, "new");  // 2 writes each: all done
    }
  }
}

}  // namespace
}  // namespace dmcard
