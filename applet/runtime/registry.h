// Applets by AID (ISO 7816-4 §8.2.1.2 application identifiers), in installation order.
#pragma once

#include <memory>
#include <vector>

#include "runtime/applet.h"

namespace dmcard {

class AppletRegistry {
 public:
  // False when an applet with the same AID is already registered.
  bool Add(std::unique_ptr<Applet> applet);
  size_t size() const { return applets_.size(); }
  Applet& at(size_t index) { return *applets_[index]; }
  const Applet& at(size_t index) const { return *applets_[index]; }
  int IndexOf(ByteView aid) const;  // exact match, -1 if none
  // Removes the most recently added applet (an install that failed).
  void RemoveLast() { applets_.pop_back(); }

  // SELECT by DF name matching: an applet matches when `name` equals its AID or is a
  // right-truncated prefix of it. Occurrence per ISO 7816-4 §11.2.2 table 65 (P2 b2-b1):
  // first, last, next or previous relative to `current` (registry index or -1). -1 if none.
  enum class Occurrence : uint8_t { kFirst = 0, kLast = 1, kNext = 2, kPrevious = 3 };
  int Find(ByteView name, Occurrence occurrence, int current) const;

 private:
  bool Matches(size_t index, ByteView name) const;
  std::vector<std::unique_ptr<Applet>> applets_;
};

}  // namespace dmcard
