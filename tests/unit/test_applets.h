// Test-only applets and helpers: they exercise the runtime through the same Applet interface the
// product's applets use, so no test hook lives in the runtime's dispatcher.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "runtime/card.h"
#include "runtime/pin.h"

namespace dmcard::testing {

inline Bytes H(std::string_view hex) {
  auto b = FromHex(hex);
  EXPECT_TRUE(b.has_value()) << "bad hex in test: " << hex;
  return b.value_or(Bytes{});
}

inline uint16_t SwOf(const Bytes& r) {
  return r.size() < 2 ? 0 : static_cast<uint16_t>((r[r.size() - 2] << 8) | r[r.size() - 1]);
}
inline Bytes DataOf(const Bytes& r) {
  return r.size() < 2 ? Bytes{} : Bytes(r.begin(), r.end() - 2);
}

// A scratch applet, CLA 80, with commands that touch each runtime mechanism:
//   80 10 00 00 Lc data [Le]   ECHO: returns the command data
//   80 12 P1 P2 [Le]           GENERATE: returns P1P2 bytes, byte i = i & FF
//   80 20 K  00 Lc data        WRITE: puts records "<prefix>/0".."<prefix>/K-1" = data (one APDU)
//   80 22 I  00 Le             READ: returns record I (6A83 if absent)
//   80 30 00 00 Lc data        WRITE-THEN-FAIL: puts "<prefix>/fail" then answers 6A80
//   80 40 00 00 Lc data        TRANSIENT-SET: data into a reset-cleared and a deselect-cleared
//   array 80 42 00 00 Le             TRANSIENT-GET: returns both arrays (16 + 16 bytes) 80 50 P1 P2
//   FILL: puts "<prefix>/fill" of P1P2 bytes 80 60 00 00                PROTECTED: 9000 if PIN 01
//   is verified on this channel, else 6982 80 62 00 00                WHOAMI: returns the channel's
//   principal 00 20/24/2C ..             PIN 01 (value "1234", 3 tries) with PUK (ref 81,
//   "12345678", 5)
// SELECT answers an FCI: 6F 84 <AID>.
class ScratchApplet : public Applet {
 public:
  explicit ScratchApplet(Bytes aid, bool multiselectable = true, std::string prefix = "t")
      : Applet(std::move(aid)),
        multiselectable_(multiselectable),
        prefix_(std::move(prefix)),
        pin_(prefix_ + "/pin1", 0x01, PinPolicy{3, 4, 8}),
        puk_(prefix_ + "/puk1", 0x81, PinPolicy{5, 8, 8}) {
    pins_.Add(&pin_, &puk_);
  }

  const char* name() const override { return "scratch"; }
  std::string store_namespace() const override { return prefix_ + "/"; }
  bool multiselectable() const override { return multiselectable_; }

  bool refuse_select = false;
  int selects = 0;
  int deselects = 0;
  int last_opened_from = -2;  // AppletContext::opened_from() at the last Select()
  std::string last_key;

  Sw Install(AppletContext& ctx) override {
    reset_cleared_ = ctx.transient().Allocate(ctx.applet_index(), 16, ClearOn::kReset);
    deselect_cleared_ = ctx.transient().Allocate(ctx.applet_index(), 16, ClearOn::kDeselect);
    Sw sw = pin_.Create(ctx.store(), Bytes{'1', '2', '3', '4'});
    if (sw != Sw::kOk) return sw;
    return puk_.Create(ctx.store(), Bytes{'1', '2', '3', '4', '5', '6', '7', '8'});
  }
  bool Select(AppletContext& ctx) override {
    ++selects;
    last_opened_from = ctx.opened_from();
    return !refuse_select;
  }
  void Deselect(AppletContext&) override { ++deselects; }

  Sw Process(AppletContext& ctx, const CommandApdu& cmd, Bytes& out) override {
    if (ctx.selecting()) {
      out.push_back(0x6F);
      out.push_back(static_cast<uint8_t>(2 + aid().size()));
      out.push_back(0x84);
      out.push_back(static_cast<uint8_t>(aid().size()));
      Append(out, aid());
      return Sw::kOk;
    }
    if (auto sw = pins_.Process(ctx, cmd)) return *sw;
    if (cmd.cls.interindustry) return Sw::kInsNotSupported;
    StoreView store = ctx.store();
    switch (cmd.ins) {
      case 0x10:
        Append(out, cmd.data);
        return Sw::kOk;
      case 0x12:
        for (uint32_t i = 0; i < cmd.p1p2(); ++i) out.push_back(static_cast<uint8_t>(i));
        return Sw::kOk;
      case 0x20:
        for (int i = 0; i < cmd.p1; ++i) {
          StoreStatus s = store.Put(prefix_ + "/" + std::to_string(i), cmd.data);
          if (s != StoreStatus::kOk) return SwFromStore(s);
        }
        return Sw::kOk;
      case 0x22: {
        const Bytes* v = store.Get(prefix_ + "/" + std::to_string(cmd.p1));
        if (v == nullptr) return Sw::kRecordNotFound;
        Append(out, *v);
        return Sw::kOk;
      }
      case 0x30: {
        StoreStatus s = store.Put(prefix_ + "/fail", cmd.data);
        if (s != StoreStatus::kOk) return SwFromStore(s);
        return Sw::kWrongData;
      }
      case 0x40: {
        auto a = ctx.transient().Get(reset_cleared_);
        auto b = ctx.transient().Get(deselect_cleared_);
        for (size_t i = 0; i < cmd.data.size() && i < 16; ++i) a[i] = b[i] = cmd.data[i];
        return Sw::kOk;
      }
      case 0x42: {
        auto a = ctx.transient().Get(reset_cleared_);
        auto b = ctx.transient().Get(deselect_cleared_);
        out.insert(out.end(), a.begin(), a.end());
        out.insert(out.end(), b.begin(), b.end());
        return Sw::kOk;
      }
      case 0x50:
        return SwFromStore(store.Put(prefix_ + "/fill", Bytes(cmd.p1p2(), 0xA5)));
      case 0x60:
        return ctx.security()->pin_verified(0x01) ? Sw::kOk : Sw::kSecurityStatusNotSatisfied;
      case 0x62:
        out.insert(out.end(), ctx.security()->principal.begin(), ctx.security()->principal.end());
        return Sw::kOk;
      default:
        return Sw::kInsNotSupported;
    }
  }

 private:
  bool multiselectable_;
  std::string prefix_;
  Pin pin_;
  Pin puk_;
  PinCommands pins_;
  TransientMemory::Handle reset_cleared_ = 0;
  TransientMemory::Handle deselect_cleared_ = 0;
};

// AIDs used across runtime tests. kAidA and kAidA2 share the 6-byte prefix A0 00 00 05 71 01.
inline const Bytes kAidA = {0xA0, 0x00, 0x00, 0x05, 0x71, 0x01, 0x01};
inline const Bytes kAidA2 = {0xA0, 0x00, 0x00, 0x05, 0x71, 0x01, 0x02};
inline const Bytes kAidB = {0xA0, 0x00, 0x00, 0x05, 0x71, 0x02, 0x01};

struct TestCardOptions {
  CardConfig config;
  std::shared_ptr<StorageMedium> medium;
  bool multiselectable = true;
};

// A powered card with applets A (default), A2 and B installed.
inline std::unique_ptr<Card> MakeTestCard(TestCardOptions opts = {}) {
  if (!opts.medium) opts.medium = std::make_shared<RamMedium>();
  if (opts.config.default_applet.empty()) opts.config.default_applet = kAidA;
  const uint8_t seed[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  auto card =
      std::make_unique<Card>(opts.config, Platform{opts.medium, crypto::Drbg::FromSeed(seed)});
  EXPECT_EQ(card->Install(std::make_unique<ScratchApplet>(kAidA, opts.multiselectable, "a")),
            Sw::kOk);
  EXPECT_EQ(card->Install(std::make_unique<ScratchApplet>(kAidA2, opts.multiselectable, "a2")),
            Sw::kOk);
  EXPECT_EQ(card->Install(std::make_unique<ScratchApplet>(kAidB, opts.multiselectable, "b")),
            Sw::kOk);
  card->PowerOn();
  return card;
}

inline ScratchApplet& AppletAt(Card& card, size_t index) {
  return static_cast<ScratchApplet&>(card.applet(index));
}

// Sends hex, returns the R-APDU.
inline Bytes Send(Card& card, std::string_view hex) { return card.Transmit(H(hex)); }

}  // namespace dmcard::testing
