// Transport through pcscd + vpcd with several PC/SC clients on one card (issue 7 items 1, 7):
// an R-APDU never outgrows vpcd's 2-byte frame length (the rest comes through 61xx + GET
// RESPONSE), and GET RESPONSE and command chaining are kept per logical channel, so clients on
// their own channels never lose or see each other's bytes.
#include <atomic>
#include <exception>
#include <string>
#include <thread>

#include "pcsc_fixture.h"

namespace dmcard::pcsctest {
namespace {

using Pcsc_Transport = PcscTest;

// F0 "DMCARD-DM"
constexpr const char* kDmAid = "F0444D434152442D444D";
constexpr const char* kFsAid = "F0444D434152444653";
// vpcd frames carry a 2-byte length: at most 65535 bytes of R-APDU, i.e. 65533 data bytes + SW.
constexpr size_t kMaxFrame = 65535;

// CLA for `channel` (ISO 7816-4 §5.4.1: first interindustry values 0x-03, further 40-4F; b5 is
// the chaining bit in both).
uint8_t Cla(int channel, bool chaining = false, uint8_t proprietary = 0x00) {
  const uint8_t chain = chaining ? 0x10 : 0x00;
  if (channel < 4) return static_cast<uint8_t>(proprietary | chain | channel);
  return static_cast<uint8_t>(proprietary | 0x40 | chain | (channel - 4));
}

// A C-APDU (ISO 7816-3 §12.1.3): short fields when they fit and `extended` is false, else
// extended ones. `ne` 0 = no Le; 256 (short) / 65536 (extended) are encoded 00 / 0000.
Bytes Apdu(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const Bytes& data, uint32_t ne,
           bool extended = false) {
  Bytes c = {cla, ins, p1, p2};
  extended = extended || data.size() > 255 || ne > 256;
  if (!extended) {
    if (!data.empty()) c.push_back(static_cast<uint8_t>(data.size()));
    c.insert(c.end(), data.begin(), data.end());
    if (ne != 0) c.push_back(static_cast<uint8_t>(ne & 0xFF));
    return c;
  }
  c.push_back(0x00);
  if (!data.empty()) {
    c.push_back(static_cast<uint8_t>(data.size() >> 8));
    c.push_back(static_cast<uint8_t>(data.size()));
    c.insert(c.end(), data.begin(), data.end());
  }
  if (ne != 0) {
    c.push_back(static_cast<uint8_t>((ne >> 8) & 0xFF));
    c.push_back(static_cast<uint8_t>(ne & 0xFF));
  }
  return c;
}

Bytes Text(std::string_view s) { return Bytes(s.begin(), s.end()); }

// BER-TLV with a definite length (ISO 7816-4 §5.2).
Bytes Tlv(uint8_t tag, const Bytes& value) {
  Bytes t = {tag};
  if (value.size() < 0x80) {
    t.push_back(static_cast<uint8_t>(value.size()));
  } else {
    t.insert(t.end(),
             {0x82, static_cast<uint8_t>(value.size() >> 8), static_cast<uint8_t>(value.size())});
  }
  t.insert(t.end(), value.begin(), value.end());
  return t;
}

Bytes Cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// MANAGE CHANNEL open, the card assigns the number (ISO 7816-4 §11.1.2): returns it.
int OpenChannel(CardHandle& card) {
  Bytes r = card.Transmit("0070000001");
  if (r.size() != 3 || Sw(r) != 0x9000) {
    throw std::runtime_error("MANAGE CHANNEL open: " + ToHex(r));
  }
  return r[0];
}

// Follows 61xx with GET RESPONSE (extended Le 0000 or short Le 00) on `channel` until the last
// part; returns all the data and, in `sw`, the final status word. Every R-APDU must fit a vpcd
// frame.
Bytes FetchRest(CardHandle& card, int channel, Bytes data, uint16_t& sw, bool extended) {
  for (int parts = 0; (sw >> 8) == 0x61; ++parts) {
    if (parts > 1000) throw std::runtime_error("61xx without end");
    Bytes r = card.Transmit(Apdu(Cla(channel), 0xC0, 0, 0, {}, extended ? 65536 : 256));
    if (r.size() > kMaxFrame) throw std::runtime_error("R-APDU larger than a vpcd frame");
    sw = Sw(r);
    Bytes d = Data(r);
    data.insert(data.end(), d.begin(), d.end());
  }
  return data;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Issue 7 item 1: EXPORT of a tree whose TNDS document is longer than a vpcd frame, asked with
// extended Le 0000 (Ne 65536) and Le FFFF. The card answers 65533 bytes + 61xx; the other
// client, on its own channel meanwhile, gets exactly its own answers; the document reassembled
// through GET RESPONSE equals the one read in 256-byte pieces.
TEST_F(Pcsc_Transport, ResponseLongerThanAVpcdFrameComesThroughGetResponse) {
  StartVicc();
  Context ctx_a, ctx_b;
  CardHandle a(ctx_a, ReaderName(0), SCARD_PROTOCOL_T1);
  CardHandle b(ctx_b, ReaderName(0), SCARD_PROTOCOL_T1);
  const Bytes select_dm = Apdu(0x00, 0xA4, 0x04, 0x00, Hex(kDmAid), 256);
  ASSERT_EQ(Sw(a.Transmit(select_dm)), 0x9000);

  // Two leaves of 8000 '&' each: 16 000 bytes stored, 80 000 in the XML ("&amp;", TNDS is XML),
  // added by the user where the demo profile lets the user add.
  ASSERT_EQ(ToHex(a.Transmit(Apdu(0x00, 0x20, 0x00, 0x01, Text("1234"), 0))), "9000");
  const std::string big = "./Vendor/dmcard/UserPrefs/Big";
  ASSERT_EQ(ToHex(a.Transmit(
                Apdu(0x80, 0x32, 0, 0, Cat(Tlv(0x80, Text(big)), Tlv(0x82, Text("node"))), 0))),
            "9000");
  const Bytes value(8000, '&');
  for (const std::string& leaf : {big + "/L1", big + "/L2"}) {
    Bytes add = Cat(Cat(Tlv(0x80, Text(leaf)), Tlv(0x82, Text("chr"))), Tlv(0x81, value));
    ASSERT_EQ(ToHex(a.Transmit(Apdu(0x80, 0x32, 0, 0, add, 0))), "9000") << leaf;
  }

  // Reference: the document in 256-byte pieces (short Le), far from any frame limit.
  Bytes r = a.Transmit(Apdu(0x80, 0x3A, 0, 0, Text("."), 256));
  uint16_t sw = Sw(r);
  ASSERT_EQ(sw, 0x6100) << "more than 255 bytes remain";
  const Bytes reference = FetchRest(a, 0, Data(r), sw, /*extended=*/false);
  ASSERT_EQ(sw, 0x9000);
  const std::string doc(reference.begin(), reference.end());
  ASSERT_GT(reference.size(), kMaxFrame) << "the test needs a document longer than a frame";
  std::string escaped;
  for (int i = 0; i < 8000; ++i) escaped += "&amp;";
  EXPECT_EQ(Count(doc, escaped), 2u);
  EXPECT_NE(doc.find("</MgmtTree>"), std::string::npos);

  // The other client works on its own channel, with the FS applet.
  const int channel_b = OpenChannel(b);
  const Bytes select_fs_b = Apdu(Cla(channel_b), 0xA4, 0x04, 0x00, Hex(kFsAid), 256);
  const std::string fci_b = std::string(kFsAppletFci) + "9000";

  for (uint32_t ne : {65536u, 65535u}) {
    SCOPED_TRACE("EXPORT with extended Ne " + std::to_string(ne));
    r = a.Transmit(Apdu(0x80, 0x3A, 0, 0, Text("."), ne, /*extended=*/true));
    // ISO 7816-4 §5.3.4: as much as the transport carries, then 61xx (00: 256 or more left).
    ASSERT_EQ(r.size(), kMaxFrame);
    ASSERT_EQ(Sw(r), 0x6100);
    EXPECT_EQ(ToHex(b.Transmit(select_fs_b)), fci_b) << "client B sees only its own answer";
    Bytes got = Data(r);
    // The rest, with B interleaved between A's GET RESPONSEs.
    sw = Sw(r);
    while ((sw >> 8) == 0x61) {
      Bytes g = a.Transmit(Apdu(0x00, 0xC0, 0, 0, {}, 65536, true));
      ASSERT_LE(g.size(), kMaxFrame);
      sw = Sw(g);
      Bytes d = Data(g);
      got.insert(got.end(), d.begin(), d.end());
      EXPECT_EQ(ToHex(b.Transmit(select_fs_b)), fci_b);
    }
    EXPECT_EQ(sw, 0x9000);
    EXPECT_EQ(got.size(), reference.size());
    EXPECT_TRUE(got == reference) << "A's document differs from the one read in short pieces";
  }
  // Both clients still talk to a card in step.
  EXPECT_EQ(Sw(a.Transmit(select_dm)), 0x9000);
  EXPECT_EQ(ToHex(b.Transmit(select_fs_b)), fci_b);
}

// Issue 7 item 7: two clients, each on its own logical channel, interleave SELECT with Le 05
// (5 bytes + 61xx) and GET RESPONSE. Each channel keeps its own pending data (ISO 7816-4 §5.4.2:
// channels are independent), so no sequence is lost.
TEST_F(Pcsc_Transport, GetResponseIsKeptPerLogicalChannel) {
  StartVicc();
  Context ctx_a, ctx_b;
  CardHandle a(ctx_a, ReaderName(0), SCARD_PROTOCOL_T1);
  CardHandle b(ctx_b, ReaderName(0), SCARD_PROTOCOL_T1);
  const int channel_a = OpenChannel(a);
  const int channel_b = OpenChannel(b);
  ASSERT_NE(channel_a, channel_b);
  // A selects the FS applet, B the DM applet: different answers, so cross-talk would show.
  const Bytes select_a = Apdu(Cla(channel_a), 0xA4, 0x04, 0x00, Hex(kFsAid), 5);
  const Bytes select_b = Apdu(Cla(channel_b), 0xA4, 0x04, 0x00, Hex(kDmAid), 5);
  const Bytes get_a = Apdu(Cla(channel_a), 0xC0, 0, 0, {}, 256);
  const Bytes get_b = Apdu(Cla(channel_b), 0xC0, 0, 0, {}, 256);
  const Bytes fci_a = Hex(kFsAppletFci);
  // B's full answer (the DM descriptor, fixed while the tree does not change), read whole.
  Bytes full_b = b.Transmit(Apdu(Cla(channel_b), 0xA4, 0x04, 0x00, Hex(kDmAid), 256));
  ASSERT_EQ(Sw(full_b), 0x9000);
  full_b = Data(full_b);
  ASSERT_GT(full_b.size(), 5u);

  // What one sequence must give: the first 5 bytes + 61(rest), then the rest + 9000.
  auto first_part = [](const Bytes& full) {
    Bytes r(full.begin(), full.begin() + 5);
    r.push_back(0x61);
    r.push_back(static_cast<uint8_t>(full.size() - 5));
    return ToHex(r);
  };
  auto second_part = [](const Bytes& full) {
    Bytes r(full.begin() + 5, full.end());
    r.insert(r.end(), {0x90, 0x00});
    return ToHex(r);
  };
  const std::string a1 = first_part(fci_a), a2 = second_part(fci_a);
  const std::string b1 = first_part(full_b), b2 = second_part(full_b);

  // Strict alternation: A's SELECT, B's SELECT, A's GET RESPONSE, B's GET RESPONSE.
  int lost = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string ra1 = ToHex(a.Transmit(select_a));
    const std::string rb1 = ToHex(b.Transmit(select_b));
    const std::string ra2 = ToHex(a.Transmit(get_a));
    const std::string rb2 = ToHex(b.Transmit(get_b));
    if (ra1 != a1 || ra2 != a2 || rb1 != b1 || rb2 != b2) {
      ++lost;
      ADD_FAILURE() << "round " << i << ": A " << ra1 << " / " << ra2 << ", B " << rb1 << " / "
                    << rb2;
      if (lost > 3) break;
    }
  }
  EXPECT_EQ(lost, 0);

  // Free running: each client in its own thread, 500 sequences each, in whatever order pcscd
  // interleaves them.
  std::atomic<int> lost_a = 0, lost_b = 0;
  std::string error_a, error_b;
  auto run = [](CardHandle& card, const Bytes& select, const Bytes& get, const std::string& want1,
                const std::string& want2, std::atomic<int>& lost_count, std::string& error) {
    try {
      for (int i = 0; i < 500; ++i) {
        if (ToHex(card.Transmit(select)) != want1 || ToHex(card.Transmit(get)) != want2) {
          ++lost_count;
        }
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
  };
  {
    std::jthread ta(run, std::ref(a), std::cref(select_a), std::cref(get_a), std::cref(a1),
                    std::cref(a2), std::ref(lost_a), std::ref(error_a));
    std::jthread tb(run, std::ref(b), std::cref(select_b), std::cref(get_b), std::cref(b1),
                    std::cref(b2), std::ref(lost_b), std::ref(error_b));
  }
  EXPECT_EQ(error_a, "");
  EXPECT_EQ(error_b, "");
  EXPECT_EQ(lost_a.load(), 0) << "of 500 sequences of client A";
  EXPECT_EQ(lost_b.load(), 0) << "of 500 sequences of client B";
}

// Issue 7 item 7: two clients chain UPDATE BINARY commands on their own channels, part by part
// in alternation. Chaining state is per channel, so neither chain breaks the other.
TEST_F(Pcsc_Transport, CommandChainingIsKeptPerLogicalChannel) {
  StartVicc();
  Context ctx_a, ctx_b;
  CardHandle a(ctx_a, ReaderName(0), SCARD_PROTOCOL_T1);
  CardHandle b(ctx_b, ReaderName(0), SCARD_PROTOCOL_T1);
  const int channel_a = OpenChannel(a);
  const int channel_b = OpenChannel(b);
  // The default (FS) applet is selected on a channel opened from the basic channel.
  const Bytes ef5001 = Hex("50005001");
  ASSERT_EQ(ToHex(a.Transmit(Apdu(Cla(channel_a), 0xA4, 0x08, 0x0C, ef5001, 0))), "9000");
  ASSERT_EQ(ToHex(b.Transmit(Apdu(Cla(channel_b), 0xA4, 0x08, 0x0C, ef5001, 0))), "9000");
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const uint8_t v = static_cast<uint8_t>(round * 8);
    // A writes 4 bytes at offset 0000, B at 0100, each as a chain of two commands.
    auto part = [&](int channel, bool chaining, uint8_t p1, uint8_t first) {
      return Apdu(Cla(channel, chaining), 0xD6, p1, 0x00,
                  Bytes{first, static_cast<uint8_t>(first + 1)}, 0);
    };
    EXPECT_EQ(ToHex(a.Transmit(part(channel_a, true, 0x00, v))), "9000");
    EXPECT_EQ(ToHex(b.Transmit(part(channel_b, true, 0x01, v + 4))), "9000");
    EXPECT_EQ(ToHex(a.Transmit(part(channel_a, false, 0x00, v + 2))), "9000");
    EXPECT_EQ(ToHex(b.Transmit(part(channel_b, false, 0x01, v + 6))), "9000");
    const Bytes want_a = {v,
                          static_cast<uint8_t>(v + 1),
                          static_cast<uint8_t>(v + 2),
                          static_cast<uint8_t>(v + 3),
                          0x90,
                          0x00};
    const Bytes want_b = {static_cast<uint8_t>(v + 4),
                          static_cast<uint8_t>(v + 5),
                          static_cast<uint8_t>(v + 6),
                          static_cast<uint8_t>(v + 7),
                          0x90,
                          0x00};
    EXPECT_EQ(ToHex(a.Transmit(Apdu(Cla(channel_a), 0xB0, 0x00, 0x00, {}, 4))), ToHex(want_a));
    EXPECT_EQ(ToHex(b.Transmit(Apdu(Cla(channel_b), 0xB0, 0x01, 0x00, {}, 4))), ToHex(want_b));
  }
}

// Issue 7 item 7: GET RESPONSE with the chaining bit (CLA 10) is refused with 6884 (command
// chaining not supported for it, ISO 7816-4 §5.1.1.1) instead of being served; the card goes on
// answering normally afterwards.
TEST_F(Pcsc_Transport, GetResponseWithTheChainingBitIsRefused) {
  StartVicc();
  Context ctx;
  CardHandle card(ctx, ReaderName(0), SCARD_PROTOCOL_T1);
  const Bytes select_dm = Apdu(0x00, 0xA4, 0x04, 0x00, Hex(kDmAid), 5);  // 5 bytes + 61xx
  Bytes r = card.Transmit(select_dm);
  ASSERT_EQ(Sw(r) >> 8, 0x61) << ToHex(r);
  EXPECT_EQ(ToHex(card.Transmit(Apdu(Cla(0, true), 0xC0, 0, 0, {}, 256))), "6884");
  r = card.Transmit(select_dm);
  EXPECT_EQ(Sw(r) >> 8, 0x61) << ToHex(r);
}

}  // namespace
}  // namespace dmcard::pcsctest
