// A card as a host process runs it (`dmcard shell`, `dmcard-vicc`): one power-loss policy for
// every host.
//
// When the card's persistent memory fails in the middle of a write (the card "loses power": a
// full disk, a directory made read-only or deleted under it), the command is answered 6581
// (memory failure), none of its writes count, and the card is rebuilt on the same medium from
// its last committed state and powered on again, as a real card comes back after a power cycle.
// A notice says what failed and what to do. If the card cannot be rebuilt (the memory cannot be
// read back), it stays down: every command is answered 6581 and the notice says why.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cards/card_profile.h"
#include "runtime/card.h"

namespace dmcard {

class HostedCard {
 public:
  // Opens the card of `profile` on `state_dir` (RAM when empty; see MakePlatform). Null with
  // `error` set when the directory or the card's memory cannot be used.
  static std::unique_ptr<HostedCard> Open(std::shared_ptr<const Profile> profile,
                                          const CardConfig& config,
                                          const std::filesystem::path& state_dir,
                                          std::string& error);
  // The same over a given medium (tests: a fault-injecting one).
  static std::unique_ptr<HostedCard> Open(std::shared_ptr<const Profile> profile,
                                          const CardConfig& config,
                                          std::shared_ptr<StorageMedium> medium,
                                          std::string& error);

  // Processes one C-APDU into `response` (always a status word at least). False only when the
  // card is powered off; then `response` is empty.
  bool Transmit(ByteView command, Bytes& response);
  const Bytes& PowerOn();
  void PowerOff();
  const Bytes& Reset();
  const Bytes& atr() const { return card_->atr(); }
  bool powered() const { return powered_; }
  // False once the card could not be rebuilt after a memory failure.
  bool up() const { return up_; }
  Card& card() { return *card_; }

  // What the user should hear since the last call: what opening repaired, what failed, what to
  // do. One line each.
  std::vector<std::string> TakeNotices();

 private:
  HostedCard(std::shared_ptr<const Profile> profile, CardConfig config,
             std::shared_ptr<StorageMedium> medium, std::unique_ptr<Card> card)
      : profile_(std::move(profile)),
        config_(std::move(config)),
        medium_(std::move(medium)),
        card_(std::move(card)) {}
  void Restart();
  // The card of `profile` on `medium`, with a random generator seeded from the system.
  static std::unique_ptr<Card> MakeOn(const Profile& profile, const CardConfig& config,
                                      std::shared_ptr<StorageMedium> medium, std::string& error);

  std::shared_ptr<const Profile> profile_;
  CardConfig config_;
  std::shared_ptr<StorageMedium> medium_;  // kept across rebuilds (it holds the directory lock)
  std::unique_ptr<Card> card_;
  bool powered_ = false;
  bool up_ = true;
  std::vector<std::string> notices_;
};

}  // namespace dmcard
