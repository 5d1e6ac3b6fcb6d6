// The reference handset's side of smart-card provisioning (`dmcard device provision`): what a
// device does with a DM card inserted, for the use cases UC511 (new device), UC512 (used device:
// the card's configuration overrides what the device held, the user's preferences are kept) and
// UC-CR (a bootstrap package the network signed, checked by the card).
//
//   1. SELECT the DM applet and read its descriptor (SC7, DEV1): is there provisioning data,
//      must the user confirm (USA1), must the device connect on its own (USA3)?
//   2. The data. Without a package: EF(DM_Bootstrap) of the card's PKCS#15 application, read as
//      handsets read it (reference-facts.md §1: the PKCS#15 application by AID, EF.ODF, EF.DODF,
//      the data object whose OID is 2.23.43.7.1): the OMA DM bootstrap message (SyncML DM 1.2
//      WBXML, the card's default), TNDS XML or TNDS WBXML. With a package (UC-CR): the
//      VERIFY BOOTSTRAP command data the network sent; the card verifies it (P1 00) and says
//      which flags apply; the device reads the OMA DM bootstrap message itself.
//   3. USA1: the user is asked (UserPrompt) before anything is written.
//   4. DEV4: the data goes into the device's DM tree, a TNDS XML file (rules below), written
//      atomically (a temporary file, fsync, rename): on any error the old file stays as it was.
//   5. USA3: the DM server's address the device connects to.
//
// The device tree file (TNDS XML, <MgmtTree>, OMA-TS-DM_TNDS 1.2 as dm/tnds.h reads it):
//   - created when missing (<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD>...);
//   - provisioned subtrees are replaced wholesale: each DM account ./DMAcc/<name> and each
//     connectivity object ./Con/<kind>/<name> (ConnMO NAP, Proxy, ...) the data holds. Whatever the
//     device held under them (a mis-configured ServerID, an address, stray nodes) is gone;
//   - every other node the data names (./DMAcc and ./Con themselves, nodes outside those
//     objects) is created or has its value and properties set to the data's; its other children
//     are kept;
//   - user preferences are every node outside those subtrees (e.g. ./Vendor/.../UserPrefs, a
//     device's own settings): never touched, comments included;
//   - secret leaves the card does not give out (AAuthSecret, AAuthData) are written without a
//     value: the card keeps them and authenticates the device itself (DEV3, OMA DM CREDENTIAL);
//   - written only when something changed; the file's mode is kept (0600 for a new file).
//
// Never throws: failures are false with `error` set, and the report says how far it got.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dm/bootstrap.h"
#include "host/dm_session.h"
#include "host/reader.h"
#include "runtime/bytes.h"

namespace dmcard {

// The network's bootstrap package (UC-CR): the VERIFY BOOTSTRAP command data of
// apdu-specs/dm.json, 80 method | 81 message | 82 MAC | [84 sequence] | [85 KVN], without 83 (the
// digits the user types: the device adds them). As a file: either those bytes as they are
// (binary: the first byte is 80), or the same bytes in hex text (whitespace and line breaks
// anywhere, '#' starts a comment to the end of the line), as `dmcard operator bootstrap` writes
// the proof's command data.
struct BootstrapPackage {
  dm::BootstrapMethod method = dm::BootstrapMethod::kNetwPin;
  Bytes message;       // 81: the OMA DM bootstrap message (SyncML DM 1.2 WBXML)
  Bytes command_data;  // the whole TLV data, as the card gets it (without 83)
};
std::optional<BootstrapPackage> DecodeBootstrapPackage(ByteView data, std::string& error);
std::optional<BootstrapPackage> ReadBootstrapPackage(const std::filesystem::path& file,
                                                     std::string& error);
// Whether the user types something for `method` (USERPIN, USERNETWPIN, USERPINMAC).
bool MethodNeedsUserDigits(dm::BootstrapMethod method);

// Whom the device asks (USA1, and the PIN of the USERPIN methods).
class UserPrompt {
 public:
  virtual ~UserPrompt() = default;
  // The user's yes or no to `question`; nullopt with `error` when nobody can be asked.
  virtual std::optional<bool> Confirm(const std::string& question, std::string& error) = 0;
  // What the user types for `question` (a PIN, digits); nullopt with `error` when nobody can be
  // asked or the user gave up.
  virtual std::optional<std::string> AskDigits(const std::string& question, std::string& error) = 0;
};

// The command line's prompt: answers given in advance (`--yes`/`--no`, `--pin`) are used without
// asking; otherwise the question goes to `out` and the answer comes from `in` when `terminal`
// (y/yes or n/no, asked again otherwise), and without a terminal the prompt refuses with a
// message saying which option to pass.
class ConsolePrompt final : public UserPrompt {
 public:
  struct Answers {
    std::optional<bool> confirm;     // --yes (true) or --no (false)
    std::optional<std::string> pin;  // --pin
  };
  ConsolePrompt(std::istream& in, std::ostream& out, bool terminal, Answers answers)
      : in_(in), out_(out), terminal_(terminal), answers_(std::move(answers)) {}

  std::optional<bool> Confirm(const std::string& question, std::string& error) override;
  std::optional<std::string> AskDigits(const std::string& question, std::string& error) override;

 private:
  std::istream& in_;
  std::ostream& out_;
  bool terminal_;
  Answers answers_;
};

struct ProvisionOptions {
  std::filesystem::path tree_file = "device-tree.xml";  // the device's DM tree (TNDS XML)
  std::filesystem::path package;  // UC-CR: a bootstrap package file; empty: the card's own data
};

// How the flow ended.
enum class ProvisionOutcome {
  kFailed,              // something failed before the end: see `error`
  kNoProvisioningData,  // UC511a: the card holds no DM account; nothing written
  kProvisioned,         // the data is in the device tree (or already was: no change)
  kDeclined,            // USA1: the user said no; nothing written
  kCardRefused,         // the card refused the package (63Cx, 6983, 6985, 6A88, ...)
};

// One node of the device tree that the provisioning changed.
struct TreeChange {
  enum class Kind { kAdded, kChanged, kRemoved };
  Kind kind = Kind::kAdded;
  std::string uri;
};

// Where the device connects (USA3): a DM account's server and address.
struct DmsAddress {
  std::string account;    // ./DMAcc/<name>
  std::string server_id;  // its ServerID
  std::string address;    // AppAddr/<x>/Addr (DM 1.2), else Addr (DM 1.1) or ServerURI
  std::string port;       // AppAddr/<x>/Port/<y>/PortNbr, when there is one
};

// What was found and done, for the user.
struct ProvisionReport {
  ProvisionOutcome outcome = ProvisionOutcome::kFailed;
  std::optional<DmDescriptor> descriptor;
  std::string source;                         // where the data came from, in words
  std::optional<dm::BootstrapMethod> method;  // UC-CR: the package's method
  uint8_t card_flags = 0;                 // the flags that applied (descriptor or VERIFY answer)
  uint16_t card_sw = 0;                   // the card's refusal, for kCardRefused
  std::vector<std::string> accounts;      // the DM accounts in the data (./DMAcc/<name>)
  std::vector<std::string> replaced;      // provisioned subtrees the device held otherwise
  std::vector<std::string> kept_on_card;  // secret leaves written without a value
  bool user_asked = false;                // USA1 asked
  bool tree_created = false;              // the device tree file did not exist
  bool tree_written = false;              // false when nothing changed (or nothing was done)
  std::vector<TreeChange> changes;        // nodes added, changed or removed, in tree order
  bool autoconnect = false;               // USA3
  std::vector<DmsAddress> connect_to;     // the accounts' servers (when autoconnect)
};

// The whole flow on `reader`'s card (see above). True when it ended as the user and the card
// decided (provisioned, nothing to provision, declined): `report.outcome` says which. False with
// `error` when the card refused the package, a file cannot be read or written, the reader fails,
// or nobody can answer the card's USA1 question; the device tree file is then unchanged.
bool ProvisionDevice(Reader& reader, const ProvisionOptions& options, UserPrompt& prompt,
                     ProvisionReport& report, std::string& error);

// What the card's refusal of VERIFY BOOTSTRAP means for the user.
std::string BootstrapRefusalText(uint16_t sw);

}  // namespace dmcard
