// Naive convolution kernels that read like the notebook: zero_pad, conv_forward, conv_backward.
//
// Kernels trust their inputs (the public functions in conv.hpp and pad.hpp validate them) and write every element of
// preallocated outputs of the right shape. A_prev (m, n_H_prev, n_W_prev, n_C_prev), W (f, f, n_C_prev, n_C),
// b (1, 1, 1, n_C), Z (m, n_H, n_W, n_C) with n_H = (n_H_prev + 2 pad - f) / stride + 1.
#pragma once

#include <cassert>

#include "../params.hpp"
#include "../tensor.hpp"

namespace cnnprim::loop {

/// X (m, n_H, n_W, n_C) -> X_pad (m, n_H + 2 pad, n_W + 2 pad, n_C), zeros around each image.
template <class T>
void zero_pad(const Tensor<T>& X, Index pad, Tensor<T>& X_pad) {
  const Index m = X.dim(0), n_H = X.dim(1), n_W = X.dim(2), n_C = X.dim(3);
  assert(X_pad.shape() == (typename Tensor<T>::Shape{m, n_H + 2 * pad, n_W + 2 * pad, n_C}));
  X_pad.vector().setZero();
  for (Index i = 0; i < m; ++i)
    for (Index h = 0; h < n_H; ++h)
      for (Index w = 0; w < n_W; ++w)
        for (Index c = 0; c < n_C; ++c) X_pad(i, h + pad, w + pad, c) = X(i, h, w, c);
}

/// Z[i, h, w, c] = sum(a_slice_prev * W[:, :, :, c]) + b[c], one window at a time.
template <class T>
void conv_forward(const Tensor<T>& A_prev, const Tensor<T>& W, const Tensor<T>& b, ConvParams hp, Tensor<T>& Z) {
  const Index m = A_prev.dim(0), n_H_prev = A_prev.dim(1), n_W_prev = A_prev.dim(2), n_C_prev = A_prev.dim(3);
  const Index f = W.dim(0), n_C = W.dim(3);
  const Index stride = hp.stride, pad = hp.pad;
  const Index n_H = Z.dim(1), n_W = Z.dim(2);
  assert(Z.dim(0) == m && Z.dim(3) == n_C);

  Tensor<T> A_prev_pad({m, n_H_prev + 2 * pad, n_W_prev + 2 * pad, n_C_prev});
  zero_pad(A_prev, pad, A_prev_pad);

  for (Index i = 0; i < m; ++i)
    for (Index h = 0; h < n_H; ++h)
      for (Index w = 0; w < n_W; ++w)
        for (Index c = 0; c < n_C; ++c) {
          const Index vert_start = h * stride, horiz_start = w * stride;
          // conv_single_step on a_slice_prev = A_prev_pad[i, vert_start:vert_start+f, horiz_start:horiz_start+f, :]
          T s = 0;
          for (Index kh = 0; kh < f; ++kh)
            for (Index kw = 0; kw < f; ++kw)
              for (Index k = 0; k < n_C_prev; ++k)
                s += A_prev_pad(i, vert_start + kh, horiz_start + kw, k) * W(kh, kw, k, c);
          Z(i, h, w, c) = s + b(0, 0, 0, c);
        }
}

/// dA_prev += W[:, :, :, c] * dZ, dW[:, :, :, c] += a_slice * dZ, db[c] += dZ over every window, then
/// dA_prev is cut out of its padded version as [pad : pad + n_H_prev] (correct at pad = 0, unlike [pad:-pad]).
template <class T>
void conv_backward(const Tensor<T>& dZ, const Tensor<T>& A_prev, const Tensor<T>& W, ConvParams hp,
                   Tensor<T>& dA_prev, Tensor<T>& dW, Tensor<T>& db) {
  const Index m = A_prev.dim(0), n_H_prev = A_prev.dim(1), n_W_prev = A_prev.dim(2), n_C_prev = A_prev.dim(3);
  const Index f = W.dim(0), n_C = W.dim(3);
  const Index stride = hp.stride, pad = hp.pad;
  const Index n_H = dZ.dim(1), n_W = dZ.dim(2);
  assert(dZ.dim(0) == m && dZ.dim(3) == n_C);

  Tensor<T> A_prev_pad({m, n_H_prev + 2 * pad, n_W_prev + 2 * pad, n_C_prev});
  zero_pad(A_prev, pad, A_prev_pad);
  Tensor<T> dA_prev_pad(A_prev_pad.shape());
  dW.vector().setZero();
  db.vector().setZero();

  for (Index i = 0; i < m; ++i)
    for (Index h = 0; h < n_H; ++h)
      for (Index w = 0; w < n_W; ++w)
        for (Index c = 0; c < n_C; ++c) {
          const Index vert_start = h * stride, horiz_start = w * stride;
          const T dz = dZ(i, h, w, c);
          for (Index kh = 0; kh < f; ++kh)
            for (Index kw = 0; kw < f; ++kw)
              for (Index k = 0; k < n_C_prev; ++k) {
                dA_prev_pad(i, vert_start + kh, horiz_start + kw, k) += W(kh, kw, k, c) * dz;
                dW(kh, kw, k, c) += A_prev_pad(i, vert_start + kh, horiz_start + kw, k) * dz;
              }
          db(0, 0, 0, c) += dz;
        }

  for (Index i = 0; i < m; ++i)
    for (Index h = 0; h < n_H_prev; ++h)
      for (Index w = 0; w < n_W_prev; ++w)
        for (Index k = 0; k < n_C_prev; ++k) dA_prev(i, h, w, k) = dA_prev_pad(i, h + pad, w + pad, k);
}

}  // namespace cnnprim::loop
