#include "dm/requests.h"

#include <algorithm>
#include <array>
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

Parsed<SelectRequest> ParseSelect(const CommandApdu& cmd) {
  return SelectRequest{(cmd.p2 & 0x0C) != 0x0C};
}

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

// The command data as context-specific fields 80, 81, ... (N of them, each at most once, in any
// order); false for malformed TLVs, another tag or a repeated one.
template <size_t N>
bool ContextFields(ByteView data, std::array<std::optional<ByteView>, N>& fields) {
  const std::optional<std::vector<Tlv>> tlvs = ParseTlvs(data);
  if (!tlvs) return false;
  for (const Tlv& t : *tlvs) {
    if (t.tag < 0x80 || t.tag >= 0x80 + N || fields[t.tag - 0x80]) return false;
    fields[t.tag - 0x80] = t.value;
  }
  return true;
}

Parsed<VerifyBootstrapRequest> ParseVerifyBootstrap(const CommandApdu& cmd) {
  if (cmd.p1 > 0x01 || cmd.p2 != 0x00) return Sw::kIncorrectP1P2;
  std::array<std::optional<ByteView>, 6> fields;  // tags 80 to 85
  if (!ContextFields(cmd.data, fields)) return Sw::kWrongData;
  const std::optional<ByteView>&method = fields[0], &body = fields[1], &mac = fields[2],
        &pin = fields[3], &sequence = fields[4], &kvn = fields[5];
  if (!method || method->size() != 1 || !KnownBootstrapMethod((*method)[0]) || !body ||
      body->empty()) {
    return Sw::kWrongData;
  }
  VerifyBootstrapRequest r;
  r.install = cmd.p1 == 0x01;
  r.method = static_cast<BootstrapMethod>((*method)[0]);
  r.body = *body;
  auto digits = [](ByteView v) {
    return std::all_of(v.begin(), v.end(), [](uint8_t c) { return c >= '0' && c <= '9'; });
  };
  if (OperatorMethod(r.method)) {
    const size_t length = r.method == BootstrapMethod::kHmacSha256 ? 32 : 64;
    if (!mac || mac->size() != length || pin) return Sw::kWrongData;
    if (sequence) {
      if (sequence->size() != 4) return Sw::kWrongData;
      r.sequence = ReadU32(sequence->data());
    }
    if (kvn) {
      if (kvn->size() != 1) return Sw::kWrongData;
      r.kvn = (*kvn)[0];
    }
    r.mac.assign(mac->begin(), mac->end());
    return r;
  }
  if (sequence || kvn) return Sw::kWrongData;
  if (r.method == BootstrapMethod::kUserPinMac) {
    if (mac || !pin || pin->size() < 10 || pin->size() > 40 || pin->size() % 2 != 0 ||
        !digits(*pin)) {
      return Sw::kWrongData;
    }
    r.pin = *pin;
    return r;
  }
  // NETWPIN, USERPIN, USERNETWPIN: the MAC as 40 hex characters (either case).
  const bool needs_pin = r.method != BootstrapMethod::kNetwPin;
  if (!mac || mac->size() != 40 || needs_pin != pin.has_value()) return Sw::kWrongData;
  if (pin && (pin->empty() || pin->size() > 16 || !digits(*pin))) return Sw::kWrongData;
  const std::optional<Bytes> decoded = FromHex(Text(*mac));
  if (!decoded || decoded->size() != 20) return Sw::kWrongData;
  r.mac = *decoded;
  if (pin) r.pin = *pin;
  return r;
}

Parsed<FirmwareRequest> ParseCheckFirmware(const CommandApdu& cmd) {
  if (cmd.p1p2() != 0x0000) return Sw::kIncorrectP1P2;
  std::array<std::optional<ByteView>, 4> fields;  // tags 80 to 83
  if (!ContextFields(cmd.data, fields)) return Sw::kWrongData;
  const std::optional<ByteView>&digest = fields[0], &version = fields[1], &signature = fields[2],
        &kvn = fields[3];
  if (!digest || digest->size() != 32 || !version || version->empty() || version->size() > 64 ||
      (signature && signature->size() != 64) || (kvn && (!signature || kvn->size() != 1))) {
    return Sw::kWrongData;
  }
  FirmwareRequest r;
  r.digest = *digest;
  r.version = Text(*version);
  if (!IsTndsText(r.version)) return Sw::kWrongData;
  if (signature) r.signature = *signature;
  if (kvn) r.kvn = (*kvn)[0];
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

std::string Describe(const VerifyBootstrapRequest& r) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "method %02X, %zu-byte message", static_cast<unsigned>(r.method),
                r.body.size());
  return buf;
}

std::string Describe(const FirmwareRequest& r) {
  return "package " + r.version + (r.signature.empty() ? "" : ", signed");
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
