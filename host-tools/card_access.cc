#include "card_access.h"

#include <cstdio>

#include "host/apdu_spec.h"
#include "host/demo_card.h"
#include "host/direct_reader.h"
#include "host/exchange.h"
#include "host/pcsc_reader.h"
#include "host/state_dir.h"

namespace dmcard::cli {

namespace {

std::unique_ptr<Reader> OpenDirect(const CardOptions& opt) {
  std::string error;
  auto profile = std::make_shared<Profile>(DemoProfile());
  if (!opt.profile.empty()) {
    auto loaded = LoadProfile(opt.profile, error);
    if (!loaded) {
      std::fprintf(stderr, "dmcard: %s\n", error.c_str());
      return nullptr;
    }
    *profile = std::move(*loaded);
  }
  CardConfig config = CardConfigFor(*profile);
  if (opt.t0) config.protocol = Protocol::kT0;
  if (!opt.profile.empty() && !opt.state_dir.empty() && HoldsCard(opt.state_dir)) {
    std::fprintf(stderr, "dmcard: %s\n",
                 ProfileNotAppliedNotice(opt.profile, opt.state_dir).c_str());
  }
  auto reader = DirectReader::Open(std::move(profile), config, opt.state_dir, error);
  if (!reader) {
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return nullptr;
  }
  PrintNotices(*reader);
  return reader;
}

}  // namespace

std::unique_ptr<Reader> OpenReader(const CardOptions& opt, bool direct_by_default) {
  const bool in_process_option =
      opt.direct || !opt.state_dir.empty() || !opt.profile.empty() || opt.t0;
  if (!opt.reader.empty() && in_process_option) {
    std::fprintf(stderr,
                 "dmcard: -r names a PC/SC reader; --direct, --state, --profile and --t0 are for "
                 "the in-process card. Give one or the other.\n");
    return nullptr;
  }
  if (in_process_option || (opt.reader.empty() && direct_by_default)) return OpenDirect(opt);
  std::string error;
  auto reader = PcscReader::Open(opt.reader.empty() ? "0" : opt.reader, opt.exclusive, error);
  if (!reader) {
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return nullptr;
  }
  if (!opt.control.empty()) {
    // The slot of the card behind that socket: the reader's slot in its vpcd entry.
    ViccControl control{opt.control, 0};
    if (auto found = ViccControlFor(reader->name())) control.slot = found->slot;
    reader->set_control(control);
  }
  return reader;
}

std::unique_ptr<Reader> OpenConnected(const CardOptions& options, bool direct_by_default,
                                      Bytes& atr) {
  auto reader = OpenReader(options, direct_by_default);
  std::string error;
  if (reader && !reader->Connect(atr, error)) {
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return nullptr;
  }
  return reader;
}

void PrintNotices(Reader& reader) {
  auto* direct = dynamic_cast<DirectReader*>(&reader);
  if (direct == nullptr) return;
  std::fflush(stdout);
  for (const std::string& n : direct->TakeNotices())
    std::fprintf(stderr, "dmcard: %s\n", n.c_str());
}

std::string FormatResponse(const Bytes& r) {
  if (r.size() < 2) return "(no status word)";
  const uint16_t sw = static_cast<uint16_t>((r[r.size() - 2] << 8) | r[r.size() - 1]);
  std::string s;
  if (r.size() > 2) s = ToHex(ByteView(r).first(r.size() - 2), ' ') + "  ";
  char swbuf[8];
  std::snprintf(swbuf, sizeof swbuf, "%04X", sw);
  return s + swbuf + " (" + StatusWordMeaning(BuiltInApduSpecs(), sw) + ")";
}

bool PrintedExchange(Reader& reader, CommandNamer& namer, const Bytes& apdu, bool withhold) {
  std::string shown = ToHex(apdu, ' ');
  if (withhold && apdu.size() > 5) {
    shown = ToHex(ByteView(apdu).first(5), ' ');
    for (size_t i = 5; i < apdu.size(); ++i) shown += " **";
  }
  std::printf("> %s    %s\n", shown.c_str(), namer.Name(apdu).Describe().c_str());
  Bytes r;
  std::string error;
  std::vector<RawExchange> raw;
  const bool ok = TransmitFollowing(reader, apdu, r, error, &raw);
  for (const RawExchange& x : raw) namer.Observe(x.command, x.response);
  if (!ok) {
    std::printf("< (no answer)\n");
    std::fflush(stdout);
    std::fprintf(stderr, "dmcard: %s\n", error.c_str());
    return false;
  }
  for (size_t i = 1; i < raw.size(); ++i) {
    std::printf("  (card answered %s: sent %s)\n",
                ToHex(ByteView(raw[i - 1].response).last(2)).c_str(),
                ToHex(raw[i].command, ' ').c_str());
  }
  std::printf("< %s\n", FormatResponse(r).c_str());
  PrintNotices(reader);
  return true;
}

}  // namespace dmcard::cli
