// Shared by the examples: numpy-style printing, a stopwatch, and a main that turns exceptions into an exit code.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include <cnnprim/cnnprim.hpp>

namespace example {

using cnnprim::Index;

// Prints `count` values starting at `values` as numpy prints a nested array of the given extents,
// e.g. [[ 0.90085595 -0.68372786]\n [-0.12289023 -0.93576943]], with `decimals` digits after the point.
inline std::string format_array(const double* values, const Index* extents, int rank, int decimals,
                                int indent = 0) {
  std::ostringstream out;
  out << '[';
  Index step = 1;
  for (int k = 1; k < rank; ++k) step *= extents[k];
  for (Index j = 0; j < extents[0]; ++j) {
    if (rank == 1) {
      char number[64];
      std::snprintf(number, sizeof number, "% .*f", decimals, values[j]);
      out << (j ? " " : "") << number;
    } else {
      // numpy separates sub-arrays by one newline per remaining axis, then aligns under the bracket.
      if (j)
        out << std::string(static_cast<std::size_t>(rank - 1), '\n')
            << std::string(static_cast<std::size_t>(indent + 1), ' ');
      out << format_array(values + j * step, extents + 1, rank - 1, decimals, indent + 1);
    }
  }
  out << ']';
  return out.str();
}

// The sub-array t[i0, i1, ...] (leading indices fixed), printed like numpy.
template <class T, int Rank, class... Leading>
std::string format(const cnnprim::Tensor<T, Rank>& t, int decimals, Leading... leading) {
  constexpr int fixed = sizeof...(Leading);
  static_assert(fixed < Rank, "leave at least one axis to print");
  const std::array<Index, sizeof...(Leading)> at{static_cast<Index>(leading)...};
  Index offset = 0, count = 1;
  for (int k = 0; k < Rank; ++k) {
    offset = offset * t.dim(k) + (k < fixed ? at[static_cast<std::size_t>(k)] : 0);
    if (k >= fixed) count *= t.dim(k);
  }
  std::vector<double> values(t.data() + offset, t.data() + offset + count);
  return format_array(values.data(), t.shape().data() + fixed, Rank - fixed, decimals);
}

// Median microseconds of `calls` calls of `f`: one call alone would mostly time a cold cache.
template <class F>
double microseconds(F&& f, int calls = 25) {
  std::vector<double> times;
  for (int k = 0; k < calls; ++k) {
    const auto start = std::chrono::steady_clock::now();
    f();
    times.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(times.begin(), times.begin() + calls / 2, times.end());
  return times[static_cast<std::size_t>(calls / 2)];
}

// Microseconds taken by one call of `f`.
template <class F>
double microseconds_once(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
}

// A 0/1 mask printed as numpy prints a boolean array.
template <class T>
std::string format_mask(const cnnprim::Tensor<T, 2>& mask) {
  std::string out = "[";
  for (Index r = 0; r < mask.dim(0); ++r) {
    out += r ? "\n [" : "[";
    for (Index c = 0; c < mask.dim(1); ++c) {
      if (c) out += ' ';
      out += mask(r, c) != 0 ? " True" : "False";
    }
    out += "]";
  }
  return out + "]";
}

// Runs an example's body, reporting any exception on stderr with a non-zero exit code.
template <class Body>
int run(Body body) {
  try {
    body();
    return 0;
  } catch (const cnnprim::shape_error& e) {
    std::fprintf(stderr, "shape error: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  }
  return 1;
}

}  // namespace example
