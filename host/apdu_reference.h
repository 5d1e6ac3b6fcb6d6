// The human reference of the card's commands (apdu-specs/reference/*.md), generated from the
// machine-readable one (apdu-specs/*.json, host/apdu_spec.h): one Markdown page per group with a
// section per command (header table, data, Le, status words with their meanings, notes, the
// standard's clause, the examples as named exchanges) and an index. dmcard-specdoc
// (apdu-specs/specdoc.cc; `ninja apdu-reference`) writes them; the unit test
// ApduSpecs.ReferencePagesAreUpToDate compares them with the committed pages.
#pragma once

#include <string>
#include <vector>

#include "host/apdu_spec.h"

namespace dmcard {

// One generated page: its file name under apdu-specs/reference/ and its text.
struct ReferencePage {
  std::string file;  // "index.md", "runtime.md", "dm.md"
  std::string text;
};

// index.md, then a page per group, in the set's order.
std::vector<ReferencePage> ApduReferencePages(const ApduSpecSet& specs);

}  // namespace dmcard
