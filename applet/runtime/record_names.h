// Declarations of persistent record names: each owner of records (an applet, the PIN service, the
// key store) declares every name it writes once, in one table, with the record's format and its
// version, and reads and writes its records through those declarations. docs/card-image-format.md
// lists the tables; a test holds every record of real card images to them.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace dmcard {

struct RecordName {
  // The name, or a pattern of names: '*' stands for one segment (no '/'), a final "**" for the
  // rest of the name (at least one character, '/' allowed).
  std::string_view pattern;
  uint8_t version;  // format version in the record's first byte; 0: a fixed layout without one
  std::string_view format;
  bool legacy = false;  // written by earlier versions only: migrated or erased at start-up
};

// True when `name` is one of the names `pattern` stands for.
constexpr bool RecordNameMatches(std::string_view pattern, std::string_view name) {
  while (!pattern.empty()) {
    if (pattern == "**") return !name.empty();
    if (pattern[0] == '*') {
      const size_t end = name.find('/');
      const std::string_view segment = name.substr(0, end);
      if (segment.empty()) return false;
      pattern.remove_prefix(1);
      name.remove_prefix(segment.size());
      continue;
    }
    if (name.empty() || name[0] != pattern[0]) return false;
    pattern.remove_prefix(1);
    name.remove_prefix(1);
  }
  return name.empty();
}

// The declaration in `names` that `name` matches; null when none does.
constexpr const RecordName* FindRecordName(std::span<const RecordName> names,
                                           std::string_view name) {
  for (const RecordName& n : names) {
    if (RecordNameMatches(n.pattern, name)) return &n;
  }
  return nullptr;
}

}  // namespace dmcard
