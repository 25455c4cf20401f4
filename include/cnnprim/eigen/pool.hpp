// Vectorized pooling kernels on Eigen's packet primitives.
//
// In NHWC the n_C channels of a pixel are contiguous, so a window's max or mean is an element-wise
// reduction over its f * f channel vectors: one SIMD packet of channels at a time, kept in registers while
// the window is read once. Backward keeps the window's argmax per lane in a packet and adds dA to each
// window position under the mask of the lanes it won. Channels beyond the last full packet take a scalar
// path with the same rule.
// Max follows the rule of detail::replaces_max (params.hpp): the first maximum in row-major window order.
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <Eigen/Core>

#include "../geometry.hpp"
#include "../params.hpp"
#include "../tensor.hpp"
#include "parallel.hpp"
#include "scratch.hpp"
#include "tile.hpp"

namespace cnnprim::detail::eigen {


// One window of A_prev: the offset of its top-left element and those of its pixels from it, in row-major
// window order.
struct Window {
  Index origin;
  const Index* taps;
  Index n_taps;
};

// The windows of one pooling. A window inside the image uses the f_H * f_W offsets made once (none if the
// window is larger than the image); a window that padding clips gets its own, in `border_taps` (room for the
// image's part of a window, the calling task's).
struct PoolWindows : PoolGeometry {
  const Index* taps;

  explicit PoolWindows(const PoolGeometry& g) : PoolGeometry(g) {
    const bool fits = f_H <= n_H_prev && f_W <= n_W_prev;
    Index* offsets = scratch<Index, Scratch::WindowTaps>(fits ? static_cast<std::size_t>(f_H * f_W) : 0);
    for (Index kh = 0; fits && kh < f_H; ++kh)
      for (Index kw = 0; kw < f_W; ++kw) offsets[kh * f_W + kw] = (kh * n_W_prev + kw) * n_C;
    taps = offsets;
  }

  Window window(Index i, Index h, Index w, Index* border_taps) const {
    const Index top = row_begin(h), left = column_begin(w);
    const Index rows = row_end(h) - top, columns = column_end(w) - left;
    const Index origin = ((i * n_H_prev + top) * n_W_prev + left) * n_C;
    if (rows == f_H && columns == f_W) return {origin, taps, f_H * f_W};
    for (Index r = 0; r < rows; ++r)
      for (Index s = 0; s < columns; ++s) border_taps[r * columns + s] = (r * n_W_prev + s) * n_C;
    return {origin, border_taps, rows * columns};
  }
  Index* border_taps() const { return scratch<Index, Scratch::BorderTaps>(static_cast<std::size_t>(max_taps())); }
  Index pixel(Index i, Index h, Index w) const { return ((i * n_H + h) * n_W + w) * n_C; }
  Index size() const { return m * n_H_prev * n_W_prev * n_C; }
  // Elements read and written by one pass.
  double work() const { return double(m * n_H * n_W) * double(n_C) * double(max_taps() + 1); }
};

// detail::replaces_max, on one channel or on every lane of a packet.
template <class V>
EIGEN_ALWAYS_INLINE auto wins(const V& x, const V& best) {
  if constexpr (is_scalar_v<V>) return replaces_max(x, best);
  else return either(less(best, x), both(is_nan(x), equal(best, best)));
}

// The first maximum of every lane of U packets (or single values) of channels [c, c + U * step) over a window,
// by detail::replaces_max: best[u] its value, argmax[u] its window position (a T, exact below 2^digits).
// A running argmax without NaN checks and a sum that turns NaN if any value is NaN (or if infinities of both
// signs meet); only then is the packet scanned again with the NaN rule.
template <int U, class V, class T>
EIGEN_ALWAYS_INLINE void window_argmax(const T* window, const Index* taps, Index n_taps, Index c, V* best, V* argmax) {
  constexpr Index step = is_scalar_v<V> ? 1 : packet_size<T>;
  V sum[std::size_t{U}];
  unroll<U>([&](int u) {
    best[u] = sum[u] = load<V>(window + c + u * step);
    argmax[u] = constant<V>(T(0));
  });
  for (Index k = 1; k < n_taps; ++k) {
    const V position = constant<V>(static_cast<T>(k));
    unroll<U>([&](int u) {
      const V x = load<V>(window + taps[k] + c + u * step);
      argmax[u] = select(less(best[u], x), position, argmax[u]);
      best[u] = maximum(best[u], x);
      sum[u] = add(sum[u], x);
    });
  }
  unroll<U>([&](int u) {
    if (!has_nan(sum[u])) return;
    best[u] = load<V>(window + c + u * step);
    argmax[u] = constant<V>(T(0));
    for (Index k = 1; k < n_taps; ++k) {
      const V x = load<V>(window + taps[k] + c + u * step);
      const auto won = wins(x, best[u]);
      best[u] = select(won, x, best[u]);
      argmax[u] = select(won, constant<V>(static_cast<T>(k)), argmax[u]);
    }
  });
}

// Window positions kept one byte per element (the argmax of max pooling's second form): read into, and
// written from, a packet of T.
template <class V, class T>
EIGEN_ALWAYS_INLINE V load_positions(const std::uint8_t* positions) {
  if constexpr (is_scalar_v<V>) {
    return static_cast<T>(*positions);
  } else {
    T lanes[packet_size<T>];
    for (Index l = 0; l < packet_size<T>; ++l) lanes[l] = static_cast<T>(static_cast<int>(positions[l]));
    return load<V>(lanes);
  }
}

template <class T, class V>
EIGEN_ALWAYS_INLINE void store_positions(std::uint8_t* positions, const V& argmax) {
  if constexpr (is_scalar_v<V>) {
    *positions = static_cast<std::uint8_t>(argmax);
  } else {
    T lanes[packet_size<T>];
    store(lanes, argmax);
    for (Index l = 0; l < packet_size<T>; ++l) positions[l] = static_cast<std::uint8_t>(static_cast<int>(lanes[l]));
  }
}

// Asks for the input columns that the window four places to the right adds to its left neighbour's, so
// that the rows' streams arrive from memory before they are needed; the hardware prefetcher alone left the
// loads waiting. Only windows that exist are asked for, so the work is bounded by the window's size.
template <class T>
EIGEN_ALWAYS_INLINE void prefetch_ahead(const T* A_prev, const PoolWindows& g, Index i, Index h, Index w) {
  constexpr Index line = 64 / static_cast<Index>(sizeof(T));
  if (w + 4 >= g.n_W) return;
  const T* ahead = A_prev + ((i * g.n_H_prev + g.row_begin(h)) * g.n_W_prev + g.column_begin(w + 4)) * g.n_C;
  // (Columns past the image's width, which a huge window may have, are never new: no overflow.)
  const Index first_new = std::clamp<Index>(g.f_W - g.stride_W, 0, g.n_W_prev) * g.n_C;
  const Index end = (g.column_end(w + 4) - g.column_begin(w + 4)) * g.n_C;
  for (Index r = 0, rows = g.row_end(h) - g.row_begin(h); r < rows; ++r)
    for (Index c = first_new; c < end; c += line) prefetch(ahead + r * g.n_W_prev * g.n_C + c);
}

// A = max (Max) or mean over each window, a block of channel packets at a time.
template <bool Max, class T>
void pool_forward_pass(const T* A_prev, const PoolWindows& g, T* A, Threads threads) {
  // One task per output row.
  parallel_for(threads, g.m * g.n_H, g.work(), [&](Index row) {
    const Index i = row / g.n_H, h = row % g.n_H;
    Index* const border_taps = g.border_taps();
      for (Index w = 0; w < g.n_W; ++w) {
        const Window pixels = g.window(i, h, w, border_taps);
        const Index* const taps = pixels.taps;
        const Index n_taps = pixels.n_taps;
        const T* window = A_prev + pixels.origin;
        const T window_size = static_cast<T>(g.divisor(h, w));
        T* A_pixel = A + g.pixel(i, h, w);
        prefetch_ahead(A_prev, g, i, h, w);
        for_each_channel_block<T>(g.n_C, [&](Index c, auto lanes, auto packets) {
          using V = decltype(lanes);
          constexpr int U = packets;
          constexpr Index step = is_scalar_v<V> ? 1 : packet_size<T>;
          V result[std::size_t{U}], sum[std::size_t{U}];
          unroll<U>([&](int u) { result[u] = sum[u] = load<V>(window + c + u * step); });
          for (Index k = 1; k < n_taps; ++k)
            unroll<U>([&](int u) {
              const V x = load<V>(window + taps[k] + c + u * step);
              if constexpr (Max) result[u] = maximum(result[u], x);
              sum[u] = add(sum[u], x);
            });
          unroll<U>([&](int u) {
            if constexpr (Max) {
              // The plain maximum may drop a NaN; the sum keeps it (and turns NaN when infinities of both
              // signs meet), so only such packets are reduced again with a NaN-propagating maximum.
              if (has_nan(sum[u])) {
                result[u] = load<V>(window + c + u * step);
                for (Index k = 1; k < n_taps; ++k)
                  result[u] = nan_propagating_max(result[u], load<V>(window + taps[k] + c + u * step));
              }
            } else {
              result[u] = divide(sum[u], constant<V>(window_size));
            }
            store(A_pixel + c + u * step, result[u]);
          });
        });
      }
  });
}

// A = the max of each window, and `positions` its first maximum's window position (one byte each).
template <class T>
void max_forward_with_positions(const T* A_prev, const PoolWindows& g, T* A, std::uint8_t* positions,
                                Threads threads) {
  parallel_for(threads, g.m * g.n_H, g.work(), [&](Index row) {
    const Index i = row / g.n_H, h = row % g.n_H;
    Index* const border_taps = g.border_taps();
    for (Index w = 0; w < g.n_W; ++w) {
      const Window pixels = g.window(i, h, w, border_taps);
      prefetch_ahead(A_prev, g, i, h, w);
      const Index pixel = g.pixel(i, h, w);
      for_each_channel_block<T>(g.n_C, [&](Index c, auto lanes, auto packets) {
        using V = decltype(lanes);
        constexpr int U = packets;
        constexpr Index step = is_scalar_v<V> ? 1 : packet_size<T>;
        V best[std::size_t{U}], argmax[std::size_t{U}];
        window_argmax<U>(A_prev + pixels.origin, pixels.taps, pixels.n_taps, c, best, argmax);
        unroll<U>([&](int u) {
          store(A + pixel + c + u * step, best[u]);
          store_positions<T>(positions + pixel + c + u * step, argmax[u]);
        });
      });
    }
  });
}

// dA_prev from dA: to each window's first maximum (Max) or spread evenly. Tiled (stride == f) windows do not
// overlap, so each covered element is stored once; otherwise windows add into zeros.
// Max takes each window's argmax from `positions` when given (A_prev is then not read), else finds it.
template <bool Max, bool Tiled, class T>
void pool_backward_pass(const T* dA, const T* A_prev, const std::uint8_t* positions, const PoolWindows& g,
                        T* dA_prev, Threads threads) {
  const Index row_size = g.n_W_prev * g.n_C;
  const auto zero_rows = [&](Index i, Index first, Index last) {
    std::fill(dA_prev + (i * g.n_H_prev + first) * row_size, dA_prev + (i * g.n_H_prev + last) * row_size, T(0));
  };
  // One task per image: windows of one image may add onto the same rows.
  parallel_for(threads, g.m, g.work(), [&](Index i) {
    Index* const border_taps = g.border_taps();
    for (Index h = 0; h < g.n_H; ++h) {
      if constexpr (Tiled) {
        // Only the columns to the right of the last window are not covered.
        for (Index r = h * g.f_H; r < (h + 1) * g.f_H; ++r) {
          T* row = dA_prev + (i * g.n_H_prev + r) * row_size;
          std::fill(row + g.n_W * g.f_W * g.n_C, row + row_size, T(0));
        }
      } else {
        // Rows are zeroed just before their first window, while they are about to be in cache anyway.
        zero_rows(i, h == 0 ? 0 : g.row_end(h - 1), g.row_end(h));
      }
      for (Index w = 0; w < g.n_W; ++w) {
        const Window pixels = g.window(i, h, w, border_taps);
        const Index* const taps = pixels.taps;
        const Index n_taps = pixels.n_taps;
        // (Without A_prev when the argmax is given.)
        const T* window = positions ? nullptr : A_prev + pixels.origin;
        const T window_size = static_cast<T>(g.divisor(h, w));
        if (!positions) prefetch_ahead(A_prev, g, i, h, w);
        T* target = dA_prev + pixels.origin;
        const T* dA_pixel = dA + g.pixel(i, h, w);
        for_each_channel_block<T>(g.n_C, [&](Index c, auto lanes, auto packets) {
          using V = decltype(lanes);
          constexpr int U = packets;
          constexpr Index step = is_scalar_v<V> ? 1 : packet_size<T>;
          V gradient[std::size_t{U}];
          unroll<U>([&](int u) { gradient[u] = load<V>(dA_pixel + c + u * step); });
          // Stores (tiled) or adds value(u) at window position k.
          const auto give = [&](Index k, auto value) {
            unroll<U>([&](int u) {
              T* p = target + taps[k] + c + u * step;
              if constexpr (Tiled) store(p, value(u));
              else store(p, add(load<V>(p), value(u)));
            });
          };
          if constexpr (Max) {
            // (A position past the window, only in a caller's corrupted argmax, matches no k: its gradient is
            // dropped, nothing is written out of bounds.)
            V argmax[std::size_t{U}];
            if (positions) {
              const std::uint8_t* pixel_positions = positions + g.pixel(i, h, w) + c;
              unroll<U>([&](int u) { argmax[u] = load_positions<V, T>(pixel_positions + u * step); });
            } else {
              V best[std::size_t{U}];
              window_argmax<U>(window, taps, n_taps, c, best, argmax);
            }
            for (Index k = 0; k < n_taps; ++k) {
              const V position = constant<V>(static_cast<T>(k));
              give(k, [&](int u) { return masked(equal(argmax[u], position), gradient[u]); });
            }
          } else {
            unroll<U>([&](int u) { gradient[u] = divide(gradient[u], constant<V>(window_size)); });
            for (Index k = 0; k < n_taps; ++k) give(k, [&](int u) { return gradient[u]; });
          }
        });
      }
    }
    // Rows below the last window.
    if constexpr (Tiled) zero_rows(i, g.n_H * g.f_H, g.n_H_prev);
    else zero_rows(i, g.row_end(g.n_H - 1), g.n_H_prev);
  });
}


// Max backward with window positions kept as Index, for windows too large for the packet argmax, which keeps
// them as T (exact up to 2^24 for float).
template <class T>
void max_backward_by_index(const T* dA, const T* A_prev, const PoolWindows& g, T* dA_prev) {
  std::fill_n(dA_prev, g.size(), T(0));
  for (Index i = 0; i < g.m; ++i)
    for (Index h = 0; h < g.n_H; ++h)
      for (Index w = 0; w < g.n_W; ++w)
        for (Index c = 0; c < g.n_C; ++c) {
          const Index top = g.row_begin(h), left = g.column_begin(w), columns = g.column_end(w) - left;
          const Index window = ((i * g.n_H_prev + top) * g.n_W_prev + left) * g.n_C + c;
          const Index k = first_max_index(A_prev + window, g.row_end(h) - top, columns, g.n_W_prev * g.n_C, g.n_C);
          dA_prev[window + (k / columns * g.n_W_prev + k % columns) * g.n_C] += dA[g.pixel(i, h, w) + c];
        }
}

/// A = max or mean over each window, one block of channel packets at a time.
template <class T>
void pool_forward(TensorView<const T> A_prev, const PoolGeometry& geometry, PoolMode mode, TensorView<T> A,
                  Threads threads) {
  const ScratchScope scope;
  if (A.empty()) return;
  const PoolWindows g(geometry);
  switch (mode) {
    case PoolMode::Max: pool_forward_pass<true>(A_prev.data(), g, A.data(), threads); break;
    case PoolMode::Average: pool_forward_pass<false>(A_prev.data(), g, A.data(), threads); break;
  }
}

/// Max pooling's A and the window position of each first maximum (windows of at most max_pool_positions
/// elements, which the public call checks).
template <class T>
void max_pool_forward(TensorView<const T> A_prev, const PoolGeometry& geometry, TensorView<T> A,
                      TensorView<std::uint8_t> argmax, Threads threads) {
  const ScratchScope scope;
  if (A.empty()) return;
  max_forward_with_positions(A_prev.data(), PoolWindows(geometry), A.data(), argmax.data(), threads);
}

/// Max: each dA goes to its window's first maximum, found per lane by a running argmax, or read from
/// `argmax` (max_pool_forward's) when it is not null. Average: dA / divisor goes to every window position.
template <class T>
void pool_backward(TensorView<const T> dA, TensorView<const T> A_prev, const std::uint8_t* argmax,
                   const PoolGeometry& geometry, PoolMode mode, TensorView<T> dA_prev, Threads threads) {
  const ScratchScope scope;
  if (dA.empty()) {
    dA_prev.vector().setZero();
    return;
  }
  const PoolWindows g(geometry);
  if (mode == PoolMode::Max && !argmax && g.max_taps() > (Index{1} << std::numeric_limits<T>::digits))
    return max_backward_by_index(dA.data(), A_prev.data(), g, dA_prev.data());
  // Windows that tile the image without padding or a partial last window: each covered element is stored once.
  const bool tiled = g.stride_H == g.f_H && g.stride_W == g.f_W && !g.has_padding() && g.n_H * g.f_H <= g.n_H_prev &&
                     g.n_W * g.f_W <= g.n_W_prev;
  const auto pass = [&](auto max, auto tiled_windows) {
    pool_backward_pass<decltype(max)::value, decltype(tiled_windows)::value>(dA.data(), A_prev.data(), argmax, g,
                                                                              dA_prev.data(), threads);
  };
  switch (mode) {
    case PoolMode::Max:
      tiled ? pass(std::true_type(), std::true_type()) : pass(std::true_type(), std::false_type());
      break;
    case PoolMode::Average:
      tiled ? pass(std::false_type(), std::true_type()) : pass(std::false_type(), std::false_type());
      break;
  }
}

}  // namespace cnnprim::detail::eigen
