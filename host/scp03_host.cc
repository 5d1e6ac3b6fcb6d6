// Host-side SCP03 on OpenSSL 3 (EVP_Q_mac for AES-CMAC, EVP_CIPHER for AES-ECB/CBC).
#include "host/scp03_host.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <utility>

namespace dmcard {
namespace {

constexpr size_t kBlock = 16;

const uint8_t* Ptr(ByteView v) {
  static const uint8_t kNothing = 0;
  return v.empty() ? &kNothing : v.data();
}

std::string AesName(size_t key_size, const char* mode) {
  if (key_size != 16 && key_size != 24 && key_size != 32) {
    throw HostScp03Error("SCP03: AES key of " + std::to_string(key_size) + " bytes");
  }
  return "AES-" + std::to_string(key_size * 8) + "-" + mode;
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
struct CipherFree {
  void operator()(EVP_CIPHER* c) const { EVP_CIPHER_free(c); }
};

// AES in ECB or CBC mode without padding; `in` is whole blocks.
Bytes AesRaw(const char* mode, bool encrypt, ByteView key, ByteView iv, ByteView in) {
  const std::string name = AesName(key.size(), mode);
  std::unique_ptr<EVP_CIPHER, CipherFree> cipher(EVP_CIPHER_fetch(nullptr, name.c_str(), nullptr));
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  Bytes out(in.size() + kBlock);
  int n1 = 0;
  int n2 = 0;
  const bool ok =
      cipher && ctx &&
      EVP_CipherInit_ex2(ctx.get(), cipher.get(), key.data(), iv.empty() ? nullptr : iv.data(),
                         encrypt ? 1 : 0, nullptr) == 1 &&
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 &&
      EVP_CipherUpdate(ctx.get(), out.data(), &n1, Ptr(in), static_cast<int>(in.size())) == 1 &&
      EVP_CipherFinal_ex(ctx.get(), out.data() + n1, &n2) == 1;
  if (!ok) throw HostScp03Error("SCP03: OpenSSL " + name + " failed");
  out.resize(static_cast<size_t>(n1 + n2));
  return out;
}

Bytes Cat(ByteView a, ByteView b) {
  Bytes out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

// ISO/IEC 9797-1 method 2 to whole AES blocks.
Bytes Pad(ByteView data) {
  Bytes out(data.begin(), data.end());
  out.push_back(0x80);
  out.resize((out.size() + kBlock - 1) / kBlock * kBlock, 0x00);
  return out;
}

Bytes Unpad(Bytes data) {
  size_t n = data.size();
  while (n > 0 && data[n - 1] == 0x00) --n;
  if (n == 0 || data[n - 1] != 0x80 || data.size() - n >= kBlock) {
    throw HostScp03Error("SCP03: response data not padded '80 00..'");
  }
  data.resize(n - 1);
  return data;
}

// Amendment D §6.2.6 / §6.2.7: AES(S-ENC, counter block); '80' first for responses.
Bytes CounterIcv(ByteView s_enc, uint64_t counter, bool response) {
  Bytes block(kBlock, 0x00);
  for (int i = 0; i < 8; ++i) block[15 - i] = static_cast<uint8_t>(counter >> (8 * i));
  if (response) block[0] = 0x80;
  return AesRaw("ECB", true, s_enc, {}, block);
}

// A plain C-APDU split into its parts (ISO/IEC 7816-3 §12.1.3).
struct PlainApdu {
  uint8_t header[4] = {};
  Bytes data;
  bool has_le = false;
  size_t ne = 0;  // 1..65536 when has_le
  bool extended = false;
};

PlainApdu Split(ByteView raw) {
  PlainApdu a;
  if (raw.size() < 4) throw HostScp03Error("SCP03: C-APDU shorter than its header");
  std::copy(raw.begin(), raw.begin() + 4, a.header);
  const ByteView body = raw.subspan(4);
  if (body.empty()) return a;  // case 1
  if (body.size() == 1) {      // case 2S
    a.has_le = true;
    a.ne = body[0] == 0 ? 256 : body[0];
    return a;
  }
  if (body[0] != 0) {  // case 3S / 4S
    const size_t lc = body[0];
    if (body.size() != 1 + lc && body.size() != 2 + lc) {
      throw HostScp03Error("SCP03: short Lc does not match the body");
    }
    a.data.assign(body.begin() + 1, body.begin() + 1 + static_cast<std::ptrdiff_t>(lc));
    if (body.size() == 2 + lc) {
      a.has_le = true;
      a.ne = body.back() == 0 ? 256 : body.back();
    }
    return a;
  }
  a.extended = true;
  if (body.size() == 3) {  // case 2E
    a.has_le = true;
    const size_t le = (size_t{body[1]} << 8) | body[2];
    a.ne = le == 0 ? 65536 : le;
    return a;
  }
  if (body.size() < 4) throw HostScp03Error("SCP03: truncated extended length");
  const size_t lc = (size_t{body[1]} << 8) | body[2];
  if (lc == 0 || (body.size() != 3 + lc && body.size() != 5 + lc)) {
    throw HostScp03Error("SCP03: extended Lc does not match the body");
  }
  a.data.assign(body.begin() + 3, body.begin() + 3 + static_cast<std::ptrdiff_t>(lc));
  if (body.size() == 5 + lc) {
    a.has_le = true;
    const size_t le = (size_t{body[body.size() - 2]} << 8) | body.back();
    a.ne = le == 0 ? 65536 : le;
  }
  return a;
}

bool FurtherClass(uint8_t cla) { return (cla & 0x40) != 0; }

}  // namespace

HostScp03::HostScp03(HostScp03Keys keys, size_t s) : keys_(std::move(keys)), s_(s) {
  if (s_ != 8 && s_ != 16) throw HostScp03Error("SCP03: S8 or S16 only");
}

Bytes HostScp03::EncryptSensitiveData(ByteView dek, ByteView plain) {
  static constexpr uint8_t kZeroIcv[kBlock] = {};
  return AesRaw("CBC", true, dek, kZeroIcv, Pad(plain));
}

Bytes HostScp03::AesCmac(ByteView key, ByteView data) {
  const std::string cipher = AesName(key.size(), "CBC");
  Bytes out(kBlock);
  size_t len = 0;
  if (EVP_Q_mac(nullptr, "CMAC", nullptr, cipher.c_str(), nullptr, key.data(), key.size(),
                Ptr(data), data.size(), out.data(), out.size(), &len) == nullptr ||
      len != kBlock) {
    throw HostScp03Error("SCP03: OpenSSL CMAC failed");
  }
  return out;
}

Bytes HostScp03::Kdf(ByteView key, uint8_t constant, size_t bits, ByteView context) {
  // Amendment D §4.1.5: 12-byte label (11 x '00', constant), '00', L (16 bits), i, context.
  Bytes out;
  for (uint8_t i = 1; out.size() * 8 < bits; ++i) {
    Bytes input(11, 0x00);
    input.insert(input.end(),
                 {constant, 0x00, static_cast<uint8_t>(bits >> 8), static_cast<uint8_t>(bits), i});
    input.insert(input.end(), context.begin(), context.end());
    const Bytes block = AesCmac(key, input);
    out.insert(out.end(), block.begin(), block.end());
  }
  out.resize(bits / 8);
  return out;
}

Bytes HostScp03::InitializeUpdate(uint8_t kvn, ByteView host_challenge, uint8_t channel) {
  if (host_challenge.size() != s_) throw HostScp03Error("SCP03: host challenge length");
  if (channel > 19) throw HostScp03Error("SCP03: logical channel above 19");
  channel_ = channel;
  host_challenge_.assign(host_challenge.begin(), host_challenge.end());
  const uint8_t cla = channel < 4 ? static_cast<uint8_t>(0x80 | channel)
                                  : static_cast<uint8_t>(0xC0 | (channel - 4));
  Bytes apdu = {cla, 0x50, kvn, 0x00, static_cast<uint8_t>(s_)};
  apdu.insert(apdu.end(), host_challenge.begin(), host_challenge.end());
  apdu.push_back(0x00);
  return apdu;
}

void HostScp03::ReadInitializeUpdateResponse(ByteView response, ByteView sd_aid) {
  // Key diversification data (10), KVN, '03', i, card challenge, card cryptogram [, counter].
  const size_t base = 13 + 2 * s_;
  if (response.size() != base && response.size() != base + 3) {
    throw HostScp03Error("SCP03: INITIALIZE UPDATE response of unexpected length");
  }
  if (response[11] != 0x03) throw HostScp03Error("SCP03: not an SCP03 key set");
  i_ = response[12];
  card_challenge_.assign(response.begin() + 13, response.begin() + 13 + s_);
  const ByteView card_cryptogram = response.subspan(13 + s_, s_);
  if (response.size() == base + 3) {
    sequence_counter_ =
        (uint32_t{response[base]} << 16) | (uint32_t{response[base + 1]} << 8) | response[base + 2];
  }
  if ((i_ & 0x10) != 0 && !sd_aid.empty()) {
    if (response.size() != base + 3) throw HostScp03Error("SCP03: sequence counter missing");
    const Bytes context = Cat(response.subspan(base, 3), sd_aid);
    if (Kdf(keys_.enc, 0x02, s_ * 8, context) != card_challenge_) {
      throw HostScp03Error("SCP03: card challenge is not the pseudo-random one");
    }
  }
  const Bytes context = Cat(host_challenge_, card_challenge_);
  s_enc_ = Kdf(keys_.enc, 0x04, keys_.enc.size() * 8, context);
  s_mac_ = Kdf(keys_.mac, 0x06, keys_.mac.size() * 8, context);
  s_rmac_ = Kdf(keys_.mac, 0x07, keys_.mac.size() * 8, context);
  const Bytes expected = Kdf(s_mac_, 0x00, s_ * 8, context);
  if (!std::equal(expected.begin(), expected.end(), card_cryptogram.begin(),
                  card_cryptogram.end())) {
    throw HostScp03Error("SCP03: card cryptogram does not verify");
  }
  host_cryptogram_ = Kdf(s_mac_, 0x01, s_ * 8, context);
}

Bytes HostScp03::NextCMac(ByteView part) {
  chaining_ = AesCmac(s_mac_, Cat(chaining_, part));
  return Bytes(chaining_.begin(), chaining_.begin() + static_cast<std::ptrdiff_t>(s_));
}

Bytes HostScp03::ExternalAuthenticate(uint8_t level) {
  if (s_mac_.empty()) throw HostScp03Error("SCP03: no INITIALIZE UPDATE response read");
  level_ = level;
  counter_ = 0;
  chaining_.assign(kBlock, 0x00);
  const uint8_t cla = channel_ < 4 ? static_cast<uint8_t>(0x84 | channel_)
                                   : static_cast<uint8_t>(0xE0 | (channel_ - 4));
  const uint8_t lc = static_cast<uint8_t>(2 * s_);
  // The MAC sees the class byte of channel 0 (Amendment D §6.2.4).
  Bytes part = {0x84, 0x82, level, 0x00, lc};
  part.insert(part.end(), host_cryptogram_.begin(), host_cryptogram_.end());
  const Bytes mac = NextCMac(part);
  Bytes apdu = {cla, 0x82, level, 0x00, lc};
  apdu.insert(apdu.end(), host_cryptogram_.begin(), host_cryptogram_.end());
  apdu.insert(apdu.end(), mac.begin(), mac.end());
  return apdu;
}

Bytes HostScp03::Wrap(ByteView plain) {
  if (chaining_.empty()) throw HostScp03Error("SCP03: channel not authenticated");
  PlainApdu a = Split(plain);
  const uint8_t cla = a.header[0];
  ++counter_;
  Bytes data = a.data;
  if ((level_ & 0x02) != 0 && !data.empty()) {
    data = AesRaw("CBC", true, s_enc_, CounterIcv(s_enc_, counter_, false), Pad(data));
  }
  const size_t lc = data.size() + s_;
  const bool extended = a.extended || lc > 255 || a.ne > 256;
  if (lc > 65535) throw HostScp03Error("SCP03: wrapped data too long");
  Bytes lc_field;
  if (extended) {
    lc_field = {0x00, static_cast<uint8_t>(lc >> 8), static_cast<uint8_t>(lc)};
  } else {
    lc_field = {static_cast<uint8_t>(lc)};
  }
  // MAC over: CLA with channel zero and GP's SM bit (b8 and chaining b5 kept), INS P1 P2, Lc.
  Bytes part = {static_cast<uint8_t>((cla & 0x90) | 0x04), a.header[1], a.header[2], a.header[3]};
  part.insert(part.end(), lc_field.begin(), lc_field.end());
  part.insert(part.end(), data.begin(), data.end());
  const Bytes mac = NextCMac(part);
  const uint8_t wire_cla =
      FurtherClass(cla) ? static_cast<uint8_t>(cla | 0x20) : static_cast<uint8_t>(cla | 0x04);
  Bytes out = {wire_cla, a.header[1], a.header[2], a.header[3]};
  out.insert(out.end(), lc_field.begin(), lc_field.end());
  out.insert(out.end(), data.begin(), data.end());
  out.insert(out.end(), mac.begin(), mac.end());
  if (a.has_le) {
    if (extended) {
      const size_t le = a.ne == 65536 ? 0 : a.ne;
      out.push_back(static_cast<uint8_t>(le >> 8));
      out.push_back(static_cast<uint8_t>(le));
    } else {
      out.push_back(static_cast<uint8_t>(a.ne == 256 ? 0 : a.ne));
    }
  }
  return out;
}

Bytes HostScp03::EncryptForNextCommand(ByteView blocks) const {
  return AesRaw("CBC", true, s_enc_, CounterIcv(s_enc_, counter_ + 1, false), blocks);
}

Bytes HostScp03::WrapWithWireData(ByteView header, ByteView wire_data) {
  if (header.size() != 4 || wire_data.size() + s_ > 255) {
    throw HostScp03Error("SCP03: WrapWithWireData takes a header and a short data field");
  }
  ++counter_;
  const uint8_t cla = header[0];
  const uint8_t lc = static_cast<uint8_t>(wire_data.size() + s_);
  Bytes part = {static_cast<uint8_t>((cla & 0x90) | 0x04), header[1], header[2], header[3], lc};
  part.insert(part.end(), wire_data.begin(), wire_data.end());
  const Bytes mac = NextCMac(part);
  Bytes out = {
      FurtherClass(cla) ? static_cast<uint8_t>(cla | 0x20) : static_cast<uint8_t>(cla | 0x04),
      header[1], header[2], header[3], lc};
  out.insert(out.end(), wire_data.begin(), wire_data.end());
  out.insert(out.end(), mac.begin(), mac.end());
  return out;
}

Bytes HostScp03::Unwrap(ByteView response, uint16_t sw) {
  if ((level_ & 0x10) == 0) return Bytes(response.begin(), response.end());
  const bool success = sw == 0x9000 || (sw >> 8) == 0x62 || (sw >> 8) == 0x63;
  if (!success) {
    if (!response.empty()) throw HostScp03Error("SCP03: data with an error status word");
    return {};
  }
  if (response.size() < s_) throw HostScp03Error("SCP03: response shorter than its R-MAC");
  const ByteView body = response.first(response.size() - s_);
  Bytes input = Cat(chaining_, body);
  input.push_back(static_cast<uint8_t>(sw >> 8));
  input.push_back(static_cast<uint8_t>(sw));
  const Bytes rmac = AesCmac(s_rmac_, input);
  if (!std::equal(rmac.begin(), rmac.begin() + static_cast<std::ptrdiff_t>(s_),
                  response.begin() + static_cast<std::ptrdiff_t>(body.size()))) {
    throw HostScp03Error("SCP03: R-MAC does not verify");
  }
  if ((level_ & 0x20) == 0 || body.empty()) return Bytes(body.begin(), body.end());
  if (body.size() % kBlock != 0) throw HostScp03Error("SCP03: R-ENC data not whole blocks");
  return Unpad(AesRaw("CBC", false, s_enc_, CounterIcv(s_enc_, counter_, true), body));
}

}  // namespace dmcard
