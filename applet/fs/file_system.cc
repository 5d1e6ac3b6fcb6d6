#include "fs/file_system.h"

#include <algorithm>
#include <set>

namespace dmcard::fs {

namespace {

std::string FidHex(uint16_t fid) {
  const uint8_t b[2] = {static_cast<uint8_t>(fid >> 8), static_cast<uint8_t>(fid)};
  return ToHex(ByteView(b, 2));
}

}  // namespace

bool AccessCondition::Satisfied(const SecurityState* security) const {
  switch (kind) {
    case Kind::kAlways:
      return true;
    case Kind::kNever:
      return false;
    case Kind::kPin:
      return security != nullptr && security->pin_verified(pin);
    case Kind::kPrincipal:
      return security != nullptr && !principal.empty() && security->principal == principal;
  }
  return false;
}

FileSpec FileSpec::Mf(std::vector<FileSpec> children) {
  FileSpec s;
  s.children = std::move(children);
  return s;
}

FileSpec FileSpec::Df(uint16_t fid, Bytes name, std::vector<FileSpec> children) {
  FileSpec s;
  s.fid = fid;
  s.df_name = std::move(name);
  s.children = std::move(children);
  return s;
}

FileSpec FileSpec::Transparent(uint16_t fid, uint16_t size, Bytes initial) {
  FileSpec s;
  s.type = FileType::kTransparent;
  s.fid = fid;
  s.size = size;
  s.initial = std::move(initial);
  return s;
}

FileSpec FileSpec::LinearFixed(uint16_t fid, uint16_t record_size, uint8_t record_count,
                               std::vector<Bytes> records) {
  FileSpec s;
  s.type = FileType::kLinearFixed;
  s.fid = fid;
  s.record_size = record_size;
  s.record_count = record_count;
  s.initial_records = std::move(records);
  return s;
}

FileSpec FileSpec::Generated(uint16_t fid, std::shared_ptr<const EfContentSource> source,
                             uint16_t record_size) {
  FileSpec s;
  s.type = record_size > 0 ? FileType::kLinearFixed : FileType::kTransparent;
  s.fid = fid;
  s.record_size = record_size;
  s.source = std::move(source);
  return s;
}

FileSpec FileSpec::WithSfi(uint8_t short_id) && {
  sfi = short_id;
  return std::move(*this);
}

FileSpec FileSpec::WithAccess(AccessCondition read, AccessCondition update) && {
  access.read = std::move(read);
  access.update = std::move(update);
  return std::move(*this);
}

FileSpec FileSpec::WithName(Bytes name) && {
  df_name = std::move(name);
  return std::move(*this);
}

FileSystem::FileSystem(FileSpec mf, std::string key_prefix) : prefix_(std::move(key_prefix)) {
  Flatten(std::move(mf), kNone, "");
  Validate();
}

void FileSystem::Flatten(FileSpec spec, Id parent, const std::string& path_hex) {
  const Id id = static_cast<Id>(nodes_.size());
  std::vector<FileSpec> children = std::move(spec.children);
  spec.children.clear();
  const std::string path = parent == kNone ? "" : path_hex + FidHex(spec.fid);
  Node node;
  node.parent = parent;
  if (!spec.is_df() && !spec.source) node.key = prefix_ + path;
  node.spec = std::move(spec);
  nodes_.push_back(std::move(node));
  if (parent != kNone) nodes_[static_cast<size_t>(parent)].children.push_back(id);
  for (FileSpec& child : children) Flatten(std::move(child), id, path);
  // An EF given children is invalid; remember it so Validate() can say so.
  if (!nodes_[static_cast<size_t>(id)].spec.is_df() && !children.empty()) {
    Fail(id, "an EF cannot have children");
  }
}

void FileSystem::Fail(Id id, const std::string& why) {
  if (!error_.empty()) return;
  std::string path = "3F00";
  for (uint16_t fid : PathOf(id)) path += "/" + FidHex(fid);
  error_ = path + ": " + why;
}

void FileSystem::Validate() {
  const FileSpec& mf = spec(kMf);
  if (!mf.is_df() || mf.fid != kMfFid) Fail(kMf, "the root must be a DF with FID 3F00");
  for (Id id = 0; id < static_cast<Id>(nodes_.size()); ++id) {
    const FileSpec& s = spec(id);
    if (id != kMf && (s.fid == kMfFid || s.fid == 0x3FFF || s.fid == 0xFFFF ||
                      s.fid == kCurrentApplicationFid)) {
      Fail(id, "reserved FID");
    }
    if (s.is_df()) {
      if (s.df_name.size() > kMaxDfNameLength) Fail(id, "DF name longer than 16 bytes");
      if (s.sfi != 0 || s.source || !s.initial.empty() || !s.initial_records.empty()) {
        Fail(id, "a DF has no SFI, source or contents");
      }
      std::set<uint16_t> fids;
      std::set<uint8_t> sfis;
      for (Id c : children(id)) {
        const FileSpec& cs = spec(c);
        if (!fids.insert(cs.fid).second) Fail(c, "FID not unique in its DF");
        if (cs.fid == s.fid) Fail(c, "FID equal to its parent's");
        if (cs.sfi != 0 && !sfis.insert(cs.sfi).second) Fail(c, "SFI not unique in its DF");
      }
      continue;
    }
    if (!s.df_name.empty()) Fail(id, "an EF has no DF name");
    if (s.sfi > 30) Fail(id, "SFI outside 1..30");
    if (s.type == FileType::kTransparent) {
      if (s.initial.size() > s.size) Fail(id, "initial contents larger than the file");
      continue;
    }
    if (s.record_size == 0) Fail(id, "record size 0");
    if (s.source) continue;
    if (s.record_count == 0 || s.record_count > kMaxRecords)
      Fail(id, "record count outside 1..254");
    if (s.initial_records.size() > s.record_count) Fail(id, "more initial records than records");
    for (const Bytes& r : s.initial_records) {
      if (r.size() > s.record_size) Fail(id, "initial record larger than the record size");
    }
  }
}

FileSystem::Id FileSystem::Child(Id df, uint16_t fid) const {
  for (Id c : children(df)) {
    if (spec(c).fid == fid) return c;
  }
  return kNone;
}

FileSystem::Id FileSystem::ChildBySfi(Id df, uint8_t sfi) const {
  if (sfi == 0) return kNone;
  for (Id c : children(df)) {
    if (!is_df(c) && spec(c).sfi == sfi) return c;
  }
  return kNone;
}

FileSystem::Id FileSystem::FindByFid(Id current_df, uint16_t fid) const {
  if (fid == kMfFid) return kMf;
  if (spec(current_df).fid == fid) return current_df;
  if (Id c = Child(current_df, fid); c != kNone) return c;
  const Id up = parent(current_df);
  if (up == kNone) return kNone;
  if (spec(up).fid == fid) return up;
  return Child(up, fid);
}

FileSystem::Id FileSystem::Walk(Id start, ByteView path) const {
  Id at = start;
  for (size_t i = 0; i + 1 < path.size(); i += 2) {
    if (!is_df(at)) return kNone;
    at = Child(at, ReadU16(&path[i]));
    if (at == kNone) return kNone;
  }
  return at;
}

FileSystem::Id FileSystem::ApplicationOf(Id id) const {
  for (Id at = id; at != kNone && at != kMf; at = parent(at)) {
    if (is_df(at) && !spec(at).df_name.empty()) return at;
  }
  return kNone;
}

std::vector<FileSystem::Id> FileSystem::DfsNamed(ByteView name) const {
  std::vector<Id> out;
  for (Id id = 0; id < static_cast<Id>(nodes_.size()); ++id) {
    const Bytes& n = spec(id).df_name;
    if (is_df(id) && !n.empty() && std::equal(n.begin(), n.end(), name.begin(), name.end())) {
      out.push_back(id);
    }
  }
  return out;
}

std::vector<uint16_t> FileSystem::PathOf(Id id) const {
  std::vector<uint16_t> path;
  for (Id at = id; at != kNone && at != kMf; at = parent(at)) path.push_back(spec(at).fid);
  std::reverse(path.begin(), path.end());
  return path;
}

size_t FileSystem::StoredSize(Id ef) const {
  const FileSpec& s = spec(ef);
  return s.type == FileType::kTransparent ? s.size : size_t{s.record_size} * s.record_count;
}

Bytes FileSystem::InitialContents(Id ef) const {
  const FileSpec& s = spec(ef);
  Bytes out(StoredSize(ef), 0x00);
  if (s.type == FileType::kTransparent) {
    std::copy(s.initial.begin(), s.initial.end(), out.begin());
    return out;
  }
  for (size_t i = 0; i < s.initial_records.size(); ++i) {
    const Bytes& r = s.initial_records[i];
    std::copy(r.begin(), r.end(), out.begin() + static_cast<ptrdiff_t>(i * s.record_size));
  }
  return out;
}

Sw FileSystem::Install(StoreView store) const {
  if (!error_.empty()) return Sw::kNoPreciseDiagnosis;
  for (Id id = 0; id < static_cast<Id>(nodes_.size()); ++id) {
    const std::string& k = key(id);
    if (k.empty()) continue;
    const Bytes* existing = store.Get(k);
    const size_t want = StoredSize(id);
    if (existing != nullptr && existing->size() == want) continue;
    Bytes value = InitialContents(id);
    if (existing != nullptr) {  // the structure changed size: keep what still fits
      std::copy_n(existing->begin(), std::min(want, existing->size()), value.begin());
    }
    const StoreStatus s = store.Put(k, value);
    if (s != StoreStatus::kOk) return SwFromStore(s);
  }
  return Sw::kOk;
}

std::optional<ByteView> FileSystem::Contents(Id ef, const StoreView& store, Bytes& scratch,
                                             const SecurityState* reader) const {
  const FileSpec& s = spec(ef);
  if (s.source) {
    scratch = s.source->Content(reader, store);
    return ByteView(scratch);
  }
  const Bytes* r = store.Get(key(ef));
  if (r == nullptr) return std::nullopt;
  return ByteView(*r);
}

size_t FileSystem::RecordCount(Id ef, size_t contents_size) const {
  const FileSpec& s = spec(ef);
  if (s.type != FileType::kLinearFixed || s.record_size == 0) return 0;
  return s.source ? contents_size / s.record_size : s.record_count;
}

Sw FileSystem::Write(Id ef, StoreView store, uint32_t offset, ByteView data) const {
  if (key(ef).empty()) return Sw::kIncompatibleFileStructure;
  const StoreStatus s = store.Patch(key(ef), offset, data);
  if (s == StoreStatus::kNotFound || s == StoreStatus::kOutOfRange) return Sw::kMemoryFailure;
  return SwFromStore(s);
}

FileInfo FileSystem::Info(Id id, const StoreView& store, const SecurityState* reader) const {
  const FileSpec& s = spec(id);
  FileInfo info;
  info.type = s.type;
  info.fid = s.fid;
  info.df_name = s.df_name;
  info.sfi = s.sfi;
  if (s.is_df()) return info;
  info.access = s.access;
  info.record_size = s.record_size;
  if (s.source) {
    Bytes scratch;
    const size_t n = Contents(id, store, scratch, reader)->size();
    info.record_count = RecordCount(id, n);
    info.data_size = s.type == FileType::kLinearFixed ? info.record_count * s.record_size : n;
  } else {
    info.data_size = StoredSize(id);
    info.record_count = s.record_count;
  }
  return info;
}

}  // namespace dmcard::fs
