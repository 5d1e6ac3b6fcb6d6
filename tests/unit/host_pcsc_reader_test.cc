// How `dmcard` finds the dmcard-vicc behind a PC/SC reader to take its card out and put it back
// (host/pcsc_reader.h ViccControlFor): the reader's name is looked up in the vpcd entries of the
// reader.conf directory, slot s of an entry on base port P is reached through dmcard-vicc's
// control socket for P (docs/vpcd-bridge.md: one dmcard-vicc serves both slots of an entry),
// or, when that socket does not exist, through a dmcard-vicc started on P + s itself.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "host/pcsc_reader.h"

namespace dmcard {
namespace {

namespace fs = std::filesystem;

class HostPcscReader : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dmcard-ctl-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "conf");
    fs::create_directories(dir_ / "run");
    // A vpcd entry as Debian's package writes it (base port 35963) and one of another name.
    std::ofstream(dir_ / "conf" / "vpcd") << "FRIENDLYNAME \"Virtual PCD\"\n"
                                             "DEVICENAME /dev/null:0x8C7B\n"
                                             "LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\n"
                                             "CHANNELID 0x8C7B\n";
    std::ofstream(dir_ / "conf" / "other") << "FRIENDLYNAME \"Lab Card\"\n"
                                              "DEVICENAME /dev/null:40000\n"
                                              "LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\n"
                                              "CHANNELID 40000\n";
    ::setenv("DMCARD_READER_CONF_DIR", (dir_ / "conf").c_str(), 1);
    ::setenv("XDG_RUNTIME_DIR", (dir_ / "run").c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("DMCARD_READER_CONF_DIR");
    ::unsetenv("XDG_RUNTIME_DIR");
    fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST_F(HostPcscReader, TheSecondSlotGoesThroughTheBasePortsDmcardVicc) {
  std::ofstream(dir_ / "run" / "dmcard-vicc-35963.sock") << "";  // dmcard-vicc on 35963 runs
  auto c = ViccControlFor("Virtual PCD 00 01");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->socket, (dir_ / "run" / "dmcard-vicc-35963.sock").string());
  EXPECT_EQ(c->slot, 1);
  auto first = ViccControlFor("Virtual PCD 00 00");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->slot, 0);
}

TEST_F(HostPcscReader, WithoutItTheSlotsOwnPortsDmcardVicc) {
  auto c = ViccControlFor("Lab Card 00 01");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->socket, (dir_ / "run" / "dmcard-vicc-40001.sock").string());
  EXPECT_EQ(c->slot, 0);
}

TEST_F(HostPcscReader, AReaderOfNoVpcdEntryHasNoControl) {
  EXPECT_FALSE(ViccControlFor("Gemalto PC Twin Reader 00 00"));
  EXPECT_FALSE(ViccControlFor("Virtual PCD 00 02"));  // an entry serves two slots
}

}  // namespace
}  // namespace dmcard
