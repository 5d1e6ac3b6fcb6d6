// The UICC view (dm/uicc_view.h, docs/uicc-view.md): EF_ICCID, ADF.USIM with EF_IMSI and ETSI
// TS 102 221 FCPs, on cards made from profiles/uicc-t0 and profiles/uicc-t1 and from the demo
// profile with "uicc" set; and the quirk "imsi_even_length_left_padded". Every expected byte is
// worked out by hand from TS 102 221 / TS 31.102 / ISO 7816-4 (the FCP objects are spelled out
// next to each), or comes from a published vector (tests/data/dm/ef_iccid.data).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "cards/make_card.h"
#include "demo_card_in_ram.h"
#include "dm/uicc_view.h"
#include "host/demo_card.h"
#include "host/profile_file.h"
#include "runtime/atr.h"
#include "runtime/card.h"
#include "runtime/storage_medium.h"
#include "test_applets.h"
#include "vector_file.h"

namespace dmcard {
namespace {

using testing::SwOf;
Bytes Hx(std::string_view hex) { return testing::H(hex); }
std::string X(std::string_view hex) { return ToHex(Hx(hex)); }

std::filesystem::path ProfileFile(const std::string& dir) {
  return std::filesystem::path(DMCARD_SOURCE_DIR) / "profiles" / dir / "profile.json";
}

std::unique_ptr<Card> CardOf(const Profile& profile) {
  return testing::ProfileCardInRam(profile, CardConfigFor(profile), 9);
}

// One command as a terminal sends it over either protocol: under T=0 a 61xx is followed by GET
// RESPONSE (ISO 7816-3 §10.3.3); the response data and SW, as hex.
std::string Exchange(Card& card, std::string_view hex) {
  Bytes r = card.Transmit(Hx(hex));
  Bytes data;
  while (r.size() >= 2 && r[r.size() - 2] == 0x61) {
    data.insert(data.end(), r.begin(), r.end() - 2);
    r = card.Transmit(Bytes{0x00, 0xC0, 0x00, 0x00, r.back()});
  }
  data.insert(data.end(), r.begin(), r.end());
  return ToHex(data);
}

// The USIM AID (TS 31.102, TS 101 220 annex E): RID A000000087, app code 1002, FF49 FF05 89.
constexpr char kUsimAid[] = "A0000000871002FF49FF0589";

// TS 102 221 FCPs of a card whose PIN 01 is set (C6: 90 01 80 = PIN 01 enabled, 83 01 01).
// DFs: security attributes AB 05 { 80 01 7F (every DF management command), 97 00 (never) }.
const std::string kMfFcp =
    X("621F 82027821 83023F00 A503800171 8A0105 AB0580017F9700 C606900180830101");
const std::string kAdfFcp = X(std::string("6228 82027821 83027FF0 840C") + kUsimAid +
                              "8A0105 AB0580017F9700 C606900180830101");
// EF_ICCID: read always (80 01 01, 90 00), the rest never (80 01 7E, 97 00); size 10; SFI 02.
const std::string kIccidFcp =
    X("621E 82024121 83022FE2 8A0105 AB0A800101900080017E9700 8002000A 880110");
// EF_IMSI: read PIN 01 (A4 06 83 01 01 95 01 08: user authentication), update the issuer
// (A4 03 95 01 80: external authentication), the rest never; size 9; SFI 07.
const std::string kImsiFcp =
    X("622C 82024121 83026F07 8A0105 AB18 800101A40683010195010880 0102A403950180 80017C9700 "
      "80020009 880138");
// EF.DIR: linear fixed 42 21, 4 records of 32 bytes; read always, update the issuer; SFI 1E.
const std::string kEfDirFcp =
    X("6229 820542210020 04 83022F00 8A0105 AB12 8001019000 800102A403950180 80017C9700 "
      "80020080 8801F0");
// The demo IMSI 001010123456789 in EF_IMSI form (TS 31.102 §4.2.2): 15 digits, odd → parity 9.
const std::string kDemoEfImsi = X("08 0910101032547698");

struct UiccProfileCase {
  const char* dir;
  Protocol protocol;
  const char* iccid_ef;  // EF_ICCID the profile's ICCID makes
};

class UiccProfiles : public ::testing::TestWithParam<UiccProfileCase> {};

// Each UICC profile loads, its ATR is well formed and offers its protocol, and a card made from
// it answers the UICC view: EF_ICCID from the MF, EF_IMSI in ADF.USIM after PIN 01.
TEST_P(UiccProfiles, Req_DEV1_ProfileLoadsAndTheCardAnswersTheUiccView) {
  std::string error;
  const std::optional<Profile> profile = LoadProfile(ProfileFile(GetParam().dir), error);
  ASSERT_TRUE(profile) << error;
  ASSERT_TRUE(profile->uicc);
  ASSERT_EQ(profile->protocol, GetParam().protocol);
  const std::optional<AtrInfo> atr = ParseAtr(*profile->atr);
  ASSERT_TRUE(atr);
  EXPECT_TRUE(atr->tck_ok);
  EXPECT_TRUE(atr->t0);  // every UICC offers T=0 (TS 102 221 §6.3)
  EXPECT_EQ(atr->t1, GetParam().protocol == Protocol::kT1);
  auto card = CardOf(*profile);
  ASSERT_TRUE(card);
  EXPECT_EQ(ToHex(card->atr()), ToHex(*profile->atr));
  Card& c = *card;

  EXPECT_EQ(Exchange(c, "00A40004023F0000"), kMfFcp + "9000");
  EXPECT_EQ(Exchange(c, "00A40004022FE200"), kIccidFcp + "9000");
  EXPECT_EQ(Exchange(c, "00B000000A"), X(GetParam().iccid_ef) + "9000");
  // EF_ICCID by its SFI 02 too (READ BINARY P1 = 80 | SFI).
  EXPECT_EQ(Exchange(c, "00A4000C023F00"), "9000");
  EXPECT_EQ(Exchange(c, "00B082000A"), X(GetParam().iccid_ef) + "9000");
  EXPECT_EQ(Exchange(c, "00A40004022F0000"), kEfDirFcp + "9000");

  EXPECT_EQ(Exchange(c, std::string("00A404040C") + kUsimAid + "00"), kAdfFcp + "9000");
  EXPECT_EQ(Exchange(c, "00A40004026F0700"), kImsiFcp + "9000");
  EXPECT_EQ(Exchange(c, "00B0000009"), "6982");  // PIN 01 not verified
  EXPECT_EQ(Exchange(c, "0020000108 31323334FFFFFFFF"), "9000");
  EXPECT_EQ(Exchange(c, "00B0000009"), kDemoEfImsi + "9000");
  // From the MF with the current application (TS 102 221 §8.4.2), and by SFI 07.
  EXPECT_EQ(Exchange(c, "00A4080C047FFF6F07"), "9000");
  EXPECT_EQ(Exchange(c, "00B0000009"), kDemoEfImsi + "9000");
  EXPECT_EQ(Exchange(c, "00B0870009"), kDemoEfImsi + "9000");
  // EF_IMSI is a view of the card's one copy: no UPDATE BINARY (the issuer personalizes it).
  EXPECT_EQ(Exchange(c, "00D6000009 080910101032547698"), "6981");
  // The PKCS#15 application still answers, with a UICC FCP.
  EXPECT_EQ(Exchange(c, "00A404040CA000000063504B43532D313500"),
            X("6228 82027821 83025015 840CA000000063504B43532D3135 8A0105 AB0580017F9700 "
              "C606900180830101 9000"));
}

INSTANTIATE_TEST_SUITE_P(
    Profiles, UiccProfiles,
    ::testing::Values(
        // "uicc": true, ICCID derived: 89 999 + the IMSI's last 14 digits 01010123456789 +
        // Luhn check digit 0 (worked by hand) = 89999010101234567890.
        UiccProfileCase{"uicc-t0", Protocol::kT0, "98990901012143658709"},
        // The GSMA test profile's ICCID (tests/data/dm/ef_iccid.data).
        UiccProfileCase{"uicc-t1", Protocol::kT1, "98001032547698103214"}),
    [](const auto& info) { return std::string(info.param.dir).substr(5); });

TEST(UiccView, IccidEncodingMatchesThePublishedVector) {
  const std::vector<testing::VectorCase> cases = testing::LoadVectorFile("dm/ef_iccid.data");
  ASSERT_FALSE(cases.empty());
  for (const testing::VectorCase& v : cases) {
    SCOPED_TRACE(v.Where());
    const Bytes& ascii = v.Get("iccid_ascii");
    const std::string digits(ascii.begin(), ascii.end());
    EXPECT_EQ(dm::CheckIccid(digits), "");
    EXPECT_EQ(ToHex(dm::EfIccidFromDigits(digits).value_or(Bytes{})), ToHex(v.Get("ef_iccid")));
  }
  // Worked by hand: 19 digits take an F after the last (TS 102 221 §13.2).
  // 899990101012345678, Luhn check digit 6 (worked by hand).
  EXPECT_EQ(ToHex(dm::EfIccidFromDigits("8999901010123456786").value_or(Bytes{})),
            X("98990901012143 6587F6"));
  EXPECT_EQ(dm::DefaultIccid("001010123456789"), "89999010101234567890");
  EXPECT_EQ(dm::DefaultIccid(""), "89999000000000000007");
  EXPECT_EQ(dm::DefaultIccid("001010"), "89999000000000010105");
}

TEST(UiccView, IccidRefusedWithTheReason) {
  EXPECT_NE(dm::CheckIccid("89000123456789012342").find("Luhn check digit"), std::string::npos);
  EXPECT_NE(dm::CheckIccid("89000123456789012342").find("is 1"), std::string::npos);
  EXPECT_NE(dm::CheckIccid("99000123456789012341").find("begin with 89"), std::string::npos);
  EXPECT_NE(dm::CheckIccid("890001234567890123").find("19 or 20"), std::string::npos);
  EXPECT_NE(dm::CheckIccid("8900012345678901234A").find("19 or 20"), std::string::npos);
}

// Record 4 of EF.DIR (free on a card without the view) lists the USIM; records 1-3 unchanged.
TEST(UiccView, EfDirListsTheUsimInRecordFour) {
  Profile profile = DemoProfile();
  profile.uicc = ProfileUicc{"89000123456789012341"};
  auto card = CardOf(profile);
  ASSERT_TRUE(card);
  auto demo = CardOf(DemoProfile());
  ASSERT_TRUE(demo);
  for (Card* c : {card.get(), demo.get()}) ASSERT_EQ(Exchange(*c, "00A4000C022F00"), "9000");
  for (uint8_t n = 1; n <= 3; ++n) {
    const std::string read = "00B2" + ToHex(Bytes{n}) + "0420";
    EXPECT_EQ(Exchange(*card, read), Exchange(*demo, read)) << "record " << int{n};
  }
  // 61 14 { 4F 0C <AID>, 50 04 "USIM" }, zero padded to 32 bytes.
  const std::string usim = X(std::string("6114 4F0C") + kUsimAid + "5004 5553494D");
  EXPECT_EQ(Exchange(*card, "00B2040420"), usim + std::string(64 - usim.size(), '0') + "9000");
  EXPECT_EQ(Exchange(*demo, "00B2040420"), std::string(64, '0') + "9000");
}

// A card without a user PIN is a USIM whose PIN is disabled: EF_IMSI read always, and the PIN
// status template says PIN 01 disabled (90 01 00).
TEST(UiccView, WithoutUserPinEfImsiIsReadAlwaysAndPin01Disabled) {
  Profile profile = DemoProfile();
  profile.user_pin.clear();
  profile.user_puk.clear();
  profile.uicc = ProfileUicc{dm::DefaultIccid(profile.imsi)};
  auto card = CardOf(profile);
  ASSERT_TRUE(card);
  EXPECT_EQ(Exchange(*card, "00A40004023F0000"),
            X("621F 82027821 83023F00 A503800171 8A0105 AB0580017F9700 C606900100830101 9000"));
  EXPECT_EQ(Exchange(*card, std::string("00A4040C0C") + kUsimAid), "9000");
  EXPECT_EQ(Exchange(*card, "00A40004026F0700"),
            X("6226 82024121 83026F07 8A0105 AB12 8001019000 800102A403950180 80017C9700 "
              "80020009 880138 9000"));
  EXPECT_EQ(Exchange(*card, "00B0000009"), kDemoEfImsi + "9000");
}

// T=0, READ BINARY with Le = 00 on a 9-byte EF: the card does not answer the data with 6282
// under T=0; the runtime's T=0 case-2 rule answers 6C09 (ISO 7816-3 §10.3.3, "resend with
// P3 = Na"), and the terminal's resend with Le = 09 gets the data with 9000. Under T=1 the same
// command answers the 9 bytes with 6282 (ISO 7816-4 §11.3.3, end of file before Ne bytes).
TEST(UiccView, ReadBinaryLe00OnAShortFileByProtocol) {
  std::string error;
  for (const char* dir : {"uicc-t0", "uicc-t1"}) {
    SCOPED_TRACE(dir);
    const std::optional<Profile> profile = LoadProfile(ProfileFile(dir), error);
    ASSERT_TRUE(profile) << error;
    auto card = CardOf(*profile);
    ASSERT_TRUE(card);
    ASSERT_EQ(Exchange(*card, "00A4080C022FE2"), "9000");
    const std::string iccid = ToHex(dm::EfIccidFromDigits(profile->uicc->iccid).value());
    const Bytes r = card->Transmit(Hx("00B0000000"));
    if (profile->protocol == Protocol::kT0) {
      EXPECT_EQ(ToHex(r), "6C0A");
      EXPECT_EQ(Exchange(*card, "00B000000A"), iccid + "9000");
    } else {
      EXPECT_EQ(ToHex(r), iccid + "6282");
    }
  }
}

// --- The quirk "imsi_even_length_left_padded" -----------------------------------------------

// HMAC-SHA1 of `body` with `key`, as 40 hex digits: the NETWPIN MAC (reference-facts.md §2).
std::string NetwPinMac(const Bytes& key, const Bytes& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), body.data(), body.size(), mac, &len);
  return ToHex(ByteView(mac, len));
}

// VERIFY BOOTSTRAP method NETWPIN (apdu-specs/dm.json) on the DM applet: 9000 when `key` is the
// card's NETWPIN key.
uint16_t VerifyNetwPin(Card& card, const Bytes& key) {
  const Bytes body = {'b', 'o', 'o', 't', 's', 't', 'r', 'a', 'p'};
  const std::string mac = NetwPinMac(key, body);
  Bytes data = {0x80, 0x01, 0x00, 0x81, static_cast<uint8_t>(body.size())};
  Append(data, body);
  data.push_back(0x82);
  data.push_back(static_cast<uint8_t>(mac.size()));
  data.insert(data.end(), mac.begin(), mac.end());
  Bytes apdu = {0x80, 0x42, 0x00, 0x00, static_cast<uint8_t>(data.size())};
  Append(apdu, data);
  apdu.push_back(0x00);
  EXPECT_EQ(Exchange(card, "00A4040C0AF0444D434152442D444D"), "9000");
  const Bytes r = card.Transmit(apdu);
  EXPECT_EQ(Exchange(card, "00A4040C09F0444D434152444653"), "9000");  // back to the file system
  return SwOf(r);
}

// The quirk writes an even-length IMSI into the card's one copy as pySim did before 2018 (the
// F filler before the parity nibble, a length byte one short); EF_IMSI serves that copy and the
// NETWPIN key is made from it, so the quirk changes both and nothing else.
TEST(UiccQuirk, Req_SC2_ImsiEvenLengthLeftPaddedChangesTheOneCopy) {
  // IMSI 00101012345678 (14 digits, even).
  // Standard (TS 31.102 §4.2.2): nibbles 1 0 0 1 0 1 0 1 2 3 4 5 6 7 8 F → 08 01 10 10 10 32 54
  // 76 F8. pySim before 0ec1475: F 1 0 0 1 0 1 0 1 2 3 4 5 6 7 8, length 14 / 2 = 7 → 07 1F 00 01
  // 01 21 43 65 87.
  const std::string standard = X("08 01101010325476F8");
  const std::string quirky = X("07 1F00010121436587");
  for (bool quirk : {false, true}) {
    SCOPED_TRACE(quirk ? "quirk on" : "quirk off");
    Profile profile = DemoProfile();
    profile.imsi = "00101012345678";
    profile.quirks.imsi_even_length_left_padded = quirk;
    profile.uicc = ProfileUicc{dm::DefaultIccid(profile.imsi)};
    auto card = CardOf(profile);
    ASSERT_TRUE(card);
    ASSERT_EQ(Exchange(*card, "0020000104 31323334"), "9000");
    ASSERT_EQ(Exchange(*card, "00A4080C047FF06F07"), "9000");
    EXPECT_EQ(Exchange(*card, "00B0000009"), (quirk ? quirky : standard) + "9000");
    // The NETWPIN key: the card's copy without its length byte, as long as the length byte says
    // — under the quirk 1F 00 01 01 21 43 65 (the last byte, digits 13 and 14, is not in it).
    const Bytes standard_key = Hx("01101010325476F8");
    const Bytes quirky_key = Hx("1F000101214365");
    EXPECT_EQ(VerifyNetwPin(*card, quirk ? quirky_key : standard_key), 0x9000);
    EXPECT_NE(VerifyNetwPin(*card, quirk ? standard_key : quirky_key), 0x9000);
    // Nothing else changes: EF_ICCID and the MF's FCP are those of the same card without it.
    EXPECT_EQ(Exchange(*card, "00A40004023F0000"), kMfFcp + "9000");
  }
  // An odd number of digits: the quirk changes nothing (it names even lengths only).
  Profile odd = DemoProfile();
  odd.quirks.imsi_even_length_left_padded = true;
  odd.uicc = ProfileUicc{dm::DefaultIccid(odd.imsi)};
  auto card = CardOf(odd);
  ASSERT_TRUE(card);
  ASSERT_EQ(Exchange(*card, "0020000104 31323334"), "9000");
  ASSERT_EQ(Exchange(*card, "00A4080C047FF06F07"), "9000");
  EXPECT_EQ(Exchange(*card, "00B0000009"), kDemoEfImsi + "9000");
}

}  // namespace
}  // namespace dmcard
