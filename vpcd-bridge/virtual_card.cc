#include "virtual_card.h"

#include <cstdio>

namespace dmcard::vicc {

std::unique_ptr<RuntimeCard> RuntimeCard::Open(std::shared_ptr<const Profile> profile,
                                               const CardConfig& config,
                                               const std::filesystem::path& state_dir,
                                               std::string& error) {
  std::string kind = profile->name == "dmcard-demo" ? "demo" : "profile " + profile->name;
  auto card = HostedCard::Open(std::move(profile), config, state_dir, error);
  if (!card) return nullptr;
  return std::unique_ptr<RuntimeCard>(new RuntimeCard(std::move(card), std::move(kind)));
}

void RuntimeCard::Transmit(ByteView command, Bytes& response) {
  if (!card_->Transmit(command, response)) {
    // Unpowered: vpcd should not send APDUs then; answer "conditions of use not satisfied".
    response.assign({0x69, 0x85});
  }
  PrintNotices();
}

void RuntimeCard::PrintNotices() {
  for (const std::string& n : card_->TakeNotices()) {
    std::fprintf(stderr, "dmcard-vicc: %s%s\n", label_.c_str(), n.c_str());
  }
}

}  // namespace dmcard::vicc
