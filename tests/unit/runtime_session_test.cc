// The transmit pipeline's session seam (runtime/secure_session.h): the session step on its own,
// then a card with a toy session type whose "MAC" is a counter and a checksum byte, so every
// expected byte can be worked out by hand. What is checked: SM without a session is refused once
// by the runtime; each C-APDU of a chain is unwrapped on its own; a long answer is wrapped once
// and then split with 61xx; a refused command ends the session and changes nothing; the session
// ends on deselect, channel close and reset; its principal is its channel's only.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/apdu_text.h"
#include "runtime/secure_session.h"
#include "test_applets.h"

namespace dmcard {
namespace {

using testing::AppletAt;
using testing::DataOf;
using testing::H;
using testing::kAidA;
using testing::kAidB;
using testing::MakeTestCard;
using testing::Send;
using testing::SwOf;

uint8_t Sum(ByteView bytes) {
  uint8_t s = 0;
  for (uint8_t b : bytes) s = static_cast<uint8_t>(s + b);
  return s;
}

// Toy session: a protected C-APDU ends its data with [n, sum], n = the number of commands it has
// unwrapped before, sum = the byte sum of the whole C-APDU before it (header, Lc, data, n).
// Answers get [m, sum] appended, m = the number of answers wrapped before, sum over data, SW
// and m. Plain commands are refused with 6982 (as a session whose level needs a C-MAC).
class ChecksumSession final : public SecureSession {
 public:
  explicit ChecksumSession(std::string principal) : principal_(std::move(principal)) {}

  Sw Unwrap(ByteView raw, const CommandApdu& cmd, CommandApdu& plain, Bytes& storage) override {
    if (cmd.data.size() < 2 || cmd.extended()) return Sw::kSecurityStatusNotSatisfied;
    const size_t n = cmd.data.size();
    // The checksum covers the raw C-APDU up to its sum byte (Le, if any, follows the data).
    const size_t sum_at = static_cast<size_t>(cmd.data.data() - raw.data()) + n - 1;
    if (cmd.data[n - 2] != unwrapped_ || cmd.data[n - 1] != Sum(raw.first(sum_at))) {
      return Sw::kIncorrectSmDataObjects;
    }
    ++unwrapped_;
    storage.assign(cmd.data.begin(), cmd.data.end() - 2);
    plain = cmd;
    plain.cla = static_cast<uint8_t>(cmd.cla & ~0x0C);
    plain.cls.secure_messaging = false;
    plain.data = storage;
    if (storage.empty()) plain.apdu_case = cmd.has_le() ? ApduCase::k2S : ApduCase::k1;
    return Sw::kOk;
  }
  Sw AcceptPlain(const CommandApdu& /*cmd*/) override { return Sw::kSecurityStatusNotSatisfied; }
  void Wrap(Bytes& data, Sw sw) override {
    Bytes covered = data;
    AppendSw(covered, sw);
    covered.push_back(wrapped_);
    data.push_back(wrapped_++);
    data.push_back(Sum(covered));
  }
  uint8_t security_level() const override { return 0x11; }
  const std::string& principal() const override { return principal_; }

 private:
  std::string principal_;
  uint8_t unwrapped_ = 0;
  uint8_t wrapped_ = 0;
};

// A toy session that records what the step asked of it.
class RecordingSession final : public SecureSession {
 public:
  Sw unwrap_answer = Sw::kOk;
  Sw plain_answer = Sw::kOk;
  int unwraps = 0, plains = 0;
  Bytes unwrapped_data = {0xAB};

  Sw Unwrap(ByteView, const CommandApdu& cmd, CommandApdu& plain, Bytes& storage) override {
    ++unwraps;
    storage = unwrapped_data;
    plain = cmd;
    plain.cls.secure_messaging = false;
    plain.data = storage;
    return unwrap_answer;
  }
  Sw AcceptPlain(const CommandApdu&) override {
    ++plains;
    return plain_answer;
  }
  void Wrap(Bytes&, Sw) override {}
  uint8_t security_level() const override { return 0; }
  const std::string& principal() const override { return name_; }

 private:
  std::string name_;
};

CommandApdu Parse(const Bytes& raw) {
  ParsedApdu p = ParseCommand(raw, true);
  EXPECT_EQ(p.error, Sw::kOk);
  return p.command;
}

// --- The step on its own ----------------------------------------------------------------------

TEST(Runtime_SessionStep, SecureMessagingWithoutASessionIsRefused) {
  for (const char* hex : {"0CA4040000", "8410000001AA", "0470000001", "0CC0000000", "60B0000000"}) {
    const Bytes raw = H(hex);
    CommandApdu cmd = Parse(raw);
    Bytes storage;
    const SessionStep s = RunSessionStep(nullptr, raw, cmd, storage);
    EXPECT_EQ(s.outcome, SessionStep::Outcome::kRefuse) << hex;
    EXPECT_EQ(s.sw, Sw::kSecureMessagingNotSupported) << hex;
  }
}

TEST(Runtime_SessionStep, PlainCommandsPassWithoutASession) {
  const Bytes raw = H("8010000001AA");
  CommandApdu cmd = Parse(raw);
  Bytes storage;
  const SessionStep s = RunSessionStep(nullptr, raw, cmd, storage);
  EXPECT_EQ(s.outcome, SessionStep::Outcome::kPass);
  EXPECT_FALSE(s.unwrapped);
  EXPECT_EQ(ToHex(cmd.data), "AA");
}

TEST(Runtime_SessionStep, SessionUnwrapsSmCommandsAndJudgesPlainOnes) {
  RecordingSession session;
  Bytes storage;
  const Bytes sm = H("8410000001AA");
  CommandApdu cmd = Parse(sm);
  SessionStep s = RunSessionStep(&session, sm, cmd, storage);
  EXPECT_EQ(s.outcome, SessionStep::Outcome::kPass);
  EXPECT_TRUE(s.unwrapped);
  EXPECT_EQ(ToHex(cmd.data), "AB");  // replaced by the unwrapped form
  EXPECT_FALSE(cmd.cls.secure_messaging);

  const Bytes plain = H("8010000001AA");
  cmd = Parse(plain);
  s = RunSessionStep(&session, plain, cmd, storage);
  EXPECT_EQ(s.outcome, SessionStep::Outcome::kPass);
  EXPECT_FALSE(s.unwrapped);
  EXPECT_EQ(session.plains, 1);

  // GET RESPONSE, MANAGE CHANNEL and SELECT by name are the runtime's: the session is not asked.
  for (const char* hex : {"00C0000000", "0070000001", "00A4040007A000000571050100"}) {
    const Bytes runtime_command = H(hex);
    cmd = Parse(runtime_command);
    s = RunSessionStep(&session, runtime_command, cmd, storage);
    EXPECT_EQ(s.outcome, SessionStep::Outcome::kPass) << hex;
  }
  EXPECT_EQ(session.plains, 1);
  EXPECT_EQ(session.unwraps, 1);

  session.unwrap_answer = Sw::kIncorrectSmDataObjects;
  cmd = Parse(sm);
  s = RunSessionStep(&session, sm, cmd, storage);
  EXPECT_EQ(s.outcome, SessionStep::Outcome::kEndSession);
  EXPECT_EQ(s.sw, Sw::kIncorrectSmDataObjects);

  session.plain_answer = Sw::kSecurityStatusNotSatisfied;
  cmd = Parse(plain);
  s = RunSessionStep(&session, plain, cmd, storage);
  EXPECT_EQ(s.outcome, SessionStep::Outcome::kEndSession);
  EXPECT_EQ(s.sw, Sw::kSecurityStatusNotSatisfied);
}

// --- On a card -------------------------------------------------------------------------------

// ScratchApplet plus 80 90 00 00 Lc <principal>: opens a ChecksumSession on the channel.
class SessionApplet final : public testing::ScratchApplet {
 public:
  using ScratchApplet::ScratchApplet;
  Sw Process(AppletContext& ctx, const CommandApdu& cmd, Bytes& out) override {
    if (!ctx.selecting() && !cmd.cls.interindustry && (cmd.ins == 0x90 || cmd.ins == 0x92)) {
      ctx.StartSession(
          std::make_unique<ChecksumSession>(std::string(cmd.data.begin(), cmd.data.end())));
      return Sw::kOk;
    }
    return ScratchApplet::Process(ctx, cmd, out);
  }
  std::string DescribeCommand(const CommandApdu& cmd) const override {
    return !cmd.cls.interindustry && cmd.ins == 0x90 ? "OPEN TEST SESSION" : "";
  }
};

const Bytes kAidS = {0xA0, 0x00, 0x00, 0x05, 0x71, 0x05, 0x01};

std::unique_ptr<Card> SessionCard() {
  auto card = MakeTestCard();
  EXPECT_EQ(card->Install(std::make_unique<SessionApplet>(kAidS, true, "s")), Sw::kOk);
  return card;
}

// Protects a C-APDU for the ChecksumSession: header || Lc || data || n || sum [|| Le].
Bytes Protect(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const Bytes& data, uint8_t n,
              std::optional<uint8_t> le = std::nullopt) {
  Bytes c = {cla, ins, p1, p2, static_cast<uint8_t>(data.size() + 2)};
  Append(c, data);
  c.push_back(n);
  c.push_back(Sum(c));
  if (le) c.push_back(*le);
  return c;
}

// The wrapped answer for `data` and 9000 as the m-th answer.
std::string WrappedHex(const Bytes& data, uint8_t m) {
  Bytes covered = data;
  Append(covered, Bytes{0x90, 0x00, m});
  Bytes out = data;
  out.push_back(m);
  out.push_back(Sum(covered));
  return ToHex(out) + "9000";
}

class Runtime_Session : public ::testing::Test {
 protected:
  void SetUp() override {
    card_ = SessionCard();
    ASSERT_EQ(SwOf(Send(*card_, "00A4040007A0000005710501")), 0x9000);
  }
  std::string Hex(const Bytes& c) { return ToHex(card_->Transmit(c)); }
  std::string Hex(std::string_view c) { return ToHex(Send(*card_, c)); }
  void Open(const std::string& principal = "dms.example.test") {
    Bytes c = {0x80, 0x90, 0x00, 0x00, static_cast<uint8_t>(principal.size())};
    Append(c, Bytes(principal.begin(), principal.end()));
    ASSERT_EQ(Hex(c), "9000");
  }
  std::unique_ptr<Card> card_;
};

TEST_F(Runtime_Session, SecureMessagingWithoutASessionReachesNoApplet) {
  const int selects = AppletAt(*card_, 3).selects;
  EXPECT_EQ(Hex("0CA4040007A0000005710201"), "6882");  // SELECT B with SM: not selected
  EXPECT_EQ(Hex("8420010001AA"), "6882");              // a write with SM: not written
  EXPECT_EQ(Hex("0470000001"), "6882");                // MANAGE CHANNEL with SM
  EXPECT_EQ(Hex("00700000 01"), "019000");             // (the plain one works)
  EXPECT_EQ(AppletAt(*card_, 3).selects, selects);     // nothing was selected
  EXPECT_FALSE(card_->store().Contains("s/0"));        // nothing was written
  EXPECT_EQ(Hex("80100000 02 CAFE"), "CAFE9000");      // the applet is still there
}

TEST_F(Runtime_Session, SessionUnwrapsEachCommandAndWrapsItsAnswer) {
  Open();
  EXPECT_EQ(Hex(Protect(0x84, 0x10, 0, 0, H("CAFE"), 0)), WrappedHex(H("CAFE"), 0));
  EXPECT_EQ(Hex(Protect(0x84, 0x62, 0, 0, {}, 1)),  // WHOAMI: the session's principal
            WrappedHex(Bytes{'d', 'm', 's', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 't', 'e',
                             's', 't'},
                       1));
  // A write under the session, committed.
  EXPECT_EQ(Hex(Protect(0x84, 0x20, 1, 0, H("01"), 2)), WrappedHex({}, 2));
  EXPECT_TRUE(card_->store().Contains("s/0"));
}

TEST_F(Runtime_Session, ChainedCommandsAreUnwrappedOneByOne) {
  Open();
  // Each part carries its own [n, sum] and gets its own wrapped answer; the applet gets the
  // assembled plain data.
  EXPECT_EQ(Hex(Protect(0x94, 0x10, 0, 0, H("0102"), 0)), WrappedHex({}, 0));
  EXPECT_EQ(Hex(Protect(0x84, 0x10, 0, 0, H("0304"), 1)), WrappedHex(H("01020304"), 1));
  // A chain part with a wrong counter (a replayed part) is refused, and ends session and chain.
  EXPECT_EQ(Hex(Protect(0x94, 0x10, 0, 0, H("0102"), 2)), WrappedHex({}, 2));
  EXPECT_EQ(Hex(Protect(0x84, 0x10, 0, 0, H("0304"), 2)), "6988");
  EXPECT_EQ(Hex(Protect(0x84, 0x10, 0, 0, H("0304"), 3)), "6882");
}

TEST_F(Runtime_Session, LongAnswerIsWrappedOnceThenSplit) {
  Open();
  Bytes expected;
  for (int i = 0; i < 300; ++i) expected.push_back(static_cast<uint8_t>(i));
  const std::string whole = WrappedHex(expected, 0);  // 302 bytes + 9000
  const Bytes first = card_->Transmit(Protect(0x84, 0x12, 0x01, 0x2C, {}, 0, 0x00));
  ASSERT_EQ(SwOf(first), 0x612E);                 // 46 = 302 - 256 bytes left
  const Bytes rest = Send(*card_, "00C000002E");  // GET RESPONSE: plain, not unwrapped
  Bytes all = DataOf(first);
  Append(all, rest);
  EXPECT_EQ(ToHex(all), whole);
  // The session's answer counter moved once: the next answer is number 1.
  EXPECT_EQ(Hex(Protect(0x84, 0x10, 0, 0, H("EE"), 1)), WrappedHex(H("EE"), 1));
}

TEST_F(Runtime_Session, RefusedCommandEndsTheSessionAndChangesNothing) {
  Open();
  Bytes bad = Protect(0x84, 0x20, 1, 0, H("01"), 0);
  bad.back() ^= 0x01;  // a tampered MAC
  EXPECT_EQ(Hex(bad), "6988");
  EXPECT_FALSE(card_->store().Contains("s/0"));
  EXPECT_EQ(Hex("80620000 00"), "9000");                            // WHOAMI: no principal any more
  EXPECT_EQ(Hex(Protect(0x84, 0x10, 0, 0, H("CAFE"), 1)), "6882");  // no session

  Open();
  EXPECT_EQ(Hex("8020010001 01"), "6982");  // a plain command under a MAC-only session
  EXPECT_FALSE(card_->store().Contains("s/0"));
  EXPECT_EQ(Hex(Protect(0x84, 0x10, 0, 0, H("CAFE"), 0)), "6882");
}

TEST_F(Runtime_Session, SessionEndsOnDeselectChannelCloseAndReset) {
  Open();
  EXPECT_EQ(Hex("00A4040007A0000005710501"), "6F098407A00000057105019000");  // reselect
  EXPECT_EQ(Hex(Protect(0x84, 0x10, 0, 0, H("01"), 0)), "6882");

  ASSERT_EQ(Hex("0070000001"), "019000");
  ASSERT_EQ(SwOf(Send(*card_, "01A4040007A0000005710501")), 0x9000);
  ASSERT_EQ(Hex("81900000 01 58"), "9000");  // session "X" on channel 1
  EXPECT_EQ(Hex(Protect(0x85, 0x10, 0, 0, H("01"), 0)), WrappedHex(H("01"), 0));
  ASSERT_EQ(Hex("007080 01"), "9000");  // close channel 1
  ASSERT_EQ(Hex("0070000001"), "019000");
  ASSERT_EQ(SwOf(Send(*card_, "01A4040007A0000005710501")), 0x9000);
  EXPECT_EQ(Hex(Protect(0x85, 0x10, 0, 0, H("01"), 1)), "6882");

  Open();
  card_->Reset();
  ASSERT_EQ(SwOf(Send(*card_, "00A4040007A0000005710501")), 0x9000);
  EXPECT_EQ(Hex(Protect(0x84, 0x10, 0, 0, H("01"), 0)), "6882");
}

TEST_F(Runtime_Session, PrincipalBelongsToTheSessionsChannelOnly) {
  ASSERT_EQ(Hex("0070000001"), "019000");
  ASSERT_EQ(SwOf(Send(*card_, "01A4040007A0000005710501")), 0x9000);
  Open("dms.example.test");               // channel 0
  EXPECT_EQ(Hex("81620000 00"), "9000");  // channel 1: nobody
  EXPECT_EQ(Hex(Protect(0x84, 0x62, 0, 0, {}, 0)),
            WrappedHex(Bytes{'d', 'm', 's', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 't', 'e',
                             's', 't'},
                       0));
}

// A command that replaces the channel's session (80 92 under the old one): its answer belongs to
// neither — the old session is gone and the new one unwrapped nothing — so it goes out plain,
// and the new session starts with both counters at 0.
TEST_F(Runtime_Session, AnswerIsNotWrappedByASessionStartedDuringTheCommand) {
  Open();
  EXPECT_EQ(Hex(Protect(0x84, 0x92, 0, 0, Bytes{'N'}, 0)), "9000");
  EXPECT_EQ(Hex(Protect(0x84, 0x10, 0, 0, H("AB"), 0)), WrappedHex(H("AB"), 0));
  EXPECT_EQ(Hex(Protect(0x84, 0x62, 0, 0, {}, 1)), WrappedHex(Bytes{'N'}, 1));
}

// Card::DescribeCommand: the selected applet names its own commands (for dmcard-vicc -v).
TEST_F(Runtime_Session, CommandsAreNamedByTheAppletSelectedOnTheirChannel) {
  EXPECT_EQ(card_->DescribeCommand(H("8090000001 58")), "OPEN TEST SESSION");
  const std::string by_ins = card_->DescribeCommand(H("8010000001 AA"));
  EXPECT_EQ(by_ins, DescribeCommand(ParseCommand(H("8010000001 AA"), true).command));
  EXPECT_NE(by_ins, "OPEN TEST SESSION");
  // SELECT by name and MANAGE CHANNEL are the runtime's, whatever is selected.
  EXPECT_EQ(card_->DescribeCommand(H("00A4040007A0000005710201")).rfind("SELECT", 0), 0u);
  EXPECT_EQ(card_->DescribeCommand(H("80")), "malformed APDU");
  // Channel 1 holds applet A (the default), which names nothing: the runtime's name.
  ASSERT_EQ(Hex("0070000001"), "019000");
  EXPECT_NE(card_->DescribeCommand(H("8190000001 58")), "OPEN TEST SESSION");
}

}  // namespace
}  // namespace dmcard
