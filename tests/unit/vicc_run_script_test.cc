// Issue 8 item 6: scripts/run.sh tells a pcscd that has no vpcd reader (started before
// vsmartcard-vpcd was installed) from one that has, instead of promising a card that will not
// appear. Its check, pcscd_vpcd_state, run on made-up /proc maps (DMCARD_PROC) and reader
// entries (DMCARD_READER_CONF_DIR): 0 vpcd loaded, 1 not loaded, 2 cannot tell.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;

class Vicc_RunScript : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dmcard-run-sh-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "proc");
    fs::create_directories(dir_ / "conf");
    // A copy, alone in its tree: were main() to run, it would find no install-deps.sh there and
    // stop, instead of building and starting a card.
    fs::create_directories(dir_ / "scripts");
    fs::copy_file(DMCARD_SOURCE_DIR "/scripts/run.sh", script());
  }
  std::string script() const { return (dir_ / "scripts" / "run.sh").string(); }
  void TearDown() override { fs::remove_all(dir_); }

  void Maps(int pid, const std::string& text) {
    fs::create_directories(dir_ / "proc" / std::to_string(pid));
    std::ofstream(dir_ / "proc" / std::to_string(pid) / "maps") << text;
  }
  // pcscd_vpcd_state PIDS with run.sh sourced: its exit status, or -1.
  int State(const std::string& pids) {
    const std::string cmd = "DMCARD_PROC='" + (dir_ / "proc").string() +
                            "' DMCARD_READER_CONF_DIR='" + (dir_ / "conf").string() +
                            "' bash -c 'source \"$0\"; s=0; pcscd_vpcd_state " + pids +
                            " || s=$?; echo $s' '" + script() + "' 2>&1";
    std::FILE* p = ::popen(cmd.c_str(), "r");
    std::string out;
    char buf[256];
    while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
    const int rc = ::pclose(p);
    if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) return -1;
    return out == "0\n" ? 0 : out == "1\n" ? 1 : out == "2\n" ? 2 : -1;
  }
  fs::path dir_;
};

constexpr const char* kLibc =
    "7f0000000000-7f0000020000 r-xp 00000000 08:01 1234 /usr/lib/x86_64-linux-gnu/libc.so.6\n";
constexpr const char* kVpcd =
    "7f1000000000-7f1000004000 r-xp 00000000 08:01 5678 "
    "/usr/lib/pcsc/drivers/serial/libifdvpcd.so.0.8\n";

TEST_F(Vicc_RunScript, VpcdDriverInPcscdsMapMeansTheReaderIsThere) {
  Maps(4242, std::string(kLibc) + kVpcd);
  EXPECT_EQ(State("4242"), 0);
}

TEST_F(Vicc_RunScript, NoVpcdDriverInPcscdsMapMeansRestart) {
  Maps(4242, kLibc);
  EXPECT_EQ(State("4242"), 1);
  Maps(4243, std::string(kLibc) + kVpcd);
  EXPECT_EQ(State("4242 4243"), 0) << "one of the pids has it";
}

// Without a readable map (not root), a vpcd entry made after pcscd started means pcscd has not
// read it. Pid 1 started before this test wrote the entry; an entry of another driver says
// nothing.
TEST_F(Vicc_RunScript, EntryNewerThanPcscdWhenTheMapIsNotReadable) {
  if (::access("/proc/1", F_OK) != 0) GTEST_SKIP() << "no process 1 to stand for pcscd";
  std::ofstream(dir_ / "conf" / "other") << "FRIENDLYNAME Other\nDEVICENAME /dev/null\n"
                                            "LIBPATH /usr/lib/pcsc/drivers/serial/libccidtwin.so\n";
  EXPECT_EQ(State("1"), 2);
  std::ofstream(dir_ / "conf" / "vpcd") << "FRIENDLYNAME \"Virtual PCD\"\n"
                                           "DEVICENAME /dev/null:0x8C7B\n"
                                           "LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\n";
  EXPECT_EQ(State("1"), 1);
}

TEST_F(Vicc_RunScript, SourcingRunsNothing) {
  const std::string cmd = "bash -c 'source \"$0\"; echo sourced' '" + script() + "' 2>&1";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  EXPECT_EQ(::pclose(p), 0);
  EXPECT_EQ(out, "sourced\n");
}

}  // namespace
