#include "dm/uicc_view.h"

#include <algorithm>
#include <memory>

#include "dm/imsi.h"
#include "runtime/applet.h"
#include "runtime/tlv.h"

namespace dmcard::dm {

namespace {

// EF_IMSI: the card's one copy of the IMSI as it is stored, or all FF (unused) without one.
class ImsiContent final : public fs::EfContentSource {
 public:
  explicit ImsiContent(std::string key) : key_(std::move(key)) {}
  Bytes Content(const SecurityState* /*reader*/, const StoreView& store) const override {
    const Bytes* imsi = store.Get(key_);
    if (imsi == nullptr || imsi->size() != kEfImsiSize) return Bytes(kEfImsiSize, 0xFF);
    return *imsi;
  }

 private:
  std::string key_;
};

bool AllDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Bytes UsimAid() { return {0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02, 0xFF, 0x49, 0xFF, 0x05, 0x89}; }

Bytes UsimDirRecord() {
  Bytes inner;
  AppendTlv(inner, 0x4F, UsimAid());
  AppendTlv(inner, 0x50, Bytes{'U', 'S', 'I', 'M'});
  Bytes out;
  AppendTlv(out, 0x61, inner);
  return out;
}

char LuhnCheckDigit(std::string_view digits) {
  // From the rightmost digit leftwards, every other digit doubled (its digits summed), starting
  // with the rightmost; the check digit makes the total a multiple of 10.
  int sum = 0;
  bool twice = true;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it, twice = !twice) {
    int d = *it - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

std::string CheckIccid(std::string_view iccid) {
  if (iccid.size() < kIccidMinDigits || iccid.size() > kIccidMaxDigits || !AllDigits(iccid)) {
    return "must be 19 or 20 decimal digits (ITU-T E.118)";
  }
  if (iccid.substr(0, 2) != "89") return "must begin with 89, the telecom industry (ITU-T E.118)";
  const char check = LuhnCheckDigit(iccid.substr(0, iccid.size() - 1));
  if (iccid.back() != check) {
    return std::string("ends in ") + iccid.back() + ", but its Luhn check digit (ITU-T E.118) is " +
           check;
  }
  return {};
}

std::string DefaultIccid(std::string_view imsi) {
  std::string msin(imsi.size() > 14 ? imsi.substr(imsi.size() - 14) : imsi);
  msin.insert(0, 14 - msin.size(), '0');
  std::string iccid = "89999" + msin;
  iccid.push_back(LuhnCheckDigit(iccid));
  return iccid;
}

std::optional<Bytes> EfIccidFromDigits(std::string_view iccid) {
  if (!CheckIccid(iccid).empty()) return std::nullopt;
  Bytes ef(kEfIccidSize, 0xFF);
  for (size_t i = 0; i < iccid.size(); ++i) {
    const auto d = static_cast<uint8_t>(iccid[i] - '0');
    uint8_t& b = ef[i / 2];
    b = i % 2 == 0 ? static_cast<uint8_t>((b & 0xF0) | d)
                   : static_cast<uint8_t>((b & 0x0F) | d << 4);
  }
  return ef;
}

fs::FileSpec EfIccid(Bytes content) {
  return fs::FileSpec::Transparent(kEfIccid, kEfIccidSize, std::move(content))
      .WithSfi(kEfIccidSfi)
      .WithAccess(fs::AccessCondition::Always(), fs::AccessCondition::Never());
}

fs::FileSpec UsimAdf(std::string imsi_key, fs::AccessCondition imsi_read) {
  return fs::FileSpec::Df(
      kAdfUsim, UsimAid(),
      {fs::FileSpec::Generated(kEfImsi, std::make_shared<ImsiContent>(std::move(imsi_key)))
           .WithSfi(kEfImsiSfi)
           .WithAccess(std::move(imsi_read), fs::AccessCondition::Principal(kIssuerPrincipal))});
}

}  // namespace dmcard::dm
