#include "secret_card.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <random>

#include "cards/make_card.h"
#include "host/apdu_spec.h"
#include "host/demo_card.h"
#include "host/profile_file.h"
#include "tests/unit/seeded_draw.h"

namespace dmcard::fuzz {

namespace {

std::string Upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return u;
}

std::string Base64(ByteView b, bool url) { return testing::Base64Groups(b, url); }

Bytes Ascii(std::string_view s) { return Bytes(s.begin(), s.end()); }

using Draw = testing::SeededDraw;

void ReplaceOnce(std::string& text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  if (at == std::string::npos) {
    std::fprintf(stderr, "fuzz: the demo tree no longer holds '%s'\n", from.c_str());
    std::abort();
  }
  text.replace(at, from.size(), to);
}

Bytes Authenticator(const std::string& name, const std::string& secret) {
  const std::string user = name + ":" + secret;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_Digest(user.data(), user.size(), md, &md_len, EVP_md5(), nullptr);
  unsigned char b64[32];
  const int n = EVP_EncodeBlock(b64, md, static_cast<int>(md_len));
  return Bytes(b64, b64 + n);
}

}  // namespace

void SecretScanner::Add(const std::string& name, ByteView secret) {
  for (size_t i = 0; i + kWindow <= secret.size(); ++i) {
    const ByteView w = secret.subspan(i, kWindow);
    raw_.emplace(std::string(w.begin(), w.end()), name + " (bytes)");
    hex_.emplace(ToHex(w), name + " (hex text)");
  }
  for (size_t offset = 0; offset < 3 && offset < secret.size(); ++offset) {
    const size_t groups = (secret.size() - offset) / 3;
    for (bool url : {false, true}) {
      const std::string text = Base64(secret.subspan(offset, groups * 3), url);
      for (size_t g = 0; g + 2 <= groups; ++g) {
        b64_.emplace(text.substr(4 * g, 8), name + (url ? " (base64url text)" : " (base64 text)"));
      }
    }
  }
}

std::string SecretScanner::Find(ByteView data) const {
  const std::string text(data.begin(), data.end());
  const std::string upper = Upper(text);
  for (size_t pos = 0; pos < text.size(); ++pos) {
    if (pos + kWindow <= text.size()) {
      if (auto it = raw_.find(text.substr(pos, kWindow)); it != raw_.end())
        return it->second + " at offset " + std::to_string(pos);
    }
    if (pos + 2 * kWindow <= text.size()) {
      if (auto it = hex_.find(upper.substr(pos, 2 * kWindow)); it != hex_.end())
        return it->second + " at offset " + std::to_string(pos);
    }
    if (pos + 8 <= text.size()) {
      if (auto it = b64_.find(text.substr(pos, 8)); it != b64_.end())
        return it->second + " at offset " + std::to_string(pos);
    }
  }
  return "";
}

SecretCard& SecretCard::Get() {
  static SecretCard* card = new SecretCard();
  return *card;
}

SecretCard::SecretCard() {
  const char* env = std::getenv("DMCARD_FUZZ_SEED");
  seed_ = env != nullptr ? std::strtoull(env, nullptr, 10) : std::random_device()();
  std::fprintf(stderr,
               "fuzz: secrets drawn from seed %llu (DMCARD_FUZZ_SEED=%llu draws them again)\n",
               static_cast<unsigned long long>(seed_), static_cast<unsigned long long>(seed_));
  Draw draw(seed_);
  const Profile demo = DemoProfile();
  // The public content a secret must not resemble (else the scan would flag the card's own data).
  std::string public_text =
      demo.tree_xml + demo.imsi + "1700000000" + ToHex(demo.atr.value_or(Bytes{}));
  for (int attempt = 0;; ++attempt) {
    profile_ = demo;
    scanner_ = SecretScanner();
    profile_.user_pin = draw.Digits(8);
    profile_.user_puk = draw.Digits(8);
    issuer_ = {0x30, {draw.Random(16), draw.Random(16), draw.Random(16)}};
    dm_server_ = {0x31, {draw.Random(32), draw.Random(32), draw.Random(32)}};
    profile_.key_sets = {
        {"issuer", issuer_.kvn, "@issuer", issuer_.keys.enc, issuer_.keys.mac, issuer_.keys.dek},
        {"dm-server", dm_server_.kvn, "dmcard.example.test", dm_server_.keys.enc,
         dm_server_.keys.mac, dm_server_.keys.dek}};
    ProfileBootstrapKey op;
    op.name = "operator";
    op.kvn = 0x10;
    op.owner = "@issuer";
    op.material = draw.Random(32);
    profile_.bootstrap_keys = {op};
    const std::string server_secret = draw.Alnum(24), client_secret = draw.Alnum(24);
    const Bytes server_data = draw.Random(18), client_data = draw.Random(18);
    ReplaceOnce(profile_.tree_xml, "test-server-secret-NOT-REAL", server_secret);
    ReplaceOnce(profile_.tree_xml, "test-client-secret-NOT-REAL", client_secret);
    ReplaceOnce(profile_.tree_xml, "ZG1jYXJkLXRlc3Qtc2VydmVyLW5vbmNl", Base64(server_data, false));
    ReplaceOnce(profile_.tree_xml, "ZG1jYXJkLXRlc3QtY2xpZW50LW5vbmNl", Base64(client_data, false));

    scanner_.Add("user PIN", Ascii(profile_.user_pin));
    scanner_.Add("user PUK", Ascii(profile_.user_puk));
    for (const KnownKeySet* s : {&issuer_, &dm_server_}) {
      const std::string set = "SCP03 key set " + ToHex(Bytes{s->kvn});
      scanner_.Add(set + " K-ENC", s->keys.enc);
      scanner_.Add(set + " K-MAC", s->keys.mac);
      scanner_.Add(set + " K-DEK", s->keys.dek);
    }
    scanner_.Add("operator bootstrap key", op.material);
    scanner_.Add("server AAuthSecret", Ascii(server_secret));
    scanner_.Add("client AAuthSecret", Ascii(client_secret));
    scanner_.Add("server AAuthData", server_data);
    scanner_.Add("client AAuthData", client_data);
    scanner_.Add("server authenticator", Authenticator("dmcard.example.test", server_secret));
    scanner_.Add("client authenticator", Authenticator("dmcard-test-client", client_secret));
    if (scanner_.Find(Ascii(public_text)).empty()) break;
    if (attempt > 100) std::abort();  // cannot happen with random draws
  }
  base_ = std::make_shared<RamMedium>();
  std::string error;
  if (!Make(base_, error)) {
    std::fprintf(stderr, "fuzz: cannot make the card: %s\n", error.c_str());
    std::abort();
  }
}

std::unique_ptr<Card> SecretCard::Make(std::shared_ptr<StorageMedium> medium,
                                       std::string& error) const {
  const uint8_t rng_seed[16] = {0xF0, 0x22};
  return MakeCard(profile_, CardConfigFor(profile_),
                  Platform{std::move(medium), crypto::Drbg::FromSeed(rng_seed),
                           [] { return int64_t{1700000000}; }},
                  error);
}

bool DocumentedStatusWord(uint16_t sw) {
  static const std::vector<std::string> patterns = [] {
    std::vector<std::string> p;
    for (const auto& s : BuiltInApduSpecs().StatusWords()) p.push_back(s.pattern);
    if (p.empty()) std::abort();
    return p;
  }();
  for (const std::string& p : patterns) {
    if (StatusWordMatches(p, sw)) return true;
  }
  return false;
}

}  // namespace dmcard::fuzz
