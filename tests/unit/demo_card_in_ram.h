// The built-in demo card as most card-level tests start it: over a RAM medium, with a seeded
// random generator and a fixed clock, powered on.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "host/demo_card.h"

namespace dmcard::testing {

inline constexpr int64_t kTestClock = 1700000000;

// Null (with a test failure) when the card cannot be made.
inline std::unique_ptr<Card> DemoCardInRam(uint8_t seed_byte) {
  std::string error;
  const uint8_t seed[16] = {seed_byte};
  auto card = MakeDemoCard(DemoCardConfig(),
                           Platform{std::make_shared<RamMedium>(), crypto::Drbg::FromSeed(seed),
                                    [] { return kTestClock; }},
                           error);
  EXPECT_TRUE(card) << error;
  if (card) card->PowerOn();
  return card;
}

}  // namespace dmcard::testing
