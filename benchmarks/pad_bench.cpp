// zero_pad through its second form (into the caller's X_pad) on both backends, float and double, on the conv
// shapes' inputs and pads.
#include <benchmark/benchmark.h>

#include <cnnprim/cnnprim.hpp>

#include "shapes.hpp"

using cnnprim::Backend;

template <class T, Backend backend>
static void BM_ZeroPad(benchmark::State& state) {
  const bench::ConvShape s(state);
  const auto X = bench::random_tensor<T>({s.m, s.n_H_prev, s.n_W_prev, s.n_C_prev}, 1);
  cnnprim::Tensor<T> X_pad({s.m, s.n_H_prev + 2 * s.pad, s.n_W_prev + 2 * s.pad, s.n_C_prev});
  for (auto _ : state) {
    cnnprim::zero_pad(X, s.pad, X_pad, backend);
    benchmark::DoNotOptimize(X_pad.data());
    benchmark::ClobberMemory();
  }
  const double padded = static_cast<double>(s.m * s.n_C_prev) * (s.n_H_prev + 2 * s.pad) * (s.n_W_prev + 2 * s.pad);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * (X.size() + padded) * sizeof(T)));
}

BENCHMARK_TEMPLATE(BM_ZeroPad, float, Backend::Loop)->Apply(bench::conv_args);
BENCHMARK_TEMPLATE(BM_ZeroPad, float, Backend::Eigen)->Apply(bench::conv_args);
BENCHMARK_TEMPLATE(BM_ZeroPad, double, Backend::Loop)->Apply(bench::conv_args);
BENCHMARK_TEMPLATE(BM_ZeroPad, double, Backend::Eigen)->Apply(bench::conv_args);
