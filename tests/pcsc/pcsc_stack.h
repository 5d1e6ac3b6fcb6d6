// Harness for the integration tests on the real PC/SC stack: pcscd (started here, in the
// foreground) + Debian's vsmartcard vpcd driver + libpcsclite, with dmcard-vicc as the card.
//
// Isolation: the first Sandbox::Get() moves this process (and so every child it starts) into
// a private mount namespace with `/` made rprivate, mounts a tmpfs on /run/pcscd (pcscd's
// socket and pid file) and bind-mounts a directory holding only our vpcd entry over
// /etc/reader.conf.d. It also tries a private network namespace (loopback only), so the vpcd
// ports can never meet a card or a vpcd of the host. The mounts disappear with the namespace
// when this process and its children exit; children get SIGKILL if this process dies.
//
// Environment: DMCARD_VICC=path overrides the dmcard-vicc binary; DMCARD_PCSC_DEBUG=1 runs
// pcscd with --debug; DMCARD_PCSC_KEEP=1 keeps the scratch directory (logs) even on success.
//
// Failures are reported by throwing std::runtime_error with the SCard* call (or the awaited
// condition) and pcsc_stringify_error() in the message; GoogleTest turns that into a failure.
#pragma once

#include <winscard.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dmcard::pcsctest {

using Bytes = std::vector<uint8_t>;
using std::chrono::milliseconds;

Bytes Hex(std::string_view hex);  // "00 A4 04 00" or "00A40400"; throws on odd/invalid input
std::string ToHex(const Bytes& bytes, bool spaced = false);  // upper case
uint16_t Sw(const Bytes& response);                          // last two bytes; throws if < 2
Bytes Data(const Bytes& response);                           // all but the last two bytes
std::string ReadFile(const std::filesystem::path& path);
std::string Tail(const std::string& text, size_t lines);

// vpcd port of slot 0 in our reader.conf entry (0x8CA0); slot N is kBasePort + N.
inline constexpr uint16_t kBasePort = 0x8CA0;
// Reader name pcscd gives vpcd slot `slot` (e.g. "Virtual PCD 00 00").
std::string ReaderName(int slot);

// The private namespaces and mounts. Set up once per process, on first use.
class Sandbox {
 public:
  static Sandbox& Get();
  // The sandbox if Get() was ever called (listing tests does not create it), else null.
  static Sandbox* IfCreated() { return instance_; }
  bool ok() const { return reason_.empty(); }
  // Why the tests cannot run here (the real cause), with how to run them; empty when ok().
  const std::string& skip_reason() const { return reason_; }
  // True under CI (CI=true, as CI services set it) as root: then the suite must run, and a
  // sandbox that cannot be set up fails every test instead of skipping it.
  static bool MustRun();
  // Scratch directory (logs, card state, control sockets); removed at exit unless a test
  // failed or DMCARD_PCSC_KEEP is set.
  const std::filesystem::path& dir() const { return dir_; }
  bool private_network() const { return private_net_; }
  // The directory bind-mounted over /etc/reader.conf.d (our "vpcd" entry); pcscd reads changes
  // on its next start.
  std::filesystem::path reader_conf_dir() const { return dir_ / "reader.conf.d"; }
  // Fresh path under dir() with the given prefix (numbered).
  std::filesystem::path NewPath(const std::string& prefix);
  void KeepScratch() { keep_ = true; }
  ~Sandbox();

 private:
  Sandbox();
  std::string Setup();
  static inline Sandbox* instance_ = nullptr;
  std::string reason_;
  std::filesystem::path dir_;
  bool private_net_ = false;
  bool keep_ = false;
  int counter_ = 0;
};

// A child process with its stdout and stderr in files. Killed (SIGKILL) when destroyed if
// still running.
class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  // Starts `argv` (argv[0] is the path). stdout/stderr go to `log_prefix`.out/.err (stderr to
  // the .out file too when `merge_stderr`). Throws when fork/exec fail.
  void Start(std::vector<std::string> argv, const std::filesystem::path& log_prefix,
             bool merge_stderr = false);
  bool running();
  pid_t pid() const { return pid_; }
  // Sends `sig`, waits up to `timeout`; then SIGKILL. Returns the wait status (or -1 if it was
  // not running). `graceful` tells whether it exited by itself within the timeout.
  int Stop(int sig, milliseconds timeout, bool* graceful = nullptr);
  // Waits for exit up to `timeout`; the wait status, or nullopt on timeout.
  std::optional<int> Wait(milliseconds timeout);
  std::string out() const;
  std::string err() const;
  const std::vector<std::string>& argv() const { return argv_; }
  std::string Describe() const;  // command line + last lines of its logs

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::vector<std::string> argv_;
  std::filesystem::path out_, err_;
};

// Runs `argv` to completion with `input` on stdin; stdout+stderr captured together. Killed
// after `timeout` (then `timed_out` is set).
struct ToolResult {
  int exit_code = -1;  // -1 when killed by a signal
  bool timed_out = false;
  std::string output;
};
ToolResult RunTool(const std::vector<std::string>& argv, const std::string& input = "",
                   milliseconds timeout = milliseconds(10000));

// Waits until a TCP socket of this network namespace listens on `port` (/proc/net/tcp{,6}).
void WaitListening(uint16_t port, milliseconds timeout = milliseconds(5000));

// pcscd, foreground, logs (-a: APDUs) in a file per start under the sandbox directory.
class Pcscd {
 public:
  // Starts pcscd and waits until SCardEstablishContext succeeds (throws after `timeout`, with
  // the log). No-op when running.
  void Start(milliseconds timeout = milliseconds(5000));
  void Stop();
  void Restart() {
    Stop();
    Start();
  }
  bool running() { return child_ && child_->running(); }
  std::string log() const;  // log of the current (or last) run
  std::string Describe() const;

 private:
  std::unique_ptr<Child> child_;
  std::string previous_;  // Describe() of the run before the current one
  int starts_ = 0;
};

// One dmcard-vicc process.
class ViccProcess {
 public:
  // `args` come after the program path; --port and --control are added unless present.
  explicit ViccProcess(std::vector<std::string> args);
  ~ViccProcess();
  void Start();
  // SIGTERM and wait (up to 5 s); returns the wait status.
  int Stop(bool* graceful = nullptr);
  void Kill9();
  bool running() { return child_.running(); }
  pid_t pid() const { return child_.pid(); }
  const std::string& control_path() const { return control_; }
  std::string out() const { return child_.out(); }
  std::string err() const { return child_.err(); }
  std::string Describe() const { return child_.Describe(); }
  // `dmcard-vicc ctl --control <ours> <words...>`
  ToolResult Ctl(const std::vector<std::string>& words);

 private:
  std::vector<std::string> args_;
  std::string control_;
  std::filesystem::path log_prefix_;
  Child child_;
  int starts_ = 0;
};
const std::string& ViccPath();

// SCARDCONTEXT owner; every call checked.
class Context {
 public:
  Context();  // SCardEstablishContext(SCARD_SCOPE_SYSTEM)
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  SCARDCONTEXT get() const { return ctx_; }
  std::vector<std::string> Readers();  // empty when pcscd knows no reader

  // Waits until the reader list contains `reader` (throws after `timeout`).
  void WaitForReader(const std::string& reader, milliseconds timeout = milliseconds(5000));
  // The reader's current state (SCardGetStatusChange, timeout 0).
  DWORD State(const std::string& reader);
  // Waits until the reader's state has all bits of `state` (SCARD_STATE_PRESENT or
  // SCARD_STATE_EMPTY, ...). Throws after `timeout` with the last state seen.
  DWORD WaitForState(const std::string& reader, DWORD state,
                     milliseconds timeout = milliseconds(5000));

 private:
  SCARDCONTEXT ctx_ = 0;
};

std::string StateText(DWORD state);

struct CardStatus {
  std::string reader;
  DWORD state = 0;
  DWORD protocol = 0;
  Bytes atr;
};

// SCARDHANDLE owner (SCARD_SHARE_SHARED); every call checked.
class CardHandle {
 public:
  CardHandle(Context& ctx, const std::string& reader,
             DWORD protocols = SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1);
  ~CardHandle();  // SCardDisconnect(SCARD_LEAVE_CARD), unchecked
  CardHandle(const CardHandle&) = delete;
  CardHandle& operator=(const CardHandle&) = delete;
  DWORD protocol() const { return protocol_; }
  CardStatus Status();
  // Sends a C-APDU, returns the R-APDU (data + SW).
  Bytes Transmit(const Bytes& command);
  Bytes Transmit(std::string_view hex) { return Transmit(Hex(hex)); }
  // Unchecked variant: the SCard return code; `response` set on success.
  LONG TryTransmit(const Bytes& command, Bytes& response);
  void Reconnect(DWORD init = SCARD_LEAVE_CARD);

 private:
  SCARDHANDLE h_ = 0;
  DWORD protocol_ = 0;
  DWORD preferred_;
};

// Throws "<call>: <pcsc_stringify_error> (0x...)" unless rv == SCARD_S_SUCCESS.
void Check(LONG rv, const char* call);
std::string PcscError(LONG rv);

}  // namespace dmcard::pcsctest
