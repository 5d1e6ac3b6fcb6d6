// The network-signed bootstrap through the real stack (issue 10, UC-CR): a device-side PC/SC
// client has the demo card (pcscd + vpcd + dmcard-vicc) verify a DM bootstrap message the
// network MACed with NETWPIN — the card's IMSI — and a tampered copy of it. The MAC is made here
// with OpenSSL, the IMSI's key written from OMA Provisioning Bootstrap's rule.
#include <string>

#include "host/openssl_util.h"
#include "host/wbxml_encode.h"
#include "pcsc_fixture.h"

namespace dmcard::pcsctest {
namespace {

using Pcsc_Bootstrap = PcscTest;

// The demo profile's IMSI 001010123456789 as EF_IMSI semi-octets without the length byte: the
// parity nibble 9 (odd count), then the digits, low nibble first.
const Bytes kNetwPinKey = Hex("0910101032547698");

// VERIFY BOOTSTRAP (80 42 P1 00) with NETWPIN: TLVs 80 method, 81 message, 82 the MAC's 40 hex
// characters (BER lengths); extended Lc and Le when the data does not fit a short APDU.
Bytes VerifyNetwPin(const Bytes& message, const Bytes& mac_of, uint8_t p1 = 0x00) {
  const std::string mac = ToHex(ossl::OsslMac("HMAC", "SHA1", kNetwPinKey, mac_of));
  Bytes data;
  auto tlv = [&data](uint8_t tag, const Bytes& v) {
    data.push_back(tag);
    if (v.size() > 255) {
      data.insert(data.end(), {0x82, static_cast<uint8_t>(v.size() >> 8)});
    } else if (v.size() > 127) {
      data.push_back(0x81);
    }
    data.push_back(static_cast<uint8_t>(v.size()));
    data.insert(data.end(), v.begin(), v.end());
  };
  tlv(0x80, Bytes{0x00});
  tlv(0x81, message);
  tlv(0x82, Bytes(mac.begin(), mac.end()));
  Bytes c = {0x80, 0x42, p1, 0x00};
  if (data.size() > 255) {
    c.insert(c.end(),
             {0x00, static_cast<uint8_t>(data.size() >> 8), static_cast<uint8_t>(data.size())});
    c.insert(c.end(), data.begin(), data.end());
    c.insert(c.end(), {0x00, 0x00});
  } else {
    c.push_back(static_cast<uint8_t>(data.size()));
    c.insert(c.end(), data.begin(), data.end());
    c.push_back(0x00);
  }
  return c;
}

TEST_F(Pcsc_Bootstrap, Req_UCCR_DeviceHasTheCardVerifyTheNetworksBootstrap) {
  StartVicc();  // the demo profile: IMSI 001010123456789, user confirmation and autoconnect
  Context ctx;
  CardHandle card(ctx, ReaderName(0), SCARD_PROTOCOL_T1);
  ASSERT_EQ(Sw(card.Transmit(Hex("00A404000AF0444D434152442D444D00"))), 0x9000);
  const Bytes message = Hex("030B6A004501 C6 56 01 87 07 06 03 6465766963652D746573740001 01");
  // Valid: flags 06 — the device must ask the user (USA1) and then connects on its own (USA3).
  EXPECT_EQ(ToHex(card.Transmit(VerifyNetwPin(message, message))), "8401069000");
  // One byte changed on the way: invalid, with the verifications left before lock-out.
  Bytes tampered = message;
  tampered[8] ^= 0x20;
  const Bytes r = card.Transmit(VerifyNetwPin(tampered, message));
  EXPECT_EQ(Sw(r) & 0xFFF0, 0x63C0) << ToHex(r);
}

// Accept and install (issue 10 item 3): the card verifies and applies a WBXML DM bootstrap
// message (SyncML 1.2 with embedded WBXML TNDS, encoded here with libwbxml2) in one command; the
// PKCS#15 view then serves the new account.
TEST_F(Pcsc_Bootstrap, Req_UCCR_TheVerifiedBootstrapIsInstalledAndThePkcs15ViewServesIt) {
  StartVicc();
  Context ctx;
  CardHandle card(ctx, ReaderName(0), SCARD_PROTOCOL_T1);
  ASSERT_EQ(Sw(card.Transmit(Hex("00A404000AF0444D434152442D444D00"))), 0x9000);
  std::string error;
  const Bytes message = XmlToWbxml(R"(<SyncML xmlns="SYNCML:SYNCML1.2">
<SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>
<Target><LocURI>IMEI:000000000000000</LocURI></Target>
<Source><LocURI>https://dms3.example.test/dm</LocURI></Source></SyncHdr>
<SyncBody><Add><CmdID>1</CmdID><Item>
<Meta><Type xmlns="syncml:metinf">application/vnd.syncml.dmtnds+xml</Type></Meta>
<Data><MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD>
<Node><NodeName>Third</NodeName><Path>./DMAcc</Path>
<RTProperties><ACL>Get=*</ACL><Format><node/></Format></RTProperties>
<Node><NodeName>ServerID</NodeName><RTProperties><Format><chr/></Format></RTProperties>
<Value>dms3.example.test</Value></Node></Node></MgmtTree></Data></Item></Add>
<Final/></SyncBody></SyncML>)",
                                   error)
                            .value_or(Bytes{});
  ASSERT_FALSE(message.empty()) << error;
  // P1 01: verify and install.
  EXPECT_EQ(ToHex(card.Transmit(VerifyNetwPin(message, message, 0x01))), "8401069000");
  ASSERT_EQ(Sw(card.Transmit(Hex("00A4040009F0444D43415244465300"))), 0x9000);
  const std::string view = ReadBootstrapFile(card);
  EXPECT_NE(view.find("dms3.example.test"), std::string::npos) << view;
}

}  // namespace
}  // namespace dmcard::pcsctest
