// The card: power, ATR, the APDU transmit path and everything transport-shaped that applets
// never see — logical channels (MANAGE CHANNEL), secure sessions and the secure-messaging bits
// of CLA, SELECT by DF name and the AID registry, command chaining, extended length, response
// shaping by Le and protocol, GET RESPONSE, and one persistent-memory transaction per APDU.
// Transmit() is a pipeline of steps, pictured in runtime/secure_session.h.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "runtime/apdu.h"
#include "runtime/applet.h"
#include "runtime/card_config.h"
#include "runtime/chain_assembler.h"
#include "runtime/event_log.h"
#include "runtime/key_store.h"
#include "runtime/persistent_store.h"
#include "runtime/registry.h"
#include "runtime/response_buffer.h"
#include "runtime/secure_session.h"
#include "runtime/storage_medium.h"
#include "runtime/transient.h"

namespace dmcard {

// What the card needs from outside. Tests pass a RAM (or fault-injecting) medium and a seeded
// DRBG; the bridge passes a file medium and a system-seeded DRBG.
struct Platform {
  std::shared_ptr<StorageMedium> medium;
  std::unique_ptr<crypto::Drbg> rng = nullptr;  // null: seeded from the operating system
  // UTC seconds since 1970 (OMA DM TStamp). Empty: the system clock. Tests pass a fake one.
  std::function<int64_t()> clock = nullptr;
};

class Card {
 public:
  static constexpr uint8_t kMaxChannels = 20;

  Card(CardConfig config, Platform platform);
  ~Card();
  Card(const Card&) = delete;
  Card& operator=(const Card&) = delete;

  // Non-empty when the persistent memory could not be opened; the card then never answers.
  const std::string& open_error() const { return store_.open_error(); }

  // Registers an applet and runs its Install(). Call before the first PowerOn().
  Sw Install(std::unique_ptr<Applet> applet);
  const AppletRegistry& registry() const { return registry_; }
  Applet& applet(size_t index) { return registry_.at(index); }

  // Cold reset: answers the ATR, opens the basic channel, selects the default applet.
  const Bytes& PowerOn();
  // Deselects everything, clears transient memory and channel state.
  void PowerOff();
  // Warm reset: PowerOff + PowerOn semantics without losing power; answers the ATR.
  const Bytes& Reset();
  const Bytes& atr() const { return atr_; }
  bool powered() const { return powered_; }
  // True once persistent memory failed mid-write (power cut): the card no longer answers
  // until it is rebuilt on the same medium.
  bool dead() const { return store_.power_lost(); }

  // Processes one C-APDU. False when the card gives no answer (unpowered or dead).
  bool Transmit(ByteView command, Bytes& response);
  // Convenience: empty result means no answer.
  Bytes Transmit(ByteView command);

  // A one-line name for a C-APDU as the card would take it now: the name the applet selected on
  // its channel gives it, else the runtime's (runtime/apdu_text.h); "malformed APDU" when it
  // does not parse. For logs; changes nothing.
  std::string DescribeCommand(ByteView raw) const;
  // True when a trace or log must withhold the data of this C-APDU: the PIN commands by INS
  // (VERIFY 20/21, CHANGE REFERENCE DATA 24, RESET RETRY COUNTER 2C, any class, malformed ones
  // included), and what the applet selected on its channel says carries secrets
  // (Applet::CommandCarriesSecrets). Changes nothing.
  bool CommandCarriesSecrets(ByteView raw);

  bool channel_open(uint8_t channel) const {
    return channel < kMaxChannels && channels_[channel].open;
  }
  // Registry index of the applet selected on `channel`, or -1.
  int selected_applet(uint8_t channel) const;

  const CardConfig& config() const { return config_; }
  PersistentStore& store() { return store_; }
  // What the applet at `index` sees of persistent memory (AppletContext::store()).
  StoreView ViewOf(size_t index);
  // Lets the applet `reader_aid` read the records under `prefix` (another applet's namespace),
  // read-only: the explicit grant a cross-applet view needs (the PKCS#15 view of the DM tree).
  // False when no such applet is installed. At most StoreView::kMaxPrefixes - 0 grants each.
  bool GrantRead(ByteView reader_aid, std::string prefix);
  KeyStore& keys() { return keys_; }
  EventLog& log() { return log_; }
  TransientMemory& transient() { return transient_; }
  crypto::Drbg& rng() { return *platform_.rng; }
  int64_t now() const { return platform_.clock(); }

 private:
  struct Channel {
    bool open = false;
    int applet = -1;  // registry index, -1 = none
    SecurityState security;
    ResponseBuffer response;                 // data kept for GET RESPONSE (ISO 7816-4 §11.6.1)
    ChainAssembler chain;                    // command chaining in progress (ISO 7816-4 §5.1.1.1)
    std::unique_ptr<SecureSession> session;  // secure channel, if one is open or opening
    uint32_t session_epoch = 0;  // moves whenever `session` is set or ended (SetSession)
  };
  friend class AppletContext;  // reaches its channel's session

  // `wrap_epoch`: the channel's session epoch when the command was unwrapped (nullopt: plain).
  void Answer(Channel& ch, const CommandApdu& cmd, std::optional<uint32_t> wrap_epoch, Sw sw,
              Bytes& data, Bytes& out);
  void SetSession(Channel& ch, std::unique_ptr<SecureSession> session);
  void DropPendingOf(ByteView raw);
  void EndSession(Channel& ch);
  Sw Dispatch(const CommandApdu& cmd, Bytes& data);
  Sw ManageChannel(const CommandApdu& cmd, Bytes& data);
  Sw SelectByName(const CommandApdu& cmd, Bytes& data, bool& handled);
  bool SelectOn(uint8_t channel, int applet_index, int opened_from = -1);
  void DeselectOn(uint8_t channel);
  bool SelectedElsewhere(int applet_index, uint8_t channel) const;
  Sw RunInTransaction(int applet_index, uint8_t channel, bool selecting, const CommandApdu& cmd,
                      Bytes& data);

  CardConfig config_;
  Platform platform_;
  PersistentStore store_;
  KeyStore keys_{store_};  // over the card's store: records "card/key/..."
  EventLog log_{store_};   // records "card/log/..."
  TransientMemory transient_;
  AppletRegistry registry_;
  Bytes atr_;
  bool powered_ = false;
  std::array<Channel, kMaxChannels> channels_;
  // Per registry index: the applet's namespace and its read grants (the strings its StoreViews
  // point into).
  struct Storage {
    std::string own;
    std::vector<std::string> grants;
  };
  std::vector<Storage> storage_;
  Bytes scratch_;  // response data buffer reused across APDUs
};

}  // namespace dmcard
