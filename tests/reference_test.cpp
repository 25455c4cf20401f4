// PyTorch 1.13 as an independent oracle for the hyperparameters of real networks: 240 convolutions (rectangular
// filters, per-axis strides, padding per side and 'same', dilation, groups and depthwise, with and without bias,
// ReLU and clamp) and 160 poolings (rectangular windows, padding, ceil mode, count_include_pad, global), forward
// and every gradient, through both forms and both backends, in double and float. The values come from
// scripts/torch_reference.py; the inputs are regenerated here from the same numpy seeds.
#include <zlib.h>

#include <sstream>
#include <string>
#include <vector>

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

// One record: its header's numbers and its results, by name.
struct Record {
  std::string kind;
  std::vector<double> header;
  std::vector<std::pair<std::string, std::vector<double>>> results;

  const std::vector<double>& result(const std::string& name) const {
    for (const auto& [n, values] : results)
      if (n == name) return values;
    throw std::runtime_error("no " + name + " in the record");
  }
};

std::vector<Record> read_records() {
  const std::string path = std::string(CNNPRIM_TEST_DATA_DIR) + "/torch_reference.txt.gz";
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw std::runtime_error("cannot open " + path);
  std::string text;
  char buffer[1 << 16];
  for (int n; (n = gzread(file, buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
  gzclose(file);
  std::vector<Record> records;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string name;
    words >> name;
    std::vector<double> values;
    for (double v; words >> v;) values.push_back(v);
    if (name == "conv" || name == "pool") records.push_back({name, values, {}});
    else records.back().results.emplace_back(name, values);
  }
  return records;
}

const std::vector<Record>& records() {
  static const std::vector<Record> all = read_records();
  return all;
}

template <class T>
Tensor<T> expected(const std::vector<double>& values, const std::array<Index, 4>& shape, std::size_t skip = 0) {
  std::vector<T> data(values.begin() + static_cast<std::ptrdiff_t>(skip), values.end());
  return Tensor<T>(shape, std::move(data));
}

template <class T>
Tensor<T> randn(cnnprim::numpy::RandomState& rng, const std::array<Index, 4>& shape) {
  return oracle::cast<T>(rng.randn<double>(shape[0], shape[1], shape[2], shape[3]));
}

// The tolerance against values printed with 10 significant digits (double) or computed in float.
template <class T>
constexpr double reference_tolerance() {
  return std::is_same_v<T, float> ? 2e-5 : 1e-9;
}

// The hyperparameters a conv record names, spelled both ways: the notebook's fields where they suffice, the
// per-axis and per-side fields otherwise.
ConvParams conv_params(const std::vector<double>& h) {
  const auto at = [&](std::size_t k) { return static_cast<Index>(h[k]); };
  ConvParams hp;
  if (at(8) == at(9)) hp.stride = at(8);
  else hp.strides = Axes{at(8), at(9)};
  if (at(10) == at(11) && at(10) == at(12) && at(10) == at(13)) hp.pad = at(10);
  else hp.padding = Padding{at(10), at(11), at(12), at(13)};
  hp.same = at(14) != 0;
  hp.dilation = {at(15), at(16)};
  hp.groups = at(17);
  const int act = static_cast<int>(h[19]);
  hp.activation = act == 0 ? Activation::none() : act == 1 ? Activation::relu() : Activation::clamp(h[20], h[21]);
  return hp;
}

template <class T>
class Reference : public ::testing::Test {};
TYPED_TEST_SUITE(Reference, oracle::Scalars, oracle::ScalarNames);

TYPED_TEST(Reference, ConvolutionsMatchPyTorch) {
  using T = TypeParam;
  int cases = 0;
  for (const Record& r : records()) {
    if (r.kind != "conv") continue;
    ++cases;
    const auto& h = r.header;
    const auto at = [&](std::size_t k) { return static_cast<Index>(h[k]); };
    const Index m = at(1), H = at(2), W = at(3), C = at(4), f_H = at(5), f_W = at(6), n_C = at(7), groups = at(17);
    const bool bias = at(18) != 0;
    const ConvParams hp = conv_params(h);
    SCOPED_TRACE("conv record seed " + std::to_string(at(0)));
    cnnprim::numpy::RandomState rng(static_cast<std::uint32_t>(at(0)));
    const Tensor<T> A_prev = randn<T>(rng, {m, H, W, C});
    const Tensor<T> Wt = randn<T>(rng, {f_H, f_W, C / groups, n_C});
    const Tensor<T> b = bias ? randn<T>(rng, {1, 1, 1, n_C}) : Tensor<T>();
    const auto& Z_values = r.result("Z");
    const std::array<Index, 4> Z_shape{m, static_cast<Index>(Z_values[0]), static_cast<Index>(Z_values[1]), n_C};
    const Tensor<T> dZ = randn<T>(rng, Z_shape);
    const Tensor<T> Z_expected = expected<T>(Z_values, Z_shape, 2);
    const Tensor<T> dA_expected = expected<T>(r.result("dA_prev"), A_prev.shape());
    const Tensor<T> dW_expected = expected<T>(r.result("dW"), Wt.shape());

    for (const Backend be : {Backend::Loop, Backend::Eigen}) {
      SCOPED_TRACE(cnnprim::to_string(be));
      // The notebook's form: forward, then backward from the cache (through the activation it keeps).
      auto [Z, cache] = bias ? cnnprim::conv_forward(A_prev, Wt, b, hp, be) : cnnprim::conv_forward(A_prev, Wt, hp, be);
      EXPECT_TRUE(oracle::near(Z, Z_expected, reference_tolerance<T>()));
      const auto grads = cnnprim::conv_backward(dZ, cache, be);
      EXPECT_TRUE(oracle::near(grads.dA_prev, dA_expected, reference_tolerance<T>()));
      EXPECT_TRUE(oracle::near(grads.dW, dW_expected, reference_tolerance<T>()));
      if (bias) {
        EXPECT_TRUE(oracle::near(grads.db, expected<T>(r.result("db"), b.shape()), reference_tolerance<T>()));
      } else {
        EXPECT_TRUE(grads.db.empty());
      }

      // The second form, into the caller's tensors.
      Tensor<T> Z2(Z_shape), dZ_linear(Z_shape), dA_prev(A_prev.shape()), dW(Wt.shape()), db(b.shape());
      if (bias) cnnprim::conv_forward(A_prev, Wt, b, hp, Z2, be);
      else cnnprim::conv_forward(A_prev, Wt, hp, Z2, be);
      EXPECT_TRUE(oracle::near(Z2, Z_expected, reference_tolerance<T>()));
      cnnprim::activation_backward(dZ, Z2, hp.activation, dZ_linear);
      cnnprim::conv_backward_data(dZ_linear, Wt, hp, dA_prev, be);
      if (bias) cnnprim::conv_backward_weights(dZ_linear, A_prev, hp, dW, db, be);
      else cnnprim::conv_backward_weights(dZ_linear, A_prev, hp, dW, be);
      EXPECT_TRUE(oracle::near(dA_prev, dA_expected, reference_tolerance<T>()));
      EXPECT_TRUE(oracle::near(dW, dW_expected, reference_tolerance<T>()));
    }
  }
  EXPECT_EQ(cases, 240);
}

TYPED_TEST(Reference, PoolingsMatchPyTorch) {
  using T = TypeParam;
  int cases = 0;
  for (const Record& r : records()) {
    if (r.kind != "pool") continue;
    ++cases;
    const auto& h = r.header;
    const auto at = [&](std::size_t k) { return static_cast<Index>(h[k]); };
    const PoolMode mode = at(1) == 0 ? PoolMode::Max : PoolMode::Average;
    const Index m = at(2), H = at(3), W = at(4), C = at(5), k_H = at(6), k_W = at(7), p_H = at(10), p_W = at(11);
    PoolParams hp;
    if (k_H == k_W) hp.f = k_H;
    else hp.window = Axes{k_H, k_W};
    if (at(8) == at(9)) hp.stride = at(8);
    else hp.strides = Axes{at(8), at(9)};
    if (p_H != 0 || p_W != 0) hp.padding = Padding{p_H, p_H, p_W, p_W};
    hp.ceil_mode = at(12) != 0;
    hp.count_include_pad = at(13) != 0;
    hp.global = at(14) != 0;
    SCOPED_TRACE("pool record seed " + std::to_string(at(0)));
    cnnprim::numpy::RandomState rng(static_cast<std::uint32_t>(at(0)));
    const Tensor<T> A_prev = randn<T>(rng, {m, H, W, C});
    const auto& A_values = r.result("A");
    const std::array<Index, 4> A_shape{m, static_cast<Index>(A_values[0]), static_cast<Index>(A_values[1]), C};
    const Tensor<T> dA = randn<T>(rng, A_shape);
    const Tensor<T> A_expected = expected<T>(A_values, A_shape, 2);
    const Tensor<T> dA_prev_expected = expected<T>(r.result("dA_prev"), A_prev.shape());
    for (const Backend be : {Backend::Loop, Backend::Eigen}) {
      SCOPED_TRACE(cnnprim::to_string(be));
      const auto [A, cache] = cnnprim::pool_forward(A_prev, hp, mode, be);
      EXPECT_TRUE(oracle::near(A, A_expected, reference_tolerance<T>()));
      EXPECT_TRUE(oracle::near(cnnprim::pool_backward(dA, cache, be), dA_prev_expected, reference_tolerance<T>()));
      Tensor<T> A2(A_shape), dA_prev(A_prev.shape());
      cnnprim::pool_forward(A_prev, hp, mode, A2, be);
      cnnprim::pool_backward(dA, A_prev, hp, mode, dA_prev, be);
      EXPECT_TRUE(oracle::near(A2, A_expected, reference_tolerance<T>()));
      EXPECT_TRUE(oracle::near(dA_prev, dA_prev_expected, reference_tolerance<T>()));
    }
  }
  EXPECT_EQ(cases, 160);
}

}  // namespace
