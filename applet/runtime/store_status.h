// Outcome of a persistent-store write and its one mapping to a status word: every applet and the
// runtime's transaction wrapper answer a store failure through SwFromStore, so a power loss is
// 6581 everywhere.
#pragma once

#include "runtime/sw.h"

namespace dmcard {

enum class StoreStatus {
  kOk,
  kFull,           // the write would exceed the capacity (answered 6A84)
  kNoTransaction,  // write outside Begin()/Commit() (an applet bug: 6F00)
  kOutOfRange,     // Patch beyond the end of the record, or an empty key (6F00)
  kNotFound,       // Patch/Erase of a missing record (6F00)
  kPowerLost,      // the medium failed: the card has lost power and must be reopened (6581)
  kOutOfScope,     // a record outside what the caller's StoreView may touch (an applet bug: 6F00)
};

// The status word an APDU answers when a store call returned `s`. Exhaustive on purpose: a new
// StoreStatus does not compile until it has its status word here.
constexpr Sw SwFromStore(StoreStatus s) {
  switch (s) {
    case StoreStatus::kOk:
      return Sw::kOk;
    case StoreStatus::kFull:
      return Sw::kNotEnoughMemory;  // ISO 7816-4: 6A84 not enough memory space in the file
    case StoreStatus::kPowerLost:
      return Sw::kMemoryFailure;  // ISO 7816-4: 6581 memory failure
    case StoreStatus::kNoTransaction:
    case StoreStatus::kOutOfRange:
    case StoreStatus::kNotFound:
    case StoreStatus::kOutOfScope:
      return Sw::kNoPreciseDiagnosis;
  }
  return Sw::kNoPreciseDiagnosis;
}

}  // namespace dmcard
