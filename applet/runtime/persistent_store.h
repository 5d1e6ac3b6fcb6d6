// Persistent memory of the card ("EEPROM"): named records with true transactions.
//
// Writes go to a pending set; Commit() makes the whole set durable at once through a redo
// journal (entry and commit marker in one append, one fdatasync), so a process killed or a power
// cut at any instant leaves the last committed state intact. The journal is folded into the card
// image (a checkpoint) when it grows past a threshold. Image and journal formats are documented in
// docs/card-image-format.md.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/bytes.h"
#include "runtime/storage_medium.h"
#include "runtime/store_status.h"

namespace dmcard {

// Usage statistics.
struct StoreStats {
  uint32_t capacity = 0;         // bytes of persistent memory on the card
  uint32_t used = 0;             // bytes in use, per-record overhead included
  uint32_t records = 0;          // number of records
  uint64_t commits = 0;          // durable commits since open
  uint64_t physical_writes = 0;  // medium writes since open
  uint64_t checkpoints = 0;      // journal folds into the image since open
  uint32_t journal_bytes = 0;    // current journal size
};

// Hash that lets unordered maps keyed by std::string be searched with a string_view.
struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringViewHash, std::equal_to<>>;

class PersistentStore {
 public:
  static constexpr uint32_t kDefaultCapacity = 64 * 1024;
  static constexpr uint32_t kRecordOverhead = 8;  // header bytes charged per record
  // Format version of the image and journal written (docs/card-image-format.md). Version 1
  // cards are read and migrated to version 2 when opened.
  static constexpr uint16_t kImageVersion = 2;

  struct Options {
    uint32_t capacity = kDefaultCapacity;  // used when the medium holds no image yet
    // Fold the journal into the image past this, or past half the bytes the records take.
    uint32_t checkpoint_journal_bytes = 32 * 1024;
  };

  // Opens the store on `medium`: creates a brand-new card when the medium holds neither file,
  // else checks image and journal against each other and replays the committed transactions
  // (docs/card-image-format.md, "Opening"). Damage, a missing or older file, or a medium failure
  // leave the store with `open_error()` set (naming the file and what to do) and refusing all
  // writes; nothing is written before the state is known good.
  PersistentStore(std::shared_ptr<StorageMedium> medium, Options options);

  // Why opening failed (empty when it did not).
  const std::string& open_error() const { return open_error_; }
  // What opening repaired or changed that the user should hear about (a torn last transaction
  // dropped, a version-1 card migrated); empty when nothing.
  const std::string& open_note() const { return open_note_; }
  bool power_lost() const { return power_lost_; }
  // Why the medium failed once power_lost() is set (the open error, or the failed write).
  const std::string& failure() const { return failure_; }

  // Reads see the transaction's own writes. The pointer stays valid until the next write or
  // commit/abort touching the same key.
  const Bytes* Get(std::string_view key) const;
  bool Contains(std::string_view key) const { return Get(key) != nullptr; }

  // Transactions. Writes are only accepted between Begin() and Commit()/Abort().
  bool in_transaction() const { return in_transaction_; }
  void Begin();
  StoreStatus Commit();  // durable; closes the transaction
  void Abort();          // true rollback of everything since Begin(); closes the transaction

  StoreStatus Put(std::string_view key, ByteView value);
  // Overwrites bytes [offset, offset + data.size()) of an existing record.
  StoreStatus Patch(std::string_view key, uint32_t offset, ByteView data);
  StoreStatus Erase(std::string_view key);

  // Nested savepoints inside the transaction: RollbackTo(sp) undoes every write made since
  // Savepoint() returned sp (and forgets the savepoints taken after it; sp itself stays usable).
  // Commit and Abort end them all. A savepoint outside a transaction, or an unknown one, does
  // nothing.
  using SavepointId = size_t;
  SavepointId Savepoint();
  void RollbackTo(SavepointId sp);
  // Keeps what was written since sp as part of the enclosing scope and forgets sp and the
  // savepoints taken after it (their writes stay undoable by the savepoints taken before sp).
  // A scope that succeeded releases its savepoint, so that a long transaction of many small
  // scopes (a tree import) does not keep one undo log per scope.
  void Release(SavepointId sp);

  // A write that is durable when it returns and stays even if the transaction is then aborted:
  // failure counters, sequence numbers, log entries (Java Card's non-transactional update, the
  // try counter of OwnerPIN). It is its own committed transaction on the medium; the record's
  // earlier writes in the open transaction are superseded, and no savepoint undoes it. Needs
  // an open transaction (the command's); the rest of that transaction stays pending.
  StoreStatus PutDurable(std::string_view key, ByteView value);

  // Everything about the store; `records` counts the keys (linear in their number).
  StoreStats stats() const;
  // Bytes in use (committed and pending) and the capacity: constant time, for checks made on
  // every write.
  uint32_t used() const { return static_cast<uint32_t>(int64_t{committed_used_} + pending_delta_); }
  uint32_t capacity() const { return capacity_; }
  // Sequence number of the last committed transaction (docs/card-image-format.md).
  uint64_t last_transaction() const { return seq_; }
  // Keys with the given prefix (committed view plus pending writes), sorted.
  std::vector<std::string> Keys(std::string_view prefix) const;

  // Serialized image of the committed state (current format), as the checkpoint writes it.
  Bytes SerializeImage() const;

 private:
  enum class OpKind : uint8_t { kPut = 1, kErase = 2, kPatch = 3 };
  struct Op {
    OpKind kind;
    std::string key;
    uint32_t offset;
    Bytes data;
  };
  struct Pending {
    bool erased = false;
    Bytes value;
  };

  // What opening found that makes it rewrite the files once the state is known good.
  struct Recovery {
    bool torn_tail = false;  // a torn last transaction to cut off
    bool untied = false;     // journal not started beside this image (crash mid-checkpoint)
    bool migrate = false;    // version-1 files
    std::string note;
  };
  void Open();
  bool CreateCard();
  bool LoadImage(const Bytes& image, uint16_t& version);
  // A version-2 journal header without entries beside the version-1 image just loaded: what a
  // migration cut between its two writes leaves (Checkpoint, journal_first_).
  bool IsMigrationJournal(const Bytes& journal) const;
  bool ReplayJournal(const Bytes& journal, uint32_t image_crc, Recovery& rec);
  bool ReplayJournalV1(const Bytes& journal, Recovery& rec);
  bool ReplayBody(const Bytes& journal, size_t pos, size_t len, std::string& why);
  bool Apply(const Op& op);
  bool OpenError(std::string message);
  Bytes JournalHeader(uint32_t image_crc) const;
  StoreStatus Checkpoint();
  // The journal has grown past the threshold, or past half of what the records take when that
  // is more: folding rewrites the whole image, so on a large card it waits until the journal has
  // grown in proportion, and each journal byte costs the same however much the card holds.
  bool CheckpointDue() const {
    return journal_bytes_ > std::max(options_.checkpoint_journal_bytes, committed_used_ / 2);
  }
  // Writes `ops` as one committed journal transaction and applies them to the committed state.
  StoreStatus WriteTransaction(const std::vector<Op>& ops);
  // Memory the pending writes `pending` add to the committed state (negative: they free some).
  int64_t PendingDelta(const StringMap<Pending>& pending) const;
  StoreStatus CheckRoom(std::string_view key, size_t new_size);
  uint32_t RecordCost(std::string_view key, size_t size) const {
    return static_cast<uint32_t>(kRecordOverhead + key.size() + size);
  }
  StoreStatus Fail();

  std::shared_ptr<StorageMedium> medium_;
  Options options_;
  uint32_t capacity_;
  uint64_t seq_ = 0;  // sequence number of the last committed transaction
  StringMap<Bytes> committed_;
  // The keys of committed_, sorted: Keys(prefix) finds a prefix's records without looking at the
  // others (a node's children among thousands of records), and the image is written in order.
  std::set<std::string, std::less<>> committed_keys_;
  uint32_t committed_used_ = 0;

  bool in_transaction_ = false;
  StringMap<Pending> pending_;
  std::vector<Op> ops_;
  int64_t pending_delta_ = 0;
  struct Snapshot {
    size_t ops = 0;  // ops_.size() when it was taken
    // Each key written since, with its pending state then (nullopt: none).
    StringMap<std::optional<Pending>> before;
  };
  void Remember(std::string_view key);
  std::vector<Snapshot> savepoints_;

  uint32_t journal_bytes_ = 0;
  bool rewrite_pending_ = false;  // opening found a torn tail, an untied journal or version 1
  bool journal_first_ = false;    // migrating a version-1 card whose journal holds no entry
  bool power_lost_ = false;
  std::string open_error_;
  std::string open_note_;
  std::string failure_;
  uint64_t commits_ = 0;
  uint64_t physical_writes_ = 0;
  uint64_t checkpoints_ = 0;
};

// CRC-32 (IEEE 802.3, reflected, as in zlib) used by the image and journal formats.
uint32_t Crc32(ByteView data, uint32_t crc = 0);

}  // namespace dmcard
