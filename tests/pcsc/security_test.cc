// Issue 8 items 1–3 through the real stack (pcscd + vpcd + dmcard-vicc): what a device that
// talks PC/SC can read and change. The restrictive test profile
// (tests/data/dm/profiles/restrictive/) keeps ./DMAcc for its DM server and ./Con for the user;
// its user PIN is 2468. In-process counterparts (with a DM server's principal, which PC/SC
// cannot authenticate yet): tests/unit/card_security_test.cc.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "host/personalization.h"
#include "host/scp03_host.h"
#include "pcsc_fixture.h"

namespace dmcard::pcsctest {
namespace {

using Pcsc_Security = PcscTest;

constexpr const char* kSelectDm = "00A404000AF0444D434152442D444D00";
// The restrictive profile's issuer key set: the demo profile's obviously-test keys.
constexpr uint8_t kIssuerEnc[] = "ISS-NOT-REAL-ENC";
constexpr uint8_t kIssuerMac[] = "ISS-NOT-REAL-MAC";
constexpr uint8_t kIssuerDek[] = "ISS-NOT-REAL-DEK";

std::string RestrictiveProfile() {
  return (std::filesystem::path(__FILE__).parent_path().parent_path() / "data" / "dm" / "profiles" /
          "restrictive" / "profile.json")
      .string();
}

std::string TextHex(std::string_view text) { return ToHex(Bytes(text.begin(), text.end())); }

std::string LenHex(size_t n) {
  char b[8];
  std::snprintf(b, sizeof b, "%02zX", n);
  return b;
}

// VERIFY PIN `ref` with an ASCII value.
std::string Verify(uint8_t ref, std::string_view pin) {
  return "002000" + LenHex(ref) + LenHex(pin.size()) + TextHex(pin);
}

// ADD of a chr leaf of `size` bytes, extended Lc when needed.
Bytes AddLeaf(const std::string& uri, size_t size) {
  Bytes tlv = {0x80, static_cast<uint8_t>(uri.size())};
  tlv.insert(tlv.end(), uri.begin(), uri.end());
  for (uint8_t b : Hex("8203636872")) tlv.push_back(b);
  tlv.push_back(0x81);
  if (size > 255) {
    tlv.insert(tlv.end(), {0x82, static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(size)});
  } else if (size > 127) {
    tlv.insert(tlv.end(), {0x81, static_cast<uint8_t>(size)});
  } else {
    tlv.push_back(static_cast<uint8_t>(size));
  }
  tlv.insert(tlv.end(), size, 'v');
  Bytes c = {0x80, 0x32, 0x00, 0x00};
  if (tlv.size() > 255) {
    c.insert(c.end(),
             {0x00, static_cast<uint8_t>(tlv.size() >> 8), static_cast<uint8_t>(tlv.size())});
  } else {
    c.push_back(static_cast<uint8_t>(tlv.size()));
  }
  c.insert(c.end(), tlv.begin(), tlv.end());
  return c;
}

bool Has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// Item 1. Before: READ BINARY of EF(DM_Bootstrap) returned the whole DMAcc that DM GET refused.
TEST_F(Pcsc_Security, Req_SEC1_BootstrapFileObeysTheDmAcls) {
  StartVicc({"--profile", RestrictiveProfile()});
  Context ctx;
  CardHandle card(ctx, ReaderName(0), SCARD_PROTOCOL_T1);
  ASSERT_EQ(Sw(card.Transmit(kSelectDm)), 0x9000);
  const std::string addr = "./DMAcc/Restricted/AppAddr/A1/Addr";
  EXPECT_EQ(ToHex(card.Transmit("80300000" + LenHex(addr.size()) + TextHex(addr) + "00")), "6982");
  ASSERT_EQ(Sw(card.Transmit("00A4040009F0444D43415244465300")), 0x9000);
  const std::string device = ReadBootstrapFile(card);
  // The OMA DM bootstrap message (WBXML 1.2, SyncML 1.2, inline strings): without the account.
  EXPECT_EQ(device.rfind("\x02\xA4\x01\x6A", 0), 0u) << device;
  for (const char* hidden :
       {"DMAcc", "dms.restricted.example.test", "restricted-client", "apn.", "not-a-real"}) {
    EXPECT_FALSE(Has(device, hidden)) << hidden << " in:\n" << device;
  }
  // The user's ./Con after VERIFY, never the server's account.
  ASSERT_EQ(ToHex(card.Transmit(Verify(0x01, "2468"))), "9000");
  const std::string user = ReadBootstrapFile(card);
  EXPECT_TRUE(Has(user, "apn.user-only.example.test")) << user;
  EXPECT_FALSE(Has(user, "dms.restricted.example.test")) << user;

  // A second client on its own session reads as the device meanwhile.
  Context ctx2;
  CardHandle other(ctx2, ReaderName(0), SCARD_PROTOCOL_T1);
  const Bytes channel = other.Transmit("0070000001");
  ASSERT_EQ(Sw(channel), 0x9000);
  const std::string cla = "0" + std::to_string(Data(channel).at(0));
  ASSERT_EQ(Sw(other.Transmit(cla + "A4080C0450154402")), 0x9000);
  const Bytes r = other.Transmit(cla + "B00000000000");
  const Bytes d = Data(r);
  EXPECT_FALSE(Has(std::string(d.begin(), d.end()), "apn.user-only")) << "cross-talk";
}

// Item 2. Before: the file system kept PIN 1234 / PUK 12345678 whatever the profile said, with
// its own 3 tries, and that PIN let anyone rewrite EF.DIR.
TEST_F(Pcsc_Security, Req_SEC1_OneUserPinWithOneCounter) {
  StartVicc({"--profile", RestrictiveProfile()});
  Context ctx;
  CardHandle card(ctx, ReaderName(0), SCARD_PROTOCOL_T1);
  ASSERT_EQ(Sw(card.Transmit("00A4040009F0444D43415244465300")), 0x9000);
  EXPECT_EQ(ToHex(card.Transmit(Verify(0x01, "1234"))), "63C2");
  ASSERT_EQ(Sw(card.Transmit(kSelectDm)), 0x9000);
  EXPECT_EQ(ToHex(card.Transmit(Verify(0x01, "1234"))), "63C1");
  ASSERT_EQ(Sw(card.Transmit("00A4040009F0444D43415244465300")), 0x9000);
  EXPECT_EQ(ToHex(card.Transmit("00200001")), "63C1");
  ASSERT_EQ(ToHex(card.Transmit(Verify(0x01, "2468"))), "9000");
  // EF.DIR is the issuer's: the user PIN does not open it.
  EXPECT_EQ(ToHex(card.Transmit("00DC01F420" + std::string(64, '0'))), "6982");
  EXPECT_NE(ToHex(card.Transmit("00B201F420")).substr(0, 4), "0000");  // record 1 intact
}

// Item 3. Before: the device could add 968 root nodes it could not delete, after which every
// ADD by anyone answered 6A84.
TEST_F(Pcsc_Security, Req_SEC1_DemoRootRefusesTheDevicesAdd) {
  StartVicc();  // the demo profile
  Context ctx;
  CardHandle card(ctx, ReaderName(0), SCARD_PROTOCOL_T1);
  ASSERT_EQ(Sw(card.Transmit(kSelectDm)), 0x9000);
  EXPECT_EQ(ToHex(card.Transmit(AddLeaf("./Junk", 4))), "6982");
  ASSERT_EQ(ToHex(card.Transmit(Verify(0x01, "1234"))), "9000");
  EXPECT_EQ(ToHex(card.Transmit(AddLeaf("./Junk", 4))), "6982");  // nor the user
}

TEST_F(Pcsc_Security, Req_SEC1_FullCardStillAcceptsTheIssuer) {
  StartVicc({"--profile", RestrictiveProfile()});  // 16 KiB, reserve 2048
  Context ctx;
  CardHandle card(ctx, ReaderName(0), SCARD_PROTOCOL_T1);
  ASSERT_EQ(Sw(card.Transmit(kSelectDm)), 0x9000);
  ASSERT_EQ(ToHex(card.Transmit(Verify(0x01, "2468"))), "9000");
  int added = 0;
  std::string last;
  for (size_t size : {600, 1}) {
    for (int i = 0; i < 100; ++i, ++added) {
      last = ToHex(card.Transmit(AddLeaf("./UserPrefs/P" + std::to_string(added), size)));
      if (last != "9000") break;
    }
  }
  EXPECT_EQ(last, "6A84");
  ASSERT_GT(added, 10);
  // The issuer still writes: an SCP03 session with the profile's issuer key set (KVN 30,
  // obviously-test keys), STORE DATA of a tree merged (DGI 0202).
  const HostScp03Keys issuer_keys = {Bytes(kIssuerEnc, kIssuerEnc + 16),
                                     Bytes(kIssuerMac, kIssuerMac + 16),
                                     Bytes(kIssuerDek, kIssuerDek + 16)};
  HostScp03 issuer(issuer_keys);
  const Bytes init = card.Transmit(issuer.InitializeUpdate(0x30, Hex("0102030405060708")));
  ASSERT_EQ(Sw(init), 0x9000) << ToHex(init);
  issuer.ReadInitializeUpdateResponse(Data(init), Hex("F0444D434152442D444D"));
  ASSERT_EQ(ToHex(card.Transmit(issuer.ExternalAuthenticate(0x33))), "9000");
  const std::string tnds =
      "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>DevInfo</NodeName><Node>"
      "<NodeName>Lang</NodeName><RTProperties><Format><chr/></Format></RTProperties>"
      "<Value>en-issuer</Value></Node></Node></MgmtTree>";
  std::string error;
  const std::optional<std::vector<Bytes>> blocks =
      StoreDataCommands({{0x0202, Bytes(tnds.begin(), tnds.end())}}, error);
  ASSERT_TRUE(blocks) << error;
  for (const Bytes& c : *blocks) {
    const Bytes r = card.Transmit(issuer.Wrap(c));
    ASSERT_EQ(Sw(r), 0x9000) << ToHex(r);
  }
  ASSERT_EQ(Sw(card.Transmit(kSelectDm)), 0x9000);  // ends the session
  const std::string lang = "./DevInfo/Lang";
  EXPECT_EQ(ToHex(card.Transmit("80300000" + LenHex(lang.size()) + TextHex(lang) + "00")),
            TextHex("en-issuer") + "9000");
}

}  // namespace
}  // namespace dmcard::pcsctest
