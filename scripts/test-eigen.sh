#!/usr/bin/env bash
# Builds and runs the test suite against an Eigen other than the system's, from its source tarball:
#   bash scripts/test-eigen.sh EIGEN_TARBALL [BUILD_DIR] [extra CMake arguments...]
# e.g. bash scripts/test-eigen.sh ../shared/vendor/eigen-5.0.1.tar.gz build-eigen5 -DCMAKE_CXX_COMPILER=clang++
# BUILD_DIR is made afresh; Eigen is installed (headers and its CMake package) into BUILD_DIR/eigen and
# found there, not in the system.
set -euo pipefail
tarball=$(realpath "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${2:-$root/build-eigen}")
shift $(( $# < 2 ? $# : 2 ))

rm -rf "$build"
mkdir -p "$build/eigen/src"
tar -xzf "$tarball" -C "$build/eigen/src" --strip-components=1
cmake -S "$build/eigen/src" -B "$build/eigen/build" -DCMAKE_INSTALL_PREFIX="$build/eigen/prefix" \
      -DBUILD_TESTING=OFF -DEIGEN_BUILD_TESTING=OFF -DEIGEN_BUILD_DOC=OFF -DEIGEN_BUILD_DEMOS=OFF \
      -DEIGEN_BUILD_BLAS=OFF -DEIGEN_BUILD_LAPACK=OFF -DEIGEN_BUILD_PKGCONFIG=OFF \
      -DCMAKE_EXPORT_PACKAGE_REGISTRY=OFF -DCMAKE_EXPORT_NO_PACKAGE_REGISTRY=ON > "$build/eigen/configure.log"
cmake --install "$build/eigen/build" > "$build/eigen/install.log"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$build/eigen/prefix" \
      -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON \
      -DCNNPRIM_BUILD_EXAMPLES=OFF -DCNNPRIM_BUILD_BENCHMARKS=OFF "$@"
found=$(grep -E '^Eigen3_DIR:' "$build/CMakeCache.txt" | cut -d= -f2)
[[ "$found" == "$build/eigen/prefix/"* ]] || { echo "the build found Eigen at $found, not the tarball's" >&2; exit 1; }
cmake --build "$build" -j "$(nproc)"
# The package tests are left out: their consumers are separate projects that find the system's Eigen.
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" -E '^package\.'
