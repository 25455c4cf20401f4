// Depthwise convolution kernels (groups = n_C_prev = n_C): each channel is convolved with its own filter.
//
// There is no contraction over channels to hand to a matrix product, so the kernels vectorize along the
// channels instead: in NHWC a pixel's channels are contiguous, and so are a tap's weights in W
// (f_H, f_W, 1, n_C). Forward and backward data gather (every output element is summed in registers and
// stored once, with no read-modify-write of memory), several pixels at a time where they share their taps;
// backward weights keeps a tap's packets in registers along an output row. MobileNet's 3x3 layers have kernels
// of their own (depthwise_3x3.hpp). Tasks split rows of the output (forward, backward data) or blocks of
// channels (weights), so each sum has the same order for every number of threads.
#pragma once

#include <algorithm>

#include "../geometry.hpp"
#include "../params.hpp"
#include "../tensor.hpp"
#include "depthwise_3x3.hpp"
#include "parallel.hpp"
#include "scratch.hpp"
#include "tile.hpp"

namespace cnnprim::detail::eigen {

// Calls body(c, V(), Int<U>()) over the channels from c: tile_packets packets at a time, then two, then one,
// then single channels (V = T).
template <class T, class Body>
EIGEN_ALWAYS_INLINE void depthwise_channels(Index n_C, Body body) {
  constexpr Index n = packet_size<T>;
  Index c = 0;
  for (; c + tile_packets * n <= n_C; c += tile_packets * n) body(c, Packet<T>(), Int<tile_packets>());
  if constexpr (tile_packets > 2)
    if (c + 2 * n <= n_C) body(c, Packet<T>(), Int<2>()), c += 2 * n;
  for (; c + n <= n_C; c += n) body(c, Packet<T>(), Int<1>());
  for (; c < n_C; ++c) body(c, T(), Int<1>());
}

// R pixels of `out` (out_step apart), channels [c, c + U packets): init (or 0) plus the sum over the taps k of
// input[origin + r * pixel_step + offsets[k] + c] * filter[taps[k] + c]. The R pixels share their taps, so
// each weight packet is loaded once for R independent accumulators.
template <int R, class T, class V, int U>
EIGEN_ALWAYS_INLINE void depthwise_tile(const T* input, Index origin, Index pixel_step, const Index* offsets,
                                        const T* filter, const Index* taps, Index n_taps, const T* init, Index c,
                                        T* out, Index out_step) {
  constexpr Index step = is_scalar_v<V> ? 1 : packet_size<T>;
  V acc[std::size_t{R}][std::size_t{U}];
  unroll<U>([&](int u) {
    const V start = init ? load<V>(init + c + u * step) : constant<V>(T(0));
    unroll<R>([&](int r) { acc[r][u] = start; });
  });
  for (Index k = 0; k < n_taps; ++k) {
    const T* x = input + (origin + offsets[k] + c);
    V w[std::size_t{U}];
    unroll<U>([&](int u) { w[u] = load<V>(filter + taps[k] + c + u * step); });
    unroll<R>([&](int r) {
      unroll<U>([&](int u) { acc[r][u] = multiply_add(load<V>(x + r * pixel_step + u * step), w[u], acc[r][u]); });
    });
  }
  unroll<R>([&](int r) { unroll<U>([&](int u) { store(out + r * out_step + c + u * step, acc[r][u]); }); });
}

// Pixels per register tile of the depthwise kernels.
constexpr int depthwise_pixels = 4;

// One row of depthwise gathers: pixels p in [0, n) of `out`, pixel p reading `input` around origin(p) through
// the taps that taps_of(p, offsets, taps) lists (and returns the count of). Pixels `every` apart share their
// list of taps, with their inputs pixel_step apart; in [full_begin, full_end) the list is complete, and such
// pixels go depthwise_pixels at a time.
template <class T, class Origin, class TapsOf>
void depthwise_row(const T* input, const T* filter, const T* init, Index C, Index n, Index every, Index full_begin,
                   Index full_end, Index pixel_step, Origin origin, TapsOf taps_of, Index* offsets, Index* taps,
                   T* out) {
  constexpr Index R = depthwise_pixels;
  // Pixels are counted by their index j among those of their class, so that no position past n is formed
  // (`every` is a stride, which may be near the largest Index).
  for (Index first = 0; first < std::min(every, n); ++first) {
    const Index count = (n - 1 - first) / every + 1;
    const auto tile_fits = [&](Index p) {
      return p >= full_begin && p < full_end && (full_end - 1 - p) / every >= R - 1;
    };
    for (Index j = 0; j < count;) {
      if (tile_fits(first + j * every)) {
        const Index n_taps = taps_of(first + j * every, offsets, taps);
        for (; j < count && tile_fits(first + j * every); j += R) {
          const Index p = first + j * every;
          depthwise_channels<T>(C, [&](Index c, auto lanes, auto packets) {
            depthwise_tile<R, T, decltype(lanes), decltype(packets)::value>(
                input, origin(p), pixel_step, offsets, filter, taps, n_taps, init, c, out + p * C, every * C);
          });
        }
        continue;
      }
      const Index p = first + j * every;
      const Index n_taps = taps_of(p, offsets, taps);
      depthwise_channels<T>(C, [&](Index c, auto lanes, auto packets) {
        depthwise_tile<1, T, decltype(lanes), decltype(packets)::value>(input, origin(p), 0, offsets, filter, taps,
                                                                       n_taps, init, c, out + p * C, C);
      });
      ++j;
    }
  }
}

/// Z = activation(depthwise conv(A_prev, W) (+ b)).
template <class T>
void depthwise_forward(const T* A_prev, const T* W, const T* b, const ConvGeometry& g, T* Z, Threads threads) {
  const Index C = g.n_C, pieces = row_pieces(g.m, g.n_H);
  // The output columns whose windows lie inside the image's columns.
  const Index full_begin = ceil_div(g.pad_left, g.stride_W);
  const Index last_start = g.n_W_prev - g.extent_W() + g.pad_left;
  const Index full_end = last_start < 0 ? 0 : std::min(g.n_W, last_start / g.stride_W + 1);
  const bool with_3x3 = has_3x3_kernel(g);
  parallel_for(threads, g.m * pieces, g.work(), [&](Index task) {
    const Index i = task / pieces;
    const auto [h_begin, h_end] = piece(g.n_H, pieces, task % pieces);
    if (with_3x3) {
      const auto rows = [&](auto S, Index begin, Index end) {
        depthwise_3x3_rows<decltype(S)::value>(A_prev, g.n_H_prev, g.n_W_prev, C, g.stride_H, g.pad_top, g.pad_left,
                                               W, false, b, i, begin, end, g.n_H, g.n_W, Z);
      };
      g.stride_W == 1 ? rows(Int<1>(), h_begin, h_end) : rows(Int<2>(), h_begin, h_end);
      activate(g.activation, Z + (i * g.n_H + h_begin) * g.n_W * C, (h_end - h_begin) * g.n_W * C);
      return;
    }
    Index* const offsets = scratch<Index, Scratch::WindowTaps>(static_cast<std::size_t>(2 * g.f_H * g.f_W));
    Index* const taps = offsets + g.f_H * g.f_W;
    for (Index h = h_begin; h < h_end; ++h) {
      const Index top = h * g.stride_H - g.pad_top;
      const TapRange rows = taps_inside(top, g.f_H, g.dilation_H, g.n_H_prev);
      const auto columns_of = [&](Index w) {
        return taps_inside(w * g.stride_W - g.pad_left, g.f_W, g.dilation_W, g.n_W_prev);
      };
      // Offsets count from window w's first tap inside the image: a pad near the largest Index puts its
      // top-left pixel too far outside for an offset from the image's start. (A window with no tap inside
      // reads nothing, and its origin is any pixel's.)
      const auto origin = [&](Index w) {
        const TapRange columns = columns_of(w);
        if (rows.begin == rows.end || columns.begin == columns.end) return Index{0};
        const Index row = top + rows.begin * g.dilation_H;
        const Index column = w * g.stride_W - g.pad_left + columns.begin * g.dilation_W;
        return ((i * g.n_H_prev + row) * g.n_W_prev + column) * C;
      };
      const auto taps_of = [&](Index w, Index* offset, Index* tap) {
        const TapRange columns = columns_of(w);
        Index n_taps = 0;
        for (Index kh = rows.begin; kh < rows.end; ++kh)
          for (Index kw = columns.begin; kw < columns.end; ++kw, ++n_taps) {
            const Index dh = (kh - rows.begin) * g.dilation_H, dw = (kw - columns.begin) * g.dilation_W;
            offset[n_taps] = (dh * g.n_W_prev + dw) * C;
            tap[n_taps] = (kh * g.f_W + kw) * C;
          }
        return n_taps;
      };
      T* z = Z + (i * g.n_H + h) * g.n_W * C;
      // Only tiles of windows inside the image take the step; unless two fit, a huge stride is not multiplied out.
      const Index pixel_step = full_end - full_begin > 1 ? g.stride_W * C : 0;
      depthwise_row(A_prev, W, b, C, g.n_W, 1, full_begin, full_end, pixel_step, origin, taps_of, offsets, taps, z);
    }
    activate(g.activation, Z + (i * g.n_H + h_begin) * g.n_W * C, (h_end - h_begin) * g.n_W * C);
  });
}

/// dA_prev[i, r, s, c] = sum of dZ[i, h, w, c] * W[kh, kw, 0, c] over the windows (h, w) whose tap (kh, kw)
/// reads (r, s).
template <class T>
void depthwise_backward_data(const T* dZ, const T* W, const ConvGeometry& g, T* dA_prev, Threads threads) {
  const Index C = g.n_C, pieces = row_pieces(g.m, g.n_H_prev);
  // Columns s and s + stride_W take the same taps, from dZ's columns w and w + 1. In [full_begin, full_end)
  // every tap kw whose w = (s + pad_left - kw * dilation_W) / stride_W is whole lies inside dZ.
  const Index full_begin = std::max<Index>(0, g.extent_W() - 1 - g.pad_left);
  // (n_W * stride_W is formed only below n_W_prev + pad_left: a huge stride would overflow it.)
  const Index full_end = g.n_W >= ceil_div(g.n_W_prev + g.pad_left, g.stride_W)
                             ? g.n_W_prev
                             : std::max<Index>(0, g.n_W * g.stride_W - g.pad_left);
  // At stride 1 this is the forward correlation of dZ with the filter rotated by 180 degrees, padded by
  // extent - 1 - pad on each side.
  const bool with_3x3 = g.stride_H == 1 && g.stride_W == 1 &&
                        has_3x3_kernel(g, 1, {2 - g.pad_top, 2 - g.pad_bottom, 2 - g.pad_left, 2 - g.pad_right},
                                       g.n_H, g.n_W);
  const bool with_3x3_stride_two = g.stride_H == 2 && g.stride_W == 2 && has_3x3_kernel(g);
  parallel_for(threads, g.m * pieces, g.work(), [&](Index task) {
    const Index i = task / pieces;
    const auto [r_begin, r_end] = piece(g.n_H_prev, pieces, task % pieces);
    if (with_3x3_stride_two) return depthwise_3x3_backward_data_stride_two(dZ, W, g, i, r_begin, r_end, dA_prev);
    if (with_3x3)
      return depthwise_3x3_rows<1>(dZ, g.n_H, g.n_W, C, 1, 2 - g.pad_top, 2 - g.pad_left, W, true,
                                   static_cast<const T*>(nullptr), i, r_begin, r_end, g.n_H_prev, g.n_W_prev, dA_prev);
    Index* const offsets = scratch<Index, Scratch::WindowTaps>(static_cast<std::size_t>(2 * g.f_H * g.f_W));
    Index* const taps = offsets + g.f_H * g.f_W;
    for (Index r = r_begin; r < r_end; ++r) {
      // The window (h, w) whose tap (kh, kw) reads (r, s) has h * stride_H = r + pad_top - kh * dilation_H, and
      // likewise w; offsets count from dZ's pixel (0, s / stride_W) of image i.
      const Index image = i * g.n_H * g.n_W * C;
      const auto origin = [&](Index s) { return image + s / g.stride_W * C; };
      const auto taps_of = [&](Index s, Index* offset, Index* tap) {
        Index n_taps = 0;
        for (Index kh = 0; kh < g.f_H; ++kh) {
          const Index y = r + g.pad_top - kh * g.dilation_H;
          if (y < 0) break;
          if (y % g.stride_H != 0 || y / g.stride_H >= g.n_H) continue;
          for (Index kw = 0; kw < g.f_W; ++kw) {
            const Index x = s + g.pad_left - kw * g.dilation_W;
            if (x < 0) break;
            if (x % g.stride_W != 0 || x / g.stride_W >= g.n_W) continue;
            offset[n_taps] = ((y / g.stride_H) * g.n_W + x / g.stride_W - s / g.stride_W) * C;
            tap[n_taps++] = (kh * g.f_W + kw) * C;
          }
        }
        return n_taps;
      };
      T* da = dA_prev + (i * g.n_H_prev + r) * g.n_W_prev * C;
      depthwise_row(dZ, W, static_cast<const T*>(nullptr), C, g.n_W_prev, g.stride_W, full_begin, full_end, C,
                    origin, taps_of, offsets, taps, da);
    }
  });
}

/// dW[kh, kw, 0, c] = sum over pixels of A_prev_pad[i, h*stride_H + kh*dilation_H, w*stride_W + kw*dilation_W, c]
/// * dZ[i, h, w, c]; the tasks are blocks of channels.
template <class T>
void depthwise_backward_weights(const T* A_prev, const T* dZ, const ConvGeometry& g, T* dW, Threads threads) {
  const Index C = g.n_C;
  if (has_3x3_kernel(g)) {
    // One task per packet of channels, then one per remaining channel.
    const Index n = packet_size<T>, packets = C / n;
    const auto weights = [&](auto S) {
      parallel_for(threads, packets + C % n, g.work(), [&](Index task) {
        if (task < packets) depthwise_3x3_weights<decltype(S)::value, T, Packet<T>>(A_prev, dZ, g, task * n, dW);
        else depthwise_3x3_weights<decltype(S)::value, T, T>(A_prev, dZ, g, packets * n + (task - packets), dW);
      });
    };
    g.stride_W == 1 ? weights(Int<1>()) : weights(Int<2>());
    return;
  }
  const Index block = 2 * packet_size<T>, blocks = ceil_div(C, block);
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
            depthwise_channels<T>(width, [&](Index c, auto lanes, auto packets) {
              using V = decltype(lanes);
              constexpr int U = decltype(packets)::value;
              // A sums, over columns w = A j + a, so that a single packet of channels is not one long chain of
              // dependent multiply-adds; added in a fixed order.
              constexpr int A = U >= 4 ? 1 : 4 / U;
              constexpr Index step = is_scalar_v<V> ? 1 : packet_size<T>;
              V acc[std::size_t{A}][std::size_t{U}];
              unroll<A>([&](int a) { unroll<U>([&](int u) { acc[a][u] = constant<V>(T(0)); }); });
              const auto add_column = [&](int a, Index w) {
                const T* x = a_row + (w * g.stride_W - shift) * C + c;
                unroll<U>([&](int u) {
                  acc[a][u] = multiply_add(load<V>(x + u * step), load<V>(dz + w * C + c + u * step), acc[a][u]);
                });
              };
              Index w = w_begin;
              for (; w + A <= w_end; w += A) unroll<A>([&](int a) { add_column(a, w + a); });
              for (int a = 0; w < w_end; ++w, ++a) add_column(a, w);
              unroll<U>([&](int u) {
                V sum = acc[0][u];
                for (int a = 1; a < A; ++a) sum = add(sum, acc[a][u]);
                store(dw + c + u * step, add(load<V>(dw + c + u * step), sum));
              });
            });
          }
        }
      }
  });
}

}  // namespace cnnprim::detail::eigen
