#!/usr/bin/env bash
# Memory of dmcard-vicc holding 1 and 1000 demo cards (issue 13 item 5; BENCHMARKS.md, "Scale"):
# the process's VmRSS (/proc/PID/status) once every card listens, in reverse mode (no pcscd,
# no vpcd), RAM only, with a new --state DIR (each card's image written and synced), and with
# that DIR again (each card read back from its image). Also its open files and how long the
# cards took to make. Figures are reported, not checked.
#
#   bash scripts/many-cards-memory.sh [path/to/dmcard-vicc]   (default build/vpcd-bridge/dmcard-vicc)
#
# Ports: DMCARD_MANY_PORT (default 26000) .. +999, loopback, below the ephemeral range.
set -euo pipefail

vicc=${1:-build/vpcd-bridge/dmcard-vicc}
base=${DMCARD_MANY_PORT:-26000}
[[ -x $vicc ]] || { echo "no dmcard-vicc at $vicc (build it, or pass its path)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run LABEL N [ARGS...]: starts N cards, waits until the control socket answers (the loop runs
# once every card is made and listening), prints a table row, stops it.
run() {
  local label=$1 n=$2
  shift 2
  local sock=$work/ctl.sock err=$work/stderr
  local start=$SECONDS
  "$vicc" --reverse --slots "$n" --port "$base" --control "$sock" "$@" 2>"$err" &
  local pid=$!
  local status=""
  for _ in $(seq 1 1200); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "dmcard-vicc stopped:" >&2
      cat "$err" >&2
      exit 1
    fi
    if status=$("$vicc" ctl --control "$sock" status 2>/dev/null); then break; fi
    sleep 0.1
  done
  local lines rss hwm fds made
  lines=$(grep -c '^slot ' <<<"$status" || true)
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
  fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
  made=$(sed -n 's/.* cards made in \([0-9.]*\) s$/\1 s/p' "$err")
  printf '%-22s %5d %6d %10d %10d %6d  %s\n' "$label" "$n" "$lines" "$rss" "$hwm" "$fds" \
    "${made:-<$((SECONDS - start + 1)) s}"
  kill -TERM "$pid"
  wait "$pid" || true
}

printf '%-22s %5s %6s %10s %10s %6s  %s\n' "run" "cards" "status" "VmRSS kB" "VmHWM kB" "fds" \
  "cards made in"
run "RAM" 1
run "RAM" 1000
run "--state, new" 1 --state "$work/state1"
run "--state, new" 1000 --state "$work/state1000"
run "--state, existing" 1 --state "$work/state1"
run "--state, existing" 1000 --state "$work/state1000"
