// Eigen-path convolution kernels: zero_pad, conv_forward, conv_backward_data and conv_backward_weights.
//
// Two formulations of one contraction. Each output pixel's window, flattened in (kh, kw, k) order, is a row
// of a patch matrix P (rows = m * n_H * n_W, cols = f * f * n_C_prev), and HWIO filters are already the
// matrix W_mat (f * f * n_C_prev, n_C), so  Z = P W_mat + b,  dW = P^T dZ,  dP = dZ W_mat^T.
// - Direct: when the channel counts fill whole SIMD packets (or, where lanes can be masked, whole packets and
//   a partial last one: takes_partial_packets), P is never formed. A register tile
//   (tile.hpp) multiplies windows of a zero-padded image straight into Z, dW is accumulated from the image
//   and dZ row by row, and at stride 1 dA_prev is the convolution of the padded dZ with the flipped,
//   transposed filter (at stride s, one such convolution per phase of dA_prev's rows and columns, with the
//   phase's taps of the filter: backward_data_by_phases). A 3x3 pass at stride 1 over 32 or more channels
//   takes Winograd's F(2x2, 3x3) instead (winograd.hpp), on the same register tile.
// - Patch matrix: otherwise P is built a chunk of rows at a time (im2col) in a buffer of bounded size and
//   multiplied with Eigen's GEMM (a small layer's, with small_product); dP is scattered back onto dA_prev (col2im).
// - Window rows: with one output channel and no padding, W is a single window, and each pass works on the
//   window rows of A_prev and W directly (one_output_channel).
// Temporaries are one padded image, a packed or flipped filter, one chunk of P and a strided data gradient's phase
// of up to 4 MiB of images: memory does not grow with the batch.
#pragma once

#include <algorithm>
#include <cassert>
#include <initializer_list>

#include <Eigen/Core>

#include "../geometry.hpp"
#include "../params.hpp"
#include "../tensor.hpp"
#include "depthwise.hpp"
#include "parallel.hpp"
#include "scratch.hpp"
#include "tile.hpp"
#include "winograd.hpp"

namespace cnnprim::detail::eigen {

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MatrixMap = Eigen::Map<RowMatrix<T>>;
template <class T>
using ConstMatrixMap = Eigen::Map<const RowMatrix<T>>;

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

// Below this many multiply-adds, the patch-matrix path's fixed costs (im2col, col2im, Eigen's packing of both
// operands) outweigh the arithmetic: a small layer takes kernels that do without some of them (and runs on the
// calling thread: small_work < parallel_work).
constexpr double small_work = 1 << 16;

// Blocks (of chunks of pixels, or of images) whose partial sums of dW are added up in order: enough to share
// among 16 threads, as long as they fit in 16 MiB; one for a small layer. Fixed by the shapes, never by the number
// of threads.
template <class T>
Index partial_sums(const ConvGeometry& g, Index chunks) {
  if (g.work() <= small_work) return 1;
  const Index bytes = g.patch_size() * g.n_C * static_cast<Index>(sizeof(T));
  return std::clamp<Index>(std::min(chunks, (Index{16} << 20) / std::max<Index>(1, bytes)), 1, 16);
}

// dW += partials[0] + ... + partials[blocks - 2] (`size` elements each), added in that order: the same bits for
// any number of threads, each adding the partial sums over one piece of dW.
template <class T>
void add_partial_sums(T* dW, const T* partials, Index blocks, Index size, Threads threads) {
  constexpr Index pieces = 16;
  parallel_for(threads, pieces, double(blocks - 1) * double(size), [&](Index k) {
    const auto [begin, end] = piece(size, pieces, k);
    using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
    Eigen::Map<Vector> dW_piece(dW + begin, end - begin);
    for (Index b = 1; b < blocks; ++b)
      dW_piece += Eigen::Map<const Vector>(partials + (b - 1) * size + begin, end - begin);
  });
}

// Walks output pixels [first, first + count) in row-major (i, h, w) order and calls
// visit(row, kh, a_pixel, kw_begin, kw_end) for every filter row kh whose input row lies inside A_prev:
// a_pixel indexes the input pixel under filter column 0 (outside the row when that column is padding), filter
// column kw reads pixel a_pixel + kw * dilation_W, and kw in [kw_begin, kw_end) are the columns that fall inside
// A_prev. Everything else is padding.
template <class Visit>
void for_each_window_row(const ConvGeometry& g, Index first, Index count, Visit visit) {
  Index w = first % g.n_W, h = (first / g.n_W) % g.n_H, i = first / (g.n_W * g.n_H);
  for (Index row = 0; row < count; ++row) {
    const Index vert_start = h * g.stride_H - g.pad_top, horiz_start = w * g.stride_W - g.pad_left;
    const auto [kw_begin, kw_end] = taps_inside(horiz_start, g.f_W, g.dilation_W, g.n_W_prev);
    for (Index kh = 0; kh < g.f_H; ++kh) {
      const Index a_h = vert_start + kh * g.dilation_H;
      if (a_h < 0 || a_h >= g.n_H_prev || kw_begin >= kw_end) continue;
      visit(row, kh, (i * g.n_H_prev + a_h) * g.n_W_prev + horiz_start, kw_begin, kw_end);
    }
    if (++w == g.n_W) {
      w = 0;
      if (++h == g.n_H) h = 0, ++i;
    }
  }
}

// Whether a window row's taps are one contiguous run of A_prev: dense filter rows over every channel.
inline bool contiguous_taps(const ConvGeometry& g) { return g.dilation_W == 1 && g.groups == 1; }

// im2col: row r of `patches` is the window of output pixel first + r over the channels of `group`, zero where
// it covers padding.
template <class T>
void im2col(const T* A_prev, const ConvGeometry& g, Index group, Index first, Index count, T* patches) {
  const Index C = g.group_channels(), K = g.patch_size(), stride = g.n_C_prev, d = g.dilation_W;
  // Without padding every window lies inside A_prev and covers its whole row of patches.
  if (g.has_padding()) std::fill_n(patches, count * K, T(0));
  // (A_prev may have no pixels at all, and be null, when every window lies in the padding.)
  if (contiguous_taps(g)) {
    for_each_window_row(g, first, count, [&](Index row, Index kh, Index a_pixel, Index kw_begin, Index kw_end) {
      const T* source = A_prev + (a_pixel + kw_begin) * C;
      T* target = patches + row * K + (kh * g.f_W + kw_begin) * C;
      for_each_piece<T>((kw_end - kw_begin) * C, [&](Index j, auto piece) CNNPRIM_INLINE_LAMBDA {
        store_piece(target + j, load_piece(source + j, piece), piece);
      });
    });
    return;
  }
  for_each_window_row(g, first, count, [&](Index row, Index kh, Index a_pixel, Index kw_begin, Index kw_end) {
    for (Index kw = kw_begin; kw < kw_end; ++kw)
      std::copy_n(A_prev + ((a_pixel + kw * d) * stride + group * C), C, patches + row * K + (kh * g.f_W + kw) * C);
  });
}

// col2im: adds row r of `patches` onto the window of output pixel first + r over the channels of `group`;
// the padding part is dropped.
template <class T>
void col2im(const T* patches, const ConvGeometry& g, Index group, Index first, Index count, T* dA_prev) {
  const Index C = g.group_channels(), K = g.patch_size(), stride = g.n_C_prev, d = g.dilation_W;
  const auto add = [](const T* source, T* target, Index n) {
    for_each_part<T>(n, [&](Index j, auto v) {
      using V = decltype(v);
      store(target + j, eigen::add(load<V>(target + j), load<V>(source + j)));
    });
  };
  if (contiguous_taps(g)) {
    for_each_window_row(g, first, count, [&](Index row, Index kh, Index a_pixel, Index kw_begin, Index kw_end) {
      add(patches + row * K + (kh * g.f_W + kw_begin) * C, dA_prev + (a_pixel + kw_begin) * C,
          (kw_end - kw_begin) * C);
    });
    return;
  }
  for_each_window_row(g, first, count, [&](Index row, Index kh, Index a_pixel, Index kw_begin, Index kw_end) {
    for (Index kw = kw_begin; kw < kw_end; ++kw)
      add(patches + row * K + (kh * g.f_W + kw) * C, dA_prev + ((a_pixel + kw * d) * stride + group * C), C);
  });
}

// The most packets of a row of dA_prev that col2im_rows keeps in registers, and the most windows in a row.
constexpr int row_packets = 8;
constexpr Index row_windows = 64;

template <class T>
bool fits_col2im_rows(const ConvGeometry& g) {
  return contiguous_taps(g) && g.n_W <= row_windows &&
         ceil_div(g.n_W_prev * g.n_C_prev, packet_size<T>) <= row_packets;
}

// col2im of every output pixel's window, a row of dA_prev at a time in registers: row kh of the window of output
// pixel p is scale(p) times the f_W * n_C_prev elements at window(p) + kh * f_W * n_C_prev (the patch gradients'
// row p, or a filter times one dZ), and each row of dA_prev is the sum of the window rows that fall on it, each
// read by a masked load into the lanes it covers; a row is stored once, so dA_prev needs no zeros first. (col2im
// updates dA_prev in memory window row by window row; where windows overlap, each update's load waits on the
// store of the one before.) The rows are the tasks. Needs fits_col2im_rows.
template <class T, class Window, class Scale>
void col2im_rows(const ConvGeometry& g, Window window, Scale scale, T* dA_prev, Threads threads) {
  constexpr Index n = packet_size<T>;
  const Index C = g.n_C_prev, length = g.n_W_prev * C, packets = ceil_div(length, n);
  // Window w covers [begin, end) of a row, which starts `start` elements before its window row; a window in the
  // padding covers nothing (and its start, which may be near -2^63 columns, is not scaled by C).
  struct Run {
    Index begin, end, start;
  };
  Run runs[row_windows];
  for (Index w = 0; w < g.n_W; ++w) {
    const Index start = w * g.stride_W - g.pad_left;
    const TapRange taps = taps_inside(start, g.f_W, 1, g.n_W_prev);
    runs[w] = taps.begin < taps.end ? Run{(start + taps.begin) * C, (start + taps.end) * C, start * C} : Run{0, 0, 0};
  }
  // The windows that cover some of packet p of a row: parts[part_begin[p]], ..., parts[part_begin[p + 1] - 1],
  // for windows first[p], first[p] + 1, ... (a range, as runs move right with w), each read into the packet from
  // its window row at `offset` (lane 0's) on `mask`.
  struct Part {
    Index offset;
    LaneMask<T> mask;
  };
  Part parts[row_packets * row_windows];
  Index first[row_packets], part_begin[row_packets + 1] = {0};
  for (Index p = 0, w_first = 0, w_last = 0; p < packets; ++p) {
    const auto empty = [&](Index w) { return runs[w].begin >= runs[w].end; };
    while (w_first < g.n_W && (empty(w_first) || runs[w_first].end <= p * n)) ++w_first;
    w_last = std::max(w_first, w_last);
    while (w_last < g.n_W && !empty(w_last) && runs[w_last].begin < (p + 1) * n) ++w_last;
    first[p] = w_first;
    part_begin[p + 1] = part_begin[p] + (w_last - w_first);
    for (Index w = w_first; w < w_last; ++w) {
      const Index lo = std::max(runs[w].begin, p * n), hi = std::min(runs[w].end, (p + 1) * n);
      parts[part_begin[p] + w - w_first] = {p * n - runs[w].start, lane_mask<T>(lo - p * n, hi - p * n)};
    }
  }
  with_tile<1, row_packets>(1, packets, [&](auto, auto P) {
    constexpr int row_size = decltype(P)::value;
    parallel_for(threads, g.m * g.n_H_prev, g.work(), [&](Index row_index) {
      const Index i = row_index / g.n_H_prev, y = row_index % g.n_H_prev;
      Packet<T> row[std::size_t{row_size}];
      unroll<row_size>([&](int p) { row[p] = constant<Packet<T>>(T(0)); });
      for (Index kh = 0; kh < g.f_H; ++kh) {
        const Index top = y + g.pad_top - kh * g.dilation_H;  // row y is row kh of the windows starting at `top`
        if (top < 0 || top % g.stride_H != 0 || top / g.stride_H >= g.n_H) continue;
        const Index pixels = (i * g.n_H + top / g.stride_H) * g.n_W, row_offset = kh * g.f_W * C;
        unroll<row_size>([&](int p) {
          for (Index k = part_begin[p], pixel = pixels + first[p]; k < part_begin[p + 1]; ++k, ++pixel) {
            const Packet<T> x = load_masked(window(pixel), row_offset + parts[k].offset, parts[k].mask);
            row[p] = multiply_add(constant<Packet<T>>(scale(pixel)), x, row[p]);
          }
        });
      }
      T* const out = dA_prev + row_index * length;
      unroll<row_size - 1>([&](int p) { store(out + p * n, row[p]); });
      store_lanes(out + (row_size - 1) * n, row[row_size - 1], length - (row_size - 1) * n);
    });
  });
}

// Rows [first, first + count) of the patch matrix of `group`: A_prev itself at 1x1, otherwise built by im2col
// in the calling thread's scratch memory (valid until it asks again).
template <class T>
const T* patch_rows(const T* A_prev, const ConvGeometry& g, Index group, Index first, Index count) {
  if (g.is_pointwise()) return A_prev + first * g.patch_size();
  T* const patches = scratch<T, Scratch::Patches>(static_cast<std::size_t>(count * g.patch_size()));
  im2col(A_prev, g, group, first, count, patches);
  return patches;
}

// The chunks of output pixels the patch-matrix path works on: the batch's pixels cut into chunks of
// chunk_pixels (the last fewer). Fixed by the shapes alone, so that every product sums in the same blocks
// whatever the number of threads.
struct Chunks {
  struct Chunk {
    Index first, count;
  };
  Index chunk, pixels;

  template <class T>
  static Chunks of(const ConvGeometry& g) {
    return {chunk_pixels<T>(g), g.pixels()};
  }
  Index size() const { return (pixels + chunk - 1) / chunk; }
  Chunk operator[](Index k) const { return {k * chunk, std::min(chunk, pixels - k * chunk)}; }
};

// The data gradient's blocks: chunks of output pixels whose rows of dZ (count x the group's filters) fit the budget
// and whose patch gradients (count x K) four times it, and rows of W_mat per product (width x the group's
// filters) that fit it. Each product takes all the group's filters as its depth, so each element of dP is
// written once. (Blocks of W_mat's columns as the depth made the products of ResNet-18's (1, 14, 14, 256) -> 512 at
// stride 2 7 x 7 x 2304, added up 74 times over: its data gradient took 6.1 ms this way, 2.1 ms by these blocks.)
template <class T>
Chunks data_gradient_chunks(const ConvGeometry& g) {
  const Index limit = std::max({Index{1}, g.group_filters(), g.patch_size() / 4});
  return {std::max<Index>(1, std::min(g.pixels(), product_budget<T> / limit)), g.pixels()};
}
template <class T>
Index patch_columns(const ConvGeometry& g) {
  return std::max<Index>(1, std::min(g.patch_size(), product_budget<T> / std::max<Index>(1, g.group_filters())));
}

// C (rows x cols) = A (rows x depth) B (depth x cols), all row-major, a packet of U rows of C at a time in
// registers (U independent chains of additions): for products too small for Eigen's GEMM to pay for packing its
// operands. The columns past the last whole packet take one masked packet where masked lanes exist (the
// lecture's 10 filters: one packet, where packets of each size left two single values, each a chain of `depth`
// dependent multiply-adds).
template <class T>
void small_product(const T* A, Index rows, Index depth, const T* B, Index cols, T* C) {
  const auto product_rows = [&](Index r, auto U) CNNPRIM_INLINE_LAMBDA {
    const auto columns = [&](Index j, auto piece) CNNPRIM_INLINE_LAMBDA {
      using V = decltype(load_piece(B, piece));
      V sum[decltype(U)::value];
      unroll<U>([&](int u) { sum[u] = constant<V>(T(0)); });
      for (Index d = 0; d < depth; ++d) {
        const V b = load_piece(B + d * cols + j, piece);
        unroll<U>([&](int u) { sum[u] = multiply_add(constant<V>(A[(r + u) * depth + d]), b, sum[u]); });
      }
      unroll<U>([&](int u) { store_piece(C + (r + u) * cols + j, sum[u], piece); });
    };
    for_each_piece<T>(cols, columns);
  };
  Index r = 0;
  for (; r + 4 <= rows; r += 4) product_rows(r, Int<4>());
  for (; r < rows; ++r) product_rows(r, Int<1>());
}

// A batch of images with zeros around each (pad_top rows above, pad_bottom below, pad_left and pad_right
// columns), handed out a few padded rows at a time: the images' own memory when there is no padding,
// otherwise a copy in the calling thread's scratch memory.
template <class T>
class PaddedImages {
 public:
  PaddedImages(const T* images, Index n_H, Index n_W, Index n_C, Index pad_top, Index pad_bottom, Index pad_left,
               Index pad_right)
      : images_(images), n_H_(n_H), n_W_(n_W), n_C_(n_C), pad_top_(pad_top), pad_left_(pad_left),
        width_(n_W + pad_left + pad_right), height_(n_H + pad_top + pad_bottom),
        padded_(pad_top != 0 || pad_bottom != 0 || pad_left != 0 || pad_right != 0) {}

  Index width() const { return width_; }
  Index height() const { return height_; }

  // Padded rows [first, first + count) of image i, each width() * n_C elements; valid until the calling
  // thread asks again.
  const T* rows(Index i, Index first, Index count) const {
    // Channels first in every product: without channels the extents may be huge, the sizes are still 0.
    const Index interior = n_W_ * n_C_;
    if (!padded_) return images_ + i * (n_H_ * interior) + first * interior;
    T* const buffer = scratch<T, Scratch::PaddedImage>(static_cast<std::size_t>(count * (width_ * n_C_)));
    copy_rows(i, first, count, buffer);
    return buffer;
  }

  // Writes padded rows [first, first + count) of image i to `out`.
  void copy_rows(Index i, Index first, Index count, T* out) const {
    const Index row = width_ * n_C_, interior = n_W_ * n_C_;
    const T* image = images_ + i * (n_H_ * interior);
    for (Index r = 0; r < count; ++r, out += row) {
      const Index h = first + r - pad_top_;
      if (h < 0 || h >= n_H_) {
        std::fill_n(out, row, T(0));
        continue;
      }
      std::fill_n(out, pad_left_ * n_C_, T(0));
      std::copy_n(image + h * interior, interior, out + pad_left_ * n_C_);
      std::fill(out + pad_left_ * n_C_ + interior, out + row, T(0));
    }
  }

 private:
  const T* images_;
  Index n_H_, n_W_, n_C_, pad_top_, pad_left_, width_, height_;
  bool padded_;
};

/// X (m, n_H, n_W, n_C) -> X_pad (m, n_H + 2 pad, n_W + 2 pad, n_C), zeros around each image, a row at a time.
template <class T>
void zero_pad(TensorView<const T> X, Index pad, TensorView<T> X_pad) {
  if (X_pad.empty()) return;
  const PaddedImages<T> images(X.data(), X.dim(1), X.dim(2), X.dim(3), pad, pad, pad, pad);
  const Index image_size = X_pad.dim(1) * X_pad.dim(2) * X_pad.dim(3);
  for (Index i = 0; i < X.dim(0); ++i) images.copy_rows(i, 0, images.height(), X_pad.data() + i * image_size);
}

// Bytes of packed filter rows one pass of a small output's task reads, kept in L2 cache (256 KiB or more on
// the processors whose SIMD packets the direct kernels use) while every tile of the output uses them.
constexpr Index filter_pass_bytes = Index{192} << 10;

// output = activation(conv(input, filter) (+ bias)), the filter in HWIO layout, one register tile of output pixels x
// channels (in packets of n; a last packet may be partial, see Tile::masks) at a time. The tasks are pieces of the
// images' output rows, sharing a copy of the filter packed by blocks of output channels; or, for small outputs of a
// few images (ResNet-18's 7x7 layers at batch 1 or 8), blocks of output channels over every image, each task packing
// its own block, so that no thread waits for one to pack a large filter (9.4 MB in ResNet-18's last layers), and
// taking the input channels in passes whose filter rows stay in L2 cache.
template <class T, Index n>
void direct_conv(const T* input, const DirectGeometry& g, DirectFilter<T> filter, const T* bias, Activation activation,
                 T* output, Threads threads) {
  const Index block = tile_packets * n, C = g.n_in, taps = g.f_H * g.f_W;
  const PaddedImages<T> images(input, g.n_H_in, g.n_W_in, C, g.pad_top, g.pad_bottom, g.pad_left, g.pad_right);
  const Index row = images.width() * C;
  // Consecutive output columns' windows lie stride_W * C apart; with one output column there is no step,
  // and a stride past the padded row must not be multiplied out.
  const Index column_step = g.n_W > 1 ? g.stride_W * C : 0;
  const Index extent_H = (g.f_H - 1) * g.dilation_H + 1;
  // Small outputs of few images would be cut into pieces of a few rows, each reading all of the filter.
  const Index c_blocks = (g.n_out + block - 1) / block, pieces = row_pieces(g.m, g.n_H);
  const bool by_channels = g.n_H * g.n_W <= 64 && c_blocks > 1 && pieces > 1;
  const Index channel_bytes = taps * std::min(block, g.n_out) * static_cast<Index>(sizeof(T));
  const Index pass_channels = by_channels ? std::max<Index>(1, filter_pass_bytes / channel_bytes) : C;
  const Index passes = std::max<Index>(1, (C + pass_channels - 1) / pass_channels);
  const Index depth = (C + passes - 1) / passes;
  // In one pass a window row's taps, when contiguous (dilation_W == 1), are one run of f_W * C elements, as
  // they are in the filter: one update each instead of f_W.
  const bool one_run = g.dilation_W == 1 && passes == 1;
  const Index runs = one_run ? 1 : g.f_W;
  // An output row in tiles of tile_rows columns, but for a last tile of 1 or 2, whose few accumulators left the
  // multiply-adds waiting on each other: the last two tiles then share their columns (14 = 6 + 4 + 4).
  const Index w_tiles = (g.n_W + tile_rows - 1) / tile_rows;
  const bool share_last = w_tiles > 1 && g.n_W % tile_rows != 0 && g.n_W % tile_rows <= 2;
  const auto tile_begin = [&](Index t) {
    if (t == w_tiles) return g.n_W;
    if (!share_last || t < w_tiles - 1) return t * tile_rows;
    return (t - 1) * tile_rows + (tile_rows + g.n_W % tile_rows) / 2;
  };
  // Packed filter rows hold whole packets: `width` channels and zeros up to the row's end.
  const auto row_length = [](Index width) { return ceil_div(width, n) * n; };
  // Rows [h_begin, h_end) of image i, output channels [c0, c0 + width), from `packed` (rows of row_length(width)).
  const auto compute = [&](Index i, Index h_begin, Index h_end, Index c0, Index width, const T* packed) {
    const Index packed_row = row_length(width);
    const T* a_rows = images.rows(i, h_begin * g.stride_H, (h_end - 1 - h_begin) * g.stride_H + extent_H);
    T* out = output + i * g.n_H * g.n_W * g.n_out;
    for (Index k0 = 0; k0 < C; k0 += depth) {
      const Index length = one_run ? g.f_W * C : std::min(depth, C - k0);
      for (Index h = h_begin; h < h_end; ++h)
        for (Index t = 0; t < w_tiles; ++t) {
          const Index w0 = tile_begin(t), w_end = tile_begin(t + 1);
          const T* a = a_rows + (h - h_begin) * g.stride_H * row + w0 * column_step + k0;
          T* z = out + (h * g.n_W + w0) * g.n_out + c0;
          with_last_lanes<n>(width - (packed_row - n), [&](auto lanes) CNNPRIM_INLINE_LAMBDA {
            with_tile(w_end - w0, packed_row / n, [&](auto R, auto CB) {
              Tile<T, R, CB, n> tile;
              if (k0 == 0) tile.broadcast_row(bias ? bias + c0 : nullptr, lanes);
              else tile.load(z, g.n_out, lanes);
              // Loops that always run (f_H, runs >= 1), for the accumulators' sake (see Tile::update).
              Index kh = 0;
              do {
                Index q = 0;
                do {
                  tile.update(a + kh * g.dilation_H * row + q * g.dilation_W * C, column_step, 1,
                              packed + ((kh * g.f_W + q) * C + k0) * packed_row, packed_row, length);
                } while (++q < runs);
              } while (++kh < g.f_H);
              tile.store(z, g.n_out, lanes);
            });
          });
        }
    }
  };
  const double work = double(g.m) * double(g.n_H * g.n_W) * double(taps) * double(C) * double(g.n_out);
  if (by_channels) {
    parallel_for(threads, c_blocks, work, [&](Index c_block) {
      const Index c0 = c_block * block, width = std::min(block, g.n_out - c0);
      T* const packed = scratch<T, Scratch::PackedFilter>(static_cast<std::size_t>(taps * C * row_length(width)));
      filter.pack(g, c0, width, row_length(width), packed);
      for (Index i = 0; i < g.m; ++i) {
        compute(i, 0, g.n_H, c0, width, packed);
        for (Index pixel = 0; pixel < g.n_H * g.n_W; ++pixel)
          activate(activation, output + (i * g.n_H * g.n_W + pixel) * g.n_out + c0, width);
      }
    });
    return;
  }
  // (Past the caches when several threads read it, as winograd_conv stores its filter.)
  T* const packed = scratch<T, Scratch::PackedFilter>(static_cast<std::size_t>(taps * C * row_length(g.n_out)));
  const bool shared = runs_parallel(threads, g.m * pieces, work);
  parallel_for(threads, c_blocks, double(taps * C * g.n_out), [&](Index c_block) {
    const Index c0 = c_block * block, width = std::min(block, g.n_out - c0);
    if (shared) filter.template pack<true>(g, c0, width, row_length(width), packed + taps * C * c0);
    else filter.pack(g, c0, width, row_length(width), packed + taps * C * c0);
  });
  parallel_for(threads, g.m * pieces, work, [&](Index task) {
    const Index i = task / pieces;
    const auto [h_begin, h_end] = piece(g.n_H, pieces, task % pieces);
    if (h_begin == h_end) return;
    for (Index c0 = 0; c0 < g.n_out; c0 += block)
      compute(i, h_begin, h_end, c0, std::min(block, g.n_out - c0), packed + taps * C * c0);
    activate(activation, output + (i * g.n_H + h_begin) * g.n_W * g.n_out, (h_end - h_begin) * g.n_W * g.n_out);
  });
}

// Bytes of dZ and input rows one pass of the filter gradient reads again for every tile of dW, meant to stay
// in L2 cache (1 MiB or more on AVX-512 processors; 384 to 768 KiB timed alike on one).
constexpr Index gradient_pass_bytes = Index{512} << 10;

// Channels rounded up to a quarter, a half or whole packets: a small layer (small_work) whose n_C fills no packet
// (the lecture's 10 filters) takes the direct filter gradient on a copy of dZ whose channels are padded with zeros.
template <class T>
Index padded_channels(Index count) {
  using H = decltype(half_packet(Packet<T>()));
  constexpr Index h = lanes(H()), q = lanes(decltype(half_packet(H()))());
  return count <= q ? q : count <= h ? h : ceil_div(count, packet_size<T>) * packet_size<T>;
}

template <class T>
bool pads_channels(const ConvGeometry& g, Index count) {
  return packet_size<T> > 1 && count > 0 &&
         g.work() / double(count) * double(padded_channels<T>(count)) <= small_work;
}

// Copies `rows` rows of `from` channels into rows of `to` channels: the first min(from, to) of each, zeros after.
template <class T>
void copy_channels(const T* source, Index rows, Index from, Index to, T* target) {
  const Index kept = std::min(from, to);
  for (Index r = 0; r < rows; ++r) {
    std::copy_n(source + r * from, kept, target + r * to);
    std::fill(target + r * to + kept, target + (r + 1) * to, T(0));
  }
}

// Output pixels a block of the direct filter gradient sums at least: zeroing and adding its partial dW then costs
// a few percent of its products.
constexpr Index block_pixels = 1024;

// Blocks of output rows for the direct filter gradient: as many as partial_sums allows, but each of at least
// block_pixels pixels (and a row), and a power of two, so that 2, 4, 8 or 16 threads share them evenly.
template <class T>
Index filter_gradient_blocks(const ConvGeometry& g) {
  const Index most = partial_sums<T>(g, std::min(g.m * g.n_H, g.pixels() / block_pixels));
  Index blocks = 1;
  while (blocks * 2 <= most) blocks *= 2;
  return blocks;
}

// dW[kh, kw, k, c] = sum over pixels of A_prev_pad[i, h*stride + kh, w*stride + kw, k] * dZ[i, h, w, c], accumulated a
// pass of output rows at a time into register tiles of dW's rows x output channels (packets of n, the last of them
// partial where n_C is not whole packets: see Tile::masks). A tile's rows are consecutive elements of a run: the
// f_W * n_C_prev elements (kw, k) of a filter row when its taps are contiguous in A_prev (dilation_W == 1), so that
// a layer with few input channels still fills a tile, otherwise the n_C_prev channels of one tap.
// The output rows of all images, in order, are cut into blocks, each summing into its own partial dW, added up in
// order at the end (see filter_gradient_blocks); the tasks are blocks or, with fewer blocks than threads, pieces of
// a block's tiles. The blocks are fixed by the shapes and a tile sums its rows in the same order whoever computes
// it, so the number of threads changes no bit.
template <class T, Index n>
void direct_filter_gradient(const T* A_prev, const T* dZ, const ConvGeometry& g, T* dW, Threads threads) {
  const Index block = tile_packets * n, C = g.n_C_prev, n_C = g.n_C;
  const PaddedImages<T> images(A_prev, g.n_H_prev, g.n_W_prev, C, g.pad_top, g.pad_bottom, g.pad_left,
                               g.pad_right);
  const Index row = images.width() * C;
  const Index column_step = g.n_W > 1 ? g.stride_W * C : 0;  // as in direct_conv
  const Index run = g.dilation_W == 1 ? g.f_W * C : C, runs = g.f_W * C / run;
  const Index extent_H = (g.f_H - 1) * g.dilation_H + 1;
  // Tiles in the order (kh, run, block of output channels, block of the run's rows).
  const Index j_blocks = (run + tile_rows - 1) / tile_rows, c_blocks = (n_C + block - 1) / block;
  const Index tiles = g.f_H * runs * c_blocks * j_blocks, size = g.f_H * g.f_W * C * n_C;
  // Output rows per pass: every tile sums over a pass's rows in registers, while their dZ rows and the input
  // rows under them stay in L2 cache. (One row per pass moved each tile between dW and the registers for
  // every n_W pixels: a dW larger than L2, 2.4 MB in a 256-channel 3x3 layer, then streamed from L3.)
  // (A stride past the padded image, possible with one output row, reads no more than the image.)
  const Index row_bytes = (g.n_W * n_C + std::min(g.stride_H, images.height()) * row) * static_cast<Index>(sizeof(T));
  const Index pass_rows = std::clamp<Index>(gradient_pass_bytes / row_bytes, 1, std::max<Index>(1, g.n_H));
  // Sets tiles [first, last) of sum to their sums over output rows [r_begin, r_end) (r = i * n_H + h), a pass at a
  // time, each pass's input rows padded (when they need it) just before the pass reads them.
  const auto accumulate = [&](Index r_begin, Index r_end, Index first, Index last, T* sum) {
    for (Index r = r_begin; r < r_end;) {
      const Index i = r / g.n_H, h_begin = r % g.n_H;
      const Index h_end = std::min({g.n_H, h_begin + pass_rows, h_begin + (r_end - r)});
      const T* pass_input = images.rows(i, h_begin * g.stride_H, (h_end - 1 - h_begin) * g.stride_H + extent_H);
      for (Index t = first; t < last; ++t) {
        const Index j0 = t % j_blocks * tile_rows, c0 = t / j_blocks % c_blocks * block;
        const Index q = t / (j_blocks * c_blocks) % runs, kh = t / (j_blocks * c_blocks * runs);
        const T* a = pass_input + kh * g.dilation_H * row + q * g.dilation_W * C + j0;
        const T* dz = dZ + (i * g.n_H + h_begin) * g.n_W * n_C + c0;
        T* dw = sum + ((kh * runs + q) * run + j0) * n_C + c0;
        const Index width = std::min(block, n_C - c0), packets = ceil_div(width, n);
        with_last_lanes<n>(width - (packets - 1) * n, [&](auto lanes) CNNPRIM_INLINE_LAMBDA {
          with_tile(std::min<Index>(tile_rows, run - j0), packets, [&](auto R, auto CB) {
            Tile<T, R, CB, n> tile;
            if (r == r_begin) tile.broadcast_row(nullptr);
            else tile.load(dw, n_C, lanes);
            for (Index h = 0; h < h_end - h_begin; ++h)
              tile.update(a + h * g.stride_H * row, 1, column_step, dz + h * g.n_W * n_C, n_C, g.n_W, lanes);
            tile.store(dw, n_C, lanes);
          });
        });
      }
      r += h_end - h_begin;
    }
  };
  const double work = double(g.pixels()) * double(g.patch_size()) * double(n_C);
  const Index rows = g.m * g.n_H, blocks = filter_gradient_blocks<T>(g);
  // (One piece on one thread: each piece pads its input rows again.)
  const Index pieces =
      runs_parallel(threads, blocks * tiles, work) ? std::min(tiles, ceil_div(Index{threads.count()}, blocks)) : 1;
  // Block 0 sums into dW itself, the others into scratch memory.
  T* const partials =
      blocks > 1 ? scratch<T, Scratch::PartialSums>(static_cast<std::size_t>((blocks - 1) * size)) : nullptr;
  parallel_for(threads, blocks * pieces, work, [&](Index task) {
    const Index b = task / pieces;
    const auto [r_begin, r_end] = piece(rows, blocks, b);
    const auto [first, last] = piece(tiles, pieces, task % pieces);
    accumulate(r_begin, r_end, first, last, b == 0 ? dW : partials + (b - 1) * size);
  });
  add_partial_sums(dW, partials, blocks, size, threads);
}

// One output channel (a regression or score map) over unpadded images, dense rows of taps: W is one column,
// stored as the K taps of a window in the order a window's rows lie in A_prev, so each of the three passes is
// a short vector operation per window row (f_W * n_C_prev contiguous elements of A_prev and of W). The
// patch-matrix path spent more on copying those rows to and from patches than on its products.
inline bool one_output_channel(const ConvGeometry& g) {
  return g.n_C == 1 && g.groups == 1 && g.dilation_W == 1 && !g.has_padding();
}

// Calls row(a, k, length) for each row of the window of output pixel (i, h, w): its `length` taps start at
// A_prev + a and at W + k (or dW + k).
template <class Row>
EIGEN_ALWAYS_INLINE void for_each_run(const ConvGeometry& g, Index i, Index h, Index w, Row row) {
  const Index length = g.f_W * g.n_C_prev, line = g.n_W_prev * g.n_C_prev;
  const Index origin = ((i * g.n_H_prev + h * g.stride_H) * g.n_W_prev + w * g.stride_W) * g.n_C_prev;
  for (Index kh = 0; kh < g.f_H; ++kh) row(origin + kh * g.dilation_H * line, kh * length, length);
}

// Z[p] = b + the dot products of p's window rows with W's, summed in packets, reduced once. With masked lanes a
// row's tail is one masked packet; otherwise packets of each size, then single values. (The single values of a
// 15-value row, three per row in one chain of dependent multiply-adds, had set the pace of the whole pass.)
template <class T>
void one_channel_forward(const T* A_prev, const T* W, const T* b, const ConvGeometry& g, T* Z, Threads threads) {
  using P = Packet<T>;
  using H = decltype(half_packet(P()));
  using Q = decltype(half_packet(H()));
  parallel_for(threads, g.m * g.n_H, g.work(), [&](Index task) {
    const Index i = task / g.n_H, h = task % g.n_H;
    for (Index w = 0; w < g.n_W; ++w) {
      P whole = constant<P>(T(0));
      H half = constant<H>(T(0));
      Q quarter = constant<Q>(T(0));
      T single = b ? *b : T(0);
      for_each_run(g, i, h, w, [&](Index a, Index k, Index length) {
        if constexpr (has_masked_lanes<T>) {
          for_each_piece<T>(length, [&](Index j, auto piece) CNNPRIM_INLINE_LAMBDA {
            whole = multiply_add(load_piece(A_prev + a + j, piece), load_piece(W + k + j, piece), whole);
          });
        } else {
          for_each_part<T>(length, [&](Index j, auto v) {
            using V = decltype(v);
            const V x = load<V>(A_prev + a + j), y = load<V>(W + k + j);
            if constexpr (is_scalar_v<V>) single = multiply_add(x, y, single);
            else if constexpr (lanes(V()) == lanes(P())) whole = multiply_add(x, y, whole);
            else if constexpr (lanes(V()) == lanes(H())) half = multiply_add(x, y, half);
            else quarter = multiply_add(x, y, quarter);
          });
        }
      });
      Z[(i * g.n_H + h) * g.n_W + w] = single + sum_lanes(whole) + sum_lanes(half) + sum_lanes(quarter);
    }
    activate(g.activation, Z + (i * g.n_H + h) * g.n_W, g.n_W);
  });
}

// dA_prev = the sum over pixels of dZ[p] * W on p's window. Windows of one image may overlap: one task per image.
template <class T>
void one_channel_backward_data(const T* dZ, const T* W, const ConvGeometry& g, T* dA_prev, Threads threads) {
  // (col2im_rows multiplies a whole packet by dZ: an infinite dZ would turn its zero lanes into NaN.)
  if constexpr (has_masked_lanes<T>) {
    if (fits_col2im_rows<T>(g) && Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>(dZ, g.pixels()).allFinite())
      return col2im_rows(g, [&](Index) { return W; }, [&](Index pixel) { return dZ[pixel]; }, dA_prev, threads);
  }
  const Index image = g.n_H_prev * g.n_W_prev * g.n_C_prev;
  parallel_for(threads, g.m, g.work(), [&](Index i) {
    std::fill_n(dA_prev + i * image, image, T(0));
    for (Index h = 0; h < g.n_H; ++h)
      for (Index w = 0; w < g.n_W; ++w) {
        const T dz = dZ[(i * g.n_H + h) * g.n_W + w];
        for_each_run(g, i, h, w, [&](Index a, Index k, Index length) {
          for_each_part<T>(length, [&](Index j, auto v) {
            using V = decltype(v);
            store(dA_prev + a + j, multiply_add(constant<V>(dz), load<V>(W + k + j), load<V>(dA_prev + a + j)));
          });
        });
      }
  });
}

// dW = the sum over pixels of dZ[p] * p's window, in blocks of images added up in order (as partial_sums).
template <class T>
void one_channel_backward_weights(const T* A_prev, const T* dZ, const ConvGeometry& g, T* dW, Threads threads) {
  const Index K = g.patch_size(), blocks = partial_sums<T>(g, g.m);
  // Block 0 sums into dW itself, the others into scratch memory.
  T* const partials =
      blocks > 1 ? scratch<T, Scratch::PartialSums>(static_cast<std::size_t>((blocks - 1) * K)) : nullptr;
  parallel_for(threads, blocks, g.work(), [&](Index block) {
    T* const sum = block == 0 ? dW : partials + (block - 1) * K;
    const Range images = piece(g.m, blocks, block);  // (not a structured binding: the lambda below reads it)
    const Index i_begin = images.begin, i_end = images.end;
    // Each packet of dW's row kh stays in registers while every pixel of the block adds onto it: eight sums, of
    // the pixels w = 0, ..., 7 mod 8 of each row, so that eight chains of additions run side by side.
    // (With one output column there is no step, and a stride past the image must not be multiplied out.)
    const Index length = g.f_W * g.n_C_prev, line = g.n_W_prev * g.n_C_prev;
    const Index step = g.n_W > 1 ? g.stride_W * g.n_C_prev : 0;
    constexpr int chains = 8;
    for (Index kh = 0; kh < g.f_H; ++kh)
      for_each_covering_packet<T>(length, [&](Index j, auto v) {
        using V = decltype(v);
        V part[chains];
        unroll<chains>([&](int u) { part[u] = constant<V>(T(0)); });
        for (Index i = i_begin; i < i_end; ++i)
          for (Index h = 0; h < g.n_H; ++h) {
            const T* a = A_prev + (i * g.n_H_prev + h * g.stride_H) * line + kh * g.dilation_H * line + j;
            const T* dz = dZ + (i * g.n_H + h) * g.n_W;
            for (Index w = 0; w < g.n_W; w += chains)
              unroll<chains>([&](int u) {
                if (w + u < g.n_W) part[u] = multiply_add(constant<V>(dz[w + u]), load<V>(a + (w + u) * step), part[u]);
              });
          }
        unroll<chains / 2>([&](int u) { part[u] = add(part[u], part[u + chains / 2]); });
        store(sum + kh * length + j, add(add(part[0], part[1]), add(part[2], part[3])));
      });
  });
  add_partial_sums(dW, partials, blocks, K, threads);
}

// A 3x3 layer at stride 1 whose channels fill whole packets, 32 or more on each side (fewer are too few
// multiply-adds to pay for the transforms of each tile).
template <class T>
bool winograd_fits(const ConvGeometry& g) {
  return packet_size<T> > 1 && g.groups == 1 && g.f_H == 3 && g.f_W == 3 && g.stride_H == 1 && g.stride_W == 1 &&
         g.dilation_H == 1 && g.dilation_W == 1 && g.pads_within_filter() && g.n_C_prev % packet_size<T> == 0 &&
         g.n_C % packet_size<T> == 0 && std::min(g.n_C_prev, g.n_C) >= 32;
}

// Whether the direct kernel takes n_out output channels of a layer of `work` multiply-adds in whole packets, the
// last one partial. Where lanes can be masked, a layer above small_work does so when n_out is not whole packets,
// but for a half packet (8 floats, 13 % faster in halves): (8, 32, 32, 64) -> 100 ran 3.5x faster forward than
// as 25 packets of 4 (the filter gradient 3.1x), -> 24 1.45x faster than as 3 packets of 8, -> 10 and -> 33 1.7x
// and 2.5x faster than by the patch matrix. (Small layers take small_product, faster than packing a filter.)
template <class T>
bool takes_partial_packets(Index n_out, double work) {
  return has_masked_lanes<T> && n_out % packet_size<T> != 0 && 2 * n_out != packet_size<T> && work > small_work;
}

// Calls visit(std::integral_constant<Index, n>()) with the packets of n channels the direct kernel takes for
// n_out output channels, and returns true: whole packets (the last one partial if takes_partial_packets), or
// the widest packets that divide n_out; false when none does.
template <class T, class Visit>
bool with_direct_packets(Index n_out, double work, Visit visit) {
  if (takes_partial_packets<T>(n_out, work)) return visit(std::integral_constant<Index, packet_size<T>>()), true;
  return with_packets_dividing<T>(n_out, visit);
}

// The direct or the Winograd kernel for a pass of a layer the direct kernel takes (the filter in whole packets of
// n output channels): the Winograd kernel when the layer fits it, the pass pays for it and its inputs suit it.
template <class T, Index n>
void convolve(const ConvGeometry& layer, const T* input, const DirectGeometry& pass, DirectFilter<T> filter,
              const T* bias, Activation activation, T* output, Threads threads) {
  if constexpr (n == packet_size<T>) {
    if (winograd_fits<T>(layer) && winograd_pays(pass) &&
        winograd_conv(input, pass, filter, bias, activation, output, threads))
      return;
  }
  direct_conv<T, n>(input, pass, filter, bias, activation, output, threads);
}

/// Z = activation(P W_mat + b) (b may be null): by the depthwise kernel for depthwise layers, by the window-row
/// kernel for one output channel, by the direct kernel when it takes n_C (with_direct_packets), by one
/// small_product for a small layer, otherwise a chunk of output pixels at a time (each group's product in turn),
/// one chunk per task.
template <class T>
void conv_forward(TensorView<const T> A_prev, TensorView<const T> W, const T* b, const ConvGeometry& g,
                  TensorView<T> Z, Threads threads) {
  const ScratchScope scope;
  if (Z.empty()) return;
  const Index K = g.patch_size(), n_C = g.n_C, filters = g.group_filters();
  MatrixMap<T> Z_mat(Z.data(), g.pixels(), n_C);
  const auto add_bias = [&](auto&& Z_rows) {
    if (b) Z_rows.rowwise() = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(b, n_C);
    else Z_rows.setZero();
  };
  // No input channels, or no input pixels (an empty A_prev under padding): Z is the bias, and A_prev and W,
  // which may be empty with huge extents, are never indexed.
  if (K == 0 || A_prev.empty()) {
    add_bias(Z_mat);
    activate(g.activation, Z.data(), Z.size());
    return;
  }
  if (g.is_depthwise()) return depthwise_forward(A_prev.data(), W.data(), b, g, Z.data(), threads);
  if (one_output_channel(g)) return one_channel_forward(A_prev.data(), W.data(), b, g, Z.data(), threads);
  if (g.groups == 1 && g.pads_within_filter() && with_direct_packets<T>(n_C, g.work(), [&](auto n) {
        convolve<T, decltype(n)::value>(
            g, A_prev.data(),
            {g.m, g.n_H_prev, g.n_W_prev, g.n_C_prev, g.pad_top, g.pad_bottom, g.pad_left, g.pad_right, g.f_H,
             g.f_W, g.stride_H, g.stride_W, g.dilation_H, g.dilation_W, g.n_H, g.n_W, n_C},
            {W.data(), /*flipped=*/false}, b, g.activation, Z.data(), threads);
      }))
    return;
  // A small layer's product (the lecture's 16 x 27 x 10) is too small for Eigen's GEMM to pay for packing its
  // operands.
  if (g.groups == 1 && g.work() <= small_work) {
    small_product(patch_rows(A_prev.data(), g, 0, 0, g.pixels()), g.pixels(), K, W.data(), n_C, Z.data());
    if (b) Z_mat.rowwise() += Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(b, n_C);
    activate(g.activation, Z.data(), Z.size());
    return;
  }
  const ConstMatrixMap<T> W_mat(W.data(), K, n_C);
  const Index columns = std::min(filters, filter_columns<T>(g));
  const Chunks chunks = Chunks::of<T>(g);
  parallel_for(threads, chunks.size(), g.work(), [&](Index k) {
    const auto [first, count] = chunks[k];
    auto Z_chunk = Z_mat.middleRows(first, count);
    add_bias(Z_chunk);
    for (Index group = 0; group < g.groups; ++group) {
      const ConstMatrixMap<T> P(patch_rows(A_prev.data(), g, group, first, count), count, K);
      const Index c_first = group * filters;
      if (columns == n_C) {  // whole rows: Eigen's fastest form of the product
        Z_chunk.noalias() += P * W_mat;
        continue;
      }
      for (Index c0 = c_first; c0 < c_first + filters; c0 += columns) {
        const Index width = std::min(columns, c_first + filters - c0);
        Z_chunk.middleCols(c0, width).noalias() += P * W_mat.middleCols(c0, width);
      }
    }
    activate(g.activation, Z.data() + first * n_C, count * n_C);
  });
}

// One phase of a strided layer's data gradient along one axis: the elements y of dA_prev whose padded index
// y + pad is `phase` modulo the stride, y = first, first + stride, ... (count of them). They take only W's taps
// phase, phase + stride, ... (taps of them), and each is a stride-1 sum over dZ padded by `before` (and
// `after`, enough to cover the last).
struct AxisPhase {
  Index first, count, taps, before, after;

  // (A stride near the integer limits is never added to: first may be near it, and then there is no element.)
  static AxisPhase of(Index phase, Index n_prev, Index n_out, Index f, Index stride, Index pad) {
    AxisPhase p{};
    const Index remainder = (phase - pad) % stride;
    p.first = remainder < 0 ? remainder + stride : remainder;
    p.count = p.first < n_prev ? (n_prev - 1 - p.first) / stride + 1 : 0;
    p.taps = phase < f ? (f - 1 - phase) / stride + 1 : 0;
    if (p.count == 0 || p.taps == 0) return p;
    p.before = p.taps - 1 - (p.first + pad - phase) / stride;
    p.after = std::max<Index>(0, p.count + p.taps - 1 - p.before - n_out);
    return p;
  }
};

// dA_prev at stride > 1 (dilation 1) on the direct kernel, one phase (py, px) of its rows and columns at a time
// (AxisPhase): a stride-1 data gradient of dZ by the phase's taps of W, flipped, into scratch memory, then copied
// to the phase's elements, so that each element of dA_prev is written once. Phases that take no tap (a filter
// smaller than the stride) are zeros. False, with nothing written, when a phase's padding would be negative
// (a pad near the filter's extent), which the direct kernel cannot take.
template <class T>
bool backward_data_by_phases(const T* dZ, const T* W, const ConvGeometry& g, T* dA_prev, Threads threads) {
  const auto row = [&](Index py) { return AxisPhase::of(py, g.n_H_prev, g.n_H, g.f_H, g.stride_H, g.pad_top); };
  const auto column = [&](Index px) { return AxisPhase::of(px, g.n_W_prev, g.n_W, g.f_W, g.stride_W, g.pad_left); };
  const auto takes = [](const AxisPhase& p) { return p.count > 0 && p.taps > 0; };
  // (Phases from the filter's extent on take no tap: a stride near the integer limits is never counted out.)
  const Index phases_H = std::min(g.stride_H, g.f_H), phases_W = std::min(g.stride_W, g.f_W);
  for (Index py = 0; py < phases_H; ++py)
    if (takes(row(py)) && row(py).before < 0) return false;
  for (Index px = 0; px < phases_W; ++px)
    if (takes(column(px)) && column(px).before < 0) return false;
  const Index C = g.n_C_prev;
  if (phases_H < g.stride_H || phases_W < g.stride_W) std::fill_n(dA_prev, g.m * g.n_H_prev * g.n_W_prev * C, T(0));
  // Images a few at a time, so that a phase's scratch memory stays within 4 MiB (or one image's phase).
  const Index image_phase = ceil_div(g.n_H_prev, g.stride_H) * ceil_div(g.n_W_prev, g.stride_W) * C;
  const Index images = std::max<Index>(1, (Index{4} << 20) / static_cast<Index>(sizeof(T)) / image_phase);
  for (Index i0 = 0; i0 < g.m; i0 += images) {
    const Index m = std::min(images, g.m - i0);
    for (Index py = 0; py < phases_H; ++py)
      for (Index px = 0; px < phases_W; ++px) {
        const AxisPhase r = row(py), c = column(px);
        if (!takes(r) || !takes(c)) continue;
        const DirectGeometry pass{m, g.n_H, g.n_W, g.n_C, r.before, r.after, c.before, c.after, r.taps, c.taps, 1, 1,
                                  1, 1, r.count, c.count, C};
        const DirectFilter<T> filter{W, true, py, px, g.stride_H, g.stride_W, g.f_W};
        T* const phase = scratch<T, Scratch::Phase>(static_cast<std::size_t>(m * r.count * c.count * C));
        direct_conv<T, packet_size<T>>(dZ + i0 * g.n_H * g.n_W * g.n_C, pass, filter, nullptr, Activation::none(),
                                       phase, threads);
        parallel_for(threads, m * r.count, double(m * r.count * c.count * C), [&](Index task) {
          const Index i = i0 + task / r.count, y = r.first + task % r.count * g.stride_H;
          T* const to = dA_prev + (i * g.n_H_prev + y) * g.n_W_prev * C;
          const T* const from = phase + task * c.count * C;
          for (Index x = 0; x < c.count; ++x) std::copy_n(from + x * C, C, to + (c.first + x * g.stride_W) * C);
        });
      }
  }
  return true;
}

/// dA_prev = col2im(dZ W_mat^T): by the depthwise kernel for depthwise layers, by the window-row kernel for one
/// output channel, by the direct kernel when n_C_prev fills whole packets (or more than one and a partial last
/// one) and pad < the filter's extent (at stride > 1 undilated, by phases), otherwise a chunk of output pixels at a
/// time. Where windows overlap, each task takes one image (its chunks add onto the same dA_prev rows in order);
/// otherwise each task takes one chunk.
template <class T>
void conv_backward_data(TensorView<const T> dZ, TensorView<const T> W, const ConvGeometry& g, TensorView<T> dA_prev,
                        Threads threads) {
  const ScratchScope scope;
  if (dA_prev.empty()) return;
  if (dZ.empty()) {
    dA_prev.vector().setZero();
    return;
  }
  const Index K = g.patch_size(), n_C = g.n_C, filters = g.group_filters();
  if (g.is_depthwise()) return depthwise_backward_data(dZ.data(), W.data(), g, dA_prev.data(), threads);
  if (one_output_channel(g)) return one_channel_backward_data(dZ.data(), W.data(), g, dA_prev.data(), threads);
  // At stride 1, dA_prev is dZ padded by extent - 1 - pad, convolved with W flipped in space (same dilation),
  // its channel axes swapped; a side padded by p becomes a side padded by extent - 1 - p. That padding must
  // add nothing, as in the notebook's sum over dZ's own elements, so a weight that is infinite or NaN
  // (0 * inf is NaN) takes the patch-matrix path.
  // (Channels that fill only half or quarter packets, as in the forum thread's 4, took twice as long this way as
  // by the patch matrix, and fewer than a packet of them in a partial packet as long or longer: 10 channels
  // 1.27 against 1.11 ms.)
  const bool direct = g.groups == 1 && packet_size<T> > 1 &&
                      (g.n_C_prev % packet_size<T> == 0 ||
                       (g.n_C_prev > packet_size<T> && takes_partial_packets<T>(g.n_C_prev, g.work()))) &&
                      g.pads_within_filter();
  if (direct && g.stride_H == 1 && g.stride_W == 1) {
    const Index e_H = g.extent_H() - 1, e_W = g.extent_W() - 1;
    const DirectGeometry pass{g.m, g.n_H, g.n_W, n_C, e_H - g.pad_top, e_H - g.pad_bottom, e_W - g.pad_left,
                              e_W - g.pad_right, g.f_H, g.f_W, 1, 1, g.dilation_H, g.dilation_W, g.n_H_prev,
                              g.n_W_prev, g.n_C_prev};
    const DirectFilter<T> flipped{W.data(), true};
    if (winograd_fits<T>(g) && winograd_pays(pass) &&
        winograd_conv<T>(dZ.data(), pass, flipped, nullptr, Activation::none(), dA_prev.data(), threads))
      return;
    if (is_finite(largest_magnitude(W.data(), W.size()))) {
      direct_conv<T, packet_size<T>>(dZ.data(), pass, flipped, nullptr, Activation::none(), dA_prev.data(), threads);
      return;
    }
  } else if (direct && g.dilation_H == 1 && g.dilation_W == 1 && g.work() > small_work &&
             is_finite(largest_magnitude(W.data(), W.size())) &&
             backward_data_by_phases(dZ.data(), W.data(), g, dA_prev.data(), threads)) {
    return;
  }
  const ConstMatrixMap<T> W_mat(W.data(), K, n_C);
  const ConstMatrixMap<T> dZ_mat(dZ.data(), g.pixels(), n_C);
  // dP = dZ W_mat^T for chunk k and each group, a block of its columns at a time; at 1x1 it is dA_prev itself.
  const Chunks chunks = data_gradient_chunks<T>(g);
  const Index width = patch_columns<T>(g);
  // A small layer's products (the forum thread's 30 x 8 x 36) are too small for Eigen's GEMM to pay for packing
  // its operands: they take W_mat^T, copied once, and small_product.
  T* const W_t = g.groups == 1 && g.work() <= small_work
                     ? scratch<T, Scratch::PackedFilter>(static_cast<std::size_t>(n_C * K))
                     : nullptr;
  if (W_t) MatrixMap<T>(W_t, n_C, K) = W_mat.transpose();
  if constexpr (has_masked_lanes<T>) {
    if (W_t && !g.is_pointwise() && chunks.size() == 1 && fits_col2im_rows<T>(g)) {
      T* const dP = scratch<T, Scratch::PatchGradients>(static_cast<std::size_t>(g.pixels() * K));
      small_product(dZ.data(), g.pixels(), n_C, W_t, K, dP);
      return col2im_rows(
          g, [&](Index pixel) { return dP + pixel * K; }, [](Index) { return T(1); }, dA_prev.data(), threads);
    }
  }
  const auto chunk_gradient = [&](Chunks::Chunk c) {
    T* const dpatches = g.is_pointwise() ? dA_prev.data() + c.first * K
                                         : scratch<T, Scratch::PatchGradients>(static_cast<std::size_t>(c.count * K));
    MatrixMap<T> dP(dpatches, c.count, K);
    for (Index group = 0; group < g.groups; ++group) {
      const Index c_first = group * filters;
      if (W_t) {
        small_product(dZ.data() + c.first * n_C, c.count, n_C, W_t, K, dpatches);
      } else {
        const auto dZ_chunk = dZ_mat.block(c.first, c_first, c.count, filters);
        for (Index k0 = 0; k0 < K; k0 += width) {
          const Index columns = std::min(width, K - k0);
          dP.middleCols(k0, columns).noalias() = dZ_chunk * W_mat.block(k0, c_first, columns, filters).transpose();
        }
      }
      if (!g.is_pointwise()) col2im(dpatches, g, group, c.first, c.count, dA_prev.data());
    }
  };
  if (g.is_pointwise()) {
    parallel_for(threads, chunks.size(), g.work(), [&](Index k) { chunk_gradient(chunks[k]); });
  } else if (g.windows_overlap()) {
    // Overlapping windows add onto the same elements. Each image's output rows are cut into pieces (so that one
    // image is shared too) of at least `reach` rows, so that a piece's windows meet only its neighbours': the
    // even pieces run side by side, then the odd ones. Even piece k first zeroes the input rows from its own
    // first window's to piece k + 2's, which only it touches.
    const Index extent = g.extent_H(), reach = extent / g.stride_H + (extent % g.stride_H != 0) - 1;
    const Index pieces = std::max<Index>(1, std::min(row_pieces(g.m, g.n_H), reach > 0 ? g.n_H / reach : g.n_H));
    const Index row_size = g.n_W_prev * g.n_C_prev;
    const auto first_row = [&](Index k) {  // the first input row under piece k's windows, 0 to n_H_prev
      if (k >= pieces) return g.n_H_prev;
      return std::clamp<Index>(piece(g.n_H, pieces, k).begin * g.stride_H - g.pad_top, 0, g.n_H_prev);
    };
    for (Index parity = 0; parity < 2; ++parity) {
      const Index per_image = (pieces + 1 - parity) / 2;
      parallel_for(threads, g.m * per_image, g.work() / 2, [&](Index task) {
        const Index i = task / per_image, k = task % per_image * 2 + parity;
        if (parity == 0) {
          T* const image = dA_prev.data() + i * g.n_H_prev * row_size;
          std::fill(image + first_row(k) * row_size, image + first_row(k + 2) * row_size, T(0));
        }
        const auto [h_begin, h_end] = piece(g.n_H, pieces, k);
        const Index last = (i * g.n_H + h_end) * g.n_W;
        for (Index p = (i * g.n_H + h_begin) * g.n_W; p < last; p += chunks.chunk)
          chunk_gradient({p, std::min(chunks.chunk, last - p)});
      });
    }
  } else {
    dA_prev.vector().setZero();
    parallel_for(threads, chunks.size(), g.work(), [&](Index k) { chunk_gradient(chunks[k]); });
  }
}

// db = the column sums of dZ (pixels x n_C), a piece of the channels per task (a serial pass over dZ held back
// the threads of every backward). Each packet of a piece's channels sums its pixels in four chains (one chain
// per column took a latency per pixel). Pieces of at least 16 channels and the chains are fixed by n_C and the
// pixels, so the sums are too.
template <class T>
void bias_gradient(const T* dZ, Index pixels, Index n_C, T* db, Threads threads) {
  constexpr int chains = 4;
  const Index pieces = std::clamp<Index>(n_C / 16, 1, 16);
  parallel_for(threads, pieces, double(pixels) * double(n_C), [&](Index k) {
    const Range channels = piece(n_C, pieces, k);
    for_each_covering_packet<T>(channels.end - channels.begin, [&](Index j, auto v) {
      using V = decltype(v);
      const T* column = dZ + channels.begin + j;
      V sum[chains];
      unroll<chains>([&](int u) { sum[u] = constant<V>(T(0)); });
      Index p = 0;
      for (; p + chains <= pixels; p += chains)
        unroll<chains>([&](int u) { sum[u] = add(sum[u], load<V>(column + (p + u) * n_C)); });
      for (; p < pixels; ++p) sum[0] = add(sum[0], load<V>(column + p * n_C));
      store(db + channels.begin + j, add(add(sum[0], sum[1]), add(sum[2], sum[3])));
    });
  });
}

/// db = column sums of dZ (db may be empty: no bias); dW = P^T dZ: by the depthwise kernel for depthwise
/// layers, by the window-row kernel for one output channel, by the direct kernel when n_C fills whole packets,
/// otherwise a chunk of output pixels at a time.
/// There dW is the sum, in order, of partial sums over a number of blocks of chunks fixed by the shapes; the
/// blocks are the tasks.
template <class T>
void conv_backward_weights(TensorView<const T> dZ, TensorView<const T> A_prev, const ConvGeometry& g,
                           TensorView<T> dW, TensorView<T> db, Threads threads) {
  const ScratchScope scope;
  if (dZ.empty()) {
    dW.vector().setZero();
    db.vector().setZero();
    return;
  }
  const Index K = g.patch_size(), n_C = g.n_C, filters = g.group_filters();
  const ConstMatrixMap<T> dZ_mat(dZ.data(), g.pixels(), n_C);
  if (!db.empty()) bias_gradient(dZ.data(), g.pixels(), n_C, db.data(), threads);
  // No input channels (dW is empty) or no input pixels: A_prev, which may be empty with huge extents, is never
  // indexed.
  if (K == 0 || A_prev.empty()) {
    dW.vector().setZero();
    return;
  }
  if (g.is_depthwise()) return depthwise_backward_weights(A_prev.data(), dZ.data(), g, dW.data(), threads);
  if (one_output_channel(g)) return one_channel_backward_weights(A_prev.data(), dZ.data(), g, dW.data(), threads);
  if (g.groups == 1 && g.pads_within_filter() && with_direct_packets<T>(n_C, g.work(), [&](auto n) {
        direct_filter_gradient<T, decltype(n)::value>(A_prev.data(), dZ.data(), g, dW.data(), threads);
      }))
    return;
  if (g.groups == 1 && g.pads_within_filter() && pads_channels<T>(g, n_C)) {
    // The same from dZ with its channels padded with zeros, into a dW as wide, copied out after.
    const Index wide = padded_channels<T>(n_C);
    T* const dZ_wide = scratch<T, Scratch::WideOperand>(static_cast<std::size_t>(g.pixels() * wide));
    T* const dW_wide = scratch<T, Scratch::WideResult>(static_cast<std::size_t>(K * wide));
    copy_channels(dZ.data(), g.pixels(), n_C, wide, dZ_wide);
    ConvGeometry padded = g;
    padded.n_C = wide;
    with_packets_dividing<T>(wide, [&](auto n) {
      direct_filter_gradient<T, decltype(n)::value>(A_prev.data(), dZ_wide, padded, dW_wide, threads);
    });
    copy_channels(dW_wide, K, wide, n_C, dW.data());
    return;
  }
  const Chunks chunks = Chunks::of<T>(g);
  const Index blocks = partial_sums<T>(g, chunks.size());
  // Block 0 sums into dW itself, the others into scratch memory.
  T* const partials =
      blocks > 1 ? scratch<T, Scratch::PartialSums>(static_cast<std::size_t>((blocks - 1) * K * n_C)) : nullptr;
  parallel_for(threads, blocks, g.work(), [&](Index block) {
    MatrixMap<T> sum(block == 0 ? dW.data() : partials + (block - 1) * K * n_C, K, n_C);
    sum.setZero();
    const auto [first_chunk, last_chunk] = piece(chunks.size(), blocks, block);
    for (Index k = first_chunk; k < last_chunk; ++k) {
      const auto [first, count] = chunks[k];
      for (Index group = 0; group < g.groups; ++group) {
        const ConstMatrixMap<T> P(patch_rows(A_prev.data(), g, group, first, count), count, K);
        sum.middleCols(group * filters, filters).noalias() +=
            P.transpose() * dZ_mat.block(first, group * filters, count, filters);
      }
    }
  });
  add_partial_sums(dW.data(), partials, blocks, K * n_C, threads);
}

}  // namespace cnnprim::detail::eigen
