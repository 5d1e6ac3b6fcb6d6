// Physical storage under the persistent store: a card image and a journal, each an opaque file.
// Every mutating call is one "physical write"; the fault-injecting medium cuts power after the
// N-th one so tests can prove atomicity at every write index.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "runtime/bytes.h"

namespace dmcard {

enum class MediumFile : uint8_t { kImage, kJournal };

// Outcome of reading a whole file: a missing file is not an empty one (a zero-length card image
// is damage, a missing one on a brand-new card is not).
enum class MediumRead : uint8_t { kOk, kMissing, kFailed };

class StorageMedium {
 public:
  virtual ~StorageMedium() = default;
  // Whole content (empty unless kOk).
  virtual MediumRead Read(MediumFile file, Bytes& out) = 0;
  // Appends `data` at the end (one physical write).
  virtual bool Append(MediumFile file, ByteView data) = 0;
  // Replaces the whole content atomically: after a crash it is either old or new.
  virtual bool Replace(MediumFile file, ByteView data) = 0;
  // Empties the file (one physical write).
  virtual bool Truncate(MediumFile file) = 0;
  // How messages name the file: its path on a file medium.
  virtual std::string NameOf(MediumFile file) const {
    return file == MediumFile::kImage ? "card.img" : "card.jnl";
  }
  // Why the last failed call failed, for the message the user sees (empty if unknown).
  virtual std::string last_error() const { return {}; }
  // A second witness of how far the journal reached: the store records the number of each
  // transaction it acknowledged (once the transaction's append is durable), and on opening refuses
  // a journal that ends before the recorded number (a journal cut short). 0 = nothing recorded. Not
  // synced: after a power loss it can only lag behind the journal, never run ahead.
  virtual void RecordAcknowledged(uint64_t seq) { acknowledged_ = seq; }
  virtual uint64_t acknowledged() const { return acknowledged_; }

 protected:
  uint64_t acknowledged_ = 0;
};

// RAM backend: the content outlives any card built on it, like an EEPROM chip.
class RamMedium final : public StorageMedium {
 public:
  MediumRead Read(MediumFile file, Bytes& out) override;
  bool Append(MediumFile file, ByteView data) override;
  bool Replace(MediumFile file, ByteView data) override;
  bool Truncate(MediumFile file) override;
  // Current content (empty when the file does not exist).
  const Bytes& content(MediumFile file) const;
  bool exists(MediumFile file) const { return files_.count(file) != 0; }
  // Test tools: damage the "chip" as a user could damage a state directory.
  void Remove(MediumFile file) { files_.erase(file); }
  void ForgetAcknowledged() { acknowledged_ = 0; }

 private:
  std::map<MediumFile, Bytes> files_;
};

// File backend: `dir`/card.img and `dir`/card.jnl, for one process at a time.
//
// Construction takes an exclusive lock (flock on `dir`/card.lock, which holds the owner's PID and
// the last acknowledged transaction number) for the medium's whole life; if another process holds
// it, or the directory cannot be written, open_error() says so and every call fails. Before every
// read and write the medium checks that `dir` is still the directory it opened (same device and
// inode, not deleted) and that the journal and image it wrote are still the files at their paths;
// once that fails, the medium stays failed — a write the card cannot make durable is never
// acknowledged.
//
// Replace writes a temporary file, fsyncs it, renames it over the target and fsyncs the
// directory. With `sync` on, appends are followed by fdatasync (power-loss safety); without it,
// a killed process still loses nothing that write() returned.
class FileMedium final : public StorageMedium {
 public:
  FileMedium(std::filesystem::path dir, bool sync);
  ~FileMedium() override;
  FileMedium(const FileMedium&) = delete;
  FileMedium& operator=(const FileMedium&) = delete;

  // Why the medium cannot be used (directory locked by another process, not writable, not a
  // directory); empty when it can.
  const std::string& open_error() const { return open_error_; }

  MediumRead Read(MediumFile file, Bytes& out) override;
  bool Append(MediumFile file, ByteView data) override;
  bool Replace(MediumFile file, ByteView data) override;
  bool Truncate(MediumFile file) override;
  std::string NameOf(MediumFile file) const override { return PathOf(file).string(); }
  std::string last_error() const override { return last_error_; }
  // Kept in card.lock beside the holder's PID.
  void RecordAcknowledged(uint64_t seq) override;

  std::filesystem::path PathOf(MediumFile file) const;
  static constexpr const char* kLockFileName = "card.lock";
  // fdatasync/fsync calls made so far (none without `sync`): what a command costs the disk.
  uint64_t syncs() const { return syncs_; }

 private:
  // Identity of a file the medium knows: 0/0 = none yet.
  struct FileId {
    dev_t dev = 0;
    ino_t ino = 0;
  };
  bool Open();
  bool StillOurs();
  bool Failed(const std::string& what, int err);
  int JournalFd();
  bool SyncFd(int fd, bool data_only);
  std::filesystem::path dir_;
  bool sync_;
  int dir_fd_ = -1;
  int lock_fd_ = -1;
  int journal_fd_ = -1;
  uint64_t syncs_ = 0;
  FileId dir_id_;
  FileId file_ids_[2];   // image, journal: what this medium last read or wrote at each path
  bool broken_ = false;  // the directory was deleted or replaced: every call fails from now on
  // StillOurs() passed since the last acknowledged commit: further writes of the same commit (a
  // checkpoint's) skip the check, one check per commit rather than per write.
  bool checked_this_commit_ = false;
  const long pid_ = static_cast<long>(::getpid());  // the lock holder named in card.lock
  std::string open_error_;
  std::string last_error_;
};

// Fault injection: counts physical writes on the wrapped medium and, once armed, lets exactly
// `writes_allowed` more succeed; the next one (and all later ones) fail as if power were cut.
// The failing Append can leave part of its bytes behind — a torn write — to prove the journal's
// checksums (Replace is atomic: a rename).
class FaultInjectingMedium final : public StorageMedium {
 public:
  enum class Tear {
    kNone,       // the cut write leaves nothing
    kFirstHalf,  // its first half: a write cut short
    kHoles,      // its whole length, the middle third zeros: blocks that never reached the disk
  };
  explicit FaultInjectingMedium(std::shared_ptr<StorageMedium> inner) : inner_(std::move(inner)) {}

  void CutPowerAfter(uint64_t writes_allowed, bool torn = false) {
    CutPowerAfter(writes_allowed, torn ? Tear::kFirstHalf : Tear::kNone);
  }
  void CutPowerAfter(uint64_t writes_allowed, Tear tear) {
    armed_ = true;
    remaining_ = writes_allowed;
    tear_ = tear;
  }
  void Disarm() { armed_ = false; }
  bool power_cut() const { return power_cut_; }
  uint64_t physical_writes() const { return writes_; }

  MediumRead Read(MediumFile file, Bytes& out) override { return inner_->Read(file, out); }
  bool Append(MediumFile file, ByteView data) override;
  bool Replace(MediumFile file, ByteView data) override;
  bool Truncate(MediumFile file) override;
  std::string NameOf(MediumFile file) const override { return inner_->NameOf(file); }
  std::string last_error() const override {
    return power_cut_ ? "power cut (fault injection)" : inner_->last_error();
  }
  void RecordAcknowledged(uint64_t seq) override { inner_->RecordAcknowledged(seq); }
  uint64_t acknowledged() const override { return inner_->acknowledged(); }

 private:
  bool Permit();
  std::shared_ptr<StorageMedium> inner_;
  bool armed_ = false;
  Tear tear_ = Tear::kNone;
  bool power_cut_ = false;
  bool tore_ = false;
  uint64_t remaining_ = 0;
  uint64_t writes_ = 0;
};

}  // namespace dmcard
