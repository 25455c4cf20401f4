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

// The tensors of one pooling shape: A_prev, an output A and its gradient dA, dA_prev; the kernel's geometry.
template <class T>
struct Pooling {
  bench::PoolShape s;
  const cnnprim::Tensor<T> A_prev;
  cnnprim::PoolParams hp;
  cnnprim::detail::PoolGeometry g;
  cnnprim::Tensor<T> A;
  const cnnprim::Tensor<T> dA;
  cnnprim::Tensor<T> dA_prev;

  explicit Pooling(benchmark::State& state)
      : s(state), A_prev(bench::random_tensor<T>({s.m, s.n_H_prev, s.n_W_prev, s.n_C}, 1)), hp{s.f, s.stride},
        g(cnnprim::detail::pool_geometry("kernel", "A_prev", A_prev.shape(), hp)),
        A({s.m, s.n_H(), s.n_W(), s.n_C}), dA(bench::random_tensor<T, 4>(A.shape(), 2)), dA_prev(A_prev.shape()) {}

  // Runs `run` for each iteration and reports the bytes of input and output.
  template <class Run>
  void time(benchmark::State& state, Run run) {
    for (auto _ : state) {
      run();
      benchmark::DoNotOptimize(A.data());
      benchmark::DoNotOptimize(dA_prev.data());
      benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.elements() * sizeof(T)));
  }
};

template <class T, PoolMode mode, Backend backend, Call call>
static void BM_PoolForward(benchmark::State& state) {
  Pooling<T> p(state);
  p.time(state, [&] {
    if constexpr (call == Call::First) {
      auto forward = cnnprim::pool_forward(p.A_prev, p.hp, mode, backend);
      benchmark::DoNotOptimize(forward.A.data());
    } else if constexpr (call == Call::Second) {
      cnnprim::pool_forward(p.A_prev, p.hp, mode, p.A, backend);
    } else {
      cnnprim::detail::eigen::pool_forward(p.A_prev.view(), p.g, mode, p.A.view(), static_cast<T*>(nullptr), {});
    }
  });
}

template <class T, PoolMode mode, Backend backend, Call call>
static void BM_PoolBackward(benchmark::State& state) {
  Pooling<T> p(state);
  const auto cache = cnnprim::pool_forward(p.A_prev, p.hp, mode, backend).cache;
  p.time(state, [&] {
    if constexpr (call == Call::First) {
      auto gradient = cnnprim::pool_backward(p.dA, cache, backend);
      benchmark::DoNotOptimize(gradient.data());
    } else if constexpr (call == Call::Second) {
      cnnprim::pool_backward(p.dA, p.A_prev, p.hp, mode, p.dA_prev, backend);
    } else {
      cnnprim::detail::eigen::pool_backward(p.dA.view(), p.A_prev.view(), nullptr, p.g, mode, p.dA_prev.view(), {});
    }
  });
}

// Max pooling's argmax form: forward writes the argmax, backward reads it in place of A_prev. The first form
// is the notebook's call, whose cache keeps the argmax.
template <class T, Backend backend, Call call>
static void BM_MaxPoolArgmaxForward(benchmark::State& state) {
  Pooling<T> p(state);
  cnnprim::Tensor<std::uint8_t> argmax(p.A.shape());
  p.time(state, [&] {
    if constexpr (call == Call::First) {
      auto forward = cnnprim::pool_forward(p.A_prev, p.hp, PoolMode::Max, backend);
      benchmark::DoNotOptimize(forward.A.data());
    } else if constexpr (call == Call::Second) {
      cnnprim::max_pool_forward(p.A_prev, p.hp, p.A, argmax, backend);
    } else {
      cnnprim::detail::eigen::max_pool_forward(p.A_prev.view(), p.g, p.A.view(), argmax.view(),
                                               static_cast<T*>(nullptr), {});
    }
    benchmark::DoNotOptimize(argmax.data());
  });
}

template <class T, Backend backend, Call call>
static void BM_MaxPoolArgmaxBackward(benchmark::State& state) {
  Pooling<T> p(state);
  const auto cache = cnnprim::pool_forward(p.A_prev, p.hp, PoolMode::Max, backend).cache;
  p.time(state, [&] {
    if constexpr (call == Call::First) {
      auto gradient = cnnprim::pool_backward(p.dA, cache, backend);
      benchmark::DoNotOptimize(gradient.data());
    } else if constexpr (call == Call::Second) {
      cnnprim::max_pool_backward(p.dA, cache.argmax, p.hp, p.dA_prev, backend);
    } else {
      cnnprim::detail::eigen::pool_backward(p.dA.view(), {}, cache.argmax.data(), p.g, PoolMode::Max,
                                            p.dA_prev.view(), {});
    }
  });
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
