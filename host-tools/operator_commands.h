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

}  // namespace dmcard::cli
