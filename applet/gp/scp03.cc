// GlobalPlatform SCP03 (Card Specification v2.3 Amendment D), card side, on the crypto facade.
#include "gp/scp03.h"

#include <cstddef>
#include <functional>
#include <utility>

namespace dmcard::gp {
namespace {

constexpr size_t kBlock = 16;
constexpr uint8_t kInsExternalAuthenticate = 0x82;

Scp03Status FromCrypto(crypto::CryptoStatus status) {
  switch (status) {
    case crypto::CryptoStatus::kOk:
      return Scp03Status::kOk;
    case crypto::CryptoStatus::kBadKey:
      return Scp03Status::kBadKey;
    default:
      return Scp03Status::kInternal;
  }
}

bool ValidAesKey(ByteView key) { return key.size() == 16 || key.size() == 24 || key.size() == 32; }

bool ValidChallenges(ByteView host_challenge, ByteView card_challenge) {
  const size_t n = host_challenge.size();
  return (n == 8 || n == 16) && card_challenge.size() == n;
}

// Overwrites key material before the buffer is released.
void Wipe(Bytes& b) {
  volatile uint8_t* p = b.data();
  for (size_t i = 0; i < b.size(); ++i) p[i] = 0;
  b.clear();
}

// The counter as a 16-byte big-endian block; for responses the first byte is '80' (§6.2.7).
Scp03Status Icv(ByteView s_enc, uint64_t counter, bool response, Bytes& icv) {
  Bytes block(kBlock, 0);
  for (size_t i = 0; i < 8; ++i) block[kBlock - 1 - i] = static_cast<uint8_t>(counter >> (8 * i));
  if (response) block[0] = 0x80;
  return FromCrypto(crypto::AesEcbEncrypt(s_enc, block, icv));
}

Scp03Status Encrypt(ByteView s_enc, uint64_t counter, bool response, ByteView plain, Bytes& out) {
  if (!ValidAesKey(s_enc)) return Scp03Status::kBadKey;
  Bytes icv;
  Scp03Status st = Icv(s_enc, counter, response, icv);
  if (st != Scp03Status::kOk) return st;
  Bytes padded(plain.begin(), plain.end());
  PadIso9797Method2(padded);
  return FromCrypto(crypto::AesCbcEncrypt(s_enc, icv, padded, out));
}

Scp03Status Decrypt(ByteView s_enc, uint64_t counter, bool response, ByteView cipher, Bytes& out) {
  if (!ValidAesKey(s_enc)) return Scp03Status::kBadKey;
  if (cipher.empty() || cipher.size() % kBlock != 0) return Scp03Status::kBadPadding;
  Bytes icv;
  Scp03Status st = Icv(s_enc, counter, response, icv);
  if (st != Scp03Status::kOk) return st;
  Bytes plain;
  st = FromCrypto(crypto::AesCbcDecrypt(s_enc, icv, cipher, plain));
  if (st != Scp03Status::kOk) return st;
  if (!UnpadIso9797Method2(plain)) return Scp03Status::kBadPadding;
  out = std::move(plain);
  return Scp03Status::kOk;
}

Scp03Status Cryptogram(const SessionKeys& keys, DerivationConstant which, ByteView host_challenge,
                       ByteView card_challenge, Bytes& out) {
  if (!ValidChallenges(host_challenge, card_challenge)) return Scp03Status::kBadArgument;
  Bytes context(host_challenge.begin(), host_challenge.end());
  context.insert(context.end(), card_challenge.begin(), card_challenge.end());
  return Kdf(keys.s_mac, which, static_cast<uint16_t>(host_challenge.size() * 8), context, out);
}

// ---- class byte ---------------------------------------------------------------------------------

enum class Indication : uint8_t { kNone, kGlobalPlatform, kOther };

struct ClassBits {
  bool further = false;  // further interindustry (or its proprietary mirror): channels 4-19
  Indication sm = Indication::kNone;
};

// ISO/IEC 7816-4 class byte, with b8 = 1 mirroring the interindustry layout as GlobalPlatform
// does. False for 'FF' and the reserved 001x xxxx (and its mirror 101x xxxx).
bool DecodeClass(uint8_t cla, ClassBits& out) {
  if (cla == 0xFF) return false;
  const uint8_t low = cla & 0x7F;
  if ((low & 0x60) == 0x20) return false;
  if ((low & 0x40) != 0) {
    out.further = true;
    out.sm = (low & 0x20) != 0 ? Indication::kGlobalPlatform : Indication::kNone;
    return true;
  }
  out.further = false;
  switch (low & 0x0C) {
    case 0x00:
      out.sm = Indication::kNone;
      break;
    case 0x04:
      out.sm = Indication::kGlobalPlatform;
      break;
    default:
      out.sm = Indication::kOther;  // ISO/IEC 7816-4 secure messaging, not GlobalPlatform's
      break;
  }
  return true;
}

// §6.2.4: the CLA entering the C-MAC: logical channel zero, b4 = 0, b3 = 1; b8 and b5 as sent.
uint8_t MacClass(uint8_t cla) { return static_cast<uint8_t>((cla & 0x80) | (cla & 0x10) | 0x04); }

// The CLA the applet sees: the indication cleared, everything else as sent.
uint8_t PlainClass(uint8_t cla, const ClassBits& bits) {
  return static_cast<uint8_t>(bits.further ? cla & ~0x20 : cla & ~0x04);
}

// ---- secured C-APDU ---------------------------------------------------------------------------

// A C-APDU that has a data field (the C-MAC at least): case 3 or 4, short or extended
// (ISO/IEC 7816-3 §12.1.3). Views point into the parsed buffer.
struct SecuredCommand {
  uint8_t cla = 0;
  uint8_t ins = 0;
  uint8_t p1 = 0;
  uint8_t p2 = 0;
  bool extended = false;
  ByteView lc_field;  // as sent: 1 byte, or '00' and 2 bytes
  ByteView body;      // the data field, C-MAC included
  ByteView le_field;  // as sent: absent, 1 byte (short) or 2 bytes (extended)
};

bool ParseSecured(ByteView raw, SecuredCommand& out) {
  if (raw.size() < 6) return false;  // a header, Lc and at least one data byte
  out.cla = raw[0];
  out.ins = raw[1];
  out.p1 = raw[2];
  out.p2 = raw[3];
  size_t lc = 0;
  size_t offset = 0;
  size_t le_size = 0;
  if (raw[4] != 0) {
    lc = raw[4];
    offset = 5;
    le_size = 1;
  } else {
    if (raw.size() < 7) return false;
    lc = (size_t{raw[5]} << 8) | raw[6];
    if (lc == 0) return false;  // '00 00 00' is an extended Le, not a data field
    offset = 7;
    le_size = 2;
    out.extended = true;
  }
  const size_t rest = raw.size() - offset;
  if (rest == lc) {
    out.le_field = {};
  } else if (rest == lc + le_size) {
    out.le_field = raw.subspan(offset + lc, le_size);
  } else {
    return false;
  }
  out.lc_field = raw.subspan(4, offset - 4);
  out.body = raw.subspan(offset, lc);
  return true;
}

// The header with the C-MAC's CLA, Lc as sent, and the data field without the C-MAC.
Bytes MacInput(const SecuredCommand& c, ByteView data) {
  Bytes in = {MacClass(c.cla), c.ins, c.p1, c.p2};
  in.insert(in.end(), c.lc_field.begin(), c.lc_field.end());
  in.insert(in.end(), data.begin(), data.end());
  return in;
}

// The unwrapped C-APDU in the same (short or extended) length form as the secured one.
Bytes PlainCommand(const SecuredCommand& c, uint8_t cla, ByteView data) {
  Bytes out = {cla, c.ins, c.p1, c.p2};
  if (!data.empty()) {
    if (c.extended) {
      out.push_back(0x00);
      out.push_back(static_cast<uint8_t>(data.size() >> 8));
    }
    out.push_back(static_cast<uint8_t>(data.size()));
    out.insert(out.end(), data.begin(), data.end());
  }
  if (!c.le_field.empty()) {
    if (c.extended && data.empty()) out.push_back(0x00);  // case 2E: '00' Le1 Le2
    out.insert(out.end(), c.le_field.begin(), c.le_field.end());
  }
  return out;
}

bool IsSuccessOrWarning(uint16_t sw) {
  return sw == 0x9000 || (sw >> 8) == 0x62 || (sw >> 8) == 0x63;
}

}  // namespace

std::string_view ToString(Scp03Status status) {
  switch (status) {
    case Scp03Status::kOk:
      return "ok";
    case Scp03Status::kBadKey:
      return "bad key";
    case Scp03Status::kBadArgument:
      return "bad argument";
    case Scp03Status::kMalformedApdu:
      return "malformed C-APDU";
    case Scp03Status::kNoSecureMessaging:
      return "no secure messaging indication";
    case Scp03Status::kMacMismatch:
      return "C-MAC mismatch";
    case Scp03Status::kCryptogramMismatch:
      return "host cryptogram mismatch";
    case Scp03Status::kBadPadding:
      return "bad encrypted data or padding";
    case Scp03Status::kSecurityLevelRefused:
      return "security level refused";
    case Scp03Status::kWrongState:
      return "wrong channel state";
    case Scp03Status::kInternal:
      return "internal error";
  }
  return "?";
}

uint16_t StatusWordFor(Scp03Status status) {
  switch (status) {
    case Scp03Status::kOk:
      return 0x9000;
    case Scp03Status::kMalformedApdu:
      return 0x6700;
    case Scp03Status::kCryptogramMismatch:
      return 0x6300;
    case Scp03Status::kSecurityLevelRefused:
      return 0x6A86;
    case Scp03Status::kWrongState:
      return 0x6985;
    case Scp03Status::kNoSecureMessaging:
    case Scp03Status::kMacMismatch:
    case Scp03Status::kBadPadding:
      return 0x6982;
    case Scp03Status::kBadKey:
    case Scp03Status::kBadArgument:
    case Scp03Status::kInternal:
      return 0x6F00;
  }
  return 0x6F00;
}

bool IsSupportedSecurityLevel(uint8_t level) {
  return level == 0x01 || level == 0x03 || level == 0x11 || level == 0x13 || level == 0x33;
}

// ---- derivation -------------------------------------------------------------------------------

namespace {

// The KDF's pseudo-random function: one AES-CMAC block over a derivation block, under a key the
// caller holds (known-answer tests) or under a static key the key store holds.
using Prf = std::function<Scp03Status(ByteView input, Bytes& block)>;

Scp03Status FromKeyStore(CryptoStatus status) {
  switch (status) {
    case CryptoStatus::kOk:
      return Scp03Status::kOk;
    case CryptoStatus::kBadInput:
      return Scp03Status::kBadArgument;
    case CryptoStatus::kNotFound:
    case CryptoStatus::kUsageRefused:
    case CryptoStatus::kBlocked:
    case CryptoStatus::kExhausted:
    case CryptoStatus::kBadKey:
    case CryptoStatus::kVerifyFailed:
      return Scp03Status::kBadKey;
    case CryptoStatus::kFull:
    case CryptoStatus::kPowerLost:
    case CryptoStatus::kInternal:
      return Scp03Status::kInternal;
  }
  return Scp03Status::kInternal;
}

Prf StorePrf(KeyStore& keys, KeyHandle key) {
  return [&keys, key](ByteView input, Bytes& block) {
    return FromKeyStore(keys.Scp03Prf(key, input, block));
  };
}

// The static key's length in bits (an SCP03 member is AES), 0 when the store has no such key.
uint16_t StoredKeyBits(const KeyStore& keys, KeyHandle key) {
  const std::optional<KeyInfo> info = keys.Info(key);
  if (!info) return 0;
  switch (info->type) {
    case KeyType::kAes128:
      return 128;
    case KeyType::kAes192:
      return 192;
    case KeyType::kAes256:
      return 256;
    default:
      return 0;
  }
}

Scp03Status KdfWith(const Prf& prf, DerivationConstant constant, uint16_t output_bits,
                    ByteView context, Bytes& out) {
  if (output_bits == 0 || output_bits % 8 != 0) return Scp03Status::kBadArgument;
  const size_t blocks = (output_bits + 127) / 128;
  if (blocks > 0xFF) return Scp03Status::kBadArgument;  // the counter i is one byte
  // Amendment D §4.1.5: label = 11 bytes '00' || constant, separator '00', L (2 bytes),
  // counter i (1 byte), context.
  Bytes input(11, 0x00);
  input.push_back(static_cast<uint8_t>(constant));
  input.push_back(0x00);
  input.push_back(static_cast<uint8_t>(output_bits >> 8));
  input.push_back(static_cast<uint8_t>(output_bits));
  const size_t counter_at = input.size();
  input.push_back(0x00);
  input.insert(input.end(), context.begin(), context.end());
  Bytes result;
  for (size_t i = 1; i <= blocks; ++i) {
    input[counter_at] = static_cast<uint8_t>(i);
    Bytes block;
    Scp03Status st = prf(input, block);
    if (st != Scp03Status::kOk) return st;
    result.insert(result.end(), block.begin(), block.end());
  }
  result.resize(output_bits / 8);
  out = std::move(result);
  return Scp03Status::kOk;
}

// §6.2.1: S-ENC from K-ENC, S-MAC and S-RMAC from K-MAC, context = host || card challenge; each
// session key as long as its static key.
Scp03Status DeriveWith(const Prf& enc, uint16_t enc_bits, const Prf& mac, uint16_t mac_bits,
                       ByteView host_challenge, ByteView card_challenge, SessionKeys& out) {
  if (!ValidChallenges(host_challenge, card_challenge)) return Scp03Status::kBadArgument;
  Bytes context(host_challenge.begin(), host_challenge.end());
  context.insert(context.end(), card_challenge.begin(), card_challenge.end());
  SessionKeys result;
  Scp03Status st = KdfWith(enc, DerivationConstant::kSEnc, enc_bits, context, result.s_enc);
  if (st == Scp03Status::kOk) {
    st = KdfWith(mac, DerivationConstant::kSMac, mac_bits, context, result.s_mac);
  }
  if (st == Scp03Status::kOk) {
    st = KdfWith(mac, DerivationConstant::kSRMac, mac_bits, context, result.s_rmac);
  }
  if (st != Scp03Status::kOk) return st;
  out = std::move(result);
  return Scp03Status::kOk;
}

// §6.2.2.1: context = the 3-byte sequence counter || the security domain's AID.
Scp03Status ChallengeWith(const Prf& enc, uint32_t sequence_counter, ByteView sd_aid, SMode mode,
                          Bytes& out) {
  if (sequence_counter > 0xFFFFFF || sd_aid.size() < 5 || sd_aid.size() > 16) {
    return Scp03Status::kBadArgument;
  }
  Bytes context = {static_cast<uint8_t>(sequence_counter >> 16),
                   static_cast<uint8_t>(sequence_counter >> 8),
                   static_cast<uint8_t>(sequence_counter)};
  context.insert(context.end(), sd_aid.begin(), sd_aid.end());
  return KdfWith(enc, DerivationConstant::kCardChallenge, static_cast<uint16_t>(Length(mode) * 8),
                 context, out);
}

Prf KeyPrf(ByteView key) {
  return [key](ByteView input, Bytes& block) {
    return FromCrypto(crypto::AesCmac(key, input, block));
  };
}

}  // namespace

Scp03Status Kdf(ByteView key, DerivationConstant constant, uint16_t output_bits, ByteView context,
                Bytes& out) {
  if (!ValidAesKey(key)) return Scp03Status::kBadKey;
  return KdfWith(KeyPrf(key), constant, output_bits, context, out);
}

Scp03Status DeriveSessionKeys(const StaticKeys& keys, ByteView host_challenge,
                              ByteView card_challenge, SessionKeys& out) {
  if (!ValidAesKey(keys.enc) || !ValidAesKey(keys.mac)) return Scp03Status::kBadKey;
  return DeriveWith(KeyPrf(keys.enc), static_cast<uint16_t>(keys.enc.size() * 8), KeyPrf(keys.mac),
                    static_cast<uint16_t>(keys.mac.size() * 8), host_challenge, card_challenge,
                    out);
}

Scp03Status DeriveSessionKeys(KeyStore& keys, KeyHandle k_enc, KeyHandle k_mac,
                              ByteView host_challenge, ByteView card_challenge, SessionKeys& out) {
  const uint16_t enc_bits = StoredKeyBits(keys, k_enc);
  const uint16_t mac_bits = StoredKeyBits(keys, k_mac);
  if (enc_bits == 0 || mac_bits == 0) return Scp03Status::kBadKey;
  return DeriveWith(StorePrf(keys, k_enc), enc_bits, StorePrf(keys, k_mac), mac_bits,
                    host_challenge, card_challenge, out);
}

Scp03Status CardCryptogram(const SessionKeys& keys, ByteView host_challenge,
                           ByteView card_challenge, Bytes& out) {
  return Cryptogram(keys, DerivationConstant::kCardCryptogram, host_challenge, card_challenge, out);
}

Scp03Status HostCryptogram(const SessionKeys& keys, ByteView host_challenge,
                           ByteView card_challenge, Bytes& out) {
  return Cryptogram(keys, DerivationConstant::kHostCryptogram, host_challenge, card_challenge, out);
}

Scp03Status PseudoRandomCardChallenge(ByteView k_enc, uint32_t sequence_counter, ByteView sd_aid,
                                      SMode mode, Bytes& out) {
  if (!ValidAesKey(k_enc)) return Scp03Status::kBadKey;
  return ChallengeWith(KeyPrf(k_enc), sequence_counter, sd_aid, mode, out);
}

Scp03Status PseudoRandomCardChallenge(KeyStore& keys, KeyHandle k_enc, uint32_t sequence_counter,
                                      ByteView sd_aid, SMode mode, Bytes& out) {
  return ChallengeWith(StorePrf(keys, k_enc), sequence_counter, sd_aid, mode, out);
}

Bytes InitializeUpdateResponse::Encode() const {
  Bytes out(key_diversification_data.begin(), key_diversification_data.end());
  out.push_back(key_version);
  out.push_back(0x03);  // SCP identifier
  out.push_back(i);
  out.insert(out.end(), card_challenge.begin(), card_challenge.end());
  out.insert(out.end(), card_cryptogram.begin(), card_cryptogram.end());
  if (sequence_counter) {
    out.push_back(static_cast<uint8_t>(*sequence_counter >> 16));
    out.push_back(static_cast<uint8_t>(*sequence_counter >> 8));
    out.push_back(static_cast<uint8_t>(*sequence_counter));
  }
  return out;
}

// ---- secure messaging primitives --------------------------------------------------------------

void PadIso9797Method2(Bytes& data) {
  data.push_back(0x80);
  while (data.size() % kBlock != 0) data.push_back(0x00);
}

bool UnpadIso9797Method2(Bytes& data) {
  if (data.empty() || data.size() % kBlock != 0) return false;
  // The '80' is within the last block, followed by '00's only.
  size_t end = data.size();
  const size_t limit = data.size() - kBlock;
  while (end > limit && data[end - 1] == 0x00) --end;
  if (end == limit || data[end - 1] != 0x80) return false;
  data.resize(end - 1);
  return true;
}

Scp03Status ComputeCMac(ByteView s_mac, ByteView chaining_value, ByteView command_part,
                        Bytes& mac) {
  if (chaining_value.size() != kBlock) return Scp03Status::kBadArgument;
  Bytes input(chaining_value.begin(), chaining_value.end());
  input.insert(input.end(), command_part.begin(), command_part.end());
  return FromCrypto(crypto::AesCmac(s_mac, input, mac));
}

Scp03Status ComputeRMac(ByteView s_rmac, ByteView chaining_value, ByteView response_data,
                        uint16_t sw, Bytes& mac) {
  if (chaining_value.size() != kBlock) return Scp03Status::kBadArgument;
  Bytes input(chaining_value.begin(), chaining_value.end());
  input.insert(input.end(), response_data.begin(), response_data.end());
  input.push_back(static_cast<uint8_t>(sw >> 8));
  input.push_back(static_cast<uint8_t>(sw));
  return FromCrypto(crypto::AesCmac(s_rmac, input, mac));
}

Scp03Status EncryptCommandData(ByteView s_enc, uint64_t counter, ByteView plain, Bytes& out) {
  return Encrypt(s_enc, counter, /*response=*/false, plain, out);
}

Scp03Status DecryptCommandData(ByteView s_enc, uint64_t counter, ByteView cipher, Bytes& out) {
  return Decrypt(s_enc, counter, /*response=*/false, cipher, out);
}

Scp03Status EncryptResponseData(ByteView s_enc, uint64_t counter, ByteView plain, Bytes& out) {
  return Encrypt(s_enc, counter, /*response=*/true, plain, out);
}

Scp03Status DecryptResponseData(ByteView s_enc, uint64_t counter, ByteView cipher, Bytes& out) {
  return Decrypt(s_enc, counter, /*response=*/true, cipher, out);
}

// ---- Scp03Channel -----------------------------------------------------------------------------

Scp03Channel::~Scp03Channel() { Close(); }

Scp03Channel::Scp03Channel(Scp03Channel&& other) noexcept { *this = std::move(other); }

Scp03Channel& Scp03Channel::operator=(Scp03Channel&& other) noexcept {
  if (this != &other) {
    Close();
    state_ = other.state_;
    options_ = other.options_;
    keys_ = std::move(other.keys_);
    host_cryptogram_ = std::move(other.host_cryptogram_);
    card_cryptogram_ = std::move(other.card_cryptogram_);
    chaining_ = std::move(other.chaining_);
    counter_ = other.counter_;
    level_ = other.level_;
    response_pending_ = other.response_pending_;
    other.Close();
  }
  return *this;
}

void Scp03Channel::Close() {
  Wipe(keys_.s_enc);
  Wipe(keys_.s_mac);
  Wipe(keys_.s_rmac);
  Wipe(host_cryptogram_);
  card_cryptogram_.clear();
  chaining_.clear();
  state_ = State::kClosed;
  counter_ = 0;
  level_ = 0;
  response_pending_ = false;
}

Scp03Status Scp03Channel::Fail(Scp03Status status) {
  Close();
  return status;
}

Scp03Status Scp03Channel::Initialize(const StaticKeys& keys, ByteView host_challenge,
                                     ByteView card_challenge, const ChannelOptions& options) {
  Close();
  if (host_challenge.size() != Length(options.mode)) return Fail(Scp03Status::kBadArgument);
  return Start(DeriveSessionKeys(keys, host_challenge, card_challenge, keys_), host_challenge,
               card_challenge, options);
}

Scp03Status Scp03Channel::Initialize(KeyStore& keys, KeyHandle k_enc, KeyHandle k_mac,
                                     ByteView host_challenge, ByteView card_challenge,
                                     const ChannelOptions& options) {
  Close();
  if (host_challenge.size() != Length(options.mode)) return Fail(Scp03Status::kBadArgument);
  return Start(DeriveSessionKeys(keys, k_enc, k_mac, host_challenge, card_challenge, keys_),
               host_challenge, card_challenge, options);
}

Scp03Status Scp03Channel::Start(Scp03Status derived, ByteView host_challenge,
                                ByteView card_challenge, const ChannelOptions& options) {
  Scp03Status st = derived;
  if (st == Scp03Status::kOk) {
    st = CardCryptogram(keys_, host_challenge, card_challenge, card_cryptogram_);
  }
  if (st == Scp03Status::kOk) {
    st = HostCryptogram(keys_, host_challenge, card_challenge, host_cryptogram_);
  }
  if (st != Scp03Status::kOk) return Fail(st);
  options_ = options;
  state_ = State::kAwaitingAuthentication;
  return Scp03Status::kOk;
}

Scp03Status Scp03Channel::ExternalAuthenticate(ByteView command) {
  if (state_ != State::kAwaitingAuthentication) return Fail(Scp03Status::kWrongState);
  SecuredCommand c;
  ClassBits bits;
  const size_t s = Length(options_.mode);
  if (!ParseSecured(command, c) || !DecodeClass(c.cla, bits) || c.ins != kInsExternalAuthenticate ||
      c.extended || !c.le_field.empty() || c.body.size() != 2 * s) {
    return Fail(Scp03Status::kMalformedApdu);
  }
  if (bits.sm != Indication::kGlobalPlatform) return Fail(Scp03Status::kNoSecureMessaging);
  const ByteView cryptogram = c.body.first(s);
  const ByteView received_mac = c.body.subspan(s);
  // §6.2.3: the first C-MAC of the session is computed from a chaining value of 16 '00' bytes.
  Bytes mac;
  Scp03Status st = ComputeCMac(keys_.s_mac, Bytes(kBlock, 0x00), MacInput(c, cryptogram), mac);
  if (st != Scp03Status::kOk) return Fail(st);
  const bool mac_ok = crypto::ConstantTimeEqual(ByteView(mac).first(s), received_mac);
  const bool cryptogram_ok = crypto::ConstantTimeEqual(host_cryptogram_, cryptogram);
  if (!mac_ok) return Fail(Scp03Status::kMacMismatch);
  if (!cryptogram_ok) return Fail(Scp03Status::kCryptogramMismatch);
  const uint8_t level = c.p1;
  const bool refused =
      !IsSupportedSecurityLevel(level) || c.p2 != 0x00 ||
      ((level & kLevelRMac) != 0 && (options_.i & kIRMacSupported) == 0) ||
      ((level & kLevelREncryption) != 0 && (options_.i & kIREncryptionSupported) == 0);
  if (refused) return Fail(Scp03Status::kSecurityLevelRefused);
  Wipe(host_cryptogram_);
  chaining_ = std::move(mac);
  counter_ = 0;
  level_ = level;
  response_pending_ = false;
  state_ = State::kOpen;
  return Scp03Status::kOk;
}

Scp03Status Scp03Channel::UnwrapCommand(ByteView command, Bytes& plain) {
  if (state_ != State::kOpen) return Fail(Scp03Status::kWrongState);
  response_pending_ = false;
  SecuredCommand c;
  ClassBits bits;
  const size_t s = Length(options_.mode);
  if (!ParseSecured(command, c) || !DecodeClass(c.cla, bits) || c.body.size() < s) {
    return Fail(Scp03Status::kMalformedApdu);
  }
  if (bits.sm != Indication::kGlobalPlatform) return Fail(Scp03Status::kNoSecureMessaging);
  const ByteView data = c.body.first(c.body.size() - s);
  const ByteView received_mac = c.body.subspan(c.body.size() - s);
  Bytes mac;
  Scp03Status st = ComputeCMac(keys_.s_mac, chaining_, MacInput(c, data), mac);
  if (st != Scp03Status::kOk) return Fail(st);
  if (!crypto::ConstantTimeEqual(ByteView(mac).first(s), received_mac)) {
    return Fail(Scp03Status::kMacMismatch);
  }
  chaining_ = std::move(mac);
  // §6.2.6: the counter moves with every command, with or without a data field to decrypt.
  ++counter_;
  Bytes payload(data.begin(), data.end());
  if ((level_ & kLevelCDecryption) != 0 && !data.empty()) {
    st = DecryptCommandData(keys_.s_enc, counter_, data, payload);
    if (st != Scp03Status::kOk) return Fail(st);
    // A command without data is sent unencrypted; an encrypted empty field is not SCP03.
    if (payload.empty()) return Fail(Scp03Status::kBadPadding);
  }
  plain = PlainCommand(c, PlainClass(c.cla, bits), payload);
  response_pending_ = true;
  return Scp03Status::kOk;
}

Scp03Status Scp03Channel::WrapResponse(ByteView data, uint16_t sw, Bytes& out) {
  if (state_ != State::kOpen || !response_pending_) return Fail(Scp03Status::kWrongState);
  response_pending_ = false;
  Bytes body(data.begin(), data.end());
  if ((level_ & kLevelRMac) == 0) {
    out = std::move(body);
    return Scp03Status::kOk;
  }
  // §6.2.5: an error status word goes alone, without R-MAC and without data.
  if (!IsSuccessOrWarning(sw)) {
    out.clear();
    return Scp03Status::kOk;
  }
  if ((level_ & kLevelREncryption) != 0 && !body.empty()) {
    Bytes cipher;
    Scp03Status st = EncryptResponseData(keys_.s_enc, counter_, body, cipher);
    if (st != Scp03Status::kOk) return Fail(st);
    body = std::move(cipher);
  }
  Bytes mac;
  Scp03Status st = ComputeRMac(keys_.s_rmac, chaining_, body, sw, mac);
  if (st != Scp03Status::kOk) return Fail(st);
  body.insert(body.end(), mac.begin(),
              mac.begin() + static_cast<std::ptrdiff_t>(Length(options_.mode)));
  out = std::move(body);
  return Scp03Status::kOk;
}

}  // namespace dmcard::gp
