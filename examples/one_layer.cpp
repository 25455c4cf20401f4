// The lecture's "one layer of a convolutional net": 10 filters of 3x3x3, a bias per filter, then a ReLU.
// The layer has 10 * (27 + 1) = 280 parameters, whatever the size of the image.
#include <cstdio>

#include <cnnprim/cnnprim.hpp>

#include "example_utils.hpp"

using cnnprim::Index;
using cnnprim::Tensor;

namespace {

constexpr Index n_C = 10;  // filters
constexpr Index f = 3;     // filter size
constexpr Index n_C_prev = 3;

// a = ReLU(conv(a_prev, W) + b), stride 1, no padding.
Tensor<float> layer(const Tensor<float>& a_prev, const Tensor<float>& W, const Tensor<float>& b) {
  auto Z = cnnprim::conv_forward(a_prev, W, b, {/*stride=*/1, /*pad=*/0}).Z;
  Z.vector() = Z.vector().cwiseMax(0.0f);
  return Z;
}

}  // namespace

int main() {
  return example::run([] {
    cnnprim::numpy::RandomState rng(1);
    const auto W = rng.randn<float>(f, f, n_C_prev, n_C);
    const auto b = rng.randn<float>(1, 1, 1, n_C);
    const Index parameters = W.size() + b.size();

    // A 6x6x3 image gives a 4x4x10 activation.
    const auto a_prev = rng.randn<float>(1, 6, 6, n_C_prev);
    const auto A = layer(a_prev, W, b);
    std::printf("a_prev.shape = %s -> A.shape = %s\n", cnnprim::format_shape(a_prev.shape()).c_str(),
                cnnprim::format_shape(A.shape()).c_str());
    std::printf("parameters = %td (%td filters x (%td weights + 1 bias))\n", parameters, n_C, f * f * n_C_prev);
    Tensor<float, 2> first_channel({A.dim(1), A.dim(2)});
    for (Index h = 0; h < A.dim(1); ++h)
      for (Index w = 0; w < A.dim(2); ++w) first_channel(h, w) = A(0, h, w, 0);
    std::printf("A[0, :, :, 0] =\n%s\n\n", example::format(first_channel, 4).c_str());

    // The same layer on a 1000x1000x3 image: a much larger activation, the same 280 parameters.
    const auto big = rng.randn<float>(1, 1000, 1000, n_C_prev);
    Tensor<float> A_big;
    const double ms = example::microseconds([&] { A_big = layer(big, W, b); }, /*calls=*/5) / 1000;
    std::printf("1000x1000x3 image: A.shape = %s, parameters = %td (%.1f ms per forward pass, median of 5)\n",
                cnnprim::format_shape(A_big.shape()).c_str(), W.size() + b.size(), ms);
  });
}
