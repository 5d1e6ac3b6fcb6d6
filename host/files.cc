#include "host/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace dmcard {

namespace {

// Writes all of `text` to `fd`, sets `mode` and fsyncs; errno tells why not.
bool WriteAll(int fd, const std::string& text, mode_t mode) {
  bool ok = ::fchmod(fd, mode) == 0;  // whatever the umask left
  size_t done = 0;
  while (ok && done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  return ok && ::fsync(fd) == 0;
}

}  // namespace

std::optional<std::string> ReadWholeFile(const std::filesystem::path& path, std::string& error) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    error = "'" + path.string() + "' does not exist or is not a file";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  if (!in) {
    error = "cannot read '" + path.string() + "': " + std::strerror(errno);
    return std::nullopt;
  }
  return content.str();
}

bool WriteNewFile(const std::filesystem::path& path, const std::string& text, mode_t mode,
                  std::string& error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    error = path.string() + ": " + std::strerror(errno);
    return false;
  }
  const bool ok = WriteAll(fd, text, mode);
  const int saved = errno;
  ::close(fd);
  if (!ok) {
    error = path.string() + ": cannot write: " + std::strerror(saved);
    ::unlink(path.c_str());
  }
  return ok;
}

bool ReplaceFileAtomically(const std::filesystem::path& path, const std::string& text, mode_t mode,
                           std::string& error) {
  const std::filesystem::path dir =
      path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  const std::filesystem::path tmp =
      dir / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot write " + tmp.string() + ": " + std::strerror(errno) + "; " + path.string() +
            " is unchanged";
    return false;
  }
  bool ok = WriteAll(fd, text, mode);
  const int saved = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot write " + path.string() + ": " + std::strerror(ok ? errno : saved) +
            "; it is unchanged";
    ::unlink(tmp.c_str());
    return false;
  }
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace dmcard
