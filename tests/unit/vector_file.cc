#include "vector_file.h"

#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <sstream>

namespace dmcard::testing {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Strict hex: only hex digits, even count.
bool ParseHex(std::string_view hex, Bytes& out, std::string& why) {
  if (hex.size() % 2 != 0) {
    why = "odd number of hex digits";
    return false;
  }
  out.clear();
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexDigit(hex[i]);
    const int lo = HexDigit(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      why = "not a hex digit in value";
      return false;
    }
    out.push_back(static_cast<uint8_t>((hi << 4) | lo));
  }
  return true;
}

bool ParseCaseLine(std::string_view line, VectorCase& c, std::string& why) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t bar = line.find('|', start);
    parts.push_back(
        Trim(line.substr(start, bar == std::string_view::npos ? line.npos : bar - start)));
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  if (parts[0].empty()) {
    why = "empty description";
    return false;
  }
  if (parts.size() < 2) {
    why = "no field (expected 'description | name=hex ...')";
    return false;
  }
  c.description = std::string(parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string_view part = parts[i];
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      why = "field without '=': '" + std::string(part) + "'";
      return false;
    }
    const std::string_view name = Trim(part.substr(0, eq));
    if (name.empty()) {
      why = "field without a name";
      return false;
    }
    for (char ch : name) {
      if (!IsNameChar(ch)) {
        why = "bad field name '" + std::string(name) + "'";
        return false;
      }
    }
    Bytes value;
    std::string hex_why;
    if (!ParseHex(Trim(part.substr(eq + 1)), value, hex_why)) {
      why = "field '" + std::string(name) + "': " + hex_why;
      return false;
    }
    if (!c.fields.emplace(std::string(name), std::move(value)).second) {
      why = "duplicate field '" + std::string(name) + "'";
      return false;
    }
  }
  return true;
}

}  // namespace

const Bytes& VectorCase::Get(const std::string& name) const {
  static const Bytes kEmpty;
  auto it = fields.find(name);
  if (it == fields.end()) {
    ADD_FAILURE() << Where() << ": missing field '" << name << "'";
    return kEmpty;
  }
  return it->second;
}

std::string VectorCase::Where() const {
  return file + ":" + std::to_string(line) + ": " + description;
}

bool ParseVectorText(std::string_view text, const std::string& file, std::vector<VectorCase>& cases,
                     std::string& error) {
  int line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    const std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#') continue;
    VectorCase c;
    c.file = file;
    c.line = line_no;
    std::string why;
    if (!ParseCaseLine(line, c, why)) {
      error = file + ":" + std::to_string(line_no) + ": malformed line: " + why;
      return false;
    }
    cases.push_back(std::move(c));
  }
  return true;
}

std::vector<VectorCase> LoadVectorFile(const std::string& relative_path) {
  const std::string path = std::string(DMCARD_TEST_DATA_DIR) + "/" + relative_path;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot open test vector file " << path;
    return {};
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    ADD_FAILURE() << "cannot read test vector file " << path;
    return {};
  }
  std::vector<VectorCase> cases;
  std::string error;
  if (!ParseVectorText(text.str(), relative_path, cases, error)) {
    ADD_FAILURE() << error;
    return {};
  }
  if (cases.empty()) {
    ADD_FAILURE() << "test vector file " << path << " holds no case";
    return {};
  }
  return cases;
}

}  // namespace dmcard::testing
