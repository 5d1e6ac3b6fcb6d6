// Constant-time comparison.
#include "crypto/crypto.h"

namespace dmcard::crypto {

bool ConstantTimeEqual(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  // The volatile accumulator keeps the compiler from turning the loop into an early exit.
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = static_cast<uint8_t>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

}  // namespace dmcard::crypto
