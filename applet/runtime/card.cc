#include "runtime/card.h"

#include <algorithm>
#include <chrono>

#include "runtime/apdu_text.h"
#include "runtime/atr.h"
#include "runtime/pin.h"

namespace dmcard {

namespace {

PersistentStore::Options StoreOptions(const CardConfig& c) {
  PersistentStore::Options o;
  o.capacity = c.capacity;
  o.checkpoint_journal_bytes = c.checkpoint_journal_bytes;
  return o;
}
}  // namespace

StoreView AppletContext::store() { return card_.ViewOf(applet_index_); }

std::string Applet::store_namespace() const { return "app/" + ToHex(aid()) + "/"; }

StoreView Card::ViewOf(size_t index) {
  const Storage& s = storage_.at(index);
  // The card's global reference data (runtime/pin.h): shared by every applet that serves it.
  StoreView v(store_, s.own);
  v.AddWritable(kGlobalPinPrefix);
  v.AddWritable(kGlobalPukPrefix);
  for (const std::string& g : s.grants) v.AddGrant(g);
  return v;
}

bool Card::GrantRead(ByteView reader_aid, std::string prefix) {
  for (size_t i = 0; i < registry_.size(); ++i) {
    if (std::ranges::equal(registry_.at(i).aid(), reader_aid)) {
      storage_.at(i).grants.push_back(std::move(prefix));
      return true;
    }
  }
  return false;
}
KeyStore& AppletContext::keys() { return card_.keys(); }
EventLog& AppletContext::log() { return card_.log(); }
TransientMemory& AppletContext::transient() { return card_.transient(); }
crypto::Drbg& AppletContext::rng() { return card_.rng(); }
int64_t AppletContext::now() const { return card_.now(); }
const CardConfig& AppletContext::config() const { return card_.config(); }
SecureSession* AppletContext::session() {
  return security_ == nullptr ? nullptr : card_.channels_[channel_].session.get();
}

void AppletContext::StartSession(std::unique_ptr<SecureSession> session) {
  if (security_ != nullptr) card_.SetSession(card_.channels_[channel_], std::move(session));
}

void AppletContext::EndSession() {
  if (security_ != nullptr) card_.EndSession(card_.channels_[channel_]);
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
  storage_.resize(registry_.size());
  storage_[index] = Storage{raw->store_namespace(), {}};
  AppletContext ctx(*this, index, 0, false, nullptr);
  store_.Begin();
  Sw sw = raw->Install(ctx);
  if (sw == Sw::kOk) {
    if (const StoreStatus s = store_.Commit(); s != StoreStatus::kOk) sw = SwFromStore(s);
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
  SetSession(ch, nullptr);  // a secure session ends with the selection it was opened under
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

std::string Card::DescribeCommand(ByteView raw) const {
  const ParsedApdu parsed = ParseCommand(raw, config_.extended_length);
  if (parsed.error != Sw::kOk) return dmcard::DescribeCommand(raw, config_.extended_length);
  const CommandApdu& cmd = parsed.command;
  const int idx = selected_applet(cmd.cls.channel);
  if (idx >= 0 && !ServedByTheRuntime(cmd) && !cmd.cls.secure_messaging) {
    std::string name = registry_.at(static_cast<size_t>(idx)).DescribeCommand(cmd);
    if (!name.empty()) return name;
  }
  return dmcard::DescribeCommand(cmd);
}

bool Card::CommandCarriesSecrets(ByteView raw) {
  if (CarriesPin(raw)) return true;
  const ParsedApdu parsed = ParseCommand(raw, config_.extended_length);
  if (parsed.error != Sw::kOk) return false;
  const int idx = selected_applet(parsed.command.cls.channel);
  if (idx < 0) return false;
  return registry_.at(static_cast<size_t>(idx))
      .CommandCarriesSecrets(parsed.command, ViewOf(static_cast<size_t>(idx)).ReadOnly());
}

Bytes Card::Transmit(ByteView command) {
  Bytes out;
  if (!Transmit(command, out)) out.clear();
  return out;
}

// The transmit pipeline (runtime/secure_session.h has the picture): each step either hands the
// command on or answers it.
bool Card::Transmit(ByteView raw, Bytes& out) {
  out.clear();
  if (!powered_ || dead()) return false;

  // Parse.
  ParsedApdu parsed = ParseCommand(raw, config_.extended_length);
  if (parsed.error != Sw::kOk) {
    DropPendingOf(raw);
    AppendSw(out, parsed.error);
    return true;
  }
  CommandApdu cmd = parsed.command;

  // Channel gate. ISO 7816-4: logical channels work independently, so each keeps its own
  // session, pending response and chain; clients on different channels never disturb each other.
  const uint8_t channel = cmd.cls.channel;
  if (channel >= config_.logical_channels || !channels_[channel].open) {
    AppendSw(out, Sw::kLogicalChannelNotSupported);
    return true;
  }
  Channel& ch = channels_[channel];

  // Session unwrap: per C-APDU, before chaining.
  Bytes unwrapped;
  const SessionStep session = RunSessionStep(ch.session.get(), raw, cmd, unwrapped);
  if (session.outcome != SessionStep::Outcome::kPass) {
    if (session.outcome == SessionStep::Outcome::kEndSession) {
      // UC521: a command the session refused (a bad MAC, a replayed or reordered command, a
      // plain one) is an authentication failure on record, in a transaction of its own.
      const std::string who = ch.session && !ch.session->principal().empty()
                                  ? ch.session->principal()
                                  : std::string("@device");
      EndSession(ch);
      store_.Begin();
      static constexpr uint8_t kWhat[] = {'s', 'e', 'c', 'u', 'r', 'e', ' ', 'm',
                                          'e', 's', 's', 'a', 'g', 'i', 'n', 'g'};
      const StoreStatus logged =
          log_.Append(EventKind::kAuthenticationFailed, static_cast<uint8_t>(session.sw), who,
                      kWhat, now(), /*durable=*/false);
      if (logged != StoreStatus::kOk || store_.Commit() != StoreStatus::kOk) {
        if (store_.in_transaction()) store_.Abort();
        if (dead()) return false;  // power lost while logging: no answer
      }
    }
    ch.response.Drop();
    ch.chain.Drop();
    AppendSw(out, session.sw);
    return true;
  }
  // The answer is wrapped by the session that unwrapped the command, if it still runs then: a
  // session started or ended meanwhile moves the channel's epoch.
  const std::optional<uint32_t> wrapper =
      session.unwrapped ? std::optional<uint32_t>(ch.session_epoch) : std::nullopt;
  if (ch.session) ch.security.principal = ch.session->principal();

  // GET RESPONSE continues the channel's pending response; any other command on the channel
  // drops it. With the chaining bit it is not served but refused by the chain step (6884):
  // GET RESPONSE cannot be chained.
  if (cmd.cls.interindustry && cmd.ins == kInsGetResponse && !cmd.cls.chaining &&
      !ch.chain.active()) {
    ch.response.GetResponse(config_, cmd, out);
    return true;
  }
  ch.response.Drop();

  // Chain assembly: collect data until the last command of the chain arrives.
  const bool chainable = !ServedByTheRuntime(cmd) && cmd.ins != kInsGetResponse;
  Bytes chained;
  const ChainAssembler::Result step =
      ch.chain.Feed(cmd, chainable, config_.max_chained_data, chained);
  if (step.step == ChainAssembler::Step::kAnswer) {
    scratch_.clear();
    Answer(ch, cmd, wrapper, step.sw, scratch_, out);
    return true;
  }

  // Dispatch.
  scratch_.clear();
  const Sw sw = Dispatch(cmd, scratch_);
  if (dead()) {
    out.clear();
    return false;  // power was cut in the middle of a write: the card never answers
  }
  // (MANAGE CHANNEL may have closed this very channel; it answers no data then.)
  Answer(ch, cmd, wrapper, sw, scratch_, out);
  return true;
}

// Session wrap (whole response), then response shaping (Le, 61xx).
void Card::Answer(Channel& ch, const CommandApdu& cmd, std::optional<uint32_t> wrap_epoch, Sw sw,
                  Bytes& data, Bytes& out) {
  if (!IsSuccessOrWarning(sw)) data.clear();
  if (wrap_epoch && *wrap_epoch == ch.session_epoch && ch.session) ch.session->Wrap(data, sw);
  ch.response.Answer(config_, cmd, sw, data, out);
}

// A malformed command is "another command" for the pending response and the chain of the
// channel its CLA names; without a valid CLA it names no channel and disturbs none.
void Card::DropPendingOf(ByteView raw) {
  const std::optional<ClassByte> cls =
      raw.size() >= 4 ? DecodeClass(raw[0]) : std::optional<ClassByte>{};
  if (cls && cls->channel < config_.logical_channels) {
    channels_[cls->channel].response.Drop();
    channels_[cls->channel].chain.Drop();
  }
}

void Card::SetSession(Channel& ch, std::unique_ptr<SecureSession> session) {
  ch.session = std::move(session);
  ++ch.session_epoch;
}

void Card::EndSession(Channel& ch) {
  SetSession(ch, nullptr);
  ch.security.principal.clear();
}

Sw Card::Dispatch(const CommandApdu& cmd, Bytes& data) {
  const uint8_t channel = cmd.cls.channel;
  if (cmd.cls.interindustry && cmd.ins == kInsManageChannel) return ManageChannel(cmd, data);
  if (cmd.cls.interindustry && cmd.ins == kInsSelect && cmd.p1 == 0x04) {
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
      if (s != StoreStatus::kOk) return SwFromStore(s);
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

}  // namespace dmcard
