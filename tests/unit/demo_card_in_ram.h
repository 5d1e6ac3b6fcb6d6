// The built-in demo card as most card-level tests start it: over a RAM medium, with a seeded
// random generator and a fixed clock, powered on; the same for a card of any profile, and how a
// test reads a file of its PKCS#15 application.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "host/demo_card.h"

namespace dmcard::testing {

inline constexpr int64_t kTestClock = 1700000000;

// A card of `profile` (with `config`, e.g. DemoCardConfig() or CardConfigFor(profile)): over a
// RAM medium, random generator seeded with `seed_byte`, fixed clock, powered on. Null (with a
// test failure) when it cannot be made.
inline std::unique_ptr<Card> ProfileCardInRam(const Profile& profile, const CardConfig& config,
                                              uint8_t seed_byte) {
  std::string error;
  const uint8_t seed[16] = {seed_byte};
  auto card = MakeCard(profile, config,
                       Platform{std::make_shared<RamMedium>(), crypto::Drbg::FromSeed(seed),
                                [] { return kTestClock; }},
                       error);
  EXPECT_TRUE(card) << error;
  if (card) card->PowerOn();
  return card;
}

// The built-in demo card, made so.
inline std::unique_ptr<Card> DemoCardInRam(uint8_t seed_byte) {
  return ProfileCardInRam(DemoProfile(), DemoCardConfig(), seed_byte);
}

// A transparent EF under the PKCS#15 application (DF 5015), read on the basic channel: SELECT by
// path from the MF with an FCP (62 L 80 02 <size> ...), then READ BINARY with an extended Le of
// exactly the FCP's size, which must answer 9000. nullopt when SELECT does not answer 9000.
inline std::optional<Bytes> ReadPkcs15Ef(Card& card, uint16_t fid) {
  const Bytes fcp =
      card.Transmit(Bytes{0x00, 0xA4, 0x08, 0x04, 0x04, 0x50, 0x15, static_cast<uint8_t>(fid >> 8),
                          static_cast<uint8_t>(fid), 0x00});
  if (fcp.size() < 2 || fcp[fcp.size() - 2] != 0x90 || fcp.back() != 0x00) return std::nullopt;
  EXPECT_EQ(fcp.at(2), 0x80) << ToHex(fcp);
  const size_t size = static_cast<size_t>((fcp.at(4) << 8) | fcp.at(5));
  const Bytes r = card.Transmit(Bytes{0x00, 0xB0, 0x00, 0x00, 0x00, static_cast<uint8_t>(size >> 8),
                                      static_cast<uint8_t>(size)});
  EXPECT_EQ(ToHex(Bytes(r.end() - std::min<size_t>(2, r.size()), r.end())), "9000") << ToHex(r);
  return Bytes(r.begin(), r.end() - std::min<size_t>(2, r.size()));
}

}  // namespace dmcard::testing
