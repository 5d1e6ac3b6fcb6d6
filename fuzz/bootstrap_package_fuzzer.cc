// Bootstrap package files (host/device_provision.h ReadBootstrapPackage), which `dmcard device
// provision --package FILE` reads and `dmcard operator bootstrap` writes: binary VERIFY BOOTSTRAP
// data, or the same in hex text with comments. Oracle: a package that reads reads the same
// again from its own command data, and from that data written as hex text.
#include <cstdint>
#include <string>

#include "fuzz_files.h"
#include "fuzz_input.h"
#include "host/device_provision.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dmcard;
  std::string error;
  const auto file = fuzz::WriteScratch("package", ByteView(data, size));
  const std::optional<BootstrapPackage> p = ReadBootstrapPackage(file, error);
  if (!p) return 0;
  std::string again_error;
  const std::optional<BootstrapPackage> again =
      DecodeBootstrapPackage(p->command_data, again_error);
  const std::string hex = "# written again\n" + ToHex(p->command_data, ' ') +
                          (fuzz::Broken("package-hex") ? "00" : "") + "\n";
  const auto hex_file = fuzz::WriteScratch(
      "package.hex", ByteView(reinterpret_cast<const uint8_t*>(hex.data()), hex.size()));
  const std::optional<BootstrapPackage> from_hex = ReadBootstrapPackage(hex_file, again_error);
  for (const auto* q : {&again, &from_hex}) {
    if (!*q || (*q)->method != p->method || (*q)->message != p->message ||
        (*q)->command_data != p->command_data) {
      fuzz::OracleViolation("bootstrap_package",
                            "a package read does not read the same again: " + again_error);
    }
  }
  return 0;
}
