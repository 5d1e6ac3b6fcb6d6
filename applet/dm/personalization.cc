// Issuer personalization over STORE DATA (dm/personalization.h): the sequence of blocks, its
// DGIs, and what each DGI loads.
#include "dm/personalization.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "dm/acl.h"
#include "dm/dm_applet.h"
#include "dm/imsi.h"
#include "dm/pin_policy.h"
#include "dm/tnds.h"
#include "runtime/event_log.h"
#include "runtime/key_store.h"
#include "runtime/secure_session.h"

namespace dmcard::dm {

namespace {

constexpr size_t kMaxBlocks = 256;  // P2 numbers them 00 to FF

std::string_view Text(ByteView b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// A TNDS document, XML or WBXML, decoded and checked completely (6A80 on any error).
Sw DecodeTnds(ByteView doc, std::vector<Node>& nodes) {
  std::string xml;
  if (!doc.empty() && doc[0] == '<') {
    xml.assign(Text(doc));
  } else {
    // WBXML is untrusted input: TndsWbxmlToXml scans it before libwbxml2 sees it.
    std::string error;
    std::optional<std::string> converted = TndsWbxmlToXml(doc, error);
    if (!converted) return Sw::kWrongData;
    xml = std::move(*converted);
  }
  TndsDocument parsed = ParseTndsXml(xml);
  if (!parsed.error.empty()) return Sw::kWrongData;
  nodes = std::move(parsed.nodes);
  return Sw::kOk;
}

// 8401: KVN | failed authentications before blocking | key length | ENC | MAC | DEK | owner.
Sw LoadKeySet(KeyLoader& loader, ByteView v) {
  if (v.size() < 3) return Sw::kWrongData;
  const uint8_t kvn = v[0], max_failed = v[1], length = v[2];
  if (max_failed == 0 || (length != 16 && length != 24 && length != 32) ||
      v.size() <= 3 + size_t{3} * length) {
    return Sw::kWrongData;
  }
  const ByteView keys = v.subspan(3, size_t{3} * length);
  const std::string_view owner = Text(v.subspan(3 + size_t{3} * length));
  if (kvn < KeyLoader::kScp03KvnFirst || kvn > KeyLoader::kScp03KvnLast ||
      !KeyOwnerAcceptable(owner)) {
    return Sw::kWrongData;
  }
  const CryptoStatus s =
      loader.LoadScp03KeySet(kvn, owner, keys.subspan(0, length), keys.subspan(length, length),
                             keys.subspan(size_t{2} * length, length), max_failed);
  return s == CryptoStatus::kBadKey ? Sw::kWrongData : SwFromCrypto(s);
}

// 8402: KVN | key id | type | usage | use limit (4) | owner length | owner | material.
Sw LoadKey(KeyLoader& loader, ByteView v) {
  if (v.size() < 9) return Sw::kWrongData;
  const size_t owner_length = v[8];
  if (owner_length == 0 || v.size() <= 9 + owner_length) return Sw::kWrongData;
  const uint8_t type = v[2], usage = v[3];
  if (type < static_cast<uint8_t>(KeyType::kAes128) ||
      type > static_cast<uint8_t>(KeyType::kEcP256Public) ||
      usage < static_cast<uint8_t>(KeyUsage::kScp03Enc) ||
      usage > static_cast<uint8_t>(KeyUsage::kFumo)) {
    return Sw::kWrongData;
  }
  KeySpec spec;
  spec.kvn = v[0];
  spec.id = v[1];
  spec.type = static_cast<KeyType>(type);
  spec.usage = static_cast<KeyUsage>(usage);
  spec.max_uses = static_cast<uint32_t>(v[4]) << 24 | static_cast<uint32_t>(v[5]) << 16 |
                  static_cast<uint32_t>(v[6]) << 8 | v[7];
  spec.owner.assign(Text(v.subspan(9, owner_length)));
  if (!KeyOwnerAcceptable(spec.owner)) return Sw::kWrongData;
  const CryptoStatus s = loader.Load(spec, v.subspan(9 + owner_length));
  return s == CryptoStatus::kBadKey ? Sw::kWrongData : SwFromCrypto(s);
}

}  // namespace

// ---- the sequence ----

Sw StoreDataSequence::Take(const StoreDataRequest& req, size_t limit) {
  if (req.block == 0) Clear();  // block 00 always starts a new sequence
  if (complete_ || req.block != blocks_.size()) {
    Clear();
    return Sw::kConditionsNotSatisfied;
  }
  if (data_.size() + req.data.size() > limit ||
      (!req.last_block && blocks_.size() + 1 == kMaxBlocks)) {
    Clear();
    return Sw::kNotEnoughMemory;
  }
  blocks_.emplace_back(data_.size(), req.encrypted);
  Append(data_, req.data);
  complete_ = req.last_block;
  return Sw::kOk;
}

Sw StoreDataSequence::Split(std::vector<Dgi>& out) const {
  out.clear();
  // True when every block holding a byte of [begin, end) was marked encrypted.
  auto marked = [this](size_t begin, size_t end) {
    for (size_t b = 0; b < blocks_.size(); ++b) {
      const size_t start = blocks_[b].first;
      const size_t stop = b + 1 < blocks_.size() ? blocks_[b + 1].first : data_.size();
      if (start < end && begin < stop && !blocks_[b].second) return false;
    }
    return true;
  };
  size_t pos = 0;
  while (pos < data_.size()) {
    const size_t begin = pos;
    if (data_.size() - pos < 3) return Sw::kWrongData;
    const uint16_t tag = static_cast<uint16_t>(data_[pos] << 8 | data_[pos + 1]);
    size_t length = data_[pos + 2];
    pos += 3;
    if (length == 0xFF) {
      if (data_.size() - pos < 2) return Sw::kWrongData;
      length = static_cast<size_t>(data_[pos] << 8 | data_[pos + 1]);
      pos += 2;
    }
    if (data_.size() - pos < length) return Sw::kWrongData;
    if ((tag & kDgiEncrypted) != 0 && !marked(begin, pos + length)) return Sw::kWrongData;
    out.push_back(Dgi{tag, ByteView(data_).subspan(pos, length)});
    pos += length;
  }
  return Sw::kOk;
}

bool StripMethod2Padding(Bytes& data) {
  while (!data.empty() && data.back() == 0x00) data.pop_back();
  if (data.empty() || data.back() != 0x80) return false;
  data.pop_back();
  return true;
}

// ---- the command ----

Sw DmApplet::StoreData(AppletContext& ctx, const StoreDataRequest& req, Bytes& /*out*/) const {
  StoreDataSequence& sequence = sequences_[ctx.channel()];
  // A sequence larger than the card's whole persistent memory (and some framing) cannot load.
  const size_t limit = size_t{ctx.config().capacity} + 4096;
  if (Sw sw = sequence.Take(req, limit); sw != Sw::kOk) return sw;
  if (!sequence.complete()) return Sw::kOk;
  std::vector<Dgi> dgis;
  Sw sw = sequence.Split(dgis);
  if (sw == Sw::kOk) sw = Personalize(ctx, dgis);
  sequence.Clear();
  if (sw != Sw::kOk) return sw;
  static constexpr uint8_t kWhat[] = {'p', 'e', 'r', 's', 'o', 'n', 'a', 'l',
                                      'i', 'z', 'a', 't', 'i', 'o', 'n'};
  return SwFromStore(ctx.log().Append(EventKind::kMoChanged, 0xE2, kIssuerPrincipal, kWhat,
                                      ctx.now(), /*durable=*/false));
}

Sw DmApplet::Personalize(AppletContext& ctx, const std::vector<Dgi>& dgis) const {
  SecureSession* session = ctx.session();
  std::optional<KeyLoader> loader = ctx.keys().LoaderFor(ctx.security()->principal);
  if (session == nullptr || !loader) return Sw::kSecurityStatusNotSatisfied;
  StoreView store = ctx.store();
  MoTree tree = Tree(ctx);
  for (const Dgi& dgi : dgis) {
    Bytes plain;
    ByteView v = dgi.value;
    if ((dgi.tag & kDgiEncrypted) != 0) {
      if (v.empty() || v.size() % 16 != 0) return Sw::kWrongData;
      const CryptoStatus s = session->DecryptSensitiveData(ctx.keys(), v, plain);
      if (s != CryptoStatus::kOk) return SwFromCrypto(s);
      if (!StripMethod2Padding(plain)) return Sw::kWrongData;
      v = plain;
    }
    Sw sw = Sw::kOk;
    switch (dgi.tag) {
      case kDgiFlags:
        if (v.size() != 1 || (v[0] & ~kStoredFlags) != 0) return Sw::kWrongData;
        sw = SwFromStore(store.Put(kFlagsKey, v));
        break;
      case kDgiImsi:
        if (!DigitsOfEfImsi(v)) return Sw::kWrongData;
        sw = SwFromStore(store.Put(kImsiKey, v));
        break;
      case kDgiRootAcl: {
        if (v.empty() || !Acl::Parse(Text(v))) return Sw::kWrongData;
        std::optional<Node> root = tree.Read(".");
        if (!root) return Sw::kNoPreciseDiagnosis;
        root->props.acl.assign(Text(v));
        sw = SwFromDmStatus(tree.Put(*root));
        break;
      }
      case kDgiBootstrapPolicy: {
        if (v.size() != 1 || v[0] == 0) return Sw::kWrongData;
        BootstrapState state;
        if (const Bytes* r = store.Get(kBootstrapKey)) {
          state = BootstrapState::Decode(*r).value_or(BootstrapState{});
        }
        state.limit = v[0];
        state.failures = 0;  // the sequence number stays: a reset never reopens replays
        sw = SwFromStore(store.Put(kBootstrapKey, state.Encode()));
        break;
      }
      case kDgiTreeReplace:
      case kDgiTreeReplace | kDgiEncrypted:
      case kDgiTreeMerge:
      case kDgiTreeMerge | kDgiEncrypted: {
        std::vector<Node> nodes;
        if (Sw d = DecodeTnds(v, nodes); d != Sw::kOk) return d;
        if ((dgi.tag & ~kDgiEncrypted) == kDgiTreeReplace) {
          const std::optional<Node> root = tree.Read(".");
          const std::string acl = root ? root->props.acl : config_.root_acl;
          if (DmStatus s = tree.Clear(acl); s != DmStatus::kOk) return SwFromDmStatus(s);
        }
        sw = SwFromDmStatus(ImportNodes(tree, nodes));
        break;
      }
      case kDgiUserPin:
      case kDgiUserPuk: {
        const bool pin = dgi.tag == kDgiUserPin;
        if (!CheckPinValue(pin ? kUserPinPolicy : kUserPukPolicy, Text(v)).empty()) {
          return Sw::kWrongData;
        }
        // A PUK unblocks the user PIN: it needs one.
        if (!pin && !store.Contains(GlobalPinKey(kUserPinRef))) return Sw::kWrongData;
        sw = (pin ? user_pin_ : user_puk_).SetValue(ctx, v);
        break;
      }
      case kDgiScp03KeySet:
        sw = LoadKeySet(*loader, v);
        break;
      case kDgiKey:
        sw = LoadKey(*loader, v);
        break;
      default:
        return Sw::kReferenceDataNotFound;
    }
    if (sw != Sw::kOk) return sw;
  }
  return Sw::kOk;
}

}  // namespace dmcard::dm
