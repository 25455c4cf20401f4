// ResNet-18 and MobileNet-v2 inference built from cnnprim's second form: every activation is allocated when the
// network is built, each layer writes into the next one's input. Batch norm is folded into the convolutions (a
// bias per channel), weights are random (He), so the time is the arithmetic's, not the values'. Residual adds
// and the classifier are plain Eigen. torch_networks.py builds the same networks, layer for layer, in PyTorch.
#pragma once

#include <array>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <cnnprim/cnnprim.hpp>

namespace networks {

using cnnprim::Index;
using cnnprim::Tensor;

class Network {
 public:
  // An input of m images of side x side pixels and `channels` channels.
  Network(Index m, Index side, Index channels) { buffers_.emplace_back(Tensor<float>({m, side, side, channels})); }

  Tensor<float>& input() { return buffers_.front(); }
  const Tensor<float>& output() const { return buffers_.back(); }

  // Each adds a layer reading buffer `in` (an index returned by an earlier call, 0 = the input) and returns the
  // index of its output.
  int conv(int in, Index n_C, Index f, Index stride, Index groups, cnnprim::Activation activation, std::string name) {
    const Index n_C_prev = buffers_[in].shape()[3], pad = f / 2;
    Layer layer(Kind::Conv, std::move(name), in);
    layer.W = random({f, f, n_C_prev / groups, n_C}, f * f * n_C_prev / groups);
    layer.b = random({1, 1, 1, n_C}, 1, 0.1f);
    layer.conv.stride = stride;
    layer.conv.pad = pad;
    layer.conv.groups = groups;
    layer.conv.activation = activation;
    const auto& a = buffers_[in].shape();
    const Index n_H = (a[1] + 2 * pad - f) / stride + 1, n_W = (a[2] + 2 * pad - f) / stride + 1;
    return add_layer(std::move(layer), {a[0], n_H, n_W, n_C});
  }
  int max_pool(int in, Index f, Index stride, Index pad, std::string name) {
    Layer layer(Kind::MaxPool, std::move(name), in);
    layer.pool.f = f;
    layer.pool.stride = stride;
    layer.pool.padding = cnnprim::Padding{pad, pad, pad, pad};
    const auto& a = buffers_[in].shape();
    const Index n_H = (a[1] + 2 * pad - f) / stride + 1, n_W = (a[2] + 2 * pad - f) / stride + 1;
    return add_layer(std::move(layer), {a[0], n_H, n_W, a[3]});
  }
  // in + other, then ReLU when `relu`.
  int add(int in, int other, bool relu, std::string name) {
    Layer layer(Kind::Add, std::move(name), in, other);
    layer.relu = relu;
    return add_layer(std::move(layer), buffers_[in].shape());
  }
  int global_average(int in, std::string name) {
    Layer layer(Kind::GlobalAverage, std::move(name), in);
    layer.pool.global = true;
    const auto& a = buffers_[in].shape();
    return add_layer(std::move(layer), {a[0], 1, 1, a[3]});
  }
  int dense(int in, Index n_out, std::string name) {
    Layer layer(Kind::Dense, std::move(name), in);
    const Index n_in = buffers_[in].shape()[3];
    layer.W = random({1, 1, n_in, n_out}, n_in);
    layer.b = random({1, 1, 1, n_out}, 1, 0.1f);
    return add_layer(std::move(layer), {buffers_[in].shape()[0], 1, 1, n_out});
  }

  Index size() const { return static_cast<Index>(layers_.size()); }
  const std::string& name(Index k) const { return layers_[static_cast<std::size_t>(k)].name; }
  bool is_conv(Index k) const { return layers_[static_cast<std::size_t>(k)].kind == Kind::Conv; }

  void run(Index k, cnnprim::Threads threads) {
    Layer& layer = layers_[static_cast<std::size_t>(k)];
    const Tensor<float>& in = buffers_[static_cast<std::size_t>(layer.in)];
    Tensor<float>& out = buffers_[static_cast<std::size_t>(layer.out)];
    switch (layer.kind) {
      case Kind::Conv:
        cnnprim::conv_forward(in, layer.W, layer.b, layer.conv, out, cnnprim::Backend::Eigen, threads);
        break;
      case Kind::MaxPool:
        cnnprim::pool_forward(in, layer.pool, cnnprim::PoolMode::Max, out, cnnprim::Backend::Eigen, threads);
        break;
      case Kind::GlobalAverage:
        cnnprim::pool_forward(in, layer.pool, cnnprim::PoolMode::Average, out, cnnprim::Backend::Eigen, threads);
        break;
      case Kind::Add: {
        const auto sum = in.vector() + buffers_[static_cast<std::size_t>(layer.other)].vector();
        if (layer.relu) out.vector() = sum.cwiseMax(0.0f);
        else out.vector() = sum;
        break;
      }
      case Kind::Dense: {
        using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
        const Index m = in.shape()[0], n_in = in.shape()[3], n_out = out.shape()[3];
        Eigen::Map<Matrix> y(out.data(), m, n_out);
        const Eigen::Map<const Matrix> x(in.data(), m, n_in), W(layer.W.data(), n_in, n_out);
        y.noalias() = x * W;
        y.rowwise() += layer.b.vector().transpose();
        break;
      }
    }
  }
  void forward(cnnprim::Threads threads) {
    for (Index k = 0; k < size(); ++k) run(k, threads);
  }

 private:
  enum class Kind { Conv, MaxPool, Add, GlobalAverage, Dense };
  struct Layer {
    Layer(Kind kind_, std::string name_, int in_, int other_ = -1)
        : kind(kind_), name(std::move(name_)), in(in_), other(other_) {}
    Kind kind;
    std::string name;
    int in, out = -1, other;
    Tensor<float> W, b;
    cnnprim::ConvParams conv;
    cnnprim::PoolParams pool;
    bool relu = false;
  };

  int add_layer(Layer layer, std::array<Index, 4> shape) {
    buffers_.emplace_back(shape);
    layer.out = static_cast<int>(buffers_.size()) - 1;
    layers_.push_back(std::move(layer));
    return layers_.back().out;
  }
  // N(0, 2 / fan_in) scaled by `gain`.
  Tensor<float> random(std::array<Index, 4> shape, Index fan_in, float gain = 1.0f) {
    Tensor<float> t(shape);
    std::normal_distribution<float> normal(0.0f, gain * std::sqrt(2.0f / static_cast<float>(fan_in)));
    for (Index k = 0; k < t.size(); ++k) t.data()[k] = normal(rng_);
    return t;
  }

  std::mt19937 rng_{2024};
  std::vector<Tensor<float>> buffers_;
  std::vector<Layer> layers_;
};

// ResNet-18 (He et al., 2016) on m images of 224 x 224 x 3.
inline Network resnet18(Index m) {
  const auto relu = cnnprim::Activation::relu(), none = cnnprim::Activation::none();
  Network net(m, 224, 3);
  int x = net.conv(0, 64, 7, 2, 1, relu, "conv1");
  x = net.max_pool(x, 3, 2, 1, "maxpool");
  Index channels = 64;
  for (int stage = 1; stage <= 4; ++stage) {
    const Index n_C = 64 << (stage - 1);
    for (int block = 0; block < 2; ++block) {
      const std::string name = "layer" + std::to_string(stage) + "." + std::to_string(block);
      const Index stride = stage > 1 && block == 0 ? 2 : 1;
      int shortcut = x;
      if (stride != 1 || channels != n_C) shortcut = net.conv(x, n_C, 1, stride, 1, none, name + ".downsample");
      const int y = net.conv(x, n_C, 3, stride, 1, relu, name + ".conv1");
      x = net.add(net.conv(y, n_C, 3, 1, 1, none, name + ".conv2"), shortcut, true, name + ".add");
      channels = n_C;
    }
  }
  net.dense(net.global_average(x, "avgpool"), 1000, "fc");
  return net;
}

// MobileNet-v2 (Sandler et al., 2018), width 1.0, on m images of 224 x 224 x 3.
inline Network mobilenet_v2(Index m) {
  const auto relu6 = cnnprim::Activation::relu6(), none = cnnprim::Activation::none();
  Network net(m, 224, 3);
  int x = net.conv(0, 32, 3, 2, 1, relu6, "features.0");
  Index channels = 32;
  // (expansion t, output channels c, blocks n, first stride s), as the paper's Table 2.
  const int settings[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                              {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int index = 1;
  for (const auto& [t, c, n, s] : settings)
    for (int block = 0; block < n; ++block, ++index) {
      const std::string name = "features." + std::to_string(index);
      const Index stride = block == 0 ? s : 1, hidden = channels * t;
      int y = x;
      if (t != 1) y = net.conv(y, hidden, 1, 1, 1, relu6, name + ".expand");
      y = net.conv(y, hidden, 3, stride, hidden, relu6, name + ".depthwise");
      y = net.conv(y, c, 1, 1, 1, none, name + ".project");
      x = stride == 1 && channels == c ? net.add(y, x, false, name + ".add") : y;
      channels = c;
    }
  x = net.conv(x, 1280, 1, 1, 1, relu6, "features.18");
  net.dense(net.global_average(x, "avgpool"), 1000, "classifier");
  return net;
}

}  // namespace networks
