#include "host/state_dir.h"

#include <algorithm>
#include <cerrno>
#include <system_error>

#include <sys/stat.h>

namespace dmcard {

namespace fs = std::filesystem;

bool HoldsCard(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / "card.img", ec) || fs::exists(dir / "card.jnl", ec);
}

std::vector<std::string> SlotFolders(const fs::path& dir) {
  std::vector<std::string> slots;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 4 && name.starts_with("slot") &&
        std::all_of(name.begin() + 4, name.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        it->is_directory(ec) && HoldsCard(it->path())) {
      slots.push_back(name);
    }
  }
  std::sort(slots.begin(), slots.end());
  return slots;
}

std::string CheckCardStateDir(const fs::path& dir) {
  if (HoldsCard(dir)) return {};
  const std::vector<std::string> slots = SlotFolders(dir);
  if (slots.empty()) return {};
  std::string list;
  for (const std::string& s : slots) list += (list.empty() ? "" : ", ") + s;
  return "'" + dir.string() + "' is not a card's state directory: it holds the cards of a " +
         "dmcard-vicc --state folder (" + list + "). Use one of them, e.g. --state " +
         (dir / slots.front()).string();
}

std::string ProfileNotAppliedNotice(const fs::path& profile, const fs::path& dir) {
  return "profile '" + profile.string() + "' not applied: '" + dir.string() +
         "' already holds a card, which keeps its own content (a profile makes new cards only). "
         "To start a card from the profile, move that directory away or use another --state";
}

void CreatePrivateDirectories(const fs::path& dir, std::error_code& ec) {
  ec.clear();
  if (dir.empty() || fs::is_directory(dir, ec)) return;
  const fs::path parent = dir.parent_path();
  if (!parent.empty() && parent != dir) {
    CreatePrivateDirectories(parent, ec);
    if (ec) return;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    ec = std::error_code(errno, std::generic_category());
    return;
  }
  ec.clear();
}

}  // namespace dmcard
