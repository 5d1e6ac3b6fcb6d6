#include "virtual_card.h"

#include "cards/demo_card.h"

namespace dmcard::vicc {

std::unique_ptr<RuntimeCard> RuntimeCard::Open(std::shared_ptr<const Profile> profile,
                                               const CardConfig& config,
                                               const std::filesystem::path& state_dir,
                                               std::string& error) {
  auto platform = MakePlatform(state_dir, error);
  if (!platform) return nullptr;
  auto card = MakeCard(*profile, config, std::move(*platform), error);
  if (!card) return nullptr;
  std::string kind = profile->name == "dmcard-demo" ? "demo" : "profile " + profile->name;
  return std::unique_ptr<RuntimeCard>(
      new RuntimeCard(std::move(profile), config, state_dir, std::move(card), std::move(kind)));
}

void RuntimeCard::Transmit(ByteView command, Bytes& response) {
  if (card_->Transmit(command, response)) return;
  if (card_->dead()) {
    // Power was lost in the middle of a write: reopen on the medium, as a real card would come
    // back after a power cycle with its last committed state.
    std::string error;
    auto platform = MakePlatform(dir_, error);
    if (platform) {
      if (auto fresh = MakeCard(*profile_, config_, std::move(*platform), error)) {
        card_ = std::move(fresh);
        card_->PowerOn();
      }
    }
    response.assign({0x65, 0x81});
    return;
  }
  // Unpowered: vpcd should not send APDUs then; answer "conditions of use not satisfied".
  response.assign({0x69, 0x85});
}

}  // namespace dmcard::vicc
