// The network of examples/fashion_mnist.cpp, its parameters, buffers and training step (shared with the
// network benchmarks, which time one step). See fashion_mnist.cpp for the design.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <type_traits>
#include <utility>

#include <Eigen/Core>

#include <cnnprim/cnnprim.hpp>

namespace fashion_mnist {

using cnnprim::Backend;
using cnnprim::Index;
using cnnprim::Tensor;

constexpr Index side = 28, n_classes = 10, batch = 64;
constexpr Index c1 = 16, c2 = 32, features = 7 * 7 * c2;
constexpr float initial_learning_rate = 0.002f, learning_rate_decay = 0.5f;
constexpr float beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-8f;  // Adam's, as its paper and PyTorch set them
constexpr float pixel_mean = 0.2860f, pixel_deviation = 0.3530f;  // Fashion-MNIST's training images
// 3x3 convolutions, 'same' size, ReLU fused into conv_forward.
inline cnnprim::ConvParams conv_hp() {
  cnnprim::ConvParams hp{/*stride=*/1, /*pad=*/1};
  hp.activation = cnnprim::Activation::relu();
  return hp;
}
constexpr cnnprim::PoolParams pool_hp{/*f=*/2, /*stride=*/2};

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A weight tensor and Adam's running moments of its gradient.
struct Parameter {
  Tensor<float> value, mean, square;
  int steps = 0;
  explicit Parameter(Tensor<float> initial) : value(std::move(initial)), mean(value.shape()), square(value.shape()) {}
  void update(const Tensor<float>& gradient, float learning_rate) {
    ++steps;
    mean.vector() = beta1 * mean.vector() + (1 - beta1) * gradient.vector();
    square.vector() = beta2 * square.vector() + (1 - beta2) * gradient.vector().cwiseAbs2();
    const float t = float(steps);
    const float step = learning_rate * std::sqrt(1 - std::pow(beta2, t)) / (1 - std::pow(beta1, t));
    value.vector().array() -= step * mean.vector().array() / (square.vector().array().sqrt() + epsilon);
  }
};

// He initialisation: N(0, 2 / fan_in).
Tensor<float> he(std::mt19937& rng, std::array<Index, 4> shape, Index fan_in) {
  Tensor<float> t(shape);
  std::normal_distribution<float> normal(0.0f, std::sqrt(2.0f / static_cast<float>(fan_in)));
  for (Index k = 0; k < t.size(); ++k) t.data()[k] = normal(rng);
  return t;
}

struct Network {
  Parameter W1, b1, W2, b2, W3, b3;  // W3 (1, 1, features, 10) is the dense layer's matrix
  explicit Network(std::mt19937& rng)
      : W1(he(rng, {3, 3, 1, c1}, 9)), b1(Tensor<float>({1, 1, 1, c1})), W2(he(rng, {3, 3, c1, c2}, 9 * c1)),
        b2(Tensor<float>({1, 1, 1, c2})), W3(he(rng, {1, 1, features, n_classes}, features)),
        b3(Tensor<float>({1, 1, 1, n_classes})) {}
};

// Every activation and gradient of a batch of m images, allocated once.
struct Buffers {
  Tensor<float> X, A1, P1, A2, P2, dP2, dA2, dZ2, dP1, dA1, dZ1;
  Tensor<float> dW1, db1, dW2, db2, dW3, db3;
  Tensor<std::uint8_t> argmax1, argmax2;  // where each max pooling window's maximum was, for its backward
  Matrix probs;
  Eigen::VectorXf row_max, row_sum;
  explicit Buffers(Index m)
      : X({m, side, side, 1}), A1({m, side, side, c1}), P1({m, 14, 14, c1}), A2({m, 14, 14, c2}),
        P2({m, 7, 7, c2}), dP2(P2.shape()), dA2(A2.shape()), dZ2(A2.shape()), dP1(P1.shape()), dA1(A1.shape()),
        dZ1(A1.shape()), dW1({3, 3, 1, c1}), db1({1, 1, 1, c1}), dW2({3, 3, c1, c2}),
        db2({1, 1, 1, c2}), dW3({1, 1, features, n_classes}), db3({1, 1, 1, n_classes}), argmax1(P1.shape()),
        argmax2(P2.shape()), probs(m, n_classes),
        row_max(m), row_sum(m) {}
};

struct Step {
  float loss;
  Index correct;
};

class Trainer {
 public:
  Trainer(Backend backend, cnnprim::Threads threads, Network& net) : backend_(backend), threads_(threads), net_(net) {}

  // Forward over buf.X's images; with labels, the loss and hits; with `learn`, one SGD step.
  float learning_rate = initial_learning_rate;

  Step run(Buffers& buf, Index m, const int* labels, bool learn) {
    const auto view = [m](auto& t) {  // the first m images of a buffer
      auto shape = t.shape();
      shape[0] = m;
      return cnnprim::TensorView<std::remove_pointer_t<decltype(t.data())>>(t.data(), shape);
    };
    const auto X = view(buf.X), A1 = view(buf.A1), P1 = view(buf.P1), A2 = view(buf.A2), P2 = view(buf.P2);
    const auto argmax1 = view(buf.argmax1), argmax2 = view(buf.argmax2);
    const auto hp = conv_hp();
    // Training keeps each pooling's argmax, so that its backward reads a byte per output, not A's windows.
    const auto max_pool = [&](cnnprim::TensorView<float> in, cnnprim::TensorView<float> out,
                              cnnprim::TensorView<std::uint8_t> argmax) {
      if (learn) cnnprim::max_pool_forward(in, pool_hp, out, argmax, backend_, threads_);
      else cnnprim::pool_forward(in, pool_hp, cnnprim::PoolMode::Max, out, backend_, threads_);
    };
    cnnprim::conv_forward(X, net_.W1.value, net_.b1.value, hp, A1, backend_, threads_);
    max_pool(A1, P1, argmax1);
    cnnprim::conv_forward(P1, net_.W2.value, net_.b2.value, hp, A2, backend_, threads_);
    max_pool(A2, P2, argmax2);

    const Eigen::Map<const Matrix> flat(P2.data(), m, features), W3(net_.W3.value.data(), features, n_classes);
    auto probs = buf.probs.topRows(m);
    auto row_max = buf.row_max.head(m), row_sum = buf.row_sum.head(m);
    probs.noalias() = flat * W3;
    probs.rowwise() += net_.b3.value.vector().transpose();
    row_max = probs.rowwise().maxCoeff();
    probs = (probs.colwise() - row_max).array().exp();
    row_sum = probs.rowwise().sum();
    probs.array().colwise() /= row_sum.array();
    Step result{0, 0};
    for (Index i = 0; i < m; ++i) {
      Index predicted;
      probs.row(i).maxCoeff(&predicted);
      result.correct += predicted == labels[i];
      result.loss -= std::log(probs(i, labels[i]) + 1e-12f);
    }
    if (!learn) return result;

    // Softmax cross-entropy averaged over the batch: dlogits = (probs - one_hot) / m, kept in probs.
    for (Index i = 0; i < m; ++i) probs(i, labels[i]) -= 1;
    probs /= static_cast<float>(m);
    Eigen::Map<Matrix>(buf.dP2.data(), m, features).noalias() = probs * W3.transpose();
    Eigen::Map<Matrix>(buf.dW3.data(), features, n_classes).noalias() = flat.transpose() * probs;
    buf.db3.vector() = probs.colwise().sum().transpose();

    const auto dP2 = view(buf.dP2), dA2 = view(buf.dA2), dZ2 = view(buf.dZ2), dP1 = view(buf.dP1),
               dA1 = view(buf.dA1), dZ1 = view(buf.dZ1);
    cnnprim::max_pool_backward(dP2, argmax2, pool_hp, dA2, backend_, threads_);
    cnnprim::activation_backward(dA2, A2, hp.activation, dZ2, threads_);
    cnnprim::conv_backward_data(dZ2, net_.W2.value, hp, dP1, backend_, threads_);
    cnnprim::conv_backward_weights(dZ2, P1, hp, buf.dW2, buf.db2, backend_, threads_);
    cnnprim::max_pool_backward(dP1, argmax1, pool_hp, dA1, backend_, threads_);
    cnnprim::activation_backward(dA1, A1, hp.activation, dZ1, threads_);
    cnnprim::conv_backward_weights(dZ1, X, hp, buf.dW1, buf.db1, backend_, threads_);

    net_.W1.update(buf.dW1, learning_rate);
    net_.b1.update(buf.db1, learning_rate);
    net_.W2.update(buf.dW2, learning_rate);
    net_.b2.update(buf.db2, learning_rate);
    net_.W3.update(buf.dW3, learning_rate);
    net_.b3.update(buf.db3, learning_rate);
    return result;
  }

 private:
  Backend backend_;
  cnnprim::Threads threads_;
  Network& net_;
};

}  // namespace fashion_mnist
