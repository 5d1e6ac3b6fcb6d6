#include "pcsc_stack.h"

#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace dmcard::pcsctest {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kPcscdPath = "/usr/sbin/pcscd";
constexpr const char* kVpcdDriver = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
constexpr const char* kReaderConfDir = "/etc/reader.conf.d";
constexpr const char* kPcscdRunDir = "/run/pcscd";
constexpr const char* kHowToRun =
    "run them as root (they start pcscd in a private mount namespace; nothing outside it is "
    "touched): sudo ctest --test-dir <build> -L pcsc --output-on-failure, or sudo "
    "<build>/tests/pcsc/dmcard_pcsc_tests";
constexpr const char* kNeedsNamespace =
    "the tests need a mount namespace of their own whose mounts cannot reach the host";

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// Why a namespace or mount call failed as root, with what to do about it.
std::string NamespaceFailure(const std::string& what) {
  const int error = errno;
  std::string text = Errno(what);
  if (error == EPERM) {
    text += " — root without CAP_SYS_ADMIN (an unprivileged container or a seccomp filter?); " +
            std::string(kNeedsNamespace) +
            ": run them on the host, or give the container CAP_SYS_ADMIN (docker run "
            "--cap-add SYS_ADMIN, or --privileged)";
  } else if (error == EINVAL && what.find("make-rprivate") != std::string::npos) {
    text += " — / is not a mount point here, as inside a chroot; " + std::string(kNeedsNamespace) +
            ": run them outside the chroot or in a container, or make the chroot directory a "
            "mount point before entering it (mount --bind DIR DIR)";
  }
  return text;
}

[[noreturn]] void Fail(const std::string& message) { throw std::runtime_error(message); }

long RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<long>(left);
}

std::string DescribeStatus(int status) {
  if (status < 0) return "not started";
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// Brings the loopback interface of the current network namespace up.
bool LoopbackUp() {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  bool ok = ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
  if (ok) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    ok = ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
  }
  close(s);
  return ok;
}

bool WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Bytes

Bytes Hex(std::string_view hex) {
  Bytes out;
  int high = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else if (c == ' ' || c == ':' || c == '\n') {
      continue;
    } else {
      Fail("Hex: invalid character in \"" + std::string(hex) + "\"");
    }
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  if (high >= 0) Fail("Hex: odd number of digits in \"" + std::string(hex) + "\"");
  return out;
}

std::string ToHex(const Bytes& bytes, bool spaced) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (spaced && i > 0) out += ' ';
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 15];
  }
  return out;
}

uint16_t Sw(const Bytes& response) {
  if (response.size() < 2) Fail("response shorter than a status word: " + ToHex(response));
  return static_cast<uint16_t>(response[response.size() - 2] << 8 | response.back());
}

Bytes Data(const Bytes& response) {
  if (response.size() < 2) Fail("response shorter than a status word: " + ToHex(response));
  return Bytes(response.begin(), response.end() - 2);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Tail(const std::string& text, size_t lines) {
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  size_t count = 0;
  while (pos > 0) {
    if (text[pos - 1] == '\n' && ++count == lines) break;
    --pos;
  }
  return text.substr(pos);
}

std::string ReaderName(int slot) {
  char name[32];
  std::snprintf(name, sizeof name, "Virtual PCD 00 %02d", slot);
  return name;
}

// ---------------------------------------------------------------------------------------------
// Sandbox

Sandbox& Sandbox::Get() {
  static Sandbox sandbox;
  return sandbox;
}

Sandbox::Sandbox() {
  instance_ = this;
  reason_ = Setup();
}

bool Sandbox::MustRun() {
  const char* ci = std::getenv("CI");
  if (ci == nullptr || geteuid() != 0) return false;
  const std::string value = ci;
  return !value.empty() && value != "0" && value != "false" && value != "no";
}

Sandbox::~Sandbox() {
  instance_ = nullptr;
  if (dir_.empty()) return;
  if (keep_ || std::getenv("DMCARD_PCSC_KEEP") != nullptr) {
    std::fprintf(stderr, "dmcard-pcsc: logs kept in %s\n", dir_.c_str());
    return;
  }
  // The scratch directory holds no mount point (the mounts go the other way), so this never
  // leaves it.
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

fs::path Sandbox::NewPath(const std::string& prefix) {
  return dir_ / (prefix + "-" + std::to_string(++counter_));
}

std::string Sandbox::Setup() {
  if (geteuid() != 0) return "not root; " + std::string(kHowToRun);
  for (const char* path : {kPcscdPath, kVpcdDriver}) {
    if (access(path, F_OK) != 0) {
      return std::string(path) +
             " is missing (install pcscd and vsmartcard-vpcd: scripts/install-deps.sh)";
    }
  }
  if (!fs::is_directory(kReaderConfDir)) {
    return std::string(kReaderConfDir) + " is missing (pcscd not installed?)";
  }

  std::string tmpl = (fs::temp_directory_path() / "dmcard-pcsc-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return Errno("mkdtemp " + tmpl);
  dir_ = tmpl;
  fs::path conf = reader_conf_dir();
  fs::create_directory(conf);
  char port[16];
  std::snprintf(port, sizeof port, "0x%04X", kBasePort);
  if (!WriteFile(conf / "vpcd", std::string("FRIENDLYNAME \"Virtual PCD\"\n") +
                                    "DEVICENAME /dev/null:" + port + "\nLIBPATH " + kVpcdDriver +
                                    "\nCHANNELID " + port + "\n")) {
    return "cannot write " + (conf / "vpcd").string();
  }

  // Neither we nor our children may talk to a pcscd elsewhere.
  unsetenv("PCSCLITE_CSOCK_NAME");

  if (unshare(CLONE_NEWNS) != 0) return NamespaceFailure("unshare(CLONE_NEWNS)");
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return NamespaceFailure("mount --make-rprivate /");
  }
  if (!fs::is_directory(kPcscdRunDir)) {
    // No /run/pcscd on this machine: creating it would touch the host, so /run itself gets a
    // private tmpfs (inside this namespace only) in which /run/pcscd is made.
    if (mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=4m") != 0) {
      return NamespaceFailure("mount tmpfs /run");
    }
    if (mkdir(kPcscdRunDir, 0755) != 0) return Errno("mkdir /run/pcscd");
  }
  if (mount("tmpfs", kPcscdRunDir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
            "mode=0755,size=1m") != 0) {
    return NamespaceFailure("mount tmpfs /run/pcscd");
  }
  if (mount(conf.c_str(), kReaderConfDir, nullptr, MS_BIND, nullptr) != 0) {
    return NamespaceFailure("bind-mount " + conf.string() + " over /etc/reader.conf.d");
  }

  // Best effort: a network namespace of our own, so that the vpcd ports are ours alone.
  int host_net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (host_net >= 0 && unshare(CLONE_NEWNET) == 0) {
    private_net_ = LoopbackUp();
    if (!private_net_ && setns(host_net, CLONE_NEWNET) != 0) {
      close(host_net);
      return Errno("setns back to the host network");
    }
  }
  if (host_net >= 0) close(host_net);
  if (!private_net_) {
    std::fprintf(stderr,
                 "dmcard-pcsc: no private network namespace; the vpcd ports (from %d) are the "
                 "host's\n",
                 static_cast<int>(kBasePort));
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Child processes

Child::~Child() {
  if (pid_ > 0 && status_ < 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
}

void Child::Start(std::vector<std::string> argv, const fs::path& log_prefix, bool merge_stderr) {
  if (pid_ > 0 && status_ < 0) Fail("Child::Start: " + argv_[0] + " still running");
  argv_ = std::move(argv);
  out_ = log_prefix.string() + ".out";
  err_ = merge_stderr ? out_ : fs::path(log_prefix.string() + ".err");
  int out_fd = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd =
      merge_stderr ? out_fd : open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out_fd < 0 || err_fd < 0 || null_fd < 0) Fail(Errno("open logs " + log_prefix.string()));
  std::vector<char*> args;
  for (auto& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) Fail(Errno("fork"));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    dup2(null_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    execv(args[0], args.data());
    const char* msg = "exec failed\n";
    if (write(2, msg, std::strlen(msg)) < 0) _exit(127);
    _exit(127);
  }
  close(null_fd);
  close(out_fd);
  if (!merge_stderr) close(err_fd);
  pid_ = pid;
  status_ = -1;
}

bool Child::running() {
  if (pid_ <= 0 || status_ >= 0) return false;
  int status;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = status;
    return false;
  }
  return true;
}

std::optional<int> Child::Wait(milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (running()) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return status_;
}

int Child::Stop(int sig, milliseconds timeout, bool* graceful) {
  if (graceful) *graceful = false;
  if (pid_ <= 0) return -1;
  if (!running()) return status_;
  kill(pid_, sig);
  if (auto status = Wait(timeout)) {
    if (graceful) *graceful = true;
    return *status;
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status_, 0);
  return status_;
}

std::string Child::out() const { return out_.empty() ? "" : ReadFile(out_); }
std::string Child::err() const { return err_.empty() || err_ == out_ ? "" : ReadFile(err_); }

std::string Child::Describe() const {
  std::string s = "$";
  for (const auto& a : argv_) s += " " + a;
  s +=
      "\n  (" +
      (pid_ > 0 && status_ < 0 ? "running, pid " + std::to_string(pid_) : DescribeStatus(status_)) +
      ")";
  std::string o = Tail(out(), 25), e = Tail(err(), 25);
  if (!o.empty()) s += "\n  --- " + out_.string() + " (tail)\n" + o;
  if (!e.empty()) s += "\n  --- " + err_.string() + " (tail)\n" + e;
  return s;
}

ToolResult RunTool(const std::vector<std::string>& argv, const std::string& input,
                   milliseconds timeout) {
  ToolResult result;
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) Fail(Errno("pipe"));
  std::vector<std::string> copy = argv;
  std::vector<char*> args;
  for (auto& a : copy) args.push_back(a.data());
  args.push_back(nullptr);
  // Tools get a HOME of their own in the scratch directory (caches, ATR lists, ...).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "HOME=", 5) != 0) env_strings.push_back(*e);
  }
  if (Sandbox* sandbox = Sandbox::IfCreated(); sandbox != nullptr && !sandbox->dir().empty()) {
    fs::path home = sandbox->dir() / "home";
    std::error_code ec;
    fs::create_directories(home, ec);
    env_strings.push_back("HOME=" + home.string());
  } else if (const char* home = std::getenv("HOME")) {
    env_strings.push_back(std::string("HOME=") + home);
  }
  std::vector<char*> env;
  for (auto& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) Fail(Errno("fork"));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(out_pipe[1], 2);
    execvpe(args[0], args.data(), env.data());
    const char* msg = "exec failed\n";
    if (write(2, msg, std::strlen(msg)) < 0) _exit(127);
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  // Small inputs only (a few commands): written at once, then EOF.
  signal(SIGPIPE, SIG_IGN);
  if (!input.empty() && write(in_pipe[1], input.data(), input.size()) < 0) {
    result.output = Errno("write to " + argv[0]) + "\n";
  }
  close(in_pipe[1]);
  auto deadline = Clock::now() + timeout;
  char buf[4096];
  for (;;) {
    pollfd p{out_pipe[0], POLLIN, 0};
    long left = RemainingMs(deadline);
    int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    ssize_t n = read(out_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buf, static_cast<size_t>(n));
  }
  close(out_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

namespace {

bool Listening(uint16_t port) {
  char local[16];
  std::snprintf(local, sizeof local, ":%04X", port);
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::istringstream lines(ReadFile(table));
    std::string line;
    std::getline(lines, line);  // header
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string slot, local_address, remote_address, state;
      fields >> slot >> local_address >> remote_address >> state;
      if (state == "0A" && local_address.size() > 5 &&
          local_address.compare(local_address.size() - 5, 5, local) == 0) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

void WaitListening(uint16_t port, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!Listening(port)) {
    if (Clock::now() >= deadline) {
      Fail("nothing listens on TCP port " + std::to_string(port) + " after " +
           std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
}

// ---------------------------------------------------------------------------------------------
// pcscd

void Pcscd::Start(milliseconds timeout) {
  if (running()) return;
  if (child_) previous_ = child_->Describe();
  child_ = std::make_unique<Child>();
  std::vector<std::string> argv = {kPcscdPath, "--foreground", "--apdu"};
  if (std::getenv("DMCARD_PCSC_DEBUG") != nullptr) argv.push_back("--debug");
  ++starts_;
  child_->Start(argv, Sandbox::Get().dir() / ("pcscd-" + std::to_string(starts_)), true);
  auto deadline = Clock::now() + timeout;
  for (;;) {
    SCARDCONTEXT ctx;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx);
    if (rv == SCARD_S_SUCCESS) {
      SCardReleaseContext(ctx);
      return;
    }
    if (!child_->running()) Fail("pcscd exited during start-up:\n" + Describe());
    if (Clock::now() >= deadline) {
      Fail("pcscd not answering after " + std::to_string(timeout.count()) +
           " ms (SCardEstablishContext: " + PcscError(rv) + "):\n" + Describe());
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
}

void Pcscd::Stop() {
  if (!child_) return;
  child_->Stop(SIGTERM, milliseconds(5000));
}

std::string Pcscd::log() const { return child_ ? child_->out() : ""; }
std::string Pcscd::Describe() const {
  std::string s = child_ ? child_->Describe() : "pcscd never started";
  if (!previous_.empty()) s += "\n  previous run:\n" + previous_;
  return s;
}

// ---------------------------------------------------------------------------------------------
// dmcard-vicc

const std::string& ViccPath() {
  static const std::string path = [] {
    const char* env = std::getenv("DMCARD_VICC");
    return std::string(env != nullptr ? env : DMCARD_VICC_PATH);
  }();
  return path;
}

ViccProcess::ViccProcess(std::vector<std::string> args) : args_(std::move(args)) {
  auto has = [&](const char* option) {
    return std::find(args_.begin(), args_.end(), option) != args_.end();
  };
  Sandbox& sandbox = Sandbox::Get();
  if (!has("--port")) {
    args_.insert(args_.begin(), {"--port", std::to_string(kBasePort)});
  }
  auto control = std::find(args_.begin(), args_.end(), "--control");
  if (control != args_.end() && control + 1 != args_.end()) {
    control_ = *(control + 1);
  } else {
    control_ = sandbox.NewPath("control").string() + ".sock";
    args_.insert(args_.end(), {"--control", control_});
  }
  log_prefix_ = sandbox.NewPath("vicc");
}

ViccProcess::~ViccProcess() {
  if (child_.running()) child_.Stop(SIGTERM, milliseconds(3000));
}

void ViccProcess::Start() {
  if (access(ViccPath().c_str(), X_OK) != 0) {
    Fail(ViccPath() + " missing or not executable (build the dmcard-vicc target)");
  }
  std::vector<std::string> argv = {ViccPath()};
  argv.insert(argv.end(), args_.begin(), args_.end());
  ++starts_;
  child_.Start(argv, log_prefix_.string() + "-" + std::to_string(starts_));
}

int ViccProcess::Stop(bool* graceful) { return child_.Stop(SIGTERM, milliseconds(5000), graceful); }

void ViccProcess::Kill9() { child_.Stop(SIGKILL, milliseconds(5000)); }

ToolResult ViccProcess::Ctl(const std::vector<std::string>& words) {
  std::vector<std::string> argv = {ViccPath(), "ctl", "--control", control_};
  argv.insert(argv.end(), words.begin(), words.end());
  return RunTool(argv, "", milliseconds(5000));
}

// ---------------------------------------------------------------------------------------------
// PC/SC client

std::string PcscError(LONG rv) {
  char code[16];
  std::snprintf(code, sizeof code, "0x%08lX", static_cast<unsigned long>(rv));
  return std::string(pcsc_stringify_error(rv)) + " (" + code + ")";
}

void Check(LONG rv, const char* call) {
  if (rv != SCARD_S_SUCCESS) Fail(std::string(call) + ": " + PcscError(rv));
}

std::string StateText(DWORD state) {
  static const std::pair<DWORD, const char*> names[] = {
      {SCARD_STATE_IGNORE, "IGNORE"},       {SCARD_STATE_CHANGED, "CHANGED"},
      {SCARD_STATE_UNKNOWN, "UNKNOWN"},     {SCARD_STATE_UNAVAILABLE, "UNAVAILABLE"},
      {SCARD_STATE_EMPTY, "EMPTY"},         {SCARD_STATE_PRESENT, "PRESENT"},
      {SCARD_STATE_ATRMATCH, "ATRMATCH"},   {SCARD_STATE_EXCLUSIVE, "EXCLUSIVE"},
      {SCARD_STATE_INUSE, "INUSE"},         {SCARD_STATE_MUTE, "MUTE"},
      {SCARD_STATE_UNPOWERED, "UNPOWERED"},
  };
  std::string s;
  for (auto [bit, name] : names) {
    if (state & bit) s += (s.empty() ? "" : "|") + std::string(name);
  }
  return s.empty() ? "UNAWARE" : s;
}

Context::Context() {
  Check(SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx_),
        "SCardEstablishContext");
}

Context::~Context() {
  if (ctx_ != 0) SCardReleaseContext(ctx_);
}

std::vector<std::string> Context::Readers() {
  DWORD len = 0;
  LONG rv = SCardListReaders(ctx_, nullptr, nullptr, &len);
  if (rv == SCARD_E_NO_READERS_AVAILABLE) return {};
  Check(rv, "SCardListReaders (size)");
  std::string buf(len, '\0');
  rv = SCardListReaders(ctx_, nullptr, buf.data(), &len);
  if (rv == SCARD_E_NO_READERS_AVAILABLE) return {};
  Check(rv, "SCardListReaders");
  std::vector<std::string> readers;
  for (size_t pos = 0; pos < buf.size() && buf[pos] != '\0';) {
    size_t end = buf.find('\0', pos);
    readers.push_back(buf.substr(pos, end - pos));
    pos = end + 1;
  }
  return readers;
}

void Context::WaitForReader(const std::string& reader, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto readers = Readers();
    if (std::find(readers.begin(), readers.end(), reader) != readers.end()) return;
    long left = RemainingMs(deadline);
    if (left == 0) {
      std::string list;
      for (const auto& r : readers) list += " \"" + r + "\"";
      Fail("reader \"" + reader + "\" not listed by pcscd after " +
           std::to_string(timeout.count()) + " ms; readers:" + (list.empty() ? " none" : list));
    }
    // Wakes up when the reader list changes.
    SCARD_READERSTATE pnp{};
    pnp.szReader = "\\\\?PnP?\\Notification";
    pnp.dwCurrentState = static_cast<DWORD>(readers.size()) << 16;
    LONG rv = SCardGetStatusChange(ctx_, static_cast<DWORD>(std::min(left, 500L)), &pnp, 1);
    if (rv != SCARD_E_TIMEOUT && rv != SCARD_S_SUCCESS) {
      Check(rv, "SCardGetStatusChange (\\\\?PnP?\\Notification)");
    }
  }
}

DWORD Context::State(const std::string& reader) {
  SCARD_READERSTATE rs{};
  rs.szReader = reader.c_str();
  rs.dwCurrentState = SCARD_STATE_UNAWARE;
  Check(SCardGetStatusChange(ctx_, 0, &rs, 1), "SCardGetStatusChange");
  return rs.dwEventState;
}

DWORD Context::WaitForState(const std::string& reader, DWORD state, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  SCARD_READERSTATE rs{};
  rs.szReader = reader.c_str();
  rs.dwCurrentState = SCARD_STATE_UNAWARE;
  for (;;) {
    LONG rv = SCardGetStatusChange(ctx_, static_cast<DWORD>(RemainingMs(deadline)), &rs, 1);
    if (rv == SCARD_E_TIMEOUT) {
      Fail("reader \"" + reader + "\": state " + StateText(state) + " not reached after " +
           std::to_string(timeout.count()) + " ms; last state " + StateText(rs.dwEventState));
    }
    Check(rv, "SCardGetStatusChange");
    if ((rs.dwEventState & state) == state) return rs.dwEventState;
    rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
    if (RemainingMs(deadline) == 0) {
      Fail("reader \"" + reader + "\": state " + StateText(state) + " not reached after " +
           std::to_string(timeout.count()) + " ms; last state " + StateText(rs.dwEventState));
    }
  }
}

CardHandle::CardHandle(Context& ctx, const std::string& reader, DWORD protocols)
    : preferred_(protocols) {
  Check(SCardConnect(ctx.get(), reader.c_str(), SCARD_SHARE_SHARED, protocols, &h_, &protocol_),
        ("SCardConnect(\"" + reader + "\")").c_str());
}

CardHandle::~CardHandle() {
  if (h_ != 0) SCardDisconnect(h_, SCARD_LEAVE_CARD);
}

CardStatus CardHandle::Status() {
  CardStatus st;
  char name[256];
  DWORD name_len = sizeof name;
  BYTE atr[MAX_ATR_SIZE];
  DWORD atr_len = sizeof atr;
  Check(SCardStatus(h_, name, &name_len, &st.state, &st.protocol, atr, &atr_len), "SCardStatus");
  st.reader = name;
  st.atr.assign(atr, atr + atr_len);
  return st;
}

LONG CardHandle::TryTransmit(const Bytes& command, Bytes& response) {
  const SCARD_IO_REQUEST* pci = protocol_ == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
  response.assign(MAX_BUFFER_SIZE_EXTENDED, 0);
  DWORD len = static_cast<DWORD>(response.size());
  LONG rv = SCardTransmit(h_, pci, command.data(), static_cast<DWORD>(command.size()), nullptr,
                          response.data(), &len);
  response.resize(rv == SCARD_S_SUCCESS ? len : 0);
  return rv;
}

Bytes CardHandle::Transmit(const Bytes& command) {
  Bytes response;
  LONG rv = TryTransmit(command, response);
  if (rv != SCARD_S_SUCCESS) {
    Fail("SCardTransmit(" + ToHex(command) + "): " + PcscError(rv));
  }
  return response;
}

void CardHandle::Reconnect(DWORD init) {
  Check(SCardReconnect(h_, SCARD_SHARE_SHARED, preferred_, init, &protocol_), "SCardReconnect");
}

}  // namespace dmcard::pcsctest
