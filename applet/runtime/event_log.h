// The card's event log (OMA DM smart card UC521): a cyclic record of what happened to the card —
// bootstraps accepted or rejected, failed SCP03 authentications, failed credential checks, MO
// changes with who made them, PIN blocks, FUMO decisions. Each entry carries a counter that only
// grows (never reused, never restarted) and the card clock. A card service next to PINs and keys:
// applets reach it through AppletContext::log(); an authenticated management authority reads it
// (the DM applet's GET DATA E1).
//
// Entries about a refusal are written durably (PersistentStore::PutDurable), so they stay when
// the command that caused them is refused and rolled back; entries about a change go into the
// command's transaction and are committed or dropped with the change itself.
//
// Records, in the card's namespace (declared in kRecordNames):
//   card/log/head   version 1, next counter (4, BE)
//   card/log/<NN>   slot NN (two hex digits, counter mod kCapacity): version 1, counter (4),
//                   time (8, UTC seconds, two's complement), kind, reason, principal length p
//                   (0..128), principal, detail length d (0..kMaxDetail), detail
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/bytes.h"
#include "runtime/persistent_store.h"
#include "runtime/record_names.h"

namespace dmcard {

enum class EventKind : uint8_t {
  kBootstrapAccepted = 1,
  kBootstrapRejected = 2,
  kAuthenticationFailed = 3,  // an SCP03 EXTERNAL AUTHENTICATE that did not verify
  kCredentialFailed = 4,      // an OMA DM credential (auth-md5, auth-MAC) that did not verify,
                              // or a refused use of the card's credentials (DM CREDENTIAL,
                              // INTERNAL AUTHENTICATE: dm/credentials.cc)
  kMoChanged = 5,             // ADD, REPLACE, DELETE, EXEC or STORE DATA changed the tree
  kPinBlocked = 6,            // a PIN's (or PUK's) last try was used up
  kFumoDecision = 7,          // a firmware package allowed or refused
};

struct Event {
  uint32_t counter = 0;
  int64_t time = 0;
  EventKind kind = EventKind::kMoChanged;
  uint8_t reason = 0;     // the kind's own code (e.g. a status word's low byte, a method)
  std::string principal;  // who caused it: an OMA DM ServerID, "@issuer", "@user", "@device"
  Bytes detail;           // e.g. a URI, a PIN reference; at most kMaxDetail bytes
};

class EventLog {
 public:
  static constexpr uint32_t kCapacity = 64;  // entries kept; the oldest is overwritten
  static constexpr size_t kMaxDetail = 64;   // longer details are cut
  static constexpr size_t kMaxPrincipal = 128;
  static constexpr RecordName kRecordNames[] = {
      {"card/log/head", 1, "the next event counter"},
      {"card/log/*", 1, "one event (slot = counter mod capacity)"},
  };

  explicit EventLog(PersistentStore& store) : store_(store) {}

  // Appends an entry in the open transaction (the command's): `durable` writes it as its own
  // committed transaction, kept even when the command is then refused. The principal and the
  // detail are cut to their limits.
  StoreStatus Append(EventKind kind, uint8_t reason, std::string_view principal, ByteView detail,
                     int64_t now, bool durable);
  // The counter the next entry gets (0 on a new card).
  uint32_t next_counter() const;
  // Up to `max` entries with counters from `from` on, oldest first (those overwritten are gone).
  std::vector<Event> Read(uint32_t from, size_t max) const;

 private:
  PersistentStore& store_;
};

}  // namespace dmcard
