// A register tile of rank-1 updates on Eigen's packet primitives: the inner kernel of the direct convolution.
//
// The tile holds R x CB packets of n values, acc[r][j] (j counts packets of the output's contiguous channel axis), and
// adds a[r * a_stride + d * a_step] * b[d * b_step + j * packet] over a depth d. That one shape of loop is
// the forward convolution (rows r are output pixels, d runs over a window's channels), the backward data
// (the same with the flipped filter) and the backward weights (rows are input channels, d runs over pixels).
#pragma once

#include <type_traits>
#include <utility>

#include "packet.hpp"

namespace cnnprim::detail::eigen {

// The largest tile whose accumulators, the CB packets of b and one broadcast of a fit the vector registers:
// 6 x 4 (+ 4 + 1 = 29) of AVX-512's 32, 3 x 3 (+ 3 + 1 = 13) of AVX's or SSE's 16.
constexpr int tile_rows = vector_registers >= 32 ? 6 : 3;
constexpr int tile_packets = vector_registers >= 32 ? 4 : 3;

// Packets of n values are Packet<T> or a smaller packet of T (packet_of): 8 channels of floats fill no 16-float
// packet of AVX-512, but one of its halves.
template <class T, int R, int CB, Index n = packet_size<T>>
struct Tile {
  using P = packet_of<T, n>;
  P acc[std::size_t{R}][std::size_t{CB}];

  // The last packet of a row may hold fewer channels, `last` of them (the lanes past them are neither read nor
  // written), where lanes can be masked and the packets are whole: 100 channels are six packets and 4 lanes.
  static constexpr bool masks = n == packet_size<T> && has_masked_lanes<T>;

  // Every row starts from the same row of values (a bias), or from zero when `row` is null.
  EIGEN_ALWAYS_INLINE void broadcast_row(const T* row, Index last = n) {
    for (int j = 0; j < CB; ++j) {
      const P value = row ? load_packet(row + j * n, j, last) : constant<P>(T(0));
      for (int r = 0; r < R; ++r) acc[r][j] = value;
    }
  }

  EIGEN_ALWAYS_INLINE void load(const T* c, Index c_stride, Index last = n) {
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < CB; ++j) acc[r][j] = load_packet(c + r * c_stride + j * n, j, last);
  }

  EIGEN_ALWAYS_INLINE void store(T* c, Index c_stride, Index last = n) const {
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < CB; ++j) {
        if constexpr (masks) {
          if (j == CB - 1 && last < n) {
            store_lanes(c + r * c_stride + j * n, acc[r][j], last);
            continue;
          }
        }
        eigen::store(c + r * c_stride + j * n, acc[r][j]);
      }
  }

  // acc[r][j] += a[r * a_stride + d * a_step] * b[d * b_step + j * n]  for d in [0, depth), depth >= 1; b's
  // last packet holds `last` values (and is read on a mask when fewer than n).
  // Pointers are formed only for the elements read, never one step past the last, which may lie outside the
  // tensor when steps are large. (A loop that always runs lets the compiler keep acc in registers across
  // a caller's loop of updates: where it might not run, GCC 12 stores and reloads acc around each update.)
  EIGEN_ALWAYS_INLINE void update(const T* a, Index a_stride, Index a_step, const T* b, Index b_step, Index depth,
                                  Index last = n) {
    Index d = 0;
    do {
      const T* a_d = a + d * a_step;
      const T* b_d = b + d * b_step;
      P b_packets[std::size_t{CB}];
      for (int j = 0; j < CB; ++j) b_packets[j] = in_register(load_packet(b_d + j * n, j, last));
      for (int r = 0; r < R; ++r) {
        const P a_value = constant<P>(a_d[r * a_stride]);
        for (int j = 0; j < CB; ++j) acc[r][j] = multiply_add(a_value, b_packets[j], acc[r][j]);
      }
    } while (++d < depth);
  }

 private:
  // The packet at p, the j-th of its row (read on a mask when it is the last and holds `last` < n values).
  static EIGEN_ALWAYS_INLINE P load_packet(const T* p, int j, Index last) {
    if constexpr (masks) {
      if (j == CB - 1 && last < n) return load_masked(p, 0, lane_mask<T>(0, last));
    }
    return eigen::load<P>(p);
  }
};

template <int V>
using Int = std::integral_constant<int, V>;

template <class F, int... I>
EIGEN_ALWAYS_INLINE void unroll(F&& f, std::integer_sequence<int, I...>) {
  (f(Int<I>()), ...);
}

// Calls f(Int<0>()), ..., f(Int<N - 1>()): the index is a constant, so arrays indexed by it stay in registers.
template <int N, class F>
EIGEN_ALWAYS_INLINE void unroll(F&& f) {
  unroll(f, std::make_integer_sequence<int, N>());
}

// Calls visit(Int<R>(), Int<CB>()) with the compile-time tile that covers `rows` rows and `packets` packets
// (each at most the tile's maximum), so that edge tiles keep their accumulators in registers too.
template <int R = tile_rows, int CB = tile_packets, class Visit>
EIGEN_ALWAYS_INLINE void with_tile(Index rows, Index packets, Visit&& visit) {
  if constexpr (R > 1) {
    if (rows < R) return with_tile<R - 1, CB>(rows, packets, visit);
  }
  if constexpr (CB > 1) {
    if (packets < CB) return with_tile<R, CB - 1>(rows, packets, visit);
  }
  visit(Int<R>(), Int<CB>());
}

// Calls visit(lanes) with the lanes of a row's last packet of n: a constant when the packet is whole, so that a
// tile of whole packets compiles to no test of its lanes at all. (The visitor must be inlined too: called per
// tile, it made the filter gradient of the large layers 6-8 % slower.)
template <Index n, class Visit>
EIGEN_ALWAYS_INLINE void with_last_lanes(Index last, Visit&& visit) {
  if (last == n) visit(std::integral_constant<Index, n>());
  else visit(last);
}

// Calls body(c, V(), Int<U>()) over the channels from c: U packets at a time (U = tile_packets, so that
// U independent reductions hide each other's latency), then single packets, a half and a quarter packet, then
// single channels (V = T). (Each channel left to single values costs about as much as a packet: with single values
// after the whole packets, max pooling's backward over 20 channels took 5.6x as long as over 32, now 0.9x.)
template <class T, class Body>
EIGEN_ALWAYS_INLINE void for_each_channel_block(Index n_C, Body body) {
  using H = decltype(half_packet(Packet<T>()));
  using Q = decltype(half_packet(H()));
  constexpr Index n = packet_size<T>;
  Index c = 0;
  for (; c + tile_packets * n <= n_C; c += tile_packets * n) body(c, Packet<T>(), Int<tile_packets>());
  for (; c + n <= n_C; c += n) body(c, Packet<T>(), Int<1>());
  if constexpr (lanes(H()) > 1 && lanes(H()) < n) {
    if (c + lanes(H()) <= n_C) {
      body(c, H(), Int<1>());
      c += lanes(H());
    }
  }
  if constexpr (lanes(Q()) > 1 && lanes(Q()) < lanes(H())) {
    if (c + lanes(Q()) <= n_C) {
      body(c, Q(), Int<1>());
      c += lanes(Q());
    }
  }
  for (; c < n_C; ++c) body(c, T(), Int<1>());
}

}  // namespace cnnprim::detail::eigen
