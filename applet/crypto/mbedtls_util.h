// Small helpers shared by the mbed TLS wrappers (internal to applet/crypto/).
#pragma once

#include "crypto/crypto.h"

namespace dmcard::crypto::internal {

// mbed TLS wants a valid pointer even for zero-length input.
inline const unsigned char* DataOrEmpty(ByteView v) {
  static const unsigned char kEmpty = 0;
  return v.empty() ? &kEmpty : v.data();
}

}  // namespace dmcard::crypto::internal
