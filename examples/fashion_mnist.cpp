// Trains a small CNN on Fashion-MNIST (60,000 28x28 grey images of clothes in 10 classes, 10,000 to test)
// with cnnprim's second form: every activation and gradient buffer is allocated once, before the first step.
//
// The network, float throughout:
//   conv 3x3, pad 1, 1 -> 16 -> ReLU -> max pool 2x2 -> conv 3x3, pad 1, 16 -> 32 -> ReLU -> max pool 2x2
//   -> dense 1568 -> 10 -> softmax cross-entropy
// trained by Adam (learning rate 0.002, halved after each epoch) on batches of 64 in a shuffled
// order (fixed seed), He initialisation, pixels standardised with the training set's mean and deviation.
// The dense layer is plain Eigen. The first convolution computes no dA_prev (nothing below it needs one).
//
// Usage: fashion_mnist [--backend loop|eigen] [--epochs N] [--threads N] [--data DIR] [--seed S]
//                      [--train-images N] [--test-images N] [--skip-if-missing]
// DIR holds the data set's four gzip'd idx files as Debian's dataset-fashion-mnist installs them
// (/usr/share/datasets/fashion-mnist, the default); uncompressed files of the same names without ".gz" are
// read too. --threads N > 1 runs every call on the calling thread and an Eigen::ThreadPool of N - 1.
// --skip-if-missing exits with 77 (a skipped test for ctest) when the files are absent, instead of failing.
// --seed S (default 2024) seeds the initial weights and the order of the images.
#include <zlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <unsupported/Eigen/CXX11/ThreadPool>

#include <cnnprim/cnnprim.hpp>

#include "fashion_mnist_net.hpp"

using namespace fashion_mnist;  // NOLINT(google-build-using-namespace): the example's own network

namespace {

struct MissingData : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The bytes of `path`, or of `path` + ".gz" decompressed.
std::vector<unsigned char> read_file(const std::string& path) {
  for (const std::string& name : {path + ".gz", path}) {
    gzFile file = gzopen(name.c_str(), "rb");  // reads plain files too
    if (file == nullptr) continue;
    std::vector<unsigned char> bytes;
    unsigned char chunk[1 << 16];
    int n;
    while ((n = gzread(file, chunk, sizeof chunk)) > 0) bytes.insert(bytes.end(), chunk, chunk + n);
    const bool failed = n < 0;
    gzclose(file);
    if (failed) throw std::runtime_error(name + ": not a readable gzip file");
    return bytes;
  }
  throw MissingData(path + ".gz: no such file (Debian: apt-get install dataset-fashion-mnist, or --data DIR)");
}

std::uint32_t big_endian(const unsigned char* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

struct DataSet {
  Tensor<float> X;  // (n, 28, 28, 1), standardised pixels
  std::vector<int> labels;
};

// Reads an idx image file and its label file (magic numbers 2051 and 2049), keeping the first `limit`.
DataSet read_idx(const std::string& dir, const std::string& images_name, const std::string& labels_name,
                 Index limit) {
  const std::string images_path = dir + "/" + images_name, labels_path = dir + "/" + labels_name;
  const auto images = read_file(images_path), labels = read_file(labels_path);
  if (images.size() < 16 || big_endian(&images[0]) != 2051 || big_endian(&images[8]) != side ||
      big_endian(&images[12]) != side)
    throw std::runtime_error(images_path + ": not an idx file of 28x28 images");
  if (labels.size() < 8 || big_endian(&labels[0]) != 2049)
    throw std::runtime_error(labels_path + ": not an idx label file");
  const Index count = big_endian(&images[4]);
  if (big_endian(&labels[4]) != count || images.size() != 16 + std::size_t(count) * side * side ||
      labels.size() != 8 + std::size_t(count))
    throw std::runtime_error(images_path + " and " + labels_path + ": sizes do not match their headers");
  const Index n = std::min(count, limit);
  DataSet data{Tensor<float>({n, side, side, 1}), std::vector<int>(labels.begin() + 8, labels.begin() + 8 + n)};
  std::transform(images.begin() + 16, images.begin() + 16 + n * side * side, data.X.data(),
                 [](unsigned char v) { return (v / 255.0f - pixel_mean) / pixel_deviation; });
  for (int label : data.labels)
    if (label >= n_classes) throw std::runtime_error(labels_path + ": a label above 9");
  return data;
}

struct Options {
  Backend backend = Backend::Eigen;
  int epochs = 5, threads = 1;
  unsigned seed = 2024;
  std::string data = "/usr/share/datasets/fashion-mnist";
  Index train_images = 60000, test_images = 10000;
  bool skip_if_missing = false;
};

// Copies images order[first .. first + m) of `data` into buf.X and their labels into `labels`.
void gather(const DataSet& data, const std::vector<Index>& order, Index first, Index m, Buffers& buf,
            std::vector<int>& labels) {
  const Index pixels = side * side;
  for (Index i = 0; i < m; ++i) {
    const Index k = order[static_cast<std::size_t>(first + i)];
    std::copy_n(data.X.data() + k * pixels, pixels, buf.X.data() + i * pixels);
    labels[static_cast<std::size_t>(i)] = data.labels[static_cast<std::size_t>(k)];
  }
}

// Progress on one terminal line: batches done, running loss, images per second, time left.
void show_progress(int epoch, int epochs, Index done, Index total, float loss, double images_per_second) {
  constexpr int width = 30;
  const int filled = static_cast<int>(width * done / total);
  const double left = double(total - done) * batch / std::max(images_per_second, 1.0);
  std::fprintf(stderr, "\repoch %d/%d [%.*s%*s] %td/%td batches  loss %.4f  %.0f images/s  %.0f s left ", epoch,
               epochs, filled, "##############################", width - filled, "", done, total, loss,
               images_per_second, left);
  std::fflush(stderr);
}

Options parse(int argc, char** argv) {
  Options options;
  const std::string usage =
      "usage: fashion_mnist [--backend loop|eigen] [--epochs N] [--threads N] [--data DIR] [--seed S] "
      "[--train-images N] [--test-images N] [--skip-if-missing]";
  for (int k = 1; k < argc; ++k) {
    const std::string arg = argv[k];
    const auto value = [&]() -> std::string {
      if (k + 1 >= argc) throw std::invalid_argument(arg + " needs a value\n" + usage);
      return argv[++k];
    };
    const auto positive = [&]() {
      const std::string text = value();
      const long n = std::strtol(text.c_str(), nullptr, 10);
      if (n < 1) throw std::invalid_argument(arg + " needs a positive number, not '" + text + "'\n" + usage);
      return n;
    };
    if (arg == "--backend") {
      const std::string name = value();
      if (name != "loop" && name != "eigen") throw std::invalid_argument("--backend is loop or eigen\n" + usage);
      options.backend = name == "loop" ? Backend::Loop : Backend::Eigen;
    } else if (arg == "--epochs") {
      options.epochs = static_cast<int>(positive());
    } else if (arg == "--threads") {
      options.threads = static_cast<int>(positive());
    } else if (arg == "--data") {
      options.data = value();
    } else if (arg == "--seed") {
      options.seed = static_cast<unsigned>(positive());
    } else if (arg == "--train-images") {
      options.train_images = positive();
    } else if (arg == "--test-images") {
      options.test_images = positive();
    } else if (arg == "--skip-if-missing") {
      options.skip_if_missing = true;
    } else {
      throw std::invalid_argument("unknown argument " + arg + "\n" + usage);
    }
  }
  return options;
}

int train(const Options& options) {
  const DataSet train_set = read_idx(options.data, "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                     options.train_images);
  const DataSet test_set =
      read_idx(options.data, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", options.test_images);
  std::unique_ptr<Eigen::ThreadPool> pool;
  cnnprim::Threads threads = cnnprim::Threads::calling_thread();
  if (options.threads > 1) {
    pool = std::make_unique<Eigen::ThreadPool>(options.threads - 1);
    threads = cnnprim::Threads(*pool, options.threads);
  }
  std::mt19937 rng(options.seed);
  Network net(rng);
  Trainer trainer(options.backend, threads, net);
  Buffers buf(batch);
  std::vector<int> labels(batch);
  std::vector<Index> order(static_cast<std::size_t>(train_set.X.dim(0)));
  std::iota(order.begin(), order.end(), Index{0});
  const Index n_train = train_set.X.dim(0), n_test = test_set.X.dim(0);
  const Index batches = (n_train + batch - 1) / batch;
  const bool terminal = isatty(fileno(stderr)) != 0;
  std::printf("Fashion-MNIST: %td training and %td test images, backend %s, %d thread%s, %d epoch%s\n", n_train,
              n_test, cnnprim::to_string(options.backend), options.threads, options.threads > 1 ? "s" : "",
              options.epochs, options.epochs > 1 ? "s" : "");
  double accuracy = 0;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    const auto start = std::chrono::steady_clock::now();
    float loss = 0;
    Index correct = 0;
    for (Index b = 0; b < batches; ++b) {
      const Index m = std::min(batch, n_train - b * batch);
      gather(train_set, order, b * batch, m, buf, labels);
      const Step step = trainer.run(buf, m, labels.data(), /*learn=*/true);
      loss += step.loss;
      correct += step.correct;
      if (terminal && (b % 20 == 0 || b + 1 == batches)) {
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        show_progress(epoch, options.epochs, b + 1, batches, loss / float((b + 1) * batch),
                      double(std::min(n_train, (b + 1) * batch)) / seconds);
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Index test_correct = 0;
    std::vector<Index> test_order(static_cast<std::size_t>(n_test));
    std::iota(test_order.begin(), test_order.end(), Index{0});
    for (Index first = 0; first < n_test; first += batch) {
      const Index m = std::min(batch, n_test - first);
      gather(test_set, test_order, first, m, buf, labels);
      test_correct += trainer.run(buf, m, labels.data(), /*learn=*/false).correct;
    }
    accuracy = 100.0 * double(test_correct) / double(n_test);
    if (terminal) std::fprintf(stderr, "\r%*s\r", 110, "");
    std::printf("epoch %d/%d  loss %.4f  train accuracy %5.2f%%  test accuracy %5.2f%%  %.1f s  %.0f images/s\n",
                epoch, options.epochs, loss / float(n_train), 100.0 * double(correct) / double(n_train), accuracy,
                seconds, double(n_train) / seconds);
    std::fflush(stdout);
    trainer.learning_rate *= learning_rate_decay;
  }
  std::printf("final test accuracy %.2f%%\n", accuracy);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = parse(argc, argv);
    return train(options);
  } catch (const MissingData& e) {
    std::fprintf(stderr, "fashion_mnist: %s\n", e.what());
    return options.skip_if_missing ? 77 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fashion_mnist: %s\n", e.what());
    return 1;
  }
}
