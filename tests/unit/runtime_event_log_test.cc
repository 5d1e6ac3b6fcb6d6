// The card's event log (runtime/event_log.h): a cyclic log whose counters only grow, whose
// entries about refusals survive the refusal, and whose entries about changes go with the change.
#include <gtest/gtest.h>

#include <string>

#include "runtime/event_log.h"
#include "runtime/persistent_store.h"
#include "runtime/storage_medium.h"

namespace dmcard {
namespace {

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

class Runtime_EventLog : public ::testing::Test {
 protected:
  std::shared_ptr<RamMedium> medium_ = std::make_shared<RamMedium>();
  PersistentStore store_{medium_, {}};
  EventLog log_{store_};

  void AppendCommitted(EventKind kind, std::string_view principal, std::string_view detail,
                       int64_t now) {
    store_.Begin();
    ASSERT_EQ(log_.Append(kind, 0x42, principal, B(detail), now, false), StoreStatus::kOk);
    ASSERT_EQ(store_.Commit(), StoreStatus::kOk);
  }
};

TEST_F(Runtime_EventLog, EntriesReadBackInOrderWithEveryField) {
  EXPECT_EQ(log_.next_counter(), 0u);
  AppendCommitted(EventKind::kMoChanged, "dms.example.test", "value ./DMAcc/A/Name", 1700000000);
  AppendCommitted(EventKind::kPinBlocked, "@device", "\x01", -5);
  const std::vector<Event> all = log_.Read(0, 100);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].counter, 0u);
  EXPECT_EQ(all[0].time, 1700000000);
  EXPECT_EQ(all[0].kind, EventKind::kMoChanged);
  EXPECT_EQ(all[0].reason, 0x42);
  EXPECT_EQ(all[0].principal, "dms.example.test");
  EXPECT_EQ(all[0].detail, B("value ./DMAcc/A/Name"));
  EXPECT_EQ(all[1].counter, 1u);
  EXPECT_EQ(all[1].time, -5);
  EXPECT_EQ(all[1].kind, EventKind::kPinBlocked);
  EXPECT_EQ(log_.Read(1, 100).size(), 1u);
  EXPECT_EQ(log_.Read(0, 1).size(), 1u);
  EXPECT_EQ(log_.next_counter(), 2u);
  // After power-up, from the medium.
  PersistentStore reopened(medium_, {});
  EXPECT_EQ(EventLog(reopened).Read(0, 100).size(), 2u);
}

TEST_F(Runtime_EventLog, TheOldestEntriesAreOverwrittenAndCountersNeverRestart) {
  const uint32_t total = EventLog::kCapacity + 5;
  for (uint32_t i = 0; i < total; ++i) {
    AppendCommitted(EventKind::kMoChanged, "@user", "entry " + std::to_string(i), i);
  }
  const std::vector<Event> all = log_.Read(0, 1000);
  ASSERT_EQ(all.size(), EventLog::kCapacity);
  EXPECT_EQ(all.front().counter, 5u);
  EXPECT_EQ(all.front().detail, B("entry 5"));
  EXPECT_EQ(all.back().counter, total - 1);
  EXPECT_EQ(log_.next_counter(), total);
  EXPECT_EQ(store_.Keys("card/log/").size(), EventLog::kCapacity + 1);  // slots + head
}

TEST_F(Runtime_EventLog, DurableEntriesSurviveTheCommandsRollbackOthersDoNot) {
  store_.Begin();
  ASSERT_EQ(log_.Append(EventKind::kMoChanged, 0, "@user", B("./A"), 1, false), StoreStatus::kOk);
  store_.Abort();  // the change was refused: its entry goes with it
  EXPECT_TRUE(log_.Read(0, 10).empty());
  store_.Begin();
  ASSERT_EQ(log_.Append(EventKind::kAuthenticationFailed, 0x00, "dms", Bytes{0x31}, 2, true),
            StoreStatus::kOk);
  store_.Abort();  // the command is refused; the failure stays on record
  const std::vector<Event> all = log_.Read(0, 10);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].kind, EventKind::kAuthenticationFailed);
  PersistentStore reopened(medium_, {});
  EXPECT_EQ(EventLog(reopened).Read(0, 10).size(), 1u);
}

TEST_F(Runtime_EventLog, LongPrincipalsAndDetailsAreCut) {
  AppendCommitted(EventKind::kMoChanged, std::string(300, 's'), std::string(300, 'd'), 0);
  const std::vector<Event> all = log_.Read(0, 10);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].principal, std::string(EventLog::kMaxPrincipal, 's'));
  EXPECT_EQ(all[0].detail, B(std::string(EventLog::kMaxDetail, 'd')));
}

TEST_F(Runtime_EventLog, DamagedSlotsAreSkipped) {
  AppendCommitted(EventKind::kMoChanged, "@user", "a", 0);
  AppendCommitted(EventKind::kMoChanged, "@user", "b", 0);
  store_.Begin();
  ASSERT_EQ(store_.Put("card/log/00", Bytes{0x01, 0x02}), StoreStatus::kOk);
  ASSERT_EQ(store_.Commit(), StoreStatus::kOk);
  const std::vector<Event> all = log_.Read(0, 10);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].detail, B("b"));
}

// A power cut at every write of a durable entry: afterwards the log holds the entry whole or not
// at all, and the next counter is never lower than a counter the log shows.
TEST(Runtime_EventLogTear, PowerCutAtEveryWriteOfADurableEntry) {
  bool finished = false;
  for (uint64_t cut = 0; !finished && cut < 20; ++cut) {
    for (bool torn : {false, true}) {
      auto ram = std::make_shared<RamMedium>();
      auto faulty = std::make_shared<FaultInjectingMedium>(ram);
      {
        PersistentStore store(faulty, {});
        EventLog log(store);
        store.Begin();
        ASSERT_EQ(log.Append(EventKind::kMoChanged, 0, "@user", B("first"), 1, false),
                  StoreStatus::kOk);
        ASSERT_EQ(store.Commit(), StoreStatus::kOk);
        faulty->CutPowerAfter(cut, torn);
        store.Begin();
        const StoreStatus s = log.Append(EventKind::kPinBlocked, 1, "@device", B("x"), 2, true);
        if (!faulty->power_cut()) {
          ASSERT_EQ(s, StoreStatus::kOk);
          finished = true;
        }
      }
      PersistentStore reopened(ram, {});
      ASSERT_TRUE(reopened.open_error().empty()) << reopened.open_error();
      EventLog log(reopened);
      const std::vector<Event> all = log.Read(0, 10);
      ASSERT_GE(all.size(), 1u) << "cut " << cut;
      EXPECT_EQ(all[0].detail, B("first"));
      if (all.size() == 2) {
        EXPECT_EQ(all[1].kind, EventKind::kPinBlocked);
        EXPECT_EQ(all[1].detail, B("x"));
      }
      EXPECT_GE(log.next_counter(), all.back().counter + 1);
      if (finished) {
        EXPECT_EQ(all.size(), 2u);
      }
    }
  }
  EXPECT_TRUE(finished);
}

}  // namespace
}  // namespace dmcard
