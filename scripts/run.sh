#!/usr/bin/env bash
# The main job: a virtual DM card with the built-in demo profile, visible to PC/SC.
# Installs pcscd and vsmartcard-vpcd if missing, starts pcscd if none runs (no systemd needed),
# builds dmcard, and runs dmcard-vicc in the foreground until Ctrl-C. Extra arguments go to
# dmcard-vicc (see: build/vpcd-bridge/dmcard-vicc --help).
set -euo pipefail

# Whether the running pcscd (process ids $@) has loaded vpcd's driver: 0 yes, 1 no, 2 cannot
# tell. pcscd reads /etc/reader.conf.d only when it starts, so a pcscd started before
# vsmartcard-vpcd was installed has no vpcd reader until it is restarted, and no card connecting
# to vpcd's port would ever appear. The driver shows in pcscd's memory map, which only root may
# read; otherwise a reader entry changed after pcscd started (dpkg creates the file at install,
# which sets its ctime) says the same. DMCARD_PROC stands in for /proc (tests).
pcscd_vpcd_state() {
  local proc="${DMCARD_PROC:-/proc}" conf="${DMCARD_READER_CONF_DIR:-/etc/reader.conf.d}"
  local pid maps readable=0
  for pid in "$@"; do
    # Another user's map reads as an error (or nothing), whatever its mode bits say.
    if maps=$(cat "$proc/$pid/maps" 2>/dev/null) && [ -n "$maps" ]; then
      readable=1
      if grep -q 'libifdvpcd' <<<"$maps"; then return 0; fi
    fi
  done
  if [ "$readable" -eq 1 ]; then return 1; fi
  local now age started changed file
  now=$(date +%s)
  for pid in "$@"; do
    age=$(ps -o etimes= -p "$pid" 2>/dev/null | tr -d ' ') || continue
    [ -n "$age" ] || continue
    started=$((now - age))
    for file in "$conf"/*; do
      if ! grep -qs 'libifdvpcd' "$file"; then continue; fi
      changed=$(stat -c %Z "$file" 2>/dev/null) || continue
      if [ "$changed" -gt "$started" ]; then return 1; fi
    done
  done
  return 2
}

# How to restart pcscd here, as shell lines.
restart_advice() {
  local pids="$1"
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    echo "       sudo systemctl restart pcscd"
  else
    echo "       sudo kill $pids && sudo pcscd"
  fi
}

main() {
  cd "$(dirname "$0")/.."
  bash scripts/install-deps.sh

  echo "run: building dmcard-vicc and dmcard in build/ (Release)"
  local generator=(-G Ninja) out
  if [ -f build/CMakeCache.txt ]; then generator=(); fi  # keep the generator it was made with
  if ! out=$(cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release 2>&1); then
    printf '%s\n' "$out" >&2
    echo "run: configuring the build failed (messages above)" >&2
    exit 1
  fi
  if ! cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target dmcard-vicc dmcard; then
    echo "run: the build failed (errors above)" >&2
    exit 1
  fi

  if ! grep -qs 'libifdvpcd' /etc/reader.conf.d/*; then
    echo "run: no vpcd reader in /etc/reader.conf.d; reinstall vsmartcard-vpcd" >&2
    exit 1
  fi
  local pids state=0
  pids=$(pidof pcscd || true)
  if [ -z "$pids" ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "run: pcscd is not running and starting it needs root: sudo pcscd" >&2
      exit 1
    fi
    echo "run: starting pcscd"
    pcscd
  else
    # shellcheck disable=SC2086 # one argument per pid
    pcscd_vpcd_state $pids || state=$?
  fi

  local state_dir="${DMCARD_STATE:-$PWD/.state/demo}"
  cat <<TXT
run: the demo card keeps its memory in $state_dir/slot0 (set DMCARD_STATE to change the folder;
     delete it to reset). With dmcard-vicc stopped: build/host-tools/dmcard shell --state $state_dir/slot0
TXT
  if [ "$state" -eq 1 ]; then
    cat >&2 <<TXT
run: pcscd (pid $pids) runs without vsmartcard-vpcd's reader: it started before vpcd was
     installed, and pcscd reads /etc/reader.conf.d only when it starts. The card will not appear
     in PC/SC until pcscd is restarted; dmcard-vicc waits for it and connects by itself then.
     Restart pcscd in another terminal:
$(restart_advice "$pids")
TXT
  else
    cat <<TXT
run: dmcard-vicc names its PC/SC reader when it connects (normally "Virtual PCD 00 00"). In
     another terminal, try:
       opensc-tool -a
       echo '00 A4 04 00 09 F0 44 4D 43 41 52 44 46 53' | scriptor
       pcsc_scan
TXT
  fi
  cat <<TXT
     Take the card out and put it back: build/vpcd-bridge/dmcard-vicc ctl remove|insert
     Stop with Ctrl-C.
TXT
  exec ./build/vpcd-bridge/dmcard-vicc --state "$state_dir" "$@"
}

# Sourced (tests): only the functions are defined. `return` works only when sourced.
if ! (return 0 2>/dev/null); then main "$@"; fi
