// The trace model's matchers, the native format's reader (docs/trace-format.md) and the
// writer `dmcard-vicc --record` uses.
#include "host/trace.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/apdu.h"

namespace dmcard {

namespace {

constexpr int kMaxIncludeDepth = 8;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    const size_t start = i;
    while (i < s.size() && !IsSpace(s[i])) ++i;
    if (i > start) words.push_back(s.substr(start, i - start));
  }
  return words;
}

bool IsName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool ParseCount(std::string_view text, size_t& out) {
  if (text.empty() || text.size() > 6) return false;
  out = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<size_t>(c - '0');
  }
  return true;
}

// "{8}", "{8:name}", "{*:name}" into `item`.
bool ParseBraces(std::string_view word, DataItem& item, std::string& error) {
  const std::string_view inner = word.substr(1, word.size() - 2);
  const size_t colon = inner.find(':');
  const std::string_view count = inner.substr(0, colon);
  item.kind = colon == std::string_view::npos ? DataItem::Kind::kAny : DataItem::Kind::kCapture;
  if (colon != std::string_view::npos) {
    item.name = std::string(inner.substr(colon + 1));
    if (!IsName(item.name)) {
      error = "'" + std::string(word) + "': a capture name is letters, digits, '_', '-', '.'";
      return false;
    }
  }
  if (count == "*" && item.kind == DataItem::Kind::kCapture) {
    item.rest = true;
    return true;
  }
  if (!ParseCount(count, item.length)) {
    error = "'" + std::string(word) + "': expected {N}, {N:name} or {*:name}";
    return false;
  }
  return true;
}

// The expected data of `m`, rendered against `actual` byte by byte (".." where any byte goes).
size_t FixedLength(const std::vector<DataItem>& items) {
  size_t n = 0;
  for (const DataItem& item : items) {
    if (item.rest) continue;
    n += item.kind == DataItem::Kind::kBytes ? item.bytes.size() : item.length;
  }
  return n;
}

bool SwMatches(const std::vector<std::vector<BytePattern>>& sw, uint8_t sw1, uint8_t sw2) {
  for (const std::vector<BytePattern>& alt : sw) {
    if (alt.size() == 2 && alt[0].Matches(sw1) && alt[1].Matches(sw2)) return true;
  }
  return false;
}

std::string PatternsToString(const std::vector<BytePattern>& patterns, const char* sep) {
  std::string s;
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (i > 0) s += sep;
    s += patterns[i].ToString();
  }
  return s;
}

// Strips a trailing " # comment" from a directive or exchange line.
std::string_view StripComment(std::string_view line) {
  for (size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '#' && IsSpace(line[i - 1])) return line.substr(0, i);
  }
  return line;
}

struct NativeParser {
  Trace& trace;
  std::string& error;
  int depth = 0;

  bool Fail(const SourceLocation& where, const std::string& what) {
    error = where.ToString() + ": " + what;
    return false;
  }

  bool Parse(std::string_view text, const std::string& file);
  bool Line(std::string_view line, const SourceLocation& where);
  bool Directive(std::string_view word, std::string_view rest, const SourceLocation& where);
  bool Include(std::string_view name, const SourceLocation& where);
};

bool NativeParser::Parse(std::string_view text, const std::string& file) {
  int number = 0;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    ++number;
    if (depth == 0) trace.source_lines.emplace_back(line);
    if (!Line(line, SourceLocation{file, number})) return false;
  }
  return true;
}

bool NativeParser::Line(std::string_view line, const SourceLocation& where) {
  line = Trim(line);
  if (line.empty() || line.front() == '#') return true;
  const char kind = line.front();
  const std::string_view rest = Trim(StripComment(line.substr(1)));
  std::string what;
  if (kind == '>') {
    Step step;
    step.where = where;
    step.last_line = where.line;
    if (!ParseCommandParts(rest, step.command, what)) return Fail(where, what);
    trace.steps.push_back(std::move(step));
    return true;
  }
  if (kind == '<') {
    if (trace.steps.empty() || trace.steps.back().kind != StepKind::kCommand ||
        trace.steps.back().expect.has_value()) {
      return Fail(where, "a '<' line (expected response) must follow its '>' line (command)");
    }
    ResponseMatcher matcher;
    if (!ParseResponseMatcher(rest, matcher, what)) return Fail(where, what);
    trace.steps.back().expect = std::move(matcher);
    trace.steps.back().last_line = where.line;
    return true;
  }
  if (kind == '@') {
    const std::string_view body = line.substr(1);
    const size_t space = body.find_first_of(" \t");
    const std::string_view word = body.substr(0, space);
    const std::string_view args = space == std::string_view::npos
                                      ? std::string_view()
                                      : Trim(StripComment(body.substr(space)));
    return Directive(word, args, where);
  }
  return Fail(where,
              "a line starts with '>' (command), '<' (expected response), '@' "
              "(directive) or '#' (comment), not '" +
                  std::string(1, kind) + "'");
}

bool NativeParser::Directive(std::string_view word, std::string_view args,
                             const SourceLocation& where) {
  static const std::map<std::string_view, StepKind> kEvents = {{"power-on", StepKind::kPowerOn},
                                                               {"power-off", StepKind::kPowerOff},
                                                               {"reset", StepKind::kReset},
                                                               {"remove", StepKind::kRemove},
                                                               {"insert", StepKind::kInsert}};
  Step step;
  step.where = where;
  step.last_line = where.line;
  std::string what;
  if (auto it = kEvents.find(word); it != kEvents.end()) {
    if (!args.empty()) return Fail(where, "@" + std::string(word) + " takes no argument");
    step.kind = it->second;
  } else if (word == "atr") {
    step.kind = StepKind::kAtr;
    if (!ParseBytePatterns(args, step.atr, what) || step.atr.empty()) {
      return Fail(where, "@atr: " + (what.empty() ? std::string("no ATR bytes") : what));
    }
  } else if (word == "case" || word == "echo") {
    step.kind = word == "case" ? StepKind::kCase : StepKind::kEcho;
    step.text = std::string(args);
    if (step.kind == StepKind::kCase && args.empty()) return Fail(where, "@case needs a name");
  } else if (word == "set") {
    const std::vector<std::string_view> w = Words(args);
    step.kind = StepKind::kSet;
    if (w.size() < 2 || !IsName(w[0])) return Fail(where, "expected '@set NAME HEX'");
    step.text = std::string(w[0]);
    const std::optional<Bytes> value = FromHex(args.substr(w[0].size()));
    if (!value) return Fail(where, "@set " + step.text + ": the value is not hex");
    step.bytes = *value;
  } else if (word == "delay") {
    size_t ms = 0;
    if (!ParseCount(args, ms)) return Fail(where, "expected '@delay MILLISECONDS'");
    step.kind = StepKind::kDelay;
    step.number = static_cast<long>(ms);
  } else if (word == "include") {
    return Include(args, where);
  } else {
    return Fail(where, "unknown directive '@" + std::string(word) +
                           "' (known: @atr, @power-on, @power-off, @reset, @remove, @insert, "
                           "@case, @set, @echo, @delay, @include)");
  }
  trace.steps.push_back(std::move(step));
  return true;
}

bool NativeParser::Include(std::string_view name, const SourceLocation& where) {
  if (name.empty()) return Fail(where, "@include needs a file name");
  if (depth >= kMaxIncludeDepth) {
    return Fail(where, "@include nested more than " + std::to_string(kMaxIncludeDepth) +
                           " deep (does a file include itself?)");
  }
  std::filesystem::path path(std::string{name});
  if (path.is_relative()) path = std::filesystem::path(where.file).parent_path() / path;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(where, "cannot read included file " + path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  ++depth;
  const bool ok = Parse(buffer.str(), path.string());
  --depth;
  return ok;
}

}  // namespace

std::string SourceLocation::ToString() const { return file + ":" + std::to_string(line); }

std::string BytePattern::ToString() const {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string s(2, '?');
  if (mask & 0xF0) s[0] = kDigits[value >> 4];
  if (mask & 0x0F) s[1] = kDigits[value & 0x0F];
  return s;
}

bool ParseBytePatterns(std::string_view text, std::vector<BytePattern>& out, std::string& error) {
  std::string digits;
  for (char c : text) {
    if (IsSpace(c)) continue;
    if (c != '?' && HexDigit(c) < 0) {
      error = "'" + std::string(1, c) + "' is not a hex digit or '?'";
      return false;
    }
    digits.push_back(c);
  }
  if (digits.size() % 2 != 0) {
    error = "odd number of hex digits in '" + std::string(Trim(text)) + "'";
    return false;
  }
  for (size_t i = 0; i < digits.size(); i += 2) {
    BytePattern p{0, 0};
    for (int half = 0; half < 2; ++half) {
      const char c = digits[i + half];
      if (c == '?') continue;
      const int shift = half == 0 ? 4 : 0;
      p.value |= static_cast<uint8_t>(HexDigit(c) << shift);
      p.mask |= static_cast<uint8_t>(0x0F << shift);
    }
    out.push_back(p);
  }
  return true;
}

bool ParseResponseMatcher(std::string_view text, ResponseMatcher& out, std::string& error) {
  std::vector<std::string_view> words = Words(text);
  if (words.empty()) {
    error = "empty expected response (it ends with a status word, e.g. '< 90 00')";
    return false;
  }
  if (words.back().find('|') != std::string_view::npos) {
    std::string_view alts = words.back();
    words.pop_back();
    while (true) {
      const size_t bar = alts.find('|');
      std::vector<BytePattern> sw;
      if (!ParseBytePatterns(alts.substr(0, bar), sw, error) || sw.size() != 2) {
        error = "status word alternatives are written 9000|6283|63C? (4 digits each, no spaces)";
        return false;
      }
      out.sw.push_back(std::move(sw));
      if (bar == std::string_view::npos) break;
      alts = alts.substr(bar + 1);
    }
  }
  for (std::string_view word : words) {
    if (word == "*") {
      DataItem any;
      any.kind = DataItem::Kind::kAny;
      any.rest = true;
      out.data.push_back(std::move(any));
      continue;
    }
    if (word.front() == '{' && word.back() == '}' && word.size() >= 3) {
      DataItem item;
      if (!ParseBraces(word, item, error)) return false;
      out.data.push_back(std::move(item));
      continue;
    }
    if (out.data.empty() || out.data.back().kind != DataItem::Kind::kBytes) {
      out.data.emplace_back();
    }
    if (!ParseBytePatterns(word, out.data.back().bytes, error)) return false;
  }
  if (out.sw.empty()) {
    if (out.data.empty() || out.data.back().kind != DataItem::Kind::kBytes ||
        out.data.back().bytes.size() < 2) {
      error = "the expected response must end with its status word (e.g. '90 00', '61 ?\?')";
      return false;
    }
    std::vector<BytePattern>& tail = out.data.back().bytes;
    out.sw.emplace_back(tail.end() - 2, tail.end());
    tail.resize(tail.size() - 2);
    if (tail.empty()) out.data.pop_back();
  }
  for (size_t i = 0; i + 1 < out.data.size(); ++i) {
    if (out.data[i].rest) {
      error = "'*' and {*:name} take every byte up to the status word: nothing may follow them";
      return false;
    }
  }
  return true;
}

bool ResponseMatcher::Matches(ByteView response, std::map<std::string, Bytes>* captures) const {
  if (response.size() < 2) return false;
  if (!SwMatches(sw, response[response.size() - 2], response[response.size() - 1])) return false;
  const ByteView body = response.first(response.size() - 2);
  const size_t fixed = FixedLength(data);
  const bool open = !data.empty() && data.back().rest;
  if (open ? body.size() < fixed : body.size() != fixed) return false;
  std::map<std::string, Bytes> found;
  size_t at = 0;
  for (const DataItem& item : data) {
    if (item.kind == DataItem::Kind::kBytes) {
      for (const BytePattern& p : item.bytes) {
        if (!p.Matches(body[at++])) return false;
      }
      continue;
    }
    const size_t n = item.rest ? body.size() - at : item.length;
    if (item.kind == DataItem::Kind::kCapture) {
      found[item.name] = Bytes(body.begin() + at, body.begin() + at + n);
    }
    at += n;
  }
  if (captures != nullptr) {
    for (auto& [name, value] : found) (*captures)[name] = std::move(value);
  }
  return true;
}

std::string ResponseMatcher::ToString() const {
  std::string s;
  for (const DataItem& item : data) {
    if (!s.empty()) s += ' ';
    switch (item.kind) {
      case DataItem::Kind::kBytes:
        s += PatternsToString(item.bytes, " ");
        break;
      case DataItem::Kind::kAny:
        s += item.rest ? "*" : "{" + std::to_string(item.length) + "}";
        break;
      case DataItem::Kind::kCapture:
        s += "{" + (item.rest ? std::string("*") : std::to_string(item.length)) + ":" + item.name +
             "}";
        break;
    }
  }
  if (!s.empty()) s += ' ';
  if (sw.size() == 1) return s + PatternsToString(sw[0], " ");
  for (size_t i = 0; i < sw.size(); ++i) s += (i > 0 ? "|" : "") + PatternsToString(sw[i], "");
  return s;
}

bool ParseCommandParts(std::string_view text, std::vector<CommandPart>& out, std::string& error) {
  for (std::string_view word : Words(text)) {
    if (word.size() % 2 == 0 && word.find_first_not_of('*') == std::string_view::npos) {
      if (out.empty() || out.back().kind != CommandPart::Kind::kWithheld) {
        out.push_back(CommandPart{CommandPart::Kind::kWithheld, {}, 0, {}});
      }
      out.back().count += word.size() / 2;
      continue;
    }
    if (word.starts_with("${") && word.ends_with("}")) {
      const std::string name(word.substr(2, word.size() - 3));
      if (!IsName(name)) {
        error = "'" + std::string(word) + "': a value name is letters, digits, '_', '-', '.'";
        return false;
      }
      out.push_back(CommandPart{CommandPart::Kind::kValue, {}, 0, name});
      continue;
    }
    const std::optional<Bytes> bytes = FromHex(word);
    if (!bytes) {
      error = "'" + std::string(word) +
              "' is not hex bytes, '**' (a withheld byte) or ${name} (a captured value)";
      return false;
    }
    if (out.empty() || out.back().kind != CommandPart::Kind::kBytes) {
      out.push_back(CommandPart{CommandPart::Kind::kBytes, {}, 0, {}});
    }
    Append(out.back().bytes, *bytes);
  }
  if (out.empty()) {
    error = "a '>' line needs the command's bytes";
    return false;
  }
  return true;
}

bool BuildCommand(const std::vector<CommandPart>& parts, const std::map<std::string, Bytes>& values,
                  Bytes& out, std::string& error) {
  out.clear();
  for (const CommandPart& part : parts) {
    switch (part.kind) {
      case CommandPart::Kind::kBytes:
        Append(out, part.bytes);
        break;
      case CommandPart::Kind::kWithheld:
        error = "the command was recorded without secrets (" + std::to_string(part.count) +
                " bytes written as **): re-record with --record-secrets, or write the value "
                "as ${name} and give it with '@set name HEX'";
        return false;
      case CommandPart::Kind::kValue: {
        const auto it = values.find(part.name);
        if (it == values.end()) {
          error = "${" + part.name + "} has no value: no capture {N:" + part.name + "} or '@set " +
                  part.name + " HEX' ran before this command";
          return false;
        }
        Append(out, it->second);
        break;
      }
    }
  }
  return true;
}

bool ParseNativeTrace(std::string_view text, const std::string& file, Trace& trace,
                      std::string& error) {
  NativeParser parser{trace, error};
  return parser.Parse(text, file);
}

TraceWriter::~TraceWriter() { Close(); }

bool TraceWriter::Open(const std::filesystem::path& path, const std::string& header, ByteView atr,
                       std::string& error) {
  Close();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0 && ::fchmod(fd, 0600) == 0) file_ = ::fdopen(fd, "w");
  if (file_ == nullptr) {
    error = "cannot write trace " + path.string() + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return false;
  }
  Line("# " + header);
  Line("@atr " + ToHex(atr, ' '));
  return true;
}

void TraceWriter::Close() {
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
}

void TraceWriter::Exchange(ByteView command, ByteView response, bool withhold) {
  Line("> " + CommandLine(command, withhold));
  Line("< " + ToHex(response, ' '));
}

std::string TraceWriter::CommandLine(ByteView command, bool withhold) {
  if (!withhold) return ToHex(command, ' ');
  // The data field as ** per byte; a malformed command after its 4-byte header (its length
  // bytes may be wrong, its data still secret).
  const ParsedApdu p = ParseCommand(command, true);
  size_t from = 4;
  size_t to = command.size();
  if (p.error == Sw::kOk) {
    from = static_cast<size_t>(p.command.data.data() - command.data());
    to = from + p.command.data.size();
  }
  std::string line;
  for (size_t i = 0; i < command.size(); ++i) {
    if (i > 0) line += ' ';
    line += i >= from && i < to ? "**" : ToHex(command.subspan(i, 1));
  }
  return line;
}

void TraceWriter::Line(const std::string& line) {
  if (file_ == nullptr) return;
  std::fprintf(file_, "%s\n", line.c_str());
  std::fflush(file_);
}

}  // namespace dmcard
