// State directories on the host: where a card's persistent memory lives (card.img, card.jnl and
// the lock card.lock; docs/card-image-format.md), and the folder of slot folders that
// `dmcard-vicc --state DIR` keeps its cards in (DIR/slot0, DIR/slot1, ...).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace dmcard {

// True when `dir` holds one card's memory (card.img or card.jnl).
bool HoldsCard(const std::filesystem::path& dir);

// The slot folders (slot<N> holding a card) directly under `dir`, sorted; empty when none.
std::vector<std::string> SlotFolders(const std::filesystem::path& dir);

// Empty when `dir` can be one card's state directory; else why not and what to use instead
// (a folder of slot folders is not a card).
std::string CheckCardStateDir(const std::filesystem::path& dir);

}  // namespace dmcard
