// Transient (RAM) memory of the card, Java Card style: arrays cleared on reset/power-off, or
// when their owning applet is deselected.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/bytes.h"

namespace dmcard {

enum class ClearOn : uint8_t {
  kReset,     // JCSystem.CLEAR_ON_RESET: survives deselect, cleared by reset and power-off
  kDeselect,  // JCSystem.CLEAR_ON_DESELECT: also cleared when the owner is deselected
};

class TransientMemory {
 public:
  using Handle = uint32_t;

  // `owner` is the applet's registry index. Allocated once, at install.
  Handle Allocate(uint16_t owner, size_t size, ClearOn clear_on);
  std::span<uint8_t> Get(Handle h) { return blocks_[h].bytes; }
  std::span<const uint8_t> Get(Handle h) const { return blocks_[h].bytes; }

  void ClearAll();                       // reset, power-off
  void ClearOnDeselect(uint16_t owner);  // owner no longer selected on any channel
  size_t bytes_allocated() const;

 private:
  struct Block {
    uint16_t owner;
    ClearOn clear_on;
    Bytes bytes;
  };
  std::vector<Block> blocks_;
};

}  // namespace dmcard
