// The card run in-process as a reader (`dmcard --direct [--state DIR]`): the same card
// dmcard-vicc puts behind PC/SC, with the same power-loss policy (host/hosted_card.h), without
// pcscd. Removal is a power-off; insertion powers the card on again.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "host/hosted_card.h"
#include "host/reader.h"

namespace dmcard {

class DirectReader final : public Reader {
 public:
  // The card of `profile` on `state_dir` (RAM when empty). Null with `error` set when the
  // directory or the card's memory cannot be used.
  static std::unique_ptr<DirectReader> Open(std::shared_ptr<const Profile> profile,
                                            const CardConfig& config,
                                            const std::filesystem::path& state_dir,
                                            std::string& error);

  std::string name() const override;
  bool Connect(Bytes& atr, std::string& error) override;
  bool Transmit(ByteView command, Bytes& response, std::string& error) override;
  bool Reset(Bytes& atr, std::string& error) override;
  bool PowerOff(std::string& error) override;
  bool PowerOn(Bytes& atr, std::string& error) override;
  bool Remove(std::string& error) override;
  bool Insert(Bytes& atr, std::string& error) override;

  HostedCard& card() { return *card_; }
  // What the card has to say since the last call (a repaired torn write, a memory failure).
  std::vector<std::string> TakeNotices() { return card_->TakeNotices(); }

 private:
  DirectReader(std::unique_ptr<HostedCard> card, std::filesystem::path state_dir)
      : card_(std::move(card)), state_dir_(std::move(state_dir)) {}

  std::unique_ptr<HostedCard> card_;
  std::filesystem::path state_dir_;
  bool removed_ = false;
};

}  // namespace dmcard
