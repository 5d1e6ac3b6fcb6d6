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
constexpr uint8_t kJournalMagic[4] = {'D', 'M', 'J', 'H'};
constexpr size_t kImageHeader = 24;
constexpr size_t kJournalHeader = 24;  // magic, version, reserved, base seq, image crc, crc
constexpr size_t kEntryHeader = 16;    // magic, seq, body length (v2: then the header's crc)
constexpr size_t kMarkerSize = 16;     // magic, seq, crc

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
void PutU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

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

// The checksum an image ends with: what a journal header names the image by.
uint32_t ImageCrc(const Bytes& image) { return ReadU32(&image[image.size() - 4]); }

bool HasMagic(const Bytes& b, size_t pos, const uint8_t (&magic)[4]) {
  return b.size() >= pos + 4 && std::memcmp(&b[pos], magic, 4) == 0;
}

}  // namespace

uint32_t Crc32(ByteView data, uint32_t crc) {
  crc = ~crc;
  for (uint8_t b : data) crc = kCrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

namespace {

// A version-2 entry header (magic, seq, body length, the header's CRC) starts at `pos`.
bool EntryHeaderAt(const Bytes& journal, size_t pos) {
  return journal.size() - pos >= kEntryHeader + 4 && HasMagic(journal, pos, kEntryMagic) &&
         Crc32(ByteView(&journal[pos], kEntryHeader)) == ReadU32(&journal[pos + kEntryHeader]);
}

// Some version-2 entry header starts after `pos`.
bool EntryHeaderAfter(const Bytes& journal, size_t pos) {
  for (size_t p = pos + 1; p + kEntryHeader + 4 <= journal.size(); ++p) {
    if (EntryHeaderAt(journal, p)) return true;
  }
  return false;
}

}  // namespace

PersistentStore::PersistentStore(std::shared_ptr<StorageMedium> medium, Options options)
    : medium_(std::move(medium)), options_(options), capacity_(options.capacity) {
  Open();
}

bool PersistentStore::OpenError(std::string message) {
  open_error_ = std::move(message);
  failure_ = open_error_;
  power_lost_ = true;
  committed_.clear();
  committed_keys_.clear();
  committed_used_ = 0;
  return false;
}

// docs/card-image-format.md, "Opening": every check runs before anything is written.
void PersistentStore::Open() {
  const std::string img = medium_->NameOf(MediumFile::kImage);
  const std::string jnl = medium_->NameOf(MediumFile::kJournal);
  const std::string kWhatToDo =
      " The card refuses to start so that nothing is lost silently: restore the state directory "
      "from a backup, or move it away to start a fresh card.";
  Bytes image;
  Bytes journal;
  const MediumRead ri = medium_->Read(MediumFile::kImage, image);
  const MediumRead rj = ri == MediumRead::kFailed ? MediumRead::kFailed
                                                  : medium_->Read(MediumFile::kJournal, journal);
  if (ri == MediumRead::kFailed || rj == MediumRead::kFailed) {
    OpenError("cannot read the card's memory: " + medium_->last_error());
    return;
  }
  if (ri == MediumRead::kMissing && rj == MediumRead::kMissing) {
    if (!CreateCard()) OpenError("cannot create a new card: " + medium_->last_error());
    return;
  }
  Recovery rec;
  uint16_t version = kImageVersion;
  uint32_t image_crc = 0;
  if (ri == MediumRead::kMissing) {
    // Version 1 made the image only at the first checkpoint; version 2 makes it first of all.
    if (!HasMagic(journal, 0, kEntryMagic)) {
      OpenError(img + " is missing but " + jnl +
                " is there: the card's image was deleted, and the journal alone does not hold "
                "the card." +
                kWhatToDo);
      return;
    }
    version = 1;
  } else if (image.empty()) {
    OpenError(img + " is empty (0 bytes); the card never writes an empty image." + kWhatToDo);
    return;
  } else {
    if (!LoadImage(image, version)) {
      OpenError(img + (version > kImageVersion
                           ? " is of format version " + std::to_string(version) +
                                 ", newer than this dmcard reads (" +
                                 std::to_string(kImageVersion) + "); use a newer dmcard."
                           : " is damaged (bad magic, length or checksum)." + kWhatToDo));
      return;
    }
    image_crc = ImageCrc(image);
  }
  if (rj == MediumRead::kMissing) {
    // A version-2 card is made image first, then journal: a crash between leaves an empty image.
    const bool interrupted_creation = version == kImageVersion && seq_ == 0 && committed_.empty();
    if (version == kImageVersion && !interrupted_creation) {
      OpenError(jnl + " is missing beside " + img + " (which holds transactions up to #" +
                std::to_string(seq_) + "): the journal was deleted." + kWhatToDo);
      return;
    }
    rec.untied = true;
  } else if (HasMagic(journal, 0, kJournalMagic)) {
    if (version != kImageVersion && IsMigrationJournal(journal)) {
      // A version-1 card without journal entries, its migration cut between its two writes:
      // the new journal (no entries) is there, the version-2 image is not (Checkpoint).
      rec.migrate = true;
    } else if (version != kImageVersion) {
      OpenError(jnl + " is of format version " + std::to_string(kImageVersion) + " but " + img +
                " of version 1: they do not belong together." + kWhatToDo);
      return;
    } else if (!ReplayJournal(journal, image_crc, rec)) {
      return;
    }
  } else if (journal.empty() ? version == 1 : HasMagic(journal, 0, kEntryMagic)) {
    // Version-1 journal (no header), or a crash in the middle of migrating one.
    if (!ReplayJournalV1(journal, rec)) return;
    rec.migrate = true;
  } else {
    OpenError(jnl +
              (journal.empty() ? " is empty (0 bytes); the card never writes an empty journal."
                               : " does not start with a journal header: it is damaged.") +
              kWhatToDo);
    return;
  }
  if (version == kImageVersion && seq_ < medium_->acknowledged()) {
    // Whatever the path above (a creation or a migration cut short), the card never opens
    // behind card.lock's witness (which came with version 2).
    OpenError(jnl + " ends at transaction #" + std::to_string(seq_) +
              " but the card acknowledged #" + std::to_string(medium_->acknowledged()) +
              ": the journal was cut short or replaced by an older one, and acknowledged "
              "transactions are missing. Restore the state directory from a backup; if you "
              "restored an older backup on purpose, delete card.lock first.");
    return;
  }
  if (version == 1) {
    // Nothing of the old journal to keep: the migration writes the new journal first.
    journal_first_ = journal.empty() || HasMagic(journal, 0, kJournalMagic);
    rec.migrate = true;
    rec.note = "migrated the card from format version 1 to version " +
               std::to_string(kImageVersion) + (rec.note.empty() ? "" : "; " + rec.note);
  }
  open_note_ = rec.note;
  // The state is known good. Cutting a torn tail, tying the journal to the image and migrating
  // rewrite the files; that waits for the first commit, so a card that is only read writes
  // nothing.
  rewrite_pending_ = rec.torn_tail || rec.untied || rec.migrate;
}

bool PersistentStore::CreateCard() {
  capacity_ = options_.capacity;
  seq_ = 0;
  // Image first, then the journal tied to it: the journal's presence marks a card that exists.
  const Bytes image = SerializeImage();
  ++physical_writes_;
  if (!medium_->Replace(MediumFile::kImage, image)) return false;
  ++physical_writes_;
  if (!medium_->Replace(MediumFile::kJournal, JournalHeader(ImageCrc(image)))) return false;
  medium_->RecordAcknowledged(0);  // a witness left by an earlier card in this directory
  journal_bytes_ = 0;
  return true;
}

bool PersistentStore::IsMigrationJournal(const Bytes& journal) const {
  // A version-2 header alone, sound, whose base is the version-1 image's sequence number.
  return journal.size() == kJournalHeader &&
         Crc32(ByteView(journal).first(kJournalHeader - 4)) ==
             ReadU32(&journal[kJournalHeader - 4]) &&
         ReadU16(&journal[4]) == kImageVersion && ReadU64(&journal[8]) == seq_;
}

bool PersistentStore::LoadImage(const Bytes& image, uint16_t& version) {
  version = 0;
  if (image.size() < kImageHeader + 4 || !HasMagic(image, 0, kImageMagic)) return false;
  const size_t body = image.size() - 4;
  if (Crc32(ByteView(image).first(body)) != ReadU32(&image[body])) return false;
  Reader r{image};
  r.pos = 4;
  version = r.U16();
  if (version != 1 && version != kImageVersion) return false;
  r.U16();  // reserved
  capacity_ = r.U32();
  seq_ = r.U64();
  const uint32_t count = r.U32();
  for (uint32_t i = 0; i < count && r.ok; ++i) {
    std::string key = r.Str(r.U16());
    Bytes value = r.Blob(r.U32());
    if (!r.ok) break;
    committed_used_ += RecordCost(key, value.size());
    committed_keys_.insert(key);
    committed_.emplace(std::move(key), std::move(value));
  }
  return r.ok && r.pos == body;
}

Bytes PersistentStore::SerializeImage() const {
  Bytes out(kImageMagic, kImageMagic + 4);
  AppendU16(out, kImageVersion);
  AppendU16(out, 0);
  AppendU32(out, capacity_);
  AppendU64(out, seq_);
  AppendU32(out, static_cast<uint32_t>(committed_keys_.size()));
  for (const std::string& key : committed_keys_) {
    const Bytes& value = committed_.find(key)->second;
    AppendU16(out, static_cast<uint16_t>(key.size()));
    out.insert(out.end(), key.begin(), key.end());
    AppendU32(out, static_cast<uint32_t>(value.size()));
    Append(out, value);
  }
  AppendU32(out, Crc32(out));
  return out;
}

Bytes PersistentStore::JournalHeader(uint32_t image_crc) const {
  Bytes h(kJournalMagic, kJournalMagic + 4);
  AppendU16(h, kImageVersion);
  AppendU16(h, 0);
  AppendU64(h, seq_);
  AppendU32(h, image_crc);
  AppendU32(h, Crc32(h));
  return h;
}

// Applies the operations of one entry body [pos, pos + len) to the committed state. False (with
// `why`) when the body does not decode or an operation does not fit the state it extends.
bool PersistentStore::ReplayBody(const Bytes& journal, size_t pos, size_t len, std::string& why) {
  Reader r{journal};
  r.pos = pos;
  const size_t end = pos + len;
  while (r.ok && r.pos < end) {
    Op op{};
    const uint8_t kind = r.U8();
    if (kind < 1 || kind > 3) {
      why = "an operation of unknown kind " + std::to_string(kind);
      return false;
    }
    op.kind = static_cast<OpKind>(kind);
    op.key = r.Str(r.U16());
    if (op.kind == OpKind::kPatch) op.offset = r.U32();
    if (op.kind != OpKind::kErase) op.data = r.Blob(r.U32());
    if (!r.ok || r.pos > end) break;
    if (!Apply(op)) {
      why = "an operation on record '" + op.key + "' that does not fit the state before it";
      return false;
    }
  }
  if (!r.ok || r.pos != end) {
    why = "a body that does not decode";
    return false;
  }
  return true;
}

// Version 2 (docs/card-image-format.md, "Opening"): header tied to the image, then committed
// transactions numbered base+1, base+2, ... with nothing after them but at most one torn one.
bool PersistentStore::ReplayJournal(const Bytes& journal, uint32_t image_crc, Recovery& rec) {
  const std::string img = medium_->NameOf(MediumFile::kImage);
  const std::string jnl = medium_->NameOf(MediumFile::kJournal);
  const std::string kWhatToDo =
      " The card refuses to start so that nothing is lost silently: restore the state directory "
      "from a backup, or move it away to start a fresh card.";
  if (journal.size() < kJournalHeader ||
      Crc32(ByteView(journal).first(kJournalHeader - 4)) != ReadU32(&journal[kJournalHeader - 4]) ||
      ReadU16(&journal[4]) != kImageVersion) {
    return OpenError(jnl + " has a damaged header." + kWhatToDo);
  }
  const uint64_t base = ReadU64(&journal[8]);
  const uint32_t base_crc = ReadU32(&journal[16]);
  if (base > seq_) {
    return OpenError(img + " is older than " + jnl + ": the image holds transactions up to #" +
                     std::to_string(seq_) + ", the journal continues from #" +
                     std::to_string(base + 1) +
                     ", so transactions in between are missing. Put "
                     "back the card.img that belongs with this journal, or restore both files "
                     "from one backup.");
  }
  if (base == seq_ && base_crc != image_crc) {
    return OpenError(jnl + " was not started beside this " + img +
                     " (the image checksums differ): the two files belong to different cards or "
                     "backups." +
                     kWhatToDo);
  }
  rec.untied = base != seq_;  // a checkpoint replaced the image but not yet the journal
  uint64_t expected = base + 1;
  size_t pos = kJournalHeader;
  while (pos < journal.size()) {
    const size_t left = journal.size() - pos;
    const std::string at = " at byte " + std::to_string(pos);
    if (left < kEntryHeader + 4) {
      // The file ends inside an entry header: a crash cut this append short.
      rec.torn_tail = true;
      break;
    }
    // A transaction is one append (WriteTransaction): a power cut in it can leave any of its
    // blocks unwritten, so the last transaction may fail a checksum rather than end early. That
    // is a torn tail only if no acknowledged transaction can be there (card.lock's witness) and
    // nothing follows it; anywhere else a failed checksum is damage.
    const bool may_be_torn = expected > medium_->acknowledged();
    if (!EntryHeaderAt(journal, pos)) {
      if (may_be_torn && !EntryHeaderAfter(journal, pos)) {
        rec.torn_tail = true;
        break;
      }
      return OpenError(jnl + ": the entry" + at + " (transaction #" + std::to_string(expected) +
                       ") has a damaged header." + kWhatToDo);
    }
    const uint64_t seq = ReadU64(&journal[pos + 4]);
    const size_t body_len = ReadU32(&journal[pos + 12]);
    if (seq != expected) {
      return OpenError(jnl + ": the entry" + at + " is transaction #" + std::to_string(seq) +
                       " where #" + std::to_string(expected) + " belongs." + kWhatToDo);
    }
    const size_t body = pos + kEntryHeader + 4;
    const size_t entry_len = kEntryHeader + 4 + body_len + 4;
    if (left < entry_len + kMarkerSize) {
      // Entry or commit marker cut short: the last transaction was never acknowledged.
      rec.torn_tail = true;
      break;
    }
    const size_t m = pos + entry_len;
    const bool body_ok = Crc32(ByteView(&journal[pos], entry_len - 4)) == ReadU32(&journal[m - 4]);
    const bool marker_ok = HasMagic(journal, m, kMarkerMagic) && ReadU64(&journal[m + 4]) == seq &&
                           Crc32(ByteView(&journal[m], 12)) == ReadU32(&journal[m + 12]);
    if ((!body_ok || !marker_ok) && may_be_torn && m + kMarkerSize == journal.size()) {
      rec.torn_tail = true;
      break;
    }
    if (!body_ok) {
      return OpenError(jnl + ": committed transaction #" + std::to_string(seq) + at +
                       " is damaged (checksum mismatch)." + kWhatToDo);
    }
    if (!marker_ok) {
      return OpenError(jnl + ": the commit marker of transaction #" + std::to_string(seq) +
                       " at byte " + std::to_string(m) + " is damaged." + kWhatToDo);
    }
    if (seq > seq_) {
      std::string why;
      if (!ReplayBody(journal, body, body_len, why)) {
        return OpenError(jnl + ": transaction #" + std::to_string(seq) + at + " holds " + why +
                         "." + kWhatToDo);
      }
      seq_ = seq;
    }
    ++expected;
    pos = m + kMarkerSize;
  }
  if (expected - 1 < medium_->acknowledged()) {
    return OpenError(jnl + " ends at transaction #" + std::to_string(expected - 1) +
                     " but the card acknowledged #" + std::to_string(medium_->acknowledged()) +
                     ": the journal was cut short or replaced by an older one, and acknowledged "
                     "transactions are missing. Restore the state directory from a backup; if "
                     "you restored an older backup on purpose, delete card.lock first.");
  }
  if (expected - 1 < seq_) {
    return OpenError(jnl + " is older than " + img + ": it ends at transaction #" +
                     std::to_string(expected - 1) + " but the image holds #" +
                     std::to_string(seq_) +
                     ". Put back the card.jnl that belongs with this "
                     "image, or restore both files from one backup.");
  }
  journal_bytes_ = static_cast<uint32_t>(pos - kJournalHeader);
  if (rec.torn_tail) {
    rec.note = jnl + ": dropped a torn last transaction (" + std::to_string(journal.size() - pos) +
               " bytes at byte " + std::to_string(pos) +
               ") left by an interrupted write; it was never acknowledged";
  }
  return true;
}

// Version 1 had no journal header and no header checksum: replay stops at the first entry that
// is not whole, and that is only accepted as a torn tail if no other entry starts after it.
bool PersistentStore::ReplayJournalV1(const Bytes& journal, Recovery& rec) {
  const std::string jnl = medium_->NameOf(MediumFile::kJournal);
  size_t pos = 0;
  while (pos < journal.size()) {
    bool whole = false;
    if (HasMagic(journal, pos, kEntryMagic) && journal.size() - pos >= kEntryHeader) {
      const uint64_t seq = ReadU64(&journal[pos + 4]);
      const size_t body_len = ReadU32(&journal[pos + 12]);
      const size_t entry_len = kEntryHeader + body_len + 4;
      const size_t m = pos + entry_len;
      whole = journal.size() - pos >= entry_len + kMarkerSize &&
              Crc32(ByteView(&journal[pos], kEntryHeader + body_len)) ==
                  ReadU32(&journal[pos + kEntryHeader + body_len]) &&
              HasMagic(journal, m, kMarkerMagic) && ReadU64(&journal[m + 4]) == seq &&
              Crc32(ByteView(&journal[m], 12)) == ReadU32(&journal[m + 12]);
      if (whole) {
        if (seq > seq_) {
          std::string why;
          if (!ReplayBody(journal, pos + kEntryHeader, body_len, why)) {
            return OpenError(jnl + ": transaction #" + std::to_string(seq) + " holds " + why +
                             ". Restore the state directory from a backup.");
          }
          seq_ = seq;
        }
        pos = m + kMarkerSize;
      }
    }
    if (!whole) break;
  }
  if (pos < journal.size()) {
    const auto rest = ByteView(journal).subspan(pos + 1);
    const auto found = std::search(rest.begin(), rest.end(), kEntryMagic, kEntryMagic + 4);
    if (found != rest.end()) {
      return OpenError(jnl + " (format version 1): the entry at byte " + std::to_string(pos) +
                       " is damaged and more entries follow it. Restore the state directory from "
                       "a backup, or move it away to start a fresh card.");
    }
    rec.torn_tail = true;
    rec.note = "dropped a torn last transaction of the version-1 journal (" +
               std::to_string(journal.size() - pos) + " bytes at byte " + std::to_string(pos) + ")";
  }
  return true;
}

bool PersistentStore::Apply(const Op& op) {
  switch (op.kind) {
    case OpKind::kPut: {
      if (op.key.empty()) return false;
      auto it = committed_.find(op.key);
      if (it != committed_.end()) committed_used_ -= RecordCost(op.key, it->second.size());
      committed_used_ += RecordCost(op.key, op.data.size());
      if (it == committed_.end()) committed_keys_.insert(op.key);
      committed_[op.key] = op.data;
      return true;
    }
    case OpKind::kErase: {
      auto it = committed_.find(op.key);
      if (it == committed_.end()) return false;
      committed_used_ -= RecordCost(op.key, it->second.size());
      committed_keys_.erase(op.key);
      committed_.erase(it);
      return true;
    }
    case OpKind::kPatch: {
      auto it = committed_.find(op.key);
      if (it == committed_.end() || size_t{op.offset} + op.data.size() > it->second.size()) {
        return false;
      }
      std::copy(op.data.begin(), op.data.end(), it->second.begin() + op.offset);
      return true;
    }
  }
  return false;
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
  savepoints_.clear();
  pending_delta_ = 0;
  in_transaction_ = false;
}

PersistentStore::SavepointId PersistentStore::Savepoint() {
  if (!in_transaction_) return savepoints_.size();
  savepoints_.push_back(Snapshot{ops_.size(), {}});
  return savepoints_.size() - 1;
}

void PersistentStore::Release(SavepointId sp) {
  // Every savepoint remembers, on its own, the keys written since it was taken (Remember): the
  // ones before sp need nothing from those after it.
  if (in_transaction_ && sp < savepoints_.size()) savepoints_.resize(sp);
}

// Undo log: before a key's first write after a savepoint, its pending state then is kept (a
// savepoint costs what is written after it, not a copy of the transaction).
void PersistentStore::Remember(std::string_view key) {
  for (Snapshot& s : savepoints_) {
    if (s.before.find(key) != s.before.end()) continue;
    auto it = pending_.find(key);
    s.before.emplace(std::string(key), it == pending_.end() ? std::optional<Pending>()
                                                            : std::optional<Pending>(it->second));
  }
}

void PersistentStore::RollbackTo(SavepointId sp) {
  if (!in_transaction_ || sp >= savepoints_.size()) return;
  // Every key written since `sp` is in its log (it was active); later savepoints go.
  savepoints_.resize(sp + 1);
  Snapshot& s = savepoints_.back();
  for (auto& [key, before] : s.before) {
    if (before) {
      pending_[key] = std::move(*before);
    } else if (auto it = pending_.find(key); it != pending_.end()) {
      pending_.erase(it);
    }
  }
  s.before.clear();
  ops_.resize(s.ops);
  pending_delta_ = PendingDelta(pending_);
}

int64_t PersistentStore::PendingDelta(const StringMap<Pending>& pending) const {
  int64_t delta = 0;
  for (const auto& [key, p] : pending) {
    if (!p.erased) delta += RecordCost(key, p.value.size());
    auto it = committed_.find(key);
    if (it != committed_.end()) delta -= RecordCost(key, it->second.size());
  }
  return delta;
}

StoreStatus PersistentStore::PutDurable(std::string_view key, ByteView value) {
  if (key.empty() || key.size() > 0xFFFF) return StoreStatus::kOutOfRange;
  if (power_lost_) return StoreStatus::kPowerLost;
  if (!in_transaction_) return StoreStatus::kNoTransaction;
  // Room as for a Put in this transaction, so that its other writes still fit at commit.
  const Bytes* current = Get(key);
  const int64_t old_cost = current ? RecordCost(key, current->size()) : 0;
  if (int64_t{committed_used_} + pending_delta_ - old_cost + RecordCost(key, value.size()) >
      int64_t{capacity_}) {
    return StoreStatus::kFull;
  }
  const Op op{OpKind::kPut, std::string(key), 0, Bytes(value.begin(), value.end())};
  if (StoreStatus s = WriteTransaction({op}); s != StoreStatus::kOk) return s;
  // The record's earlier writes in the open transaction are superseded, and no savepoint
  // brings them back.
  if (auto it = pending_.find(key); it != pending_.end()) pending_.erase(it);
  for (Snapshot& s : savepoints_) {
    if (auto it = s.before.find(key); it != s.before.end()) s.before.erase(it);
    s.ops -= static_cast<size_t>(std::count_if(ops_.begin(),
                                               ops_.begin() + static_cast<ptrdiff_t>(s.ops),
                                               [&key](const Op& o) { return o.key == key; }));
  }
  std::erase_if(ops_, [&key](const Op& o) { return o.key == key; });
  pending_delta_ = PendingDelta(pending_);
  if (CheckpointDue()) return Checkpoint();
  return StoreStatus::kOk;
}

StoreStatus PersistentStore::Fail() {
  power_lost_ = true;
  failure_ = medium_->last_error();
  if (failure_.empty()) failure_ = "a write to the card's memory failed";
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
  Remember(key);
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
  Remember(key);
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
  Remember(key);
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
  if (StoreStatus s = WriteTransaction(ops_); s != StoreStatus::kOk) return s;
  Abort();
  if (CheckpointDue()) return Checkpoint();
  return StoreStatus::kOk;
}

StoreStatus PersistentStore::WriteTransaction(const std::vector<Op>& ops) {
  if (rewrite_pending_ && Checkpoint() != StoreStatus::kOk) return StoreStatus::kPowerLost;
  const uint64_t seq = seq_ + 1;
  Bytes entry(kEntryMagic, kEntryMagic + 4);
  AppendU64(entry, seq);
  AppendU32(entry, 0);  // body length, patched below
  AppendU32(entry, 0);  // header CRC, patched below
  for (const Op& op : ops) {
    entry.push_back(static_cast<uint8_t>(op.kind));
    AppendU16(entry, static_cast<uint16_t>(op.key.size()));
    entry.insert(entry.end(), op.key.begin(), op.key.end());
    if (op.kind == OpKind::kPatch) AppendU32(entry, op.offset);
    if (op.kind != OpKind::kErase) {
      AppendU32(entry, static_cast<uint32_t>(op.data.size()));
      Append(entry, op.data);
    }
  }
  const uint32_t body_len = static_cast<uint32_t>(entry.size() - kEntryHeader - 4);
  PutU32(&entry[12], body_len);
  PutU32(&entry[kEntryHeader], Crc32(ByteView(entry).first(kEntryHeader)));
  AppendU32(entry, Crc32(entry));
  Bytes marker(kMarkerMagic, kMarkerMagic + 4);
  AppendU64(marker, seq);
  AppendU32(marker, Crc32(marker));

  // One append, so one fdatasync per transaction (the physical floor). A power cut inside it is
  // recognised on opening by the checksums (ReplayJournal, "torn tail").
  Append(entry, marker);
  ++physical_writes_;
  if (!medium_->Append(MediumFile::kJournal, entry)) return Fail();

  for (const Op& op : ops) Apply(op);
  seq_ = seq;
  medium_->RecordAcknowledged(seq);
  journal_bytes_ += static_cast<uint32_t>(entry.size());
  ++commits_;
  return StoreStatus::kOk;
}

StoreStatus PersistentStore::Checkpoint() {
  // The image carries seq_, so journal entries it already holds are skipped on replay even if
  // the journal is never replaced by the second write below.
  const Bytes image = SerializeImage();
  if (journal_first_) {
    // Migrating a version-1 card whose journal holds no entry (empty or missing): the journal
    // first, so that a cut between the two writes leaves the version-1 image beside a journal
    // without entries that Open() recognizes (IsMigrationJournal), not a version-2 image beside
    // an empty journal, which is damage. (A version-1 journal with entries must stay until the
    // new image holds them: image first, as below.)
    ++physical_writes_;
    if (!medium_->Replace(MediumFile::kJournal, JournalHeader(ImageCrc(image)))) return Fail();
    ++physical_writes_;
    if (!medium_->Replace(MediumFile::kImage, image)) return Fail();
    journal_first_ = false;
  } else {
    ++physical_writes_;
    if (!medium_->Replace(MediumFile::kImage, image)) return Fail();
    ++physical_writes_;
    if (!medium_->Replace(MediumFile::kJournal, JournalHeader(ImageCrc(image)))) return Fail();
  }
  journal_bytes_ = 0;
  rewrite_pending_ = false;
  ++checkpoints_;
  return StoreStatus::kOk;
}

StoreStats PersistentStore::stats() const {
  StoreStats s;
  s.capacity = capacity_;
  s.used = used();
  s.records = static_cast<uint32_t>(Keys("").size());
  s.commits = commits_;
  s.physical_writes = physical_writes_;
  s.checkpoints = checkpoints_;
  s.journal_bytes = journal_bytes_;
  return s;
}

std::vector<std::string> PersistentStore::Keys(std::string_view prefix) const {
  std::set<std::string> keys;
  for (auto it = committed_keys_.lower_bound(prefix);
       it != committed_keys_.end() && std::string_view(*it).starts_with(prefix); ++it) {
    keys.insert(*it);
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
