// pool_forward and pool_backward, max and average, and max pooling's argmax form (max_pool_forward,
// max_pool_backward), through the public calls (both forms; the Loop path through the second form), and the
// Eigen path's internal kernels beside them, float and double.
#include <benchmark/benchmark.h>

#include <cnnprim/cnnprim.hpp>

#include "calls.hpp"
#include "shapes.hpp"

using bench::Call;
using cnnprim::Backend;
using cnnprim::PoolMode;

template <class T, PoolMode mode, Backend backend, Call call>
static void BM_PoolForward(benchmark::State& state) {
  const bench::PoolShape s(state);
  const auto A_prev = bench::random_tensor<T>({s.m, s.n_H_prev, s.n_W_prev, s.n_C}, 1);
  const cnnprim::PoolParams hp{s.f, s.stride};
  const auto g = cnnprim::detail::pool_geometry("kernel", "A_prev", A_prev.shape(), hp);
  cnnprim::Tensor<T> A({s.m, s.n_H(), s.n_W(), s.n_C});
  for (auto _ : state) {
    if constexpr (call == Call::First) {
      auto forward = cnnprim::pool_forward(A_prev, hp, mode, backend);
      benchmark::DoNotOptimize(forward.A.data());
    } else if constexpr (call == Call::Second) {
      cnnprim::pool_forward(A_prev, hp, mode, A, backend);
    } else {
      cnnprim::detail::eigen::pool_forward(A_prev.view(), g, mode, A.view(), {});
    }
    benchmark::DoNotOptimize(A.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.elements() * sizeof(T)));
}

template <class T, PoolMode mode, Backend backend, Call call>
static void BM_PoolBackward(benchmark::State& state) {
  const bench::PoolShape s(state);
  const auto A_prev = bench::random_tensor<T>({s.m, s.n_H_prev, s.n_W_prev, s.n_C}, 1);
  const cnnprim::PoolParams hp{s.f, s.stride};
  const auto g = cnnprim::detail::pool_geometry("kernel", "A_prev", A_prev.shape(), hp);
  const auto dA = bench::random_tensor<T>({s.m, s.n_H(), s.n_W(), s.n_C}, 2);
  const auto cache = cnnprim::pool_forward(A_prev, hp, mode, backend).cache;
  cnnprim::Tensor<T> dA_prev(A_prev.shape());
  for (auto _ : state) {
    if constexpr (call == Call::First) {
      auto gradient = cnnprim::pool_backward(dA, cache, backend);
      benchmark::DoNotOptimize(gradient.data());
    } else if constexpr (call == Call::Second) {
      cnnprim::pool_backward(dA, A_prev, hp, mode, dA_prev, backend);
    } else {
      cnnprim::detail::eigen::pool_backward(dA.view(), A_prev.view(), nullptr, g, mode, dA_prev.view(), {});
    }
    benchmark::DoNotOptimize(dA_prev.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.elements() * sizeof(T)));
}

// Max pooling's argmax form: forward writes the argmax, backward reads it in place of A_prev. The first form
// is the notebook's call, whose cache keeps the argmax.
template <class T, Backend backend, Call call>
static void BM_MaxPoolArgmaxForward(benchmark::State& state) {
  const bench::PoolShape s(state);
  const auto A_prev = bench::random_tensor<T>({s.m, s.n_H_prev, s.n_W_prev, s.n_C}, 1);
  const cnnprim::PoolParams hp{s.f, s.stride};
  const auto g = cnnprim::detail::pool_geometry("kernel", "A_prev", A_prev.shape(), hp);
  cnnprim::Tensor<T> A({s.m, s.n_H(), s.n_W(), s.n_C});
  cnnprim::Tensor<std::uint8_t> argmax(A.shape());
  for (auto _ : state) {
    if constexpr (call == Call::First) {
      auto forward = cnnprim::pool_forward(A_prev, hp, PoolMode::Max, backend);
      benchmark::DoNotOptimize(forward.A.data());
    } else if constexpr (call == Call::Second) {
      cnnprim::max_pool_forward(A_prev, hp, A, argmax, backend);
    } else {
      cnnprim::detail::eigen::max_pool_forward(A_prev.view(), g, A.view(), argmax.view(), {});
    }
    benchmark::DoNotOptimize(A.data());
    benchmark::DoNotOptimize(argmax.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.elements() * sizeof(T)));
}

template <class T, Backend backend, Call call>
static void BM_MaxPoolArgmaxBackward(benchmark::State& state) {
  const bench::PoolShape s(state);
  const auto A_prev = bench::random_tensor<T>({s.m, s.n_H_prev, s.n_W_prev, s.n_C}, 1);
  const cnnprim::PoolParams hp{s.f, s.stride};
  const auto g = cnnprim::detail::pool_geometry("kernel", "A_prev", A_prev.shape(), hp);
  const auto dA = bench::random_tensor<T>({s.m, s.n_H(), s.n_W(), s.n_C}, 2);
  const auto cache = cnnprim::pool_forward(A_prev, hp, PoolMode::Max, backend).cache;
  const cnnprim::Tensor<std::uint8_t>& argmax = cache.argmax;
  cnnprim::Tensor<T> dA_prev(A_prev.shape());
  for (auto _ : state) {
    if constexpr (call == Call::First) {
      auto gradient = cnnprim::pool_backward(dA, cache, backend);
      benchmark::DoNotOptimize(gradient.data());
    } else if constexpr (call == Call::Second) {
      cnnprim::max_pool_backward(dA, argmax, hp, dA_prev, backend);
    } else {
      cnnprim::detail::eigen::pool_backward(dA.view(), {}, argmax.data(), g, PoolMode::Max, dA_prev.view(), {});
    }
    benchmark::DoNotOptimize(dA_prev.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.elements() * sizeof(T)));
}

#define CNNPRIM_ARGMAX_CALLS(BM, T)                                                      \
  BENCHMARK_TEMPLATE(BM, T, Backend::Loop, Call::Second)->Apply(bench::pool_args);  \
  BENCHMARK_TEMPLATE(BM, T, Backend::Eigen, Call::First)->Apply(bench::pool_args);  \
  BENCHMARK_TEMPLATE(BM, T, Backend::Eigen, Call::Second)->Apply(bench::pool_args); \
  BENCHMARK_TEMPLATE(BM, T, Backend::Eigen, Call::Kernel)->Apply(bench::pool_args)

#define CNNPRIM_POOL_CALLS(BM, T, mode)                                                         \
  BENCHMARK_TEMPLATE(BM, T, mode, Backend::Loop, Call::Second)->Apply(bench::pool_args);  \
  BENCHMARK_TEMPLATE(BM, T, mode, Backend::Eigen, Call::First)->Apply(bench::pool_args);  \
  BENCHMARK_TEMPLATE(BM, T, mode, Backend::Eigen, Call::Second)->Apply(bench::pool_args); \
  BENCHMARK_TEMPLATE(BM, T, mode, Backend::Eigen, Call::Kernel)->Apply(bench::pool_args)

#define CNNPRIM_POOL_BENCHMARKS(T)                           \
  CNNPRIM_POOL_CALLS(BM_PoolForward, T, PoolMode::Max);      \
  CNNPRIM_POOL_CALLS(BM_PoolForward, T, PoolMode::Average);  \
  CNNPRIM_POOL_CALLS(BM_PoolBackward, T, PoolMode::Max);     \
  CNNPRIM_POOL_CALLS(BM_PoolBackward, T, PoolMode::Average); \
  CNNPRIM_ARGMAX_CALLS(BM_MaxPoolArgmaxForward, T);          \
  CNNPRIM_ARGMAX_CALLS(BM_MaxPoolArgmaxBackward, T)

CNNPRIM_POOL_BENCHMARKS(float);
CNNPRIM_POOL_BENCHMARKS(double);
