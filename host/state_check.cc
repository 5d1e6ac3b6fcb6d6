#include "host/state_check.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include "dm/records.h"
#include "fs/fs_applet.h"
#include "runtime/event_log.h"
#include "runtime/key_store.h"
#include "runtime/pin.h"
#include "runtime/storage_medium.h"

namespace dmcard {

namespace {

namespace stdfs = std::filesystem;

constexpr const char* kImageName = "card.img";
constexpr const char* kJournalName = "card.jnl";

// The state directory's files as read, for the store to open; every write fails (nothing is
// written while opening a card whose state checks out, docs/card-image-format.md "Opening").
class ReadOnlyCopy final : public StorageMedium {
 public:
  ReadOnlyCopy(stdfs::path dir, std::optional<Bytes> image, std::optional<Bytes> journal,
               uint64_t acknowledged)
      : dir_(std::move(dir)), image_(std::move(image)), journal_(std::move(journal)) {
    acknowledged_ = acknowledged;
  }
  MediumRead Read(MediumFile file, Bytes& out) override {
    const std::optional<Bytes>& f = file == MediumFile::kImage ? image_ : journal_;
    if (!f) return MediumRead::kMissing;
    out = *f;
    return MediumRead::kOk;
  }
  bool Append(MediumFile, ByteView) override { return false; }
  bool Replace(MediumFile, ByteView) override { return false; }
  bool Truncate(MediumFile) override { return false; }
  std::string NameOf(MediumFile file) const override {
    return (dir_ / (file == MediumFile::kImage ? kImageName : kJournalName)).string();
  }
  std::string last_error() const override { return "the check writes nothing"; }
  void RecordAcknowledged(uint64_t) override {}

 private:
  stdfs::path dir_;
  std::optional<Bytes> image_, journal_;
};

// A file's bytes; nullopt when it does not exist. False with `why` when it exists but cannot be
// read.
bool ReadIfPresent(const stdfs::path& path, std::optional<Bytes>& out, std::string& why) {
  std::error_code ec;
  if (!stdfs::exists(stdfs::symlink_status(path, ec))) {
    out.reset();
    return true;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = path.string() + ": " + std::strerror(errno);
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  out = Bytes(s.begin(), s.end());
  return true;
}

// card.lock: "pid <PID>\nacknowledged <N>\n" (runtime/storage_medium.h FileMedium).
uint64_t LockNumber(const std::string& text, const char* field) {
  const size_t at = text.find(field);
  return at == std::string::npos
             ? 0
             : std::strtoull(text.c_str() + at + std::strlen(field), nullptr, 10);
}

// The PID of the process that holds card.lock, 0 when none does.
long LockHolder(const stdfs::path& lock, const std::string& text) {
  const int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  long holder = 0;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    holder = errno == EWOULDBLOCK ? static_cast<long>(LockNumber(text, "pid ")) : 0;
    if (holder == 0 && errno == EWOULDBLOCK) holder = -1;  // held, PID unknown
  } else {
    ::flock(fd, LOCK_UN);
  }
  ::close(fd);
  return holder;
}

}  // namespace

std::vector<std::string> UndeclaredRecords(const PersistentStore& store) {
  std::vector<std::string> findings;
  for (const std::string& name : store.Keys("")) {
    std::span<const RecordName> names;
    if (name.rfind("dm/", 0) == 0) {
      names = dm::records::kAll;
    } else if (name.rfind("fs/", 0) == 0) {
      names = fs::kFsRecordNames;
    } else if (name.rfind("card/key/", 0) == 0) {
      names = KeyStore::kRecordNames;
    } else if (name.rfind("card/log/", 0) == 0) {
      names = EventLog::kRecordNames;
    } else if (name.rfind("card/pin/", 0) == 0 || name.rfind("card/puk/", 0) == 0) {
      names = kPinRecordNames;
    }
    const RecordName* declared = FindRecordName(names, name);
    const Bytes* record = store.Get(name);
    if (declared == nullptr) {
      findings.push_back(name + ": declared by no owner in this version");
    } else if (declared->legacy) {
      findings.push_back(name + ": a legacy record still there");
    } else if (declared->version != 0 && (record->empty() || (*record)[0] != declared->version)) {
      findings.push_back(name + ": not format version " + std::to_string(declared->version));
    }
  }
  return findings;
}

StateCheck CheckState(const std::filesystem::path& dir) {
  StateCheck check;
  check.dir = dir;
  std::optional<Bytes> image, journal, lock;
  std::string why;
  if (!ReadIfPresent(dir / kImageName, image, why) ||
      !ReadIfPresent(dir / kJournalName, journal, why) ||
      !ReadIfPresent(dir / FileMedium::kLockFileName, lock, why)) {
    check.verdict = StateCheck::Verdict::kUnreadable;
    check.detail = why;
    return check;
  }
  const std::string lock_text = lock ? std::string(lock->begin(), lock->end()) : "";
  if (lock) {
    const long holder = LockHolder(dir / FileMedium::kLockFileName, lock_text);
    if (holder != 0) {
      check.verdict = StateCheck::Verdict::kInUse;
      check.detail = holder > 0 ? "process " + std::to_string(holder) : "another process";
      return check;
    }
  }
  if (!image && !journal) return check;  // kNoCard
  check.acknowledged = LockNumber(lock_text, "acknowledged ");
  auto copy =
      std::make_shared<ReadOnlyCopy>(dir, std::move(image), std::move(journal), check.acknowledged);
  PersistentStore store(copy, PersistentStore::Options{});
  if (!store.open_error().empty()) {
    check.verdict = StateCheck::Verdict::kDamaged;
    check.detail = store.open_error();
    return check;
  }
  check.verdict =
      store.open_note().empty() ? StateCheck::Verdict::kGood : StateCheck::Verdict::kRepairable;
  check.detail = store.open_note();
  check.stats = store.stats();
  check.last_transaction = store.last_transaction();
  check.unknown_records = UndeclaredRecords(store);
  return check;
}

std::string DescribeStateCheck(const StateCheck& c) {
  const std::string dir = c.dir.string();
  std::string out;
  switch (c.verdict) {
    case StateCheck::Verdict::kGood:
    case StateCheck::Verdict::kRepairable:
      out = dir + ": " + (c.verdict == StateCheck::Verdict::kGood ? "good" : "repairable") +
            ": a card of " + std::to_string(c.stats.records) + " records, " +
            std::to_string(c.stats.used) + " of " + std::to_string(c.stats.capacity) +
            " bytes used, last transaction #" + std::to_string(c.last_transaction) + "\n";
      if (c.verdict == StateCheck::Verdict::kRepairable) {
        out += "  " + c.detail +
               ". The card repairs this when it next starts; nothing it acknowledged is lost.\n";
      }
      for (const std::string& r : c.unknown_records) out += "  unknown record " + r + "\n";
      return out;
    case StateCheck::Verdict::kDamaged:
      return dir + ": DAMAGED, the card refuses to start: " + c.detail + "\n";
    case StateCheck::Verdict::kNoCard:
      return dir + ": no card here (neither " + kImageName + " nor " + kJournalName +
             "): a card started on it would be a new one\n";
    case StateCheck::Verdict::kInUse:
      return dir + ": in use by " + c.detail +
             ", a running card (it holds card.lock), whose files change as it runs: stop it, "
             "then check again\n";
    case StateCheck::Verdict::kUnreadable:
      return dir + ": cannot be read: " + c.detail + "\n";
  }
  return out;
}

}  // namespace dmcard
