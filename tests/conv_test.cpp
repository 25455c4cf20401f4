#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <cnnprim/cnnprim.hpp>

#include "support/oracle.hpp"

using cnnprim::Backend;
using cnnprim::ConvParams;
using cnnprim::Index;
using cnnprim::Tensor;

class Conv : public ::testing::TestWithParam<Backend> {};

// ---- The notebook's printed values ----

TEST_P(Conv, NotebookConvSingleStep) {
  cnnprim::numpy::RandomState rng(1);
  const auto a_slice_prev = rng.randn<double>(4, 4, 3);
  const auto W = rng.randn<double>(4, 4, 3);
  const auto b = rng.randn<double>(1, 1, 1);
  // numpy's pairwise summation order, reproduced: the printed value to the last digit.
  EXPECT_EQ(cnnprim::conv_single_step(a_slice_prev, W, b(0, 0, 0)), -6.999089450680221);
}

struct NotebookConv {
  Tensor<double> A_prev, W, b;
  NotebookConv() {
    cnnprim::numpy::RandomState rng(1);
    A_prev = rng.randn<double>(10, 4, 4, 3);
    W = rng.randn<double>(2, 2, 3, 8);
    b = rng.randn<double>(1, 1, 1, 8);
  }
};

TEST_P(Conv, NotebookConvForward) {
  const NotebookConv nb;
  const auto [Z, cache_conv] = cnnprim::conv_forward(nb.A_prev, nb.W, nb.b, {2, 2}, GetParam());
  EXPECT_EQ(Z.shape(), (std::array<Index, 4>{10, 4, 4, 8}));
  EXPECT_NEAR(Z.vector().mean(), 0.0489952035289, 1e-13);
  const double Z_321[8] = {-0.61490741, -6.7439236,  -2.55153897, 1.75698377,
                           3.56208902,  0.53036437, 5.18531798,  8.75898442};
  for (Index c = 0; c < 8; ++c) EXPECT_NEAR(Z(3, 2, 1, c), Z_321[c], 5e-9) << "Z[3,2,1," << c << "]";
  const double cached[3] = {-0.20075807, 0.18656139, 0.41005165};
  for (Index c = 0; c < 3; ++c) EXPECT_NEAR(cache_conv.A_prev(1, 2, 3, c), cached[c], 5e-9);
}

TEST_P(Conv, NotebookConvBackward) {
  const NotebookConv nb;
  const auto [Z, cache_conv] = cnnprim::conv_forward(nb.A_prev, nb.W, nb.b, {2, 2}, GetParam());
  const auto [dA, dW, db] = cnnprim::conv_backward(Z, cache_conv, GetParam());
  EXPECT_NEAR(dA.vector().mean(), 1.45243777754, 5e-12);
  EXPECT_NEAR(dW.vector().mean(), 1.72699145831, 5e-12);
  EXPECT_NEAR(db.vector().mean(), 7.83923256462, 5e-12);
  EXPECT_EQ(dA.shape(), nb.A_prev.shape());
  EXPECT_EQ(dW.shape(), nb.W.shape());
  EXPECT_EQ(db.shape(), nb.b.shape());
}

// ---- The forum problem ----

TEST_P(Conv, ForumFiveByFive) {
  const Tensor<double> arr({1, 5, 5, 1}, {0.15, 0.71, 0.26, -0.11, -2.03, 0.13, 0.44, -0.11, -0.23, 0.19, -1.44, 0.51,
                                          0.42, 2.58, -0.88, -1.18, 2.73, 2.35, 0.21, -0.29, -1.64, -0.37, 0.27, 0.57,
                                          1.82});
  const Tensor<double> filter({3, 3, 1, 1}, {0.08, 0.27, -0.24, -0.25, -0.11, -0.18, 0.44, 1.87, 1.18});
  const auto Z = cnnprim::conv_forward(arr, filter, Tensor<double>({1, 1, 1, 1}), {1, 0}, GetParam()).Z;
  const double expected[3][3] = {{0.9, 4.15, 4.47}, {7.74, 5.27, 0.74}, {-1.6, -0.43, 3.72}};
  for (Index h = 0; h < 3; ++h)
    for (Index w = 0; w < 3; ++w) EXPECT_NEAR(Z(0, h, w, 0), expected[h][w], 0.005) << h << ", " << w;
}

template <int Rank>
Tensor<double, Rank> read_array(const std::string& path, std::array<Index, Rank> shape) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::string line;
  std::getline(in, line);  // "# shape ..."
  std::vector<double> values;
  for (double v; in >> v;) values.push_back(v);
  return Tensor<double, Rank>(shape, values);
}

TEST_P(Conv, ForumThirtyThreeStrideTwo) {
  const auto arr = read_array<4>(CNNPRIM_EXAMPLE_DATA_DIR "/forum_arr_33x33x3.txt", {1, 33, 33, 3});
  const auto filter = read_array<4>(CNNPRIM_EXAMPLE_DATA_DIR "/forum_filter_5x5x3.txt", {5, 5, 3, 1});
  const auto Z = cnnprim::conv_forward(arr, filter, Tensor<double>({1, 1, 1, 1}), {2, 0}, GetParam()).Z;
  ASSERT_EQ(Z.shape(), (std::array<Index, 4>{1, 15, 15, 1}));
  const auto reference = oracle::read_reference(CNNPRIM_TEST_DATA_DIR "/forum_conv_15x15.txt");
  const auto expected = oracle::reshape<double, 4>(reference.at(0).values.at("result"), {1, 15, 15, 1});
  EXPECT_TRUE(oracle::near(Z, expected, 1e-13));
}

// ---- numpy reference values (scripts/make_reference.py) ----

TEST_P(Conv, MatchesNumpyForwardAndBackward) {
  const auto cases = oracle::read_reference(CNNPRIM_TEST_DATA_DIR "/conv_reference.txt");
  ASSERT_EQ(cases.size(), 6u);
  for (const auto& ref : cases) {
    const auto& p = ref.header;  // seed, m, n_H_prev, n_W_prev, n_C_prev, f, n_C, stride, pad
    SCOPED_TRACE("case seed " + std::to_string(p[0]));
    cnnprim::numpy::RandomState rng(static_cast<std::uint32_t>(p[0]));
    const auto A_prev = rng.randn<double>(p[1], p[2], p[3], p[4]);
    const auto W = rng.randn<double>(p[5], p[5], p[4], p[6]);
    const auto b = rng.randn<double>(1, 1, 1, p[6]);
    const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, b, {p[7], p[8]}, GetParam());
    EXPECT_TRUE(oracle::near(Z, oracle::reshape<double, 4>(ref.values.at("Z"), Z.shape()), 1e-12));
    const auto dZ = rng.randn<double>(Z.dim(0), Z.dim(1), Z.dim(2), Z.dim(3));
    const auto g = cnnprim::conv_backward(dZ, cache, GetParam());
    EXPECT_TRUE(oracle::near(g.dA_prev, oracle::reshape<double, 4>(ref.values.at("dA_prev"), A_prev.shape()), 1e-12));
    EXPECT_TRUE(oracle::near(g.dW, oracle::reshape<double, 4>(ref.values.at("dW"), W.shape()), 1e-12));
    EXPECT_TRUE(oracle::near(g.db, oracle::reshape<double, 4>(ref.values.at("db"), b.shape()), 1e-12));
  }
}

// ---- Independent reference over many shapes ----

struct Shape {
  Index m, n_H_prev, n_W_prev, n_C_prev, f, n_C, stride, pad;
  const char* regime;
};

const Shape shapes[] = {
    {2, 5, 7, 3, 3, 4, 1, 0, "PadZero"},
    {2, 5, 7, 3, 3, 4, 1, 1, "SamePadding"},
    {1, 6, 5, 2, 2, 3, 3, 0, "StrideLargerThanFilter"},
    {3, 4, 6, 2, 2, 5, 1, 3, "PadLargerThanFilter"},
    {2, 8, 7, 3, 3, 2, 2, 1, "WindowDoesNotDivide"},
    {1, 9, 4, 5, 1, 3, 1, 0, "Pointwise"},
    {2, 5, 6, 3, 1, 2, 2, 1, "PointwiseStridedPadded"},
    {1, 7, 5, 1, 3, 1, 2, 0, "SingleChannel"},
    {1, 3, 3, 2, 3, 4, 1, 0, "FilterCoversInput"},
    {4, 5, 3, 2, 2, 3, 2, 2, "BatchOfFour"},
    {2, 1, 1, 3, 3, 2, 5, 1, "OneByOneInputPaddedToFit"},
    {1, 12, 11, 7, 5, 6, 3, 2, "LargeFilterOddSizes"},
    {2, 4, 4, 3, 2, 8, 2, 2, "NotebookShape"},
    {1, 6, 6, 3, 3, 10, 1, 0, "LectureLayer"},
    {2, 10, 9, 4, 4, 3, 4, 1, "StrideEqualsFilter"},
    // Channel counts that fill SIMD packets take the direct kernels; these cover their edge tiles.
    {2, 9, 13, 16, 3, 80, 1, 1, "DirectKernelChannelAndPixelTails"},
    {1, 11, 14, 32, 3, 48, 2, 1, "DirectKernelStrided"},
    {2, 8, 7, 3, 5, 32, 2, 2, "DirectKernelFewInputChannels"},
    {1, 6, 9, 16, 3, 16, 1, 0, "DirectKernelPadZero"},
    {1, 7, 7, 16, 3, 32, 1, 2, "DirectKernelPadIsFilterMinusOne"},
    {1, 5, 6, 16, 2, 16, 1, 3, "DirectKernelPadLargerThanFilter"},
    {1, 10, 10, 32, 1, 16, 1, 0, "DirectKernelPointwise"},
    {1, 9, 10, 12, 3, 20, 1, 1, "DirectKernelNarrowPackets"},
    // Channel counts that fill half or quarter packets only (8 or 4 floats with AVX-512, 4 or 2 doubles).
    {2, 5, 7, 4, 3, 8, 1, 0, "DirectKernelForumThread"},
    {2, 7, 6, 8, 3, 8, 1, 1, "DirectKernelHalfPackets"},
    {1, 9, 8, 4, 3, 24, 2, 1, "DirectKernelQuarterPacketsStrided"},
    {2, 6, 5, 8, 2, 12, 1, 1, "DirectKernelQuarterPacketsEvenFilter"},
    // Filters too large for one pass over the output (192 input channels); a small image's output shared out
    // by blocks of output channels.
    {2, 5, 6, 192, 3, 80, 1, 1, "DirectKernelFilterInPassesSmallImage"},
    {1, 12, 11, 192, 3, 32, 1, 1, "DirectKernelFilterInPasses"},
};

template <class T>
void check_against_oracle(const Shape& s, Backend backend, unsigned seed) {
  SCOPED_TRACE(std::string(s.regime) + (std::is_same_v<T, float> ? " float" : " double"));
  const auto A_prev = oracle::uniform<T, 4>({s.m, s.n_H_prev, s.n_W_prev, s.n_C_prev}, seed);
  const auto W = oracle::uniform<T, 4>({s.f, s.f, s.n_C_prev, s.n_C}, seed + 1);
  const auto b = oracle::uniform<T, 4>({1, 1, 1, s.n_C}, seed + 2);
  const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, b, {s.stride, s.pad}, backend);
  EXPECT_TRUE(oracle::near(Z, oracle::conv_forward(A_prev, W, b, s.stride, s.pad), oracle::tolerance<T>()));
  const auto dZ = oracle::uniform<T, 4>(Z.shape(), seed + 3);
  const auto g = cnnprim::conv_backward(dZ, cache, backend);
  const auto expected = oracle::conv_backward(dZ, A_prev, W, s.stride, s.pad);
  EXPECT_TRUE(oracle::near(g.dA_prev, expected.dA_prev, oracle::tolerance<T>())) << "dA_prev";
  EXPECT_TRUE(oracle::near(g.dW, expected.dW, oracle::tolerance<T>())) << "dW";
  EXPECT_TRUE(oracle::near(g.db, expected.db, oracle::tolerance<T>())) << "db";
}

TEST_P(Conv, MatchesIndependentReferenceDouble) {
  unsigned seed = 100;
  for (const Shape& s : shapes) check_against_oracle<double>(s, GetParam(), seed += 10);
}

TEST_P(Conv, MatchesIndependentReferenceFloat) {
  unsigned seed = 200;
  for (const Shape& s : shapes) check_against_oracle<float>(s, GetParam(), seed += 10);
}

// Shapes drawn at random: every combination the parameter space allows, including stride > f and pad > f.
TEST_P(Conv, MatchesIndependentReferenceRandomShapes) {
  oracle::ShapeDraw next(12345);
  for (int trial = 0; trial < 120; ++trial) {
    Shape s{next(1, 3), next(1, 9), next(1, 9), next(1, 5), next(1, 4), next(1, 5), next(1, 4), next(0, 3), "Random"};
    if (s.f > s.n_H_prev + 2 * s.pad || s.f > s.n_W_prev + 2 * s.pad) continue;
    check_against_oracle<double>(s, GetParam(), 1000u + static_cast<unsigned>(trial));
  }
}

TEST(ConvBackends, LoopAndEigenAgree) {
  for (const Shape& s : shapes) {
    SCOPED_TRACE(s.regime);
    const auto A_prev = oracle::uniform<float, 4>({s.m, s.n_H_prev, s.n_W_prev, s.n_C_prev}, 7);
    const auto W = oracle::uniform<float, 4>({s.f, s.f, s.n_C_prev, s.n_C}, 8);
    const auto b = oracle::uniform<float, 4>({1, 1, 1, s.n_C}, 9);
    oracle::expect_backends_agree(A_prev, W, b, {s.stride, s.pad}, 1e-5, 10);
  }
}

// One output channel without padding takes the window-row kernels: every run length f_W * n_C_prev from 1 to 25
// (whole packets and a masked tail, or whole, half and quarter packets and single values), strides, a vertical
// dilation and several images, in float and double (whose masked lanes depend on the Eigen version).
TEST(ConvBackends, OneOutputChannelAgreesWithTheLoopPath) {
  int compared = 0;
  const auto compare = [&](auto zero) {
    using T = decltype(zero);
    for (Index n_C_prev = 1; n_C_prev <= 5; ++n_C_prev)
      for (Index f = 1; f <= 5; ++f)
        for (Index stride = 1; stride <= 3; ++stride)
          for (Index dilation_H : {1, 2}) {
            const Index m = 1 + (f + stride) % 3, n_H_prev = 13, n_W_prev = 11;
            SCOPED_TRACE(testing::Message() << "n_C_prev " << n_C_prev << ", f " << f << ", stride " << stride
                                            << ", dilation_H " << dilation_H << ", " << sizeof(T) << "-byte values");
            const auto A_prev = oracle::uniform<T, 4>({m, n_H_prev, n_W_prev, n_C_prev}, 31);
            const auto W = oracle::uniform<T, 4>({f, f, n_C_prev, 1}, 32);
            const auto b = oracle::uniform<T, 4>({1, 1, 1, 1}, 33);
            cnnprim::ConvParams hp{stride, 0};
            hp.dilation = {dilation_H, 1};
            oracle::expect_backends_agree(A_prev, W, b, hp, sizeof(T) == 4 ? 1e-5 : 1e-12, 34);
            ++compared;
          }
  };
  compare(0.0f);
  compare(0.0);
  EXPECT_EQ(compared, 300);
}

// NaN and infinities in A_prev, W and dZ reach the same outputs on both paths (no padding: nothing multiplies
// them by a padding zero on one path only).
TEST(ConvBackends, OneOutputChannelKeepsNanAndInfinityAsTheLoopPath) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  auto A_prev = oracle::uniform<float, 4>({2, 9, 10, 3}, 41);
  auto W = oracle::uniform<float, 4>({3, 3, 3, 1}, 42);
  const auto b = oracle::uniform<float, 4>({1, 1, 1, 1}, 43);
  A_prev(0, 2, 3, 1) = nan;
  A_prev(1, 7, 8, 2) = inf;
  A_prev(1, 0, 0, 0) = -inf;
  W(2, 1, 0, 0) = inf;
  const auto Z = oracle::expect_backends_agree(A_prev, W, b, {2, 0}, 1e-5, 44);
  EXPECT_TRUE(std::isnan(Z(0, 1, 1, 0)));  // the window at (2, 2) holds the NaN
}

// Small layers' data gradient keeps each row of dA_prev in registers (with masked loads, floats on AVX and
// AVX-512): rows of 1 to 129 floats (9 packets of 16, one more than fit), windows wholly in the padding, strides
// past the filter, a vertical dilation, one output channel (no padding) and several.
TEST(ConvBackends, SmallLayerDataGradientAgreesWithTheLoopPath) {
  int compared = 0;
  for (Index n_W_prev : {1, 5, 16, 43})
    for (Index n_C_prev : {1, 3})
      for (Index n_C : {1, 5})
        for (Index f = 2; f <= 3; ++f)
          for (Index stride = 1; stride <= 3; ++stride)
            for (Index pad : {0, 1, 3})
              for (Index dilation_H : {1, 2}) {
                const Index n_H_prev = 6;
                if ((f - 1) * dilation_H + 1 > n_H_prev + 2 * pad || f > n_W_prev + 2 * pad) continue;
                SCOPED_TRACE(testing::Message() << "n_W_prev " << n_W_prev << ", n_C_prev " << n_C_prev << ", n_C "
                                                << n_C << ", f " << f << ", stride " << stride << ", pad " << pad
                                                << ", dilation_H " << dilation_H);
                const auto A_prev = oracle::uniform<float, 4>({2, n_H_prev, n_W_prev, n_C_prev}, 51);
                const auto W = oracle::uniform<float, 4>({f, f, n_C_prev, n_C}, 52);
                const auto b = oracle::uniform<float, 4>({1, 1, 1, n_C}, 53);
                ConvParams hp{stride, pad};
                hp.dilation = {dilation_H, 1};
                // (db sums up to 4,128 floats of either sign, in a different order on each path.)
                oracle::expect_backends_agree(A_prev, W, b, hp, 1e-4, 54);
                ++compared;
              }
  EXPECT_EQ(compared, 528);
}

// A small layer's forward is one product without Eigen's GEMM: every n_C from 1 to 33 (whole packets and a masked
// tail, or packets of each size and single values), windows inside the image and partly in the padding, two
// strides; with bias and a ReLU on odd n_C, and without bias.
TEST(ConvBackends, SmallLayerForwardAgreesWithTheLoopPath) {
  int compared = 0;
  for (Index n_C = 1; n_C <= 33; ++n_C)
    for (Index pad : {0, 3})
      for (Index stride : {1, 2}) {
        SCOPED_TRACE(testing::Message() << "n_C " << n_C << ", pad " << pad << ", stride " << stride);
        const auto A_prev = oracle::uniform<float, 4>({1, 4, 5, 3}, 71);
        const auto W = oracle::uniform<float, 4>({3, 3, 3, n_C}, 72);
        const auto b = oracle::uniform<float, 4>({1, 1, 1, n_C}, 73);
        ConvParams hp{stride, pad};
        if (n_C % 2 == 1) hp.activation = cnnprim::Activation::relu();
        oracle::expect_backends_agree(A_prev, W, b, hp, 1e-5, 74);
        const auto Z_loop = cnnprim::conv_forward(A_prev, W, hp, Backend::Loop).Z;
        EXPECT_TRUE(oracle::near(cnnprim::conv_forward(A_prev, W, hp, Backend::Eigen).Z, Z_loop, 1e-5));
        ++compared;
      }
  EXPECT_EQ(compared, 132);
}

// NaN and infinities in dZ reach only the elements of dA_prev under their windows, as on the loop path, in small
// layers with one output channel and with several.
TEST(ConvBackends, SmallLayerDataGradientKeepsNanAndInfinityInDz) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (Index n_C : {1, 4})
    for (Index pad : {0, 1}) {
      SCOPED_TRACE(testing::Message() << "n_C " << n_C << ", pad " << pad);
      const auto W = oracle::uniform<float, 4>({3, 3, 3, n_C}, 61);
      const ConvParams hp{2, pad};
      const Index n_H = (9 + 2 * pad - 3) / 2 + 1, n_W = (11 + 2 * pad - 3) / 2 + 1;
      auto dZ = oracle::uniform<float, 4>({1, n_H, n_W, n_C}, 62);
      dZ(0, 1, 2, 0) = inf;
      dZ(0, 3, 0, n_C - 1) = nan;
      Tensor<float> dA_loop({1, 9, 11, 3}), dA_eigen({1, 9, 11, 3});
      cnnprim::conv_backward_data(dZ, W, hp, dA_loop, Backend::Loop);
      cnnprim::conv_backward_data(dZ, W, hp, dA_eigen, Backend::Eigen);
      EXPECT_TRUE(oracle::near(dA_eigen, dA_loop, 1e-5));
      Index not_finite = 0;
      for (Index k = 0; k < dA_loop.size(); ++k) not_finite += !std::isfinite(dA_loop.data()[k]);
      EXPECT_GT(not_finite, 0);
      EXPECT_LE(not_finite, 2 * 3 * 3 * 3) << "only the two windows' elements";
    }
}

// Channels that fill no whole number of packets: where lanes can be masked the direct kernels take whole packets
// and a partial last one (elsewhere halves, quarters or the patch matrix). Output channels 3 to 100 with bias and
// without, a clamp, strides, dilation, padding on one side, and the data gradient into 17 to 100 channels; 100
// input channels over a 7x7 output take blocks of channels in two passes over the input channels.
TEST(ConvBackends, ChannelsInPartialPacketsAgreeWithTheLoopPath) {
  int compared = 0;
  for (Index n_C_prev : {17, 24, 100})
    for (Index n_C : {3, 10, 17, 24, 33, 100}) {
      const Index n_H_prev = n_C_prev == 100 ? 7 : 11, n_W_prev = n_C_prev == 100 ? 7 : 10;
      const auto A_prev = oracle::uniform<float, 4>({2, n_H_prev, n_W_prev, n_C_prev}, 81);
      const auto W = oracle::uniform<float, 4>({3, 3, n_C_prev, n_C}, 82);
      const auto b = oracle::uniform<float, 4>({1, 1, 1, n_C}, 83);
      for (int variant = 0; variant < 3; ++variant) {
        SCOPED_TRACE(testing::Message() << "n_C_prev " << n_C_prev << ", n_C " << n_C << ", variant " << variant);
        ConvParams hp{1, 1};
        if (variant == 1) {
          hp.strides = cnnprim::Axes{2, 1};
          hp.padding = cnnprim::Padding{0, 2, 1, 0};
          hp.activation = cnnprim::Activation::clamp(-4, 4);  // (wide: rounding is measured against max |Z|)
        }
        if (variant == 2) hp.dilation = {2, 1};
        oracle::expect_backends_agree(A_prev, W, b, hp, 1e-5, 84);
        const auto Z_loop = cnnprim::conv_forward(A_prev, W, hp, Backend::Loop).Z;
        EXPECT_TRUE(oracle::near(cnnprim::conv_forward(A_prev, W, hp, Backend::Eigen).Z, Z_loop, 1e-5)) << "no bias";
        ++compared;
      }
    }
  EXPECT_EQ(compared, 54);
}

// Strided data gradients on the direct kernel, a phase of dA_prev's rows and columns at a time: strides 2 to 4 on
// one axis or both, filters of 1 to 5 (smaller than the stride: phases of zeros), padding on one side or the other,
// odd and even sizes; a pad one short of the filter (3 at stride 2, pad 2), whose second phase would need negative
// padding, takes the patch matrix. Whole packets in double, a partial last packet in float; a batch in groups.
TEST(ConvBackends, StridedDataGradientsByPhasesAgreeWithTheLoopPath) {
  struct Case {
    Index f, stride_H, stride_W, top, bottom, left, right, n_H_prev, n_W_prev;
  };
  const Case cases[] = {{3, 2, 2, 1, 1, 1, 1, 14, 14}, {3, 2, 2, 1, 1, 1, 1, 13, 15}, {3, 2, 2, 0, 0, 0, 0, 15, 12},
                        {1, 2, 2, 0, 0, 0, 0, 14, 13}, {2, 2, 2, 0, 1, 1, 0, 12, 11}, {5, 3, 3, 2, 2, 2, 2, 17, 16},
                        {3, 3, 1, 0, 2, 1, 1, 16, 9},  {3, 1, 2, 2, 0, 0, 1, 9, 15},  {3, 4, 4, 1, 0, 0, 1, 18, 17},
                        {3, 2, 2, 2, 2, 2, 2, 12, 12}, {4, 2, 3, 3, 0, 1, 2, 13, 14}};
  int compared = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "f " << c.f << ", strides " << c.stride_H << " x " << c.stride_W
                                    << ", input " << c.n_H_prev << " x " << c.n_W_prev);
    ConvParams hp;
    hp.strides = cnnprim::Axes{c.stride_H, c.stride_W};
    hp.padding = cnnprim::Padding{c.top, c.bottom, c.left, c.right};
    const auto A_prev = oracle::uniform<double, 4>({2, c.n_H_prev, c.n_W_prev, 32}, 91);
    const auto W = oracle::uniform<double, 4>({c.f, c.f, 32, 40}, 92);
    const auto b = oracle::uniform<double, 4>({1, 1, 1, 40}, 93);
    oracle::expect_backends_agree(A_prev, W, b, hp, 1e-12, 94);
    const auto A_wide = oracle::uniform<float, 4>({2, c.n_H_prev, c.n_W_prev, 40}, 95);
    const auto W_wide = oracle::uniform<float, 4>({c.f, c.f, 40, 24}, 96);
    const auto b_wide = oracle::uniform<float, 4>({1, 1, 1, 24}, 97);
    oracle::expect_backends_agree(A_wide, W_wide, b_wide, hp, 1e-5, 98);
    ++compared;
  }
  EXPECT_EQ(compared, 11);
  // A batch whose phases exceed the 4 MiB of scratch memory they may take: images three at a time, then two.
  const auto A_prev = oracle::uniform<double, 4>({5, 46, 46, 256}, 99);
  const auto W = oracle::uniform<double, 4>({3, 3, 256, 16}, 100);
  const auto b = oracle::uniform<double, 4>({1, 1, 1, 16}, 101);
  oracle::expect_backends_agree(A_prev, W, b, {2, 1}, 1e-12, 102);
}

// Large enough that the Eigen path works in several chunks of output pixels.
TEST(ConvBackends, ChunkedLargeInputMatchesLoop) {
  const auto A_prev = oracle::uniform<double, 4>({3, 40, 37, 16}, 21);
  const auto W = oracle::uniform<double, 4>({3, 3, 16, 24}, 22);
  const auto b = oracle::uniform<double, 4>({1, 1, 1, 24}, 23);
  oracle::expect_backends_agree(A_prev, W, b, {1, 1}, 1e-12, 24);
}

// ---- Finite differences ----

// Loss L = sum(Z * G) for a fixed G, so dZ = G; each gradient entry is checked by central differences.
TEST_P(Conv, FiniteDifferenceGradients) {
  const Shape cases[] = {{2, 5, 4, 2, 3, 3, 1, 0, "PadZero"},
                         {1, 6, 7, 2, 2, 2, 2, 1, "Strided"},
                         {2, 7, 5, 1, 3, 2, 3, 2, "NonDividing"}};
  for (const Shape& s : cases) {
    SCOPED_TRACE(s.regime);
    auto A_prev = oracle::uniform<double, 4>({s.m, s.n_H_prev, s.n_W_prev, s.n_C_prev}, 31);
    auto W = oracle::uniform<double, 4>({s.f, s.f, s.n_C_prev, s.n_C}, 32);
    auto b = oracle::uniform<double, 4>({1, 1, 1, s.n_C}, 33);
    const ConvParams hp{s.stride, s.pad};
    const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, b, hp, GetParam());
    const auto G = oracle::uniform<double, 4>(Z.shape(), 34);
    const auto g = cnnprim::conv_backward(G, cache, GetParam());
    const auto loss = [&] {
      return cnnprim::conv_forward(A_prev, W, b, hp, GetParam()).Z.vector().dot(G.vector());
    };
    const double eps = 1e-6;
    const auto check = [&](Tensor<double>& x, const Tensor<double>& grad, const char* name) {
      for (Index k = 0; k < x.size(); ++k) {
        const double saved = x.data()[k];
        x.data()[k] = saved + eps;
        const double up = loss();
        x.data()[k] = saved - eps;
        const double down = loss();
        x.data()[k] = saved;
        ASSERT_NEAR(grad.data()[k], (up - down) / (2 * eps), 1e-7)
            << name << " at " << oracle::coordinates<4>(x.shape(), k);
      }
    };
    check(A_prev, g.dA_prev, "dA_prev");
    check(W, g.dW, "dW");
    check(b, g.db, "db");
  }
}

// ---- Cache semantics ----

TEST_P(Conv, CacheSurvivesChangesToTheCallersTensors) {
  auto A_prev = oracle::uniform<double, 4>({2, 5, 4, 3}, 41);
  auto W = oracle::uniform<double, 4>({3, 3, 3, 2}, 42);
  auto b = oracle::uniform<double, 4>({1, 1, 1, 2}, 43);
  const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, b, {1, 1}, GetParam());
  const auto before = cnnprim::conv_backward(Z, cache, GetParam());

  A_prev(0, 0, 0, 0) = 100.0;
  W.data()[0] = -50.0;
  A_prev.vector().setConstant(3.0);
  b = Tensor<double>({1, 1, 1, 7});
  W = Tensor<double>();
  const auto after = cnnprim::conv_backward(Z, cache, GetParam());
  EXPECT_TRUE(oracle::near(after.dA_prev, before.dA_prev, 0.0));
  EXPECT_TRUE(oracle::near(after.dW, before.dW, 0.0));
}

// Views, maps and pointers taken before forward write into the caller's tensors, never into the cache.
TEST_P(Conv, CacheIgnoresViewsTakenBeforeForward) {
  auto A_prev = oracle::uniform<double, 4>({2, 5, 4, 3}, 47);
  auto W = oracle::uniform<double, 4>({3, 3, 3, 2}, 48);
  const auto b = oracle::uniform<double, 4>({1, 1, 1, 2}, 49);
  auto A_map = A_prev.vector();
  const cnnprim::TensorView<double> W_view = W;
  double* const W_data = W.data();
  const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, b, {1, 1}, GetParam());
  const auto expected = oracle::conv_backward(Z, A_prev, W, 1, 1);
  A_map.setZero();
  W_view.vector().setConstant(2.0);
  W_data[0] = -1.0;
  const auto g = cnnprim::conv_backward(Z, cache, GetParam());
  EXPECT_GT(g.dW.vector().cwiseAbs().maxCoeff(), 0.0);
  EXPECT_TRUE(oracle::near(g.dW, expected.dW, 1e-12));
  EXPECT_TRUE(oracle::near(g.dA_prev, expected.dA_prev, 1e-12));
}

// An rvalue A_prev is moved into the cache: no copy is made.
TEST_P(Conv, RvalueInputIsMovedIntoTheCache) {
  auto A_prev = oracle::uniform<float, 4>({2, 5, 4, 3}, 50);
  const float* storage = A_prev.data();
  const auto W = oracle::uniform<float, 4>({3, 3, 3, 2}, 51);
  const auto forward = cnnprim::conv_forward(std::move(A_prev), W, Tensor<float>({1, 1, 1, 2}), {1, 1}, GetParam());
  EXPECT_EQ(forward.cache.A_prev.data(), storage);
  EXPECT_TRUE(A_prev.empty());  // NOLINT(bugprone-use-after-move)
}

TEST_P(Conv, CacheOutlivesTheCallersTensors) {
  cnnprim::ConvCache<float> cache;
  Tensor<float> Z;
  {
    const auto A_prev = oracle::uniform<float, 4>({1, 4, 4, 2}, 44);
    const auto W = oracle::uniform<float, 4>({2, 2, 2, 3}, 45);
    const auto b = oracle::uniform<float, 4>({1, 1, 1, 3}, 46);
    auto forward = cnnprim::conv_forward(A_prev, W, b, {1, 0}, GetParam());
    Z = forward.Z;
    cache = forward.cache;
  }
  const auto g = cnnprim::conv_backward(Z, cache, GetParam());
  EXPECT_EQ(g.dA_prev.shape(), (std::array<Index, 4>{1, 4, 4, 2}));
  EXPECT_TRUE(oracle::near(g.dA_prev, oracle::conv_backward(Z, cache.A_prev, cache.W, 1, 0).dA_prev, 1e-5));
}

// ---- Empty and degenerate shapes ----

TEST_P(Conv, EmptyBatch) {
  const Tensor<double> A_prev({0, 5, 5, 3});
  const auto W = oracle::uniform<double, 4>({3, 3, 3, 2}, 51);
  const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, Tensor<double>({1, 1, 1, 2}), {1, 1}, GetParam());
  EXPECT_EQ(Z.shape(), (std::array<Index, 4>{0, 5, 5, 2}));
  const auto g = cnnprim::conv_backward(Z, cache, GetParam());
  EXPECT_EQ(g.dA_prev.shape(), A_prev.shape());
  EXPECT_EQ(g.dW.vector().cwiseAbs().sum(), 0.0);
}

TEST_P(Conv, NoInputChannelsGivesTheBias) {
  const Tensor<double> A_prev({1, 3, 3, 0});
  const Tensor<double> W({2, 2, 0, 2});
  const Tensor<double> b({1, 1, 1, 2}, {1.5, -2.0});
  const auto Z = cnnprim::conv_forward(A_prev, W, b, {1, 0}, GetParam()).Z;
  EXPECT_EQ(Z(0, 1, 1, 0), 1.5);
  EXPECT_EQ(Z(0, 0, 1, 1), -2.0);
}

TEST_P(Conv, NoFiltersGivesAnEmptyChannelAxis) {
  const auto A_prev = oracle::uniform<float, 4>({2, 4, 5, 3}, 52);
  const auto [Z, cache] =
      cnnprim::conv_forward(A_prev, Tensor<float>({3, 3, 3, 0}), Tensor<float>({1, 1, 1, 0}), {1, 1}, GetParam());
  EXPECT_EQ(Z.shape(), (std::array<Index, 4>{2, 4, 5, 0}));
  const auto g = cnnprim::conv_backward(Z, cache, GetParam());
  EXPECT_EQ(g.dA_prev.vector().cwiseAbs().sum(), 0.0f);
  EXPECT_EQ(g.dW.shape(), (std::array<Index, 4>{3, 3, 3, 0}));
}

// ---- Invalid input ----

TEST_P(Conv, InvalidInputThrowsNamingTheFunctionAndShapes) {
  const Backend be = GetParam();
  const Tensor<double> A_prev({2, 5, 7, 3}), W({3, 3, 4, 8}), W_ok({3, 3, 3, 8}), b({1, 1, 1, 8});
  EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_forward(A_prev, W, b, {1, 0}, be); }),
            "conv_forward: W expects 4 input channels but A_prev (2, 5, 7, 3) has 3");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_forward(A_prev, Tensor<double>({3, 9, 3, 8}), b, {1, 0}, be); }),
            "conv_forward: f_W = 9 must not exceed n_W_prev, but A_prev (2, 5, 7, 3) has n_W_prev = 7");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_forward(A_prev, Tensor<double>({0, 0, 3, 8}), b, {1, 0}, be); }),
            "conv_forward: W must be (f_H, f_W, n_C_prev / groups, n_C) with f_H, f_W >= 1, but W is (0, 0, 3, 8)");
  EXPECT_EQ(oracle::error_message([&] {
              cnnprim::conv_forward(A_prev, W_ok, Tensor<double>({1, 1, 1, 7}), {1, 0}, be);
            }),
            "conv_forward: b must be (1, 1, 1, 8) to match W (3, 3, 3, 8), but b is (1, 1, 1, 7)");
  EXPECT_EQ(oracle::error_message([&] {
              cnnprim::conv_forward(A_prev, W_ok, Tensor<double>({8, 1, 1, 1}), {1, 0}, be);
            }),
            "conv_forward: b must be (1, 1, 1, 8) to match W (3, 3, 3, 8), but b is (8, 1, 1, 1)");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_forward(A_prev, W_ok, b, {0, 0}, be); }),
            "conv_forward: stride must be at least 1, but got stride = 0");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_forward(A_prev, W_ok, b, {-2, 0}, be); }),
            "conv_forward: stride must be at least 1, but got stride = -2");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_forward(A_prev, W_ok, b, {1, -1}, be); }),
            "conv_forward: pad must be non-negative, but got pad = -1");
  EXPECT_EQ(oracle::error_message([&] {
              cnnprim::conv_forward(Tensor<double>({2, 2, 7, 3}), W_ok, b, {1, 0}, be);
            }),
            "conv_forward: f = 3 must not exceed n_H_prev, but A_prev (2, 2, 7, 3) has n_H_prev = 2");
  EXPECT_EQ(oracle::error_message([&] {
              cnnprim::conv_forward(Tensor<double>({2, 5, 1, 3}), Tensor<double>({4, 4, 3, 8}), b, {1, 1}, be);
            }),
            "conv_forward: f = 4 must not exceed n_W_prev + 2 * pad, but A_prev (2, 5, 1, 3) has n_W_prev = 1 and "
            "pad = 1");
}

TEST_P(Conv, BackwardRejectsMismatchedGradient) {
  const auto A_prev = oracle::uniform<double, 4>({2, 5, 7, 3}, 61);
  const auto W = oracle::uniform<double, 4>({3, 3, 3, 4}, 62);
  // Named members rather than a structured binding: lambdas below capture them (clang 14 cannot capture bindings).
  const auto forward = cnnprim::conv_forward(A_prev, W, Tensor<double>({1, 1, 1, 4}), {1, 0}, GetParam());
  const auto& Z = forward.Z;
  const auto& cache = forward.cache;
  EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_backward(Tensor<double>({2, 3, 5, 3}), cache, GetParam()); }),
            "conv_backward: dZ must be (2, 3, 5, 4) to match the cache's Z for A_prev (2, 5, 7, 3) and W (3, 3, 3, 4), "
            "but dZ is (2, 3, 5, 3)");
  EXPECT_THROW(cnnprim::conv_backward(Tensor<double>({1, 3, 5, 4}), cache, GetParam()), cnnprim::shape_error);
  auto broken = cache;
  broken.hp.stride = 0;
  EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_backward(Z, broken, GetParam()); }),
            "conv_backward: stride must be at least 1, but got stride = 0");
  broken = cache;
  broken.W = Tensor<double>({3, 3, 2, 4});
  EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_backward(Z, broken, GetParam()); }),
            "conv_backward: W expects 2 input channels but A_prev (2, 5, 7, 3) has 3");
}

// ---- The second form: caller-owned outputs ----

// Each second-form function writes what the first form returns, into views of the caller's memory.
template <class T>
void check_second_form(const Shape& s, Backend backend, unsigned seed) {
  SCOPED_TRACE(std::string(s.regime) + (std::is_same_v<T, float> ? " float" : " double"));
  const auto A_prev = oracle::uniform<T, 4>({s.m, s.n_H_prev, s.n_W_prev, s.n_C_prev}, seed);
  const auto W = oracle::uniform<T, 4>({s.f, s.f, s.n_C_prev, s.n_C}, seed + 1);
  const auto b = oracle::uniform<T, 4>({1, 1, 1, s.n_C}, seed + 2);
  const ConvParams hp{s.stride, s.pad};
  const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, b, hp, backend);
  const auto dZ = oracle::uniform<T, 4>(Z.shape(), seed + 3);
  const auto g = cnnprim::conv_backward(dZ, cache, backend);

  std::vector<T> z_memory(static_cast<std::size_t>(Z.size()), T(-7));
  cnnprim::TensorView<T> Z_view(z_memory.data(), Z.shape());
  cnnprim::conv_forward(A_prev, W, b, hp, Z_view, backend);
  EXPECT_TRUE(oracle::near(Tensor<T>(Z_view), Z, 0.0));

  // Outputs start from garbage: the second form overwrites every element.
  auto dA_prev = oracle::uniform<T, 4>(A_prev.shape(), seed + 4);
  auto dW = oracle::uniform<T, 4>(W.shape(), seed + 5);
  auto db = oracle::uniform<T, 4>(b.shape(), seed + 6);
  cnnprim::conv_backward_data(dZ, W, hp, dA_prev, backend);
  cnnprim::conv_backward_weights(cnnprim::TensorView<const T>(dZ), A_prev, hp, dW, db, backend);
  EXPECT_TRUE(oracle::near(dA_prev, g.dA_prev, 0.0)) << "dA_prev";
  EXPECT_TRUE(oracle::near(dW, g.dW, 0.0)) << "dW";
  EXPECT_TRUE(oracle::near(db, g.db, 0.0)) << "db";
}

TEST_P(Conv, SecondFormMatchesFirstForm) {
  unsigned seed = 300;
  for (const Shape& s : shapes) {
    check_second_form<float>(s, GetParam(), seed += 10);
    check_second_form<double>(s, GetParam(), seed += 10);
  }
}

TEST_P(Conv, SecondFormEmptyBatch) {
  const Tensor<float> A_prev({0, 5, 5, 16}), W({3, 3, 16, 16}), b({1, 1, 1, 16});
  Tensor<float> Z({0, 5, 5, 16}), dA_prev({0, 5, 5, 16});
  Tensor<float> dW = oracle::uniform<float, 4>(W.shape(), 1), db = oracle::uniform<float, 4>(b.shape(), 2);
  cnnprim::conv_forward(A_prev, W, b, {1, 1}, Z, GetParam());
  cnnprim::conv_backward_data(Z, W, {1, 1}, dA_prev, GetParam());
  cnnprim::conv_backward_weights(Z, A_prev, {1, 1}, dW, db, GetParam());
  EXPECT_EQ(dW.vector().cwiseAbs().sum(), 0.0f);
  EXPECT_EQ(db.vector().cwiseAbs().sum(), 0.0f);
}

TEST_P(Conv, SecondFormRejectsWrongOutputShapes) {
  const Backend be = GetParam();
  const Tensor<double> A_prev({2, 5, 7, 3}), W({3, 3, 3, 4}), b({1, 1, 1, 4});
  Tensor<double> Z({2, 3, 5, 4}), dA_prev({2, 5, 7, 3}), dW({3, 3, 3, 4}), db({1, 1, 1, 4});
  Tensor<double> wrong({2, 3, 5, 5});
  EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_forward(A_prev, W, b, {1, 0}, wrong, be); }),
            "conv_forward: Z must be (2, 3, 5, 4) to match A_prev (2, 5, 7, 3) and W (3, 3, 3, 4), but Z is "
            "(2, 3, 5, 5)");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_backward_data(wrong, W, {1, 0}, dA_prev, be); }),
            "conv_backward_data: dZ must be (2, 3, 5, 4) to match the Z for dA_prev (2, 5, 7, 3) and W (3, 3, 3, 4), "
            "but dZ is (2, 3, 5, 5)");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_backward_data(Z, W, {1, 0}, wrong, be); }),
            "conv_backward_data: W expects 3 input channels but dA_prev (2, 3, 5, 5) has 5");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_backward_data(Z, W, {2, 0}, dA_prev, be); }),
            "conv_backward_data: dZ must be (2, 2, 3, 4) to match the Z for dA_prev (2, 5, 7, 3) and W (3, 3, 3, 4), "
            "but dZ is (2, 3, 5, 4)");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_backward_weights(Z, A_prev, {1, 0}, wrong, db, be); }),
            "conv_backward_weights: dW expects 5 input channels but A_prev (2, 5, 7, 3) has 3");
  EXPECT_EQ(oracle::error_message([&] {
              cnnprim::conv_backward_weights(Z, A_prev, {1, 0}, dW, Tensor<double>({1, 1, 1, 3}), be);
            }),
            "conv_backward_weights: db must be (1, 1, 1, 4) to match dW (3, 3, 3, 4), but db is (1, 1, 1, 3)");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_backward_weights(wrong, A_prev, {1, 0}, dW, db, be); }),
            "conv_backward_weights: dZ must be (2, 3, 5, 4) to match the Z for A_prev (2, 5, 7, 3) and dW "
            "(3, 3, 3, 4), but dZ is (2, 3, 5, 5)");
  EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_forward(A_prev, W, b, {1, -1}, Z, be); }),
            "conv_forward: pad must be non-negative, but got pad = -1");
}

// Every second-form output is checked against every input of its call (and the other outputs): one that shares
// memory with them would be read after it is written. Views that only touch end to end are apart.
TEST(SecondForm, OutputsThatShareMemoryWithInputsAreRejected) {
  using cnnprim::TensorView;
  using Shape = std::array<Index, 4>;
  std::vector<double> memory(4096, 0.5);
  // A view of `shape` from element `at` of the one buffer.
  const auto at = [&](Index offset, const Shape& shape) { return TensorView<double>(memory.data() + offset, shape); };
  const auto in = [&](Index offset, const Shape& shape) { return TensorView<const double>(at(offset, shape)); };
  const auto overlaps = [](const char* function, const char* output, const char* input) {
    return std::string(function) + ": " + output + " shares memory with " + input +
           ": a call's outputs must not overlap its inputs or each other";
  };
  const ConvParams hp{1, 0};
  const Shape a{2, 5, 7, 3}, w{3, 3, 3, 4}, b{1, 1, 1, 4}, z{2, 3, 5, 4};  // 210, 108, 4 and 120 elements
  const auto A_prev = in(0, a), W = in(1000, w), bias = in(1200, b), dZ = in(1300, z);
  for (const Backend be : {Backend::Loop, Backend::Eigen}) {
    SCOPED_TRACE(cnnprim::to_string(be));
    EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_forward(A_prev, W, bias, hp, at(209, z), be); }),
              overlaps("conv_forward", "Z", "A_prev"));
    EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_forward(A_prev, W, hp, at(900, z), be); }),
              overlaps("conv_forward", "Z", "W"));
    EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_forward(A_prev, W, bias, hp, at(1108, z), be); }),
              overlaps("conv_forward", "Z", "b"));
    EXPECT_NO_THROW(cnnprim::conv_forward(A_prev, W, bias, hp, at(210, z), be));  // begins where A_prev ends
    EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_backward_data(dZ, W, hp, at(1200, a), be); }),
              overlaps("conv_backward_data", "dA_prev", "dZ"));
    EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_backward_data(dZ, W, hp, at(800, a), be); }),
              overlaps("conv_backward_data", "dA_prev", "W"));
    EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_backward_weights(dZ, A_prev, hp, at(1419, w), be); }),
              overlaps("conv_backward_weights", "dW", "dZ"));
    EXPECT_EQ(oracle::error_message([&] { cnnprim::conv_backward_weights(dZ, A_prev, hp, at(0, w), be); }),
              overlaps("conv_backward_weights", "dW", "A_prev"));
    EXPECT_EQ(oracle::error_message([&] {
                cnnprim::conv_backward_weights(dZ, A_prev, hp, at(2000, w), at(2107, b), be);
              }),
              overlaps("conv_backward_weights", "db", "dW"));
    EXPECT_EQ(oracle::error_message([&] {
                cnnprim::conv_backward_weights(dZ, A_prev, hp, at(2000, w), at(1300, b), be);
              }),
              overlaps("conv_backward_weights", "db", "dZ"));
    EXPECT_NO_THROW(cnnprim::conv_backward_weights(dZ, A_prev, hp, at(2000, w), at(2108, b), be));

    const cnnprim::PoolParams pool{3, 2};
    const Shape pooled{2, 2, 3, 3};  // 36 elements
    EXPECT_EQ(oracle::error_message([&] {
                cnnprim::pool_forward(A_prev, pool, cnnprim::PoolMode::Max, at(100, pooled), be);
              }),
              overlaps("pool_forward", "A", "A_prev"));
    EXPECT_EQ(oracle::error_message([&] {
                cnnprim::pool_backward(in(2500, pooled), A_prev, pool, cnnprim::PoolMode::Average, at(2300, a), be);
              }),
              overlaps("pool_backward", "dA_prev", "dA"));
    EXPECT_EQ(oracle::error_message([&] {
                cnnprim::pool_backward(in(2500, pooled), A_prev, pool, cnnprim::PoolMode::Max, at(0, a), be);
              }),
              overlaps("pool_backward", "dA_prev", "A_prev"));
    // The argmax's bytes inside A, then inside A_prev.
    std::vector<std::uint8_t> bytes(64);
    TensorView<std::uint8_t> argmax(bytes.data(), pooled);
    const auto bytes_in = [&](Index offset) {
      return TensorView<std::uint8_t>(reinterpret_cast<std::uint8_t*>(memory.data() + offset), pooled);
    };
    EXPECT_EQ(oracle::error_message([&] {
                cnnprim::max_pool_forward(A_prev, pool, at(2500, pooled), bytes_in(2510), be);
              }),
              overlaps("max_pool_forward", "argmax", "A"));
    EXPECT_EQ(oracle::error_message([&] {
                cnnprim::max_pool_forward(A_prev, pool, at(2500, pooled), bytes_in(200), be);
              }),
              overlaps("max_pool_forward", "argmax", "A_prev"));
    EXPECT_NO_THROW(cnnprim::max_pool_forward(A_prev, pool, at(2500, pooled), argmax, be));
    EXPECT_EQ(oracle::error_message([&] {
                cnnprim::max_pool_backward(in(2500, pooled), argmax, pool, at(2480, a), be);
              }),
              overlaps("max_pool_backward", "dA_prev", "dA"));
    EXPECT_EQ(oracle::error_message([&] {
                cnnprim::max_pool_backward(in(2500, pooled), TensorView<const std::uint8_t>(bytes_in(3000)), pool,
                                           at(2990, a), be);
              }),
              overlaps("max_pool_backward", "dA_prev", "argmax"));

    EXPECT_EQ(oracle::error_message([&] { cnnprim::zero_pad(A_prev, 0, at(0, a), be); }),
              overlaps("zero_pad", "X_pad", "X"));
  }
  // An element-wise call may write in place, but not into a shifted copy of its input.
  EXPECT_NO_THROW(cnnprim::activation_backward(dZ, in(1500, z), cnnprim::Activation::relu(), at(1300, z)));
  EXPECT_EQ(oracle::error_message([&] {
              cnnprim::activation_backward(dZ, in(1500, z), cnnprim::Activation::relu(), at(1301, z));
            }),
            "activation_backward: dZ shares memory with dA without being dA itself: an element-wise call may write "
            "in place, but not into a shifted or partial copy");
}

TEST(ConvSingleStep, MismatchedShapesThrow) {
  EXPECT_EQ(oracle::error_message([] {
              cnnprim::conv_single_step(Tensor<double, 3>({4, 4, 3}), Tensor<double, 3>({4, 4, 2}), 0.0);
            }),
            "conv_single_step: W must be (4, 4, 3) to match a_slice_prev (4, 4, 3), but W is (4, 4, 2)");
}

TEST(ConvSingleStep, FloatWithADoubleBias) {
  const Tensor<float, 3> a({1, 1, 2}, {1.0f, 2.0f}), W({1, 1, 2}, {3.0f, 4.0f});
  EXPECT_EQ(cnnprim::conv_single_step(a, W, 0.5), 11.5f);
}

INSTANTIATE_TEST_SUITE_P(Backends, Conv, ::testing::Values(Backend::Loop, Backend::Eigen), oracle::BackendName());
