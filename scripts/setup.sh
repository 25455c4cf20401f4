#!/usr/bin/env bash
# Installs the Debian packages cnnprim needs (when missing), configures, builds, and runs the main example.
# Usage: bash scripts/setup.sh        (from the repository's root; uses sudo only when not root)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-packages.sh cmake g++ make libeigen3-dev libgtest-dev libbenchmark-dev git pkg-config \
  zlib1g-dev dataset-fashion-mnist

cmake --preset default
cmake --build --preset default
./build/examples/notebook
