// Naive convolution kernels that read like the notebook: zero_pad, conv_forward, conv_backward_data and
// conv_backward_weights.
//
// Kernels trust their inputs (the public functions in conv.hpp and pad.hpp validate them and resolve the
// hyperparameters into a ConvGeometry), write every element of outputs of the right shape, and allocate
// nothing. A_prev (m, n_H_prev, n_W_prev, n_C_prev), W (f_H, f_W, n_C_prev / groups, n_C), b (1, 1, 1, n_C)
// or empty, Z (m, n_H, n_W, n_C). Output channel c belongs to group c / (n_C / groups), which reads input
// channels [group * n_C_prev / groups, (group + 1) * n_C_prev / groups). Filter tap (kh, kw) of a window
// starting at (vert_start, horiz_start) reads A_prev_pad at (vert_start + kh dilation_H, horiz_start + kw
// dilation_W). The notebook's A_prev_pad is read in place: the padding is zeros that take part in every
// product, as in np.sum(a_slice_prev * W), and the part of dA_prev_pad that falls on the padding is dropped.
#pragma once

#include "../geometry.hpp"
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

/// A_prev with pad_top rows above and pad_left columns left of each image (and zeros below and right),
/// without a copy: element (i, h, w, k) of the notebook's A_prev_pad.
template <class T>
struct ZeroPadded {
  TensorView<T> A;
  Index pad_top, pad_left;

  bool inside(Index h, Index w) const {
    return h >= pad_top && h - pad_top < A.dim(1) && w >= pad_left && w - pad_left < A.dim(2);
  }
  std::remove_const_t<T> operator()(Index i, Index h, Index w, Index k) const {
    return inside(h, w) ? A(i, h - pad_top, w - pad_left, k) : T(0);
  }
};

/// Z[i, h, w, c] = activation(sum(a_slice_prev * W[:, :, :, c]) + b[c]), one window at a time.
template <class T>
void conv_forward(TensorView<const T> A_prev, TensorView<const T> W, TensorView<const T> b, const ConvGeometry& g,
                  TensorView<T> Z) {
  const Index C_group = g.group_channels(), filters = g.group_filters();
  const ZeroPadded<const T> A_prev_pad{A_prev, g.pad_top, g.pad_left};
  if (Z.empty()) return;
  for (Index i = 0; i < g.m; ++i)
    for (Index h = 0; h < g.n_H; ++h)
      for (Index w = 0; w < g.n_W; ++w)
        for (Index c = 0; c < g.n_C; ++c) {
          const Index vert_start = h * g.stride_H, horiz_start = w * g.stride_W, first_k = c / filters * C_group;
          // conv_single_step on this window of c's group
          T s = 0;
          for (Index kh = 0; kh < g.f_H; ++kh)
            for (Index kw = 0; kw < g.f_W; ++kw)
              for (Index k = 0; k < C_group; ++k)
                s += A_prev_pad(i, vert_start + kh * g.dilation_H, horiz_start + kw * g.dilation_W, first_k + k) *
                     W(kh, kw, k, c);
          Z(i, h, w, c) = g.activation(b.empty() ? s : s + b(0, 0, 0, c));
        }
}

/// dA_prev_pad[window] += W[:, :, :, c] * dZ[i, h, w, c] over every window; dA_prev is dA_prev_pad without
/// its padding (correct at pad = 0, unlike the notebook's [pad:-pad]).
template <class T>
void conv_backward_data(TensorView<const T> dZ, TensorView<const T> W, const ConvGeometry& g, TensorView<T> dA_prev) {
  const Index C_group = g.group_channels(), filters = g.group_filters();
  const ZeroPadded<T> dA_prev_pad{dA_prev, g.pad_top, g.pad_left};
  dA_prev.vector().setZero();
  if (dZ.empty() || dA_prev.empty()) return;
  for (Index i = 0; i < g.m; ++i)
    for (Index h = 0; h < g.n_H; ++h)
      for (Index w = 0; w < g.n_W; ++w)
        for (Index c = 0; c < g.n_C; ++c) {
          const Index vert_start = h * g.stride_H, horiz_start = w * g.stride_W, first_k = c / filters * C_group;
          const T dz = dZ(i, h, w, c);
          for (Index kh = 0; kh < g.f_H; ++kh)
            for (Index kw = 0; kw < g.f_W; ++kw) {
              const Index row = vert_start + kh * g.dilation_H, column = horiz_start + kw * g.dilation_W;
              if (!dA_prev_pad.inside(row, column)) continue;
              for (Index k = 0; k < C_group; ++k)
                dA_prev(i, row - g.pad_top, column - g.pad_left, first_k + k) += W(kh, kw, k, c) * dz;
            }
        }
}

/// dW[:, :, :, c] += a_slice_prev * dZ[i, h, w, c] and db[c] += dZ[i, h, w, c] over every window (db may be
/// empty: a layer without bias).
template <class T>
void conv_backward_weights(TensorView<const T> dZ, TensorView<const T> A_prev, const ConvGeometry& g,
                           TensorView<T> dW, TensorView<T> db) {
  const Index C_group = g.group_channels(), filters = g.group_filters();
  const ZeroPadded<const T> A_prev_pad{A_prev, g.pad_top, g.pad_left};
  dW.vector().setZero();
  db.vector().setZero();
  if (dZ.empty()) return;
  for (Index i = 0; i < g.m; ++i)
    for (Index h = 0; h < g.n_H; ++h)
      for (Index w = 0; w < g.n_W; ++w)
        for (Index c = 0; c < g.n_C; ++c) {
          const Index vert_start = h * g.stride_H, horiz_start = w * g.stride_W, first_k = c / filters * C_group;
          const T dz = dZ(i, h, w, c);
          for (Index kh = 0; kh < g.f_H; ++kh)
            for (Index kw = 0; kw < g.f_W; ++kw)
              for (Index k = 0; k < C_group; ++k)
                dW(kh, kw, k, c) +=
                    A_prev_pad(i, vert_start + kh * g.dilation_H, horiz_start + kw * g.dilation_W, first_k + k) * dz;
          if (!db.empty()) db(0, 0, 0, c) += dz;
        }
}

}  // namespace cnnprim::detail::loop
