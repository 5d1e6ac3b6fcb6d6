// The issuer's side of personalization over STORE DATA, for tests: reads a profile file the way a
// host tool would (its own JSON reading, not the card's profile loader), turns it into the DGIs
// apdu-specs/dm.json documents for the DM applet's STORE DATA, encrypts the secret ones under the
// issuer's K-DEK (OpenSSL, HostScp03::EncryptSensitiveData) and cuts them into STORE DATA
// commands. Written from the specification apart from applet/dm/personalization.*, so that each
// checks the other. Failures throw std::runtime_error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/bytes.h"

namespace dmcard::testing {

// What personalization loads from a profile (the card-product fields — capacity, protocol, ATR,
// reserve — are the card's, not loadable).
struct HostProfile {
  bool user_confirmation = false, autoconnect = false;
  std::string user_pin, user_puk, imsi, root_acl;
  std::string tree_xml;
  struct KeySet {
    uint8_t kvn = 0;
    std::string owner;
    Bytes enc, mac, dek;
  };
  std::vector<KeySet> key_sets;
};
HostProfile ReadHostProfile(const std::filesystem::path& profile_json);

// One DGI as it goes on the wire: `value` already encrypted when the tag has b16 set.
struct HostDgi {
  uint16_t tag = 0;
  Bytes value;
};

// EF_IMSI of `digits` (3GPP TS 31.102 §4.2.2), as the DGI 0102 carries it.
Bytes HostEfImsi(const std::string& digits);

// The DGIs that load `profile` into a card whose tree is replaced: 0201 tree (replace), 0103
// root ACL, 0101 flags, 0102 IMSI, 8301 PIN, 8302 PUK, 8401 per key set; secret ones encrypted
// under `dek`.
std::vector<HostDgi> PersonalizationDgis(const HostProfile& profile, ByteView dek);

// The DGIs in order as STORE DATA commands (80 E2 P1 P2 Lc data, short), P2 counting blocks from
// 00, at most `max_data` bytes of data each; P1 80 on the last, 60 on each block carrying bytes
// of an encrypted DGI, always 08 (DGI format).
std::vector<Bytes> StoreDataCommands(const std::vector<HostDgi>& dgis, size_t max_data = 200);

// The DGI's wire form: tag, length (1 byte below 255, else FF + 2 bytes), value.
Bytes EncodeDgi(const HostDgi& dgi);

}  // namespace dmcard::testing
