// The mean of the notebook's conv_forward output: what every packaged consumer computes.
#pragma once

#include <cnnprim/cnnprim.hpp>

inline double notebook_mean() {
  cnnprim::numpy::RandomState rng(1);
  const auto A_prev = rng.randn<double>(10, 4, 4, 3);
  const auto W = rng.randn<double>(2, 2, 3, 8);
  const auto b = rng.randn<double>(1, 1, 1, 8);
  const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, b, {2, 2});
  return Z.vector().mean();
}
