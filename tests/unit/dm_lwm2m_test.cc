// LwM2M bootstrap from the smart card (issue 12; OMA LwM2M 1.1 Appendix G): the profile's
// "lwm2m" section, the LwM2M TLV it becomes (published examples of the Core TS),
// EF(LwM2M_Bootstrap) as a handset reads it (decoded by tests/unit/lwm2m_file_reader.h, written
// from Appendix G.3.3, and compared with the profile's JSON), its DODF and the ODF's second entry
// (bytes written by hand from PKCS#15), the 32 KB limit, the double-encoded OID quirk, and the
// profile's refusals (exact messages, secrets never quoted).
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cards/make_card.h"
#include "data_table.h"
#include "demo_card_in_ram.h"
#include "dm/lwm2m_bootstrap.h"
#include "dm/pkcs15_view.h"
#include "host/demo_card.h"
#include "host/profile_file.h"
#include "lwm2m_file_reader.h"
#include "runtime/card.h"
#include "runtime/storage_medium.h"

namespace dmcard {
namespace {

namespace fs = std::filesystem;

Bytes Hx(std::string_view hex) {
  std::optional<Bytes> b = FromHex(hex);
  EXPECT_TRUE(b.has_value()) << "bad hex in test: " << hex;
  return b.value_or(Bytes{});
}
uint16_t SwOf(const Bytes& r) {
  return r.size() < 2 ? 0 : static_cast<uint16_t>((r[r.size() - 2] << 8) | r[r.size() - 1]);
}

// "LwM2M Bootstrap" and "OMA LwM2M" in UTF-8.
constexpr char kLabelHex[] = "4C774D324D20426F6F747374726170";
constexpr char kNameHex[] = "4F4D41204C774D324D";

// The DODF-bootstrap 6430 as PKCS#15 v1.1 encodes it (docs/pkcs15-view.md), written by hand:
// opaqueDO { label, { applicationName, applicationOID }, [1] path 6431 }, then
// oidDO [1] { label, { applicationName }, [1] OidDO { id, path 6431 } }. `oid` is the whole
// OBJECT IDENTIFIER element; `opaque_len`, `class_len`, `oid_do_len`, `oid_len` its lengths.
std::string Lwm2mDodfHex(const std::string& oid, const std::string& opaque_len,
                         const std::string& class_len, const std::string& oid_do_len,
                         const std::string& type_len, const std::string& oid_seq_len) {
  const std::string label = std::string("3011 0C0F") + kLabelHex;
  return "30" + opaque_len + label + "30" + class_len + "0C09" + kNameHex + oid +
         "A106 3004 0402 6431" + "A1" + oid_do_len + label + "300B 0C09" + kNameHex + "A1" +
         type_len + "30" + oid_seq_len + oid + "3004 0402 6431";
}
// 06 04 67 2B 09 01: 2.23.43.9.1 (2·40 + 23 = 103 = 67, 43 = 2B).
std::string Lwm2mDodf() { return Lwm2mDodfHex("0604 672B0901", "2E", "11", "30", "0E", "0C"); }
// The quirk: the OID's content is the encoded OID, 06 06 06 04 67 2B 09 01 (two bytes more in
// each entry and in every length around it).
std::string Lwm2mDodfDoubleEncoded() {
  return Lwm2mDodfHex("0606 0604672B0901", "30", "13", "32", "10", "0E");
}

std::unique_ptr<Card> CardOf(const Profile& profile) {
  return testing::ProfileCardInRam(profile, DemoCardConfig(), 7);
}

using testing::ReadPkcs15Ef;

// The demo profile's JSON as its author wrote it (comments allowed, as LoadProfile allows).
nlohmann::json DemoProfileJson() {
  std::ifstream in(fs::path(DMCARD_SOURCE_DIR) / "profiles" / "demo" / "profile.json");
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str(), nullptr, true, /*ignore_comments=*/true);
}

// --- profiles in a temporary directory --------------------------------------------------------

class Lwm2mProfiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dmcard-lwm2m-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "tree.xml") << "<MgmtTree><VerDTD>1.2</VerDTD></MgmtTree>";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Loads a profile whose "lwm2m" section is `section`; the error ("" on success).
  std::string Load(const std::string& section) {
    std::ofstream(dir_ / "profile.json", std::ios::trunc)
        << R"({"profile": "p", "lwm2m": )" << section << R"(, "tree": "tree.xml"})";
    std::string error;
    loaded_ = LoadProfile(dir_ / "profile.json", error);
    EXPECT_EQ(loaded_.has_value(), error.empty()) << error;
    return error;
  }
  std::string File() const { return (dir_ / "profile.json").string(); }

  fs::path dir_;
  std::optional<Profile> loaded_;
};

// The examples of OMA-TS-LightweightM2M_Core-V1_1 §6.4.3, written in the profile's syntax,
// become the bytes the TS prints (tests/data/dm/lwm2m_tlv.data names the source and the
// printed lengths it corrects).
TEST_F(Lwm2mProfiles, PublishedTlvExamplesOfTheCoreTs) {
  const std::string table = std::string(DMCARD_TEST_DATA_DIR) + "/dm/lwm2m_tlv.data";
  const auto rows = testing::ReadTable(table, 4);
  EXPECT_GE(rows.size(), 6u);
  for (const testing::TableRow& row : rows) {
    SCOPED_TRACE(table + ":" + std::to_string(row.line) + ": " + row.fields[0]);
    ASSERT_EQ(Load(R"({"objects": [{"id": )" + row.fields[1] + R"(, "instances": )" +
                   row.fields[2] + "}]}"),
              "");
    ASSERT_TRUE(loaded_->lwm2m);
    ASSERT_EQ(loaded_->lwm2m->objects.size(), 1u);
    EXPECT_EQ(ToHex(dm::Lwm2mObjectInstancesTlv(loaded_->lwm2m->objects[0].instances)),
              ToHex(Hx(row.fields[3])));
  }
}

// The value encodings of Core TS Appendix C ("Data Types", TLV column): integers signed in 1,
// 2, 4 or 8 bytes, unsigned integers likewise, floats IEEE 754 in 4 or 8 bytes, booleans one
// byte, time as an integer, a 16-bit identifier with bit 5 of the type byte, a value of 8 bytes
// or more with an 8-bit length (bits 4-3 = 01), and of 256 or more with a 16-bit one (10).
TEST_F(Lwm2mProfiles, ValueEncodingsOfAppendixC) {
  ASSERT_EQ(Load(R"({"objects": [{"id": 26241, "version": "2.5", "instances": [{"id": 300,
      "resources": {"0": 127, "1": 128, "2": -128, "3": -129, "4": 32768, "5": -2147483649,
        "6": {"unsigned": 255}, "7": {"unsigned": 4294967296}, "8": 1.5, "9": 0.1,
        "10": false, "11": {"time": 0}, "12": {"float": 2}, "13": "hex:",
        "4660": {"string": "hex:41"}, "14": [], "15": {"7": {"boolean": true}}}}]}]})"),
            "");
  const Bytes tlv = dm::Lwm2mObjectInstancesTlv(loaded_->lwm2m->objects[0].instances);
  const Bytes want =
      Hx("28 012C 5C"                 // object instance 300: 16-bit ID, 8-bit length, 92 bytes
         "C1 00 7F"                   // 127: one byte
         "C2 01 0080"                 // 128: two bytes (80 alone would be -128)
         "C1 02 80"                   // -128: one byte
         "C2 03 FF7F"                 // -129
         "C4 04 00008000"             // 32768: four bytes (8000 would be negative)
         "C8 05 08 FFFFFFFF7FFFFFFF"  // -2^31 - 1: eight bytes, so an 8-bit length field
         "C1 06 FF"                   // unsigned 255: one byte
         "C8 07 08 0000000100000000"  // unsigned 2^32: eight bytes
         "C4 08 3FC00000"             // 1.5: binary32 holds it exactly
         "C8 09 08 3FB999999999999A"  // 0.1: binary64
         "C1 0A 00"                   // false
         "C1 0B 00"                   // time 0
         "C4 0C 40000000"             // float 2.0
         "C0 0D"                      // empty opaque: length 0 in bits 2-0
         "80 0E"                      // a multiple resource without instances
         "83 0F 41 07 01"             // resource instance 7: true
         "E6 1234 6865783A3431");     // 16-bit resource ID 4660: the string "hex:41", as typed
  EXPECT_EQ(ToHex(tlv), ToHex(want));
  // Appendix G.3.3: count 1, size, object ID 26241 = 66 81, version 2.5 = 02 05, TLV length.
  std::string error;
  const std::optional<Bytes> file = dm::Lwm2mBootstrapFile(*loaded_->lwm2m, error);
  ASSERT_TRUE(file) << error;
  EXPECT_EQ(ToHex(*file), ToHex(Hx("0001 0066 6681 0205 0060")) + ToHex(want));
}

// Appendix G.3.3: "This file size is limited to 32KB". One object (5 bytes of header: ID,
// implicit version 00, length), one instance (4 bytes of TLV header once its content passes
// 255 bytes: type, ID, 16-bit length), one string resource (4 bytes likewise), after the file's
// own 4 bytes: a string of n bytes makes a file of n + 17 bytes.
TEST_F(Lwm2mProfiles, FileUpTo32KiBLoadsOneByteMoreIsRefused) {
  auto section = [](size_t n) {
    return R"({"objects": [{"id": 3, "instances": [{"resources": {"0": ")" + std::string(n, 'x') +
           R"("}}]}]})";
  };
  ASSERT_EQ(Load(section(32768 - 17)), "");
  std::string error;
  const std::optional<Bytes> file = dm::Lwm2mBootstrapFile(*loaded_->lwm2m, error);
  ASSERT_TRUE(file) << error;
  EXPECT_EQ(file->size(), 32768u);
  // The card serves it whole.
  Profile profile = *loaded_;
  auto card = CardOf(profile);
  ASSERT_TRUE(card);
  EXPECT_EQ(ReadPkcs15Ef(*card, 0x6431), file);

  EXPECT_EQ(Load(section(32768 - 16)),
            File() +
                ": field 'lwm2m' EF(LwM2M_Bootstrap) would be 32769 bytes, more than the "
                "32768 bytes (32 KB) OMA LwM2M 1.1 Appendix G.3.3 allows");
}

TEST_F(Lwm2mProfiles, BadSectionsAreRefusedWithTheirExactMessage) {
  const std::string table = std::string(DMCARD_TEST_DATA_DIR) + "/dm/bad_lwm2m_profiles.data";
  const auto rows = testing::ReadTable(table, 3);
  EXPECT_GE(rows.size(), 40u);
  for (const testing::TableRow& row : rows) {
    SCOPED_TRACE(table + ":" + std::to_string(row.line) + ": " + row.fields[0]);
    EXPECT_EQ(Load(row.fields[1]), File() + ": " + row.fields[2]);
    EXPECT_FALSE(loaded_);
  }
}

// SC2: secrets stay in. A profile cannot put the Security object's Secret Key on the card, and
// the message refusing it never quotes it; an empty one (a NoSec instance's) is no secret.
TEST_F(Lwm2mProfiles, Req_SC2_SecretResourcesAreRefusedWithoutQuotingThem) {
  const std::string secret = "4E4F542D5245414C2D5053";  // "NOT-REAL-PS"
  for (const std::string& value :
       {"\"hex:" + secret + "\"", "{\"opaque\": \"" + secret + "\"}", "\"hex:" + secret + "z\"",
        "\"" + secret + "\"", "[\"hex:" + secret + "\"]"}) {
    SCOPED_TRACE(value);
    const std::string error =
        Load(R"({"objects": [{"id": 0, "instances": [{"resources": {"5": )" + value + "}}]}]}");
    EXPECT_NE(error.find("field 'lwm2m.objects[0].instances[0].resources.5' is the LwM2M "
                         "Security object's Secret Key (0/x/5)"),
              std::string::npos)
        << error;
    EXPECT_EQ(error.find(secret), std::string::npos) << error;
  }
  for (const std::string empty : {R"("hex:")", R"({"opaque": ""})"}) {
    EXPECT_EQ(
        Load(R"({"objects": [{"id": 0, "instances": [{"resources": {"5": )" + empty + R"(, "8": )" +
             empty + R"(}}]}, {"id": 21, "instances": [{"resources": {"0": )" + empty + "}}]}]}"),
        "");
  }
}

// --- the demo card ------------------------------------------------------------------------------

// DEV1: a UICC client finds the LwM2M bootstrap: the ODF's second dataObjects entry names the
// DODF-bootstrap 6430 (LwM2M 1.1 Appendix G.3.2's default FID), whose oidDO entry with OID
// 2.23.43.9.1 names 6431; the file decodes to exactly what profiles/demo/profile.json says.
TEST(Lwm2mDemoCard, Req_DEV1_ServesTheProfilesLwm2mBootstrap) {
  auto card = CardOf(DemoProfile());
  ASSERT_TRUE(card);
  EXPECT_EQ(ToHex(ReadPkcs15Ef(*card, 0x5031).value_or(Bytes{})),
            ToHex(Hx("A706 3004 0402 4401  A706 3004 0402 6430")));
  EXPECT_EQ(ToHex(ReadPkcs15Ef(*card, 0x6430).value_or(Bytes{})), ToHex(Hx(Lwm2mDodf())));
  // The DM DODF is the one it was.
  EXPECT_EQ(ReadPkcs15Ef(*card, 0x4401), dm::Pkcs15Dodf());

  const std::optional<Bytes> file = ReadPkcs15Ef(*card, 0x6431);
  ASSERT_TRUE(file);
  std::string error;
  const std::optional<testing::lwm2m::File> decoded = testing::lwm2m::ReadFile(*file, error);
  ASSERT_TRUE(decoded) << error << ": " << ToHex(*file);
  const nlohmann::json profile = DemoProfileJson();
  ASSERT_TRUE(profile.contains("lwm2m"));
  EXPECT_EQ(testing::lwm2m::CompareWithProfile(*decoded, profile["lwm2m"]),
            std::vector<std::string>{});
  // The demo's objects: Security (implicit version 00) and Server 1.1 (01 01).
  ASSERT_EQ(decoded->objects.size(), 2u);
  EXPECT_EQ(decoded->objects[0].version, Bytes{0x00});
  EXPECT_EQ(decoded->objects[1].version, (Bytes{0x01, 0x01}));
}

// LwM2M 1.1 Appendix G.3: READ always; UPDATE is the issuer's — here never (the content is the
// profile's, fixed when the card is made).
TEST(Lwm2mDemoCard, Lwm2mFilesAreReadOnly) {
  auto card = CardOf(DemoProfile());
  ASSERT_TRUE(card);
  for (uint16_t fid : {0x6430, 0x6431}) {
    ASSERT_TRUE(ReadPkcs15Ef(*card, fid));
    EXPECT_EQ(SwOf(card->Transmit(Hx("00D6000001 00"))), 0x6981) << fid;
  }
}

// Without an "lwm2m" section the card is what it was: one ODF entry, no 6430 or 6431.
TEST(Lwm2mDemoCard, NoSectionNoLwm2mFiles) {
  Profile profile = DemoProfile();
  profile.lwm2m.reset();
  auto card = CardOf(profile);
  ASSERT_TRUE(card);
  EXPECT_EQ(ReadPkcs15Ef(*card, 0x5031), dm::Pkcs15Odf());
  EXPECT_EQ(ToHex(dm::Pkcs15Odf()), ToHex(Hx("A706 3004 0402 4401")));
  EXPECT_FALSE(ReadPkcs15Ef(*card, 0x6430));
  EXPECT_FALSE(ReadPkcs15Ef(*card, 0x6431));
  EXPECT_EQ(SwOf(card->Transmit(Hx("00A4080C04 7FFF6430"))), 0x6A82);
}

// Quirk "lwm2m_oid_double_encoded" (OMA_LwM2M_for_Developers#532): the LwM2M DODF's OID, in
// both entries, becomes 06 06 06 04 67 2B 09 01; every other byte of every PKCS#15 file (and the
// lengths around the OID grow by two) stays as it was.
TEST(Lwm2mDemoCard, QuirkLwm2mOidDoubleEncodedChangesOnlyThatOid) {
  Profile plain_profile = DemoProfile();
  Profile quirk_profile = DemoProfile();
  quirk_profile.quirks.lwm2m_oid_double_encoded = true;
  auto plain = CardOf(plain_profile);
  auto quirk = CardOf(quirk_profile);
  ASSERT_TRUE(plain && quirk);
  EXPECT_EQ(ToHex(ReadPkcs15Ef(*plain, 0x6430).value_or(Bytes{})), ToHex(Hx(Lwm2mDodf())));
  EXPECT_EQ(ToHex(ReadPkcs15Ef(*quirk, 0x6430).value_or(Bytes{})),
            ToHex(Hx(Lwm2mDodfDoubleEncoded())));
  for (uint16_t fid : {0x5031, 0x5032, 0x4401, 0x4402, 0x6431}) {
    const std::optional<Bytes> a = ReadPkcs15Ef(*plain, fid);
    ASSERT_TRUE(a) << fid;
    EXPECT_EQ(a, ReadPkcs15Ef(*quirk, fid)) << fid;
  }
  // The DM DODF keeps its single encoding of 2.23.43.7.1.
  EXPECT_NE(ToHex(*ReadPkcs15Ef(*quirk, 0x4401)).find("0604672B0701"), std::string::npos);
}

// The DODF quirks name every DODF: with them, the LwM2M DODF's paths carry index without length
// and it is padded with FF like the DM DODF.
TEST(Lwm2mDemoCard, DodfQuirksApplyToTheLwm2mDodfToo) {
  Profile profile = DemoProfile();
  profile.quirks.dodf_path_without_length = true;
  profile.quirks.dodf_padded_with_ff = true;
  auto card = CardOf(profile);
  ASSERT_TRUE(card);
  const Bytes dodf = ReadPkcs15Ef(*card, 0x6430).value_or(Bytes{});
  ASSERT_EQ(dodf.size(), dm::pkcs15::kPaddedDodfSize);
  EXPECT_EQ(dodf.back(), 0xFF);
  EXPECT_NE(ToHex(dodf).find("300704026431020100"), std::string::npos) << ToHex(dodf);
  EXPECT_EQ(ToHex(dodf).find("A1063004"), std::string::npos) << ToHex(dodf);
}

}  // namespace
}  // namespace dmcard
