// The sizes of one convolution or pooling, resolved from the shapes and hyperparameters and validated once,
// above both backends: per-axis strides, padding per side, dilation, groups and windows, as the kernels use
// them. Every message names the function the user called and the field at fault.
#pragma once

#include <algorithm>
#include <array>
#include <limits>

#include "errors.hpp"
#include "params.hpp"

namespace cnnprim::detail {

inline constexpr Index max_index = std::numeric_limits<Index>::max();

// One spatial axis of a window: f taps `dilation` apart, moved by `stride`, over an input of n_prev with
// pad_begin and pad_end zeros; n is the number of window positions.
struct Axis {
  Index f, stride, dilation, pad_begin, pad_end, n;

  Index extent() const { return (f - 1) * dilation + 1; }
};

// Resolves one axis: TensorFlow's 'same' padding when `same` (n = ceil(n_prev / stride), the odd row or column
// at the end), otherwise n = floor((n_prev + pads - extent) / stride) + 1, or with `ceil_mode` PyTorch's
// ceiling (a window that would start in the end padding is dropped). f, stride, dilation and the pads are
// already checked to be positive (pads: non-negative). `names` are {axis, f, pad}; `input...` says where n_prev
// came from (e.g. "A_prev ", shape_text(a), " has "), formatted only when a check fails.
// (Inlined: as a call with a dozen arguments it cost more than its checks; conv_geometry took 16 ns, now 8.)
template <class... Input>
CNNPRIM_ALWAYS_INLINE Axis resolve_axis(const char* function, const std::array<const char*, 3>& names, Index n_prev,
                                        Index f, Index stride, Index dilation, Index pad_begin, Index pad_end,
                                        bool same, bool ceil_mode, const Input&... input) {
  const auto& [axis, f_name, pad_name] = names;  // read only to word a failure
  if (n_prev < 0) fail(function, axis, " must be non-negative, but got ", axis, " = ", n_prev);
  if (dilation != 1 && f - 1 > (max_index - 1) / dilation)
    fail(function, f_name, " = ", f, " with dilation ", dilation, " spans more than ", max_index, " elements");
  Axis a{f, stride, dilation, pad_begin, pad_end, 0};
  const Index extent = a.extent();
  if (same) {
    a.n = n_prev / stride + (n_prev % stride != 0);
    // The last window starts at (n - 1) * stride - pad_begin and must end at n_prev + pad_end.
    // It ends at (n - 1) * stride + extent - 1 in the padded input, which must be an Index.
    if (a.n > 0 && extent > max_index - (a.n - 1) * stride)
      fail(function, f_name, " = ", f, " with dilation ", dilation, " and 'same' padding reaches past ", max_index,
           " in the padded input");
    const Index total = std::max<Index>(0, extent - (n_prev - (a.n - 1) * stride));
    a.pad_begin = total / 2;
    a.pad_end = total - total / 2;
    return a;
  }
  if (pad_begin > max_index - n_prev || pad_end > max_index - n_prev - pad_begin)
    fail(function, pad_name, " = ", pad_begin == pad_end ? pad_begin : std::max(pad_begin, pad_end),
         " is too large: ", axis, " plus its padding must not exceed ", max_index);
  const Index padded = n_prev + pad_begin + pad_end;
  if (extent > padded) {
    if (dilation == 1 && pad_begin == pad_end) {
      if (pad_begin == 0)
        fail(function, f_name, " = ", f, " must not exceed ", axis, ", but ", input..., axis, " = ", n_prev);
      fail(function, f_name, " = ", f, " must not exceed ", axis, " + 2 * ", pad_name, ", but ", input..., axis,
           " = ", n_prev, " and ", pad_name, " = ", pad_begin);
    }
    fail(function, "the window's extent ", extent, " (", f_name, " = ", f, ", dilation ", dilation,
         ") must not exceed ", axis, " plus its padding, but ", input..., axis, " = ", n_prev, " and padding ",
         pad_begin, " + ", pad_end);
  }
  const Index room = padded - extent;
  a.n = (stride == 1 ? room : room / stride) + 1;
  // The extra window starts at a.n * stride in the padded input, which must lie before the end padding.
  if (ceil_mode && room % stride != 0 && stride < n_prev + pad_begin - (a.n - 1) * stride) ++a.n;
  return a;
}

// ceil(a / b) for a >= 0, b > 0. (b is most often 1, a dilation or stride: no division then, which would cost
// more than the copy of a short window row it sizes.)
inline Index ceil_div(Index a, Index b) { return b == 1 ? a : a / b + (a % b != 0); }

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

// The sizes of one convolution: A_prev (m, n_H_prev, n_W_prev, n_C_prev), W (f_H, f_W, n_C_prev / groups, n_C),
// Z (m, n_H, n_W, n_C).
struct ConvGeometry {
  Index m, n_H_prev, n_W_prev, n_C_prev;
  Index f_H, f_W, n_C;
  Index stride_H, stride_W, pad_top, pad_bottom, pad_left, pad_right, dilation_H, dilation_W, groups;
  Index n_H, n_W;
  Activation activation;

  // Input and output channels of one group.
  Index group_channels() const { return n_C_prev / groups; }
  Index group_filters() const { return n_C / groups; }
  // Rows and columns a window spans in the padded input.
  Index extent_H() const { return (f_H - 1) * dilation_H + 1; }
  Index extent_W() const { return (f_W - 1) * dilation_W + 1; }
  // Elements of one window of one group: a row of the patch matrix. Channels first: without them the
  // filter's extents may be huge (W is then empty), and the size is still 0.
  Index patch_size() const { return group_channels() * f_H * f_W; }
  Index pixels() const { return m * n_H * n_W; }
  // Multiply-adds of one pass.
  double work() const { return double(pixels()) * double(patch_size()) * double(n_C); }
  // Some input pixel lies under more than one window.
  bool windows_overlap() const { return stride_H < extent_H() || stride_W < extent_W(); }
  // Padding below the window's extent, and an extent at most a few pixels past the image's, keep a padded copy
  // of one image (what the direct kernels read) within (3 n_H_prev + 16) x (3 n_W_prev + 16) pixels, whatever
  // the pad or the dilation.
  bool pads_within_filter() const {
    return std::max(pad_top, pad_bottom) < extent_H() && std::max(pad_left, pad_right) < extent_W() &&
           extent_H() - 8 <= n_H_prev && extent_W() - 8 <= n_W_prev;  // no sum that could overflow
  }
  bool has_padding() const { return pad_top != 0 || pad_bottom != 0 || pad_left != 0 || pad_right != 0; }
  // A_prev is already the patch matrix.
  bool is_pointwise() const {
    return f_H == 1 && f_W == 1 && stride_H == 1 && stride_W == 1 && !has_padding() && groups == 1;
  }
  // One filter per input channel.
  bool is_depthwise() const { return groups > 1 && groups == n_C_prev && groups == n_C; }
};

// Validates a convolution's input `a` (A_prev, or dA_prev) against its filter `w` (W, or dW), named as the
// user named them, and resolves hp. (Inlined: out of line, the (1, 6, 6, 3) -> 10 backward's two second-form
// calls took 50 ns beyond their kernels, 31 ns inlined; the forward's, 29 ns and 14 ns on (2, 5, 7, 4) -> 8.)
CNNPRIM_ALWAYS_INLINE ConvGeometry conv_geometry(const char* function, const char* a_name,
                                                 const std::array<Index, 4>& a, const char* w_name,
                                                 const std::array<Index, 4>& w, const ConvParams& hp) {
  const Axes strides = hp.strides.value_or(Axes{hp.stride, hp.stride});
  const Padding padding = hp.padding.value_or(Padding{hp.pad, hp.pad, hp.pad, hp.pad});
  const bool per_axis = hp.strides.has_value(), per_side = hp.padding.has_value();
  require_at_least_one(function, per_axis ? "strides.H" : "stride", strides.H);
  require_at_least_one(function, per_axis ? "strides.W" : "stride", strides.W);
  if (!hp.same) {
    require_non_negative(function, per_side ? "padding.top" : "pad", padding.top);
    require_non_negative(function, per_side ? "padding.bottom" : "pad", padding.bottom);
    require_non_negative(function, per_side ? "padding.left" : "pad", padding.left);
    require_non_negative(function, per_side ? "padding.right" : "pad", padding.right);
  }
  require_at_least_one(function, "dilation.H", hp.dilation.H);
  require_at_least_one(function, "dilation.W", hp.dilation.W);
  require_at_least_one(function, "groups", hp.groups);
  if (w[0] < 1 || w[1] < 1)
    fail(function, w_name, " must be (f_H, f_W, n_C_prev / groups, n_C) with f_H, f_W >= 1, but ", w_name, " is ",
         shape_text(w));
  if (hp.groups == 1) {
    if (w[2] != a[3])
      fail(function, w_name, " expects ", w[2], " input channels but ", a_name, " ", shape_text(a), " has ", a[3]);
  } else {
    if (a[3] % hp.groups != 0 || w[3] % hp.groups != 0)
      fail(function, "groups = ", hp.groups, " must divide the input channels of ", a_name, " ", shape_text(a),
           " and the output channels of ", w_name, " ", shape_text(w));
    if (w[2] != a[3] / hp.groups)
      fail(function, w_name, " expects ", w[2], " input channels per group but ", a_name, " ", shape_text(a),
           " has ", a[3], " in ", hp.groups, " groups");
  }
  const Activation& act = hp.activation;
  if (act.kind == Activation::Kind::Clamp && !(act.lo <= act.hi))
    fail(function, "activation: clamp needs lo <= hi, but got lo = ", act.lo, " and hi = ", act.hi);
  const bool square = w[0] == w[1];
  const Axis H = resolve_axis(function, {"n_H_prev", square ? "f" : "f_H", per_side ? "padding" : "pad"}, a[1], w[0],
                              strides.H, hp.dilation.H, padding.top, padding.bottom, hp.same, false, a_name, " ",
                              shape_text(a), " has ");
  const Axis W = resolve_axis(function, {"n_W_prev", square ? "f" : "f_W", per_side ? "padding" : "pad"}, a[2], w[1],
                              strides.W, hp.dilation.W, padding.left, padding.right, hp.same, false, a_name, " ",
                              shape_text(a), " has ");
  return {a[0],        a[1],       a[2],       a[3],       w[0],       w[1],       w[3],
          H.stride,    W.stride,   H.pad_begin, H.pad_end, W.pad_begin, W.pad_end, H.dilation,
          W.dilation,  hp.groups,  H.n,        W.n,        act};
}

inline std::array<Index, 4> output_shape(const ConvGeometry& g) { return {g.m, g.n_H, g.n_W, g.n_C}; }

// The sizes of one pooling: A_prev (m, n_H_prev, n_W_prev, n_C) -> A (m, n_H, n_W, n_C). Window (h, w) covers
// rows [h * stride_H - pad_top, + f_H) and columns likewise, clipped to the image; padding never wins a max,
// and an average divides by the clipped window, or with count_include_pad by the window clipped to the padded
// image (PyTorch's rule, which drops the part of a ceil-mode window beyond the end padding).
struct PoolGeometry {
  Index m, n_H_prev, n_W_prev, n_C;
  Index f_H, f_W, stride_H, stride_W, pad_top, pad_bottom, pad_left, pad_right;
  Index n_H, n_W;
  bool count_include_pad;

  bool has_padding() const { return pad_top != 0 || pad_bottom != 0 || pad_left != 0 || pad_right != 0; }
  // The most elements of the image one window holds; the largest Index when that many would not fit in one
  // (only an empty A_prev, whose extents may be near the integer limit, has such windows).
  Index max_taps() const {
    const Index rows = std::min(f_H, n_H_prev), columns = std::min(f_W, n_W_prev);
    if (rows != 0 && columns > std::numeric_limits<Index>::max() / rows) return std::numeric_limits<Index>::max();
    return rows * columns;
  }
  // The window's first row and one past its last, in A_prev, clipped to the image.
  Index row_begin(Index h) const { return std::max<Index>(0, h * stride_H - pad_top); }
  Index row_end(Index h) const { return std::min(h * stride_H - pad_top + f_H, n_H_prev); }
  Index column_begin(Index w) const { return std::max<Index>(0, w * stride_W - pad_left); }
  Index column_end(Index w) const { return std::min(w * stride_W - pad_left + f_W, n_W_prev); }
  // What an average over window (h, w) divides by; a double, as with the pad cells counted a window's area may
  // exceed the largest Index.
  double divisor(Index h, Index w) const {
    if (!count_include_pad) return double(row_end(h) - row_begin(h)) * double(column_end(w) - column_begin(w));
    const Index top = h * stride_H - pad_top, left = w * stride_W - pad_left;
    return double(std::min(top + f_H, n_H_prev + pad_bottom) - top) *
           double(std::min(left + f_W, n_W_prev + pad_right) - left);
  }
};

// Validates a pooling's input shape and hyperparameters and resolves them.
inline PoolGeometry pool_geometry(const char* function, const char* a_name, const std::array<Index, 4>& a,
                                  const PoolParams& hp) {
  if (hp.global) {
    if (a[1] < 1 || a[2] < 1)
      fail(function, "global pooling needs images of at least one pixel, but ", a_name, " is ", shape_text(a));
    return {a[0], a[1], a[2], a[3], a[1], a[2], 1, 1, 0, 0, 0, 0, 1, 1, hp.count_include_pad};
  }
  const Axes window = hp.window.value_or(Axes{hp.f, hp.f});
  const Axes strides = hp.strides.value_or(Axes{hp.stride, hp.stride});
  const Padding padding = hp.padding.value_or(Padding{});
  const bool per_axis = hp.window.has_value();
  require_at_least_one(function, per_axis ? "window.H" : "f", window.H);
  require_at_least_one(function, per_axis ? "window.W" : "f", window.W);
  require_at_least_one(function, hp.strides ? "strides.H" : "stride", strides.H);
  require_at_least_one(function, hp.strides ? "strides.W" : "stride", strides.W);
  const std::array<Index, 4> pads{padding.top, padding.bottom, padding.left, padding.right};
  const char* pad_names[] = {"padding.top", "padding.bottom", "padding.left", "padding.right"};
  for (std::size_t k = 0; k < 4; ++k) {
    require_non_negative(function, pad_names[k], pads[k]);
    const Index f = k < 2 ? window.H : window.W;
    // A window of padding alone would have no maximum and nothing to average.
    if (pads[k] >= f)
      fail(function, pad_names[k], " = ", pads[k], " must be less than the window's ", k < 2 ? "height " : "width ",
           f);
  }
  if ((a[1] == 0 || a[2] == 0) && pads != std::array<Index, 4>{})
    fail(function, "padding needs images of at least one pixel (a window of padding alone has no maximum), but ",
         a_name, " is ", shape_text(a));
  const bool square = window.H == window.W;
  const Axis H = resolve_axis(function, {"n_H_prev", square ? "f" : "window.H", "padding"}, a[1], window.H, strides.H,
                              1, padding.top, padding.bottom, false, hp.ceil_mode, a_name, " ", shape_text(a), " has ");
  const Axis W = resolve_axis(function, {"n_W_prev", square ? "f" : "window.W", "padding"}, a[2], window.W, strides.W,
                              1, padding.left, padding.right, false, hp.ceil_mode, a_name, " ", shape_text(a), " has ");
  return {a[0],      a[1],      a[2],        a[3],      window.H, window.W, strides.H, strides.W,
          H.pad_begin, H.pad_end, W.pad_begin, W.pad_end, H.n,      W.n,      hp.count_include_pad};
}

inline std::array<Index, 4> output_shape(const PoolGeometry& g) { return {g.m, g.n_H, g.n_W, g.n_C}; }

}  // namespace cnnprim::detail

namespace cnnprim {

/// floor((n_prev + 2 pad - f) / stride) + 1, the notebook's n_H and n_W.
/// Throws shape_error when f < 1, stride < 1, pad < 0, n_prev < 0, n_prev + 2 pad exceeds the largest Index,
/// or the window exceeds n_prev + 2 pad.
inline Index output_size(Index n_prev, Index f, Index pad, Index stride) {
  detail::require_at_least_one("output_size", "f", f);
  detail::require_at_least_one("output_size", "stride", stride);
  detail::require_non_negative("output_size", "pad", pad);
  return detail::resolve_axis("output_size", {"n_prev", "f", "pad"}, n_prev, f, stride, 1, pad, pad, false, false).n;
}

/// The positions of a window of f taps `dilation` apart over n_prev elements with pad_begin and pad_end zeros
/// at the two ends, at `stride`: floor((n_prev + pad_begin + pad_end - (f - 1) dilation - 1) / stride) + 1, or
/// with ceil_mode the ceiling, less a last window that would start in the end padding (PyTorch's rule).
/// Throws shape_error as the form above does, and when dilation < 1.
inline Index output_size(Index n_prev, Index f, Index pad_begin, Index pad_end, Index stride, Index dilation = 1,
                         bool ceil_mode = false) {
  detail::require_at_least_one("output_size", "f", f);
  detail::require_at_least_one("output_size", "stride", stride);
  detail::require_at_least_one("output_size", "dilation", dilation);
  detail::require_non_negative("output_size", "pad_begin", pad_begin);
  detail::require_non_negative("output_size", "pad_end", pad_end);
  return detail::resolve_axis("output_size", {"n_prev", "f", "pad"}, n_prev, f, stride, dilation, pad_begin, pad_end,
                              false, ceil_mode)
      .n;
}

}  // namespace cnnprim
