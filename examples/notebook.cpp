// The notebook "Convolution model Step by Step" in C++: every function, the same inputs (np.random.seed(1)),
// the same printed values, once per backend, with the time each call took (median of 25).
#include <cstdio>

#include <cnnprim/cnnprim.hpp>

#include "example_utils.hpp"

using cnnprim::Backend;
using cnnprim::PoolMode;
using example::format;

namespace {

void zero_pad_step(Backend backend) {
  cnnprim::numpy::RandomState rng(1);
  const auto x = rng.randn<double>(4, 3, 3, 2);
  cnnprim::Tensor<double> x_pad;
  const double us = example::microseconds([&] { x_pad = cnnprim::zero_pad(x, 2, backend); });
  std::printf("x.shape = %s\nx_pad.shape = %s\n", cnnprim::format_shape(x.shape()).c_str(),
              cnnprim::format_shape(x_pad.shape()).c_str());
  std::printf("x[1,1] = %s\n", format(x, 8, 1, 1).c_str());
  std::printf("x_pad[1,1] = %s\n", format(x_pad, 0, 1, 1).c_str());
  std::printf("(zero_pad: %.1f us)\n", us);
}

void conv_single_step_step() {
  cnnprim::numpy::RandomState rng(1);
  const auto a_slice_prev = rng.randn<double>(4, 4, 3);
  const auto W = rng.randn<double>(4, 4, 3);
  const auto b = rng.randn<double>(1, 1, 1);
  std::printf("Z = %.15f\n", cnnprim::conv_single_step(a_slice_prev, W, b(0, 0, 0)));
}

void conv_step(Backend backend) {
  cnnprim::numpy::RandomState rng(1);
  const auto A_prev = rng.randn<double>(10, 4, 4, 3);
  const auto W = rng.randn<double>(2, 2, 3, 8);
  const auto b = rng.randn<double>(1, 1, 1, 8);
  const cnnprim::ConvParams hparameters{/*stride=*/2, /*pad=*/2};

  cnnprim::ConvForward<double> forward;
  const double us_forward =
      example::microseconds([&] { forward = cnnprim::conv_forward(A_prev, W, b, hparameters, backend); });
  const auto& Z = forward.Z;
  const auto& cache_conv = forward.cache;
  std::printf("Z's mean = %.13f\n", Z.vector().mean());
  std::printf("Z[3,2,1] = %s\n", format(Z, 8, 3, 2, 1).c_str());
  std::printf("cache_conv[0][1][2][3] = %s\n", format(cache_conv.A_prev, 8, 1, 2, 3).c_str());

  cnnprim::ConvGradients<double> grads;
  const double us_backward = example::microseconds([&] { grads = cnnprim::conv_backward(Z, cache_conv, backend); });
  std::printf("dA_mean = %.11f\ndW_mean = %.11f\ndb_mean = %.11f\n", grads.dA_prev.vector().mean(),
              grads.dW.vector().mean(), grads.db.vector().mean());
  std::printf("(conv_forward: %.1f us, conv_backward: %.1f us)\n", us_forward, us_backward);
}

void pool_forward_step(Backend backend) {
  cnnprim::numpy::RandomState rng(1);
  const auto A_prev = rng.randn<double>(2, 4, 4, 3);
  const cnnprim::PoolParams hparameters{/*f=*/3, /*stride=*/2};
  for (PoolMode mode : {PoolMode::Max, PoolMode::Average}) {
    cnnprim::PoolForward<double> forward;
    const double us =
        example::microseconds([&] { forward = cnnprim::pool_forward(A_prev, hparameters, mode, backend); });
    std::printf("mode = %s\nA = %s\n(pool_forward: %.1f us)\n", cnnprim::to_string(mode),
                format(forward.A, 8).c_str(), us);
  }
}

void pool_helpers_step() {
  cnnprim::numpy::RandomState rng(1);
  const auto x = rng.randn<double>(2, 3);
  std::printf("x = %s\nmask = %s\n", format(x, 8).c_str(),
              example::format_mask(cnnprim::create_mask_from_window(x)).c_str());
  std::printf("distributed value = %s\n", format(cnnprim::distribute_value(2, {2, 2}), 1).c_str());
}

void pool_backward_step(Backend backend) {
  cnnprim::numpy::RandomState rng(1);
  const auto A_prev = rng.randn<double>(5, 5, 3, 2);
  const cnnprim::PoolParams hparameters{/*f=*/2, /*stride=*/1};
  const auto cache = cnnprim::pool_forward(A_prev, hparameters, PoolMode::Max, backend).cache;
  const auto dA = rng.randn<double>(5, 4, 2, 2);
  // As in the notebook, one max-mode cache serves both modes.
  for (PoolMode mode : {PoolMode::Max, PoolMode::Average}) {
    cnnprim::Tensor<double> dA_prev;
    const double us = example::microseconds([&] { dA_prev = cnnprim::pool_backward(dA, cache, mode, backend); });
    std::printf("mode = %s\nmean of dA = %.12f\ndA_prev[1,1] = %s\n(pool_backward: %.1f us)\n",
                cnnprim::to_string(mode), dA.vector().mean(), format(dA_prev, 8, 1, 1).c_str(), us);
  }
}

}  // namespace

int main() {
  return example::run([] {
    std::printf("--- conv_single_step ---\n");
    conv_single_step_step();
    std::printf("\n--- create_mask_from_window, distribute_value ---\n");
    pool_helpers_step();
    for (Backend backend : {Backend::Loop, Backend::Eigen}) {
      std::printf("\n===== backend: %s =====\n", cnnprim::to_string(backend));
      std::printf("\n--- zero_pad ---\n");
      zero_pad_step(backend);
      std::printf("\n--- conv_forward, conv_backward ---\n");
      conv_step(backend);
      std::printf("\n--- pool_forward ---\n");
      pool_forward_step(backend);
      std::printf("\n--- pool_backward ---\n");
      pool_backward_step(backend);
    }
  });
}
