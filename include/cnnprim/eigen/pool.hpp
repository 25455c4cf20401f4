// Vectorized pooling kernels on Eigen array expressions.
//
// In NHWC the n_C channels of a pixel are contiguous, and the pixels a window position (kh, kw) selects along
// one output row are stride * n_C apart. So for each output row, the window's max or sum is an element-wise
// reduction over f * f strided (n_W, n_C) views of A_prev, and backward adds into the same views.
// Max: the first maximum in row-major window order wins; a NaN counts as the maximum (the first NaN wins).
#pragma once

#include <cassert>

#include <Eigen/Core>

#include "../params.hpp"
#include "../tensor.hpp"

namespace cnnprim::eigen {

namespace detail {

template <class T>
using PixelRows = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using StridedRows = Eigen::Map<PixelRows<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using ConstStridedRows = Eigen::Map<const PixelRows<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

// The sizes of one pooling and the views it works on.
struct PoolGeometry {
  Index n_H_prev, n_W_prev, n_C, f, stride, n_H, n_W;

  // Offset of the (kh, kw) element of the windows of output row h of image i, in A_prev or dA_prev.
  Index window_offset(Index i, Index h, Index kh, Index kw) const {
    return ((i * n_H_prev + h * stride + kh) * n_W_prev + kw) * n_C;
  }
  // Offset of output row h of image i, in A or dA.
  Index row_offset(Index i, Index h) const { return (i * n_H + h) * n_W * n_C; }
};

template <class T>
PoolGeometry pool_geometry(const Tensor<T>& A_prev, PoolParams hp, const Tensor<T>& A) {
  return {A_prev.dim(1), A_prev.dim(2), A_prev.dim(3), hp.f, hp.stride, A.dim(1), A.dim(2)};
}

template <class T>
ConstStridedRows<T> window_view(const T* A_prev, const PoolGeometry& g, Index i, Index h, Index kh, Index kw) {
  return {A_prev + g.window_offset(i, h, kh, kw), g.n_W, g.n_C, Eigen::OuterStride<>(g.stride * g.n_C)};
}

template <class T>
StridedRows<T> window_view(T* A_prev, const PoolGeometry& g, Index i, Index h, Index kh, Index kw) {
  return {A_prev + g.window_offset(i, h, kh, kw), g.n_W, g.n_C, Eigen::OuterStride<>(g.stride * g.n_C)};
}

template <class T>
using NaNPropagatingMax = Eigen::internal::scalar_max_op<T, T, Eigen::PropagateNaN>;

}  // namespace detail

/// A = max or mean over each f x f window, computed one output row (n_W, n_C) at a time.
template <class T>
void pool_forward(const Tensor<T>& A_prev, PoolParams hp, PoolMode mode, Tensor<T>& A) {
  const detail::PoolGeometry g = detail::pool_geometry(A_prev, hp, A);
  const Index m = A_prev.dim(0), f = g.f;
  const T* a = A_prev.data();
  T* out = A.data();
  for (Index i = 0; i < m; ++i)
    for (Index h = 0; h < g.n_H; ++h) {
      Eigen::Map<detail::PixelRows<T>> A_row(out + g.row_offset(i, h), g.n_W, g.n_C);
      A_row = detail::window_view(a, g, i, h, 0, 0);
      for (Index kh = 0; kh < f; ++kh)
        for (Index kw = (kh == 0 ? 1 : 0); kw < f; ++kw) {
          const auto window = detail::window_view(a, g, i, h, kh, kw);
          switch (mode) {
            case PoolMode::Max: A_row = A_row.binaryExpr(window, detail::NaNPropagatingMax<T>()); break;
            case PoolMode::Average: A_row += window; break;
          }
        }
      if (mode == PoolMode::Average) A_row /= static_cast<T>(f * f);
    }
}

/// Max: each dA goes to its window's first maximum, found by a running argmax over the f * f views.
/// Average: dA / (f * f) is added to every view.
template <class T>
void pool_backward(const Tensor<T>& dA, const Tensor<T>& A_prev, PoolParams hp, PoolMode mode, Tensor<T>& dA_prev) {
  const detail::PoolGeometry g = detail::pool_geometry(A_prev, hp, dA);
  const Index m = A_prev.dim(0), f = g.f;
  const T* a = A_prev.data();
  T* da_prev = dA_prev.data();
  dA_prev.vector().setZero();

  detail::PixelRows<T> best(g.n_W, g.n_C), argmax(g.n_W, g.n_C), average(g.n_W, g.n_C);
  for (Index i = 0; i < m; ++i)
    for (Index h = 0; h < g.n_H; ++h) {
      const Eigen::Map<const detail::PixelRows<T>> dA_row(dA.data() + g.row_offset(i, h), g.n_W, g.n_C);
      switch (mode) {
        case PoolMode::Max: {
          // argmax holds the window position k = kh * f + kw as T, so that select() stays in one type.
          best = detail::window_view(a, g, i, h, 0, 0);
          argmax.setZero();
          for (Index k = 1; k < f * f; ++k) {
            const auto x = detail::window_view(a, g, i, h, k / f, k % f);
            const auto wins = (x > best) || (x.isNaN() && !best.isNaN());
            // wins is re-evaluated on each use: update argmax while best still holds the old values.
            argmax = wins.select(static_cast<T>(k), argmax);
            best = wins.select(x, best);
          }
          for (Index k = 0; k < f * f; ++k)
            detail::window_view(da_prev, g, i, h, k / f, k % f) += (argmax == static_cast<T>(k)).select(dA_row, T(0));
          break;
        }
        case PoolMode::Average: {
          average = dA_row / static_cast<T>(f * f);
          for (Index kh = 0; kh < f; ++kh)
            for (Index kw = 0; kw < f; ++kw) detail::window_view(da_prev, g, i, h, kh, kw) += average;
          break;
        }
      }
    }
}

}  // namespace cnnprim::eigen
