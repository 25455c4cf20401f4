#!/usr/bin/env bash
# Fuzzes the public API with libFuzzer under ASan and UBSan for a bounded time (default 120 s).
# Usage: bash scripts/fuzz.sh [seconds]     (installs clang and libclang-rt-14-dev when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-packages.sh cmake make clang libclang-rt-14-dev libeigen3-dev
cmake --preset fuzz -DCNNPRIM_FUZZ_SECONDS="${1:-120}" > /dev/null
cmake --build --preset fuzz
ctest --preset fuzz -L fuzz
