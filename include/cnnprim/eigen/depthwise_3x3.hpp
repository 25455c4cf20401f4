// The 3x3 depthwise layers (MobileNet's): filter 3x3, dilation 1, horizontal stride 1 or 2, at most one pixel of
// padding per side. A block of channels (a packet, or one channel) keeps its nine weights, or its nine weight
// sums, in registers while the kernel walks the output a row at a time, R pixels per tile; each input column
// of a tile's windows is loaded once and multiplied into every window that reads it. Windows on the border take
// the same tiles, their columns outside the input removed at compile time, their rows at run time. Backward
// data is the forward correlation of dZ with the rotated filter at stride 1, and a kernel of its own at stride 2
// (at the end).
#pragma once

#include <algorithm>
#include <array>
#include <type_traits>

#include "../geometry.hpp"
#include "tile.hpp"

namespace cnnprim::detail::eigen {

// Pixels per tile for blocks of channels of type V: nine weights and R sums, or nine sums and R packets of dZ,
// stay in registers. The channels after the last packet go one pixel at a time: tiles of single channels would
// double the kernels' code for a few channels of a few layers.
template <class T, class V>
constexpr int depthwise_3x3_pixels = std::is_same_v<V, T> ? 1 : vector_registers >= 32 ? 8 : 4;

// Whether an input of n_H_in x n_W_in pixels with these pads (top, bottom, left, right) is read by the 3x3
// kernels: then every window's rows inside the input are all three, the last two or the first two, and so are
// its columns.
inline bool has_3x3_kernel(const ConvGeometry& g, Index stride_W, const std::array<Index, 4>& pads, Index n_H_in,
                           Index n_W_in) {
  return g.f_H == 3 && g.f_W == 3 && g.dilation_H == 1 && g.dilation_W == 1 && (stride_W == 1 || stride_W == 2) &&
         std::all_of(pads.begin(), pads.end(), [](Index pad) { return pad >= 0 && pad <= 1; }) && n_H_in >= 2 &&
         n_W_in >= 2;
}

// Whether the layer's input is read by the 3x3 kernels (forward, backward weights).
inline bool has_3x3_kernel(const ConvGeometry& g) {
  return has_3x3_kernel(g, g.stride_W, {g.pad_top, g.pad_bottom, g.pad_left, g.pad_right}, g.n_H_prev, g.n_W_prev);
}

// Calls tile(Int<R>(), Int<KW0>(), Int<KW1>(), p, s) over the output columns [0, n_W) of a row: R pixels from p
// whose windows' columns inside the input (n_W_in columns, padded by pad_left; stride S) are [KW0, KW1), the
// first pixel's column KW0 being the input's column s.
template <int S, int R, class Tile>
EIGEN_ALWAYS_INLINE void for_each_3x3_tile(Index n_W_in, Index pad_left, Index n_W, Tile tile) {
  const Index full_begin = ceil_div(pad_left, S);
  const Index last_start = n_W_in - 3 + pad_left;
  const Index full_end = std::max(full_begin, last_start < 0 ? 0 : std::min(n_W, last_start / S + 1));
  // A border window starts one column before the input, or ends one column after it.
  const auto border = [&](Index p) CNNPRIM_INLINE_LAMBDA {
    const Index left = p * S - pad_left;
    if (left < 0) tile(Int<1>(), Int<1>(), Int<3>(), p, left + 1);
    else tile(Int<1>(), Int<0>(), Int<2>(), p, left);
  };
  for (Index p = 0; p < full_begin; ++p) border(p);
  Index p = full_begin;
  for (; p + R <= full_end; p += R) tile(Int<R>(), Int<0>(), Int<3>(), p, p * S - pad_left);
  // Then tiles of R / 2, R / 4 and R / 8 pixels: a lone pixel is one chain of dependent additions.
  static_assert(R <= 8);
  unroll<3>([&](auto k) CNNPRIM_INLINE_LAMBDA {
    constexpr int Q = R >> (decltype(k)::value + 1);
    if constexpr (Q > 0)
      if (p + Q <= full_end) {
        tile(Int<Q>(), Int<0>(), Int<3>(), p, p * S - pad_left);
        p += Q;
      }
  });
  for (; p < n_W; ++p) border(p);
}

// Calls multiply(v, Int<k>(), Int<r>()) for every input v of R windows (stride S) of one block of channels and
// every window r whose tap k = 3 kh + kw reads it, over the taps rows x [KW0, KW1); x is the first window's tap
// (rows.begin, KW0), rows row_step apart, pixels C apart. Window r meets its taps row by row. The rows are
// tested at run time (a window on the top or bottom border has two): one body serves every row of the output.
template <int S, int R, int KW0, int KW1, class V, class T, class Multiply>
EIGEN_ALWAYS_INLINE void for_each_3x3_tap(const T* x, TapRange rows, Index row_step, Index C, Multiply multiply) {
  constexpr int columns = S * (R - 1) + KW1 - KW0;
  unroll<3>([&](auto row) CNNPRIM_INLINE_LAMBDA {
    constexpr int KH = decltype(row)::value;
    if (KH < rows.begin || KH >= rows.end) return;
    // One pointer walks the row's columns.
    const T* input = opaque(x + (KH - rows.begin) * row_step);
    unroll<columns>([&](auto column) CNNPRIM_INLINE_LAMBDA {
      constexpr int j = decltype(column)::value;
      const V v = load<V>(input);
      if (j + 1 < columns) input = opaque(input + C);
      unroll<KW1 - KW0>([&](auto tap) CNNPRIM_INLINE_LAMBDA {
        constexpr int KW = KW0 + decltype(tap)::value, d = j + KW0 - KW;
        if constexpr (d >= 0 && d % S == 0 && d / S < R) multiply(v, Int<3 * KH + KW>(), Int<d / S>());
      });
    });
  });
}

// Calls body(c, V()) over the channels: single packets, then single channels (V = T).
template <class T, class Body>
EIGEN_ALWAYS_INLINE void for_each_channel(Index n_C, Body body) {
  constexpr Index n = packet_size<T>;
  Index c = 0;
  for (; c + n <= n_C; c += n) body(c, Packet<T>());
  for (; c < n_C; ++c) body(c, T());
}

// Rows [h_begin, h_end) of image i of `out` (n_H x n_W pixels of C channels) = init (or 0) + the 3x3
// depthwise correlation of `input` (n_H_in x n_W_in pixels) padded by pad_top and pad_left, strides
// (stride_H, S), with the filter W as it is or rotated by 180 degrees (`flip`: backward data).
template <int S, class T>
void depthwise_3x3_rows(const T* input, Index n_H_in, Index n_W_in, Index C, Index stride_H, Index pad_top,
                        Index pad_left, const T* W, bool flip, const T* init, Index i, Index h_begin, Index h_end,
                        Index n_H, Index n_W, T* out) {
  for (Index h = h_begin; h < h_end; ++h) {
    const Index top = h * stride_H - pad_top;
    const TapRange rows = taps_inside(top, 3, 1, n_H_in);
    T* z = out + (i * n_H + h) * n_W * C;
    const T* row = input + (i * n_H_in + top + rows.begin) * n_W_in * C;
    for_each_channel<T>(C, [&](Index c, auto lanes) CNNPRIM_INLINE_LAMBDA {
      using V = decltype(lanes);
      V w[9];
      unroll<9>([&](int k) CNNPRIM_INLINE_LAMBDA { w[k] = load<V>(W + (flip ? 8 - k : k) * C + c); });
      const V start = init ? load<V>(init + c) : constant<V>(T(0));
      const auto tile = [&](auto r, auto kw0, auto kw1, Index p, Index s) CNNPRIM_INLINE_LAMBDA {
        constexpr int R = decltype(r)::value;
        V acc[std::size_t{R}];
        unroll<R>([&](int q) CNNPRIM_INLINE_LAMBDA { acc[q] = start; });
        const auto multiply = [&](const V& v, auto k, auto q) CNNPRIM_INLINE_LAMBDA {
          acc[q] = multiply_add(v, w[k], acc[q]);
        };
        for_each_3x3_tap<S, R, decltype(kw0)::value, decltype(kw1)::value, V>(row + s * C + c, rows, n_W_in * C, C,
                                                                               multiply);
        unroll<R>([&](int q) CNNPRIM_INLINE_LAMBDA { store(z + (p + q) * C + c, acc[q]); });
      };
      for_each_3x3_tile<S, depthwise_3x3_pixels<T, V>>(n_W_in, pad_left, n_W, tile);
    });
  }
}

// dW[kh, kw, 0, c] for one block of channels at c (a packet, or one channel when V = T): nine sums over every
// pixel of dZ, R pixels at a time.
template <int S, class T, class V>
void depthwise_3x3_weights(const T* A_prev, const T* dZ, const ConvGeometry& g, Index c, T* dW) {
  const Index C = g.n_C;
  V acc[9];
  unroll<9>([&](int k) CNNPRIM_INLINE_LAMBDA { acc[k] = constant<V>(T(0)); });
  for (Index i = 0; i < g.m; ++i)
    for (Index h = 0; h < g.n_H; ++h) {
      const Index top = h * g.stride_H - g.pad_top;
      const TapRange rows = taps_inside(top, 3, 1, g.n_H_prev);
      const T* dz = dZ + (i * g.n_H + h) * g.n_W * C + c;
      const T* row = A_prev + (i * g.n_H_prev + top + rows.begin) * g.n_W_prev * C + c;
      const auto tile = [&](auto r, auto kw0, auto kw1, Index p, Index s) CNNPRIM_INLINE_LAMBDA {
        constexpr int R = decltype(r)::value;
        V d[std::size_t{R}];
        unroll<R>([&](int q) CNNPRIM_INLINE_LAMBDA { d[q] = load<V>(dz + (p + q) * C); });
        const auto multiply = [&](const V& v, auto k, auto q) CNNPRIM_INLINE_LAMBDA {
          acc[k] = multiply_add(v, d[q], acc[k]);
        };
        for_each_3x3_tap<S, R, decltype(kw0)::value, decltype(kw1)::value, V>(row + s * C, rows, g.n_W_prev * C, C,
                                                                               multiply);
      };
      for_each_3x3_tile<S, depthwise_3x3_pixels<T, V>>(g.n_W_prev, g.pad_left, g.n_W, tile);
    }
  unroll<9>([&](int k) CNNPRIM_INLINE_LAMBDA { store(dW + k * C + c, acc[k]); });
}

// Backward data of the 3x3 layers at stride 2 (both axes): dA_prev[r, s] gathers dZ[(r + pad_top - kh) / 2,
// (s + pad_left - kw) / 2] * W[kh, kw] over the taps for which both are whole and inside dZ: kh in {2, 0} when
// r + pad_top is even (reading two consecutive rows of dZ), kh = 1 when it is odd, and likewise kw. Columns s
// of one parity thus take the same taps from consecutive columns of dZ, and go R at a time.

// The taps along one axis of the input position x = r + pad (x >= 0) that lie inside n positions of dZ: `count`
// of them, reading dZ's positions first, first + 1.
struct StrideTwoTaps {
  int count = 0;
  Index first = 0;
  int tap[2] = {0, 0};
};
inline StrideTwoTaps stride_two_taps(Index x, Index n) {
  StrideTwoTaps t;
  if (x % 2 == 1) {
    if ((x - 1) / 2 < n) t = {1, (x - 1) / 2, {1, 0}};
    return t;
  }
  const Index u = x / 2;  // tap 0 reads u, tap 2 reads u - 1
  if (u >= 1 && u - 1 < n) t = {1, u - 1, {2, 0}};
  if (u < n) {
    if (t.count == 0) t.first = u;
    t.tap[t.count++] = 0;
  }
  return t;
}

// R pixels of one block of channels, 2 C apart in `out`: acc[q] = the sum over rows i < NR and column taps
// k < NC of row[i][(q + k) C] * w[i][k].
template <int R, int NR, int NC, class V, class T>
EIGEN_ALWAYS_INLINE void stride_two_tile(const T* const (&row)[2], Index C, const V (&w)[2][2], T* out) {
  V acc[std::size_t{R}];
  unroll<R>([&](int q) CNNPRIM_INLINE_LAMBDA { acc[q] = constant<V>(T(0)); });
  unroll<NR>([&](int i) CNNPRIM_INLINE_LAMBDA {
    const T* input = opaque(row[i]);
    unroll<R + NC - 1>([&](auto column) CNNPRIM_INLINE_LAMBDA {
      constexpr int j = decltype(column)::value;
      const V v = load<V>(input);
      if (j + 1 < R + NC - 1) input = opaque(input + C);
      unroll<NC>([&](auto tap) CNNPRIM_INLINE_LAMBDA {
        constexpr int k = decltype(tap)::value, q = j - k;
        if constexpr (q >= 0 && q < R) acc[q] = multiply_add(v, w[i][k], acc[q]);
      });
    });
  });
  unroll<R>([&](int q) CNNPRIM_INLINE_LAMBDA { store(out + 2 * q * C, acc[q]); });
}

// Rows [r_begin, r_end) of image i of dA_prev.
template <class T>
void depthwise_3x3_backward_data_stride_two(const T* dZ, const T* W, const ConvGeometry& g, Index i, Index r_begin,
                                            Index r_end, T* dA_prev) {
  const Index C = g.n_C;
  for (Index r = r_begin; r < r_end; ++r) {
    T* da = dA_prev + (i * g.n_H_prev + r) * g.n_W_prev * C;
    const StrideTwoTaps rows = stride_two_taps(r + g.pad_top, g.n_H);
    if (rows.count == 0) {
      std::fill_n(da, g.n_W_prev * C, T(0));
      continue;
    }
    const auto with_rows = [&](auto n_rows) CNNPRIM_INLINE_LAMBDA {
      constexpr int NR = decltype(n_rows)::value;
      for_each_channel<T>(C, [&](Index c, auto lanes) CNNPRIM_INLINE_LAMBDA {
        using V = decltype(lanes);
        constexpr int R = depthwise_3x3_pixels<T, V>;
        const T* row[2] = {dZ + ((i * g.n_H + rows.first) * g.n_W) * C + c,
                           dZ + ((i * g.n_H + rows.first + NR - 1) * g.n_W) * C + c};
        // Pixels s from `first` (one parity), reading dZ's columns from `column` through the column taps kw.
        const auto pixels = [&](auto n_columns, const int (&kw)[2], Index s, Index count, Index column)
                                CNNPRIM_INLINE_LAMBDA {
          constexpr int NC = decltype(n_columns)::value;
          V w[2][2];
          unroll<NR>([&](int a) CNNPRIM_INLINE_LAMBDA {
            unroll<NC>([&](int k) CNNPRIM_INLINE_LAMBDA { w[a][k] = load<V>(W + (rows.tap[a] * 3 + kw[k]) * C + c); });
          });
          const T* at[2] = {row[0] + column * C, row[1] + column * C};
          const auto tile = [&](auto pixels_per_tile) CNNPRIM_INLINE_LAMBDA {
            constexpr int Q = decltype(pixels_per_tile)::value;
            stride_two_tile<Q, NR, NC>(at, C, w, da + s * C + c);
            s += 2 * Q, count -= Q, at[0] += Q * C, at[1] += Q * C;
          };
          while (count >= R) tile(Int<R>());
          unroll<3>([&](auto k) CNNPRIM_INLINE_LAMBDA {
            constexpr int Q = R >> (decltype(k)::value + 1);
            if constexpr (Q > 0)
              if (count >= Q) tile(Int<Q>());
          });
        };
        for (Index first = 0; first < 2; ++first) {
          // The pixels of one parity whose column taps are all inside dZ are consecutive.
          const int full = (first + g.pad_left) % 2 == 0 ? 2 : 1;
          for (Index s = first; s < g.n_W_prev;) {
            const StrideTwoTaps columns = stride_two_taps(s + g.pad_left, g.n_W);
            if (columns.count == full) {
              const Index count = std::min((g.n_W_prev - 1 - s) / 2 + 1, g.n_W - columns.first - (full - 1));
              if (full == 2) pixels(Int<2>(), columns.tap, s, count, columns.first);
              else pixels(Int<1>(), columns.tap, s, count, columns.first);
              s += 2 * count;
            } else {
              if (columns.count == 0) store(da + s * C + c, constant<V>(T(0)));
              else pixels(Int<1>(), columns.tap, s, 1, columns.first);
              s += 2;
            }
          }
        }
      });
    };
    rows.count == 2 ? with_rows(Int<2>()) : with_rows(Int<1>());
  }
}

}  // namespace cnnprim::detail::eigen
