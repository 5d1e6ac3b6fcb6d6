// Kill and restart soak through the real pcscd + vpcd (issue 13 item 3): dmcard-vicc --state is
// killed with SIGKILL at random moments while two PC/SC clients send bursts of state-changing
// commands, and started again at once on the same state, many times over, on both slots of our
// vpcd entry at the same time. After every restart:
//  - client A's counter in EF 5001 (UPDATE BINARY on the basic channel) is the last value the
//    card acknowledged or the one in flight when the process died, never an older one;
//  - client B's user PIN try counter (VERIFY on logical channel 1, wrong ones and right ones) is
//    what the last acknowledged VERIFY left or what the one in flight would have left: a wrong
//    PIN that was counted is never forgotten;
//  - the SCP03 sequence counter of the issuer key set (INITIALIZE UPDATE to the ISD on channel 2,
//    by client B) goes on above the last one the card answered with, never back.
//
// The number of kills per slot is DMCARD_SOAK_KILLS (default 100, i.e. 200 kills); the random
// moments come from a seed printed at the start (DMCARD_SOAK_SEED to replay one).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "pcsc_fixture.h"

namespace dmcard::pcsctest {
namespace {

using std::chrono::milliseconds;

constexpr const char* kVerifyRight = "002000010431323334";  // demo user PIN 1234
constexpr const char* kVerifyWrong = "002000010439393939";
constexpr uint8_t kPinTries = 3;  // the demo user PIN's limit (dm/pin_policy.h)

int EnvOr(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

Bytes U32(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}
uint32_t U32Of(const Bytes& b, size_t at) {
  return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) |
         b[at + 3];
}

// What the clients saw the card acknowledge, and what was in flight when it died.
struct Seen {
  std::optional<uint32_t> counter, counter_in_flight;  // client A
  uint8_t tries = kPinTries;                           // client B: after the last acknowledged
  std::optional<bool> verify_in_flight;                // ... and the one in flight (right?)
  std::optional<uint32_t> sequence;                    // client B: last IU's sequence counter
  int commands = 0;                                    // acknowledged state-changing commands
};

// A transmit that tells "the card is gone" (the process died: a PC/SC error, or vpcd's empty
// answer) from an answer.
bool Send(CardHandle& card, const Bytes& command, Bytes& response) {
  return card.TryTransmit(command, response) == SCARD_S_SUCCESS && response.size() >= 2;
}

// Client A: the counter in EF 5001 bytes 0-3, one UPDATE BINARY after another.
void ClientA(CardHandle& card, uint32_t start, Seen& seen, std::mutex& m,
             const std::atomic<bool>& stop, std::string& failure) {
  Bytes r;
  if (!Send(card, Hex(kSelectEf5001), r)) return;
  for (uint32_t value = start; !stop; ++value) {
    Bytes cmd = Hex("00D6000004");
    const Bytes v = U32(value);
    cmd.insert(cmd.end(), v.begin(), v.end());
    {
      std::lock_guard lock(m);
      seen.counter_in_flight = value;
    }
    if (!Send(card, cmd, r)) return;
    if (Sw(r) != 0x9000) {
      failure = "UPDATE BINARY answered " + ToHex(r);
      return;
    }
    std::lock_guard lock(m);
    seen.counter = value;
    seen.counter_in_flight.reset();
    ++seen.commands;
  }
}

// Client B: on channel 1 the file system's VERIFY (wrong while two tries or more are left, else
// right); on channel 2 INITIALIZE UPDATE to the ISD every fourth command.
void ClientB(CardHandle& card, Seen& seen, std::mutex& m, const std::atomic<bool>& stop,
             std::string& failure) {
  Bytes r;
  if (!Send(card, Hex("0070000001"), r)) return;
  if (ToHex(r) != "019000") {
    failure = "MANAGE CHANNEL open answered " + ToHex(r);
    return;
  }
  if (!Send(card, Hex("0070000001"), r)) return;
  if (ToHex(r) != "029000") {
    failure = "the second MANAGE CHANNEL open answered " + ToHex(r);
    return;
  }
  if (!Send(card, Hex("01A4040C09F0444D434152444653"), r)) return;
  if (!Send(card, Hex("02A4040C08A000000151000000"), r)) return;
  for (int step = 0; !stop; ++step) {
    if (step % 4 == 3) {
      // INITIALIZE UPDATE, KVN 30, host challenge 0..7: the sequence counter is the last 3 bytes
      // of the 32 bytes of data (GP Amendment D §7.1.1.6, pseudo-random card challenge).
      if (!Send(card, Hex("8250300008000102030405060700"), r)) return;
      if (Sw(r) != 0x9000 || r.size() != 34) {
        failure = "INITIALIZE UPDATE answered " + ToHex(r);
        return;
      }
      const uint32_t counter = (uint32_t{r[29]} << 16) | (uint32_t{r[30]} << 8) | r[31];
      std::lock_guard lock(m);
      if (seen.sequence && counter <= *seen.sequence) {
        failure = "the SCP03 sequence counter went from " + std::to_string(*seen.sequence) +
                  " to " + std::to_string(counter);
        return;
      }
      seen.sequence = counter;
      ++seen.commands;
      continue;
    }
    // A wrong PIN while two tries or more are left, else the right one: B itself never blocks
    // it (a kill during the right one can: the try is counted before the PIN is compared).
    bool right = false;
    {
      std::lock_guard lock(m);
      right = seen.tries < 2;
      seen.verify_in_flight = right;
    }
    if (!Send(card, Hex(right ? kVerifyRight : kVerifyWrong), r)) return;
    const uint16_t sw = Sw(r);
    std::lock_guard lock(m);
    const uint8_t after = right ? kPinTries : static_cast<uint8_t>(seen.tries - 1);
    const uint16_t expected = right ? 0x9000 : static_cast<uint16_t>(0x63C0 | after);
    if (sw != expected) {
      failure = std::string("VERIFY ") + (right ? "right" : "wrong") + " answered " + ToHex(r) +
                " with " + std::to_string(seen.tries) + " tries left";
      return;
    }
    seen.tries = after;
    seen.verify_in_flight.reset();
    ++seen.commands;
  }
}

// Connects to the restarted card, within 10 s.
std::unique_ptr<CardHandle> Reconnect(Context& ctx, const std::string& reader) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    try {
      auto card = std::make_unique<CardHandle>(ctx, reader);
      Bytes r;
      if (Send(*card, Hex(kSelectFsApplet), r) && Sw(r) == 0x9000) return card;
    } catch (const std::exception&) {
      // not there yet
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  return nullptr;
}

struct SlotFigures {
  int kills = 0;
  int commands = 0;
  int in_flight_done = 0;  // the command in flight at the kill was found done afterwards
};

class Pcsc_Soak : public PcscTest {
 protected:
  // One slot's soak: `kills` rounds of burst, SIGKILL, restart, checks.
  // A card on `slot` with its own state directory (started here, on the test's thread).
  ViccProcess& StartSlot(int slot) {
    return StartVicc({"--port", std::to_string(kBasePort + slot), "--state", NewStateDir()},
                     {ReaderName(slot)});
  }

  static void Soak(ViccProcess& vicc, int slot, int kills, uint32_t seed, SlotFigures& figures,
                   std::string& failure) {
    const std::string reader = ReaderName(slot);
    std::mt19937 random(seed);
    std::uniform_int_distribution<int> delay_ms(20, 250);
    Seen seen;
    uint32_t next_value = 0x01000000u * static_cast<uint32_t>(slot + 1);
    Context ctx;
    for (int round = 0; round < kills && failure.empty(); ++round) {
      std::mutex m;
      std::atomic<bool> stop{false};
      std::string failure_a, failure_b;
      {
        auto a = Reconnect(ctx, reader);
        auto b = a ? std::make_unique<CardHandle>(ctx, reader) : nullptr;
        if (!a) {
          failure = "slot " + std::to_string(slot) + " round " + std::to_string(round) +
                    ": no working card 10 s after the restart";
          return;
        }
        std::thread ta(ClientA, std::ref(*a), next_value, std::ref(seen), std::ref(m),
                       std::cref(stop), std::ref(failure_a));
        std::thread tb(ClientB, std::ref(*b), std::ref(seen), std::ref(m), std::cref(stop),
                       std::ref(failure_b));
        std::this_thread::sleep_for(milliseconds(delay_ms(random)));
        kill(vicc.pid(), SIGKILL);
        ta.join();
        tb.join();
      }
      vicc.Kill9();  // reaps it
      ++figures.kills;
      const std::string at = "slot " + std::to_string(slot) + " kill " + std::to_string(round);
      if (!failure_a.empty() || !failure_b.empty()) {
        failure = at + ": " + failure_a + failure_b;
        return;
      }
      vicc.Start();  // at once, on the same state
      auto card = Reconnect(ctx, reader);
      if (!card) {
        failure = at + ": no working card 10 s after the restart";
        return;
      }
      // Client A's counter.
      Bytes r;
      if (!Send(*card, Hex(kSelectEf5001), r) || !Send(*card, Hex("00B0000004"), r) ||
          Sw(r) != 0x9000) {
        failure = at + ": reading EF 5001 failed: " + ToHex(r);
        return;
      }
      const uint32_t value = U32Of(r, 0);
      const bool first = !seen.counter && !seen.counter_in_flight;
      if (!first && !(seen.counter && value == *seen.counter) &&
          !(seen.counter_in_flight && value == *seen.counter_in_flight)) {
        failure = at + ": EF 5001 holds " + std::to_string(value) + ", last acknowledged " +
                  (seen.counter ? std::to_string(*seen.counter) : "none") + ", in flight " +
                  (seen.counter_in_flight ? std::to_string(*seen.counter_in_flight) : "none");
        return;
      }
      if (seen.counter_in_flight && value == *seen.counter_in_flight) ++figures.in_flight_done;
      if (!first) seen.counter = value;
      seen.counter_in_flight.reset();
      next_value = value + 1;
      // Client B's PIN tries: VERIFY without data asks for them (63Cx; 6983 when blocked). A
      // VERIFY in flight counts its try first, durably (runtime/pin.h), then compares: it may
      // have left the tries as they were, one fewer, or (the right PIN, done) all of them.
      if (!Send(*card, Hex("00200001"), r)) {
        failure = at + ": VERIFY without data got no answer";
        return;
      }
      const uint16_t sw = Sw(r);
      const bool blocked = sw == 0x6983;
      const uint8_t tries = blocked ? 0 : static_cast<uint8_t>(sw & 0x0F);
      const bool may_be_counted = seen.verify_in_flight && tries + 1 == seen.tries;
      const bool may_be_done =
          seen.verify_in_flight && *seen.verify_in_flight && tries == kPinTries;
      if ((!blocked && (sw & 0xFFF0) != 0x63C0) ||
          (tries != seen.tries && !may_be_counted && !may_be_done)) {
        failure = at + ": the PIN shows " + ToHex(r) + ", last acknowledged " +
                  std::to_string(seen.tries) + " tries, " +
                  (seen.verify_in_flight ? (*seen.verify_in_flight ? "the right" : "a wrong") +
                                               std::string(" one in flight")
                                         : std::string("none in flight"));
        return;
      }
      if (tries != seen.tries) ++figures.in_flight_done;
      seen.tries = tries;
      seen.verify_in_flight.reset();
      if (blocked) {
        // RESET RETRY COUNTER with the demo PUK 12345678 and the PIN 1234 again.
        if (!Send(*card, Hex("002C000110313233343536373831323334FFFFFFFF"), r) || Sw(r) != 0x9000) {
          failure = at + ": unblocking the PIN with the PUK answered " + ToHex(r);
          return;
        }
        seen.tries = kPinTries;
      }
      // The SCP03 sequence counter: the next INITIALIZE UPDATE hands out one above the last the
      // card answered with, or two above it when one in flight was counted but never answered.
      if (!Send(*card, Hex("00A4040C08A000000151000000"), r) ||
          !Send(*card, Hex("8050300008000102030405060700"), r) || Sw(r) != 0x9000 ||
          r.size() != 34) {
        failure = at + ": INITIALIZE UPDATE after the restart answered " + ToHex(r);
        return;
      }
      const uint32_t sequence = (uint32_t{r[29]} << 16) | (uint32_t{r[30]} << 8) | r[31];
      if (seen.sequence && (sequence <= *seen.sequence || sequence > *seen.sequence + 2)) {
        failure = at + ": the SCP03 sequence counter is " + std::to_string(sequence) +
                  " after the restart, the last one answered was " + std::to_string(*seen.sequence);
        return;
      }
      seen.sequence = sequence;
      figures.commands = seen.commands;
    }
  }
};

TEST_F(Pcsc_Soak, KilledAtRandomMomentsUnderTwoClientsKeepsEveryAcknowledgedWrite) {
  const int kills = EnvOr("DMCARD_SOAK_KILLS", 100);
  const uint32_t seed =
      static_cast<uint32_t>(EnvOr("DMCARD_SOAK_SEED", static_cast<int>(std::random_device{}())));
  std::printf("[          ] soak: %d kills per slot on 2 slots, DMCARD_SOAK_SEED=%d\n", kills,
              static_cast<int>(seed));
  ViccProcess& vicc0 = StartSlot(0);
  ViccProcess& vicc1 = StartSlot(1);
  SlotFigures figures[2];
  std::string failures[2];
  std::thread slot1([&] { Soak(vicc1, 1, kills, seed + 1, figures[1], failures[1]); });
  Soak(vicc0, 0, kills, seed, figures[0], failures[0]);
  slot1.join();
  EXPECT_EQ(failures[0], "");
  EXPECT_EQ(failures[1], "");
  const int total_kills = figures[0].kills + figures[1].kills;
  const int commands = figures[0].commands + figures[1].commands;
  std::printf(
      "[          ] soak: %d kills survived, %d state-changing commands acknowledged, "
      "%d in-flight commands found done or counted after the kill\n",
      total_kills, commands, figures[0].in_flight_done + figures[1].in_flight_done);
  EXPECT_EQ(total_kills, 2 * kills);
  EXPECT_GT(commands, total_kills);  // the clients really wrote between the kills
}

}  // namespace
}  // namespace dmcard::pcsctest
