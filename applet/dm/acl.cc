// OMA DM ACLs (OMA-TS-DM_TND 1.2 §7.7.1) and principal matching; see acl.h.
//
// Grammar accepted by Acl::Parse (anything else is refused):
//   acl     = "" | entry *( "&" entry )
//   entry   = command "=" id *( "+" id )
//   command = "Add" | "Delete" | "Exec" | "Get" | "Replace"   ; each at most once
//   id      = 1*( any byte except "&", "+", "=", whitespace/control (<= 0x20, 0x7F) )
// An id starting with '@' must be one of the card's reserved principals "@user" / "@device"
// (an unknown '@' id could never match anyone, so it is treated as a typo and refused).
#include "dm/acl.h"

#include <array>

namespace dmcard::dm {

namespace {

constexpr std::array<const char*, 5> kOpNames = {"Add", "Delete", "Exec", "Get", "Replace"};
constexpr const char* kUserId = "@user";
constexpr const char* kDeviceId = "@device";

std::optional<AclOp> OpFromName(std::string_view name) {
  for (size_t i = 0; i < kOpNames.size(); ++i) {
    if (name == kOpNames[i]) return static_cast<AclOp>(i);
  }
  return std::nullopt;
}

bool ValidId(std::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F || c == '&' || c == '+' || c == '=') return false;
  }
  if (id[0] == '@') return id == kUserId || id == kDeviceId;
  return true;
}

bool Matches(std::string_view id, const Principal& who) {
  if (id == "*") return true;
  if (id == kDeviceId) {
    return who.kind == Principal::Kind::kDevice || who.kind == Principal::Kind::kUser;
  }
  if (id == kUserId) return who.kind == Principal::Kind::kUser;
  if (id.starts_with('@')) return false;
  return who.kind == Principal::Kind::kAuthority && !who.server_id.empty() && id == who.server_id;
}

}  // namespace

const char* AclOpName(AclOp op) {
  const auto i = static_cast<size_t>(op);
  return i < kOpNames.size() ? kOpNames[i] : "?";
}

std::string Principal::ToString() const {
  switch (kind) {
    case Kind::kDevice:
      return "device";
    case Kind::kUser:
      return "user";
    case Kind::kAuthority:
      return "server " + server_id;
  }
  return "?";
}

std::optional<Acl> Acl::Parse(std::string_view text) {
  Acl acl;
  if (text.empty()) return acl;
  size_t pos = 0;
  while (true) {
    const size_t amp = text.find('&', pos);
    const std::string_view entry =
        text.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::optional<AclOp> op = OpFromName(entry.substr(0, eq));
    if (!op) return std::nullopt;
    const auto i = static_cast<size_t>(*op);
    if (acl.present_[i]) return std::nullopt;  // a command may appear only once
    acl.present_[i] = true;
    std::string_view ids = entry.substr(eq + 1);
    while (true) {
      const size_t plus = ids.find('+');
      const std::string_view id = ids.substr(0, plus);
      if (!ValidId(id)) return std::nullopt;
      acl.entries_[i].emplace_back(id);
      if (plus == std::string_view::npos) break;
      ids.remove_prefix(plus + 1);
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return acl;
}

bool Acl::Mentions(AclOp op) const {
  const auto i = static_cast<size_t>(op);
  return i < kOpNames.size() && present_[i];
}

bool Acl::Allows(AclOp op, const Principal& who) const {
  if (!Mentions(op)) return false;
  for (const std::string& id : entries_[static_cast<size_t>(op)]) {
    if (Matches(id, who)) return true;
  }
  return false;
}

const std::vector<std::string>& Acl::ServersFor(AclOp op) const {
  static const std::vector<std::string> kNone;
  const auto i = static_cast<size_t>(op);
  return i < kOpNames.size() ? entries_[i] : kNone;
}

std::string Acl::ToString() const {
  std::string out;
  for (size_t i = 0; i < kOpNames.size(); ++i) {
    if (!present_[i]) continue;
    if (!out.empty()) out += '&';
    out += kOpNames[i];
    out += '=';
    for (size_t j = 0; j < entries_[i].size(); ++j) {
      if (j > 0) out += '+';
      out += entries_[i][j];
    }
  }
  return out;
}

}  // namespace dmcard::dm
