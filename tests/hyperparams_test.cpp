// The hyperparameters of real networks beyond the notebook's: the defaults keep the notebook's meaning, the
// Eigen path agrees with the Loop path on layers wide enough for its direct and depthwise kernels, gradients
// agree with finite differences, and every new field is validated by name. (PyTorch's values for the same
// regimes: reference_test.cpp.)
#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "cnnprim/cnnprim.hpp"
#include "support/oracle.hpp"

namespace {

using cnnprim::Activation;
using cnnprim::Axes;
using cnnprim::Backend;
using cnnprim::ConvParams;
using cnnprim::Index;
using cnnprim::Padding;
using cnnprim::PoolMode;
using cnnprim::PoolParams;
using cnnprim::Tensor;

TEST(Hyperparameters, DefaultsMeanTheNotebooksLayers) {
  const auto A_prev = oracle::uniform<double, 4>({2, 9, 8, 3}, 1);
  const auto W = oracle::uniform<double, 4>({3, 3, 3, 4}, 2);
  const auto b = oracle::uniform<double, 4>({1, 1, 1, 4}, 3);
  ConvParams spelled_out{2, 0};
  spelled_out.strides = Axes{2, 2};
  spelled_out.padding = Padding{2, 2, 2, 2};
  spelled_out.dilation = {1, 1};
  spelled_out.groups = 1;
  spelled_out.activation = Activation::none();
  for (const Backend be : {Backend::Loop, Backend::Eigen}) {
    const auto notebook = cnnprim::conv_forward(A_prev, W, b, ConvParams{2, 2}, be);
    const auto extended = cnnprim::conv_forward(A_prev, W, b, spelled_out, be);
    EXPECT_EQ(notebook.Z.shape(), (std::array<Index, 4>{2, 6, 5, 4}));
    EXPECT_TRUE(oracle::near(extended.Z, notebook.Z, 0.0));
    EXPECT_TRUE(notebook.cache.Z.empty());  // no activation: the output is not kept twice

    PoolParams window{3, 2};
    window.window = Axes{3, 3};
    window.strides = Axes{2, 2};
    window.padding = Padding{};
    const auto pooled = cnnprim::pool_forward(A_prev, PoolParams{3, 2}, PoolMode::Average, be);
    EXPECT_EQ(pooled.A.shape(), (std::array<Index, 4>{2, 4, 3, 3}));
    EXPECT_TRUE(oracle::near(cnnprim::pool_forward(A_prev, window, PoolMode::Average, be).A, pooled.A, 0.0));
  }
}

TEST(Hyperparameters, OutputSizeHasThePerAxisDilatedAndCeilForms) {
  EXPECT_EQ(cnnprim::output_size(7, 3, 1, 1, 2), 4);
  EXPECT_EQ(cnnprim::output_size(7, 3, 0, 2, 2), 4);
  EXPECT_EQ(cnnprim::output_size(9, 3, 0, 0, 1, 2), 5);   // extent 5
  EXPECT_EQ(cnnprim::output_size(9, 3, 2, 2, 1, 2), 9);   // dilated 'same'
  EXPECT_EQ(cnnprim::output_size(5, 2, 0, 0, 2), 2);
  EXPECT_EQ(cnnprim::output_size(5, 2, 0, 0, 2, 1, true), 3);   // a last, partial window
  EXPECT_EQ(cnnprim::output_size(4, 2, 1, 1, 3, 1, false), 2);
  EXPECT_EQ(cnnprim::output_size(4, 2, 1, 1, 3, 1, true), 2);   // it would start in the end padding: dropped
  EXPECT_EQ(cnnprim::output_size(6, 3, 1, 1, 2, 1, true), 4);   // PyTorch: (6 + 2 - 3 + 1) / 2 + 1
  EXPECT_EQ(oracle::error_message([] { cnnprim::output_size(9, 3, 0, 0, 1, 0); }),
            "output_size: dilation must be at least 1, but got dilation = 0");
  EXPECT_EQ(oracle::error_message([] { cnnprim::output_size(4, 3, 0, 0, 1, 2); }),
            "output_size: the window's extent 5 (f = 3, dilation 2) must not exceed n_prev plus its padding, but "
            "n_prev = 4 and padding 0 + 0");
}

TEST(Hyperparameters, SameFollowsTensorFlowsRule) {
  // n_H = ceil(n_H_prev / stride); an odd total pad puts the extra row at the bottom and column at the right.
  const auto A_prev = oracle::uniform<double, 4>({1, 6, 7, 2}, 1);
  const auto W = oracle::uniform<double, 4>({3, 2, 2, 3}, 2);
  const auto b = oracle::uniform<double, 4>({1, 1, 1, 3}, 3);
  ConvParams same{2, 0};
  same.same = true;
  ConvParams explicit_pads{2, 0};
  explicit_pads.padding = Padding{0, 1, 0, 1};  // H: 3 rows, total (3 - 1) * 2 + 3 - 6 = 1; W: (4 - 1) * 2 + 2 - 7 = 1
  for (const Backend be : {Backend::Loop, Backend::Eigen}) {
    const auto Z = cnnprim::conv_forward(A_prev, W, b, same, be).Z;
    EXPECT_EQ(Z.shape(), (std::array<Index, 4>{1, 3, 4, 3}));
    EXPECT_TRUE(oracle::near(Z, cnnprim::conv_forward(A_prev, W, b, explicit_pads, be).Z, 0.0));
  }
}

// One convolution layer of the agreement and gradient tests.
struct ConvLayer {
  std::string name;
  std::array<Index, 4> A_prev;
  Index f_H, f_W, n_C;
  ConvParams hp;
  bool bias = true;
};

ConvParams params(Axes strides, Padding padding, Axes dilation, Index groups = 1,
                  Activation activation = Activation::none()) {
  ConvParams hp;
  hp.strides = strides;
  hp.padding = padding;
  hp.dilation = dilation;
  hp.groups = groups;
  hp.activation = activation;
  return hp;
}

ConvParams same(Axes strides, Axes dilation, Index groups = 1) {
  ConvParams hp = params(strides, {}, dilation, groups);
  hp.same = true;
  return hp;
}

// Wide enough for the direct kernels (channels in whole packets) and the depthwise kernel (packets and a
// remainder), on every regime.
std::vector<ConvLayer> wide_layers() {
  return {
      {"rectangular 1x7", {2, 9, 12, 32}, 1, 7, 32, params({1, 1}, {0, 0, 3, 3}, {1, 1})},
      {"rectangular 7x1 strided", {2, 12, 9, 16}, 7, 1, 48, params({2, 1}, {3, 3, 0, 0}, {1, 1})},
      {"asymmetric pads", {2, 10, 11, 32}, 3, 3, 32, params({1, 1}, {0, 2, 1, 0}, {1, 1})},
      {"same, stride 2", {2, 11, 10, 16}, 3, 3, 32, same({2, 2}, {1, 1})},
      {"dilation 2", {2, 14, 13, 32}, 3, 3, 16, params({1, 1}, {2, 2, 2, 2}, {2, 2})},
      {"dilation (2, 3), stride 2", {1, 17, 19, 16}, 3, 3, 32, params({2, 2}, {1, 0, 3, 2}, {2, 3})},
      {"dilated same", {2, 12, 12, 32}, 3, 3, 32, same({1, 1}, {2, 2})},
      {"ReLU", {2, 10, 10, 32}, 3, 3, 32, params({1, 1}, {1, 1, 1, 1}, {1, 1}, 1, Activation::relu())},
      {"ReLU6 without bias", {2, 10, 10, 16}, 3, 3, 32, params({1, 1}, {1, 1, 1, 1}, {1, 1}, 1, Activation::relu6()),
       false},
      // In passes over 192 input channels, shared out by blocks of output channels, then activated per block.
      {"ReLU, small image, large filter", {2, 6, 7, 192}, 3, 3, 96,
       params({1, 1}, {1, 1, 1, 1}, {1, 1}, 1, Activation::relu())},
      {"dilated, large filter", {1, 12, 12, 192}, 3, 3, 32, params({1, 1}, {2, 2, 2, 2}, {2, 2})},
      {"two groups", {2, 9, 9, 32}, 3, 3, 64, params({1, 1}, {1, 1, 1, 1}, {1, 1}, 2)},
      {"four groups of 3", {2, 9, 9, 12}, 3, 3, 8, params({1, 1}, {1, 1, 1, 1}, {1, 1}, 4)},
      {"depthwise", {2, 15, 14, 48}, 3, 3, 48, params({1, 1}, {1, 1, 1, 1}, {1, 1}, 48)},
      {"depthwise, stride 2, odd channels", {2, 15, 14, 37}, 3, 3, 37, params({2, 2}, {0, 1, 0, 1}, {1, 1}, 37)},
      {"depthwise 5x5 dilated", {1, 19, 17, 24}, 5, 5, 24, params({1, 2}, {4, 4, 4, 4}, {2, 2}, 24)},
      {"depthwise, clamp, no bias", {1, 9, 9, 40}, 3, 3, 40,
       params({1, 1}, {1, 1, 1, 1}, {1, 1}, 40, Activation::clamp(-0.5, 0.5)), false},
      {"depthwise with a channel multiplier", {1, 9, 9, 8}, 3, 3, 16, params({1, 1}, {1, 1, 1, 1}, {1, 1}, 8)},
      {"pointwise in groups", {2, 6, 6, 32}, 1, 1, 32, params({1, 1}, {}, {1, 1}, 4)},
  };
}

// 3x3 layers at stride 1 that take Winograd's F(2x2, 3x3) forward and for the data gradient: outputs of odd
// height and width (a last 2x2 block half outside), padding 0, 2 and per side, 3 packets of output channels.
std::vector<ConvLayer> winograd_layers() {
  return {
      {"Winograd, odd sizes, no padding", {3, 11, 9, 32}, 3, 3, 48, params({1, 1}, {0, 0, 0, 0}, {1, 1})},
      {"Winograd, padding 2 and per side", {1, 12, 15, 48}, 3, 3, 32, params({1, 1}, {2, 0, 1, 2}, {1, 1})},
      {"Winograd, ReLU6 without bias", {2, 8, 8, 32}, 3, 3, 64,
       params({1, 1}, {1, 1, 1, 1}, {1, 1}, 1, Activation::relu6()), false},
      {"Winograd, same", {2, 10, 7, 32}, 3, 3, 32, same({1, 1}, {1, 1})},
      {"Winograd, wide", {2, 8, 8, 256}, 3, 3, 32, params({1, 1}, {1, 1, 1, 1}, {1, 1})},
  };
}

template <class T>
struct ConvRun {
  Tensor<T> Z, dA_prev, dW, db;
};

template <class T>
ConvRun<T> run(const ConvLayer& layer, Backend backend) {
  const auto A_prev = oracle::uniform<T, 4>(layer.A_prev, 1);
  const auto W = oracle::uniform<T, 4>({layer.f_H, layer.f_W, layer.A_prev[3] / layer.hp.groups, layer.n_C}, 2);
  const auto b = oracle::uniform<T, 4>({1, 1, 1, layer.n_C}, 3);
  auto [Z, cache] = layer.bias ? cnnprim::conv_forward(A_prev, W, b, layer.hp, backend)
                               : cnnprim::conv_forward(A_prev, W, layer.hp, backend);
  const auto dZ = oracle::uniform<T, 4>(Z.shape(), 4);
  auto grads = cnnprim::conv_backward(dZ, cache, backend);
  return {std::move(Z), std::move(grads.dA_prev), std::move(grads.dW), std::move(grads.db)};
}

template <class T>
void expect_eigen_path_agrees_with_loop_path(const ConvLayer& layer) {
  const auto loop = run<T>(layer, Backend::Loop);
  const auto eigen = run<T>(layer, Backend::Eigen);
  EXPECT_TRUE(oracle::near(eigen.Z, loop.Z, oracle::tolerance<T>()));
  EXPECT_TRUE(oracle::near(eigen.dA_prev, loop.dA_prev, oracle::tolerance<T>()));
  EXPECT_TRUE(oracle::near(eigen.dW, loop.dW, oracle::tolerance<T>()));
  EXPECT_TRUE(oracle::near(eigen.db, loop.db, oracle::tolerance<T>()));
  EXPECT_EQ(loop.db.empty(), !layer.bias);
}

template <class T>
class WideLayers : public ::testing::Test {};
TYPED_TEST_SUITE(WideLayers, oracle::Scalars, oracle::ScalarNames);

TYPED_TEST(WideLayers, EigenPathAgreesWithTheLoopPath) {
  for (const ConvLayer& layer : wide_layers()) {
    SCOPED_TRACE(layer.name);
    expect_eigen_path_agrees_with_loop_path<TypeParam>(layer);
  }
}

TYPED_TEST(WideLayers, WinogradAgreesWithTheLoopPath) {
  for (const ConvLayer& layer : winograd_layers()) {
    SCOPED_TRACE(layer.name);
    const auto g = cnnprim::detail::conv_geometry("test", "A_prev", layer.A_prev, "W",
                                                  {layer.f_H, layer.f_W, layer.A_prev[3], layer.n_C}, layer.hp);
    namespace kernels = cnnprim::detail::eigen;
    ASSERT_TRUE(kernels::winograd_fits<TypeParam>(g));
    const kernels::DirectGeometry forward{g.m, g.n_H_prev, g.n_W_prev, g.n_C_prev, g.pad_top, g.pad_bottom,
                                          g.pad_left, g.pad_right, 3, 3, 1, 1, 1, 1, g.n_H, g.n_W, g.n_C};
    ASSERT_TRUE(kernels::winograd_pays(forward));
    expect_eigen_path_agrees_with_loop_path<TypeParam>(layer);

    // The kernel itself takes these inputs (one that fell back to the direct kernel would pass the comparison above
    // unseen), forward and with the flipped filter of the data gradient, against the Loop path.
    using T = TypeParam;
    const auto A_prev = oracle::uniform<T, 4>(layer.A_prev, 5);
    const auto W = oracle::uniform<T, 4>({3, 3, layer.A_prev[3], layer.n_C}, 6);
    const auto loop = cnnprim::conv_forward(A_prev, W, layer.hp, Backend::Loop);
    Tensor<T> Z(loop.Z.shape());
    ASSERT_TRUE(kernels::winograd_conv<T>(A_prev.data(), forward, {W.data(), false}, nullptr, layer.hp.activation,
                                          Z.data(), cnnprim::Threads()));
    EXPECT_TRUE(oracle::near(Z, loop.Z, oracle::tolerance<T>()));
    const auto dZ = oracle::uniform<T, 4>(loop.Z.shape(), 7);
    Tensor<T> dA_prev(A_prev.shape()), dA_prev_loop(A_prev.shape());
    cnnprim::conv_backward_data(dZ, W, layer.hp, dA_prev_loop, Backend::Loop);
    const kernels::DirectGeometry backward{g.m, g.n_H, g.n_W, g.n_C, 2 - g.pad_top, 2 - g.pad_bottom,
                                           2 - g.pad_left, 2 - g.pad_right, 3, 3, 1, 1, 1, 1, g.n_H_prev, g.n_W_prev,
                                           g.n_C_prev};
    ASSERT_TRUE(kernels::winograd_conv<T>(dZ.data(), backward, {W.data(), true}, nullptr,
                                          cnnprim::Activation::none(), dA_prev.data(), cnnprim::Threads()));
    EXPECT_TRUE(oracle::near(dA_prev, dA_prev_loop, oracle::tolerance<T>()));
  }
}

// Inputs of one sign (no cancellation in the direct sums to hide the transforms' rounding) over 256 channels.
TYPED_TEST(WideLayers, WinogradIsAccurateOnInputsOfOneSign) {
  using T = TypeParam;
  auto A_prev = oracle::uniform<T, 4>({2, 8, 8, 256}, 11);
  auto W = oracle::uniform<T, 4>({3, 3, 256, 32}, 12);
  A_prev.vector() = A_prev.vector().cwiseAbs();
  W.vector() = W.vector().cwiseAbs();
  const auto b = oracle::uniform<T, 4>({1, 1, 1, 32}, 13);
  auto dZ_sign = [](Tensor<T> dZ) {
    dZ.vector() = dZ.vector().cwiseAbs();
    return dZ;
  };
  const auto loop = cnnprim::conv_forward(A_prev, W, b, ConvParams{1, 1}, Backend::Loop);
  const auto eigen = cnnprim::conv_forward(A_prev, W, b, ConvParams{1, 1}, Backend::Eigen);
  EXPECT_TRUE(oracle::near(eigen.Z, loop.Z, oracle::tolerance<T>()));
  const auto dZ = dZ_sign(oracle::uniform<T, 4>(loop.Z.shape(), 14));
  EXPECT_TRUE(oracle::near(cnnprim::conv_backward(dZ, eigen.cache, Backend::Eigen).dA_prev,
                           cnnprim::conv_backward(dZ, loop.cache, Backend::Loop).dA_prev, oracle::tolerance<T>()));
}

// Elements where `actual` is not `expected`: NaN where it is NaN, the same infinity, or within 1e-4 relative.
template <class T>
Index disagreements(const Tensor<T>& actual, const Tensor<T>& expected) {
  Index count = 0;
  for (Index k = 0; k < expected.size(); ++k) {
    const T x = actual.data()[k], y = expected.data()[k];
    if (std::isnan(y)) count += !std::isnan(x);
    else if (std::isinf(y)) count += x != y;
    else count += !(std::abs(x - y) <= 1e-4 * (1 + std::abs(y)));
  }
  return count;
}

// A NaN or an infinity, which Winograd's transforms would spread to pixels whose windows do not hold it, and
// values large enough that a transform could overflow where the direct sum does not: such inputs take the direct
// kernel, and each output is what the Loop path gives.
TYPED_TEST(WideLayers, WinogradLeavesNonFiniteAndHugeInputsToTheDirectKernel) {
  using T = TypeParam;
  const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
  const T huge = std::numeric_limits<T>::max() / 8;
  const auto A_prev = oracle::uniform<T, 4>({2, 9, 10, 32}, 21);
  const auto W = oracle::uniform<T, 4>({3, 3, 32, 32}, 22);
  const auto b = oracle::uniform<T, 4>({1, 1, 1, 32}, 23);
  const std::function<void(Tensor<T>&, Tensor<T>&)> cases[] = {
      [&](Tensor<T>& a, Tensor<T>&) { a(0, 4, 5, 3) = nan; },
      [&](Tensor<T>& a, Tensor<T>&) { a(1, 0, 9, 31) = inf; },
      [&](Tensor<T>& a, Tensor<T>&) { a(1, 8, 0, 0) = -inf; },
      [&](Tensor<T>&, Tensor<T>& w) { w(1, 2, 5, 7) = inf; },
      [&](Tensor<T>& a, Tensor<T>&) { a(0, 3, 3, 3) = huge; },
      [&](Tensor<T>&, Tensor<T>& w) { w(0, 0, 0, 0) = huge; },
  };
  int case_number = 0;
  for (const auto& spoil : cases) {
    SCOPED_TRACE(testing::Message() << "case " << case_number++);
    Tensor<T> a = A_prev, w = W;
    spoil(a, w);
    const auto Z_loop = cnnprim::conv_forward(a, w, b, ConvParams{1, 1}, Backend::Loop).Z;
    const auto Z_eigen = cnnprim::conv_forward(a, w, b, ConvParams{1, 1}, Backend::Eigen).Z;
    EXPECT_EQ(disagreements(Z_eigen, Z_loop), 0);
    // The data gradient of a dZ spoilt the same way (dZ has A_prev's shape here).
    Tensor<T> dA_loop(a.shape()), dA_eigen(a.shape());
    cnnprim::conv_backward_data(a, w, ConvParams{1, 1}, dA_loop, Backend::Loop);
    cnnprim::conv_backward_data(a, w, ConvParams{1, 1}, dA_eigen, Backend::Eigen);
    EXPECT_EQ(disagreements(dA_eigen, dA_loop), 0);
  }
}

// The 3x3 depthwise kernels' tiles and border windows over every row width up to two full tiles and a
// remainder, pads of 0, 1 and 2 per side (2 takes the generic forward but the 3x3 backward data), horizontal
// strides 1 and 2 (and 3, the generic path) and channels that leave single lanes.
TYPED_TEST(WideLayers, Depthwise3x3AgreesWithTheLoopPathAtEveryWidth) {
  const std::vector<Padding> paddings = {{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 1, 1, 0}, {1, 0, 0, 1}, {2, 2, 2, 2},
                                         {1, 2, 2, 1}};
  const std::vector<Axes> strides = {{1, 1}, {2, 2}, {1, 2}, {2, 1}, {3, 1}};
  for (Index n_W = 3; n_W <= 20; ++n_W)
    for (const Padding& padding : paddings)
      for (const Axes& stride : strides) {
        const Index channels = n_W % 3 == 0 ? 1 : n_W % 3 == 1 ? 19 : 33;
        ConvLayer layer{"", {2, 3 + n_W % 4, n_W, channels}, 3, 3, channels,
                        params(stride, padding, {1, 1}, channels), n_W % 2 == 0};
        layer.name = "n_W " + std::to_string(n_W) + ", padding {" + std::to_string(padding.top) + ", " +
                     std::to_string(padding.bottom) + ", " + std::to_string(padding.left) + ", " +
                     std::to_string(padding.right) + "}, strides {" + std::to_string(stride.H) + ", " +
                     std::to_string(stride.W) + "}";
        SCOPED_TRACE(layer.name);
        expect_eigen_path_agrees_with_loop_path<TypeParam>(layer);
      }
}

TYPED_TEST(WideLayers, PaddedAndCeilModePoolingAgreesWithTheLoopPath) {
  using T = TypeParam;
  const auto A_prev = oracle::uniform<T, 4>({2, 13, 11, 37}, 5);
  std::vector<PoolParams> cases;
  for (const bool ceil : {false, true})
    for (const bool include : {false, true}) {
      PoolParams hp{3, 2};
      hp.padding = Padding{1, 2, 0, 1};
      hp.ceil_mode = ceil;
      hp.count_include_pad = include;
      cases.push_back(hp);
      hp.window = Axes{2, 4};
      hp.strides = Axes{1, 3};
      hp.padding = Padding{1, 1, 0, 3};
      cases.push_back(hp);
    }
  PoolParams global;
  global.global = true;
  cases.push_back(global);
  for (const PoolParams& hp : cases)
    for (const PoolMode mode : {PoolMode::Max, PoolMode::Average}) {
      const auto loop = cnnprim::pool_forward(A_prev, hp, mode, Backend::Loop);
      const auto eigen = cnnprim::pool_forward(A_prev, hp, mode, Backend::Eigen);
      EXPECT_TRUE(oracle::near(eigen.A, loop.A, oracle::tolerance<T>()));
      const auto dA = oracle::uniform<T, 4>(loop.A.shape(), 6);
      EXPECT_TRUE(oracle::near(cnnprim::pool_backward(dA, eigen.cache, Backend::Eigen),
                               cnnprim::pool_backward(dA, loop.cache, Backend::Loop), oracle::tolerance<T>()));
    }
}

// d(sum(Z * dZ)) / dx by central differences, for every element of x.
Tensor<double> numeric_gradient(Tensor<double> x, const Tensor<double>& dZ,
                                const std::function<Tensor<double>(const Tensor<double>&)>& forward) {
  Tensor<double> gradient(x.shape());
  const double h = 1e-6;
  for (Index k = 0; k < x.size(); ++k) {
    const double saved = x.data()[k];
    x.data()[k] = saved + h;
    const double up = (forward(x).vector().array() * dZ.vector().array()).sum();
    x.data()[k] = saved - h;
    const double down = (forward(x).vector().array() * dZ.vector().array()).sum();
    x.data()[k] = saved;
    gradient.data()[k] = (up - down) / (2 * h);
  }
  return gradient;
}

TEST(Hyperparameters, ConvolutionGradientsMatchFiniteDifferences) {
  const std::vector<ConvLayer> layers{
      {"groups, dilation, strides and pads per axis", {2, 7, 8, 4}, 2, 3, 6, params({2, 1}, {1, 0, 2, 1}, {2, 1}, 2)},
      {"depthwise same", {1, 6, 5, 3}, 3, 3, 3, same({2, 1}, {1, 2}, 3)},
      {"clamp", {1, 5, 5, 2}, 3, 3, 3, params({1, 1}, {1, 1, 1, 1}, {1, 1}, 1, Activation::clamp(-0.3, 0.4))},
  };
  for (const ConvLayer& layer : layers)
    for (const Backend be : {Backend::Loop, Backend::Eigen}) {
      SCOPED_TRACE(layer.name + " " + cnnprim::to_string(be));
      const auto A_prev = oracle::uniform<double, 4>(layer.A_prev, 1);
      const auto W =
          oracle::uniform<double, 4>({layer.f_H, layer.f_W, layer.A_prev[3] / layer.hp.groups, layer.n_C}, 2);
      const auto b = oracle::uniform<double, 4>({1, 1, 1, layer.n_C}, 3);
      const auto [Z, cache] = cnnprim::conv_forward(A_prev, W, b, layer.hp, be);
      const auto dZ = oracle::uniform<double, 4>(Z.shape(), 4);
      const auto grads = cnnprim::conv_backward(dZ, cache, be);
      const double tolerance = 1e-7;
      EXPECT_TRUE(oracle::near(grads.dA_prev, numeric_gradient(A_prev, dZ, [&](const Tensor<double>& x) {
                                 return cnnprim::conv_forward(x, W, b, layer.hp, be).Z;
                               }), tolerance));
      EXPECT_TRUE(oracle::near(grads.dW, numeric_gradient(W, dZ, [&](const Tensor<double>& x) {
                                 return cnnprim::conv_forward(A_prev, x, b, layer.hp, be).Z;
                               }), tolerance));
      EXPECT_TRUE(oracle::near(grads.db, numeric_gradient(b, dZ, [&](const Tensor<double>& x) {
                                 return cnnprim::conv_forward(A_prev, W, x, layer.hp, be).Z;
                               }), tolerance));
    }
}

TEST(Hyperparameters, PoolingGradientsMatchFiniteDifferences) {
  PoolParams padded{3, 2};
  padded.padding = Padding{1, 0, 2, 1};
  padded.ceil_mode = true;
  PoolParams counted = padded;
  counted.count_include_pad = true;
  counted.window = Axes{3, 4};
  PoolParams global;
  global.global = true;
  const auto A_prev = oracle::uniform<double, 4>({2, 7, 8, 3}, 1);
  for (const PoolParams& hp : {padded, counted, global})
    for (const PoolMode mode : {PoolMode::Max, PoolMode::Average})
      for (const Backend be : {Backend::Loop, Backend::Eigen}) {
        const auto [A, cache] = cnnprim::pool_forward(A_prev, hp, mode, be);
        const auto dA = oracle::uniform<double, 4>(A.shape(), 2);
        EXPECT_TRUE(oracle::near(cnnprim::pool_backward(dA, cache, be),
                                 numeric_gradient(A_prev, dA, [&](const Tensor<double>& x) {
                                   return cnnprim::pool_forward(x, hp, mode, be).A;
                                 }),
                                 1e-7));
      }
}

TEST(Hyperparameters, PaddingNeverWinsAMaxAndCountIncludePadChangesTheDivisor) {
  // All values negative: a pad cell taken as 0 would win every border window.
  Tensor<double> A_prev({1, 2, 2, 1}, {-4, -3, -2, -1});
  PoolParams hp{2, 1};
  hp.padding = Padding{1, 0, 1, 0};
  const auto max = cnnprim::pool_forward(A_prev, hp, PoolMode::Max).A;
  EXPECT_TRUE(oracle::near(max, Tensor<double>({1, 2, 2, 1}, {-4, -3, -2, -1}), 0.0));
  const auto excluded = cnnprim::pool_forward(A_prev, hp, PoolMode::Average).A;
  EXPECT_TRUE(oracle::near(excluded, Tensor<double>({1, 2, 2, 1}, {-4, -3.5, -3, -2.5}), 0.0));
  hp.count_include_pad = true;
  const auto included = cnnprim::pool_forward(A_prev, hp, PoolMode::Average).A;
  EXPECT_TRUE(oracle::near(included, Tensor<double>({1, 2, 2, 1}, {-1, -1.75, -1.5, -2.5}), 0.0));
}

TEST(Hyperparameters, ActivationGradientIsAFunctionOfTheOutput) {
  const Activation relu = Activation::relu(), relu6 = Activation::relu6();
  EXPECT_EQ(relu(-2.0), 0.0);
  EXPECT_EQ(relu(3.0f), 3.0f);
  EXPECT_TRUE(std::isnan(relu(std::nan(""))));
  EXPECT_EQ(relu6(7.0), 6.0);
  EXPECT_FALSE(relu.passes(0.0));
  EXPECT_TRUE(relu.passes(1e-30));
  EXPECT_TRUE(relu.passes(std::numeric_limits<double>::infinity()));
  EXPECT_FALSE(relu6.passes(6.0));
  EXPECT_TRUE(relu6.passes(5.5));
  EXPECT_TRUE(relu6.passes(std::nan("")));  // as PyTorch's threshold and hardtanh backward
  Tensor<double> A({1, 1, 1, 4}, {0, 2, 6, 3}), dA({1, 1, 1, 4}, {1, 1, 1, 1}), dZ({1, 1, 1, 4});
  cnnprim::activation_backward(dA, A, relu6, dZ);
  EXPECT_TRUE(oracle::near(dZ, Tensor<double>({1, 1, 1, 4}, {0, 1, 0, 1}), 0.0));
  cnnprim::activation_backward(dA, A, relu6, dA);  // in place
  EXPECT_TRUE(oracle::near(dA, dZ, 0.0));
  EXPECT_EQ(oracle::error_message([&] { cnnprim::activation_backward(dA, Tensor<double>({1, 1, 1, 3}), relu, dZ); }),
            "activation_backward: A must be (1, 1, 1, 4) to match dA, but A is (1, 1, 1, 3)");
}

// Long enough for the vectorized loops, with the values that decide the rules: zeros of both signs, the clamp's
// bounds, infinities and NaN.
TEST(Hyperparameters, ActivationGradientOverLongTensorsFollowsPassesElementByElement) {
  const float specials[] = {0.0f, -0.0f, 6.0f, 1e-30f, -1e-30f, std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), std::nanf(""), 5.999f, 3.0f, -2.0f};
  const Index n = 1001;
  Tensor<float> A({1, 1, n, 1}), dA({1, 1, n, 1});
  for (Index k = 0; k < n; ++k) {
    A.data()[k] = specials[k % 11] * (k % 7 == 3 ? -1.0f : 1.0f);
    dA.data()[k] = static_cast<float>(k + 1);
  }
  for (const Activation rule : {Activation::none(), Activation::relu(), Activation::relu6()}) {
    Tensor<float> dZ({1, 1, n, 1}), in_place = dA;
    cnnprim::activation_backward(dA, A, rule, dZ);
    cnnprim::activation_backward(in_place, A, rule, in_place);
    for (Index k = 0; k < n; ++k) {
      const float expected = rule.passes(A.data()[k]) ? dA.data()[k] : 0.0f;
      ASSERT_EQ(dZ.data()[k], expected) << "element " << k << ", A = " << A.data()[k];
      ASSERT_EQ(in_place.data()[k], expected) << "element " << k;
    }
  }
}

TEST(Hyperparameters, EveryNewFieldIsValidatedByName) {
  const Tensor<double> A_prev({2, 5, 7, 4}), W({3, 3, 4, 6}), b({1, 1, 1, 6});
  const auto conv_error = [&](const ConvParams& hp, const Tensor<double>& w = Tensor<double>({3, 3, 4, 6})) {
    return oracle::error_message([&] { cnnprim::conv_forward(A_prev, w, hp); });
  };
  ConvParams hp;
  hp.strides = Axes{1, 0};
  EXPECT_EQ(conv_error(hp), "conv_forward: strides.W must be at least 1, but got strides.W = 0");
  hp = {};
  hp.padding = Padding{0, -1, 0, 0};
  EXPECT_EQ(conv_error(hp), "conv_forward: padding.bottom must be non-negative, but got padding.bottom = -1");
  hp = {};
  hp.dilation = {0, 1};
  EXPECT_EQ(conv_error(hp), "conv_forward: dilation.H must be at least 1, but got dilation.H = 0");
  hp = {};
  hp.dilation = {3, 1};
  EXPECT_EQ(conv_error(hp), "conv_forward: the window's extent 7 (f = 3, dilation 3) must not exceed n_H_prev plus "
                            "its padding, but A_prev (2, 5, 7, 4) has n_H_prev = 5 and padding 0 + 0");
  hp = {};
  hp.groups = 0;
  EXPECT_EQ(conv_error(hp), "conv_forward: groups must be at least 1, but got groups = 0");
  hp.groups = 3;
  EXPECT_EQ(conv_error(hp, Tensor<double>({3, 3, 1, 6})),
            "conv_forward: groups = 3 must divide the input channels of A_prev (2, 5, 7, 4) and the output channels "
            "of W (3, 3, 1, 6)");
  hp.groups = 2;
  EXPECT_EQ(conv_error(hp), "conv_forward: W expects 4 input channels per group but A_prev (2, 5, 7, 4) has 4 in 2 "
                            "groups");
  hp = {};
  hp.activation = Activation::clamp(1, 0);
  EXPECT_EQ(conv_error(hp), "conv_forward: activation: clamp needs lo <= hi, but got lo = 1 and hi = 0");
  hp.activation = Activation::clamp(0, std::nan(""));
  EXPECT_EQ(conv_error(hp), "conv_forward: activation: clamp needs lo <= hi, but got lo = 0 and hi = nan");
  hp = {};
  hp.padding = Padding{0, 0, std::numeric_limits<Index>::max(), 1};
  EXPECT_EQ(conv_error(hp), "conv_forward: padding = 9223372036854775807 is too large: n_W_prev plus its padding "
                            "must not exceed 9223372036854775807");

  const auto pool_error = [&](const PoolParams& p) {
    return oracle::error_message([&] { cnnprim::pool_forward(A_prev, p); });
  };
  PoolParams p{2, 2};
  p.window = Axes{0, 2};
  EXPECT_EQ(pool_error(p), "pool_forward: window.H must be at least 1, but got window.H = 0");
  p = {2, 2};
  p.strides = Axes{2, -1};
  EXPECT_EQ(pool_error(p), "pool_forward: strides.W must be at least 1, but got strides.W = -1");
  p = {2, 2};
  p.padding = Padding{0, 0, 2, 0};
  EXPECT_EQ(pool_error(p), "pool_forward: padding.left = 2 must be less than the window's width 2");
  p = {2, 2};
  p.padding = Padding{-1, 0, 0, 0};
  EXPECT_EQ(pool_error(p), "pool_forward: padding.top must be non-negative, but got padding.top = -1");
  p = {2, 2};
  p.padding = Padding{1, 1, 0, 0};
  EXPECT_EQ(oracle::error_message([&] { cnnprim::pool_forward(Tensor<double>({1, 0, 3, 2}), p); }),
            "pool_forward: padding needs images of at least one pixel (a window of padding alone has no maximum), "
            "but A_prev is (1, 0, 3, 2)");
  p = {};
  p.global = true;
  EXPECT_EQ(oracle::error_message([&] { cnnprim::pool_forward(Tensor<double>({1, 0, 3, 2}), p); }),
            "pool_forward: global pooling needs images of at least one pixel, but A_prev is (1, 0, 3, 2)");
  const auto global = cnnprim::pool_forward(oracle::uniform<double, 4>({3, 4, 5, 2}, 1), p, PoolMode::Average);
  EXPECT_EQ(global.A.shape(), (std::array<Index, 4>{3, 1, 1, 2}));
}

}  // namespace
