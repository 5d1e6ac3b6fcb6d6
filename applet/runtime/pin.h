// PINs: ISO 7816-4 reference data with a persistent retry counter (§9.4, §11.5.6–§11.5.10).
//
// A reference whose b8 is 0 (VERIFY P2 01..7F) is global reference data: the card's, one value
// and one retry counter, whichever applet serves it (GlobalPinKey below). A reference whose b8
// is 1 (81..FF) is specific to the applet that declares it, kept under that applet's records.
//
// The counter is decremented and made durable BEFORE the comparison, and restored only after a
// match, so cutting power at any instant can never yield a free try. The comparison is constant
// time. The "verified" state is per channel and transient (SecurityState).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runtime/applet.h"
#include "runtime/record_names.h"

namespace dmcard {

struct PinPolicy {
  uint8_t max_tries = 3;   // retry counter start value (1..15)
  uint8_t min_length = 4;  // digits/bytes after removing FF padding
  uint8_t max_length = 8;  // also the block length of padded PINs in CHANGE/RESET data
};

// Global reference data (ISO 7816-4 §7.5.1, P2 b8 = 0) belongs to the card, not to an applet.
inline bool IsGlobalReference(uint8_t reference) { return (reference & 0x80) == 0; }
// The persistent records of global PIN `reference` and of its resetting code (PUK), shared by
// every applet that serves that PIN: "card/pin/01", "card/puk/01".
inline constexpr char kGlobalPinPrefix[] = "card/pin/";
inline constexpr char kGlobalPukPrefix[] = "card/puk/";
// The PIN service's records in the card's namespace (runtime/record_names.h); an applet's own
// (non-global) PINs use the same record under its namespace. Layout: version, max tries, tries
// left, value length, value padded with FF to Pin::kMaxLength.
inline constexpr RecordName kPinRecordNames[] = {
    {"card/pin/*", 1, "a global PIN: value and try counter"},
    {"card/puk/*", 1, "a global PIN's resetting code (PUK): value and try counter"},
};
std::string GlobalPinKey(uint8_t reference);
std::string GlobalPukKey(uint8_t reference);

// Moves a PIN record kept under an applet's own name by an earlier version of the card to its
// global name (install time, inside the install transaction): `old_key`'s record, value and
// tries left, replaces `global_key`'s and is erased. Nothing happens when `old_key` is absent.
StoreStatus AdoptPinRecord(StoreView store, std::string_view old_key, std::string_view global_key);

class Pin {
 public:
  static constexpr size_t kMaxLength = 16;

  // `key` is the persistent record name; `reference` the P2 qualifier it answers to.
  Pin(std::string key, uint8_t reference, PinPolicy policy);

  uint8_t reference() const { return reference_; }
  const PinPolicy& policy() const { return policy_; }

  // Install time: creates the record with `value` and a full counter unless it exists.
  Sw Create(StoreView store, ByteView value) const;
  // Tries left; 0 = blocked. nullopt if the record is missing.
  std::optional<uint8_t> TriesLeft(const StoreView& store) const;

  // Checks `candidate` (FF padding ignored). 9000 on a match (counter restored); 63Cx with the
  // tries left on a mismatch; 6983 when blocked; 6700 for a length outside the policy.
  // Does not touch the security state: callers decide what a match grants.
  Sw Check(AppletContext& ctx, ByteView candidate) const;
  // Replaces the value and restores the counter.
  Sw SetValue(AppletContext& ctx, ByteView value) const;
  // Restores the counter without changing the value.
  Sw Unblock(AppletContext& ctx) const;

  // Removes trailing FF padding.
  static ByteView StripPadding(ByteView data);

 private:
  bool LengthOk(ByteView v) const {
    return v.size() >= policy_.min_length && v.size() <= policy_.max_length;
  }
  Bytes Encode(uint8_t tries, ByteView value) const;

  std::string key_;
  uint8_t reference_;
  PinPolicy policy_;
};

// The PIN commands of one applet: VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER for the
// PINs it registers, each optionally with a PUK (resetting code).
class PinCommands {
 public:
  void Add(const Pin* pin, const Pin* puk);
  // nullopt when `cmd` is not a PIN command (INS 20, 24, 2C) of an interindustry class.
  std::optional<Sw> Process(AppletContext& ctx, const CommandApdu& cmd) const;

 private:
  struct Entry {
    const Pin* pin;
    const Pin* puk;
  };
  const Entry* Find(uint8_t reference) const;
  Sw Verify(AppletContext& ctx, const CommandApdu& cmd, const Entry& e) const;
  Sw Change(AppletContext& ctx, const CommandApdu& cmd, const Entry& e) const;
  Sw ResetRetryCounter(AppletContext& ctx, const CommandApdu& cmd, const Entry& e) const;
  std::vector<Entry> entries_;
};

}  // namespace dmcard
