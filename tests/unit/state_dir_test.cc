// State directories on the host (issue 7 items 4, 6c, 10c): one process per directory, a
// directory deleted or replaced under a running card stops it acknowledging, a read-only
// directory is refused at open, a folder of slot folders is not a card, and one power-loss
// policy (HostedCard) for dmcard and dmcard-vicc with one StoreStatus -> status word mapping.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include "host/demo_card.h"
#include "host/hosted_card.h"
#include "host/platform.h"
#include "host/state_dir.h"
#include "runtime/persistent_store.h"
#include "test_applets.h"

namespace dmcard {
namespace {

namespace fs = std::filesystem;
using testing::H;
using testing::SwOf;

fs::path FreshDir(const std::string& name) {
  fs::path dir =
      fs::temp_directory_path() / ("dmcard-sd-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

bool Mentions(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

StoreStatus CommitOne(PersistentStore& s, const std::string& key) {
  s.Begin();
  const StoreStatus put = s.Put(key, Bytes{1, 2, 3});
  return put != StoreStatus::kOk ? put : s.Commit();
}

TEST(StateDir_Lock, SecondOpenOfADirectoryIsRefusedWithTheHoldersPid) {
  const fs::path dir = FreshDir("lock");
  {
    auto first = std::make_shared<FileMedium>(dir, false);
    ASSERT_TRUE(first->open_error().empty()) << first->open_error();
    FileMedium second(dir, false);
    EXPECT_TRUE(Mentions(second.open_error(), dir.string())) << second.open_error();
    EXPECT_TRUE(Mentions(second.open_error(), "process " + std::to_string(::getpid())))
        << second.open_error();
    EXPECT_TRUE(Mentions(second.open_error(), "Stop that")) << second.open_error();
    // The refused medium never touches the card: the first one still commits.
    PersistentStore s(first, {});
    EXPECT_EQ(CommitOne(s, "a"), StoreStatus::kOk);
    Bytes ignored;
    EXPECT_EQ(second.Read(MediumFile::kJournal, ignored), MediumRead::kFailed);
    std::string error;
    EXPECT_FALSE(MakePlatform(dir, error).has_value());
    EXPECT_TRUE(Mentions(error, "in use by process")) << error;
  }
  FileMedium third(dir, false);  // released with the first
  EXPECT_TRUE(third.open_error().empty()) << third.open_error();
  fs::remove_all(dir);
}

TEST(StateDir_Identity, DeletedOrReplacedDirectoryStopsAcknowledging) {
  for (const std::string how : {"rm -rf", "replaced", "journal deleted", "image replaced"}) {
    SCOPED_TRACE(how);
    const fs::path dir = FreshDir("identity");
    PersistentStore s(std::make_shared<FileMedium>(dir, false), {});
    ASSERT_TRUE(s.open_error().empty()) << s.open_error();
    ASSERT_EQ(CommitOne(s, "before"), StoreStatus::kOk);
    if (how == "rm -rf") {
      fs::remove_all(dir);
    } else if (how == "replaced") {
      fs::rename(dir, dir.string() + ".old");
      fs::create_directories(dir);
    } else if (how == "journal deleted") {
      fs::remove(dir / "card.jnl");
    } else {
      fs::copy_file(dir / "card.img", dir / "other.img");
      fs::rename(dir / "other.img", dir / "card.img");
    }
    EXPECT_EQ(CommitOne(s, "after"), StoreStatus::kPowerLost);
    EXPECT_TRUE(Mentions(s.failure(), "deleted or replaced")) << s.failure();
    EXPECT_EQ(CommitOne(s, "later"), StoreStatus::kPowerLost) << "it stays stopped";
    fs::remove_all(dir);
    fs::remove_all(dir.string() + ".old");
  }
}

// Runs `body` in a child process without root's override of file permissions (as nobody when
// the test runs as root). The child's exit status is the result.
int AsUnprivileged(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(90);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

TEST(StateDir_ReadOnly, ReadOnlyDirectoryIsRefusedAtOpen) {
  const fs::path dir = FreshDir("ro");
  { PersistentStore s(std::make_shared<FileMedium>(dir, false), {}); }  // a card exists
  ::chmod(dir.c_str(), 0555);
  const int rc = AsUnprivileged([&] {
    std::string error;
    auto platform = MakePlatform(dir, error);
    if (platform) return 1;
    if (!Mentions(error, "is not writable") || !Mentions(error, dir.string())) {
      std::fprintf(stderr, "message: %s\n", error.c_str());
      return 2;
    }
    return 0;
  });
  EXPECT_EQ(rc, 0) << "1: opened a read-only directory; 2: wrong message; 90: setuid failed";
  ::chmod(dir.c_str(), 0755);
  fs::remove_all(dir);
}

TEST(StateDir_Slots, AFolderOfSlotFoldersIsNotACard) {
  const fs::path dir = FreshDir("slots");
  fs::create_directories(dir / "slot0");
  fs::create_directories(dir / "slot1");
  std::ofstream(dir / "slot0" / "card.jnl") << "x";
  std::ofstream(dir / "slot1" / "card.img") << "x";
  EXPECT_EQ(SlotFolders(dir), (std::vector<std::string>{"slot0", "slot1"}));
  std::string error;
  EXPECT_FALSE(MakePlatform(dir, error).has_value());
  EXPECT_TRUE(Mentions(error, "slot0, slot1")) << error;
  EXPECT_TRUE(Mentions(error, (dir / "slot0").string())) << error;
  EXPECT_FALSE(HoldsCard(dir));
  EXPECT_FALSE(fs::exists(dir / "card.jnl")) << "no new card made there";
  fs::remove_all(dir);
}

// ISO 7816-4 §5.6: 6581 memory failure, 6A84 not enough memory; an applet's misuse of the store
// is no precise diagnosis (6F00).
TEST(StateDir_PowerLoss, OneStoreStatusMapping) {
  EXPECT_EQ(SwFromStore(StoreStatus::kOk), Sw::kOk);
  EXPECT_EQ(ToU16(SwFromStore(StoreStatus::kFull)), 0x6A84);
  EXPECT_EQ(ToU16(SwFromStore(StoreStatus::kPowerLost)), 0x6581);
  EXPECT_EQ(ToU16(SwFromStore(StoreStatus::kNoTransaction)), 0x6F00);
  EXPECT_EQ(ToU16(SwFromStore(StoreStatus::kOutOfRange)), 0x6F00);
  EXPECT_EQ(ToU16(SwFromStore(StoreStatus::kNotFound)), 0x6F00);
}

const Bytes kSelectDm = H("00A4040C0AF0444D434152442D444D");
const Bytes kWrongPin = H("002000010439393939");

std::unique_ptr<HostedCard> DemoOn(std::shared_ptr<StorageMedium> medium) {
  auto profile = std::make_shared<const Profile>(DemoProfile());
  std::string error;
  auto card = HostedCard::Open(profile, CardConfigFor(*profile), std::move(medium), error);
  EXPECT_TRUE(card) << error;
  if (card) card->PowerOn();
  return card;
}

uint16_t Send(HostedCard& card, const Bytes& apdu) {
  Bytes r;
  EXPECT_TRUE(card.Transmit(apdu, r));
  return SwOf(r);
}

TEST(StateDir_PowerLoss, MemoryFailureAnswers6581AndRestartsFromTheLastCommit) {
  auto ram = std::make_shared<RamMedium>();
  auto faulty = std::make_shared<FaultInjectingMedium>(ram);
  auto card = DemoOn(faulty);
  ASSERT_TRUE(card);
  EXPECT_TRUE(card->TakeNotices().empty());
  ASSERT_EQ(Send(*card, kSelectDm), 0x9000);
  faulty->CutPowerAfter(0);  // from now on no write succeeds (a full disk)
  EXPECT_EQ(Send(*card, kWrongPin), 0x6581) << "the try counter's decrement cannot be written";
  const auto notices = card->TakeNotices();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_TRUE(Mentions(notices[0], "power cut")) << notices[0];
  EXPECT_TRUE(Mentions(notices[0], "restarted from its last committed state")) << notices[0];
  // Restarted on the same medium: it answers what needs no write, and refuses writes again.
  EXPECT_TRUE(card->up());
  EXPECT_EQ(Send(*card, kSelectDm), 0x9000);
  EXPECT_EQ(Send(*card, kWrongPin), 0x6581);
  EXPECT_EQ(card->TakeNotices().size(), 1u);
  // With the disk fixed, the card holds 3 tries: neither failed decrement counted, so the next
  // wrong PIN leaves 2.
  card.reset();
  auto fixed = DemoOn(ram);
  ASSERT_TRUE(fixed);
  ASSERT_EQ(Send(*fixed, kSelectDm), 0x9000);
  EXPECT_EQ(Send(*fixed, kWrongPin), 0x63C2);
}

TEST(StateDir_PowerLoss, DirectoryDeletedUnderAHostedCard) {
  const fs::path dir = FreshDir("hosted");
  auto profile = std::make_shared<const Profile>(DemoProfile());
  std::string error;
  auto card = HostedCard::Open(profile, CardConfigFor(*profile), dir, error);
  ASSERT_TRUE(card) << error;
  card->PowerOn();
  ASSERT_EQ(Send(*card, kSelectDm), 0x9000);
  EXPECT_EQ(Send(*card, kWrongPin), 0x63C2);
  fs::remove_all(dir);
  EXPECT_EQ(Send(*card, kWrongPin), 0x6581) << "a write after rm -rf is never acknowledged";
  const auto notices = card->TakeNotices();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_TRUE(Mentions(notices[0], "deleted or replaced")) << notices[0];
  EXPECT_TRUE(Mentions(notices[0], "cannot restart")) << notices[0];
  EXPECT_FALSE(fs::exists(dir)) << "no new card made in its place";
  EXPECT_EQ(Send(*card, kSelectDm), 0x6581);
}

// Issue 8 item 4: state directories are created 0700, missing parents too; a directory that
// exists already keeps the mode its owner gave it.
TEST(StateDir_Private, NewStateDirectoriesAreTheOwnersAlone) {
  const fs::path root = FreshDir("private");
  fs::permissions(root, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  const fs::path dir = root / "demo" / "slot0";
  std::string error;
  {
    auto platform = MakePlatform(dir, error);
    ASSERT_TRUE(platform) << error;
    PersistentStore store(platform->medium, {});
  }
  for (const fs::path& p : {root / "demo", dir}) {
    EXPECT_EQ(fs::status(p).permissions() & fs::perms::all, fs::perms::owner_all) << p;
  }
  EXPECT_EQ(fs::status(root).permissions() & fs::perms::others_read, fs::perms::others_read)
      << "an existing directory is left as it was";
  fs::remove_all(root);
}

}  // namespace
}  // namespace dmcard
