// zero_pad: the notebook's np.pad of the two spatial axes.
#pragma once

#include <limits>

#include "eigen/conv.hpp"
#include "errors.hpp"
#include "loop/conv.hpp"
#include "params.hpp"
#include "tensor.hpp"

namespace cnnprim {

namespace detail {

// Checks pad and returns the shape of X_pad.
inline std::array<Index, 4> zero_pad_shape(const char* function, const std::array<Index, 4>& x, Index pad) {
  require_non_negative(function, "pad", pad);
  if (pad > (std::numeric_limits<Index>::max() - std::max(x[1], x[2])) / 2)
    fail(function, "pad = ", pad, " is too large for X ", shape_text(x), ": n_H + 2 * pad must not exceed ",
         std::numeric_limits<Index>::max());
  return {x[0], x[1] + 2 * pad, x[2] + 2 * pad, x[3]};
}

template <class T>
void zero_pad(TensorView<const T> X, Index pad, TensorView<T> X_pad, Backend backend) {
  switch (backend) {
    case Backend::Loop: loop::zero_pad(X, pad, X_pad); break;
    case Backend::Eigen: eigen::zero_pad(X, pad, X_pad); break;
  }
}

}  // namespace detail

/// X (m, n_H, n_W, n_C) -> X_pad (m, n_H + 2 pad, n_W + 2 pad, n_C), with zeros around each image; X_pad is
/// the caller's, of exactly that shape. Throws shape_error when pad < 0, or X_pad has another shape or shares
/// memory with X.
template <class In>
void zero_pad(const In& X, Index pad, detail::output_t<In> X_pad, Backend backend = Backend::Eigen) {
  static_assert(detail::is_real_v<detail::tensor_value_t<In>>, "cnnprim computes in float or double");
  const detail::input_t<In> x = X;
  detail::require_same_shape("zero_pad", "X_pad", X_pad.shape(), detail::zero_pad_shape("zero_pad", x.shape(), pad),
                             "X ", detail::shape_text(x.shape()), " padded by ", pad);
  detail::require_apart("zero_pad", "X_pad", X_pad, "X", x);
  detail::zero_pad(x, pad, X_pad, backend);
}

/// X (m, n_H, n_W, n_C) -> X_pad (m, n_H + 2 pad, n_W + 2 pad, n_C), with zeros around each image.
/// Throws shape_error when pad < 0.
template <class In, class T = detail::tensor_value_t<In>>
Tensor<T> zero_pad(const In& X, Index pad, Backend backend = Backend::Eigen) {
  static_assert(detail::is_real_v<T>, "cnnprim computes in float or double");
  const detail::input_t<In> x = X;
  auto X_pad = Tensor<T>::uninitialized(detail::zero_pad_shape("zero_pad", x.shape(), pad), "zero_pad", "X_pad");
  detail::zero_pad(x, pad, X_pad.view(), backend);
  return X_pad;
}

}  // namespace cnnprim
