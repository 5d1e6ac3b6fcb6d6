// The reference handset's provisioning flow (host/device_provision.h ProvisionDevice) against a
// card whose every answer comes from the input, with the device tree file and the bootstrap
// package file from the input too: what it decodes from a card (the DM applet's descriptor,
// EF.ODF, EF.DODF, EF(DM_Bootstrap) as a bootstrap message, TNDS XML or TNDS WBXML; VERIFY
// BOOTSTRAP's answer), the device tree file it merges into, and package files.
// Input: a flags byte (1: a device tree file exists, 2: a package is given, 4: the user says
// yes, 8: the user types digits), the tree file and the package (two-byte lengths), then the
// card's answers in order (two-byte lengths; the card answers 6A82 once they run out).
// Oracles: the flow never leaves the device tree file changed unless it provisioned (false,
// declined or nothing to provision: the file is as it was); a tree file it wrote is XML that it
// reads again.
#include <pugixml.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "fuzz_files.h"
#include "fuzz_input.h"
#include "host/device_provision.h"
#include "host/reader.h"

namespace {

using namespace dmcard;

class ScriptedCard final : public Reader {
 public:
  explicit ScriptedCard(fuzz::FuzzInput& in) : in_(in) {}
  std::string name() const override { return "scripted card"; }
  bool Connect(Bytes& atr, std::string&) override {
    atr = {0x3B, 0x80, 0x80, 0x01, 0x01};
    return true;
  }
  bool Transmit(ByteView, Bytes& response, std::string&) override {
    const ByteView r = in_.Piece(/*wide=*/true);
    response.assign(r.begin(), r.end());
    if (response.size() < 2) response = {0x6A, 0x82};
    return true;
  }
  bool Reset(Bytes& atr, std::string& e) override { return Connect(atr, e); }
  bool PowerOff(std::string&) override { return true; }
  bool PowerOn(Bytes& atr, std::string& e) override { return Connect(atr, e); }
  bool Remove(std::string&) override { return true; }
  bool Insert(Bytes& atr, std::string& e) override { return Connect(atr, e); }

 private:
  fuzz::FuzzInput& in_;
};

class ScriptedUser final : public UserPrompt {
 public:
  ScriptedUser(bool yes, bool digits) : yes_(yes), digits_(digits) {}
  std::optional<bool> Confirm(const std::string&, std::string&) override { return yes_; }
  std::optional<std::string> AskDigits(const std::string&, std::string& error) override {
    if (digits_) return std::string("1234");
    error = "nobody types";
    return std::nullopt;
  }

 private:
  bool yes_, digits_;
};

std::optional<std::string> Content(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  const uint8_t flags = in.Byte();
  const ByteView tree = in.Piece(/*wide=*/true);
  const ByteView package = in.Piece(/*wide=*/true);
  ProvisionOptions options;
  options.tree_file = fuzz::ScratchDir() / "device-tree.xml";
  std::filesystem::remove(options.tree_file);
  if (flags & 1) fuzz::WriteScratch("device-tree.xml", tree);
  if (flags & 2) options.package = fuzz::WriteScratch("package.hex", package);
  const std::optional<std::string> before = Content(options.tree_file);

  ScriptedCard card(in);
  ScriptedUser user((flags & 4) != 0, (flags & 8) != 0);
  ProvisionReport report;
  std::string error;
  const bool ok = ProvisionDevice(card, options, user, report, error);
  if (fuzz::Broken("provision-unchanged")) fuzz::WriteScratch("device-tree.xml", Bytes{'x'});
  const std::optional<std::string> after = Content(options.tree_file);
  const bool provisioned = ok && report.outcome == ProvisionOutcome::kProvisioned;
  if (!provisioned && after != before) {
    fuzz::OracleViolation(
        "device_provision",
        "the device tree file changed though the flow did not provision (" + error + ")");
  }
  if (provisioned && report.tree_written) {
    pugi::xml_document doc;
    if (!after || !doc.load_string(after->c_str())) {
      fuzz::OracleViolation("device_provision", "the device tree file written is not XML");
    }
  }
  return 0;
}
