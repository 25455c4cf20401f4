#!/usr/bin/env bash
# Trains examples/fashion_mnist and plots its training curve (loss and test accuracy per epoch) with gnuplot:
#   bash scripts/training_curve.sh [BUILD_DIR] [example options...]
# e.g. bash scripts/training_curve.sh build-native --threads 2 --epochs 5
# Writes benchmarks/results/training_curve.txt (the example's output) and training_curve.png.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-native}
shift $(( $# < 1 ? $# : 1 ))
results=benchmarks/results
mkdir -p "$results"
"./$build/examples/fashion_mnist" "$@" | tee "$results/training_curve.txt"
# "epoch 1/5  loss 0.4130  train accuracy 85.40%  test accuracy 87.18%  ..." -> "1 0.4130 87.18"
data=$(mktemp)
trap 'rm -f "$data"' EXIT
sed -nE 's|^epoch ([0-9]+)/[0-9]+ +loss ([0-9.]+) .*test accuracy +([0-9.]+)%.*|\1 \2 \3|p' \
  "$results/training_curve.txt" > "$data"
gnuplot <<GNUPLOT
set terminal pngcairo size 800,420 noenhanced
set output '$results/training_curve.png'
set title 'examples/fashion_mnist: training loss and test accuracy per epoch'
set xlabel 'epoch'
set ylabel 'training loss'
set y2label 'test accuracy (%)'
set ytics nomirror
set y2tics
set xtics 1
set grid
set key center right
plot '$data' using 1:2 with linespoints lw 2 title 'training loss (mean over the epoch)', \
     '' using 1:3 axes x1y2 with linespoints lw 2 title 'test accuracy'
GNUPLOT
echo "wrote $results/training_curve.png"
