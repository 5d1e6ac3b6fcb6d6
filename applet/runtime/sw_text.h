// Human-readable status words, for host tools and logs (ISO/IEC 7816-4 §5.6).
#pragma once

#include <cstdint>
#include <string>

#include "runtime/sw.h"

namespace dmcard {

std::string DescribeSw(uint16_t sw);

}  // namespace dmcard
