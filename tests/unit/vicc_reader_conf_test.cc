// Issue 8 item 6: the reader names dmcard-vicc prints come from pcscd's reader entries
// (vpcd-bridge/reader_conf.h). Sample files by hand; expected values from the reader.conf format
// (pcsc-lite's reader.conf(5) and configfile.l) and vpcd's DEVICENAME rules (ifd-vpcd.c:
// "/dev/null:PORT" listens, "HOST:PORT" connects to HOST, no port means 35963).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "host/reader_conf.h"

namespace dmcard::vicc {
namespace {

namespace fs = std::filesystem;

// Debian's /etc/reader.conf.d/vpcd from vsmartcard-vpcd 3.3.
constexpr const char* kDebian =
    "FRIENDLYNAME \"Virtual PCD\"\n"
    "DEVICENAME   /dev/null:0x8C7B\n"
    "LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so\n"
    "CHANNELID    0x8C7B\n";

TEST(Vicc_ReaderConf, DebiansVpcdEntry) {
  const auto entries = ParseReaderConf(kDebian, "/etc/reader.conf.d/vpcd");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].friendly_name, "Virtual PCD");
  EXPECT_EQ(entries[0].host, "");
  EXPECT_EQ(entries[0].port, 35963);
  EXPECT_EQ(entries[0].file, "/etc/reader.conf.d/vpcd");
}

// Several entries in one file, comments (whole lines and after a value), a reader that is not
// vpcd, CHANNELID in decimal, DEVICENAME in hex, a reverse-mode DEVICENAME, a DEVICENAME without
// a port, and the vpcd driver under its versioned name.
TEST(Vicc_ReaderConf, SeveralEntriesCommentsAndForms) {
  const std::string text =
      "# dmcard test readers\n"
      "FRIENDLYNAME \"dmcard reader A\"   # a comment after the value\n"
      "DEVICENAME /dev/null:0x9000\n"
      "LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\n"
      "\n"
      "# a serial reader, not vpcd: left out\n"
      "FRIENDLYNAME GemPCTwin\n"
      "DEVICENAME /dev/null\n"
      "LIBPATH /usr/lib/pcsc/drivers/serial/libccidtwin.so\n"
      "\n"
      "FRIENDLYNAME \"Reader B\"\n"
      "LIBPATH\t/usr/lib/pcsc/drivers/serial/libifdvpcd.so.0.8\n"
      "CHANNELID 36000\n"
      "\n"
      "FRIENDLYNAME Remote\n"
      "DEVICENAME card.example:0x8D00\n"
      "LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\n"
      "\n"
      "FRIENDLYNAME Plain\n"
      "DEVICENAME /dev/null\n"
      "LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\n";
  const auto entries = ParseReaderConf(text, "f");
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].friendly_name, "dmcard reader A");
  EXPECT_EQ(entries[0].port, 0x9000);  // 36864
  EXPECT_EQ(entries[0].host, "");
  EXPECT_EQ(entries[1].friendly_name, "Reader B");
  EXPECT_EQ(entries[1].port, 36000);
  EXPECT_EQ(entries[1].host, "");
  EXPECT_EQ(entries[2].friendly_name, "Remote");
  EXPECT_EQ(entries[2].port, 36096);  // 0x8D00
  EXPECT_EQ(entries[2].host, "card.example");
  EXPECT_EQ(entries[3].friendly_name, "Plain");
  EXPECT_EQ(entries[3].port, 35963) << "vpcd's default port";
}

// pcscd stops taking entries from a file at its first malformed line (a key whose value is not on
// its line, an unknown key): the entries before it count, those after do not.
TEST(Vicc_ReaderConf, NothingAfterAMalformedLine) {
  const std::string text =
      "FRIENDLYNAME First\n"
      "DEVICENAME /dev/null:40000\n"
      "LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\n"
      "FRIENDLYNAME\n"
      "\"Second\"\n"
      "DEVICENAME /dev/null:40002\n"
      "LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\n";
  const auto entries = ParseReaderConf(text, "f");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].friendly_name, "First");
  EXPECT_EQ(entries[0].port, 40000);
  const auto unknown = ParseReaderConf(
      "SPEED 9600\nFRIENDLYNAME X\nDEVICENAME /dev/null:40000\nLIBPATH "
      "/usr/lib/pcsc/drivers/serial/libifdvpcd.so\n",
      "f");
  EXPECT_TRUE(unknown.empty());
}

ReaderConf Conf(std::vector<VpcdEntry> entries) {
  ReaderConf conf;
  conf.dir = "/etc/reader.conf.d";
  conf.entries = std::move(entries);
  return conf;
}

// Slot s of an entry on base port P is port P + s, named "<FRIENDLYNAME> 00 0s" (two slots per
// entry in Debian's vpcd).
TEST(Vicc_ReaderConf, NamesTheReaderForAPort) {
  const ReaderConf conf = Conf(ParseReaderConf(kDebian, "/etc/reader.conf.d/vpcd"));
  const ReaderLookup first = LookUpReader(conf, 35963, false);
  ASSERT_TRUE(first.name);
  EXPECT_EQ(*first.name, "Virtual PCD 00 00");
  EXPECT_EQ(first.note, "");
  const ReaderLookup second = LookUpReader(conf, 35964, false);
  ASSERT_TRUE(second.name);
  EXPECT_EQ(*second.name, "Virtual PCD 00 01");

  const ReaderLookup none = LookUpReader(conf, 35965, false);
  EXPECT_FALSE(none.name);
  EXPECT_NE(none.note.find("no vpcd reader in /etc/reader.conf.d serves port 35965, so pcscd "
                           "will not see this card until one does"),
            std::string::npos)
      << none.note;
  EXPECT_NE(none.note.find("DEVICENAME /dev/null:0x8C7D"), std::string::npos) << none.note;
  EXPECT_NE(none.note.find("LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so"), std::string::npos)
      << none.note;
  EXPECT_NE(none.note.find("restart pcscd"), std::string::npos) << none.note;
  EXPECT_FALSE(LookUpReader(conf, 35962, false).name);
}

// A reverse-mode entry (vpcd connects to HOST:PORT) names the card for --reverse only; without
// it, the note says to use --reverse. The other way round likewise.
TEST(Vicc_ReaderConf, ModeMustMatch) {
  const ReaderConf conf =
      Conf(ParseReaderConf("FRIENDLYNAME Remote\nDEVICENAME localhost:36100\nLIBPATH "
                           "/usr/lib/pcsc/drivers/serial/libifdvpcd.so\n",
                           "/etc/reader.conf.d/remote"));
  const ReaderLookup reverse = LookUpReader(conf, 36101, true);
  ASSERT_TRUE(reverse.name);
  EXPECT_EQ(*reverse.name, "Remote 00 01");
  const ReaderLookup normal = LookUpReader(conf, 36101, false);
  EXPECT_FALSE(normal.name);
  EXPECT_NE(normal.note.find("with --reverse"), std::string::npos) << normal.note;
  const ReaderLookup listen =
      LookUpReader(Conf(ParseReaderConf(kDebian, "/etc/reader.conf.d/vpcd")), 35963, true);
  EXPECT_FALSE(listen.name);
  EXPECT_NE(listen.note.find("without --reverse"), std::string::npos) << listen.note;
}

// pcscd numbers every vpcd reader 00 (vpcd does not announce simultaneous access), so two vpcd
// entries with one FRIENDLYNAME give two readers "Virtual PCD 00 00": said.
TEST(Vicc_ReaderConf, SameFriendlyNameTwiceIsSaid) {
  const ReaderConf conf = Conf(ParseReaderConf(
      std::string(kDebian) + "FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME /dev/null:35965\nLIBPATH "
                             "/usr/lib/pcsc/drivers/serial/libifdvpcd.so\n",
      "/etc/reader.conf.d/vpcd"));
  ASSERT_EQ(conf.entries.size(), 2u);
  const ReaderLookup second = LookUpReader(conf, 35965, false);
  ASSERT_TRUE(second.name);
  EXPECT_EQ(*second.name, "Virtual PCD 00 00");
  EXPECT_NE(second.note.find("same FRIENDLYNAME"), std::string::npos) << second.note;
}

// A directory: regular files in name order; hidden files and subdirectories are skipped, as
// pcscd skips them; a missing directory is an error, not a crash.
TEST(Vicc_ReaderConf, LoadsADirectory) {
  const fs::path dir =
      fs::temp_directory_path() / ("dmcard-reader-conf-unit-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "b-second") << "FRIENDLYNAME Second\nDEVICENAME /dev/null:40002\nLIBPATH "
                                     "/usr/lib/pcsc/drivers/serial/libifdvpcd.so\n";
  std::ofstream(dir / "a-first") << "FRIENDLYNAME First\nDEVICENAME /dev/null:40000\nLIBPATH "
                                    "/usr/lib/pcsc/drivers/serial/libifdvpcd.so\n";
  std::ofstream(dir / ".hidden") << "FRIENDLYNAME Hidden\nDEVICENAME /dev/null:40004\nLIBPATH "
                                    "/usr/lib/pcsc/drivers/serial/libifdvpcd.so\n";
  std::ofstream(dir / "sub" / "x") << "FRIENDLYNAME Sub\nDEVICENAME /dev/null:40006\nLIBPATH "
                                      "/usr/lib/pcsc/drivers/serial/libifdvpcd.so\n";
  const ReaderConf conf = LoadReaderConf(dir.string());
  EXPECT_EQ(conf.error, "");
  ASSERT_EQ(conf.entries.size(), 2u);
  EXPECT_EQ(conf.entries[0].friendly_name, "First");
  EXPECT_EQ(conf.entries[1].friendly_name, "Second");
  EXPECT_EQ(conf.entries[1].file, (dir / "b-second").string());
  fs::remove_all(dir);

  const ReaderConf missing = LoadReaderConf(dir.string());
  EXPECT_NE(missing.error, "");
  const ReaderLookup none = LookUpReader(missing, 35963, false);
  EXPECT_NE(none.note.find("unreadable"), std::string::npos) << none.note;
}

}  // namespace
}  // namespace dmcard::vicc
