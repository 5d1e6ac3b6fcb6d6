// The DM bootstrap read through the real PC/SC stack the way handset PKCS#15 parsers read it
// (issue 12 item 1; reference-facts §1: Tizen's smartcard service, Nordic's uicc_lwm2m, the
// SIMalliance Open Mobile API): a logical channel of its own, the PKCS#15 application selected
// by AID with an FCP (P2 = 04), every file selected from the MF as 7FFF || FID (ETSI TS 102 221
// §8.4.2) and read with one READ BINARY per chunk, every step answering exactly 9000. The
// client below decodes only the oidDO form of DODF entries (tag A1) and skips every other
// entry, as those parsers do; it is written here, from PKCS#15 v1.1, not with the card's code.
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../unit/lwm2m_file_reader.h"
#include "pcsc_fixture.h"

namespace dmcard::pcsctest {
namespace {

using Pcsc_Pkcs15Handset = PcscTest;

const Bytes kPkcs15Aid = {0xA0, 0x00, 0x00, 0x00, 0x63, 'P', 'K', 'C', 'S', '-', '1', '5'};
const Bytes kDmBootstrapOid = {0x67, 0x2B, 0x07, 0x01};     // 2.23.43.7.1
const Bytes kLwm2mBootstrapOid = {0x67, 0x2B, 0x09, 0x01};  // 2.23.43.9.1
constexpr uint16_t kOdf = 0x5031;

void Append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

// One BER-TLV with a one-byte tag (all PKCS#15 uses here) and a definite length.
struct Tlv {
  uint8_t tag = 0;
  Bytes value;
};

// The TLVs of `data` in order; stops at a padding byte (FF or 00) where a tag should start
// (ISO 7816-4 §5.2.2.1), as Nordic's decoder does. nullopt if a TLV is cut short.
std::optional<std::vector<Tlv>> Tlvs(const Bytes& data) {
  std::vector<Tlv> out;
  size_t at = 0;
  while (at < data.size() && data[at] != 0xFF && data[at] != 0x00) {
    if (at + 2 > data.size()) return std::nullopt;
    const uint8_t tag = data[at++];
    size_t len = data[at++];
    if (len > 0x80) {
      const size_t n = len & 0x7F;
      if (n > 2 || at + n > data.size()) return std::nullopt;
      len = 0;
      for (size_t i = 0; i < n; ++i) len = (len << 8) | data[at++];
    }
    if (at + len > data.size()) return std::nullopt;
    out.push_back({tag, Bytes(data.begin() + static_cast<long>(at),
                              data.begin() + static_cast<long>(at + len))});
    at += len;
  }
  return out;
}

std::optional<Bytes> Child(const Bytes& data, uint8_t tag) {
  const auto tlvs = Tlvs(data);
  if (!tlvs) return std::nullopt;
  for (const Tlv& t : *tlvs) {
    if (t.tag == tag) return t.value;
  }
  return std::nullopt;
}

// Path ::= SEQUENCE { efidOrPath OCTET STRING, ... }: the FID a handset appends to 7FFF.
std::optional<Bytes> PathFid(const Bytes& path_sequence) {
  std::optional<Bytes> fid = Child(path_sequence, 0x04);
  if (!fid || fid->size() != 2) return std::nullopt;
  return fid;
}

// EF.ODF: dataObjects [7] { Path } → the DODF's FID.
std::optional<Bytes> DodfFid(const Bytes& odf) {
  const std::optional<Bytes> a7 = Child(odf, 0xA7);
  const std::optional<Bytes> path = a7 ? Child(*a7, 0x30) : std::nullopt;
  return path ? PathFid(*path) : std::nullopt;
}

// EF.ODF: every dataObjects [7] entry's DODF FID, in the ODF's (priority) order.
std::vector<Bytes> DodfFids(const Bytes& odf) {
  std::vector<Bytes> out;
  for (const Tlv& t : Tlvs(odf).value_or(std::vector<Tlv>{})) {
    if (t.tag != 0xA7) continue;
    const std::optional<Bytes> path = Child(t.value, 0x30);
    if (std::optional<Bytes> fid = path ? PathFid(*path) : std::nullopt) out.push_back(*fid);
  }
  return out;
}

// EF.DODF: the first oidDO entry A1 { CommonObjectAttributes, CommonDataObjectAttributes,
// [1] { OidDO SEQUENCE { id OID, Path } } } whose id is `oid`; every other entry skipped.
std::optional<Bytes> OidDoFid(const Bytes& dodf, const Bytes& oid) {
  const auto entries = Tlvs(dodf);
  if (!entries) return std::nullopt;
  for (const Tlv& entry : *entries) {
    if (entry.tag != 0xA1) continue;
    const std::optional<Bytes> type_attributes = Child(entry.value, 0xA1);
    const std::optional<Bytes> oid_do =
        type_attributes ? Child(*type_attributes, 0x30) : std::nullopt;
    if (!oid_do || Child(*oid_do, 0x06) != oid) continue;
    const std::optional<Bytes> path = Child(*oid_do, 0x30);
    if (path) return PathFid(*path);
  }
  return std::nullopt;
}

// The UICC access sequence on one card, every answer checked to be exactly 9000.
class HandsetClient {
 public:
  explicit HandsetClient(CardHandle& card) : card_(card) {}

  // MANAGE CHANNEL open; SELECT the PKCS#15 application by AID with P2 = 04 (FCP).
  void Open() {
    const Bytes r = Step(Hex("0070000001"), "MANAGE CHANNEL open");
    ASSERT_EQ(Data(r).size(), 1u) << ToHex(r);
    channel_ = Data(r)[0];
    ASSERT_TRUE(channel_ >= 1 && channel_ <= 3) << ToHex(r);
    Bytes select = {channel_, 0xA4, 0x04, 0x04, static_cast<uint8_t>(kPkcs15Aid.size())};
    Append(select, kPkcs15Aid);
    select.push_back(0x00);
    const Bytes fcp = Data(Step(select, "SELECT PKCS#15 by AID"));
    ASSERT_FALSE(fcp.empty());
    EXPECT_EQ(fcp[0], 0x62) << "an FCP template: " << ToHex(fcp);
  }

  // SELECT P1 08 P2 04 with 7FFF || FID, then READ BINARY with the FCP's size.
  Bytes ReadFile(const Bytes& fid) {
    Bytes select = {channel_, 0xA4, 0x08, 0x04, 0x04, 0x7F, 0xFF};
    Append(select, fid);
    select.push_back(0x00);
    const Bytes fcp = Data(Step(select, "SELECT 7FFF " + ToHex(fid)));
    const std::optional<Bytes> t62 = Child(fcp, 0x62);
    const std::optional<Bytes> t80 = t62 ? Child(*t62, 0x80) : std::nullopt;
    if (!t80 || t80->empty() || t80->size() > 2) {
      ADD_FAILURE() << "no file size (80) in the FCP " << ToHex(fcp);
      return {};
    }
    size_t size = 0;
    for (uint8_t b : *t80) size = (size << 8) | b;
    Bytes out;
    while (out.size() < size) {
      const size_t left = size - out.size();
      const Bytes read = {channel_, 0xB0, static_cast<uint8_t>(out.size() >> 8),
                          static_cast<uint8_t>(out.size()),
                          static_cast<uint8_t>(left >= 256 ? 0x00 : left)};
      const Bytes chunk = Data(Step(read, "READ BINARY " + ToHex(fid)));
      if (chunk.empty()) break;
      Append(out, chunk);
    }
    return out;
  }

  // MANAGE CHANNEL close, sent on the channel itself.
  void Close() { Step(Bytes{channel_, 0x70, 0x80, channel_}, "MANAGE CHANNEL close"); }

 private:
  Bytes Step(const Bytes& command, const std::string& what) {
    const Bytes r = card_.Transmit(command);
    EXPECT_EQ(ToHex(Bytes(r.end() - 2, r.end())), "9000")
        << what << ": " << ToHex(command) << " → " << ToHex(r);
    return r;
  }

  CardHandle& card_;
  uint8_t channel_ = 0;
};

TEST_F(Pcsc_Pkcs15Handset, OidDoClientReadsTheDmBootstrapThrough7fffPaths) {
  StartVicc();
  Context ctx;
  CardHandle card(ctx, ReaderName(0));
  HandsetClient client(card);
  ASSERT_NO_FATAL_FAILURE(client.Open());
  const Bytes odf = client.ReadFile(Bytes{kOdf >> 8, kOdf & 0xFF});
  const std::optional<Bytes> dodf_fid = DodfFid(odf);
  ASSERT_TRUE(dodf_fid) << "EF.ODF " << ToHex(odf);
  const Bytes dodf = client.ReadFile(*dodf_fid);
  const std::optional<Bytes> bootstrap_fid = OidDoFid(dodf, kDmBootstrapOid);
  ASSERT_TRUE(bootstrap_fid) << "no oidDO entry for 2.23.43.7.1 in EF.DODF " << ToHex(dodf);
  const Bytes bootstrap = client.ReadFile(*bootstrap_fid);
  client.Close();
  // The same file as a reader on the basic channel gets it by its path from the MF.
  ASSERT_FALSE(bootstrap.empty());
  EXPECT_EQ(std::string(bootstrap.begin(), bootstrap.end()), ReadBootstrapFile(card));
}

TEST_F(Pcsc_Pkcs15Handset, TwoClientsOnTwoChannelsReadTheSameBootstrap) {
  StartVicc();
  Context ctx;
  CardHandle card(ctx, ReaderName(0));
  HandsetClient first(card);
  HandsetClient second(card);
  ASSERT_NO_FATAL_FAILURE(first.Open());
  ASSERT_NO_FATAL_FAILURE(second.Open());
  const std::optional<Bytes> dodf_fid = DodfFid(first.ReadFile(Bytes{0x50, 0x31}));
  ASSERT_TRUE(dodf_fid);
  const std::optional<Bytes> fid = OidDoFid(second.ReadFile(*dodf_fid), kDmBootstrapOid);
  ASSERT_TRUE(fid);
  EXPECT_EQ(first.ReadFile(*fid), second.ReadFile(*fid));
  first.Close();
  second.Close();
}

// OMA LwM2M 1.1 Appendix G.2.5 through the real stack: the client follows every ODF entry (in
// priority order) to the DODF whose oidDO entry has OID 2.23.43.9.1, reads EF(LwM2M_Bootstrap)
// and decodes it with a reader of the test's own (Appendix G.3.3 layout, Core TS §6.4.3 TLV),
// comparing every object, instance and value with profiles/demo/profile.json's "lwm2m".
TEST_F(Pcsc_Pkcs15Handset, OidDoClientReadsTheLwm2mBootstrap) {
  StartVicc();
  Context ctx;
  CardHandle card(ctx, ReaderName(0));
  HandsetClient client(card);
  ASSERT_NO_FATAL_FAILURE(client.Open());
  const Bytes odf = client.ReadFile(Bytes{kOdf >> 8, kOdf & 0xFF});
  const std::vector<Bytes> dodfs = DodfFids(odf);
  ASSERT_EQ(dodfs.size(), 2u) << "EF.ODF " << ToHex(odf);
  std::optional<Bytes> fid;
  for (const Bytes& dodf_fid : dodfs) {
    fid = OidDoFid(client.ReadFile(dodf_fid), kLwm2mBootstrapOid);
    if (fid) break;
  }
  ASSERT_TRUE(fid) << "no oidDO entry for 2.23.43.9.1 in any DODF";
  EXPECT_EQ(ToHex(*fid), "6431");
  const Bytes file = client.ReadFile(*fid);
  client.Close();

  std::string error;
  const std::optional<testing::lwm2m::File> decoded = testing::lwm2m::ReadFile(file, error);
  ASSERT_TRUE(decoded) << error << ": " << ToHex(file);
  std::ifstream in(std::filesystem::path(DMCARD_SOURCE_DIR) / "profiles" / "demo" / "profile.json");
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json profile = nlohmann::json::parse(text.str(), nullptr, true, true);
  ASSERT_TRUE(profile.contains("lwm2m"));
  EXPECT_EQ(testing::lwm2m::CompareWithProfile(*decoded, profile["lwm2m"]),
            std::vector<std::string>{});
  EXPECT_EQ(decoded->objects.size(), 2u);
}

}  // namespace
}  // namespace dmcard::pcsctest
