#!/usr/bin/env bash
# The main job: builds dmcard and starts the built-in demo card.
# (Until the vpcd bridge lands this runs the card in-process and shows a session with it.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target dmcard >/dev/null
exec ./build/host-tools/dmcard demo "$@"
