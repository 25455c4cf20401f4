// Eigen convolution kernels: zero_pad, conv_forward, conv_backward_data and conv_backward_weights.
//
// Two formulations of one contraction. Each output pixel's window, flattened in (kh, kw, k) order, is a row
// of a patch matrix P (rows = m * n_H * n_W, cols = f * f * n_C_prev), and HWIO filters are already the
// matrix W_mat (f * f * n_C_prev, n_C), so  Z = P W_mat + b,  dW = P^T dZ,  dP = dZ W_mat^T.
// - Direct: when the channel counts fill whole SIMD packets, P is never formed. A register tile
//   (tile.hpp) multiplies windows of a zero-padded image straight into Z, dW is accumulated from the image
//   and dZ row by row, and at stride 1 dA_prev is the convolution of the padded dZ with the flipped,
//   transposed filter.
// - Patch matrix: otherwise P is built a chunk of rows at a time (im2col) in a buffer of bounded size and
//   multiplied with Eigen's GEMM; dP is scattered back onto dA_prev (col2im).
// Temporaries are one padded image, a packed filter and one chunk of P: memory does not grow with the batch.
#pragma once

#include <algorithm>
#include <cassert>
#include <initializer_list>

#include <Eigen/Core>
#include <unsupported/Eigen/CXX11/Tensor>

#include "../params.hpp"
#include "../tensor.hpp"
#include "scratch.hpp"
#include "tile.hpp"

namespace cnnprim::detail::eigen {

/// X (m, n_H, n_W, n_C) -> X_pad (m, n_H + 2 pad, n_W + 2 pad, n_C), zeros around each image.
template <class T>
void zero_pad(TensorView<const T> X, Index pad, TensorView<T> X_pad) {
  if (X.empty()) {
    X_pad.vector().setZero();
    return;
  }
  const Eigen::array<std::pair<Index, Index>, 4> paddings{{{0, 0}, {pad, pad}, {pad, pad}, {0, 0}}};
  X_pad.tensor() = X.tensor().pad(paddings);
}


template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MatrixMap = Eigen::Map<RowMatrix<T>>;
template <class T>
using ConstMatrixMap = Eigen::Map<const RowMatrix<T>>;

// The sizes of one convolution, kept per axis so that per-axis strides and four-sided padding only change
// how this is filled, not the kernels.
struct ConvGeometry {
  Index m, n_H_prev, n_W_prev, n_C_prev;
  Index f_H, f_W, n_C;
  Index stride_H, stride_W, pad_top, pad_bottom, pad_left, pad_right;
  Index n_H, n_W;

  Index patch_size() const { return f_H * f_W * n_C_prev; }
  Index pixels() const { return m * n_H * n_W; }
  // The direct kernels pad a copy of one image at a time; padding below the filter's size keeps that copy
  // within (n_H_prev + 2 f_H) x (n_W_prev + 2 f_W) pixels, whatever the pad.
  bool pads_within_filter() const {
    return std::max(pad_top, pad_bottom) < f_H && std::max(pad_left, pad_right) < f_W;
  }
  // A_prev is already the patch matrix.
  bool is_pointwise() const {
    return f_H == 1 && f_W == 1 && stride_H == 1 && stride_W == 1 && pad_top == 0 && pad_bottom == 0 &&
           pad_left == 0 && pad_right == 0;
  }
};

// From the shapes of A_prev (or dA_prev) and W (or dW), and the output's n_H and n_W.
inline ConvGeometry conv_geometry(const std::array<Index, 4>& a, const std::array<Index, 4>& w, ConvParams hp,
                                  Index n_H, Index n_W) {
  return {a[0], a[1], a[2], a[3], w[0], w[1], w[3], hp.stride, hp.stride, hp.pad, hp.pad, hp.pad, hp.pad, n_H, n_W};
}

// Elements an operand of a matrix product may hold. Eigen packs a product's operands on the stack up to
// EIGEN_STACK_ALLOCATION_LIMIT bytes and on the heap above it; operands of at most half that size keep
// every call free of heap allocations (and small enough to stay in L2 between im2col and the product).
template <class T>
constexpr Index product_budget = std::max<Index>(4096, EIGEN_STACK_ALLOCATION_LIMIT / 2) /
                                 static_cast<Index>(sizeof(T));

// Output pixels per chunk: the chunk's patches (count x K) and rows of dZ (count x n_C) fit the budget.
template <class T>
Index chunk_pixels(const ConvGeometry& g) {
  return std::max<Index>(1, std::min(g.pixels(), product_budget<T> / std::max({Index{1}, g.patch_size(), g.n_C})));
}

// Output channels per product: a block of W_mat's columns (K x width) fits the budget.
template <class T>
Index filter_columns(const ConvGeometry& g) {
  return std::max<Index>(1, std::min(g.n_C, product_budget<T> / std::max<Index>(1, g.patch_size())));
}

// Walks output pixels [first, first + count) in row-major (i, h, w) order and calls
// visit(row, kh, a_pixel, kw_begin, kw_end) for every filter row kh whose input row lies inside A_prev:
// a_pixel indexes the input pixel under filter column 0 (outside the row when that column is padding), and
// kw in [kw_begin, kw_end) are the filter columns that fall inside A_prev. Everything else is padding.
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
    const T* source = patches + row * K + (kh * g.f_W + kw_begin) * C;
    T* target = dA_prev + (a_pixel + kw_begin) * C;
    for (Index j = 0, n = (kw_end - kw_begin) * C; j < n; ++j) target[j] += source[j];
  });
}

// Calls visit(first, count, P) for each chunk of output pixels [first, first + count), P the chunk's rows of
// the patch matrix: A_prev itself at 1x1, otherwise built by im2col in scratch memory.
template <class T, class Visit>
void for_each_patch_chunk(const T* A_prev, const ConvGeometry& g, Visit visit) {
  const Index chunk = chunk_pixels<T>(g), K = g.patch_size();
  T* const patches =
      g.is_pointwise() ? nullptr : scratch<T, Scratch::Patches>(static_cast<std::size_t>(chunk * K));
  for (Index first = 0; first < g.pixels(); first += chunk) {
    const Index count = std::min(chunk, g.pixels() - first);
    if (g.is_pointwise()) {
      visit(first, count, A_prev + first * K);
      continue;
    }
    im2col(A_prev, g, first, count, patches);
    visit(first, count, static_cast<const T*>(patches));
  }
}

// True when every channel count in `counts` fills whole SIMD packets: the direct kernels apply.
template <class T>
bool fills_packets(std::initializer_list<Index> counts) {
  if (packet_size<T> == 1) return false;
  for (Index count : counts)
    if (count % packet_size<T> != 0) return false;
  return true;
}

// W packed for the direct kernel, one block per tile_packets packets of output channels, each block
// [kh][kw][input channel][output channel in block]. `flip` packs the filter of the backward data pass:
// input channel c, output channel k, tap (kh, kw) is W(f_H-1-kh, f_W-1-kw, k, c).
template <class T>
const T* pack_filter(const T* W, Index f_H, Index f_W, Index n_in, Index n_out, bool flip) {
  const Index block = tile_packets * packet_size<T>;
  T* const packed = scratch<T, Scratch::PackedFilter>(static_cast<std::size_t>(f_H * f_W * n_in * n_out));
  T* out = packed;
  for (Index c0 = 0; c0 < n_out; c0 += block) {
    const Index width = std::min(block, n_out - c0);
    for (Index kh = 0; kh < f_H; ++kh)
      for (Index kw = 0; kw < f_W; ++kw)
        for (Index k = 0; k < n_in; ++k)
          for (Index c = c0; c < c0 + width; ++c)
            *out++ = flip ? W[(((f_H - 1 - kh) * f_W + (f_W - 1 - kw)) * n_out + c) * n_in + k]
                          : W[((kh * f_W + kw) * n_in + k) * n_out + c];
  }
  return packed;
}

// A batch of images given one at a time with zeros around them (pad_top rows above, pad_bottom below,
// pad_left and pad_right columns): either the images themselves or a padded copy in a buffer reused for
// every image.
template <class T>
class PaddedImages {
 public:
  PaddedImages(const T* images, Index n_H, Index n_W, Index n_C, Index pad_top, Index pad_bottom, Index pad_left,
               Index pad_right)
      : images_(images), n_H_(n_H), n_W_(n_W), n_C_(n_C), pad_top_(pad_top), pad_left_(pad_left),
        width_(n_W + pad_left + pad_right) {
    if (pad_top == 0 && pad_bottom == 0 && pad_left == 0 && pad_right == 0) return;
    const auto size = static_cast<std::size_t>((n_H + pad_top + pad_bottom) * width_ * n_C);
    buffer_ = scratch<T, Scratch::PaddedImage>(size);
    std::fill_n(buffer_, size, T(0));
  }

  Index width() const { return width_; }

  const T* image(Index i) {
    const T* source = images_ + i * n_H_ * n_W_ * n_C_;
    if (buffer_ == nullptr) return source;
    for (Index h = 0; h < n_H_; ++h)
      std::copy_n(source + h * n_W_ * n_C_, n_W_ * n_C_, buffer_ + ((h + pad_top_) * width_ + pad_left_) * n_C_);
    return buffer_;
  }

 private:
  const T* images_;
  Index n_H_, n_W_, n_C_, pad_top_, pad_left_, width_;
  T* buffer_ = nullptr;  // its border stays zero; only the interior is overwritten
};

// The sizes of a direct convolution pass: input (m, n_H_in, n_W_in, n_in) with padding on each side,
// f_H x f_W taps at stride (stride_H, stride_W), output (m, n_H, n_W, n_out).
struct DirectGeometry {
  Index m, n_H_in, n_W_in, n_in;
  Index pad_top, pad_bottom, pad_left, pad_right;
  Index f_H, f_W, stride_H, stride_W;
  Index n_H, n_W, n_out;
};

// output = conv(input, packed filter) (+ bias), one register tile of output pixels x channels at a time.
template <class T>
void direct_conv(const T* input, const DirectGeometry& g, const T* packed, const T* bias, T* output) {
  const Index n = packet_size<T>, block = tile_packets * n, C = g.n_in;
  PaddedImages<T> images(input, g.n_H_in, g.n_W_in, C, g.pad_top, g.pad_bottom, g.pad_left, g.pad_right);
  const Index row = images.width() * C;
  // Consecutive output columns' windows lie stride_W * C apart; with one output column there is no step,
  // and a stride past the padded row must not be multiplied out.
  const Index column_step = g.n_W > 1 ? g.stride_W * C : 0;
  for (Index i = 0; i < g.m; ++i) {
    const T* image = images.image(i);
    T* out = output + i * g.n_H * g.n_W * g.n_out;
    for (Index c0 = 0; c0 < g.n_out; c0 += block) {
      const Index width = std::min(block, g.n_out - c0);
      const T* w = packed + g.f_H * g.f_W * C * c0;
      for (Index h = 0; h < g.n_H; ++h)
        for (Index w0 = 0; w0 < g.n_W; w0 += tile_rows) {
          const T* a = image + h * g.stride_H * row + w0 * column_step;
          T* z = out + (h * g.n_W + w0) * g.n_out + c0;
          with_tile(std::min<Index>(tile_rows, g.n_W - w0), width / n, [&](auto R, auto CB) {
            Tile<T, R, CB> tile;
            tile.broadcast_row(bias ? bias + c0 : nullptr);
            for (Index kh = 0; kh < g.f_H; ++kh)
              for (Index kw = 0; kw < g.f_W; ++kw)
                tile.update(a + kh * row + kw * C, column_step, 1, w + (kh * g.f_W + kw) * C * width, width, C);
            tile.store(z, g.n_out);
          });
        }
    }
  }
}

// dW[kh, kw, k, c] = sum over pixels of A_prev_pad[i, h*stride + kh, w*stride + kw, k] * dZ[i, h, w, c],
// accumulated one output row at a time into register tiles of input channels x output channels.
template <class T>
void direct_filter_gradient(const T* A_prev, const T* dZ, const ConvGeometry& g, T* dW) {
  const Index n = packet_size<T>, block = tile_packets * n, C = g.n_C_prev, n_C = g.n_C;
  PaddedImages<T> images(A_prev, g.n_H_prev, g.n_W_prev, C, g.pad_top, g.pad_bottom, g.pad_left, g.pad_right);
  const Index row = images.width() * C;
  const Index column_step = g.n_W > 1 ? g.stride_W * C : 0;  // as in direct_conv
  std::fill_n(dW, g.f_H * g.f_W * C * n_C, T(0));
  for (Index i = 0; i < g.m; ++i) {
    const T* image = images.image(i);
    for (Index h = 0; h < g.n_H; ++h) {
      const T* dz = dZ + (i * g.n_H + h) * g.n_W * n_C;
      for (Index kh = 0; kh < g.f_H; ++kh)
        for (Index kw = 0; kw < g.f_W; ++kw) {
          const T* a = image + (h * g.stride_H + kh) * row + kw * C;
          T* dw = dW + (kh * g.f_W + kw) * C * n_C;
          for (Index c0 = 0; c0 < n_C; c0 += block)
            for (Index k0 = 0; k0 < C; k0 += tile_rows)
              with_tile(std::min<Index>(tile_rows, C - k0), std::min(block, n_C - c0) / n, [&](auto R, auto CB) {
                Tile<T, R, CB> tile;
                tile.load(dw + k0 * n_C + c0, n_C);
                tile.update(a + k0, 1, column_step, dz + c0, n_C, g.n_W);
                tile.store(dw + k0 * n_C + c0, n_C);
              });
        }
    }
  }
}


/// Z = P W_mat + b: by the direct kernel when n_C fills whole packets, otherwise a chunk of output pixels at
/// a time.
template <class T>
void conv_forward(TensorView<const T> A_prev, TensorView<const T> W, TensorView<const T> b, ConvParams hp,
                  TensorView<T> Z) {
  const ScratchScope scope;
  if (Z.empty()) return;
  const ConvGeometry g = conv_geometry(A_prev.shape(), W.shape(), hp, Z.dim(1), Z.dim(2));
  const Index K = g.patch_size(), n_C = g.n_C;
  if (fills_packets<T>({n_C}) && g.pads_within_filter()) {
    const T* packed = pack_filter(W.data(), g.f_H, g.f_W, g.n_C_prev, n_C, /*flip=*/false);
    direct_conv(A_prev.data(),
                {g.m, g.n_H_prev, g.n_W_prev, g.n_C_prev, g.pad_top, g.pad_bottom, g.pad_left, g.pad_right, g.f_H,
                 g.f_W, g.stride_H, g.stride_W, g.n_H, g.n_W, n_C},
                packed, b.data(), Z.data());
    return;
  }
  const ConstMatrixMap<T> W_mat(W.data(), K, n_C);
  const Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>> b_row(b.data(), n_C);
  MatrixMap<T> Z_mat(Z.data(), g.pixels(), n_C);
  const Index columns = filter_columns<T>(g);
  for_each_patch_chunk(A_prev.data(), g, [&](Index first, Index count, const T* P) {
    auto Z_chunk = Z_mat.middleRows(first, count);
    Z_chunk.rowwise() = b_row;
    const ConstMatrixMap<T> P_chunk(P, count, K);
    if (columns == n_C) {  // whole rows: Eigen's fastest form of the product
      Z_chunk.noalias() += P_chunk * W_mat;
      return;
    }
    for (Index c0 = 0; c0 < n_C; c0 += columns) {
      const Index width = std::min(columns, n_C - c0);
      Z_chunk.middleCols(c0, width).noalias() += P_chunk * W_mat.middleCols(c0, width);
    }
  });
}

/// dA_prev = col2im(dZ W_mat^T): by the direct kernel when n_C_prev fills whole packets at stride 1 and
/// pad < f, otherwise a chunk of output pixels at a time.
template <class T>
void conv_backward_data(TensorView<const T> dZ, TensorView<const T> W, ConvParams hp, TensorView<T> dA_prev) {
  const ScratchScope scope;
  if (dA_prev.empty()) return;
  if (dZ.empty()) {
    dA_prev.vector().setZero();
    return;
  }
  const ConvGeometry g = conv_geometry(dA_prev.shape(), W.shape(), hp, dZ.dim(1), dZ.dim(2));
  const Index K = g.patch_size(), n_C = g.n_C;
  // At stride 1, dA_prev is dZ padded by f - 1 - pad, convolved with W flipped in space, its channel axes
  // swapped; a side padded by p becomes a side padded by f - 1 - p. That padding must add nothing, as in the
  // notebook's sum over dZ's own elements, so a weight that is infinite or NaN (0 * inf is NaN) takes the
  // patch-matrix path.
  if (fills_packets<T>({g.n_C_prev}) && g.stride_H == 1 && g.stride_W == 1 && g.pads_within_filter() &&
      W.vector().allFinite()) {
    const T* packed = pack_filter(W.data(), g.f_H, g.f_W, n_C, g.n_C_prev, /*flip=*/true);
    direct_conv(dZ.data(),
                {g.m, g.n_H, g.n_W, n_C, g.f_H - 1 - g.pad_top, g.f_H - 1 - g.pad_bottom, g.f_W - 1 - g.pad_left,
                 g.f_W - 1 - g.pad_right, g.f_H, g.f_W, 1, 1, g.n_H_prev, g.n_W_prev, g.n_C_prev},
                packed, static_cast<const T*>(nullptr), dA_prev.data());
    return;
  }
  const ConstMatrixMap<T> W_mat(W.data(), K, n_C);
  const ConstMatrixMap<T> dZ_mat(dZ.data(), g.pixels(), n_C);
  if (!g.is_pointwise()) dA_prev.vector().setZero();
  const Index chunk = chunk_pixels<T>(g), columns = filter_columns<T>(g);
  T* const dpatches =
      g.is_pointwise() ? nullptr : scratch<T, Scratch::PatchGradients>(static_cast<std::size_t>(chunk * K));
  for (Index first = 0; first < g.pixels(); first += chunk) {
    const Index count = std::min(chunk, g.pixels() - first);
    // dP = dZ W_mat^T, summed over blocks of output channels; at 1x1 it is dA_prev itself.
    MatrixMap<T> dP(g.is_pointwise() ? dA_prev.data() + first * K : dpatches, count, K);
    if (columns == n_C) {
      dP.noalias() = dZ_mat.middleRows(first, count) * W_mat.transpose();
    } else {
      dP.setZero();
      for (Index c0 = 0; c0 < n_C; c0 += columns) {
        const Index width = std::min(columns, n_C - c0);
        dP.noalias() += dZ_mat.block(first, c0, count, width) * W_mat.middleCols(c0, width).transpose();
      }
    }
    if (!g.is_pointwise()) col2im(dpatches, g, first, count, dA_prev.data());
  }
}

/// db = column sums of dZ; dW = P^T dZ: by the direct kernel when n_C fills whole packets, otherwise a chunk
/// of output pixels at a time.
template <class T>
void conv_backward_weights(TensorView<const T> dZ, TensorView<const T> A_prev, ConvParams hp, TensorView<T> dW,
                           TensorView<T> db) {
  const ScratchScope scope;
  if (dZ.empty()) {
    dW.vector().setZero();
    db.vector().setZero();
    return;
  }
  const ConvGeometry g = conv_geometry(A_prev.shape(), dW.shape(), hp, dZ.dim(1), dZ.dim(2));
  const Index K = g.patch_size(), n_C = g.n_C;
  const ConstMatrixMap<T> dZ_mat(dZ.data(), g.pixels(), n_C);
  db.vector() = dZ_mat.colwise().sum().transpose();
  if (fills_packets<T>({n_C}) && g.pads_within_filter()) {
    direct_filter_gradient(A_prev.data(), dZ.data(), g, dW.data());
    return;
  }
  MatrixMap<T> dW_mat(dW.data(), K, n_C);
  dW_mat.setZero();
  for_each_patch_chunk(A_prev.data(), g, [&](Index first, Index count, const T* P) {
    dW_mat.noalias() += ConstMatrixMap<T>(P, count, K).transpose() * dZ_mat.middleRows(first, count);
  });
}

}  // namespace cnnprim::detail::eigen
