#!/usr/bin/env bash
# The main job: a virtual DM card with the built-in demo profile, visible to PC/SC.
# Installs pcscd and vsmartcard-vpcd if missing, starts pcscd if none runs (no systemd needed),
# builds dmcard, and runs dmcard-vicc in the foreground until Ctrl-C. Extra arguments go to
# dmcard-vicc (see: build/vpcd-bridge/dmcard-vicc --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target dmcard-vicc dmcard >/dev/null

if [ ! -f /etc/reader.conf.d/vpcd ]; then
  echo "run: /etc/reader.conf.d/vpcd is missing; reinstall vsmartcard-vpcd" >&2
  exit 1
fi
if ! pidof pcscd >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "run: pcscd is not running and starting it needs root: sudo pcscd" >&2
    exit 1
  fi
  echo "run: starting pcscd"
  pcscd
fi

state="${DMCARD_STATE:-$PWD/.state/demo}"
cat <<TXT
run: the demo card keeps its memory in $state/slot0 (set DMCARD_STATE to change the folder;
     delete it to reset). With dmcard-vicc stopped: build/host-tools/dmcard shell --state $state/slot0
run: it appears in PC/SC as reader "Virtual PCD 00 00". In another terminal, try:
       opensc-tool -a
       echo '00 A4 04 00 09 F0 44 4D 43 41 52 44 46 53' | scriptor
       pcsc_scan
     Take the card out and put it back: build/vpcd-bridge/dmcard-vicc ctl remove|insert
     Stop with Ctrl-C.
TXT
exec ./build/vpcd-bridge/dmcard-vicc --state "$state" "$@"
