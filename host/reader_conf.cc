#include "host/reader_conf.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace dmcard::vicc {

namespace {

bool IsWordChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '=' ||
         c == '\\' || c == '/' || c == '-' || c == '.' || c == '_' || c == '@' || c == ':';
}

// strtoul(text, NULL, 0) as pcscd and vpcd read CHANNELID and a DEVICENAME's port.
unsigned long CNumber(const std::string& text) { return std::strtoul(text.c_str(), nullptr, 0); }

bool IsVpcdDriver(const std::string& libpath) {
  const size_t slash = libpath.rfind('/');
  const std::string base = slash == std::string::npos ? libpath : libpath.substr(slash + 1);
  return base.rfind("libifdvpcd", 0) == 0;
}

std::string Hex4(uint16_t port) {
  char text[8];
  std::snprintf(text, sizeof text, "%04X", port);
  return text;
}

// One entry in progress, as pcscd's evaluatetoken() keeps it.
struct Pending {
  std::optional<std::string> friendly_name, device, libpath, channel_id;
};

}  // namespace

std::vector<VpcdEntry> ParseReaderConf(std::string_view text, const std::string& file) {
  std::vector<VpcdEntry> out;
  Pending entry;
  std::optional<std::string> key;
  int key_line = -1;
  int line = 1;
  bool bad = false;  // pcscd's badError: no entry is taken from the rest of the file

  auto complete = [&] {
    if (!entry.friendly_name || !entry.libpath || (!entry.channel_id && !entry.device) || bad) {
      return;
    }
    VpcdEntry e;
    e.file = file;
    e.line = line;
    e.friendly_name = *entry.friendly_name;
    e.libpath = *entry.libpath;
    unsigned long port = 0;
    const std::string device = entry.device.value_or("");
    if (!device.empty()) {  // vpcd's IFDHCreateChannelByName
      const size_t colon = device.find(':');
      if (colon == std::string::npos) {
        port = kVpcdDefaultPort;
      } else {
        if (device.compare(0, colon, "/dev/null") != 0) e.host = device.substr(0, colon);
        port = CNumber(device.substr(colon + 1));
      }
    } else {
      port = CNumber(*entry.channel_id);
    }
    entry = Pending{};
    if (!IsVpcdDriver(e.libpath) || port == 0 || port > 0xFFFF) return;
    e.port = static_cast<uint16_t>(port);
    out.push_back(std::move(e));
  };

  auto token = [&](std::string value) {
    if (!key) {
      key = std::move(value);
      key_line = line;
    } else if (key_line != line) {  // a key without a value on its line
      bad = true;
      key = std::move(value);
      key_line = line;
      return;
    } else {
      std::optional<std::string>* slot = nullptr;
      if (*key == "FRIENDLYNAME") {
        slot = &entry.friendly_name;
        value.erase(std::remove(value.begin(), value.end(), '"'), value.end());
      } else if (*key == "DEVICENAME") {
        slot = &entry.device;
      } else if (*key == "LIBPATH") {
        slot = &entry.libpath;
      } else if (*key == "CHANNELID") {
        slot = &entry.channel_id;
      }
      if (slot == nullptr) {  // unknown key
        bad = true;
        key.reset();
        return;
      }
      if (*slot) {  // the same key twice in one entry
        bad = true;
        return;
      }
      *slot = std::move(value);
      key.reset();
    }
    complete();
  };

  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '\n') {
      ++line;
      ++i;
    } else if (c == ' ' || c == '\t') {
      ++i;
    } else if (c == '"' || c == '\'') {
      // Up to the closing quote, or to the end of the line (which the token then swallows).
      size_t j = i + 1;
      while (j < text.size() && text[j] != c && text[j] != '\n') ++j;
      const bool closed = j < text.size() && text[j] == c;
      std::string value(text.substr(i, j - i + (closed ? 1 : 0)));
      i = j < text.size() ? j + 1 : j;
      token(std::move(value));
    } else if (IsWordChar(c)) {
      size_t j = i;
      while (j < text.size() && IsWordChar(text[j])) ++j;
      token(std::string(text.substr(i, j - i)));
      i = j;
    } else {  // a character pcscd's lexer does not take
      bad = true;
      key.reset();
      key_line = line;
      ++i;
    }
  }
  return out;
}

std::string DefaultReaderConfDir() {
  const char* dir = std::getenv("DMCARD_READER_CONF_DIR");
  return dir != nullptr && *dir != '\0' ? dir : "/etc/reader.conf.d";
}

ReaderConf LoadReaderConf(const std::string& dir) {
  namespace fs = std::filesystem;
  ReaderConf conf;
  conf.dir = dir;
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || !it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    files.push_back(it->path());
  }
  if (ec) {
    conf.error = ec.message();
    return conf;
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& path : files) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    for (VpcdEntry& e : ParseReaderConf(text.str(), path.string())) {
      conf.entries.push_back(std::move(e));
    }
  }
  return conf;
}

ReaderLookup LookUpReader(const ReaderConf& conf, uint16_t port, bool reverse) {
  ReaderLookup found;
  const VpcdEntry* other_mode = nullptr;
  for (const VpcdEntry& e : conf.entries) {
    if (port < e.port || port >= e.port + kVpcdSlotsPerEntry) continue;
    if (e.host.empty() == !reverse) {
      found.entry = &e;
      break;
    }
    if (other_mode == nullptr) other_mode = &e;
  }
  if (found.entry != nullptr) {
    const VpcdEntry& e = *found.entry;
    char slot[4];
    std::snprintf(slot, sizeof slot, "%02X", port - e.port);
    found.name = e.friendly_name + " 00 " + slot;
    for (const VpcdEntry& other : conf.entries) {
      if (&other == &e || other.friendly_name != e.friendly_name) continue;
      found.note = "the vpcd entry " + other.file + " (port " + std::to_string(other.port) +
                   ") has the same FRIENDLYNAME \"" + e.friendly_name +
                   "\", and pcscd numbers every vpcd reader 00, so PC/SC shows readers of the same "
                   "name for both; give each entry its own FRIENDLYNAME";
      break;
    }
    return found;
  }
  const std::string where =
      conf.dir + (conf.error.empty() ? "" : " (unreadable: " + conf.error + ")");
  if (other_mode != nullptr) {
    found.note =
        other_mode->host.empty()
            ? "the vpcd entry " + other_mode->file + " listens on port " + std::to_string(port) +
                  " and waits for the card to connect: run "
                  "dmcard-vicc without --reverse"
            : "the vpcd entry " + other_mode->file + " makes vpcd connect to " + other_mode->host +
                  " on port " + std::to_string(port) + ": run dmcard-vicc with --reverse";
    return found;
  }
  std::string libpath = kVpcdDriver;
  if (!conf.entries.empty()) libpath = conf.entries.front().libpath;
  found.note = "no vpcd reader in " + where + " serves port " + std::to_string(port) +
               ", so pcscd will not see this card until one does. Add a file " + conf.dir +
               "/dmcard-" + std::to_string(port) + " holding\n    FRIENDLYNAME \"Virtual PCD " +
               std::to_string(port) + "\"\n    DEVICENAME " +
               (reverse ? "localhost" : "/dev/null") + ":0x" + Hex4(port) + "\n    LIBPATH " +
               libpath + "\n  (it serves ports " + std::to_string(port) + " and " +
               std::to_string(port + 1) +
               ") and restart pcscd, which reads its reader entries only when it starts";
  return found;
}

}  // namespace dmcard::vicc
