// pool_forward and pool_backward, max and average, on both backends, float and double: the loop:: and
// eigen:: kernels writing into preallocated outputs, as oneDNN's execute() does.
#include <benchmark/benchmark.h>

#include <cnnprim/cnnprim.hpp>

#include "shapes.hpp"

using cnnprim::Backend;
using cnnprim::PoolMode;

template <class T, PoolMode mode, Backend backend>
static void BM_PoolForward(benchmark::State& state) {
  const bench::PoolShape s(state);
  const auto A_prev = bench::random_tensor<T>({s.m, s.n_H_prev, s.n_W_prev, s.n_C}, 1);
  const cnnprim::PoolParams hp{s.f, s.stride};
  cnnprim::Tensor<T> A({s.m, s.n_H(), s.n_W(), s.n_C});
  for (auto _ : state) {
    if constexpr (backend == Backend::Loop) cnnprim::loop::pool_forward(A_prev, hp, mode, A);
    else cnnprim::eigen::pool_forward(A_prev, hp, mode, A);
    benchmark::DoNotOptimize(A.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.elements() * sizeof(T)));
}

template <class T, PoolMode mode, Backend backend>
static void BM_PoolBackward(benchmark::State& state) {
  const bench::PoolShape s(state);
  const auto A_prev = bench::random_tensor<T>({s.m, s.n_H_prev, s.n_W_prev, s.n_C}, 1);
  const cnnprim::PoolParams hp{s.f, s.stride};
  const auto dA = bench::random_tensor<T>({s.m, s.n_H(), s.n_W(), s.n_C}, 2);
  cnnprim::Tensor<T> dA_prev(A_prev.shape());
  for (auto _ : state) {
    if constexpr (backend == Backend::Loop) cnnprim::loop::pool_backward(dA, A_prev, hp, mode, dA_prev);
    else cnnprim::eigen::pool_backward(dA, A_prev, hp, mode, dA_prev);
    benchmark::DoNotOptimize(dA_prev.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.elements() * sizeof(T)));
}

#define CNNPRIM_POOL_BENCHMARKS(T)                                                                  \
  BENCHMARK_TEMPLATE(BM_PoolForward, T, PoolMode::Max, Backend::Loop)->Apply(bench::pool_args);     \
  BENCHMARK_TEMPLATE(BM_PoolForward, T, PoolMode::Max, Backend::Eigen)->Apply(bench::pool_args);    \
  BENCHMARK_TEMPLATE(BM_PoolForward, T, PoolMode::Average, Backend::Loop)->Apply(bench::pool_args); \
  BENCHMARK_TEMPLATE(BM_PoolForward, T, PoolMode::Average, Backend::Eigen)->Apply(bench::pool_args); \
  BENCHMARK_TEMPLATE(BM_PoolBackward, T, PoolMode::Max, Backend::Loop)->Apply(bench::pool_args);     \
  BENCHMARK_TEMPLATE(BM_PoolBackward, T, PoolMode::Max, Backend::Eigen)->Apply(bench::pool_args);    \
  BENCHMARK_TEMPLATE(BM_PoolBackward, T, PoolMode::Average, Backend::Loop)->Apply(bench::pool_args); \
  BENCHMARK_TEMPLATE(BM_PoolBackward, T, PoolMode::Average, Backend::Eigen)->Apply(bench::pool_args)

CNNPRIM_POOL_BENCHMARKS(float);
CNNPRIM_POOL_BENCHMARKS(double);
