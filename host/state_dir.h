// State directories on the host: where a card's persistent memory lives (card.img, card.jnl and
// the lock card.lock; docs/card-image-format.md), and the folder of slot folders that
// `dmcard-vicc --state DIR` keeps its cards in (DIR/slot0, DIR/slot1, ...).
#pragma once

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace dmcard {

// True when `dir` holds one card's memory (card.img or card.jnl).
bool HoldsCard(const std::filesystem::path& dir);

// The slot folders (slot<N> holding a card) directly under `dir`, sorted; empty when none.
std::vector<std::string> SlotFolders(const std::filesystem::path& dir);

// Empty when `dir` can be one card's state directory; else why not and what to use instead
// (a folder of slot folders is not a card).
std::string CheckCardStateDir(const std::filesystem::path& dir);

// What to tell a user who named a profile for a state directory that already holds a card: the
// card keeps its own content, the profile is not applied.
std::string ProfileNotAppliedNotice(const std::filesystem::path& profile,
                                    const std::filesystem::path& dir);

// Creates `dir` and its missing parents with mode 0700 (a card's memory is its owner's alone:
// PIN values and try counters, secret leaves); directories that exist already are left as they
// are. `ec` is set on failure.
void CreatePrivateDirectories(const std::filesystem::path& dir, std::error_code& ec);

}  // namespace dmcard
