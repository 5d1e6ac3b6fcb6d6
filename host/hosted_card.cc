#include "host/hosted_card.h"

#include "cards/make_card.h"
#include "host/platform.h"
#include "runtime/store_status.h"

namespace dmcard {

std::unique_ptr<HostedCard> HostedCard::Open(std::shared_ptr<const Profile> profile,
                                             const CardConfig& config,
                                             const std::filesystem::path& state_dir,
                                             std::string& error) {
  auto platform = MakePlatform(state_dir, error);
  if (!platform) return nullptr;
  return Open(std::move(profile), config, platform->medium, error);
}

std::unique_ptr<HostedCard> HostedCard::Open(std::shared_ptr<const Profile> profile,
                                             const CardConfig& config,
                                             std::shared_ptr<StorageMedium> medium,
                                             std::string& error) {
  auto card = MakeOn(*profile, config, medium, error);
  if (!card) return nullptr;
  std::string note = card->store().open_note();
  std::unique_ptr<HostedCard> hosted(
      new HostedCard(std::move(profile), config, std::move(medium), std::move(card)));
  if (!note.empty()) hosted->notices_.push_back(std::move(note));
  return hosted;
}

std::unique_ptr<Card> HostedCard::MakeOn(const Profile& profile, const CardConfig& config,
                                         std::shared_ptr<StorageMedium> medium,
                                         std::string& error) {
  auto rng = crypto::Drbg::FromSystem();
  if (!rng) {
    error = "cannot seed the random generator from the operating system";
    return nullptr;
  }
  return MakeCard(profile, config, Platform{std::move(medium), std::move(rng), nullptr}, error);
}

const Bytes& HostedCard::PowerOn() {
  powered_ = true;
  return card_->PowerOn();
}

void HostedCard::PowerOff() {
  powered_ = false;
  card_->PowerOff();
}

const Bytes& HostedCard::Reset() {
  powered_ = true;
  return card_->Reset();
}

bool HostedCard::Transmit(ByteView command, Bytes& response) {
  response.clear();
  if (!powered_) return false;
  if (up_ && card_->Transmit(command, response)) return true;
  // The card lost power in the middle of a write (or could not come back after one): the
  // runtime's one mapping of a power loss, 6581 memory failure.
  AppendU16(response, ToU16(SwFromStore(StoreStatus::kPowerLost)));
  if (up_) Restart();
  return true;
}

void HostedCard::Restart() {
  const std::string failure = card_->store().failure();
  std::string error;
  std::unique_ptr<Card> fresh = MakeOn(*profile_, config_, medium_, error);
  if (!fresh) {
    up_ = false;
    notices_.push_back("the card's memory failed (" + failure +
                       "); the command was answered 6581 and the card cannot restart: " + error +
                       ". Every command is answered 6581 until the card is stopped and the "
                       "state directory fixed");
    return;
  }
  card_ = std::move(fresh);
  card_->PowerOn();
  notices_.push_back("the card's memory failed (" + failure +
                     "); the command was answered 6581 and none of its writes count. The card "
                     "restarted from its last committed state; fix the cause (free space, make "
                     "the state directory writable) before writing again");
}

std::vector<std::string> HostedCard::TakeNotices() {
  std::vector<std::string> out;
  out.swap(notices_);
  return out;
}

}  // namespace dmcard
