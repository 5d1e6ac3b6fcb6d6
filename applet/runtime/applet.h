// The applet interface (Java Card shaped): install / select / deselect / process. Transport
// concerns — chaining, extended length, 61xx/GET RESPONSE, logical channels, the AID registry —
// live in the runtime (card.h), never in an applet.
#pragma once

#include <bitset>
#include <cstdint>
#include <memory>
#include <string>

#include "crypto/crypto.h"
#include "runtime/apdu.h"
#include "runtime/bytes.h"
#include "runtime/card_config.h"
#include "runtime/persistent_store.h"
#include "runtime/store_status.h"
#include "runtime/store_view.h"
#include "runtime/sw.h"
#include "runtime/transient.h"

namespace dmcard {

// Security state of one logical channel: cleared on reset, on channel close, and when the
// channel's applet is deselected (ISO 7816-4 §5.4.1: security status per channel).
struct SecurityState {
  std::bitset<256> verified_pins;  // reference data qualifiers (VERIFY P2) validated
  std::string principal;           // authenticated principal (e.g. an OMA DM ServerID); "" = none

  bool pin_verified(uint8_t ref) const { return verified_pins.test(ref); }
  void Clear() {
    verified_pins.reset();
    principal.clear();
  }
};

// The principal that issuer authentication sets on a channel (GlobalPlatform SCP03 with the
// issuer's key set; the security-foundation work). Names beginning with '@' are never a DM
// server's ServerID (dm/acl.h), so no management authority can be taken for the issuer.
inline constexpr char kIssuerPrincipal[] = "@issuer";

class Card;
class EventLog;
class KeyStore;
class SecureSession;

// What an applet sees of the card during one call. Built by the runtime on the stack.
class AppletContext {
 public:
  AppletContext(Card& card, uint16_t applet_index, uint8_t channel, bool selecting,
                SecurityState* security)
      : card_(card),
        applet_index_(applet_index),
        channel_(channel),
        selecting_(selecting),
        security_(security) {}

  uint8_t channel() const { return channel_; }
  // True while processing the SELECT that has just selected this applet (answer with FCI).
  bool selecting() const { return selecting_; }
  // Channel security state; null during Install().
  SecurityState* security() { return security_; }
  // During Select() for a channel that MANAGE CHANNEL opened from another non-basic channel:
  // that channel (ISO 7816-4 §5.4.1: the new channel takes over its selection). Else -1.
  int opened_from() const { return opened_from_; }
  void set_opened_from(int channel) { opened_from_ = channel; }
  uint16_t applet_index() const { return applet_index_; }

  // The applet's persistent records (runtime/store_view.h): its own namespace and the card's
  // global PIN records read-write, what was granted to it read-only, nothing else.
  StoreView store();
  // The card's key store (runtime/key_store.h): keys used by handle, never read.
  KeyStore& keys();
  // The card's event log (runtime/event_log.h).
  EventLog& log();
  TransientMemory& transient();
  crypto::Drbg& rng();
  int64_t now() const;  // UTC seconds, from the platform clock
  const CardConfig& config() const;
  // The channel's secure session, null when none (and during Install()).
  SecureSession* session();
  // Gives the channel a new secure session, ending the one it had: from the next command on it
  // unwraps the channel's commands and wraps their answers. No effect during Install().
  void StartSession(std::unique_ptr<SecureSession> session);
  // Ends the channel's session (e.g. after a failed authentication).
  void EndSession();

 private:
  Card& card_;
  uint16_t applet_index_;
  uint8_t channel_;
  bool selecting_;
  SecurityState* security_;
  int opened_from_ = -1;
};

class Applet {
 public:
  explicit Applet(Bytes aid) : aid_(std::move(aid)) {}
  virtual ~Applet() = default;
  Applet(const Applet&) = delete;
  Applet& operator=(const Applet&) = delete;

  const Bytes& aid() const { return aid_; }
  virtual const char* name() const = 0;
  // Java Card MultiSelectable: may be selected on several channels at once.
  virtual bool multiselectable() const { return false; }
  // True for applets that answer SELECT by FID/path/DF name themselves (file systems): a SELECT
  // by DF name that matches no registered applet is forwarded to them.
  virtual bool selects_files() const { return false; }

  // Called each time the card is built (like a ROM applet at power-up), inside a transaction:
  // creates the persistent objects that are not there yet and allocates transient arrays.
  virtual Sw Install(AppletContext& /*ctx*/) { return Sw::kOk; }
  // Return false to refuse selection (answered 6999).
  virtual bool Select(AppletContext& /*ctx*/) { return true; }
  // Per-channel state must be dropped here; also called on reset and power-off.
  virtual void Deselect(AppletContext& /*ctx*/) {}
  // Appends response data to `response` and returns the status word. On an error status the
  // runtime discards the data and rolls back the command's uncommitted writes.
  virtual Sw Process(AppletContext& ctx, const CommandApdu& cmd, Bytes& response) = 0;
  // A name for `cmd` in logs and decoders, e.g. "DM GET ./DevInfo/Man"; empty when the applet
  // has none (the runtime then names it by INS). Never reveals secret data.
  virtual std::string DescribeCommand(const CommandApdu& /*cmd*/) const { return {}; }
  // True when the data of `cmd` carries secrets (a key, a secret leaf's value, a document that
  // may hold either): traces and logs then withhold it. `store` is for reading only. The runtime
  // already counts the PIN commands (Card::CommandCarriesSecrets).
  virtual bool CommandCarriesSecrets(const CommandApdu& /*cmd*/, const StoreView& /*store*/) const {
    return false;
  }
  // The prefix of this applet's persistent records (ending in '/'): what its StoreView may
  // write. Default "app/<AID in hex>/".
  virtual std::string store_namespace() const;

 private:
  Bytes aid_;
};

}  // namespace dmcard
