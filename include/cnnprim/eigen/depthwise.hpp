// Depthwise convolution kernels (groups = n_C_prev = n_C): each channel is convolved with its own filter.
//
// There is no contraction over channels to hand to a matrix product, so the kernels vectorize along the
// channels instead: in NHWC a pixel's channels are contiguous, and so are a tap's weights in W
// (f_H, f_W, 1, n_C). Forward and backward data gather (every output element is summed in registers and
// stored once, with no read-modify-write of memory); backward weights keeps a tap's packets in registers
// along an output row. Tasks split rows of the output (forward, backward data) or blocks of channels
// (weights), so each sum has the same order for every number of threads.
#pragma once

#include <algorithm>

#include "../geometry.hpp"
#include "../params.hpp"
#include "../tensor.hpp"
#include "parallel.hpp"
#include "scratch.hpp"
#include "tile.hpp"

namespace cnnprim::detail::eigen {

// ceil(a / b) for a >= 0, b > 0.
inline Index ceil_div(Index a, Index b) { return a / b + (a % b != 0); }

// The taps [begin, end) of a filter axis (f taps `dilation` apart) that fall inside [0, n) when the window
// starts at `start`.
struct TapRange {
  Index begin, end;
};
inline TapRange taps_inside(Index start, Index f, Index dilation, Index n) {
  const Index begin = start < 0 ? ceil_div(-start, dilation) : 0;
  const Index end = start >= n ? 0 : std::min(f, ceil_div(n - start, dilation));
  return {begin, std::max(begin, end)};
}

// acc[u] = init (or 0) + sum over `taps` of input[offset + c] * filter[tap + c], for the channel block at c.
template <class T, class V, int U>
EIGEN_ALWAYS_INLINE void depthwise_block(const T* input, const T* filter, const Index* offsets, const Index* taps,
                                         Index n_taps, const T* init, Index c, T* out) {
  constexpr Index step = is_scalar_v<V> ? 1 : packet_size<T>;
  V acc[std::size_t{U}];
  unroll<U>([&](int u) { acc[u] = init ? load<V>(init + c + u * step) : constant<V>(T(0)); });
  for (Index k = 0; k < n_taps; ++k) {
    const T* x = input + offsets[k] + c;
    const T* w = filter + taps[k] + c;
    unroll<U>([&](int u) { acc[u] = multiply_add(load<V>(x + u * step), load<V>(w + u * step), acc[u]); });
  }
  unroll<U>([&](int u) { store(out + c + u * step, acc[u]); });
}

/// Z = activation(depthwise conv(A_prev, W) (+ b)).
template <class T>
void depthwise_forward(const T* A_prev, const T* W, const T* b, const ConvGeometry& g, T* Z, Threads threads) {
  const Index C = g.n_C, pieces = row_pieces(g.m, g.n_H);
  parallel_for(threads, g.m * pieces, g.work(), [&](Index task) {
    const Index i = task / pieces;
    const auto [h_begin, h_end] = piece(g.n_H, pieces, task % pieces);
    Index* const offsets = scratch<Index, Scratch::WindowTaps>(static_cast<std::size_t>(2 * g.f_H * g.f_W));
    Index* const taps = offsets + g.f_H * g.f_W;
    for (Index h = h_begin; h < h_end; ++h) {
      const Index top = h * g.stride_H - g.pad_top;
      const TapRange rows = taps_inside(top, g.f_H, g.dilation_H, g.n_H_prev);
      for (Index w = 0; w < g.n_W; ++w) {
        const Index left = w * g.stride_W - g.pad_left;
        const TapRange columns = taps_inside(left, g.f_W, g.dilation_W, g.n_W_prev);
        Index n_taps = 0;
        for (Index kh = rows.begin; kh < rows.end; ++kh)
          for (Index kw = columns.begin; kw < columns.end; ++kw, ++n_taps) {
            offsets[n_taps] = ((i * g.n_H_prev + top + kh * g.dilation_H) * g.n_W_prev + left + kw * g.dilation_W) * C;
            taps[n_taps] = (kh * g.f_W + kw) * C;
          }
        T* z = Z + ((i * g.n_H + h) * g.n_W + w) * C;
        for_each_channel_block<T>(C, [&](Index c, auto lanes, auto packets) {
          depthwise_block<T, decltype(lanes), decltype(packets)::value>(A_prev, W, offsets, taps, n_taps, b, c, z);
        });
      }
    }
    activate(g.activation, Z + (i * g.n_H + h_begin) * g.n_W * C, (h_end - h_begin) * g.n_W * C);
  });
}

/// dA_prev[i, r, s, c] = sum of dZ[i, h, w, c] * W[kh, kw, 0, c] over the windows (h, w) whose tap (kh, kw)
/// reads (r, s).
template <class T>
void depthwise_backward_data(const T* dZ, const T* W, const ConvGeometry& g, T* dA_prev, Threads threads) {
  const Index C = g.n_C, pieces = row_pieces(g.m, g.n_H_prev);
  parallel_for(threads, g.m * pieces, g.work(), [&](Index task) {
    const Index i = task / pieces;
    const auto [r_begin, r_end] = piece(g.n_H_prev, pieces, task % pieces);
    Index* const offsets = scratch<Index, Scratch::WindowTaps>(static_cast<std::size_t>(2 * g.f_H * g.f_W));
    Index* const taps = offsets + g.f_H * g.f_W;
    for (Index r = r_begin; r < r_end; ++r)
      for (Index s = 0; s < g.n_W_prev; ++s) {
        Index n_taps = 0;
        for (Index kh = 0; kh < g.f_H; ++kh) {
          const Index y = r + g.pad_top - kh * g.dilation_H;  // h * stride_H, if tap kh of row h reads r
          if (y < 0) break;
          if (y % g.stride_H != 0 || y / g.stride_H >= g.n_H) continue;
          for (Index kw = 0; kw < g.f_W; ++kw) {
            const Index x = s + g.pad_left - kw * g.dilation_W;
            if (x < 0) break;
            if (x % g.stride_W != 0 || x / g.stride_W >= g.n_W) continue;
            offsets[n_taps] = ((i * g.n_H + y / g.stride_H) * g.n_W + x / g.stride_W) * C;
            taps[n_taps++] = (kh * g.f_W + kw) * C;
          }
        }
        T* da = dA_prev + ((i * g.n_H_prev + r) * g.n_W_prev + s) * C;
        for_each_channel_block<T>(C, [&](Index c, auto lanes, auto packets) {
          depthwise_block<T, decltype(lanes), decltype(packets)::value>(dZ, W, offsets, taps, n_taps,
                                                                        static_cast<const T*>(nullptr), c, da);
        });
      }
  });
}

/// dW[kh, kw, 0, c] = sum over pixels of A_prev_pad[i, h*stride_H + kh*dilation_H, w*stride_W + kw*dilation_W, c]
/// * dZ[i, h, w, c]; the tasks are blocks of channels.
template <class T>
void depthwise_backward_weights(const T* A_prev, const T* dZ, const ConvGeometry& g, T* dW, Threads threads) {
  const Index C = g.n_C, block = tile_packets * packet_size<T>, blocks = ceil_div(C, block);
  std::fill_n(dW, g.f_H * g.f_W * C, T(0));
  parallel_for(threads, blocks, g.work(), [&](Index task) {
    const Index c_begin = task * block, width = std::min(block, C - c_begin);
    for (Index i = 0; i < g.m; ++i)
      for (Index h = 0; h < g.n_H; ++h) {
        const Index top = h * g.stride_H - g.pad_top;
        const TapRange rows = taps_inside(top, g.f_H, g.dilation_H, g.n_H_prev);
        const T* dz = dZ + (i * g.n_H + h) * g.n_W * C + c_begin;
        for (Index kh = rows.begin; kh < rows.end; ++kh) {
          const T* a_row = A_prev + ((i * g.n_H_prev + top + kh * g.dilation_H) * g.n_W_prev) * C + c_begin;
          for (Index kw = 0; kw < g.f_W; ++kw) {
            // The output columns w whose tap kw reads a column s = w * stride_W - pad_left + kw * dilation_W
            // inside the image.
            const Index shift = g.pad_left - kw * g.dilation_W;
            const Index w_begin = shift > 0 ? ceil_div(shift, g.stride_W) : 0;
            const Index last = g.n_W_prev - 1 + shift;
            const Index w_end = last < 0 ? 0 : std::min(g.n_W, last / g.stride_W + 1);
            T* dw = dW + (kh * g.f_W + kw) * C + c_begin;
            for_each_channel_block<T>(width, [&](Index c, auto lanes, auto packets) {
              using V = decltype(lanes);
              constexpr int U = decltype(packets)::value;
              constexpr Index step = is_scalar_v<V> ? 1 : packet_size<T>;
              V acc[std::size_t{U}];
              unroll<U>([&](int u) { acc[u] = load<V>(dw + c + u * step); });
              for (Index w = w_begin; w < w_end; ++w) {
                const T* a = a_row + (w * g.stride_W - shift) * C + c;
                unroll<U>([&](int u) {
                  acc[u] = multiply_add(load<V>(a + u * step), load<V>(dz + w * C + c + u * step), acc[u]);
                });
              }
              unroll<U>([&](int u) { store(dw + c + u * step, acc[u]); });
            });
          }
        }
      }
  });
}

}  // namespace cnnprim::detail::eigen
