// The pooling layer: pool_forward, pool_backward, create_mask_from_window and distribute_value.
//
// A_prev (m, n_H_prev, n_W_prev, n_C) -> A (m, n_H, n_W, n_C), n_H = floor((n_H_prev - f) / stride) + 1
// (n_W likewise); no padding. Average divides by f * f. Each operation has the notebook's form, which returns
// new tensors (and a cache), and a form that writes into the caller's views and keeps nothing; both take,
// last, the Threads they may use (threads.hpp; the Loop path runs on the calling thread).
// Max ties: only the first maximum in row-major window order gets the gradient, as in PyTorch and oneDNN,
// so a window of equal values (common after a ReLU) passes its gradient on once, not f * f times; the
// notebook's `x == np.max(x)` would multiply it. A NaN is a window's maximum; with several, the first one.
#pragma once

#include <algorithm>
#include <type_traits>

#include "eigen/pool.hpp"
#include "errors.hpp"
#include "loop/pool.hpp"
#include "params.hpp"
#include "tensor.hpp"
#include "threads.hpp"

namespace cnnprim {

/// What pool_backward needs, as the notebook's cache (A_prev, hparameters), and the mode forward computed:
/// a copy of A_prev (moved in when pool_forward was given an rvalue Tensor), so that backward sees the values
/// forward saw whatever the caller does later.
template <class T>
struct PoolCache {
  Tensor<T> A_prev;
  PoolParams hp;
  PoolMode mode = PoolMode::Max;
};

template <class T>
struct PoolForward {
  Tensor<T> A;
  PoolCache<T> cache;
};

namespace detail {

// Validates a pooling's input shape and hyperparameters and returns the shape of A.
inline std::array<Index, 4> pool_output_shape(const char* function, const char* a_name, const std::array<Index, 4>& a,
                                              PoolParams hp) {
  const Index n_H = output_size(function, "n_H_prev", a[1], hp.f, 0, hp.stride, a_name, " ", shape_text(a), " has ");
  const Index n_W = output_size(function, "n_W_prev", a[2], hp.f, 0, hp.stride, a_name, " ", shape_text(a), " has ");
  return {a[0], n_H, n_W, a[3]};
}

// dA must have the shape of the A (`a_name`) that A_prev gives.
inline void require_dA_shape(const char* function, const std::array<Index, 4>& dA, const char* a_name,
                             const std::array<Index, 4>& a, PoolParams hp) {
  require_same_shape(function, "dA", dA, pool_output_shape(function, "A_prev", a, hp), a_name, " for A_prev ",
                     shape_text(a));
}

template <class T>
void pool_forward(TensorView<const T> A_prev, PoolParams hp, PoolMode mode, TensorView<T> A, Backend backend,
                  Threads threads) {
  switch (backend) {
    case Backend::Loop: loop::pool_forward(A_prev, hp, mode, A); break;
    case Backend::Eigen: eigen::pool_forward(A_prev, hp, mode, A, threads); break;
  }
}

template <class T>
void pool_backward(TensorView<const T> dA, TensorView<const T> A_prev, PoolParams hp, PoolMode mode,
                   TensorView<T> dA_prev, Backend backend, Threads threads) {
  switch (backend) {
    case Backend::Loop: loop::pool_backward(dA, A_prev, hp, mode, dA_prev); break;
    case Backend::Eigen: eigen::pool_backward(dA, A_prev, hp, mode, dA_prev, threads); break;
  }
}

// distribute_value(2, {2, 2}) computes in double, as numpy does with an integer dz.
template <class T>
using real_t = std::conditional_t<std::is_integral_v<T>, double, T>;

}  // namespace detail

/// A = max or average of every f x f window of A_prev at hp.stride, into the caller's A (m, n_H, n_W, n_C);
/// keeps nothing. Throws shape_error when f < 1, stride < 1, f exceeds n_H_prev or n_W_prev, or A has
/// another shape.
template <class In>
void pool_forward(const In& A_prev, PoolParams hp, PoolMode mode, detail::output_t<In> A,
                  Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<detail::tensor_value_t<In>>, "cnnprim computes in float or double");
  const detail::input_t<In> a = A_prev;
  detail::require_same_shape("pool_forward", "A", A.shape(),
                             detail::pool_output_shape("pool_forward", "A_prev", a.shape(), hp), "A_prev ",
                             detail::shape_text(a.shape()));
  detail::pool_forward(a, hp, mode, A, backend, threads);
}

/// A = max or average of every f x f window of A_prev at hp.stride; returns {A, cache}, the cache holding
/// the mode. An rvalue A_prev is moved into the cache instead of copied. Throws shape_error when f < 1,
/// stride < 1 or f exceeds n_H_prev or n_W_prev.
template <class In, class T = detail::tensor_value_t<In>>
PoolForward<T> pool_forward(In&& A_prev, PoolParams hp, PoolMode mode = PoolMode::Max,
                            Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  const detail::input_t<In> a = A_prev;
  auto A = Tensor<T>::uninitialized(detail::pool_output_shape("pool_forward", "A_prev", a.shape(), hp),
                                    "pool_forward", "A's shape");
  detail::pool_forward(a, hp, mode, A.view(), backend, threads);
  return {std::move(A), {detail::keep(std::forward<In>(A_prev)), hp, mode}};
}

/// dA_prev (the caller's, the shape of A_prev) from dA (the shape of A) and the A_prev, hp and mode of the
/// forward pass; keeps nothing. Throws shape_error when dA or dA_prev does not match A_prev.
template <class In>
void pool_backward(const In& dA, detail::input_t<In> A_prev, PoolParams hp, PoolMode mode,
                   detail::output_t<In> dA_prev, Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<detail::tensor_value_t<In>>, "cnnprim computes in float or double");
  const detail::input_t<In> da = dA;
  detail::require_dA_shape("pool_backward", da.shape(), "the A", A_prev.shape(), hp);
  detail::require_same_shape("pool_backward", "dA_prev", dA_prev.shape(), A_prev.shape(), "A_prev");
  detail::pool_backward(da, A_prev, hp, mode, dA_prev, backend, threads);
}

/// dA_prev (the shape of A_prev) from dA (the shape of A) and pool_forward's cache, in the given mode: the
/// notebook runs average backward on a max-forward cache. Throws shape_error when dA does not match the cache.
template <class In, class T = detail::tensor_value_t<In>>
Tensor<T> pool_backward(const In& dA, const PoolCache<T>& cache, PoolMode mode, Backend backend = Backend::Eigen,
                        Threads threads = {}) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  const detail::input_t<In> da = dA;
  detail::require_dA_shape("pool_backward", da.shape(), "the cache's A", cache.A_prev.shape(), cache.hp);
  auto dA_prev = Tensor<T>::uninitialized(cache.A_prev.shape());
  detail::pool_backward(da, cache.A_prev.view(), cache.hp, mode, dA_prev.view(), backend, threads);
  return dA_prev;
}

/// dA_prev from dA and pool_forward's cache, in the mode the cache recorded.
template <class In, class T = detail::tensor_value_t<In>>
Tensor<T> pool_backward(const In& dA, const PoolCache<T>& cache, Backend backend = Backend::Eigen,
                        Threads threads = {}) {
  return pool_backward(dA, cache, cache.mode, backend, threads);
}

/// 1 at the first maximum of x in row-major order (a NaN counts as the maximum), 0 elsewhere.
template <class In, class T = detail::tensor_value_t<In>>
Tensor<T, 2> create_mask_from_window(const In& x) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  const detail::input_t<In, 2> window = x;
  Tensor<T, 2> mask(window.shape());
  if (window.empty()) return mask;
  const Index k = detail::first_max_index(window.data(), window.dim(0), window.dim(1), window.dim(1), 1);
  mask.data()[k] = T(1);
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
  auto a = Tensor<R, 2>::uninitialized(shape, "distribute_value", "shape");
  std::fill_n(a.data(), a.size(), static_cast<R>(dz) / (static_cast<R>(shape[0]) * static_cast<R>(shape[1])));
  return a;
}

}  // namespace cnnprim
