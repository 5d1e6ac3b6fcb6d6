// What one applet sees of the card's persistent memory (runtime/persistent_store.h): the records
// of its own namespace, read-write; the namespaces another owner granted it, read-only; nothing
// else. "Keys are never readable" then rests on the view, not on nobody typing a key prefix.
//
// Record names stay absolute ("dm/n/./DMAcc", "fs/<AID>/ef/2F00"), so card images keep their
// names; the view only checks them. A namespace is a prefix ending in '/'. The runtime's own
// records ("card/...": global PINs, keys) belong to no applet; runtime services reach them
// through views of their own.
//
// A view is a small value (a pointer and the prefixes): build one per call, keep none. Every
// function mirrors the PersistentStore function of the same name; outside the view, reads find
// nothing and writes answer kOutOfScope.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/persistent_store.h"

namespace dmcard {

class StoreView {
 public:
  // The whole store, read-write: for the runtime, tools and tests (and the implicit conversion
  // that lets them hand a PersistentStore to code that takes a view).
  StoreView(PersistentStore& store);  // NOLINT(google-explicit-constructor): deliberate
  // `own` read-write, each of `granted` read-only.
  StoreView(PersistentStore& store, std::string own, std::vector<std::string> granted = {});

  // The namespace a read-only grant covers, added to this view.
  StoreView WithGrant(std::string prefix) const;
  // This view without write access (what a grant hands out).
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

  StoreStats stats() const { return store_->stats(); }
  bool in_transaction() const { return store_->in_transaction(); }
  bool power_lost() const { return store_->power_lost(); }

  bool MayRead(std::string_view key) const;
  bool MayWrite(std::string_view key) const;

 private:
  PersistentStore* store_;
  bool whole_ = false;
  bool writable_ = true;
  std::string own_;
  std::vector<std::string> granted_;
};

}  // namespace dmcard
