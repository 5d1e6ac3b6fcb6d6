// The card's PKCS#15 view (applet/dm/pkcs15_view.h, docs/pkcs15-view.md) through unmodified
// OpenSC tools on the real PC/SC stack: a generic PKCS#15 reader finds the DM bootstrap the way
// OMA smart-card provisioning describes it (RD DEV1: the device detects the provisioning data;
// SC7: efficient detection). OpenSC needs our configuration file (OPENSC_CONF) only to use its
// generic ISO 7816 driver for the dmcard ATR.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dm/tnds.h"
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
  // The demo card's LwM2M bootstrap, from the ODF's second DODF (6430): its opaqueDO entry.
  // Data object 'LwM2M Bootstrap'
  //     applicationName: OMA LwM2M
  //     applicationOID:  2.23.43.9.1
  //     Path:            3f0050156431
  EXPECT_NE(r.output.find("Data object 'LwM2M Bootstrap'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("2.23.43.9.1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("3f0050156431"), std::string::npos) << r.output;
}

// The data object is the OMA DM bootstrap message (SyncML DM 1.2 WBXML with embedded WBXML TNDS,
// dm/bootstrap_export.h), read as OpenSC reads it, then decoded to XML with libwbxml2.
TEST_F(Pcsc_Pkcs15, ReadDataObjectReturnsTheBootstrapMessage) {
  if (!Installed("pkcs15-tool")) GTEST_SKIP() << "pkcs15-tool not installed (package opensc)";
  StartVicc();
  const std::string out = Sandbox::Get().NewPath("dm-bootstrap").string() + ".wbxml";
  ToolResult r = Pkcs15Tool({"--read-data-object", "DM Bootstrap", "--output", out});
  ASSERT_FALSE(r.timed_out) << r.output;
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string raw = ReadFile(out);
  // WBXML 1.2, SyncML 1.2 (public ID 0x1201), UTF-8.
  EXPECT_EQ(raw.rfind("\x02\xA4\x01\x6A", 0), 0u);
  std::string error;
  const std::optional<std::string> decoded = dm::SyncMlWbxmlToXml(
      ByteView(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()), error);
  ASSERT_TRUE(decoded) << error;
  const std::string& xml = *decoded;
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
  EXPECT_EQ(ReadFile(out + ".2"), raw);
}

}  // namespace
}  // namespace dmcard::pcsctest
