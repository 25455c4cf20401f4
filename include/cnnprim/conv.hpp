// The convolution layer: conv_single_step, conv_forward and conv_backward.
//
// A_prev (m, n_H_prev, n_W_prev, n_C_prev) * W (f, f, n_C_prev, n_C) + b (1, 1, 1, n_C)
//   -> Z (m, n_H, n_W, n_C),  n_H = floor((n_H_prev + 2 pad - f) / stride) + 1  (n_W likewise),
//   Z[i, h, w, c] = sum(A_prev_pad[i, h*stride : h*stride+f, w*stride : w*stride+f, :] * W[:, :, :, c]) + b[c],
// with the notebook's ConvParams{stride, pad}. Its other fields (params.hpp) add rectangular filters, strides
// per axis, padding per side or 'same', dilation, groups and a fused activation; b may be left out.
// conv_backward returns dA_prev, dW, db with the shapes of A_prev, W, b, for every stride and pad (pad = 0
// included); conv_backward_data and conv_backward_weights are its two halves. Each function has two forms:
// the notebook's, which returns new tensors (and a cache), and one that writes into the caller's views and
// keeps nothing, views that share no memory with the call's inputs or with each other (activation_backward may
// write dA in place); both take, last, the Threads they may use (threads.hpp; the Loop path runs on the calling
// thread). Inputs are validated here, once, above both backends.
#pragma once

#include <algorithm>
#include <functional>
#include <type_traits>
#include <vector>

#include "eigen/conv.hpp"
#include "errors.hpp"
#include "geometry.hpp"
#include "loop/conv.hpp"
#include "params.hpp"
#include "tensor.hpp"
#include "threads.hpp"

namespace cnnprim {

/// What conv_backward needs, as the notebook's cache (A_prev, W, b, hparameters): copies of what conv_forward
/// was given (moved in when it was given an rvalue Tensor), so that backward sees the values forward saw
/// whatever the caller does later to its tensors, their memory or views of them. A layer without bias keeps an
/// empty b (every extent 0); a layer with an activation keeps its output Z, from which the activation's
/// gradient follows (Z is empty otherwise).
template <class T>
struct ConvCache {
  Tensor<T> A_prev;
  Tensor<T> W;
  Tensor<T> b;
  ConvParams hp;
  Tensor<T> Z{};
};

template <class T>
struct ConvForward {
  Tensor<T> Z;
  ConvCache<T> cache;
};

/// dA_prev, dW and db have the shapes of A_prev, W and b (so db is empty for a layer without bias).
template <class T>
struct ConvGradients {
  Tensor<T> dA_prev;
  Tensor<T> dW;
  Tensor<T> db;
};

namespace detail {

// Keeps a parameter out of template argument deduction, so conv_single_step(x, W, 0.5) works for float too.
template <class T>
struct identity {
  using type = T;
};
template <class T>
using identity_t = typename identity<T>::type;

inline void require_bias_shape(const char* function, const char* b_name, const std::array<Index, 4>& b,
                               const char* w_name, const std::array<Index, 4>& w) {
  require_same_shape(function, b_name, b, std::array<Index, 4>{1, 1, 1, w[3]}, w_name, " ", shape_text(w));
}

// dZ must have the shape of the Z (`z_name`) that A_prev and W give.
inline void require_dZ_shape(const char* function, const std::array<Index, 4>& dZ, const ConvGeometry& g,
                             const char* z_name, const char* a_name, const std::array<Index, 4>& a,
                             const char* w_name, const std::array<Index, 4>& w) {
  require_same_shape(function, "dZ", dZ, output_shape(g), z_name, " for ", a_name, " ", shape_text(a), " and ",
                     w_name, " ", shape_text(w));
}

// The second form's Z apart from A_prev, W and b (when there is one).
template <class T>
void require_conv_forward_apart(TensorView<T> Z, TensorView<const T> A_prev, TensorView<const T> W,
                                const TensorView<const T>* b) {
  require_apart("conv_forward", "Z", Z, "A_prev", A_prev);
  require_apart("conv_forward", "Z", Z, "W", W);
  if (b) require_apart("conv_forward", "Z", Z, "b", *b);
}

template <class T>
void conv_forward(TensorView<const T> A_prev, TensorView<const T> W, const T* b, const ConvGeometry& g,
                  TensorView<T> Z, Backend backend, Threads threads) {
  switch (backend) {
    case Backend::Loop:
      loop::conv_forward(A_prev, W, b ? TensorView<const T>(b, {1, 1, 1, g.n_C}) : TensorView<const T>(), g, Z);
      break;
    case Backend::Eigen: eigen::conv_forward(A_prev, W, b, g, Z, threads); break;
  }
}

template <class T>
void conv_backward_data(TensorView<const T> dZ, TensorView<const T> W, const ConvGeometry& g, TensorView<T> dA_prev,
                        Backend backend, Threads threads) {
  switch (backend) {
    case Backend::Loop: loop::conv_backward_data(dZ, W, g, dA_prev); break;
    case Backend::Eigen: eigen::conv_backward_data(dZ, W, g, dA_prev, threads); break;
  }
}

template <class T>
void conv_backward_weights(TensorView<const T> dZ, TensorView<const T> A_prev, const ConvGeometry& g,
                           TensorView<T> dW, TensorView<T> db, Backend backend, Threads threads) {
  switch (backend) {
    case Backend::Loop: loop::conv_backward_weights(dZ, A_prev, g, dW, db); break;
    case Backend::Eigen: eigen::conv_backward_weights(dZ, A_prev, g, dW, db, threads); break;
  }
}

// dZ = dA where the activation passes the gradient at A, else 0. The tasks are contiguous pieces, as the
// images are in the kernels, so that each thread reads what it last wrote.
template <class T>
void activation_backward(TensorView<const T> dA, TensorView<const T> A, const Activation& activation,
                         TensorView<T> dZ, Threads threads) {
  const Index n = dA.size(), pieces = 16;
  const T *da = dA.data(), *a = A.data();
  T* const dz = dZ.data();
  eigen::parallel_for(threads, pieces, double(n), [&](Index k) {
    const eigen::Range range = eigen::piece(n, pieces, k);
    with_constant_kind(activation.kind, [=](auto kind) {  // by value, as in activate
      const Activation rule{kind, activation.lo, activation.hi};
      for (Index j = range.begin; j < range.end; ++j) dz[j] = rule.passes(a[j]) ? da[j] : T(0);
    });
  });
}

// The checks and the computation of both forms of conv_forward; b may be null (no bias).
template <class T>
ConvGeometry checked_conv_forward(TensorView<const T> A_prev, TensorView<const T> W, const TensorView<const T>* b,
                                  const ConvParams& hp) {
  const auto g = conv_geometry("conv_forward", "A_prev", A_prev.shape(), "W", W.shape(), hp);
  if (b) require_bias_shape("conv_forward", "b", b->shape(), "W", W.shape());
  return g;
}

// Sums s[0..n) in the order of numpy's pairwise summation (np.sum), so that conv_single_step reproduces the
// notebook's printed Z to the last digit: eight running sums per block of up to 128 terms, halves above.
template <class T>
T pairwise_sum(const T* s, Index n) {
  if (n < 8) {
    T sum = 0;
    for (Index k = 0; k < n; ++k) sum += s[k];
    return sum;
  }
  if (n <= 128) {
    T r[8];
    std::copy_n(s, 8, r);
    Index k = 8;
    for (; k < n - n % 8; k += 8)
      for (Index j = 0; j < 8; ++j) r[j] += s[k + j];
    T sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; k < n; ++k) sum += s[k];
    return sum;
  }
  const Index half = n / 2 - (n / 2) % 8;
  return pairwise_sum(s, half) + pairwise_sum(s + half, n - half);
}

}  // namespace detail

/// The sum of a_slice_prev * W over one window, plus b; both are (f, f, n_C_prev).
/// Throws shape_error when the two shapes differ.
template <class In, class T = detail::tensor_value_t<In>>
T conv_single_step(const In& a_slice_prev, detail::input_t<In, 3> W, detail::identity_t<T> b) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  const detail::input_t<In, 3> a = a_slice_prev;
  detail::require_same_shape("conv_single_step", "W", W.shape(), a.shape(), "a_slice_prev ",
                             detail::shape_text(a.shape()));
  // s = W * a_slice_prev; Z = np.sum(s) + b. The products are stored before summing, as numpy does, so a
  // compiler cannot fuse them into the additions.
  std::vector<T> s(static_cast<std::size_t>(W.size()));
  std::transform(W.data(), W.data() + W.size(), a.data(), s.begin(), std::multiplies<T>());
  return detail::pairwise_sum(s.data(), W.size()) + b;
}

/// Z = activation(conv(A_prev, W) + b) with hp's strides, padding, dilation and groups (params.hpp), into
/// the caller's Z (m, n_H, n_W, n_C); keeps nothing. Throws shape_error on a channel or group mismatch, a b that
/// is not (1, 1, 1, n_C), a stride, dilation or groups < 1, a negative pad, a filter larger than the padded
/// input, a clamp with lo > hi, or a Z of another shape.
template <class In>
void conv_forward(const In& A_prev, detail::input_t<In> W, detail::input_t<In> b, const ConvParams& hp,
                  detail::output_t<In> Z, Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<detail::tensor_value_t<In>>, "cnnprim computes in float or double");
  const detail::input_t<In> a = A_prev;
  const auto g = detail::checked_conv_forward(a, W, &b, hp);
  detail::require_same_shape("conv_forward", "Z", Z.shape(), detail::output_shape(g), "A_prev ",
                             detail::shape_text(a.shape()), " and W ", detail::shape_text(W.shape()));
  detail::require_conv_forward_apart(Z, a, W, &b);
  detail::conv_forward(a, W, b.data(), g, Z, backend, threads);
}

/// The same without bias: Z = activation(conv(A_prev, W)).
template <class In>
void conv_forward(const In& A_prev, detail::input_t<In> W, const ConvParams& hp, detail::output_t<In> Z,
                  Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<detail::tensor_value_t<In>>, "cnnprim computes in float or double");
  const detail::input_t<In> a = A_prev;
  const auto g = detail::checked_conv_forward<detail::tensor_value_t<In>>(a, W, nullptr, hp);
  detail::require_same_shape("conv_forward", "Z", Z.shape(), detail::output_shape(g), "A_prev ",
                             detail::shape_text(a.shape()), " and W ", detail::shape_text(W.shape()));
  detail::require_conv_forward_apart<detail::tensor_value_t<In>>(Z, a, W, nullptr);
  detail::conv_forward(a, W, static_cast<const detail::tensor_value_t<In>*>(nullptr), g, Z, backend, threads);
}

namespace detail {

template <class In, class T = tensor_value_t<In>>
ConvForward<T> conv_forward(In&& A_prev, input_t<In> W, const TensorView<const T>* b, const ConvParams& hp,
                            Backend backend, Threads threads) {
  const input_t<In> a = A_prev;
  const auto g = checked_conv_forward(a, W, b, hp);
  auto Z = Tensor<T>::uninitialized(output_shape(g), "conv_forward", "Z's shape");
  conv_forward(a, W, b ? b->data() : nullptr, g, Z.view(), backend, threads);
  ConvCache<T> cache{keep(std::forward<In>(A_prev)), Tensor<T>(W), b ? Tensor<T>(*b) : Tensor<T>(), hp, {}};
  if (hp.activation.kind != Activation::Kind::None) cache.Z = Z;
  return {std::move(Z), std::move(cache)};
}

}  // namespace detail

/// Z = activation(conv(A_prev, W) + b) with hp; returns {Z, cache}. An rvalue A_prev is moved into the cache
/// instead of copied. Throws shape_error as the form above does.
template <class In, class T = detail::tensor_value_t<In>>
ConvForward<T> conv_forward(In&& A_prev, detail::input_t<In> W, detail::input_t<In> b, const ConvParams& hp,
                            Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  return detail::conv_forward(std::forward<In>(A_prev), W, &b, hp, backend, threads);
}

/// The same without bias; the cache's b is empty.
template <class In, class T = detail::tensor_value_t<In>>
ConvForward<T> conv_forward(In&& A_prev, detail::input_t<In> W, const ConvParams& hp,
                            Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  return detail::conv_forward(std::forward<In>(A_prev), W, static_cast<const TensorView<const T>*>(nullptr), hp,
                              backend, threads);
}

/// dZ = dA where the activation passes its gradient at A (conv_forward's output), 0 elsewhere: the gradient
/// before a fused activation, for the second form's conv_backward_data and conv_backward_weights. dZ may be dA
/// itself. Runs on `threads` like the kernels (threads.hpp). Throws shape_error when A, dA and dZ differ in shape.
template <class In>
void activation_backward(const In& dA, detail::input_t<In> A, const Activation& activation, detail::output_t<In> dZ,
                         Threads threads = {}) {
  static_assert(detail::is_real_v<detail::tensor_value_t<In>>, "cnnprim computes in float or double");
  const detail::input_t<In> da = dA;
  detail::require_same_shape("activation_backward", "A", A.shape(), da.shape(), "dA");
  detail::require_same_shape("activation_backward", "dZ", dZ.shape(), da.shape(), "dA");
  detail::require_apart_or_same("activation_backward", "dZ", dZ, "dA", da);
  detail::require_apart_or_same("activation_backward", "dZ", dZ, "A", A);
  detail::activation_backward(da, A, activation, dZ, threads);
}

/// dA_prev (the caller's, the shape of A_prev) from dZ and W: the half of conv_backward a first layer does
/// not need. Throws shape_error when W does not fit dA_prev with hp, or dZ is not the shape of their Z.
template <class In>
void conv_backward_data(const In& dZ, detail::input_t<In> W, const ConvParams& hp, detail::output_t<In> dA_prev,
                        Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<detail::tensor_value_t<In>>, "cnnprim computes in float or double");
  const detail::input_t<In> dz = dZ;
  const auto g = detail::conv_geometry("conv_backward_data", "dA_prev", dA_prev.shape(), "W", W.shape(), hp);
  detail::require_dZ_shape("conv_backward_data", dz.shape(), g, "the Z", "dA_prev", dA_prev.shape(), "W",
                           W.shape());
  detail::require_apart("conv_backward_data", "dA_prev", dA_prev, "dZ", dz);
  detail::require_apart("conv_backward_data", "dA_prev", dA_prev, "W", W);
  detail::conv_backward_data(dz, W, g, dA_prev, backend, threads);
}

namespace detail {

// The checks and the computation of both overloads of conv_backward_weights; an empty db means no bias.
template <class T>
void checked_conv_backward_weights(TensorView<const T> dz, TensorView<const T> A_prev, const ConvParams& hp,
                                   TensorView<T> dW, TensorView<T> db, bool has_bias, Backend backend,
                                   Threads threads) {
  const auto g = conv_geometry("conv_backward_weights", "A_prev", A_prev.shape(), "dW", dW.shape(), hp);
  if (has_bias) require_bias_shape("conv_backward_weights", "db", db.shape(), "dW", dW.shape());
  require_dZ_shape("conv_backward_weights", dz.shape(), g, "the Z", "A_prev", A_prev.shape(), "dW", dW.shape());
  require_apart("conv_backward_weights", "dW", dW, "dZ", dz);
  require_apart("conv_backward_weights", "dW", dW, "A_prev", A_prev);
  require_apart("conv_backward_weights", "db", db, "dZ", dz);
  require_apart("conv_backward_weights", "db", db, "A_prev", A_prev);
  require_apart("conv_backward_weights", "db", db, "dW", dW);
  conv_backward_weights(dz, A_prev, g, dW, db, backend, threads);
}

}  // namespace detail

/// dW (the shape of W) and db (1, 1, 1, n_C), the caller's, from dZ and A_prev: the half of conv_backward a
/// frozen layer does not need. Throws shape_error when dW does not fit A_prev with hp, db is not
/// (1, 1, 1, n_C), or dZ is not the shape of their Z.
template <class In>
void conv_backward_weights(const In& dZ, detail::input_t<In> A_prev, const ConvParams& hp, detail::output_t<In> dW,
                           detail::output_t<In> db, Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<detail::tensor_value_t<In>>, "cnnprim computes in float or double");
  detail::checked_conv_backward_weights<detail::tensor_value_t<In>>(dZ, A_prev, hp, dW, db, true, backend, threads);
}

/// The same for a layer without bias: dW alone.
template <class In>
void conv_backward_weights(const In& dZ, detail::input_t<In> A_prev, const ConvParams& hp, detail::output_t<In> dW,
                           Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<detail::tensor_value_t<In>>, "cnnprim computes in float or double");
  detail::checked_conv_backward_weights<detail::tensor_value_t<In>>(dZ, A_prev, hp, dW, {}, false, backend,
                                                                     threads);
}

/// Gradients of the loss with respect to A_prev, W and b, given dZ (the shape of Z: the gradient of
/// conv_forward's output, through its activation if it has one) and conv_forward's cache.
/// Throws shape_error when dZ does not match the cache.
template <class In, class T = detail::tensor_value_t<In>>
ConvGradients<T> conv_backward(const In& dZ, const ConvCache<T>& cache, Backend backend = Backend::Eigen,
                               Threads threads = {}) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  const detail::input_t<In> dz = dZ;
  const auto& [A_prev, W, b, hp, Z] = cache;
  const auto g = detail::conv_geometry("conv_backward", "A_prev", A_prev.shape(), "W", W.shape(), hp);
  const bool has_bias = b.shape() != std::array<Index, 4>{};
  if (has_bias) detail::require_bias_shape("conv_backward", "b", b.shape(), "W", W.shape());
  detail::require_dZ_shape("conv_backward", dz.shape(), g, "the cache's Z", "A_prev", A_prev.shape(), "W",
                           W.shape());
  ConvGradients<T> grads{Tensor<T>::uninitialized(A_prev.shape()), Tensor<T>::uninitialized(W.shape()),
                         Tensor<T>::uninitialized(b.shape())};
  Tensor<T> dZ_linear;
  if (hp.activation.kind != Activation::Kind::None) {
    detail::require_same_shape("conv_backward", "the cache's Z", Z.shape(), dz.shape(), "dZ");
    dZ_linear = Tensor<T>::uninitialized(dz.shape());
    detail::activation_backward(dz, Z.view(), hp.activation, dZ_linear.view(), threads);
  }
  const TensorView<const T> d = dZ_linear.empty() ? dz : dZ_linear.view();
  detail::conv_backward_data(d, W.view(), g, grads.dA_prev.view(), backend, threads);
  detail::conv_backward_weights(d, A_prev.view(), g, grads.dW.view(), grads.db.view(), backend, threads);
  return grads;
}

}  // namespace cnnprim
