// Backend, PoolMode, the notebook's hyperparameters and output_size.
#pragma once

#include <limits>
#include <ostream>
#include <string>
#include <type_traits>

#include "errors.hpp"
#include "tensor.hpp"

namespace cnnprim {

/// One API, two paths: Loop reads like the notebook, Eigen is vectorized (and the default).
enum class Backend { Loop, Eigen };

enum class PoolMode { Max, Average };

/// The notebook's convolution hparameters {"stride", "pad"}.
struct ConvParams {
  Index stride = 1;
  Index pad = 0;
};

/// The notebook's pooling hparameters {"f", "stride"}; pooling has no padding.
struct PoolParams {
  Index f = 2;
  Index stride = 2;
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

// The element types the operations compute in.
template <class T>
inline constexpr bool is_real_v = std::is_same_v<T, float> || std::is_same_v<T, double>;

// Checks one spatial axis and returns floor((n_prev + 2 pad - f) / stride) + 1. `input` describes where
// n_prev came from (e.g. "A_prev (2, 4, 4, 3)"), so the message names what the user passed to `function`.
inline Index output_size(const char* function, const std::string& input, const char* axis, Index n_prev, Index f,
                         Index pad, Index stride) {
  require_at_least_one(function, "f", f);
  require_at_least_one(function, "stride", stride);
  require_non_negative(function, "pad", pad);
  if (n_prev < 0) fail(function, axis, " must be non-negative, but got ", axis, " = ", n_prev);
  if (pad > (std::numeric_limits<Index>::max() / 2 - n_prev) / 2)
    fail(function, "pad = ", pad, " is too large: ", axis, " + 2 * pad must be representable");
  if (f > n_prev + 2 * pad) {
    const std::string where = input.empty() ? std::string() : input + " has ";
    if (pad == 0) fail(function, "f = ", f, " must not exceed ", axis, ", but ", where, axis, " = ", n_prev);
    fail(function, "f = ", f, " must not exceed ", axis, " + 2 * pad, but ", where, axis, " = ", n_prev,
         " and pad = ", pad);
  }
  return (n_prev + 2 * pad - f) / stride + 1;
}

}  // namespace detail

/// floor((n_prev + 2 pad - f) / stride) + 1, the notebook's n_H and n_W.
/// Throws shape_error when f < 1, stride < 1, pad < 0, n_prev < 0 or the window exceeds n_prev + 2 pad.
inline Index output_size(Index n_prev, Index f, Index pad, Index stride) {
  return detail::output_size("output_size", "", "n_prev", n_prev, f, pad, stride);
}

}  // namespace cnnprim
