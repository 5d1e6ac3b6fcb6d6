// Files the host tools read and write: a whole file read at once, a new file that must not
// replace an existing one (keys), and a file replaced so that a crash or an error leaves the old
// content or the new, never a mix (device trees, packages).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

namespace dmcard {

// The file's content; nullopt with `error` ("'PATH' does not exist or is not a file", "cannot
// read 'PATH': reason").
std::optional<std::string> ReadWholeFile(const std::filesystem::path& path, std::string& error);

// Creates `path` with `mode` (also under a umask) and writes `text`, fsync'd. Refused when the
// file exists ("PATH: File exists"). False with `error` on any failure.
bool WriteNewFile(const std::filesystem::path& path, const std::string& text, mode_t mode,
                  std::string& error);

// Writes `text` to `path` through a temporary file next to it, fsync'd, renamed over it, the
// directory fsync'd; `path` is unchanged on any failure ("...; it is unchanged").
bool ReplaceFileAtomically(const std::filesystem::path& path, const std::string& text, mode_t mode,
                           std::string& error);

}  // namespace dmcard
