// The convolution layer: conv_single_step, conv_forward and conv_backward.
//
// A_prev (m, n_H_prev, n_W_prev, n_C_prev) * W (f, f, n_C_prev, n_C) + b (1, 1, 1, n_C)
//   -> Z (m, n_H, n_W, n_C),  n_H = floor((n_H_prev + 2 pad - f) / stride) + 1  (n_W likewise),
//   Z[i, h, w, c] = sum(A_prev_pad[i, h*stride : h*stride+f, w*stride : w*stride+f, :] * W[:, :, :, c]) + b[c].
// conv_backward returns dA_prev, dW, db with the shapes of A_prev, W, b, for every stride and pad (pad = 0
// included); conv_backward_data and conv_backward_weights are its two halves. Each function has two forms:
// the notebook's, which returns new tensors (and a cache), and one that writes into the caller's views and
// keeps nothing; both take, last, the Threads they may use (threads.hpp; the Loop path runs on the calling
// thread). Inputs are validated here, once, above both backends.
#pragma once

#include <algorithm>
#include <functional>
#include <type_traits>
#include <vector>

#include "eigen/conv.hpp"
#include "errors.hpp"
#include "loop/conv.hpp"
#include "params.hpp"
#include "tensor.hpp"
#include "threads.hpp"

namespace cnnprim {

/// What conv_backward needs, as the notebook's cache (A_prev, W, b, hparameters): copies of what conv_forward
/// was given (moved in when it was given an rvalue Tensor), so that backward sees the values forward saw
/// whatever the caller does later to its tensors, their memory or views of them.
template <class T>
struct ConvCache {
  Tensor<T> A_prev;
  Tensor<T> W;
  Tensor<T> b;
  ConvParams hp;
};

template <class T>
struct ConvForward {
  Tensor<T> Z;
  ConvCache<T> cache;
};

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

// Validates a convolution's input `a` (A_prev, or dA_prev) against its filter `w` (W, or dW), named as the
// user named them, and returns the shape of Z.
inline std::array<Index, 4> conv_output_shape(const char* function, const char* a_name, const std::array<Index, 4>& a,
                                              const char* w_name, const std::array<Index, 4>& w, ConvParams hp) {
  if (w[0] != w[1] || w[0] < 1)
    fail(function, w_name, " must be (f, f, n_C_prev, n_C) with f >= 1, but ", w_name, " is ", shape_text(w));
  if (w[2] != a[3])
    fail(function, w_name, " expects ", w[2], " input channels but ", a_name, " ", shape_text(a), " has ", a[3]);
  const Index n_H =
      output_size(function, "n_H_prev", a[1], w[0], hp.pad, hp.stride, a_name, " ", shape_text(a), " has ");
  const Index n_W =
      output_size(function, "n_W_prev", a[2], w[1], hp.pad, hp.stride, a_name, " ", shape_text(a), " has ");
  return {a[0], n_H, n_W, w[3]};
}

inline void require_bias_shape(const char* function, const char* b_name, const std::array<Index, 4>& b,
                               const char* w_name, const std::array<Index, 4>& w) {
  require_same_shape(function, b_name, b, std::array<Index, 4>{1, 1, 1, w[3]}, w_name, " ", shape_text(w));
}

// dZ must have the shape of the Z (`z_name`) that A_prev and W give.
inline void require_dZ_shape(const char* function, const std::array<Index, 4>& dZ, const std::array<Index, 4>& Z,
                             const char* z_name, const char* a_name, const std::array<Index, 4>& a,
                             const char* w_name, const std::array<Index, 4>& w) {
  require_same_shape(function, "dZ", dZ, Z, z_name, " for ", a_name, " ", shape_text(a), " and ", w_name, " ",
                     shape_text(w));
}

template <class T>
void conv_forward(TensorView<const T> A_prev, TensorView<const T> W, TensorView<const T> b, ConvParams hp,
                  TensorView<T> Z, Backend backend, Threads threads) {
  switch (backend) {
    case Backend::Loop: loop::conv_forward(A_prev, W, b, hp, Z); break;
    case Backend::Eigen: eigen::conv_forward(A_prev, W, b, hp, Z, threads); break;
  }
}

template <class T>
void conv_backward_data(TensorView<const T> dZ, TensorView<const T> W, ConvParams hp, TensorView<T> dA_prev,
                        Backend backend, Threads threads) {
  switch (backend) {
    case Backend::Loop: loop::conv_backward_data(dZ, W, hp, dA_prev); break;
    case Backend::Eigen: eigen::conv_backward_data(dZ, W, hp, dA_prev, threads); break;
  }
}

template <class T>
void conv_backward_weights(TensorView<const T> dZ, TensorView<const T> A_prev, ConvParams hp, TensorView<T> dW,
                           TensorView<T> db, Backend backend, Threads threads) {
  switch (backend) {
    case Backend::Loop: loop::conv_backward_weights(dZ, A_prev, hp, dW, db); break;
    case Backend::Eigen: eigen::conv_backward_weights(dZ, A_prev, hp, dW, db, threads); break;
  }
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

/// Z = conv(A_prev, W) + b with hp.stride and hp.pad, into the caller's Z (m, n_H, n_W, n_C); keeps nothing.
/// Throws shape_error on a channel mismatch, a non-square W, a b that is not (1, 1, 1, n_C), stride < 1,
/// pad < 0, a filter larger than the padded input, or a Z of another shape.
template <class In>
void conv_forward(const In& A_prev, detail::input_t<In> W, detail::input_t<In> b, ConvParams hp,
                  detail::output_t<In> Z, Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<detail::tensor_value_t<In>>, "cnnprim computes in float or double");
  const detail::input_t<In> a = A_prev;
  const auto Z_shape = detail::conv_output_shape("conv_forward", "A_prev", a.shape(), "W", W.shape(), hp);
  detail::require_bias_shape("conv_forward", "b", b.shape(), "W", W.shape());
  detail::require_same_shape("conv_forward", "Z", Z.shape(), Z_shape, "A_prev ", detail::shape_text(a.shape()),
                             " and W ", detail::shape_text(W.shape()));
  detail::conv_forward(a, W, b, hp, Z, backend, threads);
}

/// Z = conv(A_prev, W) + b with hp.stride and hp.pad; returns {Z, cache}. An rvalue A_prev is moved into the
/// cache instead of copied. Throws shape_error as the form above does.
template <class In, class T = detail::tensor_value_t<In>>
ConvForward<T> conv_forward(In&& A_prev, detail::input_t<In> W, detail::input_t<In> b, ConvParams hp,
                            Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  const detail::input_t<In> a = A_prev;
  const auto Z_shape = detail::conv_output_shape("conv_forward", "A_prev", a.shape(), "W", W.shape(), hp);
  detail::require_bias_shape("conv_forward", "b", b.shape(), "W", W.shape());
  auto Z = Tensor<T>::uninitialized(Z_shape, "conv_forward", "Z's shape");
  detail::conv_forward(a, W, b, hp, Z.view(), backend, threads);
  return {std::move(Z), {detail::keep(std::forward<In>(A_prev)), Tensor<T>(W), Tensor<T>(b), hp}};
}

/// dA_prev (the caller's, the shape of A_prev) from dZ and W: the half of conv_backward a first layer does
/// not need. Throws shape_error when W does not fit dA_prev, or dZ is not the shape of their Z.
template <class In>
void conv_backward_data(const In& dZ, detail::input_t<In> W, ConvParams hp, detail::output_t<In> dA_prev,
                        Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<detail::tensor_value_t<In>>, "cnnprim computes in float or double");
  const detail::input_t<In> dz = dZ;
  const auto Z_shape =
      detail::conv_output_shape("conv_backward_data", "dA_prev", dA_prev.shape(), "W", W.shape(), hp);
  detail::require_dZ_shape("conv_backward_data", dz.shape(), Z_shape, "the Z", "dA_prev", dA_prev.shape(), "W",
                           W.shape());
  detail::conv_backward_data(dz, W, hp, dA_prev, backend, threads);
}

/// dW (the shape of W) and db (1, 1, 1, n_C), the caller's, from dZ and A_prev: the half of conv_backward a
/// frozen layer does not need. Throws shape_error when dW does not fit A_prev, db is not (1, 1, 1, n_C), or
/// dZ is not the shape of their Z.
template <class In>
void conv_backward_weights(const In& dZ, detail::input_t<In> A_prev, ConvParams hp, detail::output_t<In> dW,
                           detail::output_t<In> db, Backend backend = Backend::Eigen, Threads threads = {}) {
  static_assert(detail::is_real_v<detail::tensor_value_t<In>>, "cnnprim computes in float or double");
  const detail::input_t<In> dz = dZ;
  const auto Z_shape =
      detail::conv_output_shape("conv_backward_weights", "A_prev", A_prev.shape(), "dW", dW.shape(), hp);
  detail::require_bias_shape("conv_backward_weights", "db", db.shape(), "dW", dW.shape());
  detail::require_dZ_shape("conv_backward_weights", dz.shape(), Z_shape, "the Z", "A_prev", A_prev.shape(), "dW",
                           dW.shape());
  detail::conv_backward_weights(dz, A_prev, hp, dW, db, backend, threads);
}

/// Gradients of the loss with respect to A_prev, W and b, given dZ (the shape of Z) and conv_forward's cache.
/// Throws shape_error when dZ does not match the cache.
template <class In, class T = detail::tensor_value_t<In>>
ConvGradients<T> conv_backward(const In& dZ, const ConvCache<T>& cache, Backend backend = Backend::Eigen,
                               Threads threads = {}) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  const detail::input_t<In> dz = dZ;
  const auto& [A_prev, W, b, hp] = cache;
  const auto Z_shape = detail::conv_output_shape("conv_backward", "A_prev", A_prev.shape(), "W", W.shape(), hp);
  detail::require_bias_shape("conv_backward", "b", b.shape(), "W", W.shape());
  detail::require_dZ_shape("conv_backward", dz.shape(), Z_shape, "the cache's Z", "A_prev", A_prev.shape(), "W",
                           W.shape());
  ConvGradients<T> grads{Tensor<T>::uninitialized(A_prev.shape()), Tensor<T>::uninitialized(W.shape()),
                         Tensor<T>::uninitialized(b.shape())};
  detail::conv_backward_data(dz, W.view(), hp, grads.dA_prev.view(), backend, threads);
  detail::conv_backward_weights(dz, A_prev.view(), hp, grads.dW.view(), grads.db.view(), backend, threads);
  return grads;
}

}  // namespace cnnprim
