#include "runtime/response_buffer.h"

#include <algorithm>

namespace dmcard {

namespace {
// Data bytes one R-APDU may carry: the configured limit, within ISO's 1..65536 for Ne.
size_t MaxData(const CardConfig& config) {
  return std::clamp<size_t>(config.max_response_data, 1, 65536);
}
}  // namespace

void ResponseBuffer::Keep(size_t from, Bytes& out) {
  active_ = true;
  offset_ = from;
  AppendSw(out, MoreData(static_cast<uint32_t>(data_.size() - from)));
}

// Response shaping (ISO 7816-3 §10.3 for T=0, ISO 7816-4 §5.3.4 for 61xx/6Cxx).
void ResponseBuffer::Answer(const CardConfig& config, const CommandApdu& cmd, Sw sw, Bytes& data,
                            Bytes& out) {
  active_ = false;
  out.clear();
  if (!IsSuccessOrWarning(sw) || data.empty()) {
    AppendSw(out, sw);
    return;
  }
  const size_t na = data.size();
  // Le absent (case 1/3) under T=1: the data is returned as for Le = 00, as Java Card and most
  // T=1 cards do; under T=0 it is announced with 61xx.
  const size_t ne = cmd.ne == 0 && config.protocol == Protocol::kT1 ? 256 : cmd.ne;
  const bool t0_case4 = config.protocol == Protocol::kT0 && !cmd.data.empty();
  if (ne == 0 || t0_case4) {
    // T=0 without Le, or T=0 case 4: announce the data, to be fetched with GET RESPONSE.
    data_.swap(data);
    final_sw_ = sw;
    Keep(0, out);
    return;
  }
  // No more than the transport carries in one R-APDU; the rest through 61xx as for Na > Ne.
  const size_t now = std::min(ne, MaxData(config));
  if (na > now) {
    out.assign(data.begin(), data.begin() + static_cast<ptrdiff_t>(now));
    data_.swap(data);
    final_sw_ = sw;
    Keep(now, out);
    return;
  }
  if (na < ne && config.protocol == Protocol::kT0) {
    AppendSw(out, WrongLe(static_cast<uint32_t>(na)));  // T=0: resend with P3 = Na
    return;
  }
  out.assign(data.begin(), data.end());
  AppendSw(out, sw);
}

// ISO 7816-4 §11.6.1 GET RESPONSE.
void ResponseBuffer::GetResponse(const CardConfig& config, const CommandApdu& cmd, Bytes& out) {
  out.clear();
  if (cmd.p1 != 0 || cmd.p2 != 0) {
    active_ = false;
    AppendSw(out, Sw::kIncorrectP1P2);
    return;
  }
  if (!active_) {
    AppendSw(out, Sw::kConditionsNotSatisfied);
    return;
  }
  const size_t remaining = data_.size() - offset_;
  const size_t ne = cmd.ne == 0 ? 256 : cmd.ne;
  if (ne > remaining && config.protocol == Protocol::kT0) {
    AppendSw(out, WrongLe(static_cast<uint32_t>(remaining)));
    return;
  }
  const size_t n = std::min({ne, remaining, MaxData(config)});
  auto first = data_.begin() + static_cast<ptrdiff_t>(offset_);
  out.assign(first, first + static_cast<ptrdiff_t>(n));
  offset_ += n;
  if (offset_ < data_.size()) {
    AppendSw(out, MoreData(static_cast<uint32_t>(data_.size() - offset_)));
    return;
  }
  active_ = false;
  AppendSw(out, final_sw_);
}

}  // namespace dmcard
