// The OMA DM bootstrap message decoder (dm/bootstrap_message.h), which reads what a network
// sends (VERIFY BOOTSTRAP's message, EF(DM_Bootstrap) on the device side). The first input byte
// picks the form: the message as received (WBXML), or a TNDS document the operator's tool
// (host/operator.h BuildBootstrapMessage, `dmcard operator bootstrap --tnds FILE`) wraps into a
// message. Oracle for the second: the message the tool builds from a TNDS document the reader
// accepts decodes to that document's nodes.
#include <cstdint>
#include <string>

#include "dm/bootstrap_message.h"
#include "dm/tnds.h"
#include "fuzz_input.h"
#include "host/operator.h"

namespace {

std::string Uris(const std::vector<dmcard::dm::Node>& nodes) {
  std::string s;
  for (const auto& n : nodes) s += n.uri + "=" + dmcard::ToHex(n.value) + "\n";
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dmcard;
  if (size < 1) return 0;
  const ByteView body(data + 1, size - 1);
  std::string error;
  if ((data[0] & 1) == 0) {
    dm::DecodeBootstrapMessage(body, error);
    return 0;
  }
  const dm::TndsDocument doc = dm::ParseTndsXml(fuzz::Text(body));
  if (!doc.error.empty()) return 0;
  const std::optional<Bytes> message = BuildBootstrapMessage(body, BootstrapHeader{}, error);
  if (!message) return 0;  // the tool refuses what it cannot embed, with a message
  const auto changes = dm::DecodeBootstrapMessage(*message, error);
  if (!changes) {
    fuzz::OracleViolation("bootstrap_message",
                          "a message the operator tool built does not decode: " + error);
  }
  std::vector<dm::Node> nodes;
  for (const auto& c : *changes) nodes.insert(nodes.end(), c.nodes.begin(), c.nodes.end());
  if (fuzz::Broken("bootstrap-roundtrip") && !nodes.empty()) nodes.pop_back();
  if (Uris(nodes) != Uris(doc.nodes)) {
    fuzz::OracleViolation("bootstrap_message", "the built message decodes to other nodes:\n" +
                                                   Uris(doc.nodes) + "---\n" + Uris(nodes));
  }
  return 0;
}
