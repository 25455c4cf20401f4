// conv_forward and conv_backward on both backends, float and double. The loop:: and eigen:: kernels are
// timed writing into preallocated outputs, as oneDNN's execute() is; the public functions add validation
// and the allocation of their results.
#include <benchmark/benchmark.h>

#include <cnnprim/cnnprim.hpp>

#include "shapes.hpp"

using cnnprim::Backend;

template <class T, Backend backend>
static void BM_ConvForward(benchmark::State& state) {
  const bench::ConvShape s(state);
  if (backend == Backend::Loop && s.flops() > bench::loop_flop_limit)
    return state.SkipWithError("loop path skipped on this shape (over 0.4 GFLOP per call)");
  const auto A_prev = bench::random_tensor<T>({s.m, s.n_H_prev, s.n_W_prev, s.n_C_prev}, 1);
  const auto W = bench::random_tensor<T>({s.f, s.f, s.n_C_prev, s.n_C}, 2);
  const auto b = bench::random_tensor<T>({1, 1, 1, s.n_C}, 3);
  const cnnprim::ConvParams hp{s.stride, s.pad};
  cnnprim::Tensor<T> Z({s.m, s.n_H(), s.n_W(), s.n_C});
  for (auto _ : state) {
    if constexpr (backend == Backend::Loop) cnnprim::loop::conv_forward(A_prev, W, b, hp, Z);
    else cnnprim::eigen::conv_forward(A_prev, W, b, hp, Z);
    benchmark::DoNotOptimize(Z.data());
    benchmark::ClobberMemory();
  }
  bench::set_flops(state, s.flops());
}

// Backward data and backward weights together: twice the forward's work.
template <class T, Backend backend>
static void BM_ConvBackward(benchmark::State& state) {
  const bench::ConvShape s(state);
  if (backend == Backend::Loop && 2 * s.flops() > bench::loop_flop_limit)
    return state.SkipWithError("loop path skipped on this shape (over 0.4 GFLOP per call)");
  const auto A_prev = bench::random_tensor<T>({s.m, s.n_H_prev, s.n_W_prev, s.n_C_prev}, 1);
  const auto W = bench::random_tensor<T>({s.f, s.f, s.n_C_prev, s.n_C}, 2);
  const cnnprim::ConvParams hp{s.stride, s.pad};
  const auto dZ = bench::random_tensor<T>({s.m, s.n_H(), s.n_W(), s.n_C}, 4);
  cnnprim::Tensor<T> dA_prev(A_prev.shape()), dW(W.shape()), db({1, 1, 1, s.n_C});
  for (auto _ : state) {
    if constexpr (backend == Backend::Loop) cnnprim::loop::conv_backward(dZ, A_prev, W, hp, dA_prev, dW, db);
    else cnnprim::eigen::conv_backward(dZ, A_prev, W, hp, dA_prev, dW, db);
    benchmark::DoNotOptimize(dA_prev.data());
    benchmark::DoNotOptimize(dW.data());
    benchmark::ClobberMemory();
  }
  bench::set_flops(state, 2 * s.flops());
}

BENCHMARK_TEMPLATE(BM_ConvForward, float, Backend::Loop)->Apply(bench::conv_args);
BENCHMARK_TEMPLATE(BM_ConvForward, float, Backend::Eigen)->Apply(bench::conv_args);
BENCHMARK_TEMPLATE(BM_ConvForward, double, Backend::Loop)->Apply(bench::conv_args);
BENCHMARK_TEMPLATE(BM_ConvForward, double, Backend::Eigen)->Apply(bench::conv_args);
BENCHMARK_TEMPLATE(BM_ConvBackward, float, Backend::Loop)->Apply(bench::conv_args);
BENCHMARK_TEMPLATE(BM_ConvBackward, float, Backend::Eigen)->Apply(bench::conv_args);
BENCHMARK_TEMPLATE(BM_ConvBackward, double, Backend::Loop)->Apply(bench::conv_args);
BENCHMARK_TEMPLATE(BM_ConvBackward, double, Backend::Eigen)->Apply(bench::conv_args);

// Eigen's own GEMM on the matrix product a 3x3 convolution amounts to: (pixels, f*f*n_C_prev) x
// (f*f*n_C_prev, n_C). The rate the convolution's Eigen path is measured against.
template <class T>
static void BM_EigenGemm(benchmark::State& state) {
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Index rows = state.range(0), depth = state.range(1), cols = state.range(2);
  const Matrix P = Matrix::Random(rows, depth), W = Matrix::Random(depth, cols);
  Matrix Z(rows, cols);
  for (auto _ : state) {
    Z.noalias() = P * W;
    benchmark::DoNotOptimize(Z.data());
    benchmark::ClobberMemory();
  }
  bench::set_flops(state, 2.0 * rows * depth * cols);
}
BENCHMARK_TEMPLATE(BM_EigenGemm, float)
    ->ArgNames({"rows", "depth", "cols"})
    ->Args({56 * 56, 9 * 64, 64})
    ->Args({8 * 28 * 28, 9 * 128, 128})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_EigenGemm, double)->ArgNames({"rows", "depth", "cols"})->Args({56 * 56, 9 * 64, 64})->Unit(benchmark::kMicrosecond);
