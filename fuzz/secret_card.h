// The card the card-level fuzz targets (apdu, vpcd) run: the demo profile with every secret
// replaced by random values, drawn once per process (DMCARD_FUZZ_SEED=N draws them from N, and
// the seed in use is printed), and a scanner that finds those secrets in any bytes.
//
// Secrets: the user PIN and PUK, both SCP03 key sets (issuer, DM server), an operator bootstrap
// HMAC key, the DM account's AAuthSecret and AAuthData values (server and client credential), and
// the OMA DM authenticators made from them (B64(MD5(AAuthName:AAuthSecret))).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cards/card_profile.h"
#include "host/scp03_host.h"
#include "runtime/card.h"
#include "runtime/storage_medium.h"

namespace dmcard::fuzz {

// Finds any 6-byte window of a registered secret in data: as bytes, as hex text (either case),
// and as base64 text (standard or URL alphabet, at every alignment of the secret in the encoded
// stream).
class SecretScanner {
 public:
  static constexpr size_t kWindow = 6;
  void Add(const std::string& name, ByteView secret);
  // "" when `data` holds no secret, else which and where.
  std::string Find(ByteView data) const;

 private:
  std::unordered_map<std::string, std::string> raw_, hex_, b64_;
};

// A DM server's key set as the host holds it.
struct KnownKeySet {
  uint8_t kvn = 0;
  HostScp03Keys keys;
};

class SecretCard {
 public:
  // The process's card: made on first use.
  static SecretCard& Get();

  const Profile& profile() const { return profile_; }
  const SecretScanner& scanner() const { return scanner_; }
  const std::string& user_pin() const { return profile_.user_pin; }
  const KnownKeySet& issuer() const { return issuer_; }
  const KnownKeySet& dm_server() const { return dm_server_; }
  uint64_t seed() const { return seed_; }

  // A copy of the freshly made card's memory.
  std::shared_ptr<RamMedium> FreshMemory() const { return std::make_shared<RamMedium>(*base_); }
  // The card over `medium` (seeded random generator, fixed clock), not yet powered; null with
  // `error` when it cannot be made.
  std::unique_ptr<Card> Make(std::shared_ptr<StorageMedium> medium, std::string& error) const;

 private:
  SecretCard();
  uint64_t seed_ = 0;
  Profile profile_;
  KnownKeySet issuer_, dm_server_;
  SecretScanner scanner_;
  std::shared_ptr<RamMedium> base_;
};

// Every status word the command reference documents (apdu-specs/runtime.json "status_words",
// the host's source of truth) matches `sw`.
bool DocumentedStatusWord(uint16_t sw);

}  // namespace dmcard::fuzz
