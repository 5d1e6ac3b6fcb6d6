// CTR_DRBG (SP 800-90A, AES-256 with derivation function) on mbed TLS.
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/platform_util.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "crypto/crypto.h"
#include "crypto/mbedtls_util.h"

namespace dmcard::crypto {
namespace {

using internal::DataOrEmpty;

int SystemEntropy(void* /*unused*/, unsigned char* out, size_t len) {
  size_t done = 0;
  while (done < len) {
    const ssize_t n = getrandom(out + done, len - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
    }
    done += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

struct Drbg::Impl {
  Impl() { mbedtls_ctr_drbg_init(&ctx); }
  ~Impl() {
    mbedtls_ctr_drbg_free(&ctx);
    if (!seed.empty()) mbedtls_platform_zeroize(seed.data(), seed.size());
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Entropy callback of a FromSeed() DRBG. The instantiation reads exactly `entropy` and then
  // `nonce` (mbed TLS asks for entropy_len, then nonce_len bytes), so the seed material is
  // entropy || nonce || personalization as in SP 800-90A 10.2.1.3.2. A later reseed (explicit or
  // after the reseed interval) gets `entropy` again: a test DRBG has no other source, and this
  // keeps two identically seeded DRBGs in lockstep.
  static int SeedEntropy(void* p, unsigned char* out, size_t len) {
    auto* self = static_cast<Impl*>(p);
    if (self->instantiated) {
      if (len > self->entropy_len) return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
      std::memcpy(out, self->seed.data(), len);
      return 0;
    }
    if (len > self->seed.size() - self->seed_pos) return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
    std::memcpy(out, self->seed.data() + self->seed_pos, len);
    self->seed_pos += len;
    return 0;
  }

  mbedtls_ctr_drbg_context ctx;
  Bytes seed;  // entropy || nonce (FromSeed only)
  size_t entropy_len = 0;
  size_t seed_pos = 0;
  bool instantiated = false;
};

Drbg::Drbg(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Drbg::~Drbg() = default;

std::unique_ptr<Drbg> Drbg::FromSystem() {
  static constexpr unsigned char kPersonalization[] = "dmcard card CTR_DRBG";
  auto impl = std::make_unique<Impl>();
  // Default entropy length (48 bytes, which also covers the nonce for AES-256).
  if (mbedtls_ctr_drbg_seed(&impl->ctx, SystemEntropy, nullptr, kPersonalization,
                            sizeof(kPersonalization) - 1) != 0) {
    return nullptr;
  }
  impl->instantiated = true;
  return std::unique_ptr<Drbg>(new Drbg(std::move(impl)));
}

std::unique_ptr<Drbg> Drbg::FromSeed(ByteView entropy, ByteView nonce, ByteView personalization) {
  // mbed TLS treats an entropy length of 0 as "use the default", so empty entropy cannot be
  // honoured exactly; the total seed material is bounded by MBEDTLS_CTR_DRBG_MAX_SEED_INPUT.
  if (entropy.empty()) return nullptr;
  if (entropy.size() + nonce.size() + personalization.size() > MBEDTLS_CTR_DRBG_MAX_SEED_INPUT) {
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  impl->seed.assign(entropy.begin(), entropy.end());
  impl->seed.insert(impl->seed.end(), nonce.begin(), nonce.end());
  impl->entropy_len = entropy.size();
  mbedtls_ctr_drbg_set_entropy_len(&impl->ctx, entropy.size());
  if (mbedtls_ctr_drbg_set_nonce_len(&impl->ctx, nonce.size()) != 0) return nullptr;
  if (mbedtls_ctr_drbg_seed(&impl->ctx, Impl::SeedEntropy, impl.get(), DataOrEmpty(personalization),
                            personalization.size()) != 0) {
    return nullptr;
  }
  if (impl->seed_pos != impl->seed.size()) return nullptr;  // not all of the seed was consumed
  impl->instantiated = true;
  return std::unique_ptr<Drbg>(new Drbg(std::move(impl)));
}

CryptoStatus Drbg::Generate(std::span<uint8_t> out, ByteView additional) {
  if (additional.size() > MBEDTLS_CTR_DRBG_MAX_INPUT) return CryptoStatus::kBadInput;
  // mbed TLS caps one request at MBEDTLS_CTR_DRBG_MAX_REQUEST bytes; longer outputs take several
  // requests, the additional input going with the first.
  size_t done = 0;
  bool first = true;
  do {
    const size_t chunk = std::min<size_t>(out.size() - done, MBEDTLS_CTR_DRBG_MAX_REQUEST);
    unsigned char scratch = 0;
    unsigned char* dst = chunk == 0 ? &scratch : out.data() + done;
    const ByteView add = first ? additional : ByteView{};
    if (mbedtls_ctr_drbg_random_with_add(&impl_->ctx, dst, chunk, DataOrEmpty(add), add.size()) !=
        0) {
      return CryptoStatus::kInternal;
    }
    done += chunk;
    first = false;
  } while (done < out.size());
  return CryptoStatus::kOk;
}

CryptoStatus Drbg::Reseed(ByteView additional) {
  if (additional.size() > MBEDTLS_CTR_DRBG_MAX_SEED_INPUT - impl_->ctx.entropy_len) {
    return CryptoStatus::kBadInput;
  }
  if (mbedtls_ctr_drbg_reseed(&impl_->ctx, DataOrEmpty(additional), additional.size()) != 0) {
    return CryptoStatus::kInternal;
  }
  return CryptoStatus::kOk;
}

}  // namespace dmcard::crypto
