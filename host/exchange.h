// One exchange as a terminal does it: the card's "more data" answers followed automatically.
// 61xx: GET RESPONSE (ISO 7816-4 §7.6.1) for xx bytes, repeated while the card has more;
// 6Cxx: the same command again with Le = xx (wrong length; T=0 cards say it so).
// Each raw exchange is kept so a caller can show what was really sent.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "host/reader.h"

namespace dmcard {

struct RawExchange {
  Bytes command;
  Bytes response;
};

// The GET RESPONSE command for the logical channel of `command`'s CLA, asking for `le` bytes.
Bytes GetResponseFor(ByteView command, uint8_t le);

// Sends `command` and follows 61xx and 6Cxx; `response` is the data of every part followed by the
// last status word. False with `error` when the reader fails.
bool TransmitFollowing(Reader& reader, ByteView command, Bytes& response, std::string& error,
                       std::vector<RawExchange>* raw = nullptr);

}  // namespace dmcard
