// Eigen-contraction convolution kernels: zero_pad, conv_forward, conv_backward.
//
// Each output pixel's window, flattened in (kh, kw, k) order, is one row of a patch matrix P
// (rows = m * n_H * n_W, cols = f * f * n_C_prev). HWIO filters are already the matrix
// W_mat (f * f * n_C_prev, n_C), so  Z = P W_mat + b,  dW = P^T dZ,  dP = dZ W_mat^T  (scattered back onto
// dA_prev, col2im), and db sums dZ's rows. P is built a chunk of rows at a time in a buffer of bounded size,
// so memory does not grow with the batch. A 1x1 filter with stride 1 and no padding needs no P at all:
// A_prev is P.
#pragma once

#include <algorithm>
#include <cassert>
#include <vector>

#include <Eigen/Core>
#include <unsupported/Eigen/CXX11/Tensor>

#include "../params.hpp"
#include "../tensor.hpp"

namespace cnnprim::eigen {

/// X (m, n_H, n_W, n_C) -> X_pad (m, n_H + 2 pad, n_W + 2 pad, n_C), zeros around each image.
template <class T>
void zero_pad(const Tensor<T>& X, Index pad, Tensor<T>& X_pad) {
  assert(X_pad.shape() == (typename Tensor<T>::Shape{X.dim(0), X.dim(1) + 2 * pad, X.dim(2) + 2 * pad, X.dim(3)}));
  const Eigen::array<std::pair<Index, Index>, 4> paddings{
      {{0, 0}, {pad, pad}, {pad, pad}, {0, 0}}};
  X_pad.tensor() = X.tensor().pad(paddings);
}

namespace detail {

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MatrixMap = Eigen::Map<RowMatrix<T>>;
template <class T>
using ConstMatrixMap = Eigen::Map<const RowMatrix<T>>;
template <class T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// The sizes of one convolution, kept per axis so that per-axis strides and four-sided padding only change
// how this is filled, not the kernels.
struct ConvGeometry {
  Index m, n_H_prev, n_W_prev, n_C_prev;
  Index f_H, f_W, n_C;
  Index stride_H, stride_W, pad_top, pad_left;
  Index n_H, n_W;

  Index patch_size() const { return f_H * f_W * n_C_prev; }
  Index pixels() const { return m * n_H * n_W; }
  // A_prev is already the patch matrix.
  bool is_pointwise() const {
    return f_H == 1 && f_W == 1 && stride_H == 1 && stride_W == 1 && pad_top == 0 && pad_left == 0;
  }
};

template <class T>
ConvGeometry conv_geometry(const Tensor<T>& A_prev, const Tensor<T>& W, ConvParams hp, Index n_H, Index n_W) {
  return {A_prev.dim(0), A_prev.dim(1), A_prev.dim(2), A_prev.dim(3), W.dim(0), W.dim(1), W.dim(3),
          hp.stride,     hp.stride,     hp.pad,        hp.pad,        n_H,       n_W};
}

// Output pixels per chunk: about 1 MiB of patches, which stays in L2 between im2col and the product.
template <class T>
Index chunk_pixels(const ConvGeometry& g) {
  constexpr Index budget = (Index{1} << 20) / static_cast<Index>(sizeof(T));
  return std::max<Index>(1, std::min(g.pixels(), budget / std::max<Index>(1, g.patch_size())));
}

// Walks output pixels [first, first + count) in row-major (i, h, w) order and calls
// visit(row, kh, a_row, kw_begin, kw_end) for every filter row kh whose input row a_row lies inside A_prev;
// kw in [kw_begin, kw_end) are the filter columns that fall inside it. Everything else is padding.
template <class Visit>
void for_each_window_row(const ConvGeometry& g, Index first, Index count, Visit visit) {
  Index w = first % g.n_W, h = (first / g.n_W) % g.n_H, i = first / (g.n_W * g.n_H);
  for (Index row = 0; row < count; ++row) {
    const Index vert_start = h * g.stride_H - g.pad_top, horiz_start = w * g.stride_W - g.pad_left;
    const Index kw_begin = std::max<Index>(0, -horiz_start);
    const Index kw_end = std::min(g.f_W, g.n_W_prev - horiz_start);
    for (Index kh = 0; kh < g.f_H; ++kh) {
      const Index a_h = vert_start + kh;
      if (a_h < 0 || a_h >= g.n_H_prev || kw_begin >= kw_end) continue;
      visit(row, kh, (i * g.n_H_prev + a_h) * g.n_W_prev + horiz_start, kw_begin, kw_end);
    }
    if (++w == g.n_W) {
      w = 0;
      if (++h == g.n_H) h = 0, ++i;
    }
  }
}

// im2col: row r of `patches` is the window of output pixel first + r, zero where it covers padding.
template <class T>
void im2col(const T* A_prev, const ConvGeometry& g, Index first, Index count, T* patches) {
  const Index C = g.n_C_prev, K = g.patch_size();
  std::fill_n(patches, count * K, T(0));
  for_each_window_row(g, first, count, [&](Index row, Index kh, Index a_pixel, Index kw_begin, Index kw_end) {
    std::copy_n(A_prev + (a_pixel + kw_begin) * C, (kw_end - kw_begin) * C,
                patches + row * K + (kh * g.f_W + kw_begin) * C);
  });
}

// col2im: adds row r of `patches` onto the window of output pixel first + r; the padding part is dropped.
template <class T>
void col2im(const T* patches, const ConvGeometry& g, Index first, Index count, T* dA_prev) {
  const Index C = g.n_C_prev, K = g.patch_size();
  for_each_window_row(g, first, count, [&](Index row, Index kh, Index a_pixel, Index kw_begin, Index kw_end) {
    const Index n = (kw_end - kw_begin) * C;
    ArrayMap<T>(dA_prev + (a_pixel + kw_begin) * C, n) +=
        ConstArrayMap<T>(patches + row * K + (kh * g.f_W + kw_begin) * C, n);
  });
}

}  // namespace detail

/// Z = P W_mat + b, a chunk of output pixels at a time.
template <class T>
void conv_forward(const Tensor<T>& A_prev, const Tensor<T>& W, const Tensor<T>& b, ConvParams hp, Tensor<T>& Z) {
  const detail::ConvGeometry g = detail::conv_geometry(A_prev, W, hp, Z.dim(1), Z.dim(2));
  const Index K = g.patch_size(), n_C = g.n_C;
  const detail::ConstMatrixMap<T> W_mat(W.data(), K, n_C);
  const Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>> b_row(b.data(), n_C);
  detail::MatrixMap<T> Z_mat(Z.data(), g.pixels(), n_C);

  const Index chunk = detail::chunk_pixels<T>(g);
  std::vector<T> patches(g.is_pointwise() ? 0 : static_cast<std::size_t>(chunk * K));
  for (Index first = 0; first < g.pixels(); first += chunk) {
    const Index count = std::min(chunk, g.pixels() - first);
    const T* P = A_prev.data() + first * K;
    if (!g.is_pointwise()) {
      detail::im2col(A_prev.data(), g, first, count, patches.data());
      P = patches.data();
    }
    auto Z_chunk = Z_mat.middleRows(first, count);
    Z_chunk.rowwise() = b_row;
    Z_chunk.noalias() += detail::ConstMatrixMap<T>(P, count, K) * W_mat;
  }
}

/// dW = P^T dZ, db = column sums of dZ, dA_prev = col2im(dZ W_mat^T), a chunk of output pixels at a time.
template <class T>
void conv_backward(const Tensor<T>& dZ, const Tensor<T>& A_prev, const Tensor<T>& W, ConvParams hp,
                   Tensor<T>& dA_prev, Tensor<T>& dW, Tensor<T>& db) {
  const detail::ConvGeometry g = detail::conv_geometry(A_prev, W, hp, dZ.dim(1), dZ.dim(2));
  const Index K = g.patch_size(), n_C = g.n_C;
  const detail::ConstMatrixMap<T> W_mat(W.data(), K, n_C);
  const detail::ConstMatrixMap<T> dZ_mat(dZ.data(), g.pixels(), n_C);
  detail::MatrixMap<T> dW_mat(dW.data(), K, n_C);
  Eigen::Map<Eigen::Matrix<T, 1, Eigen::Dynamic>> db_row(db.data(), n_C);

  db_row = dZ_mat.colwise().sum();
  dW_mat.setZero();
  dA_prev.vector().setZero();

  const Index chunk = detail::chunk_pixels<T>(g);
  std::vector<T> patches(g.is_pointwise() ? 0 : static_cast<std::size_t>(chunk * K));
  std::vector<T> dpatches(patches.size());
  for (Index first = 0; first < g.pixels(); first += chunk) {
    const Index count = std::min(chunk, g.pixels() - first);
    const auto dZ_chunk = dZ_mat.middleRows(first, count);
    if (g.is_pointwise()) {
      dW_mat.noalias() += detail::ConstMatrixMap<T>(A_prev.data() + first * K, count, K).transpose() * dZ_chunk;
      detail::MatrixMap<T>(dA_prev.data() + first * K, count, K).noalias() = dZ_chunk * W_mat.transpose();
      continue;
    }
    detail::im2col(A_prev.data(), g, first, count, patches.data());
    dW_mat.noalias() += detail::ConstMatrixMap<T>(patches.data(), count, K).transpose() * dZ_chunk;
    detail::MatrixMap<T>(dpatches.data(), count, K).noalias() = dZ_chunk * W_mat.transpose();
    detail::col2im(dpatches.data(), g, first, count, dA_prev.data());
  }
}

}  // namespace cnnprim::eigen
