// A small CNN trained end to end from cnnprim's primitives:
//   conv 3x3 (8 filters, pad 1) -> ReLU -> max pool 2x2 -> dense -> softmax cross-entropy, plain SGD,
// written with the second form of the API (buffers allocated once, batches as views of the data set),
// on a synthetic data set of 12x12 images in four classes (horizontal stripes, vertical stripes, a diagonal,
// a filled square), with noise, from a fixed seed, and a held-out split.
// Usage: train_tiny_cnn [loop|eigen]   (default: eigen)
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <Eigen/Core>

#include <cnnprim/cnnprim.hpp>

#include "example_utils.hpp"

using cnnprim::Backend;
using cnnprim::Index;
using cnnprim::Tensor;

namespace {

constexpr Index image_size = 12;
constexpr Index n_classes = 4;
constexpr Index n_train = 800, n_test = 400;
constexpr Index n_filters = 8, f = 3;
constexpr Index batch = 20;
constexpr int epochs = 8;
constexpr double learning_rate = 0.05;
constexpr double noise = 0.6;  // standard deviation of the noise added to every pixel

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct DataSet {
  Tensor<double> X;         // (n, image_size, image_size, 1)
  std::vector<int> labels;  // 0 .. n_classes - 1
};

// One image of class `label` at a random position and phase, plus Gaussian noise.
void draw(cnnprim::numpy::RandomState& rng, int label, double* image) {
  const Index offset = static_cast<Index>(rng.random_sample() * 4);
  const Index size = 4 + static_cast<Index>(rng.random_sample() * 4);
  for (Index h = 0; h < image_size; ++h)
    for (Index w = 0; w < image_size; ++w) {
      bool on = false;
      switch (label) {
        case 0: on = (h + offset) % 4 < 2; break;                               // horizontal stripes
        case 1: on = (w + offset) % 4 < 2; break;                               // vertical stripes
        case 2: on = std::abs((h - w) - (offset - 2)) <= 1; break;              // a diagonal band
        case 3: on = h >= offset && h < offset + size && w >= offset && w < offset + size; break;  // a square
      }
      image[h * image_size + w] = (on ? 1.0 : 0.0) + noise * rng.standard_normal();
    }
}

DataSet make_data(cnnprim::numpy::RandomState& rng, Index n) {
  DataSet data{Tensor<double>({n, image_size, image_size, 1}), {}};
  double* X = data.X.data();
  for (Index i = 0; i < n; ++i) {
    const int label = static_cast<int>(i % n_classes);
    data.labels.push_back(label);
    draw(rng, label, X + i * image_size * image_size);
  }
  return data;
}

struct Network {
  Tensor<double> W, b;  // conv: (f, f, 1, n_filters), (1, 1, 1, n_filters)
  Matrix W_dense;       // (features, n_classes)
  Eigen::RowVectorXd b_dense;
};

struct Result {
  double loss;
  Index correct;
};

// The activations and gradients of one batch, allocated once and reused by every step: the second form of
// cnnprim's functions writes into them and keeps nothing.
struct Buffers {
  Tensor<double> Z, A, P, dP, dA, dZ, dW, db;
  Buffers(Index m, const Network& net)
      : Z({m, image_size, image_size, n_filters}), A(Z.shape()), P({m, image_size / 2, image_size / 2, n_filters}),
        dP(P.shape()), dA(A.shape()), dZ(Z.shape()), dW(net.W.shape()), db(net.b.shape()) {}
};

constexpr cnnprim::ConvParams conv_hp{/*stride=*/1, /*pad=*/1};
constexpr cnnprim::PoolParams pool_hp{/*f=*/2, /*stride=*/2};

// Runs a batch forward; when `learn` is set, backpropagates and takes one SGD step.
Result step(Network& net, Buffers& buf, cnnprim::TensorView<const double> X, const int* labels, bool learn,
            Backend backend) {
  const Index m = X.dim(0);
  cnnprim::conv_forward(X, net.W, net.b, conv_hp, buf.Z, backend);
  buf.A.vector() = buf.Z.vector().cwiseMax(0.0);  // ReLU
  cnnprim::pool_forward(buf.A, pool_hp, cnnprim::PoolMode::Max, buf.P, backend);

  const Index features = buf.P.size() / m;
  const Eigen::Map<const Matrix> flat(buf.P.data(), m, features);
  Matrix logits = (flat * net.W_dense).rowwise() + net.b_dense;
  Matrix probs = (logits.colwise() - logits.rowwise().maxCoeff()).array().exp();
  probs.array().colwise() /= probs.rowwise().sum().array();

  Result result{0, 0};
  for (Index i = 0; i < m; ++i) {
    Index predicted;
    probs.row(i).maxCoeff(&predicted);
    result.correct += predicted == labels[i];
    result.loss -= std::log(probs(i, labels[i]) + 1e-12);
  }
  if (!learn) return result;

  // Softmax cross-entropy, averaged over the batch: dlogits = (probs - one_hot) / m.
  Matrix dlogits = probs;
  for (Index i = 0; i < m; ++i) dlogits(i, labels[i]) -= 1;
  dlogits /= static_cast<double>(m);
  Eigen::Map<Matrix>(buf.dP.data(), m, features) = dlogits * net.W_dense.transpose();
  net.W_dense -= learning_rate * flat.transpose() * dlogits;
  net.b_dense -= learning_rate * dlogits.colwise().sum();

  cnnprim::pool_backward(buf.dP, buf.A, pool_hp, cnnprim::PoolMode::Max, buf.dA, backend);
  buf.dZ.vector() = (buf.Z.vector().array() > 0).select(buf.dA.vector(), 0.0);  // through the ReLU
  // The input layer needs no dA_prev: only the weights' half of conv_backward.
  cnnprim::conv_backward_weights(buf.dZ, X, conv_hp, buf.dW, buf.db, backend);
  net.W.vector() -= learning_rate * buf.dW.vector();
  net.b.vector() -= learning_rate * buf.db.vector();
  return result;
}

// Images [first, first + count) of `data` as a batch: a view, no copy.
cnnprim::TensorView<const double> slice(const DataSet& data, Index first, Index count) {
  const Index pixels = image_size * image_size;
  return {data.X.data() + first * pixels, {count, image_size, image_size, 1}};
}

}  // namespace

int main(int argc, char** argv) {
  return example::run([&] {
    const std::string choice = argc > 1 ? argv[1] : "eigen";
    if (choice != "loop" && choice != "eigen") throw std::invalid_argument("usage: train_tiny_cnn [loop|eigen]");
    const Backend backend = choice == "loop" ? Backend::Loop : Backend::Eigen;

    cnnprim::numpy::RandomState rng(2024);
    const DataSet train = make_data(rng, n_train);
    const DataSet test = make_data(rng, n_test);

    // He initialisation for the conv layer, small values for the dense layer.
    const Index features = (image_size / 2) * (image_size / 2) * n_filters;
    Network net{rng.randn<double>(f, f, 1, n_filters), Tensor<double>({1, 1, 1, n_filters}),
                Matrix(features, n_classes), Eigen::RowVectorXd::Zero(n_classes)};
    net.W.vector() *= std::sqrt(2.0 / (f * f));
    const auto dense = rng.randn<double>(features, n_classes);
    net.W_dense = Eigen::Map<const Matrix>(dense.data(), features, n_classes) * std::sqrt(1.0 / features);

    std::printf("backend %s: %td training and %td held-out images of %tdx%td, %d epochs\n",
                cnnprim::to_string(backend), n_train, n_test, image_size, image_size, epochs);
    Buffers train_buffers(batch, net), test_buffers(n_test, net);
    double accuracy = 0;
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      Result total{0, 0};
      double seconds = example::microseconds_once([&] {
        for (Index first = 0; first < n_train; first += batch) {
          const Result r =
              step(net, train_buffers, slice(train, first, batch), train.labels.data() + first, true, backend);
          total.loss += r.loss;
          total.correct += r.correct;
        }
      }) / 1e6;
      const Result held_out = step(net, test_buffers, test.X, test.labels.data(), false, backend);
      accuracy = 100.0 * double(held_out.correct) / double(n_test);
      std::printf("epoch %d/%d  loss %.4f  train accuracy %5.1f%%  held-out accuracy %5.1f%%  (%.2f s)\n", epoch,
                  epochs, total.loss / double(n_train), 100.0 * double(total.correct) / double(n_train), accuracy,
                  seconds);
    }
    std::printf("final held-out accuracy %.1f%%\n", accuracy);
  });
}
