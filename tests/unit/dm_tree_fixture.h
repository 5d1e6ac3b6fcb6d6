// Shared by the MO tree tests: a tree on its own RAM store with a fake clock, and a dump of
// everything observable about a tree (to prove that a refused operation changed nothing).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>

#include "dm/mo_tree.h"
#include "runtime/storage_medium.h"

namespace dmcard::dm::treetest {

// A tree on its own RAM store with a fake clock.
struct TreeFixture {
  int64_t now = 1'700'000'000;
  std::shared_ptr<RamMedium> medium = std::make_shared<RamMedium>();
  PersistentStore store;
  MoTree tree;

  explicit TreeFixture(PersistentStore::Options options = {}, UriLimits limits = {})
      : store(medium, options),
        tree(
            store, "dm/", [this] { return now; }, limits) {
    store.Begin();
    EXPECT_EQ(tree.Init(), DmStatus::kOk);
    EXPECT_EQ(store.Commit(), StoreStatus::kOk);
  }
};

// Every node with all properties and the value, the generation counter and the digest.
inline std::string Dump(const MoTree& tree) {
  std::ostringstream out;
  for (const Node& n : tree.Walk()) {
    out << n.uri << " i=" << n.interior << " f=" << FormatName(n.props.format)
        << " type=" << n.props.type << " acl=" << n.props.acl << " title=" << n.props.title
        << " ts=" << n.props.tstamp << " v=" << n.props.verno << " s=" << n.props.secret
        << " val=" << ToHex(n.value) << "\n";
  }
  out << "gen=" << tree.generation() << " digest=" << ToHex(tree.Digest()) << "\n";
  return out.str();
}

inline Node Interior(std::string uri, std::string acl = {}) {
  Node n;
  n.uri = std::move(uri);
  n.interior = true;
  n.props.acl = std::move(acl);
  return n;
}

}  // namespace dmcard::dm::treetest
