// Vectorized pooling kernels on Eigen's packet primitives.
//
// In NHWC the n_C channels of a pixel are contiguous, so a window's max or mean is an element-wise
// reduction over its f * f channel vectors: one SIMD packet of channels at a time, kept in registers while
// the window is read once. Backward keeps the window's argmax per lane in a packet and adds dA to each
// window position under the mask of the lanes it won. Channels beyond the last full packet take half and quarter
// packets, then a masked packet (forward, where masked loads exist) or single values, with the same rule; pixels of
// fewer channels than a block of packets are reduced four windows side by side. A pass in cache over 2x2 or 3x3
// windows and whole packets takes the windows inside the image one at a time, their offsets known when compiled.
// Max follows the rule of detail::replaces_max (params.hpp): the first maximum in row-major window order.
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstddef>
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

// One window of A_prev, clipped to the image: the offset of its top-left element and its extent. Its elements
// are numbered in row-major order, k = r * columns + s: the window positions of the argmax.
struct Window {
  Index origin, rows, columns;
};

// Window (i, h, w) of A_prev. (The geometry is taken by reference throughout: a copy made just after the public
// call computed it waited for the stores that wrote it, some 10 ns of a small call.)
inline Window window_at(const PoolGeometry& g, Index i, Index h, Index w) {
  const Index top = g.row_begin(h), left = g.column_begin(w);
  return {((i * g.n_H_prev + top) * g.n_W_prev + left) * g.n_C, g.row_end(h) - top, g.column_end(w) - left};
}

// Calls visit(k, offset) for the elements k = 1, 2, ... of `window` in order, at `offset` from its top-left
// element (element 0, at offset 0, is where the caller starts). Whole windows of 2x2 and, up to `unrolled`, 3x3
// elements are unrolled: their offsets become addressing modes, where a loop's counting held the window's
// loads back (but a long unrolled argmax search spilled its registers, and a rare visit need not be fast).
template <int unrolled = 3, class Visit>
EIGEN_ALWAYS_INLINE void for_each_element(const PoolGeometry& g, const Window& window, Visit visit) {
  const Index row_pitch = g.n_W_prev * g.n_C;
  const auto unroll_window = [&](auto f) CNNPRIM_INLINE_LAMBDA {
    constexpr int size = decltype(f)::value;
    unroll<size * size - 1>([&](auto k) CNNPRIM_INLINE_LAMBDA {
      constexpr int element = decltype(k)::value + 1;
      visit(Index{element}, element / size * row_pitch + element % size * g.n_C);
    });
  };
  if (unrolled >= 3 && window.rows == 3 && window.columns == 3) return unroll_window(Int<3>());
  if (unrolled >= 2 && window.rows == 2 && window.columns == 2) return unroll_window(Int<2>());
  for (Index s = 1; s < window.columns; ++s) visit(s, s * g.n_C);
  for (Index r = 1; r < window.rows; ++r)
    for (Index s = 0; s < window.columns; ++s) visit(r * window.columns + s, r * row_pitch + s * g.n_C);
}

// The offset of A's pixel (i, h, w).
inline Index pixel_offset(const PoolGeometry& g, Index i, Index h, Index w) {
  return ((i * g.n_H + h) * g.n_W + w) * g.n_C;
}
inline Index input_size(const PoolGeometry& g) { return g.m * g.n_H_prev * g.n_W_prev * g.n_C; }
// Elements read and written by one pass.
inline double pool_work(const PoolGeometry& g) {
  return double(g.m * g.n_H * g.n_W) * double(g.n_C) * double(g.max_taps() + 1);
}

// The windows of output row h of image i. Those wholly inside the image, most of them, are found without
// clipping and share one divisor.
class WindowRow {
 public:
  WindowRow(const PoolGeometry& g, Index i, Index h) : g_(g), i_(i), h_(h) {
    constexpr Index most = std::numeric_limits<Index>::max();
    const Index room = g.n_W_prev - g.f_W;  // how far right a window may start
    if (g.row_end(h) - g.row_begin(h) != g.f_H || room < 0) return;
    inside_begin_ = std::min(g.n_W, ceil_div(g.pad_left, g.stride_W));
    inside_end_ = std::min(g.n_W, (g.pad_left > most - room ? most : room + g.pad_left) / g.stride_W + 1);
    if (inside_begin_ < inside_end_) origin_ = window_at(g, i, h, inside_begin_).origin;
  }
  Window window(Index w) const {
    if (inside(w)) return {origin_ + (w - inside_begin_) * g_.stride_W * g_.n_C, g_.f_H, g_.f_W};
    return window_at(g_, i_, h_, w);
  }
  // The average's divisor (params.hpp's rule): a window inside the image holds f_H * f_W elements either way.
  double divisor(Index w) const { return inside(w) ? double(g_.f_H * g_.f_W) : g_.divisor(h_, w); }
  // The first window inside the image, if any (alike_from says).
  Index alike_begin() const { return inside_begin_; }
  // How many windows from w on are inside the image: alike, stride_W * n_C elements apart.
  Index alike_from(Index w) const { return inside(w) ? inside_end_ - w : 0; }

 private:
  bool inside(Index w) const { return w >= inside_begin_ && w < inside_end_; }
  const PoolGeometry& g_;
  Index i_, h_;
  Index inside_begin_ = 0, inside_end_ = 0;  // the windows inside the image
  Index origin_ = 0;                          // the offset of the first of them
};

// Windows reduced side by side: a block of P windows of a row and `packets` packets of channels, register u holding
// packet u % packets of window u / packets, windows `pitch` elements apart (in A_prev; n_C in A). With fewer
// channels than a block of packets, a window alone gives too few independent reductions to hide their latency and
// the NaN test that ends them (a (64, 28, 28, 16) max pooling spent a quarter of its time in that test).
template <int P, class Packets>
struct SideBySide {
  static constexpr int packets = Packets::value, registers = P * packets;
  Index pitch;
  // The windows of A_prev (or dA_prev): apart only where P > 1, alike windows inside the image, so that no pitch is
  // formed from a stride near the integer limit.
  static SideBySide of_input(const PoolGeometry& g) { return {P > 1 ? g.stride_W * g.n_C : 0}; }
  template <Index step>
  EIGEN_ALWAYS_INLINE Index at(int u) const { return u / packets * pitch + u % packets * step; }
};
// Windows reduced side by side in a row whose channels fill no block of packets (the rest of the row, and any row
// with more channels, one window at a time).
constexpr int side_by_side = tile_packets;
// detail::replaces_max, on one channel or on every lane of a packet.
template <class V>
EIGEN_ALWAYS_INLINE auto wins(const V& x, const V& best) {
  if constexpr (is_scalar_v<V>) return replaces_max(x, best);
  else return either(less(best, x), both(is_nan(x), equal(best, best)));
}

// Whether a window may hold NaN in any lane of U packets, from their sums over it, in one test: the sum of the
// sums is NaN when one is (or when infinities of both signs meet: the caller then tests each packet).
template <int U, class V>
EIGEN_ALWAYS_INLINE bool may_hold_nan(const V* sum) {
  V any = sum[0];
  unroll<U - 1>([&](int u) CNNPRIM_INLINE_LAMBDA { any = add(any, sum[u + 1]); });
  return has_nan(any);
}

// The first maximum, by detail::replaces_max, of every lane of a packet (or a single value) over a window that may
// hold NaN, and its window position: window_argmax's rare path, out of line (inlined into every block of windows it
// made their code several times larger; returned by value, the packets of the caller stay in registers).
template <class V>
struct FirstMax {
  V value, position;
};
template <class V, class T>
EIGEN_DONT_INLINE FirstMax<V> first_max_with_nan(const PoolGeometry& g, const T* start, const Window& pixels) {
  FirstMax<V> first{load<V>(start), constant<V>(T(0))};
  for_each_element<0>(g, pixels, [&](Index k, Index offset) {
    const V x = load<V>(start + offset);
    const auto won = wins(x, first.value);
    first.value = select(won, x, first.value);
    first.position = select(won, constant<V>(static_cast<T>(k)), first.position);
  });
  return first;
}

// The first maximum, by detail::replaces_max, of every lane of U packets (or single values) of channels over a
// window, `window` pointing at the first of those channels in its top-left element: best[u] its value,
// argmax[u] its window position (a T, exact below 2^digits).
// A running argmax without NaN checks and a sum that turns NaN if any value is NaN (or if infinities of both
// signs meet); only then is the packet scanned again with the NaN rule.
// With `windows` (a SideBySide), the U registers hold windows side by side.
template <int U, class V, class T, class Block = SideBySide<1, Int<U>>>
EIGEN_ALWAYS_INLINE void window_argmax(const PoolGeometry& g, const T* window, const Window& pixels, V* best,
                                       V* argmax, Block windows = {0}) {
  constexpr Index step = is_scalar_v<V> ? 1 : packet_size<T>;
  V sum[std::size_t{U}];
  unroll<U>([&](int u) CNNPRIM_INLINE_LAMBDA {
    best[u] = sum[u] = load<V>(window + windows.template at<step>(u));
    argmax[u] = constant<V>(T(0));
  });
  for_each_element<2>(g, pixels, [&](Index k, Index offset) CNNPRIM_INLINE_LAMBDA {
    const V position = constant<V>(static_cast<T>(k));
    unroll<U>([&](int u) CNNPRIM_INLINE_LAMBDA {
      const V x = load<V>(window + offset + windows.template at<step>(u));
      argmax[u] = select_less(best[u], x, position, argmax[u]);
      best[u] = maximum(best[u], x);
      sum[u] = add(sum[u], x);
    });
  });
  if (!may_hold_nan<U>(sum)) return;
  unroll<U>([&](int u) CNNPRIM_INLINE_LAMBDA {
    if (!has_nan(sum[u])) return;
    const auto first = first_max_with_nan<V>(g, window + windows.template at<step>(u), pixels);
    best[u] = first.value;
    argmax[u] = first.position;
  });
}

// Whether A_prev and A together are too large to be in a core's share of the last-level cache when A is next read
// (taken as 16 MiB), so that a pass reads A_prev from memory.
template <class T>
bool exceeds_cache(const PoolGeometry& g) {
  constexpr double too_large = 16 << 20;
  return double(input_size(g) + g.m * g.n_H * g.n_W * g.n_C) * double(sizeof(T)) > too_large;
}

// Asks for the input columns that the window four places to the right adds to its left neighbour's, so
// that the rows' streams arrive from memory before they are needed; the hardware prefetcher alone left the
// loads waiting. Only windows that exist are asked for, so the work is bounded by the window's size.
// Only when A_prev comes from memory (exceeds_cache): from cache the requests only cost (a 4 MB A_prev pooled
// 10-15 % slower with them), and the passes that do not ask are compiled without them.
template <class T>
EIGEN_ALWAYS_INLINE void prefetch_ahead(const T* A_prev, const PoolGeometry& g, Index i, Index h, Index w) {
  constexpr Index line = 64 / static_cast<Index>(sizeof(T));
  if (w + 4 >= g.n_W) return;
  const T* ahead = A_prev + ((i * g.n_H_prev + g.row_begin(h)) * g.n_W_prev + g.column_begin(w + 4)) * g.n_C;
  // (Columns past the image's width, which a huge window may have, are never new: no overflow.)
  const Index first_new = std::clamp<Index>(g.f_W - g.stride_W, 0, g.n_W_prev) * g.n_C;
  const Index end = (g.column_end(w + 4) - g.column_begin(w + 4)) * g.n_C;
  for (Index r = 0, rows = g.row_end(h) - g.row_begin(h); r < rows; ++r)
    for (Index c = first_new; c < end; c += line) prefetch(ahead + r * g.n_W_prev * g.n_C + c);
}

template <class T>
constexpr Index channel_block = tile_packets * packet_size<T>;

// Calls body(c, V(), Int<U>()) over a pixel's channels as for_each_channel_block does or, Narrow, when they fill no
// block of packets, one packet at a time (for_each_part: the same pieces, without the code for blocks that narrow
// windows side by side would make and never run).
template <class T, bool Narrow, class Body>
EIGEN_ALWAYS_INLINE void for_each_channel_part(Index n_C, Body body) {
  const auto part = [&](Index c, auto lanes) CNNPRIM_INLINE_LAMBDA { body(c, lanes, Int<1>()); };
  if constexpr (Narrow) for_each_part<T>(n_C, part);
  else for_each_channel_block<T>(n_C, body);
}

// Calls body(c, piece, Int<1>()) over n_C channels that fill no block of packets: one packet at a time (whole, half,
// quarter) and the last few channels as one masked packet where masked lanes exist (3 channels as single values
// pooled at 0.34x oneDNN's pace, as a masked packet 0.64x; 8 channels as a masked whole packet took 1.6x as long as
// a half packet).
template <class T, class Body>
EIGEN_ALWAYS_INLINE void for_each_narrow_piece(Index n_C, Body body) {
  constexpr Index quarter = lanes(decltype(half_packet(half_packet(Packet<T>())))());
  const Index rest = has_masked_lanes<T> ? n_C % quarter : 0;
  for_each_part<T>(n_C - rest, [&](Index c, auto part) CNNPRIM_INLINE_LAMBDA { body(c, part, Int<1>()); });
  if constexpr (has_masked_lanes<T>) {
    if (rest > 0) body(n_C - rest, Tail<T>{rest}, Int<1>());
  }
}
// The packet type of a piece, and whether it is a Tail.
template <class V>
struct PiecePacket {
  using type = V;
  static constexpr bool tail = false;
};
template <class T>
struct PiecePacket<Tail<T>> {
  using type = Packet<T>;
  static constexpr bool tail = true;
};

// Calls f(std::bool_constant<flag>()), flag a bool or already a std::bool_constant.
template <class Flag, class F>
EIGEN_ALWAYS_INLINE void with_constant(Flag flag, F f) {
  if constexpr (std::is_same_v<Flag, bool>) flag ? f(std::true_type()) : f(std::false_type());
  else f(flag);
}

// Calls pass(narrow, ahead, stream) for a pass over g's windows: narrow a std::bool_constant, whether the channels
// fill no block of packets; ahead and stream (each a bool, or a std::bool_constant where a pass never does it)
// whether the pass asks for A_prev ahead (prefetch_ahead) and stores its output past the caches (store_output). Rows
// of blocks get those two as std::bool_constant, so that each is compiled only where it is used; narrow rows as
// bools, tested as they run: their windows side by side and pieces of every size, compiled four times over, took
// most of the pooling kernels' compile time (clang with ASan, 9 minutes).
template <class T, class Ahead, class Stream, class Pass>
EIGEN_ALWAYS_INLINE void with_pass_kind(const PoolGeometry& g, Ahead ahead, Stream stream, Pass pass) {
  if (g.n_C < channel_block<T>) return pass(std::true_type(), bool(ahead), bool(stream));
  with_constant(ahead, [&](auto asks) {
    with_constant(stream, [&](auto streams) { pass(std::false_type(), asks, streams); });
  });
}

// store_streaming where `stream` (a std::bool_constant, or a bool: with_pass_kind), else store.
template <class T, class V, class Stream>
EIGEN_ALWAYS_INLINE void store_output(T* to, const V& v, Stream stream) {
  if (stream) store_streaming(to, v);
  else store(to, v);
}

// The first maximum, by detail::replaces_max, of a piece of channels over a window that may hold NaN:
// pool_windows's rare path, out of line as first_max_with_nan.
template <class T, class Piece>
EIGEN_DONT_INLINE auto max_with_nan(const PoolGeometry& g, const T* first, const Window& pixels, Piece piece) {
  auto max = load_piece(first, piece);
  for_each_element<0>(g, pixels, [&](Index, Index offset) {
    const auto x = load_piece(first + offset, piece);
    max = select(wins(x, max), x, max);
  });
  return max;
}

// Windows w, ..., w + P - 1 of A = max (Max) or mean over each window (all alike when P > 1: `pixels` is the first),
// storing past the caches when `stream` (store_output); in pieces (for_each_narrow_piece) when Narrow, else a block
// of packets at a time.
template <bool Max, int P, bool Narrow, class T, class Stream>
EIGEN_ALWAYS_INLINE void pool_windows(const PoolGeometry& g, const T* window, const Window& pixels, T window_size,
                                      T* A_pixel, Stream stream) {
  const auto pool = [&](Index c, auto piece, auto packets) CNNPRIM_INLINE_LAMBDA {
    using Piece = PiecePacket<decltype(piece)>;
    using V = typename Piece::type;
    using Block = SideBySide<P, decltype(packets)>;
    constexpr int U = Block::registers;
    constexpr Index step = is_scalar_v<decltype(piece)> ? 1 : packet_size<T>;
    const Block input = Block::of_input(g), output{g.n_C};
    const T* const base = window + c;
    V result[std::size_t{U}], sum[std::size_t{U}];
    unroll<U>([&](int u) CNNPRIM_INLINE_LAMBDA {
      result[u] = sum[u] = load_piece(base + input.template at<step>(u), piece);
    });
    for_each_element(g, pixels, [&](Index, Index offset) CNNPRIM_INLINE_LAMBDA {
      unroll<U>([&](int u) CNNPRIM_INLINE_LAMBDA {
        const V x = load_piece(base + offset + input.template at<step>(u), piece);
        if constexpr (Max) result[u] = maximum(result[u], x);
        sum[u] = add(sum[u], x);
      });
    });
    bool nan_possible = false;
    if constexpr (Max) nan_possible = may_hold_nan<U>(sum);
    unroll<U>([&](int u) CNNPRIM_INLINE_LAMBDA {
      if constexpr (Max) {
        // The plain maximum may drop a NaN; the sum keeps it (and turns NaN when infinities of both
        // signs meet), so only such packets are reduced again with a NaN-propagating maximum.
        if (nan_possible && has_nan(sum[u]))
          result[u] = max_with_nan(g, base + input.template at<step>(u), pixels, piece);
      } else {
        // The Loop path's sum starts from +0 (as numpy's and PyTorch's): a window of -0 averages to +0.
        result[u] = divide(add(sum[u], constant<V>(T(0))), constant<V>(window_size));
      }
      T* const to = A_pixel + c + output.template at<step>(u);
      if constexpr (Piece::tail) store_piece(to, result[u], piece);
      else store_output(to, result[u], stream);
    });
  };
  if constexpr (Narrow) for_each_narrow_piece<T>(g.n_C, pool);
  else for_each_channel_block<T>(g.n_C, pool);
}

// Windows [begin, end) of a row.
struct WindowRun {
  Index begin, end;
};

// Calls visit(w, Int<P>()) for the P windows w, ..., w + P - 1 of a row, but those of `skipped`. Narrow rows
// (with_pass_kind) take side_by_side alike windows at a time (only where Blocks: windows that overlap are not taken
// side by side where they add into memory), the others one. (Ending a row's last block at its last alike window,
// over windows of the block before, saved nothing measurable over taking the few left one at a time.)
template <bool Narrow, bool Blocks = true, class Visit>
EIGEN_ALWAYS_INLINE void for_each_window_block(const PoolGeometry& g, const WindowRow& windows, WindowRun skipped,
                                               Visit visit) {
  for (Index w = 0; w < g.n_W;) {
    if (w == skipped.begin) {
      w = skipped.end;
      continue;
    }
    if constexpr (Narrow && Blocks) {
      if (windows.alike_from(w) >= side_by_side) {
        visit(w, Int<side_by_side>());
        w += side_by_side;
        continue;
      }
    }
    visit(w, Int<1>());
    ++w;
  }
}

// Whether a row's windows inside the image are pooled by pool_alike_windows: 2x2 or 3x3, channels in whole packets,
// the pass in cache. (pool_windows, side by side or a block of packets at a time, took longer in its bookkeeping: on
// (64, 28, 28, 16), 2x2 at stride 2, average pooling 38-39 against 51-54 µs, max pooling 41-43 against 52-54; on
// (4, 56, 56, 64), 3x3 at stride 1, 90-93 against 105-108 µs and 114-118 against 124-125. From memory, where
// pool_windows asks for A_prev ahead, a first version of the loop took (8, 112, 112, 64) 10-25 % longer.)
template <class T>
bool runs_alike_windows(const PoolGeometry& g) {
  return g.f_H == g.f_W && (g.f_W == 2 || g.f_W == 3) && g.n_C % packet_size<T> == 0 && !exceeds_cache<T>(g);
}

// Calls visit(Int<K>()) when n_C is K packets, K from 1 to tile_packets, else visit(Int<0>()): with the packets known
// when compiled, the loop over a window's channels unrolls. (Old and new code in one process, in turn, three rounds:
// (4, 56, 56, 64), 3x3 at stride 1, average 86-90 against 89-92 µs, max 108-113 against 113-116; (16, 32, 32, 64), 2x2,
// 44-48 against 45-50 and 46-48 against 47-53. One packet, each build first and second in the process, two rounds:
// (4, 56, 56, 16), 3x3 at stride 1, max 29.5-30.7 against 34.7-35.8 µs, average 21.9-22.3 against 22.5-23.8.)
template <class T, int K = tile_packets, class Visit>
EIGEN_ALWAYS_INLINE void with_channel_packets(Index n_C, Visit&& visit) {
  if constexpr (K == 0) visit(Int<0>());
  else if (n_C == K * packet_size<T>) visit(Int<K>());
  else with_channel_packets<T, K - 1>(n_C, visit);
}

// The windows of a row that pool_alike_windows takes: those inside the image when `alike`, else none (past the row).
// (The others go through one loop, for_each_window_block's, whose body is then compiled once: with three copies of it
// in each row function, the test kernels of one scalar type took over 600 s to compile under clang 14's ASan, against
// 230 s.)
inline WindowRun alike_run(const PoolGeometry& g, const WindowRow& windows, bool alike) {
  const Index begin = windows.alike_begin(), count = alike ? windows.alike_from(begin) : 0;
  return count > 0 ? WindowRun{begin, begin + count} : WindowRun{g.n_W, g.n_W};
}

// `count` alike windows of F x F elements, stride_W * n_C apart, the first at `window`, into A from A_pixel on:
// pool_windows's reductions in its order (with `positions`, window_argmax's search and the window positions of the
// maxima from there on), a packet at a time, with the window's offsets known when compiled and the geometry read once;
// n_C is Packets packets, or g.n_C when Packets is 0 (see with_channel_packets).
// (In a function of its own, whose registers hold those offsets.)
template <bool Max, int F, int Packets, class T, class Positions = std::nullptr_t>
EIGEN_DONT_INLINE void pool_alike_windows(const PoolGeometry& g, const T* window, Index count, T* A_pixel,
                                          Positions positions = nullptr) {
  using V = Packet<T>;
  constexpr Index step = packet_size<T>;
  constexpr bool with_positions = !std::is_same_v<Positions, std::nullptr_t>;
  // (Windows apart only where there are several, inside the image: no pitch from a stride near the integer limit.)
  const Index n_C = Packets > 0 ? Packets * step : g.n_C, pitch = count > 1 ? g.stride_W * n_C : 0,
              row_pitch = g.n_W_prev * n_C;
  const V window_size = constant<V>(static_cast<T>(F * F));
  for (Index w = 0; w < count; ++w, window += pitch, A_pixel += n_C) {
    for (Index c = 0; c < n_C; c += step) {
      if constexpr (with_positions) {
        V best, argmax;
        window_argmax<1>(g, window + c, Window{0, F, F}, &best, &argmax);
        store(A_pixel + c, best);
        store_bytes<T>(positions + w * n_C + c, argmax);
      } else {
        V result = load<V>(window + c), sum = result;
        unroll<F * F - 1>([&](auto k) CNNPRIM_INLINE_LAMBDA {
          constexpr int element = decltype(k)::value + 1;
          const V x = load<V>(window + c + element / F * row_pitch + element % F * n_C);
          if constexpr (Max) result = maximum(result, x);
          sum = add(sum, x);
        });
        if constexpr (Max) {
          if (has_nan(sum)) result = max_with_nan(g, window + c, Window{0, F, F}, V());
        } else {
          result = divide(add(sum, constant<V>(T(0))), window_size);
        }
        store(A_pixel + c, result);
      }
    }
  }
}

// A_row = row h of image i of A: max (Max) or mean over each window, as with_pass_kind says; `streamed`, a
// StreamedRow*, copies A_row on as its windows are done (Store::StreamedRows). (Not inlined into the task: in a
// function of its own the window's offsets stay in registers. Testing for a null `streamed` after each window made
// the average forward of (64, 28, 28, 16), in cache, about 5 % slower: that copy is compiled apart.)
template <bool Max, bool Narrow, class T, class Ahead, class Stream, class Streamed = std::nullptr_t>
EIGEN_DONT_INLINE void pool_forward_row(const T* A_prev, const PoolGeometry& g, Index i, Index h, T* A_row,
                                        Ahead ahead, Stream stream, Streamed streamed = nullptr) {
  const WindowRow windows(g, i, h);
  // (A pass in cache, as runs_alike_windows takes, neither asks ahead nor streams.)
  const WindowRun alike = alike_run(g, windows, runs_alike_windows<T>(g));
  if (alike.begin < alike.end) {
    with_channel_packets<T>(g.n_C, [&](auto packets) CNNPRIM_INLINE_LAMBDA {
      const auto run = [&](auto f) CNNPRIM_INLINE_LAMBDA {
        pool_alike_windows<Max, decltype(f)::value, decltype(packets)::value>(
            g, A_prev + windows.window(alike.begin).origin, alike.end - alike.begin, A_row + alike.begin * g.n_C);
      };
      g.f_W == 2 ? run(Int<2>()) : run(Int<3>());
    });
  }
  for_each_window_block<Narrow>(g, windows, alike, [&](Index w, auto count) CNNPRIM_INLINE_LAMBDA {
    constexpr int P = decltype(count)::value;
    if (ahead) unroll<P>([&](int p) CNNPRIM_INLINE_LAMBDA { prefetch_ahead(A_prev, g, i, h, w + p); });
    const Window pixels = windows.window(w);
    const T window_size = static_cast<T>(windows.divisor(w));
    pool_windows<Max, P, Narrow>(g, A_prev + pixels.origin, pixels, window_size, A_row + w * g.n_C, stream);
    if constexpr (!std::is_same_v<Streamed, std::nullptr_t>) streamed->flush((w + P) * g.n_C);
  });
  if (stream) streaming_fence();
}

// Whether `p` is a multiple of `bytes`.
inline bool aligned(const void* p, Index bytes) {
  return reinterpret_cast<std::uintptr_t>(p) % static_cast<std::uintptr_t>(bytes) == 0;
}

// How a pass stores its output (A, or dA_prev, rows of row_size elements). Past the caches when the pass exceeds
// the cache and its channels are whole packets, so that the output's lines need not first be read from memory:
// Streamed, from the packets, when the output is 64-byte aligned; StreamedRows when it is off a line, each row
// computed into a buffer in cache and streamed on from there as it is done (StreamedRow), as into a view of memory 16
// bytes past a line (where glibc puts a large std::vector), on which (8, 112, 112, 64, f 3, s 2) took 618-686 against
// 836-898 µs with ordinary stores for the average forward, 652-756 against 835-873 µs for the max forward, 884-951
// against 1060-1151 µs for the average backward. Cached, as store does, otherwise and for rows too long to stay in
// cache.
enum class Store { Cached, Streamed, StreamedRows };
constexpr Index row_buffer_bytes = Index{256} << 10;
template <class T>
Store output_store(const PoolGeometry& g, const T* output, Index row_size) {
  if (!exceeds_cache<T>(g) || !has_streaming_stores<T> || g.n_C % packet_size<T> != 0) return Store::Cached;
  if (aligned(output, 64)) return Store::Streamed;
  return row_size <= row_buffer_bytes / Index{sizeof(T)} ? Store::StreamedRows : Store::Cached;
}

// Calls pass(narrow, ahead, stream), as with_pass_kind, for a forward pass (one task per output row) that writes A
// (and the argmax `positions`). When the pass exceeds the cache, it asks for A_prev ahead if it runs on one thread
// (on two, whose loads already kept memory busy, large max pooling took 15 % longer with the requests), and stream
// is whether it stores A from its packets past the caches (Store::Streamed; the argmax's stores aligned too; a pass
// with the argmax stores A as store does otherwise).
template <class T, class Pass>
void with_forward_pass(const PoolGeometry& g, const T* A, const std::uint8_t* positions, Threads threads, Pass pass) {
  const bool ahead = exceeds_cache<T>(g) && !runs_parallel(threads, g.m * g.n_H, pool_work(g));
  const bool stream = output_store(g, A, g.n_W * g.n_C) == Store::Streamed &&
                      (!positions || aligned(positions, packet_size<T>));
  with_pass_kind<T>(g, ahead, stream, pass);
}

// The first form's copy of A_prev for its cache, made by the forward tasks as they read A_prev rather than in a
// pass of its own that reads it all again: the task of output row h copies image i's rows from its first window
// row to the next task's (the first task from row 0, the last to the image's end, so that rows no window reads
// are copied too). Stored past the caches with A.
template <class T, class Stream>
void copy_task_rows(const T* A_prev, const PoolGeometry& g, Index i, Index h, T* A_prev_copy, Stream stream) {
  const auto first_row = [&](Index task) {
    return task == 0 ? 0 : task == g.n_H ? g.n_H_prev : std::min(g.row_begin(task), g.n_H_prev);
  };
  const Index row_size = g.n_W_prev * g.n_C, begin = (i * g.n_H_prev + first_row(h)) * row_size;
  const Index size = (first_row(h + 1) - first_row(h)) * row_size;
  with_constant(stream, [&](auto streams) {
    copy_streaming<decltype(streams)::value>(A_prev + begin, size, A_prev_copy + begin);
  });
}

// A = max (Max) or mean over each window, one task per output row; A_prev_copy, when not null, = A_prev.
template <bool Max, class T>
void pool_forward_pass(const T* A_prev, const PoolGeometry& g, T* A, T* A_prev_copy, Threads threads) {
  const Index row_size = g.n_W * g.n_C;
  const bool by_rows = output_store(g, A, row_size) == Store::StreamedRows;
  with_forward_pass(g, A, nullptr, threads, [&](auto narrow, auto ahead, auto stream) {
    parallel_for(threads, g.m * g.n_H, pool_work(g), [&](Index row) {
      const Index i = row / g.n_H, h = row % g.n_H;
      if (A_prev_copy) copy_task_rows(A_prev, g, i, h, A_prev_copy, stream);
      T* const A_row = A + row * row_size;
      constexpr bool Narrow = decltype(narrow)::value;
      if (!by_rows) return pool_forward_row<Max, Narrow>(A_prev, g, i, h, A_row, ahead, stream);
      // (stream is false: the buffer is stored as store does.)
      T* const buffer = scratch<T, Scratch::OutputRow>(static_cast<std::size_t>(row_size));
      StreamedRow<T> streamed(buffer, row_size, A_row);
      pool_forward_row<Max, Narrow>(A_prev, g, i, h, buffer, ahead, stream, &streamed);
      streamed.finish();
      streaming_fence();
    });
  });
}

// A = the max of each window, and `positions` its first maximum's window position (one byte each).
// (Row by row, as pool_forward_row, with windows side by side as there but no masked packet: positions are bytes.)
template <bool Narrow, class T, class Ahead, class Stream>
EIGEN_DONT_INLINE void max_row_with_positions(const T* A_prev, const PoolGeometry& g, Index i, Index h, T* A,
                                              std::uint8_t* positions, Ahead ahead, Stream stream) {
  const WindowRow windows(g, i, h);
  // 2x2 windows only: a 3x3 window's search, a chain of selects, took longer one window at a time than side by side
  // ((32, 28, 28, 32) at stride 1: 255-284 against 200-215 µs).
  const WindowRun alike = alike_run(g, windows, runs_alike_windows<T>(g) && g.f_W == 2);
  if (alike.begin < alike.end) {
    const Index pixel = pixel_offset(g, i, h, alike.begin);
    with_channel_packets<T>(g.n_C, [&](auto packets) CNNPRIM_INLINE_LAMBDA {
      pool_alike_windows<true, 2, decltype(packets)::value>(g, A_prev + windows.window(alike.begin).origin,
                                                            alike.end - alike.begin, A + pixel, positions + pixel);
    });
  }
  for_each_window_block<Narrow>(g, windows, alike, [&](Index w, auto count) CNNPRIM_INLINE_LAMBDA {
    constexpr int P = decltype(count)::value;
    if (ahead) unroll<P>([&](int p) CNNPRIM_INLINE_LAMBDA { prefetch_ahead(A_prev, g, i, h, w + p); });
    const Window pixels = windows.window(w);
    const Index pixel = pixel_offset(g, i, h, w);
    const auto block = [&](Index c, auto lanes, auto packets) CNNPRIM_INLINE_LAMBDA {
      using V = decltype(lanes);
      using Block = SideBySide<P, decltype(packets)>;
      constexpr int U = Block::registers;
      constexpr Index step = is_scalar_v<V> ? 1 : packet_size<T>;
      const Block output{g.n_C};
      V best[std::size_t{U}], argmax[std::size_t{U}];
      window_argmax<U>(g, A_prev + pixels.origin + c, pixels, best, argmax, Block::of_input(g));
      unroll<U>([&](int u) CNNPRIM_INLINE_LAMBDA {
        const Index at = pixel + c + output.template at<step>(u);
        store_output(A + at, best[u], stream);
        if (stream) store_bytes<T, true>(positions + at, argmax[u]);
        else store_bytes<T>(positions + at, argmax[u]);
      });
    };
    for_each_channel_part<T, Narrow>(g.n_C, block);
  });
  if (stream) streaming_fence();
}

template <class T>
void max_forward_with_positions(const T* A_prev, const PoolGeometry& g, T* A, std::uint8_t* positions,
                                T* A_prev_copy, Threads threads) {
  with_forward_pass(g, A, positions, threads, [&](auto narrow, auto ahead, auto stream) {
    parallel_for(threads, g.m * g.n_H, pool_work(g), [&](Index row) {
      if (A_prev_copy) copy_task_rows(A_prev, g, row / g.n_H, row % g.n_H, A_prev_copy, stream);
      max_row_with_positions<decltype(narrow)::value>(A_prev, g, row / g.n_H, row % g.n_H, A, positions, ahead, stream);
    });
  });
}

// dA_prev from dA: to each window's first maximum (Max) or spread evenly. Tiled (stride == f) windows do not
// overlap, so each covered element is stored once; otherwise windows add into zeros.
// Max takes each window's argmax from `positions` when given (A_prev is then not read), else finds it, asking
// for A_prev ahead when `ahead` (as with_pass_kind says). One image at a time (as pool_forward_row, in a function of
// its own).
template <bool Max, bool Tiled, bool Narrow, class T, class Ahead>
EIGEN_DONT_INLINE void pool_backward_image(const T* dA, const T* A_prev, const std::uint8_t* positions,
                                           const PoolGeometry& g, Index i, T* dA_prev, Ahead ahead) {
  const Index row_size = g.n_W_prev * g.n_C;
  const auto zero_rows = [&](Index first, Index last) {
    std::fill(dA_prev + (i * g.n_H_prev + first) * row_size, dA_prev + (i * g.n_H_prev + last) * row_size, T(0));
  };
  for (Index h = 0; h < g.n_H; ++h) {
    if constexpr (Tiled) {
      // Only the columns to the right of the last window are not covered.
      for (Index r = h * g.f_H; r < (h + 1) * g.f_H; ++r) {
        T* row = dA_prev + (i * g.n_H_prev + r) * row_size;
        std::fill(row + g.n_W * g.f_W * g.n_C, row + row_size, T(0));
      }
    } else {
      // Rows are zeroed just before their first window, while they are about to be in cache anyway.
      zero_rows(h == 0 ? 0 : g.row_end(h - 1), g.row_end(h));
    }
    const WindowRow windows(g, i, h);
    for_each_window_block<Narrow, Tiled>(g, windows, {g.n_W, g.n_W}, [&](Index w, auto count) CNNPRIM_INLINE_LAMBDA {
      constexpr int P = decltype(count)::value;
      const Window pixels = windows.window(w);
      // (Without A_prev when the argmax is given.)
      const T* window = positions ? nullptr : A_prev + pixels.origin;
      const T window_size = static_cast<T>(windows.divisor(w));
      if (ahead) unroll<P>([&](int p) CNNPRIM_INLINE_LAMBDA { prefetch_ahead(A_prev, g, i, h, w + p); });
      T* target = dA_prev + pixels.origin;
      const T* dA_pixel = dA + pixel_offset(g, i, h, w);
      const auto block = [&](Index c, auto lanes, auto packets) CNNPRIM_INLINE_LAMBDA {
        using V = decltype(lanes);
        using Block = SideBySide<P, decltype(packets)>;
        constexpr int U = Block::registers;
        constexpr Index step = is_scalar_v<V> ? 1 : packet_size<T>;
        const Block input = Block::of_input(g), output{g.n_C};
        V gradient[std::size_t{U}];
        unroll<U>([&](int u) CNNPRIM_INLINE_LAMBDA {
          gradient[u] = load<V>(dA_pixel + c + output.template at<step>(u));
        });
        // Stores (tiled) or adds value(u) at the window element `offset` from its top-left one; stored, it is
        // added to zero all the same, so that -0 becomes 0 as where windows add into zeros.
        T* const base = target + c;
        const auto give = [&](Index offset, auto value) CNNPRIM_INLINE_LAMBDA {
          unroll<U>([&](int u) CNNPRIM_INLINE_LAMBDA {
            T* p = base + offset + input.template at<step>(u);
            if constexpr (Tiled) store(p, add(constant<V>(T(0)), value(u)));
            else store(p, add(load<V>(p), value(u)));
          });
        };
        if constexpr (Max) {
          // (A position past the window, only in a caller's corrupted argmax, matches no k: its gradient is
          // dropped, nothing is written out of bounds.)
          V argmax[std::size_t{U}];
          if (positions) {
            const std::uint8_t* pixel_positions = positions + pixel_offset(g, i, h, w) + c;
            unroll<U>([&](int u) CNNPRIM_INLINE_LAMBDA {
              argmax[u] = load_bytes<V, T>(pixel_positions + output.template at<step>(u));
            });
          } else {
            V best[std::size_t{U}];
            window_argmax<U>(g, window + c, pixels, best, argmax, input);
          }
          const auto give_won = [&](Index k, Index offset) CNNPRIM_INLINE_LAMBDA {
            const V position = constant<V>(static_cast<T>(k));
            give(offset, [&](int u) CNNPRIM_INLINE_LAMBDA { return masked_equal(argmax[u], position, gradient[u]); });
          };
          give_won(0, 0);
          for_each_element(g, pixels, give_won);
        } else {
          unroll<U>([&](int u) CNNPRIM_INLINE_LAMBDA { gradient[u] = divide(gradient[u], constant<V>(window_size)); });
          const auto give_share = [&](Index, Index offset) CNNPRIM_INLINE_LAMBDA {
            give(offset, [&](int u) CNNPRIM_INLINE_LAMBDA { return gradient[u]; });
          };
          give_share(0, 0);
          for_each_element(g, pixels, give_share);
        }
      };
      for_each_channel_part<T, Narrow>(g.n_C, block);
    });
  }
  // Rows below the last window.
  if constexpr (Tiled) zero_rows(g.n_H * g.f_H, g.n_H_prev);
  else zero_rows(g.row_end(g.n_H - 1), g.n_H_prev);
}

// One task per image: windows of one image may add onto the same rows.
template <bool Max, bool Tiled, class T, class Ahead>
void pool_backward_pass(const T* dA, const T* A_prev, const std::uint8_t* positions, const PoolGeometry& g,
                        T* dA_prev, Ahead ahead, Threads threads) {
  with_pass_kind<T>(g, ahead, std::false_type(), [&](auto narrow, auto asks, auto) {
    parallel_for(threads, g.m, pool_work(g), [&](Index i) {
      pool_backward_image<Max, Tiled, decltype(narrow)::value>(dA, A_prev, positions, g, i, dA_prev, asks);
    });
  });
}


// The windows along one axis (f taps at `stride`, `pad` before the first, n of them) that hold input index x:
// [first, last], none when first > last.
struct WindowSpan {
  Index first, last;
};
inline WindowSpan windows_holding(Index x, Index f, Index stride, Index pad, Index n) {
  const Index start = x + pad;  // x's place in the padded axis, an Index (resolve_axis checks)
  return {start < f ? 0 : ceil_div(start - f + 1, stride), std::min(n - 1, start / stride)};
}

// The most windows that hold one input row: the output rows whose shares average_backward_rows keeps at once.
inline Index share_rows(const PoolGeometry& g) { return std::min(g.n_H, ceil_div(g.f_H, g.stride_H)); }

// Average pooling's rows [r_begin, r_end) of image i of dA_prev, each element written once, as `how` says (other than
// Store::Cached: past the caches; StreamedRows through `row_buffer`): the sum, from zero, of dA / divisor over the
// windows that hold it, in the order the windows come (row by row, then column by column). Those are the bits of adding
// each window's share into zeros in that order, as the Loop path does, without zeroing dA_prev first and reading it
// back for every window that holds an element (in one process: 1.33-1.48 -> 0.90-0.91 ms on (8, 112, 112, 64), 3x3
// windows at stride 2; 67 -> 50 µs on (1, 56, 56, 64), 3x3 at stride 1, in cache). The shares of an output row are
// divided once, into `shares`, a ring of share_rows(g) rows.
template <Store how, class T>
EIGEN_DONT_INLINE void average_backward_rows(const T* dA, const PoolGeometry& g, Index i, Index r_begin, Index r_end,
                                             T* shares, T* dA_prev, T* row_buffer) {
  const Index ring = share_rows(g), share_row = g.n_W * g.n_C;
  const auto divide_row = [&](Index h) {
    const WindowRow windows(g, i, h);
    T* const row = shares + h % ring * share_row;
    for (Index w = 0; w < g.n_W; ++w) {
      const T window_size = static_cast<T>(windows.divisor(w));
      const T* const gradient = dA + pixel_offset(g, i, h, w);
      for_each_channel_block<T>(g.n_C, [&](Index c, auto lanes, auto packets) CNNPRIM_INLINE_LAMBDA {
        using V = decltype(lanes);
        constexpr Index step = is_scalar_v<V> ? 1 : packet_size<T>;
        unroll<packets>([&](int u) CNNPRIM_INLINE_LAMBDA {
          const Index at = c + u * step;
          store(row + w * g.n_C + at, divide(load<V>(gradient + at), constant<V>(window_size)));
        });
      });
    }
  };
  Index next = 0;  // the first output row not yet divided into the ring
  for (Index r = r_begin; r < r_end; ++r) {
    const WindowSpan rows = windows_holding(r, g.f_H, g.stride_H, g.pad_top, g.n_H);
    for (next = std::max(next, rows.first); next <= rows.last; ++next) divide_row(next);
    const Index first_slot = rows.first % ring;  // rows.first's place in the ring, the others' following it
    T* const row_out = dA_prev + (i * g.n_H_prev + r) * g.n_W_prev * g.n_C;
    T* const out = how == Store::StreamedRows ? row_buffer : row_out;
    StreamedRow<T> streamed(row_buffer, g.n_W_prev * g.n_C, row_out);
    WindowSpan columns = windows_holding(0, g.f_W, g.stride_W, g.pad_left, g.n_W);
    for (Index x = 0; x < g.n_W_prev; ++x) {
      // Column x's windows from x - 1's: at most one starts and one ends at each column. (Divisions per
      // element took longer than the sums.) No product exceeds x's place in the padded axis.
      if (x > 0) {
        const Index start = x + g.pad_left;
        if (columns.last + 1 < g.n_W && (columns.last + 1) * g.stride_W <= start) ++columns.last;
        if (columns.first <= columns.last && start - columns.first * g.stride_W >= g.f_W) ++columns.first;
      }
      for_each_channel_block<T>(g.n_C, [&](Index c, auto lanes, auto packets) CNNPRIM_INLINE_LAMBDA {
        using V = decltype(lanes);
        constexpr int U = packets;
        constexpr Index step = is_scalar_v<V> ? 1 : packet_size<T>;
        V sum[std::size_t{U}];
        unroll<U>([&](int u) CNNPRIM_INLINE_LAMBDA { sum[u] = constant<V>(T(0)); });
        Index slot = first_slot;
        for (Index h = rows.first; h <= rows.last; ++h, slot = slot + 1 == ring ? 0 : slot + 1) {
          const T* const row = shares + slot * share_row + c;
          for (Index w = columns.first; w <= columns.last; ++w)
            unroll<U>([&](int u) CNNPRIM_INLINE_LAMBDA { sum[u] = add(sum[u], load<V>(row + w * g.n_C + u * step)); });
        }
        T* const target = out + x * g.n_C + c;
        unroll<U>([&](int u) CNNPRIM_INLINE_LAMBDA {
          store_streaming<how == Store::Streamed>(target + u * step, sum[u]);
        });
      });
      if constexpr (how == Store::StreamedRows) streamed.flush((x + 1) * g.n_C);
    }
    if constexpr (how == Store::StreamedRows) streamed.finish();
  }
  if constexpr (how != Store::Cached) streaming_fence();
}

// Whether average_backward pays: its bookkeeping per element (the windows that hold it) is paid once for a block of
// channel packets, which a pixel must fill (at 16 floats of AVX-512 it took twice as long as adding into zeros, at 64
// it was as fast in cache and 1.3-1.6x faster where windows overlap more or dA_prev comes from memory); and its ring
// of shares takes at most 1 MiB (more only with windows many times their stride).
template <class T>
bool gathers_average(const PoolGeometry& g) {
  return g.n_C >= channel_block<T> &&
         double(share_rows(g)) * double(g.n_W * g.n_C) * double(sizeof(T)) <= double(1 << 20);
}

// Average pooling's dA_prev by average_backward_rows, the tasks pieces of each image's input rows, stored past the
// caches when output_store says so and the call runs on one thread: one core's ordinary stores first read every line
// they fill, but several cores fill the last-level cache faster than memory takes streamed stores, and dA_prev is
// then there for its reader. On two threads, (8, 112, 112, 64, f 3, s 2) streamed against ordinary stores took
// 617-650 against 443-506 µs called repeatedly, 1417-1475 against 1085-1322 µs with dA_prev read after the call.
template <class T>
void average_backward(const T* dA, const PoolGeometry& g, T* dA_prev, Threads threads) {
  // Pieces of images only when threads share them: each piece divides its own rows of shares.
  const Index parallel_pieces = row_pieces(g.m, g.n_H_prev);
  const bool shared = runs_parallel(threads, g.m * parallel_pieces, pool_work(g));
  const Index pieces = shared ? parallel_pieces : 1;
  const Index row_size = g.n_W_prev * g.n_C;
  const Store how = shared ? Store::Cached : output_store(g, dA_prev, row_size);
  parallel_for(threads, g.m * pieces, pool_work(g), [&](Index task) {
    const Index i = task / pieces;
    const auto [r_begin, r_end] = piece(g.n_H_prev, pieces, task % pieces);
    T* const shares = scratch<T, Scratch::WindowShares>(static_cast<std::size_t>(share_rows(g) * g.n_W * g.n_C));
    switch (how) {
      case Store::Cached: return average_backward_rows<Store::Cached>(dA, g, i, r_begin, r_end, shares, dA_prev, {});
      case Store::Streamed:
        return average_backward_rows<Store::Streamed>(dA, g, i, r_begin, r_end, shares, dA_prev, {});
      case Store::StreamedRows:
        T* const row_buffer = scratch<T, Scratch::OutputRow>(static_cast<std::size_t>(row_size));
        return average_backward_rows<Store::StreamedRows>(dA, g, i, r_begin, r_end, shares, dA_prev, row_buffer);
    }
  });
}

// Max backward with window positions kept as Index, for windows too large for the packet argmax, which keeps
// them as T (exact up to 2^24 for float).
template <class T>
void max_backward_by_index(const T* dA, const T* A_prev, const PoolGeometry& g, T* dA_prev) {
  std::fill_n(dA_prev, input_size(g), T(0));
  for (Index i = 0; i < g.m; ++i)
    for (Index h = 0; h < g.n_H; ++h)
      for (Index w = 0; w < g.n_W; ++w)
        for (Index c = 0; c < g.n_C; ++c) {
          const Index top = g.row_begin(h), left = g.column_begin(w), columns = g.column_end(w) - left;
          const Index window = ((i * g.n_H_prev + top) * g.n_W_prev + left) * g.n_C + c;
          const Index k = first_max_index(A_prev + window, g.row_end(h) - top, columns, g.n_W_prev * g.n_C, g.n_C);
          dA_prev[window + (k / columns * g.n_W_prev + k % columns) * g.n_C] += dA[pixel_offset(g, i, h, w) + c];
        }
}

/// A = max or mean over each window, one block of channel packets at a time; A_prev_copy, when not null (a first
/// form's cache), = A_prev. (A is empty only when A_prev is.)
template <class T>
void pool_forward(TensorView<const T> A_prev, const PoolGeometry& g, PoolMode mode, TensorView<T> A,
                  T* A_prev_copy, Threads threads) {
  const ScratchScope scope;
  if (A.empty()) return;
  switch (mode) {
    case PoolMode::Max: pool_forward_pass<true>(A_prev.data(), g, A.data(), A_prev_copy, threads); break;
    case PoolMode::Average: pool_forward_pass<false>(A_prev.data(), g, A.data(), A_prev_copy, threads); break;
  }
}

/// Max pooling's A and the window position of each first maximum (windows of at most max_pool_positions
/// elements, which the public call checks); A_prev_copy as pool_forward's.
template <class T>
void max_pool_forward(TensorView<const T> A_prev, const PoolGeometry& g, TensorView<T> A,
                      TensorView<std::uint8_t> argmax, T* A_prev_copy, Threads threads) {
  const ScratchScope scope;
  if (A.empty()) return;
  max_forward_with_positions(A_prev.data(), g, A.data(), argmax.data(), A_prev_copy, threads);
}

/// Max: each dA goes to its window's first maximum, found per lane by a running argmax, or read from
/// `argmax` (max_pool_forward's) when it is not null. Average: dA / divisor goes to every window position.
template <class T>
void pool_backward(TensorView<const T> dA, TensorView<const T> A_prev, const std::uint8_t* argmax,
                   const PoolGeometry& g, PoolMode mode, TensorView<T> dA_prev, Threads threads) {
  const ScratchScope scope;
  if (dA.empty()) {
    dA_prev.vector().setZero();
    return;
  }
  if (mode == PoolMode::Max && !argmax && g.max_taps() > (Index{1} << std::numeric_limits<T>::digits))
    return max_backward_by_index(dA.data(), A_prev.data(), g, dA_prev.data());
  // Windows that tile the image without padding or a partial last window: each covered element is stored once.
  const bool tiled = g.stride_H == g.f_H && g.stride_W == g.f_W && !g.has_padding() && g.n_H * g.f_H <= g.n_H_prev &&
                     g.n_W * g.f_W <= g.n_W_prev;
  const auto pass = [&](auto max, auto ahead) {
    with_constant(tiled, [&](auto tiled_windows) {
      pool_backward_pass<decltype(max)::value, decltype(tiled_windows)::value>(dA.data(), A_prev.data(), argmax, g,
                                                                                dA_prev.data(), ahead, threads);
    });
  };
  switch (mode) {
    case PoolMode::Max:
      // Finding each window's argmax reads A_prev: asked for ahead when it comes from memory.
      pass(std::true_type(), !argmax && exceeds_cache<T>(g));
      break;
    case PoolMode::Average:
      // Tiled windows store each element once already.
      if (tiled || !gathers_average<T>(g)) pass(std::false_type(), std::false_type());
      else average_backward(dA.data(), g, dA_prev.data(), threads);
      break;
  }
}

}  // namespace cnnprim::detail::eigen
