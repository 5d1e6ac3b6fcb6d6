// OMA DM access control lists (OMA-TS-DM_TND 1.2 §7.7.1): "Add=*&Get=srv1+srv2&Replace=srv1".
// Commands Add, Delete, Exec, Get, Replace; server identifiers separated by '+'; '*' = anyone.
//
// Principals: a management authority authenticated with its ServerID; the user (PIN verified
// on the channel); the device (nobody authenticated). OMA DM ACLs name ServerIDs only, so dmcard
// reserves two identifiers beginning with '@' (the session layer of part 2 must refuse to
// authenticate a management authority whose ServerID begins with '@'):
//   "@user"   granted to the user principal,
//   "@device" granted to the device and to the user (who is also at the device).
// '*' grants everyone. A management authority matches its own ServerID and '*'.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dmcard::dm {

enum class AclOp : uint8_t { kAdd, kDelete, kExec, kGet, kReplace };
const char* AclOpName(AclOp op);

struct Principal {
  enum class Kind : uint8_t { kDevice, kUser, kAuthority };
  Kind kind = Kind::kDevice;
  std::string server_id;  // kAuthority only

  static Principal Device() { return {Kind::kDevice, {}}; }
  static Principal User() { return {Kind::kUser, {}}; }
  static Principal Authority(std::string id) { return {Kind::kAuthority, std::move(id)}; }
  std::string ToString() const;  // "device", "user", "server <id>"
};

class Acl {
 public:
  // Parses; nullopt for a malformed ACL (unknown command, empty server id, bad separators).
  // The empty string is a valid ACL with no entries (it means "inherit" on a node).
  static std::optional<Acl> Parse(std::string_view text);

  // True when `op` has an entry (then the entry alone decides, no inheritance).
  bool Mentions(AclOp op) const;
  bool Allows(AclOp op, const Principal& who) const;
  const std::vector<std::string>& ServersFor(AclOp op) const;
  std::string ToString() const;  // canonical: commands in the order Add, Delete, Exec, Get, Replace

 private:
  std::vector<std::string> entries_[5];
  bool present_[5] = {};
};

}  // namespace dmcard::dm
