// The forum thread's question in C++: filter a (2, 3, 3, 4) slice with 8 filters stored as HWIO (3, 3, 4, 8)
// or as OHWI (8, 3, 3, 4), by a plain loop, by broadcast-multiply-and-sum, and by an Eigen contraction.
// All give the (2, 8) result; the timings show what the layout costs each approach.
#include <benchmark/benchmark.h>

#include <unsupported/Eigen/CXX11/Tensor>

#include "shapes.hpp"

namespace {

using Tensor2 = Eigen::Tensor<float, 2, Eigen::RowMajor>;
using Tensor3 = Eigen::Tensor<float, 3, Eigen::RowMajor>;
using Tensor4 = Eigen::Tensor<float, 4, Eigen::RowMajor>;

constexpr Eigen::Index m = 2, f = 3, n_C_prev = 4, n_C = 8, K = f * f * n_C_prev;

enum class Layout { HWIO, OHWI };

struct Data {
  Tensor4 a_slice{m, f, f, n_C_prev};
  Tensor4 W;
  explicit Data(Layout layout)
      : W(layout == Layout::HWIO ? Tensor4(f, f, n_C_prev, n_C) : Tensor4(n_C, f, f, n_C_prev)) {
    a_slice.setRandom();
    W.setRandom();
  }
};

template <Layout layout>
void BM_ForumLoop(benchmark::State& state) {
  const Data d(layout);
  Tensor2 Z(m, n_C);
  for (auto _ : state) {
    for (Eigen::Index i = 0; i < m; ++i)
      for (Eigen::Index c = 0; c < n_C; ++c) {
        float s = 0;
        for (Eigen::Index h = 0; h < f; ++h)
          for (Eigen::Index w = 0; w < f; ++w)
            for (Eigen::Index k = 0; k < n_C_prev; ++k)
              s += d.a_slice(i, h, w, k) * (layout == Layout::HWIO ? d.W(h, w, k, c) : d.W(c, h, w, k));
        Z(i, c) = s;
      }
    benchmark::DoNotOptimize(Z.data());
    benchmark::ClobberMemory();
  }
}

// numpy's expand_dims + multiply + sum: (2, 36, 1) * (1, 36, 8) summed over the middle axis, or
// (2, 1, 36) * (1, 8, 36) summed over the last.
template <Layout layout>
void BM_ForumBroadcast(benchmark::State& state) {
  const Data d(layout);
  Tensor2 Z(m, n_C);
  for (auto _ : state) {
    if (layout == Layout::HWIO) {
      const auto a =
          d.a_slice.reshape(Eigen::array<Eigen::Index, 3>{m, K, 1}).broadcast(Eigen::array<Eigen::Index, 3>{1, 1, n_C});
      const auto W =
          d.W.reshape(Eigen::array<Eigen::Index, 3>{1, K, n_C}).broadcast(Eigen::array<Eigen::Index, 3>{m, 1, 1});
      Z = (a * W).sum(Eigen::array<Eigen::Index, 1>{1});
    } else {
      const auto a =
          d.a_slice.reshape(Eigen::array<Eigen::Index, 3>{m, 1, K}).broadcast(Eigen::array<Eigen::Index, 3>{1, n_C, 1});
      const auto W =
          d.W.reshape(Eigen::array<Eigen::Index, 3>{1, n_C, K}).broadcast(Eigen::array<Eigen::Index, 3>{m, 1, 1});
      Z = (a * W).sum(Eigen::array<Eigen::Index, 1>{2});
    }
    benchmark::DoNotOptimize(Z.data());
    benchmark::ClobberMemory();
  }
}

// np.einsum / tensordot: a contraction over (h, w, k).
template <Layout layout>
void BM_ForumContraction(benchmark::State& state) {
  const Data d(layout);
  Tensor2 Z(m, n_C);
  using Pair = Eigen::IndexPair<int>;
  for (auto _ : state) {
    if (layout == Layout::HWIO)
      Z = d.a_slice.contract(d.W, Eigen::array<Pair, 3>{Pair(1, 0), Pair(2, 1), Pair(3, 2)});
    else
      Z = d.a_slice.contract(d.W, Eigen::array<Pair, 3>{Pair(1, 1), Pair(2, 2), Pair(3, 3)});
    benchmark::DoNotOptimize(Z.data());
    benchmark::ClobberMemory();
  }
}

}  // namespace

BENCHMARK_TEMPLATE(BM_ForumLoop, Layout::HWIO);
BENCHMARK_TEMPLATE(BM_ForumLoop, Layout::OHWI);
BENCHMARK_TEMPLATE(BM_ForumBroadcast, Layout::HWIO);
BENCHMARK_TEMPLATE(BM_ForumBroadcast, Layout::OHWI);
BENCHMARK_TEMPLATE(BM_ForumContraction, Layout::HWIO);
BENCHMARK_TEMPLATE(BM_ForumContraction, Layout::OHWI);
