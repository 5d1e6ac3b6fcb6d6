// OMA DM ACLs: the parser (DmAcl), principal matching, and their enforcement by the MO tree
// (Req SEC1: provisioning data protected against unauthorized modification), driven by the
// hand-written table tests/data/dm/acl_table.data.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <sstream>

#include "data_table.h"
#include "dm/acl.h"
#include "dm/mo_tree.h"
#include "dm_tree_fixture.h"
#include "runtime/storage_medium.h"

namespace dmcard::dm {
namespace {

using treetest::Dump;
using treetest::Interior;
using treetest::TreeFixture;

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

Node Leaf(std::string uri, std::string_view value, std::string acl = {},
          NodeFormat format = NodeFormat::kChr) {
  Node n;
  n.uri = std::move(uri);
  n.props.format = format;
  n.props.acl = std::move(acl);
  n.value = B(value);
  return n;
}

// --- Parser -----------------------------------------------------------------------------------

TEST(DmAcl, ParsesValidAcls) {
  struct Case {
    const char* text;
    const char* canonical;
  };
  const Case cases[] = {
      {"", ""},
      {"Get=*", "Get=*"},
      {"Add=*&Get=*", "Add=*&Get=*"},
      {"Get=*&Add=*", "Add=*&Get=*"},
      {"Replace=srv1&Get=srv1+srv2&Delete=srv2", "Delete=srv2&Get=srv1+srv2&Replace=srv1"},
      {"Exec=@user&Get=@device", "Exec=@user&Get=@device"},
      {"Add=*&Delete=*&Exec=*&Get=*&Replace=*", "Add=*&Delete=*&Exec=*&Get=*&Replace=*"},
      {"Get=com.example.dms-01", "Get=com.example.dms-01"},
      {"Get=a+a", "Get=a+a"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const std::optional<Acl> acl = Acl::Parse(c.text);
    ASSERT_TRUE(acl.has_value());
    EXPECT_EQ(acl->ToString(), c.canonical);
    // Canonical text parses back to the same ACL.
    EXPECT_EQ(Acl::Parse(acl->ToString())->ToString(), c.canonical);
  }
}

TEST(DmAcl, RejectsMalformedAcls) {
  const char* bad[] = {
      "Get",             // no '='
      "Get=",            // empty id list
      "=srv1",           // no command
      "get=*",           // commands are case-sensitive
      "Read=*",          // unknown command
      "Copy=*",          // not an ACL command
      "Get=*&",          // trailing separator
      "&Get=*",          // leading separator
      "Get=*&&Add=*",    // empty entry
      "Get=srv1+",       // empty id
      "Get=+srv1",       // empty id
      "Get=srv1++srv2",  // empty id
      "Get=*&Get=srv1",  // command twice
      "Get=srv 1",       // whitespace
      "Get=srv1 ",       // trailing whitespace
      " Get=srv1",       // leading whitespace
      "Get=srv1\tx",     // tab
      "Get=a=b",         // '=' in an id
      "Get==a",          // '=' in an id
      "Get=@admin",      // unknown reserved identifier
      "Get=@",           // unknown reserved identifier
      "Add=*&Get",       // second entry malformed
  };
  for (const char* text : bad) {
    EXPECT_FALSE(Acl::Parse(text).has_value()) << "'" << text << "'";
  }
}

TEST(DmAcl, EmptyAclHasNoEntries) {
  const Acl acl = *Acl::Parse("");
  for (AclOp op : {AclOp::kAdd, AclOp::kDelete, AclOp::kExec, AclOp::kGet, AclOp::kReplace}) {
    EXPECT_FALSE(acl.Mentions(op));
    EXPECT_FALSE(acl.Allows(op, Principal::Device()));
    EXPECT_TRUE(acl.ServersFor(op).empty());
  }
  EXPECT_EQ(acl.ToString(), "");
}

TEST(DmAcl, MentionsAndServers) {
  const Acl acl = *Acl::Parse("Get=srv1+srv2&Replace=*");
  EXPECT_TRUE(acl.Mentions(AclOp::kGet));
  EXPECT_TRUE(acl.Mentions(AclOp::kReplace));
  EXPECT_FALSE(acl.Mentions(AclOp::kAdd));
  EXPECT_EQ(acl.ServersFor(AclOp::kGet), (std::vector<std::string>{"srv1", "srv2"}));
  EXPECT_EQ(acl.ServersFor(AclOp::kReplace), (std::vector<std::string>{"*"}));
  EXPECT_TRUE(acl.ServersFor(AclOp::kExec).empty());
}

TEST(DmAcl, OpAndPrincipalNames) {
  EXPECT_STREQ(AclOpName(AclOp::kAdd), "Add");
  EXPECT_STREQ(AclOpName(AclOp::kDelete), "Delete");
  EXPECT_STREQ(AclOpName(AclOp::kExec), "Exec");
  EXPECT_STREQ(AclOpName(AclOp::kGet), "Get");
  EXPECT_STREQ(AclOpName(AclOp::kReplace), "Replace");
  EXPECT_EQ(Principal::Device().ToString(), "device");
  EXPECT_EQ(Principal::User().ToString(), "user");
  EXPECT_EQ(Principal::Authority("srv1").ToString(), "server srv1");
}

TEST(Req_SEC1_Acl, PrincipalMatching) {
  const Principal device = Principal::Device();
  const Principal user = Principal::User();
  const Principal srv1 = Principal::Authority("srv1");
  const Principal other = Principal::Authority("other");
  const Principal at_user = Principal::Authority("@user");  // no ServerID can be "@user"
  struct Case {
    const char* acl;
    bool device, user, srv1, other, at_user;
  };
  const Case cases[] = {
      {"Get=*", true, true, true, true, true},
      {"Get=@device", true, true, false, false, false},
      {"Get=@user", false, true, false, false, false},
      {"Get=srv1", false, false, true, false, false},
      {"Get=other+srv1", false, false, true, true, false},
      {"Get=SRV1", false, false, false, false, false},   // ServerIDs are case-sensitive
      {"Replace=*", false, false, false, false, false},  // no Get entry at all
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.acl);
    const Acl acl = *Acl::Parse(c.acl);
    EXPECT_EQ(acl.Allows(AclOp::kGet, device), c.device);
    EXPECT_EQ(acl.Allows(AclOp::kGet, user), c.user);
    EXPECT_EQ(acl.Allows(AclOp::kGet, srv1), c.srv1);
    EXPECT_EQ(acl.Allows(AclOp::kGet, other), c.other);
    EXPECT_EQ(acl.Allows(AclOp::kGet, at_user), c.at_user);
  }
  // An authority without an id matches '*' only.
  EXPECT_TRUE(Acl::Parse("Get=*")->Allows(AclOp::kGet, Principal::Authority("")));
  EXPECT_FALSE(Acl::Parse("Get=srv1")->Allows(AclOp::kGet, Principal::Authority("")));
}

// --- Enforcement table --------------------------------------------------------------------------

enum Op { kGetValue, kGetChildren, kAdd, kReplace, kDelete, kExec, kReplaceAcl, kOpCount };
constexpr std::array<const char*, kOpCount> kOpLabels = {"GetV", "GetCh", "Add", "Repl",
                                                         "Del",  "Exec",  "RAcl"};

Principal PrincipalFromName(const std::string& name) {
  if (name == "device") return Principal::Device();
  if (name == "user") return Principal::User();
  return Principal::Authority(name);
}

std::string AclCell(const std::string& cell) { return cell == "-" ? std::string() : cell; }

bool Mutates(Op op) { return op != kGetValue && op != kGetChildren && op != kExec; }

TEST(Req_SEC1_Acl, EnforcementTable) {
  const auto rows =
      testing::ReadTable(std::string(DMCARD_TEST_DATA_DIR) + "/dm/acl_table.data", 12);
  int checked = 0;
  for (const testing::TableRow& row : rows) {
    const std::string& acl_p = row.fields[1];
    const std::string& acl_t = row.fields[2];
    const std::string& acl_l = row.fields[3];
    const Principal who = PrincipalFromName(row.fields[4]);
    for (int op = 0; op < kOpCount; ++op) {
      const std::string& expect = row.fields[5 + static_cast<size_t>(op)];
      SCOPED_TRACE("acl_table.data:" + std::to_string(row.line) + " case " + row.fields[0] + ", " +
                   who.ToString() + ", " + kOpLabels[static_cast<size_t>(op)]);
      ASSERT_TRUE(expect == "Y" || expect == "N") << "bad cell '" << expect << "'";
      const bool allowed = expect == "Y";

      TreeFixture f;
      int exec_calls = 0;
      f.tree.SetExecHandler([&exec_calls](MoTree&, std::string_view uri, ByteView data) {
        EXPECT_EQ(uri, "./P/T/L");
        EXPECT_EQ(Bytes(data.begin(), data.end()), B("go"));
        ++exec_calls;
        return DmStatus::kOk;
      });
      f.store.Begin();
      ASSERT_EQ(f.tree.Put(Interior("./P", AclCell(acl_p))), DmStatus::kOk);
      ASSERT_EQ(f.tree.Put(Interior("./P/T", AclCell(acl_t))), DmStatus::kOk);
      ASSERT_EQ(f.tree.Put(Leaf("./P/T/L", "v", AclCell(acl_l))), DmStatus::kOk);
      ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
      const std::string before = Dump(f.tree);
      const uint32_t gen = f.tree.generation();
      f.now += 60;

      f.store.Begin();
      DmStatus got = DmStatus::kCommandFailed;
      Bytes value;
      std::vector<std::string> children;
      switch (static_cast<Op>(op)) {
        case kGetValue:
          got = f.tree.GetValue(who, "./P/T/L", value);
          if (got == DmStatus::kOk) {
            EXPECT_EQ(value, B("v"));
          }
          break;
        case kGetChildren:
          got = f.tree.GetChildren(who, "./P/T", children);
          if (got == DmStatus::kOk) {
            EXPECT_EQ(children, std::vector<std::string>{"L"});
          }
          break;
        case kAdd:
          got = f.tree.AddLeaf(who, "./P/T/N", NodeFormat::kInt, "text/plain", B("7"));
          break;
        case kReplace:
          got = f.tree.ReplaceValue(who, "./P/T/L", B("w"));
          break;
        case kDelete:
          got = f.tree.Delete(who, "./P/T/L");
          break;
        case kExec:
          got = f.tree.Exec(who, "./P/T/L", B("go"));
          break;
        case kReplaceAcl:
          got = f.tree.ReplaceProperty(who, "./P/T/L", Property::kAcl, "Get=*");
          break;
        case kOpCount:
          break;
      }
      EXPECT_EQ(got, allowed ? DmStatus::kOk : DmStatus::kPermissionDenied);
      if (static_cast<Op>(op) == kExec) {
        EXPECT_EQ(exec_calls, allowed ? 1 : 0);
      }
      if (allowed && Mutates(static_cast<Op>(op))) {
        EXPECT_EQ(f.tree.generation(), gen + 1);
        EXPECT_NE(Dump(f.tree), before);
      } else {
        EXPECT_EQ(Dump(f.tree), before) << "a refused or read-only operation changed the tree";
      }
      ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 48 * kOpCount);
}

// --- Rules around the table ---------------------------------------------------------------------

TEST(Req_SEC1_Acl, RootDefaultAndInheritanceRule) {
  TreeFixture f;
  const Principal srv1 = Principal::Authority("srv1");
  EXPECT_EQ(f.tree.Read(".")->props.acl, MoTree::kRootAcl);
  f.store.Begin();
  ASSERT_EQ(f.tree.Put(Interior("./A")), DmStatus::kOk);
  ASSERT_EQ(f.tree.Put(Interior("./A/B", "Replace=srv1")), DmStatus::kOk);
  ASSERT_EQ(f.tree.Put(Interior("./A/B/C")), DmStatus::kOk);
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
  // Nodes with an empty ACL take the nearest ancestor's whole ACL.
  EXPECT_TRUE(f.tree.Allowed(srv1, "./A", AclOp::kAdd));
  EXPECT_TRUE(f.tree.Allowed(srv1, "./A", AclOp::kGet));
  EXPECT_TRUE(f.tree.Allowed(srv1, "./A/B/C", AclOp::kReplace));
  EXPECT_FALSE(f.tree.Allowed(srv1, "./A/B/C", AclOp::kGet));
  EXPECT_FALSE(f.tree.Allowed(srv1, "./A/B/C", AclOp::kAdd));
  EXPECT_FALSE(f.tree.Allowed(Principal::Device(), "./A/B/C", AclOp::kReplace));
  // The root's ACL may be replaced by whoever has Replace on the root, but never emptied.
  f.store.Begin();
  EXPECT_EQ(f.tree.ReplaceProperty(srv1, ".", Property::kAcl, "Get=*"),
            DmStatus::kPermissionDenied);
  Node root = Interior(".", "Add=*&Get=*&Replace=srv1");
  ASSERT_EQ(f.tree.Put(root), DmStatus::kOk);
  EXPECT_EQ(f.tree.ReplaceProperty(srv1, ".", Property::kAcl, ""), DmStatus::kCommandNotAllowed);
  EXPECT_EQ(f.tree.ReplaceProperty(srv1, ".", Property::kAcl, "Get=*&Replace=srv1"), DmStatus::kOk);
  EXPECT_FALSE(f.tree.Allowed(srv1, "./A", AclOp::kAdd));
  root.props.acl.clear();
  EXPECT_EQ(f.tree.Put(root), DmStatus::kCommandNotAllowed);
  f.store.Commit();
}

TEST(Req_SEC1_Acl, InvalidAclIsRefusedWithoutChange) {
  TreeFixture f;
  const Principal dev = Principal::Device();
  f.store.Begin();
  ASSERT_EQ(f.tree.Put(Interior("./A", "Add=*&Get=*&Replace=*")), DmStatus::kOk);
  ASSERT_EQ(f.tree.Put(Leaf("./A/L", "x")), DmStatus::kOk);
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
  const std::string before = Dump(f.tree);
  f.store.Begin();
  EXPECT_EQ(f.tree.AddInterior(dev, "./A/B", "Get=*&"), DmStatus::kBadRequest);
  EXPECT_EQ(f.tree.AddLeaf(dev, "./A/C", NodeFormat::kChr, "", B("x"), "Fetch=*"),
            DmStatus::kBadRequest);
  EXPECT_EQ(f.tree.ReplaceProperty(dev, "./A/L", Property::kAcl, "Get=srv 1"),
            DmStatus::kBadRequest);
  EXPECT_EQ(f.tree.Put(Interior("./A/D", "Get")), DmStatus::kBadRequest);
  EXPECT_EQ(Dump(f.tree), before);
  f.store.Abort();
}

// OMA-TS-DM_TND 1.2 §7.7.1.3: Replace on a leaf covers its value and Title, not its ACL; a
// leaf's ACL is changed through Replace on its parent. An interior node's own Replace covers
// its ACL, and so does Replace on its parent.
TEST(Req_SEC1_Acl, ReplaceOfAclFollowsOmaRules) {
  TreeFixture f;
  const Principal srv1 = Principal::Authority("srv1");
  const Principal other = Principal::Authority("other");
  f.store.Begin();
  ASSERT_EQ(f.tree.Put(Interior("./A", "Get=*&Replace=other")), DmStatus::kOk);
  ASSERT_EQ(f.tree.Put(Leaf("./A/L", "x", "Get=*&Replace=srv1")), DmStatus::kOk);
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);
  const std::string before = Dump(f.tree);
  f.store.Begin();
  EXPECT_EQ(f.tree.ReplaceProperty(other, "./A/L", Property::kTitle, "t"),
            DmStatus::kPermissionDenied)
      << "Title follows the leaf's own ACL";
  EXPECT_EQ(f.tree.ReplaceProperty(srv1, "./A/L", Property::kAcl, "Get=*"),
            DmStatus::kPermissionDenied)
      << "a leaf's Replace right does not cover its ACL";
  EXPECT_EQ(f.tree.ReplaceProperty(srv1, "./A", Property::kAcl, "Get=*"),
            DmStatus::kPermissionDenied);
  EXPECT_EQ(Dump(f.tree), before);
  EXPECT_EQ(f.tree.ReplaceProperty(srv1, "./A/L", Property::kTitle, "Name of L"), DmStatus::kOk);
  // The parent's Replace right takes control of the child: first its ACL, then its value.
  EXPECT_EQ(f.tree.ReplaceValue(other, "./A/L", B("y")), DmStatus::kPermissionDenied);
  EXPECT_EQ(f.tree.ReplaceProperty(other, "./A/L", Property::kAcl, "Get=*&Replace=other"),
            DmStatus::kOk);
  std::string title;
  EXPECT_EQ(f.tree.GetProperty(other, "./A/L", Property::kTitle, title), DmStatus::kOk);
  EXPECT_EQ(title, "Name of L");
  EXPECT_EQ(f.tree.ReplaceValue(srv1, "./A/L", B("y")), DmStatus::kPermissionDenied);
  EXPECT_EQ(f.tree.ReplaceValue(other, "./A/L", B("y")), DmStatus::kOk);
  // An interior node's own Replace right covers its ACL.
  EXPECT_EQ(f.tree.ReplaceProperty(other, "./A", Property::kAcl, "Get=*&Replace=other+srv1"),
            DmStatus::kOk);
  // Read-only and unsupported properties.
  for (Property p :
       {Property::kFormat, Property::kType, Property::kSize, Property::kTStamp, Property::kVerNo}) {
    EXPECT_EQ(f.tree.ReplaceProperty(other, "./A/L", p, "1"), DmStatus::kCommandNotAllowed);
  }
  EXPECT_EQ(f.tree.ReplaceProperty(other, "./A/L", Property::kName, "M"),
            DmStatus::kOptionalNotSupported);
  f.store.Commit();
}

// --- Secret leaves ------------------------------------------------------------------------------

TEST(Req_SEC1_Acl, SecretLeavesAreUnreadableButTheirPropertiesAreNot) {
  TreeFixture f;
  const Principal srv1 = Principal::Authority("srv1");
  f.store.Begin();
  ASSERT_EQ(f.tree.Put(Interior("./DMAcc", "Add=*&Delete=*&Exec=*&Get=*&Replace=*")),
            DmStatus::kOk);
  ASSERT_EQ(f.tree.Put(Interior("./DMAcc/S")), DmStatus::kOk);
  ASSERT_EQ(f.tree.Put(Leaf("./DMAcc/S/AAuthSecret", "s3cret!", "", NodeFormat::kBin)),
            DmStatus::kOk);
  ASSERT_EQ(f.tree.AddLeaf(srv1, "./DMAcc/S/AAuthData", NodeFormat::kB64, "", B("QUJD")),
            DmStatus::kOk);
  Node marked = Leaf("./DMAcc/S/Key", "k", "Get=*");
  marked.props.secret = true;
  ASSERT_EQ(f.tree.Put(marked), DmStatus::kOk);
  ASSERT_EQ(f.tree.Put(Leaf("./DMAcc/S/AAuthName", "name")), DmStatus::kOk);
  ASSERT_EQ(f.store.Commit(), StoreStatus::kOk);

  EXPECT_TRUE(f.tree.Read("./DMAcc/S/AAuthSecret")->props.secret);
  EXPECT_TRUE(f.tree.Read("./DMAcc/S/AAuthData")->props.secret);
  EXPECT_FALSE(f.tree.Read("./DMAcc/S/AAuthName")->props.secret);
  for (const Principal& who : {Principal::Device(), Principal::User(), srv1}) {
    SCOPED_TRACE(who.ToString());
    for (const char* uri : {"./DMAcc/S/AAuthSecret", "./DMAcc/S/AAuthData", "./DMAcc/S/Key"}) {
      Bytes out;
      EXPECT_EQ(f.tree.GetValue(who, uri, out), DmStatus::kPermissionDenied) << uri;
      EXPECT_TRUE(out.empty());
    }
    std::string s;
    EXPECT_EQ(f.tree.GetProperty(who, "./DMAcc/S/AAuthSecret", Property::kFormat, s),
              DmStatus::kOk);
    EXPECT_EQ(s, "bin");
    EXPECT_EQ(f.tree.GetProperty(who, "./DMAcc/S/AAuthSecret", Property::kSize, s), DmStatus::kOk);
    EXPECT_EQ(s, "7");
    EXPECT_EQ(f.tree.GetProperty(who, "./DMAcc/S/AAuthData", Property::kSize, s), DmStatus::kOk);
    EXPECT_EQ(s, "4");
    EXPECT_EQ(f.tree.GetProperty(who, "./DMAcc/S/AAuthData", Property::kName, s), DmStatus::kOk);
    EXPECT_EQ(s, "AAuthData");
    Bytes name;
    EXPECT_EQ(f.tree.GetValue(who, "./DMAcc/S/AAuthName", name), DmStatus::kOk);
    EXPECT_EQ(name, B("name"));
  }
  // Write-only: with Replace they can be changed, still not read.
  f.store.Begin();
  EXPECT_EQ(f.tree.ReplaceValue(srv1, "./DMAcc/S/AAuthSecret", B("new")), DmStatus::kOk);
  Bytes out;
  EXPECT_EQ(f.tree.GetValue(srv1, "./DMAcc/S/AAuthSecret", out), DmStatus::kPermissionDenied);
  f.store.Commit();
}

TEST(Req_SEC1_Acl, DigestTellsNothingAboutSecretValues) {
  TreeFixture a;
  TreeFixture b;
  for (TreeFixture* f : {&a, &b}) {
    f->store.Begin();
    ASSERT_EQ(f->tree.Put(Interior("./DMAcc")), DmStatus::kOk);
    ASSERT_EQ(f->tree.Put(Leaf("./DMAcc/AAuthSecret", f == &a ? "one" : "two")), DmStatus::kOk);
    ASSERT_EQ(f->store.Commit(), StoreStatus::kOk);
  }
  EXPECT_EQ(a.tree.Digest(), b.tree.Digest());
  // A change of the secret still changes the digest (through VerNo).
  const Bytes before = a.tree.Digest();
  a.store.Begin();
  ASSERT_EQ(a.tree.Put(Leaf("./DMAcc/AAuthSecret", "one")), DmStatus::kOk);
  a.store.Commit();
  EXPECT_NE(a.tree.Digest(), before);
}

}  // namespace
}  // namespace dmcard::dm
