// The card's PKCS#15 view (applet/dm/pkcs15_view.h, docs/pkcs15-view.md) through unmodified
// OpenSC tools on the real PC/SC stack: a generic PKCS#15 reader finds the DM bootstrap the way
// OMA smart-card provisioning describes it (RD DEV1: the device detects the provisioning data;
// SC7: efficient detection). OpenSC needs our configuration file (OPENSC_CONF) only to use its
// generic ISO 7816 driver for the dmcard ATR.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "pcsc_fixture.h"

namespace dmcard::pcsctest {
namespace {

using Pcsc_Pkcs15 = PcscTest;

bool Installed(const char* tool) {
  return RunTool({"sh", "-c", std::string("command -v ") + tool}).exit_code == 0;
}

// tests/data/dm/pkcs15/opensc.conf, found from this source file's path.
std::string OpenscConf() {
  return (std::filesystem::path(__FILE__).parent_path().parent_path() / "data" / "dm" / "pkcs15" /
          "opensc.conf")
      .string();
}

// pkcs15-tool on the first vpcd reader with our OpenSC configuration.
ToolResult Pkcs15Tool(std::vector<std::string> args) {
  std::vector<std::string> argv = {"env", "OPENSC_CONF=" + OpenscConf(), "pkcs15-tool", "--reader",
                                   ReaderName(0)};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunTool(argv, "", std::chrono::milliseconds(30000));
}

TEST_F(Pcsc_Pkcs15, ListDataObjectsShowsDmBootstrap) {
  if (!Installed("pkcs15-tool")) GTEST_SKIP() << "pkcs15-tool not installed (package opensc)";
  ASSERT_TRUE(std::filesystem::exists(OpenscConf())) << OpenscConf();
  StartVicc();
  ToolResult r = Pkcs15Tool({"--list-data-objects"});
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Data object 'DM Bootstrap'
  //     applicationName: OMA DM
  //     applicationOID:  2.23.43.7.1
  //     Path:            3f0050154402
  EXPECT_NE(r.output.find("Data object 'DM Bootstrap'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("2.23.43.7.1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("3f0050154402"), std::string::npos) << r.output;
}

TEST_F(Pcsc_Pkcs15, ReadDataObjectReturnsTheTndsBootstrap) {
  if (!Installed("pkcs15-tool")) GTEST_SKIP() << "pkcs15-tool not installed (package opensc)";
  StartVicc();
  const std::string out = Sandbox::Get().NewPath("dm-bootstrap").string() + ".xml";
  ToolResult r = Pkcs15Tool({"--read-data-object", "DM Bootstrap", "--output", out});
  ASSERT_FALSE(r.timed_out) << r.output;
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string xml = ReadFile(out);
  EXPECT_EQ(xml.rfind("<?xml", 0), 0u) << xml.substr(0, 200);
  EXPECT_NE(xml.find("<MgmtTree"), std::string::npos);
  EXPECT_NE(xml.find("<NodeName>DMAcc</NodeName>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<NodeName>Con</NodeName>"), std::string::npos) << xml;
  // Not a bootstrap subtree.
  EXPECT_EQ(xml.find("<NodeName>DevInfo</NodeName>"), std::string::npos) << xml;
  // Secret names appear, their values never: no <Value> right after AAuthSecret's properties.
  EXPECT_NE(xml.find("<NodeName>AAuthSecret</NodeName>"), std::string::npos);
  for (size_t at = xml.find("<NodeName>AAuthSecret</NodeName>"); at != std::string::npos;
       at = xml.find("<NodeName>AAuthSecret</NodeName>", at + 1)) {
    const size_t end = xml.find("</Node>", at);
    EXPECT_EQ(xml.substr(at, end - at).find("<Value>"), std::string::npos)
        << xml.substr(at, end - at);
  }
  // The same object by its application OID.
  ToolResult by_oid = Pkcs15Tool({"--read-data-object", "2.23.43.7.1", "--output", out + ".2"});
  ASSERT_EQ(by_oid.exit_code, 0) << by_oid.output;
  EXPECT_EQ(ReadFile(out + ".2"), xml);
}

}  // namespace
}  // namespace dmcard::pcsctest
