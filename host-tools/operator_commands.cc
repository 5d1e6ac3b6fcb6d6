#include "operator_commands.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "card_access.h"
#include "dm/bootstrap.h"
#include "host/files.h"
#include "host/operator.h"

namespace dmcard::cli {

namespace {

std::optional<uint8_t> Kvn(const std::string& text) {
  auto b = FromHex(text);
  if (!b || b->size() != 1 || (*b)[0] == 0 || (*b)[0] > 0x7F ||
      ((*b)[0] >= 0x30 && (*b)[0] <= 0x3F)) {
    return std::nullopt;
  }
  return (*b)[0];
}

}  // namespace

int RunOperatorKeygen(const KeygenOptions& o) {
  const auto hmac_kvn = Kvn(o.hmac_kvn);
  const auto ec_kvn = Kvn(o.ec_kvn);
  if (!hmac_kvn || !ec_kvn || *hmac_kvn == *ec_kvn) {
    std::fprintf(stderr,
                 "dmcard: --hmac-kvn and --ec-kvn must be two different key version numbers 01 "
                 "to 7F outside the SCP03 range 30 to 3F\n");
    return kExitUsage;
  }
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "dmcard: cannot create %s: %s\n", o.out_dir.c_str(), ec.message().c_str());
    return kExitFailed;
  }
  std::string error;
  auto keys = MakeOperatorKeys(error);
  const OperatorKeyFiles files = OperatorKeyFiles::In(o.out_dir);
  if (!keys || !WriteOperatorKeys(*keys, files, error)) {
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return kExitFailed;
  }
  // The card's side: the HMAC secret (shared) and the EC public key, as profile entries.
  nlohmann::ordered_json entries;
  entries["bootstrap_keys"] =
      nlohmann::ordered_json::array({{{"name", "operator-hmac"},
                                      {"kvn", o.hmac_kvn},
                                      {"type", "hmac-sha256"},
                                      {"owner", o.owner},
                                      {"secret", ToHex(keys->hmac_secret)}},
                                     {{"name", "operator-ec"},
                                      {"kvn", o.ec_kvn},
                                      {"type", "ecdsa-p256"},
                                      {"owner", o.owner},
                                      {"public", ToHex(keys->ec_public())}}});
  const std::filesystem::path profile_entries =
      std::filesystem::path(o.out_dir) / "profile-entries.json";
  if (!WriteNewFile(profile_entries, entries.dump(2) + "\n", 0600, error)) {
    if (error.find("File exists") != std::string::npos) error += " (use another --out)";
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return kExitFailed;
  }
  std::printf("operator keys in %s:\n", o.out_dir.c_str());
  std::printf("  %s  HMAC-SHA256 secret (method 10), keep it secret (0600)\n",
              files.hmac_secret.c_str());
  std::printf("  %s  ECDSA P-256 private key (method 11), keep it secret (0600)\n",
              files.ec_private_pem.c_str());
  std::printf("  %s  its public key\n", files.ec_public_pem.c_str());
  std::printf(
      "  %s  the card's side: copy its \"bootstrap_keys\" into the card's profile (it\n"
      "      holds the HMAC secret: 0600), then make the card or 'dmcard personalize' it\n",
      profile_entries.c_str());
  std::printf("card key version numbers: HMAC %s, EC %s (owner %s)\n", o.hmac_kvn.c_str(),
              o.ec_kvn.c_str(), o.owner.c_str());
  return kExitOk;
}

int RunOperatorBootstrap(const BootstrapOptions& o) {
  const auto method = BootstrapMethodByName(o.method);
  if (!method) {
    std::fprintf(stderr,
                 "dmcard: --method must be NETWPIN, USERPIN, USERNETWPIN, USERPINMAC, "
                 "HMAC-SHA256 or ECDSA-P256, not '%s'\n",
                 o.method.c_str());
    return kExitUsage;
  }
  std::ifstream in(o.tnds, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "dmcard: cannot read the TNDS file %s\n", o.tnds.c_str());
    return kExitFailed;
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  BootstrapSecrets secrets;
  secrets.imsi = o.imsi;
  secrets.user_pin = o.pin;
  std::optional<OperatorKeys> keys;
  std::string error;
  if (dm::OperatorMethod(*method)) {
    if (o.keys_dir.empty()) {
      std::fprintf(stderr,
                   "dmcard: %s needs the operator's keys: --keys DIR (from 'dmcard "
                   "operator keygen --out DIR')\n",
                   BootstrapMethodName(*method).c_str());
      return kExitUsage;
    }
    keys = ReadOperatorKeys(OperatorKeyFiles::In(o.keys_dir), error);
    if (!keys) {
      std::fprintf(stderr, "dmcard: %s\n", error.c_str());
      return kExitFailed;
    }
    secrets.keys = &*keys;
    char* end = nullptr;
    const unsigned long seq = o.sequence.empty() ? static_cast<unsigned long>(std::time(nullptr))
                                                 : std::strtoul(o.sequence.c_str(), &end, 10);
    if ((!o.sequence.empty() && (*end != '\0' || o.sequence[0] == '-')) || seq > 0xFFFFFFFFul) {
      std::fprintf(stderr, "dmcard: --seq must be a number 0 to 4294967295\n");
      return kExitUsage;
    }
    secrets.sequence = static_cast<uint32_t>(seq);
    const std::string kvn_text =
        !o.kvn.empty() ? o.kvn : (*method == dm::BootstrapMethod::kHmacSha256 ? "40" : "41");
    const auto kvn = Kvn(kvn_text);
    if (!kvn) {
      std::fprintf(stderr, "dmcard: --kvn must be a key version number 01 to 7F\n");
      return kExitUsage;
    }
    secrets.kvn = *kvn;
  }
  auto message = BuildBootstrapMessage(Bytes(text.begin(), text.end()), BootstrapHeader{}, error);
  auto proof = message ? ProveBootstrap(*message, *method, secrets, error) : std::nullopt;
  if (!proof) {
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return kExitUsage;
  }
  std::string package =
      "# DM bootstrap package (VERIFY BOOTSTRAP data, docs/bootstrap.md): method " +
      BootstrapMethodName(*method) + ", message " + std::to_string(message->size()) +
      " bytes (SyncML DM 1.2 WBXML)";
  if (secrets.sequence) package += ", sequence " + std::to_string(*secrets.sequence);
  package += "\n";
  const std::string hex = ToHex(proof->command_data);
  for (size_t i = 0; i < hex.size(); i += 64) package += hex.substr(i, 64) + "\n";
  if (o.out.empty()) {
    std::fputs(package.c_str(), stdout);
  } else if (!ReplaceFileAtomically(o.out, package, 0644, error)) {
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return kExitFailed;
  } else {
    std::printf("bootstrap package %s: method %s, message %zu bytes\n", o.out.c_str(),
                BootstrapMethodName(*method).c_str(), message->size());
  }
  if (*method == dm::BootstrapMethod::kUserPinMac) {
    std::fprintf(stderr, "dmcard: the user types %s on the device (USERPINMAC)\n",
                 proof->user_digits.c_str());
  }
  return kExitOk;
}

}  // namespace dmcard::cli
