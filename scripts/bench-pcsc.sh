#!/usr/bin/env bash
# PC/SC round-trip bench: the demo card and the do-nothing card behind the same private pcscd,
# interleaved in one run; prints each one's median round trip and their ratio, and the resident
# memory of dmcard-vicc with 1 and with 10 cards. Root only (private mount namespace, as the
# integration tests do). Usage: bash scripts/bench-pcsc.sh [--count N] [--rounds R]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "bench-pcsc: needs root (it starts a private pcscd in its own mount namespace)" >&2
  exit 1
fi
if [ -z "${DMCARD_BENCH_IN_NS:-}" ]; then
  bash scripts/install-deps.sh
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j "$(nproc)" --target dmcard-vicc dmcard-pcsc-bench >/dev/null
  exec env DMCARD_BENCH_IN_NS=1 unshare -m bash "$0" "$@"
fi

port=36300
work=$(mktemp -d /tmp/dmcard-bench.XXXXXX)
mkdir -p "$work/reader.conf.d"
printf 'FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:0x%X\nLIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID 0x%X\n' \
  "$port" "$port" > "$work/reader.conf.d/vpcd"
mount --make-rprivate /
if [ -d /run/pcscd ]; then
  mount -t tmpfs tmpfs /run/pcscd
else  # never create directories on the host's /run: cover it with a private tmpfs instead
  mount -t tmpfs tmpfs /run
  mkdir -p /run/pcscd
fi
mount --bind "$work/reader.conf.d" /etc/reader.conf.d

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

pcscd -f >"$work/pcscd.log" 2>&1 &
pids+=($!)
"$root/build/vpcd-bridge/dmcard-vicc" --port "$port" --card demo --card null \
  --control "$work/ctl.sock" >"$work/vicc.log" 2>&1 &
pids+=($!)

echo "== SELECT round trip through pcscd + vpcd (demo card vs do-nothing card, same pcscd)"
echo "   $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
"$root/build/bench/dmcard-pcsc-bench" --reader "Virtual PCD 00 00" --reader "Virtual PCD 00 01" \
  --apdu 00A4040C09F0444D434152444653 "$@"

echo "== READ BINARY 256 bytes round trip (demo card)"
"$root/build/bench/dmcard-pcsc-bench" --reader "Virtual PCD 00 00" --apdu 00A4080C0450005001 \
  --count 1 --rounds 1 >/dev/null
"$root/build/bench/dmcard-pcsc-bench" --reader "Virtual PCD 00 00" --apdu 00B0000000 "$@"

rss_kib() {  # resident memory of a dmcard-vicc with N demo cards, nothing listening
  "$root/build/vpcd-bridge/dmcard-vicc" --port 36400 --slots "$1" --control "$work/m$1.sock" \
    2>/dev/null &
  local p=$!
  for _ in $(seq 50); do [ -S "$work/m$1.sock" ] && break; sleep 0.1; done
  awk '/^VmRSS/ {print $2}' "/proc/$p/status"
  kill "$p"; wait "$p" 2>/dev/null || true
}
echo "== resident memory of dmcard-vicc"
one=$(rss_kib 1)
ten=$(rss_kib 10)
echo "1 card: ${one} KiB; 10 cards: ${ten} KiB; each further card: $(( (ten - one) / 9 )) KiB"
