// The pooling layer: pool_forward, pool_backward, create_mask_from_window and distribute_value.
//
// A_prev (m, n_H_prev, n_W_prev, n_C) -> A (m, n_H, n_W, n_C), n_H = floor((n_H_prev - f) / stride) + 1
// (n_W likewise); no padding. Average divides by f * f.
// Max ties: only the first maximum in row-major window order gets the gradient, as in PyTorch and oneDNN,
// so a window of equal values (common after a ReLU) passes its gradient on once, not f * f times; the
// notebook's `x == np.max(x)` would multiply it. A NaN is a window's maximum; with several, the first one.
#pragma once

#include <type_traits>

#include "eigen/pool.hpp"
#include "errors.hpp"
#include "loop/pool.hpp"
#include "params.hpp"
#include "tensor.hpp"

namespace cnnprim {

/// What pool_backward needs, as the notebook's cache (A_prev, hparameters); it serves either mode. A_prev
/// shares storage with the caller's tensor (no copy); a later write by the caller detaches it.
template <class T>
struct PoolCache {
  Tensor<T> A_prev;
  PoolParams hp;
};

template <class T>
struct PoolForward {
  Tensor<T> A;
  PoolCache<T> cache;
};

namespace detail {

// Validates a pooling's operands and returns the shape of A.
template <class T>
std::array<Index, 4> pool_output_shape(const char* function, const Tensor<T>& A_prev, PoolParams hp) {
  const auto& a = A_prev.shape();
  const std::string input = "A_prev " + format_shape(a);
  const Index n_H = output_size(function, input, "n_H_prev", a[1], hp.f, 0, hp.stride);
  const Index n_W = output_size(function, input, "n_W_prev", a[2], hp.f, 0, hp.stride);
  return {a[0], n_H, n_W, a[3]};
}

// distribute_value(2, {2, 2}) computes in double, as numpy does with an integer dz.
template <class T>
using real_t = std::conditional_t<std::is_integral_v<T>, double, T>;

}  // namespace detail

/// A = max or average of every f x f window of A_prev at hp.stride; returns {A, cache}.
/// Throws shape_error when f < 1, stride < 1 or f exceeds n_H_prev or n_W_prev.
template <class T>
PoolForward<T> pool_forward(const Tensor<T>& A_prev, PoolParams hp, PoolMode mode = PoolMode::Max,
                            Backend backend = Backend::Eigen) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  auto A = Tensor<T>::uninitialized(detail::pool_output_shape("pool_forward", A_prev, hp));
  switch (backend) {
    case Backend::Loop: loop::pool_forward(A_prev, hp, mode, A); break;
    case Backend::Eigen: eigen::pool_forward(A_prev, hp, mode, A); break;
  }
  return {std::move(A), {A_prev, hp}};
}

/// dA_prev (the shape of A_prev) from dA (the shape of A) and pool_forward's cache, for either mode.
/// Throws shape_error when dA does not match the cache.
template <class T>
Tensor<T> pool_backward(const Tensor<T>& dA, const PoolCache<T>& cache, PoolMode mode = PoolMode::Max,
                        Backend backend = Backend::Eigen) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  const auto A_shape = detail::pool_output_shape("pool_backward", cache.A_prev, cache.hp);
  detail::require_same_shape("pool_backward", "dA", dA.shape(), A_shape,
                             "the cache's A for A_prev " + format_shape(cache.A_prev.shape()));
  auto dA_prev = Tensor<T>::uninitialized(cache.A_prev.shape());
  switch (backend) {
    case Backend::Loop: loop::pool_backward(dA, cache.A_prev, cache.hp, mode, dA_prev); break;
    case Backend::Eigen: eigen::pool_backward(dA, cache.A_prev, cache.hp, mode, dA_prev); break;
  }
  return dA_prev;
}

/// 1 at the first maximum of x in row-major order (a NaN counts as the maximum), 0 elsewhere.
template <class T>
Tensor<T, 2> create_mask_from_window(const Tensor<T, 2>& x) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  Tensor<T, 2> mask(x.shape());
  const Index k = loop::first_max_index(x.data(), x.dim(0), x.dim(1), x.dim(1), 1);
  if (k >= 0) mask.data()[k] = T(1);
  return mask;
}

/// A (n_H, n_W) matrix holding dz / (n_H * n_W) everywhere; an integer dz gives a double matrix.
/// Throws shape_error when an extent is negative, or zero (the average would divide by zero).
template <class T>
Tensor<detail::real_t<T>, 2> distribute_value(T dz, std::array<Index, 2> shape) {
  using R = detail::real_t<T>;
  static_assert(detail::is_real_v<R>, "cnnprim computes in float or double");
  detail::require_at_least_one("distribute_value", "n_H", shape[0]);
  detail::require_at_least_one("distribute_value", "n_W", shape[1]);
  Tensor<R, 2> a(shape);
  a.vector().setConstant(static_cast<R>(dz) / static_cast<R>(shape[0] * shape[1]));
  return a;
}

}  // namespace cnnprim
