// The network-signed bootstrap through the real stack (issue 10, UC-CR): a device-side PC/SC
// client has the demo card (pcscd + vpcd + dmcard-vicc) verify a DM bootstrap message the
// network MACed with NETWPIN — the card's IMSI — and a tampered copy of it. The MAC is made here
// with OpenSSL, the IMSI's key written from OMA Provisioning Bootstrap's rule.
#include <string>

#include "host_openssl.h"
#include "pcsc_fixture.h"

namespace dmcard::pcsctest {
namespace {

using Pcsc_Bootstrap = PcscTest;

// The demo profile's IMSI 001010123456789 as EF_IMSI semi-octets without the length byte: the
// parity nibble 9 (odd count), then the digits, low nibble first.
const Bytes kNetwPinKey = Hex("0910101032547698");

Bytes VerifyNetwPin(const Bytes& message, const Bytes& mac_of) {
  const std::string mac =
      ToHex(dmcard::testing::ossl::OsslMac("HMAC", "SHA1", kNetwPinKey, mac_of));
  Bytes data = {0x80, 0x01, 0x00, 0x81, static_cast<uint8_t>(message.size())};
  data.insert(data.end(), message.begin(), message.end());
  data.push_back(0x82);
  data.push_back(static_cast<uint8_t>(mac.size()));
  data.insert(data.end(), mac.begin(), mac.end());
  Bytes c = {0x80, 0x42, 0x00, 0x00, static_cast<uint8_t>(data.size())};
  c.insert(c.end(), data.begin(), data.end());
  c.push_back(0x00);
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

}  // namespace
}  // namespace dmcard::pcsctest
