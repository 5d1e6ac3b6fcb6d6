// The DM applet's C-APDUs decoded — parse, then execute: one request struct per command of the
// command table (dm/command_table.h), the function that parses a command into it, and its text
// for logs. A parse function checks P1/P2, Lc and the command data (TLVs, URI, TNDS document)
// and answers the ISO 7816-4 status word of a malformed command; the execute function then gets
// a request that is valid. The status words are apdu-specs/dm.json's.
//
// ByteView members point into the command's data: a request lives no longer than its APDU.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dm/bootstrap.h"
#include "dm/mo_tree.h"
#include "dm/node_value.h"
#include "runtime/apdu.h"
#include "runtime/bytes.h"
#include "runtime/sw.h"

namespace dmcard::dm {

// Bootstrap flag bits of the descriptor (tag 84) that the card stores (PUT DATA sets them).
inline constexpr uint8_t kFlagUserConfirmation = 0x02;  // USA1
inline constexpr uint8_t kFlagAutoconnect = 0x04;       // USA3
inline constexpr uint8_t kStoredFlags = kFlagUserConfirmation | kFlagAutoconnect;

// A parsed request, or the status word that refuses the command.
template <typename Request>
struct Parsed {
  using value_type = Request;
  Parsed(Request r) : request(std::move(r)) {}  // NOLINT: implicit on purpose
  Parsed(Sw refusal) : sw(refusal) {}           // NOLINT: implicit on purpose
  std::optional<Request> request;               // set when the command is valid
  Sw sw = Sw::kOk;                              // else why it is refused
};

// SELECT by AID that has just selected the applet: the runtime has validated it. P2 0C asks for
// no answer: the FCI (and the descriptor's tree digest in it) is not worked out.
struct SelectRequest {
  bool answer = true;
};
Parsed<SelectRequest> ParseSelect(const CommandApdu& cmd);

// 80 CA 00 A5: GET DATA of the descriptor. 80 CA 00 E1 [from]: of the event log
// (runtime/event_log.h), entries from counter `from` (4 bytes; absent = 0). Other data objects:
// 6A88; E1 with data of another length: 6700.
struct GetDataRequest {
  enum class What : uint8_t { kDescriptor, kEventLog };
  What what = What::kDescriptor;
  uint32_t from = 0;
};
Parsed<GetDataRequest> ParseGetData(const CommandApdu& cmd);

// 80 30 P1 P2 URI: GET. P1 00 value, 01 property P2 (01..08), 02 child names, 03 all properties.
struct GetRequest {
  enum class What : uint8_t {
    kValue = 0x00,
    kProperty = 0x01,
    kChildren = 0x02,
    kAllProperties = 0x03
  };  // P1
  What what = What::kValue;
  Property property = Property::kAcl;  // for kProperty
  std::string uri;
};
Parsed<GetRequest> ParseGet(const CommandApdu& cmd);

// 80 32 00 00 TLVs: ADD. 80 URI, 82 Format, [81 value], [83 Type], [84 ACL], [85 01 = secret].
struct AddRequest {
  std::string uri;
  NodeFormat format = NodeFormat::kNode;  // kNode: an interior node (it has no value)
  ByteView value;                         // a leaf's value (empty when tag 81 is absent)
  std::string type;                       // "" when absent
  std::string acl;                        // "" when absent
  bool secret = false;                    // a leaf whose value is never readable
};
Parsed<AddRequest> ParseAdd(const CommandApdu& cmd);

// 80 34 P1 P2 TLVs (80 URI, 81 value or text): REPLACE. P1 00 the value; P1 01 property P2,
// 01 ACL or 06 Title.
struct ReplaceRequest {
  std::optional<Property> property;  // nullopt: the leaf's value
  std::string uri;
  ByteView value;  // the new value, or the property's new text
};
Parsed<ReplaceRequest> ParseReplace(const CommandApdu& cmd);

// 80 36 00 00 URI: DELETE the node and its subtree.
struct DeleteRequest {
  std::string uri;
};
Parsed<DeleteRequest> ParseDelete(const CommandApdu& cmd);

// 80 38 00 00 TLVs: EXEC. 80 URI, [81 data].
struct ExecRequest {
  std::string uri;
  ByteView data;
};
Parsed<ExecRequest> ParseExec(const CommandApdu& cmd);

// 80 3A P1 00 URI: EXPORT the subtree as TNDS, P1 00 XML, 01 WBXML.
struct ExportRequest {
  enum class Encoding : uint8_t { kXml, kWbxml };
  Encoding encoding = Encoding::kXml;
  std::string uri;
};
Parsed<ExportRequest> ParseExport(const CommandApdu& cmd);

// 80 E2 P1 P2 data: STORE DATA (GlobalPlatform Card Specification 2.3 §11.11), one block of an
// issuer personalization sequence of DGIs (dm/personalization.h). P1: b8 (80) last block;
// b7-b6 (60) 00 plain or 11 the block carries DEK-encrypted data; b5-b4 (18) 01, DGI format;
// other bits 0 (else 6A86). P2: the block number, 00 to FF. Data: 1 byte or more (else 6700).
struct StoreDataRequest {
  bool last_block = false;
  bool encrypted = false;
  uint8_t block = 0;
  ByteView data;  // a piece of the DGI sequence (the command's data)
};
Parsed<StoreDataRequest> ParseStoreData(const CommandApdu& cmd);

// 80 42 00 00 TLVs: VERIFY BOOTSTRAP (dm/bootstrap.h). 80 method (1 byte), 81 the bootstrap message
// as received (1 byte or more), 82 the MAC (NETWPIN, USERPIN, USERNETWPIN: 40 hex characters;
// HMAC-SHA256: 32 bytes) or signature (ECDSA: r || s, 64 bytes), 83 the digits the user typed
// (USERPIN, USERNETWPIN: 1 to 16; USERPINMAC: 10 to 40, an even number), 84 sequence number
// (4 bytes) and 85 the operator key's KVN (operator methods only, both optional). Each method
// takes exactly its fields: a missing, extra, repeated or malformed one, or an unknown method,
// answers 6A80; P1 other than 00 (verify) and 01 (verify and install), P2 other than 00: 6A86.
struct VerifyBootstrapRequest {
  bool install = false;  // P1 01: apply the message to the tree once it verifies
  BootstrapMethod method = BootstrapMethod::kNetwPin;
  ByteView body;
  Bytes mac;  // the MAC's bytes (hex decoded for the OMA methods) or the signature
  ByteView pin;
  std::optional<uint32_t> sequence;
  std::optional<uint8_t> kvn;
};
Parsed<VerifyBootstrapRequest> ParseVerifyBootstrap(const CommandApdu& cmd);

// 80 44 00 00 TLVs: CHECK FIRMWARE (OMA FUMO control, dm/fumo.cc). 80 the package's SHA-256
// digest (32 bytes), 81 its version (text, 1 to 64 bytes), 82 a signature of the digest (ECDSA
// P-256, r || s, 64 bytes; optional) and 83 the FUMO key's KVN (optional, with 82 only). A
// missing, extra, repeated or malformed field: 6A80; P1 P2 other than 00 00: 6A86.
struct FirmwareRequest {
  ByteView digest;
  std::string version;
  ByteView signature;
  std::optional<uint8_t> kvn;
};
Parsed<FirmwareRequest> ParseCheckFirmware(const CommandApdu& cmd);

// 00 20 / 24 / 2C .. P2: VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER. The runtime's
// PinCommands (runtime/pin.h), shared with the file-system applet, validates and serves them; the
// request carries the command to it.
struct PinRequest {
  uint8_t reference = 0;  // P2
  CommandApdu apdu;
};
Parsed<PinRequest> ParsePin(const CommandApdu& cmd);

// 80 50 / 84 82: INITIALIZE UPDATE and EXTERNAL AUTHENTICATE, the SCP03 handshake that opens a
// secure channel to the DM applet itself (gp/scp03_handshake.h validates and serves them; the
// request carries the command to it). A management authority authenticated so is the channel's
// principal for the tree's ACLs.
struct SecureChannelRequest {
  CommandApdu apdu;
};
Parsed<SecureChannelRequest> ParseSecureChannel(const CommandApdu& cmd);

// 80 3C P1 00 TLVs: OMA DM 1.2 credentials (DM Security §5.1, DM Protocol §9.4) computed and
// checked on the card from an AppAuth entry's AAuthName and AAuthSecret (dm/credentials.cc).
// P1 00 the client's syncml:auth-md5, 01 the client's syncml:auth-MAC, 02 check the server's
// syncml:auth-md5, 03 check the server's syncml:auth-MAC; P2 00 (else 6A86). Data (else 6A80):
// 80 the AppAuth entry's URI (the node holding AAuthName, AAuthSecret, AAuthLevel, AAuthType),
// 81 the nonce as raw bytes (NextNonce base64-decoded; 0 to kMaxNonce bytes), 82 MD5(body)
// (16 bytes; auth-MAC only, absent otherwise), 83 the server's credential as the base64 text
// it sent (1 to kMaxCredentialText bytes; checks only, absent otherwise).
struct CredentialRequest {
  static constexpr size_t kMaxNonce = 128;
  static constexpr size_t kMaxCredentialText = 64;
  enum class Method : uint8_t { kAuthMd5, kAuthMac };
  Method method = Method::kAuthMd5;
  bool check = false;  // P1 02/03: check the server's credential; else compute the client's
  std::string uri;
  ByteView nonce;
  ByteView body_md5;    // auth-MAC: MD5 of the message body (the card base64-encodes it)
  ByteView credential;  // checks: the server's credential (base64 text)
};
Parsed<CredentialRequest> ParseCredential(const CommandApdu& cmd);

// 00 88 00 P2 challenge: INTERNAL AUTHENTICATE (ISO/IEC 7816-4 §11.5.2), the card proving itself
// with a key of usage kCardAuthentication (dm/credentials.cc). P1 00 (the key decides the
// algorithm; else 6A86). P2: the KVN (01 to 7F) of the key, key id 01; 00 the card's first
// card-authentication key (lowest KVN, then key id; any owner); 80 to FF 6A86. The challenge:
// 1 to kMaxChallenge bytes (else 6700).
struct InternalAuthenticateRequest {
  static constexpr size_t kMaxChallenge = 128;
  uint8_t kvn = 0;  // 00: the first card-authentication key
  ByteView challenge;
};
Parsed<InternalAuthenticateRequest> ParseInternalAuthenticate(const CommandApdu& cmd);

// What a request is, for logs (DmApplet::DescribeCommand puts the command's label before it):
// "value ./DevInfo/Man", "XML ./DMAcc", "PIN 01". Never a value, a PIN or document content. ""
// when there is nothing to add, or when the URI is not printable ASCII (then only the label
// shows).
std::string Describe(const SelectRequest& r);
std::string Describe(const GetDataRequest& r);
std::string Describe(const VerifyBootstrapRequest& r);
std::string Describe(const FirmwareRequest& r);
std::string Describe(const GetRequest& r);
std::string Describe(const AddRequest& r);
std::string Describe(const ReplaceRequest& r);
std::string Describe(const DeleteRequest& r);
std::string Describe(const ExecRequest& r);
std::string Describe(const ExportRequest& r);
std::string Describe(const StoreDataRequest& r);
std::string Describe(const PinRequest& r);
std::string Describe(const SecureChannelRequest& r);
std::string Describe(const CredentialRequest& r);
std::string Describe(const InternalAuthenticateRequest& r);

}  // namespace dmcard::dm
