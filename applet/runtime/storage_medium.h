// Physical storage under the persistent store: a card image and a journal, each an opaque file.
// Every mutating call is one "physical write"; the fault-injecting medium cuts power after the
// N-th one so tests can prove atomicity at every write index.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>

#include "runtime/bytes.h"

namespace dmcard {

enum class MediumFile : uint8_t { kImage, kJournal };

class StorageMedium {
 public:
  virtual ~StorageMedium() = default;
  // Whole content; empty when the file does not exist. False on an I/O error.
  virtual bool Read(MediumFile file, Bytes& out) = 0;
  // Appends `data` at the end (one physical write).
  virtual bool Append(MediumFile file, ByteView data) = 0;
  // Replaces the whole content atomically: after a crash it is either old or new.
  virtual bool Replace(MediumFile file, ByteView data) = 0;
  // Empties the file (one physical write).
  virtual bool Truncate(MediumFile file) = 0;
};

// RAM backend: the content outlives any card built on it, like an EEPROM chip.
class RamMedium final : public StorageMedium {
 public:
  bool Read(MediumFile file, Bytes& out) override;
  bool Append(MediumFile file, ByteView data) override;
  bool Replace(MediumFile file, ByteView data) override;
  bool Truncate(MediumFile file) override;
  const Bytes& content(MediumFile file) { return files_[file]; }

 private:
  std::map<MediumFile, Bytes> files_;
};

// File backend: `dir`/card.img and `dir`/card.jnl. Replace writes a temporary file and renames
// it over the image. With `sync` on, each write is followed by fsync (power-loss safety);
// without it, a killed process still loses nothing that write() returned.
class FileMedium final : public StorageMedium {
 public:
  FileMedium(std::filesystem::path dir, bool sync);
  ~FileMedium() override;
  FileMedium(const FileMedium&) = delete;
  FileMedium& operator=(const FileMedium&) = delete;

  bool Read(MediumFile file, Bytes& out) override;
  bool Append(MediumFile file, ByteView data) override;
  bool Replace(MediumFile file, ByteView data) override;
  bool Truncate(MediumFile file) override;

  std::filesystem::path PathOf(MediumFile file) const;

 private:
  int JournalFd();
  std::filesystem::path dir_;
  bool sync_;
  int journal_fd_ = -1;
};

// Fault injection: counts physical writes on the wrapped medium and, once armed, lets exactly
// `writes_allowed` more succeed; the next one (and all later ones) fail as if power were cut.
// With `torn` set, the failing Append/Replace leaves half of its bytes behind first (Append)
// — a torn write — to prove the journal's checksums.
class FaultInjectingMedium final : public StorageMedium {
 public:
  explicit FaultInjectingMedium(std::shared_ptr<StorageMedium> inner) : inner_(std::move(inner)) {}

  void CutPowerAfter(uint64_t writes_allowed, bool torn = false) {
    armed_ = true;
    remaining_ = writes_allowed;
    torn_ = torn;
  }
  void Disarm() { armed_ = false; }
  bool power_cut() const { return power_cut_; }
  uint64_t physical_writes() const { return writes_; }

  bool Read(MediumFile file, Bytes& out) override { return inner_->Read(file, out); }
  bool Append(MediumFile file, ByteView data) override;
  bool Replace(MediumFile file, ByteView data) override;
  bool Truncate(MediumFile file) override;

 private:
  bool Permit();
  std::shared_ptr<StorageMedium> inner_;
  bool armed_ = false;
  bool torn_ = false;
  bool power_cut_ = false;
  bool tore_ = false;
  uint64_t remaining_ = 0;
  uint64_t writes_ = 0;
};

}  // namespace dmcard
