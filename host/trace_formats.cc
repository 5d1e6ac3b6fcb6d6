// scriptor and apdutool scripts into the trace model, format detection, and the two tools'
// output styles. The facts reproduced here (what lines scriptor accepts, its status word
// texts, apdutool's statements and output lines) are in docs/trace-format.md.
#include "host/trace_formats.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "runtime/apdu.h"

namespace dmcard {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ContainsNoCase(std::string_view line, std::string_view word) {
  return Lower(line).find(word) != std::string::npos;
}

std::string_view TrimView(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    lines.push_back(text.substr(0, eol));
    if (eol == std::string_view::npos) break;
    text = text.substr(eol + 1);
  }
  return lines;
}

std::string Hex2(unsigned v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02x", v);
  return buf;
}

Step MakeStep(StepKind kind, const std::string& file, int line) {
  Step step;
  step.kind = kind;
  step.where = SourceLocation{file, line};
  step.last_line = line;
  return step;
}

// --- scriptor ---------------------------------------------------------------------------

// scriptor's `s/(..)/$1 /g` on a line without spaces: "00A4" -> "00 A4 ".
std::string SpreadPairs(std::string_view line) {
  std::string out;
  size_t i = 0;
  for (; i + 2 <= line.size(); i += 2) out.append(line.substr(i, 2)).push_back(' ');
  out.append(line.substr(i));
  return out;
}

// Chipcard::PCSC::ascii_to_array: `split / /` (trailing empty fields dropped, others kept),
// each field two hex digits. The first field it refuses, or nullopt.
std::optional<std::string> ScriptorBytes(const std::string& cmd, Bytes& out) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (true) {
    const size_t space = cmd.find(' ', start);
    fields.push_back(cmd.substr(start, space - start));
    if (space == std::string::npos) break;
    start = space + 1;
  }
  while (!fields.empty() && fields.back().empty()) fields.pop_back();
  for (const std::string& f : fields) {
    const std::optional<Bytes> b = FromHex(f);
    if (f.size() != 2 || !b || f.find_first_of(" \t:\r\n") != std::string::npos) return f;
    out.push_back((*b)[0]);
  }
  return std::nullopt;
}

// --- apdutool ---------------------------------------------------------------------------

struct Statement {
  std::string text;
  int line = 0;
};

// The script's statements (up to each ';' outside quotes), without `//` comments.
bool ApdutoolStatements(std::string_view text, const std::string& file, std::vector<Statement>& out,
                        std::string& error) {
  Statement current;
  bool quoted = false;
  int line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!quoted && c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      while (i < text.size() && text[i] != '\n') ++i;
      if (i == text.size()) break;
    }
    const char ch = text[i];
    if (ch == '\n') ++line;
    if (ch == '"') quoted = !quoted;
    if (ch == ';' && !quoted) {
      current.text = std::string(TrimView(current.text));
      out.push_back(current);
      current = Statement{};
      continue;
    }
    if (current.line == 0 && !std::isspace(static_cast<unsigned char>(ch))) current.line = line;
    current.text.push_back(ch);
  }
  if (!TrimView(current.text).empty()) {
    error = file + ":" + std::to_string(current.line) + ": the statement has no ';' at its end";
    return false;
  }
  return true;
}

bool ApdutoolByte(std::string_view word, uint8_t& out) {
  unsigned v = 0;
  if (word.size() > 2 && word[0] == '0' && (word[1] == 'x' || word[1] == 'X')) {
    if (word.size() > 4) return false;
    const std::optional<Bytes> b =
        FromHex(word.size() == 3 ? "0" + std::string(word.substr(2)) : std::string(word.substr(2)));
    if (!b || b->size() != 1) return false;
    out = (*b)[0];
    return true;
  }
  if (word.empty() || word.size() > 3) return false;
  for (char c : word) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 255) return false;
  out = static_cast<uint8_t>(v);
  return true;
}

bool ApdutoolApdu(const Statement& s, const std::string& file, Trace& trace, std::string& error) {
  const std::string where = file + ":" + std::to_string(s.line) + ": ";
  Bytes b;
  std::istringstream words(s.text);
  std::string word;
  while (words >> word) {
    uint8_t v = 0;
    if (!ApdutoolByte(word, v)) {
      error = where + "'" + word + "' is not a byte (0x00..0xFF or 0..255) nor a command";
      return false;
    }
    b.push_back(v);
  }
  if (b.size() < 6 || b.size() != 6u + b[4]) {
    error = where + "an APDU is CLA INS P1 P2 Lc, Lc data bytes, Le: " + std::to_string(b.size()) +
            " bytes" + (b.size() >= 5 ? " with Lc " + std::to_string(b[4]) : std::string());
    return false;
  }
  Step step = MakeStep(StepKind::kCommand, file, s.line);
  Bytes command(b.begin(), b.begin() + 4);
  if (b[4] > 0) command.insert(command.end(), b.begin() + 4, b.end() - 1);
  command.push_back(b.back());
  step.command.push_back(CommandPart{CommandPart::Kind::kBytes, command, 0, {}});
  trace.steps.push_back(std::move(step));
  return true;
}

bool ApdutoolStatement(const Statement& s, const std::string& file, Trace& trace,
                       std::string& error) {
  const std::string where = file + ":" + std::to_string(s.line) + ": ";
  std::istringstream words(s.text);
  std::string verb, arg, extra;
  words >> verb >> arg >> extra;
  verb = Lower(verb);
  Step step = MakeStep(StepKind::kCommand, file, s.line);
  if (verb == "powerup" || verb == "powerdown") {
    step.kind = verb == "powerup" ? StepKind::kPowerOn : StepKind::kPowerOff;
  } else if (verb == "echo") {
    const size_t open = s.text.find('"'), close = s.text.rfind('"');
    if (open == std::string::npos || close == open) {
      error = where + "echo takes a quoted string: echo \"text\";";
      return false;
    }
    step.kind = StepKind::kEcho;
    step.text = s.text.substr(open + 1, close - open - 1);
  } else if (verb == "delay") {
    step.kind = StepKind::kDelay;
    if (arg.empty() || !extra.empty() || arg.find_first_not_of("0123456789") != std::string::npos ||
        arg.size() > 9) {
      error = where + "delay takes a number of milliseconds: delay 100;";
      return false;
    }
    step.number = std::stol(arg);
  } else if (verb == "output") {
    step.kind = StepKind::kOutput;
    if (Lower(arg) != "on" && Lower(arg) != "off") {
      error = where + "expected 'output on;' or 'output off;'";
      return false;
    }
    step.number = Lower(arg) == "on" ? 1 : 0;
  } else if (verb == "contacted" || verb == "contactless" || verb == "extended") {
    return true;  // one interface here; extended length needs no switch
  } else if (verb == "select" || verb == "send" || verb.starts_with("#")) {
    error = where + "'" + verb + "' (apdutool's preprocessor) is not supported: write the APDU";
    return false;
  } else {
    return ApdutoolApdu(s, file, trace, error);
  }
  trace.steps.push_back(std::move(step));
  return true;
}

// "CLA: 00, INS: a4, ..., SW2: 00" into the command's bytes (`sent`: CLA INS P1 P2 Lc data)
// and the response's (data and SW).
bool ParseApdutoolLine(std::string_view line, Bytes& sent, Bytes& response) {
  Bytes values;
  std::vector<std::string> names;
  std::string item;
  std::istringstream in{std::string(line)};
  while (std::getline(in, item, ',')) {
    std::string_view t = TrimView(item);
    std::string name;
    if (const size_t colon = t.find(':'); colon != std::string_view::npos) {
      name = std::string(TrimView(t.substr(0, colon)));
      t = TrimView(t.substr(colon + 1));
    }
    const std::optional<Bytes> b = FromHex(t.size() == 1 ? "0" + std::string(t) : std::string(t));
    if (!b || b->size() != 1) return false;
    names.push_back(name);
    values.push_back((*b)[0]);
  }
  const auto le = std::find(names.begin(), names.end(), "Le");
  if (names.size() < 8 || names[0] != "CLA" || le == names.end() || names.end()[-2] != "SW1" ||
      names.back() != "SW2") {
    return false;
  }
  const size_t at = static_cast<size_t>(le - names.begin());
  sent.assign(values.begin(), values.begin() + at);
  response.assign(values.begin() + at + 1, values.end());
  return response.size() == 2u + values[at];
}

// The CLA INS P1 P2 Lc data of `command` as apdutool lists them.
Bytes ApdutoolSent(ByteView command) {
  const ParsedApdu p = ParseCommand(command, true);
  if (p.error != Sw::kOk || command.size() < 4) return Bytes(command.begin(), command.end());
  Bytes b(command.begin(), command.begin() + 4);
  b.push_back(static_cast<uint8_t>(p.command.data.size()));
  b.insert(b.end(), p.command.data.begin(), p.command.data.end());
  return b;
}

}  // namespace

bool ParseScriptor(std::string_view text, const std::string& file, Trace& trace,
                   std::string& error) {
  trace.format = TraceFormat::kScriptor;
  std::string cmd;
  int cmd_line = 0;
  int number = 0;
  for (std::string_view line : SplitLines(text)) {
    ++number;
    trace.source_lines.emplace_back(line);
    // scriptor's order: "exit" anywhere ends the script (even inside a comment), then blank
    // lines and lines starting with '#' are skipped, then "reset" anywhere resets the card.
    if (ContainsNoCase(line, "exit")) break;
    if (TrimView(line).empty() || line.front() == '#') continue;
    if (ContainsNoCase(line, "reset")) {
      trace.steps.push_back(MakeStep(StepKind::kReset, file, number));
      continue;
    }
    std::string part =
        line.find(' ') == std::string_view::npos ? SpreadPairs(line) : std::string(line);
    if (cmd.empty()) cmd_line = number;
    if (!part.empty() && part.back() == '\\') {  // continued on the next line
      part.pop_back();
      while (!part.empty() && part.back() == ' ') part.pop_back();
      cmd += part + " ";
      continue;
    }
    cmd += part;
    Bytes bytes;
    if (const std::optional<std::string> bad = ScriptorBytes(cmd, bytes)) {
      std::string shown = *bad;
      if (!shown.empty() && shown.back() == '\r') shown = shown.substr(0, shown.size() - 1) + "\\r";
      error = file + ":" + std::to_string(number) + ": scriptor stops here: '" + shown +
              "' is not a byte (two hex digits, one space between bytes" +
              (shown.ends_with("\\r") ? "; the line ends in CR: a DOS line end" : "") + ")";
      return false;
    }
    Step step = MakeStep(StepKind::kCommand, file, cmd_line);
    step.last_line = number;
    step.command.push_back(CommandPart{CommandPart::Kind::kBytes, bytes, 0, {}});
    step.display = cmd;
    trace.steps.push_back(std::move(step));
    cmd.clear();
  }
  return true;
}

bool ParseApdutool(std::string_view text, const std::string& file, Trace& trace,
                   std::string& error) {
  trace.format = TraceFormat::kApdutool;
  for (std::string_view line : SplitLines(text)) trace.source_lines.emplace_back(line);
  std::vector<Statement> statements;
  if (!ApdutoolStatements(text, file, statements, error)) return false;
  for (const Statement& s : statements) {
    if (s.text.empty()) continue;
    if (!ApdutoolStatement(s, file, trace, error)) return false;
  }
  return true;
}

bool ApplyApdutoolExpected(std::string_view expected_out, const std::string& file, Trace& trace,
                           std::string& error) {
  std::vector<Step*> commands;
  bool output = true;
  for (Step& step : trace.steps) {
    if (step.kind == StepKind::kOutput) output = step.number != 0;
    if (step.kind == StepKind::kCommand && output) commands.push_back(&step);
  }
  size_t next = 0;
  int number = 0;
  for (std::string_view line : SplitLines(expected_out)) {
    ++number;
    line = TrimView(line);
    if (!line.starts_with("CLA:")) continue;  // echo text, banners
    const std::string where = file + ":" + std::to_string(number) + ": ";
    Bytes sent, response;
    if (!ParseApdutoolLine(line, sent, response)) {
      error = where + "not an apdutool exchange line (CLA: .., ..., Le: .., ..., SW1: .., SW2: ..)";
      return false;
    }
    if (next == commands.size()) {
      error = where + "more exchanges than the script has commands (" +
              std::to_string(commands.size()) + ")";
      return false;
    }
    Step& step = *commands[next++];
    Bytes command;
    std::string unused;
    BuildCommand(step.command, {}, command, unused);
    if (ApdutoolSent(command) != sent) {
      error = where + "this exchange is not the one of " + step.where.ToString();
      return false;
    }
    ResponseMatcher m;
    if (!ParseResponseMatcher(ToHex(response, ' '), m, unused)) return false;
    step.expect = std::move(m);
  }
  if (next != commands.size()) {
    error = file + ": " + std::to_string(commands.size() - next) +
            " of the script's commands have no exchange line";
    return false;
  }
  return true;
}

TraceFormat DetectTraceFormat(const std::filesystem::path& path, std::string_view text) {
  const std::string ext = Lower(path.extension().string());
  if (ext == ".scr") return TraceFormat::kApdutool;
  if (ext == ".trace") return TraceFormat::kNative;
  for (std::string_view line : SplitLines(text)) {
    line = TrimView(line);
    if (line.empty() || line.front() == '#' || line.starts_with("//")) continue;
    if (line.front() == '>' || line.front() == '<' || line.front() == '@') {
      return TraceFormat::kNative;
    }
    if (line.find(';') != std::string_view::npos || line.starts_with("0x") ||
        line.starts_with("0X")) {
      return TraceFormat::kApdutool;
    }
    return TraceFormat::kScriptor;
  }
  return TraceFormat::kNative;
}

bool ReadTraceFile(const std::filesystem::path& path, TraceFormat format, Trace& trace,
                   std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    error = "cannot read " + path.string() + ": " +
            (!std::filesystem::exists(path, ec)        ? "no such file"
             : std::filesystem::is_directory(path, ec) ? "it is a directory"
                                                       : std::strerror(errno));
    return false;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  trace.name = path.stem().string();
  if (format == TraceFormat::kAuto) format = DetectTraceFormat(path, text);
  trace.format = format;
  const std::string file = path.string();
  switch (format) {
    case TraceFormat::kScriptor:
      return ParseScriptor(text, file, trace, error);
    case TraceFormat::kApdutool: {
      if (!ParseApdutool(text, file, trace, error)) return false;
      const std::filesystem::path expected = file + ".expected.out";
      std::ifstream out(expected, std::ios::binary);
      if (!out) return true;
      std::stringstream e;
      e << out.rdbuf();
      return ApplyApdutoolExpected(e.str(), expected.string(), trace, error);
    }
    default:
      return ParseNativeTrace(text, file, trace, error);
  }
}

std::string ScriptorSwText(ByteView response) {
  if (response.size() < 2) return "wrong SW size for: " + ToHex(response, ' ');
  const uint8_t sw1 = response[response.size() - 2];
  const uint8_t sw2 = response[response.size() - 1];
  const std::string sw2_hex = ToHex(response.last(1));
  const uint16_t sw = static_cast<uint16_t>(sw1 << 8 | sw2);
  auto pick = [&](std::initializer_list<std::pair<uint8_t, const char*>> texts) {
    for (const auto& [code, text] : texts) {
      if (code == sw2) return std::string(text);
    }
    return std::string();
  };
  // Chipcard::PCSC::Card::ISO7816Error, case by case.
  switch (sw1) {
    case 0x90:
      return sw2 == 0 ? "Normal processing." : "Error not defined by ISO 7816";
    case 0x61:
      return "0x" + sw2_hex + " bytes of response still available.";
    case 0x62:
      return "State of non-volatile memory unchanged. " +
             pick({{0x00, "No information given."},
                   {0x81, "Part of returned data my be corrupted."},
                   {0x82, "End of file/record reached before reading Le bytes."},
                   {0x83, "Selected file invalidated."},
                   {0x84, "FCI not formated according to 5.1.5."}});
    case 0x63:
      return "State of non-volatile memory changed. " +
             pick({{0x00, "No information given."}, {0x81, "File filled up by the last write."}}) +
             ((sw2 & 0xF0) == 0xC0 ? "Counter: 0x" + sw2_hex.substr(1) : "");
    case 0x64:
      return sw2 == 0 ? "State of non-volatile memory unchanged." : "Error not defined by ISO 7816";
    case 0x65:
      return "State of non-volatile memory changed. " + pick({{0x81, "Memory failure."}});
    case 0x66:
      return "Reserved for security-related issues.";
    case 0x67:
      return sw2 == 0 ? "Wrong length." : "Error not defined by ISO 7816";
    case 0x68:
      return "Functions in CLA not supported. " + pick({{0x81, "Logical channel not supported."},
                                                        {0x82, "Secure messaging not supported."}});
    case 0x69:
      return "Command not allowed. " + pick({{0x81, "Command incompatible with file structure."},
                                             {0x82, "Security status not satisfied."},
                                             {0x83, "Authentication method blocked."},
                                             {0x84, "Referenced data invalidated."},
                                             {0x85, "Conditions of use not satisfied."},
                                             {0x86, "Command not allowed (no current EF)."},
                                             {0x87, "Expected SM data objects missing."},
                                             {0x88, "SM data objects incorrect."}});
    case 0x6A:
      return "Wrong parameter(s) P1-P2. " + pick({{0x80, "Incorrect parameters in the data field."},
                                                  {0x81, "Function not supported."},
                                                  {0x82, "File not found."},
                                                  {0x83, "Record not found."},
                                                  {0x84, "Not enough memory space in the file."},
                                                  {0x85, "Lc inconsistent with TLV structure."},
                                                  {0x86, "Incorrect parameters P1-P2."},
                                                  {0x87, "Lc inconsistent with P1-P2."},
                                                  {0x88, "Referenced data not found."}});
    case 0x6C:
      return "Wrong length Le: should be 0x" + sw2_hex;
    default:
      break;
  }
  switch (sw) {
    case 0x6B00:
      return "Wrong parameter(s) P1-P2.";
    case 0x6D00:
      return "Instruction code not supported or invalid.";
    case 0x6E00:
      return "Class not supported.";
    case 0x6F00:
      return "No precise diagnosis.";
    default:
      return "Error not defined by ISO 7816";
  }
}

std::string ScriptorResponseLine(ByteView response) {
  std::string s = "< ";
  for (size_t i = 0; i < response.size(); ++i) {
    s += ToHex(response.subspan(i, 1));
    if (i + 1 < response.size()) s += ' ';
    if ((i + 1) % 16 == 0 && i + 1 < response.size()) s += '\n';
  }
  return s + " : " + ScriptorSwText(response);
}

std::string ApdutoolLine(ByteView command, ByteView response) {
  const Bytes sent = ApdutoolSent(command);
  static const char* const kNames[] = {"CLA: ", "INS: ", "P1: ", "P2: ", "Lc: "};
  std::string s;
  for (size_t i = 0; i < sent.size(); ++i) {
    s += (i > 0 ? ", " : "") + std::string(i < 5 ? kNames[i] : "") + Hex2(sent[i]);
  }
  const size_t data = response.size() >= 2 ? response.size() - 2 : 0;
  s += ", Le: " + Hex2(static_cast<unsigned>(data));
  for (size_t i = 0; i < data; ++i) s += ", " + Hex2(response[i]);
  if (response.size() >= 2) {
    s += ", SW1: " + Hex2(response[data]) + ", SW2: " + Hex2(response[data + 1]);
  }
  return s;
}

void ScriptorPrinter::OnStart(const Trace& /*trace*/, ByteView /*atr*/) {
  if (!header_.empty()) out_ << header_ << "\n";
}

void ScriptorPrinter::EchoUpTo(const Trace& trace, size_t lines) {
  if (trace.format != TraceFormat::kScriptor) return;
  for (; echoed_ < std::min(lines, trace.source_lines.size()); ++echoed_) {
    out_ << trace.source_lines[echoed_] << "\n";
  }
}

void ScriptorPrinter::OnStep(const Trace& trace, size_t index, size_t /*total*/,
                             const StepResult& result) {
  const Step& step = trace.steps[index];
  EchoUpTo(trace, static_cast<size_t>(step.last_line));
  if (result.verdict == StepVerdict::kSkipped) return;
  if (step.kind == StepKind::kReset) {
    out_ << "> RESET\n";
    if (result.verdict == StepVerdict::kError) {
      out_ << "< KO: " << result.message << "\n";
    } else {
      out_ << "< OK: ";
      for (uint8_t b : result.atr) out_ << ToHex(ByteView(&b, 1)) << ' ';
      out_ << "\n";
    }
    return;
  }
  if (step.kind != StepKind::kCommand || result.response.empty()) return;
  out_ << "> " << (step.display.empty() ? ToHex(result.command, ' ') : step.display) << "\n";
  out_ << ScriptorResponseLine(result.response) << "\n";
}

void ScriptorPrinter::OnEnd(const Trace& trace, const RunResult& result) {
  if (result.ok()) EchoUpTo(trace, trace.source_lines.size());
}

void ApdutoolPrinter::OnStep(const Trace& trace, size_t index, size_t /*total*/,
                             const StepResult& result) {
  const Step& step = trace.steps[index];
  if (step.kind == StepKind::kOutput) output_ = step.number != 0;
  if (step.kind == StepKind::kEcho) out_ << step.text << "\n";
  if (step.kind != StepKind::kCommand || !output_ || result.response.empty()) return;
  out_ << ApdutoolLine(result.command, result.response) << "\n";
}

}  // namespace dmcard
