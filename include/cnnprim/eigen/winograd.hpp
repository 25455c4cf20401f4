// Winograd's minimal filtering F(2x2, 3x3) for 3x3 convolutions at stride 1 (Lavin and Gray, "Fast Algorithms
// for Convolutional Neural Networks", 2016).
//
// Each 2x2 block of output pixels is A^T [(G g G^T) . (B^T d B)] A over its 4x4 input tile d, per pair of input
// and output channels, with
//   B^T = | 1  0 -1  0 |     G = | 1    0    0   |     A^T = | 1  1  1  0 |
//         | 0  1  1  0 |         | 1/2  1/2  1/2 |           | 0  1 -1 -1 |
//         | 0 -1  1  0 |         | 1/2 -1/2  1/2 |
//         | 0  1  0 -1 |         | 0    0    1   |
// Summed over the input channels, the 16 element-wise products are 16 matrix products (tiles x n_in by
// n_in x n_out), which take 16 multiply-adds per tile and channel pair where the direct kernel takes 36. They
// run on the direct kernel's register tile; the transforms are additions on whole packets of channels.
// Values are combined that the direct sum keeps apart (an input outside a pixel's window is added and taken away
// again), so a NaN or an infinity would reach pixels it does not touch, and values near the largest finite one
// could overflow where the direct sum does not: such inputs take the direct kernel (winograd_suits).
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <type_traits>

#include "../geometry.hpp"
#include "../params.hpp"
#include "direct_pass.hpp"
#include "packet.hpp"
#include "parallel.hpp"
#include "scratch.hpp"
#include "tile.hpp"

namespace cnnprim::detail::eigen {

template <class T>
bool is_finite(T x) {
  return x < std::numeric_limits<T>::infinity();
}

// The largest magnitude of the packets it is shown, or infinity when a lane is not finite.
template <class T>
struct Magnitude {
  using P = Packet<T>;
  P largest = constant<P>(T(0));
  P finite = constant<P>(T(0));  // the sum of x - x: 0 unless some x is NaN or infinite

  // (Where x is NaN, maximum's result is not specified, and not used.)
  EIGEN_ALWAYS_INLINE void see(const P& x) {
    largest = maximum(largest, magnitude(x));
    finite = add(finite, subtract(x, x));
  }
  T value() const { return sum_lanes(finite) == T(0) ? max_lanes(largest) : std::numeric_limits<T>::infinity(); }
};

// The largest |x| of x[0, size), or infinity when one is not finite. (Four packets at a time: four chains of
// maxima and sums, whose latencies overlap.)
template <class T>
T largest_magnitude(const T* x, Index size) {
  using P = Packet<T>;
  constexpr Index n = packet_size<T>;
  Magnitude<T> part[4];
  Index j = 0;
  for (; j + 4 * n <= size; j += 4 * n) unroll<4>([&](int u) { part[u].see(load<P>(x + j + u * n)); });
  T result = 0;
  for (const auto& p : part) result = std::max(result, p.value());
  for (; j < size; ++j)
    result = std::isfinite(x[j]) ? std::max(result, std::abs(x[j])) : std::numeric_limits<T>::infinity();
  return result;
}

// Whether the Winograd kernel computes a 3x3 pass over n_in input channels to rounding, given the largest
// magnitudes of its input and its filter (infinite when one is not finite): both finite, and small enough that no
// transform, product or sum overflows (the transforms scale a value by at most 4, the filter's by 9/4, and an
// output adds 9 x n_in of their products).
template <class T>
bool winograd_suits(T input, T filter, Index n_in) {
  if (!is_finite(input) || !is_finite(filter)) return false;
  const T limit = std::numeric_limits<T>::max() / T(1024);
  return input <= limit && filter <= limit && (input == T(0) || filter <= limit / input / T(n_in));
}

// Whether the multiply-adds a pass saves (16 a 2x2 block of output pixels and a pair of channels where the direct
// kernel takes 36, less the blocks' pixels past the output's edges) pay for transforming the filter, which each
// chunk of blocks reads again. (ResNet-18's 7x7 layers do not pay at batch 1.)
inline bool winograd_pays(const DirectGeometry& g) {
  const double blocks = double(g.m) * double((g.n_H + 1) / 2) * double((g.n_W + 1) / 2);
  return double(g.m) * double(g.n_H) * double(g.n_W) * 9 - blocks * 16 >= 512;
}

// The input transform in one dimension: B^T d.
template <class P>
EIGEN_ALWAYS_INLINE void winograd_input_1d(const P& d0, const P& d1, const P& d2, const P& d3, P& v0, P& v1, P& v2,
                                           P& v3) {
  v0 = subtract(d0, d2);
  v1 = add(d1, d2);
  v2 = subtract(d2, d1);
  v3 = subtract(d1, d3);
}

// The output transform in one dimension: A^T m.
template <class P>
EIGEN_ALWAYS_INLINE void winograd_output_1d(const P& m0, const P& m1, const P& m2, const P& m3, P& y0, P& y1) {
  y0 = add(add(m0, m1), m2);
  y1 = subtract(subtract(m1, m2), m3);
}

// The filter transform in one dimension: G g.
template <class T, class P>
EIGEN_ALWAYS_INLINE void winograd_filter_1d(const P& g0, const P& g1, const P& g2, P& u0, P& u1, P& u2, P& u3) {
  const P half = constant<P>(T(0.5));
  const P outer = multiply(add(g0, g2), half), middle = multiply(g1, half);
  u0 = g0;
  u1 = add(outer, middle);
  u2 = subtract(outer, middle);
  u3 = g2;
}

// output = activation(conv(input, filter) (+ bias)) for a 3x3 filter at stride 1 and dilation 1, n_in and n_out
// whole packets, pads below 3 (as direct_conv's geometry g). The tasks are chunks of 2x2 blocks of output pixels;
// each transforms its tiles into its thread's scratch memory, multiplies, and transforms back into the output.
// Returns false, the output unspecified, when the input or the filter does not suit it (winograd_suits): each
// task checks the part it reads as it transforms it, so that no pass over either comes first.
template <class T>
bool winograd_conv(const T* input, const DirectGeometry& g, DirectFilter<T> filter, const T* bias,
                   Activation activation, T* output, Threads threads) {
  using P = Packet<T>;
  constexpr Index n = packet_size<T>;
  constexpr int tiles_per_step = tile_rows;
  const Index C = g.n_in, K = g.n_out, block = tile_packets * n;
  const Index t_H = (g.n_H + 1) / 2, t_W = (g.n_W + 1) / 2, tiles = g.m * t_H * t_W;
  // Tiles per chunk: each of the 16 products of a chunk reads its rows of V and writes its rows of M (C + K values
  // a tile) within 256 KiB, 4 MiB for all 16; U (16 C K values) is read again by every chunk, which cost more than
  // V and M past the L2 cache: (4, 14, 14, 256) -> 256 on two threads took 1065-1090 µs in chunks of 64 KiB or
  // 128 KiB a product, 1023-1038 µs in chunks of 256 KiB (one chunk per thread). A multiple of the threads' number of
  // chunks, so that each takes as many. (How the tiles are cut changes no bit: every tile's sums run in the same
  // order whatever its chunk.)
  const Index most = std::max<Index>(1, (Index{256} << 10) / ((C + K) * static_cast<Index>(sizeof(T))) /
                                            tiles_per_step) * tiles_per_step;
  const Index thread_count = threads.resolved().count();
  // Chunks are cut at whole steps of the register tile, so that no chunk ends with a short step; but where each
  // thread takes one chunk, the call lasts as long as the largest, and equal chunks (a short step each) end sooner:
  // (4, 14, 14, 256) -> 256 on two threads took 1017-1060 µs in chunks of 98 and 98 tiles, 1038-1107 in 96 and 100.
  const Index steps = std::max<Index>(1, ceil_div(tiles, Index{tiles_per_step}));
  const Index chunks = std::min<Index>(ceil_div(ceil_div(tiles, most), thread_count) * thread_count, steps);
  const auto chunk_start = [&](Index task) {
    return chunks == thread_count ? task * tiles / chunks : std::min(task * steps / chunks * tiles_per_step, tiles);
  };
  // The largest magnitude of each block of n input (or, flipped, output) channels' filter, then of each chunk's input.
  const Index filter_tasks = (filter.flipped ? K : C) / n;
  T* const magnitudes = scratch<T, Scratch::PartialSums>(static_cast<std::size_t>(filter_tasks + chunks));

  // U = G g G^T for every pair of channels: 16 matrices of C x K, each in blocks of `block` output channels
  // (rows of width), as direct_conv packs its filter. The tasks are blocks of n input channels, or of n output
  // channels for a flipped filter (the data gradient's), whose taps are transposed from W as they are read.
  // Every thread of the products reads all of U. When there are several, U is stored past the caches: a store into
  // lines that another core's cache holds from the call before waits for that core to give them up (writing 1 MB so
  // took 150 µs here, against 50 µs streamed and 10 µs into lines of the writer's own cache). But a flipped filter's
  // task writes one packet of each row of its block: streamed, the (4, 14, 14, 256) -> 256 data gradient's transform
  // took each of two threads as long as it takes one thread alone (189 against 196 µs); stored as usual, the call took
  // 954-1003 µs on two threads in nine processes of eleven and 1232-1242 in two, against 1103-1174 streamed.
  const double product_work = double(tiles) * double(16 * C * K);
  const bool stream_filter = !filter.flipped && runs_parallel(threads, chunks, product_work);
  T* const U = scratch<T, Scratch::PackedFilter>(static_cast<std::size_t>(16 * C * K));
  const auto transform_filter = [&](Index first, auto stream) {
    constexpr bool Stream = decltype(stream)::value;
    Magnitude<T> magnitude;
    // Output channels [k, k + n) of input channel c, the 9 taps' packets at tap_row(tap).
    const auto transform = [&](Index c, Index k, auto tap_row) {
      P g_[3][3], t[4][3];
      for (int r = 0; r < 3; ++r)
        for (int s = 0; s < 3; ++s) {
          g_[r][s] = load<P>(tap_row(r * 3 + s));
          magnitude.see(g_[r][s]);
        }
      for (int s = 0; s < 3; ++s)
        winograd_filter_1d<T>(g_[0][s], g_[1][s], g_[2][s], t[0][s], t[1][s], t[2][s], t[3][s]);
      const Index c0 = k / block * block, width = std::min(block, K - c0);
      for (int r = 0; r < 4; ++r) {
        P u[4];
        winograd_filter_1d<T>(t[r][0], t[r][1], t[r][2], u[0], u[1], u[2], u[3]);
        for (int s = 0; s < 4; ++s)
          store_streaming<Stream>(U + (r * 4 + s) * C * K + c0 * C + c * width + (k - c0), u[s]);
      }
    };
    if (!filter.flipped) {
      // Input channels [first, first + n), each one's 9 rows of W read in turn: streams the prefetcher follows.
      for (Index c = first; c < first + n; ++c)
        for (Index k = 0; k < K; k += n)
          transform(c, k, [&](int tap) { return filter.W + (tap * C + c) * K + k; });
    } else {
      // Output channels [first, first + n) of every input channel, by n x n squares of each tap transposed from W
      // into the thread's scratch memory, W's rows read whole and in order.
      T* const taps = scratch<T, Scratch::WideOperand>(static_cast<std::size_t>(9 * C * n));
      for (int tap = 0; tap < 9; ++tap)
        for (Index c = 0; c < C; c += n) filter.flipped_square(g, tap, c, first, taps + (tap * C + c) * n);
      for (Index c = 0; c < C; ++c) transform(c, first, [&](int tap) { return taps + (tap * C + c) * n; });
    }
    magnitudes[first / n] = magnitude.value();
    if constexpr (Stream) streaming_fence();
  };
  // The filter is transformed by the chunks' tasks as they start: each takes the next block of channels from a
  // counter, then waits for the blocks that others took. So the caller transforms the filter while a pool thread
  // woken for the chunks gets going (10-20 µs on a virtual machine), where before the filter's pass ran alone ahead
  // of the wake. A block that throws ends the others' wait; parallel_for passes the exception to the caller.
  std::atomic<Index> next_filter_task{0}, filter_tasks_done{0};
  std::atomic<bool> filter_failed{false};
  const auto prepare_filter = [&] {
    try {
      for (Index task; (task = next_filter_task.fetch_add(1, std::memory_order_relaxed)) < filter_tasks;) {
        if (stream_filter) transform_filter(task * n, std::true_type());
        else transform_filter(task * n, std::false_type());
        filter_tasks_done.fetch_add(1, std::memory_order_release);
      }
    } catch (...) {
      filter_failed.store(true, std::memory_order_relaxed);
      throw;
    }
    while (filter_tasks_done.load(std::memory_order_acquire) < filter_tasks)
      if (filter_failed.load(std::memory_order_relaxed)) return false;
      else spin_pause();
    return true;
  };
  const auto filter_magnitude = [&] { return *std::max_element(magnitudes, magnitudes + filter_tasks); };

  parallel_for(threads, chunks, product_work, [&](Index task) {
    const Index first = chunk_start(task), count = chunk_start(task + 1) - first;
    magnitudes[filter_tasks + task] = 0;
    if (count <= 0) return;
    if (!prepare_filter() || !winograd_suits(T(0), filter_magnitude(), C)) return;
    T* const V = scratch<T, Scratch::Patches>(static_cast<std::size_t>(16 * count * C));
    T* const M = scratch<T, Scratch::PatchGradients>(static_cast<std::size_t>(16 * count * K));
    // V[e][t] = B^T d B over tile t's 4x4 input pixels, zero outside the image.
    Magnitude<T> magnitude;
    for (Index t = 0; t < count; ++t) {
      const Index tile = first + t, i = tile / (t_H * t_W), a = tile / t_W % t_H, b = tile % t_W;
      const Index y0 = 2 * a - g.pad_top, x0 = 2 * b - g.pad_left;
      const bool inside = y0 >= 0 && x0 >= 0 && y0 + 4 <= g.n_H_in && x0 + 4 <= g.n_W_in;
      const T* image = input + i * g.n_H_in * g.n_W_in * C;
      for (Index c = 0; c < C; c += n) {
        P d[4][4];
        for (int r = 0; r < 4; ++r)
          for (int s = 0; s < 4; ++s) {
            const Index y = y0 + r, x = x0 + s;
            d[r][s] = inside || (y >= 0 && y < g.n_H_in && x >= 0 && x < g.n_W_in)
                          ? load<P>(image + (y * g.n_W_in + x) * C + c)
                          : constant<P>(T(0));
            magnitude.see(d[r][s]);
          }
        P v[4][4];
        for (int s = 0; s < 4; ++s)
          winograd_input_1d(d[0][s], d[1][s], d[2][s], d[3][s], v[0][s], v[1][s], v[2][s], v[3][s]);
        for (int r = 0; r < 4; ++r) {
          P e[4];
          winograd_input_1d(v[r][0], v[r][1], v[r][2], v[r][3], e[0], e[1], e[2], e[3]);
          for (int s = 0; s < 4; ++s) store(V + ((r * 4 + s) * count + t) * C + c, e[s]);
        }
      }
    }
    magnitudes[filter_tasks + task] = magnitude.value();
    if (!winograd_suits(magnitudes[filter_tasks + task], filter_magnitude(), C)) return;
    // M[e] = V[e] U[e], register tiles of tiles_per_step tiles x `block` output channels.
    for (Index e = 0; e < 16; ++e)
      for (Index c0 = 0; c0 < K; c0 += block) {
        const Index width = std::min(block, K - c0);
        const T* u = U + e * C * K + c0 * C;
        for (Index t = 0; t < count; t += tiles_per_step)
          with_tile(std::min<Index>(tiles_per_step, count - t), width / n, [&](auto R, auto CB) {
            Tile<T, R, CB, n> acc;
            acc.broadcast_row(nullptr);
            acc.update(V + (e * count + t) * C, C, 1, u, width, C);
            acc.store(M + (e * count + t) * K + c0, K);
          });
      }
    // The 2x2 output pixels of each tile, A^T M A (+ bias), those inside the output.
    for (Index t = 0; t < count; ++t) {
      const Index tile = first + t, i = tile / (t_H * t_W), a = tile / t_W % t_H, b = tile % t_W;
      const Index rows = std::min<Index>(2, g.n_H - 2 * a), columns = std::min<Index>(2, g.n_W - 2 * b);
      T* const z = output + ((i * g.n_H + 2 * a) * g.n_W + 2 * b) * K;
      for (Index k = 0; k < K; k += n) {
        P m[4][4], o[2][4];
        for (int r = 0; r < 4; ++r)
          for (int s = 0; s < 4; ++s) m[r][s] = load<P>(M + ((r * 4 + s) * count + t) * K + k);
        for (int s = 0; s < 4; ++s) winograd_output_1d(m[0][s], m[1][s], m[2][s], m[3][s], o[0][s], o[1][s]);
        const P offset = bias ? load<P>(bias + k) : constant<P>(T(0));
        for (Index r = 0; r < rows; ++r) {
          P y[2];
          winograd_output_1d(o[r][0], o[r][1], o[r][2], o[r][3], y[0], y[1]);
          for (Index q = 0; q < columns; ++q) store(z + (r * g.n_W + q) * K + k, add(y[q], offset));
        }
      }
      for (Index r = 0; r < rows; ++r) activate(activation, z + r * g.n_W * K, columns * K);
    }
  });
  prepare_filter();  // (when no chunk had tiles to take it up)
  const T input_magnitude = *std::max_element(magnitudes + filter_tasks, magnitudes + filter_tasks + chunks);
  return winograd_suits(input_magnitude, filter_magnitude(), C);
}

}  // namespace cnnprim::detail::eigen
