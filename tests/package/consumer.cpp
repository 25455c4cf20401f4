// Runs the notebook's conv_forward through the packaged library and checks one printed value.
#include <cmath>
#include <cstdio>

#include "notebook_mean.hpp"

#if defined(CNNPRIM_EXPECT_AVX2) && !(defined(__AVX2__) && defined(__FMA__))
#error "linking cnnprim::avx2 did not turn AVX2 and FMA on"
#endif

int main() {
  const double mean = notebook_mean();
  std::printf("Z's mean = %.13f\n", mean);
  return std::abs(mean - 0.0489952035289) < 1e-12 ? 0 : 1;
}
