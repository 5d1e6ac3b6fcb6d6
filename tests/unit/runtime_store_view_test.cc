// StoreView (runtime/store_view.h): an applet's own namespace read-write, granted namespaces
// read-only, everything else invisible and unwritable.
#include <gtest/gtest.h>

#include <string>

#include "runtime/store_view.h"
#include "test_applets.h"

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

TEST_F(Runtime_StoreView, MoreWritableNamespacesUpToTheLimit) {
  StoreView v = StoreView(store_, "dm/").WithWritable("card/pin/");
  EXPECT_EQ(v.Put("card/pin/01", B("x")), StoreStatus::kOk);
  EXPECT_EQ(v.Put("card/key/30-01", B("x")), StoreStatus::kOutOfScope);
  for (const char* p : {"a/", "b/", "c/"}) v = v.WithWritable(p);  // 5 in all: one too many
  EXPECT_EQ(v.Put("b/x", B("x")), StoreStatus::kOk);
  EXPECT_EQ(v.Put("c/x", B("x")), StoreStatus::kOutOfScope);
}

TEST_F(Runtime_StoreView, WholeStoreForTheRuntime) {
  StoreView all = store_;
  EXPECT_NE(all.Get("card/key/30-01"), nullptr);
  EXPECT_EQ(all.Keys("card/").size(), 2u);
  EXPECT_EQ(all.Put("anything", B("x")), StoreStatus::kOk);
}

// On a card: an applet's AppletContext::store() reaches its own records and the global PINs, not
// another applet's nor the key store's, until the card grants it read access.
class ProbeApplet final : public Applet {
 public:
  ProbeApplet() : Applet(Bytes{0xA0, 0x00, 0x00, 0x05, 0x71, 0x0E, 0x01}) {}
  const char* name() const override { return "probe"; }
  // 80 01 00 00 Lc key: read it (6A88 when the view finds nothing); 80 02: write "x" to it.
  Sw Process(AppletContext& ctx, const CommandApdu& cmd, Bytes& out) override {
    if (ctx.selecting()) return Sw::kOk;
    const std::string key(cmd.data.begin(), cmd.data.end());
    if (cmd.ins == 0x01) {
      const Bytes* v = ctx.store().Get(key);
      if (v == nullptr) return Sw::kReferenceDataNotFound;
      Append(out, *v);
      return Sw::kOk;
    }
    return SwFromStore(ctx.store().Put(key, B("x")));
  }
};

TEST(Runtime_StoreViewOnACard, AppletsSeeTheirOwnRecordsAndWhatTheyAreGranted) {
  auto card = testing::MakeTestCard();  // applets A ("a/"), A2, B
  ASSERT_EQ(card->Install(std::make_unique<ProbeApplet>()), Sw::kOk);
  card->store().Begin();
  ASSERT_EQ(card->store().Put("card/key/30/01", B("key bytes")), StoreStatus::kOk);
  ASSERT_EQ(card->store().Commit(), StoreStatus::kOk);
  ASSERT_EQ(testing::SwOf(testing::Send(*card, "00A4040007A0000005710E01")), 0x9000);
  auto send = [&](uint8_t ins, std::string_view key) {
    Bytes c = {0x80, ins, 0x00, 0x00, static_cast<uint8_t>(key.size())};
    Append(c, B(key));
    return ToHex(card->Transmit(c));
  };
  const std::string own = "app/A0000005710E01/";
  EXPECT_EQ(send(0x02, own + "r"), "9000");
  EXPECT_EQ(send(0x01, own + "r"), "789000");
  EXPECT_EQ(send(0x02, "card/pin/7F"), "9000");     // global reference data
  EXPECT_EQ(send(0x01, "card/key/30/01"), "6A88");  // the key store: never
  EXPECT_EQ(send(0x02, "card/key/30/01"), "6F00");  // out of scope: an applet bug
  EXPECT_EQ(send(0x01, "a/pin1"), "6A88");          // applet A's PIN record
  EXPECT_EQ(send(0x02, "a/0"), "6F00");
  ASSERT_TRUE(card->GrantRead(Bytes{0xA0, 0x00, 0x00, 0x05, 0x71, 0x0E, 0x01}, "a/"));
  EXPECT_NE(send(0x01, "a/pin1"), "6A88");                 // readable now
  EXPECT_EQ(send(0x02, "a/pin1"), "6F00");                 // never writable
  EXPECT_FALSE(card->GrantRead(Bytes{0xA0, 0x01}, "a/"));  // no such applet
}

}  // namespace
}  // namespace dmcard
