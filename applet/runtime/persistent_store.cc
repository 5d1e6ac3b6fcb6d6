#include "runtime/persistent_store.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <set>

namespace dmcard {

namespace {

constexpr uint8_t kImageMagic[4] = {'D', 'M', 'C', 'I'};
constexpr uint8_t kEntryMagic[4] = {'D', 'M', 'J', 'E'};
constexpr uint8_t kMarkerMagic[4] = {'D', 'M', 'J', 'C'};
constexpr size_t kImageHeader = 24;
constexpr size_t kEntryHeader = 16;  // magic, seq, body length
constexpr size_t kMarkerSize = 16;   // magic, seq, crc

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = MakeCrcTable();

void AppendU64(Bytes& out, uint64_t v) {
  AppendU32(out, static_cast<uint32_t>(v >> 32));
  AppendU32(out, static_cast<uint32_t>(v));
}
uint64_t ReadU64(const uint8_t* p) { return (uint64_t{ReadU32(p)} << 32) | ReadU32(p + 4); }

// Bounds-checked reader over a byte buffer.
struct Reader {
  const Bytes& buf;
  size_t pos = 0;
  bool ok = true;
  bool Need(size_t n) {
    if (!ok || buf.size() - pos < n) ok = false;
    return ok;
  }
  uint8_t U8() { return Need(1) ? buf[pos++] : 0; }
  uint16_t U16() {
    if (!Need(2)) return 0;
    pos += 2;
    return ReadU16(&buf[pos - 2]);
  }
  uint32_t U32() {
    if (!Need(4)) return 0;
    pos += 4;
    return ReadU32(&buf[pos - 4]);
  }
  uint64_t U64() {
    if (!Need(8)) return 0;
    pos += 8;
    return ReadU64(&buf[pos - 8]);
  }
  std::string Str(size_t n) {
    if (!Need(n)) return {};
    pos += n;
    return std::string(reinterpret_cast<const char*>(&buf[pos - n]), n);
  }
  Bytes Blob(size_t n) {
    if (!Need(n)) return {};
    pos += n;
    return Bytes(buf.begin() + static_cast<ptrdiff_t>(pos - n),
                 buf.begin() + static_cast<ptrdiff_t>(pos));
  }
};

bool HasMagic(const Bytes& b, size_t pos, const uint8_t (&magic)[4]) {
  return b.size() >= pos + 4 && std::memcmp(&b[pos], magic, 4) == 0;
}

}  // namespace

uint32_t Crc32(ByteView data, uint32_t crc) {
  crc = ~crc;
  for (uint8_t b : data) crc = kCrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

PersistentStore::PersistentStore(std::shared_ptr<StorageMedium> medium, Options options)
    : medium_(std::move(medium)), options_(options), capacity_(options.capacity) {
  Bytes image;
  Bytes journal;
  if (!medium_->Read(MediumFile::kImage, image) || !medium_->Read(MediumFile::kJournal, journal)) {
    open_error_ = "cannot read the card image or journal";
    power_lost_ = true;
    return;
  }
  if (!image.empty() && !LoadImage(image)) {
    open_error_ = "card image is corrupt or of an unknown version";
    power_lost_ = true;
    return;
  }
  bool had_journal = false;
  ReplayJournal(journal, had_journal);
  // Fold what was replayed (and drop any torn tail) so later appends start on a clean journal.
  if (had_journal && Checkpoint() != StoreStatus::kOk) {
    open_error_ = "cannot write the card image";
  }
}

bool PersistentStore::LoadImage(const Bytes& image) {
  if (image.size() < kImageHeader + 4 || !HasMagic(image, 0, kImageMagic)) return false;
  const size_t body = image.size() - 4;
  if (Crc32(ByteView(image).first(body)) != ReadU32(&image[body])) return false;
  Reader r{image};
  r.pos = 4;
  if (r.U16() != kImageVersion) return false;
  r.U16();  // reserved
  capacity_ = r.U32();
  seq_ = r.U64();
  const uint32_t count = r.U32();
  for (uint32_t i = 0; i < count && r.ok; ++i) {
    std::string key = r.Str(r.U16());
    Bytes value = r.Blob(r.U32());
    if (!r.ok) break;
    committed_used_ += RecordCost(key, value.size());
    committed_.emplace(std::move(key), std::move(value));
  }
  return r.ok && r.pos == body;
}

Bytes PersistentStore::SerializeImage() const {
  std::vector<const std::pair<const std::string, Bytes>*> sorted;
  sorted.reserve(committed_.size());
  for (const auto& kv : committed_) sorted.push_back(&kv);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
  Bytes out(kImageMagic, kImageMagic + 4);
  AppendU16(out, kImageVersion);
  AppendU16(out, 0);
  AppendU32(out, capacity_);
  AppendU64(out, seq_);
  AppendU32(out, static_cast<uint32_t>(sorted.size()));
  for (auto* kv : sorted) {
    AppendU16(out, static_cast<uint16_t>(kv->first.size()));
    out.insert(out.end(), kv->first.begin(), kv->first.end());
    AppendU32(out, static_cast<uint32_t>(kv->second.size()));
    Append(out, kv->second);
  }
  AppendU32(out, Crc32(out));
  return out;
}

void PersistentStore::ReplayJournal(const Bytes& journal, bool& had_content) {
  had_content = !journal.empty();
  size_t pos = 0;
  while (HasMagic(journal, pos, kEntryMagic) && journal.size() - pos >= kEntryHeader) {
    const uint64_t seq = ReadU64(&journal[pos + 4]);
    const size_t body_len = ReadU32(&journal[pos + 12]);
    const size_t entry_len = kEntryHeader + body_len + 4;
    if (journal.size() - pos < entry_len + kMarkerSize) return;  // torn or uncommitted tail
    ByteView entry(&journal[pos], kEntryHeader + body_len);
    if (Crc32(entry) != ReadU32(&journal[pos + kEntryHeader + body_len])) return;
    const size_t m = pos + entry_len;
    if (!HasMagic(journal, m, kMarkerMagic) || ReadU64(&journal[m + 4]) != seq ||
        Crc32(ByteView(&journal[m], 12)) != ReadU32(&journal[m + 12])) {
      return;  // entry written but never committed
    }
    if (seq > seq_) {
      Reader r{journal};
      r.pos = pos + kEntryHeader;
      const size_t end = r.pos + body_len;
      while (r.ok && r.pos < end) {
        Op op{};
        op.kind = static_cast<OpKind>(r.U8());
        op.key = r.Str(r.U16());
        if (op.kind == OpKind::kPatch) op.offset = r.U32();
        if (op.kind != OpKind::kErase) op.data = r.Blob(r.U32());
        if (r.ok) Apply(op);
      }
      seq_ = seq;
    }
    pos = m + kMarkerSize;
  }
}

void PersistentStore::Apply(const Op& op) {
  switch (op.kind) {
    case OpKind::kPut: {
      auto it = committed_.find(op.key);
      if (it != committed_.end()) committed_used_ -= RecordCost(op.key, it->second.size());
      committed_used_ += RecordCost(op.key, op.data.size());
      committed_[op.key] = op.data;
      break;
    }
    case OpKind::kErase: {
      auto it = committed_.find(op.key);
      if (it != committed_.end()) {
        committed_used_ -= RecordCost(op.key, it->second.size());
        committed_.erase(it);
      }
      break;
    }
    case OpKind::kPatch: {
      auto it = committed_.find(op.key);
      if (it != committed_.end() && op.offset + op.data.size() <= it->second.size()) {
        std::copy(op.data.begin(), op.data.end(), it->second.begin() + op.offset);
      }
      break;
    }
  }
}

const Bytes* PersistentStore::Get(std::string_view key) const {
  if (!pending_.empty()) {
    auto it = pending_.find(key);
    if (it != pending_.end()) return it->second.erased ? nullptr : &it->second.value;
  }
  auto it = committed_.find(key);
  return it == committed_.end() ? nullptr : &it->second;
}

void PersistentStore::Begin() {
  Abort();
  in_transaction_ = !power_lost_;
}

void PersistentStore::Abort() {
  pending_.clear();
  ops_.clear();
  pending_delta_ = 0;
  in_transaction_ = false;
}

StoreStatus PersistentStore::Fail() {
  power_lost_ = true;
  Abort();
  return StoreStatus::kPowerLost;
}

StoreStatus PersistentStore::CheckRoom(std::string_view key, size_t new_size) {
  if (power_lost_) return StoreStatus::kPowerLost;
  if (!in_transaction_) return StoreStatus::kNoTransaction;
  const Bytes* current = Get(key);
  const int64_t old_cost = current ? RecordCost(key, current->size()) : 0;
  const int64_t used = int64_t{committed_used_} + pending_delta_;
  if (used - old_cost + RecordCost(key, new_size) > int64_t{capacity_}) return StoreStatus::kFull;
  pending_delta_ += int64_t{RecordCost(key, new_size)} - old_cost;
  return StoreStatus::kOk;
}

StoreStatus PersistentStore::Put(std::string_view key, ByteView value) {
  if (key.empty() || key.size() > 0xFFFF) return StoreStatus::kOutOfRange;
  StoreStatus s = CheckRoom(key, value.size());
  if (s != StoreStatus::kOk) return s;
  Pending& p = pending_[std::string(key)];
  p.erased = false;
  p.value.assign(value.begin(), value.end());
  ops_.push_back(Op{OpKind::kPut, std::string(key), 0, p.value});
  return StoreStatus::kOk;
}

StoreStatus PersistentStore::Patch(std::string_view key, uint32_t offset, ByteView data) {
  if (power_lost_) return StoreStatus::kPowerLost;
  if (!in_transaction_) return StoreStatus::kNoTransaction;
  const Bytes* current = Get(key);
  if (current == nullptr) return StoreStatus::kNotFound;
  if (size_t{offset} + data.size() > current->size()) return StoreStatus::kOutOfRange;
  auto it = pending_.find(key);
  if (it == pending_.end()) it = pending_.emplace(std::string(key), Pending{false, *current}).first;
  std::copy(data.begin(), data.end(), it->second.value.begin() + offset);
  ops_.push_back(Op{OpKind::kPatch, std::string(key), offset, Bytes(data.begin(), data.end())});
  return StoreStatus::kOk;
}

StoreStatus PersistentStore::Erase(std::string_view key) {
  if (power_lost_) return StoreStatus::kPowerLost;
  if (!in_transaction_) return StoreStatus::kNoTransaction;
  const Bytes* current = Get(key);
  if (current == nullptr) return StoreStatus::kNotFound;
  pending_delta_ -= RecordCost(key, current->size());
  Pending& p = pending_[std::string(key)];
  p.erased = true;
  p.value.clear();
  ops_.push_back(Op{OpKind::kErase, std::string(key), 0, {}});
  return StoreStatus::kOk;
}

StoreStatus PersistentStore::Commit() {
  if (power_lost_) return StoreStatus::kPowerLost;
  if (!in_transaction_) return StoreStatus::kNoTransaction;
  if (ops_.empty()) {
    Abort();
    return StoreStatus::kOk;
  }
  const uint64_t seq = seq_ + 1;
  Bytes entry(kEntryMagic, kEntryMagic + 4);
  AppendU64(entry, seq);
  AppendU32(entry, 0);  // body length, patched below
  for (const Op& op : ops_) {
    entry.push_back(static_cast<uint8_t>(op.kind));
    AppendU16(entry, static_cast<uint16_t>(op.key.size()));
    entry.insert(entry.end(), op.key.begin(), op.key.end());
    if (op.kind == OpKind::kPatch) AppendU32(entry, op.offset);
    if (op.kind != OpKind::kErase) {
      AppendU32(entry, static_cast<uint32_t>(op.data.size()));
      Append(entry, op.data);
    }
  }
  const uint32_t body_len = static_cast<uint32_t>(entry.size() - kEntryHeader);
  entry[12] = static_cast<uint8_t>(body_len >> 24);
  entry[13] = static_cast<uint8_t>(body_len >> 16);
  entry[14] = static_cast<uint8_t>(body_len >> 8);
  entry[15] = static_cast<uint8_t>(body_len);
  AppendU32(entry, Crc32(entry));
  Bytes marker(kMarkerMagic, kMarkerMagic + 4);
  AppendU64(marker, seq);
  AppendU32(marker, Crc32(marker));

  // Write 1: the entry. Write 2: the commit marker. Only the marker makes the entry count.
  ++physical_writes_;
  if (!medium_->Append(MediumFile::kJournal, entry)) return Fail();
  ++physical_writes_;
  if (!medium_->Append(MediumFile::kJournal, marker)) return Fail();

  for (const Op& op : ops_) Apply(op);
  seq_ = seq;
  journal_bytes_ += static_cast<uint32_t>(entry.size() + marker.size());
  ++commits_;
  Abort();
  if (journal_bytes_ > options_.checkpoint_journal_bytes) return Checkpoint();
  return StoreStatus::kOk;
}

StoreStatus PersistentStore::Checkpoint() {
  // The image carries seq_, so journal entries it already holds are skipped on replay even if
  // the truncation below never happens.
  ++physical_writes_;
  if (!medium_->Replace(MediumFile::kImage, SerializeImage())) return Fail();
  ++physical_writes_;
  if (!medium_->Truncate(MediumFile::kJournal)) return Fail();
  journal_bytes_ = 0;
  ++checkpoints_;
  return StoreStatus::kOk;
}

StoreStats PersistentStore::stats() const {
  StoreStats s;
  s.capacity = capacity_;
  s.used = static_cast<uint32_t>(int64_t{committed_used_} + pending_delta_);
  s.records = static_cast<uint32_t>(Keys("").size());
  s.commits = commits_;
  s.physical_writes = physical_writes_;
  s.checkpoints = checkpoints_;
  s.journal_bytes = journal_bytes_;
  return s;
}

std::vector<std::string> PersistentStore::Keys(std::string_view prefix) const {
  std::set<std::string> keys;
  for (const auto& kv : committed_) {
    if (std::string_view(kv.first).starts_with(prefix)) keys.insert(kv.first);
  }
  for (const auto& kv : pending_) {
    if (!std::string_view(kv.first).starts_with(prefix)) continue;
    if (kv.second.erased) {
      keys.erase(kv.first);
    } else {
      keys.insert(kv.first);
    }
  }
  return {keys.begin(), keys.end()};
}

}  // namespace dmcard
