#include "gp/scp03_handshake.h"

#include <memory>

#include "gp/scp03_session.h"
#include "runtime/event_log.h"
#include "runtime/key_store.h"

namespace dmcard::gp {

namespace {

// An SCP03 key set of the key store: K-ENC and K-MAC of one KVN, one owner.
struct KeySet {
  uint8_t kvn;
  KeyHandle enc;
  KeyHandle mac;
  std::string owner;
};

std::optional<KeySet> FindKeySetByKvn(const KeyStore& keys, uint8_t kvn) {
  const std::optional<KeyHandle> enc = keys.Find(kvn, kKeyIdEnc);
  const std::optional<KeyHandle> mac = keys.Find(kvn, kKeyIdMac);
  if (!enc || !mac) return std::nullopt;
  const std::optional<KeyInfo> e = keys.Info(*enc);
  const std::optional<KeyInfo> m = keys.Info(*mac);
  if (!e || !m || e->usage != KeyUsage::kScp03Enc || m->usage != KeyUsage::kScp03Mac ||
      e->owner != m->owner) {
    return std::nullopt;
  }
  return KeySet{kvn, *enc, *mac, e->owner};
}

// INITIALIZE UPDATE P1: the key set's KVN, or 00 for the lowest SCP03 key set.
std::optional<KeySet> FindKeySet(const KeyStore& keys, uint8_t kvn) {
  if (kvn != 0x00) return FindKeySetByKvn(keys, kvn);
  for (uint8_t v = KeyLoader::kScp03KvnFirst; v <= KeyLoader::kScp03KvnLast; ++v) {
    if (auto set = FindKeySetByKvn(keys, v)) return set;
  }
  return std::nullopt;
}

// dm/acl.h reserves the names beginning with '@'; of those only the issuer authenticates.
bool MayBePrincipal(const std::string& owner) {
  return !owner.empty() && (owner[0] != '@' || owner == kIssuerPrincipal);
}

std::string HexByte(uint8_t v) { return ToHex(ByteView(&v, 1)); }

}  // namespace

std::optional<Sw> Scp03Handshake::Process(AppletContext& ctx, const CommandApdu& cmd,
                                          Bytes& out) const {
  if (cmd.cls.interindustry || ctx.selecting() || ctx.security() == nullptr) return std::nullopt;
  if (cmd.ins == kInsInitializeUpdate) return InitializeUpdate(ctx, cmd, out);
  if (cmd.ins == kInsExternalAuthenticate) return ExternalAuthenticate(ctx, cmd);
  return std::nullopt;
}

std::string Scp03Handshake::Describe(const CommandApdu& cmd) {
  if (cmd.cls.interindustry) return {};
  if (cmd.ins == kInsInitializeUpdate) return "GP INITIALIZE UPDATE KVN " + HexByte(cmd.p1);
  if (cmd.ins == kInsExternalAuthenticate) {
    return "GP EXTERNAL AUTHENTICATE level " + HexByte(cmd.p1);
  }
  return {};
}

// Every refusal ends the channel's session: GP ends the current session at a new INITIALIZE
// UPDATE, whether or not it succeeds. (On success StartSession replaces it.)
Sw Scp03Handshake::InitializeUpdate(AppletContext& ctx, const CommandApdu& cmd, Bytes& out) const {
  auto refuse = [&ctx](Sw sw) {
    ctx.EndSession();
    return sw;
  };
  if (cmd.p2 != 0x00) return refuse(Sw::kIncorrectP1P2);
  if (cmd.data.size() != Length(SMode::kS8)) return refuse(Sw::kWrongLength);
  KeyStore& keys = ctx.keys();
  const std::optional<KeySet> set = FindKeySet(keys, cmd.p1);
  if (!set) return refuse(Sw::kReferenceDataNotFound);
  if (!MayBePrincipal(set->owner)) return refuse(Sw::kConditionsNotSatisfied);
  const std::optional<KeySetState> state = keys.SetState(set->kvn);
  if (!state) return refuse(Sw::kReferenceDataNotFound);
  if (state->blocked()) return refuse(Sw::kAuthMethodBlocked);

  // Amendment D §6.2.2.1: the counter moves with every card challenge generated. It is durable
  // before anything is answered, so no power cut can make the card repeat a challenge.
  uint32_t sequence_counter = 0;
  if (CryptoStatus s = keys.NextSequenceCounter(set->kvn, sequence_counter);
      s != CryptoStatus::kOk) {
    return refuse(SwFromCrypto(s));
  }
  InitializeUpdateResponse response;
  response.key_version = set->kvn;
  response.i = kI;
  response.sequence_counter = sequence_counter;
  Scp03Channel channel;
  Scp03Status st = PseudoRandomCardChallenge(keys, set->enc, sequence_counter, aid_, SMode::kS8,
                                             response.card_challenge);
  if (st == Scp03Status::kOk) {
    st = channel.Initialize(keys, set->enc, set->mac, cmd.data, response.card_challenge,
                            ChannelOptions{SMode::kS8, kI});
  }
  if (st != Scp03Status::kOk) return refuse(static_cast<Sw>(StatusWordFor(st)));
  response.card_cryptogram = channel.card_cryptogram();
  Append(out, response.Encode());
  ctx.StartSession(std::make_unique<Scp03Session>(std::move(channel), set->kvn, set->owner));
  return Sw::kOk;
}

Sw Scp03Handshake::ExternalAuthenticate(AppletContext& ctx, const CommandApdu& cmd) const {
  auto refuse = [&ctx](Sw sw) {
    ctx.EndSession();
    return sw;
  };
  auto* session = dynamic_cast<Scp03Session*>(ctx.session());
  if (session == nullptr || !session->awaiting_authentication()) {
    return refuse(Sw::kConditionsNotSatisfied);  // no INITIALIZE UPDATE before it
  }
  // A level the card does not run is a wrong request, not a failed proof: not counted.
  if (!IsSupportedSecurityLevel(cmd.p1) || cmd.p2 != 0x00) return refuse(Sw::kIncorrectP1P2);
  KeyStore& keys = ctx.keys();
  const uint8_t kvn = session->kvn();
  // Counted before the proof is checked, as a PIN's try: a power cut never gives a free attempt.
  if (CryptoStatus s = keys.CountAuthenticationAttempt(kvn); s != CryptoStatus::kOk) {
    return refuse(SwFromCrypto(s));
  }
  const Scp03Status st = session->Authenticate();
  if (st != Scp03Status::kOk) {
    const Sw sw = static_cast<Sw>(StatusWordFor(st));
    // UC521: kept although the command is refused. The detail is the key set's KVN.
    ctx.log().Append(EventKind::kAuthenticationFailed, static_cast<uint8_t>(sw), session->owner(),
                     Bytes{kvn}, ctx.now(), /*durable=*/true);
    return refuse(sw);
  }
  if (CryptoStatus s = keys.ClearFailedAuthentications(kvn); s != CryptoStatus::kOk) {
    return refuse(SwFromCrypto(s));
  }
  return Sw::kOk;
}

}  // namespace dmcard::gp
