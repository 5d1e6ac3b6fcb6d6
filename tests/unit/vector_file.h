// Reader for the test-vector data files under tests/data (DMCARD_TEST_DATA_DIR).
//
// File format, one case per line:
//   # comment (also: blank lines are ignored)
//   description | name=hex | name=hex ...
// The description is free text without '|'; field names are [A-Za-z0-9_]+ and unique within a
// line; values are hex digits (even count, may be empty).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/bytes.h"

namespace dmcard::testing {

struct VectorCase {
  std::string file;  // as given to LoadVectorFile (relative to DMCARD_TEST_DATA_DIR)
  int line = 0;
  std::string description;
  std::map<std::string, Bytes> fields;

  bool Has(const std::string& name) const { return fields.count(name) != 0; }
  // The field's bytes. A missing field is recorded as a test failure naming the case, and an
  // empty value is returned.
  const Bytes& Get(const std::string& name) const;
  // "file:line: description" for SCOPED_TRACE and messages.
  std::string Where() const;
};

// Parses the text of a vector file. On the first malformed line returns false, with `error`
// saying which line and why; `cases` then holds the cases before it.
bool ParseVectorText(std::string_view text, const std::string& file, std::vector<VectorCase>& cases,
                     std::string& error);

// Loads DMCARD_TEST_DATA_DIR/relative_path. A file that is missing or unreadable, has a
// malformed line or holds no case is a test failure (never a skip); the result is then empty.
std::vector<VectorCase> LoadVectorFile(const std::string& relative_path);

}  // namespace dmcard::testing
