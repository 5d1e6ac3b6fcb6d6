// The dmcard host tool as a user runs it: help, errors that say what to do, the in-process demo
// and shell, and state that persists between runs with --state.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace dmcard {
namespace {

namespace fs = std::filesystem;

struct CliRun {
  std::string out;
  int rc;
};

// Runs `dmcard ARGS`, feeding `input` on standard input; stdout and stderr together.
CliRun Dmcard(const std::string& args, const std::string& input = "") {
  const fs::path in = fs::temp_directory_path() / ("dmcard-cli-in-" + std::to_string(::getpid()));
  std::ofstream(in) << input;
  const std::string cmd = std::string(DMCARD_CLI_PATH) + " " + args + " < " + in.string() + " 2>&1";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int rc = ::pclose(p);
  fs::remove(in);
  return {out, WIFEXITED(rc) ? WEXITSTATUS(rc) : -1};
}

TEST(DmcardCli, HelpAndUsageErrors) {
  CliRun help = Dmcard("--help");
  EXPECT_EQ(help.rc, 0);
  EXPECT_NE(help.out.find("dmcard --direct shell"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("-r,--reader"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--profile FILE"), std::string::npos);
  CliRun none = Dmcard("");
  EXPECT_EQ(none.rc, 2);
  EXPECT_NE(none.out.find("no command given"), std::string::npos) << none.out;
  EXPECT_NE(none.out.find("dmcard --help"), std::string::npos) << none.out;
  CliRun unknown = Dmcard("demo --frobnicate");
  EXPECT_EQ(unknown.rc, 2);
  EXPECT_NE(unknown.out.find("not expected: --frobnicate"), std::string::npos) << unknown.out;
  EXPECT_NE(unknown.out.find("dmcard --help"), std::string::npos) << unknown.out;
  CliRun bad_profile = Dmcard("demo --profile /nonexistent.json");
  EXPECT_EQ(bad_profile.rc, 1);
  EXPECT_NE(bad_profile.out.find("/nonexistent.json"), std::string::npos) << bad_profile.out;
}

TEST(DmcardCli, DemoShowsTheDmAppletAndKeepsSecrets) {
  CliRun demo = Dmcard("demo");
  EXPECT_EQ(demo.rc, 0) << demo.out;
  EXPECT_NE(demo.out.find("ATR: 3B 8C 81 31 FE 45"), std::string::npos) << demo.out;
  // ServerID of the demo account, as hex: "dmcard.example.test".
  EXPECT_NE(demo.out.find("64 6D 63 61 72 64 2E 65 78 61 6D 70 6C 65 2E 74 65 73 74  9000"),
            std::string::npos)
      << demo.out;
  EXPECT_NE(demo.out.find("6982 (security status not satisfied)"), std::string::npos);
}

TEST(DmcardCli, ShellAnswersAndStatePersistsWithState) {
  const fs::path state =
      fs::temp_directory_path() / ("dmcard-cli-state-" + std::to_string(::getpid()));
  fs::remove_all(state);
  // A wrong PIN costs a try; the try counter is persistent.
  CliRun first = Dmcard("shell --state " + state.string(),
                        "00A4040C0AF0444D434152442D444D\n002000010439393939\nzz\nquit\n");
  EXPECT_EQ(first.rc, 1) << "an unreadable line makes the exit status non-zero";
  EXPECT_NE(first.out.find("63C2 (verification failed, 2 tries left)"), std::string::npos)
      << first.out;
  EXPECT_NE(first.out.find("'zz' is neither hex nor a shell command"), std::string::npos);
  CliRun second = Dmcard("shell --state " + state.string(),
                         "00A4040C0AF0444D434152442D444D\n00200001\nstats\n");
  EXPECT_EQ(second.rc, 0) << second.out;
  EXPECT_NE(second.out.find("63C2"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("persistent memory:"), std::string::npos);
  EXPECT_TRUE(fs::exists(state / "card.img") || fs::exists(state / "card.jnl"));
  fs::remove_all(state);
}

// Issue 7 item 4: a second process on a state directory in use is refused with the directory,
// the holder's PID and what to do; the first keeps its card.
TEST(DmcardCli, SecondProcessOnAStateDirectoryIsRefused) {
  const fs::path state =
      fs::temp_directory_path() / ("dmcard-cli-lock-" + std::to_string(::getpid()));
  fs::remove_all(state);
  // The first shell waits on a pipe we hold open; it has the card (and the lock) meanwhile.
  const std::string cmd =
      std::string(DMCARD_CLI_PATH) + " shell --state " + state.string() + " > /dev/null 2>&1";
  std::FILE* first = ::popen(cmd.c_str(), "w");
  ASSERT_NE(first, nullptr);
  for (int i = 0; i < 200 && !fs::exists(state / "card.jnl"); ++i) ::usleep(10000);
  // Wait until the first shell holds the lock (card.lock names it).
  std::string lock;
  for (int i = 0; i < 200 && lock.find("pid ") == std::string::npos; ++i) {
    std::ifstream in(state / "card.lock");
    std::getline(in, lock, '\0');
    if (lock.find("pid ") == std::string::npos) ::usleep(10000);
  }
  CliRun second = Dmcard("shell --state " + state.string(), "00A4040C0AF0444D434152442D444D\n");
  std::fputs("quit\n", first);
  EXPECT_EQ(::pclose(first), 0);
  EXPECT_EQ(second.rc, 1) << second.out;
  EXPECT_NE(second.out.find("'" + state.string() + "' is in use by process"), std::string::npos)
      << second.out;
  EXPECT_NE(second.out.find(lock.substr(4, lock.find('\n') - 4)), std::string::npos)
      << "names the holder's PID: " << lock << second.out;
  EXPECT_NE(second.out.find("Stop that dmcard or dmcard-vicc first"), std::string::npos);
  // Once the first has exited, the directory is free again.
  CliRun third = Dmcard("shell --state " + state.string(), "stats\n");
  EXPECT_EQ(third.rc, 0) << third.out;
  fs::remove_all(state);
}

// A folder of dmcard-vicc slot folders (what scripts/run.sh keeps in .state/demo) is not a card.
TEST(DmcardCli, StatePointedAtAFolderOfSlotsSaysSo) {
  const fs::path root =
      fs::temp_directory_path() / ("dmcard-cli-slots-" + std::to_string(::getpid()));
  fs::remove_all(root);
  ASSERT_EQ(Dmcard("shell --state " + (root / "slot0").string(), "quit\n").rc, 0);
  CliRun wrong = Dmcard("shell --state " + root.string(), "quit\n");
  EXPECT_EQ(wrong.rc, 1) << wrong.out;
  EXPECT_NE(wrong.out.find("--state " + (root / "slot0").string()), std::string::npos) << wrong.out;
  EXPECT_FALSE(fs::exists(root / "card.jnl")) << "no new card made there";
  fs::remove_all(root);
}

// Issue 8 item 6: --profile with a state directory that already holds a card says the profile
// was not applied (the card keeps its content); on a new directory nothing is said.
TEST(DmcardCli, ProfileForAnExistingCardSaysItIsNotApplied) {
  const fs::path state =
      fs::temp_directory_path() / ("dmcard-cli-profile-" + std::to_string(::getpid()));
  fs::remove_all(state);
  const std::string profile = std::string(DMCARD_SOURCE_DIR) + "/profiles/demo/profile.json";
  CliRun first = Dmcard("shell --state " + state.string() + " --profile " + profile, "atr\n");
  EXPECT_EQ(first.rc, 0) << first.out;
  EXPECT_EQ(first.out.find("not applied"), std::string::npos) << first.out;
  CliRun second = Dmcard("shell --state " + state.string() + " --profile " + profile, "atr\n");
  EXPECT_EQ(second.rc, 0) << second.out;
  EXPECT_NE(second.out.find("profile '" + profile + "' not applied: '" + state.string() +
                            "' already holds a card"),
            std::string::npos)
      << second.out;
  fs::remove_all(state);
}

TEST(DmcardCli, SendToTheInProcessCardFollowsGetResponse) {
  // SELECT of the DM applet answers its FCI (6F 44 ..., apdu-specs/dm.json); under T=0 the card
  // answers 61 46 first and dmcard sends GET RESPONSE for it (ISO 7816-4 §7.6.1).
  CliRun t1 = Dmcard("--direct send 00A404000AF0444D434152442D444D00");
  EXPECT_EQ(t1.rc, 0) << t1.out;
  EXPECT_NE(t1.out.find("< 6F 44 84 0A F0 44 4D 43 41 52 44 2D 44 4D A5 36"), std::string::npos)
      << t1.out;
  EXPECT_NE(t1.out.find("9000 (success)"), std::string::npos) << t1.out;
  CliRun t0 = Dmcard("--t0 send 00A404000AF0444D434152442D444D00");
  EXPECT_EQ(t0.rc, 0) << t0.out;
  EXPECT_NE(t0.out.find("(card answered 6146: sent 00 C0 00 00 46)"), std::string::npos) << t0.out;
  EXPECT_NE(t0.out.find("< 6F 44 84 0A"), std::string::npos) << t0.out;
}

TEST(DmcardCli, SendRefusesWhatIsNotAnApduAndConflictingCards) {
  CliRun short_apdu = Dmcard("--direct send 00A4");
  EXPECT_EQ(short_apdu.rc, 2);
  EXPECT_NE(short_apdu.out.find("'00A4' is not an APDU"), std::string::npos) << short_apdu.out;
  CliRun not_hex = Dmcard("--direct send 00A4040G");
  EXPECT_EQ(not_hex.rc, 2);
  CliRun both = Dmcard("-r 0 --state /tmp/x send 00A40400");
  EXPECT_EQ(both.rc, 1);
  EXPECT_NE(both.out.find("Give one or the other"), std::string::npos) << both.out;
  CliRun none = Dmcard("--direct send");
  EXPECT_EQ(none.rc, 2);
  EXPECT_NE(none.out.find("apdu is required"), std::string::npos) << none.out;
}

// Values from profiles/demo/tree.xml.
TEST(DmcardCli, ShellReadsTheTreeByName) {
  CliRun run = Dmcard("--direct shell",
                      "get ./DevInfo/Man\nselect dm\nget ./DevInfo/Man\nget ./DevInfo\n"
                      "tree ./DevDetail/URI\n");
  EXPECT_EQ(run.rc, 0) << run.out;
  EXPECT_NE(run.out.find("./DevInfo/Man: 6E00 class not supported — is the DM applet selected? "
                         "('select dm')"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("./DevInfo/Man = dmcard\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("./DevInfo/ DevId DmV Lang Man Mod\n"), std::string::npos) << run.out;
  EXPECT_NE(
      run.out.find("./DevDetail/URI\n├── MaxDepth = 16\n├── MaxSegLen = 64\n└── MaxTotLen = 255"),
      std::string::npos)
      << run.out;
}

TEST(DmcardCli, ShellNamedCommandsAndAWithheldPin) {
  CliRun run = Dmcard("--direct shell", "select dm\nverify 1234\nselect nosuch\n");
  EXPECT_EQ(run.rc, 1) << run.out;  // 'select nosuch' was not understood
  EXPECT_NE(run.out.find("> 00 A4 04 00 0A F0 44 4D 43 41 52 44 2D 44 4D 00"), std::string::npos)
      << run.out;
  // The typed PIN never appears: the command is shown with its value withheld.
  EXPECT_NE(run.out.find("> 00 20 00 01 04 ** ** ** **"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("31 32 33 34"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("error: select needs dm, fs, isd, pkcs15 or an AID"), std::string::npos)
      << run.out;
}

std::string TraceData(const std::string& name) {
  return std::string(DMCARD_SOURCE_DIR) + "/tests/data/traces/" + name;
}

TEST(DmcardCli, RunPassesAGoodTraceAndFailsATamperedOneWithItsDiff) {
  CliRun good =
      Dmcard("--direct run " + TraceData("demo_v1.trace") + " " + TraceData("demo_v2.trace"));
  EXPECT_EQ(good.rc, 0) << good.out;
  EXPECT_NE(good.out.find("PASS demo_v1: 20 passed, 0 failed"), std::string::npos) << good.out;
  EXPECT_NE(good.out.find("PASS demo_v2:"), std::string::npos) << good.out;
  // demo_v1_tampered.trace expects 6A83 where the card answers 6A82 (file not found).
  const fs::path junit = fs::temp_directory_path() / ("dmcard-junit-" + std::to_string(::getpid()));
  CliRun bad =
      Dmcard("--direct run --junit " + junit.string() + " " + TraceData("demo_v1_tampered.trace"));
  EXPECT_EQ(bad.rc, 1) << bad.out;
  EXPECT_NE(bad.out.find("demo_v1_tampered.trace:12: the answer to 00 A4 00 0C 02 12 34 does not "
                         "match"),
            std::string::npos)
      << bad.out;
  EXPECT_NE(bad.out.find("status word 6A82 (file or application not found), expected 6A83"),
            std::string::npos)
      << bad.out;
  std::ifstream in(junit);
  const std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(xml.find("<testsuite name=\"demo_v1_tampered\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure"), std::string::npos) << xml;
  fs::remove(junit);
}

TEST(DmcardCli, RunPrintsScriptorAndApdutoolScriptsInTheirOwnStyles) {
  CliRun scriptor = Dmcard("--direct run " + TraceData("scriptor_demo.txt"));
  EXPECT_EQ(scriptor.rc, 0) << scriptor.out;
  // pcsc-tools scriptor: "< RESPONSE : meaning" (pcsc-perl's ISO7816Error text).
  EXPECT_NE(scriptor.out.find("< 6A 82 : Wrong parameter(s) P1-P2. File not found."),
            std::string::npos)
      << scriptor.out;
  CliRun apdutool = Dmcard("--direct run " + TraceData("apdutool_demo.scr"));
  EXPECT_EQ(apdutool.rc, 0) << apdutool.out;
  EXPECT_NE(apdutool.out.find("CLA: 00, INS: a4, P1: 08, P2: 0c, Lc: 04, 50, 00, 50, 01, Le: 00, "
                              "SW1: 90, SW2: 00"),
            std::string::npos)
      << apdutool.out;
  CliRun tampered = Dmcard("--direct run " + TraceData("apdutool_tampered.scr"));
  EXPECT_EQ(tampered.rc, 1) << tampered.out;
}

TEST(DmcardCli, RunReadsEveryFileBeforeTouchingTheCard) {
  CliRun missing = Dmcard("--direct run " + TraceData("demo_v1.trace") + " /nonexistent.trace");
  EXPECT_EQ(missing.rc, 1);
  EXPECT_NE(missing.out.find("/nonexistent.trace"), std::string::npos) << missing.out;
  EXPECT_EQ(missing.out.find("PASS"), std::string::npos) << "ran before reading every file";
  CliRun format = Dmcard("--direct run --format nosuch " + TraceData("demo_v1.trace"));
  EXPECT_EQ(format.rc, 2);
  CliRun set = Dmcard("--direct run --set nohex " + TraceData("demo_v1.trace"));
  EXPECT_EQ(set.rc, 2);
  EXPECT_NE(set.out.find("--set takes NAME=HEX"), std::string::npos) << set.out;
}

// Values from profiles/demo/tree.xml, the built-in demo profile's tree.
TEST(DmcardCli, TreeDrawsWhatTheDeviceMayReadAndHidesSecrets) {
  CliRun info = Dmcard("--direct tree ./DevInfo");
  EXPECT_EQ(info.rc, 0) << info.out;
  EXPECT_NE(info.out.find("./DevInfo\n├── DevId = IMEI:000000000000000\n"), std::string::npos)
      << info.out;
  EXPECT_NE(info.out.find("└── Mod = dmcard-virtual\n"), std::string::npos) << info.out;
  CliRun all = Dmcard("--direct tree");
  EXPECT_EQ(all.rc, 0) << all.out;
  EXPECT_NE(all.out.find("Addr = https://dms.example.test/dm"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("AAuthSecret = (not readable)"), std::string::npos) << all.out;
  CliRun tnds = Dmcard("--direct tree --tnds ./DevInfo");
  EXPECT_EQ(tnds.rc, 0) << tnds.out;
  EXPECT_NE(tnds.out.find("<NodeName>Man</NodeName>"), std::string::npos) << tnds.out;
  CliRun bad = Dmcard("--direct tree DevInfo");
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.out.find("./"), std::string::npos) << bad.out;
}

TEST(DmcardCli, DmsChangesTheTreeOverScp03AndTheLogSaysSo) {
  const fs::path state =
      fs::temp_directory_path() / ("dmcard-cli-dms-" + std::to_string(::getpid()));
  fs::remove_all(state);
  const std::string card = "--state " + state.string() + " dms ";
  CliRun add = Dmcard(card + "add ./DMAcc/DMCardTest/Note 'hello there'");
  EXPECT_EQ(add.rc, 0) << add.out;
  EXPECT_NE(add.out.find("add ./DMAcc/DMCardTest/Note: OK"), std::string::npos) << add.out;
  CliRun replace = Dmcard(card + "replace ./DMAcc/DMCardTest/Note hex:414243");
  EXPECT_EQ(replace.rc, 0) << replace.out;
  CliRun get = Dmcard(card + "get ./DMAcc/DMCardTest/Note ./DevInfo/Man ./DMAcc");
  EXPECT_EQ(get.rc, 0) << get.out;
  EXPECT_NE(get.out.find("./DMAcc/DMCardTest/Note = ABC\n"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("./DevInfo/Man = dmcard\n"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("./DMAcc/ DMCardTest\n"), std::string::npos) << get.out;
  CliRun del = Dmcard(card + "delete ./DMAcc/DMCardTest/Note");
  EXPECT_EQ(del.rc, 0) << del.out;
  CliRun gone = Dmcard(card + "get ./DMAcc/DMCardTest/Note");
  EXPECT_EQ(gone.rc, 1) << gone.out;
  EXPECT_NE(gone.out.find("6A82"), std::string::npos) << gone.out;
  // The demo root ACL lets only dmcard.example.test add under "." — and the card says no.
  CliRun refused = Dmcard(card + "add ./Vendor/dmcard/X 1");
  EXPECT_NE(refused.out.find("refused"), std::string::npos) << refused.out;
  CliRun log = Dmcard(card + "log");
  EXPECT_EQ(log.rc, 0) << log.out;
  EXPECT_NE(log.out.find("dmcard.example.test: tree changed by ADD — ./DMAcc/DMCardTest/Note"),
            std::string::npos)
      << log.out;
  EXPECT_NE(log.out.find("by DELETE"), std::string::npos) << log.out;
  fs::remove_all(state);
}

TEST(DmcardCli, DmsSaysWhichKeySetsThereAreAndRefusesABadLevel) {
  CliRun server = Dmcard("--direct dms --server nosuch get ./DevInfo/Man");
  EXPECT_EQ(server.rc, 2);
  EXPECT_NE(server.out.find("no key set for 'nosuch'; it has issuer (owner @issuer), dm-server "
                            "(owner dmcard.example.test)"),
            std::string::npos)
      << server.out;
  CliRun level = Dmcard("--direct dms --level 02 get ./DevInfo/Man");
  EXPECT_EQ(level.rc, 2);
  EXPECT_NE(level.out.find("--level must be 01, 03, 13 or 33"), std::string::npos) << level.out;
  CliRun none = Dmcard("--direct dms");
  EXPECT_EQ(none.rc, 2) << none.out;
}

TEST(DmcardCli, HelpdeskReportsTheCardTheDeviceTheConfigurationAndTheLog) {
  CliRun report = Dmcard("--direct dms helpdesk");
  EXPECT_EQ(report.rc, 0) << report.out;
  for (const char* part :
       {"UC521 helpdesk report",
        "flags: provisioning data present, user confirmation required "
        "(USA1), connect to the DMS autonomously (USA3)",
        "capabilities: extended length", "Device properties (DevInfo)", "├── Man = dmcard",
        "FwV = 0.1.0-test", "DM accounts", "Event log", "(the event log is empty)"}) {
    EXPECT_NE(report.out.find(part), std::string::npos) << part << "\n" << report.out;
  }
}

TEST(DmcardCli, PersonalizeLoadsAProfileIntoABlankCardAsTheIssuer) {
  const fs::path state =
      fs::temp_directory_path() / ("dmcard-cli-perso-" + std::to_string(::getpid()));
  fs::remove_all(state);
  const std::string src = DMCARD_SOURCE_DIR;
  const std::string blank = src + "/tests/data/dm/profiles/blank/profile.json";
  const std::string demo = src + "/profiles/demo/profile.json";
  const std::string card = "--state " + state.string() + " ";
  CliRun empty = Dmcard(card + "--profile " + blank + " tree ./DevInfo");
  EXPECT_NE(empty.out.find("./DevInfo (6A82"), std::string::npos) << empty.out;
  // The demo profile's own issuer key set is the blank card's (the same obviously-test keys).
  CliRun perso = Dmcard(card + "personalize " + demo);
  EXPECT_EQ(perso.rc, 0) << perso.out;
  EXPECT_NE(perso.out.find("done: the card holds the profile"), std::string::npos) << perso.out;
  CliRun info = Dmcard(card + "tree ./DevInfo");
  EXPECT_NE(info.out.find("├── Man = dmcard\n"), std::string::npos) << info.out;
  // A DM server key set is not the issuer's: the card refuses the handshake.
  CliRun wrong = Dmcard(card + "dms --server nosuch get .");
  EXPECT_EQ(wrong.rc, 2);
  // A profile the card's rules refuse is refused before the card is touched, whoever's issuer
  // keys are named.
  std::ofstream(state.string() + "-bad.json")
      << R"({"profile": "p", "tree": "tree.xml", "frobnicate": 1})";
  CliRun bad = Dmcard(card + "personalize " + state.string() + "-bad.json --issuer-keys " + blank);
  EXPECT_EQ(bad.rc, 2) << bad.out;
  EXPECT_NE(bad.out.find("field 'frobnicate' unknown field"), std::string::npos) << bad.out;
  fs::remove(state.string() + "-bad.json");
  CliRun missing = Dmcard(card + "personalize /nonexistent/profile.json");
  EXPECT_EQ(missing.rc, 2) << missing.out;
  EXPECT_NE(missing.out.find("/nonexistent/profile.json"), std::string::npos) << missing.out;
  fs::remove_all(state);
}

// UC-CR end to end with the three roles' commands: the operator makes keys and their profile
// entries, the card is made from a profile holding them, the operator signs a bootstrap, the
// device has the card verify it and writes its tree; a tampered package is refused.
TEST(DmcardCli, OperatorSignsAndTheDeviceProvisionsThroughTheCard) {
  const fs::path dir = fs::temp_directory_path() / ("dmcard-cli-op-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  CliRun keygen = Dmcard("operator keygen --out " + (dir / "keys").string());
  ASSERT_EQ(keygen.rc, 0) << keygen.out;
  CliRun again = Dmcard("operator keygen --out " + (dir / "keys").string());
  EXPECT_EQ(again.rc, 1) << "an operator key file was overwritten";
  EXPECT_NE(again.out.find("never overwritten"), std::string::npos) << again.out;
  // The demo profile plus keygen's entries (profiles/README.md "bootstrap_keys").
  const std::string src = DMCARD_SOURCE_DIR;
  std::ifstream demo(src + "/profiles/demo/profile.json");
  std::string profile((std::istreambuf_iterator<char>(demo)), std::istreambuf_iterator<char>());
  std::ifstream entries_file(dir / "keys" / "profile-entries.json");
  std::string entries((std::istreambuf_iterator<char>(entries_file)),
                      std::istreambuf_iterator<char>());
  const size_t open = entries.find('[');
  const size_t close = entries.rfind(']');
  ASSERT_NE(open, std::string::npos) << entries;
  profile.replace(profile.rfind('}'), 1,
                  ", \"bootstrap_keys\": " + entries.substr(open, close - open + 1) + "}");
  std::ofstream(dir / "profile.json") << profile;
  fs::copy_file(src + "/profiles/demo/tree.xml", dir / "tree.xml");
  std::ofstream(dir / "acct.xml")
      << "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>Operator</NodeName><Path>./DMAcc</Path>"
         "<RTProperties><Format><node/></Format></RTProperties><Node><NodeName>ServerID"
         "</NodeName><RTProperties><Format><chr/></Format></RTProperties><Value>"
         "dms-op.example.test</Value></Node></Node></MgmtTree>";
  CliRun sign = Dmcard("operator bootstrap --tnds " + (dir / "acct.xml").string() +
                       " --method HMAC-SHA256 --keys " + (dir / "keys").string() +
                       " --seq 7 --out " + (dir / "pkg.hex").string());
  ASSERT_EQ(sign.rc, 0) << sign.out;
  const std::string card =
      "--state " + (dir / "card").string() + " --profile " + (dir / "profile.json").string();
  CliRun provision = Dmcard(card + " device provision --yes --tree " + (dir / "dev.xml").string() +
                            " --package " + (dir / "pkg.hex").string());
  EXPECT_EQ(provision.rc, 0) << provision.out;
  EXPECT_NE(provision.out.find("verified by the card"), std::string::npos) << provision.out;
  std::ifstream dev(dir / "dev.xml");
  const std::string tree((std::istreambuf_iterator<char>(dev)), std::istreambuf_iterator<char>());
  EXPECT_NE(tree.find("dms-op.example.test"), std::string::npos) << tree;
  // The same package again: its sequence number is used up (replay, 6985), nothing written.
  CliRun replay = Dmcard(card + " device provision --yes --tree " + (dir / "dev2.xml").string() +
                         " --package " + (dir / "pkg.hex").string());
  EXPECT_EQ(replay.rc, 1) << replay.out;
  EXPECT_NE(replay.out.find("6985"), std::string::npos) << replay.out;
  EXPECT_FALSE(fs::exists(dir / "dev2.xml"));
  // The user declines: exit 3, nothing written.
  CliRun sign2 =
      Dmcard("operator bootstrap --tnds " + (dir / "acct.xml").string() +
             " --method NETWPIN --imsi 001010123456789 --out " + (dir / "pkg2.hex").string());
  ASSERT_EQ(sign2.rc, 0) << sign2.out;
  CliRun no = Dmcard(card + " device provision --no --tree " + (dir / "dev3.xml").string() +
                     " --package " + (dir / "pkg2.hex").string());
  EXPECT_EQ(no.rc, 3) << no.out;
  EXPECT_FALSE(fs::exists(dir / "dev3.xml"));
  CliRun bad = Dmcard("operator bootstrap --tnds " + (dir / "acct.xml").string() +
                      " --method RSA --out " + (dir / "x.hex").string());
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.out.find("--method must be NETWPIN"), std::string::npos) << bad.out;
  fs::remove_all(dir);
}

// Each file on a fresh in-process card: the golden traces, which each start from a fresh demo
// card, pass in one run.
TEST(DmcardCli, RunGivesEachFileAFreshInProcessCard) {
  const std::string dir = std::string(DMCARD_SOURCE_DIR) + "/apdu-specs/traces/";
  CliRun all = Dmcard("--direct run " + dir + "uc-cr-accepted.trace " + dir +
                      "uc-cr-tampered.trace " + dir + "uc-cr-replayed.trace");
  EXPECT_EQ(all.rc, 0) << all.out;
  EXPECT_NE(all.out.find("PASS uc-cr-tampered:"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("PASS uc-cr-replayed:"), std::string::npos) << all.out;
}

// On a terminal the shell prompts, edits lines and keeps a history (libedit) — never of a line
// that can carry a PIN or a secret. `script` gives the shell a terminal.
TEST(DmcardCli, ShellOnATerminalKeepsAHistoryWithoutSecrets) {
  if (std::system("command -v script > /dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1)";
  const fs::path home =
      fs::temp_directory_path() / ("dmcard-cli-home-" + std::to_string(::getpid()));
  fs::remove_all(home);
  fs::create_directories(home);
  const std::string cmd = "HOME=" + home.string() + " script -qec '" +
                          std::string(DMCARD_CLI_PATH) + " --direct shell' /dev/null";
  const fs::path in = home / "input";
  std::ofstream(in) << "select dm\nverify 1234\n0020000104 31323334\nget ./DevInfo/Man\nquit\n";
  std::FILE* p = ::popen((cmd + " < " + in.string() + " 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  ::pclose(p);
  EXPECT_NE(out.find("dmcard> "), std::string::npos) << out;
  EXPECT_NE(out.find("./DevInfo/Man = dmcard"), std::string::npos) << out;
  std::ifstream h(home / ".dmcard_history");
  const std::string history((std::istreambuf_iterator<char>(h)), std::istreambuf_iterator<char>());
  EXPECT_NE(history.find("get"), std::string::npos) << history;
  EXPECT_EQ(history.find("1234"), std::string::npos) << history;
  EXPECT_EQ(history.find("31323334"), std::string::npos) << history;
  EXPECT_EQ(fs::status(home / ".dmcard_history").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  fs::remove_all(home);
}

}  // namespace
}  // namespace dmcard
