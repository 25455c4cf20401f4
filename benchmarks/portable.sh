#!/usr/bin/env bash
# What a build without -march=native costs: the second-form calls of the Eigen path (float, one thread),
# built three ways and run one after the other on this machine:
#   default  -O3 with the compiler's baseline x86-64 (SSE2), what a plain build gets;
#   avx2     -O3 -mavx2 -mfma (x86-64-v3), what linking cnnprim::avx2 gives;
#   native   -O3 -march=native.
# Writes benchmarks/results/portable.md. Usage: bash benchmarks/portable.sh [extra Google Benchmark flags]
# Environment: REPETITIONS (default 5), MIN_TIME seconds per repetition (default 0.2).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-packages.sh cmake g++ make libeigen3-dev libgtest-dev libbenchmark-dev python3

results=benchmarks/results
mkdir -p "$results"
filter='^BM_(Conv(Forward|Backward)<float, Backend::Eigen, Call::Second>|Pool(Forward|Backward)<float, PoolMode::[A-Za-z]+, Backend::Eigen, Call::Second>)'
for preset in default avx2 native; do
  cmake --preset "$preset" > /dev/null
  cmake --build --preset "$preset" --target cnnprim_benchmarks
  binary_dir=build-$preset
  [[ $preset == default ]] && binary_dir=build
  OMP_NUM_THREADS=1 "$binary_dir/benchmarks/cnnprim_benchmarks" --benchmark_filter="$filter" \
    --benchmark_repetitions="${REPETITIONS:-5}" --benchmark_report_aggregates_only=true \
    --benchmark_enable_random_interleaving=true --benchmark_min_time="${MIN_TIME:-0.2}" \
    --benchmark_out="$results/portable-$preset.json" --benchmark_out_format=json "$@" > /dev/null
done
python3 benchmarks/report.py --portable "$results"/portable-{default,avx2,native}.json > "$results/portable.md"
echo "wrote $results/portable.md"
