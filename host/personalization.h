// The issuer's side of personalization over STORE DATA (`dmcard personalize`): reads a profile
// file the way a host tool does (its own JSON reading, not the card's profile loader), turns it
// into the DGIs apdu-specs/dm.json documents for the DM applet's STORE DATA, encrypts the secret
// ones under the issuer's K-DEK (OpenSSL, HostScp03::EncryptSensitiveData) and cuts them into
// STORE DATA commands. Written from the specification apart from applet/dm/personalization.*, so
// that each checks the other. Never throws: failures are nullopt with `error` set.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "runtime/bytes.h"

namespace dmcard {

// What personalization loads from a profile (the card-product fields — capacity, protocol, ATR,
// reserve — are the card's, not loadable).
struct HostProfile {
  bool user_confirmation = false;  // bootstrap.user_confirmation (DGI 0101 b2)
  bool autoconnect = false;        // bootstrap.autoconnect (DGI 0101 b3)
  std::string user_pin, user_puk;  // DGI 8301, 8302; empty: not loaded
  std::string imsi;                // digits, DGI 0102; empty: not loaded
  std::string root_acl;            // DGI 0103; empty: not loaded
  std::string tree_xml;            // the tree file's TNDS XML (DGI 0201)
  // One SCP03 key set (DGI 8401).
  struct KeySet {
    uint8_t kvn = 0;
    std::string owner;
    Bytes enc, mac, dek;
  };
  std::vector<KeySet> key_sets;
  // An operator bootstrap key (DGI 8402, usage bootstrap verification, key id 01).
  struct BootstrapKey {
    uint8_t kvn = 0;
    bool ec = false;  // EC P-256 public key; else an HMAC secret
    std::string owner = "@issuer";
    Bytes material;
  };
  std::vector<BootstrapKey> bootstrap_keys;
};

// Reads `profile_json` and the tree file it names (relative to its directory). nullopt with
// `error` naming the file and what is wrong.
std::optional<HostProfile> ReadHostProfile(const std::filesystem::path& profile_json,
                                           std::string& error);

// One DGI as it goes on the wire: `value` already encrypted when the tag has b16 set.
struct HostDgi {
  uint16_t tag = 0;
  Bytes value;
};

// EF_IMSI of `digits` (3GPP TS 31.102 §4.2.2), as the DGI 0102 carries it: the length byte, the
// semi-octets, FF up to 9 bytes. Empty when `digits` are not 1 to 15 decimal digits.
Bytes HostEfImsi(const std::string& digits);

// The DGIs that load `profile` into a card whose tree is replaced: 0201 tree (replace), 0103
// root ACL, 0101 flags, 0102 IMSI, 8301 PIN, 8302 PUK, 8401 per key set; secret ones encrypted
// under `dek` (an AES key). nullopt with `error` set for a DEK that is not an AES key, an IMSI
// that is not digits or a key set whose keys differ in length.
std::optional<std::vector<HostDgi>> PersonalizationDgis(const HostProfile& profile, ByteView dek,
                                                        std::string& error);

// The DGIs in order as STORE DATA commands (80 E2 P1 P2 Lc data, short), P2 counting blocks from
// 00, at most `max_data` (1..255) bytes of data each; P1 80 on the last, 60 on each block
// carrying bytes of an encrypted DGI, always 08 (DGI format). nullopt with `error` set when a DGI
// is longer than 65535 bytes, `max_data` is out of range, or more than 256 blocks are needed.
std::optional<std::vector<Bytes>> StoreDataCommands(const std::vector<HostDgi>& dgis,
                                                    std::string& error, size_t max_data = 200);

// Key store types and usages as DGI 8402 codes them (runtime/key_store.h KeyType, KeyUsage).
inline constexpr uint8_t kDgiKeyTypeHmacSecret = 4;
inline constexpr uint8_t kDgiKeyTypeEcPublic = 6;
inline constexpr uint8_t kDgiUsageBootstrap = 4;

// DGI 8402, one key for the key store (docs/personalization.md): KVN | key id | type | usage |
// use limit (4 bytes, 0 = none) | owner length | owner | material, encrypted under `dek` (an
// AES key; the caller checks it). The owner is 1 to 255 bytes.
HostDgi AnyKeyDgi(uint8_t kvn, uint8_t id, uint8_t type, uint8_t usage, const std::string& owner,
                  ByteView material, ByteView dek);

// The DGI's wire form: tag, length (1 byte below 255, else FF + 2 bytes), value. nullopt when
// the value is longer than 65535 bytes.
std::optional<Bytes> EncodeDgi(const HostDgi& dgi);

}  // namespace dmcard
