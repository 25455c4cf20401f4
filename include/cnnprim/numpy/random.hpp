// numpy::RandomState: NumPy's legacy np.random.seed / np.random.randn, bit for bit.
//
// MT19937 seeded from a 32-bit integer exactly as NumPy seeds it (init_genrand), 53-bit doubles from two
// draws, and the polar Box-Muller `gauss` whose second value is cached and carried across calls.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

#include "../tensor.hpp"

namespace cnnprim::numpy {

class RandomState {
 public:
  /// np.random.seed(seed).
  explicit RandomState(std::uint32_t seed_value = 0) { seed(seed_value); }

  /// np.random.seed(seed): restarts the stream and drops any cached gauss value.
  void seed(std::uint32_t seed) {
    engine_.seed(seed);
    has_gauss_ = false;
    gauss_ = 0.0;
  }

  /// np.random.random_sample(): a double in [0, 1) with 53 random bits.
  double random_sample() {
    const auto a = static_cast<std::uint32_t>(engine_()) >> 5;
    const auto b = static_cast<std::uint32_t>(engine_()) >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }

  /// One draw of np.random.standard_normal().
  double standard_normal() {
    if (has_gauss_) {
      has_gauss_ = false;
      return gauss_;
    }
    double x1, x2, r2;
    do {
      x1 = 2.0 * random_sample() - 1.0;
      x2 = 2.0 * random_sample() - 1.0;
      // The squares are rounded on their own, as NumPy's C code does: a fused multiply-add
      // (which -march=native invites) would change the last bit of r2 and of every value after it.
      volatile double x1_squared = x1 * x1;
      volatile double x2_squared = x2 * x2;
      r2 = x1_squared + x2_squared;
    } while (r2 >= 1.0 || r2 == 0.0);
    const double f = std::sqrt(-2.0 * std::log(r2) / r2);
    gauss_ = f * x1;
    has_gauss_ = true;
    return f * x2;
  }

  /// np.random.randn(d0, d1, ...): a Tensor whose rank is the number of extents, filled in row-major order.
  /// For float, each double is rounded to float, as `randn(...).astype(np.float32)` does.
  template <class T, class... Extents>
  Tensor<T, static_cast<int>(sizeof...(Extents))> randn(Extents... extents) {
    static_assert(sizeof...(Extents) >= 1, "give at least one extent");
    static_assert((std::is_integral_v<Extents> && ...), "extents are integers");
    static_assert(std::is_floating_point_v<T>, "randn fills float or double tensors");
    Tensor<T, static_cast<int>(sizeof...(Extents))> x({static_cast<Index>(extents)...});
    T* values = x.data();
    for (Index k = 0; k < x.size(); ++k) values[k] = static_cast<T>(standard_normal());
    return x;
  }

 private:
  std::mt19937 engine_;  // init_genrand(seed) is std::mt19937's seeding too
  bool has_gauss_ = false;
  double gauss_ = 0.0;
};

}  // namespace cnnprim::numpy
