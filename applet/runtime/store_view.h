// What one applet sees of the card's persistent memory (runtime/persistent_store.h): the records
// of its own namespace and of the card's global reference data (PINs shared by applets),
// read-write; the namespaces another owner granted it, read-only; nothing else — not the key
// store's records, not another applet's. "Keys are never readable" then rests on the view, not on
// nobody typing a key prefix.
//
// Record names stay absolute ("dm/n/./DMAcc", "fs/<AID>/ef/2F00"), so card images keep their
// names; the view only checks them. A namespace is a prefix ending in '/'.
//
// A view is a small value: a pointer and views of prefixes owned by the Card (or, for tests, by
// the caller), at most kMaxPrefixes of each kind. Build one per call; do not keep one across a
// change of the card's applets or grants. Every function mirrors the PersistentStore function of
// the same name; outside the view, reads find nothing and writes answer kOutOfScope.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/persistent_store.h"

namespace dmcard {

class StoreView {
 public:
  static constexpr size_t kMaxPrefixes = 4;

  // The whole store, read-write: for the runtime, tools and tests (and the implicit conversion
  // that lets them hand a PersistentStore to code that takes a view).
  StoreView(PersistentStore& store);  // NOLINT(google-explicit-constructor): deliberate
  // `own` read-write (the prefix must outlive the view).
  StoreView(PersistentStore& store, std::string_view own);

  // This view plus `prefix` read-write (e.g. the card's global PIN records), or read-only (a
  // grant). Beyond kMaxPrefixes the prefix is not added.
  StoreView WithWritable(std::string_view prefix) const;
  StoreView WithGrant(std::string_view prefix) const;
  // The same, in place (what the card uses to build a view per call without copies).
  void AddWritable(std::string_view prefix) { write_.Add(prefix); }
  void AddGrant(std::string_view prefix) { read_.Add(prefix); }
  // This view without write access.
  StoreView ReadOnly() const;

  const Bytes* Get(std::string_view key) const;
  bool Contains(std::string_view key) const { return Get(key) != nullptr; }
  std::vector<std::string> Keys(std::string_view prefix) const;

  StoreStatus Put(std::string_view key, ByteView value);
  StoreStatus Patch(std::string_view key, uint32_t offset, ByteView data);
  StoreStatus Erase(std::string_view key);
  StoreStatus PutDurable(std::string_view key, ByteView value);
  PersistentStore::SavepointId Savepoint() { return store_->Savepoint(); }
  void RollbackTo(PersistentStore::SavepointId sp) { store_->RollbackTo(sp); }
  void Release(PersistentStore::SavepointId sp) { store_->Release(sp); }

  StoreStats stats() const { return store_->stats(); }
  uint32_t used() const { return store_->used(); }
  uint32_t capacity() const { return store_->capacity(); }
  bool in_transaction() const { return store_->in_transaction(); }
  bool power_lost() const { return store_->power_lost(); }

  bool MayRead(std::string_view key) const;
  bool MayWrite(std::string_view key) const;

 private:
  struct Prefixes {
    std::array<std::string_view, kMaxPrefixes> at{};
    size_t count = 0;
    void Add(std::string_view p) {
      if (count < kMaxPrefixes) at[count++] = p;
    }
    bool Cover(std::string_view key) const;
  };
  PersistentStore* store_;
  bool whole_ = false;
  bool writable_ = true;
  Prefixes write_;  // read-write
  Prefixes read_;   // read-only grants
};

}  // namespace dmcard
