// The host's reader of the command reference (host/apdu_spec.h), the command namer that uses it
// (host/command_namer.h) and the generated human reference (host/apdu_reference.h): the
// embedded specs are the files', CLA/P1/P2 notations parse, every command entry is named for a
// header built from its own entry, concrete APDUs get hand-checked names, the namer follows
// selections per logical channel and forgets them on reset, and the committed reference pages
// are what the generator writes.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "host/apdu_reference.h"
#include "host/apdu_spec.h"
#include "host/command_namer.h"
#include "runtime/bytes.h"

namespace dmcard {
namespace {

namespace fs = std::filesystem;

fs::path SpecDir() { return fs::path(DMCARD_SOURCE_DIR) / "apdu-specs"; }

const ApduSpecSet& SourceSpecs() {
  static const ApduSpecSet specs = [] {
    ApduSpecSet s;
    std::string error;
    EXPECT_TRUE(LoadApduSpecs(SpecDir(), s, error)) << error;
    return s;
  }();
  return specs;
}

Bytes Hex(const std::string& text) {
  std::string s;
  for (char c : text) {
    if (c != ' ') s += c;
  }
  auto b = FromHex(s);
  EXPECT_TRUE(b) << "bad hex in the test: " << text;
  return b.value_or(Bytes{});
}

const char* kSelectDm = "00A404000AF0444D434152442D444D00";
const char* kSelectIsd = "00A4040008A000000151000000";

// A namer following the built-in specs, with the DM applet selected on the basic channel.
CommandNamer DmSelected() {
  CommandNamer namer;
  namer.Observe(Hex(kSelectDm), Hex("6F44 9000"));
  return namer;
}

std::string NameOf(const CommandNamer& namer, const std::string& hex) {
  return namer.Name(Hex(hex)).name;
}

TEST(HostApduSpec, BuiltInSpecsAreTheFiles) {
  ApduSpecSet built_in;
  std::string error;
  ASSERT_TRUE(ParseBuiltInApduSpecs(built_in, error)) << error;
  ASSERT_EQ(built_in.groups.size(), 3u);
  EXPECT_EQ(built_in.groups[0].file, "runtime");
  EXPECT_TRUE(built_in == SourceSpecs()) << "rebuild: the embedded JSON differs from apdu-specs/";
  EXPECT_TRUE(BuiltInApduSpecs() == SourceSpecs());
}

TEST(HostApduSpec, ReadsTheEntries) {
  const ApduSpecGroup* dm = SourceSpecs().Find("dm");
  ASSERT_NE(dm, nullptr);
  EXPECT_EQ(dm->group, "oma-dm");
  EXPECT_FALSE(dm->requirements.empty());
  const ApduCommandSpec& select = dm->commands.at(0);
  EXPECT_EQ(select.name, "SELECT (DM applet)");
  EXPECT_EQ(select.ins, 0xA4);
  ASSERT_EQ(select.p2.size(), 2u);
  EXPECT_EQ(select.p2[1].key, "0C");  // the file's order, not sorted
  EXPECT_EQ(select.p2[1].meaning, "no data");
  ASSERT_FALSE(select.examples.empty());
  EXPECT_EQ(select.examples[0].exchanges[0].command, kSelectDm);

  const ApduSpecGroup* runtime = SourceSpecs().Find("runtime");
  ASSERT_NE(runtime, nullptr);
  EXPECT_EQ(runtime->status_words.front().pattern, "9000");
  EXPECT_EQ(&SourceSpecs().StatusWords(), &runtime->status_words);
  // SELECT (by DF name): P2 is two bit fields.
  const ApduCommandSpec& by_name = runtime->commands.at(0);
  ASSERT_EQ(by_name.p2.size(), 2u);
  EXPECT_EQ(by_name.p2[0].key, "b2-b1");
  EXPECT_EQ(by_name.p2[0].fields.size(), 4u);
  // "Command chaining" names no INS: read, but never named for an APDU.
  const auto chaining = std::find_if(runtime->commands.begin(), runtime->commands.end(),
                                     [](const auto& c) { return c.name == "Command chaining"; });
  ASSERT_NE(chaining, runtime->commands.end());
  EXPECT_FALSE(chaining->ins.has_value());
  EXPECT_EQ(chaining->ins_text, "any applet command");
  EXPECT_EQ(chaining->cla.size(), 4u);
}

TEST(HostApduSpec, ParseErrorsNameTheEntry) {
  ApduSpecGroup g;
  std::string error;
  EXPECT_FALSE(ParseApduSpecGroup("x", "{", g, error));
  EXPECT_EQ(error, "x.json: not a JSON object");
  EXPECT_FALSE(ParseApduSpecGroup("x", R"({"group": "x", "commands": [{"name": "A"}]})", g, error));
  EXPECT_EQ(error, "x.json 'A': 'ins' is missing");
  EXPECT_FALSE(ParseApduSpecGroup(
      "x", R"({"group": "x", "commands": [{"name": "A", "ins": "30", "p1": {"00": 5}}]})", g,
      error));
  EXPECT_EQ(error, "x.json 'A': p1 '00' is neither a string nor a map");
  EXPECT_TRUE(ParseApduSpecGroup(
      "x", R"({"group": "x", "commands": [{"name": "A", "ins": "30", "cla": "80"}]})", g, error));
  ASSERT_EQ(g.commands.size(), 1u);
  EXPECT_EQ(g.commands[0].cla, (std::vector<ClaRange>{{0x80, 0x80}}));

  ApduSpecSet set;
  EXPECT_FALSE(LoadApduSpecs(SpecDir() / "no-such-dir", set, error));
}

TEST(HostApduSpec, ClaNotations) {
  std::vector<ClaRange> r;
  ASSERT_TRUE(ParseClaRanges("00-03, 40-4F (channel in CLA)", r));
  EXPECT_EQ(r, (std::vector<ClaRange>{{0x00, 0x03}, {0x40, 0x4F}}));
  ASSERT_TRUE(ParseClaRanges("80-83, C0-CF", r));
  EXPECT_EQ(r, (std::vector<ClaRange>{{0x80, 0x83}, {0xC0, 0xCF}}));
  ASSERT_TRUE(ParseClaRanges("84-87, C4-CF", r));
  EXPECT_EQ(r, (std::vector<ClaRange>{{0x84, 0x87}, {0xC4, 0xCF}}));
  ASSERT_TRUE(ParseClaRanges("00-03, 40-4F (chaining allowed)", r));
  EXPECT_EQ(r.size(), 2u);
  // The runtime's chaining entry: "b5" is a bit, not a CLA.
  ASSERT_TRUE(ParseClaRanges(
      "CLA with b5 set (10-13, 50-5F, 90-93, D0-DF) on every command but the last", r));
  EXPECT_EQ(r, (std::vector<ClaRange>{{0x10, 0x13}, {0x50, 0x5F}, {0x90, 0x93}, {0xD0, 0xDF}}));
  r.clear();
  EXPECT_FALSE(ParseClaRanges("any class", r));
  EXPECT_FALSE(ParseClaRanges("", r));
  EXPECT_FALSE(ParseClaRanges("4F-40", r));  // backwards
  EXPECT_TRUE(r.empty());
}

TEST(HostApduSpec, ParamNotations) {
  auto fits = [](const std::string& key, uint8_t v) { return ParamKeyMatches({key, "", {}}, v); };
  EXPECT_TRUE(fits("04", 0x04));
  EXPECT_FALSE(fits("04", 0x05));
  EXPECT_TRUE(fits("0C", 0x0C));
  EXPECT_TRUE(fits("00-FF", 0x00));
  EXPECT_TRUE(fits("00-FF", 0xFF));
  EXPECT_TRUE(fits("30-3F", 0x30));
  EXPECT_TRUE(fits("30-3F", 0x3F));
  EXPECT_FALSE(fits("30-3F", 0x40));
  EXPECT_FALSE(fits("30-3F", 0x2F));
  EXPECT_TRUE(fits("0xxxxxxx", 0x7F));
  EXPECT_FALSE(fits("0xxxxxxx", 0x80));
  EXPECT_TRUE(fits("100sssss", 0x82));
  EXPECT_FALSE(fits("100sssss", 0xA2));
  EXPECT_TRUE(fits("sssss100", 0x24));
  EXPECT_FALSE(fits("sssss100", 0x25));
  EXPECT_TRUE(fits("any", 0x5A));
  EXPECT_FALSE(fits("", 0x00));
  EXPECT_FALSE(fits("some prose", 0x00));
  // P2 b4-b3 of SELECT: 00 FCI, 11 no response data.
  const ApduParamValue field{"b4-b3", "", {{"00", "FCI", {}}, {"11", "none", {}}}};
  EXPECT_TRUE(ParamKeyMatches(field, 0x00));
  EXPECT_TRUE(ParamKeyMatches(field, 0x0C));
  EXPECT_TRUE(ParamKeyMatches(field, 0x0D));
  EXPECT_FALSE(ParamKeyMatches(field, 0x04));
}

TEST(HostApduSpec, StatusWordTexts) {
  const ApduSpecSet& s = SourceSpecs();
  EXPECT_TRUE(StatusWordMatches("63Cx", 0x63C2));
  EXPECT_FALSE(StatusWordMatches("63Cx", 0x6302));
  EXPECT_TRUE(StatusWordMatches("61xx", 0x6100));
  EXPECT_TRUE(StatusWordMatches("6a82", 0x6A82));
  EXPECT_EQ(StatusWordText(s, 0x9000), "9000 success");
  EXPECT_EQ(StatusWordText(s, 0x6A82), "6A82 file or application not found");
  EXPECT_EQ(StatusWordText(s, 0x63C2), "63C2 verification failed, 2 tries left");
  EXPECT_EQ(StatusWordText(s, 0x6112),
            "6112 18 more bytes available, fetch with GET RESPONSE (00 = 256 or more)");
  EXPECT_EQ(StatusWordText(s, 0x6C10), "6C10 T=0 only: wrong Le, 16 bytes available");
  EXPECT_EQ(StatusWordText(s, 0x6300),
            "6300 authentication failed (GlobalPlatform: EXTERNAL AUTHENTICATE with a wrong host "
            "cryptogram; OMA DM: a server credential that does not check)");
  // Not in runtime.json: the card's own text.
  EXPECT_EQ(StatusWordText(s, 0x6988),
            "6988 incorrect secure messaging data objects (e.g. a wrong MAC)");
  EXPECT_EQ(StatusWordMeaning(s, 0x1234), "unknown status");
  EXPECT_EQ(StatusWordMeaning(ApduSpecSet{}, 0x9000), "success");
}

// A P1/P2 value for a key of the JSON, worked out here rather than by the library: the byte, the
// start of a range, a bit pattern with its free bits 0, 0 for "any" and for bit fields.
uint8_t ValueFor(const ApduParamValue& p) {
  const std::string& k = p.key;
  if (p.bit_field() || k == "any") return 0;
  if (k.size() == 8) {
    uint8_t v = 0;
    for (char c : k) v = static_cast<uint8_t>((v << 1) | (c == '1'));
    return v;
  }
  auto b = FromHex(k.substr(0, 2));
  EXPECT_TRUE(b && b->size() == 1) << "key " << k;
  return b && !b->empty() ? (*b)[0] : 0;
}

TEST(HostApduSpec, EveryCommandIsNamedFromItsOwnHeader) {
  const ApduSpecSet& specs = SourceSpecs();
  int named = 0, without_ins = 0;
  for (const ApduSpecGroup& g : specs.groups) {
    for (const ApduCommandSpec& c : g.commands) {
      SCOPED_TRACE(g.file + ".json / " + c.name);
      if (!c.ins) {
        ++without_ins;
        continue;
      }
      ASSERT_FALSE(c.cla.empty());
      const uint8_t cla = c.cla.front().first;
      std::vector<uint8_t> p1s;
      for (const ApduParamValue& p : c.p1) p1s.push_back(ValueFor(p));
      if (p1s.empty()) p1s.push_back(0);
      const uint8_t p2 = c.p2.empty() ? 0 : ValueFor(c.p2.front());
      for (uint8_t p1 : p1s) {
        CommandNamer namer(specs);
        if (g.file == "dm") namer.Observe(Hex(kSelectDm), Hex("9000"));
        Bytes apdu{cla, *c.ins, p1, p2};
        if (*c.ins == 0xA4 && p1 == 0x04) {
          // By DF name: the DM applet's AID; a DF of the file system (the PKCS#15 application);
          // for the runtime an applet without a spec file (the ISD).
          const Bytes aid = Hex(g.file == "dm"       ? "F0444D434152442D444D"
                                : g.file == "iso-fs" ? "A000000063504B43532D3135"
                                                     : "A000000151000000");
          apdu.push_back(static_cast<uint8_t>(aid.size()));
          apdu.insert(apdu.end(), aid.begin(), aid.end());
        }
        const CommandName n = namer.Name(apdu);
        EXPECT_EQ(n.spec_file, g.file) << ToHex(apdu) << " named " << n.name;
        EXPECT_EQ(n.spec_command, c.name) << ToHex(apdu);
        EXPECT_TRUE(n.name == c.name || n.name.rfind(c.name + ": ", 0) == 0)
            << ToHex(apdu) << " named " << n.name;
        ++named;
      }
    }
  }
  EXPECT_EQ(without_ins, 1);  // "Command chaining"
  EXPECT_GT(named, 50);
}

TEST(HostApduSpec, NamesConcreteCommands) {
  CommandNamer fs;  // fresh: the file-system applet on the basic channel
  EXPECT_EQ(NameOf(fs, "00A4040009F0444D43415244465300"), "SELECT (by DF name)");
  EXPECT_EQ(NameOf(fs, kSelectDm), "SELECT (DM applet): FCI");
  EXPECT_EQ(NameOf(fs, "00A4040C0CA000000063504B43532D3135"),
            "SELECT (file): DF name, when no applet has that name");
  EXPECT_EQ(NameOf(fs, "00A4080C0450005001"), "SELECT (file): path from the MF");
  EXPECT_EQ(NameOf(fs, "00B0000010"), "READ BINARY: P1-P2 = offset in the current EF");
  EXPECT_EQ(NameOf(fs, "00B0820010"), "READ BINARY: SFI sssss under the current DF");
  EXPECT_EQ(NameOf(fs, "00B2032410"), "READ RECORD");
  EXPECT_EQ(NameOf(fs, "0070000001"), "MANAGE CHANNEL: open");
  EXPECT_EQ(NameOf(fs, "00C0000012"), "GET RESPONSE");
  EXPECT_EQ(NameOf(fs, "8050300008010203040506070800"),
            "INITIALIZE UPDATE (SCP03): key version number of the key set");
  EXPECT_EQ(fs.Name(Hex("8050300008010203040506070800")).spec_file, "iso-fs");

  const CommandNamer dm = DmSelected();
  EXPECT_EQ(NameOf(dm, "803000001B2E2F444D4163632F444D43617264546573742F536572766572494400"),
            "GET (tree): value of a leaf");
  EXPECT_EQ(NameOf(dm, "80300200072E2F444D41636300"),
            "GET (tree): child names of an interior node, '/'-separated");
  EXPECT_EQ(NameOf(dm, "8042000000"), "VERIFY BOOTSTRAP: verify");
  EXPECT_EQ(NameOf(dm, "8042010000"), "VERIFY BOOTSTRAP: verify and, when valid, install");
  EXPECT_EQ(NameOf(dm, "80E2880000"), "STORE DATA (issuer personalization): the last block");
  EXPECT_EQ(NameOf(dm, "80CA00E100"), "GET DATA (descriptor, event log): the card's event log");
  EXPECT_EQ(NameOf(dm, "8034010100"), "REPLACE (tree): property P2");
  EXPECT_EQ(NameOf(dm, "803C010000"),
            "OMA DM CREDENTIAL (auth-md5, auth-MAC): compute the client's syncml:auth-MAC");
  EXPECT_EQ(NameOf(dm, "8482030010"), "EXTERNAL AUTHENTICATE (SCP03): C-MAC and C-DECRYPTION");
  EXPECT_EQ(NameOf(dm, "002400011031323334FFFFFFFF35363738FFFFFFFF"),
            "CHANGE REFERENCE DATA (DM applet PINs): data = old PIN || new PIN");
  EXPECT_EQ(NameOf(dm, "0088000008010203040506070800"),
            "INTERNAL AUTHENTICATE (card authentication): the card's first key of usage card "
            "authentication");
  // A P1 the command does not take: still that command, without a variant.
  EXPECT_EQ(NameOf(dm, "8030070000"), "GET (tree)");
  // The ISD has no spec file: its own commands are not named, the runtime's are.
  CommandNamer isd;
  EXPECT_EQ(NameOf(isd, kSelectIsd), "SELECT (by DF name)");
  isd.Observe(Hex(kSelectIsd), Hex("9000"));
  EXPECT_EQ(isd.SelectedApplet(0), 2);
  EXPECT_EQ(NameOf(isd, "8050300008010203040506070800"), "INS 50 (proprietary class)");
  EXPECT_EQ(NameOf(isd, "00C0000012"), "GET RESPONSE");
}

TEST(HostApduSpec, TheSameInsInDifferentApplets) {
  CommandNamer namer;
  const Bytes verify = Hex("00200001");
  EXPECT_EQ(namer.Name(verify).name, "VERIFY: verify");
  EXPECT_EQ(namer.Name(verify).spec_file, "runtime");
  namer.Observe(Hex(kSelectDm), Hex("6F44 9000"));
  EXPECT_EQ(namer.Name(verify).name, "VERIFY (DM applet PINs): verify or status");
  EXPECT_EQ(namer.Name(verify).spec_file, "dm");
  // Back to the file system by its AID (61xx counts as success).
  namer.Observe(Hex("00A4040009F0444D43415244465300"), Hex("6F15 6112"));
  EXPECT_EQ(namer.Name(verify).name, "VERIFY: verify");
  EXPECT_EQ(NameOf(namer, "00A4000C023F00"), "SELECT (file): FID");
}

TEST(HostApduSpec, FollowsLogicalChannels) {
  CommandNamer namer;
  namer.Observe(Hex(kSelectDm), Hex("9000"));
  EXPECT_EQ(namer.SelectedApplet(0), 0);
  EXPECT_EQ(namer.SelectedApplet(1), -1);  // not open
  EXPECT_EQ(NameOf(namer, "01200001"), "VERIFY: verify");

  // Opened from the basic channel: the default applet (the file system), whatever channel 0 has.
  namer.Observe(Hex("0070000001"), Hex("01 9000"));
  EXPECT_EQ(namer.SelectedApplet(1), kDmcardDefaultApplet);
  CommandName n = namer.Name(Hex("01200001"));
  EXPECT_EQ(n.name, "VERIFY: verify");
  EXPECT_EQ(n.channel, 1);
  EXPECT_EQ(n.Describe(), "VERIFY: verify [channel 1]");
  EXPECT_EQ(NameOf(namer, "00200001"), "VERIFY (DM applet PINs): verify or status");

  // SELECT on channel 1 changes channel 1 only.
  namer.Observe(Hex("01A404000AF0444D434152442D444D00"), Hex("9000"));
  EXPECT_EQ(NameOf(namer, "01200001"), "VERIFY (DM applet PINs): verify or status");
  namer.Observe(Hex("01A4040009F0444D43415244465300"), Hex("9000"));
  EXPECT_EQ(NameOf(namer, "01200001"), "VERIFY: verify");
  EXPECT_EQ(NameOf(namer, "00200001"), "VERIFY (DM applet PINs): verify or status");

  // Opened from another channel: that channel's applet. Channel 2 by number, from channel 1 (FS);
  // channel 3 assigned by the card, from channel 0 (DM) is the default applet again.
  namer.Observe(Hex("01A404000AF0444D434152442D444D00"), Hex("9000"));
  namer.Observe(Hex("01700002"), Hex("9000"));
  EXPECT_EQ(namer.SelectedApplet(2), 0);
  namer.Observe(Hex("0070000001"), Hex("03 9000"));
  EXPECT_EQ(namer.SelectedApplet(3), kDmcardDefaultApplet);

  // A SELECT that fails and one of a DF leave the applet selected.
  namer.Observe(Hex("02A4040C07A0000005719999"), Hex("6A82"));
  EXPECT_EQ(namer.SelectedApplet(2), 0);
  namer.Observe(Hex("03A4040C0CA000000063504B43532D3135"), Hex("9000"));
  EXPECT_EQ(namer.SelectedApplet(3), kDmcardDefaultApplet);
  // A refused MANAGE CHANNEL opens nothing.
  namer.Observe(Hex("00700004"), Hex("6A81"));
  EXPECT_EQ(namer.SelectedApplet(4), -1);

  // Close by P2, and the channel of the CLA.
  namer.Observe(Hex("00708002"), Hex("9000"));
  EXPECT_EQ(namer.SelectedApplet(2), -1);
  namer.Observe(Hex("03708000"), Hex("9000"));
  EXPECT_EQ(namer.SelectedApplet(3), -1);
  EXPECT_EQ(namer.SelectedApplet(1), 0);
  namer.Observe(Hex("00708000"), Hex("6A81"));  // the basic channel stays
  EXPECT_EQ(namer.SelectedApplet(0), 0);

  // Further interindustry class: channel 19 = CLA 4F.
  namer.Observe(Hex("00700013"), Hex("9000"));
  n = namer.Name(Hex("4F200001"));
  EXPECT_EQ(n.channel, 19);
  EXPECT_EQ(n.name, "VERIFY: verify");
  namer.Observe(Hex("4FA404000AF0444D434152442D444D00"), Hex("9000"));
  EXPECT_EQ(NameOf(namer, "4F200001"), "VERIFY (DM applet PINs): verify or status");
  // Proprietary class on channel 19 (CF): the DM applet's commands.
  EXPECT_EQ(namer.Name(Hex("CF3000000100")).Describe(), "GET (tree): value of a leaf [channel 19]");
}

TEST(HostApduSpec, ResetForgetsSelections) {
  CommandNamer namer = DmSelected();
  namer.Observe(Hex("0070000001"), Hex("01 9000"));
  namer.Observe(Hex("01A404000AF0444D434152442D444D00"), Hex("9000"));
  EXPECT_EQ(NameOf(namer, "80300000"), "GET (tree): value of a leaf");
  namer.Reset();
  EXPECT_EQ(namer.SelectedApplet(0), kDmcardDefaultApplet);
  EXPECT_EQ(namer.SelectedApplet(1), -1);
  EXPECT_EQ(NameOf(namer, "00200001"), "VERIFY: verify");
  EXPECT_EQ(NameOf(namer, "80300000"), "INS 30 (proprietary class)");
}

TEST(HostApduSpec, SecureMessagingAndChaining) {
  const CommandNamer dm = DmSelected();
  const CommandName plain = dm.Name(Hex("80300000"));
  const CommandName wrapped = dm.Name(Hex("84300000"));
  EXPECT_EQ(wrapped.name, plain.name);
  EXPECT_TRUE(wrapped.secure_messaging);
  EXPECT_FALSE(plain.secure_messaging);
  EXPECT_EQ(wrapped.Describe(), "GET (tree): value of a leaf [secure messaging]");
  // Further proprietary class with SM (E1: b6) on channel 5.
  CommandNamer namer = DmSelected();
  namer.Observe(Hex("00700000 01"), Hex("05 9000"));  // opened from 0 → default applet
  namer.Observe(Hex("41A404000AF0444D434152442D444D00"), Hex("9000"));
  EXPECT_EQ(namer.Name(Hex("E1300000")).Describe(),
            "GET (tree): value of a leaf [channel 5, secure messaging]");
  // Chaining bit: the same command.
  const CommandName chained = DmSelected().Name(Hex("9032000003800100"));
  EXPECT_EQ(chained.name, "ADD (tree)");
  EXPECT_TRUE(chained.chained);
  EXPECT_EQ(chained.Describe(), "ADD (tree) [chained]");
  CommandNamer fs;
  EXPECT_EQ(fs.Name(Hex("10D6000002AABB")).Describe(), "UPDATE BINARY: P1-P2 = offset [chained]");
}

TEST(HostApduSpec, UnknownAndMalformed) {
  const CommandNamer dm = DmSelected();
  CommandName n = dm.Name(Hex("80990000"));
  EXPECT_EQ(n.name, "INS 99 (proprietary class)");
  EXPECT_FALSE(n.known());
  EXPECT_EQ(NameOf(dm, "00990000"), "INS 99 (interindustry class)");
  // GET DATA is proprietary class in the DM applet; INTERNAL AUTHENTICATE interindustry.
  EXPECT_EQ(NameOf(dm, "00CA00A500"), "INS CA (interindustry class)");
  EXPECT_EQ(NameOf(dm, "8088000000"), "INS 88 (proprietary class)");
  EXPECT_EQ(NameOf(dm, "FF990000"), "INS 99 (invalid class FF)");
  EXPECT_EQ(NameOf(dm, "20300000"), "INS 30 (invalid class 20)");
  EXPECT_EQ(dm.Name(Bytes{}).name, "malformed APDU (0 bytes)");
  EXPECT_EQ(dm.Name(Hex("80")).name, "malformed APDU (1 byte)");
  EXPECT_EQ(dm.Name(Hex("8030")).name, "malformed APDU (2 bytes)");
  EXPECT_EQ(dm.Name(Hex("803000")).name, "malformed APDU (3 bytes)");
  // A body whose Lc does not fit is still named by its header.
  EXPECT_EQ(NameOf(dm, "8030000005AA"), "GET (tree): value of a leaf");
  // Observing malformed exchanges changes nothing.
  CommandNamer namer;
  namer.Observe(Hex("00A4"), Hex("9000"));
  namer.Observe(Hex(kSelectDm), Bytes{0x90});
  namer.Observe(Hex("00A404000A F0444D4341"), Hex("9000"));  // Lc beyond the data
  EXPECT_EQ(namer.SelectedApplet(0), kDmcardDefaultApplet);
  // Without specs everything is unknown, nothing crashes.
  const ApduSpecSet none;
  CommandNamer bare(none);
  EXPECT_EQ(NameOf(bare, kSelectDm), "INS A4 (interindustry class)");
}

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ApduSpecs, ReferencePagesAreUpToDate) {
  const fs::path dir = SpecDir() / "reference";
  const std::string how =
      "\nThe human reference is generated from apdu-specs/*.json: regenerate it with `ninja "
      "apdu-reference` in the build directory (dmcard-specdoc apdu-specs apdu-specs/reference) "
      "and commit apdu-specs/reference/.";
  std::set<std::string> generated;
  for (const ReferencePage& page : ApduReferencePages(SourceSpecs())) {
    generated.insert(page.file);
    const fs::path p = dir / page.file;
    ASSERT_TRUE(fs::exists(p)) << p << " is missing." << how;
    EXPECT_TRUE(ReadText(p) == page.text) << p << " is out of date." << how;
  }
  EXPECT_EQ(generated.size(), 4u);
  for (const auto& e : fs::directory_iterator(dir)) {
    EXPECT_TRUE(generated.count(e.path().filename().string()) == 1)
        << e.path() << " is not a generated page (a group that is gone?)." << how;
  }
}

TEST(ApduSpecs, ReferencePagesShowEveryCommand) {
  const std::vector<ReferencePage> pages = ApduReferencePages(SourceSpecs());
  for (const ApduSpecGroup& g : SourceSpecs().groups) {
    auto page = std::find_if(pages.begin(), pages.end(),
                             [&](const ReferencePage& p) { return p.file == g.file + ".md"; });
    ASSERT_NE(page, pages.end()) << g.file;
    for (const ApduCommandSpec& c : g.commands) {
      EXPECT_NE(page->text.find("\n## " + c.name + "\n"), std::string::npos) << c.name;
    }
  }
  const auto dm_page = std::find_if(pages.begin(), pages.end(),
                                    [](const ReferencePage& p) { return p.file == "dm.md"; });
  ASSERT_NE(dm_page, pages.end());
  const std::string& dm = dm_page->text;
  EXPECT_NE(dm.find("| 6A82 | file or application not found |"), std::string::npos);
  EXPECT_NE(dm.find("# GET (tree): value of a leaf\n> 803000001B"), std::string::npos);
  EXPECT_NE(pages.at(0).text.find(
                "| 20 | 00-03, 40-4F | [VERIFY (DM applet PINs)](dm.md#verify-dm-applet-pins)"),
            std::string::npos);
}

}  // namespace
}  // namespace dmcard
