// dmcard-pcsc-bench: round-trip time of one APDU through pcscd to one or more readers,
// interleaved so that every reader sees the same machine conditions. Prints per-reader
// median / mean / p99 in microseconds and the ratio of each reader's median to the last one's.
#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "runtime/bytes.h"

namespace {

constexpr const char* kUsage =
    "usage: dmcard-pcsc-bench --reader NAME [--reader NAME ...] [--apdu HEX] [--count N]\n"
    "                         [--rounds R] [--wait SECONDS]\n"
    "  Sends APDU (default: SELECT of the demo applet, no response data) COUNT times per round\n"
    "  to each reader in turn, R rounds; waits up to SECONDS for the cards to be present.\n";

bool Check(LONG rv, const char* call) {
  if (rv == SCARD_S_SUCCESS) return true;
  std::fprintf(stderr, "dmcard-pcsc-bench: %s failed: %s\n", call, pcsc_stringify_error(rv));
  return false;
}

struct Reader {
  std::string name;
  SCARDHANDLE card = 0;
  DWORD protocol = 0;
  std::vector<double> us;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<Reader> readers;
  std::string apdu_hex = "00A4040C09F0444D434152444653";
  int count = 2000;
  int rounds = 5;
  int wait_s = 10;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--reader" && (v = next())) {
      readers.push_back(Reader{v, 0, 0, {}});
    } else if (a == "--apdu" && (v = next())) {
      apdu_hex = v;
    } else if (a == "--count" && (v = next())) {
      count = std::atoi(v);
    } else if (a == "--rounds" && (v = next())) {
      rounds = std::atoi(v);
    } else if (a == "--wait" && (v = next())) {
      wait_s = std::atoi(v);
    } else {
      std::fputs(kUsage, stderr);
      return a == "-h" || a == "--help" ? 0 : 2;
    }
  }
  auto apdu = dmcard::FromHex(apdu_hex);
  if (readers.empty() || !apdu || count < 1 || rounds < 1) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  SCARDCONTEXT ctx = 0;
  if (!Check(SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx),
             "SCardEstablishContext")) {
    return 1;
  }
  // Wait for every card to be present.
  std::vector<SCARD_READERSTATE> states(readers.size());
  for (size_t i = 0; i < readers.size(); ++i) {
    states[i] = SCARD_READERSTATE{};
    states[i].szReader = readers[i].name.c_str();
    states[i].dwCurrentState = SCARD_STATE_UNAWARE;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
  for (;;) {
    LONG rv = SCardGetStatusChange(ctx, 500, states.data(), static_cast<DWORD>(states.size()));
    bool all = rv == SCARD_S_SUCCESS || rv == SCARD_E_TIMEOUT;
    for (auto& st : states) {
      all = all && (st.dwEventState & SCARD_STATE_PRESENT) != 0;
      st.dwCurrentState = st.dwEventState;
    }
    if (all) break;
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "dmcard-pcsc-bench: cards not present within %d s\n", wait_s);
      return 1;
    }
  }
  for (Reader& r : readers) {
    if (!Check(SCardConnect(ctx, r.name.c_str(), SCARD_SHARE_SHARED,
                            SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &r.card, &r.protocol),
               "SCardConnect")) {
      return 1;
    }
    r.us.reserve(static_cast<size_t>(count * rounds));
  }
  BYTE rbuf[MAX_BUFFER_SIZE_EXTENDED];
  for (int round = 0; round < rounds; ++round) {
    for (Reader& r : readers) {
      const SCARD_IO_REQUEST* pci = r.protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
      for (int i = 0; i < count; ++i) {
        DWORD rlen = sizeof rbuf;
        const auto t0 = std::chrono::steady_clock::now();
        LONG rv = SCardTransmit(r.card, pci, apdu->data(), static_cast<DWORD>(apdu->size()),
                                nullptr, rbuf, &rlen);
        const auto t1 = std::chrono::steady_clock::now();
        if (!Check(rv, "SCardTransmit")) return 1;
        if (rlen < 2 || rbuf[rlen - 2] != 0x90 || rbuf[rlen - 1] != 0x00) {
          std::fprintf(stderr, "dmcard-pcsc-bench: %s answered %s, not 9000\n", r.name.c_str(),
                       dmcard::ToHex(dmcard::ByteView(rbuf, rlen)).c_str());
          return 1;
        }
        r.us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
    }
  }
  std::printf("%-24s %10s %10s %10s %8s\n", "reader", "median us", "mean us", "p99 us", "APDUs");
  std::vector<double> medians;
  for (Reader& r : readers) {
    std::sort(r.us.begin(), r.us.end());
    double mean = 0;
    for (double x : r.us) mean += x;
    mean /= static_cast<double>(r.us.size());
    const double median = r.us[r.us.size() / 2];
    const double p99 = r.us[r.us.size() * 99 / 100];
    medians.push_back(median);
    std::printf("%-24s %10.1f %10.1f %10.1f %8zu\n", r.name.c_str(), median, mean, p99,
                r.us.size());
    SCardDisconnect(r.card, SCARD_LEAVE_CARD);
  }
  for (size_t i = 0; i + 1 < readers.size(); ++i) {
    std::printf("ratio of medians %s / %s: %.3f\n", readers[i].name.c_str(),
                readers.back().name.c_str(), medians[i] / medians.back());
  }
  SCardReleaseContext(ctx);
  return 0;
}
