#include <cnnprim/cnnprim.hpp>

#include "support/kernels.hpp"

double odr_b_conv_mean() {
  cnnprim::numpy::RandomState rng(1);
  const auto A_prev = rng.randn<double>(10, 4, 4, 3);
  const auto W = rng.randn<double>(2, 2, 3, 8);
  const auto b = rng.randn<double>(1, 1, 1, 8);
  return cnnprim::conv_forward(A_prev, W, b, {2, 2}).Z.vector().mean();
}
