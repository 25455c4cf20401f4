// Compiles the notebook's conv_forward, and so its kernels, through the opt-in cnnprim::avx2 target (built, not
// run: the CPU may lack AVX2).
#include <cmath>

#include <cnnprim/cnnprim.hpp>

#if !(defined(__AVX2__) && defined(__FMA__))
#error "linking cnnprim::avx2 did not turn AVX2 and FMA on"
#endif

int main() {
  cnnprim::numpy::RandomState rng(1);
  const auto A_prev = rng.randn<double>(10, 4, 4, 3);
  const auto W = rng.randn<double>(2, 2, 3, 8);
  const auto b = rng.randn<double>(1, 1, 1, 8);
  const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, b, {2, 2});
  return std::abs(Z.vector().mean() - 0.0489952035289) < 1e-12 ? 0 : 1;
}
