// Reads pipe-separated test tables: "# comment" lines, then "field | field | ...".
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace dmcard::testing {

struct TableRow {
  int line = 0;
  std::vector<std::string> fields;  // trimmed
};

inline std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// Fails the calling test (ADD_FAILURE) when the file is missing or a row has the wrong width.
inline std::vector<TableRow> ReadTable(const std::string& path, size_t width) {
  std::vector<TableRow> rows;
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot open test table " << path;
    return rows;
  }
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (Trim(line).empty() || Trim(line)[0] == '#') continue;
    TableRow row{n, {}};
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, '|')) row.fields.push_back(Trim(field));
    if (!line.empty() && line.back() == '|') row.fields.push_back("");
    if (row.fields.size() != width) {
      ADD_FAILURE() << path << ":" << n << ": expected " << width << " fields";
      continue;
    }
    rows.push_back(row);
  }
  if (rows.empty()) ADD_FAILURE() << "test table " << path << " has no rows";
  return rows;
}

}  // namespace dmcard::testing
