// ISO/IEC 7816-4 file system: the structure ("ROM", like the card's mask), lookups, access rules
// and the persistent contents of the EFs.
//
// The structure is a FileSpec tree rooted at the MF, fixed when the applet is built. Only EF
// contents live in persistent memory: one record per EF, named "<prefix><path>" where <path> is
// the hex FIDs from the MF (MF excluded), e.g. "fs/F0444D434152444653/ef/50005001". A linear-fixed
// EF keeps its records back to back in its one record (record n at (n - 1) * record_size).
// Updates are Patch()es of that record, so the journal holds only the bytes written.
//
// An EF may instead take its contents from an EfContentSource, computed on every read; such an
// EF is read-only (UPDATE answers 6981) and has no persistent record.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/applet.h"
#include "runtime/bytes.h"
#include "runtime/persistent_store.h"
#include "runtime/sw.h"

namespace dmcard::fs {

inline constexpr uint16_t kMfFid = 0x3F00;
// ETSI TS 102 221 §8.3, §8.4.2: the FID that stands for the current application (ADF), alone or
// as the first FID of a path from the MF; reserved, no file carries it.
inline constexpr uint16_t kCurrentApplicationFid = 0x7FFF;
inline constexpr size_t kMaxDfNameLength = 16;
inline constexpr uint8_t kMaxRecords = 254;  // record number FF is RFU (ISO 7816-4 §7.3.1)

enum class FileType : uint8_t {
  kDf,           // MF or DF
  kTransparent,  // EF, binary, fixed size (READ/UPDATE BINARY)
  kLinearFixed,  // EF, N records of one fixed size (READ/UPDATE RECORD)
};

// Who may perform one operation on a file.
struct AccessCondition {
  enum class Kind : uint8_t {
    kAlways,
    kNever,
    kPin,        // `pin` verified on the channel (VERIFY P2 = reference)
    kPrincipal,  // the channel's authenticated principal equals `principal`
  };
  Kind kind = Kind::kAlways;
  uint8_t pin = 0;
  std::string principal;

  static AccessCondition Always() { return {}; }
  static AccessCondition Never() { return {Kind::kNever, 0, {}}; }
  static AccessCondition Pin(uint8_t reference) { return {Kind::kPin, reference, {}}; }
  static AccessCondition Principal(std::string name) {
    return {Kind::kPrincipal, 0, std::move(name)};
  }

  // `security` is the channel's state; null (install time) satisfies only kAlways.
  bool Satisfied(const SecurityState* security) const;
};

// Access rules of an EF. SELECT is always allowed, for DFs and EFs alike.
struct AccessRules {
  AccessCondition read = AccessCondition::Always();
  AccessCondition update = AccessCondition::Never();
};

// Contents generated on the fly (read-only EF), e.g. a PKCS#15 view of another applet's data.
class EfContentSource {
 public:
  virtual ~EfContentSource() = default;
  // The EF's whole current contents as `reader` may see them (the channel's security state;
  // null at install time). For a linear-fixed EF: its records back to back, the number of
  // records being Content().size() / record_size.
  // `store` is the file-system applet's view (its grants included).
  virtual Bytes Content(const SecurityState* reader, const StoreView& store) const = 0;
};

// One file of the structure. Build with the factories and the With*() modifiers, e.g.
//   FileSpec::Mf({FileSpec::Transparent(0x2F02, 16).WithSfi(2),
//                 FileSpec::Df(0x5000, name, {...})})
struct FileSpec {
  FileType type = FileType::kDf;
  uint16_t fid = kMfFid;
  Bytes df_name;                       // DFs: 0..16 bytes, for SELECT by DF name (P1 = 04)
  uint8_t sfi = 0;                     // EFs: short EF identifier 1..30; 0 = none
  uint16_t size = 0;                   // transparent EF: number of bytes
  uint16_t record_size = 0;            // linear-fixed EF: bytes per record (>= 1)
  uint8_t record_count = 0;            // linear-fixed EF: 1..254 records (ignored with a source)
  Bytes initial;                       // transparent EF: initial contents (<= size), padded with 00
  std::vector<Bytes> initial_records;  // linear-fixed EF: records 1.., each padded with 00
  AccessRules access;                  // EFs only
  std::shared_ptr<const EfContentSource> source;  // EFs: generated contents (read-only)
  std::vector<FileSpec> children;                 // DFs only

  static FileSpec Mf(std::vector<FileSpec> children = {});
  static FileSpec Df(uint16_t fid, Bytes name, std::vector<FileSpec> children = {});
  static FileSpec Transparent(uint16_t fid, uint16_t size, Bytes initial = {});
  static FileSpec LinearFixed(uint16_t fid, uint16_t record_size, uint8_t record_count,
                              std::vector<Bytes> records = {});
  // A generated EF (transparent, or linear fixed when record_size > 0).
  static FileSpec Generated(uint16_t fid, std::shared_ptr<const EfContentSource> source,
                            uint16_t record_size = 0);

  FileSpec WithSfi(uint8_t short_id) &&;
  FileSpec WithAccess(AccessCondition read, AccessCondition update) &&;
  FileSpec WithName(Bytes name) &&;

  bool is_df() const { return type == FileType::kDf; }
};

// What an FCP describes (ISO 7816-4 §7.4.3, table 12); see fcp.h.
struct FileInfo {
  FileType type = FileType::kDf;
  uint16_t fid = 0;
  ByteView df_name;
  uint8_t sfi = 0;       // 0 = none
  size_t data_size = 0;  // EFs: bytes of data (records × record size for record EFs)
  uint16_t record_size = 0;
  size_t record_count = 0;
  AccessRules access;  // EFs: who may read and update (the FCP's security attributes)
};

// The flattened structure. File ids are indexes in pre-order; the MF is 0.
class FileSystem {
 public:
  using Id = int;
  static constexpr Id kNone = -1;
  static constexpr Id kMf = 0;

  // `key_prefix` names this instance's records in the persistent store.
  FileSystem(FileSpec mf, std::string key_prefix);

  // Empty when the structure is valid; else the first problem found (Install refuses it).
  const std::string& error() const { return error_; }

  size_t size() const { return nodes_.size(); }
  // The file's spec (its `children` moved out: use children()).
  const FileSpec& spec(Id id) const { return nodes_[static_cast<size_t>(id)].spec; }
  Id parent(Id id) const { return nodes_[static_cast<size_t>(id)].parent; }
  const std::vector<Id>& children(Id id) const { return nodes_[static_cast<size_t>(id)].children; }
  bool is_df(Id id) const { return spec(id).is_df(); }
  // Persistent record of an EF's contents; empty for DFs and generated EFs.
  const std::string& key(Id id) const { return nodes_[static_cast<size_t>(id)].key; }

  // Lookups; kNone when nothing matches.
  Id Child(Id df, uint16_t fid) const;
  Id ChildBySfi(Id df, uint8_t sfi) const;
  // SELECT P1 = 00 (ISO 7816-4 §7.1.1): the MF (3F00), the current DF itself, a child of the
  // current DF, its parent, or a child of its parent, in that order.
  Id FindByFid(Id current_df, uint16_t fid) const;
  // A path of FIDs (2 bytes each) below `start`; every step but the last must be a DF. The
  // caller checks the length (even, not empty).
  Id Walk(Id start, ByteView path) const;
  // The application DF `id` is in: the nearest DF, `id` itself included, that has a DF name and
  // is not the MF (ETSI TS 102 221 §8.1: an ADF is a DF named by an AID). kNone if none.
  Id ApplicationOf(Id id) const;
  // DFs whose name equals `name`, in pre-order.
  std::vector<Id> DfsNamed(ByteView name) const;
  // The path of FIDs from the MF (MF excluded), e.g. {5000, 5001}.
  std::vector<uint16_t> PathOf(Id id) const;

  // Creates the records of EFs that have none (initial contents) and resizes those whose size
  // no longer matches the structure. Existing contents are kept.
  Sw Install(StoreView store) const;
  // An EF's current contents: a view into the store, or into `scratch` for a generated EF (as
  // `reader`, the channel's security state, may see them). nullopt when the EF's record is
  // missing (an install that did not complete).
  std::optional<ByteView> Contents(Id ef, const StoreView& store, Bytes& scratch,
                                   const SecurityState* reader) const;
  // Number of records of a linear-fixed EF whose contents are `contents_size` bytes.
  size_t RecordCount(Id ef, size_t contents_size) const;
  // Overwrites bytes of a stored EF (Patch). The caller checks the bounds.
  Sw Write(Id ef, StoreView store, uint32_t offset, ByteView data) const;
  // What the FCP of `id` says (to `reader`). Calls the content source of a generated EF.
  FileInfo Info(Id id, const StoreView& store, const SecurityState* reader) const;

 private:
  struct Node {
    FileSpec spec;
    Id parent = kNone;
    std::vector<Id> children;
    std::string key;
  };
  void Flatten(FileSpec spec, Id parent, const std::string& path_hex);
  void Validate();
  void Fail(Id id, const std::string& why);
  Bytes InitialContents(Id ef) const;
  size_t StoredSize(Id ef) const;

  std::string prefix_;
  std::vector<Node> nodes_;
  std::string error_;
};

}  // namespace dmcard::fs
