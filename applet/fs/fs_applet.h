// The ISO/IEC 7816-4 file system as an applet ("iso-fs"): SELECT by FID / path / DF name,
// READ/UPDATE BINARY, READ/UPDATE RECORD, and VERIFY / CHANGE REFERENCE DATA / RESET RETRY
// COUNTER for its PINs.
//
// Behaviour (beyond what ISO 7816-4 fixes):
//  - Any proprietary CLA (b8 = 1) → 6E00, except INITIALIZE UPDATE (80 50) and EXTERNAL
//    AUTHENTICATE (84 82); unknown INS → 6D00. (SM bits set without a secure session never
//    reach the applet: the runtime answers 6882.)
//  - GlobalPlatform SCP03: the applet serves the handshake itself (gp::Scp03Handshake, with this
//    applet's AID), as the DM applet does, so that a principal reaches the files as itself: the
//    issuer (EF.DIR, AccessCondition::Principal(kIssuerPrincipal)) or a DM server (the PKCS#15
//    view, filtered by the channel's principal). The session lives while the applet stays
//    selected on the channel; every command then comes wrapped.
//  - Selecting the applet by AID selects the MF on that channel and answers its FCI/FCP (P2),
//    with the AID as DF name (84) when the MF has no name of its own.
//  - SELECT: P1 00 (no data or 3F00 → MF; 7FFF → the current application; else
//    FileSystem::FindByFid), 01 child DF, 02 EF of the current DF, 03 parent DF (no data), 04 DF
//    name (first/last/next/previous in pre-order; exact name), 08 path from the MF (a first FID
//    7FFF: from the current application instead, ETSI TS 102 221 §8.4.2), 09 path from the
//    current DF. The current application of a channel is the named DF (FileSystem::
//    ApplicationOf) that the latest selection on it entered; it stays while the MF or files
//    outside any application are selected, as an ADF stays current on a UICC (TS 102 221
//    §8.5.1). None yet → 7FFF answers 6A82. P2 b4-b3 00 FCI '6F',
//    04 FCP '62', 08 FMD → empty template '64 00', 0C nothing. P2 b8-b5 ≠ 0, or b2-b1 ≠ 00 for
//    P1 ≠ 04 → 6A86. FID not 2 bytes, path empty or odd, name not 1..16 bytes, data with P1 03
//    → 6700. Not found → 6A82. A failed SELECT changes nothing.
//  - READ BINARY: Le absent or data present → 6700; offset ≥ file size → 6B00; answers
//    min(Ne, size − offset) bytes, with 6282 when that is fewer than Ne (Le 00 included).
//  - UPDATE BINARY: no data → 6700; offset ≥ size → 6B00; offset + Lc > size → 6700.
//  - P1 b8 = 1 (READ/UPDATE BINARY) or P2 b8-b4 ≠ 0 (records): the EF with that SFI under the
//    current DF (6A82 if none; P1 b7-b6 ≠ 0 or SFI 0 → 6A86); it becomes the current EF when
//    the command succeeds.
//  - READ RECORD: P2 b3-b1 must be 100 (record number in P1), P1 00 or FF → 6A86, SFI 31 →
//    6A86, Le absent → 6700, record beyond the last → 6A83; answers the whole record (the
//    runtime hands out what exceeds Ne with 61xx), with 6282 when the record is shorter than Ne.
//  - UPDATE RECORD: same addressing; data length ≠ record size → 6700.
//  - No current EF → 6986; wrong EF structure (or a DF) → 6981; generated EF (content source)
//    updated → 6981; access condition not met → 6982. Checks run in the order: parameters,
//    file, structure, access, offset/record/length.
//  - A stored EF's record missing (Install() did not complete) → 6581.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "fs/fcp.h"
#include "fs/file_system.h"
#include "runtime/applet.h"
#include "runtime/card.h"
#include "runtime/pin.h"

namespace dmcard::fs {

// A PIN the applet creates at install (if missing) and serves with VERIFY / CHANGE REFERENCE
// DATA / RESET RETRY COUNTER (P2 = reference). AccessCondition::Pin(reference) refers to it.
// A global reference (01..7F) is the card's PIN (runtime/pin.h): every applet serving it shares
// one value and one retry counter, and the first to install creates it from its spec, so all
// applets must be given the same spec. A specific reference (81..FF) is this applet's own.
// The applet's records (runtime/record_names.h), under its namespace "fs/<AID hex>/": the
// relative names kEfContentRecords, kOwnPinRecords, kOwnPukRecords below.
inline constexpr RecordName kFsRecordNames[] = {
    {"fs/*/ef/**", 0, "one stored EF's contents: a transparent EF's bytes, a record EF's records"},
    {"fs/*/pin/*", 1,
     "a PIN of a reference local to the applet (runtime/pin.h layout); for a global reference, "
     "written by earlier versions and erased at start-up (card/pin/ holds it)"},
    {"fs/*/puk/*", 1, "its resetting code (PUK), as the PIN"},
};
inline constexpr char kEfContentRecords[] = "ef/";
inline constexpr char kOwnPinRecords[] = "pin/";
inline constexpr char kOwnPukRecords[] = "puk/";

struct PinSpec {
  uint8_t reference = 0x01;
  Bytes initial_value;  // empty: none until personalization loads one (VERIFY answers 6A88)
  PinPolicy policy;
  Bytes puk_value;  // empty: no PUK until one is loaded (RESET RETRY COUNTER answers 6A81)
  PinPolicy puk_policy{5, 8, 8};
};

class FileSystemApplet final : public Applet {
 public:
  // `aid`: 5..16 bytes; `mf`: the structure; `pins`: the PINs it serves; `style`: the form of
  // its FCPs (fs/fcp.h). A UICC FCP's PIN status template lists `pins`, each enabled when it
  // has an initial value (a PIN personalization loads later counts as disabled there).
  FileSystemApplet(Bytes aid, FileSpec mf, std::vector<PinSpec> pins = {},
                   FcpStyle style = FcpStyle::kIso7816);

  const char* name() const override { return "iso-fs"; }
  bool multiselectable() const override { return true; }
  bool selects_files() const override { return true; }
  std::string store_namespace() const override { return prefix_; }

  // Creates missing EF contents and PINs. 6A84 when memory is short; 6F00 for an invalid
  // structure or PIN list (see file_system().error()).
  Sw Install(AppletContext& ctx) override;
  // The channel starts at the MF with no current EF, or, when MANAGE CHANNEL opened it from a
  // non-basic channel, at that channel's current DF and EF.
  bool Select(AppletContext& ctx) override;
  void Deselect(AppletContext& ctx) override;
  Sw Process(AppletContext& ctx, const CommandApdu& cmd, Bytes& response) override;
  // The SCP03 handshake commands by name; the runtime names the rest.
  std::string DescribeCommand(const CommandApdu& cmd) const override;

  const FileSystem& file_system() const { return fs_; }
  // Prefix of this instance's records in the persistent store ("fs/<AID hex>/").
  const std::string& key_prefix() const { return prefix_; }
  // Current DF / EF of a channel (FileSystem ids; EF kNone when there is none).
  FileSystem::Id current_df(uint8_t channel) const { return channels_.at(channel).df; }
  FileSystem::Id current_ef(uint8_t channel) const { return channels_.at(channel).ef; }

 private:
  struct ChannelState {
    FileSystem::Id df = FileSystem::kMf;
    FileSystem::Id ef = FileSystem::kNone;
    FileSystem::Id application = FileSystem::kNone;  // what 7FFF names; kNone: none yet
  };
  // An EF addressed by a READ/UPDATE command: the current EF, or the one named by an SFI.
  struct Target {
    FileSystem::Id ef = FileSystem::kNone;
    uint32_t offset = 0;  // BINARY: offset; RECORD: record number
  };

  Sw SelectFile(AppletContext& ctx, const CommandApdu& cmd, Bytes& response);
  Sw AnswerAppletSelection(AppletContext& ctx, const CommandApdu& cmd, Bytes& response);
  Sw ReadBinary(AppletContext& ctx, const CommandApdu& cmd, Bytes& response);
  Sw UpdateBinary(AppletContext& ctx, const CommandApdu& cmd);
  Sw ReadRecord(AppletContext& ctx, const CommandApdu& cmd, Bytes& response);
  Sw UpdateRecord(AppletContext& ctx, const CommandApdu& cmd);

  std::string OwnKey(const char* kind, uint8_t reference) const;
  std::string PinKey(uint8_t reference) const;
  std::string PukKey(uint8_t reference) const;
  Sw FindSelectTarget(const ChannelState& ch, const CommandApdu& cmd, FileSystem::Id& target) const;
  FileSystem::Id WalkPath(const ChannelState& ch, bool from_mf, ByteView path) const;
  Sw BinaryTarget(const AppletContext& ctx, const CommandApdu& cmd, Target& t) const;
  Sw RecordTarget(const AppletContext& ctx, const CommandApdu& cmd, Target& t) const;
  void MakeCurrent(AppletContext& ctx, FileSystem::Id id);

  std::string prefix_;
  FileSystem fs_;
  std::vector<PinSpec> pin_specs_;
  FcpOptions fcp_;
  std::vector<std::unique_ptr<Pin>> pins_;  // PINs and PUKs, referenced by pin_commands_
  PinCommands pin_commands_;
  std::array<ChannelState, Card::kMaxChannels> channels_{};
};

}  // namespace dmcard::fs
