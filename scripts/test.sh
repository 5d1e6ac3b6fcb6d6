#!/usr/bin/env bash
# Runs every test: installs what is missing, checks formatting, builds the Release and the
# ASan + UBSan configurations, runs the fuzzers and all tests in both. Exit status 0 only if all
# pass.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
started=$SECONDS
# Each step says when it starts, in seconds since the start, so a slow step shows in the log.
step() { echo "== [$((SECONDS - started)) s] $*"; }

bash scripts/install-deps.sh

step "format check (clang-format)"
mapfile -t sources < <(git ls-files '*.h' '*.cc' 2>/dev/null || find applet host-tools tests bench vpcd-bridge -name '*.h' -o -name '*.cc')
if [ ${#sources[@]} -gt 0 ]; then
  clang-format --dry-run --Werror "${sources[@]}"
fi

# Warnings are errors here (DMCARD_WERROR), not in a user's build. Two builds: Release with
# g++ 12, and Debug with clang 14 under ASan + UBSan with libFuzzer's instrumentation, which also
# builds the fuzz targets (one sanitizer build serves the tests and the fuzzers).
step "build (Release, g++)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDMCARD_WERROR=ON >/dev/null
cmake --build build -j "$jobs"

step "build (Debug, clang 14, ASan + UBSan, fuzz targets)"
cmake -S . -B build-clang -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_COMPILER=clang -DDMCARD_FUZZ=ON -DDMCARD_WERROR=ON >/dev/null
cmake --build build-clang -j "$jobs"

step "fuzz (libFuzzer + ASan + UBSan, every target for a bounded time; docs/fuzzing.md)"
bash scripts/fuzz.sh --build-dir build-clang

step "benchmarks run once (smoke, figures not asserted)"
./build/bench/dmcard_bench --benchmark_min_time=0.01 >/dev/null

step "tests (clang, ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-clang --output-on-failure -j "$jobs" -LE soak  # the kill soak: Release only

step "tests (Release)"
ctest --test-dir build --output-on-failure -j "$jobs"

# The reliability figures the tests printed (BENCHMARKS.md, RELIABILITY; the fuzz table is above):
# cut points tried, damaged states, kills survived.
step "reliability figures (Release run)"
grep -h -E '^\[(tear\]| damage   \]|          \] soak:)' build/Testing/Temporary/LastTest.log || true
step "all passed"
