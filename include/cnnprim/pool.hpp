// The pooling layer: pool_forward, pool_backward, max pooling's argmax form, create_mask_from_window and
// distribute_value.
//
// A_prev (m, n_H_prev, n_W_prev, n_C) -> A (m, n_H, n_W, n_C), n_H = floor((n_H_prev - f) / stride) + 1
// (n_W likewise) with the notebook's PoolParams{f, stride}; average divides by f * f. PoolParams' other
// fields add per-axis windows and strides, padding, ceil mode and global pooling (params.hpp, geometry.hpp);
// a pad cell never wins a max, and an average counts pad cells only with count_include_pad. Each operation
// has the notebook's form, which returns new tensors (and a cache), and a form that writes into the caller's
// views and keeps nothing, views that share no memory with the call's inputs or with each other; both take,
// last, the Threads they may use (threads.hpp; the Loop path runs on the calling thread).
// Max pooling also has an argmax form (max_pool_forward, max_pool_backward): forward records each window's
// first maximum in a byte, and backward routes dA by it without reading A_prev again; the notebook's form
// keeps that argmax in its cache.
// Max ties: only the first maximum in row-major window order gets the gradient, as in PyTorch and oneDNN,
// so a window of equal values (common after a ReLU) passes its gradient on once, not f * f times; the
// notebook's `x == np.max(x)` would multiply it. A NaN is a window's maximum; with several, the first one.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "eigen/pool.hpp"
#include "errors.hpp"
#include "geometry.hpp"
#include "loop/pool.hpp"
#include "params.hpp"
#include "tensor.hpp"
#include "threads.hpp"

namespace cnnprim {

/// What pool_backward needs, as the notebook's cache (A_prev, hparameters), and the mode forward computed:
/// a copy of A_prev (moved in when pool_forward was given an rvalue Tensor), so that backward sees the values
/// forward saw whatever the caller does later. After max pooling with windows of at most max_pool_positions
/// elements, argmax holds each window's first maximum (as the second form's max_pool_forward writes it), so
/// that a max backward reads one byte per element of A in place of A_prev's windows; it is empty otherwise.
template <class T>
struct PoolCache {
  Tensor<T> A_prev;
  PoolParams hp;
  PoolMode mode = PoolMode::Max;
  Tensor<std::uint8_t> argmax{};
};

/// The most elements of A_prev one window may hold for max_pool_forward's argmax: positions 0 to 255.
inline constexpr Index max_pool_positions = 256;

template <class T>
struct PoolForward {
  Tensor<T> A;
  PoolCache<T> cache;
};

namespace detail {

// dA must have the shape of the A (`a_name`) that A_prev gives.
inline void require_dA_shape(const char* function, const std::array<Index, 4>& dA, const char* a_name,
                             const std::array<Index, 4>& a, const PoolGeometry& g) {
  require_same_shape(function, "dA", dA, output_shape(g), a_name, " for A_prev ", shape_text(a));
}

// A_prev_copy, when not null (a first form's cache), is set to A_prev: the Eigen path copies each row as it
// reads it.
template <class T>
void pool_forward(TensorView<const T> A_prev, const PoolGeometry& g, PoolMode mode, TensorView<T> A, Backend backend,
                  Threads threads, T* A_prev_copy = nullptr) {
  switch (backend) {
    case Backend::Loop:
      if (A_prev_copy) std::copy_n(A_prev.data(), A_prev.size(), A_prev_copy);
      loop::pool_forward(A_prev, g, mode, A);
      break;
    case Backend::Eigen: eigen::pool_forward(A_prev, g, mode, A, A_prev_copy, threads); break;
  }
}

template <class T>
void pool_backward(TensorView<const T> dA, TensorView<const T> A_prev, const PoolGeometry& g, PoolMode mode,
                   TensorView<T> dA_prev, Backend backend, Threads threads) {
  switch (backend) {
    case Backend::Loop: loop::pool_backward(dA, A_prev, g, mode, dA_prev); break;
    case Backend::Eigen: eigen::pool_backward(dA, A_prev, nullptr, g, mode, dA_prev, threads); break;
  }
}

template <class T>
void max_pool_forward(TensorView<const T> A_prev, const PoolGeometry& g, TensorView<T> A,
                      TensorView<std::uint8_t> argmax, Backend backend, Threads threads, T* A_prev_copy = nullptr) {
  switch (backend) {
    case Backend::Loop:
      if (A_prev_copy) std::copy_n(A_prev.data(), A_prev.size(), A_prev_copy);
      loop::max_pool_forward(A_prev, g, A, argmax);
      break;
    case Backend::Eigen: eigen::max_pool_forward(A_prev, g, A, argmax, A_prev_copy, threads); break;
  }
}

template <class T>
void max_pool_backward(TensorView<const T> dA, TensorView<const std::uint8_t> argmax, const PoolGeometry& g,
                       TensorView<T> dA_prev, Backend backend, Threads threads) {
  switch (backend) {
    case Backend::Loop: loop::max_pool_backward(dA, argmax, g, dA_prev); break;
    case Backend::Eigen: eigen::pool_backward(dA, {}, argmax.data(), g, PoolMode::Max, dA_prev, threads); break;
  }
}

// The argmax of max_pool_forward has A's shape, and the windows at most max_pool_positions elements.
inline void require_argmax(const char* function, const std::array<Index, 4>& argmax, const char* a_name,
                           const PoolGeometry& g) {
  require_same_shape(function, "argmax", argmax, output_shape(g), a_name);
  if (g.max_taps() > max_pool_positions)
    fail(function, "argmax holds window positions below ", max_pool_positions, ", but a window holds ",
         g.max_taps(), " elements of A_prev");
}

// distribute_value(2, {2, 2}) computes in double, as numpy does with an integer dz.
template <class T>
using real_t = std::conditional_t<std::is_integral_v<T>, double, T>;

}  // namespace detail

/// A = max or average of every window of A_prev that hp describes, into the caller's A (m, n_H, n_W, n_C);
/// keeps nothing. Throws shape_error when a window extent or stride is < 1, a pad is negative or not less than
/// the window, a window exceeds the padded input, or A has another shape.
template <class In>
void pool_forward(const In& A_prev, PoolParams hp, PoolMode mode, detail::output_t<In> A,
                  Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<detail::tensor_value_t<In>>, "cnnprim computes in float or double");
  const detail::input_t<In> a = A_prev;
  const auto g = detail::pool_geometry("pool_forward", "A_prev", a.shape(), hp);
  detail::require_same_shape("pool_forward", "A", A.shape(), detail::output_shape(g), "A_prev ",
                             detail::shape_text(a.shape()));
  detail::require_apart("pool_forward", "A", A, "A_prev", a);
  detail::pool_forward(a, g, mode, A, backend, threads);
}

/// A = max or average of every window of A_prev that hp describes; returns {A, cache}, the cache holding the
/// mode. An rvalue A_prev is moved into the cache instead of copied. Throws shape_error as the form above.
template <class In, class T = detail::tensor_value_t<In>>
PoolForward<T> pool_forward(In&& A_prev, PoolParams hp, PoolMode mode = PoolMode::Max,
                            Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  const detail::input_t<In> a = A_prev;
  const auto g = detail::pool_geometry("pool_forward", "A_prev", a.shape(), hp);
  auto A = Tensor<T>::uninitialized(detail::output_shape(g), "pool_forward", "A's shape");
  // The cache's A_prev: an rvalue Tensor moved in, anything else copied by the forward pass.
  constexpr bool moved = std::is_same_v<In, Tensor<T>>;
  Tensor<T> kept = moved ? Tensor<T>() : Tensor<T>::uninitialized(a.shape());
  Tensor<std::uint8_t> argmax;
  if (mode == PoolMode::Max && g.max_taps() <= max_pool_positions) {
    argmax = Tensor<std::uint8_t>::uninitialized(A.shape());
    detail::max_pool_forward(a, g, A.view(), argmax.view(), backend, threads, kept.data());
  } else {
    detail::pool_forward(a, g, mode, A.view(), backend, threads, kept.data());
  }
  if constexpr (moved) kept = std::move(A_prev);
  return {std::move(A), {std::move(kept), hp, mode, std::move(argmax)}};
}

/// Max pooling that also writes, for max_pool_backward, the position of each window's first maximum (by the
/// rule above) in the caller's argmax (the shape of A, a byte each): r * width + s for the window's element
/// (r, s), counting only the window's elements inside the image, as oneDNN's workspace does. Keeps nothing.
/// Throws shape_error as pool_forward does, when argmax is not the shape of A, or when a window holds more
/// than max_pool_positions elements of A_prev.
template <class In>
void max_pool_forward(const In& A_prev, PoolParams hp, detail::output_t<In> A, TensorView<std::uint8_t> argmax,
                      Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<detail::tensor_value_t<In>>, "cnnprim computes in float or double");
  const detail::input_t<In> a = A_prev;
  const auto g = detail::pool_geometry("max_pool_forward", "A_prev", a.shape(), hp);
  detail::require_same_shape("max_pool_forward", "A", A.shape(), detail::output_shape(g), "A_prev ",
                             detail::shape_text(a.shape()));
  detail::require_argmax("max_pool_forward", argmax.shape(), "A", g);
  detail::require_apart("max_pool_forward", "A", A, "A_prev", a);
  detail::require_apart("max_pool_forward", "argmax", argmax, "A_prev", a);
  detail::require_apart("max_pool_forward", "argmax", argmax, "A", A);
  detail::max_pool_forward(a, g, A, argmax, backend, threads);
}

/// Max pooling's dA_prev (the caller's) from dA and max_pool_forward's argmax, without A_prev: each dA goes to
/// the position argmax names in its window (a position past the window, which max_pool_forward never writes,
/// passes nothing). Keeps nothing. Throws shape_error when dA or argmax is not the shape of the A that hp gives
/// for dA_prev's shape, or a window holds more than max_pool_positions elements.
template <class In>
void max_pool_backward(const In& dA, TensorView<const std::uint8_t> argmax, PoolParams hp,
                       detail::output_t<In> dA_prev, Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<detail::tensor_value_t<In>>, "cnnprim computes in float or double");
  const detail::input_t<In> da = dA;
  const auto g = detail::pool_geometry("max_pool_backward", "dA_prev", dA_prev.shape(), hp);
  detail::require_same_shape("max_pool_backward", "dA", da.shape(), detail::output_shape(g), "the A for dA_prev ",
                             detail::shape_text(dA_prev.shape()));
  detail::require_argmax("max_pool_backward", argmax.shape(), "dA", g);
  detail::require_apart("max_pool_backward", "dA_prev", dA_prev, "dA", da);
  detail::require_apart("max_pool_backward", "dA_prev", dA_prev, "argmax", argmax);
  detail::max_pool_backward(da, argmax, g, dA_prev, backend, threads);
}

/// dA_prev (the caller's, the shape of A_prev) from dA (the shape of A) and the A_prev, hp and mode of the
/// forward pass; keeps nothing. Throws shape_error when dA or dA_prev does not match A_prev.
template <class In>
void pool_backward(const In& dA, detail::input_t<In> A_prev, PoolParams hp, PoolMode mode,
                   detail::output_t<In> dA_prev, Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<detail::tensor_value_t<In>>, "cnnprim computes in float or double");
  const detail::input_t<In> da = dA;
  const auto g = detail::pool_geometry("pool_backward", "A_prev", A_prev.shape(), hp);
  detail::require_dA_shape("pool_backward", da.shape(), "the A", A_prev.shape(), g);
  detail::require_same_shape("pool_backward", "dA_prev", dA_prev.shape(), A_prev.shape(), "A_prev");
  detail::require_apart("pool_backward", "dA_prev", dA_prev, "dA", da);
  detail::require_apart("pool_backward", "dA_prev", dA_prev, "A_prev", A_prev);
  detail::pool_backward(da, A_prev, g, mode, dA_prev, backend, threads);
}

/// dA_prev (the shape of A_prev) from dA (the shape of A) and pool_forward's cache, in the given mode: the
/// notebook runs average backward on a max-forward cache. Throws shape_error when dA does not match the cache.
template <class In, class T = detail::tensor_value_t<In>>
Tensor<T> pool_backward(const In& dA, const PoolCache<T>& cache, PoolMode mode, Backend backend = Backend::Eigen,
                        Threads threads = {}) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  const detail::input_t<In> da = dA;
  const auto g = detail::pool_geometry("pool_backward", "A_prev", cache.A_prev.shape(), cache.hp);
  detail::require_dA_shape("pool_backward", da.shape(), "the cache's A", cache.A_prev.shape(), g);
  auto dA_prev = Tensor<T>::uninitialized(cache.A_prev.shape());
  if (mode == PoolMode::Max && cache.argmax.shape() == da.shape())
    detail::max_pool_backward(da, cache.argmax.view(), g, dA_prev.view(), backend, threads);
  else
    detail::pool_backward(da, cache.A_prev.view(), g, mode, dA_prev.view(), backend, threads);
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
