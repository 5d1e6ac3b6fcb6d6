// The demo card: a card made from the built-in demo profile (profiles/demo/), which holds
// obviously-test values only. What `dmcard`, `dmcard-vicc` and the tests start by default.
#pragma once

#include <memory>
#include <string>

#include "cards/make_card.h"
#include "host/profile_file.h"

namespace dmcard {

CardConfig DemoCardConfig();

// A card of the built-in demo profile over `platform`; null with `error` set on failure.
std::unique_ptr<Card> MakeDemoCard(const CardConfig& config, Platform platform, std::string& error);

}  // namespace dmcard
