#!/usr/bin/env bash
# Builds the benchmarks with -O3 -march=native, runs the whole suite on one thread with repetitions in random
# order (so that the machine's drift over the run touches every benchmark alike), and writes
# benchmarks/results/: results.json (Google Benchmark), results.md (medians, rates, Eigen/Loop speed-ups,
# cnnprim/oneDNN ratios) and ratios.png (a chart of those ratios); then benchmarks/networks/run.sh (whole
# networks beside PyTorch).
# Usage: bash benchmarks/run.sh [extra Google Benchmark flags, e.g. --benchmark_filter=Pool]
# Environment: REPETITIONS (default 5), MIN_TIME seconds per repetition (default 0.2).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-packages.sh cmake g++ make libeigen3-dev libgtest-dev libbenchmark-dev libdnnl-dev gnuplot-nox \
  python3 python3-torch

cmake --preset native
cmake --build --preset native --target cnnprim_benchmarks

results=benchmarks/results
mkdir -p "$results"
# One thread for everyone: Eigen is built without OpenMP, and oneDNN's OpenMP runtime is told here too.
OMP_NUM_THREADS=1 ./build-native/benchmarks/cnnprim_benchmarks \
  --benchmark_repetitions="${REPETITIONS:-5}" --benchmark_report_aggregates_only=true \
  --benchmark_enable_random_interleaving=true \
  --benchmark_min_time="${MIN_TIME:-0.2}" \
  --benchmark_out="$results/results.json" --benchmark_out_format=json "$@"
python3 benchmarks/report.py "$results/results.json" "$results"
echo "wrote $results/results.md and $results/ratios.png"
bash benchmarks/networks/run.sh
