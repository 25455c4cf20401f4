// Naive convolution kernels that read like the notebook: zero_pad, conv_forward, conv_backward_data and
// conv_backward_weights.
//
// Kernels trust their inputs (the public functions in conv.hpp and pad.hpp validate them), write every element
// of outputs of the right shape, and allocate nothing. A_prev (m, n_H_prev, n_W_prev, n_C_prev),
// W (f, f, n_C_prev, n_C), b (1, 1, 1, n_C), Z (m, n_H, n_W, n_C) with n_H = (n_H_prev + 2 pad - f) / stride + 1.
// The notebook's A_prev_pad is read in place: the padding is zeros that take part in every product, as in
// np.sum(a_slice_prev * W), and the part of dA_prev_pad that falls on the padding is dropped.
#pragma once

#include "../params.hpp"
#include "../tensor.hpp"

namespace cnnprim::detail::loop {

/// X (m, n_H, n_W, n_C) -> X_pad (m, n_H + 2 pad, n_W + 2 pad, n_C), zeros around each image.
template <class T>
void zero_pad(TensorView<const T> X, Index pad, TensorView<T> X_pad) {
  const Index m = X.dim(0), n_H = X.dim(1), n_W = X.dim(2), n_C = X.dim(3);
  X_pad.vector().setZero();
  if (X.empty()) return;
  for (Index i = 0; i < m; ++i)
    for (Index h = 0; h < n_H; ++h)
      for (Index w = 0; w < n_W; ++w)
        for (Index c = 0; c < n_C; ++c) X_pad(i, h + pad, w + pad, c) = X(i, h, w, c);
}

/// A_prev with `pad` zeros around each image, without a copy: element (i, h, w, k) of the notebook's A_prev_pad.
template <class T>
struct ZeroPadded {
  TensorView<T> A;
  Index pad;

  bool inside(Index h, Index w) const { return h >= pad && h - pad < A.dim(1) && w >= pad && w - pad < A.dim(2); }
  std::remove_const_t<T> operator()(Index i, Index h, Index w, Index k) const {
    return inside(h, w) ? A(i, h - pad, w - pad, k) : T(0);
  }
};

/// Z[i, h, w, c] = sum(a_slice_prev * W[:, :, :, c]) + b[c], one window at a time.
template <class T>
void conv_forward(TensorView<const T> A_prev, TensorView<const T> W, TensorView<const T> b, ConvParams hp,
                  TensorView<T> Z) {
  const Index m = Z.dim(0), n_H = Z.dim(1), n_W = Z.dim(2), n_C = Z.dim(3);
  const Index f = W.dim(0), n_C_prev = W.dim(2);
  const Index stride = hp.stride;
  const ZeroPadded<const T> A_prev_pad{A_prev, hp.pad};
  if (Z.empty()) return;
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

/// dA_prev_pad[window] += W[:, :, :, c] * dZ[i, h, w, c] over every window; dA_prev is dA_prev_pad without
/// its padding, [pad : pad + n_H_prev] (correct at pad = 0, unlike the notebook's [pad:-pad]).
template <class T>
void conv_backward_data(TensorView<const T> dZ, TensorView<const T> W, ConvParams hp, TensorView<T> dA_prev) {
  const Index m = dZ.dim(0), n_H = dZ.dim(1), n_W = dZ.dim(2), n_C = dZ.dim(3);
  const Index f = W.dim(0), n_C_prev = W.dim(2);
  const Index stride = hp.stride, pad = hp.pad;
  const ZeroPadded<T> dA_prev_pad{dA_prev, pad};
  dA_prev.vector().setZero();
  if (dZ.empty() || dA_prev.empty()) return;
  for (Index i = 0; i < m; ++i)
    for (Index h = 0; h < n_H; ++h)
      for (Index w = 0; w < n_W; ++w)
        for (Index c = 0; c < n_C; ++c) {
          const Index vert_start = h * stride, horiz_start = w * stride;
          const T dz = dZ(i, h, w, c);
          for (Index kh = 0; kh < f; ++kh)
            for (Index kw = 0; kw < f; ++kw) {
              if (!dA_prev_pad.inside(vert_start + kh, horiz_start + kw)) continue;
              for (Index k = 0; k < n_C_prev; ++k)
                dA_prev(i, vert_start + kh - pad, horiz_start + kw - pad, k) += W(kh, kw, k, c) * dz;
            }
        }
}

/// dW[:, :, :, c] += a_slice_prev * dZ[i, h, w, c] and db[c] += dZ[i, h, w, c] over every window.
template <class T>
void conv_backward_weights(TensorView<const T> dZ, TensorView<const T> A_prev, ConvParams hp, TensorView<T> dW,
                           TensorView<T> db) {
  const Index m = dZ.dim(0), n_H = dZ.dim(1), n_W = dZ.dim(2), n_C = dZ.dim(3);
  const Index f = dW.dim(0), n_C_prev = dW.dim(2);
  const Index stride = hp.stride;
  const ZeroPadded<const T> A_prev_pad{A_prev, hp.pad};
  dW.vector().setZero();
  db.vector().setZero();
  if (dZ.empty()) return;
  for (Index i = 0; i < m; ++i)
    for (Index h = 0; h < n_H; ++h)
      for (Index w = 0; w < n_W; ++w)
        for (Index c = 0; c < n_C; ++c) {
          const Index vert_start = h * stride, horiz_start = w * stride;
          const T dz = dZ(i, h, w, c);
          for (Index kh = 0; kh < f; ++kh)
            for (Index kw = 0; kw < f; ++kw)
              for (Index k = 0; k < n_C_prev; ++k)
                dW(kh, kw, k, c) += A_prev_pad(i, vert_start + kh, horiz_start + kw, k) * dz;
          db(0, 0, 0, c) += dz;
        }
}

}  // namespace cnnprim::detail::loop
