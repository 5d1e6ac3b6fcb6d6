// Talking to a running dmcard-vicc through its control socket (docs/vpcd-bridge.md): where the
// socket is, and one request/answer exchange (`remove 0`, `insert 0`, `reset 0`, `status`).
#pragma once

#include <cstdint>
#include <string>

namespace dmcard::vicc {

// $XDG_RUNTIME_DIR, else /run/dmcard (root) or /tmp/dmcard-<uid>.
std::string DefaultControlDir();
// Default control socket path for a first vpcd port, in DefaultControlDir().
std::string DefaultControlPath(uint16_t port);

// Sends one control line and reads dmcard-vicc's answer into `answer`. False with `error` set
// when the socket cannot be reached or the answer is not "ok".
bool SendViccControl(const std::string& socket, const std::string& line, std::string& answer,
                     std::string& error);

}  // namespace dmcard::vicc
