#include <gtest/gtest.h>

#include <cnnprim/cnnprim.hpp>

#include "support/oracle.hpp"

using cnnprim::Backend;
using cnnprim::Index;
using cnnprim::Tensor;

class ZeroPad : public ::testing::TestWithParam<Backend> {};

TEST_P(ZeroPad, Notebook) {
  cnnprim::numpy::RandomState rng(1);
  const auto x = rng.randn<double>(4, 3, 3, 2);
  const auto x_pad = cnnprim::zero_pad(x, 2, GetParam());
  EXPECT_EQ(x_pad.shape(), (std::array<Index, 4>{4, 7, 7, 2}));
  const double expected[3][2] = {{0.90085595, -0.68372786}, {-0.12289023, -0.93576943}, {-0.26788808, 0.53035547}};
  for (Index w = 0; w < 3; ++w)
    for (Index c = 0; c < 2; ++c) EXPECT_NEAR(x(1, 1, w, c), expected[w][c], 5e-9);
  for (Index w = 0; w < 7; ++w) EXPECT_EQ(x_pad(1, 1, w, 0), 0.0);  // x_pad[1,1] is all padding
}

TEST_P(ZeroPad, EveryElementLandsInPlace) {
  const auto x = oracle::uniform<float, 4>({2, 3, 5, 4}, 1);
  const Index pad = 3;
  const auto x_pad = cnnprim::zero_pad(x, pad, GetParam());
  ASSERT_EQ(x_pad.shape(), (std::array<Index, 4>{2, 9, 11, 4}));
  for (Index i = 0; i < 2; ++i)
    for (Index h = 0; h < 9; ++h)
      for (Index w = 0; w < 11; ++w)
        for (Index c = 0; c < 4; ++c) {
          const bool inside = h >= pad && h < 3 + pad && w >= pad && w < 5 + pad;
          ASSERT_EQ(x_pad(i, h, w, c), inside ? x(i, h - pad, w - pad, c) : 0.0f) << i << h << w << c;
        }
}

TEST_P(ZeroPad, PadZeroIsACopy) {
  const auto x = oracle::uniform<double, 4>({1, 2, 3, 2}, 2);
  EXPECT_TRUE(oracle::near(cnnprim::zero_pad(x, 0, GetParam()), x, 0.0));
}

TEST_P(ZeroPad, EmptyBatch) {
  const auto x_pad = cnnprim::zero_pad(Tensor<double>({0, 3, 3, 2}), 1, GetParam());
  EXPECT_EQ(x_pad.shape(), (std::array<Index, 4>{0, 5, 5, 2}));
}

TEST_P(ZeroPad, NegativePadThrows) {
  EXPECT_EQ(oracle::error_message([&] { cnnprim::zero_pad(Tensor<double>({1, 2, 2, 1}), -1, GetParam()); }),
            "zero_pad: pad must be non-negative, but got pad = -1");
}

INSTANTIATE_TEST_SUITE_P(Backends, ZeroPad, ::testing::Values(Backend::Loop, Backend::Eigen), oracle::BackendName());
