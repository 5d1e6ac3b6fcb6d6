// Bad input never crashes the card and always gets a status word: deterministic pseudo-random
// APDUs (seeded, so a failure reproduces) against the demo card, with INS values biased toward
// the commands the card implements, on several channels. Run under ASan+UBSan in CI.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "host/demo_card.h"
#include "test_applets.h"

namespace dmcard {
namespace {

using testing::SwOf;

bool PlausibleSw(uint16_t sw) {
  const uint8_t sw1 = static_cast<uint8_t>(sw >> 8);
  return sw == 0x9000 || (sw1 >= 0x61 && sw1 <= 0x6F);
}

TEST(Robustness, RandomApdusAlwaysGetAStatusWord) {
  std::string error;
  const uint8_t seed_bytes[16] = {5};
  auto card =
      MakeDemoCard(DemoCardConfig(),
                   Platform{std::make_shared<RamMedium>(), crypto::Drbg::FromSeed(seed_bytes),
                            [] { return int64_t{1700000000}; }},
                   error);
  ASSERT_TRUE(card) << error;
  card->PowerOn();
  std::mt19937 rng(20261122);  // fixed: the same sequence every run
  const uint8_t kIns[] = {0xA4, 0xB0, 0xD6, 0xB2, 0xDC, 0x20, 0x24, 0x2C, 0x70, 0xC0, 0xCA,
                          0xDA, 0xE2, 0x30, 0x32, 0x34, 0x36, 0x38, 0x3A, 0x00, 0xFF};
  const uint8_t kCla[] = {0x00, 0x01, 0x10, 0x40, 0x4F, 0x80, 0x81, 0x90, 0xC0, 0x84, 0xFF, 0x20};
  const Bytes select_dm = *FromHex("00A4040C0AF0444D434152442D444D");
  size_t answered = 0;
  std::set<uint16_t> seen;
  for (int i = 0; i < 20000; ++i) {
    Bytes apdu;
    const int shape = static_cast<int>(rng() % 5);
    if (shape == 4) {  // a DM tree command on a real (or almost real) URI
      static const char* const kUris[] = {"./DMAcc",
                                          "./DevInfo/Man",
                                          "./Nope",
                                          "./DMAcc/DMCardTest/AppAuth/SrvCred/AAuthSecret",
                                          "./Vendor/dmcard/UserPrefs/Lang",
                                          ".",
                                          "./DevInfo/"};
      std::string uri = kUris[rng() % std::size(kUris)];
      if (rng() % 4 == 0) uri[rng() % uri.size()] = static_cast<char>(rng() % 96 + 32);
      apdu = {0x80, static_cast<uint8_t>(0x30 + 2 * (rng() % 6)), static_cast<uint8_t>(rng() % 4),
              static_cast<uint8_t>(rng() % 9), static_cast<uint8_t>(uri.size())};
      apdu.insert(apdu.end(), uri.begin(), uri.end());
      apdu.push_back(0x00);
    } else if (shape == 0) {  // any bytes at all
      apdu.resize(rng() % 40);
      for (auto& b : apdu) b = static_cast<uint8_t>(rng());
    } else {  // a header the card knows, with random parameters and a random body
      apdu = {kCla[rng() % sizeof kCla], kIns[rng() % sizeof kIns], static_cast<uint8_t>(rng()),
              static_cast<uint8_t>(rng())};
      const size_t body = shape == 1 ? 0 : rng() % (shape == 2 ? 12 : 300);
      if (body > 0) {
        apdu.push_back(static_cast<uint8_t>(body > 255 ? 0 : body));
        if (body > 255) {
          apdu.push_back(static_cast<uint8_t>(body >> 8));
          apdu.push_back(static_cast<uint8_t>(body));
        }
        for (size_t k = 0; k < body; ++k) apdu.push_back(static_cast<uint8_t>(rng() % 96 + 32));
      }
      if (rng() % 2) apdu.push_back(static_cast<uint8_t>(rng()));  // sometimes a Le
    }
    Bytes r;
    ASSERT_TRUE(card->Transmit(apdu, r)) << "no answer to " << ToHex(apdu);
    ASSERT_GE(r.size(), 2u) << ToHex(apdu);
    ASSERT_TRUE(PlausibleSw(SwOf(r))) << ToHex(apdu) << " -> " << ToHex(r);
    ++answered;
    seen.insert(SwOf(r));
    if (i % 500 == 0) {
      card->Reset();  // start the next stretch from a known state, DM applet selected
      ASSERT_EQ(SwOf(card->Transmit(select_dm)), 0x9000);
    }
  }
  EXPECT_EQ(answered, 20000u);
  // The inputs reached the commands, not just the parser: many different answers, successes too.
  EXPECT_GE(seen.size(), 12u);
  EXPECT_TRUE(seen.contains(0x9000));
  EXPECT_TRUE(seen.contains(0x6982)) << "some reached an access check";
  EXPECT_TRUE(seen.contains(0x6A82)) << "some reached a lookup";
  // Still a working card afterwards.
  card->Reset();
  EXPECT_EQ(SwOf(card->Transmit(*FromHex("00A4040C09F0444D434152444653"))), 0x9000);
  EXPECT_EQ(SwOf(card->Transmit(select_dm)), 0x9000);
}

}  // namespace
}  // namespace dmcard
