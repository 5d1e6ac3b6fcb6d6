// VERIFY BOOTSTRAP (dm/bootstrap.h): the methods, the failure counter and the anti-replay rule.
#include "dm/bootstrap.h"

#include <algorithm>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "dm/bootstrap_message.h"
#include "dm/dm_applet.h"
#include "dm/tnds.h"
#include "runtime/event_log.h"
#include "runtime/key_store.h"
#include "runtime/tlv.h"

namespace dmcard::dm {

bool KnownBootstrapMethod(uint8_t m) {
  return m <= static_cast<uint8_t>(BootstrapMethod::kUserPinMac) ||
         m == static_cast<uint8_t>(BootstrapMethod::kHmacSha256) ||
         m == static_cast<uint8_t>(BootstrapMethod::kEcdsaP256);
}

bool OperatorMethod(BootstrapMethod m) {
  return m == BootstrapMethod::kHmacSha256 || m == BootstrapMethod::kEcdsaP256;
}

// dm/bootstrap, version 1: version, failures, limit, has sequence (0/1), last sequence (4, BE).
Bytes BootstrapState::Encode() const {
  Bytes r = {records::kBootstrap.version, failures, limit,
             static_cast<uint8_t>(last_sequence ? 1 : 0)};
  AppendU32(r, last_sequence.value_or(0));
  return r;
}

std::optional<BootstrapState> BootstrapState::Decode(ByteView r) {
  if (r.size() != 8 || r[0] != records::kBootstrap.version || r[2] == 0 || r[3] > 1) {
    return std::nullopt;
  }
  BootstrapState s;
  s.failures = r[1];
  s.limit = r[2];
  if (r[3] == 1) s.last_sequence = ReadU32(r.data() + 4);
  return s;
}

std::optional<Bytes> NetwPinKey(ByteView ef_imsi) {
  if (ef_imsi.size() < 2 || ef_imsi[0] == 0 || size_t{1} + ef_imsi[0] > ef_imsi.size()) {
    return std::nullopt;
  }
  return Bytes(ef_imsi.begin() + 1, ef_imsi.begin() + 1 + ef_imsi[0]);
}

namespace {

// The operator key a method verifies with: of `kvn` if given, else the first (lowest KVN) key
// with usage bootstrap verification and the method's type.
std::optional<KeyHandle> OperatorKey(KeyStore& keys, BootstrapMethod method,
                                     std::optional<uint8_t> kvn) {
  for (KeyHandle h : keys.List()) {
    const std::optional<KeyInfo> info = keys.Info(h);
    if (!info || info->usage != KeyUsage::kBootstrapVerification) continue;
    if (kvn && info->kvn != *kvn) continue;
    const bool type_fits =
        method == BootstrapMethod::kHmacSha256
            ? info->type == KeyType::kHmacSecret
            : info->type == KeyType::kEcP256Public || info->type == KeyType::kEcP256Private;
    if (type_fits) return h;
  }
  return std::nullopt;
}

}  // namespace

Sw DmApplet::VerifyBootstrap(AppletContext& ctx, const VerifyBootstrapRequest& req,
                             Bytes& out) const {
  StoreView store = ctx.store();
  const Bytes* record = store.Get(kBootstrapKey);
  BootstrapState state;
  state.limit = config_.bootstrap_failure_limit;
  if (record != nullptr) {
    const std::optional<BootstrapState> decoded = BootstrapState::Decode(*record);
    if (!decoded) return Sw::kNoPreciseDiagnosis;  // a damaged record: refuse, keep it
    state = *decoded;
  }
  const std::string who = LogName(PrincipalOf(ctx.security()));
  const uint8_t method = static_cast<uint8_t>(req.method);
  // A refusal: in the event log, kept although the command is refused.
  auto refuse = [&](BootstrapRefusal why, Sw sw) {
    const StoreStatus s = ctx.log().Append(EventKind::kBootstrapRejected, static_cast<uint8_t>(why),
                                           who, Bytes{method}, ctx.now(), /*durable=*/true);
    return s == StoreStatus::kOk ? sw : SwFromStore(s);
  };
  if (state.locked_out()) return refuse(BootstrapRefusal::kLockedOut, Sw::kAuthMethodBlocked);
  // What an install would apply, read before anything is counted: a message the card cannot
  // read is refused as malformed (6A80), whoever made it.
  std::vector<BootstrapChange> changes;
  if (req.install) {
    std::string error;
    std::optional<std::vector<BootstrapChange>> decoded = DecodeBootstrapMessage(req.body, error);
    if (!decoded) return Sw::kWrongData;
    changes = std::move(*decoded);
  }

  // What the proof is checked with.
  Bytes key;  // the OMA methods' HMAC-SHA1 key
  std::optional<KeyHandle> operator_key;
  if (OperatorMethod(req.method)) {
    operator_key = OperatorKey(ctx.keys(), req.method, req.kvn);
    if (!operator_key) return refuse(BootstrapRefusal::kNoKey, Sw::kReferenceDataNotFound);
  } else {
    if (req.method == BootstrapMethod::kNetwPin || req.method == BootstrapMethod::kUserNetwPin) {
      const Bytes* imsi = store.Get(kImsiKey);
      const std::optional<Bytes> netwpin = imsi ? NetwPinKey(*imsi) : std::nullopt;
      if (!netwpin) return refuse(BootstrapRefusal::kNoKey, Sw::kReferenceDataNotFound);
      key = *netwpin;
    }
    if (req.method == BootstrapMethod::kUserPinMac) {
      Append(key, req.pin.first(req.pin.size() / 2));
    } else if (req.method != BootstrapMethod::kNetwPin) {
      Append(key, req.pin);
    }
  }

  // Counted before the proof is checked, durably: a power cut never gives a free attempt.
  ++state.failures;
  if (StoreStatus s = store.PutDurable(kBootstrapKey, state.Encode()); s != StoreStatus::kOk) {
    return SwFromStore(s);
  }
  bool valid = false;
  if (operator_key) {
    Bytes data;
    if (req.sequence) AppendU32(data, *req.sequence);
    Append(data, req.body);
    CryptoStatus s;
    if (req.method == BootstrapMethod::kHmacSha256) {
      s = ctx.keys().VerifyHmac(*operator_key, crypto::HashAlg::kSha256, data, req.mac);
    } else {
      Bytes digest;
      s = crypto::Hash(crypto::HashAlg::kSha256, data, digest);
      if (s == CryptoStatus::kOk) s = ctx.keys().VerifyDigest(*operator_key, digest, req.mac);
    }
    if (s != CryptoStatus::kOk && s != CryptoStatus::kVerifyFailed) return SwFromCrypto(s);
    valid = s == CryptoStatus::kOk;
  } else {
    Bytes mac;
    if (crypto::Hmac(crypto::HashAlg::kSha1, key, req.body, mac) != CryptoStatus::kOk) {
      return Sw::kNoPreciseDiagnosis;
    }
    if (req.method == BootstrapMethod::kUserPinMac) {
      // Digit n+i must be HMAC[i] mod 10; compared without an early exit.
      const size_t n = req.pin.size() / 2;
      uint8_t diff = 0;
      for (size_t i = 0; i < n; ++i) {
        diff |= static_cast<uint8_t>((req.pin[n + i] - '0') ^ (mac[i] % 10));
      }
      valid = diff == 0;
    } else {
      valid = crypto::ConstantTimeEqual(mac, req.mac);
    }
  }
  if (!valid) {
    // 63Cx: x more verifications before the card locks out (ISO 7816-4's counter coding).
    const int left = std::min(15, state.limit - state.failures);
    return refuse(BootstrapRefusal::kWrongMac,
                  static_cast<Sw>(static_cast<uint16_t>(Sw::kVerifyFailedBase) | left));
  }
  if (req.sequence && state.last_sequence && *req.sequence <= *state.last_sequence) {
    return refuse(BootstrapRefusal::kReplayed, Sw::kConditionsNotSatisfied);
  }

  // Valid: the failures start again and the sequence number is used up (in the command's
  // transaction, as the answer).
  state.failures = 0;
  if (req.sequence) state.last_sequence = req.sequence;
  if (StoreStatus s = store.Put(kBootstrapKey, state.Encode()); s != StoreStatus::kOk) {
    return SwFromStore(s);
  }
  // Install: every change of the message in this one transaction (a power cut leaves the old
  // tree or the new one), with the issuer's unchecked writes: the network's MAC, not the ACLs,
  // authorizes a bootstrap.
  if (req.install) {
    MoTree tree = Tree(ctx);
    for (const BootstrapChange& change : changes) {
      if (DmStatus s = ImportNodes(tree, change.nodes); s != DmStatus::kOk) {
        return SwFromDmStatus(s);
      }
    }
  }
  if (StoreStatus s = ctx.log().Append(EventKind::kBootstrapAccepted, method, who,
                                       Bytes{method, static_cast<uint8_t>(req.install ? 1 : 0)},
                                       ctx.now(), /*durable=*/false);
      s != StoreStatus::kOk) {
    return SwFromStore(s);
  }
  AppendTlv(out, 0x84, Bytes{StoredFlags(store)});
  return Sw::kOk;
}

}  // namespace dmcard::dm
