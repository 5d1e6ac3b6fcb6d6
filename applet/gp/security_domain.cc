#include "gp/security_domain.h"

#include "runtime/key_store.h"
#include "runtime/tlv.h"

namespace dmcard::gp {

namespace {

constexpr uint8_t kInsGetData = 0xCA;
constexpr uint16_t kTagKeyInformationTemplate = 0x00E0;
constexpr uint8_t kGpKeyTypeAes = 0x88;  // GP Card Specification, key type coding

// Security Domain Management Data (GP Card Specification, Annex H): the GlobalPlatform OID, the
// card management type and version (GP 2.3) and the secure channel protocol (SCP03 with its "i").
Bytes ManagementData() {
  Bytes data;
  AppendTlv(data, 0x06, Bytes{0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x01});
  AppendTlv(data, 0x60,
            Template(0x06, Bytes{0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x02, 0x02, 0x03}));
  AppendTlv(
      data, 0x64,
      Template(0x06, Bytes{0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x04, 0x03, Scp03Handshake::kI}));
  return data;
}

}  // namespace

Bytes SecurityDomain::IsdAid() { return {0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00}; }

SecurityDomain::SecurityDomain(Bytes aid) : Applet(aid), handshake_(std::move(aid)) {}

Bytes SecurityDomain::Fci() const {
  Bytes proprietary = Template(0x73, ManagementData());
  AppendTlv(proprietary, 0x9F65, Bytes{0xFF});  // maximum length of a command's data field
  Bytes fci;
  AppendTlv(fci, 0x84, aid());
  AppendTlv(fci, 0xA5, proprietary);
  return Template(0x6F, fci);
}

Sw SecurityDomain::Process(AppletContext& ctx, const CommandApdu& cmd, Bytes& out) {
  if (ctx.selecting()) {
    Append(out, Fci());
    return Sw::kOk;
  }
  if (std::optional<Sw> sw = handshake_.Process(ctx, cmd, out)) return *sw;
  if (cmd.ins == kInsGetData) return GetData(ctx, cmd, out);
  return Sw::kInsNotSupported;
}

std::string SecurityDomain::DescribeCommand(const CommandApdu& cmd) const {
  std::string name = Scp03Handshake::Describe(cmd);
  if (name.empty() && cmd.ins == kInsGetData && cmd.p1p2() == kTagKeyInformationTemplate) {
    name = "GP GET DATA key information";
  }
  return name;
}

// GP Card Specification §11.3 GET DATA, §11.3.3.1 Key Information Template: one 'C0' per key,
// basic format (key identifier, KVN, key type, key length).
Sw SecurityDomain::GetData(AppletContext& ctx, const CommandApdu& cmd, Bytes& out) const {
  if (!cmd.data.empty()) return Sw::kWrongLength;
  if (cmd.p1p2() != kTagKeyInformationTemplate) return Sw::kReferenceDataNotFound;
  const KeyStore& keys = ctx.keys();
  Bytes entries;
  for (KeyHandle key : keys.List()) {
    const std::optional<KeyInfo> info = keys.Info(key);
    if (!info) continue;
    const bool scp03 = info->usage == KeyUsage::kScp03Enc || info->usage == KeyUsage::kScp03Mac ||
                       info->usage == KeyUsage::kScp03Dek;
    if (!scp03) continue;
    const uint8_t length = info->type == KeyType::kAes128   ? 16
                           : info->type == KeyType::kAes192 ? 24
                                                            : 32;
    AppendTlv(entries, 0xC0, Bytes{info->id, info->kvn, kGpKeyTypeAes, length});
  }
  Append(out, Template(kTagKeyInformationTemplate, entries));
  return Sw::kOk;
}

}  // namespace dmcard::gp
