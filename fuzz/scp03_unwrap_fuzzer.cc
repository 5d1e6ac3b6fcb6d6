// The card's SCP03 secure channel (gp/scp03.h Scp03Channel) against C-APDUs from anyone: opened
// with the host's side (host/scp03_host.h, written apart from the card's), then fed a sequence
// of commands: raw bytes, commands the host wrapped, the same with one bit flipped, and answers
// to wrap. Oracles:
//  - a command the host wrapped unwraps to the command the host meant (CLA without the SM
//    indication, INS, P1, P2, data, Le);
//  - a wrapped command with any bit flipped in its header or data field (the C-MAC covers both)
//    is refused, and the refusal closes the session;
//  - an answer the card wraps unwraps on the host to the data the applet gave.
#include <algorithm>
#include <cstdint>
#include <string>

#include "fuzz_input.h"
#include "gp/scp03.h"
#include "host/scp03_host.h"
#include "runtime/apdu.h"

namespace {

using namespace dmcard;
using fuzz::OracleViolation;

std::string Describe(const CommandApdu& c) {
  return ToHex(Bytes{static_cast<uint8_t>(c.cla & ~0x0C), c.ins, c.p1, c.p2}) + " data " +
         ToHex(c.data) + " ne " + std::to_string(c.ne);
}

struct Session {
  gp::Scp03Channel card;
  HostScp03 host{HostScp03Keys{}};
  bool open = false;
};

// INITIALIZE UPDATE and EXTERNAL AUTHENTICATE between the two sides at `level`.
void Open(Session& s, const HostScp03Keys& keys, gp::SMode mode, uint8_t level, ByteView chal) {
  s.host = HostScp03(keys, gp::Length(mode));
  s.open = false;
  Bytes host_challenge(chal.begin(), chal.end());
  host_challenge.resize(gp::Length(mode), 0x5A);
  Bytes card_challenge(gp::Length(mode), 0xC4);
  const uint8_t i = gp::kIRMacSupported | gp::kIREncryptionSupported;
  s.host.InitializeUpdate(0x30, host_challenge);
  if (s.card.Initialize({keys.enc, keys.mac, keys.dek}, host_challenge, card_challenge,
                        {mode, i}) != gp::Scp03Status::kOk) {
    OracleViolation("scp03_unwrap", "Initialize failed with valid keys");
  }
  gp::InitializeUpdateResponse r;
  r.key_version = 0x30;
  r.i = i;
  r.card_challenge = card_challenge;
  r.card_cryptogram = s.card.card_cryptogram();
  try {
    s.host.ReadInitializeUpdateResponse(r.Encode());
  } catch (const HostScp03Error& e) {
    OracleViolation("scp03_unwrap", std::string("the host refuses the card's answer: ") + e.what());
  }
  const gp::Scp03Status st = s.card.ExternalAuthenticate(s.host.ExternalAuthenticate(level));
  s.open = st == gp::Scp03Status::kOk;
  if (!s.open && gp::IsSupportedSecurityLevel(level)) {
    OracleViolation("scp03_unwrap", "EXTERNAL AUTHENTICATE of level " + ToHex(Bytes{level}) +
                                        " refused: " + std::string(gp::ToString(st)));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  const uint8_t config = in.Byte();
  const gp::SMode mode = (config & 1) ? gp::SMode::kS16 : gp::SMode::kS8;
  const size_t key_size = 16 + 8 * ((config >> 1) % 3);
  HostScp03Keys keys{Bytes(key_size, 0x11), Bytes(key_size, 0x22), Bytes(key_size, 0x33)};
  keys.mac[0] = config;
  static const uint8_t kLevels[] = {0x01, 0x03, 0x11, 0x13, 0x33, 0x00, 0x02, 0x31};
  const uint8_t level = kLevels[(config >> 3) % 8];
  Session s;
  Open(s, keys, mode, level, in.Take(gp::Length(mode)));

  for (int steps = 0; steps < 64 && !in.empty(); ++steps) {
    const uint8_t op = in.Byte();
    if (!s.open) {
      Open(s, keys, mode, level, in.Take(gp::Length(mode)));
      if (!s.open) return 0;
    }
    if (op % 3 == 0) {  // raw bytes, as anyone could send them
      Bytes plain;
      if (s.card.UnwrapCommand(in.Piece(/*wide=*/(op & 0x80) != 0), plain) !=
          gp::Scp03Status::kOk) {
        s.open = false;
        if (s.card.state() != gp::Scp03Channel::State::kClosed) {
          OracleViolation("scp03_unwrap", "a refused command left the session open");
        }
      } else {
        Bytes ignored;
        s.card.WrapResponse({}, 0x9000, ignored);
        s.open = false;  // the host's counters no longer match: start again
      }
      continue;
    }
    // A command the host wraps (CLA 80-83 with its channel, or 00-03), maybe with a bit flipped.
    const ByteView piece = in.Piece(/*wide=*/(op & 0x80) != 0);
    Bytes plain(piece.begin(), piece.end());
    if (plain.empty()) continue;
    plain[0] = static_cast<uint8_t>(plain[0] & 0x83);
    const ParsedApdu meant = ParseCommand(plain, true);
    if (meant.error != Sw::kOk) continue;
    Bytes wrapped;
    try {
      wrapped = s.host.Wrap(plain);
    } catch (const HostScp03Error&) {
      continue;  // an APDU the host cannot wrap (e.g. too long once wrapped)
    }
    const ParsedApdu sent = ParseCommand(wrapped, true);
    if (sent.error != Sw::kOk) OracleViolation("scp03_unwrap", "the host wrapped a malformed APDU");
    if (op % 3 == 2) {
      // Flip one bit of INS, P1, P2 or the data field (which ends with the C-MAC).
      const size_t data_at = static_cast<size_t>(sent.command.data.data() - wrapped.data());
      const size_t span = 3 + sent.command.data.size();
      size_t at = in.U16() % span;
      at = at < 3 ? 1 + at : data_at + (at - 3);
      if (!fuzz::Broken("scp03-flip")) wrapped[at] ^= static_cast<uint8_t>(1u << (op >> 4 & 7));
      Bytes out;
      if (s.card.UnwrapCommand(wrapped, out) == gp::Scp03Status::kOk) {
        OracleViolation("scp03_unwrap", "a command with byte " + std::to_string(at) +
                                            " changed was accepted: " + ToHex(wrapped));
      }
      if (s.card.state() != gp::Scp03Channel::State::kClosed) {
        OracleViolation("scp03_unwrap", "a refused command left the session open");
      }
      s.open = false;
      continue;
    }
    Bytes unwrapped;
    const gp::Scp03Status st = s.card.UnwrapCommand(wrapped, unwrapped);
    if (st != gp::Scp03Status::kOk) {
      OracleViolation("scp03_unwrap", "a command the host wrapped is refused (" +
                                          std::string(gp::ToString(st)) + "): " + ToHex(plain) +
                                          " wrapped " + ToHex(wrapped));
    }
    if (fuzz::Broken("scp03-roundtrip") && !unwrapped.empty()) unwrapped[1] ^= 0x01;  // INS
    const ParsedApdu got = ParseCommand(unwrapped, true);
    const bool same_form = got.command.extended() == meant.command.extended();
    if (got.error != Sw::kOk || got.command.cla != meant.command.cla ||
        got.command.ins != meant.command.ins || got.command.p1 != meant.command.p1 ||
        got.command.p2 != meant.command.p2 ||
        !std::equal(got.command.data.begin(), got.command.data.end(), meant.command.data.begin(),
                    meant.command.data.end()) ||
        (same_form && got.command.ne != meant.command.ne)) {
      OracleViolation("scp03_unwrap", "unwrapped to another command: meant " +
                                          Describe(meant.command) + ", got " + ToHex(unwrapped));
    }
    // The applet's answer, wrapped by the card, unwrapped by the host.
    const ByteView answer = in.Piece();
    static const uint16_t kSws[] = {0x9000, 0x6282, 0x63C1, 0x6A82};
    const uint16_t sw = kSws[op >> 6];
    Bytes out;
    if (s.card.WrapResponse(answer, sw, out) != gp::Scp03Status::kOk) {
      OracleViolation("scp03_unwrap", "WrapResponse refused right after an unwrap");
    }
    try {
      const Bytes back = s.host.Unwrap(out, sw);
      const bool error_sw = (sw >> 8) != 0x90 && (sw >> 8) != 0x62 && (sw >> 8) != 0x63;
      if (!error_sw && !std::equal(back.begin(), back.end(), answer.begin(), answer.end())) {
        OracleViolation("scp03_unwrap",
                        "the answer " + ToHex(answer) + " reached the host as " + ToHex(back));
      }
    } catch (const HostScp03Error& e) {
      OracleViolation("scp03_unwrap",
                      std::string("the host refuses the card's answer: ") + e.what());
    }
  }
  return 0;
}
