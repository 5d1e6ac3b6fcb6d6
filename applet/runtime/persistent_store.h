// Persistent memory of the card ("EEPROM"): named records with true transactions.
//
// Writes go to a pending set; Commit() makes the whole set durable at once through a redo
// journal (entry, then commit marker), so a process killed at any instant leaves the last
// committed state intact. The journal is folded into the card image (a checkpoint) when it
// grows past a threshold. Image and journal formats are documented in docs/card-image-format.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/bytes.h"
#include "runtime/storage_medium.h"

namespace dmcard {

enum class StoreStatus {
  kOk,
  kFull,           // the write would exceed the capacity (answered 6A84)
  kNoTransaction,  // write outside Begin()/Commit()
  kOutOfRange,     // Patch beyond the end of the record
  kNotFound,       // Patch/Erase of a missing record
  kPowerLost,      // the medium failed: the card has lost power and must be reopened
};

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
  static constexpr uint16_t kImageVersion = 1;

  struct Options {
    uint32_t capacity = kDefaultCapacity;           // used when the medium holds no image yet
    uint32_t checkpoint_journal_bytes = 32 * 1024;  // fold the journal into the image past this
  };

  // Opens the store on `medium`, recovering committed journal entries. On a medium failure or a
  // corrupt image the store is returned with `open_error()` set and refuses all writes.
  PersistentStore(std::shared_ptr<StorageMedium> medium, Options options);

  // Why opening failed (empty when it did not).
  const std::string& open_error() const { return open_error_; }
  bool power_lost() const { return power_lost_; }

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

  StoreStats stats() const;
  // Keys with the given prefix (committed view plus pending writes), sorted.
  std::vector<std::string> Keys(std::string_view prefix) const;

  // Serialized image of the committed state (format v1), as the checkpoint writes it.
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

  bool LoadImage(const Bytes& image);
  void ReplayJournal(const Bytes& journal, bool& had_content);
  void Apply(const Op& op);
  StoreStatus Checkpoint();
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
  uint32_t committed_used_ = 0;

  bool in_transaction_ = false;
  StringMap<Pending> pending_;
  std::vector<Op> ops_;
  int64_t pending_delta_ = 0;

  uint32_t journal_bytes_ = 0;
  bool power_lost_ = false;
  std::string open_error_;
  uint64_t commits_ = 0;
  uint64_t physical_writes_ = 0;
  uint64_t checkpoints_ = 0;
};

// CRC-32 (IEEE 802.3, reflected, as in zlib) used by the image and journal formats.
uint32_t Crc32(ByteView data, uint32_t crc = 0);

}  // namespace dmcard
