// The convolution layer: conv_single_step, conv_forward and conv_backward.
//
// A_prev (m, n_H_prev, n_W_prev, n_C_prev) * W (f, f, n_C_prev, n_C) + b (1, 1, 1, n_C)
//   -> Z (m, n_H, n_W, n_C),  n_H = floor((n_H_prev + 2 pad - f) / stride) + 1  (n_W likewise),
//   Z[i, h, w, c] = sum(A_prev_pad[i, h*stride : h*stride+f, w*stride : w*stride+f, :] * W[:, :, :, c]) + b[c].
// conv_backward returns dA_prev, dW, db with the shapes of A_prev, W, b, for every stride and pad (pad = 0
// included). Inputs are validated here, once, above both backends.
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

namespace cnnprim {

/// What conv_backward needs, as the notebook's cache (A_prev, W, b, hparameters). The tensors share storage
/// with the caller's (no copy is made); a later write to the caller's tensors detaches them, so the cache
/// keeps the values conv_forward saw.
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

// Validates a convolution's operands and returns the shape of Z.
template <class T>
std::array<Index, 4> conv_output_shape(const char* function, const Tensor<T>& A_prev, const Tensor<T>& W,
                                       const Tensor<T>& b, ConvParams hp) {
  const auto& a = A_prev.shape();
  const auto& w = W.shape();
  if (w[0] != w[1] || w[0] < 1)
    fail(function, "W must be (f, f, n_C_prev, n_C) with f >= 1, but W is ", format_shape(w));
  if (w[2] != a[3])
    fail(function, "W expects ", w[2], " input channels but A_prev ", format_shape(a), " has ", a[3]);
  require_same_shape(function, "b", b.shape(), typename Tensor<T>::Shape{1, 1, 1, w[3]}, "W " + format_shape(w));
  const std::string input = "A_prev " + format_shape(a);
  const Index n_H = output_size(function, input, "n_H_prev", a[1], w[0], hp.pad, hp.stride);
  const Index n_W = output_size(function, input, "n_W_prev", a[2], w[1], hp.pad, hp.stride);
  return {a[0], n_H, n_W, w[3]};
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
template <class T>
T conv_single_step(const Tensor<T, 3>& a_slice_prev, const Tensor<T, 3>& W, detail::identity_t<T> b) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  detail::require_same_shape("conv_single_step", "W", W.shape(), a_slice_prev.shape(),
                             "a_slice_prev " + format_shape(a_slice_prev.shape()));
  // s = W * a_slice_prev; Z = np.sum(s) + b. The products are stored before summing, as numpy does, so a
  // compiler cannot fuse them into the additions.
  std::vector<T> s(static_cast<std::size_t>(W.size()));
  std::transform(W.data(), W.data() + W.size(), a_slice_prev.data(), s.begin(), std::multiplies<T>());
  return detail::pairwise_sum(s.data(), W.size()) + b;
}

/// Z = conv(A_prev, W) + b with hp.stride and hp.pad; returns {Z, cache}.
/// Throws shape_error on a channel mismatch, a non-square W, a b that is not (1, 1, 1, n_C), stride < 1,
/// pad < 0, or a filter larger than the padded input.
template <class T>
ConvForward<T> conv_forward(const Tensor<T>& A_prev, const Tensor<T>& W, const Tensor<T>& b, ConvParams hp,
                            Backend backend = Backend::Eigen) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  auto Z = Tensor<T>::uninitialized(detail::conv_output_shape("conv_forward", A_prev, W, b, hp));
  switch (backend) {
    case Backend::Loop: loop::conv_forward(A_prev, W, b, hp, Z); break;
    case Backend::Eigen: eigen::conv_forward(A_prev, W, b, hp, Z); break;
  }
  return {std::move(Z), {A_prev, W, b, hp}};
}

/// Gradients of the loss with respect to A_prev, W and b, given dZ (the shape of Z) and conv_forward's cache.
/// Throws shape_error when dZ does not match the cache.
template <class T>
ConvGradients<T> conv_backward(const Tensor<T>& dZ, const ConvCache<T>& cache, Backend backend = Backend::Eigen) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  const auto& [A_prev, W, b, hp] = cache;
  const auto Z_shape = detail::conv_output_shape("conv_backward", A_prev, W, b, hp);
  detail::require_same_shape("conv_backward", "dZ", dZ.shape(), Z_shape,
                             "the cache's Z for A_prev " + format_shape(A_prev.shape()) + " and W " +
                                 format_shape(W.shape()));
  ConvGradients<T> grads{Tensor<T>::uninitialized(A_prev.shape()), Tensor<T>::uninitialized(W.shape()),
                         Tensor<T>::uninitialized(b.shape())};
  switch (backend) {
    case Backend::Loop: loop::conv_backward(dZ, A_prev, W, hp, grads.dA_prev, grads.dW, grads.db); break;
    case Backend::Eigen: eigen::conv_backward(dZ, A_prev, W, hp, grads.dA_prev, grads.dW, grads.db); break;
  }
  return grads;
}

}  // namespace cnnprim
