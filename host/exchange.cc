#include "host/exchange.h"

namespace dmcard {

namespace {

// A runaway card answering 61xx for ever must not keep the host looping.
constexpr int kMaxFollowUps = 256;

uint8_t ChannelClass(uint8_t cla) {
  // Proprietary classes (80-FF) keep their channel bits the interindustry way (ISO 7816-4
  // §5.4.1); GET RESPONSE is an interindustry command of that channel, without secure messaging
  // or chaining.
  if ((cla & 0x40) != 0) return static_cast<uint8_t>(0x40 | (cla & 0x0F));
  return static_cast<uint8_t>(cla & 0x03);
}

// Sets the Le of a short command (ISO 7816-4 §5.1 cases 1-4) to `le`; false for an extended or
// malformed one, which the caller then leaves as the card answered it.
bool WithLe(Bytes& apdu, uint8_t le) {
  if (apdu.size() == 4 || (apdu.size() > 5 && apdu[4] != 0 && apdu.size() == 5u + apdu[4])) {
    apdu.push_back(le);  // case 1 or 3: add Le
    return true;
  }
  if (apdu.size() == 5 || (apdu.size() > 5 && apdu[4] != 0 && apdu.size() == 6u + apdu[4])) {
    apdu.back() = le;  // case 2 or 4: replace Le
    return true;
  }
  return false;
}

}  // namespace

Bytes GetResponseFor(ByteView command, uint8_t le) {
  const uint8_t cla = command.empty() ? 0x00 : command[0];
  return Bytes{ChannelClass(cla), 0xC0, 0x00, 0x00, le};
}

bool TransmitFollowing(Reader& reader, ByteView command, Bytes& response, std::string& error,
                       std::vector<RawExchange>* raw) {
  response.clear();
  Bytes sent(command.begin(), command.end());
  Bytes part;
  for (int i = 0; i <= kMaxFollowUps; ++i) {
    if (!reader.Transmit(sent, part, error)) return false;
    if (raw != nullptr) raw->push_back({sent, part});
    if (part.size() < 2) {
      error = "the card answered " + std::to_string(part.size()) + " byte(s), not a status word";
      return false;
    }
    const uint8_t sw1 = part[part.size() - 2];
    const uint8_t sw2 = part[part.size() - 1];
    if (sw1 == 0x6C && i == 0 && sent.size() >= 4) {
      // Wrong Le: the same short command with Le = SW2.
      if (WithLe(sent, sw2)) continue;
    }
    response.insert(response.end(), part.begin(), part.end() - 2);
    if (sw1 != 0x61) {
      response.push_back(sw1);
      response.push_back(sw2);
      return true;
    }
    sent = GetResponseFor(command, sw2);
  }
  error = "the card kept answering 61xx after " + std::to_string(kMaxFollowUps) +
          " GET RESPONSE commands";
  return false;
}

}  // namespace dmcard
