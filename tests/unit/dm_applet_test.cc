// The DM applet through APDUs, on an in-process card: descriptor and detection (SC7, DEV1,
// USA1, USA3), tree operations (SC1, SC5, DMS1, DMS2), ACLs against the channel's principal
// (SEC1) including the APDU-level ACL table, secrets (SC2), large values, personalization path.
// A management authority speaks over GlobalPlatform SCP03 with a key set the card is given for
// its ServerID (scp03_test_client.h), as a real DM server would.
#include <gtest/gtest.h>

#include <optional>

#include "data_table.h"
#include "dm/dm_applet.h"
#include "dm/mo_tree.h"
#include "host/personalization.h"
#include "runtime/tlv.h"
#include "scp03_test_client.h"
#include "table_trace.h"
#include "test_applets.h"

namespace dmcard::dm {
namespace {

using testing::DataOf;
using testing::H;
using testing::Scp03TestClient;
using testing::SwOf;
using testing::TestKeySet;

int64_t fake_now = 1700000000;

// The tree every test starts from (written here by hand, independent of any profile):
//   ./DMAcc            ACL Get=*&Add=srv1&Replace=srv1&Delete=srv1
//   ./DMAcc/Srv/ServerID = "srv1"      ./DMAcc/Srv/AAuthSecret = "s3cret" (secret)
//   ./Prefs            ACL Get=@device&Add=@user&Replace=@user&Delete=@user
//   ./Prefs/Ring = "loud"
//   ./Ops              ACL Get=srv1+srv2&Exec=srv1&Replace=srv2
//   ./Ops/Level = "1" (int)
void Seed(Card& card) {
  PersistentStore& store = card.store();
  store.Begin();
  MoTree tree(store, DmApplet::kKeyPrefix, [] { return fake_now; });
  auto interior = [](std::string uri, std::string acl) {
    Node n;
    n.uri = std::move(uri);
    n.interior = true;
    n.props.format = NodeFormat::kNode;
    n.props.acl = std::move(acl);
    return n;
  };
  auto leaf = [](std::string uri, std::string value, NodeFormat f = NodeFormat::kChr) {
    Node n;
    n.uri = std::move(uri);
    n.props.format = f;
    n.value.assign(value.begin(), value.end());
    return n;
  };
  ASSERT_EQ(tree.Put(interior("./DMAcc", "Get=*&Add=srv1&Replace=srv1&Delete=srv1")),
            DmStatus::kOk);
  ASSERT_EQ(tree.Put(interior("./DMAcc/Srv", "")), DmStatus::kOk);
  ASSERT_EQ(tree.Put(leaf("./DMAcc/Srv/ServerID", "srv1")), DmStatus::kOk);
  ASSERT_EQ(tree.Put(leaf("./DMAcc/Srv/AAuthSecret", "s3cret")), DmStatus::kOk);
  ASSERT_EQ(tree.Put(interior("./Prefs", "Get=@device&Add=@user&Replace=@user&Delete=@user")),
            DmStatus::kOk);
  ASSERT_EQ(tree.Put(leaf("./Prefs/Ring", "loud")), DmStatus::kOk);
  ASSERT_EQ(tree.Put(interior("./Ops", "Get=srv1+srv2&Exec=srv1&Replace=srv2")), DmStatus::kOk);
  ASSERT_EQ(tree.Put(leaf("./Ops/Level", "1", NodeFormat::kInt)), DmStatus::kOk);
  ASSERT_EQ(store.Commit(), StoreStatus::kOk);
}

struct DmCard {
  std::shared_ptr<RamMedium> medium = std::make_shared<RamMedium>();
  std::unique_ptr<Card> card;
};

std::unique_ptr<Card> BuildCard(std::shared_ptr<StorageMedium> medium, bool seed,
                                BootstrapFlags flags = {true, false}) {
  CardConfig config;
  config.default_applet = DmApplet::DefaultAid();
  const uint8_t seed_bytes[16] = {9};
  auto card = std::make_unique<Card>(
      config, Platform{medium, crypto::Drbg::FromSeed(seed_bytes), [] { return fake_now; }});
  DmAppletConfig dm;
  dm.flags = flags;
  dm.user_pin = Bytes{'1', '2', '3', '4'};
  dm.user_puk = Bytes{'1', '2', '3', '4', '5', '6', '7', '8'};
  EXPECT_EQ(card->Install(std::make_unique<DmApplet>(dm)), Sw::kOk);
  if (seed) Seed(*card);
  card->PowerOn();
  return card;
}

Bytes Cmd(uint8_t ins, uint8_t p1, uint8_t p2, ByteView data, bool le = true) {
  Bytes c = {0x80, ins, p1, p2};
  if (!data.empty()) {
    c.push_back(static_cast<uint8_t>(data.size()));
    Append(c, data);
  }
  if (le) c.push_back(0x00);
  return c;
}
Bytes Str(std::string_view s) { return Bytes(s.begin(), s.end()); }
Bytes TlvData(std::initializer_list<std::pair<uint8_t, std::string>> items) {
  Bytes out;
  for (const auto& [tag, text] : items) AppendTlv(out, tag, Str(text));
  return out;
}

// The tree commands, sent plain (`c` a Card) or under an SCP03 session (an Scp03TestClient).
template <typename Link>
Bytes GetValue(Link& c, std::string_view uri) {
  return c.Transmit(Cmd(0x30, 0, 0, Str(uri)));
}
template <typename Link>
Bytes Add(Link& c, std::string uri, std::string format, std::string value = "",
          std::string acl = "") {
  if (format == "node")
    return c.Transmit(Cmd(0x32, 0, 0, TlvData({{0x80, uri}, {0x82, format}}), false));
  return c.Transmit(Cmd(0x32, 0, 0,
                        acl.empty()
                            ? TlvData({{0x80, uri}, {0x82, format}, {0x81, value}})
                            : TlvData({{0x80, uri}, {0x82, format}, {0x81, value}, {0x84, acl}}),
                        false));
}
template <typename Link>
Bytes Replace(Link& c, std::string uri, std::string value) {
  return c.Transmit(Cmd(0x34, 0, 0, TlvData({{0x80, uri}, {0x81, value}}), false));
}
template <typename Link>
Bytes Delete(Link& c, std::string uri) {
  return c.Transmit(Cmd(0x36, 0, 0, Str(uri), false));
}

std::string AsText(const Bytes& r) {
  Bytes d = DataOf(r);
  return std::string(d.begin(), d.end());
}

// Parses the FCI of SELECT: 6F { 84 AID, A5 { 80.. 85 } }.
struct Descriptor {
  uint32_t generation = 0;
  Bytes digest;
  uint8_t flags = 0;
  uint8_t caps = 0;
  Bytes version;
};
Descriptor ParseDescriptor(const Bytes& a5_template) {
  Descriptor d;
  auto top = ParseTlvs(a5_template);
  EXPECT_TRUE(top && top->size() == 1 && (*top)[0].tag == 0xA5);
  if (!top || top->empty()) return d;
  auto items = ParseTlvs((*top)[0].value);
  EXPECT_TRUE(items.has_value());
  if (!items) return d;
  if (auto* t = FindTlv(*items, 0x80)) d.version.assign(t->value.begin(), t->value.end());
  if (auto* t = FindTlv(*items, 0x82); t && t->value.size() == 4)
    d.generation = ReadU32(t->value.data());
  if (auto* t = FindTlv(*items, 0x83)) d.digest.assign(t->value.begin(), t->value.end());
  if (auto* t = FindTlv(*items, 0x84); t && t->value.size() == 1) d.flags = t->value[0];
  if (auto* t = FindTlv(*items, 0x85); t && !t->value.empty()) d.caps = t->value[0];
  return d;
}
Descriptor SelectDescriptor(Card& c, uint8_t channel = 0) {
  Bytes sel = {EncodeClass(0x00, channel), 0xA4, 0x04, 0x00, 0x0A};
  Append(sel, DmApplet::DefaultAid());
  sel.push_back(0x00);
  Bytes r = c.Transmit(sel);
  EXPECT_EQ(SwOf(r), 0x9000);
  const Bytes data = DataOf(r);
  auto fci = ParseTlvs(data);
  EXPECT_TRUE(fci && fci->size() == 1 && (*fci)[0].tag == 0x6F);
  if (!fci || fci->empty()) return {};
  auto inner = ParseTlvs((*fci)[0].value);
  EXPECT_TRUE(inner.has_value());
  const Tlv* aid = inner ? FindTlv(*inner, 0x84) : nullptr;
  EXPECT_TRUE(aid && Bytes(aid->value.begin(), aid->value.end()) == DmApplet::DefaultAid());
  const Tlv* a5 = inner ? FindTlv(*inner, 0xA5) : nullptr;
  EXPECT_TRUE(a5 != nullptr);
  if (a5 == nullptr) return {};
  return ParseDescriptor(Template(0xA5, a5->value));
}

TEST(Req_SC7_EfficientDetection, SelectAnswersDescriptorThatTracksChanges) {
  auto card = BuildCard(std::make_shared<RamMedium>(), true);
  const TestKeySet srv1_keys = testing::AddKeySetFor(*card, "srv1");
  Descriptor d1 = SelectDescriptor(*card);
  EXPECT_EQ(ToHex(d1.version), "0100");
  EXPECT_EQ(d1.digest.size(), 32u);
  Scp03TestClient srv1(*card, srv1_keys);
  ASSERT_EQ(srv1.Open(DmApplet::DefaultAid()), "");
  ASSERT_EQ(SwOf(Replace(srv1, "./DMAcc/Srv/ServerID", "srv1b")), 0x9000);
  Descriptor d2 = SelectDescriptor(*card);
  EXPECT_NE(d2.generation, d1.generation);
  EXPECT_NE(d2.digest, d1.digest);
  // No change → same generation and digest, also on another channel.
  EXPECT_EQ(ToHex(card->Transmit(H("0070000001"))), "019000");
  Descriptor d3 = SelectDescriptor(*card, 1);
  EXPECT_EQ(d3.generation, d2.generation);
  EXPECT_EQ(d3.digest, d2.digest);
  // GET DATA gives the same descriptor without re-selecting.
  Bytes g = card->Transmit(H("80CA00A500"));
  EXPECT_EQ(SwOf(g), 0x9000);
  EXPECT_EQ(ParseDescriptor(DataOf(g)).generation, d2.generation);
}

TEST(Req_DEV1_DetectProvisioningData, FlagSaysWhetherDmAccHoldsAnAccount) {
  auto empty = BuildCard(std::make_shared<RamMedium>(), false);
  EXPECT_EQ(SelectDescriptor(*empty).flags & 0x01, 0) << "no DMAcc: nothing provisioned";
  auto seeded = BuildCard(std::make_shared<RamMedium>(), true);
  EXPECT_EQ(SelectDescriptor(*seeded).flags & 0x01, 0x01);
}

TEST(Req_USA1_USA3_BootstrapFlags, DescriptorCarriesFlagsFromTheProfile) {
  auto a = BuildCard(std::make_shared<RamMedium>(), true, {true, false});
  EXPECT_EQ(SelectDescriptor(*a).flags & 0x06, 0x02);
  auto b = BuildCard(std::make_shared<RamMedium>(), true, {false, true});
  EXPECT_EQ(SelectDescriptor(*b).flags & 0x06, 0x04);
}

TEST(Req_SC1_StoresManagementObjects, ReadsValuesPropertiesAndChildren) {
  auto card = BuildCard(std::make_shared<RamMedium>(), true);
  EXPECT_EQ(AsText(GetValue(*card, "./DMAcc/Srv/ServerID")), "srv1");
  EXPECT_EQ(SwOf(GetValue(*card, "./DMAcc/Srv/ServerID")), 0x9000);
  Bytes children = card->Transmit(Cmd(0x30, 0x02, 0x00, Str("./DMAcc/Srv")));
  EXPECT_EQ(AsText(children), "AAuthSecret/ServerID");
  Bytes format = card->Transmit(Cmd(0x30, 0x01, 0x02, Str("./Ops/Level")));
  EXPECT_EQ(SwOf(format), 0x6982) << "./Ops is readable by srv1 and srv2 only";
  Scp03TestClient srv2(*card, testing::AddKeySetFor(*card, "srv2"));
  ASSERT_EQ(srv2.Open(DmApplet::DefaultAid()), "");
  format = srv2.Transmit(Cmd(0x30, 0x01, 0x02, Str("./Ops/Level")));
  EXPECT_EQ(AsText(format), "int");
  Bytes size = srv2.Transmit(Cmd(0x30, 0x01, 0x05, Str("./DMAcc/Srv/ServerID")));
  EXPECT_EQ(AsText(size), "4");
  Bytes name = srv2.Transmit(Cmd(0x30, 0x01, 0x04, Str("./DMAcc/Srv/ServerID")));
  EXPECT_EQ(AsText(name), "ServerID");
  Bytes all = srv2.Transmit(Cmd(0x30, 0x03, 0x00, Str("./DMAcc")));
  ASSERT_EQ(SwOf(all), 0x9000);
  const Bytes all_data = DataOf(all);
  auto props = ParseTlvs(all_data);
  ASSERT_TRUE(props);
  const Tlv* acl = FindTlv(*props, 0x81);
  ASSERT_TRUE(acl);
  EXPECT_EQ(std::string(acl->value.begin(), acl->value.end()),
            "Get=*&Add=srv1&Replace=srv1&Delete=srv1")
      << "stored as given";
  EXPECT_EQ(SwOf(GetValue(srv2, "./Nope")), 0x6A82);
  EXPECT_EQ(SwOf(GetValue(srv2, "./DMAcc//x")), 0x6A80) << "malformed URI";
}

TEST(Req_SC2_SecureAuthenticationParameters, LeavesMarkedSecretOnAddAreNeverReadable) {
  auto card = BuildCard(std::make_shared<RamMedium>(), true);
  Scp03TestClient srv1(*card, testing::AddKeySetFor(*card, "srv1"));
  ASSERT_EQ(srv1.Open(DmApplet::DefaultAid()), "");
  Bytes data = TlvData({{0x80, "./DMAcc/Srv/Pin"}, {0x82, "chr"}, {0x81, "9999"}});
  Bytes marked = data;
  marked.insert(marked.end(), {0x85, 0x01, 0x01});
  EXPECT_EQ(SwOf(srv1.Transmit(Cmd(0x32, 0, 0, marked, false))), 0x9000);
  EXPECT_EQ(SwOf(GetValue(srv1, "./DMAcc/Srv/Pin")), 0x6982) << "even for its owner";
  EXPECT_EQ(AsText(srv1.Transmit(Cmd(0x30, 0x01, 0x05, Str("./DMAcc/Srv/Pin")))), "4");
  Bytes bad = data;
  bad.insert(bad.end(), {0x85, 0x01, 0x02});
  EXPECT_EQ(SwOf(srv1.Transmit(Cmd(0x32, 0, 0, bad, false))), 0x6A80);
}

TEST(Req_SC2_SecureAuthenticationParameters, SecretLeavesAreNeverReadable) {
  auto card = BuildCard(std::make_shared<RamMedium>(), true);
  EXPECT_EQ(SwOf(GetValue(*card, "./DMAcc/Srv/AAuthSecret")), 0x6982);
  EXPECT_EQ(SwOf(card->Transmit(H("002000010431323334"))), 0x9000);  // the user
  EXPECT_EQ(SwOf(GetValue(*card, "./DMAcc/Srv/AAuthSecret")), 0x6982);
  // The management authority that owns DMAcc.
  Scp03TestClient srv1(*card, testing::AddKeySetFor(*card, "srv1"));
  ASSERT_EQ(srv1.Open(DmApplet::DefaultAid()), "");
  EXPECT_EQ(SwOf(GetValue(srv1, "./DMAcc/Srv/AAuthSecret")), 0x6982);
  // Exports leave the value out.
  Bytes x =
      srv1.Transmit(H("803A0000000007"
                      "2E2F444D416363"
                      "0000"));  // extended Le
  ASSERT_EQ(SwOf(x), 0x9000);
  EXPECT_EQ(AsText(x).find("s3cret"), std::string::npos);
  EXPECT_NE(AsText(x).find("AAuthSecret"), std::string::npos);
}

TEST(Req_DMS2_ManagementAuthorityEditsTree, AddReplaceDeleteAsServer) {
  auto card = BuildCard(std::make_shared<RamMedium>(), true);
  Scp03TestClient srv1(*card, testing::AddKeySetFor(*card, "srv1"));
  ASSERT_EQ(srv1.Open(DmApplet::DefaultAid()), "");
  EXPECT_EQ(SwOf(Add(srv1, "./DMAcc/Srv2", "node")), 0x9000);
  EXPECT_EQ(SwOf(Add(srv1, "./DMAcc/Srv2/Name", "chr", "Second")), 0x9000);
  EXPECT_EQ(SwOf(Add(srv1, "./DMAcc/Srv2/Name", "chr", "Again")), 0x6A89) << "already exists";
  EXPECT_EQ(SwOf(Add(srv1, "./DMAcc/Nowhere/x", "chr", "v")), 0x6A82) << "no parent";
  EXPECT_EQ(SwOf(Add(srv1, "./DMAcc/Srv2/Name/x", "chr", "v")), 0x6986) << "child of a leaf";
  EXPECT_EQ(SwOf(Add(srv1, "./DMAcc/Srv2/Port", "int", "abc")), 0x6A80) << "not an int";
  EXPECT_EQ(SwOf(Replace(srv1, "./DMAcc/Srv2/Name", "Renamed")), 0x9000);
  EXPECT_EQ(AsText(GetValue(srv1, "./DMAcc/Srv2/Name")), "Renamed");
  EXPECT_EQ(SwOf(Replace(srv1, "./DMAcc/Srv2", "x")), 0x6986) << "interior has no value";
  EXPECT_EQ(SwOf(Delete(srv1, "./DMAcc/Srv2")), 0x9000);
  EXPECT_EQ(SwOf(GetValue(srv1, "./DMAcc/Srv2/Name")), 0x6A82) << "subtree gone";
  EXPECT_EQ(SwOf(Delete(srv1, ".")), 0x6986) << "root stays";
}

TEST(Req_SC5_ModifiableTree, LargeValuesThroughChainingAndExtendedLength) {
  auto card = BuildCard(std::make_shared<RamMedium>(), true);
  Scp03TestClient srv1(*card, testing::AddKeySetFor(*card, "srv1"));
  ASSERT_EQ(srv1.Open(DmApplet::DefaultAid()), "");
  const std::string big(1500, 'x');
  Bytes data = TlvData({{0x80, "./DMAcc/Srv/Blob"}, {0x82, "bin"}, {0x81, big}});
  // Command chaining in 200-byte pieces, each wrapped on its own.
  for (size_t off = 0; off < data.size(); off += 200) {
    const size_t n = std::min<size_t>(200, data.size() - off);
    const bool last = off + n == data.size();
    Bytes c;
    c.reserve(5 + n);
    c.push_back(last ? 0x80 : 0x90);
    c.push_back(0x32);
    c.push_back(0x00);
    c.push_back(0x00);
    c.push_back(static_cast<uint8_t>(n));
    Append(c, ByteView(data).subspan(off, n));
    EXPECT_EQ(SwOf(srv1.Transmit(c)), 0x9000);
  }
  // Read back with extended Le in one APDU.
  Bytes get = {0x80, 0x30, 0x00, 0x00, 0x00, 0x00, 0x10};
  Append(get, Str("./DMAcc/Srv/Blob"));
  get.insert(get.end(), {0x00, 0x00});
  Bytes r = srv1.Transmit(get);
  EXPECT_EQ(SwOf(r), 0x9000);
  EXPECT_EQ(AsText(r), big);
  // And with a short Le: 256 bytes + 61xx, GET RESPONSE for the rest (as the card sends it,
  // before the client joins and unwraps it).
  Bytes first = card->Transmit(srv1.host().Wrap(Cmd(0x30, 0, 0, Str("./DMAcc/Srv/Blob"))));
  EXPECT_EQ(SwOf(first), 0x6100);
  EXPECT_EQ(DataOf(first).size(), 256u);
}

TEST(Req_SC5_ModifiableTree, TreeSurvivesPowerCycleAndRebuild) {
  auto medium = std::make_shared<RamMedium>();
  {
    auto card = BuildCard(medium, true);
    Scp03TestClient srv1(*card, testing::AddKeySetFor(*card, "srv1"));
    ASSERT_EQ(srv1.Open(DmApplet::DefaultAid()), "");
    ASSERT_EQ(SwOf(Add(srv1, "./DMAcc/Kept", "chr", "yes")), 0x9000);
  }
  auto card = BuildCard(medium, false);
  EXPECT_EQ(AsText(GetValue(*card, "./DMAcc/Kept")), "yes");
}

TEST(Req_UC512_UserPrefs, UserPreferencesBelongToTheUser) {
  // UC512: user preferences are kept separate — the user, not the device, may change them.
  auto card = BuildCard(std::make_shared<RamMedium>(), true);
  EXPECT_EQ(AsText(GetValue(*card, "./Prefs/Ring")), "loud");
  EXPECT_EQ(SwOf(Replace(*card, "./Prefs/Ring", "quiet")), 0x6982);
  EXPECT_EQ(SwOf(card->Transmit(H("002000010431323334"))), 0x9000);
  EXPECT_EQ(SwOf(Replace(*card, "./Prefs/Ring", "quiet")), 0x9000);
  card->Reset();
  EXPECT_EQ(SwOf(Replace(*card, "./Prefs/Ring", "off")), 0x6982) << "reset drops the user";
}

TEST(Req_SEC1_Acl, ExecNeedsPermissionAndAHandler) {
  auto card = BuildCard(std::make_shared<RamMedium>(), true);
  Bytes exec = Cmd(0x38, 0, 0, TlvData({{0x80, "./Ops/Level"}, {0x81, "go"}}), false);
  EXPECT_EQ(SwOf(card->Transmit(exec)), 0x6982);
  Scp03TestClient srv1(*card, testing::AddKeySetFor(*card, "srv1"));
  ASSERT_EQ(srv1.Open(DmApplet::DefaultAid()), "");
  EXPECT_EQ(SwOf(srv1.Transmit(exec)), 0x6986) << "allowed, but nothing to execute";
}

TEST(Req_SEC1_Acl, MalformedCommandsGetTheirStatus) {
  auto card = BuildCard(std::make_shared<RamMedium>(), true);
  EXPECT_EQ(SwOf(card->Transmit(H("8030040000"))), 0x6A86);
  EXPECT_EQ(SwOf(card->Transmit(H("80300100022E00"))), 0x6A86) << "property 00";
  EXPECT_EQ(SwOf(card->Transmit(H("8030000000"))), 0x6700) << "no URI";
  EXPECT_EQ(SwOf(card->Transmit(H("803200000380FF01"))), 0x6A80) << "truncated TLV";
  EXPECT_EQ(SwOf(card->Transmit(H("80320000038001 2E"))), 0x6A80) << "no format";
  EXPECT_EQ(SwOf(card->Transmit(H("80990000"))), 0x6D00);
  EXPECT_EQ(SwOf(card->Transmit(H("84300000022E00"))), 0x6882) << "secure messaging";
  EXPECT_EQ(SwOf(card->Transmit(H("80CA00B000"))), 0x6A88);
}

// The APDU-level ACL table: tests/data/dm/acl_apdus.data lists, for each command × principal ×
// ACL case of the seeded tree, whether the card allows it (9000 or the expected non-ACL status)
// or refuses it with 6982 — in which case nothing at all changes.
TEST(Req_SEC1_Acl, ApduTable) {
  auto rows = testing::ReadTable(std::string(DMCARD_TEST_DATA_DIR) + "/dm/acl_apdus.data", 4);
  for (const auto& row : rows) {
    SCOPED_TRACE("line " + std::to_string(row.line) + ": " + row.fields[0] + " as " +
                 row.fields[1]);
    auto medium = std::make_shared<RamMedium>();
    auto card = BuildCard(medium, true);
    const std::string& who = row.fields[1];
    const bool server = who.rfind("server:", 0) == 0;
    ASSERT_TRUE(who == "user" || who == "device" || server) << who;
    // A management authority: a key set for its ServerID, and a session with it after the
    // SELECT (which ends any session).
    std::optional<Scp03TestClient> session;
    if (server) session.emplace(*card, testing::AddKeySetFor(*card, who.substr(7)));
    const uint32_t gen_before = SelectDescriptor(*card).generation;
    if (session) {
      ASSERT_EQ(session->Open(DmApplet::DefaultAid()), "");
    }
    if (who == "user") {
      ASSERT_EQ(SwOf(card->Transmit(H("002000010431323334"))), 0x9000);
    }
    // Snapshot the persistent state (the whole tree lives in it) right before the command.
    const Bytes before = card->store().SerializeImage();
    // The row replays through the host's trace runner (table_trace.h): the expected status
    // word, with any data before it ("*") — a GET's value, a secure session's R-MAC.
    testing::TransmitReader reader(
        [&](ByteView c) { return session ? session->Transmit(c) : card->Transmit(c); });
    const std::string file = std::string(DMCARD_TEST_DATA_DIR) + "/dm/acl_apdus.data";
    testing::ExpectTracePasses(
        testing::RowTrace(file, row.line, {{row.fields[2], "* " + row.fields[3]}}), reader);
    if (row.fields[3] == "6982") {
      EXPECT_EQ(card->store().SerializeImage(), before) << "a refused command changed state";
      EXPECT_EQ(SelectDescriptor(*card).generation, gen_before);
    }
  }
}

// Issue 9 item 5: STORE DATA is the issuer's, over a session opened with the issuer's key set
// (dm_personalization_test.cc has the whole of it; this is the applet on its own).
TEST(DmPersonalization, StoreDataNeedsTheIssuersSession) {
  auto card = BuildCard(std::make_shared<RamMedium>(), true);
  const testing::TestKeySet issuer_set = testing::AddKeySetFor(*card, kIssuerPrincipal);
  const std::string doc =
      "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>Fresh</NodeName><RTProperties><Format>"
      "<node/></Format><ACL>Get=*</ACL></RTProperties></Node></MgmtTree>";
  // DGI 0201 (the tree replaced), 0101 (flags: autoconnect only).
  std::string error;
  const std::vector<Bytes> store =
      StoreDataCommands({{0x0201, Bytes(doc.begin(), doc.end())}, {0x0101, Bytes{0x04}}}, error)
          .value_or(std::vector<Bytes>{});
  ASSERT_EQ(store.size(), 1u);
  EXPECT_EQ(SwOf(card->Transmit(store[0])), 0x6982);
  EXPECT_EQ(SwOf(card->Transmit(H("0020000104 31323334"))), 0x9000);
  EXPECT_EQ(SwOf(card->Transmit(store[0])), 0x6982) << "the user is not the issuer";

  testing::Scp03TestClient issuer(*card, issuer_set);
  ASSERT_EQ(issuer.Open(DmApplet::DefaultAid()), "");
  EXPECT_EQ(SwOf(issuer.Transmit(store[0])), 0x9000);
  EXPECT_EQ(SwOf(issuer.Transmit(Cmd(0x30, 0x02, 0x00, Str("./Fresh")))), 0x9000);
  EXPECT_EQ(SwOf(issuer.Transmit(Cmd(0x30, 0x00, 0x00, Str("./DMAcc/Srv/ServerID")))), 0x6A82)
      << "DGI 0201 replaced the tree";
  EXPECT_EQ(SelectDescriptor(*card).flags & 0x06, 0x04);
  EXPECT_EQ(SwOf(card->Transmit(store[0])), 0x6982) << "SELECT ended the session";
}

// The development issuer PIN (reference 8F) is gone: nothing answers to it, and a card image that
// still holds its record loses it at start-up.
TEST(DmPersonalization, TheDevelopmentIssuerPinIsGone) {
  auto medium = std::make_shared<RamMedium>();
  {
    PersistentStore store(medium, {});
    store.Begin();
    ASSERT_EQ(store.Put("dm/pin/dev-issuer", H("010F0F084445562D4F4E4C59")), StoreStatus::kOk);
    ASSERT_EQ(store.Commit(), StoreStatus::kOk);
  }
  auto card = BuildCard(medium, false);
  EXPECT_FALSE(card->store().Contains("dm/pin/dev-issuer"));
  EXPECT_EQ(SwOf(card->Transmit(H("0020008F08 4445562D4F4E4C59"))), 0x6A88);
}

}  // namespace
}  // namespace dmcard::dm
