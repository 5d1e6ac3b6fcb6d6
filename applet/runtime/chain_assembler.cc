#include "runtime/chain_assembler.h"

#include <utility>

namespace dmcard {

void ChainAssembler::Drop() {
  active_ = false;
  data_.clear();
}

ChainAssembler::Result ChainAssembler::Feed(CommandApdu& cmd, bool chainable, uint32_t max_data,
                                            Bytes& whole) {
  // ISO 7816-4 §5.1.1.1: the commands of a chain share CLA (but b5), INS, P1 and P2; any other
  // command breaks the chain.
  if (active_ && (cla_base_ != cmd.cls.base || ins_ != cmd.ins || p1_ != cmd.p1 || p2_ != cmd.p2)) {
    Drop();
    return {Step::kAnswer, Sw::kLastCommandOfChainExpected};
  }
  if (cmd.cls.chaining) {
    if (!chainable) return {Step::kAnswer, Sw::kChainingNotSupported};
    if (data_.size() + cmd.data.size() > max_data) {
      Drop();
      return {Step::kAnswer, Sw::kWrongLength};
    }
    if (!active_) {
      active_ = true;
      cla_base_ = cmd.cls.base;
      ins_ = cmd.ins;
      p1_ = cmd.p1;
      p2_ = cmd.p2;
    }
    Append(data_, cmd.data);
    return {Step::kAnswer, Sw::kOk};
  }
  if (!active_) return {};
  whole = std::move(data_);
  Append(whole, cmd.data);
  Drop();
  cmd.data = whole;
  const bool ext = whole.size() > 255 || cmd.ne > 256;
  cmd.apdu_case =
      cmd.has_le() ? (ext ? ApduCase::k4E : ApduCase::k4S) : (ext ? ApduCase::k3E : ApduCase::k3S);
  return {};
}

}  // namespace dmcard
