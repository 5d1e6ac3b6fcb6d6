// APDU sequences against the card (all applets: the file system with its PKCS#15 view, the OMA DM
// applet, the issuer security domain), with and without an SCP03 session, with power cuts and
// restarts. The card is the demo profile with random secrets (secret_card.h). The input is a
// sequence of operations, each an operation byte and its operands:
//   op % 16   0-7  a C-APDU as given (length byte, or two when op & 80); op & 40: GET RESPONSE
//                  while the card answers 61xx, as a reader would
//             8    SELECT a known applet on channel (op >> 4) & 3: DM, FS, ISD, PKCS#15 by the
//                  next byte
//             9    VERIFY with the user PIN (the harness knows it; the input never holds it)
//             10   power cut: the card's memory fails after N more writes (N = next byte), torn
//                  when op & 10
//             11   restart: the card is taken away and made again on its memory
//             12   warm reset; 13 power off and on
//             14   open an SCP03 session to the applet selected on the basic channel: the
//                  issuer's key set (op & 10) or the DM server's, level by the next byte
//             15   a C-APDU wrapped in the open session (length byte(s) as for 0-7)
// Oracles (an oracle violation aborts with the reason):
//   - every answer of a live card ends in a status word the command reference documents
//     (apdu-specs/runtime.json "status_words");
//   - no answer (each R-APDU as sent, and under SCP03 also unwrapped) holds any secret, as bytes,
//     hex or base64 text, unless the input itself carries that secret;
//   - after a power cut, and at every restart, the card's memory reopened holds exactly the
//     records the card had committed (nothing acknowledged is lost, nothing torn is there).
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "fuzz_input.h"
#include "host/scp03_host.h"
#include "runtime/persistent_store.h"
#include "secret_card.h"

namespace {

using namespace dmcard;
using fuzz::OracleViolation;
using State = std::map<std::string, Bytes>;

const Bytes kAids[] = {
    {0xF0, 0x44, 0x4D, 0x43, 0x41, 0x52, 0x44, 0x2D, 0x44, 0x4D},              // DM
    {0xF0, 0x44, 0x4D, 0x43, 0x41, 0x52, 0x44, 0x46, 0x53},                    // FS
    {0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00},                          // ISD
    {0xA0, 0x00, 0x00, 0x00, 0x63, 0x50, 0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35},  // PKCS#15
};

State StateOf(const PersistentStore& s) {
  State m;
  for (const std::string& k : s.Keys("")) m[k] = *s.Get(k);
  return m;
}

std::string Diff(const State& want, const State& got) {
  std::string out;
  for (const auto& [k, v] : want) {
    auto it = got.find(k);
    if (it == got.end())
      out += "  lost " + k + "\n";
    else if (it->second != v)
      out += "  changed " + k + "\n";
  }
  for (const auto& [k, v] : got) {
    if (!want.contains(k)) out += "  extra " + k + "\n";
  }
  return out;
}

class Run {
 public:
  Run(const fuzz::SecretCard& secrets, bool scan_secrets)
      : secrets_(secrets), scan_secrets_(scan_secrets), memory_(secrets.FreshMemory()) {
    Start();
  }

  void Apdu(ByteView apdu, bool follow, const char* how) {
    if (!card_) return;
    selected_.clear();  // whatever it selects, the harness no longer knows
    Bytes r;
    if (!card_->Transmit(apdu, r)) {
      Died();
      return;
    }
    Check(apdu, r, how);
    for (int n = 0; follow && (SwOf(r) >> 8) == 0x61 && n < 300; ++n) {
      const Bytes get = {static_cast<uint8_t>(apdu.empty() ? 0 : apdu[0] & 0x03), 0xC0, 0x00, 0x00,
                         static_cast<uint8_t>(SwOf(r))};
      if (!card_->Transmit(get, r)) {
        Died();
        return;
      }
      Check(get, r, "GET RESPONSE");
    }
    if (card_->dead()) Died();
  }

  // Sends `apdu` and returns the whole answer (61xx followed), or nullopt when the card died.
  std::optional<Bytes> Exchange(ByteView apdu, const char* how) {
    if (!card_) return std::nullopt;
    Bytes r, all;
    if (!card_->Transmit(apdu, r)) {
      Died();
      return std::nullopt;
    }
    Check(apdu, r, how);
    all.assign(r.begin(), r.end() - 2);
    for (int n = 0; (SwOf(r) >> 8) == 0x61 && n < 300; ++n) {
      const Bytes get = {static_cast<uint8_t>(apdu[0] & 0x03), 0xC0, 0x00, 0x00,
                         static_cast<uint8_t>(SwOf(r))};
      if (!card_->Transmit(get, r)) {
        Died();
        return std::nullopt;
      }
      Check(get, r, "GET RESPONSE");
      all.insert(all.end(), r.begin(), r.end() - 2);
    }
    all.push_back(r[r.size() - 2]);
    all.push_back(r.back());
    if (card_->dead()) Died();
    return all;
  }

  void Select(uint8_t channel, const Bytes& aid) {
    Bytes apdu = {channel, 0xA4, 0x04, 0x00, static_cast<uint8_t>(aid.size())};
    apdu.insert(apdu.end(), aid.begin(), aid.end());
    apdu.push_back(0x00);
    const Bytes before = selected_;
    const std::optional<Bytes> r = Exchange(apdu, "SELECT");
    // The PKCS#15 application is a DF of the file system applet, which then serves the SCP03
    // handshake with its own AID.
    const Bytes& applet = aid == kAids[3] ? kAids[1] : aid;
    selected_ = channel != 0 ? before : r && SwOf(*r) == 0x9000 ? applet : Bytes{};
    if (channel == 0) session_.reset();
  }

  void VerifyPin() {
    const std::string& pin = secrets_.user_pin();
    Bytes apdu = {0x00, 0x20, 0x00, 0x01, static_cast<uint8_t>(pin.size())};
    apdu.insert(apdu.end(), pin.begin(), pin.end());
    Apdu(apdu, false, "VERIFY");
  }

  void CutPower(uint8_t writes, bool torn) {
    if (faulty_) faulty_->CutPowerAfter(writes, torn);
  }

  void Restart() {
    if (!card_) {
      Start();
      return;
    }
    const State committed = StateOf(card_->store());
    card_.reset();
    Reopen(committed, "a restart");
    Start();
  }

  void Reset() {
    if (card_) card_->Reset();
    session_.reset();
    selected_ = kAids[1];  // the default applet
  }
  void PowerCycle() {
    if (!card_) return;
    card_->PowerOff();
    card_->PowerOn();
    session_.reset();
    selected_ = kAids[1];
  }

  void OpenSession(bool issuer, uint8_t level_choice) {
    if (!card_) return;
    static const uint8_t kLevels[] = {0x01, 0x03, 0x11, 0x13, 0x33};
    const fuzz::KnownKeySet& set = issuer ? secrets_.issuer() : secrets_.dm_server();
    session_.emplace(set.keys);
    const uint8_t host_challenge[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const std::optional<Bytes> r =
        Exchange(session_->InitializeUpdate(set.kvn, host_challenge), "INITIALIZE UPDATE");
    if (!r || SwOf(*r) != 0x9000) {
      session_.reset();
      return;
    }
    try {
      // The pseudo-random card challenge is checked when the harness knows the applet selected.
      session_->ReadInitializeUpdateResponse(ByteView(*r).first(r->size() - 2), selected_);
    } catch (const HostScp03Error& e) {
      OracleViolation("apdu", std::string("the card's INITIALIZE UPDATE answer does not check "
                                          "with the key set it names: ") +
                                  e.what());
    }
    const std::optional<Bytes> a =
        Exchange(session_->ExternalAuthenticate(kLevels[level_choice % 5]), "EXTERNAL AUTH");
    if (!a || SwOf(*a) != 0x9000) session_.reset();
  }

  void Wrapped(ByteView plain) {
    if (!card_ || !session_ || plain.size() < 4) return;
    Bytes command(plain.begin(), plain.end());
    command[0] = static_cast<uint8_t>(command[0] & 0x80);  // basic channel, no chaining
    Bytes wire;
    try {
      wire = session_->Wrap(command);
    } catch (const HostScp03Error&) {
      return;
    }
    const std::optional<Bytes> r = Exchange(wire, "wrapped");
    if (!r) return;
    try {
      const Bytes data = session_->Unwrap(ByteView(*r).first(r->size() - 2), SwOf(*r));
      ScanForSecrets(command, data, "the unwrapped answer");
    } catch (const HostScp03Error&) {
      session_.reset();  // the card ended the session (e.g. it refused the command)
    }
  }

 private:
  static uint16_t SwOf(const Bytes& r) {
    return static_cast<uint16_t>(r[r.size() - 2] << 8 | r.back());
  }

  void Start() {
    faulty_ = std::make_shared<FaultInjectingMedium>(memory_);
    std::string error;
    card_ = secrets_.Make(faulty_, error);
    if (!card_) OracleViolation("apdu", "the card does not come back on its memory: " + error);
    card_->PowerOn();
    selected_ = kAids[1];  // the file system is the default applet
    session_.reset();
  }

  // The card lost power mid-write: what its memory holds now is what it had committed.
  void Died() {
    const State committed = StateOf(card_->store());
    card_.reset();
    Reopen(committed, "a power cut");
    Start();
  }

  void Reopen(const State& committed, const char* after) {
    PersistentStore reopened(memory_, {});
    if (!reopened.open_error().empty()) {
      OracleViolation("apdu", std::string("after ") + after +
                                  " the card's memory does not open: " + reopened.open_error());
    }
    State now = StateOf(reopened);
    if (fuzz::Broken("apdu-store") && !now.empty()) now.erase(now.begin());  // a record lost
    if (now != committed) {
      OracleViolation("apdu", std::string("after ") + after +
                                  " the card's memory differs from what it had committed:\n" +
                                  Diff(committed, now));
    }
  }

  void Check(ByteView command, const Bytes& r, const char* how) {
    if (r.size() < 2)
      OracleViolation("apdu", "an answer without a status word to " + ToHex(command));
    const uint16_t sw = fuzz::Broken("apdu-sw") ? uint16_t{0x6F01} : SwOf(r);
    if (!fuzz::DocumentedStatusWord(sw)) {
      OracleViolation("apdu", std::string(how) + " " + ToHex(command) + " answered " + ToHex(r) +
                                  ": a status word apdu-specs/runtime.json does not document");
    }
    ScanForSecrets(command, ByteView(r).first(r.size() - 2), "the answer");
  }

  void ScanForSecrets(ByteView command, ByteView data, const char* what) {
    if (!scan_secrets_) return;
    Bytes planted;
    if (fuzz::Broken("apdu-secret")) {  // the answer as if it held the PIN
      planted.assign(data.begin(), data.end());
      planted.insert(planted.end(), secrets_.user_pin().begin(), secrets_.user_pin().end());
      data = planted;
    }
    const std::string found = secrets_.scanner().Find(data);
    if (!found.empty()) {
      OracleViolation("apdu", std::string(what) + " to " + ToHex(command) +
                                  " holds a secret: " + found + "\n  data " + ToHex(data));
    }
  }

  const fuzz::SecretCard& secrets_;
  bool scan_secrets_;
  std::shared_ptr<RamMedium> memory_;
  std::shared_ptr<FaultInjectingMedium> faulty_;
  std::unique_ptr<Card> card_;
  // The AID selected on the basic channel when the harness knows it (empty when not), for the
  // SCP03 handshake's check of the pseudo-random card challenge.
  Bytes selected_;
  std::optional<HostScp03> session_;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::SecretCard::Get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fuzz::SecretCard& secrets = fuzz::SecretCard::Get();
  // An input that carries a secret itself may get it back (an echo is no leak).
  const bool scan = secrets.scanner().Find(ByteView(data, size)).empty();
  Run run(secrets, scan);
  fuzz::FuzzInput in(data, size);
  for (int ops = 0; ops < 200 && !in.empty(); ++ops) {
    const uint8_t op = in.Byte();
    switch (op % 16) {
      case 8:
        run.Select((op >> 4) & 3, kAids[in.Byte() % 4]);
        break;
      case 9:
        run.VerifyPin();
        break;
      case 10:
        run.CutPower(in.Byte(), (op & 0x10) != 0);
        break;
      case 11:
        run.Restart();
        break;
      case 12:
        run.Reset();
        break;
      case 13:
        run.PowerCycle();
        break;
      case 14:
        run.OpenSession((op & 0x10) != 0, in.Byte());
        break;
      case 15:
        run.Wrapped(in.Piece((op & 0x80) != 0));
        break;
      default:
        run.Apdu(in.Piece((op & 0x80) != 0), (op & 0x40) != 0, "");
    }
  }
  return 0;
}
