#include "runtime/event_log.h"

#include <algorithm>
#include <cstdio>

namespace dmcard {

namespace {

constexpr uint8_t kHeadVersion = EventLog::kRecordNames[0].version;
constexpr uint8_t kEntryVersion = EventLog::kRecordNames[1].version;
constexpr char kHead[] = "card/log/head";
constexpr size_t kFixed = 1 + 4 + 8 + 1 + 1;  // version, counter, time, kind, reason

std::string SlotName(uint32_t counter) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "card/log/%02X", counter % EventLog::kCapacity);
  return buf;
}

bool KnownKind(uint8_t k) {
  return k >= static_cast<uint8_t>(EventKind::kBootstrapAccepted) &&
         k <= static_cast<uint8_t>(EventKind::kFumoDecision);
}

}  // namespace

uint32_t EventLog::next_counter() const {
  const Bytes* head = store_.Get(kHead);
  if (head == nullptr || head->size() != 5 || (*head)[0] != kHeadVersion) return 0;
  return ReadU32(head->data() + 1);
}

StoreStatus EventLog::Append(EventKind kind, uint8_t reason, std::string_view principal,
                             ByteView detail, int64_t now, bool durable) {
  const uint32_t counter = next_counter();
  if (counter == UINT32_MAX) return StoreStatus::kOk;  // the log is full for good: keep the last
  principal = principal.substr(0, kMaxPrincipal);
  detail = detail.first(std::min(detail.size(), kMaxDetail));
  Bytes entry = {kEntryVersion};
  AppendU32(entry, counter);
  AppendU32(entry, static_cast<uint32_t>(static_cast<uint64_t>(now) >> 32));
  AppendU32(entry, static_cast<uint32_t>(static_cast<uint64_t>(now)));
  entry.push_back(static_cast<uint8_t>(kind));
  entry.push_back(reason);
  entry.push_back(static_cast<uint8_t>(principal.size()));
  entry.insert(entry.end(), principal.begin(), principal.end());
  entry.push_back(static_cast<uint8_t>(detail.size()));
  dmcard::Append(entry, detail);
  Bytes head = {kHeadVersion};
  AppendU32(head, counter + 1);
  // The entry first: cut between the two, the head still names this slot as the next one.
  const std::string slot = SlotName(counter);
  StoreStatus s = durable ? store_.PutDurable(slot, entry) : store_.Put(slot, entry);
  if (s != StoreStatus::kOk) return s;
  return durable ? store_.PutDurable(kHead, head) : store_.Put(kHead, head);
}

std::vector<Event> EventLog::Read(uint32_t from, size_t max) const {
  std::vector<Event> out;
  const uint32_t next = next_counter();
  const uint32_t oldest = next > kCapacity ? next - kCapacity : 0;
  for (uint32_t c = std::max(from, oldest); c < next && out.size() < max; ++c) {
    const Bytes* r = store_.Get(SlotName(c));
    if (r == nullptr || r->size() < kFixed + 2 || (*r)[0] != kEntryVersion) continue;
    Event e;
    e.counter = ReadU32(r->data() + 1);
    if (e.counter != c || !KnownKind((*r)[13])) continue;  // a damaged or stale slot
    e.time = static_cast<int64_t>(uint64_t{ReadU32(r->data() + 5)} << 32 | ReadU32(r->data() + 9));
    e.kind = static_cast<EventKind>((*r)[13]);
    e.reason = (*r)[14];
    const size_t p = (*r)[kFixed];
    if (r->size() < kFixed + 1 + p + 1) continue;
    e.principal.assign(r->begin() + kFixed + 1, r->begin() + static_cast<long>(kFixed + 1 + p));
    const size_t d = (*r)[kFixed + 1 + p];
    if (r->size() != kFixed + 2 + p + d) continue;
    e.detail.assign(r->begin() + static_cast<long>(kFixed + 2 + p), r->end());
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace dmcard
