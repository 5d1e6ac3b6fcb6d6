// Profile files (host/profile_file.h; profiles/README.md): the JSON and the tree file it names,
// every field (key sets, bootstrap_keys, quirks, bootstrap.ef_format, ATR, lwm2m, provsc, uicc,
// ...). The input is the JSON, a NUL byte, the tree file's content (any name ending in tree.xml),
// then, each after a NUL, the other files the profile names (provsc documents), in the order
// the reader asks for them. A profile that reads becomes a card
// (cards/make_card.h), which is powered on and asked for what the profile shaped: the DM
// applet's descriptor and, through the PKCS#15 view, EF.ODF, EF.DODF and EF(DM_Bootstrap).
// Oracle: the reader either gives a profile or an error naming the profile, never both or none.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cards/make_card.h"
#include "fuzz_input.h"
#include "host/profile_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dmcard;
  fuzz::FuzzInput in(data, size);
  const std::string_view json = fuzz::Text(in.Until(0x00));
  const std::string tree(fuzz::Text(in.Until(0x00)));
  std::vector<std::string> others;
  while (in.remaining() > 0) others.emplace_back(fuzz::Text(in.Until(0x00)));
  size_t next = 0;
  std::string error;
  const std::optional<Profile> profile = ParseProfile(
      json, "fuzz.json",
      [&](const std::string& name, std::string& err) -> std::optional<std::string> {
        if (name.ends_with("tree.xml")) return tree;
        if (next < others.size()) return others[next++];
        err = "no file '" + name + "'";
        return std::nullopt;
      },
      error);
  if (fuzz::Broken("profile-error")) error = "an error without the file's name";
  if (profile.has_value() == !error.empty() || (!profile && !error.starts_with("fuzz.json"))) {
    fuzz::OracleViolation("profile_json", "neither a profile nor an error naming it: " + error);
  }
  if (!profile) return 0;
  const uint8_t seed[16] = {1};
  std::unique_ptr<Card> card =
      MakeCard(*profile, CardConfigFor(*profile),
               Platform{std::make_shared<RamMedium>(), crypto::Drbg::FromSeed(seed),
                        [] { return int64_t{1700000000}; }},
               error);
  if (!card) return 0;  // e.g. a tree larger than the card: refused with a message
  card->PowerOn();
  static const char* const kApdus[] = {
      "00A4040C0AF0444D434152442D444D",      // SELECT DM
      "80CA00A500",                          // GET DATA A5: the descriptor
      "00A4040C09F0444D434152444653",        // SELECT the file system
      "00A4040C0CA000000063504B43532D3135",  // the PKCS#15 application
      "00A4020C025031",
      "00B0000000",  // EF.ODF
      "00A4020C024401",
      "00B0000000",  // EF.DODF
      "00A4020C024402",
      "00B0000000",  // EF(DM_Bootstrap)
  };
  for (const char* hex : kApdus) card->Transmit(*FromHex(hex));
  return 0;
}
