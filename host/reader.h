// A reader: the host's one way to reach a card, whichever card it is — a reader of the PC/SC
// stack (host/pcsc_reader.h: a dmcard card behind vpcd, or any real card) or the card run
// in-process (host/direct_reader.h). `dmcard` and the trace runner talk to every card through
// this interface and get the same answers from each.
//
// Every call reports failure with a message that says what failed and, where the user can act,
// what to do; a reader never throws.
#pragma once

#include <string>

#include "runtime/bytes.h"

namespace dmcard {

class Reader {
 public:
  virtual ~Reader() = default;

  // What the user calls it: the PC/SC reader name, or "in-process card" (with its state dir).
  virtual std::string name() const = 0;

  // Connects to the card, powering it if it is not powered; `atr` is its answer to reset.
  virtual bool Connect(Bytes& atr, std::string& error) = 0;

  // One C-APDU in, its R-APDU (data and SW) out. No GET RESPONSE or 6Cxx handling: the caller
  // sees what the card said (see TransmitFollowing in host/exchange.h for the automatic form).
  virtual bool Transmit(ByteView command, Bytes& response, std::string& error) = 0;

  // Warm reset: the card's volatile state (selected applets, channels, sessions, PIN states) is
  // lost, its persistent memory kept.
  virtual bool Reset(Bytes& atr, std::string& error) = 0;

  // Power off and on again (cold reset).
  virtual bool PowerOff(std::string& error) = 0;
  virtual bool PowerOn(Bytes& atr, std::string& error) = 0;

  // Takes the card out of the reader and puts it back, where the reader can do that: the
  // in-process card, and a dmcard-vicc slot through its control socket. Other readers say so.
  virtual bool Remove(std::string& error) = 0;
  virtual bool Insert(Bytes& atr, std::string& error) = 0;
};

}  // namespace dmcard
