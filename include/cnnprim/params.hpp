// Backend, PoolMode, the notebook's hyperparameters and output_size.
#pragma once

#include <cmath>
#include <limits>
#include <ostream>

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

/// The notebook's convolution hparameters {"stride", "pad"}.
struct ConvParams {
  hparam::Stride stride = 1;
  hparam::Pad pad = 0;
};

/// The notebook's pooling hparameters {"f", "stride"}; pooling has no padding.
struct PoolParams {
  hparam::F f = 2;
  hparam::Stride stride = 2;
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

// Checks one spatial axis and returns floor((n_prev + 2 pad - f) / stride) + 1. `input...` says where n_prev
// came from (e.g. "A_prev ", shape_text(a)), so that a message names what the user passed to `function`;
// it is formatted only when a check fails.
template <class... Input>
Index output_size(const char* function, const char* axis, Index n_prev, Index f, Index pad, Index stride,
                  const Input&... input) {
  require_at_least_one(function, "f", f);
  require_at_least_one(function, "stride", stride);
  require_non_negative(function, "pad", pad);
  if (n_prev < 0) fail(function, axis, " must be non-negative, but got ", axis, " = ", n_prev);
  if (pad > (std::numeric_limits<Index>::max() - n_prev) / 2)
    fail(function, "pad = ", pad, " is too large: ", axis, " + 2 * pad must not exceed ",
         std::numeric_limits<Index>::max());
  if (f > n_prev + 2 * pad) {
    if (pad == 0) fail(function, "f = ", f, " must not exceed ", axis, ", but ", input..., axis, " = ", n_prev);
    fail(function, "f = ", f, " must not exceed ", axis, " + 2 * pad, but ", input..., axis, " = ", n_prev,
         " and pad = ", pad);
  }
  return (n_prev + 2 * pad - f) / stride + 1;
}

}  // namespace detail

/// floor((n_prev + 2 pad - f) / stride) + 1, the notebook's n_H and n_W.
/// Throws shape_error when f < 1, stride < 1, pad < 0, n_prev < 0, n_prev + 2 pad exceeds the largest Index,
/// or the window exceeds n_prev + 2 pad.
inline Index output_size(Index n_prev, Index f, Index pad, Index stride) {
  return detail::output_size("output_size", "n_prev", n_prev, f, pad, stride);
}

}  // namespace cnnprim
