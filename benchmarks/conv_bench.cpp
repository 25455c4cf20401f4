// conv_forward and conv_backward through the public calls (both forms; the Loop path through the second
// form), and the Eigen path's internal kernels beside them, float and double.
#include <benchmark/benchmark.h>

#include <cnnprim/cnnprim.hpp>

#include "calls.hpp"
#include "shapes.hpp"

using bench::Call;
using cnnprim::Backend;

template <class T, Backend backend, Call call>
static void BM_ConvForward(benchmark::State& state) {
  const bench::ConvShape s(state);
  if (backend == Backend::Loop && s.flops() > bench::loop_flop_limit)
    return state.SkipWithError("loop path skipped on this shape (over 0.4 GFLOP per call)");
  const auto A_prev = bench::random_tensor<T>({s.m, s.n_H_prev, s.n_W_prev, s.n_C_prev}, 1);
  const auto W = bench::random_tensor<T>({s.f, s.f, s.n_C_prev, s.n_C}, 2);
  const auto b = bench::random_tensor<T>({1, 1, 1, s.n_C}, 3);
  const cnnprim::ConvParams hp{s.stride, s.pad};
  const auto g = cnnprim::detail::conv_geometry("kernel", "A_prev", A_prev.shape(), "W", W.shape(), hp);
  cnnprim::Tensor<T> Z({s.m, s.n_H(), s.n_W(), s.n_C});
  for (auto _ : state) {
    if constexpr (call == Call::First) {
      auto forward = cnnprim::conv_forward(A_prev, W, b, hp, backend);
      benchmark::DoNotOptimize(forward.Z.data());
    } else if constexpr (call == Call::Second) {
      cnnprim::conv_forward(A_prev, W, b, hp, Z, backend);
    } else {
      cnnprim::detail::eigen::conv_forward(A_prev.view(), W.view(), b.data(), g, Z.view(), {});
    }
    benchmark::DoNotOptimize(Z.data());
    benchmark::ClobberMemory();
  }
  bench::set_flops(state, s.flops());
}

// Backward data and backward weights together: twice the forward's work.
template <class T, Backend backend, Call call>
static void BM_ConvBackward(benchmark::State& state) {
  const bench::ConvShape s(state);
  if (backend == Backend::Loop && 2 * s.flops() > bench::loop_flop_limit)
    return state.SkipWithError("loop path skipped on this shape (over 0.4 GFLOP per call)");
  const auto A_prev = bench::random_tensor<T>({s.m, s.n_H_prev, s.n_W_prev, s.n_C_prev}, 1);
  const auto W = bench::random_tensor<T>({s.f, s.f, s.n_C_prev, s.n_C}, 2);
  const auto b = bench::random_tensor<T>({1, 1, 1, s.n_C}, 3);
  const cnnprim::ConvParams hp{s.stride, s.pad};
  const auto dZ = bench::random_tensor<T>({s.m, s.n_H(), s.n_W(), s.n_C}, 4);
  const auto cache = cnnprim::conv_forward(A_prev, W, b, hp, backend).cache;
  const auto g = cnnprim::detail::conv_geometry("kernel", "A_prev", A_prev.shape(), "W", W.shape(), hp);
  cnnprim::Tensor<T> dA_prev(A_prev.shape()), dW(W.shape()), db({1, 1, 1, s.n_C});
  for (auto _ : state) {
    if constexpr (call == Call::First) {
      auto gradients = cnnprim::conv_backward(dZ, cache, backend);
      benchmark::DoNotOptimize(gradients.dA_prev.data());
    } else if constexpr (call == Call::Second) {
      cnnprim::conv_backward_data(dZ, W, hp, dA_prev, backend);
      cnnprim::conv_backward_weights(dZ, A_prev, hp, dW, db, backend);
    } else {
      cnnprim::detail::eigen::conv_backward_data(dZ.view(), W.view(), g, dA_prev.view(), {});
      cnnprim::detail::eigen::conv_backward_weights(dZ.view(), A_prev.view(), g, dW.view(), db.view(), {});
    }
    benchmark::DoNotOptimize(dA_prev.data());
    benchmark::DoNotOptimize(dW.data());
    benchmark::ClobberMemory();
  }
  bench::set_flops(state, 2 * s.flops());
}

#define CNNPRIM_CONV_BENCHMARKS(BM, T)                                                        \
  BENCHMARK_TEMPLATE(BM, T, Backend::Loop, Call::Second)->Apply(bench::conv_args);     \
  BENCHMARK_TEMPLATE(BM, T, Backend::Eigen, Call::First)->Apply(bench::conv_args);     \
  BENCHMARK_TEMPLATE(BM, T, Backend::Eigen, Call::Second)->Apply(bench::conv_args);    \
  BENCHMARK_TEMPLATE(BM, T, Backend::Eigen, Call::Kernel)->Apply(bench::conv_args)

CNNPRIM_CONV_BENCHMARKS(BM_ConvForward, float);
CNNPRIM_CONV_BENCHMARKS(BM_ConvForward, double);
CNNPRIM_CONV_BENCHMARKS(BM_ConvBackward, float);
CNNPRIM_CONV_BENCHMARKS(BM_ConvBackward, double);

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
BENCHMARK_TEMPLATE(BM_EigenGemm, double)
    ->ArgNames({"rows", "depth", "cols"})
    ->Args({56 * 56, 9 * 64, 64})
    ->Unit(benchmark::kMicrosecond);
