// The Eigen backend's kernels are compiled once for the whole test suite (kernels.cpp, once per scalar type)
// instead of once in every test program: instantiating them for float and double is most of each program's
// build, several minutes under the sanitizers. The library stays header-only; only the tests' build is split.
#pragma once

#include <cnnprim/cnnprim.hpp>

// Names the kernels for scalar type T, as explicit instantiation declarations (`extern`) or definitions.
#define CNNPRIM_TEST_KERNELS(EXTERN, T)                                                                             \
  EXTERN template void cnnprim::detail::eigen::conv_forward<T>(                                                     \
      cnnprim::TensorView<const T>, cnnprim::TensorView<const T>, const T*, const cnnprim::detail::ConvGeometry&,   \
      cnnprim::TensorView<T>, cnnprim::Threads);                                                                    \
  EXTERN template void cnnprim::detail::eigen::conv_backward_data<T>(                                               \
      cnnprim::TensorView<const T>, cnnprim::TensorView<const T>, const cnnprim::detail::ConvGeometry&,             \
      cnnprim::TensorView<T>, cnnprim::Threads);                                                                    \
  EXTERN template void cnnprim::detail::eigen::conv_backward_weights<T>(                                            \
      cnnprim::TensorView<const T>, cnnprim::TensorView<const T>, const cnnprim::detail::ConvGeometry&,             \
      cnnprim::TensorView<T>, cnnprim::TensorView<T>, cnnprim::Threads);                                            \
  EXTERN template void cnnprim::detail::eigen::pool_forward<T>(cnnprim::TensorView<const T>,                        \
                                                               const cnnprim::detail::PoolGeometry&,                \
                                                               cnnprim::PoolMode, cnnprim::TensorView<T>, T*,       \
                                                               cnnprim::Threads);                                   \
  EXTERN template void cnnprim::detail::eigen::max_pool_forward<T>(                                                 \
      cnnprim::TensorView<const T>, const cnnprim::detail::PoolGeometry&, cnnprim::TensorView<T>,                   \
      cnnprim::TensorView<std::uint8_t>, T*, cnnprim::Threads);                                                     \
  EXTERN template void cnnprim::detail::eigen::pool_backward<T>(                                                    \
      cnnprim::TensorView<const T>, cnnprim::TensorView<const T>, const std::uint8_t*,                              \
      const cnnprim::detail::PoolGeometry&, cnnprim::PoolMode, cnnprim::TensorView<T>, cnnprim::Threads);

// Test programs linked with the shared kernels (CMake defines CNNPRIM_TEST_SHARED_KERNELS for them).
#ifdef CNNPRIM_TEST_SHARED_KERNELS
CNNPRIM_TEST_KERNELS(extern, float)
CNNPRIM_TEST_KERNELS(extern, double)
#endif
