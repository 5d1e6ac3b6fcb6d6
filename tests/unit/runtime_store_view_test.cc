// StoreView (runtime/store_view.h): an applet's own namespace read-write, granted namespaces
// read-only, everything else invisible and unwritable.
#include <gtest/gtest.h>

#include <string>

#include "runtime/store_view.h"

namespace dmcard {
namespace {

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

class Runtime_StoreView : public ::testing::Test {
 protected:
  void SetUp() override {
    store_.Begin();
    for (const char* k :
         {"dm/n/.", "dm/gen", "fs/F0/ef/2F00", "card/pin/01", "card/key/30-01", "dmx/lookalike"}) {
      ASSERT_EQ(store_.Put(k, B(k)), StoreStatus::kOk);
    }
  }
  PersistentStore store_{std::make_shared<RamMedium>(), PersistentStore::Options{}};
};

TEST_F(Runtime_StoreView, OwnNamespaceOnly) {
  StoreView dm(store_, "dm/");
  EXPECT_NE(dm.Get("dm/gen"), nullptr);
  EXPECT_EQ(dm.Get("fs/F0/ef/2F00"), nullptr);
  EXPECT_EQ(dm.Get("card/key/30-01"), nullptr);
  EXPECT_EQ(dm.Get("dmx/lookalike"), nullptr);  // a prefix is a whole namespace, '/' included
  EXPECT_EQ(dm.Keys(""), (std::vector<std::string>{"dm/gen", "dm/n/."}));
  EXPECT_EQ(dm.Put("dm/flags", B("x")), StoreStatus::kOk);
  for (const char* k : {"card/key/30-01", "fs/F0/ef/2F00", "dmx/new", "dm/"}) {
    EXPECT_EQ(dm.Put(k, B("evil")), StoreStatus::kOutOfScope) << k;
    EXPECT_EQ(dm.Erase(k), StoreStatus::kOutOfScope) << k;
    EXPECT_EQ(dm.Patch(k, 0, B("e")), StoreStatus::kOutOfScope) << k;
    EXPECT_EQ(dm.PutDurable(k, B("evil")), StoreStatus::kOutOfScope) << k;
  }
  EXPECT_EQ(std::string(store_.Get("card/key/30-01")->begin(), store_.Get("card/key/30-01")->end()),
            "card/key/30-01");
  EXPECT_EQ(SwFromStore(StoreStatus::kOutOfScope), Sw::kNoPreciseDiagnosis);
}

TEST_F(Runtime_StoreView, GrantIsReadOnly) {
  StoreView fs = StoreView(store_, "fs/F0/").WithGrant("dm/");
  EXPECT_NE(fs.Get("dm/n/."), nullptr);
  EXPECT_NE(fs.Get("fs/F0/ef/2F00"), nullptr);
  EXPECT_EQ(fs.Get("card/pin/01"), nullptr);
  EXPECT_EQ(fs.Put("dm/n/.", B("overwritten")), StoreStatus::kOutOfScope);
  EXPECT_EQ(fs.Erase("dm/gen"), StoreStatus::kOutOfScope);
  EXPECT_EQ(fs.Put("fs/F0/ef/2F00", B("ok")), StoreStatus::kOk);
  const StoreView reader = fs.ReadOnly();
  StoreView copy = reader;
  EXPECT_EQ(copy.Put("fs/F0/ef/2F00", B("no")), StoreStatus::kOutOfScope);
  EXPECT_NE(copy.Get("fs/F0/ef/2F00"), nullptr);
}

TEST_F(Runtime_StoreView, WholeStoreForTheRuntime) {
  StoreView all = store_;
  EXPECT_NE(all.Get("card/key/30-01"), nullptr);
  EXPECT_EQ(all.Keys("card/").size(), 2u);
  EXPECT_EQ(all.Put("anything", B("x")), StoreStatus::kOk);
}

}  // namespace
}  // namespace dmcard
