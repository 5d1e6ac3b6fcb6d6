// `dmcard check --state DIR`: what is wrong with a card's state directory (card.img, card.jnl,
// card.lock; docs/card-image-format.md) and whether the card can start from it, without writing
// anything and without starting the card.
//
// The files are read as they are and opened by the card's own store (runtime/persistent_store.h)
// on a read-only copy, so the check applies exactly the rule the card applies when it starts: a
// torn last transaction (never acknowledged) is repairable, any other damage makes the card refuse
// to start. A good state is then held to the record declarations of this version (every record
// declared by the owner of its namespace, runtime/record_names.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/persistent_store.h"

namespace dmcard {

struct StateCheck {
  enum class Verdict : uint8_t {
    kGood,        // the card starts from it as it is
    kRepairable,  // the card starts and repairs it (drops a torn, never-acknowledged write)
    kDamaged,     // the card refuses to start: restore from a backup or move the directory away
    kNoCard,      // the directory holds no card (a card started there would be new)
    kInUse,       // a running card holds it; its files change while it runs
    kUnreadable,  // the files cannot be read (permissions, I/O)
  };
  std::filesystem::path dir;
  Verdict verdict = Verdict::kNoCard;
  // What the store said: the damage (kDamaged), the repair (kRepairable), the reason (kInUse,
  // kUnreadable); empty for kGood and kNoCard.
  std::string detail;
  // For kGood and kRepairable: what the card holds.
  StoreStats stats;
  uint64_t acknowledged = 0;  // card.lock's witness: the last transaction acknowledged (0: none)
  uint64_t last_transaction = 0;  // the last committed transaction the files hold
  // For kGood and kRepairable: records this version does not know (one line each).
  std::vector<std::string> unknown_records;
};

// Checks one card's state directory.
StateCheck CheckState(const std::filesystem::path& dir);

// Empty when every record of `store` is declared by the owner of its namespace, is not a legacy
// record (those are gone once the card has started), and begins with its declared format version
// where the declaration names one; else one line per record at fault.
std::vector<std::string> UndeclaredRecords(const PersistentStore& store);

// The report lines of one check, as `dmcard check` prints them.
std::string DescribeStateCheck(const StateCheck& check);

}  // namespace dmcard
