// The ISO/IEC 7816-4 file-system applet, driven through the card's transmit path with raw APDUs.
// Expected FCP/FCI values are written from ISO 7816-4 tables 12-14 and 87 and from the demo
// structure documented in fs/demo_fs.h, never from bytes produced by the code under test.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fs/demo_fs.h"
#include "fs/fs_applet.h"
#include "runtime/card.h"
#include "runtime/storage_medium.h"
#include "scp03_test_client.h"

namespace dmcard::fs {
namespace {

Bytes Hx(std::string_view hex) {
  std::optional<Bytes> b = FromHex(hex);
  EXPECT_TRUE(b.has_value()) << "bad hex in test: " << hex;
  return b.value_or(Bytes{});
}

// Normalized hex (spaces dropped, upper case) of a hand-written expected response.
std::string X(std::string_view hex) { return ToHex(Hx(hex)); }

uint16_t SwOf(const Bytes& r) {
  return r.size() < 2 ? 0 : static_cast<uint16_t>((r[r.size() - 2] << 8) | r[r.size() - 1]);
}

Bytes DataOf(const Bytes& r) { return r.size() < 2 ? Bytes{} : Bytes(r.begin(), r.end() - 2); }

// --- A tiny BER-TLV walker (ISO 7816-4 §5.2.2) ---------------------------------------------

struct Tlv {
  uint32_t tag = 0;
  Bytes value;
};

// Parses a sequence of BER-TLV objects; records a test failure on malformed input.
std::vector<Tlv> ParseTlvs(ByteView in) {
  std::vector<Tlv> out;
  size_t i = 0;
  while (i < in.size()) {
    Tlv t;
    t.tag = in[i++];
    if ((t.tag & 0x1F) == 0x1F) {  // subsequent tag bytes while b8 = 1
      do {
        if (i >= in.size()) {
          ADD_FAILURE() << "truncated tag";
          return out;
        }
        t.tag = (t.tag << 8) | in[i];
      } while ((in[i++] & 0x80) != 0);
    }
    if (i >= in.size()) {
      ADD_FAILURE() << "missing length";
      return out;
    }
    size_t len = in[i++];
    if (len > 0x80) {
      const size_t n = len & 0x7F;
      if (n > 3 || in.size() - i < n) {
        ADD_FAILURE() << "bad length field";
        return out;
      }
      len = 0;
      for (size_t k = 0; k < n; ++k) len = (len << 8) | in[i++];
    } else if (len == 0x80) {
      ADD_FAILURE() << "indefinite length";
      return out;
    }
    if (in.size() - i < len) {
      ADD_FAILURE() << "value shorter than its length";
      return out;
    }
    t.value.assign(in.begin() + static_cast<ptrdiff_t>(i),
                   in.begin() + static_cast<ptrdiff_t>(i + len));
    i += len;
    out.push_back(std::move(t));
  }
  return out;
}

// The objects inside the single template `tag` that makes up `data`.
std::vector<Tlv> TemplateObjects(const Bytes& data, uint8_t tag) {
  std::vector<Tlv> top = ParseTlvs(data);
  if (top.size() != 1 || top[0].tag != tag) {
    ADD_FAILURE() << "expected one template " << std::hex << int{tag} << " in " << ToHex(data);
    return {};
  }
  return ParseTlvs(top[0].value);
}

// Hex of the value of `tag`, or "absent".
std::string ValueOf(const std::vector<Tlv>& objects, uint32_t tag) {
  for (const Tlv& t : objects) {
    if (t.tag == tag) return ToHex(t.value);
  }
  return "absent";
}

std::vector<uint32_t> TagsOf(const std::vector<Tlv>& objects) {
  std::vector<uint32_t> tags;
  for (const Tlv& t : objects) tags.push_back(t.tag);
  return tags;
}

// --- Fixture ---------------------------------------------------------------------------------

constexpr char kDemoAidHex[] = "F0444D434152444653";
constexpr char kDemoDfNameHex[] = "F0444D4341524444454D4F";

// Demo EF.DIR record 1: 61 1A { 4F 0B <DF name>, 50 0B "DMCARD DEMO" }, zero padded to 32.
std::string EfDirRecord1Hex() {
  return X(std::string("611A 4F0B") + kDemoDfNameHex + "500B 444D43415244 20 44454D4F" +
           "00000000");
}

// Bytes `from`..`from + n - 1` of demo EF.DATA (byte i = i & FF).
std::string DataHex(size_t from, size_t n) {
  Bytes b;
  for (size_t i = from; i < from + n; ++i) b.push_back(static_cast<uint8_t>(i));
  return ToHex(b);
}

class FixedSource final : public EfContentSource {
 public:
  explicit FixedSource(Bytes content) : content(std::move(content)) {}
  Bytes Content(const SecurityState* /*reader*/, const StoreView& /*store*/) const override {
    return content;
  }
  Bytes content;
};

class Runtime_FileSystem : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(Build(), Sw::kOk); }

  // (Re)builds the card on medium_ with the applet and powers it on; returns Install()'s SW.
  Sw Build(FileSpec mf = DemoFileSystem(), std::vector<PinSpec> pins = DemoPins(),
           uint32_t capacity = PersistentStore::kDefaultCapacity) {
    card_.reset();
    CardConfig config;
    config.default_applet = demo::Aid();
    config.capacity = capacity;
    const uint8_t seed[] = {7, 7, 7, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    card_ = std::make_unique<Card>(config, Platform{medium_, crypto::Drbg::FromSeed(seed)});
    Sw sw = card_->Install(
        std::make_unique<FileSystemApplet>(demo::Aid(), std::move(mf), std::move(pins)));
    card_->PowerOn();
    return sw;
  }

  // Build() on a new, empty medium.
  Sw Fresh(FileSpec mf, std::vector<PinSpec> pins = {},
           uint32_t capacity = PersistentStore::kDefaultCapacity) {
    medium_ = std::make_shared<RamMedium>();
    return Build(std::move(mf), std::move(pins), capacity);
  }

  Bytes Send(std::string_view hex) { return card_->Transmit(Hx(hex)); }
  uint16_t SwOfSend(std::string_view hex) { return SwOf(Send(hex)); }
  // Whole response (data + SW) in hex, to compare with X(expected).
  std::string Hex(std::string_view hex) { return ToHex(Send(hex)); }

  // SELECT with P2 = 04 (FCP; b2-b1 from `occurrence`) and Le 00; returns the FCP's objects
  // (expects 9000).
  std::vector<Tlv> SelectFcp(uint8_t p1, std::string_view data_hex, uint8_t occurrence = 0) {
    const Bytes data = Hx(data_hex);
    Bytes apdu = {0x00, 0xA4, p1, static_cast<uint8_t>(0x04 | occurrence),
                  static_cast<uint8_t>(data.size())};
    Append(apdu, data);
    apdu.push_back(0x00);
    const Bytes r = card_->Transmit(apdu);
    EXPECT_EQ(SwOf(r), 0x9000) << ToHex(apdu) << " → " << ToHex(r);
    return TemplateObjects(DataOf(r), 0x62);
  }

  std::shared_ptr<RamMedium> medium_ = std::make_shared<RamMedium>();
  std::unique_ptr<Card> card_;
};

// --- SELECT and FCP/FCI ----------------------------------------------------------------------

TEST_F(Runtime_FileSystem, SelectMfByFidReturnsFcp) {
  // MF: 82 = DF descriptor 38, 83 = 3F00, 8A = 05 (activated); no 80, no 84 (no DF name); AB
  // security attributes (ISO 7816-4 §5.4.3.3): AM 7F (every DF management command), 97 never.
  std::vector<Tlv> fcp = SelectFcp(0x00, "3F00");
  EXPECT_EQ(TagsOf(fcp), (std::vector<uint32_t>{0x82, 0x83, 0x8A, 0xAB}));
  EXPECT_EQ(ValueOf(fcp, 0xAB), "80017F9700");
  EXPECT_EQ(ValueOf(fcp, 0x82), "38");
  EXPECT_EQ(ValueOf(fcp, 0x83), "3F00");
  EXPECT_EQ(ValueOf(fcp, 0x8A), "05");
  // The whole template, by hand.
  EXPECT_EQ(Hex("00A4000402 3F00 00"), X("6211 820138 83023F00 8A0105 AB0580017F9700 9000"));
  // P1-P2 = 0000 with no data also selects the MF.
  EXPECT_EQ(Hex("00A4000400"), X("6211 820138 83023F00 8A0105 AB0580017F9700 9000"));
}

TEST_F(Runtime_FileSystem, SelectTransparentEfReturnsFcp) {
  std::vector<Tlv> fcp = SelectFcp(0x02, "2F02");
  EXPECT_EQ(TagsOf(fcp), (std::vector<uint32_t>{0x80, 0x82, 0x83, 0x88, 0x8A, 0xAB}));
  EXPECT_EQ(ValueOf(fcp, 0x80), "0010");  // 16 data bytes
  EXPECT_EQ(ValueOf(fcp, 0x82), "01");    // working EF, transparent
  EXPECT_EQ(ValueOf(fcp, 0x83), "2F02");
  EXPECT_EQ(ValueOf(fcp, 0x88), "10");  // SFI 2 in b8-b4
  EXPECT_EQ(ValueOf(fcp, 0x8A), "05");
  // Read (AM b1) always: 90 00; update (b2) and the rest (b3-b7) never: 97 00.
  EXPECT_EQ(ValueOf(fcp, 0xAB), "800101900080017E9700");

  fcp = SelectFcp(0x08, "50005001");
  EXPECT_EQ(ValueOf(fcp, 0x80), "0200");  // 512 bytes
  EXPECT_EQ(ValueOf(fcp, 0x83), "5001");
  EXPECT_EQ(ValueOf(fcp, 0x88), "08");  // SFI 1
  // Read and update (b1, b2) always, the rest never.
  EXPECT_EQ(ValueOf(fcp, 0xAB), "800103900080017C9700");

  fcp = SelectFcp(0x08, "50005003");
  EXPECT_EQ(ValueOf(fcp, 0x80), "0010");
  EXPECT_EQ(ValueOf(fcp, 0x88), "");  // present and empty: no SFI
  // 5003: read never, update PIN 01 (A4 authentication template: 83 key reference 01, 95 usage
  // qualifier 08 = user authentication), so b1 joins the never pair.
  EXPECT_EQ(ValueOf(fcp, 0xAB), "80017D9700800102A406830101950108");
  fcp = SelectFcp(0x08, "50005002");  // read always, update PIN 01
  EXPECT_EQ(ValueOf(fcp, 0xAB), "8001019000800102A40683010195010880017C9700");
  // EF.DIR: update by the issuer, an external authentication (A4 { 95 01 80 }).
  fcp = SelectFcp(0x00, "2F00");
  EXPECT_EQ(ValueOf(fcp, 0xAB), "8001019000800102A40395018080017C9700");
}

TEST_F(Runtime_FileSystem, SelectLinearFixedEfReturnsFcp) {
  std::vector<Tlv> fcp = SelectFcp(0x00, "2F00");
  EXPECT_EQ(ValueOf(fcp, 0x80), "0080");  // 4 records × 32 bytes
  // Linear fixed (02), data coding byte 21, max record size 0020, 4 records.
  EXPECT_EQ(ValueOf(fcp, 0x82), "0221002004");
  EXPECT_EQ(ValueOf(fcp, 0x83), "2F00");
  EXPECT_EQ(ValueOf(fcp, 0x88), "F0");  // SFI 30
  EXPECT_EQ(ValueOf(fcp, 0x8A), "05");
  fcp = SelectFcp(0x08, "50005004");
  EXPECT_EQ(ValueOf(fcp, 0x80), "0050");  // 5 × 16
  EXPECT_EQ(ValueOf(fcp, 0x82), "0221001005");
}

TEST_F(Runtime_FileSystem, SelectDfReturnsFcpAndFci) {
  std::vector<Tlv> fcp = SelectFcp(0x01, "5000");
  EXPECT_EQ(TagsOf(fcp), (std::vector<uint32_t>{0x82, 0x83, 0x84, 0x8A, 0xAB}));
  EXPECT_EQ(ValueOf(fcp, 0x82), "38");
  EXPECT_EQ(ValueOf(fcp, 0x83), "5000");
  EXPECT_EQ(ValueOf(fcp, 0x84), kDemoDfNameHex);
  // FCI (P2 = 00): template 6F with 83 and 84.
  Bytes r = Send("00A4080002 5000 00");
  ASSERT_EQ(SwOf(r), 0x9000);
  std::vector<Tlv> fci = TemplateObjects(DataOf(r), 0x6F);
  EXPECT_EQ(ValueOf(fci, 0x83), "5000");
  EXPECT_EQ(ValueOf(fci, 0x84), kDemoDfNameHex);
}

TEST_F(Runtime_FileSystem, SelectFmdAnswersEmptyTemplateAnd0CAnswersNothing) {
  EXPECT_EQ(Hex("00A4000802 2F02 00"), X("6400 9000"));
  EXPECT_EQ(Hex("00A4000C02 5000 00"), X("9000"));
  EXPECT_EQ(Hex("00A4000C02 3F00"), X("9000"));
}

TEST_F(Runtime_FileSystem, SelectChildDfAndEfByKind) {
  EXPECT_EQ(SwOfSend("00A4010C02 2F02"), 0x6A82);  // an EF is no child DF
  EXPECT_EQ(SwOfSend("00A4020C02 5000"), 0x6A82);  // a DF is no EF
  EXPECT_EQ(SwOfSend("00A4010C02 5000"), 0x9000);
  EXPECT_EQ(SwOfSend("00A4020C02 5002"), 0x9000);
  EXPECT_EQ(SwOfSend("00A4020C02 2F02"), 0x6A82);  // not under DF 5000
  EXPECT_EQ(SwOfSend("00A4010C01 50"), 0x6700);
  EXPECT_EQ(SwOfSend("00A4020C03 500100"), 0x6700);
}

TEST_F(Runtime_FileSystem, SelectParentDf) {
  EXPECT_EQ(SwOfSend("00A4030C"), 0x6A82);  // the MF has no parent
  ASSERT_EQ(SwOfSend("00A4080C04 50005001"), 0x9000);
  // The EF's DF is 5000; its parent is the MF.
  std::vector<Tlv> fcp = TemplateObjects(DataOf(Send("00A4030400")), 0x62);
  EXPECT_EQ(ValueOf(fcp, 0x83), "3F00");
  EXPECT_EQ(SwOfSend("00A4030C02 3F00"), 0x6700);  // P1 = 03 takes no data
  // No current EF after selecting a DF.
  EXPECT_EQ(SwOfSend("00B0000001"), 0x6986);
}

TEST_F(Runtime_FileSystem, SelectByFidSearchOrder) {
  ASSERT_EQ(SwOfSend("00A4000C02 5000"), 0x9000);
  EXPECT_EQ(ValueOf(SelectFcp(0x00, "5001"), 0x83), "5001");  // child of the current DF
  EXPECT_EQ(ValueOf(SelectFcp(0x00, "5000"), 0x83), "5000");  // the current DF itself
  EXPECT_EQ(ValueOf(SelectFcp(0x00, "2F02"), 0x83), "2F02");  // child of the parent
  EXPECT_EQ(ValueOf(SelectFcp(0x00, "3F00"), 0x83), "3F00");  // the MF
  EXPECT_EQ(SwOfSend("00A4000C02 5001"), 0x6A82);  // from the MF, 5001 is two levels down
  EXPECT_EQ(SwOfSend("00A4000C02 1234"), 0x6A82);
  EXPECT_EQ(SwOfSend("00A4000C01 3F"), 0x6700);
  EXPECT_EQ(SwOfSend("00A4000C03 3F0000"), 0x6700);
}

TEST_F(Runtime_FileSystem, SelectByPathReturnsFcp) {
  std::vector<Tlv> fcp = SelectFcp(0x08, "50005002");
  EXPECT_EQ(ValueOf(fcp, 0x80), "0020");
  EXPECT_EQ(ValueOf(fcp, 0x82), "01");
  EXPECT_EQ(ValueOf(fcp, 0x83), "5002");
  EXPECT_EQ(ValueOf(fcp, 0x88), "10");
  EXPECT_EQ(SwOfSend("00A4080C02 5000"), 0x9000);      // a DF by path
  EXPECT_EQ(SwOfSend("00A4080C03 500050"), 0x6700);    // odd length
  EXPECT_EQ(SwOfSend("00A4080C"), 0x6700);             // empty path
  EXPECT_EQ(SwOfSend("00A4080C04 2F025001"), 0x6A82);  // through an EF
  EXPECT_EQ(SwOfSend("00A4080C04 50005FFF"), 0x6A82);
  // From the current DF: only relative to it.
  ASSERT_EQ(SwOfSend("00A4000C02 3F00"), 0x9000);
  EXPECT_EQ(SwOfSend("00A4090C02 5001"), 0x6A82);
  EXPECT_EQ(ValueOf(SelectFcp(0x09, "50005004"), 0x83), "5004");  // now in DF 5000
  EXPECT_EQ(ValueOf(SelectFcp(0x09, "5003"), 0x83), "5003");
  EXPECT_EQ(SwOfSend("00A4090C01 50"), 0x6700);
}

TEST_F(Runtime_FileSystem, FailedSelectLeavesCurrentFileUnchanged) {
  ASSERT_EQ(SwOfSend("00A4080C04 50005001"), 0x9000);
  EXPECT_EQ(SwOfSend("00A4080C04 50005FFF"), 0x6A82);
  EXPECT_EQ(SwOfSend("00A4000C02 7777"), 0x6A82);
  EXPECT_EQ(SwOfSend("00A4030C01 00"), 0x6700);
  EXPECT_EQ(SwOfSend("00A4040C05 F011223344"), 0x6A82);
  EXPECT_EQ(SwOfSend("00A4070C02 5001"), 0x6A86);
  EXPECT_EQ(Hex("00B0000004"), X(DataHex(0, 4) + "9000"));  // still EF 5001
  // Still in DF 5000: 5002 is found as a child.
  EXPECT_EQ(SwOfSend("00A4020C02 5002"), 0x9000);
}

TEST_F(Runtime_FileSystem, SelectWrongP1P2) {
  EXPECT_EQ(SwOfSend("00A4050C02 3F00"), 0x6A86);  // unknown P1
  EXPECT_EQ(SwOfSend("00A4001C02 3F00"), 0x6A86);  // P2 b8-b5 not zero
  EXPECT_EQ(SwOfSend("00A4000202 3F00"), 0x6A86);  // occurrence only with P1 = 04
  EXPECT_EQ(SwOfSend("00A4080D04 50005001"), 0x6A86);
}

TEST_F(Runtime_FileSystem, SelectByDfNameForwardedByRuntime) {
  std::vector<Tlv> fcp = SelectFcp(0x04, kDemoDfNameHex);
  EXPECT_EQ(ValueOf(fcp, 0x83), "5000");
  EXPECT_EQ(ValueOf(fcp, 0x84), kDemoDfNameHex);
  EXPECT_EQ(SwOfSend("00A4020C02 5001"), 0x9000);  // the current DF is 5000
  // A name no applet and no DF has: 6A82 from the file system, which stays selected.
  EXPECT_EQ(SwOfSend("00A4040C05 F011223344"), 0x6A82);
  EXPECT_EQ(Hex("00B0000002"), X(DataHex(0, 2) + "9000"));
  // A right-truncated DF name is no match for a DF (exact names only). (F0444D43 would be:
  // the runtime selects applets by right-truncated AID, and it truncates the applet's AID.)
  EXPECT_EQ(SwOfSend("00A4040C09 F0444D434152444445"), 0x6A82);
}

TEST_F(Runtime_FileSystem, SelectByDfNameOccurrence) {
  const Bytes name = Hx("F0AABBCCDD01");
  ASSERT_EQ(Fresh(FileSpec::Mf({FileSpec::Df(0x1000, name), FileSpec::Df(0x2000, {}),
                                FileSpec::Df(0x3000, name)})),
            Sw::kOk);
  EXPECT_EQ(ValueOf(SelectFcp(0x04, "F0AABBCCDD01"), 0x83), "1000");        // first
  EXPECT_EQ(ValueOf(SelectFcp(0x04, "F0AABBCCDD01", 0x02), 0x83), "3000");  // next after 1000
  EXPECT_EQ(SwOfSend("00A4040E06 F0AABBCCDD01"), 0x6A82);                   // no next after 3000
  EXPECT_EQ(ValueOf(SelectFcp(0x04, "F0AABBCCDD01", 0x03), 0x83), "1000");  // previous
  EXPECT_EQ(ValueOf(SelectFcp(0x04, "F0AABBCCDD01", 0x01), 0x83), "3000");  // last
}

TEST_F(Runtime_FileSystem, SelectApplicationByAidAnswersMfFci) {
  ASSERT_EQ(SwOfSend("00A4080C04 50005001"), 0x9000);
  Bytes r = Send(std::string("00A4040009") + kDemoAidHex + "00");
  ASSERT_EQ(SwOf(r), 0x9000);
  std::vector<Tlv> fci = TemplateObjects(DataOf(r), 0x6F);
  EXPECT_EQ(ValueOf(fci, 0x84), kDemoAidHex);
  EXPECT_EQ(ValueOf(fci, 0x83), "3F00");
  // Reselection put the channel back at the MF with no current EF.
  EXPECT_EQ(SwOfSend("00B0000001"), 0x6986);
  EXPECT_EQ(SwOfSend("00A4020C02 2F02"), 0x9000);
}

// --- READ / UPDATE BINARY ---------------------------------------------------------------------

TEST_F(Runtime_FileSystem, ReadBinaryOffsets) {
  ASSERT_EQ(SwOfSend("00A4080C04 50005001"), 0x9000);
  EXPECT_EQ(Hex("00B0000010"), X(DataHex(0, 16) + "9000"));
  EXPECT_EQ(Hex("00B0010010"), X(DataHex(256, 16) + "9000"));
  EXPECT_EQ(Hex("00B001F808"), X(DataHex(504, 8) + "9000"));  // exactly to the end
  // 16 asked, 8 left: the 8 bytes with 6282.
  EXPECT_EQ(Hex("00B001F810"), X(DataHex(504, 8) + "6282"));
  EXPECT_EQ(Hex("00B001FF00"), X(DataHex(511, 1) + "6282"));  // Le 00 = Ne 256
  EXPECT_EQ(SwOfSend("00B0020001"), 0x6B00);                  // offset == size
  EXPECT_EQ(SwOfSend("00B0020101"), 0x6B00);                  // offset > size
  EXPECT_EQ(SwOfSend("00B07FFF01"), 0x6B00);
  EXPECT_EQ(SwOfSend("00B00000"), 0x6700);        // no Le
  EXPECT_EQ(SwOfSend("00B0000001AA01"), 0x6700);  // data field
}

TEST_F(Runtime_FileSystem, ReadBinaryExtendedLe) {
  ASSERT_EQ(SwOfSend("00A4080C04 50005001"), 0x9000);
  Bytes r = Send("00B00000 00012C");  // Ne = 300
  ASSERT_EQ(r.size(), 302u);
  EXPECT_EQ(SwOf(r), 0x9000);
  EXPECT_EQ(ToHex(DataOf(r)), DataHex(0, 300));
  r = Send("00B00000 000000");  // Ne = 65536: the whole file, end reached early
  ASSERT_EQ(r.size(), 514u);
  EXPECT_EQ(SwOf(r), 0x6282);
  EXPECT_EQ(ToHex(DataOf(r)), DataHex(0, 512));
  r = Send("00B00100 000100");  // offset 256, Ne 256: the second half exactly
  EXPECT_EQ(ToHex(r), DataHex(256, 256) + "9000");
}

TEST_F(Runtime_FileSystem, ReadBinaryByShortFileIdentifier) {
  ASSERT_EQ(SwOfSend("00A4010C02 5000"), 0x9000);
  EXPECT_EQ(Hex("00B0811004"), X(DataHex(16, 4) + "9000"));  // SFI 1 = EF 5001, offset 16
  // EF 5001 is now the current EF.
  EXPECT_EQ(Hex("00B0000002"), X(DataHex(0, 2) + "9000"));
  EXPECT_EQ(Hex("00B0820004"), X("00000000 9000"));  // SFI 2 = EF 5002
  EXPECT_EQ(SwOfSend("00B0850001"), 0x6A82);         // no SFI 5 here
  EXPECT_EQ(SwOfSend("00B0A10001"), 0x6A86);         // P1 b7-b6 not zero
  EXPECT_EQ(SwOfSend("00B0800001"), 0x6A86);         // SFI 0
  EXPECT_EQ(SwOfSend("00B0840001"), 0x6981);         // SFI 4 = a record EF
  // At the MF, SFI 2 is EF.GDO. A refused SFI command leaves the current EF (EF.DIR) alone.
  ASSERT_EQ(SwOfSend("00A4000C02 2F00"), 0x9000);
  EXPECT_EQ(SwOfSend("00B082FF01"), 0x6B00);
  EXPECT_EQ(SwOfSend("00B2010420"), 0x9000);
  EXPECT_EQ(Hex("00B082000A"), X("5A08444D303030303031 9000"));
  EXPECT_EQ(Hex("00B0000001"), X("5A 9000"));  // EF.GDO is now the current EF
}

TEST_F(Runtime_FileSystem, UpdateBinaryWritesAndChecksBounds) {
  ASSERT_EQ(SwOfSend("00A4080C04 50005001"), 0x9000);
  EXPECT_EQ(SwOfSend("00D6000403 AABBCC"), 0x9000);
  EXPECT_EQ(Hex("00B0000008"), X("00010203AABBCC07 9000"));
  EXPECT_EQ(SwOfSend("00D601FE02 DDEE"), 0x9000);  // the last two bytes
  EXPECT_EQ(Hex("00B001FC04"), X("FCFDDDEE 9000"));
  EXPECT_EQ(SwOfSend("00D601FE03 112233"), 0x6700);  // runs past the end
  EXPECT_EQ(SwOfSend("00D6020001 11"), 0x6B00);      // offset == size
  EXPECT_EQ(SwOfSend("00D60000"), 0x6700);           // no data
  EXPECT_EQ(Hex("00B001FC04"), X("FCFDDDEE 9000"));  // nothing changed by the refusals
  // By SFI (P1 b8 = 1), offset in P2.
  EXPECT_EQ(SwOfSend("00D6810002 1234"), 0x9000);
  EXPECT_EQ(Hex("00B0000003"), X("123402 9000"));
}

TEST_F(Runtime_FileSystem, UpdateUsesPatchNotWholeRecord) {
  ASSERT_EQ(SwOfSend("00A4080C04 50005001"), 0x9000);
  const uint32_t before = card_->store().stats().journal_bytes;
  ASSERT_EQ(SwOfSend("00D6010004 01020304"), 0x9000);
  const uint32_t growth = card_->store().stats().journal_bytes - before;
  EXPECT_GT(growth, 0u);
  EXPECT_LT(growth, 128u);  // a 512-byte EF rewritten whole would journal > 512 bytes
}

TEST_F(Runtime_FileSystem, NoCurrentEfAndWrongStructure) {
  EXPECT_EQ(SwOfSend("00B0000001"), 0x6986);
  EXPECT_EQ(SwOfSend("00D6000001 00"), 0x6986);
  EXPECT_EQ(SwOfSend("00B2010400"), 0x6986);
  EXPECT_EQ(SwOfSend("00DC010401 00"), 0x6986);
  ASSERT_EQ(SwOfSend("00A4000C02 2F00"), 0x9000);  // records
  EXPECT_EQ(SwOfSend("00B0000001"), 0x6981);
  EXPECT_EQ(SwOfSend("00D6000001 00"), 0x6981);
  ASSERT_EQ(SwOfSend("00A4000C02 2F02"), 0x9000);  // transparent
  EXPECT_EQ(SwOfSend("00B2010400"), 0x6981);
  EXPECT_EQ(SwOfSend("00DC010401 00"), 0x6981);
}

// --- READ / UPDATE RECORD ---------------------------------------------------------------------

TEST_F(Runtime_FileSystem, ReadRecord) {
  ASSERT_EQ(SwOfSend("00A4020C02 2F00"), 0x9000);
  EXPECT_EQ(Hex("00B2010420"), X(EfDirRecord1Hex() + "9000"));     // Le = record size
  EXPECT_EQ(Hex("00B2010400"), X(EfDirRecord1Hex() + "6282"));     // Ne 256 > 32
  EXPECT_EQ(Hex("00B2040420"), X(std::string(64, '0') + "9000"));  // last record, empty
  // Le shorter than the record: the runtime hands out the rest with 61xx.
  EXPECT_EQ(Hex("00B2010410"), X(EfDirRecord1Hex().substr(0, 32) + "6110"));
  EXPECT_EQ(Hex("00C0000010"), X(EfDirRecord1Hex().substr(32) + "9000"));
  EXPECT_EQ(SwOfSend("00B2050400"), 0x6A83);  // record 5 of 4
  EXPECT_EQ(SwOfSend("00B2000400"), 0x6A86);  // P1 00
  EXPECT_EQ(SwOfSend("00B2FF0400"), 0x6A86);
  EXPECT_EQ(SwOfSend("00B2010500"), 0x6A86);  // P2 b3-b1 ≠ 100
  EXPECT_EQ(SwOfSend("00B20104"), 0x6700);    // no Le
  // By SFI from the MF: 30 → P2 = F4; SFI 1 is not under the MF.
  ASSERT_EQ(SwOfSend("00A4000C02 2F02"), 0x9000);
  EXPECT_EQ(Hex("00B201F420"), X(EfDirRecord1Hex() + "9000"));
  EXPECT_EQ(SwOfSend("00B2010C20"), 0x6A82);
  EXPECT_EQ(SwOfSend("00B201FC20"), 0x6A86);  // SFI 31 is RFU
  EXPECT_EQ(SwOfSend("00B2011420"), 0x6981);  // SFI 2 = EF.GDO, transparent
}

TEST_F(Runtime_FileSystem, UpdateRecord) {
  ASSERT_EQ(SwOfSend("00A4080C04 50005004"), 0x9000);
  const std::string aa(32, 'A');
  EXPECT_EQ(SwOfSend("00DC020410" + aa), 0x9000);
  EXPECT_EQ(Hex("00B2020410"), X(aa + "9000"));
  EXPECT_EQ(Hex("00B2010410"), X("01010101010101010101010101010101 9000"));  // untouched
  EXPECT_EQ(Hex("00B2030410"), X("03030303030303030303030303030303 9000"));
  EXPECT_EQ(SwOfSend("00DC03040F" + aa.substr(2)), 0x6700);  // 15 bytes for a 16-byte record
  EXPECT_EQ(SwOfSend("00DC03041100" + aa), 0x6700);          // 17 bytes
  EXPECT_EQ(SwOfSend("00DC060410" + aa), 0x6A83);
  EXPECT_EQ(SwOfSend("00DC000410" + aa), 0x6A86);
  EXPECT_EQ(Hex("00B2030410"), X("03030303030303030303030303030303 9000"));
  // By SFI 4 (P2 = 24) from DF 5000.
  ASSERT_EQ(SwOfSend("00A4030C"), 0x9000);
  ASSERT_EQ(SwOfSend("00A4010C02 5000"), 0x9000);
  EXPECT_EQ(SwOfSend("00DC052410 000102030405060708090A0B0C0D0E0F"), 0x9000);
  EXPECT_EQ(Hex("00B2052410"), X("000102030405060708090A0B0C0D0E0F 9000"));
}

// --- Access rules -----------------------------------------------------------------------------

TEST_F(Runtime_FileSystem, PinProtectedUpdate) {
  ASSERT_EQ(SwOfSend("00A4080C04 50005002"), 0x9000);
  EXPECT_EQ(SwOfSend("00D6000004 11223344"), 0x6982);
  EXPECT_EQ(Hex("00B0000004"), X("00000000 9000"));    // readable, unchanged
  EXPECT_EQ(SwOfSend("0020000104 39393939"), 0x63C2);  // wrong PIN
  EXPECT_EQ(SwOfSend("00D6000004 11223344"), 0x6982);
  EXPECT_EQ(SwOfSend("0020000104 31323334"), 0x9000);
  EXPECT_EQ(SwOfSend("00D6000004 11223344"), 0x9000);
  EXPECT_EQ(Hex("00B0000004"), X("11223344 9000"));
  // Verification status reset (VERIFY P1 = FF): refused again.
  EXPECT_EQ(SwOfSend("0020FF01"), 0x9000);
  EXPECT_EQ(SwOfSend("00D6000001 55"), 0x6982);
  EXPECT_EQ(Hex("00B0000004"), X("11223344 9000"));
  // EF.DIR records: the issuer alone updates them; the user PIN is not enough.
  ASSERT_EQ(SwOfSend("00A4080C02 2F00"), 0x9000);
  const std::string rec(64, 'E');
  EXPECT_EQ(SwOfSend("00DC020420" + rec), 0x6982);
  EXPECT_EQ(SwOfSend("0020000104 31323334"), 0x9000);
  EXPECT_EQ(SwOfSend("00DC020420" + rec), 0x6982);
  EXPECT_EQ(Hex("00B2020420"), X(std::string(64, '0') + "9000"));
  // Authenticated over SCP03 as "issuer", a name that is not the issuer's: refused (and the
  // session still runs: the record reads back unchanged through it).
  testing::Scp03TestClient not_issuer(*card_, testing::AddKeySetFor(*card_, "issuer"));
  ASSERT_EQ(not_issuer.Open(demo::Aid()), "");
  EXPECT_EQ(SwOf(not_issuer.Transmit("00DC020420" + rec)), 0x6982);
  EXPECT_EQ(ToHex(not_issuer.Transmit("00B2020420")), X(std::string(64, '0') + "9000"));
  // Authenticated with a key set the issuer owns: what issuer authentication is.
  testing::Scp03TestClient issuer(*card_, testing::AddKeySetFor(*card_, kIssuerPrincipal));
  ASSERT_EQ(issuer.Open(demo::Aid()), "");
  EXPECT_EQ(SwOf(issuer.Transmit("00DC020420" + rec)), 0x9000);
  EXPECT_EQ(ToHex(issuer.Transmit("00B2020420")), X(rec + "9000"));
}

TEST_F(Runtime_FileSystem, NeverRules) {
  ASSERT_EQ(SwOfSend("00A4080C04 50005003"), 0x9000);
  EXPECT_EQ(SwOfSend("00B0000001"), 0x6982);  // never readable
  EXPECT_EQ(SwOfSend("00D6000002 ABCD"), 0x6982);
  ASSERT_EQ(SwOfSend("0020000104 31323334"), 0x9000);
  EXPECT_EQ(SwOfSend("00D6000002 ABCD"), 0x9000);  // write-only with PIN 01
  EXPECT_EQ(SwOfSend("00B0000001"), 0x6982);
  // EF.GDO: update never, PIN or not.
  ASSERT_EQ(SwOfSend("00A4080C02 2F02"), 0x9000);
  EXPECT_EQ(SwOfSend("00D6000001 00"), 0x6982);
  EXPECT_EQ(Hex("00B0000002"), X("5A08 9000"));
}

TEST_F(Runtime_FileSystem, PrincipalRules) {
  using AC = AccessCondition;
  ASSERT_EQ(Fresh(FileSpec::Mf({
                FileSpec::Transparent(0x0101, 4, Hx("0A0B0C0D"))
                    .WithAccess(AC::Always(), AC::Principal("dm-server-1")),
                FileSpec::Transparent(0x0102, 4, Hx("01020304"))
                    .WithAccess(AC::Principal("dm-server-1"), AC::Never()),
            })),
            Sw::kOk);
  ASSERT_EQ(SwOfSend("00A4000C02 0101"), 0x9000);
  EXPECT_EQ(SwOfSend("00D6000001 FF"), 0x6982);  // nobody authenticated
  // Someone else, authenticated over SCP03.
  testing::Scp03TestClient server2(*card_, testing::AddKeySetFor(*card_, "dm-server-2"));
  ASSERT_EQ(server2.Open(demo::Aid()), "");
  EXPECT_EQ(SwOf(server2.Transmit("00D6000001 FF")), 0x6982);
  EXPECT_EQ(ToHex(server2.Transmit("00B0000004")), X("0A0B0C0D 9000"));
  // The principal the file names.
  testing::Scp03TestClient server1(*card_, testing::AddKeySetFor(*card_, "dm-server-1"));
  ASSERT_EQ(server1.Open(demo::Aid()), "");
  EXPECT_EQ(SwOf(server1.Transmit("00D6000001 FF")), 0x9000);
  EXPECT_EQ(ToHex(server1.Transmit("00B0000004")), X("FF0B0C0D 9000"));
  ASSERT_EQ(SwOf(server1.Transmit("00A4000C02 0102")), 0x9000);
  EXPECT_EQ(ToHex(server1.Transmit("00B0000004")), X("01020304 9000"));
  // Selecting the applet again ends the session: nobody is authenticated.
  ASSERT_EQ(SwOfSend(std::string("00A4040C09") + kDemoAidHex), 0x9000);
  ASSERT_EQ(SwOfSend("00A4000C02 0102"), 0x9000);
  EXPECT_EQ(SwOfSend("00B0000004"), 0x6982);
}

// --- Channels, persistence, capacity ---------------------------------------------------------

TEST_F(Runtime_FileSystem, CurrentFileIsPerChannel) {
  ASSERT_EQ(SwOfSend("00A4080C04 50005001"), 0x9000);
  ASSERT_EQ(Hex("0070000001"), X("01 9000"));
  // Channel 1 starts at the MF with no current EF.
  EXPECT_EQ(SwOfSend("01B0000001"), 0x6986);
  ASSERT_EQ(SwOfSend("01A4020C02 2F02"), 0x9000);
  EXPECT_EQ(Hex("00B0000004"), X(DataHex(0, 4) + "9000"));
  EXPECT_EQ(Hex("01B0000004"), X("5A08444D 9000"));
  // A DF change on channel 1 leaves channel 0 in DF 5000.
  ASSERT_EQ(SwOfSend("01A4000C02 3F00"), 0x9000);
  EXPECT_EQ(SwOfSend("00A4020C02 5002"), 0x9000);
  EXPECT_EQ(SwOfSend("01A4020C02 5002"), 0x6A82);
  // PIN verification is per channel too.
  ASSERT_EQ(SwOfSend("0020000104 31323334"), 0x9000);
  ASSERT_EQ(SwOfSend("01A4080C04 50005002"), 0x9000);
  EXPECT_EQ(SwOfSend("01D6000001 77"), 0x6982);
  EXPECT_EQ(SwOfSend("00D6000001 77"), 0x9000);
  EXPECT_EQ(Hex("01B0000001"), X("77 9000"));
  // Closing and reopening the channel starts over at the MF.
  ASSERT_EQ(SwOfSend("00708001"), 0x9000);
  ASSERT_EQ(Hex("0070000001"), X("01 9000"));
  EXPECT_EQ(SwOfSend("01B0000001"), 0x6986);
  EXPECT_EQ(Hex("00B0000001"), X("77 9000"));
}

TEST_F(Runtime_FileSystem, ResetReturnsToMf) {
  ASSERT_EQ(SwOfSend("00A4080C04 50005001"), 0x9000);
  card_->Reset();
  EXPECT_EQ(SwOfSend("00B0000001"), 0x6986);
  EXPECT_EQ(SwOfSend("00A4020C02 2F02"), 0x9000);  // at the MF
}

TEST_F(Runtime_FileSystem, ContentsSurviveRebuildButPinStatusDoesNot) {
  ASSERT_EQ(SwOfSend("00A4080C04 50005001"), 0x9000);
  ASSERT_EQ(SwOfSend("00D6000002 CAFE"), 0x9000);
  ASSERT_EQ(SwOfSend("0020000104 30303030"), 0x63C2);  // a wrong try, also persistent
  ASSERT_EQ(SwOfSend("0020000104 31323334"), 0x9000);
  ASSERT_EQ(SwOfSend("00A4080C04 50005004"), 0x9000);
  ASSERT_EQ(SwOfSend("00DC010410 0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F"), 0x9000);
  ASSERT_EQ(SwOfSend("0020000104 30303030"), 0x63C2);

  ASSERT_EQ(Build(), Sw::kOk);                    // a new card on the same medium
  EXPECT_EQ(card_->store().stats().commits, 0u);  // Install found everything in place
  ASSERT_EQ(SwOfSend("00A4080C04 50005001"), 0x9000);
  EXPECT_EQ(Hex("00B0000004"), X("CAFE0203 9000"));
  EXPECT_EQ(Hex("00B2012410"), X("0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F 9000"));  // SFI 4, record 1
  // The verified state is gone; the failed try is not.
  EXPECT_EQ(SwOfSend("00200001"), 0x63C2);
  EXPECT_EQ(SwOfSend("00A4020C02 5002"), 0x9000);
  EXPECT_EQ(SwOfSend("00D6000001 01"), 0x6982);
}

TEST_F(Runtime_FileSystem, CapacityLimitFailsInstallWith6A84) {
  EXPECT_EQ(Fresh(DemoFileSystem(), DemoPins(), 512), Sw::kNotEnoughMemory);
  EXPECT_TRUE(card_->store().Keys("fs/").empty());  // nothing half-installed
  EXPECT_TRUE(card_->store().Keys("card/").empty());
  EXPECT_EQ(Fresh(DemoFileSystem(), DemoPins(), 4096), Sw::kOk);
  EXPECT_EQ(card_->store().Keys("fs/").size(), 6u);  // 6 EFs
  // PIN 01 is global reference data: the card's, not under the applet's records.
  EXPECT_EQ(card_->store().Keys("card/").size(), 2u);  // PIN, PUK
  EXPECT_LE(card_->store().stats().used, 4096u);
}

// --- Generated EFs, CLA/INS, structure validation --------------------------------------------

TEST_F(Runtime_FileSystem, GeneratedEfIsReadOnly) {
  auto blob = std::make_shared<FixedSource>(Hx("0102030405"));
  auto recs = std::make_shared<FixedSource>(Hx("AAAAAAAA BBBBBBBB CCCC"));
  ASSERT_EQ(Fresh(FileSpec::Mf({FileSpec::Generated(0x4401, blob).WithSfi(1),
                                FileSpec::Generated(0x4402, recs, 4).WithSfi(2)})),
            Sw::kOk);
  std::vector<Tlv> fcp = SelectFcp(0x00, "4401");
  EXPECT_EQ(ValueOf(fcp, 0x80), "0005");
  EXPECT_EQ(ValueOf(fcp, 0x82), "01");
  EXPECT_EQ(Hex("00B0000010"), X("0102030405 6282"));
  EXPECT_EQ(SwOfSend("00D6000001 FF"), 0x6981);  // generated: no update
  blob->content = Hx("0909");                    // contents follow the source
  EXPECT_EQ(Hex("00B0000002"), X("0909 9000"));

  fcp = SelectFcp(0x00, "4402");
  EXPECT_EQ(ValueOf(fcp, 0x80), "0008");  // two whole records
  EXPECT_EQ(ValueOf(fcp, 0x82), "0221000402");
  EXPECT_EQ(Hex("00B2020404"), X("BBBBBBBB 9000"));
  EXPECT_EQ(SwOfSend("00B2030404"), 0x6A83);  // the partial third record does not count
  EXPECT_EQ(SwOfSend("00DC010404 00000000"), 0x6981);
  EXPECT_TRUE(card_->store().Keys("fs/").empty());  // nothing stored for generated EFs
}

TEST_F(Runtime_FileSystem, ClassAndInstructionErrors) {
  ASSERT_EQ(SwOfSend("00A4080C04 50005001"), 0x9000);
  EXPECT_EQ(SwOfSend("80B0000001"), 0x6E00);  // proprietary class
  EXPECT_EQ(SwOfSend("80A4000C02 3F00"), 0x6E00);
  EXPECT_EQ(SwOfSend("8020000104 31323334"), 0x6E00);
  EXPECT_EQ(SwOfSend("00CA006600"), 0x6D00);  // GET DATA: not here
  EXPECT_EQ(SwOfSend("00E0000000"), 0x6D00);
  EXPECT_EQ(SwOfSend("0CB0000001"), 0x6882);  // secure messaging
  EXPECT_EQ(Hex("00B0000001"), X("00 9000"));
}

TEST_F(Runtime_FileSystem, InvalidStructureIsRefusedAtInstall) {
  auto invalid = [](FileSpec mf) { return !FileSystem(std::move(mf), "x/").error().empty(); };
  using F = FileSpec;
  EXPECT_TRUE(invalid(F::Mf({F::Transparent(0x0001, 1), F::Transparent(0x0001, 1)})));
  EXPECT_TRUE(invalid(F::Mf({F::Transparent(0x0001, 2, Hx("010203"))})));  // content > size
  EXPECT_TRUE(invalid(F::Mf({F::Df(0x1000, Bytes(17, 0xF0))})));           // name > 16 bytes
  EXPECT_TRUE(invalid(F::Mf({F::Transparent(0x3F00, 2)})));                // reserved FID
  EXPECT_TRUE(invalid(F::Mf({F::Transparent(0x0001, 2).WithSfi(3),         // SFI twice
                             F::Transparent(0x0002, 2).WithSfi(3)})));
  EXPECT_TRUE(invalid(F::Mf({F::LinearFixed(0x0001, 4, 0)})));  // no records
  EXPECT_TRUE(invalid(F::Df(0x1000, {})));                      // root is not 3F00
  EXPECT_FALSE(invalid(DemoFileSystem()));
  EXPECT_EQ(Fresh(F::Mf({F::Transparent(0x0001, 1), F::Df(0x0001, {})})), Sw::kNoPreciseDiagnosis);
}

TEST_F(Runtime_FileSystem, InstallResizesWhenTheStructureChanges) {
  using F = FileSpec;
  ASSERT_EQ(Fresh(F::Mf({F::Transparent(0x0001, 4, Hx("01020304"))
                             .WithAccess(AccessCondition::Always(), AccessCondition::Always())})),
            Sw::kOk);
  ASSERT_EQ(SwOfSend("00A4000C02 0001"), 0x9000);
  ASSERT_EQ(SwOfSend("00D6000001 AA"), 0x9000);
  // A new mask with a larger EF, same medium: what was written is kept, the rest is initial.
  ASSERT_EQ(Build(F::Mf({F::Transparent(0x0001, 6, Hx("0909090909 09"))}), {}), Sw::kOk);
  ASSERT_EQ(SwOfSend("00A4000C02 0001"), 0x9000);
  EXPECT_EQ(Hex("00B0000006"), X("AA0203040909 9000"));
}

}  // namespace
}  // namespace dmcard::fs
