#include "runtime/card.h"

#include <algorithm>
#include <chrono>

#include "runtime/atr.h"

namespace dmcard {

namespace {
constexpr uint8_t kInsSelect = 0xA4;
constexpr uint8_t kInsManageChannel = 0x70;
constexpr uint8_t kInsGetResponse = 0xC0;

PersistentStore::Options StoreOptions(const CardConfig& c) {
  PersistentStore::Options o;
  o.capacity = c.capacity;
  o.checkpoint_journal_bytes = c.checkpoint_journal_bytes;
  return o;
}
}  // namespace

PersistentStore& AppletContext::store() { return card_.store(); }
TransientMemory& AppletContext::transient() { return card_.transient(); }
crypto::Drbg& AppletContext::rng() { return card_.rng(); }
int64_t AppletContext::now() const { return card_.now(); }
const CardConfig& AppletContext::config() const { return card_.config(); }
StoreStatus AppletContext::CommitNow() {
  StoreStatus s = card_.store().Commit();
  if (s == StoreStatus::kOk) card_.store().Begin();
  return s;
}

Card::Card(CardConfig config, Platform platform)
    : config_(std::move(config)),
      platform_(std::move(platform)),
      store_(platform_.medium, StoreOptions(config_)) {
  config_.logical_channels = std::clamp<uint8_t>(config_.logical_channels, 1, kMaxChannels);
  atr_ = config_.atr.empty() ? DefaultAtr(config_) : config_.atr;
  scratch_.reserve(4096);
  if (!platform_.rng) platform_.rng = crypto::Drbg::FromSystem();
  if (!platform_.clock) {
    platform_.clock = [] {
      return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
    };
  }
}

Card::~Card() = default;

Sw Card::Install(std::unique_ptr<Applet> applet) {
  Applet* raw = applet.get();
  if (!registry_.Add(std::move(applet))) return Sw::kDfNameAlreadyExists;
  const uint16_t index = static_cast<uint16_t>(registry_.size() - 1);
  AppletContext ctx(*this, index, 0, false, nullptr);
  store_.Begin();
  Sw sw = raw->Install(ctx);
  if (sw == Sw::kOk) {
    if (store_.Commit() != StoreStatus::kOk) sw = Sw::kMemoryFailure;
  } else {
    store_.Abort();
  }
  if (sw != Sw::kOk) registry_.RemoveLast();  // a half-installed applet is never selectable
  return sw;
}

const Bytes& Card::PowerOn() {
  if (powered_) PowerOff();
  powered_ = true;
  channels_[0].open = true;
  if (!config_.default_applet.empty()) {
    int idx = registry_.IndexOf(config_.default_applet);
    if (idx >= 0) SelectOn(0, idx);
  }
  return atr_;
}

void Card::PowerOff() {
  if (!powered_) return;
  for (uint8_t c = 0; c < kMaxChannels; ++c) {
    if (channels_[c].open) DeselectOn(c);
    channels_[c] = Channel{};
  }
  transient_.ClearAll();
  pending_ = PendingResponse{};
  chain_ = Chain{};
  if (store_.in_transaction()) store_.Abort();
  powered_ = false;
}

const Bytes& Card::Reset() {
  PowerOff();
  return PowerOn();
}

int Card::selected_applet(uint8_t channel) const {
  return channel < kMaxChannels && channels_[channel].open ? channels_[channel].applet : -1;
}

void Card::SetPrincipal(uint8_t channel, std::string principal) {
  if (channel_open(channel)) channels_[channel].security.principal = std::move(principal);
}

bool Card::SelectedElsewhere(int applet_index, uint8_t channel) const {
  for (uint8_t c = 0; c < kMaxChannels; ++c) {
    if (c != channel && channels_[c].open && channels_[c].applet == applet_index) return true;
  }
  return false;
}

void Card::DeselectOn(uint8_t channel) {
  Channel& ch = channels_[channel];
  if (ch.applet >= 0) {
    const int idx = ch.applet;
    AppletContext ctx(*this, static_cast<uint16_t>(idx), channel, false, &ch.security);
    registry_.at(static_cast<size_t>(idx)).Deselect(ctx);
    ch.applet = -1;
    if (!SelectedElsewhere(idx, channel)) transient_.ClearOnDeselect(static_cast<uint16_t>(idx));
  }
  ch.security.Clear();
}

bool Card::SelectOn(uint8_t channel, int applet_index, int opened_from) {
  DeselectOn(channel);
  Channel& ch = channels_[channel];
  AppletContext ctx(*this, static_cast<uint16_t>(applet_index), channel, true, &ch.security);
  ctx.set_opened_from(opened_from);
  if (!registry_.at(static_cast<size_t>(applet_index)).Select(ctx)) return false;
  ch.applet = applet_index;
  return true;
}

Bytes Card::Transmit(ByteView command) {
  Bytes out;
  if (!Transmit(command, out)) out.clear();
  return out;
}

void Card::Respond(Sw sw, Bytes& out) {
  out.push_back(static_cast<uint8_t>(ToU16(sw) >> 8));
  out.push_back(static_cast<uint8_t>(ToU16(sw)));
}

bool Card::Transmit(ByteView raw, Bytes& out) {
  out.clear();
  if (!powered_ || dead()) return false;

  ParsedApdu parsed = ParseCommand(raw, config_.extended_length);
  if (parsed.error != Sw::kOk) {
    pending_.active = false;
    chain_.active = false;
    Respond(parsed.error, out);
    return true;
  }
  CommandApdu cmd = parsed.command;
  const uint8_t channel = cmd.cls.channel;
  if (channel >= config_.logical_channels || !channels_[channel].open) {
    pending_.active = false;
    Respond(Sw::kLogicalChannelNotSupported, out);
    return true;
  }
  const bool runtime_class = cmd.cls.interindustry && !cmd.cls.secure_messaging;

  // GET RESPONSE continues a pending response; any other command drops it.
  if (runtime_class && cmd.ins == kInsGetResponse && !chain_.active) {
    GetResponse(cmd, out);
    return true;
  }
  pending_.active = false;

  // Command chaining: collect data until the last command of the chain arrives.
  if (chain_.active && (chain_.channel != channel || chain_.cla_base != cmd.cls.base ||
                        chain_.ins != cmd.ins || chain_.p1 != cmd.p1 || chain_.p2 != cmd.p2)) {
    chain_ = Chain{};
    Respond(Sw::kLastCommandOfChainExpected, out);
    return true;
  }
  const bool runtime_command =
      runtime_class && (cmd.ins == kInsManageChannel || (cmd.ins == kInsSelect && cmd.p1 == 0x04));
  if (cmd.cls.chaining) {
    if (runtime_command || cmd.ins == kInsGetResponse) {
      Respond(Sw::kChainingNotSupported, out);
      return true;
    }
    if (chain_.data.size() + cmd.data.size() > config_.max_chained_data) {
      chain_ = Chain{};
      Respond(Sw::kWrongLength, out);
      return true;
    }
    if (!chain_.active) {
      chain_ = Chain{true, channel, cmd.cls.base, cmd.ins, cmd.p1, cmd.p2, {}};
    }
    Append(chain_.data, cmd.data);
    Respond(Sw::kOk, out);
    return true;
  }
  Bytes chained;
  if (chain_.active) {
    chained = std::move(chain_.data);
    Append(chained, cmd.data);
    chain_ = Chain{};
    cmd.data = chained;
    const bool ext = chained.size() > 255 || cmd.ne > 256;
    cmd.apdu_case = cmd.has_le() ? (ext ? ApduCase::k4E : ApduCase::k4S)
                                 : (ext ? ApduCase::k3E : ApduCase::k3S);
  }

  scratch_.clear();
  Sw sw = Dispatch(cmd, scratch_);
  if (dead()) {
    out.clear();
    return false;  // power was cut in the middle of a write: the card never answers
  }
  ShapeResponse(cmd, sw, out);
  return true;
}

Sw Card::Dispatch(const CommandApdu& cmd, Bytes& data) {
  const uint8_t channel = cmd.cls.channel;
  if (cmd.cls.interindustry && cmd.ins == kInsManageChannel) {
    if (cmd.cls.secure_messaging) return Sw::kSecureMessagingNotSupported;
    return ManageChannel(cmd, data);
  }
  if (cmd.cls.interindustry && cmd.ins == kInsSelect && cmd.p1 == 0x04) {
    if (cmd.cls.secure_messaging) return Sw::kSecureMessagingNotSupported;
    bool handled = false;
    Sw sw = SelectByName(cmd, data, handled);
    if (handled) return sw;
  }
  const int idx = channels_[channel].applet;
  if (idx < 0) return Sw::kFileNotFound;  // no application selected on this channel
  return RunInTransaction(idx, channel, false, cmd, data);
}

Sw Card::RunInTransaction(int applet_index, uint8_t channel, bool selecting, const CommandApdu& cmd,
                          Bytes& data) {
  Channel& ch = channels_[channel];
  AppletContext ctx(*this, static_cast<uint16_t>(applet_index), channel, selecting, &ch.security);
  store_.Begin();
  Sw sw = registry_.at(static_cast<size_t>(applet_index)).Process(ctx, cmd, data);
  if (dead()) return Sw::kMemoryFailure;
  if (store_.in_transaction()) {
    if (IsSuccessOrWarning(sw)) {
      StoreStatus s = store_.Commit();
      if (s == StoreStatus::kPowerLost) return Sw::kMemoryFailure;
      if (s != StoreStatus::kOk) sw = SwFromStore(s);
    } else {
      store_.Abort();  // a refused command changes nothing
    }
  }
  return sw;
}

// ISO 7816-4 §11.2.2 SELECT with P1 = 04 (by DF name): applets by AID, full or right-truncated.
Sw Card::SelectByName(const CommandApdu& cmd, Bytes& data, bool& handled) {
  const uint8_t channel = cmd.cls.channel;
  handled = true;
  if ((cmd.p2 & 0xF0) != 0) return Sw::kIncorrectP1P2;
  const auto occurrence = static_cast<AppletRegistry::Occurrence>(cmd.p2 & 0x03);
  const uint8_t answer = cmd.p2 & 0x0C;  // 00 FCI, 04 FCP, 08 FMD, 0C none
  int idx = -1;
  if (cmd.data.size() >= 1 && cmd.data.size() <= 16) {
    idx = registry_.Find(cmd.data, occurrence, channels_[channel].applet);
  }
  if (idx < 0) {
    // No applet by that name: a file-system applet selected here may own a DF with that name.
    const int current = channels_[channel].applet;
    if (current >= 0 && registry_.at(static_cast<size_t>(current)).selects_files()) {
      handled = false;
      return Sw::kOk;
    }
    if (cmd.data.empty() || cmd.data.size() > 16) return Sw::kWrongLength;
    return Sw::kFileNotFound;
  }
  Applet& applet = registry_.at(static_cast<size_t>(idx));
  if (!applet.multiselectable() && SelectedElsewhere(idx, channel)) {
    return Sw::kConditionsNotSatisfied;
  }
  if (!SelectOn(channel, idx)) return Sw::kAppletSelectFailed;
  Sw sw = RunInTransaction(idx, channel, true, cmd, data);
  if (answer == 0x0C) data.clear();
  return sw;
}

// ISO 7816-4 §11.1.2 MANAGE CHANNEL.
Sw Card::ManageChannel(const CommandApdu& cmd, Bytes& data) {
  const uint8_t origin = cmd.cls.channel;
  if (!cmd.data.empty()) return Sw::kWrongLength;
  if (cmd.p1 == 0x00) {  // open
    uint8_t target = cmd.p2;
    if (target == 0) {
      if (cmd.ne != 1 && cmd.has_le()) return Sw::kWrongLength;
      for (uint8_t c = 1; c < config_.logical_channels; ++c) {
        if (!channels_[c].open) {
          target = c;
          break;
        }
      }
      if (target == 0) return Sw::kFunctionNotSupported;  // no channel left
    } else {
      if (target >= config_.logical_channels) return Sw::kIncorrectP1P2;
      if (channels_[target].open) return Sw::kFunctionNotSupported;
    }
    channels_[target] = Channel{};
    channels_[target].open = true;
    // ISO 7816-4 §5.4.1: opened from the basic channel → the default application; from another
    // channel → the application selected there.
    int idx = origin == 0 ? registry_.IndexOf(config_.default_applet) : channels_[origin].applet;
    if (idx >= 0) {
      const bool allowed = registry_.at(static_cast<size_t>(idx)).multiselectable() ||
                           !SelectedElsewhere(idx, target);
      if (allowed) SelectOn(target, idx, origin == 0 ? -1 : origin);
    }
    if (cmd.p2 == 0) data.push_back(target);
    return Sw::kOk;
  }
  if (cmd.p1 == 0x80) {  // close
    const uint8_t target = cmd.p2 == 0 ? origin : cmd.p2;
    if (target == 0) return Sw::kFunctionNotSupported;  // the basic channel is never closed
    if (target >= config_.logical_channels) return Sw::kIncorrectP1P2;
    if (!channels_[target].open) return Sw::kLogicalChannelNotSupported;
    DeselectOn(target);
    channels_[target] = Channel{};
    return Sw::kOk;
  }
  return Sw::kIncorrectP1P2;
}

// Response shaping (ISO 7816-3 §10.3 for T=0, ISO 7816-4 §5.3.4 for 61xx/6Cxx).
void Card::ShapeResponse(const CommandApdu& cmd, Sw sw, Bytes& out) {
  if (!IsSuccessOrWarning(sw) || scratch_.empty()) {
    Respond(sw, out);
    return;
  }
  const size_t na = scratch_.size();
  // Le absent (case 1/3) under T=1: the data is returned as for Le = 00, as Java Card and most
  // T=1 cards do; under T=0 it is announced with 61xx.
  const size_t ne = cmd.ne == 0 && config_.protocol == Protocol::kT1 ? 256 : cmd.ne;
  auto keep_for_get_response = [&](size_t from) {
    pending_.active = true;
    pending_.channel = cmd.cls.channel;
    pending_.data.swap(scratch_);
    pending_.offset = from;
    pending_.final_sw = sw;
    Respond(MoreData(static_cast<uint32_t>(na - from)), out);
  };
  const bool t0_case4 = config_.protocol == Protocol::kT0 && !cmd.data.empty();
  if (ne == 0 || t0_case4) {
    // T=0 without Le, or T=0 case 4: announce the data, to be fetched with GET RESPONSE.
    out.clear();
    keep_for_get_response(0);
    return;
  }
  if (na > ne) {
    out.assign(scratch_.begin(), scratch_.begin() + static_cast<ptrdiff_t>(ne));
    keep_for_get_response(ne);
    return;
  }
  if (na < ne && config_.protocol == Protocol::kT0) {
    Respond(WrongLe(static_cast<uint32_t>(na)), out);  // T=0: resend with P3 = Na
    return;
  }
  out.assign(scratch_.begin(), scratch_.end());
  Respond(sw, out);
}

// ISO 7816-4 §11.6.1 GET RESPONSE.
void Card::GetResponse(const CommandApdu& cmd, Bytes& out) {
  if (cmd.p1 != 0 || cmd.p2 != 0) {
    pending_.active = false;
    Respond(Sw::kIncorrectP1P2, out);
    return;
  }
  if (!pending_.active || pending_.channel != cmd.cls.channel) {
    pending_.active = false;
    Respond(Sw::kConditionsNotSatisfied, out);
    return;
  }
  const size_t remaining = pending_.data.size() - pending_.offset;
  const size_t ne = cmd.ne == 0 ? 256 : cmd.ne;
  if (ne > remaining && config_.protocol == Protocol::kT0) {
    Respond(WrongLe(static_cast<uint32_t>(remaining)), out);
    return;
  }
  const size_t n = std::min(ne, remaining);
  auto first = pending_.data.begin() + static_cast<ptrdiff_t>(pending_.offset);
  out.assign(first, first + static_cast<ptrdiff_t>(n));
  pending_.offset += n;
  if (pending_.offset < pending_.data.size()) {
    Respond(MoreData(static_cast<uint32_t>(pending_.data.size() - pending_.offset)), out);
    return;
  }
  pending_.active = false;
  Respond(pending_.final_sw, out);
}

}  // namespace dmcard
