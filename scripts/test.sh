#!/usr/bin/env bash
# Runs every test: installs what is missing, builds the normal and the ASan+UBSan
# configurations, runs all tests in both, and checks formatting. Exit status 0 only if all pass.
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

# Warnings are errors here (DMCARD_WERROR), not in a user's build. The three builds cover the
# build types users pick: Release (g++ 12), Debug (ASan + UBSan), RelWithDebInfo (clang 14).
step "build (Release, g++)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDMCARD_WERROR=ON >/dev/null
cmake --build build -j "$jobs"

step "build (ASan + UBSan)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDMCARD_SANITIZE=ON \
  -DDMCARD_BUILD_BENCH=OFF -DDMCARD_WERROR=ON >/dev/null
cmake --build build-asan -j "$jobs"

step "build (RelWithDebInfo, clang 14)"
cmake -S . -B build-clang -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_COMPILER=clang -DDMCARD_BUILD_BENCH=OFF -DDMCARD_WERROR=ON >/dev/null
cmake --build build-clang -j "$jobs"

step "fuzz (libFuzzer + ASan + UBSan, every target for a bounded time; docs/fuzzing.md)"
bash scripts/fuzz.sh

step "benchmarks build and run once (smoke, figures not asserted)"
./build/bench/dmcard_bench --benchmark_min_time=0.01 >/dev/null

step "tests (clang build)"
ctest --test-dir build-clang --output-on-failure -j "$jobs" -LE pcsc  # the PC/SC stack runs in the two builds below

step "tests (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE soak  # the kill soak: Release only

step "tests"
ctest --test-dir build --output-on-failure -j "$jobs"
step "all passed"
