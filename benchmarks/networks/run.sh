#!/usr/bin/env bash
# ResNet-18, MobileNet-v2 and a Fashion-MNIST training step in cnnprim and, when python3-torch is installed, in
# PyTorch, at 1 and 2 threads; writes benchmarks/results/networks.json (cnnprim), networks_torch.json,
# networks.md (side by side) and resnet18_layers.png (per-layer chart); with the Fashion-MNIST data set installed,
# fashion_mnist_epoch.md (a training epoch of examples/fashion_mnist beside the same in PyTorch).
# Usage: bash benchmarks/networks/run.sh      (after the native build, which benchmarks/run.sh makes)
# Environment: REPETITIONS (default 5), MIN_TIME seconds per repetition (default 0.5).
set -euo pipefail
cd "$(dirname "$0")/../.."

cmake --build --preset native --target cnnprim_network_benchmarks fashion_mnist
results=benchmarks/results
mkdir -p "$results"
# PyTorch is told its threads per benchmark; OMP_NUM_THREADS only sets where both start.
OMP_NUM_THREADS=1 ./build-native/benchmarks/cnnprim_network_benchmarks \
  --benchmark_repetitions="${REPETITIONS:-5}" --benchmark_report_aggregates_only=true \
  --benchmark_min_time="${MIN_TIME:-0.5}" --benchmark_out="$results/networks.json" --benchmark_out_format=json
# Debian's PyTorch is in Debian's python3, which may not be the first python3 on PATH.
python=/usr/bin/python3
if "$python" -c "import torch" 2>/dev/null; then
  OMP_NUM_THREADS=1 "$python" benchmarks/networks/torch_networks.py "$results/networks_torch.json" \
    --repetitions "${REPETITIONS:-5}" --min-time "${MIN_TIME:-0.5}"
  "$python" benchmarks/networks/compare.py "$results/networks.json" "$results/networks_torch.json" "$results"
  if [ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    "$python" benchmarks/networks/fashion_mnist_epoch.py ./build-native/examples/fashion_mnist \
      "$results/fashion_mnist_epoch.md" --seeds "${SEEDS:-5}"
  else
    echo "Fashion-MNIST not found (apt-get install dataset-fashion-mnist to time a training epoch)"
  fi
else
  echo "PyTorch not found (apt-get install python3-torch to compare with it)"
fi
