#include "host/demo_card.h"

namespace dmcard {

CardConfig DemoCardConfig() { return CardConfigFor(DemoProfile()); }

std::unique_ptr<Card> MakeDemoCard(const CardConfig& config, Platform platform,
                                   std::string& error) {
  return MakeCard(DemoProfile(), config, std::move(platform), error);
}

}  // namespace dmcard
