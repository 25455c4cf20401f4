// Runs the notebook's conv_forward through the packaged library and checks one printed value.
#include <cmath>
#include <cstdio>

#include <cnnprim/cnnprim.hpp>

int main() {
  cnnprim::numpy::RandomState rng(1);
  const auto A_prev = rng.randn<double>(10, 4, 4, 3);
  const auto W = rng.randn<double>(2, 2, 3, 8);
  const auto b = rng.randn<double>(1, 1, 1, 8);
  const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, b, {2, 2});
  const double mean = Z.vector().mean();
  std::printf("Z's mean = %.13f\n", mean);
  return std::abs(mean - 0.0489952035289) < 1e-12 ? 0 : 1;
}
