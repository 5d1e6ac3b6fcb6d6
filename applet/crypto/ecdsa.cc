// ECDSA over NIST P-256 (FIPS 186-4; deterministic nonces per RFC 6979) on mbed TLS, plus the
// DER <-> raw r||s conversions of the ECDSA-Sig-Value (SEC 1, C.5).
#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>

#include <algorithm>

#include "crypto/crypto.h"
#include "crypto/mbedtls_util.h"

namespace dmcard::crypto {
namespace {

constexpr size_t kScalarLen = 32;
constexpr size_t kPublicKeyLen = 1 + 2 * kScalarLen;
constexpr size_t kRawSigLen = 2 * kScalarLen;
constexpr size_t kMaxDigestLen = MBEDTLS_MD_MAX_SIZE;

class Mpi {
 public:
  Mpi() { mbedtls_mpi_init(&v_); }
  ~Mpi() { mbedtls_mpi_free(&v_); }
  Mpi(const Mpi&) = delete;
  Mpi& operator=(const Mpi&) = delete;
  mbedtls_mpi* get() { return &v_; }

 private:
  mbedtls_mpi v_;
};

class Point {
 public:
  Point() { mbedtls_ecp_point_init(&p_); }
  ~Point() { mbedtls_ecp_point_free(&p_); }
  Point(const Point&) = delete;
  Point& operator=(const Point&) = delete;
  mbedtls_ecp_point* get() { return &p_; }

 private:
  mbedtls_ecp_point p_;
};

class P256Group {
 public:
  P256Group() {
    mbedtls_ecp_group_init(&g_);
    ok_ = mbedtls_ecp_group_load(&g_, MBEDTLS_ECP_DP_SECP256R1) == 0;
  }
  ~P256Group() { mbedtls_ecp_group_free(&g_); }
  P256Group(const P256Group&) = delete;
  P256Group& operator=(const P256Group&) = delete;
  bool ok() const { return ok_; }
  mbedtls_ecp_group* get() { return &g_; }

 private:
  mbedtls_ecp_group g_;
  bool ok_ = false;
};

// f_rng adapter for mbed TLS: draws from a Drbg.
int DrbgRandom(void* p, unsigned char* out, size_t len) {
  auto* rng = static_cast<Drbg*>(p);
  return rng->Generate(std::span<uint8_t>(out, len)) == CryptoStatus::kOk
             ? 0
             : MBEDTLS_ERR_ECP_RANDOM_FAILED;
}

// Private key: 32 bytes big-endian, 1 <= d < n.
CryptoStatus LoadPrivate(P256Group& group, ByteView private_key, Mpi& d) {
  if (private_key.size() != kScalarLen) return CryptoStatus::kBadKey;
  if (mbedtls_mpi_read_binary(d.get(), private_key.data(), private_key.size()) != 0) {
    return CryptoStatus::kInternal;
  }
  const int rc = mbedtls_ecp_check_privkey(group.get(), d.get());
  if (rc == MBEDTLS_ERR_ECP_INVALID_KEY) return CryptoStatus::kBadKey;
  return rc == 0 ? CryptoStatus::kOk : CryptoStatus::kInternal;
}

// Public key: 04 || X || Y, a point on the curve (not the point at infinity).
CryptoStatus LoadPublic(P256Group& group, ByteView public_key, Point& q) {
  if (public_key.size() != kPublicKeyLen || public_key[0] != 0x04) return CryptoStatus::kBadKey;
  const int rc =
      mbedtls_ecp_point_read_binary(group.get(), q.get(), public_key.data(), public_key.size());
  if (rc == MBEDTLS_ERR_ECP_BAD_INPUT_DATA || rc == MBEDTLS_ERR_ECP_FEATURE_UNAVAILABLE) {
    return CryptoStatus::kBadKey;
  }
  if (rc != 0) return CryptoStatus::kInternal;
  const int check = mbedtls_ecp_check_pubkey(group.get(), q.get());
  if (check == MBEDTLS_ERR_ECP_INVALID_KEY) return CryptoStatus::kBadKey;
  return check == 0 ? CryptoStatus::kOk : CryptoStatus::kInternal;
}

CryptoStatus WritePublic(P256Group& group, Point& q, Bytes& out) {
  Bytes buf(kPublicKeyLen);
  size_t olen = 0;
  if (mbedtls_ecp_point_write_binary(group.get(), q.get(), MBEDTLS_ECP_PF_UNCOMPRESSED, &olen,
                                     buf.data(), buf.size()) != 0 ||
      olen != kPublicKeyLen) {
    return CryptoStatus::kInternal;
  }
  out = std::move(buf);
  return CryptoStatus::kOk;
}

CryptoStatus WriteScalar(Mpi& v, uint8_t* out) {
  return mbedtls_mpi_write_binary(v.get(), out, kScalarLen) == 0 ? CryptoStatus::kOk
                                                                 : CryptoStatus::kInternal;
}

CryptoStatus WriteRawSignature(Mpi& r, Mpi& s, Bytes& sig) {
  Bytes buf(kRawSigLen);
  if (WriteScalar(r, buf.data()) != CryptoStatus::kOk ||
      WriteScalar(s, buf.data() + kScalarLen) != CryptoStatus::kOk) {
    return CryptoStatus::kInternal;
  }
  sig = std::move(buf);
  return CryptoStatus::kOk;
}

bool DigestLengthOk(ByteView digest) { return !digest.empty() && digest.size() <= kMaxDigestLen; }

// --- DER helpers -------------------------------------------------------------------------------

// Appends the DER INTEGER for a non-negative big-endian magnitude.
void AppendDerInteger(Bytes& out, ByteView magnitude) {
  size_t start = 0;
  while (start < magnitude.size() && magnitude[start] == 0) ++start;
  const ByteView v = magnitude.subspan(start);
  const bool pad = v.empty() || (v[0] & 0x80) != 0;  // zero is encoded as a single 00 byte
  out.push_back(0x02);
  out.push_back(static_cast<uint8_t>(v.size() + (pad ? 1 : 0)));
  if (pad) out.push_back(0x00);
  out.insert(out.end(), v.begin(), v.end());
}

// Reads one DER INTEGER at `pos` holding a non-negative value of at most 32 bytes; writes it
// right-aligned into `out` (32 bytes). Strict DER: short-form length, minimal encoding.
bool ReadDerInteger(ByteView der, size_t& pos, uint8_t* out) {
  if (der.size() - pos < 2 || der[pos] != 0x02) return false;
  const size_t len = der[pos + 1];
  pos += 2;
  if ((len & 0x80) != 0 || len == 0 || der.size() - pos < len) return false;
  ByteView v = der.subspan(pos, len);
  pos += len;
  if ((v[0] & 0x80) != 0) return false;                                  // negative
  if (v.size() > 1 && v[0] == 0x00 && (v[1] & 0x80) == 0) return false;  // non-minimal
  if (v[0] == 0x00 && v.size() > 1) v = v.subspan(1);
  if (v.size() > kScalarLen) return false;
  std::fill(out, out + kScalarLen, uint8_t{0});
  std::copy(v.begin(), v.end(), out + (kScalarLen - v.size()));
  return true;
}

}  // namespace

CryptoStatus EcP256Generate(Drbg& rng, EcP256KeyPair& out) {
  P256Group group;
  if (!group.ok()) return CryptoStatus::kInternal;
  Mpi d;
  Point q;
  if (mbedtls_ecp_gen_keypair(group.get(), d.get(), q.get(), DrbgRandom, &rng) != 0) {
    return CryptoStatus::kInternal;
  }
  EcP256KeyPair pair;
  pair.private_key.resize(kScalarLen);
  if (WriteScalar(d, pair.private_key.data()) != CryptoStatus::kOk ||
      WritePublic(group, q, pair.public_key) != CryptoStatus::kOk) {
    return CryptoStatus::kInternal;
  }
  out = std::move(pair);
  return CryptoStatus::kOk;
}

CryptoStatus EcP256PublicFromPrivate(ByteView private_key, Bytes& public_key) {
  P256Group group;
  if (!group.ok()) return CryptoStatus::kInternal;
  Mpi d;
  CryptoStatus st = LoadPrivate(group, private_key, d);
  if (st != CryptoStatus::kOk) return st;
  // The scalar multiplication is blinded with fresh randomness.
  std::unique_ptr<Drbg> blind = Drbg::FromSystem();
  if (!blind) return CryptoStatus::kInternal;
  Point q;
  if (mbedtls_ecp_mul(group.get(), q.get(), d.get(), &group.get()->G, DrbgRandom, blind.get()) !=
      0) {
    return CryptoStatus::kInternal;
  }
  return WritePublic(group, q, public_key);
}

CryptoStatus EcdsaP256SignDigest(ByteView private_key, ByteView digest, Drbg& rng, Bytes& sig) {
  P256Group group;
  if (!group.ok()) return CryptoStatus::kInternal;
  Mpi d;
  CryptoStatus st = LoadPrivate(group, private_key, d);
  if (st != CryptoStatus::kOk) return st;
  if (!DigestLengthOk(digest)) return CryptoStatus::kBadInput;
  Mpi r, s;
  if (mbedtls_ecdsa_sign(group.get(), r.get(), s.get(), d.get(), digest.data(), digest.size(),
                         DrbgRandom, &rng) != 0) {
    return CryptoStatus::kInternal;
  }
  return WriteRawSignature(r, s, sig);
}

CryptoStatus EcdsaP256SignDigestDeterministic(ByteView private_key, ByteView digest, HashAlg alg,
                                              Bytes& sig) {
  P256Group group;
  if (!group.ok()) return CryptoStatus::kInternal;
  Mpi d;
  CryptoStatus st = LoadPrivate(group, private_key, d);
  if (st != CryptoStatus::kOk) return st;
  const mbedtls_md_type_t md = internal::MdType(alg);
  if (md == MBEDTLS_MD_NONE) return CryptoStatus::kBadInput;  // MD5: never for signatures
  const mbedtls_md_info_t* info = mbedtls_md_info_from_type(md);
  if (info == nullptr) return CryptoStatus::kInternal;
  // RFC 6979 runs HMAC with `alg` over the digest, so the digest must be one made with `alg`.
  if (digest.size() != mbedtls_md_get_size(info)) return CryptoStatus::kBadInput;
  // The nonce is deterministic; the extra RNG only blinds the scalar multiplication.
  std::unique_ptr<Drbg> blind = Drbg::FromSystem();
  if (!blind) return CryptoStatus::kInternal;
  Mpi r, s;
  if (mbedtls_ecdsa_sign_det_ext(group.get(), r.get(), s.get(), d.get(), digest.data(),
                                 digest.size(), md, DrbgRandom, blind.get()) != 0) {
    return CryptoStatus::kInternal;
  }
  return WriteRawSignature(r, s, sig);
}

CryptoStatus EcdsaP256VerifyDigest(ByteView public_key, ByteView digest, ByteView sig) {
  P256Group group;
  if (!group.ok()) return CryptoStatus::kInternal;
  Point q;
  CryptoStatus st = LoadPublic(group, public_key, q);
  if (st != CryptoStatus::kOk) return st;
  if (!DigestLengthOk(digest) || sig.size() != kRawSigLen) return CryptoStatus::kBadInput;
  Mpi r, s;
  if (mbedtls_mpi_read_binary(r.get(), sig.data(), kScalarLen) != 0 ||
      mbedtls_mpi_read_binary(s.get(), sig.data() + kScalarLen, kScalarLen) != 0) {
    return CryptoStatus::kInternal;
  }
  // r or s outside [1, n-1] is reported as a verification failure by mbed TLS too.
  const int rc =
      mbedtls_ecdsa_verify(group.get(), digest.data(), digest.size(), q.get(), r.get(), s.get());
  if (rc == 0) return CryptoStatus::kOk;
  if (rc == MBEDTLS_ERR_ECP_VERIFY_FAILED) return CryptoStatus::kVerifyFailed;
  return CryptoStatus::kInternal;
}

CryptoStatus EcdsaRawToDer(ByteView raw, Bytes& der) {
  if (raw.size() != kRawSigLen) return CryptoStatus::kBadInput;
  Bytes body;
  AppendDerInteger(body, raw.first(kScalarLen));
  AppendDerInteger(body, raw.subspan(kScalarLen));
  Bytes out;
  out.reserve(body.size() + 2);
  out.push_back(0x30);  // SEQUENCE; the body is at most 70 bytes, so the length is short-form
  out.push_back(static_cast<uint8_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  der = std::move(out);
  return CryptoStatus::kOk;
}

CryptoStatus EcdsaDerToRaw(ByteView der, Bytes& raw) {
  // SEQUENCE { r INTEGER, s INTEGER } with nothing before, between or after.
  if (der.size() < 2 || der[0] != 0x30) return CryptoStatus::kBadInput;
  const size_t len = der[1];
  if ((len & 0x80) != 0 || len != der.size() - 2) return CryptoStatus::kBadInput;
  Bytes out(kRawSigLen);
  size_t pos = 2;
  if (!ReadDerInteger(der, pos, out.data()) || !ReadDerInteger(der, pos, out.data() + kScalarLen) ||
      pos != der.size()) {
    return CryptoStatus::kBadInput;
  }
  raw = std::move(out);
  return CryptoStatus::kOk;
}

}  // namespace dmcard::crypto
