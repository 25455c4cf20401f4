// The geometry and the filter of a direct convolution pass, shared by the direct and the Winograd kernels.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>

#include <Eigen/Core>

#include "../tensor.hpp"
#include "packet.hpp"

namespace cnnprim::detail::eigen {

// The sizes of a direct convolution pass: input (m, n_H_in, n_W_in, n_in) with padding on each side,
// f_H x f_W taps dilation_H and dilation_W apart at stride (stride_H, stride_W), output (m, n_H, n_W, n_out).
struct DirectGeometry {
  Index m, n_H_in, n_W_in, n_in;
  Index pad_top, pad_bottom, pad_left, pad_right;
  Index f_H, f_W, stride_H, stride_W, dilation_H, dilation_W;
  Index n_H, n_W, n_out;
};

// The filter of a direct convolution pass, in HWIO layout: W itself, or for the backward data pass W flipped
// in space with its channel axes swapped (tap (kh, kw), input channel k of dZ, output channel c of dA_prev is
// W(f_H-1-kh, f_W-1-kw, c, k)). A flipped filter may take a sub-grid of W's taps, those of one phase of a strided
// layer: W's rows row0, row0 + step_H, ... and columns column0, column0 + step_W, ... of its W_f_W columns (0: the
// pass's f_W), so that tap (kh, kw) is W(row0 + (f_H-1-kh) step_H, column0 + (f_W-1-kw) step_W, c, k).
template <class T>
struct DirectFilter {
  const T* W;
  bool flipped;
  Index row0 = 0, column0 = 0, step_H = 1, step_W = 1, W_f_W = 0;

  // W's tap that the pass's tap (kh * f_W + kw) reads.
  Index source_tap(const DirectGeometry& g, Index tap) const {
    if (!flipped) return tap;
    const Index j = g.f_H - 1 - tap / g.f_W, l = g.f_W - 1 - tap % g.f_W;
    return (row0 + j * step_H) * (W_f_W != 0 ? W_f_W : g.f_W) + column0 + l * step_W;
  }

  // Copies output channels [c0, c0 + width) to `block`, f_H * f_W * n_in rows of `stride` >= width values, zeros
  // after the first width (the lanes of a last packet past the channels): a tile then reads each filter row's
  // packets from one contiguous block, where the filter's own rows, 1 or 2 KB apart in wide layers, would
  // compete for the same sets of the L1 cache. Stream: W's rows are stored past the caches (store_streaming),
  // for a block that the other threads of the call read (a flipped filter's squares are not).
  template <bool Stream = false>
  void pack(const DirectGeometry& g, Index c0, Index width, Index stride, T* block) const {
    const Index taps = g.f_H * g.f_W;
    for (Index tap = 0; tap < taps; ++tap) {
      T* const rows = block + tap * g.n_in * stride;
      if (flipped) {
        transpose(W + (source_tap(g, tap) * g.n_out + c0) * g.n_in, width, g.n_in, rows, stride);
      } else {
        for (Index r = 0; r < g.n_in; ++r)
          copy_streaming<Stream>(W + (tap * g.n_in + r) * g.n_out + c0, width, rows + r * stride);
      }
      if (stride > width)
        for (Index r = 0; r < g.n_in; ++r) std::fill(rows + r * stride + width, rows + (r + 1) * stride, T(0));
    }
    if constexpr (Stream) streaming_fence();
  }

  // The packet_size<T> square of a flipped filter at `tap` from input channel r0 and output channel c0, transposed
  // from W: to[i * n + j] is the filter's value for input channel r0 + i and output channel c0 + j (as pack lays
  // out its rows).
  void flipped_square(const DirectGeometry& g, Index tap, Index r0, Index c0, T* to) const {
    assert(flipped);
    transpose_square(W + (source_tap(g, tap) * g.n_out + c0) * g.n_in + r0, g.n_in, to);
  }

 private:
  // to (columns x rows, its rows `stride` apart) = from (rows x columns)^T, both row-major, by squares that stay in
  // L1 cache (a row of `to` gathers a column of `from`, whose elements lie a row apart), each a fixed-size
  // transpose in registers.
  static void transpose(const T* from, Index rows, Index columns, T* to, Index stride) {
    constexpr int square = 16;
    using Square = Eigen::Matrix<T, square, square, Eigen::RowMajor>;
    using Stride = Eigen::OuterStride<>;
    for (Index r0 = 0; r0 < rows; r0 += square)
      for (Index c0 = 0; c0 < columns; c0 += square) {
        if (r0 + square <= rows && c0 + square <= columns) {
          Eigen::Map<Square, 0, Stride>(to + c0 * stride + r0, Stride(stride)) =
              Eigen::Map<const Square, 0, Stride>(from + r0 * columns + c0, Stride(columns)).transpose();
          continue;
        }
        for (Index c = c0; c < std::min(columns, c0 + square); ++c)
          for (Index r = r0; r < std::min(rows, r0 + square); ++r) to[c * stride + r] = from[r * columns + c];
      }
  }
};

}  // namespace cnnprim::detail::eigen
