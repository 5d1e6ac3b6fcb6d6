#include "runtime/pin.h"

#include <algorithm>

#include "runtime/event_log.h"

namespace dmcard {

namespace {
// Record layout (declared in pin.h, kPinRecordNames): version, max tries, tries left, value
// length, value padded with FF to 16.
constexpr uint8_t kRecordVersion = kPinRecordNames[0].version;
constexpr size_t kRecordSize = 4 + Pin::kMaxLength;
constexpr size_t kTriesOffset = 2;
std::string RefHex(uint8_t ref) { return ToHex(ByteView(&ref, 1)); }
}  // namespace

std::string GlobalPinKey(uint8_t reference) { return kGlobalPinPrefix + RefHex(reference); }
std::string GlobalPukKey(uint8_t reference) { return kGlobalPukPrefix + RefHex(reference); }

StoreStatus AdoptPinRecord(StoreView store, std::string_view old_key, std::string_view global_key) {
  const Bytes* old = store.Get(old_key);
  if (old == nullptr) return StoreStatus::kOk;
  const Bytes record = *old;
  if (StoreStatus s = store.Put(global_key, record); s != StoreStatus::kOk) return s;
  return store.Erase(old_key);
}

Pin::Pin(std::string key, uint8_t reference, PinPolicy policy)
    : key_(std::move(key)), reference_(reference), policy_(policy) {
  policy_.max_tries = std::clamp<uint8_t>(policy_.max_tries, 1, 15);
  policy_.max_length = std::clamp<uint8_t>(policy_.max_length, 1, kMaxLength);
}

ByteView Pin::StripPadding(ByteView data) {
  size_t n = data.size();
  while (n > 0 && data[n - 1] == 0xFF) --n;
  return data.first(n);
}

Bytes Pin::Encode(uint8_t tries, ByteView value) const {
  Bytes r(kRecordSize, 0xFF);
  r[0] = kRecordVersion;
  r[1] = policy_.max_tries;
  r[kTriesOffset] = tries;
  r[3] = static_cast<uint8_t>(value.size());
  std::copy(value.begin(), value.end(), r.begin() + 4);
  return r;
}

Sw Pin::Create(StoreView store, ByteView value) const {
  if (store.Contains(key_)) return Sw::kOk;
  if (!LengthOk(value)) return Sw::kWrongLength;
  return SwFromStore(store.Put(key_, Encode(policy_.max_tries, value)));
}

std::optional<uint8_t> Pin::TriesLeft(const StoreView& store) const {
  const Bytes* r = store.Get(key_);
  if (r == nullptr || r->size() != kRecordSize) return std::nullopt;
  return (*r)[kTriesOffset];
}

Sw Pin::Check(AppletContext& ctx, ByteView candidate_raw) const {
  StoreView store = ctx.store();
  const Bytes* record = store.Get(key_);
  if (record == nullptr || record->size() != kRecordSize) return Sw::kReferenceDataNotFound;
  const uint8_t tries = (*record)[kTriesOffset];
  if (tries == 0) return Sw::kAuthMethodBlocked;
  ByteView candidate = StripPadding(candidate_raw);
  if (!LengthOk(candidate)) return Sw::kWrongLength;

  // Decrement first, durably and on its own: a power cut after this point has cost the try,
  // and the refusal that follows a mismatch does not give it back.
  const uint8_t left = static_cast<uint8_t>(tries - 1);
  Bytes decremented = *record;
  decremented[kTriesOffset] = left;
  if (StoreStatus s = store.PutDurable(key_, decremented); s != StoreStatus::kOk) {
    return SwFromStore(s);
  }

  record = store.Get(key_);
  const Bytes expected = Encode(0, ByteView(record->data() + 4, (*record)[3]));
  const Bytes offered = Encode(0, candidate);
  if (!crypto::ConstantTimeEqual(expected, offered)) {
    if (left == 0) {
      // UC521: the last try is gone. Kept although the command is refused; the detail is the
      // PIN's reference.
      const SecurityState* security = ctx.security();
      const std::string who =
          security != nullptr && !security->principal.empty() ? security->principal : "@device";
      if (StoreStatus s = ctx.log().Append(EventKind::kPinBlocked, reference_, who,
                                           Bytes{reference_}, ctx.now(), /*durable=*/true);
          s != StoreStatus::kOk) {
        return SwFromStore(s);
      }
    }
    return VerifyFailed(left);
  }

  const uint8_t full = policy_.max_tries;
  return SwFromStore(store.Patch(key_, kTriesOffset, ByteView(&full, 1)));
}

Sw Pin::SetValue(AppletContext& ctx, ByteView value_raw) const {
  ByteView value = StripPadding(value_raw);
  if (!LengthOk(value)) return Sw::kWrongData;
  return SwFromStore(ctx.store().Put(key_, Encode(policy_.max_tries, value)));
}

Sw Pin::Unblock(AppletContext& ctx) const {
  if (!ctx.store().Contains(key_)) return Sw::kReferenceDataNotFound;
  const uint8_t full = policy_.max_tries;
  return SwFromStore(ctx.store().Patch(key_, kTriesOffset, ByteView(&full, 1)));
}

void PinCommands::Add(const Pin* pin, const Pin* puk) { entries_.push_back(Entry{pin, puk}); }

const PinCommands::Entry* PinCommands::Find(uint8_t reference) const {
  for (const Entry& e : entries_) {
    if (e.pin->reference() == reference) return &e;
  }
  return nullptr;
}

std::optional<Sw> PinCommands::Process(AppletContext& ctx, const CommandApdu& cmd) const {
  if (!cmd.cls.interindustry) return std::nullopt;
  if (cmd.ins != 0x20 && cmd.ins != 0x24 && cmd.ins != 0x2C) return std::nullopt;
  const Entry* e = Find(cmd.p2);
  if (e == nullptr) return Sw::kReferenceDataNotFound;
  switch (cmd.ins) {
    case 0x20:
      return Verify(ctx, cmd, *e);
    case 0x24:
      return Change(ctx, cmd, *e);
    default:
      return ResetRetryCounter(ctx, cmd, *e);
  }
}

// ISO 7816-4 §11.5.6 VERIFY.
Sw PinCommands::Verify(AppletContext& ctx, const CommandApdu& cmd, const Entry& e) const {
  SecurityState* sec = ctx.security();
  const uint8_t ref = e.pin->reference();
  if (cmd.p1 == 0xFF) {  // reset the verification status
    if (!cmd.data.empty()) return Sw::kWrongLength;
    sec->verified_pins.reset(ref);
    return Sw::kOk;
  }
  if (cmd.p1 != 0x00) return Sw::kIncorrectP1P2;
  if (cmd.data.empty()) {  // status query: no try is spent
    if (sec->pin_verified(ref)) return Sw::kOk;
    const uint8_t left = e.pin->TriesLeft(ctx.store()).value_or(0);
    return left == 0 ? Sw::kAuthMethodBlocked : VerifyFailed(left);
  }
  Sw sw = e.pin->Check(ctx, cmd.data);
  if (sw == Sw::kOk) {
    sec->verified_pins.set(ref);
  } else if (sw != Sw::kWrongLength) {
    sec->verified_pins.reset(ref);
  }
  return sw;
}

// ISO 7816-4 §11.5.7 CHANGE REFERENCE DATA. P1 = 00: data = old PIN || new PIN, each padded
// with FF to the policy's max length. P1 = 01: data = new PIN; the PIN must be verified on
// this channel.
Sw PinCommands::Change(AppletContext& ctx, const CommandApdu& cmd, const Entry& e) const {
  const size_t block = e.pin->policy().max_length;
  if (cmd.p1 == 0x01) {
    if (!ctx.security()->pin_verified(e.pin->reference())) {
      return Sw::kSecurityStatusNotSatisfied;
    }
    if (cmd.data.empty() || cmd.data.size() > block) return Sw::kWrongLength;
    return e.pin->SetValue(ctx, cmd.data);
  }
  if (cmd.p1 != 0x00) return Sw::kIncorrectP1P2;
  if (cmd.data.size() != 2 * block) return Sw::kWrongLength;
  ByteView new_value = Pin::StripPadding(cmd.data.subspan(block));
  if (new_value.size() < e.pin->policy().min_length) return Sw::kWrongData;
  Sw sw = e.pin->Check(ctx, cmd.data.first(block));
  if (sw != Sw::kOk) {
    if (sw != Sw::kWrongLength) ctx.security()->verified_pins.reset(e.pin->reference());
    return sw;
  }
  sw = e.pin->SetValue(ctx, new_value);
  if (sw == Sw::kOk) ctx.security()->verified_pins.set(e.pin->reference());
  return sw;
}

// ISO 7816-4 §11.5.10 RESET RETRY COUNTER. P1 = 00: data = PUK || new PIN (each padded to the
// PIN's block length); P1 = 01: data = PUK, the PIN keeps its value.
Sw PinCommands::ResetRetryCounter(AppletContext& ctx, const CommandApdu& cmd,
                                  const Entry& e) const {
  // No PUK, or one the card does not hold (yet): nothing can reset the counter.
  if (e.puk == nullptr || !e.puk->TriesLeft(ctx.store())) return Sw::kFunctionNotSupported;
  const size_t block = e.puk->policy().max_length;
  if (cmd.p1 != 0x00 && cmd.p1 != 0x01) return Sw::kIncorrectP1P2;
  const size_t expected = cmd.p1 == 0x00 ? block + e.pin->policy().max_length : block;
  if (cmd.data.size() != expected) return Sw::kWrongLength;
  if (cmd.p1 == 0x00) {
    ByteView new_value = Pin::StripPadding(cmd.data.subspan(block));
    if (new_value.size() < e.pin->policy().min_length) return Sw::kWrongData;
  }
  Sw sw = e.puk->Check(ctx, cmd.data.first(block));
  if (sw != Sw::kOk) return sw;
  sw = cmd.p1 == 0x00 ? e.pin->SetValue(ctx, cmd.data.subspan(block)) : e.pin->Unblock(ctx);
  if (sw == Sw::kOk) ctx.security()->verified_pins.reset(e.pin->reference());
  return sw;
}

}  // namespace dmcard
