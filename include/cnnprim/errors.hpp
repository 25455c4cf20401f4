// shape_error and the helpers that word every message the same way.
//
// Messages read `function: argument rule, but actual`, with shapes printed as numpy prints them,
// e.g. `conv_forward: W expects 4 input channels but A_prev (2, 5, 7, 3) has 3`.
#pragma once

#include <array>
#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>

namespace cnnprim {

/// Thrown on every invalid input: wrong shapes, bad hyperparameters, gradients that do not match a cache.
class shape_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Formats a shape the way numpy prints it: `(2, 5, 7, 3)`, and `(4,)` for a single extent.
template <class I, std::size_t N>
std::string format_shape(const std::array<I, N>& shape) {
  std::ostringstream out;
  out << '(';
  for (std::size_t k = 0; k < N; ++k) out << (k ? ", " : "") << shape[k];
  out << (N == 1 ? ",)" : ")");
  return out.str();
}

namespace detail {

// Joins the pieces of a message with stream formatting, so callers can mix text, numbers and shapes.
template <class... Parts>
[[noreturn]] void fail(const char* function, const Parts&... parts) {
  std::ostringstream out;
  out << function << ": ";
  (out << ... << parts);
  throw shape_error(out.str());
}

template <class I>
void require_at_least_one(const char* function, const char* name, I value) {
  if (value < 1) fail(function, name, " must be at least 1, but got ", name, " = ", value);
}

template <class I>
void require_non_negative(const char* function, const char* name, I value) {
  if (value < 0) fail(function, name, " must be non-negative, but got ", name, " = ", value);
}

template <class I, std::size_t N>
void require_same_shape(const char* function, const char* name, const std::array<I, N>& actual,
                        const std::array<I, N>& expected, const std::string& reason) {
  if (actual != expected)
    fail(function, name, " must be ", format_shape(expected), " to match ", reason, ", but ", name, " is ",
         format_shape(actual));
}

}  // namespace detail
}  // namespace cnnprim
