// The card's authentication commands (DEV3, SC8): OMA DM 1.2 credentials computed and checked
// from an account's AppAuth entry without the secret ever leaving the card (80 3C), and
// INTERNAL AUTHENTICATE, the card answering a challenge with a key of its own (00 88).
// docs/credentials.md describes both; apdu-specs/dm.json has the status words.
#include <string>

#include "crypto/crypto.h"
#include "dm/dm_applet.h"
#include "runtime/event_log.h"
#include "runtime/key_store.h"

namespace dmcard::dm {

namespace {

ByteView View(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// B64(MD5(data)), the building block of both OMA DM credentials.
crypto::CryptoStatus B64Md5(ByteView data, std::string& out) {
  Bytes digest;
  if (crypto::CryptoStatus s = crypto::Hash(crypto::HashAlg::kMd5, data, digest);
      s != crypto::CryptoStatus::kOk) {
    return s;
  }
  return crypto::Base64Encode(digest, out);
}

// OMA DM 1.2 (DM Security §5.1, DM Protocol §9.4), the digest before its final base64:
//   syncml:auth-md5: MD5(B64(MD5(name ":" secret)) ":" nonce)
//   syncml:auth-MAC: MD5(B64(MD5(name ":" secret)) ":" nonce ":" B64(MD5(body)))
// The nonce is the raw bytes (NextNonce base64-decoded); MD5(body) comes from the device.
crypto::CryptoStatus CredentialDigest(ByteView name, ByteView secret, const CredentialRequest& req,
                                      Bytes& digest) {
  Bytes user;
  Append(user, name);
  user.push_back(':');
  Append(user, secret);
  std::string authenticator;  // B64(MD5(name:secret)): as good as the secret; never leaves
  crypto::CryptoStatus s = B64Md5(user, authenticator);
  std::fill(user.begin(), user.end(), 0);
  if (s != crypto::CryptoStatus::kOk) return s;
  Bytes message;
  Append(message, View(authenticator));
  std::fill(authenticator.begin(), authenticator.end(), '\0');
  message.push_back(':');
  Append(message, req.nonce);
  if (req.method == CredentialRequest::Method::kAuthMac) {
    std::string body;
    if (s = crypto::Base64Encode(req.body_md5, body); s != crypto::CryptoStatus::kOk) return s;
    message.push_back(':');
    Append(message, View(body));
  }
  s = crypto::Hash(crypto::HashAlg::kMd5, message, digest);
  std::fill(message.begin(), message.end(), 0);
  return s;
}

bool ValueIs(const std::optional<Node>& node, std::string_view text) {
  return node && !node->interior &&
         std::string_view(reinterpret_cast<const char*>(node->value.data()), node->value.size()) ==
             text;
}

// A refusal of one of the commands below, kept in the event log although the command is refused
// (UC521): kind kCredentialFailed, reason the status word's low byte, detail what the request
// names ("client auth-md5 ./DMAcc/A/AppAuth/CliCred", "KVN 20"). When the log cannot be
// written, that failure is the answer (the command is refused either way).
Sw Refuse(AppletContext& ctx, Sw sw, const std::string& what) {
  const std::string who = DmApplet::LogName(DmApplet::PrincipalOf(ctx.security()));
  const StoreStatus logged =
      ctx.log().Append(EventKind::kCredentialFailed, static_cast<uint8_t>(ToU16(sw) & 0xFF), who,
                       View(what), ctx.now(), /*durable=*/true);
  return logged == StoreStatus::kOk ? sw : SwFromStore(logged);
}

}  // namespace

// 80 3C: the AppAuth entry at req.uri must hold AAuthName and AAuthSecret (else 6A88; no such
// interior node: 6A82); the caller must be allowed to Get its AAuthName (the name it puts in the
// message header; else 6982); its AAuthLevel must be CLCRED to compute the client's credential
// and SRVCRED to check the server's, and its AAuthType, when present, DIGEST for auth-md5 and
// HMAC for auth-MAC (else 6985) — so the card never computes a server's credential, and never
// answers for an account in a weaker scheme than the account names. A check that fails answers
// 6300. Every refusal past the parse is logged; nothing else changes.
Sw DmApplet::Credential(AppletContext& ctx, const CredentialRequest& req, Bytes& out) const {
  const MoTree tree = Tree(ctx);
  const std::string what = Describe(req);
  const std::optional<Node> entry = tree.Read(req.uri);
  if (!entry || !entry->interior) return Refuse(ctx, Sw::kFileNotFound, what);
  // Read unchecked: the secret is used here and never returned (MoTree::GetValue refuses it to
  // everyone).
  const std::optional<Node> name = tree.Read(req.uri + "/AAuthName");
  std::optional<Node> secret = tree.Read(req.uri + "/AAuthSecret");
  if (!name || name->interior || !secret || secret->interior) {
    return Refuse(ctx, Sw::kReferenceDataNotFound, what);
  }
  if (!tree.Allowed(PrincipalOf(ctx.security()), req.uri + "/AAuthName", AclOp::kGet)) {
    return Refuse(ctx, Sw::kSecurityStatusNotSatisfied, what);
  }
  const bool md5 = req.method == CredentialRequest::Method::kAuthMd5;
  const std::optional<Node> type = tree.Read(req.uri + "/AAuthType");
  if (!ValueIs(tree.Read(req.uri + "/AAuthLevel"), req.check ? "SRVCRED" : "CLCRED") ||
      (type && !ValueIs(type, md5 ? "DIGEST" : "HMAC"))) {
    return Refuse(ctx, Sw::kConditionsNotSatisfied, what);
  }

  Bytes digest;
  crypto::CryptoStatus s = CredentialDigest(name->value, secret->value, req, digest);
  std::fill(secret->value.begin(), secret->value.end(), 0);
  if (s != crypto::CryptoStatus::kOk) return SwFromCrypto(s);
  if (!req.check) {
    std::string text;
    if (s = crypto::Base64Encode(digest, text); s != crypto::CryptoStatus::kOk) {
      return SwFromCrypto(s);
    }
    Append(out, View(text));
    return Sw::kOk;
  }
  // The server's credential as it sent it: only the canonical base64 of the right digest
  // passes; text that is not base64 at all fails the same way.
  Bytes offered;
  const std::string_view text(reinterpret_cast<const char*>(req.credential.data()),
                              req.credential.size());
  if (crypto::Base64Decode(text, offered) != crypto::CryptoStatus::kOk ||
      !crypto::ConstantTimeEqual(offered, digest)) {
    return Refuse(ctx, Sw::kAuthenticationFailed, what);
  }
  return Sw::kOk;
}

// 00 88: the key named by P2 (its KVN, key id 01; P2 00 the first card-authentication key)
// answers the challenge: an AES key with its AES-CMAC (NIST SP 800-38B, the full 16 bytes), an
// EC P-256 key with ECDSA over SHA-256(challenge), raw r || s (64 bytes, RFC 6979
// deterministic). No such key: 6A88; a key of another usage: 6985; a blocked or used-up key:
// 6983/6984. Each refusal is logged; a success counts one use of the key.
Sw DmApplet::InternalAuthenticate(AppletContext& ctx, const InternalAuthenticateRequest& req,
                                  Bytes& out) const {
  KeyStore& keys = ctx.keys();
  const std::string what = Describe(req);
  std::optional<KeyHandle> key;
  if (req.kvn == 0) {
    for (KeyHandle k : keys.List()) {
      const std::optional<KeyInfo> info = keys.Info(k);
      if (info && info->usage == KeyUsage::kCardAuthentication) {
        key = k;
        break;
      }
    }
  } else {
    key = keys.Find(req.kvn, 0x01);
  }
  if (!key) return Refuse(ctx, Sw::kReferenceDataNotFound, what);
  const std::optional<KeyInfo> info = keys.Info(*key);
  if (!info) return Refuse(ctx, Sw::kReferenceDataNotFound, what);
  if (info->usage != KeyUsage::kCardAuthentication) {
    return Refuse(ctx, Sw::kConditionsNotSatisfied, what);
  }
  Bytes answer;
  crypto::CryptoStatus s = crypto::CryptoStatus::kUsageRefused;
  switch (info->type) {
    case KeyType::kAes128:
    case KeyType::kAes192:
    case KeyType::kAes256:
      s = keys.Cmac(*key, req.challenge, answer);
      break;
    case KeyType::kEcP256Private: {
      Bytes digest;
      s = crypto::Hash(crypto::HashAlg::kSha256, req.challenge, digest);
      if (s == crypto::CryptoStatus::kOk) {
        s = keys.SignDigest(*key, crypto::HashAlg::kSha256, digest, answer);
      }
      break;
    }
    case KeyType::kHmacSecret:
    case KeyType::kEcP256Public:
      break;  // no card-authentication key has these types (the key store refuses them)
  }
  if (s != crypto::CryptoStatus::kOk) return Refuse(ctx, SwFromCrypto(s), what);
  Append(out, answer);
  return Sw::kOk;
}

}  // namespace dmcard::dm
