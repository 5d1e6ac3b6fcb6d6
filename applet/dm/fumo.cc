// CHECK FIRMWARE (OMA FUMO control on the card, requirement FUMO): "may this firmware package be
// installed?", answered from the operator's FUMO policy in the tree and the FUMO key.
//
// The policy: the children of ./Vendor/dmcard/FUMOPolicy, each with PkgDigest (the package's
// SHA-256 as 64 hex characters, either case) and PkgVersion (text). A package whose digest and
// version match an entry is allowed (reason 01). A package signed — ECDSA P-256 over its digest —
// with a key of usage FUMO (runtime/key_store.h; of the KVN given, else the first) is allowed
// (reason 02); a signature that does not verify is refused with 6982. Anything else: not allowed
// (reason 00). The answer is 86 01 <reason>; every decision is in the event log (kind 07, the
// reason, the version as detail), a refused signature durably.
#include <string>

#include "crypto/crypto.h"
#include "dm/dm_applet.h"
#include "runtime/event_log.h"
#include "runtime/key_store.h"
#include "runtime/tlv.h"

namespace dmcard::dm {

namespace {

constexpr char kPolicyRoot[] = "./Vendor/dmcard/FUMOPolicy";
constexpr uint8_t kNotAllowed = 0x00, kListed = 0x01, kSigned = 0x02;
constexpr uint8_t kBadSignature = 0xFF;  // the log's reason for a refused signature

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string ValueText(const std::optional<Node>& n) {
  return n && !n->interior ? std::string(n->value.begin(), n->value.end()) : std::string();
}

}  // namespace

Sw DmApplet::CheckFirmware(AppletContext& ctx, const FirmwareRequest& req, Bytes& out) const {
  const std::string who = LogName(PrincipalOf(ctx.security()));
  const Bytes detail(req.version.begin(), req.version.end());
  auto decide = [&](uint8_t reason, bool durable) {
    return ctx.log().Append(EventKind::kFumoDecision, reason, who, detail, ctx.now(), durable);
  };
  uint8_t reason = kNotAllowed;
  const MoTree tree = Tree(ctx);
  const std::string digest = Lower(ToHex(req.digest));
  for (const Node& entry : tree.Walk(kPolicyRoot)) {
    if (!entry.interior || MoTree::ParentOf(entry.uri) != kPolicyRoot) continue;
    if (Lower(ValueText(tree.Read(entry.uri + "/PkgDigest"))) == digest &&
        ValueText(tree.Read(entry.uri + "/PkgVersion")) == req.version) {
      reason = kListed;
      break;
    }
  }
  if (reason == kNotAllowed && !req.signature.empty()) {
    KeyStore& keys = ctx.keys();
    std::optional<KeyHandle> key;
    for (KeyHandle h : keys.List()) {
      const std::optional<KeyInfo> info = keys.Info(h);
      if (info && info->usage == KeyUsage::kFumo && (!req.kvn || info->kvn == *req.kvn) &&
          (info->type == KeyType::kEcP256Public || info->type == KeyType::kEcP256Private)) {
        key = h;
        break;
      }
    }
    if (!key) return Sw::kReferenceDataNotFound;
    const CryptoStatus s = keys.VerifyDigest(*key, req.digest, req.signature);
    if (s == CryptoStatus::kVerifyFailed) {
      const StoreStatus logged = decide(kBadSignature, /*durable=*/true);
      return logged == StoreStatus::kOk ? Sw::kSecurityStatusNotSatisfied : SwFromStore(logged);
    }
    if (s != CryptoStatus::kOk) return SwFromCrypto(s);
    reason = kSigned;
  }
  if (StoreStatus s = decide(reason, /*durable=*/false); s != StoreStatus::kOk) {
    return SwFromStore(s);
  }
  AppendTlv(out, 0x86, Bytes{reason});
  return Sw::kOk;
}

}  // namespace dmcard::dm
