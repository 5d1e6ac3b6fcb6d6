#include "runtime/store_view.h"

namespace dmcard {

namespace {
bool Under(std::string_view key, std::string_view prefix) {
  return !prefix.empty() && key.size() > prefix.size() && key.substr(0, prefix.size()) == prefix;
}
}  // namespace

StoreView::StoreView(PersistentStore& store) : store_(&store), whole_(true) {}

StoreView::StoreView(PersistentStore& store, std::string own, std::vector<std::string> granted)
    : store_(&store), own_(std::move(own)), granted_(std::move(granted)) {}

StoreView StoreView::WithGrant(std::string prefix) const {
  StoreView v = *this;
  v.granted_.push_back(std::move(prefix));
  return v;
}

StoreView StoreView::ReadOnly() const {
  StoreView v = *this;
  v.writable_ = false;
  return v;
}

bool StoreView::MayWrite(std::string_view key) const {
  return writable_ && (whole_ || Under(key, own_));
}

bool StoreView::MayRead(std::string_view key) const {
  if (whole_ || Under(key, own_)) return true;
  for (const std::string& g : granted_) {
    if (Under(key, g)) return true;
  }
  return false;
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
