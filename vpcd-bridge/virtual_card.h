// What the bridge plugs into vpcd: a card that powers on (ATR), off, resets and answers
// C-APDUs. A thin adapter over Card::Transmit, plus a do-nothing card for latency baselines.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "cards/profile.h"
#include "runtime/card.h"

namespace dmcard::vicc {

class VirtualCard {
 public:
  virtual ~VirtualCard() = default;
  virtual const char* kind() const = 0;
  virtual const Bytes& PowerOn() = 0;  // cold reset; answers the ATR
  virtual void PowerOff() = 0;
  virtual const Bytes& Reset() = 0;  // warm reset; answers the ATR
  virtual const Bytes& atr() const = 0;
  // Always produces an R-APDU (at least a status word).
  virtual void Transmit(ByteView command, Bytes& response) = 0;
};

// A card made from a profile (the demo profile by default) over the real runtime. If its persistent
// memory fails mid-write (the card "loses power"), it is rebuilt from the medium — the last
// committed state — and the APDU is answered 6581.
class RuntimeCard final : public VirtualCard {
 public:
  // Null with `error` set when the state directory or the card image cannot be used.
  // `profile` is shared by the cards made from it (a profile holds the whole initial tree).
  static std::unique_ptr<RuntimeCard> Open(std::shared_ptr<const Profile> profile,
                                           const CardConfig& config,
                                           const std::filesystem::path& state_dir,
                                           std::string& error);
  const char* kind() const override { return kind_.c_str(); }
  const Bytes& PowerOn() override { return card_->PowerOn(); }
  void PowerOff() override { card_->PowerOff(); }
  const Bytes& Reset() override { return card_->Reset(); }
  const Bytes& atr() const override { return card_->atr(); }
  void Transmit(ByteView command, Bytes& response) override;
  Card& card() { return *card_; }

 private:
  RuntimeCard(std::shared_ptr<const Profile> profile, CardConfig config, std::filesystem::path dir,
              std::unique_ptr<Card> card, std::string kind)
      : profile_(std::move(profile)),
        config_(std::move(config)),
        dir_(std::move(dir)),
        card_(std::move(card)),
        kind_(std::move(kind)) {}
  std::shared_ptr<const Profile> profile_;
  CardConfig config_;
  std::filesystem::path dir_;
  std::unique_ptr<Card> card_;
  std::string kind_;
};

// Answers 9000 to every command: the baseline for transport latency.
class NullCard final : public VirtualCard {
 public:
  explicit NullCard(Bytes atr) : atr_(std::move(atr)) {}
  const char* kind() const override { return "null"; }
  const Bytes& PowerOn() override { return atr_; }
  void PowerOff() override {}
  const Bytes& Reset() override { return atr_; }
  const Bytes& atr() const override { return atr_; }
  void Transmit(ByteView, Bytes& response) override { response.assign({0x90, 0x00}); }

 private:
  Bytes atr_;
};

}  // namespace dmcard::vicc
