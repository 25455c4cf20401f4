// pool_forward and pool_backward, max and average, on both backends, float and double.
#include <benchmark/benchmark.h>

#include <cnnprim/cnnprim.hpp>

#include "shapes.hpp"

using cnnprim::Backend;
using cnnprim::PoolMode;

template <class T, PoolMode mode, Backend backend>
static void BM_PoolForward(benchmark::State& state) {
  const bench::PoolShape s(state);
  const auto A_prev = bench::random_tensor<T>({s.m, s.n_H_prev, s.n_W_prev, s.n_C}, 1);
  for (auto _ : state) {
    auto forward = cnnprim::pool_forward(A_prev, {s.f, s.stride}, mode, backend);
    benchmark::DoNotOptimize(forward.A.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.elements() * sizeof(T)));
}

template <class T, PoolMode mode, Backend backend>
static void BM_PoolBackward(benchmark::State& state) {
  const bench::PoolShape s(state);
  const auto A_prev = bench::random_tensor<T>({s.m, s.n_H_prev, s.n_W_prev, s.n_C}, 1);
  const auto cache = cnnprim::pool_forward(A_prev, {s.f, s.stride}, mode, backend).cache;
  const auto dA = bench::random_tensor<T>({s.m, s.n_H(), s.n_W(), s.n_C}, 2);
  for (auto _ : state) {
    auto dA_prev = cnnprim::pool_backward(dA, cache, mode, backend);
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
