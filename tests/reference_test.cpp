// PyTorch 1.13 as an independent oracle for the hyperparameters of real networks: 240 convolutions (rectangular
// filters, per-axis strides, padding per side and 'same', dilation, groups and depthwise, with and without bias,
// ReLU and clamp) and 160 poolings (rectangular windows, padding, ceil mode, count_include_pad, global), forward
// and every gradient, through both forms and both backends, in double and float; and 120 convolutions and 60
// poolings whose channels fill SIMD packets, which the vectorized kernels take (Winograd, the direct kernel, the
// depthwise tiles, pooling by packets), checked through projections of their results. The values come from
// scripts/torch_reference.py; the inputs are regenerated here from the same numpy seeds.
#include <zlib.h>

#include <cmath>
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

  const std::vector<double>* find(const std::string& name) const {
    for (const auto& [n, values] : results)
      if (n == name) return &values;
    return nullptr;
  }
  const std::vector<double>& result(const std::string& name) const {
    if (const auto* values = find(name)) return *values;
    throw std::runtime_error("no " + name + " in the record");
  }
};

std::vector<Record> read_records(const std::string& name) {
  const std::string path = std::string(CNNPRIM_TEST_DATA_DIR) + "/" + name;
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

// Layers of a few channels, their results stored whole.
const std::vector<Record>& narrow_records() {
  static const std::vector<Record> all = read_records("torch_reference.txt.gz");
  return all;
}

// Layers whose channels fill SIMD packets, their results stored as projections.
const std::vector<Record>& wide_records() {
  static const std::vector<Record> all = read_records("torch_wide_reference.txt.gz");
  return all;
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

// The weight of element k in a projection (scripts/torch_reference.py's `weights`).
double projection_weight(Index k) { return 1 + static_cast<double>(k * 7 % 13) / 13; }

// Whether `actual` (channels last) matches a result stored as projections: for each channel the weighted sum over
// the pixels, and for each pixel over the channels. With every value within reference_tolerance of the result's
// largest magnitude, as `near` asks, each sum is within that times its weights' sum (the stored sum's 10 digits add
// 1e-9 of it); a single wrong element is caught once it is off by more than the tolerance times twice the size of
// its groups (tens to hundreds of elements) of the largest magnitude.
template <class T>
::testing::AssertionResult matches_projections(const Tensor<T>& actual, const Record& r, const std::string& name) {
  const Index channels = actual.dim(3), pixels = actual.size() / channels;
  const double scale = r.result(name + "/scale").at(0);
  const auto& by_channel = r.result(name + "/channels");
  const auto& by_pixel = r.result(name + "/pixels");
  if (by_channel.size() != static_cast<std::size_t>(channels) || by_pixel.size() != static_cast<std::size_t>(pixels))
    return ::testing::AssertionFailure() << name << ": " << by_channel.size() << " channels and " << by_pixel.size()
                                         << " pixels stored, for a result of shape "
                                         << cnnprim::format_shape(actual.shape());
  // For each of `outer` groups o, the weighted sum of its `inner` elements i, at o * outer_step + i * inner_step.
  const auto compare_sums = [&](const char* group, Index outer, Index inner, Index outer_step, Index inner_step,
                                const std::vector<double>& stored) {
    for (Index o = 0; o < outer; ++o) {
      double sum = 0, weights = 0;
      for (Index i = 0; i < inner; ++i) {
        sum += projection_weight(i) * static_cast<double>(actual.data()[o * outer_step + i * inner_step]);
        weights += projection_weight(i);
      }
      const double expected = stored[static_cast<std::size_t>(o)];
      const double bound = reference_tolerance<T>() * scale * weights + 1e-9 * std::abs(expected);
      if (!(std::abs(sum - expected) <= bound))
        return ::testing::AssertionFailure() << name << ": the sum over " << group << " " << o << " is " << sum
                                             << ", PyTorch's " << expected << " (bound " << bound << ")";
    }
    return ::testing::AssertionSuccess();
  };
  if (auto result = compare_sums("the pixels of channel", channels, pixels, 1, channels, by_channel); !result)
    return result;
  return compare_sums("the channels of pixel", pixels, channels, channels, 1, by_pixel);
}

// Whether `actual` has `shape` and matches the record's result `name`: its values after `skip` leading extents,
// or its projections.
template <class T>
::testing::AssertionResult matches(const Tensor<T>& actual, const std::array<Index, 4>& shape, const Record& r,
                                   const std::string& name, std::size_t skip = 0) {
  if (actual.shape() != shape)
    return ::testing::AssertionFailure() << name << " has shape " << cnnprim::format_shape(actual.shape())
                                         << ", expected " << cnnprim::format_shape(shape);
  if (r.find(name + "/scale")) return matches_projections(actual, r, name);
  const auto& values = r.result(name);
  std::vector<T> data(values.begin() + static_cast<std::ptrdiff_t>(skip), values.end());
  return oracle::near(actual, Tensor<T>(shape, std::move(data)), reference_tolerance<T>());
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

// Every conv record through both backends and both forms.
template <class T>
void expect_convolutions_match(const std::vector<Record>& records, int expected_cases) {
  int cases = 0;
  for (const Record& r : records) {
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
    const auto& Z_extents = r.result("Z");
    const std::array<Index, 4> Z_shape{m, static_cast<Index>(Z_extents[0]), static_cast<Index>(Z_extents[1]), n_C};
    const Tensor<T> dZ = randn<T>(rng, Z_shape);

    for (const Backend be : {Backend::Loop, Backend::Eigen}) {
      SCOPED_TRACE(cnnprim::to_string(be));
      // The notebook's form: forward, then backward from the cache (through the activation it keeps).
      auto [Z, cache] = bias ? cnnprim::conv_forward(A_prev, Wt, b, hp, be) : cnnprim::conv_forward(A_prev, Wt, hp, be);
      EXPECT_TRUE(matches(Z, Z_shape, r, "Z", 2));
      const auto grads = cnnprim::conv_backward(dZ, cache, be);
      EXPECT_TRUE(matches(grads.dA_prev, A_prev.shape(), r, "dA_prev"));
      EXPECT_TRUE(matches(grads.dW, Wt.shape(), r, "dW"));
      if (bias) {
        EXPECT_TRUE(matches(grads.db, b.shape(), r, "db"));
      } else {
        EXPECT_TRUE(grads.db.empty());
      }

      // The second form, into the caller's tensors.
      Tensor<T> Z2(Z_shape), dZ_linear(Z_shape), dA_prev(A_prev.shape()), dW(Wt.shape()), db(b.shape());
      if (bias) cnnprim::conv_forward(A_prev, Wt, b, hp, Z2, be);
      else cnnprim::conv_forward(A_prev, Wt, hp, Z2, be);
      EXPECT_TRUE(matches(Z2, Z_shape, r, "Z", 2));
      cnnprim::activation_backward(dZ, Z2, hp.activation, dZ_linear);
      cnnprim::conv_backward_data(dZ_linear, Wt, hp, dA_prev, be);
      if (bias) cnnprim::conv_backward_weights(dZ_linear, A_prev, hp, dW, db, be);
      else cnnprim::conv_backward_weights(dZ_linear, A_prev, hp, dW, be);
      EXPECT_TRUE(matches(dA_prev, A_prev.shape(), r, "dA_prev"));
      EXPECT_TRUE(matches(dW, Wt.shape(), r, "dW"));
    }
  }
  EXPECT_EQ(cases, expected_cases);
}

// Every pool record through both backends and both forms.
template <class T>
void expect_poolings_match(const std::vector<Record>& records, int expected_cases) {
  int cases = 0;
  for (const Record& r : records) {
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
    const auto& A_extents = r.result("A");
    const std::array<Index, 4> A_shape{m, static_cast<Index>(A_extents[0]), static_cast<Index>(A_extents[1]), C};
    const Tensor<T> dA = randn<T>(rng, A_shape);
    for (const Backend be : {Backend::Loop, Backend::Eigen}) {
      SCOPED_TRACE(cnnprim::to_string(be));
      const auto [A, cache] = cnnprim::pool_forward(A_prev, hp, mode, be);
      EXPECT_TRUE(matches(A, A_shape, r, "A", 2));
      EXPECT_TRUE(matches(cnnprim::pool_backward(dA, cache, be), A_prev.shape(), r, "dA_prev"));
      Tensor<T> A2(A_shape), dA_prev(A_prev.shape());
      cnnprim::pool_forward(A_prev, hp, mode, A2, be);
      cnnprim::pool_backward(dA, A_prev, hp, mode, dA_prev, be);
      EXPECT_TRUE(matches(A2, A_shape, r, "A", 2));
      EXPECT_TRUE(matches(dA_prev, A_prev.shape(), r, "dA_prev"));
    }
  }
  EXPECT_EQ(cases, expected_cases);
}

template <class T>
class Reference : public ::testing::Test {};
TYPED_TEST_SUITE(Reference, oracle::Scalars, oracle::ScalarNames);

TYPED_TEST(Reference, ConvolutionsMatchPyTorch) { expect_convolutions_match<TypeParam>(narrow_records(), 240); }

TYPED_TEST(Reference, PoolingsMatchPyTorch) { expect_poolings_match<TypeParam>(narrow_records(), 160); }

TYPED_TEST(Reference, WideConvolutionsMatchPyTorch) { expect_convolutions_match<TypeParam>(wide_records(), 120); }

TYPED_TEST(Reference, WidePoolingsMatchPyTorch) { expect_poolings_match<TypeParam>(wide_records(), 60); }

}  // namespace
