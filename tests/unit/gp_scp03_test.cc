// GlobalPlatform SCP03 (Card Specification v2.3 Amendment D): the card's side (applet/gp/scp03,
// mbed TLS) and the host side (host/scp03_host, OpenSSL) each against published vectors
// (tests/data/gp/*.data, sources named in their headers), then against each other over
// pseudo-random sessions, then the card refusing what it must refuse.
//
// Requirements: SC8 (the card ensures authenticity and integrity of the session: mutual
// authentication, C-MAC, R-MAC), SC9 (data in a secure fashion: C-DECRYPTION, R-ENCRYPTION),
// SEC1 (provisioning data protected against unauthorized modification: tampered, replayed and
// reordered commands are refused).
#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "gp/scp03.h"
#include "host/scp03_host.h"
#include "runtime/bytes.h"
#include "vector_file.h"

namespace dmcard::gp {
// Lets GoogleTest print a status by name.
inline void PrintTo(Scp03Status status, std::ostream* os) { *os << ToString(status); }
}  // namespace dmcard::gp

namespace dmcard {
namespace {

using gp::ChannelOptions;
using gp::Scp03Channel;
using gp::Scp03Status;
using gp::SMode;
using testing::LoadVectorFile;
using testing::VectorCase;

constexpr Scp03Status kOk = Scp03Status::kOk;

// The pySim vectors come from an eUICC (their GET DATA reads the EID, tag BF3E); their test file
// does not name the security domain's AID. The ISD-R AID of GSMA SGP.02/SGP.22,
// A0000005591010FFFFFFFF8900000100, reproduces every one of their pseudo-random card challenges
// (checked below), so it is the AID they were made with.
const char kIsdRAid[] = "A0000005591010FFFFFFFF8900000100";

Bytes H(std::string_view hex) {
  auto b = FromHex(hex);
  EXPECT_TRUE(b.has_value()) << hex;
  return b.value_or(Bytes{});
}

std::string Hex(ByteView b) { return ToHex(b); }

Bytes Slice(ByteView b, size_t offset, size_t n) {
  const ByteView s = b.subspan(offset, n);
  return Bytes(s.begin(), s.end());
}

uint32_t U24(ByteView b) { return (uint32_t{b[0]} << 16) | (uint32_t{b[1]} << 8) | b[2]; }

// Deterministic pseudo-random numbers (std::mt19937's sequence is fixed by the standard).
class Prng {
 public:
  explicit Prng(uint32_t seed) : gen_(seed) {}
  Bytes Take(size_t n) {
    Bytes out(n);
    for (auto& b : out) b = static_cast<uint8_t>(gen_() >> 24);
    return out;
  }
  // Uniform in [lo, hi].
  size_t Range(size_t lo, size_t hi) { return lo + gen_() % (hi - lo + 1); }
  bool OneIn(size_t n) { return gen_() % n == 0; }

 private:
  std::mt19937 gen_;
};

// ---- the pySim vectors -------------------------------------------------------------------------

// The parts of pySim's INITIALIZE UPDATE exchange (S8, with sequence counter).
struct InitUpdate {
  Bytes host_challenge;
  uint8_t kvn = 0;
  uint8_t i = 0;
  Bytes card_challenge;
  Bytes card_cryptogram;
  uint32_t sequence_counter = 0;
};

InitUpdate ReadInitUpdate(const VectorCase& c) {
  InitUpdate u;
  const Bytes& cmd = c.Get("init_update_cmd");
  const Bytes& rsp = c.Get("init_update_rsp");
  EXPECT_EQ(cmd.size(), 14u);
  EXPECT_EQ(rsp.size(), 32u);
  if (cmd.size() != 14 || rsp.size() != 32) return u;
  u.host_challenge = Slice(cmd, 5, 8);
  u.kvn = rsp[10];
  u.i = rsp[12];
  u.card_challenge = Slice(rsp, 13, 8);
  u.card_cryptogram = Slice(rsp, 21, 8);
  u.sequence_counter = U24(ByteView(rsp).subspan(29, 3));
  return u;
}

gp::StaticKeys CardKeys(const VectorCase& c) { return {c.Get("enc"), c.Get("mac"), c.Get("dek")}; }
HostScp03Keys HostKeys(const VectorCase& c) { return {c.Get("enc"), c.Get("mac"), c.Get("dek")}; }

std::vector<VectorCase> PySimCases() {
  auto cases = LoadVectorFile("gp/scp03_pysim.data");
  EXPECT_EQ(cases.size(), 9u);  // AES-128/192/256 x levels 11, 03, 33
  return cases;
}

TEST(Req_SC8_Scp03Vectors, PseudoRandomCardChallengeOfPySimIsdR) {
  for (const auto& c : PySimCases()) {
    SCOPED_TRACE(c.Where());
    const InitUpdate u = ReadInitUpdate(c);
    ASSERT_EQ(u.i & gp::kIPseudoRandomChallenge, gp::kIPseudoRandomChallenge);
    Bytes challenge;
    ASSERT_EQ(gp::PseudoRandomCardChallenge(c.Get("enc"), u.sequence_counter, H(kIsdRAid),
                                            SMode::kS8, challenge),
              kOk);
    EXPECT_EQ(Hex(challenge), Hex(u.card_challenge));
  }
}

// The card answers pySim's INITIALIZE UPDATE with pySim's bytes, accepts its EXTERNAL
// AUTHENTICATE, unwraps each of its commands into the plain one, and wraps the GET DATA (EID)
// response into the bytes pySim unwraps.
TEST(Req_SC8_Scp03Vectors, CardFollowsPySimSessions) {
  for (const auto& c : PySimCases()) {
    SCOPED_TRACE(c.Where());
    const InitUpdate u = ReadInitUpdate(c);
    Scp03Channel card;
    ASSERT_EQ(card.Initialize(CardKeys(c), u.host_challenge, u.card_challenge, {SMode::kS8, u.i}),
              kOk);
    EXPECT_EQ(Hex(card.card_cryptogram()), Hex(u.card_cryptogram));
    gp::InitializeUpdateResponse response;
    response.key_version = u.kvn;
    response.i = u.i;
    ASSERT_EQ(gp::PseudoRandomCardChallenge(c.Get("enc"), u.sequence_counter, H(kIsdRAid),
                                            SMode::kS8, response.card_challenge),
              kOk);
    response.card_cryptogram = card.card_cryptogram();
    response.sequence_counter = u.sequence_counter;
    EXPECT_EQ(Hex(response.Encode()), Hex(c.Get("init_update_rsp")));

    const Bytes& ext_auth = c.Get("ext_auth_cmd");
    ASSERT_EQ(card.ExternalAuthenticate(ext_auth), kOk);
    EXPECT_EQ(card.state(), Scp03Channel::State::kOpen);
    EXPECT_EQ(card.security_level(), ext_auth[2]);

    Bytes plain;
    ASSERT_EQ(card.UnwrapCommand(c.Get("get_eid_cmd"), plain), kOk);
    EXPECT_EQ(Hex(plain), Hex(c.Get("get_eid_plain")));
    EXPECT_EQ(card.encryption_counter(), 1u);
    Bytes wrapped;
    ASSERT_EQ(card.WrapResponse(c.Get("get_eid_rsp_plain"), 0x9000, wrapped), kOk);
    EXPECT_EQ(Hex(wrapped), Hex(c.Get("get_eid_rsp")));

    for (const char* n : {"case1", "case2", "case3", "case4"}) {
      SCOPED_TRACE(n);
      ASSERT_EQ(card.UnwrapCommand(c.Get(n), plain), kOk);
      EXPECT_EQ(Hex(plain), Hex(c.Get(std::string(n) + "_plain")));
    }
    EXPECT_EQ(card.encryption_counter(), 5u);
  }
}

// The tests' host side reproduces pySim byte for byte, and checks the card challenge with the
// ISD-R AID.
TEST(Req_SC8_Scp03HostVectors, HostReproducesPySim) {
  for (const auto& c : PySimCases()) {
    SCOPED_TRACE(c.Where());
    const InitUpdate u = ReadInitUpdate(c);
    HostScp03 host(HostKeys(c));
    EXPECT_EQ(Hex(host.InitializeUpdate(u.kvn, u.host_challenge)), Hex(c.Get("init_update_cmd")));
    ASSERT_NO_THROW(host.ReadInitializeUpdateResponse(c.Get("init_update_rsp"), H(kIsdRAid)));
    EXPECT_EQ(host.sequence_counter(), u.sequence_counter);
    const Bytes& ext_auth = c.Get("ext_auth_cmd");
    EXPECT_EQ(Hex(host.ExternalAuthenticate(ext_auth[2])), Hex(ext_auth));
    EXPECT_EQ(Hex(host.Wrap(c.Get("get_eid_plain"))), Hex(c.Get("get_eid_cmd")));
    Bytes response;
    ASSERT_NO_THROW(response = host.Unwrap(c.Get("get_eid_rsp"), 0x9000));
    EXPECT_EQ(Hex(response), Hex(c.Get("get_eid_rsp_plain")));
    for (const char* n : {"case1", "case2", "case3", "case4"}) {
      SCOPED_TRACE(n);
      EXPECT_EQ(Hex(host.Wrap(c.Get(std::string(n) + "_plain"))), Hex(c.Get(n)));
    }
  }
}

// ---- the asterix vectors (session keys and a pseudo-random challenge spelled out) -------------

std::vector<VectorCase> AsterixCases() {
  auto cases = LoadVectorFile("gp/scp03_asterix.data");
  EXPECT_EQ(cases.size(), 2u);
  return cases;
}

TEST(Req_SC8_Scp03Vectors, CardReproducesAsterixMutualAuthentication) {
  const auto cases = AsterixCases();
  ASSERT_GE(cases.size(), 1u);
  const VectorCase& c = cases[0];
  SCOPED_TRACE(c.Where());
  const gp::StaticKeys keys = CardKeys(c);
  const uint32_t counter = U24(c.Get("seq_counter"));
  Bytes challenge;
  ASSERT_EQ(
      gp::PseudoRandomCardChallenge(keys.enc, counter, c.Get("sd_aid"), SMode::kS8, challenge),
      kOk);
  EXPECT_EQ(Hex(challenge), Hex(c.Get("card_challenge")));

  const Bytes& host_challenge = c.Get("host_challenge");
  gp::SessionKeys session;
  ASSERT_EQ(gp::DeriveSessionKeys(keys, host_challenge, challenge, session), kOk);
  EXPECT_EQ(Hex(session.s_enc), Hex(c.Get("s_enc")));
  EXPECT_EQ(Hex(session.s_mac), Hex(c.Get("s_mac")));
  EXPECT_EQ(Hex(session.s_rmac), Hex(c.Get("s_rmac")));
  Bytes cryptogram;
  ASSERT_EQ(gp::CardCryptogram(session, host_challenge, challenge, cryptogram), kOk);
  EXPECT_EQ(Hex(cryptogram), Hex(c.Get("card_cryptogram")));
  ASSERT_EQ(gp::HostCryptogram(session, host_challenge, challenge, cryptogram), kOk);
  EXPECT_EQ(Hex(cryptogram), Hex(c.Get("host_cryptogram")));

  Scp03Channel card;
  ASSERT_EQ(card.Initialize(keys, host_challenge, challenge, {SMode::kS8, c.Get("i").at(0)}), kOk);
  gp::InitializeUpdateResponse response;
  response.key_diversification_data = c.Get("kdd");
  response.key_version = c.Get("kvn").at(0);
  response.i = c.Get("i").at(0);
  response.card_challenge = challenge;
  response.card_cryptogram = card.card_cryptogram();
  response.sequence_counter = counter;
  EXPECT_EQ(Hex(response.Encode()), Hex(c.Get("init_update_rsp")));
  ASSERT_EQ(card.ExternalAuthenticate(c.Get("ext_auth_cmd")), kOk);
  EXPECT_EQ(card.security_level(), 0x01);
  EXPECT_EQ(Hex(card.mac_chaining_value()), Hex(c.Get("mac_chaining")));
}

TEST(Req_SC9_Scp03Vectors, CardReproducesAsterixCommandEncryption) {
  const auto cases = AsterixCases();
  ASSERT_EQ(cases.size(), 2u);
  const VectorCase& c = cases[1];
  SCOPED_TRACE(c.Where());
  const gp::StaticKeys keys = CardKeys(c);
  Bytes challenge;
  ASSERT_EQ(gp::PseudoRandomCardChallenge(keys.enc, U24(c.Get("seq_counter")), c.Get("sd_aid"),
                                          SMode::kS8, challenge),
            kOk);
  gp::SessionKeys session;
  ASSERT_EQ(gp::DeriveSessionKeys(keys, c.Get("host_challenge"), challenge, session), kOk);
  const Bytes& install = c.Get("install_plain");
  ASSERT_GT(install.size(), 5u);
  const ByteView data = ByteView(install).subspan(5);
  const uint64_t counter = c.Get("counter").at(0);
  Bytes cipher;
  ASSERT_EQ(gp::EncryptCommandData(session.s_enc, counter, data, cipher), kOk);
  EXPECT_EQ(Hex(cipher), Hex(c.Get("install_enc_data")));
  Bytes plain;
  ASSERT_EQ(gp::DecryptCommandData(session.s_enc, counter, c.Get("install_enc_data"), plain), kOk);
  EXPECT_EQ(Hex(plain), Hex(data));
}

TEST(Req_SC8_Scp03HostVectors, HostReproducesAsterix) {
  const auto cases = AsterixCases();
  ASSERT_EQ(cases.size(), 2u);
  {
    const VectorCase& c = cases[0];
    SCOPED_TRACE(c.Where());
    HostScp03 host(HostKeys(c));
    // asterix sends INITIALIZE UPDATE without Le; this host adds Le '00'.
    EXPECT_EQ(Hex(host.InitializeUpdate(c.Get("kvn").at(0), c.Get("host_challenge"))),
              Hex(c.Get("init_update_cmd")) + "00");
    ASSERT_NO_THROW(host.ReadInitializeUpdateResponse(c.Get("init_update_rsp"), c.Get("sd_aid")));
    EXPECT_EQ(Hex(host.card_challenge()), Hex(c.Get("card_challenge")));
    EXPECT_EQ(Hex(host.s_enc()), Hex(c.Get("s_enc")));
    EXPECT_EQ(Hex(host.s_mac()), Hex(c.Get("s_mac")));
    EXPECT_EQ(Hex(host.s_rmac()), Hex(c.Get("s_rmac")));
    EXPECT_EQ(Hex(host.host_cryptogram()), Hex(c.Get("host_cryptogram")));
    EXPECT_EQ(Hex(host.ExternalAuthenticate(0x01)), Hex(c.Get("ext_auth_cmd")));
    EXPECT_EQ(Hex(host.chaining_value()), Hex(c.Get("mac_chaining")));
  }
  {
    // The first line's INITIALIZE UPDATE response serves the second session (same keys,
    // challenges and counter); the second line has the encrypted data field.
    const VectorCase& c = cases[1];
    SCOPED_TRACE(c.Where());
    HostScp03 host(HostKeys(c));
    host.InitializeUpdate(0x30, c.Get("host_challenge"));
    ASSERT_NO_THROW(
        host.ReadInitializeUpdateResponse(cases[0].Get("init_update_rsp"), c.Get("sd_aid")));
    host.ExternalAuthenticate(0x03);
    const Bytes wrapped = host.Wrap(c.Get("install_plain"));
    const Bytes& expected = c.Get("install_enc_data");
    ASSERT_EQ(wrapped.size(), 5 + expected.size() + 8);
    EXPECT_EQ(Hex(ByteView(wrapped).subspan(5, expected.size())), Hex(expected));
  }
}

// ---- card and host against each other ---------------------------------------------------------

// One open session: the card's channel and the host, after INITIALIZE UPDATE and EXTERNAL
// AUTHENTICATE. The card challenge is the pseudo-random one, which the host checks.
struct Session {
  Scp03Channel card;
  HostScp03 host;
};

Session Open(Prng& prng, size_t key_size, uint8_t level, SMode mode,
             uint8_t i = gp::kIPseudoRandomChallenge | gp::kIRMacSupported |
                         gp::kIREncryptionSupported) {
  const Bytes enc = prng.Take(key_size);
  const Bytes mac = prng.Take(key_size);
  const Bytes dek = prng.Take(key_size);
  const size_t s = gp::Length(mode);
  Session session{Scp03Channel(), HostScp03({enc, mac, dek}, s)};
  const Bytes aid = prng.Take(prng.Range(5, 16));
  const uint32_t sequence_counter = static_cast<uint32_t>(prng.Range(0, 0xFFFFFF));
  const Bytes host_challenge = prng.Take(s);
  const Bytes init_update = session.host.InitializeUpdate(0x30, host_challenge);
  EXPECT_EQ(init_update.size(), 6 + s);

  gp::InitializeUpdateResponse response;
  response.key_diversification_data = prng.Take(10);
  response.key_version = 0x30;
  response.i = i;
  response.sequence_counter = sequence_counter;
  EXPECT_EQ(
      gp::PseudoRandomCardChallenge(enc, sequence_counter, aid, mode, response.card_challenge),
      kOk);
  EXPECT_EQ(
      session.card.Initialize({enc, mac, dek}, host_challenge, response.card_challenge, {mode, i}),
      kOk);
  response.card_cryptogram = session.card.card_cryptogram();
  EXPECT_NO_THROW(session.host.ReadInitializeUpdateResponse(response.Encode(), aid));
  EXPECT_EQ(session.card.ExternalAuthenticate(session.host.ExternalAuthenticate(level)), kOk);
  return session;
}

// A pseudo-random plain C-APDU: any case, short or extended, a CLA on channels 0-19 (chaining
// bit sometimes), proprietary or interindustry. Short commands keep data <= 223 bytes so that
// the wrapped command (padding, C-MAC) still fits a short Lc and both keep the same form.
Bytes RandomCommand(Prng& prng) {
  uint8_t cla;
  const size_t channel = prng.Range(0, 19);
  cla = channel < 4 ? static_cast<uint8_t>(channel) : static_cast<uint8_t>(0x40 | (channel - 4));
  if (!prng.OneIn(4)) cla |= 0x80;
  if (prng.OneIn(5)) cla |= 0x10;
  // Channel 19, proprietary, chaining and SM would make 'FF', which is no class byte.
  if ((cla | 0x20) == 0xFF) cla &= static_cast<uint8_t>(~0x10);
  Bytes apdu = {cla, static_cast<uint8_t>(prng.Range(0, 255)),
                static_cast<uint8_t>(prng.Range(0, 255)), static_cast<uint8_t>(prng.Range(0, 255))};
  const bool extended = prng.OneIn(3);
  const size_t apdu_case = prng.Range(1, 4);
  const bool has_data = apdu_case >= 3;
  const bool has_le = apdu_case == 2 || apdu_case == 4;
  const size_t nc = has_data ? (extended ? prng.Range(1, 1200) : prng.Range(1, 223)) : 0;
  if (has_data) {
    if (extended) {
      apdu.insert(apdu.end(), {0x00, static_cast<uint8_t>(nc >> 8), static_cast<uint8_t>(nc)});
    } else {
      apdu.push_back(static_cast<uint8_t>(nc));
    }
    const Bytes data = prng.Take(nc);
    apdu.insert(apdu.end(), data.begin(), data.end());
  }
  if (has_le) {
    if (extended) {
      const size_t le = prng.Range(0, 0xFFFF);  // 0000 = 65536
      if (!has_data) apdu.push_back(0x00);
      apdu.push_back(static_cast<uint8_t>(le >> 8));
      apdu.push_back(static_cast<uint8_t>(le));
    } else {
      apdu.push_back(static_cast<uint8_t>(prng.Range(0, 255)));  // 00 = 256
    }
  }
  return apdu;
}

bool SuccessOrWarning(uint16_t sw) {
  return sw == 0x9000 || (sw >> 8) == 0x62 || (sw >> 8) == 0x63;
}

struct LevelCase {
  size_t key_size;
  uint8_t level;
  SMode mode;
};

std::vector<LevelCase> AllLevels() {
  std::vector<LevelCase> out;
  for (size_t key_size : {16, 24, 32}) {
    for (uint8_t level : {0x01, 0x03, 0x11, 0x13, 0x33}) {
      for (SMode mode : {SMode::kS8, SMode::kS16}) out.push_back({key_size, level, mode});
    }
  }
  return out;
}

std::string Name(const LevelCase& lc) {
  return "AES-" + std::to_string(lc.key_size * 8) + " level " + Hex(Bytes{lc.level}) +
         (lc.mode == SMode::kS8 ? " S8" : " S16");
}

// Every command the host wraps comes out of the card as it went in; every response the card
// wraps comes out of the host as the applet gave it.
TEST(Req_SC8_Scp03CardHost, RandomCommandsAndResponsesAtEveryLevel) {
  Prng prng(0x5C903);
  for (const LevelCase& lc : AllLevels()) {
    SCOPED_TRACE(Name(lc));
    Session s = Open(prng, lc.key_size, lc.level, lc.mode);
    ASSERT_EQ(s.card.state(), Scp03Channel::State::kOpen);
    ASSERT_EQ(s.card.security_level(), lc.level);
    for (int n = 1; n <= 40; ++n) {
      const Bytes plain = RandomCommand(prng);
      SCOPED_TRACE("command " + std::to_string(n) + ": " + Hex(plain));
      const Bytes wrapped = s.host.Wrap(plain);
      Bytes unwrapped;
      ASSERT_EQ(s.card.UnwrapCommand(wrapped, unwrapped), kOk);
      EXPECT_EQ(Hex(unwrapped), Hex(plain));
      EXPECT_EQ(s.card.encryption_counter(), static_cast<uint64_t>(n));
      EXPECT_EQ(Hex(s.card.mac_chaining_value()), Hex(s.host.chaining_value()));

      const uint16_t sws[] = {0x9000, 0x9000, 0x6282, 0x63C1, 0x6A82, 0x6982};
      const uint16_t sw = sws[prng.Range(0, 5)];
      const Bytes data = SuccessOrWarning(sw) ? prng.Take(prng.Range(0, 600)) : Bytes{};
      Bytes out;
      ASSERT_EQ(s.card.WrapResponse(data, sw, out), kOk);
      Bytes received;
      ASSERT_NO_THROW(received = s.host.Unwrap(out, sw));
      EXPECT_EQ(Hex(received), Hex(data));
    }
  }
}

// C-DECRYPTION and R-ENCRYPTION: what crosses the interface is not the plain data.
TEST(Req_SC9_Scp03CardHost, DataIsEncryptedOnTheWire) {
  Prng prng(0x5C909);
  for (const LevelCase& lc : AllLevels()) {
    SCOPED_TRACE(Name(lc));
    Session s = Open(prng, lc.key_size, lc.level, lc.mode);
    const Bytes data = prng.Take(40);
    Bytes plain = {0x80, 0xE2, 0x90, 0x00, static_cast<uint8_t>(data.size())};
    plain.insert(plain.end(), data.begin(), data.end());
    const Bytes wrapped = s.host.Wrap(plain);
    const ByteView field = ByteView(wrapped).subspan(5, wrapped.size() - 5 - gp::Length(lc.mode));
    const bool c_dec = (lc.level & gp::kLevelCDecryption) != 0;
    EXPECT_EQ(field.size(), c_dec ? 48u : 40u);
    EXPECT_EQ(Hex(field.first(40)) == Hex(data), !c_dec);
    Bytes unwrapped;
    ASSERT_EQ(s.card.UnwrapCommand(wrapped, unwrapped), kOk);
    EXPECT_EQ(Hex(unwrapped), Hex(plain));

    Bytes out;
    ASSERT_EQ(s.card.WrapResponse(data, 0x9000, out), kOk);
    const bool r_enc = (lc.level & gp::kLevelREncryption) != 0;
    const bool r_mac = (lc.level & gp::kLevelRMac) != 0;
    EXPECT_EQ(out.size(), (r_enc ? 48u : 40u) + (r_mac ? gp::Length(lc.mode) : 0u));
    EXPECT_EQ(Hex(ByteView(out).first(40)) == Hex(data), !r_enc);
  }
}

// Command chaining: each part is wrapped and unwrapped on its own, the chaining value carrying
// over; the chaining bit is part of what the C-MAC covers.
TEST(Req_SC8_Scp03CardHost, ChainedCommandsAreMacedPartByPart) {
  Prng prng(0xC4A1);
  Session s = Open(prng, 16, 0x33, SMode::kS8);
  const Bytes parts[] = {H("90E2000003AABBCC"), H("90E2000002DDEE"), H("80E2000001FF00")};
  for (const Bytes& part : parts) {
    Bytes unwrapped;
    ASSERT_EQ(s.card.UnwrapCommand(s.host.Wrap(part), unwrapped), kOk);
    EXPECT_EQ(Hex(unwrapped), Hex(part));
    Bytes out;
    ASSERT_EQ(s.card.WrapResponse({}, 0x9000, out), kOk);
    EXPECT_EQ(out.size(), 8u);  // an intermediate part's 9000 carries its R-MAC too
    EXPECT_NO_THROW(s.host.Unwrap(out, 0x9000));
  }
  Bytes wrapped = s.host.Wrap(H("90E2000001AA"));
  wrapped[0] &= static_cast<uint8_t>(~0x10);  // a man in the middle clears the chaining bit
  Bytes unwrapped;
  EXPECT_EQ(s.card.UnwrapCommand(wrapped, unwrapped), Scp03Status::kMacMismatch);
}

// The logical channel number is not covered by the C-MAC (Amendment D §6.2.4 sets it to zero
// for the MAC), so a command stays valid on another channel; the session layer binds a session
// to its channel.
TEST(Req_SC8_Scp03CardHost, ChannelNumberIsNotMaced) {
  Prng prng(0xC4A2);
  Session s = Open(prng, 16, 0x01, SMode::kS8);
  Bytes wrapped = s.host.Wrap(H("81CA006600"));
  EXPECT_EQ(wrapped[0], 0x85);
  wrapped[0] = 0xE3;  // channel 7, further interindustry encoding with SM
  Bytes unwrapped;
  ASSERT_EQ(s.card.UnwrapCommand(wrapped, unwrapped), kOk);
  EXPECT_EQ(Hex(unwrapped), "C3CA006600");
}

// The R-MAC is computed once over the complete response; the runtime may hand it out in 61xx
// pieces, and the host verifies the concatenation with the final status word.
TEST(Req_SC8_Scp03CardHost, RMacCoversTheWholeResponseAcross61xx) {
  Prng prng(0x61);
  Session s = Open(prng, 32, 0x33, SMode::kS8);
  Bytes unwrapped;
  ASSERT_EQ(s.card.UnwrapCommand(s.host.Wrap(H("80F2400000")), unwrapped), kOk);
  const Bytes data = prng.Take(700);
  Bytes out;
  ASSERT_EQ(s.card.WrapResponse(data, 0x9000, out), kOk);
  Bytes reassembled;
  for (size_t at = 0; at < out.size(); at += 256) {
    const size_t n = std::min<size_t>(256, out.size() - at);
    reassembled.insert(reassembled.end(), out.begin() + static_cast<std::ptrdiff_t>(at),
                       out.begin() + static_cast<std::ptrdiff_t>(at + n));
  }
  // The first piece alone does not verify: the R-MAC is over the whole.
  EXPECT_THROW(s.host.Unwrap(ByteView(reassembled).first(256), 0x9000), HostScp03Error);
  Bytes received;
  ASSERT_NO_THROW(received = s.host.Unwrap(reassembled, 0x9000));
  EXPECT_EQ(Hex(received), Hex(data));
}

// ---- what the card refuses ---------------------------------------------------------------------

// Expects `command` to be refused with `status`, the channel closed, and the next (valid)
// command refused as well.
void ExpectRefusedAndClosed(Session& s, const Bytes& command, Scp03Status status) {
  Bytes unwrapped;
  EXPECT_EQ(s.card.UnwrapCommand(command, unwrapped), status);
  EXPECT_EQ(s.card.state(), Scp03Channel::State::kClosed);
  EXPECT_TRUE(s.card.mac_chaining_value().empty());
  EXPECT_EQ(s.card.UnwrapCommand(s.host.Wrap(H("80CA006600")), unwrapped),
            Scp03Status::kWrongState);
}

TEST(Req_SEC1_Scp03Rejects, TamperedCommands) {
  Prng prng(0x7A3);
  const Bytes plain = H("80E20000050102030405");
  // Byte positions of the wrapped command: P1, P2, a data byte, the last MAC byte.
  for (uint8_t level : {0x01, 0x03, 0x33}) {
    for (size_t at : {2, 3, 6, 0}) {
      SCOPED_TRACE("level " + std::to_string(level) + " byte " + std::to_string(at));
      Session s = Open(prng, 16, level, SMode::kS8);
      Bytes wrapped = s.host.Wrap(plain);
      const size_t index = at == 0 ? wrapped.size() - 1 : at;
      wrapped[index] ^= 0x01;
      ExpectRefusedAndClosed(s, wrapped, Scp03Status::kMacMismatch);
    }
  }
}

TEST(Req_SEC1_Scp03Rejects, ReplayedCommand) {
  Prng prng(0x7A4);
  for (uint8_t level : {0x01, 0x13}) {
    Session s = Open(prng, 24, level, SMode::kS8);
    const Bytes wrapped = s.host.Wrap(H("80E20000020102"));
    Bytes unwrapped;
    ASSERT_EQ(s.card.UnwrapCommand(wrapped, unwrapped), kOk);
    ExpectRefusedAndClosed(s, wrapped, Scp03Status::kMacMismatch);
  }
}

TEST(Req_SEC1_Scp03Rejects, ReorderedAndDroppedCommands) {
  Prng prng(0x7A5);
  for (uint8_t level : {0x01, 0x03, 0x33}) {
    Session s = Open(prng, 32, level, SMode::kS8);
    const Bytes first = s.host.Wrap(H("80E2000001AA"));
    const Bytes second = s.host.Wrap(H("80E2000001BB"));
    // The second before the first (or the first dropped): its C-MAC chains from the first's.
    ExpectRefusedAndClosed(s, second, Scp03Status::kMacMismatch);
    EXPECT_EQ(first.size(), second.size());
  }
}

TEST(Req_SEC1_Scp03Rejects, CommandsWithoutSecureMessaging) {
  Prng prng(0x7A6);
  Session s = Open(prng, 16, 0x01, SMode::kS8);
  Bytes wrapped = s.host.Wrap(H("80CA006600"));
  wrapped[0] = 0x80;  // GP SM indication removed
  ExpectRefusedAndClosed(s, wrapped, Scp03Status::kNoSecureMessaging);
  Session t = Open(prng, 16, 0x01, SMode::kS8);
  wrapped = t.host.Wrap(H("00CA006600"));
  wrapped[0] = 0x0C;  // ISO/IEC 7816-4 secure messaging, not GlobalPlatform's
  ExpectRefusedAndClosed(t, wrapped, Scp03Status::kNoSecureMessaging);
}

TEST(Req_SEC1_Scp03Rejects, MalformedSecuredCommands) {
  Prng prng(0x7A7);
  const Bytes bad[] = {
      H("84CA0066"),                      // case 1: no C-MAC at all
      H("84CA006600"),                    // case 2S: no C-MAC at all
      H("84CA006604AABBCCDD"),            // a data field shorter than the C-MAC
      H("84CA00660AAABBCCDDEEFF001122"),  // Lc longer than the body
      H("84CA00000000"),                  // neither short nor extended
      H("84CA0000000000"),                // extended Lc of zero
      H("FFCA006608AABBCCDDEEFF0011"),    // CLA 'FF'
      H("24CA006608AABBCCDDEEFF0011"),    // reserved class 001x xxxx
  };
  for (const Bytes& command : bad) {
    SCOPED_TRACE(Hex(command));
    Session s = Open(prng, 16, 0x01, SMode::kS8);
    ExpectRefusedAndClosed(s, command, Scp03Status::kMalformedApdu);
  }
}

TEST(Req_SEC1_Scp03Rejects, BadEncryptedData) {
  Prng prng(0x7A8);
  const Bytes header = H("80E20000");
  struct Bad {
    const char* what;
    Bytes blocks;  // plaintext blocks, encrypted as they are (no padding added)
    bool encrypt;
  };
  const Bad bads[] = {
      {"no '80' marker", Bytes(16, 0x41), true},
      {"non-zero byte after '80'", H("41414141414141414180000000000001"), true},
      {"padding only (empty data encrypted)", H("80000000000000000000000000000000"), true},
      {"padding longer than a block",
       H("4180000000000000000000000000000000000000000000000000000000000000"), true},
      {"not whole blocks", H("0102030405"), false},
  };
  for (const Bad& bad : bads) {
    SCOPED_TRACE(bad.what);
    Session s = Open(prng, 16, 0x03, SMode::kS8);
    const Bytes field = bad.encrypt ? s.host.EncryptForNextCommand(bad.blocks) : bad.blocks;
    ExpectRefusedAndClosed(s, s.host.WrapWithWireData(header, field), Scp03Status::kBadPadding);
  }
  // The same construction with correct padding is accepted (the test's own control).
  Session s = Open(prng, 16, 0x03, SMode::kS8);
  const Bytes field = s.host.EncryptForNextCommand(H("41428000000000000000000000000000"));
  Bytes unwrapped;
  ASSERT_EQ(s.card.UnwrapCommand(s.host.WrapWithWireData(header, field), unwrapped), kOk);
  EXPECT_EQ(Hex(unwrapped), "80E20000024142");
}

TEST(Req_SEC1_Scp03Rejects, ExternalAuthenticate) {
  Prng prng(0x7A9);
  const Bytes enc = prng.Take(16), mac = prng.Take(16), dek = prng.Take(16);
  const Bytes host_challenge = prng.Take(8), card_challenge = prng.Take(8);
  // A fresh card and host after INITIALIZE UPDATE; `i` decides what the card offers.
  auto start = [&](Scp03Channel& card, HostScp03& host, uint8_t i) {
    ASSERT_EQ(card.Initialize({enc, mac, dek}, host_challenge, card_challenge, {SMode::kS8, i}),
              kOk);
    host.InitializeUpdate(0x30, host_challenge);
    gp::InitializeUpdateResponse r;
    r.key_version = 0x30;
    r.i = i;
    r.card_challenge = card_challenge;
    r.card_cryptogram = card.card_cryptogram();
    host.ReadInitializeUpdateResponse(r.Encode());
  };
  {
    // A wrong host cryptogram under a correct C-MAC: the host does not know the keys' secret.
    Scp03Channel card;
    HostScp03 host({enc, mac, dek});
    start(card, host, 0x70);
    Bytes cryptogram = host.host_cryptogram();
    cryptogram[0] ^= 0xFF;
    Bytes part = H("8482010010");
    part.insert(part.end(), cryptogram.begin(), cryptogram.end());
    const Bytes cmac = HostScp03::AesCmac(host.s_mac(), [&] {
      Bytes in(16, 0x00);
      in.insert(in.end(), part.begin(), part.end());
      return in;
    }());
    Bytes command = part;
    command.insert(command.end(), cmac.begin(), cmac.begin() + 8);
    EXPECT_EQ(card.ExternalAuthenticate(command), Scp03Status::kCryptogramMismatch);
    EXPECT_EQ(card.state(), Scp03Channel::State::kClosed);
  }
  {
    // A wrong C-MAC.
    Scp03Channel card;
    HostScp03 host({enc, mac, dek});
    start(card, host, 0x70);
    Bytes command = host.ExternalAuthenticate(0x01);
    command.back() ^= 0x80;
    EXPECT_EQ(card.ExternalAuthenticate(command), Scp03Status::kMacMismatch);
  }
  {
    // Another card's keys (wrong static keys on the host): the card cryptogram fails first.
    Scp03Channel card;
    ASSERT_EQ(card.Initialize({enc, mac, dek}, host_challenge, card_challenge), kOk);
    HostScp03 host({enc, prng.Take(16), dek});
    host.InitializeUpdate(0x30, host_challenge);
    gp::InitializeUpdateResponse r;
    r.key_version = 0x30;
    r.card_challenge = card_challenge;
    r.card_cryptogram = card.card_cryptogram();
    EXPECT_THROW(host.ReadInitializeUpdateResponse(r.Encode()), HostScp03Error);
  }
  // Levels: not one of 01 03 11 13 33, or R-MAC/R-ENC where "i" does not offer them.
  const struct {
    uint8_t i;
    uint8_t level;
  } refused[] = {{0x70, 0x00}, {0x70, 0x02}, {0x70, 0x10}, {0x70, 0x31},
                 {0x70, 0x23}, {0x10, 0x11}, {0x30, 0x33}, {0x00, 0x13}};
  for (const auto& r : refused) {
    SCOPED_TRACE("i " + std::to_string(r.i) + " level " + std::to_string(r.level));
    Scp03Channel card;
    HostScp03 host({enc, mac, dek});
    start(card, host, r.i);
    EXPECT_EQ(card.ExternalAuthenticate(host.ExternalAuthenticate(r.level)),
              Scp03Status::kSecurityLevelRefused);
    EXPECT_EQ(card.state(), Scp03Channel::State::kClosed);
  }
  {
    // Malformed: with Le, without the SM indication, not INS '82', or a second time.
    Scp03Channel card;
    HostScp03 host({enc, mac, dek});
    start(card, host, 0x70);
    Bytes command = host.ExternalAuthenticate(0x01);
    Bytes with_le = command;
    with_le.push_back(0x00);
    EXPECT_EQ(card.ExternalAuthenticate(with_le), Scp03Status::kMalformedApdu);
    start(card, host, 0x70);
    command = host.ExternalAuthenticate(0x01);
    command[0] = 0x80;
    EXPECT_EQ(card.ExternalAuthenticate(command), Scp03Status::kNoSecureMessaging);
    start(card, host, 0x70);
    command = host.ExternalAuthenticate(0x01);
    ASSERT_EQ(card.ExternalAuthenticate(command), kOk);
    EXPECT_EQ(card.ExternalAuthenticate(command), Scp03Status::kWrongState);
  }
}

TEST(Req_SEC1_Scp03Rejects, OutOfOrderCalls) {
  Scp03Channel card;
  Bytes out;
  EXPECT_EQ(card.UnwrapCommand(H("84CA00660800000000000000000000"), out), Scp03Status::kWrongState);
  EXPECT_EQ(card.ExternalAuthenticate(H("848201001000000000000000000000000000000000")),
            Scp03Status::kWrongState);
  EXPECT_EQ(card.WrapResponse({}, 0x9000, out), Scp03Status::kWrongState);

  Prng prng(0x7AA);
  Session s = Open(prng, 16, 0x11, SMode::kS8);
  EXPECT_EQ(s.card.WrapResponse({}, 0x9000, out), Scp03Status::kWrongState);  // nothing to answer
  Session t = Open(prng, 16, 0x11, SMode::kS8);
  Bytes unwrapped;
  ASSERT_EQ(t.card.UnwrapCommand(t.host.Wrap(H("80CA006600")), unwrapped), kOk);
  ASSERT_EQ(t.card.WrapResponse({}, 0x9000, out), kOk);
  EXPECT_EQ(t.card.WrapResponse({}, 0x9000, out), Scp03Status::kWrongState);  // answered twice
}

// ---- the library's smaller pieces ---------------------------------------------------------------

TEST(Scp03Api, ErrorStatusWordsGetNoRMacAndNoData) {
  Prng prng(0xE5);
  Session s = Open(prng, 16, 0x33, SMode::kS8);
  Bytes unwrapped;
  ASSERT_EQ(s.card.UnwrapCommand(s.host.Wrap(H("80CA006600")), unwrapped), kOk);
  Bytes out = H("AA");
  ASSERT_EQ(s.card.WrapResponse(H("0102"), 0x6A88, out), kOk);
  EXPECT_TRUE(out.empty());
  EXPECT_NO_THROW(s.host.Unwrap(out, 0x6A88));
}

TEST(Scp03Api, PaddingIso9797Method2) {
  Bytes b;
  gp::PadIso9797Method2(b);
  EXPECT_EQ(Hex(b), "80000000000000000000000000000000");
  b = Bytes(16, 0x11);
  gp::PadIso9797Method2(b);
  EXPECT_EQ(b.size(), 32u);
  EXPECT_EQ(b[16], 0x80);
  EXPECT_TRUE(gp::UnpadIso9797Method2(b));
  EXPECT_EQ(b, Bytes(16, 0x11));
  b = H("1180");
  EXPECT_FALSE(gp::UnpadIso9797Method2(b));  // not whole blocks
  b = Bytes(16, 0x00);
  EXPECT_FALSE(gp::UnpadIso9797Method2(b));
}

TEST(Scp03Api, ArgumentChecks) {
  Bytes out;
  const Bytes key(16, 0x01);
  EXPECT_EQ(gp::Kdf(Bytes(15, 0), gp::DerivationConstant::kSEnc, 128, {}, out),
            Scp03Status::kBadKey);
  EXPECT_EQ(gp::Kdf(key, gp::DerivationConstant::kSEnc, 0, {}, out), Scp03Status::kBadArgument);
  EXPECT_EQ(gp::Kdf(key, gp::DerivationConstant::kSEnc, 12, {}, out), Scp03Status::kBadArgument);
  EXPECT_EQ(gp::Kdf(key, gp::DerivationConstant::kSEnc, 256 * 128, {}, out),
            Scp03Status::kBadArgument);
  ASSERT_EQ(gp::Kdf(key, gp::DerivationConstant::kSEnc, 255 * 128, {}, out), kOk);
  EXPECT_EQ(out.size(), 255u * 16);

  gp::SessionKeys keys;
  EXPECT_EQ(gp::DeriveSessionKeys({key, Bytes(20, 0), key}, Bytes(8), Bytes(8), keys),
            Scp03Status::kBadKey);
  EXPECT_EQ(gp::DeriveSessionKeys({key, key, key}, Bytes(8), Bytes(16), keys),
            Scp03Status::kBadArgument);
  EXPECT_EQ(gp::DeriveSessionKeys({key, key, key}, Bytes(7), Bytes(7), keys),
            Scp03Status::kBadArgument);
  EXPECT_EQ(gp::PseudoRandomCardChallenge(key, 0x1000000, Bytes(8), SMode::kS8, out),
            Scp03Status::kBadArgument);
  EXPECT_EQ(gp::PseudoRandomCardChallenge(key, 1, Bytes(4), SMode::kS8, out),
            Scp03Status::kBadArgument);
  EXPECT_EQ(gp::PseudoRandomCardChallenge(key, 1, Bytes(17), SMode::kS8, out),
            Scp03Status::kBadArgument);
  ASSERT_EQ(gp::PseudoRandomCardChallenge(key, 1, Bytes(16), SMode::kS16, out), kOk);
  EXPECT_EQ(out.size(), 16u);

  Scp03Channel card;
  EXPECT_EQ(card.Initialize({key, key, key}, Bytes(16), Bytes(16), {SMode::kS8}),
            Scp03Status::kBadArgument);  // S16 challenges in S8 mode
  EXPECT_EQ(card.Initialize({Bytes(17), key, key}, Bytes(8), Bytes(8)), Scp03Status::kBadKey);
  EXPECT_EQ(card.state(), Scp03Channel::State::kClosed);
  EXPECT_EQ(gp::DecryptCommandData(key, 1, Bytes{}, out), Scp03Status::kBadPadding);
  EXPECT_EQ(gp::EncryptResponseData(Bytes(5), 1, Bytes{1}, out), Scp03Status::kBadKey);
}

TEST(Scp03Api, StatusWordsAndLevels) {
  EXPECT_EQ(gp::StatusWordFor(kOk), 0x9000);
  EXPECT_EQ(gp::StatusWordFor(Scp03Status::kMacMismatch), 0x6982);
  EXPECT_EQ(gp::StatusWordFor(Scp03Status::kBadPadding), 0x6982);
  EXPECT_EQ(gp::StatusWordFor(Scp03Status::kNoSecureMessaging), 0x6982);
  EXPECT_EQ(gp::StatusWordFor(Scp03Status::kCryptogramMismatch), 0x6300);
  EXPECT_EQ(gp::StatusWordFor(Scp03Status::kMalformedApdu), 0x6700);
  EXPECT_EQ(gp::StatusWordFor(Scp03Status::kSecurityLevelRefused), 0x6A86);
  EXPECT_EQ(gp::StatusWordFor(Scp03Status::kWrongState), 0x6985);
  int supported = 0;
  for (int level = 0; level < 256; ++level) {
    supported += gp::IsSupportedSecurityLevel(static_cast<uint8_t>(level)) ? 1 : 0;
  }
  EXPECT_EQ(supported, 5);
}

TEST(Scp03Api, MovedChannelKeepsTheSession) {
  Prng prng(0x30);
  Session s = Open(prng, 16, 0x13, SMode::kS8);
  Scp03Channel moved = std::move(s.card);
  EXPECT_EQ(s.card.state(), Scp03Channel::State::kClosed);  // NOLINT(bugprone-use-after-move)
  Bytes unwrapped;
  const Bytes plain = H("80E2000003010203");
  ASSERT_EQ(moved.UnwrapCommand(s.host.Wrap(plain), unwrapped), kOk);
  EXPECT_EQ(Hex(unwrapped), Hex(plain));
  moved.Close();
  EXPECT_EQ(moved.state(), Scp03Channel::State::kClosed);
}

}  // namespace
}  // namespace dmcard
