#include "runtime/key_store.h"

#include <algorithm>

#include "runtime/applet.h"

namespace dmcard {

namespace {

// ---- records ---------------------------------------------------------------------------------

constexpr std::string_view kKeyPrefix = "card/key/";

// Declared in key_store.h (KeyStore::kRecordNames); the layouts:
// card/key/<KVN>/<ID>: version, type, usage, owner length n (1..128), owner (n bytes), max uses
//   (4, BE), secret length s, secret (s bytes), public length p, public key (p bytes).
// card/key/<KVN>/<ID>/uses: version, uses (4, BE). Absent = 0 uses.
// card/key/<KVN>/state: version, sequence counter (3, BE), failed authentications, failed
//   authentications that block the set.
constexpr uint8_t kKeyRecordVersion = KeyStore::kRecordNames[0].version;
constexpr uint8_t kUsesRecordVersion = KeyStore::kRecordNames[1].version;
constexpr uint8_t kStateRecordVersion = KeyStore::kRecordNames[2].version;
constexpr size_t kStateRecordSize = 6;

constexpr size_t kMaxOwner = 128;
constexpr size_t kEcPublicLength = 65;
constexpr size_t kEcPrivateLength = 32;
constexpr size_t kBlock = 16;

std::string Hex2(uint8_t v) { return ToHex(ByteView(&v, 1)); }
std::string KeyRecord(uint8_t kvn, uint8_t id) {
  return std::string(kKeyPrefix) + Hex2(kvn) + "/" + Hex2(id);
}
std::string UsesRecord(uint8_t kvn, uint8_t id) { return KeyRecord(kvn, id) + "/uses"; }
std::string StateRecord(uint8_t kvn) { return std::string(kKeyPrefix) + Hex2(kvn) + "/state"; }

// "card/key/30/01" -> (30, 01); anything else (uses, state records) -> nullopt.
std::optional<std::pair<uint8_t, uint8_t>> ParseKeyRecordName(std::string_view name) {
  if (name.size() != kKeyPrefix.size() + 5 || name.substr(0, kKeyPrefix.size()) != kKeyPrefix) {
    return std::nullopt;
  }
  const std::string_view rest = name.substr(kKeyPrefix.size());
  if (rest[2] != '/') return std::nullopt;
  auto kvn = FromHex(rest.substr(0, 2));
  auto id = FromHex(rest.substr(3, 2));
  if (!kvn || !id || kvn->size() != 1 || id->size() != 1) return std::nullopt;
  return std::pair{(*kvn)[0], (*id)[0]};
}

CryptoStatus FromStore(StoreStatus s) {
  switch (s) {
    case StoreStatus::kOk:
      return CryptoStatus::kOk;
    case StoreStatus::kFull:
      return CryptoStatus::kFull;
    case StoreStatus::kPowerLost:
      return CryptoStatus::kPowerLost;
    default:
      return CryptoStatus::kInternal;
  }
}

// A primitive's status for an operation on a stored key: the library refusing a key the store
// holds means a damaged record, not a caller's bad key.
CryptoStatus FromCrypto(CryptoStatus s) {
  return s == CryptoStatus::kBadKey ? CryptoStatus::kInternal : s;
}

void Wipe(Bytes& b) {
  volatile uint8_t* p = b.data();
  for (size_t i = 0; i < b.size(); ++i) p[i] = 0;
  b.clear();
}

// ---- what each usage may do --------------------------------------------------------------------

enum Op : int {
  kOpCmac,
  kOpVerifyCmac,
  kOpEncrypt,
  kOpDecrypt,
  kOpHmac,
  kOpVerifyHmac,
  kOpSign,
  kOpVerify,
  kOpScp03Derive,
};
constexpr int kOpCount = kOpScp03Derive + 1;

bool IsAes(KeyType t) {
  return t == KeyType::kAes128 || t == KeyType::kAes192 || t == KeyType::kAes256;
}

// The usage table: one usage, the operations it allows for each key type.
bool Allows(KeyUsage usage, KeyType type, int op) {
  const bool aes = IsAes(type);
  const bool hmac = type == KeyType::kHmacSecret;
  const bool ec_private = type == KeyType::kEcP256Private;
  const bool ec_public = type == KeyType::kEcP256Public;
  switch (usage) {
    case KeyUsage::kScp03Enc:
    case KeyUsage::kScp03Mac:
      return aes && op == kOpScp03Derive;
    case KeyUsage::kScp03Dek:  // GP: the card decrypts keys and secrets sent under K-DEK
      return aes && op == kOpDecrypt;
    case KeyUsage::kBootstrapVerification:
    case KeyUsage::kFumo:
      return (aes && op == kOpVerifyCmac) || (hmac && op == kOpVerifyHmac) ||
             (ec_public && op == kOpVerify);
    case KeyUsage::kCardAuthentication:
      return (aes && (op == kOpCmac || op == kOpEncrypt)) || (ec_private && op == kOpSign);
    case KeyUsage::kDmCredential:
      return (aes && (op == kOpCmac || op == kOpVerifyCmac)) ||
             (hmac && (op == kOpHmac || op == kOpVerifyHmac));
  }
  return false;
}

bool UsageFitsType(KeyUsage usage, KeyType type) {
  for (int op = 0; op < kOpCount; ++op) {
    if (Allows(usage, type, op)) return true;
  }
  return false;
}

bool KnownType(uint8_t v) { return v >= 1 && v <= 6; }
bool KnownUsage(uint8_t v) { return v >= 1 && v <= 7; }

size_t AesLength(KeyType t) {
  switch (t) {
    case KeyType::kAes128:
      return 16;
    case KeyType::kAes192:
      return 24;
    case KeyType::kAes256:
      return 32;
    default:
      return 0;
  }
}

std::optional<KeySetState> DecodeState(const Bytes* r) {
  if (r == nullptr || r->size() != kStateRecordSize || (*r)[0] != kStateRecordVersion) {
    return std::nullopt;
  }
  KeySetState s;
  s.sequence_counter = (uint32_t{(*r)[1]} << 16) | (uint32_t{(*r)[2]} << 8) | (*r)[3];
  s.failed_authentications = (*r)[4];
  s.max_failed_authentications = (*r)[5];
  return s;
}

Bytes EncodeState(const KeySetState& s) {
  return {kStateRecordVersion,
          static_cast<uint8_t>(s.sequence_counter >> 16),
          static_cast<uint8_t>(s.sequence_counter >> 8),
          static_cast<uint8_t>(s.sequence_counter),
          s.failed_authentications,
          s.max_failed_authentications};
}

uint32_t DecodeUses(const Bytes* r) {
  if (r == nullptr || r->size() != 5 || (*r)[0] != kUsesRecordVersion) return 0;
  return ReadU32(r->data() + 1);
}

}  // namespace

Sw SwFromCrypto(CryptoStatus status) {
  switch (status) {
    case CryptoStatus::kOk:
      return Sw::kOk;
    case CryptoStatus::kNotFound:
      return Sw::kReferenceDataNotFound;  // 6A88
    case CryptoStatus::kUsageRefused:
      return Sw::kConditionsNotSatisfied;  // 6985
    case CryptoStatus::kBlocked:
      return Sw::kAuthMethodBlocked;  // 6983
    case CryptoStatus::kExhausted:
      return Sw::kReferenceDataNotUsable;  // 6984
    case CryptoStatus::kBadInput:
    case CryptoStatus::kBadKey:
      return Sw::kWrongData;  // 6A80
    case CryptoStatus::kVerifyFailed:
      return Sw::kSecurityStatusNotSatisfied;  // 6982
    case CryptoStatus::kFull:
      return SwFromStore(StoreStatus::kFull);
    case CryptoStatus::kPowerLost:
      return SwFromStore(StoreStatus::kPowerLost);
    case CryptoStatus::kInternal:
      return Sw::kNoPreciseDiagnosis;
  }
  return Sw::kNoPreciseDiagnosis;
}

// ---- KeyStore --------------------------------------------------------------------------------

// A key record decoded; the material is wiped when it goes out of scope.
struct KeyStore::Loaded {
  KeyType type{};
  KeyUsage usage{};
  std::string owner;
  uint32_t max_uses = 0;
  Bytes secret;
  Bytes public_key;
  ~Loaded() { Wipe(secret); }
};

CryptoStatus KeyStore::Load(KeyHandle key, Loaded& out) const {
  const Bytes* r = store_.Get(KeyRecord(key.kvn_, key.id_));
  if (r == nullptr) return CryptoStatus::kNotFound;
  const Bytes& b = *r;
  size_t pos = 0;
  auto take = [&](size_t n) -> const uint8_t* {
    if (b.size() - pos < n) return nullptr;
    const uint8_t* p = b.data() + pos;
    pos += n;
    return p;
  };
  const uint8_t* head = take(4);
  if (head == nullptr || head[0] != kKeyRecordVersion || !KnownType(head[1]) ||
      !KnownUsage(head[2])) {
    return CryptoStatus::kInternal;
  }
  out.type = static_cast<KeyType>(head[1]);
  out.usage = static_cast<KeyUsage>(head[2]);
  const uint8_t* owner = take(head[3]);
  const uint8_t* max_uses = owner == nullptr ? nullptr : take(4);
  const uint8_t* secret_len = max_uses == nullptr ? nullptr : take(1);
  const uint8_t* secret = secret_len == nullptr ? nullptr : take(*secret_len);
  const uint8_t* public_len = secret == nullptr ? nullptr : take(1);
  const uint8_t* public_key = public_len == nullptr ? nullptr : take(*public_len);
  if (public_key == nullptr || pos != b.size()) return CryptoStatus::kInternal;
  out.owner.assign(owner, owner + head[3]);
  out.max_uses = ReadU32(max_uses);
  out.secret.assign(secret, secret + *secret_len);
  out.public_key.assign(public_key, public_key + *public_len);
  return CryptoStatus::kOk;
}

CryptoStatus KeyStore::Use(KeyHandle key, int op, Loaded& out, bool count) {
  if (CryptoStatus s = Load(key, out); s != CryptoStatus::kOk) return s;
  if (!Allows(out.usage, out.type, op)) return CryptoStatus::kUsageRefused;
  if (auto state = SetState(key.kvn_); state && state->blocked()) return CryptoStatus::kBlocked;
  if (!count) return CryptoStatus::kOk;
  const std::string name = UsesRecord(key.kvn_, key.id_);
  const uint32_t uses = DecodeUses(store_.Get(name));
  if (uses == UINT32_MAX || (out.max_uses != 0 && uses >= out.max_uses)) {
    return CryptoStatus::kExhausted;
  }
  Bytes record = {kUsesRecordVersion};
  AppendU32(record, uses + 1);
  // A limited key counts durably before it is used; others count with the command.
  const StoreStatus s =
      out.max_uses != 0 ? store_.PutDurable(name, record) : store_.Put(name, record);
  return FromStore(s);
}

std::optional<KeyHandle> KeyStore::Find(uint8_t kvn, uint8_t id) const {
  if (!store_.Contains(KeyRecord(kvn, id))) return std::nullopt;
  return KeyHandle(kvn, id);
}

std::vector<KeyHandle> KeyStore::List() const {
  std::vector<KeyHandle> out;
  for (const std::string& name : store_.Keys(kKeyPrefix)) {
    if (auto ref = ParseKeyRecordName(name)) out.push_back(KeyHandle(ref->first, ref->second));
  }
  // Names sort as upper-case hex of fixed width, which is numeric order.
  return out;
}

std::optional<KeyHandle> KeyStore::FindByUsage(KeyUsage usage, std::string_view owner) const {
  for (KeyHandle key : List()) {
    Loaded k;
    if (Load(key, k) == CryptoStatus::kOk && k.usage == usage && k.owner == owner) return key;
  }
  return std::nullopt;
}

std::optional<KeyInfo> KeyStore::Info(KeyHandle key) const {
  Loaded k;
  if (Load(key, k) != CryptoStatus::kOk) return std::nullopt;
  return KeyInfo{k.type,    k.usage, key.kvn_,
                 key.id_,   k.owner, DecodeUses(store_.Get(UsesRecord(key.kvn_, key.id_))),
                 k.max_uses};
}

CryptoStatus KeyStore::Cmac(KeyHandle key, ByteView message, Bytes& mac) {
  Loaded k;
  if (CryptoStatus s = Use(key, kOpCmac, k); s != CryptoStatus::kOk) return s;
  return FromCrypto(crypto::AesCmac(k.secret, message, mac));
}

CryptoStatus KeyStore::VerifyCmac(KeyHandle key, ByteView message, ByteView mac) {
  if (mac.size() < 4 || mac.size() > kBlock) return CryptoStatus::kBadInput;
  Loaded k;
  if (CryptoStatus s = Use(key, kOpVerifyCmac, k); s != CryptoStatus::kOk) return s;
  Bytes full;
  if (CryptoStatus s = FromCrypto(crypto::AesCmac(k.secret, message, full));
      s != CryptoStatus::kOk) {
    return s;
  }
  return crypto::ConstantTimeEqual(ByteView(full).first(mac.size()), mac)
             ? CryptoStatus::kOk
             : CryptoStatus::kVerifyFailed;
}

namespace {
CryptoStatus CipherChecks(CipherMode mode, ByteView iv, ByteView in) {
  if (in.empty() || in.size() % kBlock != 0) return CryptoStatus::kBadInput;
  if (mode == CipherMode::kEcb ? !iv.empty() : iv.size() != kBlock) return CryptoStatus::kBadInput;
  return CryptoStatus::kOk;
}
}  // namespace

CryptoStatus KeyStore::Encrypt(KeyHandle key, CipherMode mode, ByteView iv, ByteView in,
                               Bytes& out) {
  if (CryptoStatus s = CipherChecks(mode, iv, in); s != CryptoStatus::kOk) return s;
  Loaded k;
  if (CryptoStatus s = Use(key, kOpEncrypt, k); s != CryptoStatus::kOk) return s;
  return FromCrypto(mode == CipherMode::kEcb ? crypto::AesEcbEncrypt(k.secret, in, out)
                                             : crypto::AesCbcEncrypt(k.secret, iv, in, out));
}

CryptoStatus KeyStore::Decrypt(KeyHandle key, CipherMode mode, ByteView iv, ByteView in,
                               Bytes& out) {
  if (CryptoStatus s = CipherChecks(mode, iv, in); s != CryptoStatus::kOk) return s;
  Loaded k;
  if (CryptoStatus s = Use(key, kOpDecrypt, k); s != CryptoStatus::kOk) return s;
  return FromCrypto(mode == CipherMode::kEcb ? crypto::AesEcbDecrypt(k.secret, in, out)
                                             : crypto::AesCbcDecrypt(k.secret, iv, in, out));
}

CryptoStatus KeyStore::Hmac(KeyHandle key, crypto::HashAlg alg, ByteView message, Bytes& mac) {
  Loaded k;
  if (CryptoStatus s = Use(key, kOpHmac, k); s != CryptoStatus::kOk) return s;
  return FromCrypto(crypto::Hmac(alg, k.secret, message, mac));
}

CryptoStatus KeyStore::VerifyHmac(KeyHandle key, crypto::HashAlg alg, ByteView message,
                                  ByteView mac) {
  if (alg == crypto::HashAlg::kMd5) return CryptoStatus::kBadInput;  // OMA DM credentials only
  const size_t full_length = alg == crypto::HashAlg::kSha1 ? 20 : 32;
  if (mac.size() < 10 || mac.size() > full_length) return CryptoStatus::kBadInput;
  Loaded k;
  if (CryptoStatus s = Use(key, kOpVerifyHmac, k); s != CryptoStatus::kOk) return s;
  Bytes full;
  if (CryptoStatus s = FromCrypto(crypto::Hmac(alg, k.secret, message, full));
      s != CryptoStatus::kOk) {
    return s;
  }
  if (full.size() != full_length) return CryptoStatus::kInternal;
  return crypto::ConstantTimeEqual(ByteView(full).first(mac.size()), mac)
             ? CryptoStatus::kOk
             : CryptoStatus::kVerifyFailed;
}

CryptoStatus KeyStore::SignDigest(KeyHandle key, crypto::HashAlg alg, ByteView digest,
                                  Bytes& signature) {
  if (alg == crypto::HashAlg::kMd5) return CryptoStatus::kBadInput;
  const size_t digest_length = alg == crypto::HashAlg::kSha1 ? 20 : 32;
  if (digest.size() != digest_length) return CryptoStatus::kBadInput;
  Loaded k;
  if (CryptoStatus s = Use(key, kOpSign, k); s != CryptoStatus::kOk) return s;
  return FromCrypto(crypto::EcdsaP256SignDigestDeterministic(k.secret, digest, alg, signature));
}

CryptoStatus KeyStore::VerifyDigest(KeyHandle key, ByteView digest, ByteView signature) {
  if (digest.empty() || digest.size() > 64 || signature.size() != 64)
    return CryptoStatus::kBadInput;
  Loaded k;
  if (CryptoStatus s = Use(key, kOpVerify, k); s != CryptoStatus::kOk) return s;
  return FromCrypto(crypto::EcdsaP256VerifyDigest(k.public_key, digest, signature));
}

CryptoStatus KeyStore::PublicKey(KeyHandle key, Bytes& public_key) const {
  Loaded k;
  if (CryptoStatus s = Load(key, k); s != CryptoStatus::kOk) return s;
  if (k.type != KeyType::kEcP256Private && k.type != KeyType::kEcP256Public) {
    return CryptoStatus::kUsageRefused;
  }
  public_key = k.public_key;
  return CryptoStatus::kOk;
}

CryptoStatus KeyStore::Scp03Prf(KeyHandle key, ByteView input, Bytes& block) {
  // Amendment D §4.1.5: label (11 x '00' || constant), separator '00', L (2 bytes), i, context.
  if (input.size() < kBlock ||
      !std::all_of(input.begin(), input.begin() + 11, [](uint8_t b) { return b == 0x00; })) {
    return CryptoStatus::kBadInput;
  }
  const uint8_t constant = input[11];
  const uint8_t i = input[15];
  if (input[12] != 0x00 || i == 0) return CryptoStatus::kBadInput;
  Loaded k;
  if (CryptoStatus s = Use(key, kOpScp03Derive, k, /*count=*/i == 1); s != CryptoStatus::kOk)
    return s;
  // K-ENC derives the card challenge (02) and S-ENC (04); K-MAC derives S-MAC (06) and S-RMAC
  // (07). Cryptograms (00, 01) are made under S-MAC, never under a static key.
  const bool allowed = k.usage == KeyUsage::kScp03Enc ? (constant == 0x02 || constant == 0x04)
                                                      : (constant == 0x06 || constant == 0x07);
  if (!allowed) return CryptoStatus::kUsageRefused;
  return FromCrypto(crypto::AesCmac(k.secret, input, block));
}

std::optional<KeySetState> KeyStore::SetState(uint8_t kvn) const {
  return DecodeState(store_.Get(StateRecord(kvn)));
}

CryptoStatus KeyStore::NextSequenceCounter(uint8_t kvn, uint32_t& value) {
  std::optional<KeySetState> state = SetState(kvn);
  if (!state) return CryptoStatus::kNotFound;
  if (state->sequence_counter >= kMaxSequenceCounter) return CryptoStatus::kExhausted;
  ++state->sequence_counter;
  if (CryptoStatus s = FromStore(store_.PutDurable(StateRecord(kvn), EncodeState(*state)));
      s != CryptoStatus::kOk) {
    return s;
  }
  value = state->sequence_counter;
  return CryptoStatus::kOk;
}

CryptoStatus KeyStore::CountAuthenticationAttempt(uint8_t kvn) {
  std::optional<KeySetState> state = SetState(kvn);
  if (!state) return CryptoStatus::kNotFound;
  if (state->blocked()) return CryptoStatus::kBlocked;
  ++state->failed_authentications;
  return FromStore(store_.PutDurable(StateRecord(kvn), EncodeState(*state)));
}

CryptoStatus KeyStore::ClearFailedAuthentications(uint8_t kvn) {
  std::optional<KeySetState> state = SetState(kvn);
  if (!state) return CryptoStatus::kNotFound;
  if (state->failed_authentications == 0) return CryptoStatus::kOk;
  state->failed_authentications = 0;
  return FromStore(store_.Put(StateRecord(kvn), EncodeState(*state)));
}

// ---- KeyLoader -------------------------------------------------------------------------------

namespace {

bool RefAcceptable(uint8_t v) { return v >= 0x01 && v <= 0x7F; }

}  // namespace

std::optional<KeyLoader> KeyStore::LoaderFor(std::string_view principal) {
  if (principal != kIssuerPrincipal) return std::nullopt;
  return KeyLoader(store_);
}

bool KeyOwnerAcceptable(std::string_view owner) {
  if (owner.empty() || owner.size() > kMaxOwner) return false;
  if (!std::all_of(owner.begin(), owner.end(), [](char c) { return c > 0x20 && c < 0x7F; })) {
    return false;
  }
  // '@' names are reserved (dm/acl.h); the only one a key may be bound to is the issuer.
  return owner[0] != '@' || owner == kIssuerPrincipal;
}

CryptoStatus KeyLoader::Write(const KeySpec& spec, ByteView secret, ByteView public_key,
                              uint8_t max_failed_authentications) {
  if (!RefAcceptable(spec.kvn) || !RefAcceptable(spec.id) || !KeyOwnerAcceptable(spec.owner) ||
      !UsageFitsType(spec.usage, spec.type)) {
    return CryptoStatus::kBadKey;
  }
  // A key set has one owner.
  KeyStore keys(store_);
  for (KeyHandle other : keys.List()) {
    if (other.kvn_ != spec.kvn || other.id_ == spec.id) continue;
    std::optional<KeyInfo> info = keys.Info(other);
    if (!info || info->owner != spec.owner) return CryptoStatus::kBadKey;
  }
  Bytes record = {kKeyRecordVersion, static_cast<uint8_t>(spec.type),
                  static_cast<uint8_t>(spec.usage), static_cast<uint8_t>(spec.owner.size())};
  record.insert(record.end(), spec.owner.begin(), spec.owner.end());
  AppendU32(record, spec.max_uses);
  record.push_back(static_cast<uint8_t>(secret.size()));
  Append(record, secret);
  record.push_back(static_cast<uint8_t>(public_key.size()));
  Append(record, public_key);
  const PersistentStore::SavepointId before = store_.Savepoint();
  StoreStatus s = store_.Put(KeyRecord(spec.kvn, spec.id), record);
  Wipe(record);
  if (s == StoreStatus::kOk && store_.Contains(UsesRecord(spec.kvn, spec.id))) {
    s = store_.Erase(UsesRecord(spec.kvn, spec.id));  // a new key starts unused
  }
  std::optional<KeySetState> state = keys.SetState(spec.kvn);
  // A single key joins its set's state as it is; a set load restarts the failure count.
  if (s == StoreStatus::kOk && (!state || max_failed_authentications != 0)) {
    KeySetState next = state.value_or(KeySetState{});
    next.failed_authentications = 0;
    next.max_failed_authentications = max_failed_authentications != 0
                                          ? max_failed_authentications
                                          : KeyStore::kDefaultMaxFailedAuthentications;
    s = store_.Put(StateRecord(spec.kvn), EncodeState(next));
  }
  if (s != StoreStatus::kOk) {
    store_.RollbackTo(before);
  } else {
    store_.Release(before);
  }
  return FromStore(s);
}

CryptoStatus KeyLoader::Load(const KeySpec& spec, ByteView material) {
  switch (spec.type) {
    case KeyType::kAes128:
    case KeyType::kAes192:
    case KeyType::kAes256:
      if (material.size() != AesLength(spec.type)) return CryptoStatus::kBadKey;
      return Write(spec, material, {}, 0);
    case KeyType::kHmacSecret:
      if (material.size() < 16 || material.size() > 64) return CryptoStatus::kBadKey;
      return Write(spec, material, {}, 0);
    case KeyType::kEcP256Private: {
      Bytes public_key;
      if (material.size() != kEcPrivateLength ||
          crypto::EcP256PublicFromPrivate(material, public_key) != crypto::CryptoStatus::kOk) {
        return CryptoStatus::kBadKey;
      }
      return Write(spec, material, public_key, 0);
    }
    case KeyType::kEcP256Public: {
      // A point the curve holds: verifying any signature with it fails as a verification, not as
      // a bad key.
      const Bytes digest(32, 0x01), signature(64, 0x01);
      if (material.size() != kEcPublicLength ||
          crypto::EcdsaP256VerifyDigest(material, digest, signature) ==
              crypto::CryptoStatus::kBadKey) {
        return CryptoStatus::kBadKey;
      }
      return Write(spec, {}, material, 0);
    }
  }
  return CryptoStatus::kBadKey;
}

CryptoStatus KeyLoader::Generate(const KeySpec& spec, crypto::Drbg& rng) {
  if (spec.type == KeyType::kEcP256Public) return CryptoStatus::kBadKey;  // nothing to generate
  if (spec.type == KeyType::kEcP256Private) {
    crypto::EcP256KeyPair pair;
    if (crypto::EcP256Generate(rng, pair) != crypto::CryptoStatus::kOk) {
      return CryptoStatus::kInternal;
    }
    const CryptoStatus s = Write(spec, pair.private_key, pair.public_key, 0);
    Wipe(pair.private_key);
    return s;
  }
  Bytes secret(spec.type == KeyType::kHmacSecret ? 32 : AesLength(spec.type));
  if (rng.Generate(secret) != crypto::CryptoStatus::kOk) return CryptoStatus::kInternal;
  const CryptoStatus s = Load(spec, secret);
  Wipe(secret);
  return s;
}

CryptoStatus KeyLoader::LoadScp03KeySet(uint8_t kvn, std::string_view owner, ByteView enc,
                                        ByteView mac, ByteView dek,
                                        uint8_t max_failed_authentications) {
  // Issue 9: SCP03 key sets use KVN 30 to 3F; K-ENC, K-MAC, K-DEK are key ids 01, 02, 03 (GP
  // Card Specification §11.1.8) and, in SCP03, AES keys of one length (Amendment D §4.1.1).
  if (kvn < kScp03KvnFirst || kvn > kScp03KvnLast || max_failed_authentications == 0)
    return CryptoStatus::kBadKey;
  if (enc.size() != mac.size() || enc.size() != dek.size()) return CryptoStatus::kBadKey;
  KeyType type;
  switch (enc.size()) {
    case 16:
      type = KeyType::kAes128;
      break;
    case 24:
      type = KeyType::kAes192;
      break;
    case 32:
      type = KeyType::kAes256;
      break;
    default:
      return CryptoStatus::kBadKey;
  }
  const std::string who(owner);
  const struct {
    uint8_t id;
    KeyUsage usage;
    ByteView material;
  } members[] = {{0x01, KeyUsage::kScp03Enc, enc},
                 {0x02, KeyUsage::kScp03Mac, mac},
                 {0x03, KeyUsage::kScp03Dek, dek}};
  // The set is replaced whole (its owner may change): the old members go first. Other keys of
  // the KVN stay, and must have the set's owner.
  const PersistentStore::SavepointId before = store_.Savepoint();
  CryptoStatus s = CryptoStatus::kOk;
  for (const auto& m : members) {
    if (s == CryptoStatus::kOk && store_.Contains(KeyRecord(kvn, m.id))) {
      s = FromStore(store_.Erase(KeyRecord(kvn, m.id)));
    }
  }
  for (const auto& m : members) {
    if (s == CryptoStatus::kOk) {
      s = Write(KeySpec{type, m.usage, kvn, m.id, who, 0}, m.material, {},
                max_failed_authentications);
    }
  }
  if (s != CryptoStatus::kOk) {
    store_.RollbackTo(before);  // all three or none
  } else {
    store_.Release(before);
  }
  return s;
}

CryptoStatus KeyLoader::Erase(uint8_t kvn, uint8_t id) {
  if (!store_.Contains(KeyRecord(kvn, id))) return CryptoStatus::kNotFound;
  StoreStatus s = store_.Erase(KeyRecord(kvn, id));
  if (s == StoreStatus::kOk && store_.Contains(UsesRecord(kvn, id))) {
    s = store_.Erase(UsesRecord(kvn, id));
  }
  return FromStore(s);
}

}  // namespace dmcard
