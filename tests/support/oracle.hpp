// Test support: an independent reference (direct formulas in long double, sharing no code with the
// library), reference-file reading, and tensor comparisons that print the worst coordinate on failure.
#pragma once

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include <cnnprim/cnnprim.hpp>

#include "kernels.hpp"

namespace oracle {

using cnnprim::Index;
using cnnprim::Tensor;

// The types of typed test suites, named "float" and "double" in test names.
using Scalars = ::testing::Types<float, double>;
struct ScalarNames {
  template <class T>
  static std::string GetName(int) {
    return std::is_same_v<T, float> ? "float" : "double";
  }
};

// Relative tolerance of API.md: max |a - b| / max |b| over a tensor.
template <class T>
constexpr double tolerance() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-12;
}

template <int Rank>
std::string coordinates(const std::array<Index, Rank>& shape, Index flat) {
  std::array<Index, Rank> at{};
  for (int k = Rank - 1; k >= 0; --k) {
    at[k] = flat % shape[k];
    flat /= shape[k];
  }
  return cnnprim::format_shape(at);
}

// Passes when max |actual - expected| / max |expected| <= relative; NaNs must sit at the same places.
template <class A, class B, int Rank>
::testing::AssertionResult near(const Tensor<A, Rank>& actual, const Tensor<B, Rank>& expected, double relative) {
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape " << cnnprim::format_shape(actual.shape()) << " but expected "
                                         << cnnprim::format_shape(expected.shape());
  double scale = 0, worst = 0;
  Index worst_at = -1;
  for (Index k = 0; k < expected.size(); ++k) {
    const double e = static_cast<double>(expected.data()[k]), a = static_cast<double>(actual.data()[k]);
    if (std::isnan(e) != std::isnan(a))
      return ::testing::AssertionFailure() << "at " << coordinates<Rank>(expected.shape(), k) << ": got " << a
                                           << ", expected " << e;
    if (std::isnan(e)) continue;
    if (std::isinf(e) || std::isinf(a)) {
      if (a != e)
        return ::testing::AssertionFailure() << "at " << coordinates<Rank>(expected.shape(), k) << ": got " << a
                                             << ", expected " << e;
      continue;
    }
    scale = std::max(scale, std::abs(e));
    if (std::abs(a - e) > worst) worst = std::abs(a - e), worst_at = k;
  }
  if (worst <= relative * std::max(scale, std::numeric_limits<double>::min())) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "max |a - b| = " << worst << " > " << relative << " * max |b| = " << scale
                                       << " at " << coordinates<Rank>(expected.shape(), worst_at) << ": got "
                                       << actual.data()[worst_at] << ", expected " << expected.data()[worst_at];
}

// Reads "name d0 d1 ..." / "values" blocks, grouped under "case ..." lines, from a file made by
// scripts/make_reference.py.
struct ReferenceCase {
  std::vector<Index> header;
  std::map<std::string, Tensor<double, 1>> values;
  std::map<std::string, std::vector<Index>> shapes;
};

inline std::vector<ReferenceCase> read_reference(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<ReferenceCase> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream head(line);
    std::string name;
    head >> name;
    if (name == "case") {
      cases.emplace_back();
      for (Index v; head >> v;) cases.back().header.push_back(v);
      continue;
    }
    if (cases.empty()) cases.emplace_back();
    std::vector<Index> shape;
    for (Index v; head >> v;) shape.push_back(v);
    std::getline(in, line);
    std::istringstream body(line);
    std::vector<double> values;
    for (double v; body >> v;) values.push_back(v);
    cases.back().shapes[name] = shape;
    cases.back().values[name] = Tensor<double, 1>({static_cast<Index>(values.size())}, values);
  }
  return cases;
}

template <class T, int Rank>
Tensor<double, Rank> reshape(const Tensor<double, 1>& flat, const std::array<Index, Rank>& shape) {
  return Tensor<double, Rank>(shape, std::vector<double>(flat.data(), flat.data() + flat.size()));
}

template <class To, class From, int Rank>
Tensor<To, Rank> cast(const Tensor<From, Rank>& x) {
  Tensor<To, Rank> y(x.shape());
  for (Index k = 0; k < x.size(); ++k) y.data()[k] = static_cast<To>(x.data()[k]);
  return y;
}

// Z[i, h, w, c] = b[c] + sum over the window's in-bounds elements; out-of-bounds ones are the zero padding.
template <class T>
Tensor<long double> conv_forward(const Tensor<T>& A, const Tensor<T>& W, const Tensor<T>& b, Index stride, Index pad) {
  const Index m = A.dim(0), H = A.dim(1), Wd = A.dim(2), C = A.dim(3), f = W.dim(0), K = W.dim(3);
  const Index n_H = (H + 2 * pad - f) / stride + 1, n_W = (Wd + 2 * pad - f) / stride + 1;
  Tensor<long double> Z({m, n_H, n_W, K});
  for (Index i = 0; i < m; ++i)
    for (Index y = 0; y < n_H; ++y)
      for (Index x = 0; x < n_W; ++x)
        for (Index c = 0; c < K; ++c) {
          long double s = b(0, 0, 0, c);
          for (Index p = 0; p < f; ++p)
            for (Index q = 0; q < f; ++q) {
              const Index row = y * stride + p - pad, col = x * stride + q - pad;
              if (row < 0 || row >= H || col < 0 || col >= Wd) continue;
              for (Index k = 0; k < C; ++k) s += static_cast<long double>(A(i, row, col, k)) * W(p, q, k, c);
            }
          Z(i, y, x, c) = s;
        }
  return Z;
}

struct ConvGrads {
  Tensor<long double> dA_prev, dW, db;
};

// The adjoint of conv_forward, element by element.
template <class T>
ConvGrads conv_backward(const Tensor<T>& dZ, const Tensor<T>& A, const Tensor<T>& W, Index stride, Index pad) {
  const Index m = A.dim(0), H = A.dim(1), Wd = A.dim(2), C = A.dim(3), f = W.dim(0), K = W.dim(3);
  ConvGrads g{Tensor<long double>(A.shape()), Tensor<long double>(W.shape()), Tensor<long double>({1, 1, 1, K})};
  for (Index i = 0; i < m; ++i)
    for (Index y = 0; y < dZ.dim(1); ++y)
      for (Index x = 0; x < dZ.dim(2); ++x)
        for (Index c = 0; c < K; ++c) {
          const long double dz = dZ(i, y, x, c);
          g.db(0, 0, 0, c) += dz;
          for (Index p = 0; p < f; ++p)
            for (Index q = 0; q < f; ++q) {
              const Index row = y * stride + p - pad, col = x * stride + q - pad;
              if (row < 0 || row >= H || col < 0 || col >= Wd) continue;
              for (Index k = 0; k < C; ++k) {
                g.dA_prev(i, row, col, k) += dz * W(p, q, k, c);
                g.dW(p, q, k, c) += dz * A(i, row, col, k);
              }
            }
        }
  return g;
}

// Position of a window's first maximum, NaN first: the rule of API.md, written independently.
template <class T>
std::pair<Index, Index> first_max(const Tensor<T>& A, Index i, Index y0, Index x0, Index c, Index f) {
  std::pair<Index, Index> best{-1, -1};
  for (Index p = 0; p < f; ++p)
    for (Index q = 0; q < f; ++q)
      if (std::isnan(A(i, y0 + p, x0 + q, c))) return {p, q};
  for (Index p = 0; p < f; ++p)
    for (Index q = 0; q < f; ++q)
      if (best.first < 0 || A(i, y0 + p, x0 + q, c) > A(i, y0 + best.first, x0 + best.second, c)) best = {p, q};
  return best;
}

template <class T>
Tensor<long double> pool_forward(const Tensor<T>& A, Index f, Index stride, cnnprim::PoolMode mode) {
  const Index m = A.dim(0), n_H = (A.dim(1) - f) / stride + 1, n_W = (A.dim(2) - f) / stride + 1, C = A.dim(3);
  Tensor<long double> out({m, n_H, n_W, C});
  for (Index i = 0; i < m; ++i)
    for (Index y = 0; y < n_H; ++y)
      for (Index x = 0; x < n_W; ++x)
        for (Index c = 0; c < C; ++c) {
          if (mode == cnnprim::PoolMode::Max) {
            const auto [p, q] = first_max(A, i, y * stride, x * stride, c, f);
            out(i, y, x, c) = A(i, y * stride + p, x * stride + q, c);
          } else {
            long double s = 0;
            for (Index p = 0; p < f; ++p)
              for (Index q = 0; q < f; ++q) s += A(i, y * stride + p, x * stride + q, c);
            out(i, y, x, c) = s / (f * f);
          }
        }
  return out;
}

template <class T>
Tensor<long double> pool_backward(const Tensor<T>& dA, const Tensor<T>& A, Index f, Index stride,
                                  cnnprim::PoolMode mode) {
  Tensor<long double> dA_prev(A.shape());
  for (Index i = 0; i < dA.dim(0); ++i)
    for (Index y = 0; y < dA.dim(1); ++y)
      for (Index x = 0; x < dA.dim(2); ++x)
        for (Index c = 0; c < dA.dim(3); ++c) {
          if (mode == cnnprim::PoolMode::Max) {
            const auto [p, q] = first_max(A, i, y * stride, x * stride, c, f);
            dA_prev(i, y * stride + p, x * stride + q, c) += dA(i, y, x, c);
          } else {
            for (Index p = 0; p < f; ++p)
              for (Index q = 0; q < f; ++q)
                dA_prev(i, y * stride + p, x * stride + q, c) += static_cast<long double>(dA(i, y, x, c)) / (f * f);
          }
        }
  return dA_prev;
}

// Random values in [-1, 1) from a fixed seed, independent of numpy::RandomState.
template <class T, int Rank>
Tensor<T, Rank> uniform(const std::array<Index, Rank>& shape, unsigned seed) {
  Tensor<T, Rank> x(shape);
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (Index k = 0; k < x.size(); ++k) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    x.data()[k] = static_cast<T>(static_cast<double>(state >> 11) / 9007199254740992.0 * 2 - 1);
  }
  return x;
}

// Loop and Eigen give the same convolution, forward and backward (dZ drawn from `seed`), each backend's cache
// serving the other's backward pass. Returns the Loop path's Z.
template <class T>
Tensor<T> expect_backends_agree(const Tensor<T>& A_prev, const Tensor<T>& W, const Tensor<T>& b,
                                const cnnprim::ConvParams& hp, double relative, unsigned seed) {
  using cnnprim::Backend;
  const auto loop = cnnprim::conv_forward(A_prev, W, b, hp, Backend::Loop);
  const auto eigen = cnnprim::conv_forward(A_prev, W, b, hp, Backend::Eigen);
  EXPECT_TRUE(near(eigen.Z, loop.Z, relative)) << "Z";
  const auto dZ = uniform<T, 4>(loop.Z.shape(), seed);
  const auto g_loop = cnnprim::conv_backward(dZ, eigen.cache, Backend::Loop);
  const auto g_eigen = cnnprim::conv_backward(dZ, loop.cache, Backend::Eigen);
  EXPECT_TRUE(near(g_eigen.dA_prev, g_loop.dA_prev, relative)) << "dA_prev";
  EXPECT_TRUE(near(g_eigen.dW, g_loop.dW, relative)) << "dW";
  EXPECT_TRUE(near(g_eigen.db, g_loop.db, relative)) << "db";
  return loop.Z;
}

// Draws integers in [lo, hi] from a fixed seed, for tests that sweep random shapes.
class ShapeDraw {
 public:
  explicit ShapeDraw(std::uint64_t seed) : state_(seed) {}
  Index operator()(Index lo, Index hi) {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    return lo + static_cast<Index>((state_ >> 33) % static_cast<std::uint64_t>(hi - lo + 1));
  }

 private:
  std::uint64_t state_;
};

// Names a test instance after its backend: `..._Loop`, `..._Eigen`.
struct BackendName {
  std::string operator()(const ::testing::TestParamInfo<cnnprim::Backend>& info) const {
    return cnnprim::to_string(info.param);
  }
};

// Runs `call`, expects a shape_error, and returns its message ("" when none was thrown).
template <class Call>
std::string error_message(Call call) {
  try {
    call();
  } catch (const cnnprim::shape_error& e) {
    return e.what();
  } catch (...) {
    ADD_FAILURE() << "threw something other than shape_error";
    return {};
  }
  ADD_FAILURE() << "did not throw";
  return {};
}

}  // namespace oracle
