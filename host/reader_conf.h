// The name PC/SC shows for a dmcard-vicc card, from pcscd's reader configuration
// (/etc/reader.conf.d/*). Each vpcd entry serves kVpcdSlotsPerEntry ports from its base port;
// pcscd names slot s of an entry "<FRIENDLYNAME> 00 <s as 2 hex digits>": the middle number,
// pcscd's reader index, counts only readers whose driver announces simultaneous access, which
// vpcd does not, so every vpcd entry gets 00 (measured with pcsc-lite 1.9.9 and three entries).
// Entries sharing a FRIENDLYNAME therefore give readers of the same name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dmcard::vicc {

constexpr int kVpcdSlotsPerEntry = 2;  // Debian's vsmartcard-vpcd (VPCDSLOTS)
constexpr uint16_t kVpcdDefaultPort = 35963;
constexpr const char* kVpcdDriver = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";

// One reader entry whose driver (LIBPATH) is vpcd's.
struct VpcdEntry {
  std::string file;  // where it was read
  int line = 0;      // the line that completed it
  std::string friendly_name;
  std::string libpath;
  // Empty: vpcd listens on the ports and the card connects (DEVICENAME /dev/null:PORT, or
  // CHANNELID PORT). Else vpcd connects to this host (DEVICENAME HOST:PORT): --reverse.
  std::string host;
  uint16_t port = 0;  // slot s is on port + s
};

// The vpcd entries of one reader.conf text, read as pcscd 1.9 reads it: `#` starts a comment,
// a value is a word or a quoted string on its key's line, an entry is complete once it has
// FRIENDLYNAME, LIBPATH and DEVICENAME or CHANNELID (then the next entry starts), and after a
// malformed line pcscd takes no further entry from that file. The port is vpcd's: DEVICENAME
// when present (":PORT" after the host or /dev/null, 35963 without), else CHANNELID; numbers as
// C reads them (0x8C7B, 35963).
std::vector<VpcdEntry> ParseReaderConf(std::string_view text, const std::string& file);

struct ReaderConf {
  std::string dir;
  std::string error;  // the directory could not be read
  std::vector<VpcdEntry> entries;
};
// $DMCARD_READER_CONF_DIR, else /etc/reader.conf.d.
std::string DefaultReaderConfDir();
// Every regular, non-hidden file of `dir`, in name order (pcscd reads them in directory order).
ReaderConf LoadReaderConf(const std::string& dir);

// What PC/SC calls the card on `port`, and what to tell the user about it.
struct ReaderLookup {
  std::optional<std::string> name;  // "Virtual PCD 00 01" when an entry serves the port
  const VpcdEntry* entry = nullptr;
  std::string note;  // a clash of names, or why no reader serves the port and how to add one
};
ReaderLookup LookUpReader(const ReaderConf& conf, uint16_t port, bool reverse);

}  // namespace dmcard::vicc
