// Naive pooling kernels that read like the notebook, allocating nothing: pool_forward and pool_backward.
//
// A_prev (m, n_H_prev, n_W_prev, n_C) -> A (m, n_H, n_W, n_C), n_H = (n_H_prev - f) / stride + 1, no padding.
// Max follows the rule of detail::replaces_max (params.hpp): the first maximum in row-major window order.
#pragma once


#include "../params.hpp"
#include "../tensor.hpp"

namespace cnnprim::detail::loop {

/// A[i, h, w, c] = max or mean of A_prev[i, h*stride : h*stride+f, w*stride : w*stride+f, c].
template <class T>
void pool_forward(TensorView<const T> A_prev, PoolParams hp, PoolMode mode, TensorView<T> A) {
  const Index m = A_prev.dim(0), n_W_prev = A_prev.dim(2), n_C = A_prev.dim(3);
  const Index f = hp.f, stride = hp.stride;
  const Index n_H = A.dim(1), n_W = A.dim(2);
  if (A.empty()) return;

  for (Index i = 0; i < m; ++i)
    for (Index h = 0; h < n_H; ++h)
      for (Index w = 0; w < n_W; ++w)
        for (Index c = 0; c < n_C; ++c) {
          const Index vert_start = h * stride, horiz_start = w * stride;
          const T* a_prev_slice = &A_prev(i, vert_start, horiz_start, c);
          switch (mode) {
            case PoolMode::Max: {
              const Index k = first_max_index(a_prev_slice, f, f, n_W_prev * n_C, n_C);
              A(i, h, w, c) = A_prev(i, vert_start + k / f, horiz_start + k % f, c);
              break;
            }
            case PoolMode::Average: {
              T sum = 0;
              for (Index kh = 0; kh < f; ++kh)
                for (Index kw = 0; kw < f; ++kw) sum += A_prev(i, vert_start + kh, horiz_start + kw, c);
              A(i, h, w, c) = sum / static_cast<T>(f * f);
              break;
            }
          }
        }
}

/// Max: dA[i, h, w, c] goes to the window's first maximum (create_mask_from_window).
/// Average: dA[i, h, w, c] / (f * f) goes to every element of the window (distribute_value).
template <class T>
void pool_backward(TensorView<const T> dA, TensorView<const T> A_prev, PoolParams hp, PoolMode mode,
                   TensorView<T> dA_prev) {
  const Index m = A_prev.dim(0), n_W_prev = A_prev.dim(2), n_C = A_prev.dim(3);
  const Index f = hp.f, stride = hp.stride;
  const Index n_H = dA.dim(1), n_W = dA.dim(2);
  dA_prev.vector().setZero();
  if (dA.empty()) return;
  for (Index i = 0; i < m; ++i)
    for (Index h = 0; h < n_H; ++h)
      for (Index w = 0; w < n_W; ++w)
        for (Index c = 0; c < n_C; ++c) {
          const Index vert_start = h * stride, horiz_start = w * stride;
          switch (mode) {
            case PoolMode::Max: {
              const Index k = first_max_index(&A_prev(i, vert_start, horiz_start, c), f, f, n_W_prev * n_C, n_C);
              dA_prev(i, vert_start + k / f, horiz_start + k % f, c) += dA(i, h, w, c);
              break;
            }
            case PoolMode::Average: {
              const T average = dA(i, h, w, c) / static_cast<T>(f * f);
              for (Index kh = 0; kh < f; ++kh)
                for (Index kw = 0; kw < f; ++kw) dA_prev(i, vert_start + kh, horiz_start + kw, c) += average;
              break;
            }
          }
        }
}

}  // namespace cnnprim::detail::loop
