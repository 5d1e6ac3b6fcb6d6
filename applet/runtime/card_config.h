// Read-only card configuration: what a card issuer fixes at manufacture.
#pragma once

#include <cstdint>

#include "runtime/bytes.h"
#include "runtime/persistent_store.h"

namespace dmcard {

// Transmission protocol whose rules shape responses (ISO 7816-3 §10 T=0, §11 T=1).
enum class Protocol : uint8_t {
  kT0,  // case 4 data always through 61xx + GET RESPONSE; a wrong Le on case 2 answers 6Cxx
  kT1,  // response data returned directly, Ne (256 if Le is absent) bytes at most, the rest
        // through 61xx + GET RESPONSE
};

struct CardConfig {
  // ATR bytes; empty means the default ATR built from the fields below (see atr.h).
  Bytes atr;
  // Protocol the card speaks and its default ATR declares.
  Protocol protocol = Protocol::kT1;
  // Extended Lc/Le accepted (and declared in the ATR historical bytes).
  bool extended_length = true;
  // Persistent memory size for a new card image (an existing image keeps its own).
  uint32_t capacity = PersistentStore::kDefaultCapacity;
  // Journal size at which it is folded into the card image.
  uint32_t checkpoint_journal_bytes = 32 * 1024;
  // Number of logical channels including the basic channel (ISO 7816-4 allows up to 20).
  uint8_t logical_channels = 20;
  // AID of the applet selected on the basic channel after reset; empty = none.
  Bytes default_applet;
  // Upper bound of command data assembled through command chaining.
  uint32_t max_chained_data = 65535;
  // The largest response data field the transport can carry in one R-APDU (1..65536; ISO 7816-4
  // allows Ne up to 65536). No R-APDU carries more: the rest is served through 61xx + GET
  // RESPONSE (ISO 7816-4 §5.3.4). dmcard-vicc sets 65533: vpcd's 2-byte frame length minus SW.
  uint32_t max_response_data = 65536;
};

}  // namespace dmcard
