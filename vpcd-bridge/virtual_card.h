// What the bridge plugs into vpcd: a card that powers on (ATR), off, resets and answers
// C-APDUs. A thin adapter over Card::Transmit, plus a do-nothing card for latency baselines.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "host/hosted_card.h"
#include "host/profile_file.h"
#include "runtime/apdu_text.h"
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
  // Before Transmit: the card's own one-line account of `command` for -v (the DM applet adds the
  // URI), and whether a trace must withhold its
  // data (PINs, keys, secret leaves).
  virtual std::string Describe(ByteView command) = 0;
  virtual bool CarriesSecrets(ByteView command) = 0;
};

// A card made from a profile (the demo profile by default) over the real runtime, with the
// host power-loss policy of HostedCard (cards/hosted_card.h): a memory failure mid-write is
// answered 6581 and the card restarts from its last committed state. Notices (what failed, what
// to do) go to standard error, prefixed with the card's slot.
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
  std::string Describe(ByteView command) override { return card().DescribeCommand(command); }
  bool CarriesSecrets(ByteView command) override { return card().CommandCarriesSecrets(command); }
  Card& card() { return card_->card(); }
  // Prefix of the notices this card prints ("card 0: ").
  void set_label(std::string label) { label_ = std::move(label); }
  // Prints what the card has to say (Transmit does it after every APDU).
  void PrintNotices();

 private:
  RuntimeCard(std::unique_ptr<HostedCard> card, std::string kind)
      : card_(std::move(card)), kind_(std::move(kind)) {}
  std::unique_ptr<HostedCard> card_;
  std::string kind_;
  std::string label_;
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
  std::string Describe(ByteView command) override { return DescribeCommand(command, true); }
  bool CarriesSecrets(ByteView command) override { return CarriesPin(command); }

 private:
  Bytes atr_;
};

}  // namespace dmcard::vicc
