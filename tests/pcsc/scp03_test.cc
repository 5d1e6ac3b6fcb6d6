// Issue 9 ("Must show", line 2) through the real stack (pcscd + vpcd + dmcard-vicc with the demo
// profile): a DM server opens a GlobalPlatform SCP03 secure channel to the DM applet with the host
// side of host/scp03_host (OpenSSL) and changes ./DMAcc as its ServerID, which the device
// (any PC/SC client without the keys) cannot; tampered, replayed and reordered commands are
// refused, end the session and change nothing; a session lives on its logical channel only.
// In-process counterpart: tests/unit/dm_scp03_test.cc.
//
// The demo profile's DM server key set (KVN 31, owner dmcard.example.test) holds obviously-test
// keys, written here from the ASCII they spell.
#include <string>
#include <string_view>

#include <filesystem>

#include "host/personalization.h"
#include "host/scp03_host.h"
#include "pcsc_fixture.h"

namespace dmcard::pcsctest {
namespace {

using Pcsc_Scp03 = PcscTest;

Bytes Ascii(std::string_view s) { return Bytes(s.begin(), s.end()); }

const HostScp03Keys kDemoDms = {Ascii("DMS-NOT-REAL-ENC"), Ascii("DMS-NOT-REAL-MAC"),
                                Ascii("DMS-NOT-REAL-DEK")};
constexpr uint8_t kDmsKvn = 0x31;
const HostScp03Keys kDemoIssuer = {Ascii("ISS-NOT-REAL-ENC"), Ascii("ISS-NOT-REAL-MAC"),
                                   Ascii("ISS-NOT-REAL-DEK")};
constexpr uint8_t kIssuerKvn = 0x30;
// F0 "DMCARD-DM": the DM applet serves the handshake, so the card challenge is derived with it.
const Bytes kDmAid = Hex("F0444D434152442D444D");
constexpr const char* kName = "./DMAcc/DMCardTest/Name";

// The plain class byte (proprietary, no secure messaging) of logical channel `channel`.
uint8_t ProprietaryCla(uint8_t channel) {
  return channel < 4 ? static_cast<uint8_t>(0x80 | channel)
                     : static_cast<uint8_t>(0xC0 | (channel - 4));
}
uint8_t InterindustryCla(uint8_t channel) {
  return channel < 4 ? channel : static_cast<uint8_t>(0x40 | (channel - 4));
}

Bytes SelectDm(uint8_t channel = 0) {
  Bytes c = {InterindustryCla(channel), 0xA4, 0x04, 0x00, static_cast<uint8_t>(kDmAid.size())};
  c.insert(c.end(), kDmAid.begin(), kDmAid.end());
  c.push_back(0x00);
  return c;
}

// DM REPLACE (80 34) of a leaf's value; DM GET (80 30) of a leaf's value.
Bytes Replace(std::string_view uri, std::string_view value, uint8_t channel = 0) {
  Bytes tlv = {0x80, static_cast<uint8_t>(uri.size())};
  tlv.insert(tlv.end(), uri.begin(), uri.end());
  tlv.push_back(0x81);
  tlv.push_back(static_cast<uint8_t>(value.size()));
  tlv.insert(tlv.end(), value.begin(), value.end());
  Bytes c = {ProprietaryCla(channel), 0x34, 0x00, 0x00, static_cast<uint8_t>(tlv.size())};
  c.insert(c.end(), tlv.begin(), tlv.end());
  return c;
}
Bytes Get(std::string_view uri, uint8_t channel = 0) {
  Bytes c = {ProprietaryCla(channel), 0x30, 0x00, 0x00, static_cast<uint8_t>(uri.size())};
  c.insert(c.end(), uri.begin(), uri.end());
  c.push_back(0x00);
  return c;
}

std::string Text(const Bytes& b) { return std::string(b.begin(), b.end()); }
std::string SwHex(const Bytes& response) {
  return ToHex(Bytes(response.end() - 2, response.end()));
}

// The leaf's value as a client without a session reads it (or "SW xxxx").
std::string PlainGet(CardHandle& card, std::string_view uri, uint8_t channel = 0) {
  const Bytes r = card.Transmit(Get(uri, channel));
  return Sw(r) == 0x9000 ? Text(Data(r)) : "SW " + SwHex(r);
}

// INITIALIZE UPDATE with KVN 31 (or `kvn`) + EXTERNAL AUTHENTICATE at `level` on `channel`, the
// host checking the card cryptogram and the pseudo-random card challenge; "" once the session is
// open.
std::string Open(CardHandle& card, HostScp03& host, uint8_t level, uint8_t channel = 0,
                 uint8_t kvn = kDmsKvn) {
  const Bytes r = card.Transmit(host.InitializeUpdate(kvn, Hex("0102030405060708"), channel));
  if (Sw(r) != 0x9000) return "INITIALIZE UPDATE answered " + ToHex(r);
  try {
    host.ReadInitializeUpdateResponse(Data(r), kDmAid);
  } catch (const HostScp03Error& e) {
    return e.what();
  }
  const Bytes a = card.Transmit(host.ExternalAuthenticate(level));
  return ToHex(a) == "9000" ? "" : "EXTERNAL AUTHENTICATE answered " + ToHex(a);
}

std::string LevelText(uint8_t level) { return "level " + ToHex(Bytes{level}); }

// SC8: a management authority authenticates over PC/SC and changes its account; the device does
// not. One session per security level: C-MAC (01), + C-DEC and R-MAC (13), + R-ENC (33).
TEST_F(Pcsc_Scp03, Req_SC8_DmServerSessionThroughPcsc) {
  StartVicc();  // the demo profile
  Context ctx;
  CardHandle card(ctx, ReaderName(0), SCARD_PROTOCOL_T1);
  ASSERT_EQ(Sw(card.Transmit(SelectDm())), 0x9000);
  const std::string before = PlainGet(card, kName);
  ASSERT_EQ(before.rfind("SW ", 0), std::string::npos) << "the device reads the name: " << before;
  EXPECT_EQ(ToHex(card.Transmit(Replace(kName, "by the device"))), "6982");

  std::string last;
  for (uint8_t level : {0x01, 0x13, 0x33}) {
    SCOPED_TRACE(LevelText(level));
    HostScp03 host(kDemoDms);
    ASSERT_EQ(Open(card, host, level), "");
    const std::string value = "set by the DMS at " + LevelText(level);
    const Bytes wrapped = host.Wrap(Replace(kName, value));
    if ((level & 0x02) != 0) {  // C-DECRYPTION: the value never crosses pcscd in clear
      EXPECT_EQ(Text(wrapped).find(value), std::string::npos) << ToHex(wrapped);
    }
    const Bytes r = card.Transmit(wrapped);
    ASSERT_EQ(Sw(r), 0x9000) << ToHex(r);
    EXPECT_TRUE(host.Unwrap(Data(r), Sw(r)).empty());  // R-MAC checked at 13 and 33

    const Bytes g = card.Transmit(host.Wrap(Get(kName)));
    ASSERT_EQ(Sw(g), 0x9000) << ToHex(g);
    if (level == 0x13) {
      EXPECT_EQ(Data(g).size(), value.size() + 8) << "R-MAC: " << ToHex(g);
    }
    if ((level & 0x20) != 0) {  // R-ENCRYPTION: the answer is not the value in clear
      EXPECT_EQ(Text(Data(g)).find(value), std::string::npos) << ToHex(g);
    }
    EXPECT_EQ(Text(host.Unwrap(Data(g), Sw(g))), value);
    last = value;
  }

  // SELECT again ends the session: the device reads the server's value and still cannot change it.
  ASSERT_EQ(Sw(card.Transmit(SelectDm())), 0x9000);
  EXPECT_EQ(ToHex(card.Transmit(Replace(kName, "by the device"))), "6982");
  EXPECT_EQ(PlainGet(card, kName), last);
}

// SEC1: every command that is not the next one the server wrapped is refused with 6982, changes
// nothing and ends the session; the next wrapped command then meets no session (6882).
TEST_F(Pcsc_Scp03, Req_SEC1_TamperedReplayedReorderedRefusedThroughPcsc) {
  StartVicc();
  Context ctx;
  CardHandle card(ctx, ReaderName(0), SCARD_PROTOCOL_T1);
  ASSERT_EQ(Sw(card.Transmit(SelectDm())), 0x9000);
  const std::string before = PlainGet(card, kName);
  ASSERT_EQ(before.rfind("SW ", 0), std::string::npos) << before;

  // Tampered: the C-MAC (level 13), a byte of the value sent in clear (01), a byte of the
  // encrypted data (33). Each wrapped command ends with its 8-byte C-MAC.
  struct Tamper {
    const char* what;
    uint8_t level;
    size_t from_end;  // index of the flipped byte, counted from the last
  };
  for (const Tamper& t : {Tamper{"C-MAC", 0x13, 1}, Tamper{"clear value", 0x01, 9},
                          Tamper{"encrypted data", 0x33, 9}}) {
    SCOPED_TRACE(std::string("tampered ") + t.what + " at " + LevelText(t.level));
    HostScp03 host(kDemoDms);
    ASSERT_EQ(Open(card, host, t.level), "");
    Bytes tampered = host.Wrap(Replace(kName, "tampered"));
    tampered[tampered.size() - t.from_end] ^= 0x01;
    EXPECT_EQ(ToHex(card.Transmit(tampered)), "6982");
    EXPECT_EQ(ToHex(card.Transmit(host.Wrap(Replace(kName, "after the tamper")))), "6882");
    EXPECT_EQ(PlainGet(card, kName), before);
  }

  {
    SCOPED_TRACE("replayed");
    HostScp03 host(kDemoDms);
    ASSERT_EQ(Open(card, host, 0x13), "");
    const Bytes first = host.Wrap(Replace(kName, "replay first"));
    ASSERT_EQ(SwHex(card.Transmit(first)), "9000");
    ASSERT_EQ(SwHex(card.Transmit(host.Wrap(Replace(kName, "replay second")))), "9000");
    EXPECT_EQ(ToHex(card.Transmit(first)), "6982");  // would set "replay first" again
    EXPECT_EQ(ToHex(card.Transmit(host.Wrap(Get(kName)))), "6882");
    EXPECT_EQ(PlainGet(card, kName), "replay second");
  }

  {
    SCOPED_TRACE("reordered");
    const std::string current = PlainGet(card, kName);
    HostScp03 host(kDemoDms);
    ASSERT_EQ(Open(card, host, 0x01), "");
    const Bytes first = host.Wrap(Replace(kName, "reorder first"));
    const Bytes second = host.Wrap(Replace(kName, "reorder second"));
    EXPECT_EQ(ToHex(card.Transmit(second)), "6982");
    EXPECT_EQ(ToHex(card.Transmit(first)), "6882");  // the session is gone: first is late too
    EXPECT_EQ(PlainGet(card, kName), current);
  }
}

// Two PC/SC clients on one card: the server holds a session on a logical channel it opened; the
// device on the basic channel stays the device, and nothing of the session reaches another channel.
TEST_F(Pcsc_Scp03, Req_SEC1_SessionStaysOnItsLogicalChannelThroughPcsc) {
  StartVicc();
  Context server_ctx;
  CardHandle server(server_ctx, ReaderName(0), SCARD_PROTOCOL_T1);
  Context device_ctx;
  CardHandle device(device_ctx, ReaderName(0), SCARD_PROTOCOL_T1);

  const Bytes opened = server.Transmit("0070000001");
  ASSERT_EQ(Sw(opened), 0x9000) << ToHex(opened);
  ASSERT_EQ(Data(opened).size(), 1u);
  const uint8_t n = Data(opened)[0];
  ASSERT_GE(n, 1);
  ASSERT_LE(n, 19);
  SCOPED_TRACE("server on logical channel " + std::to_string(n));
  ASSERT_EQ(Sw(server.Transmit(SelectDm(n))), 0x9000);
  ASSERT_EQ(Sw(device.Transmit(SelectDm())), 0x9000);
  const std::string before = PlainGet(device, kName);

  HostScp03 host(kDemoDms);
  ASSERT_EQ(Open(server, host, 0x13, n), "");
  EXPECT_EQ(ToHex(device.Transmit(Replace(kName, "by the device"))), "6982");
  // The server's keys and counters, but for the basic channel: there is no session there.
  HostScp03 copy = host;
  EXPECT_EQ(ToHex(device.Transmit(copy.Wrap(Replace(kName, "borrowed")))), "6882");
  EXPECT_EQ(PlainGet(device, kName), before);

  const std::string value = "set on channel " + std::to_string(n);
  const Bytes wrapped = host.Wrap(Replace(kName, value, n));
  const Bytes r = server.Transmit(wrapped);
  ASSERT_EQ(Sw(r), 0x9000) << ToHex(r);
  EXPECT_TRUE(host.Unwrap(Data(r), Sw(r)).empty());
  // The device reads the change but still cannot make one, and the server's command sent again
  // on the basic channel meets no session there.
  EXPECT_EQ(PlainGet(device, kName), value);
  EXPECT_EQ(ToHex(device.Transmit(Replace(kName, "by the device"))), "6982");
  Bytes moved = wrapped;
  moved[0] = 0x84;  // proprietary class, secure messaging, basic channel
  EXPECT_EQ(ToHex(device.Transmit(moved)), "6882");
  EXPECT_EQ(PlainGet(device, kName), value);

  // None of that disturbed the server's session: its next command is the one the card expects.
  const Bytes g = server.Transmit(host.Wrap(Get(kName, n)));
  ASSERT_EQ(Sw(g), 0x9000) << ToHex(g);
  EXPECT_EQ(Text(host.Unwrap(Data(g), Sw(g))), value);

  // A plain command on the server's channel (any client can send one) does not borrow the
  // session's principal: refused, and the session ends (every level has C-MAC).
  EXPECT_EQ(ToHex(device.Transmit(Replace(kName, "plain on the server's channel", n))), "6982");
  EXPECT_EQ(ToHex(server.Transmit(host.Wrap(Get(kName, n)))), "6882");
  EXPECT_EQ(PlainGet(device, kName), value);

  // Closing the server's channel leaves the basic channel as it was.
  EXPECT_EQ(ToHex(server.Transmit(Bytes{0x00, 0x70, 0x80, n})), "9000");
  EXPECT_EQ(ToHex(device.Transmit(Replace(kName, "by the device"))), "6982");
  EXPECT_EQ(PlainGet(device, kName), value);
}

// Issue 9 item 5 (SC2): the issuer loads the demo profile into a blank card (the issuer's key set
// only) through pcscd + vpcd, over SCP03 with STORE DATA of DGIs, the host reading the profile
// file itself (host/personalization). The card then holds the profile's tree, flags,
// PIN and DM server key set; a DM server cannot personalize.
TEST_F(Pcsc_Scp03, Req_SC2_PersonalizeABlankCardThroughPcsc) {
  const std::filesystem::path root = std::filesystem::path(__FILE__).parent_path().parent_path();
  StartVicc({"--profile", (root / "data/dm/profiles/blank/profile.json").string()});
  Context ctx;
  CardHandle card(ctx, ReaderName(0), SCARD_PROTOCOL_T1);
  ASSERT_EQ(Sw(card.Transmit(SelectDm())), 0x9000);
  EXPECT_EQ(PlainGet(card, kName), "SW 6A82");                         // an empty tree
  EXPECT_EQ(ToHex(card.Transmit(Hex("002000010431323334"))), "6A88");  // no PIN yet

  std::string error;
  const std::optional<HostProfile> profile =
      ReadHostProfile(root.parent_path() / "profiles/demo/profile.json", error);
  ASSERT_TRUE(profile) << error;
  const std::optional<std::vector<HostDgi>> dgis =
      PersonalizationDgis(*profile, kDemoIssuer.dek, error);
  ASSERT_TRUE(dgis) << error;
  const std::optional<std::vector<Bytes>> blocks = StoreDataCommands(*dgis, error);
  ASSERT_TRUE(blocks) << error;
  const std::vector<Bytes>& commands = *blocks;
  HostScp03 issuer(kDemoIssuer);
  ASSERT_EQ(Open(card, issuer, 0x33, 0, kIssuerKvn), "");
  for (const Bytes& c : commands) {
    const Bytes wrapped = issuer.Wrap(c);
    const Bytes r = card.Transmit(wrapped);
    ASSERT_EQ(Sw(r), 0x9000) << "block " << ToHex(Bytes{c[3]}) << ": " << ToHex(r);
    EXPECT_TRUE(issuer.Unwrap(Data(r), Sw(r)).empty());
  }

  // A new SELECT ends the session: the device sees the demo card (its account name, flags 07:
  // provisioned, user confirmation, autoconnect) and has its PIN.
  const Bytes fci = card.Transmit(SelectDm());
  ASSERT_EQ(Sw(fci), 0x9000);
  EXPECT_NE(ToHex(fci).find("840107"), std::string::npos) << ToHex(fci);
  EXPECT_EQ(PlainGet(card, kName), "dmcard demo DM server (test)");  // profiles/demo/tree.xml
  EXPECT_EQ(ToHex(card.Transmit(Hex("002000010431323334"))), "9000");
  // The DM server's key set was loaded: its session changes its account.
  HostScp03 dms(kDemoDms);
  ASSERT_EQ(Open(card, dms, 0x13), "");
  const Bytes r = card.Transmit(dms.Wrap(Replace(kName, "by the DMS")));
  ASSERT_EQ(Sw(r), 0x9000) << ToHex(r);
  // ... but cannot personalize.
  EXPECT_EQ(ToHex(card.Transmit(dms.Wrap(Hex("80E288000401010100")))), "6982");
  ASSERT_EQ(Sw(card.Transmit(SelectDm())), 0x9000);
  EXPECT_EQ(PlainGet(card, kName), "by the DMS");
}

}  // namespace
}  // namespace dmcard::pcsctest
