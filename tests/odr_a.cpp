// The umbrella header in two translation units: every inline definition must link once. (The kernels' templates
// come from the suite's shared instantiations, as in every test program: a template links once however many units
// instantiate it, so compiling them here again would test nothing more.)
#include <gtest/gtest.h>

#include <cnnprim/cnnprim.hpp>

#include "support/kernels.hpp"

double odr_b_conv_mean();

TEST(Odr, UmbrellaLinksFromTwoTranslationUnits) {
  cnnprim::numpy::RandomState rng(1);
  const auto A_prev = rng.randn<double>(10, 4, 4, 3);
  const auto W = rng.randn<double>(2, 2, 3, 8);
  const auto b = rng.randn<double>(1, 1, 1, 8);
  EXPECT_EQ(cnnprim::conv_forward(A_prev, W, b, {2, 2}).Z.vector().mean(), odr_b_conv_mean());
  EXPECT_EQ(cnnprim::output_size(4, 2, 2, 2), 4);
}
