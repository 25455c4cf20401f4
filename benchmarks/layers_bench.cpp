// The layers of benchmarks/layers.hpp through the second form, forward and backward (data and weights), one
// thread, float.
#include <benchmark/benchmark.h>

#include "layers.hpp"

namespace {

template <bool Backward>
void BM_Layer(benchmark::State& state) {
  const bench::LayerShape s(state);
  const auto hp = s.params();
  const auto g = s.geometry();
  const auto A_prev = bench::random_tensor<float>({s.m, s.n_H_prev, s.n_W_prev, s.n_C_prev}, 1);
  const auto W = bench::random_tensor<float>({s.f, s.f, s.n_C_prev / s.groups, s.n_C}, 2);
  const auto b = bench::random_tensor<float>({1, 1, 1, s.n_C}, 3);
  const auto dZ = bench::random_tensor<float>({s.m, g.n_H, g.n_W, s.n_C}, 4);
  cnnprim::Tensor<float> Z(dZ.shape()), dA_prev(A_prev.shape()), dW(W.shape()), db(b.shape());
  for (auto _ : state) {
    if constexpr (Backward) {
      cnnprim::conv_backward_data(dZ, W, hp, dA_prev);
      cnnprim::conv_backward_weights(dZ, A_prev, hp, dW, db);
      benchmark::DoNotOptimize(dA_prev.data());
      benchmark::DoNotOptimize(dW.data());
    } else {
      cnnprim::conv_forward(A_prev, W, b, hp, Z);
      benchmark::DoNotOptimize(Z.data());
    }
    benchmark::ClobberMemory();
  }
  bench::set_flops(state, (Backward ? 2 : 1) * s.flops());
}

}  // namespace

BENCHMARK_TEMPLATE(BM_Layer, false)->Name("BM_LayerForward")->Apply(bench::layer_args);
BENCHMARK_TEMPLATE(BM_Layer, true)->Name("BM_LayerBackward")->Apply(bench::layer_args);
