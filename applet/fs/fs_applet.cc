#include "fs/fs_applet.h"

#include <algorithm>
#include <set>

#include "gp/scp03_handshake.h"

namespace dmcard::fs {

namespace {

constexpr uint8_t kInsSelect = 0xA4;
constexpr uint8_t kInsReadBinary = 0xB0;
constexpr uint8_t kInsUpdateBinary = 0xD6;
constexpr uint8_t kInsReadRecord = 0xB2;
constexpr uint8_t kInsUpdateRecord = 0xDC;

std::string Prefix(ByteView aid) { return "fs/" + ToHex(aid) + "/"; }

std::string RefHex(uint8_t ref) { return ToHex(ByteView(&ref, 1)); }

}  // namespace

FileSystemApplet::FileSystemApplet(Bytes aid, FileSpec mf, std::vector<PinSpec> pins,
                                   FcpStyle style)
    : Applet(std::move(aid)),
      prefix_(Prefix(this->aid())),
      fs_(std::move(mf), prefix_ + kEfContentRecords),
      pin_specs_(std::move(pins)) {
  fcp_.style = style;
  for (const PinSpec& p : pin_specs_) fcp_.pins.push_back({p.reference, !p.initial_value.empty()});
  for (const PinSpec& p : pin_specs_) {
    pins_.push_back(std::make_unique<Pin>(PinKey(p.reference), p.reference, p.policy));
    const Pin* pin = pins_.back().get();
    // The PUK is served whether or not the card holds one: without its record RESET RETRY
    // COUNTER answers 6A81 (runtime/pin.cc), and personalization may load one later.
    pins_.push_back(std::make_unique<Pin>(PukKey(p.reference), p.reference, p.puk_policy));
    pin_commands_.Add(pin, pins_.back().get());
  }
}

std::string FileSystemApplet::OwnKey(const char* kind, uint8_t reference) const {
  return prefix_ + kind + RefHex(reference);
}

std::string FileSystemApplet::PinKey(uint8_t reference) const {
  return IsGlobalReference(reference) ? GlobalPinKey(reference) : OwnKey(kOwnPinRecords, reference);
}

std::string FileSystemApplet::PukKey(uint8_t reference) const {
  return IsGlobalReference(reference) ? GlobalPukKey(reference) : OwnKey(kOwnPukRecords, reference);
}

Sw FileSystemApplet::Install(AppletContext& ctx) {
  if (aid().size() < 5 || aid().size() > 16 || !fs_.error().empty()) {
    return Sw::kNoPreciseDiagnosis;
  }
  std::set<uint8_t> refs;
  for (const PinSpec& p : pin_specs_) {
    if (!refs.insert(p.reference).second) return Sw::kNoPreciseDiagnosis;
  }
  Sw sw = fs_.Install(ctx.store());
  if (sw != Sw::kOk) return sw;
  // Cards made before global PINs kept a second PIN object of their own here, with its own
  // counter: it goes, the card's global one (created from the same spec) is the only one.
  for (const PinSpec& p : pin_specs_) {
    if (!IsGlobalReference(p.reference)) continue;
    for (const std::string& old :
         {OwnKey(kOwnPinRecords, p.reference), OwnKey(kOwnPukRecords, p.reference)}) {
      if (ctx.store().Contains(old)) {
        if (sw = SwFromStore(ctx.store().Erase(old)); sw != Sw::kOk) return sw;
      }
    }
  }
  size_t i = 0;
  for (const PinSpec& p : pin_specs_) {
    for (const Bytes* value : {&p.initial_value, &p.puk_value}) {
      const Pin& pin = *pins_[i++];
      if (value->empty()) continue;  // none until personalization loads one
      if (sw = pin.Create(ctx.store(), *value); sw != Sw::kOk) return sw;
    }
  }
  return Sw::kOk;
}

bool FileSystemApplet::Select(AppletContext& ctx) {
  // ISO 7816-4 §5.4.1: a channel opened from a non-basic channel starts where that one is.
  const int origin = ctx.opened_from();
  channels_.at(ctx.channel()) =
      origin >= 0 ? channels_.at(static_cast<size_t>(origin)) : ChannelState{};
  return true;
}

void FileSystemApplet::Deselect(AppletContext& ctx) {
  channels_.at(ctx.channel()) = ChannelState{};
}

Sw FileSystemApplet::Process(AppletContext& ctx, const CommandApdu& cmd, Bytes& response) {
  if (std::optional<Sw> sw = gp::Scp03Handshake(aid()).Process(ctx, cmd, response)) return *sw;
  if (!cmd.cls.interindustry) return Sw::kClaNotSupported;
  if (ctx.selecting()) return AnswerAppletSelection(ctx, cmd, response);
  if (std::optional<Sw> sw = pin_commands_.Process(ctx, cmd)) return *sw;
  switch (cmd.ins) {
    case kInsSelect:
      return SelectFile(ctx, cmd, response);
    case kInsReadBinary:
      return ReadBinary(ctx, cmd, response);
    case kInsUpdateBinary:
      return UpdateBinary(ctx, cmd);
    case kInsReadRecord:
      return ReadRecord(ctx, cmd, response);
    case kInsUpdateRecord:
      return UpdateRecord(ctx, cmd);
    default:
      return Sw::kInsNotSupported;
  }
}

std::string FileSystemApplet::DescribeCommand(const CommandApdu& cmd) const {
  return gp::Scp03Handshake::Describe(cmd);
}

void FileSystemApplet::MakeCurrent(AppletContext& ctx, FileSystem::Id id) {
  ChannelState& ch = channels_.at(ctx.channel());
  if (fs_.is_df(id)) {
    ch.df = id;
    ch.ef = FileSystem::kNone;
  } else {
    ch.df = fs_.parent(id);
    ch.ef = id;
  }
  // ETSI TS 102 221 §8.5.1: the ADF entered stays the current application until another is.
  if (const FileSystem::Id app = fs_.ApplicationOf(ch.df); app != FileSystem::kNone) {
    ch.application = app;
  }
}

// The runtime selected this applet by AID (SELECT P1 = 04): the channel is at the MF.
Sw FileSystemApplet::AnswerAppletSelection(AppletContext& ctx, const CommandApdu& cmd,
                                           Bytes& response) {
  MakeCurrent(ctx, FileSystem::kMf);
  FileInfo info = fs_.Info(FileSystem::kMf, ctx.store(), ctx.security());
  if (info.df_name.empty()) info.df_name = aid();
  Append(response, EncodeSelectAnswer(info, static_cast<SelectAnswer>(cmd.p2 & 0x0C), fcp_));
  return Sw::kOk;
}

// ISO 7816-4 §11.2.2 SELECT.
Sw FileSystemApplet::SelectFile(AppletContext& ctx, const CommandApdu& cmd, Bytes& response) {
  if ((cmd.p2 & 0xF0) != 0) return Sw::kIncorrectP1P2;
  if (cmd.p1 != 0x04 && (cmd.p2 & 0x03) != 0) return Sw::kIncorrectP1P2;
  FileSystem::Id target = FileSystem::kNone;
  Sw sw = FindSelectTarget(channels_.at(ctx.channel()), cmd, target);
  if (sw != Sw::kOk) return sw;
  const auto answer = static_cast<SelectAnswer>(cmd.p2 & 0x0C);
  if (answer != SelectAnswer::kNone) {
    Append(response,
           EncodeSelectAnswer(fs_.Info(target, ctx.store(), ctx.security()), answer, fcp_));
  }
  MakeCurrent(ctx, target);
  return Sw::kOk;
}

Sw FileSystemApplet::FindSelectTarget(const ChannelState& ch, const CommandApdu& cmd,
                                      FileSystem::Id& target) const {
  const ByteView data = cmd.data;
  auto fid = [&data] { return ReadU16(data.data()); };
  switch (cmd.p1) {
    case 0x00:  // MF, DF or EF by FID
      if (data.empty()) {
        target = FileSystem::kMf;
        break;
      }
      if (data.size() != 2) return Sw::kWrongLength;
      target = fid() == kCurrentApplicationFid ? ch.application : fs_.FindByFid(ch.df, fid());
      break;
    case 0x01:  // child DF
      if (data.size() != 2) return Sw::kWrongLength;
      target = fs_.Child(ch.df, fid());
      if (target != FileSystem::kNone && !fs_.is_df(target)) target = FileSystem::kNone;
      break;
    case 0x02:  // EF under the current DF
      if (data.size() != 2) return Sw::kWrongLength;
      target = fs_.Child(ch.df, fid());
      if (target != FileSystem::kNone && fs_.is_df(target)) target = FileSystem::kNone;
      break;
    case 0x03:  // parent DF of the current DF
      if (!data.empty()) return Sw::kWrongLength;
      target = fs_.parent(ch.df);
      break;
    case 0x04: {  // DF name (forwarded by the runtime when no applet has that AID)
      if (data.empty() || data.size() > kMaxDfNameLength) return Sw::kWrongLength;
      const std::vector<FileSystem::Id> named = fs_.DfsNamed(data);
      if (named.empty()) break;
      switch (cmd.p2 & 0x03) {
        case 0x00:  // first
          target = named.front();
          break;
        case 0x01:  // last
          target = named.back();
          break;
        case 0x02: {  // next after the current DF
          auto it = std::upper_bound(named.begin(), named.end(), ch.df);
          if (it != named.end()) target = *it;
          break;
        }
        default: {  // previous
          auto it = std::lower_bound(named.begin(), named.end(), ch.df);
          if (it != named.begin()) target = *(it - 1);
          break;
        }
      }
      break;
    }
    case 0x08:  // path from the MF
    case 0x09:  // path from the current DF
      if (data.empty() || data.size() % 2 != 0) return Sw::kWrongLength;
      target = WalkPath(ch, cmd.p1 == 0x08, data);
      break;
    default:
      return Sw::kIncorrectP1P2;
  }
  return target == FileSystem::kNone ? Sw::kFileNotFound : Sw::kOk;
}

// A path of SELECT P1 08 (from the MF, or from the current application when its first FID is
// 7FFF: ETSI TS 102 221 §8.4.2) or 09 (from the current DF).
FileSystem::Id FileSystemApplet::WalkPath(const ChannelState& ch, bool from_mf,
                                          ByteView path) const {
  if (!from_mf) return fs_.Walk(ch.df, path);
  if (ReadU16(path.data()) != kCurrentApplicationFid) return fs_.Walk(FileSystem::kMf, path);
  if (ch.application == FileSystem::kNone) return FileSystem::kNone;
  return path.size() == 2 ? ch.application : fs_.Walk(ch.application, path.subspan(2));
}

// P1 b8 = 1: SFI in P1 b5-b1 (b7-b6 = 00), offset in P2; else a 15-bit offset in P1-P2.
Sw FileSystemApplet::BinaryTarget(const AppletContext& ctx, const CommandApdu& cmd,
                                  Target& t) const {
  const ChannelState& ch = channels_.at(ctx.channel());
  if ((cmd.p1 & 0x80) != 0) {
    const uint8_t sfi = cmd.p1 & 0x1F;
    if ((cmd.p1 & 0x60) != 0 || sfi == 0 || sfi == 0x1F) return Sw::kIncorrectP1P2;
    t.ef = fs_.ChildBySfi(ch.df, sfi);
    if (t.ef == FileSystem::kNone) return Sw::kFileNotFound;
    t.offset = cmd.p2;
    return Sw::kOk;
  }
  if (ch.ef == FileSystem::kNone) return Sw::kCommandNotAllowedNoEf;
  t.ef = ch.ef;
  t.offset = cmd.p1p2();
  return Sw::kOk;
}

// P1 = record number (1..254); P2 = SFI (b8-b4, 0 = current EF) || 100.
Sw FileSystemApplet::RecordTarget(const AppletContext& ctx, const CommandApdu& cmd,
                                  Target& t) const {
  const ChannelState& ch = channels_.at(ctx.channel());
  const uint8_t sfi = cmd.p2 >> 3;
  if ((cmd.p2 & 0x07) != 0x04 || sfi == 0x1F) return Sw::kIncorrectP1P2;
  if (cmd.p1 == 0x00 || cmd.p1 == 0xFF) return Sw::kIncorrectP1P2;
  if (sfi != 0) {
    t.ef = fs_.ChildBySfi(ch.df, sfi);
    if (t.ef == FileSystem::kNone) return Sw::kFileNotFound;
  } else {
    if (ch.ef == FileSystem::kNone) return Sw::kCommandNotAllowedNoEf;
    t.ef = ch.ef;
  }
  t.offset = cmd.p1;
  return Sw::kOk;
}

// ISO 7816-4 §11.3.3 READ BINARY (INS B0).
Sw FileSystemApplet::ReadBinary(AppletContext& ctx, const CommandApdu& cmd, Bytes& response) {
  if (!cmd.data.empty() || !cmd.has_le()) return Sw::kWrongLength;
  Target t;
  if (Sw sw = BinaryTarget(ctx, cmd, t); sw != Sw::kOk) return sw;
  const FileSpec& spec = fs_.spec(t.ef);
  if (spec.type != FileType::kTransparent) return Sw::kIncompatibleFileStructure;
  if (!spec.access.read.Satisfied(ctx.security())) return Sw::kSecurityStatusNotSatisfied;
  Bytes scratch;
  const std::optional<ByteView> contents = fs_.Contents(t.ef, ctx.store(), scratch, ctx.security());
  if (!contents) return Sw::kMemoryFailure;
  if (t.offset >= contents->size()) return Sw::kWrongP1P2;
  const size_t n = std::min<size_t>(cmd.ne, contents->size() - t.offset);
  Append(response, contents->subspan(t.offset, n));
  MakeCurrent(ctx, t.ef);
  return n < cmd.ne ? Sw::kEndOfFileReached : Sw::kOk;
}

// ISO 7816-4 §11.3.5 UPDATE BINARY (INS D6).
Sw FileSystemApplet::UpdateBinary(AppletContext& ctx, const CommandApdu& cmd) {
  if (cmd.data.empty()) return Sw::kWrongLength;
  Target t;
  if (Sw sw = BinaryTarget(ctx, cmd, t); sw != Sw::kOk) return sw;
  const FileSpec& spec = fs_.spec(t.ef);
  if (spec.type != FileType::kTransparent || spec.source) return Sw::kIncompatibleFileStructure;
  if (!spec.access.update.Satisfied(ctx.security())) return Sw::kSecurityStatusNotSatisfied;
  if (t.offset >= spec.size) return Sw::kWrongP1P2;
  if (t.offset + cmd.data.size() > spec.size) return Sw::kWrongLength;
  if (Sw sw = fs_.Write(t.ef, ctx.store(), t.offset, cmd.data); sw != Sw::kOk) return sw;
  MakeCurrent(ctx, t.ef);
  return Sw::kOk;
}

// ISO 7816-4 §11.4.3 READ RECORD (INS B2), one record by number.
Sw FileSystemApplet::ReadRecord(AppletContext& ctx, const CommandApdu& cmd, Bytes& response) {
  if (!cmd.data.empty() || !cmd.has_le()) return Sw::kWrongLength;
  Target t;
  if (Sw sw = RecordTarget(ctx, cmd, t); sw != Sw::kOk) return sw;
  const FileSpec& spec = fs_.spec(t.ef);
  if (spec.type != FileType::kLinearFixed) return Sw::kIncompatibleFileStructure;
  if (!spec.access.read.Satisfied(ctx.security())) return Sw::kSecurityStatusNotSatisfied;
  Bytes scratch;
  const std::optional<ByteView> contents = fs_.Contents(t.ef, ctx.store(), scratch, ctx.security());
  if (!contents) return Sw::kMemoryFailure;
  if (t.offset > fs_.RecordCount(t.ef, contents->size())) return Sw::kRecordNotFound;
  const size_t at = size_t{t.offset - 1} * spec.record_size;
  if (at + spec.record_size > contents->size()) return Sw::kMemoryFailure;
  Append(response, contents->subspan(at, spec.record_size));
  MakeCurrent(ctx, t.ef);
  return spec.record_size < cmd.ne ? Sw::kEndOfFileReached : Sw::kOk;
}

// ISO 7816-4 §11.4.5 UPDATE RECORD (INS DC), one record by number.
Sw FileSystemApplet::UpdateRecord(AppletContext& ctx, const CommandApdu& cmd) {
  Target t;
  if (Sw sw = RecordTarget(ctx, cmd, t); sw != Sw::kOk) return sw;
  const FileSpec& spec = fs_.spec(t.ef);
  if (spec.type != FileType::kLinearFixed || spec.source) return Sw::kIncompatibleFileStructure;
  if (!spec.access.update.Satisfied(ctx.security())) return Sw::kSecurityStatusNotSatisfied;
  if (t.offset > spec.record_count) return Sw::kRecordNotFound;
  if (cmd.data.size() != spec.record_size) return Sw::kWrongLength;
  const uint32_t at = (t.offset - 1) * uint32_t{spec.record_size};
  if (Sw sw = fs_.Write(t.ef, ctx.store(), at, cmd.data); sw != Sw::kOk) return sw;
  MakeCurrent(ctx, t.ef);
  return Sw::kOk;
}

}  // namespace dmcard::fs
