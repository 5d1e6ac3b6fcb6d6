#include "runtime/registry.h"

#include <algorithm>

namespace dmcard {

bool AppletRegistry::Add(std::unique_ptr<Applet> applet) {
  if (IndexOf(applet->aid()) >= 0) return false;
  applets_.push_back(std::move(applet));
  return true;
}

int AppletRegistry::IndexOf(ByteView aid) const {
  for (size_t i = 0; i < applets_.size(); ++i) {
    const Bytes& a = applets_[i]->aid();
    if (a.size() == aid.size() && std::equal(a.begin(), a.end(), aid.begin())) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

bool AppletRegistry::Matches(size_t index, ByteView name) const {
  const Bytes& a = applets_[index]->aid();
  return name.size() <= a.size() && std::equal(name.begin(), name.end(), a.begin());
}

int AppletRegistry::Find(ByteView name, Occurrence occurrence, int current) const {
  const int n = static_cast<int>(applets_.size());
  switch (occurrence) {
    case Occurrence::kFirst:
      for (int i = 0; i < n; ++i) {
        if (Matches(static_cast<size_t>(i), name)) return i;
      }
      return -1;
    case Occurrence::kLast:
      for (int i = n - 1; i >= 0; --i) {
        if (Matches(static_cast<size_t>(i), name)) return i;
      }
      return -1;
    case Occurrence::kNext:
      for (int i = current + 1; i < n; ++i) {
        if (Matches(static_cast<size_t>(i), name)) return i;
      }
      return -1;
    case Occurrence::kPrevious:
      for (int i = (current < 0 ? n : current) - 1; i >= 0; --i) {
        if (Matches(static_cast<size_t>(i), name)) return i;
      }
      return -1;
  }
  return -1;
}

}  // namespace dmcard
