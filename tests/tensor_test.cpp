#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

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
  EXPECT_EQ(oracle::error_message([&] { Tensor<double, 3> x({big, big, 2}); }),
            "Tensor: shape (1099511627776, 1099511627776, 2) holds more elements than memory can address");
}

// A zero extent makes the size 0 wherever it stands, however large the other extents are.
TEST(Tensor, ZeroExtentAnywhereIsEmpty) {
  const Index big = Index{1} << 31;
  EXPECT_EQ(Tensor<float>({0, big, big, 1}).size(), 0);
  EXPECT_EQ(Tensor<float>({big, big, 0, 1}).size(), 0);
  EXPECT_EQ(Tensor<float>({big, big, big, 0}).size(), 0);
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

TEST(Tensor, CopiesAreIndependent) {
  Tensor<double, 2> a({2, 2}, {1, 2, 3, 4});
  Tensor<double, 2> b = a;
  EXPECT_NE(b.data(), a.data());
  a(0, 0) = 10;
  EXPECT_EQ(b(0, 0), 1);
  b.data()[3] = 40;
  EXPECT_EQ(a(1, 1), 4);
  Tensor<double, 2> c({1, 1});
  c = a;  // assignment copies too
  a.vector().setZero();
  EXPECT_EQ(c(0, 0), 10);
  EXPECT_EQ(c.shape(), (std::array<Index, 2>{2, 2}));
}

// A view or Eigen map taken before a copy writes into the original only (the copy-on-write trap).
TEST(Tensor, ViewTakenBeforeACopyWritesTheOriginalOnly) {
  Tensor<double, 1> x({3}, {1, 2, 3});
  auto map = x.vector();
  cnnprim::TensorView<double, 1> view = x;
  const Tensor<double, 1> copy = x;
  map.setZero();
  view(2) = 7;
  EXPECT_EQ(x(0), 0);
  EXPECT_EQ(x(2), 7);
  EXPECT_EQ(copy(0), 1);
  EXPECT_EQ(copy(2), 3);
}

// Element loops over a non-const tensor read through the same pointer, without detaching or copying, even
// right after the tensor was copied (when copy-on-write storage would be shared).
TEST(Tensor, NonConstReadsDoNotMoveStorage) {
  Tensor<float> x({2, 3, 4, 5});
  const Tensor<float> copy = x;
  const float* before = x.data();
  float sum = 0;
  for (Index k = 0; k < 3; ++k) sum += x(1, k, 3, 4);
  x.vector();
  x.tensor();
  EXPECT_EQ(x.data(), before);
  EXPECT_NE(copy.data(), before);
  EXPECT_EQ(sum, 0.0f);
}

TEST(Tensor, MovedFromIsEmpty) {
  Tensor<double> a({2, 3, 4, 5});
  a(1, 2, 3, 4) = 9;
  const Tensor<double> b = std::move(a);
  EXPECT_EQ(b(1, 2, 3, 4), 9);
  EXPECT_EQ(a.shape(), (std::array<Index, 4>{0, 0, 0, 0}));  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(a.size(), 0);
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(a.vector().sum(), 0.0);
  Tensor<double> c({1, 1, 1, 1});
  c = std::move(const_cast<Tensor<double>&>(b));
  EXPECT_EQ(c(1, 2, 3, 4), 9);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.data(), nullptr);
}

TEST(Tensor, ReassignmentLeavesCopiesAlone) {
  Tensor<double, 1> a({3}, {1, 2, 3});
  const Tensor<double, 1> kept = a;
  a = Tensor<double, 1>({2}, {9, 9});
  EXPECT_EQ(kept.size(), 3);
  EXPECT_EQ(kept(2), 3);
}

TEST(Tensor, SelfAssignmentKeepsTheValues) {
  Tensor<double, 1> a({2}, {5, 6});
  const Tensor<double, 1>& same = a;
  a = same;
  EXPECT_EQ(a(0), 5);
  EXPECT_EQ(a(1), 6);
}

TEST(Tensor, CopyOfAViewOwnsItsElements) {
  std::vector<float> frame{1, 2, 3, 4, 5, 6};
  const cnnprim::TensorView<const float, 3> view(frame.data(), {1, 2, 3});
  const Tensor<float, 3> copy(view);
  frame[4] = -1;
  EXPECT_EQ(copy(0, 1, 1), 5.0f);
  EXPECT_EQ(view(0, 1, 1), -1.0f);
}

// ---- TensorView ----

TEST(TensorView, WrapsCallerMemoryWithoutCopying) {
  std::vector<double> memory(2 * 3 * 4 * 5);
  cnnprim::TensorView<double> x(memory.data(), {2, 3, 4, 5});
  EXPECT_EQ(x.data(), memory.data());
  EXPECT_EQ(x.size(), 120);
  EXPECT_EQ(x.dim(2), 4);
  x(1, 2, 3, 4) = 8;
  EXPECT_EQ(memory.back(), 8);
  x.t(0, 0, 0, 2) = 3;
  EXPECT_EQ(memory[2], 3);
  x.vector()(0) = 1;
  x.tensor()(0, 0, 0, 1) = 2;
  EXPECT_EQ(memory[0], 1);
  EXPECT_EQ(memory[1], 2);
  const cnnprim::TensorView<const double> read_only = x;
  EXPECT_EQ(read_only.vector().sum(), 14);
  EXPECT_EQ(read_only.tensor()(1, 2, 3, 4), 8);
  EXPECT_THROW(x.at(2, 0, 0, 0), std::out_of_range);
  EXPECT_THROW(x.dim(4), std::out_of_range);
}

TEST(TensorView, WrapsARowMajorEigenTensor) {
  Eigen::Tensor<float, 4, Eigen::RowMajor, Index> frame(1, 2, 3, 2);
  frame.setConstant(0.5f);
  frame(0, 1, 2, 1) = 4.0f;
  const cnnprim::TensorView<const float> view(frame.data(), {1, 2, 3, 2});
  EXPECT_EQ(view(0, 1, 2, 1), 4.0f);
  EXPECT_EQ(view.data(), frame.data());
}

TEST(TensorView, TensorConvertsToViews) {
  Tensor<float, 2> t({2, 3});
  cnnprim::TensorView<float, 2> writable = t;
  writable(1, 2) = 3;
  EXPECT_EQ(t(1, 2), 3);
  const Tensor<float, 2>& ct = t;
  const cnnprim::TensorView<const float, 2> readable = ct;
  EXPECT_EQ(readable.data(), t.data());
  EXPECT_EQ(readable.shape(), t.shape());
  static_assert(!std::is_convertible_v<const Tensor<float, 2>&, cnnprim::TensorView<float, 2>>,
                "a const tensor gives only a read-only view");
  static_assert(!std::is_convertible_v<cnnprim::TensorView<const float, 2>, cnnprim::TensorView<float, 2>>,
                "a read-only view does not become writable");
}

TEST(TensorView, InvalidShapesThrow) {
  std::vector<double> memory(4);
  EXPECT_EQ(oracle::error_message([&] { cnnprim::TensorView<double, 2>(memory.data(), {2, -2}); }),
            "TensorView: extents must be non-negative, but shape is (2, -2)");
  EXPECT_EQ(oracle::error_message([] { cnnprim::TensorView<double, 2>(nullptr, {2, 2}); }),
            "TensorView: data is null, but shape (2, 2) holds 4 elements");
  const cnnprim::TensorView<double, 2> empty(nullptr, {0, 5});
  EXPECT_TRUE(empty.empty());
  const cnnprim::TensorView<double, 2> none;
  EXPECT_EQ(none.shape(), (std::array<Index, 2>{0, 0}));
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
  for (const Index n : {Index{105}, Index{(2 << 20) / 4 - 16}, Index{(2 << 20) / 4}, Index{(9 << 20) / 4 + 3}}) {
    Tensor<float, 1> x({n});
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(x.data()) % 64, 0u) << n;
    x(n - 1) = 1.0f;  // the last element is inside the block (ASan)
    Tensor<float, 1> copy = x;
    EXPECT_EQ(copy(n - 1), 1.0f);
  }
}

#if defined(__linux__)
// The flags of the mapping that holds `address`, from /proc/self/smaps ("" if it is not found).
std::string mapping_flags(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    std::uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> begin >> dash >> end && dash == '-') inside = at >= begin && at < end;
    else if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

// A large tensor's whole 2 MiB pages are advised into transparent huge pages ("hg"), where the kernel has them.
TEST(Tensor, LargeTensorsAskForHugePages) {
  if (!std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled")) GTEST_SKIP() << "no transparent huge pages";
  Tensor<float, 1> x({Index{(5 << 20) / 4}});
  const auto first = (reinterpret_cast<std::uintptr_t>(x.data()) + (2 << 20) - 1) / (2 << 20) * (2 << 20);
  EXPECT_NE(mapping_flags(reinterpret_cast<const void*>(first)).find(" hg"), std::string::npos);
}
#endif
