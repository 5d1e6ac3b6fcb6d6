#include "fs/fcp.h"

#include <algorithm>
#include <utility>

namespace dmcard::fs {

namespace {

// Big-endian, at least `min_bytes` long, without leading zero bytes beyond that.
Bytes Number(size_t v, size_t min_bytes) {
  Bytes out;
  for (size_t x = v; x != 0; x >>= 8) out.insert(out.begin(), static_cast<uint8_t>(x));
  while (out.size() < min_bytes) out.insert(out.begin(), 0x00);
  return out;
}

// ISO 7816-4 tables 17, 18: access mode byte bits.
constexpr uint8_t kAmRead = 0x01;         // EF: READ BINARY / READ RECORD / SEARCH
constexpr uint8_t kAmUpdate = 0x02;       // EF: UPDATE BINARY / UPDATE RECORD / ERASE
constexpr uint8_t kAmEfOthers = 0x7C;     // EF: WRITE, DEACTIVATE, ACTIVATE, TERMINATE, DELETE
constexpr uint8_t kAmDfAll = 0x7F;        // DF: every file management command
constexpr uint8_t kUsageUserAuth = 0x08;  // usage qualifier: user authentication (PIN)
constexpr uint8_t kUsageExternalAuth = 0x80;

// The security condition DO of `c` (ISO 7816-4 §5.4.3.3, table 22; CRT A4 §7.5.7).
Bytes ConditionDo(const AccessCondition& c) {
  Bytes out;
  switch (c.kind) {
    case AccessCondition::Kind::kAlways:
      AppendTlv(out, 0x90, ByteView{});
      break;
    case AccessCondition::Kind::kNever:
      AppendTlv(out, 0x97, ByteView{});
      break;
    case AccessCondition::Kind::kPin: {
      Bytes crt;
      AppendTlv(crt, 0x83, Bytes{c.pin});
      AppendTlv(crt, 0x95, Bytes{kUsageUserAuth});
      AppendTlv(out, 0xA4, crt);
      break;
    }
    case AccessCondition::Kind::kPrincipal: {
      Bytes crt;
      AppendTlv(crt, 0x95, Bytes{kUsageExternalAuth});
      AppendTlv(out, 0xA4, crt);
      break;
    }
  }
  return out;
}

// TS 102 221 §9.5.2: PS_DO (a bit per key reference, b8 of the first byte first) and the key
// references.
Bytes PinStatusTemplate(const std::vector<PinStatus>& pins) {
  Bytes ps(std::max<size_t>(1, (pins.size() + 7) / 8), 0x00);
  for (size_t i = 0; i < pins.size(); ++i) {
    if (pins[i].enabled) ps[i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
  }
  Bytes out;
  AppendTlv(out, 0x90, ps);
  for (const PinStatus& p : pins) AppendTlv(out, 0x83, Bytes{p.reference});
  return out;
}

Bytes SfiObject(const FileInfo& info) {
  Bytes out;
  if (info.sfi != 0) {
    AppendTlv(out, 0x88, Bytes{static_cast<uint8_t>(info.sfi << 3)});
  } else {
    AppendTlv(out, 0x88, ByteView{});
  }
  return out;
}

Bytes IsoFcpObjects(const FileInfo& info) {
  Bytes out;
  if (info.type != FileType::kDf) AppendTlv(out, 0x80, Number(info.data_size, 2));
  switch (info.type) {
    case FileType::kDf:
      AppendTlv(out, 0x82, Bytes{0x38});
      break;
    case FileType::kTransparent:
      AppendTlv(out, 0x82, Bytes{0x01});
      break;
    case FileType::kLinearFixed: {
      Bytes d = {0x02, kDataCodingByte};
      Append(d, Number(info.record_size, 2));
      Append(d, Number(info.record_count, info.record_count > 0xFF ? 2 : 1));
      AppendTlv(out, 0x82, d);
      break;
    }
  }
  AppendTlv(out, 0x83, Number(info.fid, 2));
  if (info.type == FileType::kDf && !info.df_name.empty()) AppendTlv(out, 0x84, info.df_name);
  if (info.type != FileType::kDf) Append(out, SfiObject(info));
  AppendTlv(out, 0x8A, Bytes{kLcsOperationalActivated});
  AppendTlv(out, 0xAB, ExpandedSecurityAttributes(info));
  return out;
}

// TS 102 221 §11.1.1.3: file descriptor byte b7 = shareable (every file of this card may be
// selected on several logical channels at once), data coding byte '21'.
constexpr uint8_t kUiccDf = 0x78;
constexpr uint8_t kUiccTransparent = 0x41;
constexpr uint8_t kUiccLinearFixed = 0x42;

Bytes UiccFcpObjects(const FileInfo& info, const FcpOptions& options) {
  Bytes out;
  if (info.type == FileType::kDf) {
    AppendTlv(out, 0x82, Bytes{kUiccDf, kDataCodingByte});
    AppendTlv(out, 0x83, Number(info.fid, 2));
    if (!info.df_name.empty()) AppendTlv(out, 0x84, info.df_name);
    if (info.fid == kMfFid) {
      Bytes proprietary;
      AppendTlv(proprietary, 0x80, Bytes{kUiccCharacteristics});
      AppendTlv(out, 0xA5, proprietary);
    }
    AppendTlv(out, 0x8A, Bytes{kLcsOperationalActivated});
    AppendTlv(out, 0xAB, ExpandedSecurityAttributes(info));
    AppendTlv(out, 0xC6, PinStatusTemplate(options.pins));
    return out;
  }
  if (info.type == FileType::kTransparent) {
    AppendTlv(out, 0x82, Bytes{kUiccTransparent, kDataCodingByte});
  } else {
    Bytes d = {kUiccLinearFixed, kDataCodingByte};
    Append(d, Number(info.record_size, 2));
    d.push_back(static_cast<uint8_t>(info.record_count));
    AppendTlv(out, 0x82, d);
  }
  AppendTlv(out, 0x83, Number(info.fid, 2));
  AppendTlv(out, 0x8A, Bytes{kLcsOperationalActivated});
  AppendTlv(out, 0xAB, ExpandedSecurityAttributes(info));
  AppendTlv(out, 0x80, Number(info.data_size, 2));
  Append(out, SfiObject(info));
  return out;
}

}  // namespace

Bytes ExpandedSecurityAttributes(const FileInfo& info) {
  // (AM bits, condition DO), merged by equal condition in the order of the lowest bit.
  std::vector<std::pair<uint8_t, Bytes>> pairs;
  auto add = [&pairs](uint8_t bits, Bytes condition) {
    for (auto& [am, c] : pairs) {
      if (c == condition) {
        am |= bits;
        return;
      }
    }
    pairs.emplace_back(bits, std::move(condition));
  };
  if (info.type == FileType::kDf) {
    add(kAmDfAll, ConditionDo(AccessCondition::Never()));
  } else {
    add(kAmRead, ConditionDo(info.access.read));
    add(kAmUpdate, ConditionDo(info.access.update));
    add(kAmEfOthers, ConditionDo(AccessCondition::Never()));
  }
  Bytes out;
  for (const auto& [am, condition] : pairs) {
    AppendTlv(out, 0x80, Bytes{am});
    Append(out, condition);
  }
  return out;
}

Bytes FcpObjects(const FileInfo& info, const FcpOptions& options) {
  return options.style == FcpStyle::kUicc ? UiccFcpObjects(info, options) : IsoFcpObjects(info);
}

Bytes EncodeSelectAnswer(const FileInfo& info, SelectAnswer answer, const FcpOptions& options) {
  Bytes out;
  switch (answer) {
    case SelectAnswer::kFci:
      AppendTlv(out, 0x6F, FcpObjects(info, options));
      break;
    case SelectAnswer::kFcp:
      AppendTlv(out, 0x62, FcpObjects(info, options));
      break;
    case SelectAnswer::kFmd:
      AppendTlv(out, 0x64, ByteView{});
      break;
    case SelectAnswer::kNone:
      break;
  }
  return out;
}

}  // namespace dmcard::fs
