#include "host/direct_reader.h"

namespace dmcard {

std::unique_ptr<DirectReader> DirectReader::Open(std::shared_ptr<const Profile> profile,
                                                 const CardConfig& config,
                                                 const std::filesystem::path& state_dir,
                                                 std::string& error) {
  auto card = HostedCard::Open(std::move(profile), config, state_dir, error);
  if (!card) return nullptr;
  return std::unique_ptr<DirectReader>(new DirectReader(std::move(card), state_dir));
}

std::string DirectReader::name() const {
  return state_dir_.empty() ? "in-process card (in RAM)"
                            : "in-process card (state " + state_dir_.string() + ")";
}

bool DirectReader::Connect(Bytes& atr, std::string& error) {
  if (removed_) {
    error = "no card: it was removed (insert it again)";
    return false;
  }
  atr = card_->powered() ? card_->atr() : card_->PowerOn();
  return true;
}

bool DirectReader::Transmit(ByteView command, Bytes& response, std::string& error) {
  if (removed_) {
    error = "no card: it was removed (insert it again)";
    return false;
  }
  if (!card_->Transmit(command, response)) {
    error = "the card is powered off (power it on first)";
    return false;
  }
  return true;
}

bool DirectReader::Reset(Bytes& atr, std::string& error) {
  if (removed_) {
    error = "no card to reset: it was removed (insert it again)";
    return false;
  }
  atr = card_->Reset();
  return true;
}

bool DirectReader::PowerOff(std::string&) {
  card_->PowerOff();
  return true;
}

bool DirectReader::PowerOn(Bytes& atr, std::string& error) {
  if (removed_) {
    error = "no card to power on: it was removed (insert it again)";
    return false;
  }
  atr = card_->PowerOn();
  return true;
}

bool DirectReader::Remove(std::string&) {
  card_->PowerOff();
  removed_ = true;
  return true;
}

bool DirectReader::Insert(Bytes& atr, std::string&) {
  removed_ = false;
  atr = card_->PowerOn();
  return true;
}

}  // namespace dmcard
