#include "runtime/transient.h"

#include <algorithm>

namespace dmcard {

TransientMemory::Handle TransientMemory::Allocate(uint16_t owner, size_t size, ClearOn clear_on) {
  blocks_.push_back(Block{owner, clear_on, Bytes(size, 0)});
  return static_cast<Handle>(blocks_.size() - 1);
}

void TransientMemory::ClearAll() {
  for (Block& b : blocks_) std::fill(b.bytes.begin(), b.bytes.end(), 0);
}

void TransientMemory::ClearOnDeselect(uint16_t owner) {
  for (Block& b : blocks_) {
    if (b.owner == owner && b.clear_on == ClearOn::kDeselect) {
      std::fill(b.bytes.begin(), b.bytes.end(), 0);
    }
  }
}

size_t TransientMemory::bytes_allocated() const {
  size_t n = 0;
  for (const Block& b : blocks_) n += b.bytes.size();
  return n;
}

}  // namespace dmcard
