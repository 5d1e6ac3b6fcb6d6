#include "dm/dm_applet.h"

#include <utility>

#include "dm/pin_policy.h"
#include "dm/tnds.h"
#include "gp/scp03_handshake.h"
#include "runtime/event_log.h"
#include "runtime/tlv.h"

namespace dmcard::dm {

namespace {
// Capabilities (descriptor tag 85), first byte.
constexpr uint8_t kCapExtendedLength = 0x01;
constexpr uint8_t kCapChaining = 0x02;
constexpr uint8_t kCapTndsXml = 0x04;
constexpr uint8_t kCapTndsWbxml = 0x08;
constexpr uint8_t kCapIssuerPersonalization = 0x40;  // STORE DATA of DGIs (dm/personalization.h)
}  // namespace

Bytes DmApplet::DefaultAid() { return Bytes{0xF0, 'D', 'M', 'C', 'A', 'R', 'D', '-', 'D', 'M'}; }

DmApplet::DmApplet(DmAppletConfig config)
    : Applet(config.aid.empty() ? DefaultAid() : config.aid),
      config_(std::move(config)),
      user_pin_(GlobalPinKey(kUserPinRef), kUserPinRef, kUserPinPolicy.limits),
      user_puk_(GlobalPukKey(kUserPinRef), kUserPukRef, kUserPukPolicy.limits) {
  // Served whether or not the card holds them yet (personalization may load them later): a
  // missing record answers 6A88.
  pins_.Add(&user_pin_, &user_puk_);
}

MoTree DmApplet::Tree(AppletContext& ctx) const {
  MoTree tree(ctx.store(), kKeyPrefix, [&ctx] { return ctx.now(); });
  tree.SetReserve(config_.reserve);
  return tree;
}

Principal DmApplet::PrincipalOf(const SecurityState* security) {
  if (security == nullptr) return Principal::Device();
  if (!security->principal.empty()) return Principal::Authority(security->principal);
  if (security->pin_verified(kUserPinRef)) return Principal::User();
  return Principal::Device();
}

uint8_t DmApplet::StoredFlags(const StoreView& store) {
  const Bytes* f = store.Get(kFlagsKey);
  return f != nullptr && !f->empty() ? static_cast<uint8_t>((*f)[0] & kStoredFlags) : 0;
}

Sw DmApplet::Install(AppletContext& ctx) {
  StoreView store = ctx.store();
  // Cards made before the user PIN became the card's global PIN kept it here: its value (the
  // user may have changed it) and its counter move to the global records.
  for (const auto& [old_key, global_key] : {std::pair{kOldUserPinKey, GlobalPinKey(kUserPinRef)},
                                            std::pair{kOldUserPukKey, GlobalPukKey(kUserPinRef)}}) {
    if (Sw sw = SwFromStore(AdoptPinRecord(store, old_key, global_key)); sw != Sw::kOk) return sw;
  }
  if (!config_.user_pin.empty()) {
    if (Sw sw = user_pin_.Create(store, config_.user_pin); sw != Sw::kOk) return sw;
    if (!config_.user_puk.empty()) {
      if (Sw sw = user_puk_.Create(store, config_.user_puk); sw != Sw::kOk) return sw;
    }
  }
  if (store.Contains(kOldDevIssuerPinKey)) {
    if (Sw sw = SwFromStore(store.Erase(kOldDevIssuerPinKey)); sw != Sw::kOk) return sw;
  }
  // The initial tree is needed once, at the first install; don't keep a copy per card.
  const std::string initial_tnds = std::move(config_.initial_tnds);
  config_.initial_tnds.clear();
  config_.initial_tnds.shrink_to_fit();
  if (store.Contains(kFlagsKey)) return Sw::kOk;  // installed before: keep the card's tree

  if (!config_.imsi.empty()) {
    if (Sw sw = SwFromStore(store.Put(kImsiKey, config_.imsi)); sw != Sw::kOk) return sw;
  }

  MoTree tree = Tree(ctx);
  if (DmStatus s = tree.Init(config_.root_acl); s != DmStatus::kOk) return SwFromDmStatus(s);
  if (!initial_tnds.empty()) {
    TndsDocument doc = ParseTndsXml(initial_tnds);
    if (!doc.error.empty()) return Sw::kNoPreciseDiagnosis;
    if (DmStatus s = ImportNodes(tree, doc.nodes); s != DmStatus::kOk) return SwFromDmStatus(s);
  }
  uint8_t flags = 0;
  if (config_.flags.user_confirmation) flags |= kFlagUserConfirmation;
  if (config_.flags.autoconnect) flags |= kFlagAutoconnect;
  return SwFromStore(store.Put(kFlagsKey, Bytes{flags}));
}

Bytes DmApplet::Descriptor(AppletContext& ctx) const {
  MoTree tree = Tree(ctx);
  const uint32_t generation = tree.generation();
  if (!cache_.valid || cache_.generation != generation) {
    cache_.generation = generation;
    cache_.digest = tree.Digest();
    // Presence is a fact of the card, not of anyone's rights: read unchecked. Provisioning data
    // is there when ./DMAcc holds at least one account.
    cache_.provisioned = tree.Walk("./DMAcc").size() > 1;
    cache_.valid = true;
  }
  uint8_t flags = StoredFlags(ctx.store());
  if (cache_.provisioned) flags |= kFlagProvisioned;
  uint8_t caps = kCapChaining | kCapTndsXml | kCapTndsWbxml | kCapIssuerPersonalization;
  if (ctx.config().extended_length) caps |= kCapExtendedLength;

  Bytes body;
  AppendTlv(body, 0x80, ByteView(kAppletVersion, 2));
  AppendTlv(body, 0x81, Bytes{kFormatVersion});
  Bytes gen;
  AppendU32(gen, generation);
  AppendTlv(body, 0x82, gen);
  AppendTlv(body, 0x83, cache_.digest);
  AppendTlv(body, 0x84, Bytes{flags});
  AppendTlv(body, 0x85, Bytes{caps, 0x00});
  return Template(0xA5, body);
}

void DmApplet::Deselect(AppletContext& ctx) { sequences_[ctx.channel()].Clear(); }

// SELECT answers the FCI: 6F { 84 AID, A5 descriptor }.
Sw DmApplet::AnswerSelect(AppletContext& ctx, const SelectRequest& req, Bytes& out) const {
  if (!req.answer) return Sw::kOk;
  Bytes fci;
  AppendTlv(fci, 0x84, aid());
  Append(fci, Descriptor(ctx));
  AppendTlv(out, 0x6F, fci);
  return Sw::kOk;
}

std::string DmApplet::LogName(const Principal& who) {
  switch (who.kind) {
    case Principal::Kind::kAuthority:
      return who.server_id;
    case Principal::Kind::kUser:
      return "@user";
    case Principal::Kind::kDevice:
      break;
  }
  return "@device";
}

// 80 CA 00 A5: the descriptor alone. 80 CA 00 E1: the event log, for an authenticated management
// authority or the issuer (a secure session's principal): E1 { E2 { 80 counter, 81 time,
// 82 kind, 83 reason, 84 principal, 85 detail } ... }, oldest first.
Sw DmApplet::GetData(AppletContext& ctx, const GetDataRequest& req, Bytes& out) const {
  if (req.what == GetDataRequest::What::kDescriptor) {
    Append(out, Descriptor(ctx));
    return Sw::kOk;
  }
  if (ctx.security()->principal.empty()) return Sw::kSecurityStatusNotSatisfied;
  Bytes entries;
  for (const Event& e : ctx.log().Read(req.from, kLogEntriesPerAnswer)) {
    Bytes entry;
    Bytes counter, time;
    AppendU32(counter, e.counter);
    AppendU32(time, static_cast<uint32_t>(static_cast<uint64_t>(e.time) >> 32));
    AppendU32(time, static_cast<uint32_t>(static_cast<uint64_t>(e.time)));
    AppendTlv(entry, 0x80, counter);
    AppendTlv(entry, 0x81, time);
    AppendTlv(entry, 0x82, Bytes{static_cast<uint8_t>(e.kind)});
    AppendTlv(entry, 0x83, Bytes{e.reason});
    AppendTlv(entry, 0x84,
              ByteView(reinterpret_cast<const uint8_t*>(e.principal.data()), e.principal.size()));
    AppendTlv(entry, 0x85, e.detail);
    AppendTlv(entries, 0xE2, entry);
  }
  AppendTlv(out, 0xE1, entries);
  return Sw::kOk;
}

// VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER of the user PIN (01, the card's global PIN
// shared with the file-system applet; a verified user PIN makes the user the channel's
// principal) and of its PUK (81).
Sw DmApplet::PinCommand(AppletContext& ctx, const PinRequest& req, Bytes& /*out*/) const {
  return pins_.Process(ctx, req.apdu).value_or(Sw::kInsNotSupported);
}

// INITIALIZE UPDATE / EXTERNAL AUTHENTICATE: a secure channel to this applet, with the card's
// SCP03 key sets (gp/scp03_handshake.h); the card challenge is derived with this applet's AID.
Sw DmApplet::SecureChannel(AppletContext& ctx, const SecureChannelRequest& req, Bytes& out) const {
  sequences_[ctx.channel()].Clear();  // a new session: an unfinished sequence is not its own
  return gp::Scp03Handshake(aid()).Process(ctx, req.apdu, out).value_or(Sw::kInsNotSupported);
}

}  // namespace dmcard::dm
