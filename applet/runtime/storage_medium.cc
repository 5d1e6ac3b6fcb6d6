#include "runtime/storage_medium.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace dmcard {

bool RamMedium::Read(MediumFile file, Bytes& out) {
  out = files_[file];
  return true;
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

namespace {
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
}  // namespace

FileMedium::FileMedium(std::filesystem::path dir, bool sync) : dir_(std::move(dir)), sync_(sync) {}

FileMedium::~FileMedium() {
  if (journal_fd_ >= 0) ::close(journal_fd_);
}

std::filesystem::path FileMedium::PathOf(MediumFile file) const {
  return dir_ / (file == MediumFile::kImage ? "card.img" : "card.jnl");
}

int FileMedium::JournalFd() {
  if (journal_fd_ < 0) {
    journal_fd_ = ::open(PathOf(MediumFile::kJournal).c_str(),
                         O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  }
  return journal_fd_;
}

bool FileMedium::Read(MediumFile file, Bytes& out) {
  out.clear();
  int fd = ::open(PathOf(file).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT;
  uint8_t buf[16384];
  bool ok = true;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ok = false;
      break;
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  ::close(fd);
  return ok;
}

bool FileMedium::Append(MediumFile file, ByteView data) {
  if (file == MediumFile::kJournal) {
    int fd = JournalFd();
    if (fd < 0 || !WriteAll(fd, data)) return false;
    return !sync_ || ::fdatasync(fd) == 0;
  }
  int fd = ::open(PathOf(file).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = WriteAll(fd, data) && (!sync_ || ::fdatasync(fd) == 0);
  ::close(fd);
  return ok;
}

bool FileMedium::Replace(MediumFile file, ByteView data) {
  const auto target = PathOf(file);
  auto tmp = target;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = WriteAll(fd, data) && (!sync_ || ::fsync(fd) == 0);
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), target.c_str()) != 0) return false;
  if (sync_) {
    int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }
  return true;
}

bool FileMedium::Truncate(MediumFile file) {
  if (::truncate(PathOf(file).c_str(), 0) != 0 && errno != ENOENT) return false;
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
    if (torn_ && !tore_ && power_cut_ && data.size() > 1) {
      tore_ = true;
      inner_->Append(file, data.first(data.size() / 2));
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
