#include "host/pcsc_reader.h"

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "host/reader_conf.h"
#include "host/vicc_control.h"

namespace dmcard {

namespace {

static_assert(sizeof(SCARDCONTEXT) == sizeof(long) && sizeof(SCARDHANDLE) == sizeof(long));

// What the user should do about a PC/SC failure, beyond pcsc-lite's own words.
const char* Advice(LONG rv) {
  switch (rv) {
    case SCARD_E_NO_SERVICE:
    case SCARD_E_SERVICE_STOPPED:
      return "pcscd is not running: start it (scripts/run.sh starts pcscd and a dmcard card), "
             "or use --direct for the in-process card";
    case SCARD_E_NO_READERS_AVAILABLE:
      return "pcscd has no readers: start a card (scripts/run.sh) or plug a reader in, or use "
             "--direct for the in-process card";
    case SCARD_E_UNKNOWN_READER:
      return "no reader of that name: 'dmcard readers' lists them";
    case SCARD_E_NO_SMARTCARD:
    case SCARD_W_REMOVED_CARD:
      return "no card in the reader: insert one (for dmcard-vicc: is it running, and its card "
             "inserted? 'dmcard-vicc ctl status')";
    case SCARD_E_SHARING_VIOLATION:
      return "another application holds the card exclusively: close it and try again";
    case SCARD_W_RESET_CARD:
      return "another application reset the card: its selections and sessions are gone; "
             "start again";
    case SCARD_W_UNRESPONSIVE_CARD:
    case SCARD_W_UNPOWERED_CARD:
      return "the card does not answer: remove and insert it";
    default:
      return "";
  }
}

// The checked wrapper every SCard call goes through: true on success, else `error` says which
// call failed, pcsc-lite's meaning of the code, and what to do.
bool Ok(LONG rv, const std::string& call, std::string& error) {
  if (rv == SCARD_S_SUCCESS) return true;
  char code[24];
  std::snprintf(code, sizeof code, "0x%08lX", static_cast<unsigned long>(rv));
  error = call + " failed: " + pcsc_stringify_error(rv) + " (" + code + ")";
  if (const char* advice = Advice(rv); *advice != '\0') error += ". " + std::string(advice);
  return false;
}

}  // namespace

std::optional<std::vector<std::string>> ListPcscReaders(std::string& error) {
  SCARDCONTEXT ctx = 0;
  if (!Ok(SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx),
          "SCardEstablishContext", error)) {
    return std::nullopt;
  }
  std::vector<std::string> names;
  DWORD len = 0;
  LONG rv = SCardListReaders(ctx, nullptr, nullptr, &len);
  if (rv == SCARD_S_SUCCESS) {
    std::string buf(len, '\0');
    rv = SCardListReaders(ctx, nullptr, buf.data(), &len);
    for (size_t i = 0; rv == SCARD_S_SUCCESS && i < buf.size() && buf[i] != '\0';) {
      const std::string name(buf.c_str() + i);
      names.push_back(name);
      i += name.size() + 1;
    }
  }
  SCardReleaseContext(ctx);
  if (rv == SCARD_E_NO_READERS_AVAILABLE) return names;
  if (!Ok(rv, "SCardListReaders", error)) return std::nullopt;
  return names;
}

std::optional<ViccControl> ViccControlFor(const std::string& reader_name) {
  const vicc::ReaderConf conf = vicc::LoadReaderConf(vicc::DefaultReaderConfDir());
  for (const vicc::VpcdEntry& e : conf.entries) {
    for (int slot = 0; slot < vicc::kVpcdSlotsPerEntry; ++slot) {
      const uint16_t port = static_cast<uint16_t>(e.port + slot);
      const vicc::ReaderLookup found = vicc::LookUpReader(conf, port, !e.host.empty());
      if (found.name && *found.name == reader_name) {
        // dmcard-vicc's control socket is named after its first port; the slot counts from it.
        // A dmcard-vicc started on the entry's base port serves both of its slots.
        ViccControl c;
        c.socket = vicc::DefaultControlPath(e.port);
        c.slot = slot;
        if (::access(c.socket.c_str(), F_OK) != 0) {
          c.socket = vicc::DefaultControlPath(port);
          c.slot = 0;
        }
        return c;
      }
    }
  }
  return std::nullopt;
}

std::unique_ptr<PcscReader> PcscReader::Open(const std::string& which, bool exclusive,
                                             std::string& error) {
  auto names = ListPcscReaders(error);
  if (!names) return nullptr;
  std::string name;
  for (const std::string& n : *names) {
    if (n == which) name = n;
  }
  if (name.empty() && !which.empty() &&
      which.find_first_not_of("0123456789") == std::string::npos) {
    const unsigned long index = std::strtoul(which.c_str(), nullptr, 10);
    if (index < names->size()) name = (*names)[index];
  }
  if (name.empty()) {
    error = names->empty()
                ? "no reader '" + which + "': pcscd has no readers (start a card " +
                      "with scripts/run.sh, or use --direct for the in-process card)"
                : "no reader '" + which + "': 'dmcard readers' lists the " +
                      std::to_string(names->size()) + " there are (give a name or an index)";
    return nullptr;
  }
  SCARDCONTEXT ctx = 0;
  if (!Ok(SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx),
          "SCardEstablishContext", error)) {
    return nullptr;
  }
  std::unique_ptr<PcscReader> reader(new PcscReader(ctx, name, exclusive));
  reader->control_ = ViccControlFor(name);
  return reader;
}

PcscReader::~PcscReader() {
  if (connected_) SCardDisconnect(card_, SCARD_LEAVE_CARD);
  SCardReleaseContext(context_);
}

std::string PcscReader::protocol() const {
  return protocol_ == SCARD_PROTOCOL_T0 ? "T=0" : protocol_ == SCARD_PROTOCOL_T1 ? "T=1" : "";
}

bool PcscReader::Status(Bytes& atr, std::string& error) {
  BYTE buf[MAX_ATR_SIZE];
  DWORD atr_len = sizeof buf;
  DWORD state = 0;
  DWORD proto = 0;
  DWORD name_len = 0;
  if (!Ok(SCardStatus(card_, nullptr, &name_len, &state, &proto, buf, &atr_len), "SCardStatus",
          error)) {
    return false;
  }
  atr.assign(buf, buf + atr_len);
  return true;
}

bool PcscReader::Connect(Bytes& atr, std::string& error) {
  if (connected_) return Status(atr, error);
  DWORD proto = 0;
  SCARDHANDLE h = 0;
  if (!Ok(SCardConnect(context_, name_.c_str(),
                       exclusive_ ? SCARD_SHARE_EXCLUSIVE : SCARD_SHARE_SHARED,
                       SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &proto),
          "SCardConnect(\"" + name_ + "\")", error)) {
    return false;
  }
  card_ = h;
  protocol_ = proto;
  connected_ = true;
  return Status(atr, error);
}

bool PcscReader::Transmit(ByteView command, Bytes& response, std::string& error) {
  if (!connected_) {
    Bytes atr;
    if (!Connect(atr, error)) return false;
  }
  const SCARD_IO_REQUEST* pci = protocol_ == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
  response.assign(65536 + 2, 0);
  DWORD len = static_cast<DWORD>(response.size());
  const LONG rv = SCardTransmit(card_, pci, command.data(), static_cast<DWORD>(command.size()),
                                nullptr, response.data(), &len);
  if (!Ok(rv, "SCardTransmit", error)) {
    response.clear();
    if (rv == SCARD_W_REMOVED_CARD || rv == SCARD_E_NO_SMARTCARD || rv == SCARD_W_RESET_CARD) {
      SCardDisconnect(card_, SCARD_LEAVE_CARD);
      connected_ = false;
    }
    return false;
  }
  response.resize(len);
  return true;
}

bool PcscReader::Reset(Bytes& atr, std::string& error) {
  if (!connected_) return Connect(atr, error);
  DWORD proto = 0;
  if (!Ok(SCardReconnect(card_, exclusive_ ? SCARD_SHARE_EXCLUSIVE : SCARD_SHARE_SHARED,
                         SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, SCARD_RESET_CARD, &proto),
          "SCardReconnect(reset)", error)) {
    return false;
  }
  protocol_ = proto;
  return Status(atr, error);
}

bool PcscReader::PowerOff(std::string& error) {
  if (!connected_) {
    Bytes atr;
    if (!Connect(atr, error)) return false;
  }
  connected_ = false;
  return Ok(SCardDisconnect(card_, SCARD_UNPOWER_CARD), "SCardDisconnect(unpower)", error);
}

bool PcscReader::PowerOn(Bytes& atr, std::string& error) { return Connect(atr, error); }

bool PcscReader::WaitForCard(bool present, std::string& error) {
  SCARD_READERSTATE rs{};
  rs.szReader = name_.c_str();
  rs.dwCurrentState = SCARD_STATE_UNAWARE;
  // pcscd polls vpcd every 0.4 s; a few seconds is plenty.
  for (int i = 0; i < 50; ++i) {
    if (!Ok(SCardGetStatusChange(context_, 200, &rs, 1), "SCardGetStatusChange", error) &&
        error.find("0x8010000A") == std::string::npos) {  // SCARD_E_TIMEOUT
      return false;
    }
    const bool has = (rs.dwEventState & SCARD_STATE_PRESENT) != 0;
    if (has == present) return true;
    rs.dwCurrentState = rs.dwEventState;
  }
  error = std::string("the card did not ") + (present ? "appear" : "disappear") + " in " + name_ +
          " within 10 s";
  return false;
}

bool PcscReader::Remove(std::string& error) {
  if (!control_) {
    error = "cannot remove the card of '" + name_ +
            "': only a dmcard-vicc card can be removed by software (or use --direct)";
    return false;
  }
  std::string answer;
  if (!vicc::SendViccControl(control_->socket, "remove " + std::to_string(control_->slot), answer,
                             error)) {
    return false;
  }
  if (connected_) SCardDisconnect(card_, SCARD_LEAVE_CARD);
  connected_ = false;
  return WaitForCard(false, error);
}

bool PcscReader::Insert(Bytes& atr, std::string& error) {
  if (!control_) {
    error = "cannot insert the card of '" + name_ +
            "': only a dmcard-vicc card can be inserted by software (or use --direct)";
    return false;
  }
  std::string answer;
  if (!vicc::SendViccControl(control_->socket, "insert " + std::to_string(control_->slot), answer,
                             error)) {
    return false;
  }
  return WaitForCard(true, error) && Connect(atr, error);
}

}  // namespace dmcard
