#include "runtime/storage_medium.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace dmcard {

MediumRead RamMedium::Read(MediumFile file, Bytes& out) {
  auto it = files_.find(file);
  if (it == files_.end()) {
    out.clear();
    return MediumRead::kMissing;
  }
  out = it->second;
  return MediumRead::kOk;
}
bool RamMedium::Append(MediumFile file, ByteView data) {
  dmcard::Append(files_[file], data);
  return true;
}
bool RamMedium::Replace(MediumFile file, ByteView data) {
  files_[file].assign(data.begin(), data.end());
  return true;
}
bool RamMedium::Truncate(MediumFile file) {
  files_[file].clear();
  return true;
}
const Bytes& RamMedium::content(MediumFile file) const {
  static const Bytes kNone;
  auto it = files_.find(file);
  return it == files_.end() ? kNone : it->second;
}

namespace {
// File names inside a state directory (docs/card-image-format.md).
const char* FileName(MediumFile file) {
  return file == MediumFile::kImage ? "card.img" : "card.jnl";
}

bool WriteAll(int fd, ByteView data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string Quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }
}  // namespace

FileMedium::FileMedium(std::filesystem::path dir, bool sync) : dir_(std::move(dir)), sync_(sync) {
  if (!Open()) {
    broken_ = true;
    last_error_ = open_error_;
  }
}

FileMedium::~FileMedium() {
  if (journal_fd_ >= 0) ::close(journal_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

bool FileMedium::Open() {
  dir_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st {};
  if (dir_fd_ < 0 || ::fstat(dir_fd_, &st) != 0) {
    open_error_ = "cannot open state directory " + Quoted(dir_) + ": " + std::strerror(errno);
    return false;
  }
  dir_id_ = {st.st_dev, st.st_ino};
  const auto not_writable = [&](int err) {
    open_error_ = "state directory " + Quoted(dir_) + " is not writable: " + std::strerror(err) +
                  ". Make it writable (or remount it read-write), or use another state directory";
    return false;
  };
  if (::access(dir_.c_str(), W_OK) != 0) return not_writable(errno);
  lock_fd_ = ::openat(dir_fd_, kLockFileName, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) return not_writable(errno);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) {
      open_error_ = "cannot lock " + Quoted(dir_ / kLockFileName) + ": " + std::strerror(err);
      return false;
    }
    char buf[96] = {};
    const ssize_t n = ::pread(lock_fd_, buf, sizeof buf - 1, 0);
    std::string pid;
    if (n > 4 && std::strncmp(buf, "pid ", 4) == 0) {
      pid = std::string(buf + 4, std::strcspn(buf + 4, "\n"));
    }
    open_error_ = "state directory " + Quoted(dir_) + " is in use by " +
                  (pid.empty() ? std::string("another process") : "process " + pid) +
                  " (it holds " + Quoted(dir_ / kLockFileName) +
                  "); one card runs on one state directory at a time. Stop that dmcard or "
                  "dmcard-vicc first, or use another state directory";
    ::close(lock_fd_);
    lock_fd_ = -1;
    return false;
  }
  // "pid <PID>\nacknowledged <N>\n": keep the previous holder's acknowledged number.
  char buf[96] = {};
  const ssize_t n = ::pread(lock_fd_, buf, sizeof buf - 1, 0);
  if (n > 0) {
    const char* ack = std::strstr(buf, "acknowledged ");
    if (ack != nullptr) acknowledged_ = std::strtoull(ack + 13, nullptr, 10);
  }
  if (::ftruncate(lock_fd_, 0) != 0) return not_writable(errno);
  RecordAcknowledged(acknowledged_);
  return true;
}

void FileMedium::RecordAcknowledged(uint64_t seq) {
  acknowledged_ = seq;
  checked_this_commit_ = false;
  const std::string text =
      "pid " + std::to_string(pid_) + "\nacknowledged " + std::to_string(seq) + "\n";
  if (lock_fd_ >= 0) (void)!::pwrite(lock_fd_, text.data(), text.size(), 0);
}

std::filesystem::path FileMedium::PathOf(MediumFile file) const { return dir_ / FileName(file); }

bool FileMedium::Failed(const std::string& what, int err) {
  last_error_ = what + ": " + std::strerror(err);
  return false;
}

// The directory this medium locked must still be the one at dir_, and the files it wrote must
// still be there: after `rm -rf` (or a restore that swapped the directory) every write would
// land in a directory nobody reads again.
bool FileMedium::StillOurs() {
  if (broken_) return false;
  std::string why;
  struct stat st {};
  struct stat at_path {};
  if (::fstat(dir_fd_, &st) != 0 || st.st_nlink == 0) {
    why = "the directory was deleted";
  } else if (::stat(dir_.c_str(), &at_path) != 0) {
    why = std::string("the directory is gone (") + std::strerror(errno) + ")";
  } else if (at_path.st_dev != dir_id_.dev || at_path.st_ino != dir_id_.ino) {
    why = "another directory now stands at its path";
  } else if (::fstat(lock_fd_, &st) != 0 || st.st_nlink == 0) {
    why = std::string(kLockFileName) + " was deleted";
  } else {
    for (MediumFile f : {MediumFile::kImage, MediumFile::kJournal}) {
      const FileId& id = file_ids_[static_cast<int>(f)];
      if (id.ino == 0) continue;
      const char* name = FileName(f);
      if (::fstatat(dir_fd_, name, &at_path, 0) != 0 || at_path.st_dev != id.dev ||
          at_path.st_ino != id.ino) {
        why = std::string(name) + " was deleted or replaced";
        break;
      }
    }
  }
  if (why.empty()) return true;
  broken_ = true;
  last_error_ = "state directory " + Quoted(dir_) + " was deleted or replaced while the card was " +
                "running (" + why + "); the card acknowledges no more writes. Stop it, then " +
                "restore the directory or start a fresh card";
  return false;
}

int FileMedium::JournalFd() {
  if (journal_fd_ < 0) {
    journal_fd_ = ::open(PathOf(MediumFile::kJournal).c_str(),
                         O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    struct stat st {};
    if (journal_fd_ >= 0 && ::fstat(journal_fd_, &st) == 0) {
      FileId& id = file_ids_[static_cast<int>(MediumFile::kJournal)];
      if (id.ino != 0 && (id.dev != st.st_dev || id.ino != st.st_ino)) {
        ::close(journal_fd_);
        journal_fd_ = -1;
        errno = ESTALE;
        return -1;
      }
      id = {st.st_dev, st.st_ino};
    }
  }
  return journal_fd_;
}

MediumRead FileMedium::Read(MediumFile file, Bytes& out) {
  out.clear();
  if (!StillOurs()) return MediumRead::kFailed;
  const auto path = PathOf(file);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return MediumRead::kMissing;
    Failed("reading " + path.string(), errno);
    return MediumRead::kFailed;
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0) file_ids_[static_cast<int>(file)] = {st.st_dev, st.st_ino};
  uint8_t buf[16384];
  bool ok = true;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ok = Failed("reading " + path.string(), errno);
      break;
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  ::close(fd);
  return ok ? MediumRead::kOk : MediumRead::kFailed;
}

bool FileMedium::SyncFd(int fd, bool data_only) {
  ++syncs_;
  return (data_only ? ::fdatasync(fd) : ::fsync(fd)) == 0;
}

bool FileMedium::Append(MediumFile file, ByteView data) {
  if (broken_ || (!checked_this_commit_ && !StillOurs())) return false;
  checked_this_commit_ = true;
  const auto path = PathOf(file);
  if (file == MediumFile::kJournal) {
    int fd = JournalFd();
    if (fd < 0 || !WriteAll(fd, data)) return Failed("writing " + path.string(), errno);
    if (sync_ && !SyncFd(fd, true)) return Failed("syncing " + path.string(), errno);
    return true;
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Failed("writing " + path.string(), errno);
  bool ok = WriteAll(fd, data) && (!sync_ || SyncFd(fd, true));
  if (!ok) Failed("writing " + path.string(), errno);
  ::close(fd);
  return ok;
}

bool FileMedium::Replace(MediumFile file, ByteView data) {
  if (!StillOurs()) return false;
  const auto target = PathOf(file);
  auto tmp = target;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Failed("writing " + tmp.string(), errno);
  struct stat st {};
  bool ok = WriteAll(fd, data) && (!sync_ || SyncFd(fd, false)) && ::fstat(fd, &st) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return Failed("writing " + tmp.string(), err);
  }
  if (std::rename(tmp.c_str(), target.c_str()) != 0) {
    const int rename_err = errno;
    ::unlink(tmp.c_str());
    return Failed("renaming " + tmp.string() + " to " + target.filename().string(), rename_err);
  }
  file_ids_[static_cast<int>(file)] = {st.st_dev, st.st_ino};
  if (file == MediumFile::kJournal && journal_fd_ >= 0) {
    ::close(journal_fd_);  // appends go to the new file
    journal_fd_ = -1;
  }
  if (sync_ && !SyncFd(dir_fd_, false)) return Failed("syncing " + dir_.string(), errno);
  return true;
}

bool FileMedium::Truncate(MediumFile file) {
  if (!StillOurs()) return false;
  if (::truncate(PathOf(file).c_str(), 0) != 0 && errno != ENOENT) {
    return Failed("truncating " + PathOf(file).string(), errno);
  }
  return true;
}

bool FaultInjectingMedium::Permit() {
  if (power_cut_) return false;
  if (armed_) {
    if (remaining_ == 0) {
      power_cut_ = true;
      return false;
    }
    --remaining_;
  }
  ++writes_;
  return true;
}

bool FaultInjectingMedium::Append(MediumFile file, ByteView data) {
  if (!Permit()) {
    if (tear_ != Tear::kNone && !tore_ && power_cut_ && data.size() > 2) {
      tore_ = true;
      if (tear_ == Tear::kFirstHalf) {
        inner_->Append(file, data.first(data.size() / 2));
      } else {
        Bytes holes(data.begin(), data.end());
        std::fill(holes.begin() + static_cast<ptrdiff_t>(data.size() / 3),
                  holes.begin() + static_cast<ptrdiff_t>(2 * data.size() / 3), 0);
        inner_->Append(file, holes);
      }
    }
    return false;
  }
  return inner_->Append(file, data);
}

bool FaultInjectingMedium::Replace(MediumFile file, ByteView data) {
  return Permit() && inner_->Replace(file, data);
}

bool FaultInjectingMedium::Truncate(MediumFile file) { return Permit() && inner_->Truncate(file); }

}  // namespace dmcard
