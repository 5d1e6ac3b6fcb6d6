// The operator's bootstrap keys, messages and proofs (host/operator.h), on OpenSSL and libwbxml2.
#include "host/operator.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dm/tnds.h"
#include "host/files.h"
#include "host/scp03_host.h"
#include "host/wbxml_encode.h"
#include "runtime/tlv.h"

namespace dmcard {

namespace {

using BioPtr = std::unique_ptr<BIO, ossl::Deleter<BIO, BIO_free_all>>;

constexpr char kTndsXmlType[] = "application/vnd.syncml.dmtnds+xml";

// The PEM text of a BIO's contents.
std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

Bytes TextBytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

bool AllDigits(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Bytes HmacSha1(ByteView key, ByteView data) { return ossl::OsslMac("HMAC", "SHA1", key, data); }

// The start tag of the document's root gets the DM DDF 1.2 namespace, which makes libwbxml2
// switch to the TNDS code pages inside SyncML; the XML declaration is dropped (it cannot stand
// inside <Data>).
std::optional<std::string> EmbeddableTnds(std::string xml, std::string& error) {
  const size_t root = xml.find("<MgmtTree");
  if (root == std::string::npos) {
    error = "the TNDS document has no <MgmtTree> root";
    return std::nullopt;
  }
  xml.erase(0, root);
  const size_t end = xml.find('>');
  if (end == std::string::npos) {
    error = "the TNDS document's <MgmtTree> tag is not closed";
    return std::nullopt;
  }
  if (xml.substr(0, end).find("xmlns") == std::string::npos) {
    xml.insert(std::string("<MgmtTree").size(), " xmlns=\"syncml:dmddf1.2\"");
  }
  return xml;
}

bool SafeHeaderText(const std::string& s) {
  return !s.empty() && s.find_first_of("<>&") == std::string::npos;
}

}  // namespace

// ---- keys ----

std::optional<OperatorKeys> MakeOperatorKeys(std::string& error) {
  OperatorKeys keys;
  keys.hmac_secret.resize(OperatorKeys::kHmacSecretSize);
  if (RAND_priv_bytes(keys.hmac_secret.data(), static_cast<int>(keys.hmac_secret.size())) != 1) {
    error = "OpenSSL's random generator failed";
    return std::nullopt;
  }
  keys.ec = ossl::OsslNewP256();
  if (!keys.ec) {
    error = "OpenSSL cannot make a P-256 key pair";
    return std::nullopt;
  }
  return keys;
}

OperatorKeyFiles OperatorKeyFiles::In(const std::filesystem::path& dir) {
  return {dir / "operator-hmac.key", dir / "operator-ec.pem", dir / "operator-ec.pub.pem"};
}

// A key file: never written over an existing one (an operator key is not replaced by accident).
bool WriteKeyFile(const std::filesystem::path& path, const std::string& text, mode_t mode,
                  std::string& error) {
  if (WriteNewFile(path, text, mode, error)) return true;
  if (error.find("File exists") != std::string::npos) {
    error += " (an operator key file is never overwritten; move it away first)";
  }
  return false;
}

bool WriteOperatorKeys(const OperatorKeys& keys, const OperatorKeyFiles& files,
                       std::string& error) {
  if (keys.hmac_secret.size() != OperatorKeys::kHmacSecretSize || !keys.ec) {
    error = "incomplete operator keys";
    return false;
  }
  BioPtr priv(BIO_new(BIO_s_mem()));
  BioPtr pub(BIO_new(BIO_s_mem()));
  if (!priv || !pub ||
      PEM_write_bio_PrivateKey(priv.get(), keys.ec.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1 ||
      PEM_write_bio_PUBKEY(pub.get(), keys.ec.get()) != 1) {
    error = "OpenSSL cannot write the EC key as PEM";
    return false;
  }
  return WriteKeyFile(files.hmac_secret, ToHex(keys.hmac_secret) + "\n", 0600, error) &&
         WriteKeyFile(files.ec_private_pem, BioText(priv.get()), 0600, error) &&
         WriteKeyFile(files.ec_public_pem, BioText(pub.get()), 0644, error);
}

std::optional<OperatorKeys> ReadOperatorKeys(const OperatorKeyFiles& files, std::string& error) {
  OperatorKeys keys;
  std::string hex;
  if (auto t = ReadWholeFile(files.hmac_secret, error)) {
    hex = std::move(*t);
  } else {
    return std::nullopt;
  }
  hex.erase(
      std::remove_if(hex.begin(), hex.end(), [](unsigned char c) { return std::isspace(c) != 0; }),
      hex.end());
  const std::optional<Bytes> secret = hex.size() % 2 == 0 ? FromHex(hex) : std::nullopt;
  if (!secret || secret->size() != OperatorKeys::kHmacSecretSize) {
    error = files.hmac_secret.string() + ": not a 32-byte secret in hex";
    return std::nullopt;
  }
  keys.hmac_secret = *secret;
  std::string pem;
  if (auto t = ReadWholeFile(files.ec_private_pem, error)) {
    pem = std::move(*t);
  } else {
    return std::nullopt;
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  keys.ec.reset(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!keys.ec || !EVP_PKEY_is_a(keys.ec.get(), "EC") || keys.ec_public().size() != 65) {
    error = files.ec_private_pem.string() + ": not a PEM EC P-256 private key";
    return std::nullopt;
  }
  return keys;
}

ossl::PkeyPtr ReadEcPublicKeyPem(const std::filesystem::path& file, std::string& error) {
  std::string pem;
  if (auto t = ReadWholeFile(file, error)) {
    pem = std::move(*t);
  } else {
    return nullptr;
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ossl::PkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key || !EVP_PKEY_is_a(key.get(), "EC") || ossl::OsslEcPublicKey(key.get()).size() != 65) {
    error = file.string() + ": not a PEM EC P-256 public key";
    return nullptr;
  }
  return key;
}

std::optional<std::vector<HostDgi>> OperatorKeyDgis(const OperatorKeys& keys,
                                                    const OperatorKeySlots& slots, ByteView dek,
                                                    std::string& error) {
  if (dek.size() != 16 && dek.size() != 24 && dek.size() != 32) {
    error = "the issuer's K-DEK is not an AES key";
    return std::nullopt;
  }
  if (slots.owner.empty() || slots.owner.size() > 0xFF) {
    error = "a key owner is 1 to 255 bytes";
    return std::nullopt;
  }
  const Bytes pub = keys.ec_public();
  if (keys.hmac_secret.empty() || pub.size() != 65) {
    error = "incomplete operator keys";
    return std::nullopt;
  }
  // docs/personalization.md, DGI 8402: KVN | key id | type | usage | use limit (4) | owner length
  // | owner | material.
  auto dgi = [&](uint8_t kvn, uint8_t type, ByteView material) {
    return AnyKeyDgi(kvn, slots.key_id, type, kDgiUsageBootstrap, slots.owner, material, dek);
  };
  return std::vector<HostDgi>{dgi(slots.hmac_kvn, kDgiKeyTypeHmacSecret, keys.hmac_secret),
                              dgi(slots.ec_kvn, kDgiKeyTypeEcPublic, pub)};
}

// ---- the message ----

std::optional<Bytes> BuildBootstrapMessage(ByteView tnds, const BootstrapHeader& header,
                                           std::string& error) {
  if (tnds.empty()) {
    error = "empty TNDS document";
    return std::nullopt;
  }
  if (!SafeHeaderText(header.session_id) || !SafeHeaderText(header.target) ||
      !SafeHeaderText(header.source)) {
    error = "the SyncML header's session id, target and source must be text without < > &";
    return std::nullopt;
  }
  // WBXML starts with its version byte (01 to 03); XML with text.
  std::optional<std::string> xml;
  if (tnds[0] <= 0x03) {
    xml = TndsWbxmlToXml(tnds, error);
  } else {
    xml = std::string(tnds.begin(), tnds.end());
  }
  if (!xml) return std::nullopt;
  // The card reads the message's TNDS with dm::ParseTndsXml and refuses an Add without nodes
  // (dm/bootstrap_message.h): a document it would refuse is refused here, before it is signed.
  const dm::TndsDocument doc = dm::ParseTndsXml(*xml);
  if (!doc.error.empty()) {
    error = "the TNDS document is not one a card reads: " + doc.error;
    return std::nullopt;
  }
  if (doc.nodes.empty()) {
    error = "the TNDS document holds no node: a bootstrap message must add at least one";
    return std::nullopt;
  }
  const std::optional<std::string> tree = EmbeddableTnds(*xml, error);
  if (!tree) return std::nullopt;
  // OMA-TS-DM_Bootstrap: a SyncML DM 1.2 package whose body Adds the bootstrap data; libwbxml2
  // encodes the Item whose Meta/Type is dmtnds+xml as embedded WBXML TNDS.
  const std::string message =
      "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>"
      "<SessionID>" +
      header.session_id + "</SessionID><MsgID>1</MsgID><Target><LocURI>" + header.target +
      "</LocURI></Target><Source><LocURI>" + header.source +
      "</LocURI></Source></SyncHdr><SyncBody><Add><CmdID>1</CmdID><Item><Meta>"
      "<Format xmlns=\"syncml:metinf\">xml</Format><Type xmlns=\"syncml:metinf\">" +
      kTndsXmlType + "</Type></Meta><Data>" + *tree +
      "</Data></Item></Add><Final/></SyncBody></SyncML>";
  return XmlToWbxml(message, error);
}

// ---- proofs ----

Bytes NetwPinKey(const std::string& imsi) {
  if (imsi.size() < 6 || imsi.size() > 15 || !AllDigits(imsi)) return {};
  // OMA ProvBoot NETWPIN: the IMSI as EF_IMSI semi-octets (parity nibble first), without the
  // length byte.
  const Bytes ef = HostEfImsi(imsi);
  return Bytes(ef.begin() + 1, ef.begin() + 1 + ef[0]);
}

std::optional<BootstrapProof> ProveBootstrap(ByteView message, dm::BootstrapMethod method,
                                             const BootstrapSecrets& s, std::string& error) {
  if (message.empty()) {
    error = "empty bootstrap message";
    return std::nullopt;
  }
  BootstrapProof proof;
  proof.method = method;
  const bool operator_method = dm::OperatorMethod(method);
  if (!operator_method && (s.sequence || s.kvn)) {
    error = "a sequence number and a KVN go with the operator methods only";
    return std::nullopt;
  }
  auto pin_ok = [&](size_t min, size_t max) {
    if (s.user_pin.size() < min || s.user_pin.size() > max || !AllDigits(s.user_pin)) {
      error = BootstrapMethodName(method) + ": the user's PIN must be " + std::to_string(min) +
              " to " + std::to_string(max) + " digits";
      return false;
    }
    return true;
  };
  Bytes key;  // the OMA methods' HMAC-SHA1 key
  switch (method) {
    case dm::BootstrapMethod::kNetwPin:
    case dm::BootstrapMethod::kUserNetwPin:
      key = NetwPinKey(s.imsi);
      if (key.empty()) {
        error = BootstrapMethodName(method) + ": the IMSI must be 6 to 15 digits";
        return std::nullopt;
      }
      if (method == dm::BootstrapMethod::kUserNetwPin) {
        if (!pin_ok(1, 16)) return std::nullopt;
        Append(key, TextBytes(s.user_pin));  // the NETWPIN key, then the typed PIN
        proof.user_digits = s.user_pin;
      }
      break;
    case dm::BootstrapMethod::kUserPin:
      if (!pin_ok(1, 16)) return std::nullopt;
      key = TextBytes(s.user_pin);
      proof.user_digits = s.user_pin;
      break;
    case dm::BootstrapMethod::kUserPinMac: {
      if (!pin_ok(5, 20)) return std::nullopt;
      // The user types the n-digit key and n check digits: digit n+i = HMAC-SHA1[i] mod 10.
      const Bytes mac = HmacSha1(TextBytes(s.user_pin), message);
      proof.user_digits = s.user_pin;
      for (size_t i = 0; i < s.user_pin.size(); ++i) {
        proof.user_digits += static_cast<char>('0' + mac.at(i) % 10);
      }
      break;
    }
    case dm::BootstrapMethod::kHmacSha256:
    case dm::BootstrapMethod::kEcdsaP256:
      if (s.keys == nullptr) {
        error = BootstrapMethodName(method) + ": no operator keys";
        return std::nullopt;
      }
      break;
  }
  if (!operator_method && method != dm::BootstrapMethod::kUserPinMac) {
    const Bytes mac = HmacSha1(key, message);
    if (mac.size() != 20) {
      error = "OpenSSL HMAC-SHA1 failed";
      return std::nullopt;
    }
    proof.mac = TextBytes(ToHex(mac));  // sent as 40 hex characters
  }
  if (operator_method) {
    Bytes signed_data;  // [sequence number (4, big-endian)] || message
    if (s.sequence) AppendU32(signed_data, *s.sequence);
    Append(signed_data, message);
    if (method == dm::BootstrapMethod::kHmacSha256) {
      if (s.keys->hmac_secret.empty()) {
        error = "HMAC-SHA256: no operator HMAC secret";
        return std::nullopt;
      }
      proof.mac = ossl::OsslMac("HMAC", "SHA256", s.keys->hmac_secret, signed_data);
      if (proof.mac.size() != 32) {
        error = "OpenSSL HMAC-SHA256 failed";
        return std::nullopt;
      }
    } else {
      const Bytes digest = ossl::OsslDigest("SHA256", signed_data);
      proof.mac = ossl::OsslDerToRaw(ossl::OsslSignDer(s.keys->ec.get(), digest));
      if (proof.mac.size() != 64) {
        error = "ECDSA-P256: OpenSSL cannot sign with the operator's EC key (a private key?)";
        return std::nullopt;
      }
    }
  }
  // apdu-specs/dm.json, VERIFY BOOTSTRAP.
  if (message.size() > 0xFFFF - 200) {
    error = "the bootstrap message is too long for one VERIFY BOOTSTRAP command";
    return std::nullopt;
  }
  AppendTlv(proof.command_data, 0x80, Bytes{static_cast<uint8_t>(method)});
  AppendTlv(proof.command_data, 0x81, message);
  if (!proof.mac.empty()) AppendTlv(proof.command_data, 0x82, proof.mac);
  if (s.sequence) {
    Bytes seq;
    AppendU32(seq, *s.sequence);
    AppendTlv(proof.command_data, 0x84, seq);
  }
  if (s.kvn) AppendTlv(proof.command_data, 0x85, Bytes{*s.kvn});
  return proof;
}

Bytes WithTypedDigits(ByteView command_data, const std::string& digits) {
  Bytes out(command_data.begin(), command_data.end());
  if (!digits.empty()) AppendTlv(out, 0x83, TextBytes(digits));
  return out;
}

Bytes VerifyBootstrapApdu(ByteView command_data, bool install) {
  if (command_data.empty() || command_data.size() > 0xFFFF) return {};
  Bytes c = {0x80,
             0x42,
             static_cast<uint8_t>(install ? 0x01 : 0x00),
             0x00,
             0x00,
             static_cast<uint8_t>(command_data.size() >> 8),
             static_cast<uint8_t>(command_data.size())};
  Append(c, command_data);
  c.push_back(0x00);
  c.push_back(0x00);
  return c;
}

std::string BootstrapMethodName(dm::BootstrapMethod method) {
  switch (method) {
    case dm::BootstrapMethod::kNetwPin:
      return "NETWPIN";
    case dm::BootstrapMethod::kUserPin:
      return "USERPIN";
    case dm::BootstrapMethod::kUserNetwPin:
      return "USERNETWPIN";
    case dm::BootstrapMethod::kUserPinMac:
      return "USERPINMAC";
    case dm::BootstrapMethod::kHmacSha256:
      return "HMAC-SHA256";
    case dm::BootstrapMethod::kEcdsaP256:
      return "ECDSA-P256";
  }
  return "method " + ToHex(Bytes{static_cast<uint8_t>(method)});
}

std::optional<dm::BootstrapMethod> BootstrapMethodByName(const std::string& name) {
  std::string upper = name;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (dm::BootstrapMethod m :
       {dm::BootstrapMethod::kNetwPin, dm::BootstrapMethod::kUserPin,
        dm::BootstrapMethod::kUserNetwPin, dm::BootstrapMethod::kUserPinMac,
        dm::BootstrapMethod::kHmacSha256, dm::BootstrapMethod::kEcdsaP256}) {
    if (BootstrapMethodName(m) == upper) return m;
  }
  return std::nullopt;
}

}  // namespace dmcard
