// Damaged state (issue 13 item 4): `dmcard check --state DIR` (host/state_check.h) on a real
// demo card's state directory, one test per case with the exact report line and exit status, and
// a random-damage run: truncations, bit flips, deletions and older copies of card.img and
// card.jnl at random offsets (a new seed every run, printed), after each of which the card either
// refuses to start or starts with every write it acknowledged.
//
// Where a report names a transaction number or a byte offset, the test reads it from the files
// itself, by the layout docs/card-image-format.md gives, not from the code under test.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "host/demo_card.h"
#include "host/state_check.h"
#include "runtime/storage_medium.h"
#include "test_applets.h"

namespace dmcard {
namespace {

namespace fs = std::filesystem;

using Snapshot = std::map<std::string, Bytes>;

const std::string kWhatToDo =
    " The card refuses to start so that nothing is lost silently: restore the state directory "
    "from a backup, or move it away to start a fresh card.";

Bytes ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  const std::string t = s.str();
  return Bytes(t.begin(), t.end());
}

void WriteAll(const fs::path& p, ByteView b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

using testing::H;

// CRC-32 as docs/card-image-format.md names it (IEEE 802.3, reflected, init and final XOR
// FFFFFFFF), to make a well-formed image that says something else.
uint32_t Crc32(ByteView data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (uint8_t b : data) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// `image` with its checksum (last 4 bytes) made right again after an edit.
Bytes Resealed(Bytes image) {
  const uint32_t crc = Crc32(ByteView(image).first(image.size() - 4));
  for (int i = 0; i < 4; ++i)
    image[image.size() - 4 + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  return image;
}

uint64_t BigEndian(ByteView b, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | b[at + i];
  return v;
}

// The journal's layout (docs/card-image-format.md, "card.jnl"): where each transaction's entry
// starts and its number.
struct JournalEntry {
  size_t at = 0;
  uint64_t seq = 0;
  size_t end = 0;  // after its commit marker
};
std::vector<JournalEntry> Entries(const Bytes& journal) {
  std::vector<JournalEntry> out;
  size_t pos = 24;  // header
  while (pos + 20 <= journal.size()) {
    const uint64_t seq = BigEndian(journal, pos + 4, 8);
    const size_t body = BigEndian(journal, pos + 12, 4);
    const size_t end = pos + 16 + 4 + body + 4 + 16;  // entry header, CRC, body, CRC, marker
    out.push_back({pos, seq, end});
    pos = end;
  }
  return out;
}

// The number in card.lock's "acknowledged N" line.
uint64_t AcknowledgedInLock(const fs::path& dir) {
  const Bytes b = ReadAll(dir / "card.lock");
  const std::string t(b.begin(), b.end());
  const size_t at = t.find("acknowledged ");
  return at == std::string::npos ? 0 : std::stoull(t.substr(at + 13));
}

// A demo card with state in `dir` that has made `updates` UPDATE BINARY commands (each one
// transaction) after its installation; its records when it stopped.
Snapshot MakeCardWithHistory(const fs::path& dir, int updates, size_t* records = nullptr) {
  std::string error;
  const uint8_t seed[16] = {4};
  auto medium = std::make_shared<FileMedium>(dir, /*sync=*/false);
  auto card = MakeDemoCard(
      DemoCardConfig(), Platform{medium, crypto::Drbg::FromSeed(seed), [] { return int64_t{0}; }},
      error);
  EXPECT_TRUE(card) << error;
  Snapshot s;
  if (!card) return s;
  card->PowerOn();
  // EF 5001 of the demo file system (512 bytes, always writable).
  EXPECT_EQ(ToHex(card->Transmit(H("00A4080C0450005001"))), "9000");
  for (int i = 0; i < updates; ++i) {
    Bytes cmd = H("00D6000004");
    AppendU32(cmd, static_cast<uint32_t>(i));
    EXPECT_EQ(ToHex(card->Transmit(cmd)), "9000");
  }
  for (const std::string& key : card->store().Keys("")) s[key] = *card->store().Get(key);
  if (records) *records = s.size();
  return s;
}

class StateCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dmcard-check-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ / "card";
    fs::create_directory(dir_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // `dmcard check` on `args`: its standard output and exit status.
  std::pair<std::string, int> Cli(const std::string& args) {
    const std::string cmd = std::string(DMCARD_CLI_PATH) + " check " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = pclose(p);
    return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
  }

  // The report of a damaged directory, and the CLI's exit status 1 with the same line.
  void ExpectDamaged(const std::string& message) {
    const std::string line = dir_.string() + ": DAMAGED, the card refuses to start: " + message;
    EXPECT_EQ(DescribeStateCheck(CheckState(dir_)), line + "\n");
    const auto [out, status] = Cli("--state " + dir_.string());
    EXPECT_EQ(out, line + "\n");
    EXPECT_EQ(status, 1);
  }

  fs::path img() const { return dir_ / "card.img"; }
  fs::path jnl() const { return dir_ / "card.jnl"; }

  fs::path root_, dir_;
};

TEST_F(StateCheckTest, AGoodCardSaysWhatItHolds) {
  size_t records = 0;
  MakeCardWithHistory(dir_, 5, &records);
  const uint64_t last = AcknowledgedInLock(dir_);
  ASSERT_GT(last, 5u);
  const StateCheck c = CheckState(dir_);
  EXPECT_EQ(c.verdict, StateCheck::Verdict::kGood);
  EXPECT_EQ(c.stats.records, records);
  EXPECT_EQ(c.stats.capacity, DemoCardConfig().capacity);
  EXPECT_EQ(c.last_transaction, last);
  EXPECT_TRUE(c.unknown_records.empty());
  const std::string line = dir_.string() + ": good: a card of " + std::to_string(records) +
                           " records, " + std::to_string(c.stats.used) + " of " +
                           std::to_string(DemoCardConfig().capacity) +
                           " bytes used, last transaction #" + std::to_string(last) + "\n";
  EXPECT_EQ(DescribeStateCheck(c), line);
  const auto [out, status] = Cli("--state " + dir_.string());
  EXPECT_EQ(out, line);
  EXPECT_EQ(status, 0);
  // The check changed nothing.
  EXPECT_EQ(CheckState(dir_).last_transaction, last);
}

TEST_F(StateCheckTest, ATornLastTransactionIsRepairable) {
  MakeCardWithHistory(dir_, 3);
  const Bytes journal = ReadAll(jnl());
  Bytes torn = journal;
  for (uint8_t b : {0x44, 0x4D, 0x4A, 0x45, 0x00}) torn.push_back(b);  // "DMJE" and one byte more
  WriteAll(jnl(), torn);
  const StateCheck c = CheckState(dir_);
  EXPECT_EQ(c.verdict, StateCheck::Verdict::kRepairable);
  const std::string report = DescribeStateCheck(c);
  const std::string second_line = "  " + jnl().string() +
                                  ": dropped a torn last transaction (5 bytes at byte " +
                                  std::to_string(journal.size()) +
                                  ") left by an interrupted write; it was never acknowledged. The "
                                  "card repairs this when it next starts; nothing it acknowledged "
                                  "is lost.\n";
  EXPECT_EQ(report.substr(report.find('\n') + 1), second_line);
  EXPECT_EQ(report.rfind(dir_.string() + ": repairable: a card of ", 0), 0u) << report;
  const auto [out, status] = Cli("--state " + dir_.string());
  EXPECT_EQ(out, report);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(ReadAll(jnl()), torn) << "the check repairs nothing itself";
}

TEST_F(StateCheckTest, ImageMissing) {
  MakeCardWithHistory(dir_, 1);
  fs::remove(img());
  ExpectDamaged(img().string() + " is missing but " + jnl().string() +
                " is there: the card's image was deleted, and the journal alone does not hold "
                "the card." +
                kWhatToDo);
}

TEST_F(StateCheckTest, ImageEmpty) {
  MakeCardWithHistory(dir_, 1);
  WriteAll(img(), {});
  ExpectDamaged(img().string() + " is empty (0 bytes); the card never writes an empty image." +
                kWhatToDo);
}

TEST_F(StateCheckTest, ImageBitFlip) {
  MakeCardWithHistory(dir_, 1);
  Bytes image = ReadAll(img());
  image[image.size() / 2] ^= 0x10;
  WriteAll(img(), image);
  ExpectDamaged(img().string() + " is damaged (bad magic, length or checksum)." + kWhatToDo);
}

TEST_F(StateCheckTest, ImageOfANewerFormat) {
  MakeCardWithHistory(dir_, 1);
  Bytes image = ReadAll(img());
  image[5] = 0x03;  // format version 3, with a checksum that fits
  WriteAll(img(), Resealed(image));
  ExpectDamaged(img().string() +
                " is of format version 3, newer than this dmcard reads (2); use a newer dmcard.");
}

// Enough transactions for the journal to be folded into the image (a checkpoint past 32 KiB).
constexpr int kPastACheckpoint = 1500;

TEST_F(StateCheckTest, JournalMissingBesideAnImageWithTransactions) {
  MakeCardWithHistory(dir_, kPastACheckpoint);
  const uint64_t image_seq = BigEndian(ReadAll(img()), 12, 8);
  ASSERT_GT(image_seq, 0u) << "no checkpoint happened";
  fs::remove(jnl());
  ExpectDamaged(jnl().string() + " is missing beside " + img().string() +
                " (which holds transactions up to #" + std::to_string(image_seq) +
                "): the journal was deleted." + kWhatToDo);
}

TEST_F(StateCheckTest, JournalEmpty) {
  MakeCardWithHistory(dir_, 1);
  WriteAll(jnl(), {});
  ExpectDamaged(jnl().string() + " is empty (0 bytes); the card never writes an empty journal." +
                kWhatToDo);
}

TEST_F(StateCheckTest, JournalHeaderDamaged) {
  MakeCardWithHistory(dir_, 1);
  Bytes journal = ReadAll(jnl());
  journal[10] ^= 0x01;  // inside the base
  WriteAll(jnl(), journal);
  ExpectDamaged(jnl().string() + " has a damaged header." + kWhatToDo);
}

TEST_F(StateCheckTest, CommittedTransactionDamaged) {
  MakeCardWithHistory(dir_, 4);
  Bytes journal = ReadAll(jnl());
  const std::vector<JournalEntry> entries = Entries(journal);
  ASSERT_GE(entries.size(), 3u);
  const JournalEntry& e = entries[1];
  journal[e.at + 22] ^= 0x01;  // in its body
  WriteAll(jnl(), journal);
  ExpectDamaged(jnl().string() + ": committed transaction #" + std::to_string(e.seq) + " at byte " +
                std::to_string(e.at) + " is damaged (checksum mismatch)." + kWhatToDo);
}

TEST_F(StateCheckTest, JournalCutAtATransactionBoundaryLacksAnAcknowledgedOne) {
  MakeCardWithHistory(dir_, 4);
  const Bytes journal = ReadAll(jnl());
  const std::vector<JournalEntry> entries = Entries(journal);
  ASSERT_GE(entries.size(), 2u);
  const JournalEntry& last = entries.back();
  WriteAll(jnl(), ByteView(journal).first(last.at));
  ExpectDamaged(jnl().string() + " ends at transaction #" + std::to_string(last.seq - 1) +
                " but the card acknowledged #" + std::to_string(AcknowledgedInLock(dir_)) +
                ": the journal was cut short or replaced by an older one, and acknowledged "
                "transactions are missing. Restore the state directory from a backup; if you "
                "restored an older backup on purpose, delete card.lock first.");
}

TEST_F(StateCheckTest, OlderImageBesideANewerJournal) {
  // Enough updates for checkpoints: keep the image of the first one, put it back at the end.
  MakeCardWithHistory(dir_, 1);
  const Bytes old_image = ReadAll(img());
  const uint64_t old_seq = BigEndian(old_image, 12, 8);
  MakeCardWithHistory(dir_, kPastACheckpoint);
  const Bytes journal = ReadAll(jnl());
  const uint64_t base = BigEndian(journal, 8, 8);
  ASSERT_GT(base, old_seq) << "no checkpoint happened";
  WriteAll(img(), old_image);
  ExpectDamaged(img().string() + " is older than " + jnl().string() +
                ": the image holds transactions up to #" + std::to_string(old_seq) +
                ", the journal continues from #" + std::to_string(base + 1) +
                ", so transactions in between are missing. Put back the card.img that belongs "
                "with this journal, or restore both files from one backup.");
}

TEST_F(StateCheckTest, JournalOfAnotherImage) {
  // A well-formed image of the same sequence number but other content (another card, or another
  // backup): the journal's header names the checksum of the image it extends.
  MakeCardWithHistory(dir_, kPastACheckpoint);
  Bytes image = ReadAll(img());
  ASSERT_GT(BigEndian(image, 20, 4), 0u) << "no checkpoint happened: the image holds no record";
  image[image.size() - 5] ^= 0x01;  // the last byte of the last record's value
  WriteAll(img(), Resealed(image));
  ExpectDamaged(jnl().string() + " was not started beside this " + img().string() +
                " (the image checksums differ): the two files belong to different cards or "
                "backups." +
                kWhatToDo);
}

TEST_F(StateCheckTest, NoCardInAnEmptyDirectory) {
  const std::string line = dir_.string() +
                           ": no card here (neither card.img nor card.jnl): a card started on it "
                           "would be a new one\n";
  EXPECT_EQ(DescribeStateCheck(CheckState(dir_)), line);
  const auto [out, status] = Cli("--state " + dir_.string());
  EXPECT_EQ(out, line);
  EXPECT_EQ(status, 0);
  EXPECT_TRUE(fs::is_empty(dir_)) << "the check made no card";
}

TEST_F(StateCheckTest, ACardInUseIsNotReadUnderItsFeet) {
  MakeCardWithHistory(dir_, 1);
  FileMedium running(dir_, /*sync=*/false);  // this process holds card.lock now
  ASSERT_TRUE(running.open_error().empty()) << running.open_error();
  const std::string line = dir_.string() + ": in use by process " + std::to_string(getpid()) +
                           ", a running card (it holds card.lock), whose files change as it "
                           "runs: stop it, then check again\n";
  EXPECT_EQ(DescribeStateCheck(CheckState(dir_)), line);
  const auto [out, status] = Cli("--state " + dir_.string());
  EXPECT_EQ(out, line);
  EXPECT_EQ(status, 4);
}

TEST_F(StateCheckTest, EverySlotOfAViccStateFolderIsChecked) {
  fs::create_directories(root_ / "slots" / "slot0");
  fs::create_directories(root_ / "slots" / "slot1");
  MakeCardWithHistory(root_ / "slots" / "slot0", 1);
  MakeCardWithHistory(root_ / "slots" / "slot1", 1);
  WriteAll(root_ / "slots" / "slot1" / "card.img", {});
  const auto [out, status] = Cli("--state " + (root_ / "slots").string());
  const std::string slot0 = (root_ / "slots" / "slot0").string();
  const std::string slot1 = (root_ / "slots" / "slot1").string();
  EXPECT_EQ(out.rfind(slot0 + ": good: a card of ", 0), 0u) << out;
  EXPECT_NE(out.find("\n" + slot1 + ": DAMAGED, the card refuses to start: " + slot1 +
                     "/card.img is empty (0 bytes)"),
            std::string::npos)
      << out;
  EXPECT_EQ(status, 1);
}

TEST_F(StateCheckTest, UsageErrorsSayWhatToDo) {
  auto [out, status] = Cli("");
  EXPECT_EQ(out,
            "dmcard: check needs the state directory: dmcard check --state DIR (a card's "
            "directory, or dmcard-vicc's --state folder of slot folders)\n");
  EXPECT_EQ(status, 2);
  std::tie(out, status) = Cli("--state " + (root_ / "nowhere").string());
  EXPECT_EQ(out, "dmcard: " + (root_ / "nowhere").string() +
                     " is not a directory: name the --state directory of a card\n");
  EXPECT_EQ(status, 2);
}

// Random damage, a new seed every run: the card refuses to start, or starts with every record it
// acknowledged (after a torn write: bytes after the journal's end). card.lock stays (without it, a
// journal cut at a transaction boundary cannot be told from a card that never made the later
// transactions: the documented limit).
TEST(Runtime_DamageSoak, RandomDamageNeverStartsACardThatLacksAnAcknowledgedWrite) {
  char tmpl[] = "/tmp/dmcard-damage-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const fs::path root = tmpl;
  const fs::path dir = root / "card";
  fs::create_directory(dir);
  // A history with checkpoints, keeping older copies of both files on the way.
  std::vector<Bytes> old_images, old_journals;
  Snapshot final_state;
  for (int round = 0; round < 4; ++round) {
    final_state = MakeCardWithHistory(dir, 400);
    old_images.push_back(ReadAll(dir / "card.img"));
    old_journals.push_back(ReadAll(dir / "card.jnl"));
  }
  const Bytes image = ReadAll(dir / "card.img");
  const Bytes journal = ReadAll(dir / "card.jnl");
  const uint64_t acknowledged = AcknowledgedInLock(dir);
  const unsigned seed = std::random_device{}();
  std::printf("[ damage   ] seed %u (DMCARD_DAMAGE_SEED to replay)\n", seed);
  const char* fixed = std::getenv("DMCARD_DAMAGE_SEED");
  std::mt19937 random(fixed ? static_cast<unsigned>(std::stoul(fixed)) : seed);
  int refused = 0, started = 0;
  const int kCases = 600;
  for (int i = 0; i < kCases; ++i) {
    Bytes img = image, jnl = journal;
    bool img_missing = false, jnl_missing = false;
    bool on_image = random() % 2 == 0;
    Bytes& f = on_image ? img : jnl;
    std::string what;
    switch (random() % 5) {
      case 0: {  // truncation
        const size_t at = random() % f.size();
        f.resize(at);
        what = "truncated at " + std::to_string(at);
        break;
      }
      case 1: {  // bit flip
        const size_t at = random() % f.size();
        f[at] ^= static_cast<uint8_t>(1u << (random() % 8));
        what = "bit flipped at byte " + std::to_string(at);
        break;
      }
      case 2:  // deletion
        (on_image ? img_missing : jnl_missing) = true;
        what = "deleted";
        break;
      case 3: {  // bytes left after the journal's end by a write cut short (a torn tail)
        const size_t n = 1 + random() % 40;
        for (size_t k = 0; k < n; ++k) jnl.push_back(static_cast<uint8_t>(random()));
        on_image = false;
        what = "with " + std::to_string(n) + " bytes of a torn write after its end";
        break;
      }
      default: {  // an older copy
        const size_t k = random() % (old_images.size() - 1);
        f = on_image ? old_images[k] : old_journals[k];
        what = "older copy " + std::to_string(k);
        break;
      }
    }
    auto ram = std::make_shared<RamMedium>();
    if (!img_missing) ram->Replace(MediumFile::kImage, img);
    if (!jnl_missing) ram->Replace(MediumFile::kJournal, jnl);
    ram->RecordAcknowledged(acknowledged);
    PersistentStore store(ram, PersistentStore::Options{});
    if (!store.open_error().empty()) {
      ++refused;
      continue;
    }
    ++started;
    Snapshot now;
    for (const std::string& key : store.Keys("")) now[key] = *store.Get(key);
    ASSERT_EQ(now, final_state) << (on_image ? "card.img " : "card.jnl ") << what
                                << ": the card started without an acknowledged write";
  }
  std::printf(
      "[ damage   ] %d damaged states: %d refused, %d started with every acknowledged "
      "write\n",
      kCases, refused, started);
  EXPECT_GT(refused, kCases / 2);
  EXPECT_GT(started, 0);  // the torn tails
  fs::remove_all(root);
}

}  // namespace
}  // namespace dmcard
