// Naive pooling kernels that read like the notebook, allocating nothing: pool_forward and pool_backward.
//
// A_prev (m, n_H_prev, n_W_prev, n_C) -> A (m, n_H, n_W, n_C); window (h, w) is the part of
// A_prev[i, h*stride_H - pad_top : + f_H, w*stride_W - pad_left : + f_W, c] inside the image (geometry.hpp).
// Max follows the rule of detail::replaces_max (params.hpp): the first maximum in row-major window order.
#pragma once

#include <cstdint>

#include "../geometry.hpp"
#include "../params.hpp"
#include "../tensor.hpp"

namespace cnnprim::detail::loop {

// Where the element at position k (r * width + s) of window (h, w) of image i lies in A_prev: (row, column).
struct WindowElement {
  Index row, column;
};
inline WindowElement window_element(const PoolGeometry& g, Index h, Index w, Index k) {
  const Index width = g.column_end(w) - g.column_begin(w);
  return {g.row_begin(h) + k / width, g.column_begin(w) + k % width};
}

// The position of the first maximum of window (h, w) of A_prev[i, :, :, c] (create_mask_from_window's).
template <class T>
Index window_argmax(TensorView<const T> A_prev, const PoolGeometry& g, Index i, Index h, Index w, Index c) {
  const Index vert_start = g.row_begin(h), horiz_start = g.column_begin(w);
  return first_max_index(&A_prev(i, vert_start, horiz_start, c), g.row_end(h) - vert_start,
                         g.column_end(w) - horiz_start, g.n_W_prev * g.n_C, g.n_C);
}

/// A[i, h, w, c] = max or mean of window (h, w) of A_prev[i, :, :, c].
template <class T>
void pool_forward(TensorView<const T> A_prev, const PoolGeometry& g, PoolMode mode, TensorView<T> A) {
  if (A.empty()) return;
  for (Index i = 0; i < g.m; ++i)
    for (Index h = 0; h < g.n_H; ++h)
      for (Index w = 0; w < g.n_W; ++w)
        for (Index c = 0; c < g.n_C; ++c) {
          switch (mode) {
            case PoolMode::Max: {
              const auto at = window_element(g, h, w, window_argmax(A_prev, g, i, h, w, c));
              A(i, h, w, c) = A_prev(i, at.row, at.column, c);
              break;
            }
            case PoolMode::Average: {
              T sum = 0;
              for (Index r = g.row_begin(h); r < g.row_end(h); ++r)
                for (Index s = g.column_begin(w); s < g.column_end(w); ++s) sum += A_prev(i, r, s, c);
              A(i, h, w, c) = sum / static_cast<T>(g.divisor(h, w));
              break;
            }
          }
        }
}

/// Max: dA[i, h, w, c] goes to the window's first maximum (create_mask_from_window).
/// Average: dA[i, h, w, c] / divisor goes to every element of the window (distribute_value).
template <class T>
void pool_backward(TensorView<const T> dA, TensorView<const T> A_prev, const PoolGeometry& g, PoolMode mode,
                   TensorView<T> dA_prev) {
  dA_prev.vector().setZero();
  if (dA.empty()) return;
  for (Index i = 0; i < g.m; ++i)
    for (Index h = 0; h < g.n_H; ++h)
      for (Index w = 0; w < g.n_W; ++w)
        for (Index c = 0; c < g.n_C; ++c) {
          switch (mode) {
            case PoolMode::Max: {
              const auto at = window_element(g, h, w, window_argmax(A_prev, g, i, h, w, c));
              dA_prev(i, at.row, at.column, c) += dA(i, h, w, c);
              break;
            }
            case PoolMode::Average: {
              const T average = dA(i, h, w, c) / static_cast<T>(g.divisor(h, w));
              for (Index r = g.row_begin(h); r < g.row_end(h); ++r)
                for (Index s = g.column_begin(w); s < g.column_end(w); ++s) dA_prev(i, r, s, c) += average;
              break;
            }
          }
        }
}

/// A[i, h, w, c] = max of window (h, w) of A_prev[i, :, :, c], and argmax[i, h, w, c] the position of its
/// first maximum, r * width + s for the window's element (r, s) inside the image.
template <class T>
void max_pool_forward(TensorView<const T> A_prev, const PoolGeometry& g, TensorView<T> A,
                      TensorView<std::uint8_t> argmax) {
  if (A.empty()) return;
  for (Index i = 0; i < g.m; ++i)
    for (Index h = 0; h < g.n_H; ++h)
      for (Index w = 0; w < g.n_W; ++w)
        for (Index c = 0; c < g.n_C; ++c) {
          const Index k = window_argmax(A_prev, g, i, h, w, c);
          const auto at = window_element(g, h, w, k);
          A(i, h, w, c) = A_prev(i, at.row, at.column, c);
          argmax(i, h, w, c) = static_cast<std::uint8_t>(k);
        }
}

/// dA[i, h, w, c] goes to position argmax[i, h, w, c] of window (h, w); a position past the window passes
/// nothing.
template <class T>
void max_pool_backward(TensorView<const T> dA, TensorView<const std::uint8_t> argmax, const PoolGeometry& g,
                       TensorView<T> dA_prev) {
  dA_prev.vector().setZero();
  if (dA.empty()) return;
  for (Index i = 0; i < g.m; ++i)
    for (Index h = 0; h < g.n_H; ++h)
      for (Index w = 0; w < g.n_W; ++w)
        for (Index c = 0; c < g.n_C; ++c) {
          const Index k = argmax(i, h, w, c);
          if (k >= (g.row_end(h) - g.row_begin(h)) * (g.column_end(w) - g.column_begin(w))) continue;
          const auto at = window_element(g, h, w, k);
          dA_prev(i, at.row, at.column, c) += dA(i, h, w, c);
        }
}

}  // namespace cnnprim::detail::loop
