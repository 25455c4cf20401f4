// shape_error and the helpers that word every message the same way.
//
// Messages read `function: argument rule, but actual`, with shapes printed as numpy prints them,
// e.g. `conv_forward: W expects 4 input channels but A_prev (2, 5, 7, 3) has 3`.
// A check costs its comparison: the parts of a message are formatted only when the check fails, so a valid
// call formats nothing and allocates nothing.
#pragma once

#include <array>
#include <cstddef>
#include <ostream>
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

// A shape as a message part: printed numpy-style when, and only when, a message is formatted.
template <class I, std::size_t N>
struct ShapeText {
  const std::array<I, N>& shape;
};

template <class I, std::size_t N>
ShapeText<I, N> shape_text(const std::array<I, N>& shape) {
  return {shape};
}

template <class I, std::size_t N>
std::ostream& operator<<(std::ostream& out, const ShapeText<I, N>& text) {
  return out << format_shape(text.shape);
}

// CNNPRIM_COLD keeps a function out of line and off the hot path; CNNPRIM_ALWAYS_INLINE inlines one whatever its
// size.
#if defined(__GNUC__)
#define CNNPRIM_COLD __attribute__((noinline, cold))
#define CNNPRIM_ALWAYS_INLINE inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define CNNPRIM_COLD __declspec(noinline)
#define CNNPRIM_ALWAYS_INLINE __forceinline
#else
#define CNNPRIM_COLD
#define CNNPRIM_ALWAYS_INLINE inline
#endif
// Joins the pieces of a message with stream formatting, so callers can mix text, numbers and shapes. Out of
// line: inlined, its stream made every check's caller set up a frame of hundreds of bytes, paid on valid calls.
// The pieces come by value (pointers, numbers, ShapeText): taken by reference, they had to be in memory, and
// the callers stored them there before each check, on valid calls too.
template <class... Parts>
[[noreturn]] CNNPRIM_COLD void fail(const char* function, Parts... parts) {
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

// `reason...` says what the expected shape comes from; it is formatted only on failure.
template <class I, std::size_t N, class... Reason>
void require_same_shape(const char* function, const char* name, const std::array<I, N>& actual,
                        const std::array<I, N>& expected, const Reason&... reason) {
  if (actual != expected)
    fail(function, name, " must be ", shape_text(expected), " to match ", reason..., ", but ", name, " is ",
         shape_text(actual));
}

}  // namespace detail
}  // namespace cnnprim
