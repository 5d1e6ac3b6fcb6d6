#include "dm/requests.h"

#include <cstdio>

#include "dm/tnds.h"
#include "gp/scp03_handshake.h"
#include "runtime/tlv.h"

namespace dmcard::dm {

namespace {

constexpr uint16_t kTagUri = 0x80;
constexpr uint16_t kTagValue = 0x81;
constexpr uint16_t kTagFormat = 0x82;
constexpr uint16_t kTagType = 0x83;
constexpr uint16_t kTagAcl = 0x84;
constexpr uint16_t kTagSecret = 0x85;  // 01: the leaf's value is secret (never readable)

std::string Text(ByteView v) { return std::string(v.begin(), v.end()); }

// Command data that is a bare URI; 6700 when there is none.
Parsed<std::string> UriData(const CommandApdu& cmd) {
  if (cmd.data.empty()) return Sw::kWrongLength;
  return Text(cmd.data);
}

// Command data that is a TLV list with a non-empty URI (tag 80); 6A80 otherwise.
struct TlvData {
  std::vector<Tlv> tlvs;
  std::string uri;
  const Tlv* Find(uint16_t tag) const { return FindTlv(tlvs, tag); }
};
Parsed<TlvData> ParseTlvData(const CommandApdu& cmd) {
  auto parsed = ParseTlvs(cmd.data);
  if (!parsed) return Sw::kWrongData;
  const Tlv* u = FindTlv(*parsed, kTagUri);
  if (u == nullptr || u->value.empty()) return Sw::kWrongData;
  return TlvData{std::move(*parsed), Text(u->value)};
}

// A URI fit for a log line: printable ASCII within OMA DM's MaxTotLen.
bool Printable(const std::string& uri) {
  if (uri.empty() || uri.size() > UriLimits{}.max_tot_len) return false;
  for (char c : uri) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

// "<what> <uri>" ("<uri>" when `what` is empty); "" when the URI is not printable.
std::string WithUri(std::string what, const std::string& uri) {
  if (!Printable(uri)) return {};
  return what.empty() ? uri : what + " " + uri;
}

// Property names of OMA-TS-DM_TND 1.2 §7 in the order of the Property enum (1..8).
const char* PropertyName(Property p) {
  static constexpr const char* kNames[] = {"ACL",  "Format", "Type",   "Name",
                                           "Size", "Title",  "TStamp", "VerNo"};
  const auto i = static_cast<size_t>(p);
  return i >= 1 && i <= 8 ? kNames[i - 1] : "property";
}

}  // namespace

Parsed<SelectRequest> ParseSelect(const CommandApdu& /*cmd*/) { return SelectRequest{}; }

Parsed<GetDataRequest> ParseGetData(const CommandApdu& cmd) {
  GetDataRequest r;
  if (cmd.p1p2() == 0x00A5) return r;
  if (cmd.p1p2() != 0x00E1) return Sw::kReferenceDataNotFound;
  if (!cmd.data.empty() && cmd.data.size() != 4) return Sw::kWrongLength;
  r.what = GetDataRequest::What::kEventLog;
  if (!cmd.data.empty()) r.from = ReadU32(cmd.data.data());
  return r;
}

Parsed<GetRequest> ParseGet(const CommandApdu& cmd) {
  if (cmd.p1 > 0x03 || (cmd.p1 != 0x01 && cmd.p2 != 0x00)) return Sw::kIncorrectP1P2;
  if (cmd.p1 == 0x01 && (cmd.p2 < 1 || cmd.p2 > 8)) return Sw::kIncorrectP1P2;
  Parsed<std::string> uri = UriData(cmd);
  if (!uri.request) return uri.sw;
  GetRequest r;
  r.what = static_cast<GetRequest::What>(cmd.p1);
  if (r.what == GetRequest::What::kProperty) r.property = static_cast<Property>(cmd.p2);
  r.uri = std::move(*uri.request);
  return r;
}

Parsed<AddRequest> ParseAdd(const CommandApdu& cmd) {
  if (cmd.p1p2() != 0) return Sw::kIncorrectP1P2;
  Parsed<TlvData> data = ParseTlvData(cmd);
  if (!data.request) return data.sw;
  const TlvData& d = *data.request;
  const Tlv* fmt = d.Find(kTagFormat);
  if (fmt == nullptr) return Sw::kWrongData;
  const std::optional<NodeFormat> format = ParseFormat(Text(fmt->value));
  if (!format) return SwFromDmStatus(DmStatus::kUnsupportedFormat);
  AddRequest r;
  r.uri = d.uri;
  r.format = *format;
  const Tlv* value = d.Find(kTagValue);
  // An interior node has no value (OMA DM 1.2: Add of an interior node carries no Data).
  if (*format == NodeFormat::kNode && value != nullptr) {
    return SwFromDmStatus(DmStatus::kCommandNotAllowed);
  }
  if (value != nullptr) r.value = value->value;
  if (const Tlv* type = d.Find(kTagType)) r.type = Text(type->value);
  if (const Tlv* acl = d.Find(kTagAcl)) r.acl = Text(acl->value);
  // The secret mark concerns leaves only; an interior node ignores it.
  const Tlv* secret = d.Find(kTagSecret);
  if (*format != NodeFormat::kNode && secret != nullptr) {
    if (secret->value.size() != 1 || secret->value[0] > 1) return Sw::kWrongData;
    r.secret = secret->value[0] == 1;
  }
  return r;
}

Parsed<ReplaceRequest> ParseReplace(const CommandApdu& cmd) {
  if (cmd.p1 > 0x01 || (cmd.p1 == 0x00 && cmd.p2 != 0x00) ||
      (cmd.p1 == 0x01 && cmd.p2 != 0x01 && cmd.p2 != 0x06)) {
    return Sw::kIncorrectP1P2;
  }
  Parsed<TlvData> data = ParseTlvData(cmd);
  if (!data.request) return data.sw;
  const Tlv* value = data.request->Find(kTagValue);
  if (value == nullptr) return Sw::kWrongData;
  ReplaceRequest r;
  if (cmd.p1 == 0x01) r.property = static_cast<Property>(cmd.p2);
  r.uri = std::move(data.request->uri);
  r.value = value->value;
  return r;
}

Parsed<DeleteRequest> ParseDelete(const CommandApdu& cmd) {
  if (cmd.p1p2() != 0) return Sw::kIncorrectP1P2;
  Parsed<std::string> uri = UriData(cmd);
  if (!uri.request) return uri.sw;
  return DeleteRequest{std::move(*uri.request)};
}

Parsed<ExecRequest> ParseExec(const CommandApdu& cmd) {
  if (cmd.p1p2() != 0) return Sw::kIncorrectP1P2;
  Parsed<TlvData> data = ParseTlvData(cmd);
  if (!data.request) return data.sw;
  ExecRequest r;
  r.uri = std::move(data.request->uri);
  if (const Tlv* d = data.request->Find(kTagValue)) r.data = d->value;
  return r;
}

Parsed<ExportRequest> ParseExport(const CommandApdu& cmd) {
  if (cmd.p1 > 0x01 || cmd.p2 != 0x00) return Sw::kIncorrectP1P2;
  Parsed<std::string> uri = UriData(cmd);
  if (!uri.request) return uri.sw;
  ExportRequest r;
  r.encoding = cmd.p1 == 0x00 ? ExportRequest::Encoding::kXml : ExportRequest::Encoding::kWbxml;
  r.uri = std::move(*uri.request);
  return r;
}

Parsed<StoreDataRequest> ParseStoreData(const CommandApdu& cmd) {
  constexpr uint8_t kLast = 0x80, kEncryptionBits = 0x60, kStructureBits = 0x18, kDgiFormat = 0x08;
  const uint8_t encryption = cmd.p1 & kEncryptionBits;
  if ((cmd.p1 & ~(kLast | kEncryptionBits | kStructureBits)) != 0 ||
      (cmd.p1 & kStructureBits) != kDgiFormat || (encryption != 0x00 && encryption != 0x60)) {
    return Sw::kIncorrectP1P2;
  }
  if (cmd.data.empty()) return Sw::kWrongLength;
  StoreDataRequest r;
  r.last_block = (cmd.p1 & kLast) != 0;
  r.encrypted = encryption != 0;
  r.block = cmd.p2;
  r.data = cmd.data;
  return r;
}

Parsed<PinRequest> ParsePin(const CommandApdu& cmd) { return PinRequest{cmd.p2, cmd}; }

Parsed<SecureChannelRequest> ParseSecureChannel(const CommandApdu& cmd) {
  return SecureChannelRequest{cmd};
}

Parsed<CredentialRequest> ParseCredential(const CommandApdu& cmd) {
  if (cmd.p1 > 0x03 || cmd.p2 != 0x00) return Sw::kIncorrectP1P2;
  Parsed<TlvData> data = ParseTlvData(cmd);
  if (!data.request) return data.sw;
  const TlvData& d = *data.request;
  CredentialRequest r;
  r.method = (cmd.p1 & 0x01) != 0 ? CredentialRequest::Method::kAuthMac
                                  : CredentialRequest::Method::kAuthMd5;
  r.check = cmd.p1 >= 0x02;
  r.uri = d.uri;
  const Tlv* nonce = d.Find(0x81);
  if (nonce == nullptr || nonce->value.size() > CredentialRequest::kMaxNonce) {
    return Sw::kWrongData;
  }
  r.nonce = nonce->value;
  // Each of the other two is there exactly when the operation takes it.
  const Tlv* body = d.Find(0x82);
  if ((body != nullptr) != (r.method == CredentialRequest::Method::kAuthMac)) {
    return Sw::kWrongData;
  }
  if (body != nullptr) {
    if (body->value.size() != 16) return Sw::kWrongData;  // an MD5 digest
    r.body_md5 = body->value;
  }
  const Tlv* credential = d.Find(0x83);
  if ((credential != nullptr) != r.check) return Sw::kWrongData;
  if (credential != nullptr) {
    if (credential->value.empty() ||
        credential->value.size() > CredentialRequest::kMaxCredentialText) {
      return Sw::kWrongData;
    }
    r.credential = credential->value;
  }
  return r;
}

Parsed<InternalAuthenticateRequest> ParseInternalAuthenticate(const CommandApdu& cmd) {
  if (cmd.p1 != 0x00 || cmd.p2 > 0x7F) return Sw::kIncorrectP1P2;
  if (cmd.data.empty() || cmd.data.size() > InternalAuthenticateRequest::kMaxChallenge) {
    return Sw::kWrongLength;
  }
  return InternalAuthenticateRequest{cmd.p2, cmd.data};
}

std::string Describe(const SelectRequest& /*r*/) { return {}; }
std::string Describe(const GetDataRequest& r) {
  return r.what == GetDataRequest::What::kDescriptor ? "descriptor"
                                                     : "event log from " + std::to_string(r.from);
}

std::string Describe(const GetRequest& r) {
  switch (r.what) {
    case GetRequest::What::kValue:
      return WithUri("value", r.uri);
    case GetRequest::What::kProperty:
      return WithUri(PropertyName(r.property), r.uri);
    case GetRequest::What::kChildren:
      return WithUri("children", r.uri);
    case GetRequest::What::kAllProperties:
      return WithUri("properties", r.uri);
  }
  return {};
}

std::string Describe(const AddRequest& r) { return WithUri("", r.uri); }

std::string Describe(const ReplaceRequest& r) {
  return WithUri(r.property ? PropertyName(*r.property) : "value", r.uri);
}

std::string Describe(const DeleteRequest& r) { return WithUri("", r.uri); }
std::string Describe(const ExecRequest& r) { return WithUri("", r.uri); }

std::string Describe(const ExportRequest& r) {
  return WithUri(r.encoding == ExportRequest::Encoding::kXml ? "XML" : "WBXML", r.uri);
}

std::string Describe(const StoreDataRequest& r) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "block %02X%s%s", r.block, r.encrypted ? ", encrypted" : "",
                r.last_block ? ", last" : "");
  return buf;
}

std::string Describe(const PinRequest& r) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "PIN %02X", r.reference);
  return buf;
}

std::string Describe(const SecureChannelRequest& r) {
  // "KVN 30", "level 33": the detail of the handshake's own name ("GP INITIALIZE UPDATE KVN 30").
  const std::string name = gp::Scp03Handshake::Describe(r.apdu);
  for (const char* detail : {"KVN", "level"}) {
    const size_t at = name.find(detail);
    if (at != std::string::npos) return name.substr(at);
  }
  return {};
}

std::string Describe(const CredentialRequest& r) {
  const char* method = r.method == CredentialRequest::Method::kAuthMd5 ? "auth-md5" : "auth-MAC";
  return WithUri(std::string(r.check ? "check server " : "client ") + method, r.uri);
}

std::string Describe(const InternalAuthenticateRequest& r) {
  if (r.kvn == 0) return "first card key";
  char buf[8];
  std::snprintf(buf, sizeof buf, "KVN %02X", r.kvn);
  return buf;
}

}  // namespace dmcard::dm
