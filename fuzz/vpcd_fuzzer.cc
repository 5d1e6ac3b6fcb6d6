// vpcd's framing as dmcard-vicc reads it (vpcd-bridge/vpcd_link.h VpcdFrameReader): the input is
// the byte stream vpcd sends, cut into the pieces the socket delivers (sizes from the first
// bytes); each frame goes where the bridge sends it (1-byte control frames 00 power off, 01 power
// on, 02 reset, 04 GET ATR; anything else a C-APDU to the card) along the bridge's per-APDU path
// with -v and --record: the command reference's name (host/command_namer.h), the card's own
// account, its secrecy and the recorded line. Oracles:
//   - the frames do not depend on how the stream was cut: in pieces, the reader hands out
//     exactly the frames it hands out for the stream in one piece;
//   - every answer fits a vpcd frame (Framable) and ends in a documented status word.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_input.h"
#include "host/command_namer.h"
#include "host/trace.h"
#include "secret_card.h"
#include "vpcd-bridge/vpcd_link.h"

namespace {

using namespace dmcard;

std::vector<Bytes> Frames(vicc::VpcdFrameReader& reader) {
  std::vector<Bytes> out;
  ByteView payload;
  bool more = false;
  while (reader.Next(payload, more)) out.emplace_back(payload.begin(), payload.end());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::SecretCard::Get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using fuzz::OracleViolation;
  fuzz::FuzzInput in(data, size);
  uint8_t cuts[4];
  for (uint8_t& c : cuts) c = in.Byte();
  const ByteView stream = in.Rest();

  vicc::VpcdFrameReader whole;
  whole.Feed(stream);
  const std::vector<Bytes> expected = Frames(whole);

  const fuzz::SecretCard& secrets = fuzz::SecretCard::Get();
  std::string error;
  std::unique_ptr<Card> card = secrets.Make(secrets.FreshMemory(), error);
  if (!card) OracleViolation("vpcd", error);
  CommandNamer namer(BuiltInApduSpecs(), DmcardApplets(), kDmcardDefaultApplet);
  std::vector<Bytes> got;
  vicc::VpcdFrameReader reader;
  size_t at = 0;
  for (size_t k = 0; at < stream.size(); ++k) {
    const size_t n = std::min<size_t>(stream.size() - at, 1 + cuts[k % 4] % 64);
    reader.Feed(stream.subspan(at, fuzz::Broken("vpcd-frames") && n > 1 ? n - 1 : n));
    at += n;
    ByteView payload;
    bool more = false;
    while (reader.Next(payload, more)) {
      got.emplace_back(payload.begin(), payload.end());
      if (payload.size() == 1 && payload[0] <= 0x04 && payload[0] != 0x03) {
        switch (payload[0]) {
          case 0x00:
            card->PowerOff();
            break;
          case 0x01:
            card->PowerOn();
            break;
          case 0x02:
            card->Reset();
            break;
          default:
            break;  // GET ATR
        }
        namer.Reset();
        continue;
      }
      namer.Name(payload).Describe();
      card->DescribeCommand(payload);
      const bool secret = card->CommandCarriesSecrets(payload);
      Bytes response;
      if (!card->Transmit(payload, response)) response = {0x69, 0x85};  // unpowered, as RuntimeCard
      namer.Observe(payload, response);
      TraceWriter::CommandLine(payload, secret);
      const ByteView sent = vicc::Framable(response);
      if (sent.size() > 0xFFFF || sent.size() < 2) OracleViolation("vpcd", "unframable answer");
      const uint16_t sw = static_cast<uint16_t>(sent[sent.size() - 2] << 8 | sent.back());
      if (!fuzz::DocumentedStatusWord(sw)) {
        OracleViolation("vpcd",
                        ToHex(payload) + " answered with undocumented " + ToHex(sent.last(2)));
      }
    }
  }
  if (got != expected) {
    OracleViolation("vpcd",
                    "the frames depend on how the stream was cut: " + std::to_string(got.size()) +
                        " frames instead of " + std::to_string(expected.size()));
  }
  return 0;
}
