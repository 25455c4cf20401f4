#!/usr/bin/env bash
# Fuzzes the public API with libFuzzer under ASan and UBSan for a bounded time (default 120 s), from a new
# random seed each run unless one is given (a given seed repeats a run).
# Usage: bash scripts/fuzz.sh [seconds] [seed]     (installs clang and libclang-rt-14-dev when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-packages.sh cmake make clang libclang-rt-14-dev libeigen3-dev
cmake --preset fuzz -DCNNPRIM_FUZZ_SECONDS="${1:-120}" -DCNNPRIM_FUZZ_SEED="${2:-0}" > /dev/null
cmake --build --preset fuzz
ctest --preset fuzz -L fuzz
