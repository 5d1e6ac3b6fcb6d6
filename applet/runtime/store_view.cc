#include "runtime/store_view.h"

namespace dmcard {

bool StoreView::Prefixes::Cover(std::string_view key) const {
  for (size_t i = 0; i < count; ++i) {
    const std::string_view p = at[i];
    if (!p.empty() && key.size() > p.size() && key.substr(0, p.size()) == p) return true;
  }
  return false;
}

StoreView::StoreView(PersistentStore& store) : store_(&store), whole_(true) {}

StoreView::StoreView(PersistentStore& store, std::string_view own) : store_(&store) {
  write_.Add(own);
}

StoreView StoreView::WithWritable(std::string_view prefix) const {
  StoreView v = *this;
  v.write_.Add(prefix);
  return v;
}

StoreView StoreView::WithGrant(std::string_view prefix) const {
  StoreView v = *this;
  v.read_.Add(prefix);
  return v;
}

StoreView StoreView::ReadOnly() const {
  StoreView v = *this;
  v.writable_ = false;
  return v;
}

bool StoreView::MayWrite(std::string_view key) const {
  return writable_ && (whole_ || write_.Cover(key));
}

bool StoreView::MayRead(std::string_view key) const {
  return whole_ || write_.Cover(key) || read_.Cover(key);
}

const Bytes* StoreView::Get(std::string_view key) const {
  return MayRead(key) ? store_->Get(key) : nullptr;
}

std::vector<std::string> StoreView::Keys(std::string_view prefix) const {
  std::vector<std::string> keys = store_->Keys(prefix);
  std::erase_if(keys, [this](const std::string& k) { return !MayRead(k); });
  return keys;
}

StoreStatus StoreView::Put(std::string_view key, ByteView value) {
  return MayWrite(key) ? store_->Put(key, value) : StoreStatus::kOutOfScope;
}

StoreStatus StoreView::Patch(std::string_view key, uint32_t offset, ByteView data) {
  return MayWrite(key) ? store_->Patch(key, offset, data) : StoreStatus::kOutOfScope;
}

StoreStatus StoreView::Erase(std::string_view key) {
  return MayWrite(key) ? store_->Erase(key) : StoreStatus::kOutOfScope;
}

StoreStatus StoreView::PutDurable(std::string_view key, ByteView value) {
  return MayWrite(key) ? store_->PutDurable(key, value) : StoreStatus::kOutOfScope;
}

}  // namespace dmcard
