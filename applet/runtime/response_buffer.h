// The response side of the transmit path for one logical channel: an applet's answer shaped by
// Ne and the protocol (ISO 7816-3 §10.3 for T=0, ISO 7816-4 §5.3.4 for 61xx/6Cxx), and the data
// not yet returned, kept for GET RESPONSE (ISO 7816-4 §11.6.1).
#pragma once

#include <cstddef>

#include "runtime/apdu.h"
#include "runtime/bytes.h"
#include "runtime/card_config.h"
#include "runtime/sw.h"

namespace dmcard {

// Appends the two status bytes.
inline void AppendSw(Bytes& out, Sw sw) { AppendU16(out, ToU16(sw)); }

// Response data of one channel waiting for GET RESPONSE, and the rules that put it there. No
// R-APDU carries more than config.max_response_data bytes of data (1 or more). When more than
// 255 bytes remain, 61xx is 6100 ("256 or more", ISO 7816-4 §5.3.4): the client fetches with
// Le 00 (256 bytes at a time) or an extended Le (up to max_response_data at a time).
class ResponseBuffer {
 public:
  // Writes to `out` the R-APDU for an applet's answer (`sw`, response data `data`) to `cmd`.
  // Data not returned now is kept for GET RESPONSE: `data` is swapped with the buffer's storage
  // (so the caller gets a recycled buffer back). Replaces whatever was pending.
  void Answer(const CardConfig& config, const CommandApdu& cmd, Sw sw, Bytes& data, Bytes& out);
  // ISO 7816-4 §11.6.1 GET RESPONSE: the next part of the pending data, or an error (6985 when
  // nothing is pending, 6A86 for P1-P2 other than 0000, which also drops the pending data).
  void GetResponse(const CardConfig& config, const CommandApdu& cmd, Bytes& out);
  // Forgets the pending data (another command on the channel, channel closed, reset).
  void Drop() { active_ = false; }
  bool pending() const { return active_; }

 private:
  // Keeps data_[from..] and answers 61xx with what remains.
  void Keep(size_t from, Bytes& out);

  bool active_ = false;
  Bytes data_;
  size_t offset_ = 0;      // next byte GET RESPONSE returns
  Sw final_sw_ = Sw::kOk;  // the applet's status word, answered with the last part
};

}  // namespace dmcard
