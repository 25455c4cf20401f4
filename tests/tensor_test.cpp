#include <gtest/gtest.h>

#include <cnnprim/tensor.hpp>

#include "support/oracle.hpp"

using cnnprim::Index;
using cnnprim::shape_error;
using cnnprim::Tensor;

TEST(Tensor, ShapeConstructorZeroFills) {
  Tensor<double> x({2, 5, 7, 3});
  EXPECT_EQ(x.shape(), (std::array<Index, 4>{2, 5, 7, 3}));
  EXPECT_EQ(x.size(), 2 * 5 * 7 * 3);
  EXPECT_EQ(x.dim(0), 2);
  EXPECT_EQ(x.dim(3), 3);
  for (Index k = 0; k < x.size(); ++k) ASSERT_EQ(x.data()[k], 0.0) << "at " << k;
}

TEST(Tensor, ValuesAreRowMajor) {
  Tensor<float, 3> x({2, 3, 4}, [] {
    std::vector<float> v(24);
    for (int k = 0; k < 24; ++k) v[k] = static_cast<float>(k);
    return v;
  }());
  EXPECT_EQ(x(0, 0, 3), 3.0f);
  EXPECT_EQ(x(0, 2, 0), 8.0f);
  EXPECT_EQ(x(1, 0, 0), 12.0f);
  EXPECT_EQ(x(1, 2, 3), 23.0f);
}

TEST(Tensor, ElementAccessWrites) {
  Tensor<double, 2> x({2, 3});
  x(1, 2) = 4.5;
  x.t(0, 1) = 2.5;
  EXPECT_EQ(x.data()[1], 2.5);
  const Tensor<double, 2>& read_only = x;
  EXPECT_EQ(read_only.t(1, 2), 4.5);
  x.data()[0] = -1.0;
  EXPECT_EQ(x.data()[5], 4.5);
  EXPECT_EQ(x(0, 0), -1.0);
}

TEST(Tensor, WrongValueCountThrowsNamingTheShape) {
  const std::string message =
      oracle::error_message([] { Tensor<double, 2> x({2, 3}, std::vector<double>(5)); });
  EXPECT_EQ(message, "Tensor: shape (2, 3) needs 6 values, but got 5");
}

TEST(Tensor, NegativeExtentThrowsNamingTheShape) {
  EXPECT_EQ(oracle::error_message([] { Tensor<double> x({2, -1, 3, 4}); }),
            "Tensor: extents must be non-negative, but shape is (2, -1, 3, 4)");
  EXPECT_EQ(oracle::error_message([] { Tensor<float, 1> x({-3}, {}); }),
            "Tensor: extents must be non-negative, but shape is (-3,)");
}

TEST(Tensor, OverflowingShapeThrows) {
  const Index big = Index{1} << 40;
  EXPECT_NE(oracle::error_message([&] { Tensor<double, 3> x({big, big, 2}); }).find("more elements"),
            std::string::npos);
}

TEST(Tensor, ShapeErrorIsInvalidArgument) {
  EXPECT_THROW(Tensor<double>({1, 2, 3, -4}), std::invalid_argument);
}

TEST(Tensor, ZeroExtentsAreValid) {
  Tensor<double> x({0, 4, 4, 3});
  EXPECT_EQ(x.size(), 0);
  EXPECT_TRUE(x.empty());
  Tensor<double> y({0, 4, 4, 3}, {});
  EXPECT_EQ(y.size(), 0);
  Tensor<double> z;
  EXPECT_EQ(z.shape(), (std::array<Index, 4>{0, 0, 0, 0}));
}

TEST(Tensor, ConstantShapeWithZeroSurvivesOptimization) {
  const Tensor<float> W({3, 3, 3, 0});
  EXPECT_EQ(W.shape(), (std::array<Index, 4>{3, 3, 3, 0}));
  const Tensor<double, 3> x({2, 0, 5});
  EXPECT_EQ(x.shape(), (std::array<Index, 3>{2, 0, 5}));
}

TEST(Tensor, DimOutsideRankThrows) {
  Tensor<double> x({1, 2, 3, 4});
  EXPECT_THROW(x.dim(4), std::out_of_range);
  EXPECT_THROW(x.dim(-1), std::out_of_range);
}

TEST(Tensor, AtChecksBounds) {
  Tensor<double> x({1, 2, 3, 4});
  x.at(0, 1, 2, 3) = 7;
  EXPECT_EQ(x(0, 1, 2, 3), 7);
  EXPECT_THROW(x.at(0, 2, 0, 0), std::out_of_range);
  EXPECT_THROW(x.at(0, 0, 0, -1), std::out_of_range);
}

TEST(Tensor, FormatShapeLikeNumpy) {
  EXPECT_EQ(cnnprim::format_shape(std::array<Index, 4>{2, 5, 7, 3}), "(2, 5, 7, 3)");
  EXPECT_EQ(cnnprim::format_shape(std::array<Index, 1>{4}), "(4,)");
}

TEST(Tensor, CopiesShareUntilWritten) {
  Tensor<double, 2> a({2, 2}, {1, 2, 3, 4});
  Tensor<double, 2> b = a;
  EXPECT_TRUE(b.shares_storage_with(a));
  a(0, 0) = 10;  // detaches a; b keeps the old values
  EXPECT_FALSE(b.shares_storage_with(a));
  EXPECT_EQ(b(0, 0), 1);
  EXPECT_EQ(a(0, 0), 10);
  b.data()[3] = 40;
  EXPECT_EQ(a(1, 1), 4);
}

TEST(Tensor, ReassignmentLeavesCopiesAlone) {
  Tensor<double, 1> a({3}, {1, 2, 3});
  const Tensor<double, 1> kept = a;
  a = Tensor<double, 1>({2}, {9, 9});
  EXPECT_EQ(kept.size(), 3);
  EXPECT_EQ(kept(2), 3);
}

TEST(Tensor, EigenViewsShareStorage) {
  Tensor<double, 3> x({2, 3, 4});
  x.tensor()(1, 2, 3) = 5.0;
  EXPECT_EQ(x(1, 2, 3), 5.0);
  x.vector()(0) = 2.0;
  EXPECT_EQ(x(0, 0, 0), 2.0);
  const Tensor<double, 3>& cx = x;
  EXPECT_EQ(cx.tensor().dimension(2), 4);
  EXPECT_EQ(cx.vector().sum(), 7.0);
}

TEST(Tensor, DataIsAligned) {
  Tensor<float> x({1, 3, 5, 7});
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(x.data()) % 64, 0u);
}
