// `dmcard operator ...`: the network operator's side of the signed bootstrap (UC-CR) — its keys
// and the bootstrap packages it sends to devices.
#pragma once

#include <string>

namespace dmcard::cli {

struct KeygenOptions {
  std::string out_dir;  // where the key files go
  std::string hmac_kvn = "40";
  std::string ec_kvn = "41";
  std::string owner = "@issuer";
};

// Makes the operator's HMAC-SHA256 secret and ECDSA P-256 key pair, writes them to `out_dir`
// (never over existing files) with the matching profile entries ("bootstrap_keys").
int RunOperatorKeygen(const KeygenOptions& options);

struct BootstrapOptions {
  std::string tnds;      // --tnds FILE: the bootstrap data (TNDS XML or WBXML)
  std::string method;    // --method NETWPIN|USERPIN|USERNETWPIN|USERPINMAC|HMAC-SHA256|ECDSA-P256
  std::string imsi;      // --imsi: NETWPIN, USERNETWPIN
  std::string pin;       // --pin: USERPIN, USERNETWPIN, USERPINMAC (its n-digit key)
  std::string keys_dir;  // --keys DIR: operator keys (keygen's --out)
  std::string sequence;  // --seq N: operator methods (default: now, in seconds)
  std::string kvn;       // --kvn: the card key (default 40 HMAC, 41 EC)
  std::string out;       // --out FILE: the package (VERIFY BOOTSTRAP data, hex)
};

// Builds a DM bootstrap message from a TNDS file with its proof for the card's method, and
// writes the package a device hands the card (host/device_provision.h reads it).
int RunOperatorBootstrap(const BootstrapOptions& options);

}  // namespace dmcard::cli
