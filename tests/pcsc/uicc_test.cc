// The UICC view (docs/uicc-view.md) through the real pcscd + vpcd: a card started from
// profiles/uicc-t0 answers its ATR, EF_ICCID from the MF and EF_IMSI in ADF.USIM after PIN 01,
// over T=0 with GET RESPONSE, as a handset's modem would read them. Expected bytes worked out by
// hand (tests/unit/uicc_view_test.cc spells out every object).
#include <filesystem>
#include <string>

#include "pcsc_fixture.h"

namespace dmcard::pcsctest {
namespace {

using Pcsc_Uicc = PcscTest;

std::string UiccT0Profile() {
  return (std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "profiles" /
          "uicc-t0" / "profile.json")
      .string();
}

TEST_F(Pcsc_Uicc, Req_DEV1_T0ProfileAnswersIccidAndImsi) {
  StartVicc({"--profile", UiccT0Profile()});
  Context ctx;
  CardHandle card(ctx, ReaderName(0), SCARD_PROTOCOL_T0);
  EXPECT_EQ(card.protocol(), static_cast<DWORD>(SCARD_PROTOCOL_T0));
  EXPECT_EQ(ToHex(card.Status().atr), "3B9C96801FC78073F201DF56646D63617264C6");
  // MF, FCP over T=0: 61 21 (0x1F + 2 bytes), then GET RESPONSE.
  EXPECT_EQ(ToHex(card.Transmit("00A40004023F00")), "6121");
  EXPECT_EQ(ToHex(card.Transmit("00C0000021")),
            "621F8202782183023F00A5038001718A0105AB0580017F9700C6069001808301019000");
  // EF_ICCID: 89999010101234567890 (derived from the IMSI), BCD low nibble first.
  EXPECT_EQ(ToHex(card.Transmit("00A4000C022FE2")), "9000");
  EXPECT_EQ(ToHex(card.Transmit("00B000000A")), "989909010121436587099000");
  // T=0, Le 00 on the 10-byte file: 6C0A (resend with P3 = 0A).
  EXPECT_EQ(ToHex(card.Transmit("00B0000000")), "6C0A");
  // ADF.USIM by AID, EF_IMSI by FID, PIN 01 (FF-padded as handsets send it), the IMSI.
  EXPECT_EQ(ToHex(card.Transmit("00A4040C0CA0000000871002FF49FF0589")), "9000");
  EXPECT_EQ(ToHex(card.Transmit("00A4000C026F07")), "9000");
  EXPECT_EQ(ToHex(card.Transmit("00B0000009")), "6982");
  EXPECT_EQ(ToHex(card.Transmit("002000010831323334FFFFFFFF")), "9000");
  EXPECT_EQ(ToHex(card.Transmit("00B0000009")), "0809101010325476989000");
}

}  // namespace
}  // namespace dmcard::pcsctest
