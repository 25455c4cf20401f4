// zero_pad: the notebook's np.pad of the two spatial axes.
#pragma once

#include "eigen/conv.hpp"
#include "errors.hpp"
#include "loop/conv.hpp"
#include "params.hpp"
#include "tensor.hpp"

namespace cnnprim {

/// X (m, n_H, n_W, n_C) -> X_pad (m, n_H + 2 pad, n_W + 2 pad, n_C), with zeros around each image.
/// Throws shape_error when pad < 0.
template <class T>
Tensor<T> zero_pad(const Tensor<T>& X, Index pad, Backend backend = Backend::Eigen) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  detail::require_non_negative("zero_pad", "pad", pad);
  auto X_pad = Tensor<T>::uninitialized({X.dim(0), X.dim(1) + 2 * pad, X.dim(2) + 2 * pad, X.dim(3)});
  switch (backend) {
    case Backend::Loop: loop::zero_pad(X, pad, X_pad); break;
    case Backend::Eigen: eigen::zero_pad(X, pad, X_pad); break;
  }
  return X_pad;
}

}  // namespace cnnprim
