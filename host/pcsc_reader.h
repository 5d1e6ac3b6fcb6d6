// Readers of the PC/SC stack (libpcsclite): a dmcard card behind vpcd, or any real card in any
// reader. Every SCard call goes through one checked wrapper that turns its return code into a
// message saying what failed and what to do (pcscd not running, no such reader, no card...).
//
// Removal and insertion work for a dmcard-vicc slot: the reader asks dmcard-vicc through its
// control socket (docs/vpcd-bridge.md), which drops or restores the card's vpcd connection, as
// pulling a card out of a real reader would. Other readers say they cannot.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/reader.h"

namespace dmcard {

// The names of the readers pcscd knows, in its order; nullopt with `error` set when pcscd cannot
// be asked.
std::optional<std::vector<std::string>> ListPcscReaders(std::string& error);

// Where a reader's dmcard-vicc is reached for removal and insertion: its control socket and the
// slot number. Found from the reader's name through the vpcd entries of /etc/reader.conf.d
// (host/reader_conf.h) when not given.
struct ViccControl {
  std::string socket;
  int slot = 0;
};
std::optional<ViccControl> ViccControlFor(const std::string& reader_name);

class PcscReader final : public Reader {
 public:
  // `which`: a reader name, or its index in ListPcscReaders() order. `exclusive`: connect
  // with SCARD_SHARE_EXCLUSIVE (no other application may talk to the card meanwhile).
  static std::unique_ptr<PcscReader> Open(const std::string& which, bool exclusive,
                                          std::string& error);
  ~PcscReader() override;
  PcscReader(const PcscReader&) = delete;
  PcscReader& operator=(const PcscReader&) = delete;

  std::string name() const override { return name_; }
  bool Connect(Bytes& atr, std::string& error) override;
  bool Transmit(ByteView command, Bytes& response, std::string& error) override;
  bool Reset(Bytes& atr, std::string& error) override;
  bool PowerOff(std::string& error) override;
  bool PowerOn(Bytes& atr, std::string& error) override;
  bool Remove(std::string& error) override;
  bool Insert(Bytes& atr, std::string& error) override;

  // "T=0" or "T=1" once connected.
  std::string protocol() const;
  void set_control(std::optional<ViccControl> control) { control_ = std::move(control); }

 private:
  PcscReader(long context, std::string name, bool exclusive)
      : context_(context), name_(std::move(name)), exclusive_(exclusive) {}
  bool Status(Bytes& atr, std::string& error);
  bool WaitForCard(bool present, std::string& error);

  long context_;
  long card_ = 0;
  bool connected_ = false;
  unsigned long protocol_ = 0;
  std::string name_;
  bool exclusive_;
  std::optional<ViccControl> control_;
};

}  // namespace dmcard
