// The OMA DM management-object tree in the persistent store: storage of MOs (Req SC1),
// modification (Req SC5), efficient detection through generation and digest (Req SC7), and the
// mechanics (URIs, formats, properties, errors, capacity, persistence) under DmTree.*.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <sstream>

#include "dm/mo_tree.h"
#include "dm_tree_fixture.h"
#include "runtime/storage_medium.h"

namespace dmcard::dm {
namespace {

using treetest::Dump;
using treetest::Interior;
using treetest::TreeFixture;

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

PersistentStore::Options Capacity(uint32_t bytes) {
  PersistentStore::Options o;
  o.capacity = bytes;
  return o;
}

std::vector<std::string> Uris(const std::vector<Node>& nodes) {
  std::vector<std::string> uris;
  for (const Node& n : nodes) uris.push_back(n.uri);
  return uris;
}

Node Leaf(std::string uri, std::string_view value, NodeFormat format = NodeFormat::kChr) {
  Node n;
  n.uri = std::move(uri);
  n.props.format = format;
  n.value = B(value);
  return n;
}

const Principal kSrv1 = Principal::Authority("srv1");
constexpr const char* kAllSrv1 = "Add=srv1&Delete=srv1&Exec=srv1&Get=srv1&Replace=srv1";

// --- Mechanics ----------------------------------------------------------------------------------

TEST(DmTree, InitCreatesRootAndGenerationOnce) {
  TreeFixture f;
  const std::optional<Node> root = f.tree.Read(".");
  ASSERT_TRUE(root.has_value());
  EXPECT_TRUE(root->interior);
  EXPECT_EQ(root->props.format, NodeFormat::kNode);
  EXPECT_EQ(root->props.acl, "Add=*&Get=*");
  EXPECT_EQ(f.tree.generation(), 0u);
  EXPECT_EQ(f.tree.node_count(), 1u);
  EXPECT_TRUE(f.store.Contains("dm/n/."));
  EXPECT_TRUE(f.store.Contains("dm/gen"));
  const std::string before = Dump(f.tree);
  f.now += 100;
  f.store.Begin();
  EXPECT_EQ(f.tree.Init(), DmStatus::kOk);
  f.store.Commit();
  EXPECT_EQ(Dump(f.tree), before) << "Init on an initialized tree changes nothing";
}

TEST(DmTree, StatusWords) {
  const std::pair<DmStatus, uint16_t> table[] = {
      {DmStatus::kOk, 0x9000},
      {DmStatus::kBadRequest, 0x6A80},
      {DmStatus::kNotFound, 0x6A82},
      {DmStatus::kCommandNotAllowed, 0x6986},
      {DmStatus::kOptionalNotSupported, 0x6A81},
      {DmStatus::kRequestTooLarge, 0x6700},
      {DmStatus::kUriTooLong, 0x6A80},
      {DmStatus::kUnsupportedFormat, 0x6A80},
      {DmStatus::kAlreadyExists, 0x6A89},
      {DmStatus::kDeviceFull, 0x6A84},
      {DmStatus::kPermissionDenied, 0x6982},
      {DmStatus::kCommandFailed, 0x6F00},
      {DmStatus::kDataStoreFailure, 0x6581},
  };
  for (const auto& [status, sw] : table) {
    EXPECT_EQ(ToU16(SwFromDmStatus(status)), sw) << static_cast<int>(status);
  }
}

// One store-to-status-word mapping (issue 7 item 10): a tree write after the medium failed is a
// memory failure, 6581 (ISO 7816-4), as the runtime answers it — not 6F00.
TEST(DmTree, WriteAfterPowerLossIsAMemoryFailure) {
  auto ram = std::make_shared<RamMedium>();
  auto faulty = std::make_shared<FaultInjectingMedium>(ram);
  PersistentStore store(faulty, {});
  MoTree tree(store, "dm/", [] { return int64_t{1'700'000'000}; });
  store.Begin();
  ASSERT_EQ(tree.Init(), DmStatus::kOk);
  ASSERT_EQ(store.Commit(), StoreStatus::kOk);
  store.Begin();
  ASSERT_EQ(tree.AddInterior(Principal::Device(), "./A"), DmStatus::kOk);
  faulty->CutPowerAfter(0);
  ASSERT_EQ(store.Commit(), StoreStatus::kPowerLost);
  store.Begin();
  const DmStatus s = tree.AddInterior(Principal::Device(), "./B");
  EXPECT_EQ(s, DmStatus::kDataStoreFailure);
  EXPECT_EQ(ToU16(SwFromDmStatus(s)), ToU16(SwFromStore(StoreStatus::kPowerLost)));
  EXPECT_EQ(ToU16(SwFromDmStatus(s)), 0x6581);
}

TEST(DmTree, FormatNames) {
  const char* names[] = {"node", "chr",  "int",  "bool",  "bin", "b64",
                         "xml",  "date", "time", "float", "null"};
  for (const char* name : names) {
    const std::optional<NodeFormat> f = ParseFormat(name);
    ASSERT_TRUE(f.has_value()) << name;
    EXPECT_STREQ(FormatName(*f), name);
  }
  EXPECT_FALSE(ParseFormat("").has_value());
  EXPECT_FALSE(ParseFormat("Chr").has_value());
  EXPECT_FALSE(ParseFormat("string").has_value());
}

TEST(DmTree, UriValidationTable) {
  struct Case {
    std::string uri;
    DmStatus expect;
  };
  const std::string seg64(64, 'a');
  std::string depth16 = ".";
  for (int i = 0; i < 16; ++i) depth16 += "/d";
  std::string len255 = "./" + std::string(63, 'x');
  while (len255.size() + 64 <= 255) len255 += "/" + std::string(63, 'y');
  len255 += "/" + std::string(255 - len255.size() - 1, 'z');
  ASSERT_EQ(len255.size(), 255u);

  const Case default_limits[] = {
      // Good.
      {".", DmStatus::kOk},
      {"./a", DmStatus::kOk},
      {"./DMAcc/Operator/AppAddr/SrvAddr/Addr", DmStatus::kOk},
      {"./a b", DmStatus::kOk},
      {"./a.b", DmStatus::kOk},
      {"./..a", DmStatus::kOk},
      {"./.a", DmStatus::kOk},
      {"./a-b_c~d*e(f)!", DmStatus::kOk},
      {"./n\xC3\xBC", DmStatus::kOk},  // UTF-8
      {"./" + seg64, DmStatus::kOk},
      {depth16, DmStatus::kOk},
      {len255, DmStatus::kOk},
      // Syntax.
      {"", DmStatus::kBadRequest},
      {"/", DmStatus::kBadRequest},
      {"a", DmStatus::kBadRequest},
      {"a/b", DmStatus::kBadRequest},
      {"/a", DmStatus::kBadRequest},
      {".a", DmStatus::kBadRequest},
      {" ./a", DmStatus::kBadRequest},
      {"..", DmStatus::kBadRequest},
      {"../a", DmStatus::kBadRequest},
      {"./", DmStatus::kBadRequest},
      {".//a", DmStatus::kBadRequest},
      {"./a/", DmStatus::kBadRequest},
      {"./a//b", DmStatus::kBadRequest},
      {"./.", DmStatus::kBadRequest},
      {"./..", DmStatus::kBadRequest},
      {"./a/./b", DmStatus::kBadRequest},
      {"./a/../b", DmStatus::kBadRequest},
      {"./a/..", DmStatus::kBadRequest},
      {"./a?b", DmStatus::kBadRequest},
      {"./a?list=Struct", DmStatus::kBadRequest},
      {"./a#b", DmStatus::kBadRequest},
      {"./a\tb", DmStatus::kBadRequest},
      {"./a\nb", DmStatus::kBadRequest},
      {"./a\x7F", DmStatus::kBadRequest},
      {std::string("./a\0b", 5), DmStatus::kBadRequest},
      // Limits (MaxSegLen 64, MaxDepth 16, MaxTotLen 255).
      {"./" + seg64 + "a", DmStatus::kUriTooLong},
      {depth16 + "/d", DmStatus::kUriTooLong},
      {len255 + "z", DmStatus::kUriTooLong},
      // Syntax wins over length.
      {"./" + seg64 + "a/", DmStatus::kBadRequest},
  };
  TreeFixture f;
  for (const Case& c : default_limits) {
    EXPECT_EQ(f.tree.CheckUri(c.uri), c.expect) << "'" << c.uri << "'";
  }

  const Case small_limits[] = {
      {"./abcde", DmStatus::kOk},
      {"./abcdef", DmStatus::kUriTooLong},
      {"./a/b/c", DmStatus::kOk},
      {"./a/b/c/d", DmStatus::kUriTooLong},
      {"./abcde/abcde/a", DmStatus::kOk},
      {"./abcde/abcde/ab", DmStatus::kUriTooLong},
      {"./abcde/abcde/ab/", DmStatus::kBadRequest},
  };
  TreeFixture s(PersistentStore::Options{}, UriLimits{3, 15, 5});
  for (const Case& c : small_limits) {
    EXPECT_EQ(s.tree.CheckUri(c.uri), c.expect) << "'" << c.uri << "'";
  }

  // Every operation checks its URI first.
  Bytes value;
  std::vector<std::string> names;
  std::string text;
  s.store.Begin();
  EXPECT_EQ(s.tree.GetValue(kSrv1, "./a/", value), DmStatus::kBadRequest);
  EXPECT_EQ(s.tree.GetChildren(kSrv1, "a", names), DmStatus::kBadRequest);
  EXPECT_EQ(s.tree.GetProperty(kSrv1, "./a?b", Property::kAcl, text), DmStatus::kBadRequest);
  EXPECT_EQ(s.tree.AddInterior(kSrv1, "./abcdef"), DmStatus::kUriTooLong);
  EXPECT_EQ(s.tree.AddLeaf(kSrv1, "./a//b", NodeFormat::kChr, "", B("x")), DmStatus::kBadRequest);
  EXPECT_EQ(s.tree.ReplaceValue(kSrv1, "./..", B("x")), DmStatus::kBadRequest);
  EXPECT_EQ(s.tree.ReplaceProperty(kSrv1, "./.", Property::kTitle, "t"), DmStatus::kBadRequest);
  EXPECT_EQ(s.tree.Delete(kSrv1, "./a/b/c/d"), DmStatus::kUriTooLong);
  EXPECT_EQ(s.tree.Exec(kSrv1, "", {}), DmStatus::kBadRequest);
  EXPECT_EQ(s.tree.Put(Interior("./x/")), DmStatus::kBadRequest);
  EXPECT_FALSE(s.tree.Read("./a/").has_value());
  EXPECT_TRUE(s.tree.Walk("./a/").empty());
  s.store.Abort();
}

TEST(DmTree, ParentAndName) {
  EXPECT_EQ(MoTree::ParentOf("./a"), ".");
  EXPECT_EQ(MoTree::ParentOf("./a/b/c"), "./a/b");
  EXPECT_EQ(MoTree::ParentOf("."), "");
  EXPECT_EQ(MoTree::NameOf("."), ".");
  EXPECT_EQ(MoTree::NameOf("./a"), "a");
  EXPECT_EQ(MoTree::NameOf("./DMAcc/S/AAuthSecret"), "AAuthSecret");
  EXPECT_TRUE(MoTree::IsSecretName("AAuthSecret"));
  EXPECT_TRUE(MoTree::IsSecretName("AAuthData"));
  EXPECT_FALSE(MoTree::IsSecretName("AAuthName"));
}

TEST(DmTree, ValuesAreCheckedAgainstTheirFormat) {
  struct Case {
    NodeFormat format;
    std::string value;
    DmStatus expect;
  };
  const Case cases[] = {
      // OMA DM int: unsigned, 0 to 2**32-1 (SyncML Meta-Information Format "int").
      {NodeFormat::kInt, "0", DmStatus::kOk},
      {NodeFormat::kInt, "007", DmStatus::kOk},
      {NodeFormat::kInt, "2147483648", DmStatus::kOk},
      {NodeFormat::kInt, "4294967295", DmStatus::kOk},
      {NodeFormat::kInt, "4294967296", DmStatus::kUnsupportedFormat},
      {NodeFormat::kInt, "-1", DmStatus::kUnsupportedFormat},
      {NodeFormat::kInt, "-2147483648", DmStatus::kUnsupportedFormat},
      {NodeFormat::kInt, "99999999999999999999999", DmStatus::kUnsupportedFormat},
      {NodeFormat::kInt, "", DmStatus::kUnsupportedFormat},
      {NodeFormat::kInt, "-", DmStatus::kUnsupportedFormat},
      {NodeFormat::kInt, "+1", DmStatus::kUnsupportedFormat},
      {NodeFormat::kInt, "1.0", DmStatus::kUnsupportedFormat},
      {NodeFormat::kInt, "12a", DmStatus::kUnsupportedFormat},
      {NodeFormat::kInt, " 1", DmStatus::kUnsupportedFormat},
      {NodeFormat::kBool, "true", DmStatus::kOk},
      {NodeFormat::kBool, "false", DmStatus::kOk},
      {NodeFormat::kBool, "TRUE", DmStatus::kUnsupportedFormat},
      {NodeFormat::kBool, "1", DmStatus::kUnsupportedFormat},
      {NodeFormat::kBool, "", DmStatus::kUnsupportedFormat},
      {NodeFormat::kB64, "", DmStatus::kOk},
      {NodeFormat::kB64, "QUJD", DmStatus::kOk},
      {NodeFormat::kB64, "QUI=", DmStatus::kOk},
      {NodeFormat::kB64, "QQ==", DmStatus::kOk},
      {NodeFormat::kB64, "a+/9", DmStatus::kOk},
      {NodeFormat::kB64, "QUJ", DmStatus::kUnsupportedFormat},
      {NodeFormat::kB64, "Q===", DmStatus::kUnsupportedFormat},
      {NodeFormat::kB64, "QU=D", DmStatus::kUnsupportedFormat},
      {NodeFormat::kB64, "QUJD\n", DmStatus::kUnsupportedFormat},
      {NodeFormat::kB64, "QU-D", DmStatus::kUnsupportedFormat},
      {NodeFormat::kNull, "", DmStatus::kOk},
      {NodeFormat::kNull, "x", DmStatus::kUnsupportedFormat},
      {NodeFormat::kChr, "", DmStatus::kOk},
      {NodeFormat::kChr, "http://dms.example.com:443/dm", DmStatus::kOk},
      {NodeFormat::kChr, "\xC3\xA9t\xC3\xA9", DmStatus::kOk},
      {NodeFormat::kBin, std::string("\x00\x01\xFF", 3), DmStatus::kOk},
      {NodeFormat::kXml, "<a><b/></a>", DmStatus::kOk},
      {NodeFormat::kDate, "2024-01-31", DmStatus::kOk},
      {NodeFormat::kDate, "20240131", DmStatus::kOk},
      {NodeFormat::kDate, "", DmStatus::kUnsupportedFormat},
      {NodeFormat::kDate, "tomorrow", DmStatus::kUnsupportedFormat},
      {NodeFormat::kTime, "12:30:00", DmStatus::kOk},
      {NodeFormat::kTime, "123000Z", DmStatus::kOk},
      {NodeFormat::kTime, "12:30:00.5+01:00", DmStatus::kOk},
      {NodeFormat::kTime, "noon", DmStatus::kUnsupportedFormat},
      {NodeFormat::kFloat, "1.5", DmStatus::kOk},
      {NodeFormat::kFloat, "-2", DmStatus::kOk},
      {NodeFormat::kFloat, ".5", DmStatus::kOk},
      {NodeFormat::kFloat, "3.", DmStatus::kOk},
      {NodeFormat::kFloat, "-1.5E-3", DmStatus::kOk},
      {NodeFormat::kFloat, "1e10", DmStatus::kOk},
      {NodeFormat::kFloat, "", DmStatus::kUnsupportedFormat},
      {NodeFormat::kFloat, "e5", DmStatus::kUnsupportedFormat},
      {NodeFormat::kFloat, "1e", DmStatus::kUnsupportedFormat},
      {NodeFormat::kFloat, "1.2.3", DmStatus::kUnsupportedFormat},
      {NodeFormat::kFloat, "abc", DmStatus::kUnsupportedFormat},
      {NodeFormat::kNode, "", DmStatus::kUnsupportedFormat},  // a leaf cannot be "node"
  };
  TreeFixture f;
  f.store.Begin();
  ASSERT_EQ(f.tree.AddInterior(Principal::Device(), "./V", kAllSrv1), DmStatus::kOk);
  ASSERT_EQ(f.tree.AddLeaf(kSrv1, "./V/R", NodeFormat::kInt, "", B("1")), DmStatus::kOk);
  int i = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(FormatName(c.format)) + " '" + c.value + "'");
    const std::string uri = "./V/n" + std::to_string(i++);
    const std::string before = Dump(f.tree);
    EXPECT_EQ(f.tree.AddLeaf(kSrv1, uri, c.format, "", B(c.value)), c.expect);
    if (c.expect != DmStatus::kOk) {
      EXPECT_EQ(Dump(f.tree), before);
    }
    if (c.expect == DmStatus::kOk) {
      Bytes back;
      EXPECT_EQ(f.tree.GetValue(kSrv1, uri, back), DmStatus::kOk);
      EXPECT_EQ(back, B(c.value));
    }
    // The same check on Put (issuer) and on Replace of a leaf of that format.
    Node n = Leaf(uri + "p", c.value, c.format);
    EXPECT_EQ(f.tree.Put(n), c.expect);
  }
  // Replace keeps the leaf's format.
  EXPECT_EQ(f.tree.ReplaceValue(kSrv1, "./V/R", B("x")), DmStatus::kUnsupportedFormat);
  EXPECT_EQ(f.tree.ReplaceValue(kSrv1, "./V/R", B("-5")), DmStatus::kUnsupportedFormat);
  EXPECT_EQ(f.tree.ReplaceValue(kSrv1, "./V/R", B("5")), DmStatus::kOk);
  f.store.Commit();
}

TEST(DmTree, ValueSizeLimit) {
  TreeFixture f;
  const Bytes max(MoTree::kMaxValueBytes, 0xA5);
  Bytes over = max;
  over.push_back(0);
  f.store.Begin();
  ASSERT_EQ(f.tree.AddInterior(Principal::Device(), "./V", kAllSrv1), DmStatus::kOk);
  const std::string before = Dump(f.tree);
  EXPECT_EQ(f.tree.AddLeaf(kSrv1, "./V/Big", NodeFormat::kBin, "", over),
            DmStatus::kRequestTooLarge);
  Node n = Leaf("./V/Big", "");
  n.props.format = NodeFormat::kBin;
  n.value = over;
  EXPECT_EQ(f.tree.Put(n), DmStatus::kRequestTooLarge);
  EXPECT_EQ(Dump(f.tree), before);
  EXPECT_EQ(f.tree.AddLeaf(kSrv1, "./V/Big", NodeFormat::kBin, "", max), DmStatus::kOk);
  const std::string after = Dump(f.tree);
  EXPECT_EQ(f.tree.ReplaceValue(kSrv1, "./V/Big", over), DmStatus::kRequestTooLarge);
  EXPECT_EQ(Dump(f.tree), after);
  std::string size;
  EXPECT_EQ(f.tree.GetProperty(kSrv1, "./V/Big", Property::kSize, size), DmStatus::kOk);
  EXPECT_EQ(size, std::to_string(MoTree::kMaxValueBytes));
  f.store.Commit();
}

TEST(DmTree, StructuralErrorsChangeNothing) {
  TreeFixture f;
  const Principal dev = Principal::Device();
  f.store.Begin();
  ASSERT_EQ(f.tree.Put(Interior("./A", "Add=*&Delete=*&Exec=*&Get=*&Replace=*")), DmStatus::kOk);
  ASSERT_EQ(f.tree.Put(Leaf("./A/L", "x")), DmStatus::kOk);
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
  const std::string before = Dump(f.tree);

  f.store.Begin();
  EXPECT_EQ(f.tree.AddInterior(dev, "./A/L/C"), DmStatus::kCommandNotAllowed);  // under a leaf
  EXPECT_EQ(f.tree.AddLeaf(dev, "./A/L/C", NodeFormat::kChr, "", B("y")),
            DmStatus::kCommandNotAllowed);
  EXPECT_EQ(f.tree.AddInterior(dev, "./A"), DmStatus::kAlreadyExists);
  EXPECT_EQ(f.tree.AddLeaf(dev, "./A/L", NodeFormat::kChr, "", B("y")), DmStatus::kAlreadyExists);
  EXPECT_EQ(f.tree.AddInterior(dev, "."), DmStatus::kAlreadyExists);
  EXPECT_EQ(f.tree.AddInterior(dev, "./A/M/N"), DmStatus::kNotFound);  // missing parent
  EXPECT_EQ(f.tree.AddLeaf(dev, "./Z/N", NodeFormat::kChr, "", B("y")), DmStatus::kNotFound);
  EXPECT_EQ(f.tree.ReplaceValue(dev, "./A", B("y")), DmStatus::kCommandNotAllowed);
  EXPECT_EQ(f.tree.ReplaceValue(dev, "./A/M", B("y")), DmStatus::kNotFound);
  EXPECT_EQ(f.tree.ReplaceProperty(dev, "./A/M", Property::kTitle, "t"), DmStatus::kNotFound);
  EXPECT_EQ(f.tree.Delete(dev, "."), DmStatus::kCommandNotAllowed);
  EXPECT_EQ(f.tree.Delete(dev, "./A/M"), DmStatus::kNotFound);
  EXPECT_EQ(f.tree.Exec(dev, "./A/M", {}), DmStatus::kNotFound);
  EXPECT_EQ(f.tree.Exec(dev, "./A/L", {}), DmStatus::kCommandNotAllowed);  // no handler
  Bytes v;
  std::vector<std::string> names;
  std::string text;
  EXPECT_EQ(f.tree.GetValue(dev, "./A", v), DmStatus::kCommandNotAllowed);
  EXPECT_EQ(f.tree.GetValue(dev, "./A/M", v), DmStatus::kNotFound);
  EXPECT_EQ(f.tree.GetChildren(dev, "./A/L", names), DmStatus::kCommandNotAllowed);
  EXPECT_EQ(f.tree.GetChildren(dev, "./A/M", names), DmStatus::kNotFound);
  EXPECT_EQ(f.tree.GetProperty(dev, "./A/M", Property::kFormat, text), DmStatus::kNotFound);
  EXPECT_EQ(f.tree.GetProperty(dev, "./A", Property::kSize, text), DmStatus::kCommandNotAllowed);
  // Issuer Put: parent must exist and be interior; the root stays interior; an interior node
  // with children cannot become a leaf; interior nodes are format node without a value.
  EXPECT_EQ(f.tree.Put(Leaf("./Z/N", "y")), DmStatus::kNotFound);
  EXPECT_EQ(f.tree.Put(Leaf("./A/L/N", "y")), DmStatus::kCommandNotAllowed);
  EXPECT_EQ(f.tree.Put(Leaf(".", "y")), DmStatus::kCommandNotAllowed);
  EXPECT_EQ(f.tree.Put(Leaf("./A", "y")), DmStatus::kCommandNotAllowed);
  Node bad = Interior("./A/I");
  bad.props.format = NodeFormat::kChr;
  EXPECT_EQ(f.tree.Put(bad), DmStatus::kUnsupportedFormat);
  bad = Interior("./A/I");
  bad.value = B("v");
  EXPECT_EQ(f.tree.Put(bad), DmStatus::kBadRequest);
  EXPECT_EQ(Dump(f.tree), before);
  f.store.Abort();
}

TEST(DmTree, OperationsOutsideATransactionFailCleanly) {
  TreeFixture f;
  const std::string before = Dump(f.tree);
  ASSERT_FALSE(f.store.in_transaction());
  EXPECT_EQ(f.tree.AddInterior(Principal::Device(), "./A"), DmStatus::kCommandFailed);
  EXPECT_EQ(f.tree.Put(Interior("./A")), DmStatus::kCommandFailed);
  EXPECT_EQ(f.tree.Clear(), DmStatus::kCommandFailed);
  EXPECT_EQ(Dump(f.tree), before);
}

TEST(DmTree, WalkIsPreOrderWithSiblingsByName) {
  TreeFixture f;
  f.store.Begin();
  // Inserted out of order; names chosen so that plain key order would not be pre-order
  // ('-' and '.' sort below '/').
  for (const char* uri : {"./b", "./a", "./a-b", "./a/z", "./a/c", "./a.b", "./a/c/d", "./B"}) {
    ASSERT_EQ(f.tree.Put(Interior(uri)), DmStatus::kOk) << uri;
  }
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
  EXPECT_EQ(Uris(f.tree.Walk()), (std::vector<std::string>{".", "./B", "./a", "./a/c", "./a/c/d",
                                                           "./a/z", "./a-b", "./a.b", "./b"}));
  EXPECT_EQ(Uris(f.tree.Walk("./a")),
            (std::vector<std::string>{"./a", "./a/c", "./a/c/d", "./a/z"}));
  EXPECT_TRUE(f.tree.Walk("./nope").empty());
  std::vector<std::string> names;
  EXPECT_EQ(f.tree.GetChildren(Principal::Device(), ".", names), DmStatus::kOk);
  EXPECT_EQ(names, (std::vector<std::string>{"B", "a", "a-b", "a.b", "b"}));
  EXPECT_EQ(f.tree.GetChildren(Principal::Device(), "./a", names), DmStatus::kOk);
  EXPECT_EQ(names, (std::vector<std::string>{"c", "z"}));
  EXPECT_EQ(f.tree.GetChildren(Principal::Device(), "./a/c/d", names), DmStatus::kOk);
  EXPECT_TRUE(names.empty());
  EXPECT_EQ(f.tree.node_count(), 9u);
}

TEST(DmTree, PropertiesTStampAndVerNo) {
  TreeFixture f;
  f.now = 994869497;  // 2001-07-11 16:38:17 UTC
  f.store.Begin();
  ASSERT_EQ(f.tree.AddInterior(Principal::Device(), "./V", kAllSrv1, "urn:oma:mo:test:1.0"),
            DmStatus::kOk);
  ASSERT_EQ(f.tree.AddLeaf(kSrv1, "./V/Port", NodeFormat::kInt, "text/plain", B("443")),
            DmStatus::kOk);
  auto prop = [&](std::string_view uri, Property p) {
    std::string s;
    EXPECT_EQ(f.tree.GetProperty(kSrv1, uri, p, s), DmStatus::kOk);
    return s;
  };
  EXPECT_EQ(prop("./V/Port", Property::kAcl), "");  // inherited: the node's own is empty
  EXPECT_EQ(prop("./V", Property::kAcl), kAllSrv1);
  EXPECT_EQ(prop("./V/Port", Property::kFormat), "int");
  EXPECT_EQ(prop("./V", Property::kFormat), "node");
  EXPECT_EQ(prop("./V/Port", Property::kType), "text/plain");
  EXPECT_EQ(prop("./V", Property::kType), "urn:oma:mo:test:1.0");
  EXPECT_EQ(prop("./V/Port", Property::kName), "Port");
  EXPECT_EQ(prop("./V/Port", Property::kSize), "3");
  EXPECT_EQ(prop("./V/Port", Property::kTitle), "");
  EXPECT_EQ(prop("./V/Port", Property::kTStamp), "20010711T163817Z");
  EXPECT_EQ(prop("./V/Port", Property::kVerNo), "0");
  std::string s;
  EXPECT_EQ(f.tree.GetProperty(kSrv1, "./V/Port", static_cast<Property>(99), s),
            DmStatus::kBadRequest);

  f.now = 1709251199;  // 2024-02-29 23:59:59 UTC
  ASSERT_EQ(f.tree.ReplaceValue(kSrv1, "./V/Port", B("8443")), DmStatus::kOk);
  EXPECT_EQ(prop("./V/Port", Property::kTStamp), "20240229T235959Z");
  EXPECT_EQ(prop("./V/Port", Property::kVerNo), "1");
  EXPECT_EQ(prop("./V/Port", Property::kSize), "4");
  f.now += 1;
  ASSERT_EQ(f.tree.ReplaceProperty(kSrv1, "./V/Port", Property::kTitle, "HTTPS port"),
            DmStatus::kOk);
  EXPECT_EQ(prop("./V/Port", Property::kTStamp), "20240301T000000Z");
  EXPECT_EQ(prop("./V/Port", Property::kVerNo), "2");
  EXPECT_EQ(prop("./V/Port", Property::kTitle), "HTTPS port");
  // Only the changed node is touched.
  EXPECT_EQ(prop("./V", Property::kVerNo), "0");
  EXPECT_EQ(prop("./V", Property::kTStamp), "20010711T163817Z");
  // Put counts as a change of an existing node, and sets TStamp/VerNo itself.
  Node p = Leaf("./V/Port", "1");
  p.props.format = NodeFormat::kInt;
  p.props.verno = 500;
  p.props.tstamp = 5;
  ASSERT_EQ(f.tree.Put(p), DmStatus::kOk);
  EXPECT_EQ(f.tree.Read("./V/Port")->props.verno, 3);
  EXPECT_EQ(f.tree.Read("./V/Port")->props.tstamp, f.now);
  f.now = -1;
  ASSERT_EQ(f.tree.Put(Leaf("./V/Old", "x")), DmStatus::kOk);
  EXPECT_EQ(prop("./V/Old", Property::kTStamp), "19691231T235959Z");
  EXPECT_EQ(f.tree.Read("./V/Old")->props.verno, 0);
  f.store.Commit();
}

TEST(DmTree, ExecCallsTheHandlerWhoseChangesCount) {
  TreeFixture f;
  f.store.Begin();
  ASSERT_EQ(f.tree.Put(Interior("./Fw", "Exec=srv1&Get=*")), DmStatus::kOk);
  ASSERT_EQ(f.tree.Put(Leaf("./Fw/Update", "")), DmStatus::kOk);
  std::vector<std::string> seen;
  f.tree.SetExecHandler([&seen](MoTree& tree, std::string_view uri, ByteView data) {
    seen.push_back(std::string(uri) + ":" + std::string(data.begin(), data.end()));
    if (data.empty()) return DmStatus::kCommandFailed;
    return tree.Put(Leaf("./Fw/State", "done"));
  });
  const uint32_t gen = f.tree.generation();
  EXPECT_EQ(f.tree.Exec(Principal::Device(), "./Fw/Update", B("go")), DmStatus::kPermissionDenied);
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(f.tree.Exec(kSrv1, "./Fw/Update", B("go")), DmStatus::kOk);
  EXPECT_EQ(f.tree.generation(), gen + 1);
  EXPECT_TRUE(f.tree.Read("./Fw/State").has_value());
  EXPECT_EQ(f.tree.Exec(kSrv1, "./Fw/Update", {}), DmStatus::kCommandFailed);
  EXPECT_EQ(seen, (std::vector<std::string>{"./Fw/Update:go", "./Fw/Update:"}));
  EXPECT_EQ(f.tree.Exec(kSrv1, "./Fw/Missing", B("go")), DmStatus::kNotFound);
  f.store.Commit();
}

TEST(DmTree, ClearKeepsOnlyTheRootWithItsDefaultAcl) {
  TreeFixture f;
  f.store.Begin();
  ASSERT_EQ(f.tree.Put(Interior(".", "Get=*&Replace=srv1")), DmStatus::kOk);
  ASSERT_EQ(f.tree.Put(Interior("./A")), DmStatus::kOk);
  ASSERT_EQ(f.tree.Put(Leaf("./A/L", "x")), DmStatus::kOk);
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
  const uint32_t gen = f.tree.generation();
  f.store.Begin();
  ASSERT_EQ(f.tree.Clear(), DmStatus::kOk);
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
  EXPECT_EQ(Uris(f.tree.Walk()), std::vector<std::string>{"."});
  EXPECT_EQ(f.tree.Read(".")->props.acl, MoTree::kRootAcl);
  EXPECT_EQ(f.tree.generation(), gen + 1);
  EXPECT_EQ(f.tree.node_count(), 1u);
  EXPECT_EQ(f.store.Keys("dm/n/").size(), 1u);
}

TEST(DmTree, TreesWithDifferentPrefixesAreSeparate) {
  TreeFixture f;
  MoTree other(f.store, "dm2/", [] { return 0; });
  f.store.Begin();
  ASSERT_EQ(other.Init(), DmStatus::kOk);
  ASSERT_EQ(other.Put(Interior("./X")), DmStatus::kOk);
  ASSERT_EQ(f.tree.Put(Interior("./Y")), DmStatus::kOk);
  f.store.Commit();
  EXPECT_EQ(Uris(other.Walk()), (std::vector<std::string>{".", "./X"}));
  EXPECT_EQ(Uris(f.tree.Walk()), (std::vector<std::string>{".", "./Y"}));
}

// --- Capacity -----------------------------------------------------------------------------------

TEST(DmTree, DeviceFullLeavesNothingHalfDone) {
  TreeFixture f(Capacity(700));
  const Principal dev = Principal::Device();
  f.store.Begin();
  ASSERT_EQ(f.tree.Put(Interior(".", "Add=*&Delete=*&Get=*&Replace=*")), DmStatus::kOk);
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
  const std::string value(40, 'v');
  int added = 0;
  DmStatus s = DmStatus::kOk;
  std::string before;
  uint32_t used = 0;
  while (s == DmStatus::kOk && added < 100) {
    before = Dump(f.tree);
    used = f.store.stats().used;
    f.store.Begin();
    s = f.tree.AddLeaf(dev, "./L" + std::to_string(added), NodeFormat::kChr, "", B(value));
    if (s == DmStatus::kOk) {
      ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
      ++added;
    }
  }
  ASSERT_EQ(s, DmStatus::kDeviceFull);
  EXPECT_GT(added, 2);
  // Refused before any write: the open transaction holds nothing of it.
  EXPECT_EQ(Dump(f.tree), before);
  EXPECT_EQ(f.store.stats().used, used);
  EXPECT_EQ(f.tree.AddInterior(dev, "./I" + std::string(60, 'i')), DmStatus::kDeviceFull);
  EXPECT_EQ(f.tree.ReplaceValue(dev, "./L0", B(std::string(300, 'w'))), DmStatus::kDeviceFull);
  EXPECT_EQ(f.tree.ReplaceProperty(dev, "./L0", Property::kTitle, std::string(300, 't')),
            DmStatus::kDeviceFull);
  EXPECT_EQ(f.tree.Put(Leaf("./L0", std::string(300, 'w'))), DmStatus::kDeviceFull);
  EXPECT_EQ(Dump(f.tree), before);
  EXPECT_EQ(f.store.stats().used, used);
  // Even committing after the refusals stores nothing of them.
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
  PersistentStore reopened(f.medium, Capacity(700));
  MoTree again(reopened, "dm/", [] { return 0; });
  EXPECT_EQ(Dump(again), before);
  // Deleting makes room again.
  f.store.Begin();
  EXPECT_EQ(f.tree.Delete(dev, "./L0"), DmStatus::kOk);
  EXPECT_EQ(f.tree.AddLeaf(dev, "./New", NodeFormat::kChr, "", B(value)), DmStatus::kOk);
  f.store.Commit();
}

TEST(DmTree, DeviceFullAtInit) {
  auto medium = std::make_shared<RamMedium>();
  PersistentStore store(medium, Capacity(40));
  MoTree tree(store, "dm/", [] { return 0; });
  store.Begin();
  EXPECT_EQ(tree.Init(), DmStatus::kDeviceFull);
  EXPECT_TRUE(store.Keys("").empty()) << "neither the root nor the counter was half-created";
  store.Abort();
}

// --- Requirements -------------------------------------------------------------------------------

TEST(Req_SC1_StoresManagementObjects, DmAccountReadsBack) {
  TreeFixture f;
  f.store.Begin();
  ASSERT_EQ(f.tree.Put(Interior("./DMAcc", "Get=*&Add=srv1&Replace=srv1&Delete=srv1")),
            DmStatus::kOk);
  const Principal srv1 = kSrv1;
  ASSERT_EQ(f.tree.AddInterior(srv1, "./DMAcc/Op", "", "org.openmobilealliance/1.0/w7"),
            DmStatus::kOk);
  ASSERT_EQ(f.tree.AddLeaf(srv1, "./DMAcc/Op/ServerID", NodeFormat::kChr, "text/plain", B("srv1")),
            DmStatus::kOk);
  ASSERT_EQ(f.tree.AddInterior(srv1, "./DMAcc/Op/AppAddr"), DmStatus::kOk);
  ASSERT_EQ(f.tree.AddInterior(srv1, "./DMAcc/Op/AppAddr/A"), DmStatus::kOk);
  ASSERT_EQ(f.tree.AddLeaf(srv1, "./DMAcc/Op/AppAddr/A/Addr", NodeFormat::kChr, "",
                           B("https://dms.example.com/dm")),
            DmStatus::kOk);
  ASSERT_EQ(f.tree.AddLeaf(srv1, "./DMAcc/Op/AppAddr/A/Port", NodeFormat::kInt, "", B("443")),
            DmStatus::kOk);
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);

  for (const Principal& who : {Principal::Device(), Principal::User(), srv1}) {
    Bytes v;
    EXPECT_EQ(f.tree.GetValue(who, "./DMAcc/Op/AppAddr/A/Addr", v), DmStatus::kOk);
    EXPECT_EQ(v, B("https://dms.example.com/dm"));
    std::vector<std::string> names;
    EXPECT_EQ(f.tree.GetChildren(who, "./DMAcc/Op", names), DmStatus::kOk);
    EXPECT_EQ(names, (std::vector<std::string>{"AppAddr", "ServerID"}));
  }
  std::string type;
  EXPECT_EQ(f.tree.GetProperty(srv1, "./DMAcc/Op", Property::kType, type), DmStatus::kOk);
  EXPECT_EQ(type, "org.openmobilealliance/1.0/w7");
  EXPECT_EQ(f.tree.node_count(), 8u);
  // One record per node, under the prefix.
  EXPECT_TRUE(f.store.Contains("dm/n/./DMAcc/Op/AppAddr/A/Port"));
}

TEST(Req_SC1_StoresManagementObjects, TreeSurvivesReopeningTheStore) {
  TreeFixture f;
  f.store.Begin();
  ASSERT_EQ(f.tree.Put(Interior("./DMAcc", "Get=*")), DmStatus::kOk);
  ASSERT_EQ(f.tree.Put(Interior("./DMAcc/Op")), DmStatus::kOk);
  Node name = Leaf("./DMAcc/Op/Name", "Operator");
  name.props.title = "Display name";
  name.props.type = "text/plain";
  ASSERT_EQ(f.tree.Put(name), DmStatus::kOk);
  ASSERT_EQ(
      f.tree.Put(Leaf("./DMAcc/Op/AAuthSecret", std::string("\x00\x01\x02", 3), NodeFormat::kBin)),
      DmStatus::kOk);
  ASSERT_EQ(f.tree.ReplaceValue(Principal::Device(), "./DMAcc/Op/Name", B("x")),
            DmStatus::kPermissionDenied);
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
  f.now += 1000;
  f.store.Begin();
  ASSERT_EQ(f.tree.Put(Leaf("./DMAcc/Op/Port", "80", NodeFormat::kInt)), DmStatus::kOk);
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
  // An uncommitted change is not part of the persisted tree.
  f.store.Begin();
  ASSERT_EQ(f.tree.Put(Leaf("./DMAcc/Op/Lost", "x")), DmStatus::kOk);
  f.store.Abort();
  const std::string dump = Dump(f.tree);
  const std::vector<Node> nodes = f.tree.Walk();

  PersistentStore reopened(f.medium, PersistentStore::Options{});
  ASSERT_EQ(reopened.open_error(), "");
  MoTree again(reopened, "dm/", [] { return 0; });
  EXPECT_EQ(Dump(again), dump);
  const std::vector<Node> back = again.Walk();
  ASSERT_EQ(back.size(), nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    EXPECT_EQ(back[i].uri, nodes[i].uri);
    EXPECT_EQ(back[i].value, nodes[i].value);
    EXPECT_EQ(back[i].props.tstamp, nodes[i].props.tstamp);
    EXPECT_EQ(back[i].props.secret, nodes[i].props.secret);
  }
  EXPECT_FALSE(again.Read("./DMAcc/Op/Lost").has_value());
  EXPECT_TRUE(again.Read("./DMAcc/Op/AAuthSecret")->props.secret);
  EXPECT_EQ(again.generation(), f.tree.generation());
  EXPECT_EQ(again.Digest(), f.tree.Digest());
}

TEST(Req_SC5_ModifiableTree, AddReplaceDeleteSubtree) {
  TreeFixture f;
  f.store.Begin();
  ASSERT_EQ(f.tree.Put(Interior("./Vendor", kAllSrv1)), DmStatus::kOk);
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);

  f.store.Begin();
  ASSERT_EQ(f.tree.AddInterior(kSrv1, "./Vendor/A"), DmStatus::kOk);
  ASSERT_EQ(f.tree.AddInterior(kSrv1, "./Vendor/A/B"), DmStatus::kOk);
  ASSERT_EQ(f.tree.AddLeaf(kSrv1, "./Vendor/A/B/Leaf", NodeFormat::kChr, "", B("one")),
            DmStatus::kOk);
  ASSERT_EQ(f.tree.AddLeaf(kSrv1, "./Vendor/A/X", NodeFormat::kBool, "", B("true")), DmStatus::kOk);
  // Siblings whose names start like "A" must survive the deletion of ./Vendor/A.
  ASSERT_EQ(f.tree.AddInterior(kSrv1, "./Vendor/AB"), DmStatus::kOk);
  ASSERT_EQ(f.tree.AddLeaf(kSrv1, "./Vendor/AB/Y", NodeFormat::kChr, "", B("keep")), DmStatus::kOk);
  ASSERT_EQ(f.tree.AddLeaf(kSrv1, "./Vendor/A-", NodeFormat::kChr, "", B("keep")), DmStatus::kOk);
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);

  f.store.Begin();
  ASSERT_EQ(f.tree.ReplaceValue(kSrv1, "./Vendor/A/B/Leaf", B("two")), DmStatus::kOk);
  Bytes v;
  ASSERT_EQ(f.tree.GetValue(kSrv1, "./Vendor/A/B/Leaf", v), DmStatus::kOk);
  EXPECT_EQ(v, B("two"));
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);

  const size_t count = f.tree.node_count();
  const uint32_t gen = f.tree.generation();
  const Bytes digest = f.tree.Digest();
  f.store.Begin();
  ASSERT_EQ(f.tree.Delete(kSrv1, "./Vendor/A"), DmStatus::kOk);
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
  EXPECT_EQ(f.tree.node_count(), count - 4);
  EXPECT_EQ(f.tree.generation(), gen + 1) << "one operation, one generation step";
  EXPECT_NE(f.tree.Digest(), digest);
  EXPECT_EQ(Uris(f.tree.Walk("./Vendor")),  // siblings by name: '-' sorts below 'B'
            (std::vector<std::string>{"./Vendor", "./Vendor/A-", "./Vendor/AB", "./Vendor/AB/Y"}));
  for (const char* gone : {"./Vendor/A", "./Vendor/A/B", "./Vendor/A/B/Leaf", "./Vendor/A/X"}) {
    EXPECT_FALSE(f.tree.Read(gone).has_value()) << gone;
    EXPECT_FALSE(f.store.Contains(std::string("dm/n/") + gone)) << gone;
  }
  // The names are free again.
  f.store.Begin();
  EXPECT_EQ(f.tree.AddInterior(kSrv1, "./Vendor/A"), DmStatus::kOk);
  std::vector<std::string> names{"stale"};
  EXPECT_EQ(f.tree.GetChildren(kSrv1, "./Vendor/A", names), DmStatus::kOk);
  EXPECT_TRUE(names.empty());
  f.store.Commit();
}

TEST(Req_SC5_ModifiableTree, DeleteRefusedLeavesTheSubtree) {
  TreeFixture f;
  f.store.Begin();
  ASSERT_EQ(f.tree.Put(Interior("./Vendor", "Get=*&Delete=srv1")), DmStatus::kOk);
  ASSERT_EQ(f.tree.Put(Interior("./Vendor/A")), DmStatus::kOk);
  ASSERT_EQ(f.tree.Put(Leaf("./Vendor/A/L", "x")), DmStatus::kOk);
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
  const std::string before = Dump(f.tree);
  f.store.Begin();
  EXPECT_EQ(f.tree.Delete(Principal::Authority("srv2"), "./Vendor/A"), DmStatus::kPermissionDenied);
  EXPECT_EQ(f.tree.Delete(Principal::User(), "./Vendor"), DmStatus::kPermissionDenied);
  EXPECT_EQ(Dump(f.tree), before);
  f.store.Abort();
}

TEST(Req_SC7_EfficientDetection, GenerationAndDigestChangeWithEveryChange) {
  TreeFixture f;
  f.tree.SetExecHandler([](MoTree& tree, std::string_view, ByteView) {
    return tree.Put(Leaf("./V/ExecResult", "ok"));
  });
  std::vector<std::pair<const char*, std::function<DmStatus()>>> changes = {
      {"Put interior", [&] { return f.tree.Put(Interior("./V", kAllSrv1)); }},
      {"AddInterior", [&] { return f.tree.AddInterior(kSrv1, "./V/I"); }},
      {"AddLeaf", [&] { return f.tree.AddLeaf(kSrv1, "./V/I/L", NodeFormat::kChr, "", B("a")); }},
      {"ReplaceValue", [&] { return f.tree.ReplaceValue(kSrv1, "./V/I/L", B("b")); }},
      {"ReplaceValue same value", [&] { return f.tree.ReplaceValue(kSrv1, "./V/I/L", B("b")); }},
      {"Replace Title",
       [&] { return f.tree.ReplaceProperty(kSrv1, "./V/I/L", Property::kTitle, "t"); }},
      {"Replace ACL",
       [&] { return f.tree.ReplaceProperty(kSrv1, "./V/I", Property::kAcl, kAllSrv1); }},
      {"Put leaf", [&] { return f.tree.Put(Leaf("./V/I/M", "m")); }},
      {"Put secret", [&] { return f.tree.Put(Leaf("./V/AAuthSecret", "s")); }},
      {"Replace secret", [&] { return f.tree.ReplaceValue(kSrv1, "./V/AAuthSecret", B("s")); }},
      {"Exec that changes the tree", [&] { return f.tree.Exec(kSrv1, "./V/I/L", B("x")); }},
      {"Delete leaf", [&] { return f.tree.Delete(kSrv1, "./V/I/M"); }},
      {"Delete subtree", [&] { return f.tree.Delete(kSrv1, "./V/I"); }},
      {"Clear", [&] { return f.tree.Clear(); }},
  };
  uint32_t gen = f.tree.generation();
  Bytes digest = f.tree.Digest();
  for (auto& [what, change] : changes) {
    SCOPED_TRACE(what);
    f.now += 7;
    f.store.Begin();
    ASSERT_EQ(change(), DmStatus::kOk);
    ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
    EXPECT_EQ(f.tree.generation(), gen + 1);
    EXPECT_NE(f.tree.Digest(), digest);
    gen = f.tree.generation();
    digest = f.tree.Digest();
  }
  // The counter is persistent.
  PersistentStore reopened(f.medium, PersistentStore::Options{});
  EXPECT_EQ(MoTree(reopened, "dm/", [] { return 0; }).generation(), gen);
}

TEST(Req_SC7_EfficientDetection, NothingChangesWithoutAChange) {
  TreeFixture f;
  f.store.Begin();
  ASSERT_EQ(f.tree.Put(Interior("./V", "Get=*")), DmStatus::kOk);
  ASSERT_EQ(f.tree.Put(Leaf("./V/L", "x")), DmStatus::kOk);
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
  const std::string before = Dump(f.tree);
  f.now += 3600;  // time passing alone changes nothing
  f.store.Begin();
  Bytes v;
  std::vector<std::string> names;
  std::string s;
  EXPECT_EQ(f.tree.GetValue(kSrv1, "./V/L", v), DmStatus::kOk);
  EXPECT_EQ(f.tree.GetChildren(kSrv1, "./V", names), DmStatus::kOk);
  EXPECT_EQ(f.tree.GetProperty(kSrv1, "./V/L", Property::kVerNo, s), DmStatus::kOk);
  EXPECT_TRUE(f.tree.Read("./V/L").has_value());
  EXPECT_EQ(f.tree.Walk().size(), 3u);
  // Refusals.
  EXPECT_EQ(f.tree.ReplaceValue(kSrv1, "./V/L", B("y")), DmStatus::kPermissionDenied);
  EXPECT_EQ(f.tree.AddInterior(kSrv1, "./V/X"), DmStatus::kPermissionDenied);
  EXPECT_EQ(f.tree.Delete(kSrv1, "./V"), DmStatus::kPermissionDenied);
  EXPECT_EQ(f.tree.Init(), DmStatus::kOk);
  EXPECT_EQ(f.tree.Digest(), f.tree.Digest());
  EXPECT_EQ(Dump(f.tree), before);
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
  EXPECT_EQ(Dump(f.tree), before);
}

TEST(Req_SC7_EfficientDetection, DigestDependsOnContentNotOnTime) {
  TreeFixture early;
  TreeFixture late;
  early.now = 1000;
  late.now = 2'000'000'000;
  for (TreeFixture* f : {&early, &late}) {
    f->store.Begin();
    ASSERT_EQ(f->tree.Put(Interior("./V", kAllSrv1)), DmStatus::kOk);
    ASSERT_EQ(f->tree.AddLeaf(kSrv1, "./V/L", NodeFormat::kInt, "", B("1")), DmStatus::kOk);
    f->now += 500;
    ASSERT_EQ(f->tree.ReplaceValue(kSrv1, "./V/L", B("2")), DmStatus::kOk);
    ASSERT_EQ(f->store.Commit(), StoreStatus::kOk);
  }
  EXPECT_NE(early.tree.Read("./V/L")->props.tstamp, late.tree.Read("./V/L")->props.tstamp);
  EXPECT_EQ(early.tree.Digest(), late.tree.Digest());
  EXPECT_EQ(early.tree.Digest().size(), 32u);
  // Each content property is covered: starting from the same content, any change shows.
  const Bytes same = early.tree.Digest();
  auto digest_after = [&](const std::function<DmStatus(MoTree&)>& change) {
    TreeFixture g;
    g.store.Begin();
    EXPECT_EQ(g.tree.Put(Interior("./V", kAllSrv1)), DmStatus::kOk);
    EXPECT_EQ(g.tree.AddLeaf(kSrv1, "./V/L", NodeFormat::kInt, "", B("1")), DmStatus::kOk);
    EXPECT_EQ(g.tree.ReplaceValue(kSrv1, "./V/L", B("2")), DmStatus::kOk);
    EXPECT_EQ(g.tree.Digest(), same);
    if (change) {
      EXPECT_EQ(change(g.tree), DmStatus::kOk);
    }
    g.store.Commit();
    return g.tree.Digest();
  };
  EXPECT_EQ(digest_after(nullptr), same);
  const std::vector<std::pair<const char*, std::function<DmStatus(MoTree&)>>> changes = {
      {"value", [](MoTree& t) { return t.ReplaceValue(kSrv1, "./V/L", B("3")); }},
      {"same value again (VerNo)",
       [](MoTree& t) { return t.ReplaceValue(kSrv1, "./V/L", B("2")); }},
      {"title", [](MoTree& t) { return t.ReplaceProperty(kSrv1, "./V/L", Property::kTitle, "t"); }},
      {"acl", [](MoTree& t) { return t.ReplaceProperty(kSrv1, "./V/L", Property::kAcl, "Get=*"); }},
      {"format",
       [](MoTree& t) {
         Node n = Leaf("./V/L", "2", NodeFormat::kChr);
         return t.Put(n);
       }},
      {"type",
       [](MoTree& t) {
         Node n = Leaf("./V/L", "2", NodeFormat::kInt);
         n.props.type = "text/plain";
         return t.Put(n);
       }},
      {"new node", [](MoTree& t) { return t.Put(Interior("./W")); }},
  };
  std::set<Bytes> seen{same};
  for (const auto& [what, change] : changes) {
    EXPECT_TRUE(seen.insert(digest_after(change)).second) << what;
  }
}

}  // namespace
}  // namespace dmcard::dm
