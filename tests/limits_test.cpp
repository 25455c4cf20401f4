// Inputs at the edges, as a fuzzer would give them: empty tensors with huge extents, strides and pads near
// the integer limits, windows of millions of elements, NaN and infinities. Each test names its regime;
// under the sanitize preset they also check that nothing undefined happens.
#include <cmath>
#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

#include <cnnprim/cnnprim.hpp>

#include "support/oracle.hpp"

using cnnprim::Backend;
using cnnprim::ConvParams;
using cnnprim::Index;
using cnnprim::PoolMode;
using cnnprim::Tensor;

class Limits : public ::testing::TestWithParam<Backend> {};

constexpr Index big = Index{1} << 40;

// ---- NaN and infinities ----

// Padding adds nothing to dA_prev, even against a NaN or infinite weight: dA_prev receives only from
// dZ's own elements, as in the notebook's sum. The channel counts take the direct kernels.
template <class T>
void check_non_finite_weight(T value) {
  Tensor<T> A_prev({1, 3, 3, 16}), W({2, 2, 16, 16}), b({1, 1, 1, 16});
  A_prev.vector().setOnes();
  W.vector().setOnes();
  W(0, 0, 0, 0) = value;
  for (const ConvParams& hp : {ConvParams{1, 0}, ConvParams{1, 1}}) {
    const auto loop = cnnprim::conv_forward(A_prev, W, b, hp, Backend::Loop);
    const auto eigen = cnnprim::conv_forward(A_prev, W, b, hp, Backend::Eigen);
    EXPECT_TRUE(oracle::near(eigen.Z, loop.Z, 1e-5)) << "Z, pad " << hp.pad;
    Tensor<T> dZ(loop.Z.shape());
    dZ.vector().setOnes();
    const auto g_loop = cnnprim::conv_backward(dZ, loop.cache, Backend::Loop);
    const auto g_eigen = cnnprim::conv_backward(dZ, loop.cache, Backend::Eigen);
    const auto expected = oracle::conv_backward(dZ, A_prev, W, hp.stride, hp.pad);
    EXPECT_TRUE(oracle::near(g_loop.dA_prev, expected.dA_prev, 1e-5)) << "Loop dA_prev, pad " << hp.pad;
    EXPECT_TRUE(oracle::near(g_eigen.dA_prev, expected.dA_prev, 1e-5)) << "Eigen dA_prev, pad " << hp.pad;
    EXPECT_TRUE(oracle::near(g_eigen.dW, g_loop.dW, 1e-5)) << "dW, pad " << hp.pad;
  }
}

TEST(LimitsBackends, NonFiniteWeightBackwardDataAgrees) {
  for (double value : {std::nan(""), HUGE_VAL, -HUGE_VAL}) {
    SCOPED_TRACE(value);
    check_non_finite_weight<double>(value);
    check_non_finite_weight<float>(static_cast<float>(value));
  }
}

// ---- Empty tensors ----

TEST_P(Limits, EmptyBatchBackwardOnEveryPath) {
  for (Index n_C : {8, 16}) {
    const Tensor<float> A_prev({0, 4, 4, 16}), W({2, 2, 16, n_C}), b({1, 1, 1, n_C});
    const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, b, {2, 2}, GetParam());
    const auto g = cnnprim::conv_backward(Z, cache, GetParam());
    EXPECT_EQ(g.dA_prev.shape(), A_prev.shape());
    EXPECT_EQ(g.dW.vector().cwiseAbs().sum(), 0.0f);
  }
}

TEST_P(Limits, EmptyInputRowsWithPaddingGiveTheBias) {
  for (Index n_C : {5, 16}) {
    const Tensor<double> A_prev({2, 3, 0, 16}), W({2, 2, 16, n_C});
    auto b = oracle::uniform<double, 4>({1, 1, 1, n_C}, 1);
    const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, b, {1, 1}, GetParam());
    ASSERT_EQ(Z.shape(), (std::array<Index, 4>{2, 4, 1, n_C}));
    EXPECT_EQ(Z(1, 3, 0, n_C - 1), b(0, 0, 0, n_C - 1));
    const auto dZ = oracle::uniform<double, 4>(Z.shape(), 2);
    const auto g = cnnprim::conv_backward(dZ, cache, GetParam());
    EXPECT_EQ(g.dW.vector().cwiseAbs().sum(), 0.0);
    double db_0 = 0;
    for (Index k = 0; k < dZ.size(); k += n_C) db_0 += dZ.data()[k];
    EXPECT_NEAR(g.db(0, 0, 0, 0), db_0, 1e-12);
  }
}

// No rows but a width near the largest Index: padding gives one output pixel, the bias, and no row of the
// padded image (too wide to form) is made.
TEST_P(Limits, EmptyRowsOfAHugeWidthUnderPadding) {
  const Index max = std::numeric_limits<Index>::max();
  const Tensor<float> A_prev({1, 0, max - 3, 16});
  const auto W = oracle::uniform<float, 4>({2, 2, 16, 16}, 3);
  const auto b = oracle::uniform<float, 4>({1, 1, 1, 16}, 4);
  ConvParams hp;
  hp.strides = cnnprim::Axes{1, max};
  hp.padding = cnnprim::Padding{1, 1, 1, 1};
  const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, b, hp, GetParam());
  ASSERT_EQ(Z.shape(), (std::array<Index, 4>{1, 1, 1, 16}));
  EXPECT_TRUE(oracle::near(Z, b, 0.0));
  const auto g = cnnprim::conv_backward(Z, cache, GetParam());
  EXPECT_EQ(g.dA_prev.size(), 0);
  EXPECT_EQ(g.dW.vector().cwiseAbs().maxCoeff(), 0.0f);
  EXPECT_TRUE(oracle::near(g.db, b, 0.0));
}

TEST_P(Limits, NoFiltersBackward) {
  const auto A_prev = oracle::uniform<float, 4>({2, 5, 5, 16}, 3);
  const auto [Z, cache] = cnnprim::conv_forward(A_prev, Tensor<float>({3, 3, 16, 0}), Tensor<float>({1, 1, 1, 0}),
                                                {1, 1}, GetParam());
  const auto g = cnnprim::conv_backward(Z, cache, GetParam());
  EXPECT_EQ(g.dA_prev.vector().cwiseAbs().sum(), 0.0f);
}

// Loops never run over the non-empty extents of an empty tensor.
TEST_P(Limits, EmptyTensorsWithHugeExtentsReturnAtOnce) {
  const Tensor<float> A_prev({Index{1} << 20, Index{1} << 20, 1, 0});
  const auto forward = cnnprim::conv_forward(A_prev, Tensor<float>({1, 1, 0, 0}), Tensor<float>({1, 1, 1, 0}),
                                             {1, 0}, GetParam());
  EXPECT_EQ(forward.Z.size(), 0);
  const auto pooled = cnnprim::pool_forward(A_prev, {1, 1}, PoolMode::Max, GetParam());
  EXPECT_EQ(cnnprim::pool_backward(pooled.A, pooled.cache, GetParam()).size(), 0);
  EXPECT_EQ(cnnprim::zero_pad(A_prev, 3, GetParam()).dim(1), (Index{1} << 20) + 6);
  EXPECT_EQ(cnnprim::create_mask_from_window(Tensor<float, 2>({big, 0})).size(), 0);
}

// A window of an empty image may hold more elements than an Index counts: max pooling keeps no argmax for it,
// and the argmax form refuses it.
TEST_P(Limits, MaxPoolingWindowOfAnEmptyHugeImage) {
  const Index max = std::numeric_limits<Index>::max();
  const Tensor<float> A_prev({0, max - 3, 7, 1});
  cnnprim::PoolParams hp;
  hp.window = cnnprim::Axes{max - 3, 7};
  const auto pooled = cnnprim::pool_forward(A_prev, hp, PoolMode::Max, GetParam());
  EXPECT_EQ(pooled.A.shape(), (std::array<Index, 4>{0, 1, 1, 1}));
  EXPECT_TRUE(pooled.cache.argmax.empty());
  EXPECT_EQ(cnnprim::pool_backward(pooled.A, pooled.cache, GetParam()).size(), 0);
  Tensor<float> A(pooled.A.shape());
  Tensor<std::uint8_t> argmax(pooled.A.shape());
  EXPECT_EQ(oracle::error_message([&] { cnnprim::max_pool_forward(A_prev, hp, A, argmax, GetParam()); }),
            "max_pool_forward: argmax holds window positions below 256, but a window holds 9223372036854775807 "
            "elements of A_prev");
}

// No input channels and a huge width: A_prev is empty, Z is the bias, and no pixel index (which would
// overflow from the second image on) is formed.
TEST_P(Limits, NoInputChannelsAndAHugeWidth) {
  const Index width = std::numeric_limits<Index>::max() - 3;
  for (Index n_C : {2, 16}) {
    const Tensor<double> A_prev({2, 3, width, 0}), W({1, 1, 0, n_C});
    const auto b = oracle::uniform<double, 4>({1, 1, 1, n_C}, 12);
    const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, b, {width / 2, 0}, GetParam());
    ASSERT_EQ(Z.shape(), (std::array<Index, 4>{2, 1, 2, n_C}));
    for (Index w = 0; w < 2; ++w) EXPECT_EQ(Z(1, 0, w, n_C - 1), b(0, 0, 0, n_C - 1));
    const auto g = cnnprim::conv_backward(Z, cache, GetParam());
    EXPECT_EQ(g.dW.size(), 0);
    EXPECT_DOUBLE_EQ(g.db(0, 0, 0, 0), 4 * b(0, 0, 0, 0));
  }
}

TEST(Limits, NoInputChannelsUnderAHugeFilter) {
  // W holds nothing, so its extents may be as large as the input's; the Eigen path must not multiply them out
  // (the Loop path would walk the empty window's taps, which is its nature, not a bug).
  const Index height = std::numeric_limits<Index>::max() - 1;
  const Tensor<double> A_prev({1, height, 27, 0}), W({height, 27, 0, 2});
  const auto b = oracle::uniform<double, 4>({1, 1, 1, 2}, 13);
  ConvParams hp;
  hp.activation = cnnprim::Activation::relu();
  const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, b, hp, Backend::Eigen);
  ASSERT_EQ(Z.shape(), (std::array<Index, 4>{1, 1, 1, 2}));
  for (Index c = 0; c < 2; ++c) EXPECT_EQ(Z(0, 0, 0, c), std::max(0.0, b(0, 0, 0, c)));
  const auto g = cnnprim::conv_backward(Z, cache, Backend::Eigen);
  EXPECT_EQ(g.dW.size(), 0);
}

TEST_P(Limits, ImagesWithoutRowsUnderPaddingOnly) {
  // Every window lies in the padding: Z is the bias, and A_prev (which has no elements) is never read.
  const Tensor<double> A_prev({1, 0, 3, 4});
  const auto W = oracle::uniform<double, 4>({2, 3, 2, 6}, 14);
  const auto b = oracle::uniform<double, 4>({1, 1, 1, 6}, 15);
  ConvParams hp;
  hp.padding = cnnprim::Padding{1, 1, 1, 1};
  hp.dilation = {1, 2};
  hp.groups = 2;
  const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, b, hp, GetParam());
  ASSERT_EQ(Z.shape(), (std::array<Index, 4>{1, 1, 1, 6}));
  EXPECT_TRUE(oracle::near(Z, b, 0.0));
  const auto g = cnnprim::conv_backward(Z, cache, GetParam());
  EXPECT_EQ(g.dA_prev.size(), 0);
  EXPECT_EQ(g.dW.vector().cwiseAbs().maxCoeff(), 0.0);
  EXPECT_TRUE(oracle::near(g.db, b, 0.0));
}

TEST_P(Limits, DepthwiseWithAHugeStride) {
  // One output column: the column step stride_W * n_C is never formed.
  const auto A_prev = oracle::uniform<double, 4>({1, 5, 5, 32}, 16);
  const auto W = oracle::uniform<double, 4>({3, 3, 1, 32}, 17);
  ConvParams hp;
  hp.groups = 32;
  hp.strides = cnnprim::Axes{1, std::numeric_limits<Index>::max() - 3};
  const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, hp, GetParam());
  ASSERT_EQ(Z.shape(), (std::array<Index, 4>{1, 3, 1, 32}));
  hp.strides = cnnprim::Axes{1, 1};
  const auto dense = cnnprim::conv_forward(A_prev, W, hp, GetParam()).Z;
  for (Index h = 0; h < 3; ++h) EXPECT_DOUBLE_EQ(Z(0, h, 0, 31), dense(0, h, 0, 31));
  const auto g = cnnprim::conv_backward(Z, cache, GetParam());
  EXPECT_EQ(g.dA_prev.shape(), A_prev.shape());
}

// ---- Huge strides and pads ----

TEST_P(Limits, HugePoolStrideReturnsAtOnce) {
  const auto A_prev = oracle::uniform<float, 4>({1, 2, 2, 1}, 4);
  for (PoolMode mode : {PoolMode::Max, PoolMode::Average}) {
    const auto [A, cache] = cnnprim::pool_forward(A_prev, {2, big}, mode, GetParam());
    EXPECT_TRUE(oracle::near(A, oracle::pool_forward(A_prev, 2, big, mode), 1e-6));
    EXPECT_TRUE(oracle::near(cnnprim::pool_backward(A, cache, GetParam()),
                             oracle::pool_backward(A, A_prev, 2, big, mode), 1e-6));
  }
}

// Strides near the limits with one output column: nothing multiplies them out of range. The wider layer, padded,
// takes the direct kernel's data gradient by phases, whose first elements lie a stride minus the pad away.
TEST_P(Limits, StrideNearTheIntegerLimit) {
  struct Layer {
    Index n_H_prev, f, channels, pad;
  };
  for (const Layer& s : {Layer{3, 2, 16, 0}, Layer{5, 3, 64, 1}})
    for (Index stride : {Index{1} << 59, Index{1} << 62, std::numeric_limits<Index>::max()}) {
      SCOPED_TRACE(::testing::Message() << "stride " << stride << ", channels " << s.channels);
      const auto A_prev = oracle::uniform<float, 4>({2, s.n_H_prev, s.n_H_prev, s.channels}, 5);
      const auto W = oracle::uniform<float, 4>({s.f, s.f, s.channels, s.channels}, 6);
      const auto b = oracle::uniform<float, 4>({1, 1, 1, s.channels}, 7);
      const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, b, {stride, s.pad}, GetParam());
      ASSERT_EQ(Z.shape(), (std::array<Index, 4>{2, 1, 1, s.channels}));
      EXPECT_TRUE(oracle::near(Z, oracle::conv_forward(A_prev, W, b, stride, s.pad), 1e-5));
      const auto dZ = oracle::uniform<float, 4>(Z.shape(), 8);
      const auto g = cnnprim::conv_backward(dZ, cache, GetParam());
      const auto expected = oracle::conv_backward(dZ, A_prev, W, stride, s.pad);
      EXPECT_TRUE(oracle::near(g.dA_prev, expected.dA_prev, 1e-5));
      EXPECT_TRUE(oracle::near(g.dW, expected.dW, 1e-5));
    }
}

// Work and memory follow the output and the input a window touches, not the pad.
TEST_P(Limits, HugePadWithATinyOutput) {
  const auto A_prev = oracle::uniform<float, 4>({1, 1, 1, 4}, 9);
  const auto W = oracle::uniform<float, 4>({3, 3, 4, 16}, 10);
  const auto b = oracle::uniform<float, 4>({1, 1, 1, 16}, 11);
  const ConvParams hp{Index{1} << 40, Index{1} << 20};
  const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, b, hp, GetParam());
  ASSERT_EQ(Z.shape(), (std::array<Index, 4>{1, 1, 1, 16}));
  EXPECT_TRUE(oracle::near(Z, oracle::conv_forward(A_prev, W, b, hp.stride, hp.pad), 1e-6));  // all padding
  const auto g = cnnprim::conv_backward(Z, cache, GetParam());
  EXPECT_EQ(g.dA_prev.vector().cwiseAbs().sum(), 0.0f);
}

// A dilation as huge as the pad: each window's one tap inside the image is its centre, and the scratch memory
// of every path follows the image, not the dilated window (a direct kernel once asked for ~200 GB here). At
// 2^61 a window's top-left pixel lies so far outside that its offset from the image's start is not an Index
// (the depthwise kernel once formed it). Dense (groups 1) and depthwise (groups 16).
TEST_P(Limits, HugeDilationAndPad) {
  for (const Index huge : {Index{1} << 40, Index{1} << 61})
    for (const Index groups : {1, 16}) {
      SCOPED_TRACE(::testing::Message() << "huge " << huge << ", groups " << groups);
      const Index per_group = 16 / groups;
      const auto A_prev = oracle::uniform<float, 4>({1, 3, 3, 16}, 12);
      const auto W = oracle::uniform<float, 4>({3, 3, per_group, 16}, 13);
      ConvParams hp;
      hp.pad = huge;
      hp.dilation = {huge, huge};
      hp.groups = groups;
      const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, hp, GetParam());
      ASSERT_EQ(Z.shape(), (std::array<Index, 4>{1, 3, 3, 16}));
      Tensor<float> dZ(Z.shape());
      dZ.vector().setConstant(1.0f);
      const auto g = cnnprim::conv_backward(dZ, cache, GetParam());
      // Channel c of filter k's group: input channel (k / per_group) * per_group + c.
      const auto input_channel = [&](Index k, Index c) { return k / per_group * per_group + c; };
      for (Index h = 0; h < 3; ++h)
        for (Index w = 0; w < 3; ++w)
          for (Index k = 0; k < 16; ++k) {
            double z = 0;
            for (Index c = 0; c < per_group; ++c)
              z += double(A_prev(0, h, w, input_channel(k, c))) * double(W(1, 1, c, k));
            EXPECT_NEAR(Z(0, h, w, k), z, 1e-4);
          }
      for (Index h = 0; h < 3; ++h)
        for (Index w = 0; w < 3; ++w)
          for (Index c = 0; c < 16; ++c) {
            double da = 0;
            for (Index k = c / per_group * per_group; k < (c / per_group + 1) * per_group; ++k)
              da += double(W(1, 1, c % per_group, k));
            EXPECT_NEAR(g.dA_prev(0, h, w, c), da, 1e-4);
          }
      for (Index k = 0; k < 16; ++k)
        for (Index c = 0; c < per_group; ++c) {
          double dw = 0;
          for (Index h = 0; h < 3; ++h)
            for (Index w = 0; w < 3; ++w) dw += double(A_prev(0, h, w, input_channel(k, c)));
          EXPECT_NEAR(g.dW(1, 1, c, k), dw, 1e-4);
          EXPECT_EQ(g.dW(0, 0, c, k), 0.0f);
        }
    }
}

// Every kernel path (channel counts pick them: one output channel, a few channels, a register-tiled direct
// kernel, groups, depthwise) under pads, dilations and strides from 0 to the integer limits, on each side alone
// and on all together: the two backends agree, or both report the shape as impossible. Outputs larger than a few
// thousand pixels are skipped (they are valid, only large). Under the sanitize preset this is the regression
// test for every offset a kernel forms from a window that lies far outside the image.
TEST(LimitsSweep, ConvolutionPathsAgreeAtTheLimits) {
  const Index max = std::numeric_limits<Index>::max(), huge = Index{1} << 61;
  struct Channels {
    Index n_C_prev, n_C, groups;
  };
  const Channels channel_cases[] = {{1, 1, 1}, {2, 1, 1}, {3, 8, 1}, {16, 16, 1}, {16, 48, 1}, {8, 8, 2}, {16, 16, 16}};
  const cnnprim::Padding pad_cases[] = {{0, 0, 0, 0},       {1, 1, 1, 1},       {huge, 0, 0, 0},
                                        {0, 0, 0, huge},    {huge, huge, huge, huge}, {max - 9, 0, 0, 0},
                                        {0, 0, max - 9, 0}};
  // (n + pad_before + pad_after - extent) / stride + 1 pixels on an axis, or -1 if the library must refuse it.
  const auto axis = [](Index n, Index f, Index dilation, Index before, Index after, Index stride) -> Index {
    Index extent = 0, padded = 0;
    if (__builtin_mul_overflow(f - 1, dilation, &extent) || __builtin_add_overflow(extent, 1, &extent) ||
        __builtin_add_overflow(n, before, &padded) || __builtin_add_overflow(padded, after, &padded) ||
        extent > padded)
      return -1;
    return (padded - extent) / stride + 1;
  };
  int compared = 0, refused = 0;
  for (const Channels& ch : channel_cases)
    for (const Index f : {1, 2, 3, 5})
      for (const cnnprim::Padding& pad : pad_cases)
        for (const Index dilation : {Index{1}, Index{1} << 40, huge})
          for (const Index stride : {Index{1}, Index{2}, huge, max}) {
            SCOPED_TRACE(::testing::Message() << "channels " << ch.n_C_prev << "->" << ch.n_C << " groups "
                                              << ch.groups << ", f " << f << ", pads " << pad.top << " "
                                              << pad.bottom << " " << pad.left << " " << pad.right << ", dilation "
                                              << dilation << ", stride " << stride);
            const Index n_H = axis(4, f, dilation, pad.top, pad.bottom, stride);
            const Index n_W = axis(5, f, dilation, pad.left, pad.right, stride);
            if (n_H > 4096 || n_W > 4096 || (n_H > 0 && n_W > 0 && n_H * n_W > 4096)) continue;
            const auto A_prev = oracle::uniform<float, 4>({2, 4, 5, ch.n_C_prev}, 20);
            const auto W = oracle::uniform<float, 4>({f, f, ch.n_C_prev / ch.groups, ch.n_C}, 21);
            const auto b = oracle::uniform<float, 4>({1, 1, 1, ch.n_C}, 22);
            ConvParams hp;
            hp.strides = cnnprim::Axes{stride, stride};
            hp.padding = pad;
            hp.dilation = {dilation, dilation};
            hp.groups = ch.groups;
            if (n_H < 0 || n_W < 0) {
              EXPECT_THROW(cnnprim::conv_forward(A_prev, W, b, hp, Backend::Loop), cnnprim::shape_error);
              EXPECT_THROW(cnnprim::conv_forward(A_prev, W, b, hp, Backend::Eigen), cnnprim::shape_error);
              ++refused;
              continue;
            }
            const auto Z = oracle::expect_backends_agree(A_prev, W, b, hp, 1e-5, 23);
            EXPECT_EQ(Z.shape(), (std::array<Index, 4>{2, n_H, n_W, ch.n_C}));
            ++compared;
          }
  // Both regimes are reached, so the sweep cannot pass by skipping everything.
  EXPECT_GT(compared, 500);
  EXPECT_GT(refused, 100);
}

// The same for pooling: windows, strides and pads (each less than its window) up to the integer limits, with
// and without ceil_mode and count_include_pad, both modes.
TEST(LimitsSweep, PoolingPathsAgreeAtTheLimits) {
  const Index max = std::numeric_limits<Index>::max(), huge = Index{1} << 61;
  int compared = 0, refused = 0;
  for (const Index n_C : {1, 16})
    for (const Index f : {Index{1}, Index{2}, Index{3}, huge, max})
      for (const Index stride : {Index{1}, Index{2}, huge, max})
        for (const Index pad : {Index{0}, Index{1}, f - 1})
          for (const bool ceil_mode : {false, true})
            for (const bool count_include_pad : {false, true})
              for (const PoolMode mode : {PoolMode::Max, PoolMode::Average}) {
                if (pad >= f) continue;
                SCOPED_TRACE(::testing::Message() << "n_C " << n_C << ", f " << f << ", stride " << stride << ", pad "
                                                  << pad << ", ceil_mode " << ceil_mode << ", count_include_pad "
                                                  << count_include_pad << ", " << cnnprim::to_string(mode));
                // Pads on the top and the right only, so the two axes differ.
                Index padded_H = 0, padded_W = 0;
                const bool fits = !__builtin_add_overflow(Index{4}, pad, &padded_H) &&
                                  !__builtin_add_overflow(Index{5}, pad, &padded_W);
                const bool valid = fits && f <= padded_H && f <= padded_W;
                if (valid && ((padded_H - f) / stride + 2) * ((padded_W - f) / stride + 2) > 4096) continue;
                const auto A_prev = oracle::uniform<float, 4>({2, 4, 5, n_C}, 30);
                cnnprim::PoolParams hp{f, stride};
                hp.padding = cnnprim::Padding{pad, 0, 0, pad};
                hp.ceil_mode = ceil_mode;
                hp.count_include_pad = count_include_pad;
                if (!valid) {
                  EXPECT_THROW(cnnprim::pool_forward(A_prev, hp, mode, Backend::Loop), cnnprim::shape_error);
                  EXPECT_THROW(cnnprim::pool_forward(A_prev, hp, mode, Backend::Eigen), cnnprim::shape_error);
                  ++refused;
                  continue;
                }
                const auto loop = cnnprim::pool_forward(A_prev, hp, mode, Backend::Loop);
                const auto eigen = cnnprim::pool_forward(A_prev, hp, mode, Backend::Eigen);
                EXPECT_TRUE(oracle::near(eigen.A, loop.A, 1e-6));
                const auto dA = oracle::uniform<float, 4>(loop.A.shape(), 31);
                EXPECT_TRUE(oracle::near(cnnprim::pool_backward(dA, eigen.cache, Backend::Eigen),
                                         cnnprim::pool_backward(dA, loop.cache, Backend::Loop), 1e-6));
                if (mode == PoolMode::Max) {  // the argmax form, against the backward from A_prev
                  Tensor<float> expected(A_prev.shape()), A(loop.A.shape()), dA_prev(A_prev.shape());
                  cnnprim::pool_backward(dA, A_prev, hp, mode, expected, Backend::Loop);
                  Tensor<std::uint8_t> argmax(loop.A.shape());
                  for (const Backend backend : {Backend::Loop, Backend::Eigen}) {
                    cnnprim::max_pool_forward(A_prev, hp, A, argmax, backend);
                    EXPECT_TRUE(oracle::near(A, loop.A, 0.0));
                    cnnprim::max_pool_backward(dA, argmax, hp, dA_prev, backend);
                    EXPECT_TRUE(oracle::near(dA_prev, expected, 0.0));
                  }
                }
                ++compared;
              }
  EXPECT_GT(compared, 200);
  EXPECT_GT(refused, 50);
}

// ---- Errors at the limits ----

TEST(LimitsErrors, HugeShapesNameTheFunctionCalled) {
  EXPECT_EQ(oracle::error_message([] { cnnprim::zero_pad(Tensor<double>({1, 1, 1, 1}), big); }),
            "zero_pad: X_pad (1, 2199023255553, 2199023255553, 1) holds more elements than memory can address");
  EXPECT_EQ(oracle::error_message([] { cnnprim::distribute_value(1.0, {Index{1} << 32, Index{1} << 32}); }),
            "distribute_value: shape (4294967296, 4294967296) holds more elements than memory can address");
  EXPECT_EQ(oracle::error_message([] {
              cnnprim::conv_forward(Tensor<float>({1, 1, 1, 1}), Tensor<float>({1, 1, 1, 1}),
                                    Tensor<float>({1, 1, 1, 1}), {1, big});
            }),
            "conv_forward: Z's shape (1, 2199023255553, 2199023255553, 1) holds more elements than memory can "
            "address");
  EXPECT_THROW(cnnprim::zero_pad(Tensor<double>({1, 1, 1, 1}), std::numeric_limits<Index>::max() / 2),
               cnnprim::shape_error);
  EXPECT_EQ(oracle::error_message([] { cnnprim::zero_pad(Tensor<double>({1, 3, 1, 1}), Index{1} << 62); }),
            "zero_pad: pad = 4611686018427387904 is too large for X (1, 3, 1, 1): n_H + 2 * pad must not exceed "
            "9223372036854775807");
}

// 'same' pads for the extent: with a dilation near the limit, the last window's end in the padded input
// (2 + extent - 1 here) would pass the largest Index (found by the fuzz target: the Loop path's index overflowed).
TEST(LimitsErrors, SamePaddingPastTheLargestIndexIsAnError) {
  const Index max = std::numeric_limits<Index>::max();
  for (const Backend backend : {Backend::Loop, Backend::Eigen}) {
    ConvParams hp;
    hp.same = true;
    hp.dilation = {1, max - 1};  // a 2-tap filter row spans max columns
    EXPECT_EQ(oracle::error_message([&] {
                cnnprim::conv_forward(Tensor<double>({1, 3, 3, 1}), Tensor<double>({2, 2, 1, 1}),
                                      Tensor<double>({1, 1, 1, 1}), hp, backend);
              }),
              "conv_forward: f = 2 with dilation 9223372036854775806 and 'same' padding reaches past "
              "9223372036854775807 in the padded input");
    // One output column: its window ends just inside the largest Index, which is valid. Both of its columns'
    // taps fall in the padding, so Z is the bias.
    const auto [Z, cache] = cnnprim::conv_forward(Tensor<double>({1, 1, 1, 1}, {2}),
                                                  Tensor<double>({2, 2, 1, 1}, {1, 3, 5, 7}),
                                                  Tensor<double>({1, 1, 1, 1}, {0.5}), hp, backend);
    EXPECT_TRUE(oracle::near(Z, Tensor<double>({1, 1, 1, 1}, {0.5}), 0.0));
  }
}

TEST(LimitsErrors, OutputSizeAcceptsEveryRepresentableSize) {
  const Index max = std::numeric_limits<Index>::max();
  EXPECT_EQ(cnnprim::output_size(max, 1, 0, 1), max);
  EXPECT_EQ(cnnprim::output_size(max - 2, 1, 1, 1), max);
  EXPECT_EQ(cnnprim::output_size((Index{1} << 62) + 5, 3, 0, Index{1} << 62), 2);
  EXPECT_THROW(cnnprim::output_size(max - 1, 1, 1, 1), cnnprim::shape_error);
}

TEST(LimitsErrors, ZeroExtentIsValidWhereverItStands) {
  const Index huge = Index{1} << 31;
  EXPECT_EQ(cnnprim::zero_pad(Tensor<float>({huge, huge, 0, 0}), 1).size(), 0);
  EXPECT_EQ(cnnprim::zero_pad(Tensor<float>({0, huge, huge, 1}), 1).size(), 0);
  EXPECT_EQ(cnnprim::zero_pad(Tensor<float>({0, 0, 0, Index{1} << 61}), 2).size(), 0);
}

// ---- Windows of millions of elements ----

// Float represents window positions exactly only up to 2^24: a 4097 x 4097 window has more.
TEST_P(Limits, MaxPoolWindowBeyondFloatPrecision) {
  const Index n = 4097;
  Tensor<float> A_prev({1, n, n, 1});
  const Index k = (Index{1} << 24) + 1;  // rounds to 2^24 as a float
  A_prev.data()[k] = 1.0f;
  Tensor<float> A({1, 1, 1, 1}), dA_prev(A_prev.shape());
  cnnprim::pool_forward(A_prev, {n, 1}, PoolMode::Max, A, GetParam());
  EXPECT_EQ(A(0, 0, 0, 0), 1.0f);
  cnnprim::pool_backward(Tensor<float>({1, 1, 1, 1}, {2.0f}), A_prev, {n, 1}, PoolMode::Max, dA_prev, GetParam());
  EXPECT_EQ(dA_prev.data()[k], 2.0f);
  EXPECT_EQ(dA_prev.vector().sum(), 2.0f) << "the gradient goes to one element only";
}

INSTANTIATE_TEST_SUITE_P(Backends, Limits, ::testing::Values(Backend::Loop, Backend::Eigen), oracle::BackendName());
