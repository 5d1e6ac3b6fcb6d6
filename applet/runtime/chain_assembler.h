// Command chaining for one logical channel (ISO 7816-4 §5.1.1.1): the data of the commands of a
// chain (CLA b5 set on all but the last) is collected, and the last command is handed on with
// the whole data, so applets never see chaining.
#pragma once

#include <cstdint>

#include "runtime/apdu.h"
#include "runtime/bytes.h"
#include "runtime/sw.h"

namespace dmcard {

class ChainAssembler {
 public:
  // What the caller does with a command after Feed().
  enum class Step : uint8_t {
    kProcess,  // process `cmd` (rewritten with the whole chain's data when it ends a chain)
    kAnswer,   // answer `sw` and nothing else: 9000 for a collected part, or an error
  };
  struct Result {
    Step step = Step::kProcess;
    Sw sw = Sw::kOk;
  };

  // Feeds one command of this channel. `chainable` is false for commands that cannot be chained
  // (6884 when they carry the chaining bit). `max_data` bounds the assembled data (6700 beyond).
  // When `cmd` ends a chain, the whole data is moved into `whole`, `cmd.data` points to it and
  // the case becomes 3 or 4 (extended when the data or Ne needs it).
  Result Feed(CommandApdu& cmd, bool chainable, uint32_t max_data, Bytes& whole);
  // Forgets a chain in progress.
  void Drop();
  bool active() const { return active_; }

 private:
  bool active_ = false;
  uint8_t cla_base_ = 0, ins_ = 0, p1_ = 0, p2_ = 0;  // header shared by the chain's commands
  Bytes data_;
};

}  // namespace dmcard
