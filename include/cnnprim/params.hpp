// Backend, PoolMode, and the hyperparameters: the notebook's, and those of real networks.
#pragma once

#include <cmath>
#include <limits>
#include <optional>
#include <ostream>
#include <type_traits>

#include "errors.hpp"
#include "tensor.hpp"

namespace cnnprim {

/// One API, two paths: Loop reads like the notebook, Eigen is vectorized (and the default).
enum class Backend { Loop, Eigen };

enum class PoolMode { Max, Average };

/// Hyperparameters by name, for code that would rather not rely on the order of a struct's fields:
/// `PoolParams{hparam::f = 3, hparam::stride = 2}` is the notebook's `{"f": 3, "stride": 2}`, and the
/// order from memory, `PoolParams{hparam::stride = 2, hparam::f = 3}`, does not compile instead of
/// computing another pooling. Each field holds its own type, which converts to and from Index, so
/// `PoolParams{3, 2}` and `hp.f * hp.f` work as before.
namespace hparam {

template <class Name>
struct Value {
  Index value;
  constexpr Value(Index v) noexcept : value(v) {}  // NOLINT(google-explicit-constructor)
  constexpr operator Index() const noexcept { return value; }  // NOLINT(google-explicit-constructor)
};

template <class Name>
std::ostream& operator<<(std::ostream& out, Value<Name> v) {
  return out << v.value;
}

// `keyword = value` makes a Value of that name.
template <class Name>
struct Keyword {
  constexpr Value<Name> operator=(Index v) const noexcept { return v; }  // NOLINT(misc-unconventional-assign-operator)
};

struct StrideName;
struct PadName;
struct FName;
using Stride = Value<StrideName>;
using Pad = Value<PadName>;
using F = Value<FName>;

inline constexpr Keyword<StrideName> stride{};
inline constexpr Keyword<PadName> pad{};
inline constexpr Keyword<FName> f{};

}  // namespace hparam

/// Two extents, one per spatial axis.
struct Axes {
  Index H = 1;
  Index W = 1;
};

/// Zeros around each image, per side.
struct Padding {
  Index top = 0;
  Index bottom = 0;
  Index left = 0;
  Index right = 0;
};

/// An element-wise function conv_forward applies to Z as it writes it: none, ReLU (max(z, 0)), or a clamp to
/// [lo, hi] (ReLU6 is clamp(0, 6)). A NaN stays NaN. Its gradient passes where the output lies strictly inside
/// the linear part (output > 0 for ReLU, lo < output < hi for a clamp) or is NaN, and is 0 elsewhere, as in
/// PyTorch's relu and hardtanh; so it is a function of the output alone, which is what the cache keeps.
struct Activation {
  enum class Kind { None, ReLU, Clamp };
  Kind kind = Kind::None;
  double lo = 0;
  double hi = 0;

  static constexpr Activation none() { return {}; }
  static constexpr Activation relu() { return {Kind::ReLU, 0, 0}; }
  static constexpr Activation clamp(double low, double high) { return {Kind::Clamp, low, high}; }
  static constexpr Activation relu6() { return clamp(0, 6); }

  template <class T>
  T operator()(T z) const {
    switch (kind) {
      case Kind::None: return z;
      case Kind::ReLU: return z < T(0) ? T(0) : z;
      case Kind::Clamp: {
        const T low = z < T(lo) ? T(lo) : z;  // two selects in a row, which vectorize; a NaN stays NaN
        return low > T(hi) ? T(hi) : low;
      }
    }
    return z;
  }
  // Whether the gradient passes at an output `a` of this activation.
  template <class T>
  bool passes(T a) const {
    switch (kind) {
      case Kind::None: return true;
      case Kind::ReLU: return !(a <= T(0));
      case Kind::Clamp: return !(a <= T(lo) || a >= T(hi));
    }
    return true;
  }
};

/// The notebook's convolution hparameters {"stride", "pad"}, and what real networks add to them. Every added
/// field's default means the notebook's convolution, so `ConvParams{stride, pad}` computes what it always has.
/// - strides: (H, W) steps, instead of stride on both axes.
/// - padding: zeros per side, instead of pad on every side.
/// - same: TensorFlow's padding='SAME' (n_H = ceil(n_H_prev / stride), the odd row or column of padding at the
///   bottom or right); overrides pad and padding. 'VALID' is the default, pad = 0.
/// - dilation: (H, W) spacing of a filter's taps; 1 is a dense filter.
/// - groups: A_prev's channels and W's filters split into `groups` independent convolutions; W is
///   (f_H, f_W, n_C_prev / groups, n_C). groups = n_C_prev = n_C is a depthwise convolution.
/// - activation: applied to Z as conv_forward writes it; conv_backward applies its gradient from the cache.
struct ConvParams {
  hparam::Stride stride = 1;
  hparam::Pad pad = 0;
  std::optional<Axes> strides = std::nullopt;
  std::optional<Padding> padding = std::nullopt;
  bool same = false;
  Axes dilation{1, 1};
  Index groups = 1;
  Activation activation{};
};

/// The notebook's pooling hparameters {"f", "stride"}, and what real networks add to them; every added field's
/// default means the notebook's pooling, so `PoolParams{f, stride}` computes what it always has.
/// - window, strides: (H, W) extents and steps, instead of f and stride on both axes.
/// - padding: per side, each less than the window along its axis; a pad cell never wins a max.
/// - count_include_pad: whether an average divides by the pad cells of its window too (PyTorch's default) or
///   only by the image's cells (the default here, as in TensorFlow and ONNX: a border average stays an
///   average of values, not one pulled toward zero).
/// - ceil_mode: PyTorch's ceil_mode (a last, partial window, unless it would start in the end padding).
/// - global: one window over each whole image (global average or max pooling); the other fields are ignored.
struct PoolParams {
  hparam::F f = 2;
  hparam::Stride stride = 2;
  std::optional<Axes> window = std::nullopt;
  std::optional<Axes> strides = std::nullopt;
  std::optional<Padding> padding = std::nullopt;
  bool count_include_pad = false;
  bool ceil_mode = false;
  bool global = false;
};

inline const char* to_string(Backend backend) {
  switch (backend) {
    case Backend::Loop: return "Loop";
    case Backend::Eigen: return "Eigen";
  }
  return "unknown";
}

inline const char* to_string(PoolMode mode) {
  switch (mode) {
    case PoolMode::Max: return "max";
    case PoolMode::Average: return "average";
  }
  return "unknown";
}

inline std::ostream& operator<<(std::ostream& out, Backend backend) { return out << to_string(backend); }
inline std::ostream& operator<<(std::ostream& out, PoolMode mode) { return out << to_string(mode); }

namespace detail {

// Calls body(kind) with `kind` as a compile-time constant (a std::integral_constant): each kind gets a loop of
// its own, whose comparisons the compiler turns into vector selects (with the kind read per element, a scalar
// branch each, mispredicted on signed data, took longer than the depthwise convolutions it followed).
template <class Body>
void with_constant_kind(Activation::Kind kind, Body body) {
  using Kind = Activation::Kind;
  switch (kind) {
    case Kind::None: body(std::integral_constant<Kind, Kind::None>()); break;
    case Kind::ReLU: body(std::integral_constant<Kind, Kind::ReLU>()); break;
    case Kind::Clamp: body(std::integral_constant<Kind, Kind::Clamp>()); break;
  }
}

// Applies `activation` to z[0, n).
template <class T>
void activate(const Activation& activation, T* z, Index n) {
  if (activation.kind == Activation::Kind::None) return;
  // Captures by value: a pointer held by reference is loaded again after every store.
  with_constant_kind(activation.kind, [=](auto kind) {
    const Activation rule{kind, activation.lo, activation.hi};
    for (Index j = 0; j < n; ++j) z[j] = rule(z[j]);
  });
}

// The max-pooling rule, written once: scanning a window in row-major order, x replaces the running maximum
// `best` when it is larger, or when it is the first NaN. So ties keep the first maximum, and a NaN is the
// window's maximum (the first NaN when there are several).
template <class T>
bool replaces_max(T x, T best) {
  return x > best || (std::isnan(x) && !std::isnan(best));
}

// Position, in row-major order, of the maximum of an n_rows x n_cols window whose element (r, s) is
// x[r * row_stride + s * col_stride], by replaces_max; -1 for an empty window.
template <class T>
Index first_max_index(const T* x, Index n_rows, Index n_cols, Index row_stride, Index col_stride) {
  Index best = -1;
  T best_value{};
  for (Index r = 0; r < n_rows; ++r)
    for (Index s = 0; s < n_cols; ++s) {
      const T value = x[r * row_stride + s * col_stride];
      if (best < 0 || replaces_max(value, best_value)) {
        best = r * n_cols + s;
        best_value = value;
      }
    }
  return best;
}

}  // namespace detail

}  // namespace cnnprim
