// The notebook's conv_single_step: what every packaged consumer computes (the header-only library's smallest
// use, which compiles in seconds where conv_forward's kernels take a dozen).
#pragma once

#include <cnnprim/cnnprim.hpp>

inline double notebook_conv_single_step() {
  cnnprim::numpy::RandomState rng(1);
  const auto a_slice_prev = rng.randn<double>(4, 4, 3);
  const auto W = rng.randn<double>(4, 4, 3);
  const auto b = rng.randn<double>(1, 1, 1);
  return cnnprim::conv_single_step(a_slice_prev, W, b.vector()(0));
}
