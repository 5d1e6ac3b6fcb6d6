// ChainAssembler on its own: command chaining (ISO 7816-4 §5.1.1.1) without a card around it.
#include "runtime/chain_assembler.h"

#include <gtest/gtest.h>

#include "test_applets.h"

namespace dmcard {
namespace {

using testing::H;
using Step = ChainAssembler::Step;

// Feeds `hex` (kept alive in `raw`) and returns the result; `cmd` gets the (rewritten) command.
struct Fed {
  Bytes raw;
  CommandApdu cmd;
  ChainAssembler::Result result;
};
Fed Feed(ChainAssembler& chain, std::string_view hex, Bytes& whole, bool chainable = true,
         uint32_t max_data = 65535) {
  Fed f{H(hex), {}, {}};
  ParsedApdu p = ParseCommand(f.raw, true);
  EXPECT_EQ(p.error, Sw::kOk) << hex;
  f.cmd = p.command;
  f.result = chain.Feed(f.cmd, chainable, max_data, whole);
  return f;
}

TEST(Runtime_ChainAssembler, UnchainedCommandPassesThrough) {
  ChainAssembler chain;
  Bytes whole;
  Fed f = Feed(chain, "8010000002AABB00", whole);
  EXPECT_EQ(f.result.step, Step::kProcess);
  EXPECT_EQ(ToHex(f.cmd.data), "AABB");
  EXPECT_EQ(f.cmd.apdu_case, ApduCase::k4S);
  EXPECT_FALSE(chain.active());
}

TEST(Runtime_ChainAssembler, PartsAreCollectedAndTheLastGetsTheWhole) {
  ChainAssembler chain;
  Bytes whole;
  Fed a = Feed(chain, "9010000002AABB", whole);
  EXPECT_EQ(a.result.step, Step::kAnswer);
  EXPECT_EQ(a.result.sw, Sw::kOk);
  EXPECT_TRUE(chain.active());
  Fed b = Feed(chain, "9010000001CC", whole);
  EXPECT_EQ(b.result.sw, Sw::kOk);
  Fed last = Feed(chain, "8010000001DD00", whole);
  EXPECT_EQ(last.result.step, Step::kProcess);
  EXPECT_EQ(ToHex(last.cmd.data), "AABBCCDD");
  EXPECT_EQ(last.cmd.apdu_case, ApduCase::k4S);
  EXPECT_EQ(last.cmd.ne, 256u);
  EXPECT_FALSE(chain.active());
}

TEST(Runtime_ChainAssembler, LongWholeBecomesExtendedCase) {
  ChainAssembler chain;
  Bytes whole;
  Bytes part = H("90100000FF");
  part.resize(5 + 255, 0x11);
  ParsedApdu p = ParseCommand(part, true);
  ASSERT_EQ(p.error, Sw::kOk);
  EXPECT_EQ(chain.Feed(p.command, true, 65535, whole).sw, Sw::kOk);
  Fed last = Feed(chain, "801000000122", whole);  // no Le: case 3
  EXPECT_EQ(last.result.step, Step::kProcess);
  EXPECT_EQ(last.cmd.data.size(), 256u);
  EXPECT_EQ(last.cmd.apdu_case, ApduCase::k3E);
}

TEST(Runtime_ChainAssembler, OtherHeaderBreaksTheChainWith6883) {
  ChainAssembler chain;
  Bytes whole;
  Feed(chain, "9010000002AABB", whole);
  Fed other = Feed(chain, "8010000101CC", whole);  // P2 differs
  EXPECT_EQ(other.result.step, Step::kAnswer);
  EXPECT_EQ(other.result.sw, Sw::kLastCommandOfChainExpected);
  EXPECT_FALSE(chain.active());
  // The chain is gone: the next command stands alone.
  Fed next = Feed(chain, "8010000001EE", whole);
  EXPECT_EQ(next.result.step, Step::kProcess);
  EXPECT_EQ(ToHex(next.cmd.data), "EE");
}

TEST(Runtime_ChainAssembler, UnchainableCommandAnswers6884) {
  ChainAssembler chain;
  Bytes whole;
  Fed f = Feed(chain, "10C0000000", whole, /*chainable=*/false);
  EXPECT_EQ(f.result.step, Step::kAnswer);
  EXPECT_EQ(f.result.sw, Sw::kChainingNotSupported);
  EXPECT_FALSE(chain.active());
}

TEST(Runtime_ChainAssembler, DataBeyondTheLimitAnswers6700AndDropsTheChain) {
  ChainAssembler chain;
  Bytes whole;
  EXPECT_EQ(Feed(chain, "9010000002AABB", whole, true, 3).result.sw, Sw::kOk);
  EXPECT_EQ(Feed(chain, "9010000002CCDD", whole, true, 3).result.sw, Sw::kWrongLength);
  EXPECT_FALSE(chain.active());
}

TEST(Runtime_ChainAssembler, DropForgetsTheChain) {
  ChainAssembler chain;
  Bytes whole;
  Feed(chain, "9010000002AABB", whole);
  chain.Drop();
  EXPECT_FALSE(chain.active());
  Fed f = Feed(chain, "8010000001EE", whole);
  EXPECT_EQ(ToHex(f.cmd.data), "EE");
}

}  // namespace
}  // namespace dmcard
