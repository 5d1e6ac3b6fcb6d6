#include "fs/fcp.h"

namespace dmcard::fs {

namespace {

// Big-endian, at least `min_bytes` long, without leading zero bytes beyond that.
Bytes Number(size_t v, size_t min_bytes) {
  Bytes out;
  for (size_t x = v; x != 0; x >>= 8) out.insert(out.begin(), static_cast<uint8_t>(x));
  while (out.size() < min_bytes) out.insert(out.begin(), 0x00);
  return out;
}

}  // namespace

Bytes FcpObjects(const FileInfo& info) {
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
  if (info.type != FileType::kDf) {
    if (info.sfi != 0) {
      AppendTlv(out, 0x88, Bytes{static_cast<uint8_t>(info.sfi << 3)});
    } else {
      AppendTlv(out, 0x88, ByteView{});
    }
  }
  AppendTlv(out, 0x8A, Bytes{kLcsOperationalActivated});
  return out;
}

Bytes EncodeSelectAnswer(const FileInfo& info, SelectAnswer answer) {
  Bytes out;
  switch (answer) {
    case SelectAnswer::kFci:
      AppendTlv(out, 0x6F, FcpObjects(info));
      break;
    case SelectAnswer::kFcp:
      AppendTlv(out, 0x62, FcpObjects(info));
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
