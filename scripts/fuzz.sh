#!/usr/bin/env bash
# Runs the libFuzzer targets (fuzz/, docs/fuzzing.md): builds them in build-fuzz (clang 14,
# ASan + UBSan; only the libraries and the targets), or in the clang build given by --build-dir
# (configured with -DDMCARD_FUZZ=ON, as scripts/test.sh does), runs each target for a bounded
# time from its seed corpus and crash regressions, prints a table, and exits non-zero on any
# crash, leak, timeout, out-of-memory, sanitizer report or oracle violation. A crashing input is
# copied to fuzz/regressions/<target>/ (the replay tests of every build then run it).
#
#   bash scripts/fuzz.sh                              # every target, 10 s each
#   bash scripts/fuzz.sh --seconds-per-target 3600 --jobs 2 apdu   # a long local run
#   bash scripts/fuzz.sh --build-dir build-clang      # the fuzz targets of that build
#
# --parallel P runs P targets at once (default: the number of CPUs); --jobs J runs J libFuzzer
# processes per target.
#
# New inputs that reach new code stay in <build dir>/corpus/<target>/ (not committed): a long
# run continues from them.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=10
dir=
jobs=1
parallel=$(nproc 2>/dev/null || echo 2)
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds-per-target) seconds="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --parallel) parallel="$2"; shift 2 ;;
    --build-dir) dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all=(apdu tnds_xml wbxml bootstrap_message profile_json trace vpcd control scp03_unwrap
     store_open bootstrap_package device_provision)
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

if [ -z "$dir" ]; then
  dir=build-fuzz
  echo "== build (libFuzzer, ASan + UBSan, clang 14: $dir)"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DDMCARD_FUZZ=ON -DDMCARD_WERROR=ON >/dev/null
elif ! grep -q '^DMCARD_FUZZ:BOOL=ON' "$dir/CMakeCache.txt" 2>/dev/null; then
  echo "fuzz.sh: $dir is not a build configured with -DDMCARD_FUZZ=ON (clang); configure it so," \
    "or leave out --build-dir to use build-fuzz" >&2
  exit 2
fi
cmake --build "$dir" -j "$(nproc 2>/dev/null || echo 2)" \
  --target $(printf '%s_fuzzer ' "${targets[@]}")

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$dir/artifacts"
# One target: its run, then its row of the table in $dir/artifacts/<target>.row (a row
# starting with FAILED marks a failure).
run_target() {
  local t="$1"
  local exe="$dir/fuzz/${t}_fuzzer" work="$dir/corpus/$t"
  local artifacts="$dir/artifacts/$t" log="$dir/artifacts/$t.log"
  mkdir -p "$work" "$artifacts"
  rm -f "$artifacts"/* "$artifacts.row"
  local seeds=("fuzz/corpus/$t")
  [ -d "fuzz/regressions/$t" ] && seeds+=("fuzz/regressions/$t")
  local rc=0 multi=()
  [ "$jobs" -gt 1 ] && multi=(-jobs="$jobs" -workers="$jobs")
  # -timeout: one input over 10 s is a hang; -rss_limit_mb: a leak or blow-up past 2 GB.
  (cd "$artifacts" && "$OLDPWD/$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    "${multi[@]}" -print_final_stats=1 -artifact_prefix="$OLDPWD/$artifacts/" \
    "$OLDPWD/$work" "${seeds[@]/#/$OLDPWD/}") >"$log" 2>&1 || rc=$?
  [ "$jobs" -gt 1 ] && cat "$artifacts"/fuzz-*.log >>"$log" 2>/dev/null
  rm -f "$artifacts"/fuzz-*.log
  local execs corpus result=ok crash
  execs=$(grep -h 'stat::number_of_executed_units' "$log" | awk '{s+=$2} END {print s+0}')
  corpus=$(find "$work" -type f | wc -l)
  crash=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' -o -name 'slow-unit-*' \) | head -1)
  if [ "$rc" -ne 0 ] || [ -n "$crash" ]; then
    result="FAILED (exit $rc)"
    if [ -n "$crash" ]; then
      mkdir -p "fuzz/regressions/$t"
      cp "$crash" "fuzz/regressions/$t/"
      result="FAILED: $(basename "$crash") copied to fuzz/regressions/$t/"
    fi
    {
      grep -h -E 'ORACLE VIOLATION|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' \
        "$log" | head -5 | sed "s/^/  [$t] /"
      echo "  [$t] full log: $log"
    } >&2
  fi
  printf '%-18s %10s %9s %8s  %s\n' "$t" "$execs" "$((execs / seconds))" "$corpus" "$result" \
    >"$dir/artifacts/$t.row"
}

echo "== fuzz: ${#targets[@]} targets, $seconds s each, $parallel at a time"
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$parallel" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
wait
failed=0
rows=()
for t in "${targets[@]}"; do
  row=$(cat "$dir/artifacts/$t.row" 2>/dev/null || printf '%-18s  FAILED (no result)' "$t")
  case "$row" in *FAILED*) failed=1 ;; esac
  rows+=("$row")
done

echo
printf '%-18s %10s %9s %8s  %s\n' target execs execs/s corpus result
printf '%s\n' "${rows[@]}"
echo "($seconds s per target, $parallel targets at a time, $jobs job(s) each; $(date -u +%Y-%m-%d)," \
  "$(nproc) CPUs)"
if [ "$failed" -ne 0 ]; then
  echo "fuzz.sh: FAILED — reproduce with $dir/fuzz/<target>_fuzzer <input>; once fixed," \
    "commit the input in fuzz/regressions/<target>/ (docs/fuzzing.md)" >&2
  exit 1
fi
