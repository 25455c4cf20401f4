#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include <cnnprim/cnnprim.hpp>

#include "support/oracle.hpp"

using cnnprim::Backend;
using cnnprim::Index;
using cnnprim::PoolMode;
using cnnprim::Tensor;

class Pool : public ::testing::TestWithParam<Backend> {};

// ---- The notebook's printed values ----

TEST_P(Pool, NotebookPoolForward) {
  cnnprim::numpy::RandomState rng(1);
  const auto A_prev = rng.randn<double>(2, 4, 4, 3);
  const auto max = cnnprim::pool_forward(A_prev, {3, 2}, PoolMode::Max, GetParam()).A;
  const auto average = cnnprim::pool_forward(A_prev, {3, 2}, PoolMode::Average, GetParam()).A;
  ASSERT_EQ(max.shape(), (std::array<Index, 4>{2, 1, 1, 3}));
  const double expected_max[6] = {1.74481176, 0.86540763, 1.13376944, 1.13162939, 1.51981682, 2.18557541};
  const double expected_average[6] = {0.02105773, -0.20328806, -0.40389855, -0.22154621, 0.51716526, 0.48155844};
  for (Index k = 0; k < 6; ++k) {
    EXPECT_NEAR(max.data()[k], expected_max[k], 5e-9) << k;
    EXPECT_NEAR(average.data()[k], expected_average[k], 5e-9) << k;
  }
}

TEST(PoolHelpers, NotebookCreateMaskFromWindow) {
  cnnprim::numpy::RandomState rng(1);
  const auto x = rng.randn<double>(2, 3);
  const auto mask = cnnprim::create_mask_from_window(x);
  const double expected[6] = {1, 0, 0, 0, 0, 0};
  for (Index k = 0; k < 6; ++k) EXPECT_EQ(mask.data()[k], expected[k]) << k;
}

TEST(PoolHelpers, NotebookDistributeValue) {
  const auto a = cnnprim::distribute_value(2, {2, 2});
  static_assert(std::is_same_v<decltype(a), const Tensor<double, 2>>);
  for (Index k = 0; k < 4; ++k) EXPECT_EQ(a.data()[k], 0.5);
  const auto b = cnnprim::distribute_value(3.0f, {2, 3});
  EXPECT_EQ(b.shape(), (std::array<Index, 2>{2, 3}));
  EXPECT_EQ(b(1, 2), 0.5f);
}

TEST_P(Pool, NotebookPoolBackward) {
  cnnprim::numpy::RandomState rng(1);
  const auto A_prev = rng.randn<double>(5, 5, 3, 2);
  const auto [A, cache] = cnnprim::pool_forward(A_prev, {2, 1}, PoolMode::Max, GetParam());
  const auto dA = rng.randn<double>(5, 4, 2, 2);
  EXPECT_NEAR(dA.vector().mean(), 0.145713902729, 5e-13);
  const auto max = cnnprim::pool_backward(dA, cache, PoolMode::Max, GetParam());
  const auto average = cnnprim::pool_backward(dA, cache, PoolMode::Average, GetParam());
  const double expected_max[3][2] = {{0, 0}, {5.05844394, -1.68282702}, {0, 0}};
  const double expected_average[3][2] = {{0.08485462, 0.2787552}, {1.26461098, -0.25749373}, {1.17975636, -0.53624893}};
  for (Index w = 0; w < 3; ++w)
    for (Index c = 0; c < 2; ++c) {
      EXPECT_NEAR(max(1, 1, w, c), expected_max[w][c], 5e-9) << w << ", " << c;
      EXPECT_NEAR(average(1, 1, w, c), expected_average[w][c], 5e-9) << w << ", " << c;
    }
}

// ---- numpy reference (np.argmax: the first maximum), with ties from rounding to one decimal ----

TEST_P(Pool, MatchesNumpyWithTies) {
  const auto cases = oracle::read_reference(CNNPRIM_TEST_DATA_DIR "/pool_reference.txt");
  ASSERT_EQ(cases.size(), 4u);
  for (const auto& ref : cases) {
    const auto& p = ref.header;  // seed, m, n_H_prev, n_W_prev, n_C, f, stride
    SCOPED_TRACE("case seed " + std::to_string(p[0]));
    cnnprim::numpy::RandomState rng(static_cast<std::uint32_t>(p[0]));
    auto A_prev = rng.randn<double>(p[1], p[2], p[3], p[4]);
    for (Index k = 0; k < A_prev.size(); ++k) A_prev.data()[k] = std::round(A_prev.data()[k] * 10) / 10;
    const cnnprim::PoolParams hp{p[5], p[6]};
    for (PoolMode mode : {PoolMode::Max, PoolMode::Average}) {
      const std::string suffix = mode == PoolMode::Max ? "max" : "average";
      const auto [A, cache] = cnnprim::pool_forward(A_prev, hp, mode, GetParam());
      EXPECT_TRUE(oracle::near(A, oracle::reshape<double, 4>(ref.values.at("A_" + suffix), A.shape()), 1e-12))
          << suffix;
      cnnprim::numpy::RandomState again(static_cast<std::uint32_t>(p[0]));
      again.randn<double>(p[1], p[2], p[3], p[4]);
      const auto dA = again.randn<double>(A.dim(0), A.dim(1), A.dim(2), A.dim(3));
      const auto dA_prev = cnnprim::pool_backward(dA, cache, mode, GetParam());
      EXPECT_TRUE(oracle::near(dA_prev, oracle::reshape<double, 4>(ref.values.at("dA_prev_" + suffix), A_prev.shape()),
                               1e-12))
          << suffix;
    }
  }
}

// ---- Independent reference over many shapes ----

struct Shape {
  Index m, n_H_prev, n_W_prev, n_C, f, stride;
  const char* regime;
};

const Shape shapes[] = {
    {2, 4, 4, 3, 3, 2, "Notebook"},          {2, 5, 7, 3, 2, 2, "NonSquare"},
    {1, 7, 6, 2, 2, 3, "StrideLargerThanFilter"}, {3, 8, 7, 4, 3, 2, "WindowDoesNotDivide"},
    {2, 5, 4, 3, 1, 1, "FilterOne"},         {1, 5, 6, 1, 3, 1, "SingleChannelOverlapping"},
    {2, 4, 5, 5, 4, 1, "FilterEqualsHeight"}, {1, 9, 9, 16, 3, 3, "StrideEqualsFilter"},
    {1, 3, 3, 2, 3, 5, "SingleWindowLargeStride"}, {4, 6, 3, 7, 2, 1, "BatchOfFour"},
};

template <class T>
void check_against_oracle(const Shape& s, Backend backend, unsigned seed, bool integer_valued) {
  SCOPED_TRACE(std::string(s.regime) + (std::is_same_v<T, float> ? " float" : " double") +
               (integer_valued ? " ties" : ""));
  auto A_prev = oracle::uniform<T, 4>({s.m, s.n_H_prev, s.n_W_prev, s.n_C}, seed);
  if (integer_valued)  // values in {-1, 0, 1, 2}: most windows hold ties
    for (Index k = 0; k < A_prev.size(); ++k) A_prev.data()[k] = std::floor(A_prev.data()[k] * 2 + 1);
  for (PoolMode mode : {PoolMode::Max, PoolMode::Average}) {
    SCOPED_TRACE(cnnprim::to_string(mode));
    const auto [A, cache] = cnnprim::pool_forward(A_prev, {s.f, s.stride}, mode, backend);
    EXPECT_TRUE(oracle::near(A, oracle::pool_forward(A_prev, s.f, s.stride, mode), oracle::tolerance<T>()));
    const auto dA = oracle::uniform<T, 4>(A.shape(), seed + 1);
    const auto dA_prev = cnnprim::pool_backward(dA, cache, mode, backend);
    EXPECT_TRUE(oracle::near(dA_prev, oracle::pool_backward(dA, A_prev, s.f, s.stride, mode), oracle::tolerance<T>()));
  }
}

TEST_P(Pool, MatchesIndependentReference) {
  unsigned seed = 300;
  for (const Shape& s : shapes)
    for (bool ties : {false, true}) {
      check_against_oracle<double>(s, GetParam(), seed += 2, ties);
      check_against_oracle<float>(s, GetParam(), seed += 2, ties);
    }
}

TEST_P(Pool, MatchesIndependentReferenceRandomShapes) {
  oracle::ShapeDraw next(777);
  for (int trial = 0; trial < 150; ++trial) {
    const Shape s{next(1, 3), next(1, 9), next(1, 9), next(1, 6), next(1, 4), next(1, 5), "Random"};
    if (s.f > s.n_H_prev || s.f > s.n_W_prev) continue;
    check_against_oracle<double>(s, GetParam(), 2000u + static_cast<unsigned>(trial), trial % 2 == 0);
  }
}

// ---- The tie and NaN rule ----

Tensor<double> window(std::vector<double> values) {  // one 2x2 window, one channel
  return Tensor<double>({1, 2, 2, 1}, values);
}

double gradient_at(const Tensor<double>& A_prev, Index k, Backend backend) {
  const auto [A, cache] = cnnprim::pool_forward(A_prev, {2, 2}, PoolMode::Max, backend);
  const auto dA_prev = cnnprim::pool_backward(Tensor<double>({1, 1, 1, 1}, {1.0}), cache, PoolMode::Max, backend);
  return dA_prev.data()[k];
}

TEST_P(Pool, TiedMaximumOnlyTheFirstGetsTheGradient) {
  const auto A_prev = window({3, 3, 1, 3});
  EXPECT_EQ(gradient_at(A_prev, 0, GetParam()), 1.0);
  EXPECT_EQ(gradient_at(A_prev, 1, GetParam()), 0.0);
  EXPECT_EQ(gradient_at(A_prev, 3, GetParam()), 0.0);
}

TEST_P(Pool, AllZeroWindowAfterReluPassesTheGradientOnce) {
  const auto A_prev = window({0, 0, 0, 0});
  const auto [A, cache] = cnnprim::pool_forward(A_prev, {2, 2}, PoolMode::Max, GetParam());
  const auto dA_prev = cnnprim::pool_backward(Tensor<double>({1, 1, 1, 1}, {2.5}), cache, PoolMode::Max, GetParam());
  EXPECT_EQ(dA_prev.vector().sum(), 2.5);
  EXPECT_EQ(dA_prev.data()[0], 2.5);
}

TEST_P(Pool, SignedZerosTie) {
  EXPECT_EQ(gradient_at(window({-0.0, 0.0, -1, -2}), 0, GetParam()), 1.0);
  EXPECT_EQ(gradient_at(window({-3, 0.0, -0.0, -2}), 1, GetParam()), 1.0);
}

TEST_P(Pool, Infinities) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(gradient_at(window({1, inf, inf, 2}), 1, GetParam()), 1.0);
  EXPECT_EQ(gradient_at(window({-inf, -inf, -inf, -inf}), 0, GetParam()), 1.0);
  const auto A = cnnprim::pool_forward(window({-inf, -inf, -inf, -inf}), {2, 2}, PoolMode::Max, GetParam()).A;
  EXPECT_EQ(A.data()[0], -inf);
}

TEST_P(Pool, NaNIsTheMaximum) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(gradient_at(window({5, 1, nan, 7}), 2, GetParam()), 1.0);
  EXPECT_EQ(gradient_at(window({5, 1, nan, 7}), 3, GetParam()), 0.0);
  const auto A = cnnprim::pool_forward(window({5, 1, nan, 7}), {2, 2}, PoolMode::Max, GetParam()).A;
  EXPECT_TRUE(std::isnan(A.data()[0]));
  const auto first = cnnprim::pool_forward(window({nan, 9, 1, 2}), {2, 2}, PoolMode::Max, GetParam()).A;
  EXPECT_TRUE(std::isnan(first.data()[0]));
}

TEST_P(Pool, SeveralNaNsTheFirstWins) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(gradient_at(window({1, nan, 3, nan}), 1, GetParam()), 1.0);
  EXPECT_EQ(gradient_at(window({1, nan, 3, nan}), 3, GetParam()), 0.0);
}

// Max and average 2x2 pooling of A_prev, forward and backward, against the independent oracle.
void expect_2x2_pooling_matches_oracle(const Tensor<double>& A_prev, Backend backend) {
  for (PoolMode mode : {PoolMode::Max, PoolMode::Average}) {
    const auto [A, cache] = cnnprim::pool_forward(A_prev, {2, 2}, mode, backend);
    EXPECT_TRUE(oracle::near(A, oracle::pool_forward(A_prev, 2, 2, mode), 1e-12));
    const auto dA = oracle::uniform<double, 4>(A.shape(), 6);
    EXPECT_TRUE(oracle::near(cnnprim::pool_backward(dA, cache, mode, backend),
                             oracle::pool_backward(dA, A_prev, 2, 2, mode), 1e-12));
  }
}

TEST_P(Pool, NaNInManyChannels) {
  // A wide channel axis runs through the vectorized path's full packets.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto A_prev = oracle::uniform<double, 4>({1, 4, 4, 19}, 5);
  A_prev(0, 1, 0, 3) = nan;
  A_prev(0, 0, 1, 17) = nan;
  A_prev(0, 1, 1, 17) = nan;
  expect_2x2_pooling_matches_oracle(A_prev, GetParam());
}

TEST_P(Pool, InfinitiesOfBothSignsInOneWindowAreNotNaN) {
  // +inf and -inf in channels of different packets of one block make the vectorized path's combined NaN test
  // fire without a NaN: each packet is then tested on its own.
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  auto A_prev = oracle::uniform<double, 4>({1, 4, 4, 64}, 7);
  A_prev(0, 0, 0, 1) = inf;
  A_prev(0, 1, 1, 20) = -inf;
  A_prev(0, 0, 1, 45) = -inf;
  A_prev(0, 2, 2, 3) = inf;
  A_prev(0, 3, 3, 60) = nan;
  A_prev(0, 2, 3, 33) = -inf;
  expect_2x2_pooling_matches_oracle(A_prev, GetParam());
}

TEST(PoolHelpers, MaskTieAndNaNRule) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto tie = cnnprim::create_mask_from_window(Tensor<double, 2>({2, 2}, {1, 4, 4, 0}));
  EXPECT_EQ(tie.vector().sum(), 1.0);
  EXPECT_EQ(tie(0, 1), 1.0);
  const auto with_nan = cnnprim::create_mask_from_window(Tensor<double, 2>({2, 3}, {1, 4, 9, nan, 0, nan}));
  EXPECT_EQ(with_nan.vector().sum(), 1.0);
  EXPECT_EQ(with_nan(1, 0), 1.0);
  EXPECT_EQ(cnnprim::create_mask_from_window(Tensor<float, 2>({0, 3})).size(), 0);
}

TEST(PoolHelpers, DistributeValueRejectsEmptyShape) {
  EXPECT_EQ(oracle::error_message([] { cnnprim::distribute_value(1.0, {0, 2}); }),
            "distribute_value: n_H must be at least 1, but got n_H = 0");
  EXPECT_EQ(oracle::error_message([] { cnnprim::distribute_value(1.0, {2, -1}); }),
            "distribute_value: n_W must be at least 1, but got n_W = -1");
}

// ---- Gradient sums are conserved ----

TEST_P(Pool, GradientSumIsConserved) {
  auto A_prev = oracle::uniform<double, 4>({2, 9, 8, 5}, 71);
  for (Index k = 0; k < A_prev.size(); k += 3) A_prev.data()[k] = 0;  // ReLU-like ties
  for (PoolMode mode : {PoolMode::Max, PoolMode::Average}) {
    const auto [A, cache] = cnnprim::pool_forward(A_prev, {3, 2}, mode, GetParam());
    const auto dA = oracle::uniform<double, 4>(A.shape(), 72);
    const auto dA_prev = cnnprim::pool_backward(dA, cache, mode, GetParam());
    EXPECT_NEAR(dA_prev.vector().sum(), dA.vector().sum(), 1e-12) << cnnprim::to_string(mode);
  }
}

// An average is its window's sum, in row-major order, divided by the divisor, to the last bit, on both paths.
// Values of every magnitude, down to quotients below the smallest normal number, so that a product by the divisor's
// reciprocal (exact only for powers of two) would show. Backward, on windows that tile the image, stores dA / divisor
// in each of their elements. 35 channels: whole packets and single ones; 16: whole packets that fill no block.
class AverageToTheLastBit : public ::testing::TestWithParam<std::tuple<Backend, Index>> {};
INSTANTIATE_TEST_SUITE_P(Backends, AverageToTheLastBit,
                         ::testing::Combine(::testing::Values(Backend::Loop, Backend::Eigen),
                                            ::testing::Values(Index{35}, Index{16})));
TEST_P(AverageToTheLastBit, IsTheSumOverTheDivisor) {
  const auto [backend, C] = GetParam();
  auto A_prev = oracle::uniform<float, 4>({2, 9, 9, C}, 73);
  for (Index k = 0; k < A_prev.size(); ++k)
    A_prev.data()[k] = std::ldexp(A_prev.data()[k], static_cast<int>(k * 37 % 260) - 148);
  auto same_bits = [](float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; };
  const auto window = [](Index H, Index W) {
    cnnprim::PoolParams hp;
    hp.window = cnnprim::Axes{H, W};
    hp.strides = cnnprim::Axes{H, W};
    return hp;
  };
  cnnprim::PoolParams padded{3, 2}, counted{3, 2};
  padded.padding = counted.padding = cnnprim::Padding{1, 1, 1, 1};
  counted.count_include_pad = true;
  for (const cnnprim::PoolParams& hp : {cnnprim::PoolParams{2, 2}, cnnprim::PoolParams{4, 4}, cnnprim::PoolParams{3, 3},
                                        window(2, 1), window(1, 3), padded, counted}) {
    const auto g = cnnprim::detail::pool_geometry("test", "A_prev", A_prev.shape(), hp);
    SCOPED_TRACE(testing::Message() << "window " << g.f_H << "x" << g.f_W << ", pad " << g.pad_top);
    const auto [A, cache] = cnnprim::pool_forward(A_prev, hp, PoolMode::Average, backend);
    const auto dA = oracle::uniform<float, 4>(A.shape(), 74);
    const auto dA_prev = cnnprim::pool_backward(dA, cache, PoolMode::Average, backend);
    const bool tiled = g.stride_H == g.f_H && g.stride_W == g.f_W && g.pad_top == 0;
    Index wrong = 0;
    for (Index i = 0; i < g.m; ++i)
      for (Index h = 0; h < g.n_H; ++h)
        for (Index w = 0; w < g.n_W; ++w)
          for (Index c = 0; c < g.n_C; ++c) {
            const auto divisor = static_cast<float>(g.divisor(h, w));
            const float share = dA(i, h, w, c) / divisor;
            float sum = A_prev(i, g.row_begin(h), g.column_begin(w), c);
            for (Index r = g.row_begin(h); r < g.row_end(h); ++r)
              for (Index s = g.column_begin(w); s < g.column_end(w); ++s) {
                if (r != g.row_begin(h) || s != g.column_begin(w)) sum += A_prev(i, r, s, c);
                if (tiled) wrong += !same_bits(dA_prev(i, r, s, c), share);
              }
            wrong += !same_bits(A(i, h, w, c), sum / divisor);
          }
    EXPECT_EQ(wrong, 0);
  }
}

// Backward gives each element of dA_prev the sum, from zero, of what the windows that hold it give it, in the order
// the windows come, to the last bit: dA / divisor to every element (average), dA to the first maximum (max, found in
// A_prev or read from max_pool_forward's argmax). Where windows overlap, leave gaps, meet padding (counted or not)
// or end in ceil mode's partial windows; with single channels, half and quarter packets, whole packets and blocks of
// packets (which average backward gathers per element); on one thread and two; and on passes too large for the
// caches (A_prev and A over 16 MiB), whose stores go past them.
TEST_P(Pool, BackwardSumsWhatTheWindowsGiveInWindowOrder) {
  Eigen::ThreadPool pool(1);
  const cnnprim::Threads two(pool, 2);
  const auto params = [] {
    std::vector<cnnprim::PoolParams> list{{3, 2}, {3, 1}, {2, 3}, {4, 2}, {5, 2}, {2, 2}};
    cnnprim::PoolParams hp{3, 2};
    hp.padding = cnnprim::Padding{1, 2, 0, 1};
    list.push_back(hp);
    hp.count_include_pad = true;
    list.push_back(hp);
    hp.ceil_mode = true;
    list.push_back(hp);
    hp = cnnprim::PoolParams{};
    hp.window = cnnprim::Axes{1, 4};
    hp.strides = cnnprim::Axes{3, 1};
    list.push_back(hp);
    return list;
  }();
  const auto check = [&](Tensor<float> A_prev, const cnnprim::PoolParams& hp, cnnprim::Threads threads) {
    const auto g = cnnprim::detail::pool_geometry("test", "A_prev", A_prev.shape(), hp);
    SCOPED_TRACE(testing::Message() << "window " << g.f_H << "x" << g.f_W << ", strides " << g.stride_H << "x"
                                    << g.stride_W << ", pads " << g.pad_top << g.pad_bottom << g.pad_left
                                    << g.pad_right << (g.count_include_pad ? ", counted" : "") << ", n_C " << g.n_C);
    for (Index k = 0; k < A_prev.size(); k += 5) A_prev.data()[k] = 0.5f;  // ties
    auto dA = oracle::uniform<float, 4>(output_shape(g), 75);
    for (Index k = 0; k < dA.size(); ++k) dA.data()[k] = std::ldexp(dA.data()[k], static_cast<int>(k * 37 % 260) - 148);
    Tensor<float> average(A_prev.shape()), max(A_prev.shape());
    for (Index i = 0; i < g.m; ++i)
      for (Index h = 0; h < g.n_H; ++h)
        for (Index w = 0; w < g.n_W; ++w) {
          const Index top = g.row_begin(h), left = g.column_begin(w), columns = g.column_end(w) - left;
          for (Index c = 0; c < g.n_C; ++c) {
            const Index k = cnnprim::detail::first_max_index(&A_prev(i, top, left, c), g.row_end(h) - top, columns,
                                                             g.n_W_prev * g.n_C, g.n_C);
            max(i, top + k / columns, left + k % columns, c) += dA(i, h, w, c);
            for (Index r = top; r < g.row_end(h); ++r)
              for (Index s = left; s < g.column_end(w); ++s)
                average(i, r, s, c) += dA(i, h, w, c) / static_cast<float>(g.divisor(h, w));
          }
        }
    const auto same_bits = [](const Tensor<float>& actual, const Tensor<float>& expected) {
      return std::memcmp(actual.data(), expected.data(), sizeof(float) * static_cast<std::size_t>(actual.size())) == 0;
    };
    auto dA_prev = oracle::uniform<float, 4>(A_prev.shape(), 76);  // overwritten in full
    cnnprim::pool_backward(dA, A_prev, hp, PoolMode::Average, dA_prev, GetParam(), threads);
    EXPECT_TRUE(same_bits(dA_prev, average)) << "average";
    dA_prev = oracle::uniform<float, 4>(A_prev.shape(), 77);
    cnnprim::pool_backward(dA, A_prev, hp, PoolMode::Max, dA_prev, GetParam(), threads);
    EXPECT_TRUE(same_bits(dA_prev, max)) << "max";
    Tensor<float> A(output_shape(g));
    Tensor<std::uint8_t> argmax(output_shape(g));
    cnnprim::max_pool_forward(A_prev, hp, A, argmax, GetParam(), threads);
    dA_prev = oracle::uniform<float, 4>(A_prev.shape(), 78);
    cnnprim::max_pool_backward(dA, argmax, hp, dA_prev, GetParam(), threads);
    EXPECT_TRUE(same_bits(dA_prev, max)) << "max from argmax";
  };
  for (const Index n_C : {35, 30, 16, 64})  // 30: whole, half and quarter packets and single values
    for (const auto& hp : params)
      for (const cnnprim::Threads threads : {cnnprim::Threads(), two})
        check(oracle::uniform<float, 4>({2, 11, 13, n_C}, 79), hp, threads);
  const auto large = oracle::uniform<float, 4>({2, 160, 160, 64}, 80);
  for (const cnnprim::Threads threads : {cnnprim::Threads(), two}) check(large, {3, 2}, threads);
}

// ---- Backends agree; caches cross backends and modes ----

TEST(PoolBackends, LoopAndEigenAgreeOnLargeInput) {
  const auto A_prev = oracle::uniform<float, 4>({3, 23, 19, 21}, 81);
  for (PoolMode mode : {PoolMode::Max, PoolMode::Average}) {
    const auto loop = cnnprim::pool_forward(A_prev, {3, 2}, mode, Backend::Loop);
    const auto eigen = cnnprim::pool_forward(A_prev, {3, 2}, mode, Backend::Eigen);
    EXPECT_TRUE(oracle::near(eigen.A, loop.A, 1e-5));
    const auto dA = oracle::uniform<float, 4>(loop.A.shape(), 82);
    EXPECT_TRUE(oracle::near(cnnprim::pool_backward(dA, loop.cache, mode, Backend::Eigen),
                             cnnprim::pool_backward(dA, eigen.cache, mode, Backend::Loop), 1e-5));
  }
}

// Rows whose channels fill no block of packets pool several alike windows side by side (backward only where windows
// tile the input), their last few channels as one masked packet where masked lanes exist (forward); each window
// keeps its own NaN, infinities, ties, argmax and gradient.
// Channel counts on both sides of each packet width (SSE to AVX-512, float and double), windows inside the image,
// clipped by padding and at a row's end past the last block; the values and argmax are the Loop path's, bit for bit.
template <class T>
void expect_windows_side_by_side_match_the_loop_path() {
  const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
  cnnprim::PoolParams padded{3, 2};
  padded.padding = cnnprim::Padding{1, 1, 1, 1};
  padded.ceil_mode = true;
  unsigned seed = 40;
  for (Index C : {1, 2, 3, 5, 7, 8, 9, 12, 16, 17, 24, 31, 33, 63, 65})
    for (const cnnprim::PoolParams& hp : {cnnprim::PoolParams{2, 2}, cnnprim::PoolParams{3, 1}, padded}) {
      SCOPED_TRACE(testing::Message() << C << " channels, window " << hp.f << ", stride " << hp.stride);
      auto A_prev = oracle::uniform<T, 4>({2, 5, 19, C}, ++seed);
      for (Index k = 0; k < A_prev.size(); k += 5) A_prev.data()[k] = std::round(A_prev.data()[k]);  // ties
      A_prev(0, 1, 5, C - 1) = nan;  // the last channel: the masked packet's
      A_prev(0, 0, 8, 0) = -inf;     // infinities of both signs in one window, no NaN
      A_prev(0, 1, 9, 0) = inf;
      A_prev(0, 1, 14, C / 2) = nan;
      A_prev(0, 0, 15, C / 2) = nan;  // two NaNs: the first wins
      for (Index r = 2; r < 4; ++r)
        for (Index s = 10; s < 12; ++s)
          for (Index c = 0; c < C; ++c) A_prev(1, r, s, c) = -inf;
      for (PoolMode mode : {PoolMode::Max, PoolMode::Average}) {  // (the first form's Max also finds the argmax)
        const auto expected = cnnprim::pool_forward(A_prev, hp, mode, Backend::Loop).A;
        Tensor<T> A(expected.shape());
        cnnprim::pool_forward(A_prev, hp, mode, A, Backend::Eigen);
        EXPECT_TRUE(oracle::near(A, expected, 0.0));
      }
      const auto expected = cnnprim::pool_forward(A_prev, hp, PoolMode::Max, Backend::Loop).A;
      Tensor<T> A(expected.shape()), A_loop(expected.shape());
      Tensor<std::uint8_t> argmax(expected.shape()), argmax_loop(expected.shape());
      cnnprim::max_pool_forward(A_prev, hp, A, argmax, Backend::Eigen);
      cnnprim::max_pool_forward(A_prev, hp, A_loop, argmax_loop, Backend::Loop);
      EXPECT_TRUE(oracle::near(A, expected, 0.0));
      EXPECT_TRUE(std::equal(argmax.data(), argmax.data() + argmax.size(), argmax_loop.data()));

      const auto dA = oracle::uniform<T, 4>(A.shape(), ++seed);
      Tensor<T> dA_prev(A_prev.shape()), dA_prev_loop(A_prev.shape());
      for (PoolMode mode : {PoolMode::Max, PoolMode::Average}) {
        cnnprim::pool_backward(dA, A_prev, hp, mode, dA_prev, Backend::Eigen);
        cnnprim::pool_backward(dA, A_prev, hp, mode, dA_prev_loop, Backend::Loop);
        EXPECT_TRUE(oracle::near(dA_prev, dA_prev_loop, 0.0)) << (mode == PoolMode::Max ? "max" : "average");
      }
      cnnprim::max_pool_backward(dA, argmax, hp, dA_prev, Backend::Eigen);
      cnnprim::max_pool_backward(dA, argmax_loop, hp, dA_prev_loop, Backend::Loop);
      EXPECT_TRUE(oracle::near(dA_prev, dA_prev_loop, 0.0)) << "from the argmax";
    }
}

TEST(PoolBackends, WindowsSideBySideMatchTheLoopPath) {
  expect_windows_side_by_side_match_the_loop_path<float>();
  expect_windows_side_by_side_match_the_loop_path<double>();
}

// Whole packets of channels (and one channel), windows whose maximum is a zero of either sign reached in either
// order, windows of -0 alone, NaNs quiet and signalling with payloads (the first in the window wins), infinities and
// denormals: the maximum and its argmax are the Loop path's to the bit, in packets that hold a NaN (reduced again by
// the NaN rule) and in the others; so is the average where it is not NaN (+0 for a window of -0: its sum starts
// from +0).
template <class T>
void expect_zeros_and_nans_match_the_loop_path() {
  const T zero(0), inf = std::numeric_limits<T>::infinity(), denorm = std::numeric_limits<T>::denorm_min();
  const T values[] = {-zero, zero, -zero, zero, -zero, zero, T(-1), T(-1), T(2), -inf, inf, denorm, -denorm,
                      std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::signaling_NaN(),
                      static_cast<T>(std::nan("7"))};
  std::uint32_t state = 12345;
  for (Index C : {Index{1}, Index{16}, Index{64}, Index{72}})
    for (const cnnprim::PoolParams& hp : {cnnprim::PoolParams{2, 2}, cnnprim::PoolParams{3, 2}}) {
      SCOPED_TRACE(testing::Message() << C << " channels, window " << hp.f << ", stride " << hp.stride);
      Tensor<T> A_prev({2, 7, 9, C});
      for (Index k = 0; k < A_prev.size(); ++k) {
        state = state * 1664525u + 1013904223u;
        // Mostly zeros and -1, so that many windows' maximum is a zero; the rest now and then.
        const std::uint32_t draw = state >> 24;
        A_prev.data()[k] = values[draw < 224 ? draw % 8 : 8 + draw % 8];
      }
      const auto same_bits = [](const Tensor<T>& a, const Tensor<T>& b) {
        return std::memcmp(a.data(), b.data(), sizeof(T) * static_cast<std::size_t>(a.size())) == 0;
      };
      const auto expected = cnnprim::pool_forward(A_prev, hp, PoolMode::Max, Backend::Loop);
      Tensor<T> A(expected.A.shape()), A_loop(expected.A.shape());
      cnnprim::pool_forward(A_prev, hp, PoolMode::Max, A, Backend::Eigen);
      EXPECT_TRUE(same_bits(A, expected.A));
      Tensor<std::uint8_t> argmax(A.shape()), argmax_loop(A.shape());
      cnnprim::max_pool_forward(A_prev, hp, A, argmax, Backend::Eigen);
      cnnprim::max_pool_forward(A_prev, hp, A_loop, argmax_loop, Backend::Loop);
      EXPECT_TRUE(same_bits(A, expected.A));
      EXPECT_TRUE(same_bits(A_loop, expected.A));
      EXPECT_TRUE(std::equal(argmax.data(), argmax.data() + argmax.size(), argmax_loop.data()));
      for (Index r = 2; r < 4; ++r)  // 2x2 window (1, 1) of image 1: -0 alone
        for (Index s = 2; s < 4; ++s)
          for (Index k = 0; k < C; ++k) A_prev(1, r, s, k) = -zero;
      const auto average = cnnprim::pool_forward(A_prev, hp, PoolMode::Average, Backend::Loop).A;
      cnnprim::pool_forward(A_prev, hp, PoolMode::Average, A, Backend::Eigen);
      // (Which NaN a sum of several returns is the compiler's choice of operand order: only NaN is compared.)
      for (Index k = 0; k < A.size(); ++k) {
        const T got = A.data()[k], want = average.data()[k];
        ASSERT_TRUE(std::isnan(want) ? std::isnan(got) : std::memcmp(&got, &want, sizeof got) == 0)
            << "average, element " << k << ": " << got << " against " << want;
      }
      if (hp.f == 2) {
        EXPECT_FALSE(std::signbit(average(1, 1, 1, C - 1)));
      }
    }
}

TEST(PoolBackends, MaxAndAverageOfZerosAndNaNsMatchTheLoopPathToTheBit) {
  expect_zeros_and_nans_match_the_loop_path<float>();
  expect_zeros_and_nans_match_the_loop_path<double>();
}

// Passes too large to stay in cache (A_prev and A over 16 MiB) ask for A_prev ahead of their windows and, with
// AVX-512, store their outputs past the caches (the average's backward on one thread only): with channels of blocks
// of packets and with narrow ones (which decide both as they run). The values are the Loop path's, and the bits
// those of the same call into memory 4 and 16 bytes past a 64-byte line (streamed a row at a time through a buffer)
// and of two threads.
class PassesTooLargeForTheCache : public ::testing::TestWithParam<Index> {};
INSTANTIATE_TEST_SUITE_P(PoolBackends, PassesTooLargeForTheCache, ::testing::Values(128, 16),
                         [](const auto& info) { return std::to_string(info.param) + "Channels"; });
TEST_P(PassesTooLargeForTheCache, Match) {
  const Index n_C = GetParam();
  auto A_prev = oracle::uniform<float, 4>({2 * 128 / n_C, 129, 129, n_C}, 83);  // 17 MB either way
  for (Index k = 0; k < A_prev.size(); k += 5) A_prev.data()[k] = std::round(A_prev.data()[k]);  // ties
  A_prev.data()[1000] = std::numeric_limits<float>::quiet_NaN();
  A_prev.data()[A_prev.size() - 1] = std::numeric_limits<float>::infinity();
  const cnnprim::PoolParams hp{3, 2};
  Eigen::ThreadPool pool(1);
  const cnnprim::Threads two(pool, 2);
  const auto same_bits = [](const float* a, const Tensor<float>& b) {
    return std::memcmp(a, b.data(), sizeof(float) * static_cast<std::size_t>(b.size())) == 0;
  };
  // Calls `call` on a view of the shape of `expected` 1 and 4 floats into aligned memory, each value the bits of
  // `expected`'s, and nothing written around it.
  const auto expect_same_bits_off_line = [&](const Tensor<float>& expected, auto call) {
    for (Index offset : {1, 4}) {
      SCOPED_TRACE(testing::Message() << offset << " floats past a line");
      const auto size = static_cast<std::size_t>(expected.size());
      std::vector<float, Eigen::aligned_allocator<float>> memory(size + 32, -7.0f);
      call(cnnprim::TensorView<float>(memory.data() + offset, expected.shape()));
      EXPECT_TRUE(same_bits(memory.data() + offset, expected));
      EXPECT_TRUE(std::all_of(memory.begin(), memory.begin() + offset, [](float x) { return x == -7.0f; }));
      EXPECT_TRUE(std::all_of(memory.begin() + offset + static_cast<std::ptrdiff_t>(size), memory.end(),
                              [](float x) { return x == -7.0f; }));
    }
  };
  for (PoolMode mode : {PoolMode::Max, PoolMode::Average}) {
    SCOPED_TRACE(mode == PoolMode::Max ? "max" : "average");
    const auto expected = cnnprim::pool_forward(A_prev, hp, mode, Backend::Loop);
    Tensor<float> A(expected.A.shape()), A_threads(expected.A.shape());
    cnnprim::pool_forward(A_prev, hp, mode, A, Backend::Eigen);
    EXPECT_TRUE(oracle::near(A, expected.A, mode == PoolMode::Max ? 0.0 : 1e-6));
    expect_same_bits_off_line(A, [&](cnnprim::TensorView<float> view) {
      cnnprim::pool_forward(A_prev, hp, mode, view, Backend::Eigen);
    });
    cnnprim::pool_forward(A_prev, hp, mode, A_threads, Backend::Eigen, two);
    EXPECT_TRUE(same_bits(A_threads.data(), A));
    const auto first_form = cnnprim::pool_forward(A_prev, hp, mode, Backend::Eigen, two);  // its cache streamed
    EXPECT_TRUE(same_bits(A_prev.data(), first_form.cache.A_prev));
    if (mode == PoolMode::Max) {
      Tensor<std::uint8_t> argmax(A.shape()), argmax_threads(A.shape());
      cnnprim::max_pool_forward(A_prev, hp, A_threads, argmax, Backend::Eigen);
      EXPECT_TRUE(same_bits(A_threads.data(), A));
      EXPECT_TRUE(std::equal(argmax.data(), argmax.data() + argmax.size(), expected.cache.argmax.data()));
      cnnprim::max_pool_forward(A_prev, hp, A_threads, argmax_threads, Backend::Eigen, two);
      EXPECT_TRUE(same_bits(A_threads.data(), A));
      EXPECT_TRUE(std::equal(argmax.data(), argmax.data() + argmax.size(), argmax_threads.data()));
    }
    const auto dA = oracle::uniform<float, 4>(A.shape(), 84);
    const auto dA_prev_loop = cnnprim::pool_backward(dA, expected.cache, mode, Backend::Loop);
    Tensor<float> dA_prev(A_prev.shape()), dA_prev_threads(A_prev.shape());
    cnnprim::pool_backward(dA, A_prev, hp, mode, dA_prev, Backend::Eigen);  // max: A_prev's windows read ahead
    EXPECT_TRUE(oracle::near(dA_prev, dA_prev_loop, mode == PoolMode::Max ? 0.0 : 1e-6));
    cnnprim::pool_backward(dA, A_prev, hp, mode, dA_prev_threads, Backend::Eigen, two);
    EXPECT_TRUE(same_bits(dA_prev_threads.data(), dA_prev));
    expect_same_bits_off_line(dA_prev, [&](cnnprim::TensorView<float> view) {
      cnnprim::pool_backward(dA, A_prev, hp, mode, view, Backend::Eigen);
    });
  }
}

TEST_P(Pool, CacheSurvivesChangesToTheCallersTensor) {
  auto A_prev = oracle::uniform<double, 4>({1, 4, 4, 2}, 91);
  auto A_map = A_prev.vector();
  const auto [A, cache] = cnnprim::pool_forward(A_prev, {2, 2}, PoolMode::Max, GetParam());
  const auto dA = oracle::uniform<double, 4>(A.shape(), 92);
  const auto before = cnnprim::pool_backward(dA, cache, PoolMode::Max, GetParam());
  A_map.setConstant(9.0);  // a map taken before forward writes the caller's tensor only
  A_prev = Tensor<double>();
  EXPECT_TRUE(oracle::near(cnnprim::pool_backward(dA, cache, PoolMode::Max, GetParam()), before, 0.0));
}

// pool_backward(dA, cache) uses the mode forward computed; an explicit mode overrides it.
TEST_P(Pool, CacheKeepsTheMode) {
  const auto A_prev = oracle::uniform<double, 4>({2, 5, 7, 3}, 93);
  for (PoolMode mode : {PoolMode::Max, PoolMode::Average}) {
    SCOPED_TRACE(cnnprim::to_string(mode));
    const auto [A, cache] = cnnprim::pool_forward(A_prev, {2, 2}, mode, GetParam());
    EXPECT_EQ(cache.mode, mode);
    const auto dA = oracle::uniform<double, 4>(A.shape(), 94);
    EXPECT_TRUE(oracle::near(cnnprim::pool_backward(dA, cache, GetParam()),
                             oracle::pool_backward(dA, A_prev, 2, 2, mode), 1e-12));
    const PoolMode other = mode == PoolMode::Max ? PoolMode::Average : PoolMode::Max;
    EXPECT_TRUE(oracle::near(cnnprim::pool_backward(dA, cache, other, GetParam()),
                             oracle::pool_backward(dA, A_prev, 2, 2, other), 1e-12));
  }
}

// The cache's copy of A_prev is made by the forward pass row by row: every element of A_prev, bit for bit, also
// the rows and columns that no window reads (a stride past the window, a partial last window, padding, ceil
// mode), on one thread and on two.
TEST_P(Pool, CacheHoldsEveryElementOfA_prev) {
  Eigen::ThreadPool pool(1);
  const cnnprim::Threads two(pool, 2);
  std::vector<cnnprim::PoolParams> shapes{{2, 2}, {2, 3}, {3, 2}, {1, 4}, {5, 1}};
  shapes.emplace_back();
  shapes.back().padding = cnnprim::Padding{1, 0, 0, 1};
  shapes.back().ceil_mode = true;
  shapes.emplace_back();
  shapes.back().window = cnnprim::Axes{1, 3};
  shapes.back().strides = cnnprim::Axes{4, 2};
  auto A_prev = oracle::uniform<float, 4>({3, 9, 11, 20}, 96);
  A_prev.data()[7] = std::numeric_limits<float>::quiet_NaN();
  A_prev.data()[A_prev.size() - 1] = -std::numeric_limits<float>::infinity();
  for (const auto& hp : shapes)
    for (PoolMode mode : {PoolMode::Max, PoolMode::Average})
      for (const cnnprim::Threads threads : {cnnprim::Threads(), two}) {
        A_prev.vector().array() += 1.0f;  // new values: the last call's freed copy may hold the old ones
        const auto forward = cnnprim::pool_forward(A_prev, hp, mode, GetParam(), threads);
        ASSERT_EQ(forward.cache.A_prev.shape(), A_prev.shape());
        const std::size_t bytes = sizeof(float) * static_cast<std::size_t>(A_prev.size());
        EXPECT_EQ(std::memcmp(forward.cache.A_prev.data(), A_prev.data(), bytes), 0)
            << "f " << hp.f << " stride " << hp.stride << " " << cnnprim::to_string(mode);
      }
}

TEST_P(Pool, RvalueInputIsMovedIntoTheCache) {
  auto A_prev = oracle::uniform<float, 4>({1, 4, 4, 2}, 95);
  const float* storage = A_prev.data();
  const auto forward = cnnprim::pool_forward(std::move(A_prev), {2, 2}, PoolMode::Max, GetParam());
  EXPECT_EQ(forward.cache.A_prev.data(), storage);
}

// The notebook's {"stride": 2, "f": 3} by name: fields in any other order than (f, stride) do not compile.
TEST(PoolParams, NamedHyperparameters) {
  using namespace cnnprim::hparam;
  const cnnprim::PoolParams hp{f = 3, stride = 2};
  EXPECT_EQ(hp.f, 3);
  EXPECT_EQ(hp.stride, 2);
  static_assert(!std::is_convertible_v<decltype(stride = 2), cnnprim::hparam::F>, "a stride is not an f");
  const cnnprim::PoolParams positional{3, 2};
  EXPECT_EQ(positional.f, hp.f);
  EXPECT_EQ(positional.stride, hp.stride);
}

// ---- The second form: caller-owned outputs ----

TEST_P(Pool, SecondFormMatchesFirstForm) {
  unsigned seed = 500;
  for (const Shape& s : shapes)
    for (PoolMode mode : {PoolMode::Max, PoolMode::Average}) {
      SCOPED_TRACE(std::string(s.regime) + " " + cnnprim::to_string(mode));
      const auto A_prev = oracle::uniform<float, 4>({s.m, s.n_H_prev, s.n_W_prev, s.n_C}, seed += 2);
      const cnnprim::PoolParams hp{s.f, s.stride};
      const auto [A, cache] = cnnprim::pool_forward(A_prev, hp, mode, GetParam());
      const auto dA = oracle::uniform<float, 4>(A.shape(), seed + 1);
      const auto dA_prev = cnnprim::pool_backward(dA, cache, GetParam());

      std::vector<float> a_memory(static_cast<std::size_t>(A.size()), -7.0f);
      const cnnprim::TensorView<float> A_view(a_memory.data(), A.shape());
      cnnprim::pool_forward(A_prev, hp, mode, A_view, GetParam());
      EXPECT_TRUE(oracle::near(Tensor<float>(A_view), A, 0.0));
      auto dA_prev_out = oracle::uniform<float, 4>(A_prev.shape(), seed + 2);  // overwritten in full
      cnnprim::pool_backward(dA, A_prev, hp, mode, dA_prev_out, GetParam());
      EXPECT_TRUE(oracle::near(dA_prev_out, dA_prev, 0.0));
    }
}

// max_pool_forward's A is pool_forward's, its argmax names the first maximum the Loop path finds, and
// max_pool_backward from it gives pool_backward's dA_prev; the first form's cache keeps the same argmax. Shapes
// with ties, NaN and infinities, padding, ceil mode and windows larger than the image.
TEST_P(Pool, ArgmaxFormMatchesTheFirstMaximum) {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  struct Case {
    std::array<Index, 4> shape;
    cnnprim::PoolParams hp;
  };
  std::vector<Case> cases = {{{2, 5, 7, 3}, {2, 2}}, {{1, 9, 9, 37}, {3, 2}}, {{3, 6, 5, 20}, {3, 1}},
                             {{2, 8, 8, 33}, {2, 3}}, {{1, 4, 4, 17}, {4, 4}}};
  cnnprim::PoolParams padded{3, 2};
  padded.padding = cnnprim::Padding{1, 2, 2, 1};
  padded.ceil_mode = true;
  cases.push_back({{2, 7, 6, 19}, padded});
  cnnprim::PoolParams wide{2, 2};
  wide.window = cnnprim::Axes{16, 16};
  cases.push_back({{1, 16, 16, 5}, wide});  // 256 positions, the most an argmax holds
  unsigned seed = 900;
  for (const Case& c : cases) {
    SCOPED_TRACE(cnnprim::format_shape(c.shape));
    auto A_prev = oracle::uniform<double, 4>(c.shape, ++seed);
    for (Index k = 0; k < A_prev.size(); k += 7) A_prev.data()[k] = std::round(A_prev.data()[k]);  // ties
    A_prev.data()[3] = nan;
    A_prev.data()[A_prev.size() / 2] = inf;
    A_prev.data()[A_prev.size() - 2] = -inf;
    const auto expected = cnnprim::pool_forward(A_prev, c.hp, PoolMode::Max, Backend::Loop).A;
    Tensor<double> A(expected.shape());
    Tensor<std::uint8_t> argmax(expected.shape());
    cnnprim::max_pool_forward(A_prev, c.hp, A, argmax, GetParam());
    EXPECT_TRUE(oracle::near(A, expected, 0.0));
    const auto [A_first, cache] = cnnprim::pool_forward(A_prev, c.hp, PoolMode::Max, GetParam());
    ASSERT_EQ(cache.argmax.shape(), argmax.shape());
    EXPECT_TRUE(std::equal(argmax.data(), argmax.data() + argmax.size(), cache.argmax.data()));

    const auto dA = oracle::uniform<double, 4>(A.shape(), ++seed);
    Tensor<double> dA_prev_expected(A_prev.shape()), dA_prev(A_prev.shape());
    cnnprim::pool_backward(dA, A_prev, c.hp, PoolMode::Max, dA_prev_expected, Backend::Loop);
    cnnprim::max_pool_backward(dA, argmax, c.hp, dA_prev, GetParam());
    EXPECT_TRUE(oracle::near(dA_prev, dA_prev_expected, 0.0));
    EXPECT_TRUE(oracle::near(cnnprim::pool_backward(dA, cache, GetParam()), dA_prev_expected, 0.0));
  }
}

// Windows of more than 256 elements: the argmax form refuses them, the first form keeps no argmax and reads
// A_prev in backward.
TEST_P(Pool, WindowsPastTheArgmaxUseA_prev) {
  cnnprim::PoolParams global;
  global.global = true;
  const auto A_prev = oracle::uniform<float, 4>({2, 17, 16, 3}, 950);
  Tensor<float> A({2, 1, 1, 3});
  Tensor<std::uint8_t> argmax({2, 1, 1, 3});
  EXPECT_EQ(oracle::error_message([&] { cnnprim::max_pool_forward(A_prev, global, A, argmax, GetParam()); }),
            "max_pool_forward: argmax holds window positions below 256, but a window holds 272 elements of A_prev");
  const auto [A_first, cache] = cnnprim::pool_forward(A_prev, global, PoolMode::Max, GetParam());
  EXPECT_TRUE(cache.argmax.empty());
  const Tensor<float> dA({2, 1, 1, 3}, {1, 2, 3, 4, 5, 6});
  Tensor<float> expected(A_prev.shape());
  cnnprim::pool_backward(dA, A_prev, global, PoolMode::Max, expected, Backend::Loop);
  EXPECT_TRUE(oracle::near(cnnprim::pool_backward(dA, cache, GetParam()), expected, 0.0));
  EXPECT_EQ(cnnprim::pool_backward(dA, cache, GetParam()).vector().sum(), 21.0f);
}

// An argmax the caller filled with positions past the windows writes nothing out of bounds and passes nothing.
TEST_P(Pool, ArgmaxPastTheWindowPassesNothing) {
  cnnprim::PoolParams padded{3, 2};
  padded.padding = cnnprim::Padding{2, 2, 2, 2};
  const Tensor<float> dA_prev_shape({1, 5, 5, 18});
  Tensor<float> dA_prev(dA_prev_shape.shape()), dA({1, 4, 4, 18});
  dA.vector().setConstant(1.0f);
  Tensor<std::uint8_t> argmax(dA.shape());
  argmax.vector().setConstant(std::uint8_t{9});  // a 3x3 window's positions are 0 to 8, a clipped one's fewer
  cnnprim::max_pool_backward(dA, argmax, padded, dA_prev, GetParam());
  EXPECT_EQ(dA_prev.vector().cwiseAbs().sum(), 0.0f);
  argmax.vector().setConstant(std::uint8_t{255});
  cnnprim::max_pool_backward(dA, argmax, padded, dA_prev, GetParam());
  EXPECT_EQ(dA_prev.vector().cwiseAbs().sum(), 0.0f);
  argmax.vector().setConstant(std::uint8_t{0});  // every window's first element inside the image
  cnnprim::max_pool_backward(dA, argmax, padded, dA_prev, GetParam());
  EXPECT_EQ(dA_prev.vector().sum(), static_cast<float>(dA.size()));
}

TEST_P(Pool, ArgmaxFormRejectsWrongShapes) {
  const Backend be = GetParam();
  const Tensor<double> A_prev({2, 5, 7, 3});
  Tensor<double> A({2, 2, 3, 3}), dA_prev({2, 5, 7, 3}), wrong({2, 2, 3, 4});
  Tensor<std::uint8_t> argmax({2, 2, 3, 3}), wrong_argmax({2, 2, 2, 3});
  EXPECT_EQ(oracle::error_message([&] { cnnprim::max_pool_forward(A_prev, {2, 2}, wrong, argmax, be); }),
            "max_pool_forward: A must be (2, 2, 3, 3) to match A_prev (2, 5, 7, 3), but A is (2, 2, 3, 4)");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::max_pool_forward(A_prev, {2, 2}, A, wrong_argmax, be); }),
            "max_pool_forward: argmax must be (2, 2, 3, 3) to match A, but argmax is (2, 2, 2, 3)");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::max_pool_backward(wrong, argmax, {2, 2}, dA_prev, be); }),
            "max_pool_backward: dA must be (2, 2, 3, 3) to match the A for dA_prev (2, 5, 7, 3), but dA is "
            "(2, 2, 3, 4)");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::max_pool_backward(A, wrong_argmax, {2, 2}, dA_prev, be); }),
            "max_pool_backward: argmax must be (2, 2, 3, 3) to match dA, but argmax is (2, 2, 2, 3)");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::max_pool_backward(A, argmax, {2, 0}, dA_prev, be); }),
            "max_pool_backward: stride must be at least 1, but got stride = 0");
}

TEST_P(Pool, SecondFormRejectsWrongOutputShapes) {
  const Backend be = GetParam();
  const Tensor<double> A_prev({2, 5, 7, 3});
  Tensor<double> A({2, 2, 3, 3}), dA_prev({2, 5, 7, 3}), wrong({2, 2, 3, 4});
  EXPECT_EQ(oracle::error_message([&] { cnnprim::pool_forward(A_prev, {2, 2}, PoolMode::Max, wrong, be); }),
            "pool_forward: A must be (2, 2, 3, 3) to match A_prev (2, 5, 7, 3), but A is (2, 2, 3, 4)");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::pool_backward(wrong, A_prev, {2, 2}, PoolMode::Max, dA_prev, be); }),
            "pool_backward: dA must be (2, 2, 3, 3) to match the A for A_prev (2, 5, 7, 3), but dA is (2, 2, 3, 4)");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::pool_backward(A, A_prev, {2, 2}, PoolMode::Average, wrong, be); }),
            "pool_backward: dA_prev must be (2, 5, 7, 3) to match A_prev, but dA_prev is (2, 2, 3, 4)");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::pool_forward(A_prev, {2, 0}, PoolMode::Max, A, be); }),
            "pool_forward: stride must be at least 1, but got stride = 0");
}

TEST_P(Pool, EmptyBatch) {
  const auto [A, cache] = cnnprim::pool_forward(Tensor<float>({0, 4, 4, 3}), {2, 2}, PoolMode::Max, GetParam());
  EXPECT_EQ(A.shape(), (std::array<Index, 4>{0, 2, 2, 3}));
  EXPECT_EQ(cnnprim::pool_backward(A, cache, PoolMode::Average, GetParam()).shape(),
            (std::array<Index, 4>{0, 4, 4, 3}));
}

// ---- Invalid input ----

TEST_P(Pool, InvalidInputThrowsNamingTheFunctionAndShapes) {
  const Backend be = GetParam();
  const Tensor<double> A_prev({2, 4, 4, 3});
  EXPECT_EQ(oracle::error_message([&] { cnnprim::pool_forward(A_prev, {5, 1}, PoolMode::Max, be); }),
            "pool_forward: f = 5 must not exceed n_H_prev, but A_prev (2, 4, 4, 3) has n_H_prev = 4");
  EXPECT_EQ(oracle::error_message([&] {
              cnnprim::pool_forward(Tensor<double>({2, 6, 3, 3}), {4, 1}, PoolMode::Average, be);
            }),
            "pool_forward: f = 4 must not exceed n_W_prev, but A_prev (2, 6, 3, 3) has n_W_prev = 3");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::pool_forward(A_prev, {0, 1}, PoolMode::Max, be); }),
            "pool_forward: f must be at least 1, but got f = 0");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::pool_forward(A_prev, {2, 0}, PoolMode::Max, be); }),
            "pool_forward: stride must be at least 1, but got stride = 0");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::pool_forward(A_prev, {-1, 1}, PoolMode::Max, be); }),
            "pool_forward: f must be at least 1, but got f = -1");

  // Named members rather than a structured binding: lambdas below capture them (clang 14 cannot capture bindings).
  const auto forward = cnnprim::pool_forward(A_prev, {2, 2}, PoolMode::Max, be);
  const auto& A = forward.A;
  const auto& cache = forward.cache;
  EXPECT_EQ(
      oracle::error_message([&] {
        cnnprim::pool_backward(Tensor<double>({2, 2, 3, 3}), cache, PoolMode::Max, be);
      }),
      "pool_backward: dA must be (2, 2, 2, 3) to match the cache's A for A_prev (2, 4, 4, 3), but dA is (2, 2, 3, 3)");
  EXPECT_THROW(cnnprim::pool_backward(Tensor<double>({2, 2, 2, 4}), cache, PoolMode::Average, be),
               cnnprim::shape_error);
  auto broken = cache;
  broken.hp.f = 9;
  EXPECT_EQ(oracle::error_message([&] { cnnprim::pool_backward(A, broken, PoolMode::Max, be); }),
            "pool_backward: f = 9 must not exceed n_H_prev, but A_prev (2, 4, 4, 3) has n_H_prev = 4");
}

INSTANTIATE_TEST_SUITE_P(Backends, Pool, ::testing::Values(Backend::Loop, Backend::Eigen), oracle::BackendName());
